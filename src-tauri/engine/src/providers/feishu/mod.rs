//! `feishu`: Feishu (open.feishu.cn) and Lark (open.larksuite.com) Drive, per
//! shared/providers/feishu.md. The account's endpoint picks the platform.
//!
//! * Files up to 20 MB go in one `upload_all` with the whole file's Adler-32. The engine sees
//!   that as a plan of ONE part: `upload_part` makes the whole request and its receipt
//!   carries the file token, which `commit` returns.
//! * Larger files: `upload_prepare` → the server's `block_size` / `block_num` (kept in the
//!   session with the prepare time) → `upload_part` for each block in order, one at a time,
//!   with its Adler-32 → `upload_finish` → the file token.
//!
//! The server's block plan always wins: `init` hands the engine `block_size` as the part size,
//! so the engine's plan (`ceil(size / part_size)` parts of `part_size`, the last one shorter)
//! is the documented block layout; `init` refuses a prepare answer whose `block_num` is not
//! that count, and every `upload_part` checks its part against the session (seq, offset,
//! length, count) and starts over if they ever disagree.

mod api;
mod budget;
mod errors;
mod folders;
mod lost;
mod target;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::multipart::Form;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Committed, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderError, ProviderResult};
use crate::error::{ErrorKind, Result};
use super::client::form::file_part;
use super::client::Endpoint;
use api::{Api, Call, Payload};
use target::{Destination, Family, Target};

/// `upload_all` takes at most 20 MB: `size` ≤ 20,971,520 (§2, §7).
pub const ONESHOT_MAX: u64 = 20_971_520;
/// Upload ids and their progress stay valid for 24 hours after `upload_prepare` (§4).
const UPLOAD_ID_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// An upload this close to its end is started again rather than risk the last blocks.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10 * 60);
/// The upload APIs take 5 requests per second (§10). Feishu counts arrivals, and a request
/// can arrive a little later than it was started, so requests are spaced for 90 % of that.
pub const DOCUMENTED_QPS: f64 = 5.0;
const PACED_QPS: f64 = DOCUMENTED_QPS * 0.9;
/// Feishu's blocks are 4 MiB; a block plan beyond this would hold too much in memory.
const MAX_BLOCK: u64 = 64 << 20;
const MAX_NAME_CHARS: usize = 250;

pub struct Feishu {
    api: Api,
    destination: Destination,
    /// Uploads whose blocks go without a checksum: Feishu refused a correct Adler-32 of one
    /// block twice in a row (the field is optional, §4). upload id → refusals in a row.
    checksum_refusals: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// Uploads whose file-creating call lost its answer (see `lost.rs`).
    lost: std::sync::Mutex<std::collections::HashSet<String>>,
    /// When this provider was built (unix ms): an upload begun earlier may have sent its
    /// file-creating call from an engine that died before the answer came (see `lost.rs`).
    built_ms: i64,
    /// Folder tokens found or made for destination paths.
    folders: super::client::folders::FolderCache,
    /// Structure-changing calls one at a time, spaced for the 5 QPS (folders.md §2.5).
    structure: folders::Spacing,
}

