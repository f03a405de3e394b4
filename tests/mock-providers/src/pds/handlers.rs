//! The API endpoints (doc §1a, §3, §5, §6, §7, plus `/v2/file/get` and `/v2/drive/get`).
//! Every call but the token endpoint needs a valid Bearer token; bodies are JSON objects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::auth::{iso8601, Refresh};
use super::error::{with_request_id, ApiError};
use super::midstate::IV;
use super::store::{self, FileEntry, FileStatus, Parallel, Store, Upload};
use super::App;
use crate::body;

/// `part_info_list` of 10,000 parts with mid-states is about 1 MB.
const MAX_JSON_BODY: usize = 16 << 20;

type Outcome = Result<Value, ApiError>;

fn respond(app: &App, outcome: Outcome, ok: u16) -> Response {
    match outcome {
        Ok(v) => {
            let status = axum::http::StatusCode::from_u16(ok).unwrap_or(axum::http::StatusCode::OK);
            with_request_id((status, Json(v)).into_response())
        }
        Err(e) => {
            app.stats.update(|s| s.api_errors += 1);
            e.into_response()
        }
    }
}

/// A JSON object body with typed, strict field access.
struct Fields(Map<String, Value>);

impl Fields {
    fn str(&self, k: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(
                "InvalidParameterWrongFormat",
                format!("{k} must be a string"),
            )),
        }
    }

    fn required(&self, k: &str) -> Result<&str, ApiError> {
        self.str(k)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("InvalidParameterMissing", format!("{k} is required")))
    }

    fn u64(&self, k: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                ApiError::invalid(
                    "InvalidParameterWrongFormat",
                    format!("{k} must be a non-negative integer"),
                )
            }),
        }
    }

    fn bool(&self, k: &str) -> Result<bool, ApiError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::invalid(
                "InvalidParameterWrongFormat",
                format!("{k} must be a boolean"),
            )),
        }
    }
}

async fn read_json(headers: &HeaderMap, body: Body) -> Result<Fields, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !ct.starts_with("application/json") {
        body::drain(body).await;
        return Err(ApiError::invalid(
            "InvalidParameter.ContentType",
            "Content-Type must be application/json",
        ));
    }
    let bytes = body::read_limited(body, MAX_JSON_BODY).await.map_err(|_| {
        ApiError::invalid(
            "InvalidRequestJSONFormat",
            "request body is too large or was cut off",
        )
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(Fields(m)),
        _ => Err(ApiError::invalid(
            "InvalidRequestJSONFormat",
            "request body must be a JSON object",
        )),
    }
}

impl App {
    fn auth(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        self.tokens
            .check(headers)
            .inspect_err(|_| self.stats.update(|s| s.access_token_rejections += 1))
    }

    fn drive(&self, f: &Fields) -> Result<(), ApiError> {
        let d = f.required("drive_id")?;
        if d != self.cfg.drive_id {
            return Err(ApiError::new(
                404,
                "NotFound.Drive",
                format!("drive {d} not found"),
            ));
        }
        Ok(())
    }

    pub(crate) fn upload_expired(&self, inner: &store::Inner, upload_id: &str) -> bool {
        match (inner.uploads.get(upload_id), self.store.upload_ttl) {
            (Some(u), Some(ttl)) => u.created.elapsed() > ttl,
            _ => false,
        }
    }

    fn file_json(&self, f: &FileEntry, upload_id: Option<&str>) -> Value {
        let blob = f.blob.as_ref();
        json!({
            "domain_id": self.cfg.domain_id,
            "drive_id": self.cfg.drive_id,
            "file_id": f.file_id,
            "name": f.name,
            "type": if f.folder { "folder" } else { "file" },
            "parent_file_id": f.parent_file_id,
            "size": blob.map_or(0, |b| b.size),
            "status": f.status,
            "upload_id": upload_id.unwrap_or_default(),
            "content_hash": blob.map(|b| b.content_hash.clone()).unwrap_or_default(),
            "content_hash_name": "sha1",
            "crc64_hash": "0",
            "created_at": f.created_at,
            "updated_at": iso8601(std::time::SystemTime::now()),
        })
    }
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

// ---------------------------------------------------------------- token

pub(crate) async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let outcome = grant(&app, &headers, body).await;
    if outcome.is_err() {
        app.stats.update(|s| s.token_rejections += 1);
    }
    respond(&app, outcome, 200)
}

