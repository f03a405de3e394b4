//! The five OST endpoints (doc §2–§6), run after the signature check.
//!
//! Parameter problems answer 10001, unknown/expired/finished uploads 10005, storage failures
//! 10006, all with HTTP 200 in the envelope.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::envelope::{self, BizError};
use super::form::{self, Form};
use super::store::SliceRules;
use super::App;
use crate::body;

/// JSON bodies are a few ids; anything bigger is a client bug.
const MAX_JSON_BODY: usize = 1024 * 1024;

type Outcome = Result<Option<Value>, BizError>;

/// `POST /file/upload`: one-shot upload, answers `data.url`.
pub(crate) async fn oneshot(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = store_oneshot(&app, req).await;
    app.respond(outcome)
}

/// `POST /file/mpupload/init`: answers `data.upload_id`.
pub(crate) async fn init(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = start_upload(&app, req).await;
    app.respond(outcome)
}

/// `POST /file/mpupload/upload`: stores one slice.
pub(crate) async fn upload_slice(State(app): State<Arc<App>>, req: Request) -> Response {
    let started = Instant::now();
    let (outcome, upload_id) = receive_slice(&app, req).await;
    if let Some(upload_id) = upload_id {
        app.stats.slice_span(&upload_id, started, Instant::now());
    }
    app.respond(outcome)
}

/// `POST /file/mpupload/complete`: checks the slices, answers `data.url`.
pub(crate) async fn complete(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = complete_upload(&app, req).await;
    app.respond(outcome)
}

/// `POST /file/mpupload/cancel`: forgets an upload.
pub(crate) async fn cancel(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = cancel_upload(&app, req).await;
    app.respond(outcome)
}

impl App {
    fn respond(&self, outcome: Outcome) -> Response {
        match outcome {
            Ok(data) => envelope::success(data),
            Err(err) => {
                self.stats.update(|s| s.business_errors += 1);
                envelope::failure(&err)
            }
        }
    }

    /// `request_id` and `app_id` are required on every call; `app_id` must be this app's.
    fn check_identity(
        &self,
        request_id: Option<&str>,
        app_id: Option<&str>,
    ) -> Result<(), BizError> {
        if request_id.is_none_or(str::is_empty) {
            return Err(BizError::invalid("requestId must not be empty"));
        }
        match app_id {
            None | Some("") => Err(BizError::invalid("appId must not be empty")),
            Some(id) if id != self.cfg.app_id => {
                Err(BizError::invalid(format!("appId {id} is invalid")))
            }
            Some(_) => Ok(()),
        }
    }
}

async fn store_oneshot(app: &App, req: Request) -> Outcome {
    let limit = app.cfg.oneshot_max_bytes;
    let mut form = form::read_form(req, &app.store.incoming_dir(), limit).await?;
    app.check_identity(form.text("request_id"), form.text("app_id"))?;
    let data = form
        .data
        .take()
        .ok_or_else(|| BizError::invalid("data must not be empty"))?;
    if data.size > limit {
        return Err(BizError::invalid(format!(
            "file is {} bytes but /file/upload accepts at most {limit} bytes: use /file/mpupload",
            data.size
        )));
    }
    let url = app.store.store_file(data.temp, data.size, &data.file_name)?;
    app.stats.update(|s| {
        s.oneshots_ok += 1;
        s.oneshot_bytes_received += data.size;
    });
    Ok(Some(json!({ "url": url })))
}

async fn start_upload(app: &App, req: Request) -> Outcome {
    let body = read_json(req).await?;
    app.check_identity(body.text("request_id")?, body.text("app_id")?)?;
    body.text("cloud_id")?; // optional, but a string when present
    let upload_id = app.store.create_upload()?;
    app.stats.update(|s| s.inits += 1);
    Ok(Some(json!({ "upload_id": upload_id })))
}

/// Returns the outcome and, when the form named one, the upload_id (for the concurrency stat).
async fn receive_slice(app: &App, req: Request) -> (Outcome, Option<String>) {
    let form = match form::read_form(req, &app.store.incoming_dir(), app.cfg.max_slice).await {
        Ok(form) => form,
        Err(e) => return (Err(e), None),
    };
    let upload_id = form
        .text("upload_id")
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    (accept_slice(app, form), upload_id)
}

