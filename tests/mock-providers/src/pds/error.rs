//! How the mock fails: API errors as `{"code","message"}` with an `x-ca-request-id` header
//! (doc §0), object-storage errors on part URLs as OSS XML (doc §4).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::faults::BusinessErrorRenderer;

/// An API failure: HTTP status, PDS `code`, human `message`, and extra body fields.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub extra: serde_json::Map<String, Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            extra: Default::default(),
        }
    }

    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    pub fn into_response(self) -> Response {
        let mut body = self.extra;
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.into());
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        with_request_id((status, Json(Value::Object(body))).into_response())
    }
}

/// An object-storage failure on a part URL.
#[derive(Debug, Clone)]
pub struct OssError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl OssError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        OssError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn into_response(self) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>data.mock.aliyunpds.com</HostId>\n</Error>\n",
            self.code,
            xml_escape(&self.message),
            request_id()
        );
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        resp
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn with_request_id(mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-ca-request-id", v);
    }
    resp
}

pub fn request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{:08X}-MOCK-{:012X}", std::process::id(), n)
}

/// `business_error` faults on API paths: `code` is the HTTP status and `message` the PDS
/// code, e.g. `{"kind":"business_error","code":401,"message":"AccessTokenExpired"}`.
pub fn api_fault_renderer() -> BusinessErrorRenderer {
    Arc::new(|status, code| {
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (400..600).contains(s))
            .unwrap_or(500);
        let code = code.unwrap_or("InternalError");
        ApiError::new(status, code, format!("injected fault: {code}")).into_response()
    })
}

/// `business_error` faults on part URLs: an OSS XML error; `message` is the OSS code.
pub fn data_fault_renderer() -> BusinessErrorRenderer {
    Arc::new(|status, code| {
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (400..600).contains(s))
            .unwrap_or(500);
        let code: &'static str = match code.unwrap_or("InternalError") {
            "AccessDenied" => "AccessDenied",
            "PartNotSequential" => "PartNotSequential",
            "NoSuchUpload" => "NoSuchUpload",
            "PartAlreadyExist" => "PartAlreadyExist",
            _ => "InternalError",
        };
        let message = if code == "AccessDenied" {
            "Request has expired."
        } else {
            "injected fault"
        };
        OssError::new(status, code, message).into_response()
    })
}
