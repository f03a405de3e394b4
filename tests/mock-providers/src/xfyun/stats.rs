//! Counters a test or benchmark asserts on.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;

/// A snapshot of the mock's counters (see [`super::XfyunMock::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Successful `init` calls.
    pub inits: u64,
    /// Slices accepted by `/file/mpupload/upload` (re-sends included).
    pub slices_received: u64,
    /// Bytes of accepted slices.
    pub slice_bytes_received: u64,
    pub completes_ok: u64,
    pub oneshots_ok: u64,
    /// Bytes of successful one-shot uploads.
    pub oneshot_bytes_received: u64,
    /// Successful `cancel` calls.
    pub cancels: u64,
    /// Requests refused by the signature check (401/403).
    pub auth_failures: u64,
    /// Envelopes answered with `code != 0` by the endpoints (injected faults not included).
    pub business_errors: u64,
    /// Requests hit by an injected fault (delays included) since start or reset.
    pub faults_injected: u64,
    /// Every request that reached each endpoint path, faulted or refused ones included.
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Most slice requests of one upload that were being handled at the same time.
    pub max_concurrent_slices_per_upload: u64,
}

/// Thread-safe recorder behind [`Stats`].
#[derive(Default)]
pub(crate) struct StatsRecorder {
    counters: Mutex<Stats>,
    /// Per upload_id, the [start, end) of each slice request, for the concurrency figure.
    slice_spans: Mutex<HashMap<String, Vec<(Instant, Instant)>>>,
}

impl StatsRecorder {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.counters.lock());
    }

    pub(crate) fn auth_failure(&self) {
        self.update(|s| s.auth_failures += 1);
    }

    pub(crate) fn request(&self, path: &str) {
        self.update(|s| *s.requests_by_endpoint.entry(path.to_owned()).or_default() += 1);
    }

    pub(crate) fn slice_span(&self, upload_id: &str, start: Instant, end: Instant) {
        self.slice_spans
            .lock()
            .entry(upload_id.to_owned())
            .or_default()
            .push((start, end));
    }

    pub(crate) fn snapshot(&self, faults_injected: u64) -> Stats {
        let mut stats = self.counters.lock().clone();
        stats.faults_injected = faults_injected;
        stats.max_concurrent_slices_per_upload = self
            .slice_spans
            .lock()
            .values()
            .map(|spans| max_overlap(spans))
            .max()
            .unwrap_or(0);
        stats
    }

    pub(crate) fn reset(&self) {
        *self.counters.lock() = Stats::default();
        self.slice_spans.lock().clear();
    }
}

/// Largest number of half-open spans covering one instant (sweep over sorted endpoints).
fn max_overlap(spans: &[(Instant, Instant)]) -> u64 {
    // An end sorts before a start at the same instant: back-to-back requests do not overlap.
    let mut events: Vec<(Instant, i64)> = spans
        .iter()
        .flat_map(|&(start, end)| [(start, 1), (end, -1)])
        .collect();
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
    use std::time::Duration;

    #[test]
    fn overlap_counts_only_simultaneous_spans() {
        let t = Instant::now();
        let at = |ms| t + Duration::from_millis(ms);
        assert_eq!(max_overlap(&[]), 0);
        assert_eq!(max_overlap(&[(at(0), at(10)), (at(10), at(20))]), 1);
        assert_eq!(
            max_overlap(&[(at(0), at(10)), (at(5), at(20)), (at(6), at(7))]),
            3
        );
    }
}