async fn grant(app: &App, headers: &HeaderMap, body: Body) -> Outcome {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        body::drain(body).await;
        return Err(ApiError::invalid(
            "InvalidParameter.ContentType",
            "the token endpoint takes application/x-www-form-urlencoded",
        ));
    }
    let bytes = body::read_limited(body, 64 << 10)
        .await
        .map_err(|_| ApiError::invalid("InvalidParameter", "body too large"))?;
    let form: HashMap<String, String> = url_decode_pairs(&String::from_utf8_lossy(&bytes));
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match get("grant_type") {
        "refresh_token" => {}
        "" => {
            return Err(ApiError::invalid(
                "InvalidParameterMissing.GrantType",
                "grant_type is required",
            ))
        }
        other => {
            return Err(ApiError::invalid(
                "InvalidParameterNotSupported.GrantType",
                format!("grant_type {other} is not supported by this mock"),
            ))
        }
    }
    if get("client_id") != app.cfg.client_id || get("client_secret") != app.cfg.client_secret {
        return Err(ApiError::new(
            401,
            "InvalidClient",
            "client_id or client_secret is invalid",
        ));
    }
    match app.tokens.refresh(
        get("refresh_token"),
        app.cfg.access_token_ttl,
        &app.cfg.domain_id,
        &app.cfg.drive_id,
    ) {
        Refresh::Granted(mut v) => {
            app.stats.update(|s| s.token_refreshes += 1);
            for k in ["access_token", "refresh_token"] {
                app.issued.record(v[k].as_str().unwrap_or_default());
            }
            if let Some(stated) = &app.cfg.advertised_token_ttl {
                v["expires_in"] = stated.clone();
            }
            Ok(v)
        }
        Refresh::Refused(e) => Err(e),
    }
}

/// `a=b&c=d` with `+` and `%XX` decoding.
fn url_decode_pairs(s: &str) -> HashMap<String, String> {
    let decode = |v: &str| {
        let v = v.replace('+', " ");
        let bytes = v.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

// ---------------------------------------------------------------- drive / file get

pub(crate) async fn drive_get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        app.drive(&f)?;
        let used = Store::used(&app.store.inner.lock());
        Ok(json!({
            "domain_id": app.cfg.domain_id,
            "drive_id": app.cfg.drive_id,
            "drive_name": app.cfg.drive_name,
            "drive_type": "normal",
            "owner": "c9b7a5aa04d14ae3867fdc886fa01da4",
            "status": "enabled",
            "total_size": app.cfg.drive_quota,
            "used_size": used,
        }))
    }
    .await;
    respond(&app, outcome, 200)
}

pub(crate) async fn file_get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        app.drive(&f)?;
        let id = f.required("file_id")?;
        let inner = app.store.inner.lock();
        let file = inner
            .files
            .get(id)
            .ok_or_else(|| ApiError::new(404, "NotFound.File", format!("file {id} not found")))?;
        Ok(app.file_json(file, None))
    }
    .await;
    respond(&app, outcome, 200)
}

// ---------------------------------------------------------------- create

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        create_file(&app, &f, &host(&headers))
    }
    .await;
    respond(&app, outcome, 201)
}

struct PartDecl {
    parallel: Option<Parallel>,
    count: u32,
}

