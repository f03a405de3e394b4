//! Uploads in progress (their blocks) and stored files, kept as files under one data dir:
//! `incoming/` (bodies being received), `uploads/<upload_id>/<seq>.blk`, `objects/<n>.bin`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use sha1::{Digest, Sha1};
use tempfile::{TempDir, TempPath};

use super::envelope::{BizError, BLOCK_MISSING, PARAMS_ERROR, UPLOAD_ID_EXPIRED};
use crate::sink::hex;

/// Where a file was put.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// `files` or `medias`.
    pub family: String,
    pub file_name: String,
    pub parent_type: String,
    pub parent_node: String,
    pub extra: Option<String>,
}

/// A stored file (after `upload_all` or `upload_finish`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredObject {
    pub file_token: String,
    #[serde(flatten)]
    pub placement: Placement,
    pub size: u64,
    pub sha1_hex: String,
    /// How it arrived: `upload_all` or `multipart`.
    pub via: String,
}

pub(crate) struct Upload {
    pub placement: Placement,
    pub size: u64,
    pub block_size: u64,
    pub block_num: u64,
    created: Instant,
    expired: bool,
    dir: PathBuf,
    /// seq → bytes.
    blocks: BTreeMap<u64, u64>,
}

impl Upload {
    /// The size block `seq` must have: `block_size`, the last one the remainder.
    pub(crate) fn block_len(&self, seq: u64) -> u64 {
        self.block_size
            .min(self.size.saturating_sub(seq * self.block_size))
    }
}

struct ObjectEntry {
    token: String,
    placement: Placement,
    path: PathBuf,
    size: u64,
    via: &'static str,
    /// Unix seconds it was stored (the listing's `created_time`).
    created_s: u64,
    sha1: OnceLock<String>,
}

enum Root {
    Temp(TempDir),
    Dir(PathBuf),
}

#[derive(Default)]
struct Inner {
    uploads: HashMap<String, Upload>,
    objects: Vec<Arc<ObjectEntry>>,
}

pub(crate) struct Store {
    root: Root,
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl Store {
    pub(crate) fn open(data_dir: Option<PathBuf>, ttl: Duration) -> io::Result<Store> {
        let root = match data_dir {
            Some(dir) => Root::Dir(dir),
            None => Root::Temp(
                tempfile::Builder::new()
                    .prefix("ferry-mock-feishu-")
                    .tempdir()?,
            ),
        };
        let store = Store {
            root,
            ttl,
            inner: Mutex::default(),
        };
        for sub in ["incoming", "uploads", "objects"] {
            fs::create_dir_all(store.root().join(sub))?;
        }
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        match &self.root {
            Root::Temp(d) => d.path(),
            Root::Dir(d) => d,
        }
    }

    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.root().join("incoming")
    }

    /// Bytes of every stored file (for the tenant quota).
    pub(crate) fn used_bytes(&self) -> u64 {
        self.inner.lock().objects.iter().map(|o| o.size).sum()
    }

    /// Starts an upload; returns (upload_id, block_num).
    pub(crate) fn prepare(
        &self,
        placement: Placement,
        size: u64,
        block_size: u64,
    ) -> Result<(String, u64), BizError> {
        // Shaped like the doc's "7111211691345512356".
        let id = format!(
            "71{:011}{:06}",
            unix_millis() % 100_000_000_000,
            next_seq() % 1_000_000
        );
        let dir = self.root().join("uploads").join(&id);
        fs::create_dir_all(&dir).map_err(BizError::internal)?;
        let block_num = size.div_ceil(block_size);
        let upload = Upload {
            placement,
            size,
            block_size,
            block_num,
            created: Instant::now(),
            expired: false,
            dir,
            blocks: BTreeMap::new(),
        };
        self.inner.lock().uploads.insert(id.clone(), upload);
        Ok((id, block_num))
    }

    /// Runs `f` on a live upload (unknown, finished or expired → 1061021).
    pub(crate) fn with_upload<T>(
        &self,
        id: &str,
        f: impl FnOnce(&Upload) -> Result<T, BizError>,
    ) -> Result<T, BizError> {
        let mut inner = self.inner.lock();
        f(self.live(&mut inner, id)?)
    }

    /// Keeps block `seq` (a re-sent block replaces the earlier copy).
    pub(crate) fn put_block(
        &self,
        id: &str,
        seq: u64,
        data: TempPath,
        size: u64,
    ) -> Result<(), BizError> {
        let mut inner = self.inner.lock();
        let upload = self.live(&mut inner, id)?;
        data.persist(upload.dir.join(format!("{seq}.blk")))
            .map_err(|e| BizError::internal(e.error))?;
        upload.blocks.insert(seq, size);
        Ok(())
    }

