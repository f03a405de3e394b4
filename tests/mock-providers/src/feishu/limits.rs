//! The upload APIs' call limits (§5, §10): 5 calls a second and 10,000 a day per API, and no
//! concurrent `upload_part` calls on one upload. Over a limit the answer is `1061045` "can
//! retry" with HTTP 200, as the notes document for these APIs. What was observed is recorded:
//! the most calls of each API in any one-second window, and the most `upload_part` calls of
//! one upload in progress at the same time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct CallLimits {
    /// path → arrivals within the last second.
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// path → most arrivals seen in one window.
    max_per_window: Mutex<BTreeMap<String, u64>>,
    /// path → calls since start (the mock's "day").
    daily: Mutex<HashMap<String, u64>>,
    /// upload_id → part calls being handled now.
    in_flight: Mutex<HashMap<String, u32>>,
    /// upload_id → [arrival, end) of each part call, for the concurrency figure.
    spans: Mutex<HashMap<String, Vec<(Instant, Instant)>>>,
}

/// Why a call was refused before it was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Rate,
    Daily,
}

impl CallLimits {
    /// Records a call of `path` arriving now; refuses it above `qps` in the last second or
    /// above `daily` since start. Refused calls count too: Feishu saw them.
    pub(crate) fn arrive(&self, path: &str, qps: u64, daily: u64) -> Result<(), Refusal> {
        let now = Instant::now();
        let in_window = {
            let mut recent = self.recent.lock();
            let q = recent.entry(path.to_owned()).or_default();
            while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                q.pop_front();
            }
            q.push_back(now);
            q.len() as u64
        };
        {
            let mut max = self.max_per_window.lock();
            let m = max.entry(path.to_owned()).or_default();
            *m = (*m).max(in_window);
        }
        let today = {
            let mut d = self.daily.lock();
            let n = d.entry(path.to_owned()).or_default();
            *n += 1;
            *n
        };
        if in_window > qps {
            return Err(Refusal::Rate);
        }
        if today > daily {
            return Err(Refusal::Daily);
        }
        Ok(())
    }

    pub(crate) fn max_per_window(&self) -> BTreeMap<String, u64> {
        self.max_per_window.lock().clone()
    }

    /// A part call of `upload_id` that arrived at `arrived` is being handled; the guard ends
    /// it. `concurrent()` on the guard says whether another one was in progress.
    pub(crate) fn part_begins(self: &Arc<Self>, upload_id: &str, arrived: Instant) -> PartGuard {
        let mut in_flight = self.in_flight.lock();
        let n = in_flight.entry(upload_id.to_owned()).or_default();
        *n += 1;
        PartGuard {
            limits: self.clone(),
            upload_id: upload_id.to_owned(),
            arrived,
            concurrent: *n > 1,
        }
    }

    /// Most part calls of one upload that were handled at the same time.
    pub(crate) fn max_concurrent_parts(&self) -> u64 {
        self.spans
            .lock()
            .values()
            .map(|s| max_overlap(s))
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn reset(&self) {
        self.recent.lock().clear();
        self.max_per_window.lock().clear();
        self.daily.lock().clear();
        self.spans.lock().clear();
    }
}

pub(crate) struct PartGuard {
    limits: Arc<CallLimits>,
    upload_id: String,
    arrived: Instant,
    concurrent: bool,
}

impl PartGuard {
    pub(crate) fn concurrent(&self) -> bool {
        self.concurrent
    }
}

impl Drop for PartGuard {
    fn drop(&mut self) {
        let mut in_flight = self.limits.in_flight.lock();
        if let Some(n) = in_flight.get_mut(&self.upload_id) {
            *n -= 1;
            if *n == 0 {
                in_flight.remove(&self.upload_id);
            }
        }
        drop(in_flight);
        self.limits
            .spans
            .lock()
            .entry(self.upload_id.clone())
            .or_default()
            .push((self.arrived, Instant::now()));
    }
}

/// Largest number of half-open spans covering one instant.
fn max_overlap(spans: &[(Instant, Instant)]) -> u64 {
    // An end sorts before a start at the same instant: back-to-back calls do not overlap.
    let mut events: Vec<(Instant, i64)> =
        spans.iter().flat_map(|&(s, e)| [(s, 1), (e, -1)]).collect();
    events.sort();
    let (mut current, mut max) = (0i64, 0i64);
    for (_, delta) in events {
        current += delta;
        max = max.max(current);
    }
    max as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_counts_the_last_second() {
        let l = CallLimits::default();
        for _ in 0..5 {
            assert_eq!(l.arrive("/p", 5, 100), Ok(()));
        }
        assert_eq!(l.arrive("/p", 5, 100), Err(Refusal::Rate));
        assert_eq!(
            l.arrive("/q", 5, 100),
            Ok(()),
            "each API has its own window"
        );
        assert_eq!(l.max_per_window()["/p"], 6);
        std::thread::sleep(WINDOW);
        assert_eq!(l.arrive("/p", 5, 100), Ok(()));
        assert_eq!(
            l.arrive("/p", 5, 7),
            Err(Refusal::Daily),
            "8 calls of /p so far"
        );
    }

    #[test]
    fn concurrent_parts_of_one_upload_are_seen() {
        let l = Arc::new(CallLimits::default());
        let a = l.part_begins("u1", Instant::now());
        assert!(!a.concurrent());
        let other = l.part_begins("u2", Instant::now());
        assert!(
            !other.concurrent(),
            "another upload is not concurrent with u1"
        );
        let b = l.part_begins("u1", Instant::now());
        assert!(b.concurrent());
        drop((a, b, other));
        assert_eq!(l.max_concurrent_parts(), 2);
        let c = l.part_begins("u1", Instant::now());
        assert!(!c.concurrent(), "after both ended");
    }
}
