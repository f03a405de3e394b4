//! The file a job uploads, and whether it is still the file that was queued.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::ErrorKind;

/// What identifies a file's version: size, modification time and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: Option<u64>,
}

impl Identity {
    pub fn of(meta: &std::fs::Metadata) -> Identity {
        Identity { size: meta.len(), mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), inode: Some(meta.ino()) }
    }
}

impl Identity {
    /// Same version: size and mtime equal, and the inode too where both know it.
    pub fn matches(&self, now: &Identity) -> bool {
        let same_inode = self.inode.is_none() || now.inode.is_none() || self.inode == now.inode;
        self.size == now.size && self.mtime_ns == now.mtime_ns && same_inode
    }
}

/// Why a source can no longer be uploaded as queued.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("{path} vanished while uploading ({cause})")]
    Vanished { path: String, cause: String },
    #[error("{path} changed while uploading: retry it to upload the new version")]
    Changed { path: String },
    #[error("cannot read {path}: {cause}")]
    Unreadable { path: String, cause: String },
}

impl SourceError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SourceError::Vanished { .. } => ErrorKind::NotFound,
            SourceError::Changed { .. } => ErrorKind::Changed,
            SourceError::Unreadable { .. } => ErrorKind::Io,
        }
    }

    pub fn unreadable(path: &Path, e: &std::io::Error) -> SourceError {
        if e.kind() == std::io::ErrorKind::NotFound {
            return SourceError::Vanished { path: path.display().to_string(), cause: e.to_string() };
        }
        SourceError::Unreadable { path: path.display().to_string(), cause: e.to_string() }
    }
}

/// Checks that `path` is still the version that was queued.
pub fn verify(path: &Path, expected: Identity) -> Result<(), SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| SourceError::unreadable(path, &e))?;
    if !expected.matches(&Identity::of(&meta)) {
        return Err(SourceError::Changed { path: path.display().to_string() });
    }
    Ok(())
}
