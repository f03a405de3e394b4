//! The persistent upload queue and part ledger. Every state change is one named, guarded
//! statement (`UPDATE … WHERE id = ? AND state IN (…)`) that must change exactly one row;
//! a refused guard is an error, never a silent overwrite.

mod state;
mod summary;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

pub use state::{JobState, PartState, Transition};
pub use summary::QueueSummary;
pub use view::{JobView, PartView, QueueChanges};

use crate::error::{Error, ErrorKind, Result};
use crate::platform;
use crate::providers::{Committed, PartReceipt, PartSpec};
use crate::source::Identity;
use crate::store::Store;

pub(crate) const SCHEMA_V1: &str = include_str!("schema.sql");
pub(crate) const REVISIONS_V1: &str = include_str!("revisions.sql");
pub(crate) const IDS_V1: &str = include_str!("ids.sql");

/// A file to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub account_id: i64,
    pub source: PathBuf,
    pub name: String,
    pub dest: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: Option<u64>,
}

/// A job as the engine works with it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub account_id: i64,
    pub source: PathBuf,
    pub name: String,
    pub dest: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: Option<u64>,
    pub sha1: Option<String>,
    pub state: JobState,
    pub session: Option<serde_json::Value>,
    pub part_size: Option<u64>,
    pub attempts: u32,
    pub result: Option<Committed>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub spec: PartSpec,
    pub state: PartState,
    pub receipt: Option<PartReceipt>,
    pub attempts: u32,
}

/// A job's last error, as stored.
#[derive(Debug, Clone)]
pub struct JobError {
    pub kind: ErrorKind,
    pub message: String,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn kind_str(kind: ErrorKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[derive(Clone)]
pub struct Queue {
    store: Arc<Store>,
}

const JOB_COLUMNS: &str = "id, account_id, source, name, dest, size, mtime_ns, inode, sha1, state, session, part_size, attempts, result";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let conv = |i: usize, msg: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, msg.into());
    let state: String = r.get(9)?;
    let session: Option<String> = r.get(10)?;
    let result: Option<String> = r.get(13)?;
    Ok(Job {
        id: r.get(0)?,
        account_id: r.get(1)?,
        source: platform::path_from_bytes(r.get::<_, Vec<u8>>(2)?),
        name: r.get(3)?,
        dest: r.get(4)?,
        size: r.get::<_, i64>(5)? as u64,
        mtime_ns: r.get(6)?,
        inode: r.get::<_, Option<i64>>(7)?.map(|i| i as u64),
        sha1: r.get(8)?,
        state: JobState::parse(&state).ok_or_else(|| conv(9, format!("unknown job state {state}")))?,
        session: session.map(|s| serde_json::from_str(&s)).transpose().map_err(|e| conv(10, e.to_string()))?,
        part_size: r.get::<_, Option<i64>>(11)?.map(|v| v as u64),
        attempts: r.get(12)?,
        result: result.map(|s| serde_json::from_str(&s)).transpose().map_err(|e| conv(13, e.to_string()))?,
    })
}

/// Runs one guarded transition: `SET state = to, <set> WHERE id = ? AND state IN (from)`.
/// `extra` binds `?3, ?4, …` in `set`.
fn apply(conn: &Connection, id: i64, t: Transition, set: &str, extra: Vec<Value>) -> Result<()> {
    let from: Vec<String> = t.from().iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE jobs SET state = '{}', updated_at = ?1{set} WHERE id = ?2 AND state IN ({})",
        t.to().as_str(),
        from.join(", ")
    );
    let mut values = vec![Value::Integer(now_ms()), Value::Integer(id)];
    values.extend(extra);
    // Cached: a worker runs the same few transitions for every file.
    match conn.prepare_cached(&sql)?.execute(params_from_iter(values))? {
        1 => Ok(()),
        _ => {
            let state: Option<String> = conn.query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0)).optional()?;
            match state {
                None => Err(Error::UnknownJob(id)),
                Some(state) => Err(Error::Transition { job: id, state, verb: t.verb() }),
            }
        }
    }
}

