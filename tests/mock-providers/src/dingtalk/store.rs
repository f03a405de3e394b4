//! Uploads (their parts on disk) and the space's files ("dentries").

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use tempfile::{TempDir, TempPath};

use super::errors::ApiError;
use crate::sink::hex;

/// How an uploadKey was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UploadKind {
    /// `InitMultipartFileUpload`: parts 1..n.
    Multipart,
    /// `GetFileUploadInfo`: one object, stored as part 0.
    Single,
}

struct Upload {
    kind: UploadKind,
    created: Instant,
    dir: PathBuf,
    /// part number → (file, size)
    parts: BTreeMap<u32, u64>,
    /// Set by the first commit: the assembled content.
    committed: Option<(PathBuf, u64)>,
}

impl Upload {
    fn part_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("{n}.part"))
    }
}

/// A file in the space as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    pub id: String,
    pub parent_id: String,
    pub name: String,
    pub size: u64,
    pub version: u64,
    pub sha1_hex: String,
}

struct Dentry {
    id: String,
    uuid: String,
    parent_id: String,
    name: String,
    size: u64,
    version: u64,
    created: String,
    modified: String,
    path: PathBuf,
    sha1: OnceLock<String>,
}

enum DataRoot {
    Temp(TempDir),
    Dir(PathBuf),
}

#[derive(Default)]
struct Inner {
    uploads: HashMap<String, Upload>,
    files: Vec<Arc<Mutex<Dentry>>>,
}

pub(crate) struct Store {
    root: DataRoot,
    ttl: Option<Duration>,
    inner: Mutex<Inner>,
}

/// What a commit of an uploadKey would store.
pub(crate) enum Content {
    /// Already assembled by an earlier commit of the same key.
    Assembled(PathBuf, u64),
    /// Part files in order, to concatenate.
    Parts(Vec<PathBuf>),
}

/// The part layout rules checked at commit.
pub(crate) struct PartRules {
    pub min_part: u64,
    pub max_part: u64,
    pub small_last_part: bool,
}

