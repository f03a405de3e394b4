//! The four storage calls (§2, §3, §5, §6), after the gateway's checks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::{self, ApiError};
use super::gateway::Api;
use super::store::{Content, PartRules, UploadKind};
use super::App;

type Params = Query<HashMap<String, String>>;

fn answer(app: &App, r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            app.stats.error(&e.code);
            e.into_response()
        }
    }
}

/// `POST /v1.0/storage/spaces/{spaceId}/files/multiPartUploadInfos/init` (§2).
pub(crate) async fn init(
    State(app): State<Arc<App>>,
    Path(space): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        app.admit(Api::InitMultipart, &headers, &q)?;
        let body = app.json_body(&headers, &body)?;
        app.check_space(&space)?;
        let option = body.get("option").cloned().unwrap_or(Value::Null);
        app.check_option(&option)?;
        let key = app.store.create_upload(UploadKind::Multipart)?;
        app.stats.update(|s| s.inits += 1);
        Ok(json!({ "uploadKey": key, "storageDriver": "DINGTALK" }))
    }
    .await;
    answer(&app, r)
}

/// `POST /v1.0/storage/spaces/files/multiPartUploadInfos/query` (§3).
pub(crate) async fn part_infos(
    State(app): State<Arc<App>>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        app.admit(Api::PartInfos, &headers, &q)?;
        let body = app.json_body(&headers, &body)?;
        let key = body
            .get("uploadKey")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if key.is_empty() {
            return Err(ApiError::upload_key("uploadKey is mandatory"));
        }
        let numbers = app.part_numbers(body.get("partNumbers"))?;
        if let Some(o) = body.get("option") {
            if !o.is_object() || o.get("preferIntranet").is_some_and(|v| !v.is_boolean()) {
                return Err(ApiError::param("option.preferIntranet must be a boolean"));
            }
        }
        app.store.check_multipart(key)?;
        let infos: Vec<Value> = numbers
            .iter()
            .map(|&n| json!({ "partNumber": n, "headerSignatureInfo": app.sign(key, n) }))
            .collect();
        let intranet = body.pointer("/option/preferIntranet") != Some(&Value::Bool(false));
        app.stats.update(|s| {
            s.intranet_preferred += u64::from(intranet);
            s.part_info_queries += 1;
            s.part_infos_signed += numbers.len() as u64;
            s.largest_part_info_batch = s.largest_part_info_batch.max(numbers.len() as u64);
        });
        Ok(json!({ "multipartHeaderSignatureInfos": infos }))
    }
    .await;
    answer(&app, r)
}

/// `POST /v1.0/storage/spaces/{spaceId}/files/uploadInfos/query` (§6).
pub(crate) async fn upload_info(
    State(app): State<Arc<App>>,
    Path(space): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        app.admit(Api::UploadInfo, &headers, &q)?;
        let body = app.json_body(&headers, &body)?;
        app.check_space(&space)?;
        match body.get("protocol").and_then(Value::as_str) {
            Some("HEADER_SIGNATURE") => {}
            None => return Err(ApiError::param("protocol is mandatory")),
            Some(p) => {
                return Err(ApiError::new(
                    errors::PROTOCOL_NOT_SUPPORTED,
                    format!("upload protocol {p} is not supported"),
                ))
            }
        }
        match body.get("multipart") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return Err(ApiError::param(
                    "multipart=true is deprecated: use InitMultipartFileUpload",
                ))
            }
            Some(_) => return Err(ApiError::param("multipart must be a boolean")),
        }
        let option = body.get("option").cloned().unwrap_or(Value::Null);
        app.check_option(&option)?;
        let key = app.store.create_upload(UploadKind::Single)?;
        let intranet = option.get("preferIntranet") != Some(&Value::Bool(false));
        app.stats.update(|s| {
            s.intranet_preferred += u64::from(intranet);
            s.upload_info_queries += 1;
        });
        Ok(json!({
            "uploadKey": key,
            "storageDriver": "DINGTALK",
            "protocol": "HEADER_SIGNATURE",
            "headerSignatureInfo": app.sign(&key, 0),
        }))
    }
    .await;
    answer(&app, r)
}

