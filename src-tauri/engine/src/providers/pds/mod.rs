//! `pds`: Alibaba Cloud Drive and Photo Service (shared/providers/pds.md, seed 003).
//!
//! `/v2/file/create` with the part list (a `pre_hash` probe first, then `content_hash` when
//! it matched: rapid upload), parts PUT to pre-signed URLs, `/v2/file/complete`. Two modes:
//! serial (one part at a time, in order: the default) and parallel (`parallel_upload` with
//! the SHA-1 mid-state before every part, computed in one pass over the file). The session
//! records its mode, so a resumed upload continues as it was created; PDS can list the
//! parts it holds, so resume reconciles the ledger with `list_uploaded_parts`.

mod api;
mod errors;
mod folders;
pub mod hash;
mod token;
mod urls;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{http, Committed, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderError, ProviderResult};
use crate::error::{ErrorKind, Result};
use api::Api;
use errors::Failure;
use hash::Digests;
use urls::{PartInfo, PartUrl, UrlCache};

/// Parts of one file in flight at once in parallel mode (the engine also caps it with
/// `parts_per_file`).
const PARALLEL_PARTS: usize = 8;
/// Part URLs asked for in one `get_upload_url`.
const URL_BATCH: u32 = 16;
/// `list_uploaded_parts` page size (1–100, §6).
const LIST_LIMIT: u32 = 100;
const MAX_PART: u64 = 5 << 30;
/// Expired-URL answers renewed within one attempt at a part.
const MAX_URL_RENEWALS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Serial,
    Parallel,
}

/// `check_name_mode` (§3); `overwrite` is emulated as the official JS SDK does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameMode {
    AutoRename,
    Ignore,
    Refuse,
    Overwrite,
}

impl NameMode {
    fn parse(s: &str) -> Result<NameMode> {
        Ok(match s {
            "auto_rename" => NameMode::AutoRename,
            "ignore" => NameMode::Ignore,
            "refuse" => NameMode::Refuse,
            "overwrite" => NameMode::Overwrite,
            other => {
                return Err(crate::Error::invalid(
                    "check_name_mode",
                    format!("\"{other}\" is not one of: auto_rename, ignore, refuse, overwrite"),
                ))
            }
        })
    }

    /// What create is sent: overwrite first asks with `refuse` to learn the existing file.
    fn wire(self) -> &'static str {
        match self {
            NameMode::AutoRename => "auto_rename",
            NameMode::Ignore => "ignore",
            NameMode::Refuse | NameMode::Overwrite => "refuse",
        }
    }
}

/// What is persisted between calls (and across crashes).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    mode: Mode,
    drive_id: String,
    file_id: String,
    upload_id: String,
    #[serde(default)]
    file_name: String,
    part_size: u64,
    size: u64,
    /// Parallel mode: the SHA-1 state before each part (index 0 = part 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ctx: Vec<[u32; 5]>,
}

impl Session {
    fn parse(v: &Value) -> ProviderResult<Session> {
        serde_json::from_value(v.clone()).map_err(|e| ProviderError::restart(format!("unreadable PDS upload session ({e}): starting over")))
    }

    fn part_len(&self, number: u32) -> u64 {
        let offset = (number as u64 - 1) * self.part_size;
        self.part_size.min(self.size.saturating_sub(offset))
    }

    fn count(&self) -> u32 {
        self.size.div_ceil(self.part_size.max(1)).max(1) as u32
    }

    fn ids(&self) -> Value {
        json!({ "drive_id": self.drive_id, "file_id": self.file_id, "upload_id": self.upload_id })
    }

    /// A `part_info_list` entry for `get_upload_url`: the number, and in parallel mode the
    /// mid-state again (§5).
    fn url_request(&self, number: u32) -> Value {
        match self.ctx.get(number as usize - 1) {
            Some(h) if self.mode == Mode::Parallel => json!({ "part_number": number, "parallel_sha1_ctx": ctx_json(number, h, self.part_size) }),
            _ => json!({ "part_number": number }),
        }
    }
}