fn accept_slice(app: &App, mut form: Form) -> Outcome {
    app.check_identity(form.text("request_id"), form.text("app_id"))?;
    let upload_id = required(form.text("upload_id"), "uploadId")?.to_owned();
    let slice_id = parse_slice_id(form.text("slice_id"), app.cfg.max_slices)?;
    let data = form
        .data
        .take()
        .ok_or_else(|| BizError::invalid("data must not be empty"))?;
    if data.size == 0 {
        // Only an empty trailing slice (the demo's `size % S` bug) would send this.
        return Err(BizError::invalid("data must not be empty"));
    }
    if data.size > app.cfg.max_slice {
        return Err(BizError::invalid(format!(
            "slice {slice_id} is {} bytes, above the {}-byte maximum slice size",
            data.size, app.cfg.max_slice
        )));
    }
    let size = data.size;
    app.store.put_slice(
        &upload_id,
        slice_id,
        data.temp,
        size,
        &data.file_name,
        app.cfg.require_sequential_slices,
    )?;
    app.stats.update(|s| {
        s.slices_received += 1;
        s.slice_bytes_received += size;
    });
    Ok(None)
}

async fn complete_upload(app: &App, req: Request) -> Outcome {
    let body = read_json(req).await?;
    app.check_identity(body.text("request_id")?, body.text("app_id")?)?;
    let upload_id = required(body.text("upload_id")?, "uploadId")?;
    let rules = SliceRules {
        min_slice: app.cfg.min_slice,
        max_slice: app.cfg.max_slice,
    };
    let url = app.store.complete(upload_id, &rules)?;
    app.stats.update(|s| s.completes_ok += 1);
    Ok(Some(json!({ "url": url })))
}

async fn cancel_upload(app: &App, req: Request) -> Outcome {
    let body = read_json(req).await?;
    app.check_identity(body.text("request_id")?, body.text("app_id")?)?;
    let upload_id = required(body.text("upload_id")?, "uploadId")?;
    app.store.cancel(upload_id)?;
    app.stats.update(|s| s.cancels += 1);
    Ok(None)
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, BizError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| BizError::invalid(format!("{name} must not be empty")))
}

/// `slice_id` is decimal text ≥ 1 (doc §4); 0 counts as missing, as the real service reports.
pub(crate) fn parse_slice_id(raw: Option<&str>, max_slices: u32) -> Result<u32, BizError> {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Err(BizError::invalid("sliceId must not be empty"));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BizError::invalid(format!(
            "sliceId {raw:?} is not a decimal integer"
        )));
    }
    // All digits, so a parse failure can only be overflow: far above any limit.
    let id: u64 = raw.parse().unwrap_or(u64::MAX);
    if id == 0 {
        return Err(BizError::invalid("sliceId must not be empty"));
    }
    if id > u64::from(max_slices) {
        return Err(BizError::invalid(format!(
            "sliceId {id} exceeds the maximum of {max_slices} slices"
        )));
    }
    Ok(id as u32)
}

/// A JSON object body (`/init`, `/complete`, `/cancel`).
struct JsonBody(Map<String, Value>);

impl JsonBody {
    /// A string field; absent or null is `None`, any other type is a parameter error.
    fn text(&self, name: &str) -> Result<Option<&str>, BizError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(BizError::invalid(format!("{name} must be a string"))),
        }
    }
}

async fn read_json(req: Request) -> Result<JsonBody, BizError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let body: Body = req.into_body();
    if !is_json {
        body::drain(body).await;
        return Err(BizError::invalid("content-type must be application/json"));
    }
    let bytes = body::read_limited(body, MAX_JSON_BODY)
        .await
        .map_err(|_| BizError::invalid("request body is too large or was cut off"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(JsonBody(map)),
        Ok(_) => Err(BizError::invalid("request body must be a JSON object")),
        Err(e) => Err(BizError::invalid(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_id_parsing() {
        let code = |raw: Option<&str>| parse_slice_id(raw, 10_000).map_err(|e| e.message);
        assert_eq!(code(Some("1")), Ok(1));
        assert_eq!(code(Some("10000")), Ok(10_000));
        assert_eq!(code(Some("0")).unwrap_err(), "sliceId must not be empty");
        assert_eq!(code(None).unwrap_err(), "sliceId must not be empty");
        assert_eq!(code(Some("")).unwrap_err(), "sliceId must not be empty");
        assert!(code(Some("10001")).is_err());
        assert!(code(Some("-1")).is_err());
        assert!(code(Some("1.0")).is_err());
        assert!(code(Some(" 1")).is_err());
        assert!(code(Some("99999999999999999999999")).is_err());
    }
}
