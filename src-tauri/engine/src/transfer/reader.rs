//! Reads a job's parts from disk in file order, once: each part's bytes feed the
//! whole-file SHA-1 and, unless the part is already acknowledged, go to the uploaders.
//! Runs on a blocking thread beside the async senders, so hashing and sending overlap.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;

use crate::hashing::hex;
use crate::platform;
use crate::providers::PartSpec;
use crate::queue::{Part, PartState};
use crate::source::{self, Identity, SourceError};

pub enum ReadError {
    Source(SourceError),
    /// The uploaders stopped listening (error, pause, cancel).
    Closed,
}

impl From<SourceError> for ReadError {
    fn from(e: SourceError) -> Self {
        ReadError::Source(e)
    }
}

/// Sends every part not yet acknowledged, in order, and returns the file's SHA-1.
pub fn read_parts(
    path: &Path,
    identity: Identity,
    parts: &[Part],
    tx: mpsc::Sender<(PartSpec, Bytes)>,
    stop: &AtomicBool,
) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| SourceError::unreadable(path, &e))?;
    let meta = file.metadata().map_err(|e| SourceError::unreadable(path, &e))?;
    if !identity.matches(&Identity::of_file(&file, &meta)) {
        return Err(SourceError::Changed { path: path.display().to_string() }.into());
    }
    let mut hasher = Sha1::new();
    for part in parts {
        if stop.load(Ordering::Relaxed) {
            return Err(ReadError::Closed);
        }
        // Before each part: is the path still the version that was queued?
        source::verify(path, identity)?;
        let mut buf = vec![0u8; part.spec.length as usize];
        platform::read_exact_at(&file, &mut buf, part.spec.offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => SourceError::Changed { path: path.display().to_string() },
            _ => SourceError::unreadable(path, &e),
        })?;
        hasher.update(&buf);
        if part.state != PartState::Acked && tx.blocking_send((part.spec, Bytes::from(buf))).is_err() {
            return Err(ReadError::Closed);
        }
    }
    source::verify(path, identity)?;
    Ok(hex(&hasher.finalize()))
}

/// The SHA-1 of the whole file, for providers that need it before `init`.
pub fn hash_file(path: &Path, identity: Identity, stop: &AtomicBool) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| SourceError::unreadable(path, &e))?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < identity.size {
        if stop.load(Ordering::Relaxed) {
            return Err(ReadError::Closed);
        }
        let want = buf.len().min((identity.size - at) as usize);
        platform::read_exact_at(&file, &mut buf[..want], at).map_err(|e| SourceError::unreadable(path, &e))?;
        hasher.update(&buf[..want]);
        at += want as u64;
    }
    source::verify(path, identity)?;
    Ok(hex(&hasher.finalize()))
}