/// `parallel_sha1_ctx`: part 1 sends an empty `h`, as the official JS SDK does (§8c).
fn ctx_json(number: u32, h: &[u32; 5], part_size: u64) -> Value {
    let h: &[u32] = if number == 1 { &[] } else { h };
    json!({ "h": h, "part_offset": (number as u64 - 1) * part_size })
}

#[derive(Debug, Deserialize)]
struct Created {
    file_id: String,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    drive_id: Option<String>,
    #[serde(default)]
    upload_id: Option<String>,
    #[serde(default)]
    rapid_upload: bool,
    #[serde(default)]
    exist: bool,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    part_info_list: Vec<PartInfo>,
}

#[derive(Debug, Deserialize)]
struct FileInfo {
    file_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    content_hash: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UrlAnswer {
    #[serde(default)]
    part_info_list: Vec<PartInfo>,
}

#[derive(Debug, Deserialize)]
struct PartsPage {
    #[serde(default)]
    uploaded_parts: Vec<PartInfo>,
    /// A string in the 2022 model, a number elsewhere; empty or absent on the last page.
    #[serde(default)]
    next_part_number_marker: Value,
    #[serde(default)]
    parallel_upload: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Drive {
    #[serde(default)]
    drive_id: String,
    #[serde(default)]
    drive_name: Option<String>,
    #[serde(default)]
    total_size: Option<u64>,
    #[serde(default)]
    used_size: Option<u64>,
}

/// Digests of a job's file: (file size, part size they were cut at, digests).
type Hashed = (u64, u64, Arc<Digests>);

pub struct Pds {
    http: reqwest::Client,
    api: Api,
    drive_id: String,
    parent_file_id: String,
    name_mode: NameMode,
    mode: Mode,
    urls: UrlCache,
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
        let mut base = url::Url::parse(&endpoint).map_err(|e| crate::Error::invalid("endpoint", format!("\"{endpoint}\" is not a valid URL: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let token_url = base.join("v2/oauth/token").map_err(|e| crate::Error::invalid("endpoint", e.to_string()))?;
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
            urls: UrlCache::default(),
            hashed: Mutex::new(HashMap::new()),
            folders: Default::default(),
            api: Api::new(ctx.http.clone(), base, token::Tokens::new(ctx, token_url)),
        })
    }

    /// The part size: the engine's choice within the limits, a multiple of 64 bytes (needed
    /// for mid-states, harmless in serial mode).
    fn part_size(&self, job: &JobSpec<'_>) -> u64 {
        let p = self.limits().part_size(job.size, job.preferred_part_size);
        p.div_ceil(64).saturating_mul(64).min(MAX_PART)
    }

    /// The whole-file SHA-1 and the mid-states at every `part_size`, in one pass (cached
    /// across retries of the same `init`).
    async fn digests(&self, job: &JobSpec<'_>, part_size: u64) -> ProviderResult<Arc<Digests>> {
        if let Some((size, part, d)) = self.hashed.lock().unwrap_or_else(|p| p.into_inner()).get(&job.job_id) {
            if *size == job.size && *part == part_size {
                return Ok(d.clone());
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_on_drop = StopOnDrop(stop.clone());
        let (path, size) = (job.path.to_path_buf(), job.size);
        let started = std::time::Instant::now();
        let d = tokio::task::spawn_blocking(move || hash::digests(&path, size, part_size, &stop))
            .await
            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("hashing failed: {e}")))?
            .map_err(|e| match e {
                hash::HashError::Io(e) => ProviderError::io(&format!("reading {}", job.path.display()), &e),
                hash::HashError::Stopped => ProviderError::temporary(ErrorKind::Internal, "hashing was interrupted"),
            })?;
        tracing::info!(
            job = job.job_id,
            parts = d.ctx.len(),
            ms = started.elapsed().as_millis() as u64,
            "hashed the file for PDS"
        );
        let d = Arc::new(d);
        self.hashed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.job_id, (job.size, part_size, d.clone()));
        Ok(d)
    }