/// Runs one guarded part transition, which must change exactly one row.
fn apply_part(conn: &Connection, job: i64, number: u32, from: PartState, to: PartState, set: &str, extra: Vec<Value>) -> Result<()> {
    let sql = format!(
        "UPDATE parts SET state = '{}'{set} WHERE job_id = ?1 AND number = ?2 AND state = '{}'",
        to.as_str(),
        from.as_str()
    );
    let mut values = vec![Value::Integer(job), Value::Integer(number as i64)];
    values.extend(extra);
    match conn.prepare_cached(&sql)?.execute(params_from_iter(values))? {
        1 => Ok(()),
        _ => Err(Error::Transition { job, state: format!("part {number} not {}", from.as_str()), verb: "move that part" }),
    }
}

impl Queue {
    pub fn new(store: Arc<Store>) -> Self {
        Queue { store }
    }

    /// Adds jobs in one transaction; returns their ids in order.
    pub fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        self.enqueue_with(jobs, |_, _| Ok(()))
    }

    /// Adds jobs and, in the same transaction, whatever `also` records about them (a watched
    /// folder's file records), so neither can exist without the other.
    pub fn enqueue_with(&self, jobs: &[NewJob], also: impl FnOnce(&rusqlite::Transaction<'_>, &[i64]) -> Result<()>) -> Result<Vec<i64>> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(jobs.len());
        {
            let mut stmt = tx.prepare(
                "INSERT INTO jobs (account_id, source, name, dest, size, mtime_ns, inode, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?8)",
            )?;
            let t = now_ms();
            for j in jobs {
                stmt.execute(params![
                    j.account_id,
                    platform::path_bytes(&j.source),
                    j.name,
                    j.dest,
                    j.size as i64,
                    j.mtime_ns,
                    j.inode.map(|i| i as i64),
                    t
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        also(&tx, &ids)?;
        tx.commit()?;
        Ok(ids)
    }

    pub fn get(&self, id: i64) -> Result<Job> {
        let conn = self.store.conn();
        conn.query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"), [id], job_from_row)
            .optional()?
            .ok_or(Error::UnknownJob(id))
    }

    pub fn state(&self, id: i64) -> Result<JobState> {
        Ok(self.get(id)?.state)
    }

    /// The oldest queued job whose time has come, other than `except` (already taken).
    pub fn next_due_except(&self, except: &[i64]) -> Result<Option<i64>> {
        let conn = self.store.conn();
        let skip: Vec<String> = except.iter().map(i64::to_string).collect();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT id FROM jobs WHERE state = 'queued' AND next_run_at <= ?1 AND id NOT IN ({}) ORDER BY next_run_at, id LIMIT 1",
                    skip.join(",")
                ),
                [now_ms()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// How many jobs are queued (due or waiting for a retry) or active.
    pub fn pending_count(&self) -> Result<u64> {
        let conn = self.store.conn();
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'hashing', 'uploading', 'committing')",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// The earliest `next_run_at` of a queued job, to sleep until.
    pub fn next_wake(&self) -> Result<Option<i64>> {
        let conn = self.store.conn();
        Ok(conn.query_row("SELECT MIN(next_run_at) FROM jobs WHERE state = 'queued'", [], |r| r.get(0))?)
    }

    // ---- job transitions -------------------------------------------------------------

    /// queued → hashing (a worker takes the job; counts an attempt).
    /// Relaxed (see `Store::relaxed`): a claim lost in a power cut is a queued job again,
    /// which is what start-up recovery makes of it anyway.
    pub fn start_hashing(&self, id: i64) -> Result<()> {
        self.store.relaxed(|c| apply(c, id, Transition::StartHashing, ", attempts = attempts + 1", vec![]))
    }

    /// queued → uploading (a worker takes the job; counts an attempt), or hashing → uploading.
    /// Relaxed, like `start_hashing`.
    pub fn start_uploading(&self, id: i64) -> Result<()> {
        let counted = ", attempts = attempts + (CASE state WHEN 'queued' THEN 1 ELSE 0 END)";
        self.store.relaxed(|c| apply(c, id, Transition::StartUploading, counted, vec![]))
    }

    /// Records the whole-file SHA-1 (no state change).
    pub fn set_sha1(&self, id: i64, sha1: &str) -> Result<()> {
        self.store.conn().execute("UPDATE jobs SET sha1 = ?2, updated_at = ?3 WHERE id = ?1", params![id, sha1, now_ms()])?;
        Ok(())
    }

    /// Persists the provider session and the part plan, atomically, while uploading.
    /// Relaxed: it becomes durable with the first acknowledged part; lost in a power cut
    /// before that, the upload starts again from `init` (as it must when the cut comes
    /// between the provider's `init` and this step).
    pub fn plan(&self, id: i64, session: &serde_json::Value, part_size: u64, parts: &[PartSpec]) -> Result<()> {
        self.store.relaxed(|c| Self::plan_on(c, id, session, part_size, parts))
    }

    fn plan_on(c: &Connection, id: i64, session: &serde_json::Value, part_size: u64, parts: &[PartSpec]) -> Result<()> {
        let tx = c.unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE jobs SET session = ?2, part_size = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'uploading' AND session IS NULL",
            params![id, session.to_string(), part_size as i64, now_ms()],
        )?;
        if n != 1 {
            return Err(Error::Transition { job: id, state: "not uploading without a session".into(), verb: "plan its parts" });
        }
        {
            let mut stmt = tx.prepare("INSERT INTO parts (job_id, number, offset, length, state) VALUES (?1, ?2, ?3, ?4, 'pending')")?;
            for p in parts {
                stmt.execute(params![id, p.number, p.offset as i64, p.length as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets the session and the parts (the provider forgot the upload): start over.
    pub fn reset_session(&self, id: i64) -> Result<()> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM parts WHERE job_id = ?1", [id])?;
        tx.execute("UPDATE jobs SET session = NULL, part_size = NULL, updated_at = ?2 WHERE id = ?1", params![id, now_ms()])?;
        tx.commit()?;
        Ok(())
    }

    /// uploading → committing.
    pub fn begin_commit(&self, id: i64) -> Result<()> {
        apply(&self.store.conn(), id, Transition::BeginCommit, "", vec![])
    }

    /// uploading → committing with the whole-file SHA-1, in one relaxed step: lost in a
    /// power cut, the job is recovered to the queue, the digest is read again from the file
    /// and the commit is repeated (providers and `local` recognise a repeated commit).
    pub fn begin_commit_with(&self, id: i64, sha1: Option<&str>) -> Result<()> {
        let set = ", sha1 = COALESCE(?3, sha1)";
        let v = vec![sha1.map_or(Value::Null, |h| Value::Text(h.to_owned()))];
        self.store.relaxed(|c| apply(c, id, Transition::BeginCommit, set, v))
    }

    /// uploading | committing → done, with the provider's result. Relaxed: durable after
    /// [`Queue::flush`], which the worker awaits before it reports the job done.
    pub fn finish(&self, id: i64, result: &Committed) -> Result<()> {
        let json = serde_json::to_string(result).expect("Committed serialises");
        let set = ", result = ?3, finished_at = ?1, error = NULL, error_kind = NULL";
        self.store.relaxed(|c| apply(c, id, Transition::Finish, set, vec![Value::Text(json)]))
    }

    /// active → queued, to run again at `at_ms`, keeping the error for people to see.
    pub fn retry_later(&self, id: i64, at_ms: i64, error: &JobError) -> Result<()> {
        let set = ", next_run_at = ?3, error_kind = ?4, error = ?5";
        let v = vec![Value::Integer(at_ms), Value::Text(kind_str(error.kind)), Value::Text(error.message.clone())];
        apply(&self.store.conn(), id, Transition::RetryLater, set, v)
    }

    /// Like `retry_later`, for a wait the provider imposed (a quota that resets, a ban that
    /// lifts): the attempt is not counted against the job.
    pub fn defer(&self, id: i64, at_ms: i64, error: &JobError) -> Result<()> {
        let set = ", next_run_at = ?3, error_kind = ?4, error = ?5, attempts = MAX(attempts - 1, 0)";
        let v = vec![Value::Integer(at_ms), Value::Text(kind_str(error.kind)), Value::Text(error.message.clone())];
        apply(&self.store.conn(), id, Transition::RetryLater, set, v)
    }

    /// → failed, with the human error.
    pub fn fail(&self, id: i64, error: &JobError) -> Result<()> {
        let set = ", error_kind = ?3, error = ?4, finished_at = ?1";
        let v = vec![Value::Text(kind_str(error.kind)), Value::Text(error.message.clone())];
        apply(&self.store.conn(), id, Transition::Fail, set, v)
    }

    /// → paused. Acknowledged parts stay acknowledged.
    pub fn pause(&self, id: i64) -> Result<()> {
        apply(&self.store.conn(), id, Transition::Pause, "", vec![])
    }

    /// paused | failed → queued, due now.
    pub fn resume(&self, id: i64) -> Result<()> {
        let set = ", next_run_at = 0, error = NULL, error_kind = NULL, finished_at = NULL, attempts = CASE state WHEN 'failed' THEN 0 ELSE attempts END";
        apply(&self.store.conn(), id, Transition::Resume, set, vec![])
    }

    /// failed → queued as a new version of its file: the part plan, the session, the
    /// digest and the byte counts go, the version is `now`. Returns the old session, for
    /// the provider to forget.
    pub fn restart_as(&self, id: i64, now: Identity) -> Result<Option<serde_json::Value>> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        let (state, session): (String, Option<String>) = tx
            .query_row("SELECT state, session FROM jobs WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(Error::UnknownJob(id))?;
        if state != JobState::Failed.as_str() {
            return Err(Error::Transition { job: id, state, verb: "start over" });
        }
        // Queued again meanwhile (by hand, or by a watched folder): never upload it twice.
        let twin: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE id != ?1 AND source = (SELECT source FROM jobs WHERE id = ?1) AND account_id = (SELECT account_id FROM jobs WHERE id = ?1)
                   AND size = ?2 AND mtime_ns = ?3 AND state NOT IN ('failed', 'cancelled') LIMIT 1",
                params![id, now.size as i64, now.mtime_ns],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(twin) = twin {
            return Err(Error::Transition { job: id, state: format!("failed, and its file's current version is already job {twin}"), verb: "start over" });
        }
        let set = ", next_run_at = 0, error = NULL, error_kind = NULL, finished_at = NULL, attempts = 0, \
                   size = ?3, mtime_ns = ?4, inode = ?5, session = NULL, part_size = NULL, sha1 = NULL, result = NULL, bytes_sent = 0";
        let version = vec![Value::Integer(now.size as i64), Value::Integer(now.mtime_ns), now.inode.map_or(Value::Null, |i| Value::Integer(i as i64))];
        apply(&tx, id, Transition::Resume, set, version)?;
        tx.execute("DELETE FROM parts WHERE job_id = ?1", [id])?;
        tx.commit()?;
        Ok(session.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// The kind of a job's last error, if it has one.
    pub fn error_kind(&self, id: i64) -> Result<Option<ErrorKind>> {
        let kind: Option<String> = self
            .store
            .conn()
            .query_row("SELECT error_kind FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or(Error::UnknownJob(id))?;
        Ok(kind.and_then(|k| serde_json::from_value(serde_json::Value::String(k)).ok()))
    }

    /// hashing | uploading | committing → queued, due now: a worker stopped while its job
    /// was still active (the same as start-up recovery, for one job).
    pub fn requeue(&self, id: i64) -> Result<()> {
        apply(&self.store.conn(), id, Transition::Recover, ", next_run_at = 0", vec![])
    }

    /// → cancelled. Returns the session to abort at the provider, if any.
    pub fn cancel(&self, id: i64) -> Result<Option<serde_json::Value>> {
        let conn = self.store.conn();
        apply(&conn, id, Transition::Cancel, ", finished_at = ?1", vec![])?;
        let session: Option<String> = conn.query_row("SELECT session FROM jobs WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(session.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Start-up recovery: parts left in flight go back to pending, and jobs a dead process
    /// owned go back to the queue with their session. Returns (jobs, parts) recovered.
    pub fn recover(&self) -> Result<(usize, usize)> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        let parts = tx.execute("UPDATE parts SET state = 'pending' WHERE state = 'in_flight'", [])?;
        let from: Vec<String> = Transition::Recover.from().iter().map(|s| format!("'{}'", s.as_str())).collect();
        let jobs = tx.execute(
            &format!("UPDATE jobs SET state = 'queued', next_run_at = 0, updated_at = ?1 WHERE state IN ({})", from.join(", ")),
            [now_ms()],
        )?;
        // No reader from before this start can be waiting on these tombstones' revisions
        // for long; one that is lists the queue again (`QueueChanges::reset`).
        tx.execute_batch("DELETE FROM removed_jobs; UPDATE queue_rev SET floor = rev;")?;
        tx.commit()?;
        Ok((jobs, parts))
    }

    // ---- parts -------------------------------------------------------------------------

    pub fn parts(&self, id: i64) -> Result<Vec<Part>> {
        let conn = self.store.conn();
        let count: u32 = conn.query_row("SELECT COUNT(*) FROM parts WHERE job_id = ?1", [id], |r| r.get(0))?;
        let mut stmt = conn.prepare("SELECT number, offset, length, state, receipt, attempts FROM parts WHERE job_id = ?1 ORDER BY number")?;
        let rows = stmt
            .query_map([id], |r| {
                let state: String = r.get(3)?;
                let receipt: Option<String> = r.get(4)?;
                Ok(Part {
                    spec: PartSpec { number: r.get(0)?, offset: r.get::<_, i64>(1)? as u64, length: r.get::<_, i64>(2)? as u64, count },
                    state: PartState::parse(&state).unwrap_or(PartState::Pending),
                    receipt: receipt.and_then(|s| serde_json::from_str(&s).ok()),
                    attempts: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// pending → in flight (counts an attempt). Relaxed: start-up recovery turns every part
    /// in flight back to pending, so losing this step in a power cut changes nothing.
    pub fn part_start(&self, job: i64, number: u32) -> Result<()> {
        self.store.relaxed(|c| apply_part(c, job, number, PartState::Pending, PartState::InFlight, ", attempts = attempts + 1", vec![]))
    }

    /// in flight → acknowledged, with the provider's receipt. Committed before it counts.
    pub fn part_ack(&self, job: i64, receipt: &PartReceipt) -> Result<()> {
        let json = serde_json::to_string(receipt).expect("receipts serialise");
        apply_part(&self.store.conn(), job, receipt.number, PartState::InFlight, PartState::Acked, ", receipt = ?3", vec![Value::Text(json)])
    }

    /// `part_ack` and `add_bytes_sent` of its length in one relaxed commit: durable, and
    /// so counted, only after [`Queue::flush`] (which the worker shares with others).
    pub fn ack_sent_part(&self, job: i64, receipt: &PartReceipt, bytes: u64) -> Result<()> {
        let json = serde_json::to_string(receipt).expect("receipts serialise");
        self.store.relaxed(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("UPDATE jobs SET bytes_sent = bytes_sent + ?2 WHERE id = ?1", params![job, bytes as i64])?;
            let acked = apply_part(&tx, job, receipt.number, PartState::InFlight, PartState::Acked, ", receipt = ?3", vec![Value::Text(json)]);
            // Refused (paused meanwhile): the bytes still went out, and still count.
            if matches!(acked, Ok(()) | Err(Error::Transition { .. })) {
                tx.commit()?;
            }
            acked
        })
    }

    /// Makes every change so far durable (one fsync of the database's log, shared with
    /// every caller waiting at the same time). Blocking.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    /// in flight → pending (the attempt failed or was interrupted).
    pub fn part_release(&self, job: i64, number: u32) -> Result<()> {
        apply_part(&self.store.conn(), job, number, PartState::InFlight, PartState::Pending, "", vec![])
    }

    /// Every part of a job still in flight goes back to pending (the worker stopped).
    pub fn release_in_flight(&self, job: i64) -> Result<usize> {
        Ok(self.store.conn().execute("UPDATE parts SET state = 'pending' WHERE job_id = ?1 AND state = 'in_flight'", [job])?)
    }

    /// Counts a retry of a part in flight.
    pub fn part_retried(&self, job: i64, number: u32) -> Result<()> {
        self.store.conn().execute(
            "UPDATE parts SET attempts = attempts + 1 WHERE job_id = ?1 AND number = ?2 AND state = 'in_flight'",
            params![job, number],
        )?;
        Ok(())
    }

    /// Aligns the ledger with what the provider says it holds: parts it has become acked
    /// (with its receipt); acked parts it lacks go back to pending. Returns (gained, lost).
    pub fn reconcile(&self, job: i64, held: &[PartReceipt]) -> Result<(usize, usize)> {
        let mut conn = self.store.conn();
        let tx = conn.transaction()?;
        let mut gained = 0;
        for r in held {
            let json = serde_json::to_string(r).expect("receipts serialise");
            gained += tx.execute(
                "UPDATE parts SET state = 'acked', receipt = ?3 WHERE job_id = ?1 AND number = ?2 AND state != 'acked'",
                params![job, r.number, json],
            )?;
        }
        let numbers: Vec<String> = held.iter().map(|r| r.number.to_string()).collect();
        let lost = tx.execute(
            &format!("UPDATE parts SET state = 'pending', receipt = NULL WHERE job_id = ?1 AND state = 'acked' AND number NOT IN ({})", numbers.join(",")),
            [job],
        )?;
        tx.commit()?;
        Ok((gained, lost))
    }

    /// Counts bytes handed to the network for a job (acked or not), for honest totals.
    pub fn add_bytes_sent(&self, job: i64, bytes: u64) -> Result<()> {
        self.store.conn().execute("UPDATE jobs SET bytes_sent = bytes_sent + ?2 WHERE id = ?1", params![job, bytes as i64])?;
        Ok(())
    }

    // ---- views -------------------------------------------------------------------------

    /// Every job, oldest first, with its progress, for `ferry queue` and the UI.
    pub fn list(&self) -> Result<Vec<JobView>> {
        view::list(&self.store.conn(), None)
    }

    pub fn view(&self, id: i64) -> Result<JobView> {
        view::list(&self.store.conn(), Some(id))?.pop().ok_or(Error::UnknownJob(id))
    }

    /// Up to `limit` jobs after `after_id`, oldest first (the window pages through long queues).
    pub fn list_page(&self, after_id: i64, limit: u32) -> Result<Vec<JobView>> {
        view::page(&self.store.conn(), after_id, limit)
    }

    /// The queue's current revision: every change to a job counts it up.
    pub fn revision(&self) -> Result<i64> {
        Ok(self.store.conn().query_row("SELECT rev FROM queue_rev", [], |r| r.get(0))?)
    }

    /// What changed after revision `since`: up to `limit` added or changed jobs, and the
    /// jobs removed. Ask again from the answer's `rev` while `more` is set.
    pub fn changes_since(&self, since: i64, limit: u32) -> Result<QueueChanges> {
        let mut conn = self.store.conn();
        // One read transaction: a consistent snapshot even while another process writes.
        let tx = conn.transaction()?;
        let changes = view::changes(&tx, since, limit.max(1))?;
        tx.commit()?;
        Ok(changes)
    }

    /// The given jobs that exist, oldest first.
    pub fn views(&self, ids: &[i64]) -> Result<Vec<JobView>> {
        view::some(&self.store.conn(), ids)
    }

    /// A job's parts for the part grid.
    pub fn part_views(&self, id: i64) -> Result<Vec<PartView>> {
        Ok(self
            .parts(id)?
            .into_iter()
            .map(|p| PartView { number: p.spec.number, offset: p.spec.offset, length: p.spec.length, state: p.state, attempts: p.attempts })
            .collect())
    }

    /// Forgets finished jobs (done and cancelled): clears the history.
    pub fn clear_finished(&self) -> Result<usize> {
        Ok(self.store.conn().execute("DELETE FROM jobs WHERE state IN ('done', 'cancelled')", [])?)
    }

    /// Ids of jobs in the given states.
    pub fn ids_in(&self, states: &[JobState]) -> Result<Vec<i64>> {
        let conn = self.store.conn();
        let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let mut stmt = conn.prepare(&format!("SELECT id FROM jobs WHERE state IN ({}) ORDER BY id", list.join(",")))?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Engine settings stored as text.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.store.conn().query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.store.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
