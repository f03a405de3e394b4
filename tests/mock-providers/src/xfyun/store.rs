//! Uploads in progress and stored objects, kept as files under one data directory.
//!
//! Layout: `incoming/` (bodies being received), `uploads/<upload_id>/<slice_id>.part`,
//! `objects/<n>.bin`. Files rather than memory so a 1 GiB benchmark does not hold 1 GiB of RAM.
//! A completed upload stays as its slice files until a test asks for the object's path or
//! bytes: concatenating at `complete` would put a full-file copy inside every timed upload.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use base64::Engine as _;
use parking_lot::Mutex;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tempfile::{TempDir, TempPath};

use super::envelope::BizError;
use crate::sink::hex;

/// Where stored URLs point (doc §2: `https://xfyun-seve-dx/<token>`, opaque).
pub(crate) const URL_PREFIX: &str = "https://xfyun-seve-dx/";

/// A file the service stores after `/file/upload` or `/file/mpupload/complete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredObject {
    pub url: String,
    /// The object's name: the one-shot's filename, or the first slice's (the service learns
    /// a multipart file only from its slices).
    pub name: String,
    pub size: u64,
    pub sha1_hex: String,
}

/// The slice-size rules checked at `complete` (doc §4, §7).
pub(crate) struct SliceRules {
    pub min_slice: u64,
    pub max_slice: u64,
}

struct Upload {
    created: Instant,
    dir: PathBuf,
    /// slice_id → size in bytes.
    slices: BTreeMap<u32, u64>,
    /// slice_id → the filename the slice was sent with.
    names: BTreeMap<u32, String>,
}

impl Upload {
    fn slice_path(&self, slice_id: u32) -> PathBuf {
        self.dir.join(format!("{slice_id}.part"))
    }
}

struct ObjectEntry {
    url: String,
    name: String,
    size: u64,
    /// Locked while hashing or assembling, so neither sees half-moved files.
    content: Mutex<Content>,
    /// Hashed on first request, for the same reason the slices are assembled lazily.
    sha1: OnceLock<String>,
}

/// Where an object's bytes are.
enum Content {
    /// Slice files in slice_id order, inside the finished upload's directory.
    Slices {
        parts: Vec<PathBuf>,
        dir: PathBuf,
    },
    File(PathBuf),
}

impl ObjectEntry {
    fn sha1_hex(&self) -> String {
        self.sha1
            .get_or_init(|| {
                let content = self.content.lock();
                let files = match &*content {
                    Content::Slices { parts, .. } => parts.as_slice(),
                    Content::File(path) => std::slice::from_ref(path),
                };
                sha1_files(files).unwrap_or_default()
            })
            .clone()
    }

    /// The object as one file, concatenating its slices on first call.
    fn path(&self, objects_dir: &Path) -> io::Result<PathBuf> {
        let mut content = self.content.lock();
        if let Content::Slices { parts, dir } = &*content {
            let dest = objects_dir.join(format!("{}.bin", next_seq()));
            let mut out = fs::File::create(&dest)?;
            for part in parts {
                // File-to-file io::copy uses copy_file_range on Linux where it can.
                io::copy(&mut fs::File::open(part)?, &mut out)?;
            }
            let _ = fs::remove_dir_all(dir);
            *content = Content::File(dest);
        }
        match &*content {
            Content::File(path) => Ok(path.clone()),
            Content::Slices { .. } => Err(io::Error::other("object was not assembled")),
        }
    }

    fn remove_files(&self) {
        match &*self.content.lock() {
            Content::Slices { dir, .. } => {
                let _ = fs::remove_dir_all(dir);
            }
            Content::File(path) => {
                let _ = fs::remove_file(path);
            }
        }
    }
}

enum DataRoot {
    Temp(TempDir),
    Dir(PathBuf),
}

#[derive(Default)]
struct Inner {
    uploads: HashMap<String, Upload>,
    objects: Vec<Arc<ObjectEntry>>,
}

pub(crate) struct Store {
    root: DataRoot,
    ttl: Option<Duration>,
    inner: Mutex<Inner>,
}

impl Store {
    /// Uses `data_dir` (created if missing, kept afterwards) or a temp dir deleted on drop.
    pub(crate) fn open(data_dir: Option<PathBuf>, ttl: Option<Duration>) -> io::Result<Self> {
        let root = match data_dir {
            Some(dir) => DataRoot::Dir(dir),
            None => DataRoot::Temp(
                tempfile::Builder::new()
                    .prefix("ferry-mock-xfyun-")
                    .tempdir()?,
            ),
        };
        let store = Store {
            root,
            ttl,
            inner: Mutex::new(Inner::default()),
        };
        for sub in ["incoming", "uploads", "objects"] {
            fs::create_dir_all(store.root().join(sub))?;
        }
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        match &self.root {
            DataRoot::Temp(dir) => dir.path(),
            DataRoot::Dir(dir) => dir,
        }
    }

