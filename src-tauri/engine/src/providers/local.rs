//! `local`: uploads into a folder (a NAS mount, another disk) with the same part ledger as
//! the cloud providers. Parts are written into a staging file beside the destination and
//! made durable before they are acknowledged; commit publishes the file atomically under a
//! name that never overwrites another file.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Committed, Entry, EntryKind, Folders, Listing, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderError, ProviderResult};
use crate::error::ErrorKind;
use crate::platform;
use crate::store::GroupSync;

pub struct Local {
    root: PathBuf,
    /// One fsync group per destination folder: files published into one folder at once
    /// share its fsync.
    dirs: Mutex<HashMap<PathBuf, Arc<GroupSync>>>,
}

#[derive(Serialize, Deserialize)]
struct Session {
    staging: PathBuf,
    /// The name the file should get; commit picks "name (1).ext" etc. if it is taken.
    target: PathBuf,
}

const STAGING_DIR: &str = ".ferry-staging";

impl Local {
    pub fn new(ctx: &Context) -> Self {
        Local { root: PathBuf::from(ctx.setting("root")), dirs: Mutex::default() }
    }

    fn dir_sync(&self, dir: &Path) -> Arc<GroupSync> {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner()).entry(dir.to_path_buf()).or_default().clone()
    }

    fn session(v: &serde_json::Value) -> ProviderResult<Session> {
        serde_json::from_value(v.clone()).map_err(|e| ProviderError::restart(format!("unreadable upload session ({e}): starting over")))
    }
}

/// `dest` is a folder inside the root: relative, without `..`.
fn dest_dir(root: &Path, dest: &str) -> ProviderResult<PathBuf> {
    let rel = Path::new(dest.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(ProviderError::new(ErrorKind::InvalidInput, format!("destination \"{dest}\" must be a folder inside the account's root, without \"..\"")));
    }
    Ok(root.join(rel))
}

use crate::paths::numbered as candidate;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static, what: &str) -> ProviderResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| ProviderError::io(what, &e)),
        Err(e) => Err(ProviderError::new(ErrorKind::Internal, format!("{what}: {e}"))),
    }
}

#[async_trait]
impl Provider for Local {
    fn limits(&self) -> Limits {
        Limits {
            min_part: 1,
            max_part: 4 << 30,
            max_parts: 1_000_000,
            part_concurrency: 4,
            requests_per_sec: None,
            sha1_before_init: false,
        }
    }

    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        if let Some(problem) = platform::name_problem(job.name) {
            return Err(ProviderError::new(ErrorKind::InvalidInput, format!("\"{}\" cannot be a file name here: it {problem}", job.name)));
        }
        let dir = dest_dir(&self.root, job.dest)?;
        let staging_dir = dir.join(STAGING_DIR);
        let staging = staging_dir.join(format!("{:016x}.part", rand::random::<u64>()));
        let target = dir.join(job.name);
        let size = job.size;
        let (sd, st) = (staging_dir.clone(), staging.clone());
        blocking(move || create_staging(&sd, &st, size), &format!("cannot prepare {}", staging_dir.display())).await?;
        let part_size = self.limits().part_size(job.size, job.preferred_part_size);
        Ok(Init::Upload { session: serde_json::to_value(Session { staging, target }).expect("paths serialise"), part_size })
    }

    async fn upload_part(&self, session: &serde_json::Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        let s = Self::session(session)?;
        let what = format!("cannot write part {} into {}", part.number, s.staging.display());
        let path = s.staging.clone();
        let file = match blocking(move || std::fs::OpenOptions::new().write(true).open(path), &what).await {
            Ok(f) => Arc::new(f),
            Err(e) if e.kind == ErrorKind::NotFound => return Err(ProviderError::restart(format!("{what}: the staging file is gone"))),
            Err(e) => return Err(e),
        };
        let mut at = part.offset;
        let mut chunks = Box::pin(body.into_stream());
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ProviderError::io(&what, &e))?;
            let (f, off, len) = (file.clone(), at, chunk.len() as u64);
            blocking(move || platform::write_all_at(&f, &chunk, off), &what).await?;
            at += len;
        }
        // Durable before acknowledged: the ledger may count this part only once it is on disk.
        let f = file.clone();
        blocking(move || f.sync_data(), &what).await?;
        Ok(PartReceipt { number: part.number, ..Default::default() })
    }

    async fn commit(&self, session: &serde_json::Value, job: &JobSpec<'_>, _parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let s = Self::session(session)?;
        let size = job.size;
        let sha1 = job.sha1.map(str::to_owned);
        let what = format!("cannot publish {}", s.target.display());
        let dir = self.dir_sync(s.target.parent().unwrap_or(&self.root));
        let published = blocking(
            move || match publish(&s.staging, &s.target, size, &dir)? {
                Some(p) => Ok(Some(p)),
                // A crash after publishing but before the queue recorded it: find our copy.
                None => Ok(sha1.and_then(|h| find_published(&s.target, size, &h))),
            },
            &what,
        )
        .await?;
        let path = published.ok_or_else(|| ProviderError::restart(format!("{what}: the staged upload is gone; uploading again")))?;
        Ok(Committed {
            id: Some(path.display().to_string()),
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            url: url::Url::from_file_path(&path).ok().map(|u| u.to_string()),
            rapid: false,
        })
    }

    async fn abort(&self, session: &serde_json::Value) -> ProviderResult<()> {
        let s = Self::session(session)?;
        let what = format!("cannot remove {}", s.staging.display());
        blocking(
            move || match std::fs::remove_file(&s.staging) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            &what,
        )
        .await
    }

    fn folders(&self) -> Option<&dyn Folders> {
        Some(self)
    }

    async fn check(&self) -> ProviderResult<String> {
        let root = self.root.clone();
        let what = format!("cannot write into the destination folder {}", root.display());
        let r = root.clone();
        blocking(
            move || {
                std::fs::create_dir_all(&r)?;
                let probe = r.join(format!(".ferry-probe-{}", std::process::id()));
                std::fs::write(&probe, b"ok")?;
                std::fs::remove_file(probe)
            },
            &what,
        )
        .await?;
        Ok(format!("{} is writable", root.display()))
    }
}