/// `POST /v1.0/storage/spaces/{spaceId}/files/commit` (§5).
pub(crate) async fn commit(
    State(app): State<Arc<App>>,
    Path(space): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        app.admit(Api::Commit, &headers, &q)?;
        let body = app.json_body(&headers, &body)?;
        app.check_space(&space)?;
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let key = text("uploadKey").filter(|k| !k.is_empty()).ok_or_else(|| ApiError::upload_key("uploadKey is mandatory"))?;
        let name = check_name(text("name").as_deref())?;
        let parent = text("parentId").filter(|p| !p.is_empty()).ok_or_else(|| ApiError::param("parentId is mandatory"))?;
        app.check_parent(&parent)?;
        let option = body.get("option").cloned().unwrap_or(Value::Null);
        let strategy = match option.get("conflictStrategy") {
            None => "AUTO_RENAME",
            Some(Value::String(s)) if ["AUTO_RENAME", "OVERWRITE", "RETURN_DENTRY_IF_EXISTS", "RETURN_ERROR_IF_EXISTS"].contains(&s.as_str()) => s.as_str(),
            Some(v) => return Err(ApiError::param(format!("option.conflictStrategy {v} is not one of AUTO_RENAME, OVERWRITE, RETURN_DENTRY_IF_EXISTS, RETURN_ERROR_IF_EXISTS"))),
        };
        let expected_size = match option.get("size") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| ApiError::param("option.size must be a non-negative integer"))?),
        };
        if let Some(props) = option.get("appProperties") {
            if props.as_array().is_none_or(|a| a.len() > 3) {
                return Err(ApiError::param("option.appProperties must be an array of at most 3 entries"));
            }
        }

        app.stats.update(|s| *s.commits_by_strategy.entry(strategy.to_owned()).or_default() += 1);
        let _one_at_a_time = app.commit_lock.lock().await;
        let existing = app.store.find(&app.cfg.space_id, &parent, &name);
        let rules = PartRules { min_part: app.cfg.min_part, max_part: app.cfg.max_part, small_last_part: app.cfg.small_last_part };
        let (content, used_before) = app.store.content(&key, &rules)?;
        if strategy == "RETURN_DENTRY_IF_EXISTS" {
            if let Some(d) = existing {
                app.stats.update(|s| s.commits_returned_existing += 1);
                return Ok(json!({ "dentry": d }));
            }
        }
        if used_before && !app.cfg.reusable_upload_key {
            return Err(ApiError::upload_key(format!("uploadKey {key} has already been committed")));
        }
        if existing.is_some() && strategy == "RETURN_ERROR_IF_EXISTS" {
            return Err(ApiError::new(errors::FILE_EXISTS, format!("a file named {name} already exists in folder {parent}")));
        }
        let (path, size) = match content {
            Content::Assembled(path, size) => (path, size),
            Content::Parts(parts) => {
                let worker = app.clone();
                tokio::task::spawn_blocking(move || worker.store.assemble(&parts))
                    .await
                    .map_err(ApiError::system)?
                    .map_err(ApiError::system)?
            }
        };
        if let Some(expected) = expected_size {
            if expected != size {
                return Err(ApiError::param(format!("option.size is {expected} but {size} bytes were uploaded")));
            }
        }
        if let Some(cap) = app.cfg.capacity {
            if app.store.bytes_stored() + size > cap {
                return Err(ApiError::new(errors::SPACE_QUOTA_EXCEEDED, format!("space {} has no room for {size} more bytes", app.cfg.space_id)));
            }
        }
        app.store.mark_committed(&key, &path, size);
        let space = app.cfg.space_id.clone();
        let dentry = match (existing, strategy) {
            (Some(_), "OVERWRITE") => app.store.overwrite(&space, &parent, &name, path, size).ok_or_else(|| ApiError::system("file vanished"))?,
            (Some(_), _) => {
                app.stats.update(|s| s.commits_renamed += 1);
                let renamed = app.store.free_name(&parent, &name);
                app.store.create(&space, &parent, &renamed, path, size)
            }
            (None, _) => app.store.create(&space, &parent, &name, path, size),
        };
        app.stats.update(|s| {
            s.commits_stored += 1;
            if used_before {
                s.commits_of_used_keys += 1;
            }
        });
        Ok(json!({ "dentry": dentry }))
    }
    .await;
    answer(&app, r)
}

