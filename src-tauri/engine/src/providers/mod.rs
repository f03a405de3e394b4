//! The one trait every provider implements, and the types that cross it.
//!
//! Sessions, receipts and results are plain JSON values, persisted by the queue between
//! calls: that is what lets any job resume from SQLite after a crash. The engine has no
//! provider-specific branch; everything a provider needs to say about itself is in
//! [`Limits`], and every failure is a classified [`ProviderError`].

mod body;
pub mod client;
pub mod dingtalk;
pub(crate) mod error;
pub mod feishu;
pub mod http;
pub mod local;
pub mod pds;
mod registry;
pub mod xfyun;

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use body::{Bandwidth, PartBody};
pub use client::folders::{Entry, EntryKind, Folders, Listing};
pub use error::ProviderError;
pub use registry::{build, Context};

/// What a provider can take, so the engine plans parts and concurrency within it.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Smallest part except the last.
    pub min_part: u64,
    pub max_part: u64,
    pub max_parts: u64,
    /// Parts of one file in flight at once (1 = strictly in order, one at a time).
    pub part_concurrency: usize,
    /// Requests per second for this account, across all its jobs (None = no documented limit).
    pub requests_per_sec: Option<f64>,
    /// The whole-file SHA-1 must be known before `init` (rapid upload, content hashes).
    pub sha1_before_init: bool,
}

impl Limits {
    pub fn max_file(&self) -> u64 {
        self.max_part.saturating_mul(self.max_parts)
    }

    /// The part size for a file of `size` bytes: `preferred`, clamped to the limits and
    /// grown so the file fits in `max_parts`.
    pub fn part_size(&self, size: u64, preferred: u64) -> u64 {
        let needed = size.div_ceil(self.max_parts.max(1));
        preferred.max(self.min_part).max(needed).min(self.max_part).max(1)
    }
}

/// The file a job uploads, as the provider sees it.
#[derive(Debug, Clone)]
pub struct JobSpec<'a> {
    pub job_id: i64,
    pub path: &'a Path,
    /// The remote file name.
    pub name: &'a str,
    /// The destination (folder, prefix) within the account; empty = the account's default.
    pub dest: &'a str,
    pub size: u64,
    pub sha1: Option<&'a str>,
    /// The part size the user prefers, where the provider lets the client choose.
    pub preferred_part_size: u64,
    /// An earlier `init` for this job may have reached the provider without its answer being
    /// recorded (an earlier run of the job, or an earlier try of this call). A provider whose
    /// `init` can finish the file at once looks for it before making another.
    pub init_may_have_run: bool,
}

/// What `init` decided: the persisted session and the part size to cut the file into.
#[derive(Debug, Clone)]
pub enum Init {
    Upload { session: serde_json::Value, part_size: u64 },
    /// The provider already has the content (rapid upload): nothing to send.
    AlreadyThere(Committed),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpec {
    /// 1-based.
    pub number: u32,
    pub offset: u64,
    pub length: u64,
    pub count: u32,
}

impl PartSpec {
    pub fn is_last(&self) -> bool {
        self.number == self.count
    }
}

/// The provider's acknowledgement of a part (an ETag or equivalent), kept in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartReceipt {
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

/// Where the file ended up: the provider's file id, URL or token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Committed {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    /// True when the provider already had the content and no bytes were sent.
    #[serde(default)]
    pub rapid: bool,
}

impl Committed {
    /// One short line for people: the URL, else the id.
    pub fn summary(&self) -> String {
        self.url.clone().or_else(|| self.id.clone()).unwrap_or_default()
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

#[async_trait]
pub trait Provider: Send + Sync {
    fn limits(&self) -> Limits;

    /// Starts an upload; the returned session is persisted before any part is sent.
    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init>;

    /// Sends one part. Returns only once the provider acknowledged it.
    async fn upload_part(&self, session: &serde_json::Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt>;

    /// Finishes the upload once every part is acknowledged. Called again after a crash
    /// whose commit answer was lost, so it must not create a second file.
    async fn commit(&self, session: &serde_json::Value, job: &JobSpec<'_>, parts: &[PartReceipt]) -> ProviderResult<Committed>;

    /// Abandons the upload (cancel).
    async fn abort(&self, session: &serde_json::Value) -> ProviderResult<()>;

    /// Parts of this session's file in flight at once. A provider whose sessions differ
    /// (an upload created in another mode than the account's current one) says so here.
    fn part_concurrency(&self, _session: &serde_json::Value) -> usize {
        self.limits().part_concurrency
    }

    /// The parts the provider already holds, for providers that can tell; `None` = the
    /// ledger is the truth.
    async fn uploaded_parts(&self, _session: &serde_json::Value) -> ProviderResult<Option<Vec<PartReceipt>>> {
        Ok(None)
    }

    /// `account test`: is the account usable? A human sentence on success.
    async fn check(&self) -> ProviderResult<String>;

    /// The provider's folder calls; `None` = this provider has no folders (files go flat).
    fn folders(&self) -> Option<&dyn Folders> {
        None
    }
}
