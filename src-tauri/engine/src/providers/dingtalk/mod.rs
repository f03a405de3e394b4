//! `dingtalk`: DingTalk organisation storage (`dingtalkstorage_1_0`, shared/providers/dingtalk.md).
//!
//! A file that fits in one part takes the single-shot path (`GetFileUploadInfo` → PUT →
//! `CommitFile`, §6). Larger ones: `InitMultipartFileUpload` → uploadKey in the session (§2);
//! per part, a signed URL from `GetMultipartFileUploadInfos`, asked for in batches of ≤ 30
//! just before needed and kept here with its headers and expiry (§3); a PUT to the storage
//! host with exactly those headers (§4); `CommitFile` once every part is acknowledged (§5,
//! see `commit.rs`). There is no server-side part listing, so the ledger is the truth.

mod api;
mod commit;
mod errors;
mod folders;
mod signed;

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    Committed, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider,
    ProviderError, ProviderResult,
};
use crate::error::{ErrorKind, Result};
use api::Api;
use commit::Conflict;
use super::client::Endpoint;
use crate::providers::client::signed::{self as shared, PutError, Target, TargetCache};

/// Parts are 100 KB .. 5 GB (§3); 100 KiB and 5·10⁹ satisfy either reading of the units.
const MIN_PART: u64 = 100 * 1024;
const MAX_PART: u64 = 5_000_000_000;
const MAX_PARTS: u64 = 10_000;
/// 20 calls per second per API per app (§8).
const QPS: f64 = 20.0;
/// Paced a little below it, so jitter on the way never makes 21 arrive within a second.
const PACED_QPS: f64 = QPS * 0.9;

pub struct Dingtalk {
    http: reqwest::Client,
    api: Api,
    space_id: String,
    union_id: String,
    parent_id: String,
    conflict: Conflict,
    urls: TargetCache,
    /// Folder ids found or made for destination paths.
    folders: super::client::folders::FolderCache,
    /// uploadKeys whose commit answer was lost.
    lost: Mutex<HashSet<String>>,
    /// When this provider was built (Unix seconds): an upload begun earlier may have been
    /// committed by an engine that died before the answer came (see `commit.rs`).
    built_s: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Session {
    /// The whole file in one PUT; the uploadKey comes with the URL and goes in the receipt.
    Oneshot {
        name: String,
        size: u64,
        /// The folder it goes to (for the pre-check); absent in sessions from before folders.
        #[serde(default)]
        parent: Option<String>,
    },
    Multipart {
        upload_key: String,
        /// When the upload began, by DingTalk's clock (Unix seconds).
        #[serde(default)]
        since: Option<i64>,
    },
}

impl Dingtalk {
    pub fn new(ctx: &Context) -> Result<Self> {
        let endpoint = ctx.account.endpoint_or_default().unwrap_or_default();
        let endpoint = Endpoint::parse(&endpoint)?;
        let conflict = Conflict::parse(ctx.account.setting("conflict").unwrap_or("AUTO_RENAME"))
            .ok_or_else(|| crate::Error::invalid("conflict", "must be one of AUTO_RENAME, OVERWRITE, RETURN_DENTRY_IF_EXISTS, RETURN_ERROR_IF_EXISTS"))?;
        Ok(Dingtalk {
            http: ctx.http.clone(),
            api: Api::new(
                ctx.http.clone(),
                endpoint,
                ctx.setting("app_key"),
                ctx.secret("app_secret")?,
                ctx.setting("union_id"),
                PACED_QPS,
            ),
            space_id: ctx.setting("space_id").to_owned(),
            union_id: ctx.setting("union_id").to_owned(),
            parent_id: ctx.account.setting("parent_id").unwrap_or("0").to_owned(),
            conflict,
            urls: TargetCache::default(),
            folders: Default::default(),
            lost: Mutex::new(HashSet::new()),
            built_s: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
        })
    }

    fn session(v: &Value) -> ProviderResult<Session> {
        serde_json::from_value(v.clone()).map_err(|e| {
            ProviderError::restart(format!("unreadable upload session ({e}): starting over"))
        })
    }

