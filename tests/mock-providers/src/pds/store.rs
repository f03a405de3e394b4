//! Files, uploads in progress and stored content, under one data directory.
//!
//! Layout: `incoming/` (part bodies being received), `uploads/<upload_id>/<n>.part`,
//! `blobs/<n>.bin` (completed content, shared by every file a rapid upload made from it).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use sha1::{Digest, Sha1};
use tempfile::TempDir;

use super::midstate::{upper_hex, Running, IV};

/// Completed content, addressable by hash for rapid upload.
pub(crate) struct Blob {
    pub path: PathBuf,
    pub size: u64,
    /// Upper-case hex SHA-1, as the server computed it while receiving.
    pub content_hash: String,
    pub pre_hash: String,
    /// SHA-1 of the file on disk, computed when first asked (a test's independent check).
    disk_sha1: OnceLock<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Uploading,
    Available,
}

pub(crate) struct FileEntry {
    pub file_id: String,
    pub folder: bool,
    pub parent_file_id: String,
    pub name: String,
    pub status: FileStatus,
    pub blob: Option<Arc<Blob>>,
    pub rapid: bool,
    pub created_at: String,
    pub seq: u64,
}

/// A file in the mock drive, as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdsFile {
    pub file_id: String,
    /// A folder (made by a `type: folder` create), not a file.
    pub folder: bool,
    pub parent_file_id: String,
    pub name: String,
    pub status: FileStatus,
    pub size: u64,
    /// SHA-1 (lower-case hex) of the stored bytes, hashed from disk.
    pub sha1: String,
    /// Created by rapid upload (no bytes received).
    pub rapid: bool,
}

pub(crate) struct StoredPart {
    pub size: u64,
    pub etag: String,
    /// Parallel mode, last part: the whole file's digest.
    pub digest: Option<[u8; 20]>,
}

pub(crate) struct Upload {
    pub upload_id: String,
    pub file_id: String,
    pub size: u64,
    pub count: u32,
    /// Parallel mode: the part size and every part's declared mid-state.
    pub parallel: Option<Parallel>,
    pub content_hash: Option<String>,
    pub dir: PathBuf,
    pub parts: BTreeMap<u32, StoredPart>,
    /// Serial mode: SHA-1 of the stored prefix, advanced as parts arrive in order.
    pub serial: Running,
    pub created: Instant,
    pub created_at: String,
    /// PUTs of this upload being received right now.
    pub in_flight: u32,
}

#[derive(Clone)]
pub(crate) struct Parallel {
    pub part_size: u64,
    pub ctx: Vec<[u32; 5]>,
}

impl Upload {
    pub fn part_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("{n}.part"))
    }

    /// Where part `n` starts and the state its bytes must continue from, in parallel mode.
    pub fn parallel_start(&self, n: u32) -> Option<(u64, [u32; 5])> {
        let p = self.parallel.as_ref()?;
        Some(((n as u64 - 1) * p.part_size, p.ctx[n as usize - 1]))
    }
}

enum Root {
    Temp(TempDir),
    Dir(PathBuf),
}

#[derive(Default)]
pub(crate) struct Inner {
    pub files: HashMap<String, FileEntry>,
    pub uploads: HashMap<String, Upload>,
    pub blobs: Vec<Arc<Blob>>,
}

pub(crate) struct Store {
    root: Root,
    pub upload_ttl: Option<Duration>,
    pub inner: Mutex<Inner>,
}

