//! `pds`: Alibaba Cloud Drive and Photo Service (shared/providers/pds.md, seed 003).
//!
//! `/v2/file/create` with the part list (a `pre_hash` probe first, then `content_hash` when
//! it matched: rapid upload), parts PUT to pre-signed URLs, `/v2/file/complete`. Two modes:
//! serial (one part at a time, in order: the default) and parallel (`parallel_upload` with
//! the SHA-1 mid-state before every part, computed in one pass over the file). The session
//! records its mode, so a resumed upload continues as it was created; PDS can list the
//! parts it holds, so resume reconciles the ledger with `list_uploaded_parts`.
//!
//! `api.rs` the calls and their answers, `create.rs` starting an upload, `folders.rs` the
//! folder calls, `parts.rs` the
//! parts, `session.rs` what is persisted, `token.rs` the rotating refresh token, `urls.rs`
//! the part URLs, `errors.rs` the code table, `hash.rs` the hashes.

mod api;
mod create;
mod errors;
mod folders;
pub mod hash;
mod parts;
mod session;
mod token;
mod urls;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::signed::TargetCache;
use super::client::Endpoint;
use super::{Committed, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderError, ProviderResult};
use crate::error::{ErrorKind, Result};
use api::{Api, Drive, FileInfo};
use hash::Digests;
use session::{Mode, NameMode, Session};

/// Parts of one file in flight at once in parallel mode (the engine also caps it with
/// `parts_per_file`).
const PARALLEL_PARTS: usize = 8;
/// Part URLs asked for in one `get_upload_url`.
const URL_BATCH: u32 = 16;
/// `list_uploaded_parts` page size (1–100, §6).
const LIST_LIMIT: u32 = 100;
const MAX_PART: u64 = 5 << 30;

/// Digests of a job's file: (file size, part size they were cut at, digests).
type Hashed = (u64, u64, Arc<Digests>);

pub struct Pds {
    http: reqwest::Client,
    api: Api,
    drive_id: String,
    parent_file_id: String,
    name_mode: NameMode,
    mode: Mode,
    urls: TargetCache,
    /// Upload ids whose `complete` answer was lost: PDS is asked about the file first.
    lost: Mutex<HashSet<String>>,
    /// Hashes computed for an `init` that may be retried: job id → (size, part size, digests).
    hashed: Mutex<HashMap<i64, Hashed>>,
    /// Folder ids found or made for destination paths.
    folders: super::client::folders::FolderCache,
}

impl Pds {
    pub fn new(ctx: Context) -> Result<Self> {
        let domain_id = ctx.setting("domain_id").to_owned();
        // No public default: every domain has its own host (§0).
        let endpoint = ctx.account.endpoint.clone().unwrap_or_else(|| format!("https://{domain_id}.api.aliyunpds.com"));
        let endpoint = Endpoint::parse(&endpoint)?;
        let token_url = endpoint.url("/v2/oauth/token");
        let mode = match ctx.account.setting("upload_mode").unwrap_or("serial") {
            "serial" => Mode::Serial,
            "parallel" => Mode::Parallel,
            other => return Err(crate::Error::invalid("upload_mode", format!("\"{other}\" is not one of: serial, parallel"))),
        };
        let name_mode = NameMode::parse(ctx.account.setting("check_name_mode").unwrap_or("auto_rename"))?;
        Ok(Pds {
            http: ctx.http.clone(),
            drive_id: ctx.setting("drive_id").to_owned(),
            parent_file_id: ctx.account.setting("parent_file_id").unwrap_or("root").to_owned(),
            name_mode,
            mode,
            urls: TargetCache::default(),
            lost: Mutex::new(HashSet::new()),
            hashed: Mutex::new(HashMap::new()),
            folders: Default::default(),
            api: Api::new(ctx.http.clone(), endpoint, token::Tokens::new(ctx, token_url)),
        })
    }

    async fn file_get(&self, drive_id: &str, file_id: &str) -> ProviderResult<FileInfo> {
        self.api.post("file get", "/v2/file/get", &json!({ "drive_id": drive_id, "file_id": file_id })).await
    }

    /// `/v2/file/complete`, once: after a lost answer the file is looked up first, and an
    /// upload PDS no longer knows counts as done when its file is there (§6).
    async fn complete(&self, s: &Session) -> ProviderResult<FileInfo> {
        let was_lost = self.lost.lock().unwrap_or_else(|p| p.into_inner()).contains(&s.upload_id);
        if was_lost {
            let file = self.file_get(&s.drive_id, &s.file_id).await?;
            if file.status.as_deref() == Some("available") {
                tracing::info!(file_id = %file.file_id, "PDS had completed this upload before its answer was lost");
                return Ok(file);
            }
        }
        match self.api.call("/v2/file/complete", &s.ids()).await {
            Ok(Ok(v)) => api::parse("complete", v),
            // Completed already (an earlier answer was lost), or expired: PDS's view decides (§6).
            Ok(Err(f)) if f.is("NotFound.UploadId") => {
                let file = self.file_get(&s.drive_id, &s.file_id).await?;
                if file.status.as_deref() != Some("available") {
                    return Err(errors::api("complete", &f));
                }
                tracing::info!(file_id = %file.file_id, "PDS had completed this upload already");
                Ok(file)
            }
            Ok(Err(f)) => Err(errors::api("complete", &f)),
            Err(e) => {
                if e.kind == ErrorKind::Network || (e.temporary && e.kind == ErrorKind::Server) {
                    self.lost.lock().unwrap_or_else(|p| p.into_inner()).insert(s.upload_id.clone());
                }
                Err(e)
            }
        }
    }
}

