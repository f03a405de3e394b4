//! The Drive endpoints (§2–§6 and §8), run after the bearer check. Every refusal is a
//! business error in the envelope: HTTP 200 with `code != 0` (or the documented status).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::envelope::{self, BizError};
use super::envelope::{
    BLOCK_OUT_OF_BOUNDS, CAN_RETRY, CHECKSUM_INVALID, INVALID_FILE_NAME, NOT_FOUND,
    PARENT_NOT_EXIST, SIZE_MISMATCH, TENANT_QUOTA_EXCEEDED,
};
use super::form::{self, Form};
use super::stats::PartCall;
use super::store::Placement;
use super::{App, Family};
use crate::body;

type Outcome = Result<Value, BizError>;

const MAX_JSON_BODY: usize = 1024 * 1024;
const MAX_NAME_CHARS: usize = 250;

/// Media upload points whose `extra` must route to the owning document (§8).
const ROUTED: [&str; 6] = [
    "docx_image",
    "docx_file",
    "sheet_image",
    "sheet_file",
    "bitable_image",
    "bitable_file",
];
const LEGACY: [&str; 2] = ["doc_image", "doc_file"];
const IMPORT: &str = "ccm_import_open";

/// `POST …/files/upload_all`, `POST …/medias/upload_all`.
pub(crate) async fn upload_all(State(app): State<Arc<App>>, req: Request) -> Response {
    let family = Family::of(req.uri().path());
    let outcome = store_whole(&app, family, req).await;
    app.respond(outcome)
}

/// `POST …/upload_prepare`.
pub(crate) async fn prepare(State(app): State<Arc<App>>, req: Request) -> Response {
    let family = Family::of(req.uri().path());
    let outcome = start_upload(&app, family, req).await;
    app.respond(outcome)
}

/// `POST …/upload_part`: one block, never two of one upload at a time.
pub(crate) async fn upload_part(State(app): State<Arc<App>>, req: Request) -> Response {
    let arrived = Instant::now();
    let mut guard = None;
    let read = form::read_form(
        req,
        &app.store.incoming_dir(),
        app.cfg.block_size,
        |name, value| {
            if name == "upload_id" && guard.is_none() {
                guard = Some(app.limits.part_begins(value, arrived));
            }
        },
    )
    .await;
    let concurrent = guard.as_ref().is_some_and(|g| g.concurrent());
    let (upload_id, seq) = match &read {
        Ok(f) => (
            f.text("upload_id").map(str::to_owned),
            f.text("seq").and_then(|s| s.parse().ok()),
        ),
        Err(_) => (None, None),
    };
    let outcome = match read {
        Err(e) => Err(e),
        Ok(_) if concurrent => {
            app.stats.update(|s| s.refused_concurrent += 1);
            Err(BizError::new(
                CAN_RETRY,
                "upload_part does not support concurrent calls on one upload_id",
            ))
        }
        Ok(form) => accept_block(&app, form),
    };
    if let Some(upload_id) = upload_id {
        let code = outcome.as_ref().err().map_or(0, |e| e.code);
        app.stats.update(|s| {
            s.part_calls.push(PartCall {
                upload_id,
                seq,
                code,
            })
        });
    }
    let response = app.respond(outcome);
    drop(guard); // the call ends here (recorded for the concurrency figure)
    response
}

/// `POST …/upload_finish`.
pub(crate) async fn finish(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = finish_upload(&app, req).await;
    app.respond(outcome)
}