/// Validates `part_info_list` (and the mid-states, in parallel mode).
fn parts_of(app: &App, f: &Fields, size: u64, parallel: bool) -> Result<PartDecl, ApiError> {
    let list = match f.0.get("part_info_list") {
        None | Some(Value::Null) => vec![json!({ "part_number": 1 })],
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "InvalidParameter.PartInfoList",
                "part_info_list must be a non-empty array",
            ))
        }
    };
    if list.len() > app.cfg.max_parts as usize {
        return Err(ApiError::invalid(
            "InvalidParameterOutOfRange.PartInfoList",
            format!("at most {} parts", app.cfg.max_parts),
        ));
    }
    for (i, p) in list.iter().enumerate() {
        if p.get("part_number").and_then(Value::as_u64) != Some(i as u64 + 1) {
            return Err(ApiError::invalid(
                "InvalidParameter.PartNumber",
                format!(
                    "part_info_list[{i}].part_number must be {} (1-based, consecutive)",
                    i + 1
                ),
            ));
        }
    }
    let count = list.len() as u32;
    if !parallel {
        return Ok(PartDecl {
            parallel: None,
            count,
        });
    }
    let bad = |m: String| ApiError::invalid("InvalidParameter.ParallelSha1Ctx", m);
    let ctx_of = |i: usize| -> Result<(Vec<u32>, u64), ApiError> {
        let c = list[i]
            .get("parallel_sha1_ctx")
            .ok_or_else(|| bad(format!("part {} has no parallel_sha1_ctx", i + 1)))?;
        let h = c
            .get("h")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(format!("part {}: h must be an array", i + 1)))?;
        let h: Vec<u32> = h
            .iter()
            .map(|x| {
                x.as_u64()
                    .filter(|v| *v <= u32::MAX as u64)
                    .map(|v| v as u32)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                bad(format!(
                    "part {}: h must hold 32-bit unsigned numbers",
                    i + 1
                ))
            })?;
        let offset = c
            .get("part_offset")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(format!("part {}: part_offset is required", i + 1)))?;
        Ok((h, offset))
    };
    let part_size = if count > 1 {
        ctx_of(1)?.1
    } else {
        size.max(64).div_ceil(64) * 64
    };
    if part_size == 0 || !part_size.is_multiple_of(64) {
        return Err(bad(format!(
            "part_offset {part_size} of part 2 must be a positive multiple of 64"
        )));
    }
    if size.div_ceil(part_size).max(1) != count as u64 {
        return Err(bad(format!(
            "{count} parts of {part_size} bytes do not cover {size} bytes"
        )));
    }
    let mut ctx = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let (h, offset) = ctx_of(i)?;
        if offset != i as u64 * part_size {
            return Err(bad(format!(
                "part {}: part_offset must be {}",
                i + 1,
                i as u64 * part_size
            )));
        }
        let state: [u32; 5] = if i == 0 && h.is_empty() {
            IV
        } else {
            h.try_into()
                .map_err(|_| bad(format!("part {}: h must have 5 words", i + 1)))?
        };
        if i == 0 && state != IV {
            return Err(bad(
                "part 1 starts the file: its h must be empty (or SHA-1's initial value)".into(),
            ));
        }
        ctx.push(state);
    }
    Ok(PartDecl {
        parallel: Some(Parallel { part_size, ctx }),
        count,
    })
}

