//! The file a job uploads, and whether it is still the file that was queued.

use std::fs::{File, Metadata};
use std::path::Path;

use crate::error::ErrorKind;
use crate::platform;

/// What identifies a file's version: size, modification time and its index on the volume
/// (the inode on unix, the file index on Windows; see `platform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: Option<u64>,
}

impl Identity {
    /// The version `path` names now; `meta` is its (link-following) metadata.
    pub fn of(path: &Path, meta: &Metadata) -> Identity {
        Identity { size: meta.len(), mtime_ns: platform::mtime_ns(meta), inode: platform::file_index(path, meta) }
    }

    /// The version of an open file.
    pub fn of_file(file: &File, meta: &Metadata) -> Identity {
        Identity { size: meta.len(), mtime_ns: platform::mtime_ns(meta), inode: platform::file_index_of(file, meta) }
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
    /// Windows: another program has it open without sharing (still being written, often).
    #[error("{path} is in use by another program, which does not let others read it: Ferry will try again; close that program if it stays that way")]
    InUse { path: String },
}

impl SourceError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SourceError::Vanished { .. } => ErrorKind::NotFound,
            SourceError::Changed { .. } => ErrorKind::Changed,
            SourceError::Unreadable { .. } | SourceError::InUse { .. } => ErrorKind::Io,
        }
    }

    /// Worth trying again later without anyone doing anything.
    pub fn is_temporary(&self) -> bool {
        matches!(self, SourceError::InUse { .. })
    }

    pub fn unreadable(path: &Path, e: &std::io::Error) -> SourceError {
        if e.kind() == std::io::ErrorKind::NotFound {
            return SourceError::Vanished { path: path.display().to_string(), cause: e.to_string() };
        }
        if platform::in_use(e) {
            return SourceError::InUse { path: path.display().to_string() };
        }
        SourceError::Unreadable { path: path.display().to_string(), cause: e.to_string() }
    }
}

/// Checks that `path` is still the version that was queued.
pub fn verify(path: &Path, expected: Identity) -> Result<(), SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| SourceError::unreadable(path, &e))?;
    if !expected.matches(&Identity::of(path, &meta)) {
        return Err(SourceError::Changed { path: path.display().to_string() });
    }
    Ok(())
}