    /// Where request bodies are streamed before they are accepted.
    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.root().join("incoming")
    }

    pub(crate) fn create_upload(&self) -> Result<String, BizError> {
        let id = format!("up_{}{:06}", unix_millis(), next_seq());
        let dir = self.root().join("uploads").join(&id);
        fs::create_dir_all(&dir).map_err(BizError::io)?;
        let upload = Upload {
            created: Instant::now(),
            dir,
            slices: BTreeMap::new(),
            names: BTreeMap::new(),
        };
        self.inner.lock().uploads.insert(id.clone(), upload);
        Ok(id)
    }

    /// Accepts slice `slice_id` of `upload_id`, replacing an earlier copy of the same slice.
    pub(crate) fn put_slice(
        &self,
        upload_id: &str,
        slice_id: u32,
        data: TempPath,
        size: u64,
        file_name: &str,
        sequential: bool,
    ) -> Result<(), BizError> {
        let mut inner = self.inner.lock();
        let upload = self.live_upload(&mut inner, upload_id)?;
        if sequential && !upload.slices.contains_key(&slice_id) {
            let next = upload.slices.keys().next_back().map_or(1, |last| last + 1);
            if slice_id != next {
                return Err(BizError::invalid(format!(
                    "sliceId {slice_id} is out of order: the next slice must be {next}"
                )));
            }
        }
        // rename() replaces atomically, so a re-sent slice never leaves a torn file.
        data.persist(upload.slice_path(slice_id))
            .map_err(|e| BizError::io(e.error))?;
        upload.slices.insert(slice_id, size);
        upload.names.insert(slice_id, file_name.to_owned());
        Ok(())
    }

    /// Validates the slices and, when they are complete, turns the upload into a stored object
    /// and returns its URL (the upload_id is finished afterwards).
    pub(crate) fn complete(&self, upload_id: &str, rules: &SliceRules) -> Result<String, BizError> {
        let mut inner = self.inner.lock();
        let upload = self.live_upload(&mut inner, upload_id)?;
        check_slices(&upload.slices, rules)?;
        let upload = inner
            .uploads
            .remove(upload_id)
            .ok_or_else(|| BizError::expired("upload_id not found"))?;
        let size = upload.slices.values().sum();
        let name = upload.names.values().next().cloned().unwrap_or_default();
        let parts = upload
            .slices
            .keys()
            .map(|&id| upload.slice_path(id))
            .collect();
        let content = Content::Slices {
            parts,
            dir: upload.dir,
        };
        Ok(Self::register(&mut inner, content, &name, size))
    }

    pub(crate) fn cancel(&self, upload_id: &str) -> Result<(), BizError> {
        let mut inner = self.inner.lock();
        self.live_upload(&mut inner, upload_id)?;
        if let Some(upload) = inner.uploads.remove(upload_id) {
            let _ = fs::remove_dir_all(upload.dir);
        }
        Ok(())
    }

    /// Stores a received one-shot body as a new object and returns its URL.
    pub(crate) fn store_file(&self, data: TempPath, size: u64, name: &str) -> Result<String, BizError> {
        let dest = self.objects_dir().join(format!("{}.bin", next_seq()));
        data.persist(&dest).map_err(|e| BizError::io(e.error))?;
        Ok(Self::register(
            &mut self.inner.lock(),
            Content::File(dest),
            name,
            size,
        ))
    }

    fn register(inner: &mut Inner, content: Content, name: &str, size: u64) -> String {
        let url = format!("{URL_PREFIX}{}", opaque_token());
        inner.objects.push(Arc::new(ObjectEntry {
            url: url.clone(),
            name: name.to_owned(),
            size,
            content: Mutex::new(content),
            sha1: OnceLock::new(),
        }));
        url
    }

    /// Every stored object in creation order (hashes each on first call: may block).
    pub(crate) fn objects(&self) -> Vec<StoredObject> {
        let entries = self.inner.lock().objects.clone();
        entries
            .iter()
            .map(|e| StoredObject {
                url: e.url.clone(),
                name: e.name.clone(),
                size: e.size,
                sha1_hex: e.sha1_hex(),
            })
            .collect()
    }

    /// The object's bytes as one file (assembles a multipart object on first call: may block).
    pub(crate) fn object_path(&self, url: &str) -> Option<PathBuf> {
        let entry = self
            .inner
            .lock()
            .objects
            .iter()
            .find(|e| e.url == url)
            .cloned()?;
        entry.path(&self.objects_dir()).ok()
    }

    /// Forgets every upload and object and deletes their files.
    pub(crate) fn reset(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        for upload in old.uploads.into_values() {
            let _ = fs::remove_dir_all(upload.dir);
        }
        for object in old.objects {
            object.remove_files();
        }
    }

    /// The upload under `id`, unless unknown, cancelled, completed or expired (all 10005).
    fn live_upload<'a>(&self, inner: &'a mut Inner, id: &str) -> Result<&'a mut Upload, BizError> {
        let expired = match inner.uploads.get(id) {
            None => {
                return Err(BizError::expired(format!(
                    "upload_id {id} not found or already finished"
                )))
            }
            Some(upload) => self.ttl.is_some_and(|ttl| upload.created.elapsed() > ttl),
        };
        if expired {
            if let Some(upload) = inner.uploads.remove(id) {
                let _ = fs::remove_dir_all(upload.dir);
            }
            return Err(BizError::expired(format!("upload_id {id} has expired")));
        }
        inner
            .uploads
            .get_mut(id)
            .ok_or_else(|| BizError::expired("upload_id not found"))
    }

    fn objects_dir(&self) -> PathBuf {
        self.root().join("objects")
    }
}