fn create_file(app: &App, f: &Fields, host: &str) -> Outcome {
    app.drive(f)?;
    let parent = f.required("parent_file_id")?.to_owned();
    let name = f.required("name")?.to_owned();
    if name.len() > 1024 || name.contains('/') {
        return Err(ApiError::invalid(
            "InvalidParameter.Name",
            "name must be at most 1024 bytes and contain no '/'",
        ));
    }
    match f.required("type")? {
        "file" => {}
        "folder" => return create_folder(app, f, parent, name),
        other => {
            return Err(ApiError::invalid(
                "InvalidParameter.Type",
                format!("type {other} is not file or folder"),
            ))
        }
    }
    let size = f.u64("size")?.ok_or_else(|| {
        ApiError::invalid(
            "InvalidParameterMissing.Size",
            "size is required to upload a file",
        )
    })?;
    let mode = f.str("check_name_mode")?.unwrap_or("ignore");
    if !["ignore", "auto_rename", "refuse"].contains(&mode) {
        return Err(ApiError::invalid(
            "InvalidParameter.CheckNameMode",
            format!("check_name_mode {mode} is not ignore, auto_rename or refuse"),
        ));
    }
    if let Some(n) = f.str("content_hash_name")? {
        if !n.eq_ignore_ascii_case("sha1") {
            return Err(ApiError::invalid(
                "InvalidParameterNotSupported.ContentHashName",
                "content_hash_name must be sha1",
            ));
        }
    }
    let content_hash = f.str("content_hash")?.map(str::to_owned);
    let pre_hash = f.str("pre_hash")?.map(str::to_owned);
    let parallel = f.bool("parallel_upload")?;
    if parallel
        && !app
            .parallel_supported
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(ApiError::invalid(
            "InvalidParameterNotSupported.ParallelUpload",
            "parallel upload is not supported by this domain",
        ));
    }
    let decl = parts_of(app, f, size, parallel)?;
    let revision_of = f.str("file_id")?.map(str::to_owned);

    let mut inner = app.store.inner.lock();
    check_parent(app, &inner, &parent)?;
    if let Some(id) = &revision_of {
        if !inner.files.contains_key(id) {
            return Err(ApiError::new(
                404,
                "NotFound.File",
                format!("file {id} not found"),
            ));
        }
    }
    if Store::used(&inner).saturating_add(size) > app.cfg.drive_quota {
        return Err(ApiError::invalid(
            "QuotaExhausted.Drive",
            "drive space is exhausted",
        ));
    }
    let mut name = name;
    if revision_of.is_none() {
        let taken = |inner: &store::Inner, n: &str| name_taken(inner, &parent, n).is_some();
        if taken(&inner, &name) {
            match mode {
                "refuse" => {
                    let existing = name_taken(&inner, &parent, &name).expect("taken");
                    app.stats.update(|s| s.creates += 1);
                    let mut v = app.file_json(existing, None);
                    v["exist"] = true.into();
                    v["file_name"] = existing.name.clone().into();
                    return Ok(v);
                }
                "auto_rename" => name = renamed(&name, |n| taken(&inner, n)),
                _ => {}
            }
        }
    }
    if content_hash.is_none() {
        if let Some(pre) = &pre_hash {
            if Store::find_blob(&inner, size, Some(pre), None).is_some() {
                app.stats.update(|s| s.pre_hash_matches += 1);
                return Err(ApiError::new(409, "PreHashMatched", "Pre hash matched.")
                    .with("parent_file_id", parent)
                    .with("file_name", name)
                    .with("pre_hash", pre.clone()));
            }
        }
    }
    let now = iso8601(std::time::SystemTime::now());
    let file_id = revision_of.clone().unwrap_or_else(store::file_id);
    let upload_id = store::upload_id();
    if let Some(blob) = content_hash
        .as_deref()
        .and_then(|h| Store::find_blob(&inner, size, None, Some(h)))
    {
        // Rapid upload: the content is already here; the file is complete at once.
        match inner.files.get_mut(&file_id) {
            Some(existing) => existing.blob = Some(blob),
            None => {
                let seq = store::next_seq();
                inner.files.insert(
                    file_id.clone(),
                    FileEntry {
                        file_id: file_id.clone(),
                        folder: false,
                        parent_file_id: parent.clone(),
                        name: name.clone(),
                        status: FileStatus::Available,
                        blob: Some(blob),
                        rapid: true,
                        created_at: now.clone(),
                        seq,
                    },
                );
            }
        }
        app.stats.update(|s| {
            s.creates += 1;
            s.rapid_uploads += 1;
        });
        return Ok(json!({
            "domain_id": app.cfg.domain_id, "drive_id": app.cfg.drive_id, "parent_file_id": parent,
            "file_id": file_id, "file_name": name, "type": "file", "status": "available",
            "upload_id": upload_id, "rapid_upload": true, "encrypt_mode": "none", "location": "mock",
        }));
    }
    let dir = app
        .store
        .new_upload_dir(&upload_id)
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
    if revision_of.is_none() {
        let seq = store::next_seq();
        inner.files.insert(
            file_id.clone(),
            FileEntry {
                file_id: file_id.clone(),
                folder: false,
                parent_file_id: parent.clone(),
                name: name.clone(),
                status: FileStatus::Uploading,
                blob: None,
                rapid: false,
                created_at: now.clone(),
                seq,
            },
        );
    }
    let count = decl.count;
    inner.uploads.insert(
        upload_id.clone(),
        Upload {
            upload_id: upload_id.clone(),
            file_id: file_id.clone(),
            size,
            count,
            parallel: decl.parallel,
            content_hash: content_hash.map(|h| h.to_ascii_uppercase()),
            dir,
            parts: Default::default(),
            serial: store::new_serial(),
            created: std::time::Instant::now(),
            created_at: now,
            in_flight: 0,
        },
    );
    drop(inner);
    app.stats.update(|s| {
        s.creates += 1;
        s.parallel_creates += u64::from(parallel);
        s.urls_issued += count as u64;
    });
    let parts: Vec<Value> = (1..=count)
        .map(|n| part_url_json(app, host, &upload_id, n))
        .collect();
    Ok(json!({
        "domain_id": app.cfg.domain_id, "drive_id": app.cfg.drive_id, "parent_file_id": parent,
        "file_id": file_id, "file_name": name, "type": "file", "status": "uploading",
        "upload_id": upload_id, "rapid_upload": false, "exist": false, "revision_id": "",
        "part_info_list": parts,
    }))
}