impl Store {
    pub fn open(data_dir: Option<PathBuf>, upload_ttl: Option<Duration>) -> io::Result<Store> {
        let root = match data_dir {
            Some(d) => Root::Dir(d),
            None => Root::Temp(
                tempfile::Builder::new()
                    .prefix("ferry-mock-pds-")
                    .tempdir()?,
            ),
        };
        let store = Store {
            root,
            upload_ttl,
            inner: Mutex::new(Inner::default()),
        };
        for sub in ["incoming", "uploads", "blobs"] {
            fs::create_dir_all(store.root().join(sub))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        match &self.root {
            Root::Temp(t) => t.path(),
            Root::Dir(d) => d,
        }
    }

    pub fn incoming_dir(&self) -> PathBuf {
        self.root().join("incoming")
    }

    pub fn new_upload_dir(&self, upload_id: &str) -> io::Result<PathBuf> {
        let dir = self.root().join("uploads").join(upload_id);
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    pub fn new_blob_path(&self) -> PathBuf {
        self.root()
            .join("blobs")
            .join(format!("{}.bin", next_seq()))
    }

    /// Used bytes of the drive: every available file's size.
    pub fn used(inner: &Inner) -> u64 {
        inner
            .files
            .values()
            .filter(|f| f.status == FileStatus::Available)
            .filter_map(|f| f.blob.as_ref())
            .map(|b| b.size)
            .sum()
    }

    pub fn files(&self) -> Vec<PdsFile> {
        let mut entries: Vec<(u64, PdsFile, Option<Arc<Blob>>)> = self
            .inner
            .lock()
            .files
            .values()
            .map(|f| {
                let view = PdsFile {
                    file_id: f.file_id.clone(),
                    folder: f.folder,
                    parent_file_id: f.parent_file_id.clone(),
                    name: f.name.clone(),
                    status: f.status,
                    size: f.blob.as_ref().map_or(0, |b| b.size),
                    sha1: String::new(),
                    rapid: f.rapid,
                };
                (f.seq, view, f.blob.clone())
            })
            .collect();
        entries.sort_by_key(|e| e.0);
        entries
            .into_iter()
            .map(|(_, mut view, blob)| {
                if let Some(b) = blob {
                    view.sha1 = b
                        .disk_sha1
                        .get_or_init(|| sha1_file(&b.path).unwrap_or_default())
                        .clone();
                }
                view
            })
            .collect()
    }

    pub fn file_path(&self, file_id: &str) -> Option<PathBuf> {
        self.inner
            .lock()
            .files
            .get(file_id)?
            .blob
            .as_ref()
            .map(|b| b.path.clone())
    }

    /// Registers content the service already holds (for rapid-upload tests).
    pub fn hold(&self, path: PathBuf) -> io::Result<Arc<Blob>> {
        let bytes = fs::read(&path)?;
        let blob = Arc::new(Blob {
            size: bytes.len() as u64,
            content_hash: upper_hex(&Sha1::digest(&bytes)),
            pre_hash: upper_hex(&Sha1::digest(&bytes[..bytes.len().min(1024)])),
            path,
            disk_sha1: OnceLock::new(),
        });
        self.inner.lock().blobs.push(blob.clone());
        Ok(blob)
    }

    /// Content with this size and `pre_hash` / `content_hash` (upper-case hex).
    pub fn find_blob(
        inner: &Inner,
        size: u64,
        pre_hash: Option<&str>,
        content_hash: Option<&str>,
    ) -> Option<Arc<Blob>> {
        inner
            .blobs
            .iter()
            .find(|b| {
                b.size == size
                    && pre_hash.is_none_or(|h| h.eq_ignore_ascii_case(&b.pre_hash))
                    && content_hash.is_none_or(|h| h.eq_ignore_ascii_case(&b.content_hash))
            })
            .cloned()
    }

    /// Concatenates the parts into a new blob (blocking). `digest` is the SHA-1 the server
    /// computed while receiving.
    pub fn assemble(
        &self,
        parts: Vec<PathBuf>,
        size: u64,
        digest: [u8; 20],
    ) -> io::Result<Arc<Blob>> {
        let dest = self.new_blob_path();
        let mut out = fs::File::create(&dest)?;
        let mut head = Vec::new();
        for p in &parts {
            if head.len() < 1024 {
                let want = 1024 - head.len() as u64;
                fs::File::open(p)?.take(want).read_to_end(&mut head)?;
            }
            io::copy(&mut fs::File::open(p)?, &mut out)?;
        }
        let blob = Arc::new(Blob {
            path: dest,
            size,
            content_hash: upper_hex(&digest),
            pre_hash: upper_hex(&Sha1::digest(&head)),
            disk_sha1: OnceLock::new(),
        });
        Ok(blob)
    }

    pub fn reset(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        for u in old.uploads.into_values() {
            let _ = fs::remove_dir_all(u.dir);
        }
        for b in old.blobs {
            let _ = fs::remove_file(&b.path);
        }
    }
}

pub(crate) fn new_serial() -> Running {
    Running::from_state(IV, 0)
}

pub(crate) fn sha1_file(path: &Path) -> io::Result<String> {
    let mut h = Sha1::new();
    io::copy(&mut fs::File::open(path)?, &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn next_seq() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// A 40-hex-char id like the doc's file ids.
pub(crate) fn file_id() -> String {
    let mut h = Sha1::new();
    h.update(next_seq().to_le_bytes());
    h.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    h.update(std::process::id().to_le_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 upper-case hex chars, like the doc's upload ids.
pub(crate) fn upload_id() -> String {
    file_id()[..32].to_ascii_uppercase()
}