/// Creates the (sparse) staging file, and its folder if needed. Another upload's commit
/// removes the folder when it looks empty: between our `create_dir_all` and our create it
/// may vanish, so that is simply tried again (once our file is in it, it stays).
fn create_staging(dir: &Path, staging: &Path, size: u64) -> std::io::Result<()> {
    let mut tries = 0;
    let f = loop {
        // create_dir_all itself says "exists" when the folder goes between its mkdir and its check.
        match std::fs::create_dir_all(dir).and_then(|_| std::fs::File::create(staging)) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::AlreadyExists) && tries < 100 => tries += 1,
            r => break r?,
        }
    };
    // Not fsynced: each part is made durable before its acknowledgement, and a staging
    // file lost in a crash makes the next part start the upload over.
    f.set_len(size) // sparse: parts fill it in any order
}

/// Moves the staging file to the first free name, never replacing a file (a no-replace
/// rename: a hard link then unlink on unix, `MoveFileExW` on Windows). Returns `None` when
/// there is no staging file and no published copy of it. Safe to call again after a crash at
/// any point: a staging file already linked under a name is recognised by its file id.
/// The name is durable when it returns (`dir` fsyncs the folder); the bytes already were:
/// every part was fsynced before it was acknowledged, and commit follows the last ack.
fn publish(staging: &Path, target: &Path, size: u64, dir: &GroupSync) -> std::io::Result<Option<PathBuf>> {
    let meta = match std::fs::metadata(staging) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.len() != size {
        return Err(std::io::Error::other(format!("the staged file has {} bytes, expected {size}", meta.len())));
    }
    let ours = platform::file_id(staging)?;
    let mut n = 0;
    let published = loop {
        let c = candidate(target, n);
        match platform::file_id(&c) {
            // Linked by an earlier commit that crashed before removing the staging name.
            Ok(id) if id == ours => {
                std::fs::remove_file(staging)?;
                break c;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match platform::rename_no_replace(staging, &c) {
                Ok(()) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
        n += 1;
    };
    if let Some(staging_dir) = staging.parent() {
        let _ = std::fs::remove_dir(staging_dir); // only succeeds when no other upload is staged there
    }
    if let Some(parent) = published.parent() {
        dir.sync(|| platform::sync_dir(parent))?;
    }
    Ok(Some(published))
}

/// The published copy of a file with this size and SHA-1, among "name", "name (1)", ….
fn find_published(target: &Path, size: u64, sha1_hex: &str) -> Option<PathBuf> {
    (0..).map(|n| candidate(target, n)).take_while(|c| c.exists()).find(|c| {
        std::fs::metadata(c).is_ok_and(|m| m.len() == size)
            && crate::hashing::sha1_file(c).is_ok_and(|h| h == sha1_hex)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits of other uploads remove the staging folder whenever it is empty; preparing a
    /// new upload in the same folder at that moment must still work (seen with 2,000 small
    /// files: "cannot prepare …/.ferry-staging: No such file or directory").
    #[test]
    fn preparing_survives_a_commit_removing_the_staging_folder() {
        // tmpfs where there is one: the race is in the names, the syncs only slow it down.
        let d = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
        let sd = d.path().join(STAGING_DIR);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let remover = {
            let (sd, stop) = (sd.clone(), stop.clone());
            std::thread::spawn(move || {
                // As often as a commit could (a spinning remover would win every retry).
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::remove_dir(&sd);
                    std::thread::sleep(std::time::Duration::from_micros(20));
                }
            })
        };
        for i in 0..20_000 {
            let st = sd.join(format!("{i}.part"));
            create_staging(&sd, &st, 10).unwrap();
            std::fs::remove_file(&st).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        remover.join().unwrap();
    }

    #[test]
    fn candidates_keep_the_extension() {
        let t = Path::new("/r/photo.jpg");
        assert_eq!(candidate(t, 0), Path::new("/r/photo.jpg"));
        assert_eq!(candidate(t, 2), Path::new("/r/photo (2).jpg"));
        assert_eq!(candidate(Path::new("/r/README"), 1), Path::new("/r/README (1)"));
    }

    #[test]
    fn dest_must_stay_inside_the_root() {
        assert!(dest_dir(Path::new("/r"), "a/b").is_ok());
        assert!(dest_dir(Path::new("/r"), "/a").is_ok());
        assert!(dest_dir(Path::new("/r"), "../x").is_err());
    }

    #[test]
    fn publish_never_overwrites_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        std::fs::write(&target, b"someone else's").unwrap();
        let staging = dir.path().join("s.part");
        std::fs::write(&staging, b"ours").unwrap();
        // Crash after linking, before removing the staging name: simulate by linking by hand.
        std::fs::hard_link(&staging, dir.path().join("a (1).txt")).unwrap();
        let p = publish(&staging, &target, 4, &GroupSync::default()).unwrap().unwrap();
        assert_eq!(p, dir.path().join("a (1).txt"), "recognised the earlier link, no third copy");
        assert!(!dir.path().join("a (2).txt").exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"someone else's");
        assert!(!staging.exists());
        assert_eq!(publish(&staging, &target, 4, &GroupSync::default()).unwrap(), None);
    }

    #[test]
    fn publish_refuses_a_short_file() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("s.part");
        std::fs::write(&staging, b"abc").unwrap();
        assert!(publish(&staging, &dir.path().join("t"), 4, &GroupSync::default()).is_err());
    }
}

/// Folders of the root: a folder's id is its path relative to the root ("" = the root).
#[async_trait]
impl Folders for Local {
    fn base(&self) -> String {
        String::new()
    }

    async fn list(&self, parent: &str, _page: Option<&str>) -> ProviderResult<Listing> {
        let dir = dest_dir(&self.root, parent)?;
        let what = format!("cannot list the folder {}", dir.display());
        let read = std::fs::read_dir(&dir).map_err(|e| ProviderError::io(&what, &e))?;
        let mut entries = Vec::new();
        for item in read {
            let item = item.map_err(|e| ProviderError::io(&what, &e))?;
            let Ok(meta) = item.metadata() else { continue };
            let name = item.file_name().to_string_lossy().into_owned();
            // Staging files of uploads in progress are not the user's.
            if name.starts_with(".ferry-") {
                continue;
            }
            let id = if parent.is_empty() { name.clone() } else { format!("{}/{name}", parent.trim_end_matches('/')) };
            let folder = meta.is_dir();
            entries.push(Entry {
                name,
                kind: if folder { EntryKind::Folder } else { EntryKind::File },
                id,
                size: (!folder).then_some(meta.len()),
                modified: Some((crate::platform::mtime_ns(&meta).div_euclid(1_000_000_000)).to_string()),
            });
        }
        Ok(Listing { entries, next: None }.sorted())
    }

    async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry> {
        let id = if parent.is_empty() { name.to_owned() } else { format!("{}/{name}", parent.trim_end_matches('/')) };
        let dir = dest_dir(&self.root, &id)?;
        if dir.is_file() {
            return Ok(Entry { kind: EntryKind::File, ..Entry::folder(name, id) });
        }
        std::fs::create_dir_all(&dir).map_err(|e| ProviderError::io(&format!("cannot make the folder {}", dir.display()), &e))?;
        Ok(Entry::folder(name, id))
    }
}