/// `parent` must be the root, a configured folder, or a folder made by create.
fn check_parent(app: &App, inner: &store::Inner, parent: &str) -> Result<(), ApiError> {
    let known = parent == "root"
        || app.cfg.folders.iter().any(|f| f == parent)
        || inner.files.get(parent).is_some_and(|e| e.folder);
    if known {
        Ok(())
    } else {
        Err(ApiError::new(
            404,
            "NotFound.File",
            format!("parent_file_id {parent} not found"),
        ))
    }
}

/// The available file or folder called `name` in `parent`.
fn name_taken<'a>(inner: &'a store::Inner, parent: &str, name: &str) -> Option<&'a FileEntry> {
    inner
        .files
        .values()
        .find(|e| e.status == FileStatus::Available && e.parent_file_id == parent && e.name == name)
}

/// `type: folder`: a folder, with the same `check_name_mode` rules as files.
fn create_folder(app: &App, f: &Fields, parent: String, name: String) -> Outcome {
    let mode = f.str("check_name_mode")?.unwrap_or("ignore");
    if !["ignore", "auto_rename", "refuse"].contains(&mode) {
        return Err(ApiError::invalid(
            "InvalidParameter.CheckNameMode",
            format!("check_name_mode {mode} is not ignore, auto_rename or refuse"),
        ));
    }
    let mut inner = app.store.inner.lock();
    check_parent(app, &inner, &parent)?;
    app.stats.update(|s| s.folder_creates += 1);
    let mut name = name;
    if let Some(existing) = name_taken(&inner, &parent, &name) {
        match mode {
            "refuse" => {
                let mut v = app.file_json(existing, None);
                v["exist"] = true.into();
                v["file_name"] = existing.name.clone().into();
                return Ok(v);
            }
            "auto_rename" => name = renamed(&name, |n| name_taken(&inner, &parent, n).is_some()),
            _ => {}
        }
    }
    let file_id = store::file_id();
    let entry = FileEntry {
        file_id: file_id.clone(),
        folder: true,
        parent_file_id: parent,
        name,
        status: FileStatus::Available,
        blob: None,
        rapid: false,
        created_at: iso8601(std::time::SystemTime::now()),
        seq: store::next_seq(),
    };
    let mut v = app.file_json(&entry, None);
    v["file_name"] = entry.name.clone().into();
    inner.files.insert(file_id, entry);
    app.stats.update(|s| s.folders_made += 1);
    Ok(v)
}

// ---------------------------------------------------------------- list

