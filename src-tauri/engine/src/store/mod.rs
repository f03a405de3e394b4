//! The SQLite store: one database file in the data dir, WAL mode, migrations tracked by
//! `PRAGMA user_version`. Each table's SQL lives beside the module that owns it; this
//! module only applies them in order.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, Result};

mod group_sync;
pub use group_sync::GroupSync;

/// Schema steps in order; `user_version` = how many have been applied. Append only.
const MIGRATIONS: &[&str] = &[
    crate::accounts::SCHEMA_V1,
    crate::queue::SCHEMA_V1,
    crate::watch::SCHEMA_V1,
    crate::queue::REVISIONS_V1,
    crate::watch::NOTES_V1,
    crate::queue::IDS_V1,
];

pub const DB_FILE: &str = "ferry.db";

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// fsyncs of the write-ahead log for `flush`, shared by the callers waiting at once.
    wal: GroupSync,
}

impl Store {
    /// Opens (creating if needed) `ferry.db` in `data_dir` and brings its schema up to date.
    /// A file that cannot be opened, is not a database or fails `PRAGMA quick_check` is
    /// [`Error::DatabaseUnusable`]; a busy one is an ordinary (temporary) error.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("cannot create the data folder {}", data_dir.display()), e))?;
        let path = data_dir.join(DB_FILE);
        let unusable = |e: rusqlite::Error| classify(&path, e);
        let mut conn = Connection::open(&path).map_err(unusable)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        // WAL lets the UI read while the engine writes. FULL makes every committed part
        // acknowledgement survive an OS crash too, at ~0.1 ms per part.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unusable)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        check(&conn, &path)?;
        // Off while migrating: a table rebuild must not cascade; each step is checked.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        migrate(&mut conn).map_err(|e| match e {
            Error::Db(e) => classify(&path, e),
            other => other,
        })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Store { conn: Mutex::new(conn), path, wal: GroupSync::default() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Test-only: is the connection taken right now (by this or another thread)?
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> bool {
        self.conn.try_lock().is_err()
    }

    /// The one connection. Calls are short; a poisoned lock only means a panic elsewhere,
    /// and SQLite's own transactions keep the data consistent, so carry on.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with `synchronous=NORMAL`: its commits reach the OS (a killed process loses
    /// nothing) but are not fsynced. The log is written in order, so the next FULL commit or
    /// [`Store::flush`] makes them durable too. For steps whose loss in a power cut start-up
    /// recovery undoes anyway (a claim, a part going in flight, the commit about to start),
    /// and for records that are `flush`ed before anyone acts on them.
    pub fn relaxed<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        /// Back to FULL before anyone else may use the connection, even after a panic in `f`.
        struct Full<'a>(&'a Connection);
        impl Drop for Full<'_> {
            fn drop(&mut self) {
                if let Err(e) = self.0.pragma_update(None, "synchronous", "FULL") {
                    tracing::error!("could not set the database back to synchronous=FULL: {e}");
                }
            }
        }
        let conn = self.conn();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let _full = Full(&conn);
        f(&conn)
    }

    /// Makes every commit so far durable: an fsync of the write-ahead log (what a FULL
    /// commit ends with), shared by every caller waiting at the same time (group commit),
    /// and taken outside the connection's lock so that others keep writing meanwhile.
    /// Blocking: async callers run it on the blocking pool.
    pub fn flush(&self) -> Result<()> {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        self.wal
            .sync(|| match std::fs::OpenOptions::new().write(true).open(&wal) {
                // Windows flushes only through a handle that may write; nothing is written.
                Ok(f) => f.sync_data(),
                // No log: the last checkpoint moved everything into the database and synced it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            })
            // SQLite's own code for a failed log fsync: the same storage trouble as when a
            // FULL commit fails there (waited out and retried, shown as a database problem).
            .map_err(|e| {
                let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_FSYNC);
                Error::Db(rusqlite::Error::SqliteFailure(code, Some(format!("cannot sync {}: {e}", wal.display()))))
            })
    }
}

/// Errors that mean the file itself is the problem (not a passing lock or a full disk).
fn classify(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::*;
    let detail = match e.sqlite_error_code() {
        Some(NotADatabase) => "it is not a SQLite database (damaged or overwritten)".to_string(),
        Some(DatabaseCorrupt) => format!("it is damaged ({e})"),
        Some(CannotOpen | PermissionDenied | ReadOnly) => format!("it cannot be opened for writing ({e})"),
        _ => return Error::Db(e),
    };
    Error::DatabaseUnusable { path: path.to_path_buf(), detail }
}