    /// The whole-file SHA-1 (upper case): known from an earlier pass, else computed now.
    async fn content_hash(&self, job: &JobSpec<'_>) -> ProviderResult<String> {
        if let Some(h) = job.sha1 {
            return Ok(h.to_ascii_uppercase());
        }
        // One "part" spanning the file: just the hash.
        let whole = job.size.max(1).div_ceil(64) * 64;
        Ok(self.digests(job, whole).await?.content_hash.clone())
    }

    /// `POST /v2/file/create`; with `overwrite`, a name already taken is created again as a
    /// new revision of the existing file (§3).
    async fn create(&self, body: &Value) -> ProviderResult<std::result::Result<Created, Failure>> {
        let created: Created = match self.api.call("/v2/file/create", body).await? {
            Ok(v) => api::parse("create", v)?,
            Err(f) => return Ok(Err(f)),
        };
        if created.exist && self.name_mode == NameMode::Overwrite && body.get("file_id").is_none() {
            let mut again = body.clone();
            again["file_id"] = created.file_id.clone().into();
            again["check_name_mode"] = "ignore".into();
            return match self.api.call("/v2/file/create", &again).await? {
                Ok(v) => Ok(Ok(api::parse("create", v)?)),
                Err(f) => Ok(Err(f)),
            };
        }
        Ok(Ok(created))
    }

    /// The folder id for a destination path below the account's folder (`ferry upload --to
    /// a/b`, or a folder's subfolders), each missing level made (see `folders.rs`).
    async fn folder_for(&self, dest: &str) -> ProviderResult<String> {
        self.folders.make_path(self, &self.parent_file_id, dest).await
    }

