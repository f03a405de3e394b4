//! The queue at a glance, for the tray's status line: counts by state and the bytes left.

use serde::Serialize;

use super::Queue;
use crate::error::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct QueueSummary {
    /// Hashing, uploading or committing.
    pub running: u32,
    /// Waiting for a slot (or a retry).
    pub queued: u32,
    pub paused: u32,
    pub failed: u32,
    /// Of the running and queued jobs: their size less what the provider acknowledged.
    pub bytes_left: u64,
}

impl Queue {
    pub fn summary(&self) -> Result<QueueSummary> {
        let conn = self.store.conn();
        let mut s = QueueSummary::default();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM jobs WHERE state IN ('queued', 'hashing', 'uploading', 'committing', 'paused', 'failed') GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u32)))? {
            let (state, n) = row?;
            match state.as_str() {
                "queued" => s.queued += n,
                "paused" => s.paused += n,
                "failed" => s.failed += n,
                _ => s.running += n,
            }
        }
        let (size, acked): (i64, i64) = conn.query_row(
            "SELECT COALESCE(SUM(size), 0),
                    COALESCE((SELECT SUM(p.length) FROM parts p JOIN jobs j ON j.id = p.job_id
                              WHERE p.state = 'acked' AND j.state IN ('queued', 'hashing', 'uploading', 'committing')), 0)
             FROM jobs WHERE state IN ('queued', 'hashing', 'uploading', 'committing')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        s.bytes_left = (size - acked).max(0) as u64;
        Ok(s)
    }

    /// The account of the most recently queued job: where files opened with Ferry go.
    pub fn last_account_id(&self) -> Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        Ok(self.store.conn().query_row("SELECT account_id FROM jobs ORDER BY id DESC LIMIT 1", [], |r| r.get(0)).optional()?)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use crate::queue::{NewJob, Queue};
    use crate::store::Store;

    fn job(q: &Queue, account_id: i64, size: u64) -> i64 {
        let new = NewJob { account_id, source: PathBuf::from("/tmp/a"), name: "a".into(), dest: String::new(), size, mtime_ns: 1, inode: Some(7) };
        q.enqueue(&[new]).unwrap()[0]
    }

    #[test]
    fn counts_by_state_bytes_left_and_the_last_account() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(Arc::new(Store::open(dir.path()).unwrap()));
        assert_eq!(q.summary().unwrap(), Default::default());
        assert_eq!(q.last_account_id().unwrap(), None);
        let running = job(&q, 1, 100);
        q.start_uploading(running).unwrap();
        job(&q, 1, 50);
        let paused = job(&q, 2, 7);
        q.pause(paused).unwrap();
        let s = q.summary().unwrap();
        assert_eq!((s.running, s.queued, s.paused, s.failed, s.bytes_left), (1, 1, 1, 0, 150));
        assert_eq!(q.last_account_id().unwrap(), Some(2));
    }
}
