//! The SQLite store: one database file in the data dir, WAL mode, migrations tracked by
//! `PRAGMA user_version`. Each table's SQL lives beside the module that owns it; this
//! module only applies them in order.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, Result};

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
}

impl Store {
    /// Opens (creating if needed) `ferry.db` in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("cannot create the data folder {}", data_dir.display()), e))?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL lets the UI read while the engine writes. FULL makes every committed part
        // acknowledgement survive an OS crash too, at ~0.1 ms per part.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Off while migrating: a table rebuild must not cascade; each step is checked.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        migrate(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Store { conn: Mutex::new(conn), path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The one connection. Calls are short; a poisoned lock only means a panic elsewhere,
    /// and SQLite's own transactions keep the data consistent, so carry on.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
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
}