    /// Checks every block arrived (1062010) and turns the upload into a stored file.
    pub(crate) fn finish(&self, id: &str, block_num: u64) -> Result<String, BizError> {
        let upload = {
            let mut inner = self.inner.lock();
            let upload = self.live(&mut inner, id)?;
            if block_num != upload.block_num {
                return Err(BizError::new(
                    PARAMS_ERROR,
                    format!(
                        "block_num {block_num} is not the upload's {}",
                        upload.block_num
                    ),
                ));
            }
            if let Some(missing) = (0..upload.block_num).find(|s| !upload.blocks.contains_key(s)) {
                let got = upload.blocks.len();
                return Err(BizError::new(
                    BLOCK_MISSING,
                    format!("block {missing} has not arrived ({got} of {block_num} have)"),
                ));
            }
            inner.uploads.remove(id).expect("checked live above")
        };
        let dest = self.new_object_path();
        let assembled = (|| -> io::Result<u64> {
            let mut out = fs::File::create(&dest)?;
            let mut size = 0;
            for seq in 0..upload.block_num {
                size += io::copy(
                    &mut fs::File::open(upload.dir.join(format!("{seq}.blk")))?,
                    &mut out,
                )?;
            }
            Ok(size)
        })();
        let _ = fs::remove_dir_all(&upload.dir);
        let size = assembled.map_err(BizError::internal)?;
        Ok(self.add_object(upload.placement, dest, size, "multipart"))
    }

    /// Stores an `upload_all` body as a file.
    pub(crate) fn store_whole(
        &self,
        placement: Placement,
        data: TempPath,
        size: u64,
    ) -> Result<String, BizError> {
        let dest = self.new_object_path();
        data.persist(&dest)
            .map_err(|e| BizError::internal(e.error))?;
        Ok(self.add_object(placement, dest, size, "upload_all"))
    }

    fn add_object(
        &self,
        placement: Placement,
        path: PathBuf,
        size: u64,
        via: &'static str,
    ) -> String {
        // Shaped like the doc's "boxcnrHpsg1QDqXAAAyachabcef".
        let token = format!("boxcn{:010}{:012x}", next_seq(), unix_millis());
        let entry = ObjectEntry {
            token: token.clone(),
            placement,
            path,
            size,
            via,
            created_s: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            sha1: OnceLock::new(),
        };
        self.inner.lock().objects.push(Arc::new(entry));
        token
    }

    /// (token, name) of the files placed in the Drive folder `node`, cheaply.
    /// (token, name, created unix seconds) of the Drive files in folder `node`, oldest first.
    pub(crate) fn files_in(&self, node: &str) -> Vec<(String, String, u64)> {
        let inner = self.inner.lock();
        inner
            .objects
            .iter()
            .filter(|e| e.placement.family == "files" && e.placement.parent_node == node)
            .map(|e| (e.token.clone(), e.placement.file_name.clone(), e.created_s))
            .collect()
    }

    /// Every stored file in creation order (hashes each once, on first call: may block).
    pub(crate) fn objects(&self) -> Vec<StoredObject> {
        let entries = self.inner.lock().objects.clone();
        entries
            .iter()
            .map(|e| StoredObject {
                file_token: e.token.clone(),
                placement: e.placement.clone(),
                size: e.size,
                sha1_hex: e
                    .sha1
                    .get_or_init(|| sha1_file(&e.path).unwrap_or_default())
                    .clone(),
                via: e.via.to_owned(),
            })
            .collect()
    }

    pub(crate) fn object_path(&self, token: &str) -> Option<PathBuf> {
        self.inner
            .lock()
            .objects
            .iter()
            .find(|e| e.token == token)
            .map(|e| e.path.clone())
    }

    /// Makes every upload id in progress expire now (as if 24 hours had passed).
    pub(crate) fn expire_uploads(&self) -> usize {
        let mut inner = self.inner.lock();
        inner.uploads.values_mut().for_each(|u| u.expired = true);
        inner.uploads.len()
    }

    pub(crate) fn reset(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        for u in old.uploads.into_values() {
            let _ = fs::remove_dir_all(u.dir);
        }
        for o in old.objects {
            let _ = fs::remove_file(&o.path);
        }
    }

    fn live<'a>(&self, inner: &'a mut Inner, id: &str) -> Result<&'a mut Upload, BizError> {
        let expired = match inner.uploads.get(id) {
            None => {
                return Err(BizError::new(
                    UPLOAD_ID_EXPIRED,
                    format!("upload_id {id} is unknown or finished"),
                ))
            }
            Some(u) => u.expired || u.created.elapsed() >= self.ttl,
        };
        if expired {
            if let Some(u) = inner.uploads.remove(id) {
                let _ = fs::remove_dir_all(u.dir);
            }
            return Err(BizError::new(
                UPLOAD_ID_EXPIRED,
                format!("upload_id {id} has expired"),
            ));
        }
        Ok(inner.uploads.get_mut(id).expect("present"))
    }

    fn new_object_path(&self) -> PathBuf {
        self.root()
            .join("objects")
            .join(format!("{}.bin", next_seq()))
    }
}

fn sha1_file(path: &Path) -> io::Result<String> {
    let mut h = Sha1::new();
    io::copy(&mut fs::File::open(path)?, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn next_seq() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
