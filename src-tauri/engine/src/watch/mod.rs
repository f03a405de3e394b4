//! Watched folders: every new or changed file in a folder is uploaded to an account, but
//! only once it is stable (size and mtime unchanged for a quiet period), never a temp file,
//! never the same version twice — even across restarts, renames and overlapping watches.

mod notes;
mod rules;
mod scan;
mod service;
mod store;

use serde::{Deserialize, Serialize};

pub use notes::{english, UnreadableFolder, WatchNote};
pub use rules::Rules;
pub use scan::{scan, Scan};
pub use service::WatchService;
pub use store::Watches;

pub(crate) const SCHEMA_V1: &str = include_str!("schema.sql");
/// `detail` now holds notes as JSON; the English sentences older versions wrote there are
/// dropped (the service writes a fresh status at once).
pub(crate) const NOTES_V1: &str = "UPDATE watches SET detail = NULL;";

/// What to do with a file once the provider confirmed its upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", content = "dir", rename_all = "snake_case")]
pub enum AfterUpload {
    Keep,
    /// Only after a confirmed upload of exactly this version of the file.
    Delete,
    /// Into this folder, keeping the path relative to the watched folder.
    Move(String),
}

impl AfterUpload {
    /// `keep`, `delete` or `move:DIR` (the CLI's and the database's spelling).
    pub fn parse(s: &str) -> Option<AfterUpload> {
        match s {
            "keep" => Some(AfterUpload::Keep),
            "delete" => Some(AfterUpload::Delete),
            _ => s.strip_prefix("move:").filter(|d| !d.is_empty()).map(|d| AfterUpload::Move(d.to_owned())),
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            AfterUpload::Keep => "keep".into(),
            AfterUpload::Delete => "delete".into(),
            AfterUpload::Move(d) => format!("move:{d}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum WatchStatus {
    Starting,
    Scanning,
    Watching,
    /// The platform watcher could not cover the tree (inotify limit): rescanning periodically.
    Polling,
    /// The folder is gone (unmounted drive?); waiting for it to come back.
    Missing,
    Error,
    Paused,
    /// Enabled, but no Ferry engine serves it right now (`ferry run --until-idle` ended,
    /// the engine stopped): what changes meanwhile is caught up at the next start.
    Stopped,
}

impl WatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchStatus::Starting => "starting",
            WatchStatus::Scanning => "scanning",
            WatchStatus::Watching => "watching",
            WatchStatus::Polling => "polling",
            WatchStatus::Missing => "missing",
            WatchStatus::Error => "error",
            WatchStatus::Paused => "paused",
            WatchStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> WatchStatus {
        [
            WatchStatus::Starting,
            WatchStatus::Scanning,
            WatchStatus::Watching,
            WatchStatus::Polling,
            WatchStatus::Missing,
            WatchStatus::Error,
            WatchStatus::Paused,
            WatchStatus::Stopped,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(WatchStatus::Error)
    }
}

/// A new watch, as the form or `ferry watch add` gives it.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct WatchInput {
    pub dir: String,
    pub account: String,
    #[serde(default)]
    pub dest: String,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub after: AfterUpload,
    pub quiet_secs: u32,
    pub recursive: bool,
}

/// A watch as people see it. Field names are part of `ferry watch list --json`.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Watch {
    pub id: i64,
    pub dir: String,
    pub recursive: bool,
    pub account_id: i64,
    pub account: String,
    pub dest: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub after: AfterUpload,
    pub quiet_secs: u32,
    pub enabled: bool,
    pub status: WatchStatus,
    /// Human detail of the status (watcher usage, unreadable folders, the error), in English.
    pub detail: Option<String>,
    /// The same as data, for the window to word in the reader's language.
    pub notes: Vec<WatchNote>,
    /// Files seen but not yet stable.
    pub pending: u32,
    /// Files this watch has queued, all time.
    pub queued: u32,
}

pub const DEFAULT_QUIET_SECS: u32 = 3;