/// The stored file must be the local one: same size, and the same SHA-1 when both are known.
fn verify(file: &FileInfo, job: &JobSpec<'_>) -> ProviderResult<()> {
    if let Some(size) = file.size {
        if size != job.size {
            return Err(ProviderError::new(
                ErrorKind::Server,
                format!(
                    "PDS stored {size} bytes for file {} but {} has {} bytes",
                    file.file_id,
                    job.path.display(),
                    job.size
                ),
            ));
        }
    }
    if let (Some(theirs), Some(ours)) = (file.content_hash.as_deref().filter(|h| !h.is_empty()), job.sha1) {
        if !theirs.eq_ignore_ascii_case(ours) {
            return Err(ProviderError::new(
                ErrorKind::Server,
                format!("PDS stored file {} with SHA-1 {theirs}, but the local file's is {ours}", file.file_id),
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl Provider for Pds {
    fn limits(&self) -> Limits {
        Limits {
            // Every part but the last ≥ 100 KiB; ≤ 5 GiB; 10,000 parts (§9).
            min_part: 100 * 1024,
            max_part: MAX_PART,
            max_parts: 10_000,
            part_concurrency: match self.mode {
                Mode::Serial => 1,
                Mode::Parallel => PARALLEL_PARTS,
            },
            requests_per_sec: None,
            // The provider hashes what it needs itself (pre_hash, or one pass in parallel mode).
            sha1_before_init: false,
        }
    }

    fn part_concurrency(&self, session: &Value) -> usize {
        match Session::parse(session).map(|s| s.mode) {
            Ok(Mode::Parallel) => PARALLEL_PARTS,
            // Serial sessions (and unreadable ones, which restart anyway): strictly in order.
            _ => 1,
        }
    }

    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        let r = self.init_upload(job).await;
        if !matches!(&r, Err(e) if e.temporary) {
            self.hashed.lock().unwrap_or_else(|p| p.into_inner()).remove(&job.job_id);
        }
        r
    }

    async fn upload_part(&self, session: &Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        self.send_part(&Session::parse(session)?, part, body).await
    }

    async fn commit(&self, session: &Value, job: &JobSpec<'_>, _parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let s = Session::parse(session)?;
        let file = self.complete(&s).await?;
        verify(&file, job)?;
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).remove(&s.upload_id);
        self.urls.forget_upload(&s.upload_id).await;
        Ok(Committed {
            id: Some(file.file_id),
            name: file.name.or(Some(s.file_name)),
            url: None,
            rapid: false,
        })
    }

    async fn abort(&self, session: &Value) -> ProviderResult<()> {
        // PDS documents no call to abandon an upload: unfinished ones are removed after 10 days.
        if let Ok(s) = Session::parse(session) {
            self.urls.forget_upload(&s.upload_id).await;
            tracing::info!(upload_id = %s.upload_id, "PDS upload abandoned; PDS removes unfinished uploads after 10 days");
        }
        Ok(())
    }

    async fn uploaded_parts(&self, session: &Value) -> ProviderResult<Option<Vec<PartReceipt>>> {
        let s = Session::parse(session)?;
        match self.held_parts(&s).await {
            // PDS forgets an upload once it is completed too: a `complete` whose answer died
            // with the engine. If the file is there, the ledger is right and the commit finds
            // it; starting over would make a second file. (Found by the chaos soak.)
            Err(e) if e.restart => match self.file_get(&s.drive_id, &s.file_id).await {
                Ok(file) if file.status.as_deref() == Some("available") => {
                    tracing::info!(file_id = %file.file_id, "PDS completed this upload before the engine stopped");
                    Ok(None)
                }
                _ => Err(e),
            },
            other => other,
        }
    }

    fn folders(&self) -> Option<&dyn super::Folders> {
        Some(self)
    }

    async fn check(&self) -> ProviderResult<String> {
        self.api.tokens.fresh().await?;
        let drive: Drive = self.api.post("drive get", "/v2/drive/get", &json!({ "drive_id": self.drive_id })).await?;
        let name = drive.drive_name.unwrap_or_default();
        let space = match (drive.used_size, drive.total_size) {
            (Some(used), Some(total)) => format!(", {used} of {total} bytes used"),
            _ => String::new(),
        };
        Ok(format!(
            "token refreshed; drive \"{name}\" (id {}){space}",
            if drive.drive_id.is_empty() { &self.drive_id } else { &drive.drive_id }
        ))
    }
}