    async fn init_upload(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        let part_size = self.part_size(job);
        let count = job.size.div_ceil(part_size).max(1) as u32;
        let len = |n: u32| part_size.min(job.size - ((n as u64 - 1) * part_size).min(job.size));
        let parent = self.folder_for(job.dest).await?;
        let parent = parent.as_str();
        let base = json!({
            "drive_id": self.drive_id,
            "parent_file_id": parent,
            "name": job.name,
            "type": "file",
            "check_name_mode": self.name_mode.wire(),
            "size": job.size,
        });
        let plain_parts: Vec<Value> = (1..=count).map(|n| json!({ "part_number": n, "part_size": len(n) })).collect();
        let with_hash = |hash: &str, parts: Vec<Value>| {
            let mut b = base.clone();
            b["content_hash"] = hash.into();
            b["content_hash_name"] = "sha1".into();
            b["part_info_list"] = parts.into();
            b
        };

        let (mode, ctx, answer) = match self.mode {
            Mode::Parallel => {
                let d = self.digests(job, part_size).await?;
                let parts: Vec<Value> = (1..=count)
                    .map(|n| json!({ "part_number": n, "part_size": len(n), "parallel_sha1_ctx": ctx_json(n, &d.ctx[n as usize - 1], part_size) }))
                    .collect();
                let mut body = with_hash(&d.content_hash, parts);
                body["parallel_upload"] = true.into();
                match self.create(&body).await? {
                    Err(f) if f.is("InvalidParameterNotSupported.ParallelUpload") => {
                        tracing::warn!(job = job.job_id, "this PDS domain does not allow parallel uploads: uploading in serial mode");
                        (Mode::Serial, vec![], self.create(&with_hash(&d.content_hash, plain_parts)).await?)
                    }
                    other => (Mode::Parallel, d.ctx.clone(), other),
                }
            }
            Mode::Serial => {
                let answer = match job.sha1 {
                    Some(h) => self.create(&with_hash(&h.to_ascii_uppercase(), plain_parts.clone())).await?,
                    None => {
                        let path = job.path.to_path_buf();
                        let pre_hash = tokio::task::spawn_blocking(move || hash::pre_hash(&path))
                            .await
                            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("hashing failed: {e}")))?
                            .map_err(|e| ProviderError::io(&format!("reading {}", job.path.display()), &e))?;
                        let mut probe = base.clone();
                        probe["pre_hash"] = pre_hash.into();
                        probe["part_info_list"] = plain_parts.clone().into();
                        match self.create(&probe).await? {
                            Err(f) if f.is("PreHashMatched") => {
                                tracing::info!(job = job.job_id, "PDS may hold this file already (pre_hash matched): hashing it whole");
                                let hash = self.content_hash(job).await?;
                                self.create(&with_hash(&hash, plain_parts)).await?
                            }
                            other => other,
                        }
                    }
                };
                (Mode::Serial, vec![], answer)
            }
        };
        let created = answer.map_err(|f| errors::api("create", &f))?;
        if created.exist {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                format!(
                    "PDS create: a file named \"{}\" already exists in folder {parent} (check_name_mode=refuse); nothing was uploaded",
                    job.name
                ),
            ));
        }
        if created.rapid_upload {
            tracing::info!(job = job.job_id, file_id = %created.file_id, "PDS already held the content: rapid upload");
            return Ok(Init::AlreadyThere(Committed {
                id: Some(created.file_id),
                name: created.file_name.or_else(|| Some(job.name.to_owned())),
                url: None,
                rapid: true,
            }));
        }
        let upload_id = created
            .upload_id
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ProviderError::new(ErrorKind::Server, "PDS create answered without an upload_id"))?;
        self.urls.insert(&upload_id, &created.part_info_list, SystemTime::now());
        let session = Session {
            mode,
            drive_id: created.drive_id.unwrap_or_else(|| self.drive_id.clone()),
            file_id: created.file_id,
            upload_id,
            file_name: created.file_name.unwrap_or_else(|| job.name.to_owned()),
            part_size,
            size: job.size,
            ctx,
        };
        Ok(Init::Upload {
            session: serde_json::to_value(&session).expect("sessions serialise"),
            part_size,
        })
    }

    /// A fresh URL for `number`, asking for it (and the next few) when needed.
    async fn url_for(&self, s: &Session, number: u32) -> ProviderResult<PartUrl> {
        if let Some(u) = self.urls.fresh(&s.upload_id, number) {
            return Ok(u);
        }
        let lock = self.urls.refresh_lock(&s.upload_id);
        let _one_at_a_time = lock.lock().await;
        if let Some(u) = self.urls.fresh(&s.upload_id, number) {
            return Ok(u);
        }
        let last = number.saturating_add(URL_BATCH - 1).min(s.count());
        let mut body = s.ids();
        body["part_info_list"] = (number..=last).map(|n| s.url_request(n)).collect::<Vec<_>>().into();
        let answer: UrlAnswer = self.api.post("get_upload_url", "/v2/file/get_upload_url", &body).await?;
        self.urls.insert(&s.upload_id, &answer.part_info_list, SystemTime::now());
        self.urls
            .fresh(&s.upload_id, number)
            .ok_or_else(|| ProviderError::temporary(ErrorKind::Server, format!("PDS get_upload_url gave no usable URL for part {number}")))
    }

    /// One page of `list_uploaded_parts` after `marker`.
    async fn parts_page(&self, s: &Session, marker: Option<u64>, limit: u32) -> ProviderResult<PartsPage> {
        let mut body = s.ids();
        body["limit"] = limit.into();
        if let Some(m) = marker {
            body["part_number_marker"] = m.into();
        }
        self.api.post("list_uploaded_parts", "/v2/file/list_uploaded_parts", &body).await
    }

    /// The storage says part `number` is already there (a PUT whose answer was lost): read
    /// it back to get its ETag and check its size (§4).
    async fn stored_part(&self, s: &Session, number: u32) -> ProviderResult<PartReceipt> {
        let page = self.parts_page(s, (number > 1).then(|| number as u64 - 1), 1).await?;
        match page.uploaded_parts.into_iter().find(|p| p.part_number == number) {
            Some(p) if p.part_size.is_none_or(|n| n == s.part_len(number)) => Ok(PartReceipt {
                number,
                etag: p.etag,
                extra: Value::Null,
            }),
            _ => Err(ProviderError::temporary(
                ErrorKind::Conflict,
                format!("PDS says part {number} exists but does not list it with its size"),
            )),
        }
    }

    /// One PUT of a part's raw bytes: exact length, no Authorization, no Content-Type unless
    /// PDS named one (§4).
    async fn put(&self, url: &PartUrl, body: PartBody, number: u32) -> ProviderResult<Put> {
        let len = body.len();
        let what = format!("PDS part {number} upload");
        let mut req = self
            .http
            .put(&url.url)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body.into_reqwest())
            .timeout(http::timeout_for(len));
        if let Some(ct) = &url.content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        // The URL carries a signature: keep it out of error messages.
        let resp = req.send().await.map_err(|e| ProviderError::network(&what, &e.without_url()))?;
        let status = resp.status().as_u16();
        let etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = errors::retry_after(resp.headers());
        let text = resp.text().await.map_err(|e| ProviderError::network(&what, &e.without_url()))?;
        if (200..300).contains(&status) {
            return etag
                .map(Put::Stored)
                .ok_or_else(|| ProviderError::temporary(ErrorKind::Server, format!("{what}: the storage answered without an ETag")));
        }
        let (code, message) = (xml_field(&text, "Code"), xml_field(&text, "Message"));
        match (status, code.as_str()) {
            (403, _) if message.to_ascii_lowercase().contains("expired") => Ok(Put::Expired),
            (409, "PartAlreadyExist") => Ok(Put::AlreadyThere),
            _ => Err(errors::data(number, status, &code, &message, retry_after)),
        }
    }

    async fn file_get(&self, s: &Session) -> ProviderResult<FileInfo> {
        self.api
            .post("file get", "/v2/file/get", &json!({ "drive_id": s.drive_id, "file_id": s.file_id }))
            .await
    }
}