/// `PRAGMA quick_check`: the structure of every page and index, in one pass (O(size), no
/// cross-checks against the tables' contents; ~1 s per GiB).
fn check(conn: &Connection, path: &Path) -> Result<()> {
    let mut stmt = conn.prepare("PRAGMA quick_check(3)").map_err(|e| classify(path, e))?;
    let found = stmt.query_map([], |r| r.get::<_, String>(0)).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
    let found = found.map_err(|e| classify(path, e))?;
    if found.len() == 1 && found[0] == "ok" {
        return Ok(());
    }
    Err(Error::DatabaseUnusable { path: path.to_path_buf(), detail: format!("it is damaged ({})", found.join("; ")) })
}

/// Moves `ferry.db` (with its `-wal` and `-shm`) aside to `ferry.broken-<UTC time>.db` in
/// the same folder, so a fresh database can start; the old one is kept for recovery.
/// Refuses while an engine holds the data dir (its open file would follow the rename);
/// the caller must not hold the engine lock itself. Returns the new path of the database.
pub fn move_aside(data_dir: &Path) -> Result<PathBuf> {
    let _lock = crate::transfer::EngineLock::acquire(data_dir)?;
    let from = data_dir.join(DB_FILE);
    let stamp = utc_stamp(std::time::SystemTime::now());
    let mut to = data_dir.join(format!("ferry.broken-{stamp}.db"));
    let mut n = 1;
    while to.exists() {
        to = data_dir.join(format!("ferry.broken-{stamp}-{n}.db"));
        n += 1;
    }
    // The database first: once it is gone a new start cannot pick up the old WAL, because
    // the WAL moves beside it under its new name right after.
    std::fs::rename(&from, &to).map_err(|e| Error::io(format!("cannot move {} aside", from.display()), e))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", from.display()));
        if side.exists() {
            let dest = PathBuf::from(format!("{}{suffix}", to.display()));
            std::fs::rename(&side, &dest).map_err(|e| Error::io(format!("cannot move {} aside", side.display()), e))?;
        }
    }
    tracing::warn!(from = %from.display(), to = %to.display(), "moved the database aside");
    Ok(to)
}