    /// The folder a job goes to: its destination path below the account's folder, each
    /// missing level made (see `folders.rs`).
    async fn parent(&self, job: &JobSpec<'_>) -> ProviderResult<String> {
        self.folders.make_path(self, &self.parent_id, job.dest).await
    }

    /// `preCheckParam` (§2, §6): size for the capacity check; the name only where a clash
    /// should fail at once (the pre-check refuses any clash, whatever the strategy).
    fn pre_check(&self, name: &str, parent: &str, size: u64) -> Value {
        let mut pre = json!({ "parentId": parent, "size": size });
        if self.conflict == Conflict::ReturnErrorIfExists {
            pre["name"] = name.into();
        }
        pre
    }

    async fn init_multipart(
        &self,
        pre_check: Option<Value>,
    ) -> ProviderResult<(String, Option<i64>)> {
        let mut option = json!({ "storageDriver": "DINGTALK" });
        if let Some(pre) = pre_check {
            option["preCheckParam"] = pre;
        }
        let path = format!(
            "/v1.0/storage/spaces/{}/files/multiPartUploadInfos/init",
            self.space_id
        );
        let answer = self
            .api
            .post(
                "starting a multipart upload",
                &path,
                &json!({ "option": option }),
            )
            .await?;
        Ok((upload_key(&answer.body, "starting the upload")?, answer.server_time))
    }

    /// `GetMultipartFileUploadInfos` for these part numbers (≤ 30).
    async fn part_infos(&self, key: &str, numbers: Vec<u32>) -> ProviderResult<Vec<(u32, Target)>> {
        // A desktop is not inside Alibaba's network: public URLs, not intranet ones (§3).
        let body = json!({ "uploadKey": key, "partNumbers": numbers, "option": { "preferIntranet": false } });
        let path = "/v1.0/storage/spaces/files/multiPartUploadInfos/query";
        let answer = self
            .api
            .post("getting part upload URLs", path, &body)
            .await?;
        tracing::info!(
            first = numbers.first(),
            count = numbers.len(),
            "got signed part URLs from DingTalk"
        );
        let infos = answer
            .body
            .get("multipartHeaderSignatureInfos")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        infos
            .iter()
            .filter_map(|i| {
                Some((
                    i.get("partNumber")?.as_u64()? as u32,
                    i.get("headerSignatureInfo")?,
                ))
            })
            .map(|(n, info)| Ok((n, signed::parse(info)?)))
            .collect()
    }

    /// `GetFileUploadInfo` (§6): a new uploadKey with the URL for the whole file.
    async fn file_upload_info(
        &self,
        name: &str,
        size: u64,
        parent: Option<&str>,
    ) -> ProviderResult<(String, Target, Option<i64>)> {
        let parent = parent.unwrap_or(&self.parent_id).to_owned();
        let body = json!({
            "protocol": "HEADER_SIGNATURE",
            "multipart": false,
            "option": { "storageDriver": "DINGTALK", "preCheckParam": self.pre_check(name, &parent, size), "preferIntranet": false },
        });
        let path = format!(
            "/v1.0/storage/spaces/{}/files/uploadInfos/query",
            self.space_id
        );
        let answer = self
            .api
            .post("getting the upload URL", &path, &body)
            .await?;
        let key = upload_key(&answer.body, "the upload info")?;
        let info = answer
            .body
            .get("headerSignatureInfo")
            .cloned()
            .unwrap_or(Value::Null);
        Ok((key, signed::parse(&info)?, answer.server_time))
    }

