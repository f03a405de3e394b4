//! The watches and their file records in SQLite.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Row};

use super::notes::{self, WatchNote};
use super::{AfterUpload, Rules, Watch, WatchInput, WatchStatus};
use crate::accounts::Accounts;
use crate::error::{Error, Result};
use crate::queue::now_ms;
use crate::source::Identity;
use crate::store::Store;

/// A file a watch queued: which version, which job, and what happened after.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub identity: Identity,
    pub job_id: Option<i64>,
    pub state: String,
}

/// A record whose job finished, with what the watch wants done.
#[derive(Debug, Clone)]
pub struct Finished {
    pub watch_id: i64,
    pub watch_dir: PathBuf,
    pub path: PathBuf,
    pub identity: Identity,
    pub job_state: String,
    pub job_sha1: Option<String>,
    pub after: AfterUpload,
}

#[derive(Clone)]
pub struct Watches {
    store: Arc<Store>,
}

fn bytes(p: &Path) -> &[u8] {
    crate::platform::path_bytes(p)
}

fn path(b: Vec<u8>) -> PathBuf {
    crate::platform::path_from_bytes(b)
}

const COLUMNS: &str = "w.id, w.dir, w.recursive, w.account_id, COALESCE(a.name, '(removed account)'), w.dest, w.include, w.exclude,
     w.after, w.quiet_secs, w.enabled, w.status, w.detail, w.pending,
     (SELECT COUNT(*) FROM watch_files f WHERE f.watch_id = w.id)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Watch> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> { Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default()) };
    let notes = notes::from_column(r.get(12)?);
    Ok(Watch {
        id: r.get(0)?,
        dir: path(r.get(1)?).display().to_string(),
        recursive: r.get(2)?,
        account_id: r.get(3)?,
        account: r.get(4)?,
        dest: r.get(5)?,
        include: list(6)?,
        exclude: list(7)?,
        after: AfterUpload::parse(&r.get::<_, String>(8)?).unwrap_or(AfterUpload::Keep),
        quiet_secs: r.get(9)?,
        enabled: r.get(10)?,
        status: WatchStatus::parse(&r.get::<_, String>(11)?),
        detail: notes::english(&notes),
        notes,
        pending: r.get(13)?,
        queued: r.get(14)?,
    })
}

impl Watches {
    pub fn new(store: Arc<Store>) -> Self {
        Watches { store }
    }