/// `20261204T231500Z` (UTC; the civil date from days since 1970, Howard Hinnant's method).
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if applied > MIGRATIONS.len() {
        return Err(Error::Unsupported(format!(
            "this database was written by a newer Ferry (schema {applied}, this build knows {})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        let broken: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
        if broken > 0 {
            return Err(Error::Unsupported(format!("schema step {} would break {broken} references; nothing was changed", i + 1)));
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_steps_leave_the_connection_full_and_flush_syncs_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let level = |s: &Store| s.conn().pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0)).unwrap();
        let inside = store.relaxed(|c| Ok(c.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))?)).unwrap();
        assert_eq!(inside, 1, "NORMAL inside");
        assert_eq!(level(&store), 2, "FULL again after");
        let failed: Result<()> = store.relaxed(|c| Ok(c.execute_batch("INSERT INTO no_such_table VALUES (1)")?));
        assert!(failed.is_err());
        assert_eq!(level(&store), 2, "FULL again after a failed step");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.relaxed::<()>(|_| panic!("a bug"))));
        assert!(panicked.is_err());
        assert_eq!(level(&store), 2, "FULL again after a panic");
        store.relaxed(|c| Ok(c.execute_batch("INSERT INTO settings (key, value) VALUES ('k', 'v')")?)).unwrap();
        store.flush().unwrap();
        assert!(dir.path().join("ferry.db-wal").exists());
    }

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let v: i64 = store.conn().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = store.conn().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        let v2: i64 = again.conn().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, v2);
    }

    #[test]
    fn job_ids_are_never_reused_even_across_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let insert = "INSERT INTO jobs (account_id, source, name, size, mtime_ns, state, created_at, updated_at)
                      VALUES (1, x'2f61', 'a', 1, 0, 'queued', 0, 0)";
        {
            // A queue written before ids were AUTOINCREMENT: job 3 was the newest and is gone.
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            let before = MIGRATIONS.iter().position(|m| *m == crate::queue::IDS_V1).unwrap();
            for (i, sql) in MIGRATIONS[..before].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
            }
            for _ in 1..=3 {
                conn.execute(insert, []).unwrap();
            }
            conn.execute("INSERT INTO parts (job_id, number, offset, length, state) VALUES (2, 1, 0, 1, 'acked')", []).unwrap();
            conn.execute("DELETE FROM jobs WHERE id = 3", []).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        let parts: i64 = conn.query_row("SELECT COUNT(*) FROM parts WHERE job_id = 2", [], |r| r.get(0)).unwrap();
        assert_eq!(parts, 1, "the part ledger survived the rebuild");
        conn.execute(insert, []).unwrap();
        assert_eq!(conn.last_insert_rowid(), 4, "not 3: that id belonged to a removed job");
        conn.execute("DELETE FROM jobs WHERE id = 4", []).unwrap();
        conn.execute(insert, []).unwrap();
        assert_eq!(conn.last_insert_rowid(), 5, "the newest id is not handed out again after its job is removed");

        let rev = |c: &Connection| c.query_row("SELECT rev FROM queue_rev", [], |r| r.get::<_, i64>(0)).unwrap();
        let before = rev(&conn);
        conn.execute("UPDATE jobs SET state = 'paused' WHERE id = 1", []).unwrap();
        conn.execute("UPDATE parts SET state = 'pending' WHERE job_id = 2", []).unwrap();
        assert_eq!(rev(&conn), before + 2, "the revision triggers still count every change");
        let fk: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(fk, 1, "foreign keys are enforced again after migrating");
        conn.execute("DELETE FROM jobs WHERE id = 2", []).unwrap();
        let parts: i64 = conn.query_row("SELECT COUNT(*) FROM parts", [], |r| r.get(0)).unwrap();
        assert_eq!(parts, 0, "removing a job still removes its parts");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = Store::open(dir.path()).err().expect("must refuse");
        assert!(err.to_string().contains("newer Ferry"), "{err}");
    }

    #[test]
    fn utc_stamps_read_as_dates() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_796_426_105), "20261204T231505Z");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_unusable_and_moves_aside_for_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let junk = b"these are not the pages you are looking for".repeat(200);
        std::fs::write(dir.path().join(DB_FILE), &junk).unwrap();
        let err = Store::open(dir.path()).err().expect("must refuse");
        std::fs::write(dir.path().join("ferry.db-wal"), b"wal").unwrap(); // as a crash leaves it
        let Error::DatabaseUnusable { path, detail } = &err else { panic!("{err:?}") };
        assert_eq!(path, &dir.path().join(DB_FILE));
        assert!(detail.contains("not a SQLite database"), "{detail}");
        assert!(err.to_string().contains(&dir.path().join(DB_FILE).display().to_string()), "{err}");

        let moved = move_aside(dir.path()).unwrap();
        assert_eq!(std::fs::read(&moved).unwrap(), junk, "the old file is kept, unchanged");
        assert_eq!(std::fs::read(format!("{}-wal", moved.display())).unwrap(), b"wal", "its WAL beside it");
        assert!(moved.file_name().unwrap().to_string_lossy().starts_with("ferry.broken-"));
        assert!(!dir.path().join("ferry.db-wal").exists());
        Store::open(dir.path()).expect("a fresh database starts");
    }

    #[test]
    fn a_damaged_database_fails_the_quick_check() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let conn = store.conn();
            conn.execute_batch("CREATE TABLE filler (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO filler SELECT randomblob(1000) FROM n; PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        }
        // Scribble over the middle of the file: the header stays valid, pages do not.
        let path = dir.path().join(DB_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid..mid + 8192].iter_mut().for_each(|b| *b = 0x5a);
        std::fs::write(&path, &bytes).unwrap();
        let err = Store::open(dir.path()).err().expect("must refuse");
        assert!(matches!(err, Error::DatabaseUnusable { .. }), "{err:?}");
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn moving_aside_waits_for_no_engine() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let held = crate::transfer::EngineLock::acquire(dir.path()).unwrap();
        assert!(move_aside(dir.path()).is_err(), "an engine is using it");
        assert!(dir.path().join(DB_FILE).exists());
        drop(held);
        move_aside(dir.path()).unwrap();
        assert!(!dir.path().join(DB_FILE).exists());
    }
}