/// Checksum refusals of one block in a row after which blocks go without one.
const CHECKSUM_REFUSALS: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Session {
    /// ≤ 20 MB: one part, sent as the whole `upload_all`. `started_ms`: when the upload
    /// began (unix ms; 0 in sessions saved before it was recorded).
    Oneshot {
        target: Target,
        name: String,
        size: u64,
        #[serde(default)]
        started_ms: i64,
    },
    /// The server's block plan and when it was made (unix ms), for the 24-hour lifetime.
    Multipart { family: Family, upload_id: String, block_size: u64, block_num: u64, size: u64, prepared_at_ms: i64 },
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Adler-32 as Feishu wants it: the u32 in unsigned decimal (§9).
fn adler32(bytes: &[u8]) -> String {
    adler::adler32_slice(bytes).to_string()
}

fn session(v: &Value) -> ProviderResult<Session> {
    serde_json::from_value(v.clone()).map_err(|e| ProviderError::restart(format!("unreadable Feishu upload session ({e}): starting over")))
}

fn text(data: &Value, field: &str, what: &str) -> ProviderResult<String> {
    match &data[field] {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        // Ids are documented as strings; take a number too.
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(ProviderError::temporary(ErrorKind::Server, format!("Feishu {what} answered success without data.{field}"))),
    }
}

/// The block `seq` covers `[seq × block_size, min((seq + 1) × block_size, size))`.
fn block_len(seq: u64, block_size: u64, size: u64) -> u64 {
    block_size.min(size.saturating_sub(seq * block_size))
}

impl Session {
    /// Starts over when the upload id is (nearly) 24 hours old.
    fn check_age(prepared_at_ms: i64, now_ms: i64) -> ProviderResult<()> {
        let age = Duration::from_millis(now_ms.saturating_sub(prepared_at_ms).max(0) as u64);
        if age + EXPIRY_MARGIN >= UPLOAD_ID_LIFETIME {
            return Err(ProviderError::restart(format!(
                "the Feishu upload id is {} h old and upload ids live 24 h: starting again from upload_prepare",
                age.as_secs() / 3600
            )));
        }
        Ok(())
    }
}

/// The part the engine planned must be exactly block `number − 1` of the server's plan.
fn check_block(part: PartSpec, block_size: u64, block_num: u64, size: u64) -> ProviderResult<u64> {
    let seq = u64::from(part.number).saturating_sub(1);
    let fits = part.number >= 1
        && u64::from(part.count) == block_num
        && seq < block_num
        && part.offset == seq * block_size
        && part.length == block_len(seq, block_size, size);
    if !fits {
        return Err(ProviderError::restart(format!(
            "part {}/{} ({} bytes at {}) is not block {seq} of Feishu's plan ({block_num} blocks of {block_size} bytes): starting over",
            part.number, part.count, part.length, part.offset
        )));
    }
    Ok(seq)
}

impl Feishu {
    pub fn new(ctx: &Context) -> Result<Self> {
        let endpoint = ctx.account.endpoint_or_default().unwrap_or_default();
        let endpoint = Endpoint::parse(&endpoint)?;
        let destination = Destination {
            parent_type: ctx.account.setting("parent_type").unwrap_or(target::EXPLORER).to_owned(),
            parent_node: ctx.setting("parent_node").to_owned(),
            drive_route_token: ctx.account.setting("drive_route_token").map(str::to_owned),
        };
        destination.target("file").map_err(|e| crate::Error::invalid("parent_type", e))?;
        let daily_calls = match ctx.account.setting("daily_calls") {
            Some(v) => v.parse().map_err(|_| crate::Error::invalid("daily_calls", format!("\"{v}\" is not a number of calls")))?,
            None => budget::DEFAULT_DAILY_CALLS,
        };
        let app_id = ctx.setting("app_id").to_owned();
        // Feishu counts calls per app: one file per endpoint and app in the data dir.
        let key: String = format!("{}-{app_id}", endpoint.host())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        let file = ctx.accounts.data_dir().join("provider-state").join(format!("feishu-budget-{key}.json"));
        let budget = budget::Budget::new(daily_calls, Some(file));
        let api = Api::new(ctx.http.clone(), endpoint, app_id, ctx.secret("app_secret")?, budget);
        Ok(Feishu { api, destination, checksum_refusals: Default::default(), lost: Default::default(), built_ms: now_ms(), folders: Default::default(), structure: Default::default() })
    }

    async fn target(&self, job: &JobSpec<'_>) -> ProviderResult<Target> {
        let chars = job.name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(ProviderError::new(
                ErrorKind::InvalidInput,
                format!("Feishu takes file names of 1 to {MAX_NAME_CHARS} characters; \"{}\" has {chars}: rename the file", job.name),
            ));
        }
        let destination = match folders::as_path(&self.destination, job.dest) {
            Some(path) => Destination { parent_node: self.folders.make_path(self, &self.destination.parent_node, path).await?, ..self.destination.clone() },
            None => self.destination.with_dest(job.dest),
        };
        destination.target(job.name).map_err(|e| ProviderError::new(ErrorKind::InvalidInput, e))
    }

    async fn prepare(&self, job: &JobSpec<'_>, target: &Target) -> ProviderResult<Session> {
        let what = format!("{}/upload_prepare", family_name(target.family));
        let mut body = serde_json::json!({
            "file_name": job.name,
            "parent_type": target.parent_type,
            "parent_node": target.parent_node,
            "size": job.size,
        });
        if let Some(extra) = &target.extra {
            body["extra"] = extra.clone().into();
        }
        let path = target.family.path("upload_prepare");
        let data = self.api.call(Call { what: &what, path: &path, payload: Payload::Json(body), counted: true }).await?;
        let upload_id = text(&data, "upload_id", &what)?;
        let block_size = data["block_size"].as_u64().unwrap_or(0);
        let block_num = data["block_num"].as_u64().unwrap_or(u64::MAX);
        if block_size == 0 || block_size > MAX_BLOCK || block_num != job.size.div_ceil(block_size) {
            return Err(ProviderError::new(
                ErrorKind::Server,
                format!(
                    "Feishu {what} planned {block_num} blocks of {block_size} bytes for {} bytes, which is not the documented layout (ceil(size / block_size) blocks of at most {MAX_BLOCK} bytes): please report this",
                    job.size
                ),
            ));
        }
        tracing::info!(job = job.job_id, upload_id, block_size, block_num, "Feishu upload prepared");
        Ok(Session::Multipart { family: target.family, upload_id, block_size, block_num, size: job.size, prepared_at_ms: now_ms() })
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Files => "files",
        Family::Medias => "medias",
    }
}