    /// Validates and stores a new watch. Every refusal names the field.
    pub fn add(&self, accounts: &Accounts, input: WatchInput) -> Result<Watch> {
        let dir = PathBuf::from(input.dir.trim());
        if !dir.is_absolute() {
            return Err(Error::invalid("dir", "must be an absolute folder path"));
        }
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(Error::invalid("dir", format!("{} is not a folder", dir.display()))),
            Err(e) => return Err(Error::invalid("dir", format!("{}: {e}", dir.display()))),
        }
        let account = accounts.get(&input.account).map_err(|e| match e {
            Error::UnknownAccount(n) => Error::invalid("account", format!("no account named \"{n}\"")),
            other => other,
        })?;
        Rules::new(&input.include, &input.exclude)?;
        if let AfterUpload::Move(to) = &input.after {
            let to = Path::new(to);
            if !to.is_absolute() {
                return Err(Error::invalid("after", "the folder to move uploaded files into must be an absolute path"));
            }
            if to.starts_with(&dir) {
                return Err(Error::invalid("after", "the folder to move uploaded files into must be outside the watched folder"));
            }
        }
        if !(1..=3600).contains(&input.quiet_secs) {
            return Err(Error::invalid("quiet_secs", "the quiet period must be 1 to 3600 seconds"));
        }
        let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialise");
        let id = {
            let conn = self.store.conn();
            conn.execute(
                "INSERT INTO watches (dir, recursive, account_id, dest, include, exclude, after, quiet_secs, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    bytes(&dir),
                    input.recursive,
                    account.id,
                    input.dest.trim().trim_matches('/'),
                    json(&input.include),
                    json(&input.exclude),
                    input.after.as_string(),
                    input.quiet_secs,
                    now_ms()
                ],
            )?;
            conn.last_insert_rowid()
        };
        self.get(id)
    }

    pub fn list(&self) -> Result<Vec<Watch>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM watches w LEFT JOIN accounts a ON a.id = w.account_id ORDER BY w.id"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn get(&self, id: i64) -> Result<Watch> {
        let conn = self.store.conn();
        conn.query_row(&format!("SELECT {COLUMNS} FROM watches w LEFT JOIN accounts a ON a.id = w.account_id WHERE w.id = ?1"), [id], from_row)
            .optional()?
            .ok_or_else(|| Error::invalid("watch", format!("no watch {id}")))
    }

    /// The watched folder's exact path (names need not be UTF-8).
    pub fn dir(&self, id: i64) -> Result<PathBuf> {
        let b: Vec<u8> = self.store.conn().query_row("SELECT dir FROM watches WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(path(b))
    }

    pub fn remove(&self, id: i64) -> Result<()> {
        self.get(id)?;
        self.store.conn().execute("DELETE FROM watches WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn set_enabled(&self, id: i64, enabled: bool) -> Result<()> {
        self.get(id)?;
        let status = if enabled { "starting" } else { "paused" };
        self.store.conn().execute(
            "UPDATE watches SET enabled = ?2, status = ?3, detail = NULL, pending = 0 WHERE id = ?1",
            params![id, enabled, status],
        )?;
        Ok(())
    }

    /// Records the watch's status (only writes when something changed); whether it did.
    pub fn set_status(&self, id: i64, status: WatchStatus, notes: &[WatchNote], pending: usize) -> Result<bool> {
        let detail = notes::to_column(notes);
        let changed = self.store.conn().execute(
            "UPDATE watches SET status = ?2, detail = ?3, pending = ?4
             WHERE id = ?1 AND (status != ?2 OR detail IS NOT ?3 OR pending != ?4)",
            params![id, status.as_str(), detail, pending as i64],
        )?;
        Ok(changed > 0)
    }

    /// Every file record of a watch.
    pub fn records(&self, watch: i64) -> Result<HashMap<PathBuf, Record>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare("SELECT path, size, mtime_ns, inode, job_id, state FROM watch_files WHERE watch_id = ?1")?;
        let rows = stmt
            .query_map([watch], |r| {
                Ok((
                    path(r.get(0)?),
                    Record {
                        identity: Identity { size: r.get::<_, i64>(1)? as u64, mtime_ns: r.get(2)?, inode: r.get::<_, Option<i64>>(3)?.map(|i| i as u64) },
                        job_id: r.get(4)?,
                        state: r.get(5)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(rows)
    }

    /// Whether another watch of the same account already queued this version of this file.
    pub fn queued_elsewhere(&self, watch: i64, account_id: i64, p: &Path, id: &Identity) -> Result<bool> {
        let n: i64 = self.store.conn().query_row(
            "SELECT COUNT(*) FROM watch_files f JOIN watches w ON w.id = f.watch_id
             WHERE f.watch_id != ?1 AND w.account_id = ?2 AND f.path = ?3 AND f.size = ?4 AND f.mtime_ns = ?5",
            params![watch, account_id, bytes(p), id.size as i64, id.mtime_ns],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Records that each file (this version) was queued as its job, inside the transaction
    /// that queues the jobs.
    pub fn record_queued(tx: &rusqlite::Transaction<'_>, watch: i64, queued: &[(PathBuf, Identity, i64)]) -> Result<()> {
        {
            let mut stmt = tx.prepare(
                "INSERT INTO watch_files (watch_id, path, size, mtime_ns, inode, job_id, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued')
                 ON CONFLICT (watch_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                     inode = excluded.inode, job_id = excluded.job_id, state = 'queued'",
            )?;
            for (p, id, job) in queued {
                stmt.execute(params![watch, bytes(p), id.size as i64, id.mtime_ns, id.inode.map(|i| i as i64), job])?;
            }
        }
        Ok(())
    }

    /// Whether another enabled watch uploads to the same account (then versions are checked
    /// across watches, so overlapping trees do not upload a file twice).
    pub fn has_siblings(&self, watch: i64, account_id: i64) -> Result<bool> {
        let n: i64 = self.store.conn().query_row(
            "SELECT COUNT(*) FROM watches WHERE id != ?1 AND account_id = ?2",
            params![watch, account_id],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// A file was renamed or moved inside the tree: its record follows it.
    pub fn rename_record(&self, watch: i64, from: &Path, to: &Path) -> Result<()> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM watch_files WHERE watch_id = ?1 AND path = ?2", params![watch, bytes(to)])?;
        tx.execute("UPDATE watch_files SET path = ?3 WHERE watch_id = ?1 AND path = ?2", params![watch, bytes(from), bytes(to)])?;
        tx.commit()?;
        Ok(())
    }

    pub fn mark(&self, watch: i64, p: &Path, state: &str) -> Result<()> {
        self.store.conn().execute("UPDATE watch_files SET state = ?3 WHERE watch_id = ?1 AND path = ?2", params![watch, bytes(p), state])?;
        Ok(())
    }

    /// Records whose job is done or cancelled and whose after-upload step has not run.
    pub fn finished(&self) -> Result<Vec<Finished>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare(
            "SELECT f.watch_id, w.dir, f.path, f.size, f.mtime_ns, f.inode, j.state, j.sha1, w.after
             FROM watch_files f JOIN jobs j ON j.id = f.job_id JOIN watches w ON w.id = f.watch_id
             WHERE f.state = 'queued' AND j.state IN ('done', 'cancelled')",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Finished {
                    watch_id: r.get(0)?,
                    watch_dir: path(r.get(1)?),
                    path: path(r.get(2)?),
                    identity: Identity { size: r.get::<_, i64>(3)? as u64, mtime_ns: r.get(4)?, inode: r.get::<_, Option<i64>>(5)?.map(|i| i as u64) },
                    job_state: r.get(6)?,
                    job_sha1: r.get(7)?,
                    after: AfterUpload::parse(&r.get::<_, String>(8)?).unwrap_or(AfterUpload::Keep),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