/// Slices must be 1..n without gaps; all but the last the same size S with
/// min_slice ≤ S ≤ max_slice; the last at most S. Nothing uploaded is 10005 (doc §8).
pub(crate) fn check_slices(sizes: &BTreeMap<u32, u64>, rules: &SliceRules) -> Result<(), BizError> {
    let Some((&last_id, &last_size)) = sizes.last_key_value() else {
        return Err(BizError::expired(
            "no slice has been uploaded for this upload_id",
        ));
    };
    if let Some(missing) = (1..=last_id).find(|id| !sizes.contains_key(id)) {
        return Err(BizError::invalid(format!(
            "slice {missing} is missing: slices must be numbered 1..n without gaps (highest received is {last_id})"
        )));
    }
    if last_id == 1 {
        return Ok(()); // a lone slice is the last one: any size up to max_slice
    }
    let slice_size = sizes[&1];
    if slice_size < rules.min_slice || slice_size > rules.max_slice {
        return Err(BizError::invalid(format!(
            "slice 1 is {slice_size} bytes: every slice except the last must be {}..={} bytes",
            rules.min_slice, rules.max_slice
        )));
    }
    if let Some((id, size)) = sizes
        .iter()
        .take(sizes.len() - 1)
        .find(|(_, &s)| s != slice_size)
    {
        return Err(BizError::invalid(format!(
            "slice {id} is {size} bytes but slice 1 is {slice_size} bytes: every slice except the last must have the same size"
        )));
    }
    if last_size > slice_size {
        return Err(BizError::invalid(format!(
            "last slice {last_id} is {last_size} bytes, larger than the {slice_size}-byte slices before it"
        )));
    }
    Ok(())
}

fn sha1_files(files: &[PathBuf]) -> io::Result<String> {
    let mut hasher = Sha1::new();
    for file in files {
        io::copy(&mut fs::File::open(file)?, &mut hasher)?;
    }
    Ok(hex(&hasher.finalize()))
}

/// A base64-looking token like the real `IBAUEX+ollA5b…` (unique, not meaningful).
fn opaque_token() -> String {
    let mut h = Sha256::new();
    h.update(next_seq().to_le_bytes());
    h.update(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    h.update(std::process::id().to_le_bytes());
    BASE64.encode(&h.finalize()[..30])
}

fn next_seq() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xfyun::envelope::{INVALID_PARAMETER, UPLOAD_EXPIRED};

    const RULES: SliceRules = SliceRules {
        min_slice: 100,
        max_slice: 1000,
    };

    fn check(sizes: &[(u32, u64)]) -> Result<(), i64> {
        check_slices(&sizes.iter().copied().collect(), &RULES).map_err(|e| e.code)
    }

    #[test]
    fn slice_layout_rules() {
        assert_eq!(check(&[]), Err(UPLOAD_EXPIRED));
        assert_eq!(check(&[(1, 5)]), Ok(()));
        assert_eq!(check(&[(1, 100), (2, 100), (3, 1)]), Ok(()));
        assert_eq!(check(&[(1, 100), (2, 100)]), Ok(()));
        assert_eq!(check(&[(1, 100), (3, 1)]), Err(INVALID_PARAMETER)); // gap
        assert_eq!(check(&[(2, 100)]), Err(INVALID_PARAMETER)); // no slice 1
        assert_eq!(check(&[(1, 99), (2, 1)]), Err(INVALID_PARAMETER)); // undersized
        assert_eq!(check(&[(1, 100), (2, 150), (3, 1)]), Err(INVALID_PARAMETER)); // unequal
        assert_eq!(check(&[(1, 100), (2, 101)]), Err(INVALID_PARAMETER)); // last too big
        assert_eq!(check(&[(1, 1001), (2, 1)]), Err(INVALID_PARAMETER)); // oversized
    }
}