/// `GET /open-apis/drive/explorer/v2/folder/{token}/meta` (for `account test`).
pub(crate) async fn folder_meta(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Response {
    let outcome = if app.cfg.folders.contains(&token) {
        Ok(
            json!({ "id": format!("7{:018}", token.len()), "name": format!("Folder {token}"), "token": token,
                   "createUid": "ou_mock", "editUid": "ou_mock", "parentId": "", "ownUid": "ou_mock" }),
        )
    } else {
        Err(BizError::new(NOT_FOUND, format!("folder {token}")))
    };
    app.respond(outcome)
}

/// `GET /open-apis/drive/explorer/v2/root_folder/meta`: the app's own root folder.
pub(crate) async fn root_meta(State(app): State<Arc<App>>) -> Response {
    let token = app.cfg.folders.first().cloned().unwrap_or_default();
    app.respond(Ok(
        json!({ "token": token, "id": "7000000000000000001", "user_id": "ou_mock" }),
    ))
}

impl App {
    pub(crate) fn respond(&self, outcome: Outcome) -> Response {
        match outcome {
            Ok(data) => envelope::success(data),
            Err(err) => {
                self.stats.update(|s| s.business_errors += 1);
                self.policy.failure(&err)
            }
        }
    }

    /// Checks a destination (§2, §3, §8).
    fn placement(
        &self,
        family: Family,
        file_name: Option<&str>,
        parent_type: Option<&str>,
        parent_node: Option<&str>,
        extra: Option<&str>,
    ) -> Result<Placement, BizError> {
        let file_name = file_name.ok_or_else(|| BizError::params("file_name is required"))?;
        let chars = file_name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(BizError::new(
                INVALID_FILE_NAME,
                format!("file_name has {chars} characters (1..=250)"),
            ));
        }
        let parent_type = parent_type
            .filter(|t| !t.is_empty())
            .ok_or_else(|| BizError::params("parent_type is required"))?;
        let node = parent_node.unwrap_or_default();
        let extra_json = || -> Result<Map<String, Value>, BizError> {
            let raw = extra
                .filter(|e| !e.is_empty())
                .ok_or_else(|| BizError::params(format!("extra is required for {parent_type}")))?;
            match serde_json::from_str(raw) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(BizError::params(
                    "extra must be a JSON object serialised as a string",
                )),
            }
        };
        let nonempty = |m: &Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        match family {
            Family::Files => {
                if parent_type != "explorer" {
                    return Err(BizError::params(format!(
                        "parent_type must be explorer, not {parent_type}"
                    )));
                }
                if !self.cfg.folders.iter().any(|f| f == node) && !self.folders.exists(node) {
                    return Err(BizError::new(PARENT_NOT_EXIST, format!("folder {node:?}")));
                }
            }
            Family::Medias if ROUTED.contains(&parent_type) => {
                if node.is_empty() {
                    return Err(BizError::new(
                        PARENT_NOT_EXIST,
                        format!("{parent_type} needs the upload point's token"),
                    ));
                }
                if !nonempty(&extra_json()?, "drive_route_token") {
                    return Err(BizError::params("extra.drive_route_token is required"));
                }
            }
            Family::Medias if LEGACY.contains(&parent_type) => {
                if node.is_empty() {
                    return Err(BizError::new(
                        PARENT_NOT_EXIST,
                        "the legacy doc token is required",
                    ));
                }
            }
            Family::Medias if parent_type == IMPORT => {
                let m = extra_json()?;
                if !nonempty(&m, "obj_type") || !nonempty(&m, "file_extension") {
                    return Err(BizError::params("extra needs obj_type and file_extension"));
                }
            }
            Family::Medias => {
                return Err(BizError::params(format!(
                    "parent_type {parent_type} is not an upload point"
                )))
            }
        }
        Ok(Placement {
            family: family.as_str().to_owned(),
            file_name: file_name.to_owned(),
            parent_type: parent_type.to_owned(),
            parent_node: node.to_owned(),
            extra: extra.filter(|e| !e.is_empty()).map(str::to_owned),
        })
    }

    fn check_quota(&self, size: u64) -> Result<(), BizError> {
        match self.cfg.quota_bytes {
            Some(quota) if self.store.used_bytes() + size > quota => Err(BizError::new(
                TENANT_QUOTA_EXCEEDED,
                format!("{size} more bytes exceed the {quota}-byte quota"),
            )),
            _ => Ok(()),
        }
    }
}

async fn store_whole(app: &App, family: Family, req: Request) -> Outcome {
    let limit = app.cfg.oneshot_max;
    let mut form = form::read_form(req, &app.store.incoming_dir(), limit, |_, _| {}).await?;
    let placement = app.placement(
        family,
        form.text("file_name"),
        form.text("parent_type"),
        form.text("parent_node"),
        form.text("extra"),
    )?;
    let size = number(form.required("size")?, "size")?;
    if size > limit {
        return Err(BizError::params(format!(
            "size {size} exceeds {limit}: use upload_prepare"
        )));
    }
    let file = form
        .file
        .take()
        .ok_or_else(|| BizError::params("file is required"))?;
    if file.size != size {
        return Err(BizError::new(
            SIZE_MISMATCH,
            format!("{} bytes arrived, size says {size}", file.size),
        ));
    }
    check_checksum(app, &form, file.adler32)?;
    app.check_quota(size)?;
    let token = app.store.store_whole(placement, file.temp, size)?;
    app.stats.update(|s| {
        s.upload_alls_ok += 1;
        s.upload_all_bytes += size;
    });
    Ok(json!({ "file_token": token }))
}

