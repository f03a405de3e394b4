//! Starting an upload: the destination folder, the hashes PDS wants (a `pre_hash` probe,
//! then the whole file's SHA-1 for rapid upload; the mid-states in parallel mode) and
//! `/v2/file/create` with the part list (§3, §8).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::api::{self, Created};
use super::errors::{self, Failure};
use super::hash::{self, Digests};
use super::session::{ctx_json, Mode, NameMode, Session};
use super::{urls, Pds, MAX_PART};
use crate::error::ErrorKind;
use crate::providers::{Committed, Init, JobSpec, Provider, ProviderError, ProviderResult};

impl Pds {
    /// The part size: the engine's choice within the limits, a multiple of 64 bytes (needed
    /// for mid-states, harmless in serial mode).
    pub(super) fn part_size(&self, job: &JobSpec<'_>) -> u64 {
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

    /// One `POST /v2/file/create`: the parsed answer, or PDS's refusal for the caller to judge.
    async fn send_create(&self, body: &Value) -> ProviderResult<std::result::Result<Created, Failure>> {
        match self.api.call("/v2/file/create", body).await? {
            Ok(v) => Ok(Ok(api::parse("create", v)?)),
            Err(f) => Ok(Err(f)),
        }
    }

    /// `POST /v2/file/create`; with `overwrite`, a name already taken is created again as a
    /// new revision of the existing file (§3). `again`: an earlier create for the job may have
    /// been done without its answer reaching us (`JobSpec::init_may_have_run`).
    async fn create(&self, body: &Value, again: bool) -> ProviderResult<std::result::Result<Created, Failure>> {
        // A create with the content hash may finish the file at once (rapid upload). Were an
        // earlier one's answer lost (a network error, a kill), sending it again with
        // auto_rename or ignore would make a second file. So a repeated one asks with
        // `refuse` first: a same-name file holding this very content is the job's file.
        let once = again
            && body.get("content_hash").is_some()
            && body.get("file_id").is_none()
            && matches!(self.name_mode, NameMode::AutoRename | NameMode::Ignore);
        if once {
            let mut refuse = body.clone();
            refuse["check_name_mode"] = "refuse".into();
            let created = match self.send_create(&refuse).await? {
                Ok(c) if c.exist => c,
                other => return Ok(other),
            };
            if self.holds_content(&created.file_id, body).await? {
                tracing::info!(file_id = %created.file_id, "PDS already has this file under its name: not creating another");
                return Ok(Ok(Created { rapid_upload: true, exist: false, ..created }));
            }
        }
        let created = match self.send_create(body).await? {
            Ok(c) => c,
            Err(f) => return Ok(Err(f)),
        };
        if created.exist && self.name_mode == NameMode::Overwrite && body.get("file_id").is_none() {
            let mut again = body.clone();
            again["file_id"] = created.file_id.clone().into();
            again["check_name_mode"] = "ignore".into();
            return self.send_create(&again).await;
        }
        Ok(Ok(created))
    }

    /// Whether the file `file_id` is complete with the size and content hash of `body`.
    async fn holds_content(&self, file_id: &str, body: &Value) -> ProviderResult<bool> {
        let info = self.file_get(&self.drive_id, file_id).await?;
        let hash = body["content_hash"].as_str().unwrap_or_default();
        let complete = info.status.as_deref().is_none_or(|s| s == "available");
        Ok(complete
            && info.size == body["size"].as_u64()
            && info.content_hash.is_some_and(|h| !hash.is_empty() && h.eq_ignore_ascii_case(hash)))
    }

    /// The folder id for a destination path below the account's folder (`ferry upload --to
    /// a/b`, or a folder's subfolders), each missing level made (see `folders.rs`).
    async fn folder_for(&self, dest: &str) -> ProviderResult<String> {
        self.folders.make_path(self, &self.parent_file_id, dest).await
    }

    pub(super) async fn init_upload(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
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
                match self.create(&body, job.init_may_have_run).await? {
                    Err(f) if f.is("InvalidParameterNotSupported.ParallelUpload") => {
                        tracing::warn!(job = job.job_id, "this PDS domain does not allow parallel uploads: uploading in serial mode");
                        (Mode::Serial, vec![], self.create(&with_hash(&d.content_hash, plain_parts), job.init_may_have_run).await?)
                    }
                    other => (Mode::Parallel, d.ctx.clone(), other),
                }
            }
            Mode::Serial => {
                let answer = match job.sha1 {
                    Some(h) => self.create(&with_hash(&h.to_ascii_uppercase(), plain_parts.clone()), job.init_may_have_run).await?,
                    None => {
                        let path = job.path.to_path_buf();
                        let pre_hash = tokio::task::spawn_blocking(move || hash::pre_hash(&path))
                            .await
                            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("hashing failed: {e}")))?
                            .map_err(|e| ProviderError::io(&format!("reading {}", job.path.display()), &e))?;
                        let mut probe = base.clone();
                        probe["pre_hash"] = pre_hash.into();
                        probe["part_info_list"] = plain_parts.clone().into();
                        match self.create(&probe, job.init_may_have_run).await? {
                            Err(f) if f.is("PreHashMatched") => {
                                tracing::info!(job = job.job_id, "PDS may hold this file already (pre_hash matched): hashing it whole");
                                let hash = self.content_hash(job).await?;
                                self.create(&with_hash(&hash, plain_parts), job.init_may_have_run).await?
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
        self.urls.insert(&upload_id, urls::targets(&created.part_info_list, SystemTime::now())).await;
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
}

/// Sets a flag when dropped: a blocking hasher stops when its caller goes away.
struct StopOnDrop(Arc<AtomicBool>);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