/// `POST /v2/file/list` (folders.md §3.2): one level of available items, `limit` 1..100,
/// ordered by `order_by` / `order_direction`, paged by an opaque `next_marker` ("" = done).
pub(crate) async fn file_list(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        app.drive(&f)?;
        let parent = f.required("parent_file_id")?.to_owned();
        let limit = f.u64("limit")?.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("InvalidParameter.Limit", format!("limit {limit} is not within 1..100")));
        }
        let kind = f.str("type")?.map(str::to_owned);
        let order_by = f.str("order_by")?.unwrap_or("created_at").to_owned();
        if !["created_at", "updated_at", "size", "name"].contains(&order_by.as_str()) {
            return Err(ApiError::invalid("InvalidParameter.OrderBy", format!("order_by {order_by} is unknown")));
        }
        let desc = match f.str("order_direction")?.unwrap_or("ASC") {
            "ASC" => false,
            "DESC" => true,
            o => return Err(ApiError::invalid("InvalidParameter.OrderDirection", format!("order_direction {o} is not ASC or DESC"))),
        };
        let marker = f.str("marker")?.filter(|m| !m.is_empty()).map(str::to_owned);
        let inner = app.store.inner.lock();
        check_parent(&app, &inner, &parent)?;
        let mut items: Vec<&FileEntry> = inner
            .files
            .values()
            .filter(|e| e.status == FileStatus::Available && e.parent_file_id == parent)
            .filter(|e| kind.as_deref().is_none_or(|k| (k == "folder") == e.folder))
            .collect();
        items.sort_by(|a, b| match order_by.as_str() {
            "name" => a.name.cmp(&b.name),
            "size" => a.blob.as_ref().map_or(0, |b| b.size).cmp(&b.blob.as_ref().map_or(0, |b| b.size)),
            _ => a.seq.cmp(&b.seq),
        });
        if desc {
            items.reverse();
        }
        // The marker is opaque to clients: here, the next item's id with a prefix.
        let from = match &marker {
            None => 0,
            Some(m) => items
                .iter()
                .position(|e| Some(e.file_id.as_str()) == m.strip_prefix("mk-"))
                .ok_or_else(|| ApiError::invalid("InvalidParameter.Marker", format!("marker {m} is not valid")))?,
        };
        let page: Vec<Value> = items.iter().skip(from).take(limit as usize).map(|e| app.file_json(e, None)).collect();
        let next = items.get(from + limit as usize).map(|e| format!("mk-{}", e.file_id)).unwrap_or_default();
        app.stats.update(|s| s.folder_list_pages += 1);
        Ok(json!({ "items": page, "next_marker": next }))
    }
    .await;
    respond(&app, outcome, 200)
}

fn part_url_json(app: &App, host: &str, upload_id: &str, n: u32) -> Value {
    let url = app.upload_url(host, upload_id, n);
    json!({ "part_number": n, "upload_url": url, "internal_upload_url": url.replace("127.0.0.1", "vpc.invalid"), "content_type": "" })
}

/// `name_20060102_150405.ext`, as the 2022 SDK docs describe auto_rename (then `_2`, `_3`…).
fn renamed(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let stamp = iso8601(std::time::SystemTime::now());
    let stamp = format!(
        "{}{}{}_{}{}{}",
        &stamp[0..4],
        &stamp[5..7],
        &stamp[8..10],
        &stamp[11..13],
        &stamp[14..16],
        &stamp[17..19]
    );
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let mut candidate = format!("{stem}_{stamp}{ext}");
    let mut n = 2;
    while taken(&candidate) {
        candidate = format!("{stem}_{stamp}_{n}{ext}");
        n += 1;
    }
    candidate
}

// ---------------------------------------------------------------- get_upload_url

/// The upload named by `file_id` + `upload_id`, alive.
fn live_upload<'a>(app: &App, inner: &'a store::Inner, f: &Fields) -> Result<&'a Upload, ApiError> {
    let file_id = f.required("file_id")?;
    let upload_id = f.required("upload_id")?;
    if app.upload_expired(inner, upload_id) {
        return Err(ApiError::new(
            404,
            "NotFound.UploadId",
            format!("upload {upload_id} has expired"),
        ));
    }
    inner
        .uploads
        .get(upload_id)
        .filter(|u| u.file_id == file_id)
        .ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound.UploadId",
                format!("upload {upload_id} of file {file_id} not found"),
            )
        })
}