#[async_trait]
impl Provider for Feishu {
    fn limits(&self) -> Limits {
        Limits {
            min_part: 1,
            max_part: MAX_BLOCK,
            // The edition's total size limit is the server's to enforce (1061043).
            max_parts: 1_000_000,
            // upload_part does not take concurrent calls (§5).
            part_concurrency: 1,
            requests_per_sec: Some(PACED_QPS),
            sha1_before_init: false,
        }
    }

    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        let target = self.target(job).await?;
        let (session, part_size) = if job.size <= ONESHOT_MAX {
            (Session::Oneshot { target, name: job.name.to_owned(), size: job.size, started_ms: now_ms() }, job.size.max(1))
        } else {
            let s = self.prepare(job, &target).await?;
            let Session::Multipart { block_size, .. } = &s else { unreachable!("prepare makes a multipart session") };
            let block_size = *block_size;
            (s, block_size)
        };
        Ok(Init::Upload { session: serde_json::to_value(session).expect("a session serialises"), part_size })
    }

    async fn upload_part(&self, session: &Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        let len = body.len();
        match self::session(session)? {
            Session::Oneshot { target, name, size, started_ms } => {
                if part.count != 1 || len != size {
                    return Err(ProviderError::restart(format!(
                        "a one-shot upload is one part of {size} bytes, not part {}/{}: starting over",
                        part.number, part.count
                    )));
                }
                let what = format!("{}/upload_all", family_name(target.family));
                let key = format!("upload_all {} {name} {started_ms}", target.parent_node);
                if let Some(file_token) = self.made_before(&key, &target, &name, started_ms).await? {
                    self.clear_lost(&key);
                    return Ok(PartReceipt { number: part.number, etag: None, extra: serde_json::json!({ "file_token": file_token }) });
                }
                let mut form = Form::new()
                    .text("file_name", name.clone())
                    .text("parent_type", target.parent_type.clone())
                    .text("parent_node", target.parent_node.clone())
                    .text("size", size.to_string())
                    .text("checksum", adler32(body.bytes()));
                if let Some(extra) = &target.extra {
                    form = form.text("extra", extra.clone());
                }
                let (file, motion) = file_part(body, name);
                let form = form.part("file", file);
                let path = target.family.path("upload_all");
                let call = Call { what: &what, path: &path, payload: Payload::Form(form, motion), counted: true };
                let data = self.api.call(call).await.inspect_err(|e| {
                    if lost::answer_lost(e) {
                        self.mark_lost(&key);
                    }
                })?;
                self.clear_lost(&key);
                let file_token = text(&data, "file_token", &what)?;
                Ok(PartReceipt { number: part.number, etag: None, extra: serde_json::json!({ "file_token": file_token }) })
            }
            Session::Multipart { family, upload_id, block_size, block_num, size, prepared_at_ms } => {
                Session::check_age(prepared_at_ms, now_ms())?;
                let seq = check_block(part, block_size, block_num, size)?;
                let what = format!("{}/upload_part", family_name(family));
                let refusals = |f: &dyn Fn(&mut u32)| {
                    let mut map = self.checksum_refusals.lock().unwrap_or_else(|p| p.into_inner());
                    let n = map.entry(upload_id.clone()).or_default();
                    f(n);
                    *n
                };
                let with_checksum = refusals(&|_| {}) < CHECKSUM_REFUSALS;
                let mut form = Form::new().text("upload_id", upload_id.clone()).text("seq", seq.to_string()).text("size", len.to_string());
                if with_checksum {
                    form = form.text("checksum", adler32(body.bytes()));
                }
                let (file, motion) = file_part(body, "blob".into());
                let form = form.part("file", file);
                let path = family.path("upload_part");
                let call = Call { what: &what, path: &path, payload: Payload::Form(form, motion), counted: true };
                match self.api.call_raw(call).await? {
                    Ok(_) if with_checksum => {
                        refusals(&|n| *n = 0);
                    }
                    Ok(_) => {}
                    Err(f) if f.code == Some(errors::CHECKSUM_REFUSED) && with_checksum => {
                        if refusals(&|n| *n += 1) >= CHECKSUM_REFUSALS {
                            tracing::warn!(upload_id, seq, "Feishu refused this block's Adler-32 twice in a row: sending blocks without the optional checksum");
                        }
                        return Err(errors::classify(&what, &f));
                    }
                    Err(f) => return Err(errors::classify(&what, &f)),
                }
                Ok(PartReceipt { number: part.number, ..Default::default() })
            }
        }
    }

    async fn commit(&self, session: &Value, job: &JobSpec<'_>, parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let file_token = match self::session(session)? {
            Session::Oneshot { target, .. } => {
                let what = format!("{}/upload_all", family_name(target.family));
                let receipt = parts.first().ok_or_else(|| ProviderError::restart("the one-shot upload has no receipt: starting over"))?;
                text(&receipt.extra, "file_token", &what)?
            }
            Session::Multipart { family, upload_id, block_num, prepared_at_ms, .. } => {
                Session::check_age(prepared_at_ms, now_ms())?;
                if parts.len() as u64 != block_num {
                    return Err(ProviderError::restart(format!("{} of {block_num} blocks are acknowledged: starting over", parts.len())));
                }
                let what = format!("{}/upload_finish", family_name(family));
                let target = self.target(job).await?;
                if let Some(file_token) = self.made_before(&upload_id, &target, job.name, prepared_at_ms).await? {
                    self.clear_lost(&upload_id);
                    return Ok(Committed { id: Some(file_token), name: Some(job.name.to_owned()), url: None, rapid: false });
                }
                let body = serde_json::json!({ "upload_id": upload_id, "block_num": block_num });
                let path = family.path("upload_finish");
                let call = Call { what: &what, path: &path, payload: Payload::Json(body), counted: true };
                let data = self.api.call(call).await.inspect_err(|e| {
                    if lost::answer_lost(e) {
                        self.mark_lost(&upload_id);
                    }
                })?;
                self.clear_lost(&upload_id);
                text(&data, "file_token", &what)?
            }
        };
        Ok(Committed { id: Some(file_token), name: Some(job.name.to_owned()), url: None, rapid: false })
    }

    async fn abort(&self, _session: &Value) -> ProviderResult<()> {
        // Feishu has no call to drop an upload: an unfinished upload id lapses after 24 h.
        Ok(())
    }

    fn folders(&self) -> Option<&dyn super::Folders> {
        (self.destination.parent_type == target::EXPLORER).then_some(self as &dyn super::Folders)
    }

    async fn check(&self) -> ProviderResult<String> {
        self.api.token().await?;
        let host = self.api.host().to_owned();
        let d = &self.destination;
        if d.parent_type != target::EXPLORER {
            return Ok(format!("{host} issued a tenant_access_token; {} upload points cannot be checked before an upload", d.parent_type));
        }
        // Not in the upload notes: the Drive folder-meta call (drive/explorer/v2), read-only.
        let node: String = url::form_urlencoded::byte_serialize(d.parent_node.as_bytes()).collect();
        let path = format!("/open-apis/drive/explorer/v2/folder/{node}/meta");
        let what = "folder meta";
        let data = self.api.call(Call { what, path: &path, payload: Payload::Get, counted: false }).await?;
        let name = data["name"].as_str().unwrap_or_default();
        Ok(format!("{host} issued a tenant_access_token and the folder \"{name}\" ({}) is reachable", d.parent_node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(number: u32, offset: u64, length: u64, count: u32) -> PartSpec {
        PartSpec { number, offset, length, count }
    }

    #[test]
    fn adler32_is_decimal_text() {
        // RFC 1950's well-known value: "Wikipedia" = 0x11E60398.
        assert_eq!(adler32(b"Wikipedia"), "300286872");
        assert_eq!(adler32(b""), "1");
    }

    #[test]
    fn the_engine_plan_for_the_block_size_is_the_server_plan() {
        let (bs, size) = (4 << 20, (100u64 << 20) + 123);
        let block_num = size.div_ceil(bs);
        let plan = crate::transfer::plan_parts(size, bs);
        assert_eq!(plan.len() as u64, block_num);
        for p in &plan {
            let seq = check_block(*p, bs, block_num, size).unwrap();
            assert_eq!(seq, u64::from(p.number) - 1);
        }
        // A plan cut at another size does not pass.
        let other = crate::transfer::plan_parts(size, 5 << 20);
        assert!(check_block(other[1], bs, block_num, size).unwrap_err().restart);
        assert!(check_block(spec(27, 26 * bs, 123, 27), bs, block_num, size).unwrap_err().restart);
        assert_eq!(block_len(25, bs, size), 123);
    }

    #[test]
    fn upload_ids_older_than_a_day_restart() {
        let hour = 3_600_000;
        assert!(Session::check_age(0, 23 * hour).is_ok());
        let e = Session::check_age(0, 24 * hour).unwrap_err();
        assert!(e.restart && e.message.contains("24 h"), "{}", e.message);
        assert!(Session::check_age(0, 24 * hour - 5 * 60_000).unwrap_err().restart, "within the margin");
    }

    #[test]
    fn sessions_round_trip() {
        let s = Session::Multipart {
            family: Family::Files,
            upload_id: "7111".into(),
            block_size: 4 << 20,
            block_num: 3,
            size: 9 << 20,
            prepared_at_ms: 5,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["mode"], "multipart");
        assert!(matches!(session(&v).unwrap(), Session::Multipart { block_num: 3, .. }));
        assert!(session(&serde_json::json!({"mode": "nonsense"})).unwrap_err().restart);
    }
}