/// Commit's name rules (§5): trimmed; no tab, `*`, `"`, `<`, `>`, `|`; not ending in `.`.
pub(crate) fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::param("name is mandatory"));
    }
    if name
        .chars()
        .any(|c| matches!(c, '\t' | '*' | '"' | '<' | '>' | '|'))
        || name.ends_with('.')
    {
        return Err(ApiError::param(format!(
            "name {name} is invalid: it must not contain tab * \" < > | nor end with '.'"
        )));
    }
    Ok(name.to_owned())
}

impl App {
    pub(crate) fn check_space(&self, space: &str) -> Result<(), ApiError> {
        if space != self.cfg.space_id {
            return Err(ApiError::param(format!("space {space} does not exist")));
        }
        Ok(())
    }

    pub(crate) fn check_parent(&self, parent: &str) -> Result<(), ApiError> {
        if parent != "0" && !self.cfg.folders.iter().any(|f| f == parent) && !self.folders.exists(parent) {
            return Err(ApiError::param(format!(
                "parentId {parent} does not exist in space {}",
                self.cfg.space_id
            )));
        }
        Ok(())
    }

    /// `option` of init / upload info: driver, region and the pre-check (§2, §6).
    fn check_option(&self, option: &Value) -> Result<(), ApiError> {
        if option.is_null() {
            return Ok(());
        }
        if !option.is_object() {
            return Err(ApiError::param("option must be an object"));
        }
        match option.get("storageDriver").and_then(Value::as_str) {
            None | Some("DINGTALK") => {}
            Some(d) => {
                return Err(ApiError::param(format!(
                    "storageDriver {d} is not supported"
                )))
            }
        }
        if let Some(region) = option.get("preferRegion").and_then(Value::as_str) {
            if ![
                "ZHANGJIAKOU",
                "SHENZHEN",
                "SHANGHAI",
                "SINGAPORE",
                "UNKNOWN",
            ]
            .contains(&region)
            {
                return Err(ApiError::param(format!("preferRegion {region} is unknown")));
            }
        }
        let Some(pre) = option.get("preCheckParam") else {
            return Ok(());
        };
        let parent = pre.get("parentId").and_then(Value::as_str).unwrap_or("0");
        self.check_parent(parent)?;
        if let Some(name) = pre.get("name") {
            let name = check_name(name.as_str())?;
            if self.store.find(&self.cfg.space_id, parent, &name).is_some() {
                return Err(ApiError::new(
                    errors::FILE_EXISTS,
                    format!("a file named {name} already exists in folder {parent}"),
                ));
            }
        }
        if let Some(size) = pre.get("size") {
            let size = size.as_u64().ok_or_else(|| {
                ApiError::param("preCheckParam.size must be a non-negative integer")
            })?;
            if let Some(cap) = self.cfg.capacity {
                if self.store.bytes_stored() + size > cap {
                    return Err(ApiError::new(
                        errors::SPACE_QUOTA_EXCEEDED,
                        format!(
                            "space {} has no room for {size} more bytes",
                            self.cfg.space_id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `partNumbers`: 1..=30 ids, each in 1..=max_parts, no repeats (§3).
    fn part_numbers(&self, v: Option<&Value>) -> Result<Vec<u32>, ApiError> {
        let bad = |m: String| ApiError::new(errors::PARAM_ERROR_PART_NUMBERS, m);
        let list = v
            .and_then(Value::as_array)
            .ok_or_else(|| bad("partNumbers is mandatory".into()))?;
        if list.is_empty() || list.len() > self.cfg.max_batch {
            return Err(bad(format!(
                "partNumbers must hold 1..={} numbers, got {}",
                self.cfg.max_batch,
                list.len()
            )));
        }
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            let n = n
                .as_u64()
                .filter(|n| (1..=self.cfg.max_parts as u64).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "part number {n} is outside 1..={}",
                        self.cfg.max_parts
                    ))
                })?;
            if out.contains(&(n as u32)) {
                return Err(bad(format!("part number {n} is repeated")));
            }
            out.push(n as u32);
        }
        Ok(out)
    }
}
