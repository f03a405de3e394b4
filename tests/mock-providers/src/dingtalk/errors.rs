//! DingTalk's error answers (doc §0, §3 "Errors", §8): HTTP 4xx/5xx with
//! `{"code": "<StringCode>", "message": "<text>", "requestid": "<id>"}` and an
//! `x-acs-request-id` header, plus the per-IP ban page (§8) and OSS's XML errors (§4).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::faults::BusinessErrorRenderer;

pub const INVALID_AUTHENTICATION: &str = "InvalidAuthentication";
pub const PERMISSION_DENIED: &str = "Forbidden.AccessDenied.AccessTokenPermissionDenied";
pub const IP_NOT_IN_WHITELIST: &str = "Forbidden.AccessDenied.IpNotInWhiteList";
pub const QPS_LIMIT_APP_API: &str = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi";
pub const QPS_LIMIT_API: &str = "Forbidden.AccessDenied.QpsLimitForApi";
pub const API_COUNT_LIMIT_ORG: &str = "Forbidden.AccessDenied.ApiCountLimitForOrg";
pub const PARAM_ERROR: &str = "paramError";
pub const PARAM_ERROR_UPLOAD_KEY: &str = "paramError.uploadKey";
pub const PARAM_ERROR_PART_NUMBERS: &str = "paramError.partNumbers";
pub const SYSTEM_ERROR: &str = "systemError";
pub const UNKNOWN_ERROR: &str = "unknownError";
pub const OPERATION_TIMEOUT: &str = "operationTimeout";
pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
pub const NO_PRIVILEDGE: &str = "no.priviledge";
pub const PROTOCOL_NOT_SUPPORTED: &str = "DENTRY_UPLOAD_PROTOCOL_NOTSUPPORT";
/// Not published (doc §5: commit-specific codes are unconfirmed): the mock's own choice for
/// `RETURN_ERROR_IF_EXISTS` and a pre-check name clash.
pub const FILE_EXISTS: &str = "fileAlreadyExists";
/// Not published: the mock's own choice for a space without room (pre-check or commit).
pub const SPACE_QUOTA_EXCEEDED: &str = "spaceQuotaExceeded";
/// Pseudo-code for a `business_error` fault: answer the per-IP ban page (§8) instead.
pub const IP_BAN_PAGE: &str = "IpBanPage";

/// Every code the notes document, with the HTTP status the mock answers it with.
pub const DOCUMENTED: [(&str, u16); 14] = [
    (INVALID_AUTHENTICATION, 400),
    (PERMISSION_DENIED, 403),
    (IP_NOT_IN_WHITELIST, 403),
    (QPS_LIMIT_APP_API, 403),
    (QPS_LIMIT_API, 403),
    (API_COUNT_LIMIT_ORG, 403),
    (PARAM_ERROR, 400),
    (PARAM_ERROR_UPLOAD_KEY, 400),
    (PARAM_ERROR_PART_NUMBERS, 400),
    (SYSTEM_ERROR, 500),
    (UNKNOWN_ERROR, 500),
    (OPERATION_TIMEOUT, 503),
    (SERVICE_UNAVAILABLE, 503),
    (NO_PRIVILEDGE, 400),
];

/// The status a code is answered with (400 for codes the notes do not list).
pub fn status_of(code: &str) -> u16 {
    DOCUMENTED
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(400, |(_, s)| *s)
}

/// The text the service gives for each code, when nothing more specific is known.
pub fn default_message(code: &str) -> &'static str {
    match code {
        INVALID_AUTHENTICATION => "不合法的access_token",
        PERMISSION_DENIED => "没有调用该接口的权限",
        IP_NOT_IN_WHITELIST => "访问ip不在白名单之中",
        QPS_LIMIT_APP_API => "应用调用该接口的QPS超过限制",
        QPS_LIMIT_API => "接口的QPS超过限制",
        API_COUNT_LIMIT_ORG => "企业调用接口的月调用量超过限制",
        PARAM_ERROR | PARAM_ERROR_UPLOAD_KEY | PARAM_ERROR_PART_NUMBERS => "参数错误",
        SYSTEM_ERROR => "系统错误",
        UNKNOWN_ERROR => "Unknown Error",
        OPERATION_TIMEOUT => "请求超时",
        SERVICE_UNAVAILABLE => "服务不可用",
        NO_PRIVILEDGE => "You are not authorized to operate on this resource",
        _ => "error",
    }
}

/// One error answer of the API gateway.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: status_of(code),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn code(code: &str) -> Self {
        Self::new(code, default_message(code))
    }

    pub fn param(message: impl Into<String>) -> Self {
        Self::new(PARAM_ERROR, message)
    }

    pub fn upload_key(message: impl Into<String>) -> Self {
        Self::new(PARAM_ERROR_UPLOAD_KEY, message)
    }

    pub fn system(err: impl std::fmt::Display) -> Self {
        Self::new(SYSTEM_ERROR, format!("系统错误: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.code, &self.message)
    }
}

pub(crate) fn next_request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:08X}-{:04X}-4{:03X}-MOCK-{:012X}",
        std::process::id(),
        SEQ.load(Ordering::Relaxed) & 0xffff,
        0x123,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Attaches `x-acs-request-id` / `x-acs-trace-id` like the gateway does.
pub(crate) fn with_request_id(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-acs-request-id", v.clone());
        resp.headers_mut().insert("x-acs-trace-id", v);
    }
    resp
}

pub(crate) fn error_response(status: u16, code: &str, message: &str) -> Response {
    let id = next_request_id();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "code": code, "message": message, "requestid": id });
    with_request_id((status, Json(body)).into_response(), &id)
}

/// The per-IP ban answer (§8): no error code, a JSON body with `punish`.
pub(crate) fn ip_ban_page() -> Response {
    let body = json!({"status": 1111, "wait": 5, "source": "x5", "punish": "deny", "uuid": next_request_id()});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// OSS's XML error (§4).
pub(crate) fn oss_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>127.0.0.1</HostId>\n</Error>\n",
        next_request_id()
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Renders `business_error` faults. DingTalk's codes are strings, so for this mock a fault's
/// `message` names the code (e.g. `"Forbidden.AccessDenied.QpsLimitForApi"`, or
/// [`IP_BAN_PAGE`]) and its numeric `code` is the HTTP status (0 = the code's usual one).
pub(crate) fn fault_renderer() -> BusinessErrorRenderer {
    Arc::new(|status, code| {
        let code = code.unwrap_or(SYSTEM_ERROR);
        if code == IP_BAN_PAGE {
            return ip_ban_page();
        }
        let status = if status > 0 {
            status as u16
        } else {
            status_of(code)
        };
        error_response(status, code, default_message(code))
    })
}
