//! Counters a test or benchmark asserts on.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::Serialize;

/// A snapshot of the PDS mock's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PdsStats {
    /// Refresh grants answered.
    pub token_refreshes: u64,
    /// Refresh requests refused (bad client, unknown or rotated refresh token).
    pub token_rejections: u64,
    /// API calls refused for their access token (401 AccessTokenInvalid/Expired).
    pub access_token_rejections: u64,
    /// `create` calls that succeeded (rapid uploads and `exist` answers included).
    pub creates: u64,
    /// `create` calls of `type: folder` (found or made), and folders made by them.
    pub folder_creates: u64,
    pub folders_made: u64,
    /// `file/list` pages answered.
    pub folder_list_pages: u64,
    pub parallel_creates: u64,
    pub pre_hash_matches: u64,
    pub rapid_uploads: u64,
    /// `get_upload_url` calls answered, and the URLs they issued.
    pub url_refreshes: u64,
    pub urls_issued: u64,
    /// `list_uploaded_parts` pages answered.
    pub list_pages: u64,
    pub completes_ok: u64,
    /// Part PUTs that passed the URL checks and reached the upload.
    pub part_puts: u64,
    /// Part PUTs refused: expired URL / Authorization or Content-Type sent / out of order /
    /// already stored (serial) / mid-state mismatch.
    pub expired_url_rejections: u64,
    pub header_rejections: u64,
    pub not_sequential_rejections: u64,
    pub part_already_exist: u64,
    pub ctx_mismatches: u64,
    /// Parts stored, and their bytes (re-sends included).
    pub parts_accepted: u64,
    pub part_bytes_accepted: u64,
    /// Every part byte that arrived at the storage, whatever became of it.
    pub part_bytes_received: u64,
    /// API errors answered by the endpoints (injected faults not included).
    pub api_errors: u64,
    /// Requests hit by an injected fault (delays included).
    pub faults_injected: u64,
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Most part PUTs of one upload received at the same time.
    pub max_concurrent_parts_per_upload: u64,
}

#[derive(Default)]
pub(crate) struct StatsRecorder {
    counters: Mutex<PdsStats>,
}

impl StatsRecorder {
    pub(crate) fn update(&self, f: impl FnOnce(&mut PdsStats)) {
        f(&mut self.counters.lock());
    }

    pub(crate) fn request(&self, path: &str) {
        self.update(|s| *s.requests_by_endpoint.entry(path.to_owned()).or_default() += 1);
    }

    pub(crate) fn snapshot(&self, faults_injected: u64) -> PdsStats {
        let mut s = self.counters.lock().clone();
        s.faults_injected = faults_injected;
        s
    }

    pub(crate) fn reset(&self) {
        *self.counters.lock() = PdsStats::default();
    }
}
