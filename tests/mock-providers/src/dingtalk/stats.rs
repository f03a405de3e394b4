//! Counters a test asserts on and prints.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;

/// A snapshot of the mock's counters (see [`super::DingtalkMock::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `POST /v1.0/oauth2/accessToken` calls answered with a token.
    pub token_requests: u64,
    /// Distinct tokens issued (a request while the token is valid gets the same one back).
    pub tokens_issued: u64,
    /// API calls refused with `InvalidAuthentication` (missing, unknown or expired token).
    pub invalid_token_refusals: u64,
    /// ... of which because the token had expired.
    pub expired_token_refusals: u64,
    /// Successful `InitMultipartFileUpload` calls.
    pub inits: u64,
    /// Successful `GetMultipartFileUploadInfos` calls.
    pub part_info_queries: u64,
    /// Part numbers signed by those calls (a part re-signed counts again).
    pub part_infos_signed: u64,
    /// The most part numbers one query asked for.
    pub largest_part_info_batch: u64,
    /// Successful `GetFileUploadInfo` (single-shot) calls.
    pub upload_info_queries: u64,
    /// PUTs accepted by the storage host.
    pub puts_ok: u64,
    /// Bytes of accepted PUTs.
    pub put_bytes: u64,
    /// Body bytes that reached the storage host, from accepted and broken-off PUTs alike.
    pub put_bytes_arrived: u64,
    /// Accepted PUTs of a part that had already been received once (re-sends).
    pub parts_resent: u64,
    /// PUTs refused because their signature had expired.
    pub puts_expired: u64,
    /// PUTs refused for a bad signature, wrong or extra headers, or a missing length.
    pub puts_refused: u64,
    /// Commits that stored a new file or overwrote one.
    pub commits_stored: u64,
    /// Commits answered with an existing file (`RETURN_DENTRY_IF_EXISTS`).
    pub commits_returned_existing: u64,
    /// Commits whose file got a new name (`AUTO_RENAME` with a clash).
    pub commits_renamed: u64,
    /// Commits of an uploadKey that had already been committed.
    pub commits_of_used_keys: u64,
    /// Requests refused by the mock's own QPS limiter.
    pub qps_refusals: u64,
    /// API error answers by code (injected faults not included).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Every request per path, faulted or refused ones included.
    pub requests_by_path: BTreeMap<String, u64>,
    /// Requests hit by an injected fault (delays included) since start or reset.
    pub faults_injected: u64,
    /// Answers dropped after the request was applied (lost-answer faults).
    pub answers_lost: u64,
    /// Upload and part-info queries that left `option.preferIntranet` at its default `true`
    /// (intranet URLs are useless outside Alibaba's network).
    pub intranet_preferred: u64,
    /// Commit requests by `option.conflictStrategy` (answered or not).
    pub commits_by_strategy: BTreeMap<String, u64>,
}

#[derive(Default)]
pub(crate) struct StatsRecorder {
    counters: Mutex<Stats>,
    /// (uploadKey, part) → accepted PUTs.
    part_puts: Mutex<HashMap<(String, u32), u64>>,
    /// When each accepted PUT was accepted: (time, uploadKey, part).
    accepted: Mutex<Vec<(Instant, String, u32)>>,
}

impl StatsRecorder {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.counters.lock());
    }

    pub(crate) fn request(&self, path: &str) {
        self.update(|s| *s.requests_by_path.entry(path.to_owned()).or_default() += 1);
    }

    pub(crate) fn error(&self, code: &str) {
        self.update(|s| *s.errors_by_code.entry(code.to_owned()).or_default() += 1);
    }

    pub(crate) fn put_ok(&self, key: &str, part: u32, bytes: u64) {
        self.accepted
            .lock()
            .push((Instant::now(), key.to_owned(), part));
        let seen = {
            let mut puts = self.part_puts.lock();
            let n = puts.entry((key.to_owned(), part)).or_default();
            *n += 1;
            *n
        };
        self.update(|s| {
            s.puts_ok += 1;
            s.put_bytes += bytes;
            if seen > 1 {
                s.parts_resent += 1;
            }
        });
    }

    pub(crate) fn snapshot(&self, faults_injected: u64) -> Stats {
        let mut s = self.counters.lock().clone();
        s.faults_injected = faults_injected;
        s
    }

    pub(crate) fn accepted(&self) -> Vec<(Instant, String, u32)> {
        self.accepted.lock().clone()
    }

    pub(crate) fn reset(&self) {
        *self.counters.lock() = Stats::default();
        self.part_puts.lock().clear();
        self.accepted.lock().clear();
    }
}
