//! Counters a test or benchmark asserts on.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::Serialize;

/// One `upload_part` call that reached the handler with its fields read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartCall {
    pub upload_id: String,
    /// `None` when the seq field was missing or not a number.
    pub seq: Option<u64>,
    /// The answer's code (0 = the block was kept).
    pub code: i64,
}

/// A snapshot of the mock's counters (see [`super::FeishuMock::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Token requests, and tokens newly issued (a still-fresh token is handed back instead).
    pub token_requests: u64,
    pub tokens_issued: u64,
    /// Calls refused for a missing, unknown or expired token.
    pub token_refusals: u64,
    pub upload_alls_ok: u64,
    pub upload_all_bytes: u64,
    pub prepares_ok: u64,
    /// Blocks kept by `upload_part` (re-sends included), their bytes, and how many of them
    /// carried a checksum (each one checked).
    pub parts_ok: u64,
    pub part_bytes: u64,
    pub parts_with_checksum: u64,
    pub finishes_ok: u64,
    /// Checksums that did not match the bytes (answered 1062008).
    pub checksum_mismatches: u64,
    /// Calls refused over 5 a second, over the daily budget, or concurrent on one upload.
    pub refused_rate: u64,
    pub refused_daily: u64,
    pub refused_concurrent: u64,
    /// Business errors answered by the endpoints (injected faults not included).
    pub business_errors: u64,
    /// Requests hit by an injected fault (delays included).
    pub faults_injected: u64,
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Most calls of each endpoint observed in any one-second window.
    pub max_calls_per_second: BTreeMap<String, u64>,
    /// Most `upload_part` calls (either family) observed in any one-second window.
    pub max_part_calls_per_second: u64,
    /// Most `upload_part` calls of one upload handled at the same time.
    pub max_concurrent_parts_per_upload: u64,
    /// Every `upload_part` call that reached the handler, in order.
    pub part_calls: Vec<PartCall>,
}

#[derive(Default)]
pub(crate) struct StatsRecorder {
    counters: Mutex<Stats>,
}

impl StatsRecorder {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.counters.lock());
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.counters.lock().clone()
    }

    pub(crate) fn reset(&self) {
        *self.counters.lock() = Stats::default();
    }
}