impl Store {
    pub(crate) fn open(data_dir: Option<PathBuf>, ttl: Option<Duration>) -> io::Result<Self> {
        let root = match data_dir {
            Some(dir) => DataRoot::Dir(dir),
            None => DataRoot::Temp(
                tempfile::Builder::new()
                    .prefix("ferry-mock-dingtalk-")
                    .tempdir()?,
            ),
        };
        let store = Store {
            root,
            ttl,
            inner: Mutex::new(Inner::default()),
        };
        for sub in ["incoming", "uploads", "files"] {
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

    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.root().join("incoming")
    }

    pub(crate) fn create_upload(&self, kind: UploadKind) -> Result<String, ApiError> {
        let seq = next_seq();
        // Shaped like the doc's `hwHPAAAAAipHxxxxx`.
        let key = format!("hwHPAAAA{}{seq:06}", opaque(12));
        let dir = self.root().join("uploads").join(&key);
        fs::create_dir_all(&dir).map_err(ApiError::system)?;
        let upload = Upload {
            kind,
            created: Instant::now(),
            dir,
            parts: BTreeMap::new(),
            committed: None,
        };
        self.inner.lock().uploads.insert(key.clone(), upload);
        Ok(key)
    }

    /// Checks that `key` is a live multipart upload (for part-info queries).
    pub(crate) fn check_multipart(&self, key: &str) -> Result<(), ApiError> {
        let mut inner = self.inner.lock();
        let upload = self.live(&mut inner, key)?;
        if upload.kind != UploadKind::Multipart {
            return Err(ApiError::upload_key(format!(
                "uploadKey {key} is not a multipart upload"
            )));
        }
        Ok(())
    }

    /// Stores part `n` (0 = the single-shot object), replacing an earlier copy.
    /// `Err(None)` = no such upload.
    pub(crate) fn put_part(
        &self,
        key: &str,
        n: u32,
        data: TempPath,
        size: u64,
    ) -> Result<(), Option<io::Error>> {
        let mut inner = self.inner.lock();
        let upload = self.live(&mut inner, key).map_err(|_| None)?;
        data.persist(upload.part_path(n))
            .map_err(|e| Some(e.error))?;
        upload.parts.insert(n, size);
        Ok(())
    }

    /// What committing `key` would store; checks the part layout of a first commit.
    /// Returns (content, already committed before).
    pub(crate) fn content(
        &self,
        key: &str,
        rules: &PartRules,
    ) -> Result<(Content, bool), ApiError> {
        let mut inner = self.inner.lock();
        let upload = self.live(&mut inner, key)?;
        if let Some((path, size)) = &upload.committed {
            return Ok((Content::Assembled(path.clone(), *size), true));
        }
        let parts = match upload.kind {
            UploadKind::Single => {
                if !upload.parts.contains_key(&0) {
                    return Err(ApiError::param(format!(
                        "no file content has been uploaded for uploadKey {key}"
                    )));
                }
                vec![upload.part_path(0)]
            }
            UploadKind::Multipart => {
                check_parts(&upload.parts, rules)?;
                upload.parts.keys().map(|&n| upload.part_path(n)).collect()
            }
        };
        Ok((Content::Parts(parts), false))
    }

    /// Records the assembled content of `key`'s first commit.
    pub(crate) fn mark_committed(&self, key: &str, path: &Path, size: u64) {
        if let Some(u) = self.inner.lock().uploads.get_mut(key) {
            if u.committed.is_none() {
                u.committed = Some((path.to_path_buf(), size));
            }
        }
    }

    /// Concatenates parts into a new content file (blocking: run off the runtime).
    pub(crate) fn assemble(&self, parts: &[PathBuf]) -> io::Result<(PathBuf, u64)> {
        let dest = self
            .root()
            .join("files")
            .join(format!("{}.bin", next_seq()));
        let mut out = fs::File::create(&dest)?;
        let mut size = 0;
        for p in parts {
            size += io::copy(&mut fs::File::open(p)?, &mut out)?;
        }
        Ok((dest, size))
    }

    pub(crate) fn bytes_stored(&self) -> u64 {
        self.inner.lock().files.iter().map(|d| d.lock().size).sum()
    }

    /// The file named `name` in `parent`, as the API's `dentry` object.
    pub(crate) fn find(&self, space: &str, parent: &str, name: &str) -> Option<Value> {
        let inner = self.inner.lock();
        let found = inner.files.iter().find(|d| {
            let d = d.lock();
            d.parent_id == parent && d.name == name
        });
        found.map(|d| dentry_json(space, &d.lock()))
    }

    /// The files in `parent`, as `dentry` objects.
    pub(crate) fn children(&self, space: &str, parent: &str) -> Vec<Value> {
        let inner = self.inner.lock();
        inner.files.iter().map(|d| d.lock()).filter(|d| d.parent_id == parent).map(|d| dentry_json(space, &d)).collect()
    }

    /// A name not taken in `parent`: `name(1).ext`, `name(2).ext`, … (as DingTalk renames).
    pub(crate) fn free_name(&self, parent: &str, name: &str) -> String {
        let inner = self.inner.lock();
        let taken = |n: &str| {
            inner.files.iter().any(|d| {
                let d = d.lock();
                d.parent_id == parent && d.name == n
            })
        };
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name, ""),
        };
        (1..)
            .map(|i| format!("{stem}({i}){ext}"))
            .find(|n| !taken(n))
            .expect("some name is free")
    }

    /// Adds a new file; returns its dentry.
    pub(crate) fn create(
        &self,
        space: &str,
        parent: &str,
        name: &str,
        path: PathBuf,
        size: u64,
    ) -> Value {
        let now = iso_now();
        let seq = next_seq();
        let d = Dentry {
            id: format!("{}", 222_892_787_000 + seq),
            uuid: format!("Zx{}a", opaque(20)),
            parent_id: parent.to_owned(),
            name: name.to_owned(),
            size,
            version: 1,
            created: now.clone(),
            modified: now,
            path,
            sha1: OnceLock::new(),
        };
        let json = dentry_json(space, &d);
        self.inner.lock().files.push(Arc::new(Mutex::new(d)));
        json
    }

    /// Replaces the content of the file named `name` in `parent`; returns its dentry.
    pub(crate) fn overwrite(
        &self,
        space: &str,
        parent: &str,
        name: &str,
        path: PathBuf,
        size: u64,
    ) -> Option<Value> {
        let inner = self.inner.lock();
        let d = inner.files.iter().find(|d| {
            let d = d.lock();
            d.parent_id == parent && d.name == name
        })?;
        let mut d = d.lock();
        d.path = path;
        d.size = size;
        d.version += 1;
        d.modified = iso_now();
        d.sha1 = OnceLock::new();
        Some(dentry_json(space, &d))
    }

    pub(crate) fn files(&self) -> Vec<StoredFile> {
        let files = self.inner.lock().files.clone();
        files
            .iter()
            .map(|d| {
                let d = d.lock();
                StoredFile {
                    id: d.id.clone(),
                    parent_id: d.parent_id.clone(),
                    name: d.name.clone(),
                    size: d.size,
                    version: d.version,
                    sha1_hex: d
                        .sha1
                        .get_or_init(|| sha1_file(&d.path).unwrap_or_default())
                        .clone(),
                }
            })
            .collect()
    }

    pub(crate) fn file_path(&self, id: &str) -> Option<PathBuf> {
        let inner = self.inner.lock();
        let found = inner.files.iter().find(|d| d.lock().id == id);
        found.map(|d| d.lock().path.clone())
    }

    pub(crate) fn reset(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        for u in old.uploads.into_values() {
            let _ = fs::remove_dir_all(u.dir);
        }
        let _ = fs::remove_dir_all(self.root().join("files"));
        let _ = fs::create_dir_all(self.root().join("files"));
    }

    /// The upload under `key`, unless unknown or expired (`paramError.uploadKey`).
    fn live<'a>(&self, inner: &'a mut Inner, key: &str) -> Result<&'a mut Upload, ApiError> {
        let expired = match inner.uploads.get(key) {
            None => {
                return Err(ApiError::upload_key(format!(
                    "uploadKey {key} is invalid or has expired"
                )))
            }
            Some(u) => self.ttl.is_some_and(|ttl| u.created.elapsed() > ttl),
        };
        if expired {
            if let Some(u) = inner.uploads.remove(key) {
                let _ = fs::remove_dir_all(u.dir);
            }
            return Err(ApiError::upload_key(format!("uploadKey {key} has expired")));
        }
        inner
            .uploads
            .get_mut(key)
            .ok_or_else(|| ApiError::upload_key("uploadKey not found"))
    }
}

