//! What the watch service says about a watch, as data: the window words each note in the
//! reader's language; `ferry watch list` prints the English of `Display`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A folder a scan could not read, and the system's reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct UnreadableFolder {
    pub path: String,
    pub error: String,
}

/// One fact about a watch's last scan or its trouble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum WatchNote {
    /// What the last scan found.
    Scanned { files: u32, folders: u32 },
    /// Folders that could not be read: how many, and the first few.
    Unreadable { count: u32, first: Vec<UnreadableFolder> },
    /// Symbolic links to folders, which are not followed.
    LinksSkipped { count: u32 },
    /// Watched live: how many of the system's inotify watches this uses.
    LiveWatches { used: u32, limit: u64 },
    /// The live watcher could not start; the folder is rescanned every `every_secs` instead.
    Polling { folders: u32, limit: Option<u64>, error: String, every_secs: u32 },
    /// The folder is not there (an unmounted drive?).
    Missing { dir: String },
    /// The folder itself cannot be read.
    CannotRead { dir: String, error: String },
    ScanFailed { error: String },
    CannotQueue { error: String },
    /// The include / exclude patterns cannot be used.
    BadRules { error: String },
}

impl fmt::Display for WatchNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchNote::Scanned { files, folders } => write!(f, "{files} files in {folders} folders"),
            WatchNote::Unreadable { count, first } => {
                let list: Vec<String> = first.iter().map(|u| format!("{} ({})", u.path, u.error)).collect();
                write!(f, "{count} folder(s) could not be read: {}", list.join(", "))
            }
            WatchNote::LinksSkipped { count } => write!(f, "{count} symbolic link(s) to folders not followed"),
            WatchNote::LiveWatches { used, limit } => write!(f, "{used} of {limit} inotify watches"),
            WatchNote::Polling { folders, limit, error, every_secs } => {
                let limit = limit.map(|l| format!(" (fs.inotify.max_user_watches = {l})")).unwrap_or_default();
                write!(
                    f,
                    "the system's file watcher could not cover {folders} folders{limit}: {error}; rescanning every {every_secs} s instead (raise the limit to watch live)"
                )
            }
            WatchNote::Missing { dir } => write!(f, "{dir} is not there (an unmounted drive?); waiting for it to come back"),
            WatchNote::CannotRead { dir, error } => write!(f, "cannot read {dir}: {error}"),
            WatchNote::ScanFailed { error } => write!(f, "scanning failed: {error}"),
            WatchNote::CannotQueue { error } => write!(f, "cannot queue files: {error}"),
            WatchNote::BadRules { error } => write!(f, "{error}"),
        }
    }
}

/// The notes in English, one sentence, as `ferry watch list` shows them.
pub fn english(notes: &[WatchNote]) -> Option<String> {
    (!notes.is_empty()).then(|| notes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}

/// As stored in the `detail` column: a JSON array, or NULL for none.
pub(crate) fn to_column(notes: &[WatchNote]) -> Option<String> {
    (!notes.is_empty()).then(|| serde_json::to_string(notes).expect("notes serialise"))
}

pub(crate) fn from_column(text: Option<String>) -> Vec<WatchNote> {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_the_column_and_read_as_before_in_english() {
        let notes = vec![
            WatchNote::Scanned { files: 120, folders: 4 },
            WatchNote::Unreadable { count: 1, first: vec![UnreadableFolder { path: "/w/locked".into(), error: "Permission denied".into() }] },
            WatchNote::LiveWatches { used: 4, limit: 65536 },
        ];
        assert_eq!(from_column(to_column(&notes)), notes);
        assert_eq!(
            english(&notes).unwrap(),
            "120 files in 4 folders; 1 folder(s) could not be read: /w/locked (Permission denied); 4 of 65536 inotify watches"
        );
        assert_eq!(to_column(&[]), None);
        assert!(from_column(Some("free text from an older Ferry".into())).is_empty());
        let json = serde_json::to_value(&notes[0]).unwrap();
        assert_eq!(json, serde_json::json!({ "note": "scanned", "files": 120, "folders": 4 }));
    }
}