/// What the storage said to a part PUT, where it is not simply an error.
enum Put {
    Stored(String),
    /// The URL expired: renew it and send again.
    Expired,
    /// A serial part already stored (an earlier answer was lost).
    AlreadyThere,
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

fn marker(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Sets a flag when dropped: a blocking hasher stops when its caller goes away.
struct StopOnDrop(Arc<AtomicBool>);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The `<Code>` and `<Message>` of an object-storage XML error.
fn xml_field(text: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    text.find(&open)
        .and_then(|i| {
            let rest = &text[i + open.len()..];
            rest.find(&close).map(|j| rest[..j].trim().to_owned())
        })
        .unwrap_or_default()
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
        let s = Session::parse(session)?;
        let mut renewals = 0;
        loop {
            let url = self.url_for(&s, part.number).await?;
            match self.put(&url, body.again(), part.number).await? {
                Put::Stored(etag) => {
                    return Ok(PartReceipt {
                        number: part.number,
                        etag: Some(etag),
                        extra: Value::Null,
                    })
                }
                Put::AlreadyThere => return self.stored_part(&s, part.number).await,
                // Not a failure of the job: a new URL and the same part again, at once.
                Put::Expired if renewals < MAX_URL_RENEWALS => {
                    self.urls.forget(&s.upload_id, part.number);
                    renewals += 1;
                    tracing::info!(part = part.number, "PDS part URL expired; renewing it");
                }
                Put::Expired => {
                    self.urls.forget(&s.upload_id, part.number);
                    let what = format!("PDS part {} upload", part.number);
                    return Err(ProviderError::temporary(
                        ErrorKind::Expired,
                        format!("{what}: the upload URL expired {renewals} times in a row; trying again"),
                    )
                    .retry_after(Some(Duration::ZERO)));
                }
            }
        }
    }

    async fn commit(&self, session: &Value, job: &JobSpec<'_>, _parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let s = Session::parse(session)?;
        let file: FileInfo = match self.api.call("/v2/file/complete", &s.ids()).await? {
            Ok(v) => api::parse("complete", v)?,
            // Completed already (an earlier answer was lost), or expired: PDS's view decides (§6).
            Err(f) if f.is("NotFound.UploadId") => {
                let file = self.file_get(&s).await?;
                if file.status.as_deref() != Some("available") {
                    return Err(errors::api("complete", &f));
                }
                tracing::info!(file_id = %file.file_id, "PDS had completed this upload already");
                file
            }
            Err(f) => return Err(errors::api("complete", &f)),
        };
        verify(&file, job)?;
        self.urls.drop_upload(&s.upload_id);
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
            self.urls.drop_upload(&s.upload_id);
            tracing::info!(upload_id = %s.upload_id, "PDS upload abandoned; PDS removes unfinished uploads after 10 days");
        }
        Ok(())
    }