pub(crate) async fn get_upload_url(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        app.drive(&f)?;
        let inner = app.store.inner.lock();
        let up = live_upload(&app, &inner, &f)?;
        let list = f.0.get("part_info_list").and_then(Value::as_array).filter(|a| !a.is_empty()).ok_or_else(|| ApiError::invalid("InvalidParameterMissing.PartInfoList", "part_info_list is required"))?;
        let mut numbers = vec![];
        for p in list {
            let n = p.get("part_number").and_then(Value::as_u64).filter(|n| (1..=up.count as u64).contains(n)).ok_or_else(|| ApiError::invalid("InvalidParameter.PartNumber", format!("part_number must be 1..={}", up.count)))? as u32;
            if let Some(par) = &up.parallel {
                // The mid-state must come again, and be the one declared at create (§5).
                let c = p.get("parallel_sha1_ctx").ok_or_else(|| ApiError::invalid("InvalidParameter.ParallelSha1Ctx", format!("part {n}: a parallel upload needs parallel_sha1_ctx")))?;
                let h: Vec<u64> = c.get("h").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
                let declared = par.ctx[n as usize - 1];
                let same = (n == 1 && h.is_empty()) || h == declared.iter().map(|&x| x as u64).collect::<Vec<_>>();
                if !same || c.get("part_offset").and_then(Value::as_u64) != Some((n as u64 - 1) * par.part_size) {
                    return Err(ApiError::invalid("InvalidParameter.ParallelSha1Ctx", format!("part {n}: parallel_sha1_ctx differs from the one given at create")));
                }
            }
            numbers.push(n);
        }
        let (upload_id, file_id, created_at) = (up.upload_id.clone(), up.file_id.clone(), up.created_at.clone());
        drop(inner);
        let host = host(&headers);
        let parts: Vec<Value> = numbers.iter().map(|&n| part_url_json(&app, &host, &upload_id, n)).collect();
        app.stats.update(|s| {
            s.url_refreshes += 1;
            s.urls_issued += numbers.len() as u64;
        });
        Ok(json!({ "domain_id": app.cfg.domain_id, "drive_id": app.cfg.drive_id, "file_id": file_id, "upload_id": upload_id, "create_at": created_at, "part_info_list": parts }))
    }
    .await;
    respond(&app, outcome, 200)
}

// ---------------------------------------------------------------- list_uploaded_parts

const MARKER_TAG: &str = "ferry-mock-marker:";

/// An opaque paging token naming the last part shown.
fn opaque_marker(part: u32) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{MARKER_TAG}{part}"))
}

fn opaque_marker_number(token: &str) -> Option<u64> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix(MARKER_TAG)?.parse().ok()
}

pub(crate) async fn list_uploaded_parts(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        app.auth(&headers)?;
        let f = read_json(&headers, body).await?;
        app.drive(&f)?;
        let limit = match f.0.get("limit") {
            None | Some(Value::Null) => 100,
            Some(v) => v.as_u64().filter(|l| (1..=100).contains(l)).ok_or_else(|| ApiError::invalid("InvalidParameter.Limit", "limit must be an integer in 1..=100"))?,
        };
        // A part number (JSON number or numeric string), or a token this mock issued.
        let bad_marker = || ApiError::invalid("InvalidParameter.PartNumberMarker", "part_number_marker is not a marker this service issued");
        let marker = match f.0.get("part_number_marker") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n.as_u64().ok_or_else(bad_marker)?,
            // A third-party client notes that an empty marker is refused (§6).
            Some(Value::String(s)) if s.is_empty() => return Err(ApiError::invalid("InvalidRequestJSONFormat", "part_number_marker must not be empty")),
            Some(Value::String(s)) => s.parse::<u64>().ok().or_else(|| opaque_marker_number(s)).ok_or_else(bad_marker)?,
            Some(_) => return Err(ApiError::invalid("InvalidRequestJSONFormat", "part_number_marker must be a number or a string")),
        };
        let page = limit.min(app.cfg.list_page_max as u64) as usize;
        let inner = app.store.inner.lock();
        let up = live_upload(&app, &inner, &f)?;
        let after: Vec<(&u32, &store::StoredPart)> = up.parts.range(marker as u32 + 1..).collect();
        let shown = &after[..after.len().min(page)];
        let next = match shown.last() {
            Some((n, _)) if after.len() > shown.len() && app.cfg.opaque_markers => opaque_marker(**n),
            Some((n, _)) if after.len() > shown.len() => n.to_string(),
            _ => String::new(),
        };
        let parts: Vec<Value> = shown
            .iter()
            .map(|(n, p)| {
                let mut v = json!({ "part_number": n, "part_size": p.size, "etag": p.etag });
                if let Some((offset, h)) = up.parallel_start(**n) {
                    v["parallel_sha1_ctx"] = json!({ "h": h, "part_offset": offset });
                }
                v
            })
            .collect();
        let v = json!({ "file_id": up.file_id, "upload_id": up.upload_id, "parallel_upload": up.parallel.is_some(), "next_part_number_marker": next, "uploaded_parts": parts });
        drop(inner);
        app.stats.update(|s| s.list_pages += 1);
        Ok(v)
    }
    .await;
    respond(&app, outcome, 200)
}

