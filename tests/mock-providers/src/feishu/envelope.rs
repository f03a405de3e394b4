//! The answer envelope `{"code","msg","data"}` with the `X-Tt-Logid` trace header
//! (shared/providers/feishu.md §0), the documented codes (§10, §11) and their HTTP statuses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::faults::BusinessErrorRenderer;

pub const SUCCESS: i64 = 0;
pub const INTERNAL_ERROR: i64 = 1061001;
pub const PARAMS_ERROR: i64 = 1061002;
pub const NOT_FOUND: i64 = 1061003;
pub const FORBIDDEN: i64 = 1061004;
pub const INTERNAL_TIMEOUT: i64 = 1061006;
pub const INVALID_FILE_NAME: i64 = 1061008;
pub const UPLOAD_ID_EXPIRED: i64 = 1061021;
pub const PARENT_NOT_EXIST: i64 = 1061044;
pub const CAN_RETRY: i64 = 1061045;
pub const USER_QUOTA_EXCEEDED: i64 = 1061061;
pub const NO_SCOPE: i64 = 1061073;
pub const TENANT_QUOTA_EXCEEDED: i64 = 1061101;
pub const NAME_REVIEW_FAILED: i64 = 1061109;
pub const CHECKSUM_INVALID: i64 = 1062008;
pub const SIZE_MISMATCH: i64 = 1062009;
pub const BLOCK_MISSING: i64 = 1062010;
pub const BLOCK_OUT_OF_BOUNDS: i64 = 1062011;
pub const RATE_LIMITED: i64 = 99991400;
pub const MISSING_TOKEN: i64 = 99991661;
pub const TENANT_TOKEN_INVALID: i64 = 99991663;
/// The token endpoint's refusal of wrong credentials (code unconfirmed by the notes).
pub const APP_SECRET_INVALID: i64 = 10014;

/// Feishu's `msg` for each code (§11).
pub fn default_message(code: i64) -> &'static str {
    match code {
        SUCCESS => "success",
        1061001 => "internal error.",
        1061002 => "params error.",
        1061003 => "not found.",
        1061004 => "forbidden.",
        1061005 => "auth failed.",
        1061006 => "internal time out.",
        1061007 => "file has been delete.",
        1061008 => "invalid file name.",
        1061021 => "upload id expire.",
        1061022 => "file version conflict.",
        1061041 => "parent node has been deleted.",
        1061042 => "parent node out of limit.",
        1061043 => "file size beyond limit.",
        1061044 => "parent node not exist.",
        1061045 => "can retry.",
        1061061 => "user quota exceeded.",
        1061073 => "no scope auth.",
        1061101 => "file quota exceeded.",
        1061109 => "file name cqc not passed.",
        1061113 => "file cqc not passed.",
        1061500 => "mount node point kill.",
        1061547 => "attachment parent-child relation number exceed.",
        1062004 => "cover generating.",
        1062005 => "file type not support cover.",
        1062006 => "cover no exist.",
        1062007 => "upload user not match.",
        1062008 => "checksum param Invalid.",
        1062009 => "the actual size is inconsistent with the parameter declaration size.",
        1062010 => "block missing, please upload all blocks.",
        1062011 => "block num out of bounds.",
        1062012 => "file copying.",
        1062013 => "file damaged.",
        1062014 => "dedupe no support.",
        1062051 => "client connect close.",
        1062505 => "parent node out of size.",
        1062506 => "parent node out of depth.",
        1062507 => "parent node out of sibling num.",
        1064230 => "locked for data migration",
        99991400 => "request trigger frequency limit",
        99991661 => {
            "Missing access token for authorization. Please make a request with token attached."
        }
        99991663 => {
            "Invalid access token for authorization. Please make a request with token attached."
        }
        10014 => "app secret invalid",
        _ => "unknown error",
    }
}

/// The HTTP status the notes' table gives each code (§11); codes without one use 400.
pub fn documented_status(code: i64) -> StatusCode {
    let s = match code {
        1061001 | 1061006 | 1061045 | 1064230 => 200,
        1061003 | 1061007 => 404,
        1061004 | 1061073 | 1061500 | 1062014 => 403,
        1061005 => 401,
        1061022 => 500,
        1062004..=1062006 => 202,
        99991400 => 429,
        _ => 400,
    };
    StatusCode::from_u16(s).expect("valid status")
}

/// A business error: HTTP 200 (or the documented status) with `code != 0`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BizError {
    pub code: i64,
    pub message: String,
}

impl BizError {
    pub fn new(code: i64, detail: impl std::fmt::Display) -> Self {
        BizError {
            code,
            message: format!("{} {detail}", default_message(code))
                .trim_end()
                .to_owned(),
        }
    }

    pub fn params(detail: impl std::fmt::Display) -> Self {
        Self::new(PARAMS_ERROR, detail)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(INTERNAL_ERROR, detail)
    }
}

/// How business errors are answered: HTTP 200 (the trap the notes warn about), or with the
/// status the notes' table lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatusPolicy {
    pub documented: bool,
}

fn log_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{millis}{:08X}", SEQ.fetch_add(1, Ordering::Relaxed))
}

fn with_log_id(status: StatusCode, body: Value, log: &str) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(log) {
        resp.headers_mut().insert("x-tt-logid", v);
    }
    resp
}

pub(crate) fn success(data: Value) -> Response {
    with_log_id(
        StatusCode::OK,
        json!({ "code": SUCCESS, "msg": "success", "data": data }),
        &log_id(),
    )
}

impl StatusPolicy {
    pub(crate) fn failure(&self, err: &BizError) -> Response {
        if err.code == RATE_LIMITED {
            return gateway_throttle(&err.message);
        }
        let status = if self.documented {
            documented_status(err.code)
        } else {
            StatusCode::OK
        };
        let log = log_id();
        let body =
            json!({ "code": err.code, "msg": err.message, "data": {}, "error": { "log_id": log } });
        with_log_id(status, body, &log)
    }
}

/// The gateway's frequency-control answer (§10): HTTP 429, code 99991400, and the
/// `x-ogw-ratelimit-*` headers saying how long to wait.
pub(crate) fn gateway_throttle(message: &str) -> Response {
    let log = log_id();
    let body =
        json!({ "code": RATE_LIMITED, "msg": message, "data": {}, "error": { "log_id": log } });
    let mut resp = with_log_id(StatusCode::TOO_MANY_REQUESTS, body, &log);
    resp.headers_mut()
        .insert("x-ogw-ratelimit-limit", HeaderValue::from_static("5"));
    resp.headers_mut()
        .insert("x-ogw-ratelimit-reset", HeaderValue::from_static("1"));
    resp
}

/// Renders business-error faults in this envelope.
pub(crate) fn fault_renderer(policy: StatusPolicy) -> BusinessErrorRenderer {
    Arc::new(move |code, message| {
        let message = message.unwrap_or_else(|| default_message(code)).to_owned();
        policy.failure(&BizError { code, message })
    })
}