    async fn uploaded_parts(&self, session: &Value) -> ProviderResult<Option<Vec<PartReceipt>>> {
        let s = Session::parse(session)?;
        let mut held = Vec::new();
        let mut after = None;
        loop {
            let page = self.parts_page(&s, after, LIST_LIMIT).await?;
            if let Some(p) = page.parallel_upload {
                if p != (s.mode == Mode::Parallel) {
                    tracing::warn!(upload_id = %s.upload_id, "PDS reports parallel_upload={p} for a {:?} session", s.mode);
                }
            }
            for p in &page.uploaded_parts {
                if p.part_number == 0 || p.part_number > s.count() {
                    continue;
                }
                let expected = s.part_len(p.part_number);
                match p.part_size {
                    Some(n) if n != expected && s.mode == Mode::Serial => {
                        // A stored part cannot be replaced in serial mode.
                        return Err(ProviderError::restart(format!(
                            "PDS holds part {} with {n} bytes instead of {expected}: starting the upload over",
                            p.part_number
                        )));
                    }
                    // Parallel mode: a part of the wrong size is simply sent again (§6).
                    Some(n) if n != expected => continue,
                    _ => held.push(PartReceipt {
                        number: p.part_number,
                        etag: p.etag.clone(),
                        extra: Value::Null,
                    }),
                }
            }
            let next = marker(&page.next_part_number_marker);
            match next {
                Some(m) if after.is_none_or(|a| m > a) && !page.uploaded_parts.is_empty() => after = Some(m),
                _ => break,
            }
        }
        tracing::info!(upload_id = %s.upload_id, parts = held.len(), "PDS lists the parts it holds");
        Ok(Some(held))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_and_cut_parts_like_the_engine() {
        let s = Session {
            mode: Mode::Parallel,
            drive_id: "1".into(),
            file_id: "f".into(),
            upload_id: "u".into(),
            file_name: "a.bin".into(),
            part_size: 128,
            size: 789,
            ctx: vec![hash::IV; 7],
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["mode"], "parallel");
        let back = Session::parse(&v).unwrap();
        assert_eq!(back.count(), 7);
        let engine = crate::transfer::plan_parts(789, 128);
        for p in &engine {
            assert_eq!(back.part_len(p.number), p.length, "part {}", p.number);
        }
        assert_eq!(back.url_request(1)["parallel_sha1_ctx"], json!({ "h": [], "part_offset": 0 }));
        assert_eq!(back.url_request(3)["parallel_sha1_ctx"]["part_offset"], 256);
        let serial = Session {
            mode: Mode::Serial,
            ctx: vec![],
            ..back
        };
        assert_eq!(serial.url_request(3), json!({ "part_number": 3 }));
        assert!(Session::parse(&json!({"mode": "sideways"})).unwrap_err().restart);
    }

    #[test]
    fn markers_and_storage_errors_are_read_leniently() {
        assert_eq!(marker(&json!("4")), Some(4));
        assert_eq!(marker(&json!(7)), Some(7));
        assert_eq!(marker(&json!("")), None);
        assert_eq!(marker(&Value::Null), None);
        let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>";
        assert_eq!(xml_field(xml, "Code"), "AccessDenied");
        assert_eq!(xml_field(xml, "Message"), "Request has expired.");
        assert_eq!(xml_field("not xml", "Code"), "");
    }
}
