//! Read-only views of the queue, for `ferry queue` and the window.


use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{JobState, PartState};
use crate::error::Result;
use crate::providers::Committed;

/// One job as people see it. Field names are part of `ferry queue --json`'s contract.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct JobView {
    pub id: i64,
    pub state: JobState,
    /// The source path (lossy if the name is not UTF-8).
    pub file: String,
    pub name: String,
    pub account: String,
    pub dest: String,
    pub size: u64,
    /// Bytes the provider acknowledged.
    pub bytes_acked: u64,
    pub parts_done: u32,
    pub parts_total: u32,
    pub attempts: u32,
    pub error_kind: Option<String>,
    /// The last error, in human words.
    pub error: Option<String>,
    pub result: Option<Committed>,
    pub sha1: Option<String>,
    pub bytes_sent: u64,
    /// Unix ms; a queued job waiting for a retry runs at this time.
    pub next_run_at: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// What changed in the queue after a revision (see `Queue::changes_since`).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueueChanges {
    /// The revision this answer is complete up to: ask from here next time.
    pub rev: i64,
    /// Jobs added or changed, in id order.
    pub jobs: Vec<JobView>,
    /// Jobs that no longer exist (history cleared).
    pub removed: Vec<i64>,
    /// More changes are waiting: ask again from `rev` now.
    pub more: bool,
    /// The asker is too far behind to be told what was removed: list the queue again,
    /// then ask from `rev`.
    pub reset: bool,
}

/// One part, for the part grid.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PartView {
    pub number: u32,
    pub offset: u64,
    pub length: u64,
    pub state: PartState,
    pub attempts: u32,
}

const SQL: &str = "
    SELECT j.id, j.state, j.source, j.name, COALESCE(a.name, '(removed account)'), j.dest, j.size,
           COALESCE(p.acked_bytes, 0), COALESCE(p.done, 0), COALESCE(p.total, 0), j.attempts,
           j.error_kind, j.error, j.result, j.sha1, j.bytes_sent, j.next_run_at, j.created_at, j.finished_at
    FROM jobs j
    LEFT JOIN accounts a ON a.id = j.account_id
    LEFT JOIN (
        SELECT job_id, COUNT(*) AS total,
               SUM(state = 'acked') AS done,
               SUM(CASE WHEN state = 'acked' THEN length ELSE 0 END) AS acked_bytes
        FROM parts GROUP BY job_id
    ) p ON p.job_id = j.id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<JobView> {
    let state: String = r.get(1)?;
    let result: Option<String> = r.get(13)?;
    Ok(JobView {
        id: r.get(0)?,
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        file: crate::platform::path_from_bytes(r.get::<_, Vec<u8>>(2)?).display().to_string(),
        name: r.get(3)?,
        account: r.get(4)?,
        dest: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        bytes_acked: r.get::<_, i64>(7)? as u64,
        parts_done: r.get(8)?,
        parts_total: r.get(9)?,
        attempts: r.get(10)?,
        error_kind: r.get(11)?,
        error: r.get(12)?,
        result: result.and_then(|s| serde_json::from_str(&s).ok()),
        sha1: r.get(14)?,
        bytes_sent: r.get::<_, i64>(15)? as u64,
        next_run_at: r.get(16)?,
        created_at: r.get(17)?,
        finished_at: r.get(18)?,
    })
}

pub(super) fn list(conn: &Connection, id: Option<i64>) -> Result<Vec<JobView>> {
    let (sql, params): (String, Vec<i64>) = match id {
        Some(id) => (format!("{SQL} WHERE j.id = ?1"), vec![id]),
        None => (format!("{SQL} ORDER BY j.id"), vec![]),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The same columns as `SQL`, for a few jobs: `{jobs}` picks them from `jobs` first, so the
/// parts are read only for those (through their primary key), not aggregated for every job.
const FEW_SQL: &str = "
    SELECT j.id, j.state, j.source, j.name, COALESCE(a.name, '(removed account)'), j.dest, j.size,
           COALESCE(SUM(CASE WHEN p.state = 'acked' THEN p.length ELSE 0 END), 0),
           COALESCE(SUM(p.state = 'acked'), 0), COUNT(p.job_id), j.attempts,
           j.error_kind, j.error, j.result, j.sha1, j.bytes_sent, j.next_run_at, j.created_at, j.finished_at
    FROM (SELECT * FROM jobs WHERE {jobs}) j
    LEFT JOIN accounts a ON a.id = j.account_id
    LEFT JOIN parts p ON p.job_id = j.id
    GROUP BY j.id
    ORDER BY j.id";

fn few(conn: &Connection, jobs: &str, params: Vec<i64>) -> Result<Vec<JobView>> {
    let mut stmt = conn.prepare(&FEW_SQL.replace("{jobs}", jobs))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Up to `limit` jobs with ids above `after_id`, in id order: the window loads a long queue
/// page by page instead of in one reply of tens of megabytes.
pub(super) fn page(conn: &Connection, after_id: i64, limit: u32) -> Result<Vec<JobView>> {
    few(conn, "id > ?1 ORDER BY id LIMIT ?2", vec![after_id, limit as i64])
}

/// The changes after `since`, at most `limit` jobs. Revisions are unique, so a page ends
/// just before the first job it leaves out, and the next page starts there.
pub(super) fn changes(conn: &Connection, since: i64, limit: u32) -> Result<QueueChanges> {
    let (current, floor): (i64, i64) = conn.query_row("SELECT rev, floor FROM queue_rev", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if since < floor {
        return Ok(QueueChanges { rev: current, jobs: vec![], removed: vec![], more: false, reset: true });
    }
    let cut: Option<i64> = conn
        .query_row("SELECT rev FROM jobs WHERE rev > ?1 ORDER BY rev LIMIT 1 OFFSET ?2", [since, limit as i64], |r| r.get(0))
        .optional()?;
    let upto = cut.map_or(current, |rev| rev - 1);
    let jobs = few(conn, "rev > ?1 AND rev <= ?2", vec![since, upto])?;
    let mut stmt = conn.prepare("SELECT id FROM removed_jobs WHERE rev > ?1 AND rev <= ?2 ORDER BY id")?;
    let removed = stmt.query_map([since, upto], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(QueueChanges { rev: upto, jobs, removed, more: cut.is_some(), reset: false })
}

/// The given jobs (unknown ids are left out), in id order.
pub(super) fn some(conn: &Connection, ids: &[i64]) -> Result<Vec<JobView>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks = vec!["?"; ids.len()].join(", ");
    few(conn, &format!("id IN ({marks})"), ids.to_vec())
}