    async fn upload_whole(
        &self,
        name: &str,
        size: u64,
        parent: Option<&str>,
        part: PartSpec,
        body: PartBody,
    ) -> ProviderResult<PartReceipt> {
        let what = format!("uploading \"{name}\"");
        let judge = |status: u16, text: &str, _: Option<std::time::Duration>| signed::refusal(&what, status, text);
        let (mut key, mut target, mut since) = self.file_upload_info(name, size, parent).await?;
        let etag = match shared::put(&self.http, &target, &body, &what, judge).await {
            Ok(etag) => etag,
            Err(PutError::Expired(e)) => {
                // Expired or refused signature: a fresh URL now, not a failed attempt.
                tracing::info!("{}; asking for a new upload URL", e.message);
                (key, target, since) = self.file_upload_info(name, size, parent).await?;
                shared::put(&self.http, &target, &body, &what, judge).await.map_err(|e| e.into_error(&what))?
            }
            Err(e) => return Err(e.into_error(&what)),
        };
        Ok(PartReceipt {
            number: part.number,
            etag: etag.map(|e| e.trim_matches('"').to_owned()),
            extra: json!({ "upload_key": key, "since": since }),
        })
    }

    async fn upload_one_part(
        &self,
        key: &str,
        part: PartSpec,
        body: PartBody,
    ) -> ProviderResult<PartReceipt> {
        let what = format!("part {} of {}", part.number, part.count);
        let query = |numbers: Vec<u32>| self.part_infos(key, numbers);
        let judge = |status: u16, text: &str, _: Option<std::time::Duration>| signed::refusal(&what, status, text);
        let etag = shared::put_part(&self.http, &self.urls, key, part, signed::MAX_BATCH, &body, query, judge)
            .await
            .map_err(|e| e.into_error(&what))?;
        Ok(PartReceipt {
            number: part.number,
            etag: etag.map(|e| e.trim_matches('"').to_owned()),
            extra: Value::Null,
        })
    }
}

/// The `uploadKey` of an answer to `what`.
fn upload_key(body: &Value, what: &str) -> ProviderResult<String> {
    let key = body.get("uploadKey").and_then(Value::as_str).filter(|k| !k.is_empty());
    key.map(str::to_owned).ok_or_else(|| ProviderError::temporary(ErrorKind::Server, format!("DingTalk answered {what} without an uploadKey")))
}

/// The name DingTalk will store (§5): trimmed; no tab, `*`, `"`, `<`, `>`, `|`; no trailing `.`.
fn remote_name(name: &str) -> ProviderResult<String> {
    let trimmed = name.trim();
    let bad = trimmed.is_empty()
        || trimmed.ends_with('.')
        || trimmed
            .chars()
            .any(|c| matches!(c, '\t' | '*' | '"' | '<' | '>' | '|'));
    if bad {
        return Err(ProviderError::new(
            ErrorKind::InvalidInput,
            format!("\"{name}\" cannot be stored in DingTalk: names must not be empty, contain a tab, *, \", <, > or |, or end with \".\"; rename the file"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[async_trait]
impl Provider for Dingtalk {
    fn limits(&self) -> Limits {
        Limits {
            min_part: MIN_PART,
            max_part: MAX_PART,
            max_parts: MAX_PARTS,
            // Parts go to the storage host independently; the server assembles them by number.
            part_concurrency: 4,
            // `Api` paces every gateway call itself; the engine's pacer would also pace the
            // part PUTs to the storage host, capping a 8 MiB-part upload at ~150 MiB/s.
            requests_per_sec: None,
            sha1_before_init: false,
        }
    }

    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        let name = remote_name(job.name)?;
        let parent = self.parent(job).await?;
        let part_size = self.limits().part_size(job.size, job.preferred_part_size);
        if job.size <= part_size {
            // One part either way: the single-shot path saves a call (§6).
            let session = Session::Oneshot {
                name,
                size: job.size,
                parent: Some(parent),
            };
            return Ok(Init::Upload {
                session: serde_json::to_value(session).expect("serialises"),
                part_size: job.size.max(1),
            });
        }
        let (upload_key, since) = self
            .init_multipart(Some(self.pre_check(&name, &parent, job.size)))
            .await?;
        tracing::info!(
            job = job.job_id,
            part_size,
            "started a DingTalk multipart upload"
        );
        let session = Session::Multipart { upload_key, since };
        Ok(Init::Upload {
            session: serde_json::to_value(session).expect("serialises"),
            part_size,
        })
    }

    async fn upload_part(
        &self,
        session: &Value,
        part: PartSpec,
        body: PartBody,
    ) -> ProviderResult<PartReceipt> {
        match Self::session(session)? {
            Session::Oneshot { name, size, parent } => self.upload_whole(&name, size, parent.as_deref(), part, body).await,
            Session::Multipart { upload_key, .. } => {
                self.upload_one_part(&upload_key, part, body).await
            }
        }
    }

    async fn commit(
        &self,
        session: &Value,
        job: &JobSpec<'_>,
        parts: &[PartReceipt],
    ) -> ProviderResult<Committed> {
        let (key, since) = match Self::session(session)? {
            Session::Multipart { upload_key, since } => (upload_key, since),
            Session::Oneshot { .. } => {
                let receipt = parts.first().ok_or_else(|| {
                    ProviderError::restart("the single-shot upload has no receipt: starting over")
                })?;
                let key = receipt
                    .extra
                    .get("upload_key")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let key = key.ok_or_else(|| {
                    ProviderError::restart(
                        "the single-shot receipt has no uploadKey: starting over",
                    )
                })?;
                (key, receipt.extra.get("since").and_then(Value::as_i64))
            }
        };
        self.commit_upload(&key, since, job).await
    }

    async fn abort(&self, session: &Value) -> ProviderResult<()> {
        // DingTalk has no call to abandon an upload; an uncommitted uploadKey just lapses.
        if let Ok(Session::Multipart { upload_key, .. }) = Self::session(session) {
            self.urls.forget_upload(&upload_key).await;
        }
        Ok(())
    }

    fn folders(&self) -> Option<&dyn super::Folders> {
        Some(self)
    }

    async fn check(&self) -> ProviderResult<String> {
        self.api.token().await?;
        // Starting an upload proves the token, the app's permission, the space and the user;
        // the uploadKey is never used and lapses.
        self.init_multipart(None).await?;
        Ok(format!(
            "got an access token from {}; space {} is reachable as union_id {}",
            self.api.endpoint(),
            self.space_id,
            self.union_id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_commit_rules() {
        assert_eq!(remote_name("  music.mp3 ").unwrap(), "music.mp3");
        for bad in ["a*b", "a\"b", "a<b", "a>b", "a|b", "a\tb", "end.", "   "] {
            let e = remote_name(bad).unwrap_err();
            assert_eq!(
                (e.kind, e.temporary),
                (ErrorKind::InvalidInput, false),
                "{bad}"
            );
        }
    }

    #[test]
    fn part_sizes_respect_the_limits() {
        let limits = Limits {
            min_part: MIN_PART,
            max_part: MAX_PART,
            max_parts: MAX_PARTS,
            part_concurrency: 4,
            requests_per_sec: Some(QPS),
            sha1_before_init: false,
        };
        assert_eq!(limits.part_size(10 << 20, 1), MIN_PART, "at least 100 KiB");
        let huge = 200_000_000_000u64; // 200 GB: ceil(size / 10,000) = 20 MB
        assert_eq!(limits.part_size(huge, 8 << 20), huge.div_ceil(MAX_PARTS));
        assert!(huge.div_ceil(limits.part_size(huge, 8 << 20)) <= MAX_PARTS);
        assert_eq!(limits.part_size(300 << 20, 8 << 20), 8 << 20);
    }

    #[test]
    fn sessions_round_trip() {
        let s = serde_json::to_value(Session::Multipart {
            upload_key: "k".into(),
            since: Some(5),
        })
        .unwrap();
        assert_eq!(
            s,
            json!({"mode": "multipart", "upload_key": "k", "since": 5})
        );
        assert!(matches!(
            Dingtalk::session(&s).unwrap(),
            Session::Multipart { .. }
        ));
        assert!(
            Dingtalk::session(&json!({"mode": "nope"}))
                .unwrap_err()
                .restart
        );
    }
}