async fn start_upload(app: &App, family: Family, req: Request) -> Outcome {
    let body = read_json(req).await?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let placement = app.placement(
        family,
        text("file_name"),
        text("parent_type"),
        text("parent_node"),
        text("extra"),
    )?;
    let size = body
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| BizError::params("size must be an integer ≥ 0"))?;
    app.check_quota(size)?;
    let (upload_id, block_num) = app.store.prepare(placement, size, app.cfg.block_size)?;
    app.stats.update(|s| s.prepares_ok += 1);
    Ok(json!({ "upload_id": upload_id, "block_size": app.cfg.block_size, "block_num": block_num }))
}

fn accept_block(app: &App, mut form: Form) -> Outcome {
    let upload_id = form.required("upload_id")?.to_owned();
    let seq = number(form.required("seq")?, "seq")?;
    let size = number(form.required("size")?, "size")?;
    let file = form
        .file
        .take()
        .ok_or_else(|| BizError::params("file is required"))?;
    let expected = app.store.with_upload(&upload_id, |u| {
        if seq >= u.block_num {
            return Err(BizError::new(
                BLOCK_OUT_OF_BOUNDS,
                format!("seq {seq} of {} blocks", u.block_num),
            ));
        }
        Ok(u.block_len(seq))
    })?;
    if file.size != size {
        return Err(BizError::new(
            SIZE_MISMATCH,
            format!("{} bytes arrived, size says {size}", file.size),
        ));
    }
    if size != expected {
        return Err(BizError::params(format!(
            "block {seq} must be {expected} bytes, not {size}"
        )));
    }
    if app.cfg.refuse_block_checksums && form.text("checksum").is_some_and(|c| !c.is_empty()) {
        app.stats.update(|s| s.checksum_mismatches += 1);
        return Err(BizError::new(CHECKSUM_INVALID, "checksum param Invalid."));
    }
    let checked = check_checksum(app, &form, file.adler32)?;
    app.store.put_block(&upload_id, seq, file.temp, size)?;
    app.stats.update(|s| {
        s.parts_ok += 1;
        s.part_bytes += size;
        s.parts_with_checksum += u64::from(checked);
    });
    Ok(json!({}))
}

async fn finish_upload(app: &App, req: Request) -> Outcome {
    let body = read_json(req).await?;
    let upload_id = body
        .get("upload_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let upload_id = upload_id.ok_or_else(|| BizError::params("upload_id is required"))?;
    let block_num = body
        .get("block_num")
        .and_then(Value::as_u64)
        .ok_or_else(|| BizError::params("block_num must be an integer"))?;
    let token = app.store.finish(upload_id, block_num)?;
    app.stats.update(|s| s.finishes_ok += 1);
    Ok(json!({ "file_token": token }))
}

/// The optional `checksum` (decimal Adler-32, §9) must match the bytes. True when one was sent.
fn check_checksum(app: &App, form: &Form, actual: u32) -> Result<bool, BizError> {
    let Some(raw) = form.text("checksum").filter(|c| !c.is_empty()) else {
        return Ok(false);
    };
    let sent: u32 = raw
        .parse()
        .map_err(|_| BizError::params(format!("checksum {raw:?} is not a decimal u32")))?;
    if sent != actual {
        app.stats.update(|s| s.checksum_mismatches += 1);
        return Err(BizError::new(
            CHECKSUM_INVALID,
            format!("checksum {sent} but the bytes' Adler-32 is {actual}"),
        ));
    }
    Ok(true)
}

/// A decimal integer text field.
fn number(raw: &str, name: &str) -> Result<u64, BizError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BizError::params(format!(
            "{name} {raw:?} is not a decimal integer"
        )));
    }
    raw.parse()
        .map_err(|_| BizError::params(format!("{name} {raw:?} is out of range")))
}

async fn read_json(req: Request) -> Result<Map<String, Value>, BizError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let body: Body = req.into_body();
    if !is_json {
        body::drain(body).await;
        return Err(BizError::params("content-type must be application/json"));
    }
    let bytes = body::read_limited(body, MAX_JSON_BODY)
        .await
        .map_err(|_| BizError::params("the body is too large or was cut off"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(BizError::params("the body must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimal() {
        assert_eq!(number("0", "seq"), Ok(0));
        assert_eq!(number("4194304", "size"), Ok(4_194_304));
        for bad in ["", "-1", "1.0", " 1", "0x10", "99999999999999999999999"] {
            assert!(number(bad, "seq").is_err(), "{bad:?}");
        }
    }
}