// ---------------------------------------------------------------- complete

pub(crate) async fn complete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = complete_upload(&app, &headers, body).await;
    respond(&app, outcome, 200)
}

async fn complete_upload(app: &Arc<App>, headers: &HeaderMap, body: Body) -> Outcome {
    app.auth(headers)?;
    let f = read_json(headers, body).await?;
    app.drive(&f)?;
    let (upload, digest) = {
        let mut inner = app.store.inner.lock();
        let up = live_upload(app, &inner, &f)?;
        if let Some(missing) = (1..=up.count).find(|n| !up.parts.contains_key(n)) {
            return Err(ApiError::invalid(
                "InvalidPart",
                format!("part {missing} of {} was not uploaded", up.count),
            ));
        }
        let total: u64 = up.parts.values().map(|p| p.size).sum();
        if total != up.size {
            return Err(ApiError::invalid(
                "InvalidParameterNotMatch.Size",
                format!(
                    "the parts hold {total} bytes, the file was declared with {}",
                    up.size
                ),
            ));
        }
        if let Some((n, p)) = up
            .parts
            .iter()
            .take(up.count as usize - 1)
            .find(|(_, p)| p.size < app.cfg.min_part)
        {
            return Err(ApiError::invalid(
                "EntityTooSmall",
                format!(
                    "part {n} has {} bytes: every part but the last needs at least {}",
                    p.size, app.cfg.min_part
                ),
            ));
        }
        let digest = match &up.parallel {
            None => up.serial.clone().finish(),
            Some(_) => up.parts[&up.count].digest.ok_or_else(|| {
                ApiError::new(500, "InternalError", "the last part has no digest")
            })?,
        };
        let hash = super::midstate::upper_hex(&digest);
        if let Some(declared) = &up.content_hash {
            if !declared.eq_ignore_ascii_case(&hash) {
                return Err(ApiError::invalid(
                    "InvalidParameterNotMatch.ContentHash",
                    format!(
                        "content_hash {declared} does not match the uploaded bytes' SHA-1 {hash}"
                    ),
                ));
            }
        }
        let id = up.upload_id.clone();
        (inner.uploads.remove(&id).expect("present"), digest)
    };
    let parts: Vec<_> = (1..=upload.count).map(|n| upload.part_path(n)).collect();
    let worker = app.clone();
    let size = upload.size;
    let blob = tokio::task::spawn_blocking(move || worker.store.assemble(parts, size, digest))
        .await
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
    let _ = std::fs::remove_dir_all(&upload.dir);
    let mut inner = app.store.inner.lock();
    inner.blobs.push(blob.clone());
    let file = inner
        .files
        .get_mut(&upload.file_id)
        .ok_or_else(|| ApiError::new(404, "NotFound.File", "the file was removed"))?;
    file.blob = Some(blob);
    file.status = FileStatus::Available;
    let v = app.file_json(file, Some(&upload.upload_id));
    drop(inner);
    app.stats.update(|s| s.completes_ok += 1);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let m = url_decode_pairs("grant_type=refresh_token&client_id=a%2Bb&x=1+2&empty=");
        assert_eq!(m["grant_type"], "refresh_token");
        assert_eq!(m["client_id"], "a+b");
        assert_eq!(m["x"], "1 2");
        assert_eq!(m["empty"], "");
    }

    #[test]
    fn auto_rename_appends_a_timestamp() {
        let n = renamed("video.mp4", |_| false);
        assert!(
            n.starts_with("video_")
                && n.ends_with(".mp4")
                && n.len() == "video_20060102_150405.mp4".len(),
            "{n}"
        );
        let taken = n.clone();
        let m = renamed("video.mp4", |c| c == taken);
        assert!(m.ends_with("_2.mp4"), "{m}");
    }
}
