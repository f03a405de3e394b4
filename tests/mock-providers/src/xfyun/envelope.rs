//! The OST response envelope `{"code","message","sid","data"?}` (doc §0) and its error codes (§8).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::faults::BusinessErrorRenderer;

pub const SUCCESS: i64 = 0;
/// 请求参数不正确: invalid request parameter.
pub const INVALID_PARAMETER: i64 = 10001;
/// 操作s3出错: object-storage error.
pub const S3_ERROR: i64 = 10002;
/// 操作数据库出错: database error.
pub const DATABASE_ERROR: i64 = 10003;
/// 操作缓存出错: cache error.
pub const CACHE_ERROR: i64 = 10004;
/// 上传信息已过期或没有上传: upload info expired, or nothing uploaded.
pub const UPLOAD_EXPIRED: i64 = 10005;
/// io操作失败: I/O failure.
pub const IO_ERROR: i64 = 10006;
/// 推送任务失败: failed to push the task.
pub const PUSH_FAILED: i64 = 10007;

/// The seed's description of each code, used when a message has nothing more specific.
pub fn default_message(code: i64) -> &'static str {
    match code {
        SUCCESS => "success",
        INVALID_PARAMETER => "请求参数不正确",
        S3_ERROR => "操作s3出错",
        DATABASE_ERROR => "操作数据库出错",
        CACHE_ERROR => "操作缓存出错",
        UPLOAD_EXPIRED => "上传信息已过期或没有上传",
        IO_ERROR => "io操作失败",
        PUSH_FAILED => "推送任务失败",
        _ => "unknown error",
    }
}

/// A business error: answered with HTTP 200 and `code != 0`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BizError {
    pub code: i64,
    pub message: String,
}

impl BizError {
    pub fn invalid(message: impl Into<String>) -> Self {
        BizError {
            code: INVALID_PARAMETER,
            message: message.into(),
        }
    }

    pub fn expired(message: impl Into<String>) -> Self {
        BizError {
            code: UPLOAD_EXPIRED,
            message: message.into(),
        }
    }

    pub fn io(err: impl std::fmt::Display) -> Self {
        BizError {
            code: IO_ERROR,
            message: format!("{}: {err}", default_message(IO_ERROR)),
        }
    }
}

/// `code: 0` with optional `data`.
pub(crate) fn success(data: Option<Value>) -> Response {
    let mut body = json!({ "code": SUCCESS, "message": "success", "sid": next_sid() });
    if let Some(data) = data {
        body["data"] = data;
    }
    (StatusCode::OK, Json(body)).into_response()
}

pub(crate) fn failure(err: &BizError) -> Response {
    let body = json!({ "code": err.code, "message": err.message, "sid": next_sid() });
    (StatusCode::OK, Json(body)).into_response()
}

/// Renders business-error faults in this provider's envelope.
pub(crate) fn fault_renderer() -> BusinessErrorRenderer {
    Arc::new(|code, message| {
        let message = message.unwrap_or_else(|| default_message(code)).to_owned();
        failure(&BizError { code, message })
    })
}

/// A session id unique within the process, shaped like the doc's `ost00010002@dx172fd79467d7a04802`.
pub(crate) fn next_sid() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        "ost{seq:08x}@dx{millis:x}{:04x}",
        std::process::id() & 0xffff
    )
}