/// Parts must be 1..n without gaps; all but the last the same size S within
/// [min_part, max_part]; the last at most S (and at least min_part unless allowed smaller).
pub(crate) fn check_parts(sizes: &BTreeMap<u32, u64>, rules: &PartRules) -> Result<(), ApiError> {
    let Some((&last, &last_size)) = sizes.last_key_value() else {
        return Err(ApiError::param(
            "no part has been uploaded for this uploadKey",
        ));
    };
    if let Some(missing) = (1..=last).find(|n| !sizes.contains_key(n)) {
        return Err(ApiError::param(format!(
            "part {missing} is missing (highest part received is {last})"
        )));
    }
    if last == 1 {
        return Ok(());
    }
    let s = sizes[&1];
    if s < rules.min_part || s > rules.max_part {
        return Err(ApiError::param(format!(
            "part 1 is {s} bytes: parts must be {}..={} bytes",
            rules.min_part, rules.max_part
        )));
    }
    if let Some((n, size)) = sizes.iter().take(sizes.len() - 1).find(|(_, &z)| z != s) {
        return Err(ApiError::param(format!("part {n} is {size} bytes but part 1 is {s}: every part but the last must have the same size")));
    }
    if last_size > s {
        return Err(ApiError::param(format!(
            "the last part ({last}) is {last_size} bytes, larger than the {s}-byte parts before it"
        )));
    }
    if last_size < rules.min_part && !rules.small_last_part {
        return Err(ApiError::param(format!(
            "the last part is {last_size} bytes, below the {}-byte minimum",
            rules.min_part
        )));
    }
    Ok(())
}

fn dentry_json(space: &str, d: &Dentry) -> Value {
    let extension = match d.name.rfind('.') {
        Some(i) if i > 0 => d.name[i + 1..].to_owned(),
        _ => String::new(),
    };
    json!({
        "id": d.id, "uuid": d.uuid, "spaceId": space, "parentId": d.parent_id,
        "type": "FILE", "name": d.name, "extension": extension,
        "path": format!("/{}", d.name), "size": d.size, "version": d.version,
        "status": "NORMAL", "storageDriver": "DINGTALK", "category": "OTHER",
        "partitionType": "PUBLIC_OSS_PARTITION",
        "creatorId": "mockCreator", "modifierId": "mockCreator",
        "createTime": d.created, "modifiedTime": d.modified,
        "properties": { "readOnly": false },
    })
}

/// ISO-8601 UTC with seconds, e.g. `2024-01-01T10:00:00Z` (the doc's format).
pub(crate) fn iso_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn sha1_file(path: &Path) -> io::Result<String> {
    let mut h = Sha1::new();
    io::copy(&mut fs::File::open(path)?, &mut h)?;
    Ok(hex(&h.finalize()))
}

pub(crate) fn next_seq() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Unique-looking letters and digits (not meaningful).
pub(crate) fn opaque(len: usize) -> String {
    let mut h = Sha1::new();
    h.update(next_seq().to_le_bytes());
    h.update(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    h.update(std::process::id().to_le_bytes());
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    h.finalize()
        .iter()
        .cycle()
        .take(len)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: PartRules = PartRules {
        min_part: 100,
        max_part: 1000,
        small_last_part: true,
    };

    fn check(sizes: &[(u32, u64)]) -> bool {
        check_parts(&sizes.iter().copied().collect(), &RULES).is_ok()
    }

    #[test]
    fn part_layout_rules() {
        assert!(!check(&[]));
        assert!(check(&[(1, 5)]));
        assert!(check(&[(1, 100), (2, 100), (3, 1)]));
        assert!(!check(&[(1, 100), (3, 1)]));
        assert!(!check(&[(2, 100)]));
        assert!(!check(&[(1, 99), (2, 1)]));
        assert!(!check(&[(1, 100), (2, 150), (3, 1)]));
        assert!(!check(&[(1, 100), (2, 101)]));
        let strict = PartRules {
            small_last_part: false,
            ..RULES
        };
        assert!(check_parts(&[(1, 100), (2, 1)].into_iter().collect(), &strict).is_err());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
