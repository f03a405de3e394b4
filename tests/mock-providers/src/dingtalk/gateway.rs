//! The API gateway in front of every storage call: the token endpoint (§1a) and the checks
//! each call passes before the service sees it (§0, §8): raw token, per-API QPS, the org's
//! monthly quota, the app's permission, the operator's unionId.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::errors::{self, ApiError};
use super::App;

pub(crate) const TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

/// The storage APIs, each with its own QPS budget and required permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Api {
    AccessToken,
    InitMultipart,
    PartInfos,
    UploadInfo,
    Commit,
    AddFolder,
    ListDentries,
}

impl Api {
    fn permission(self) -> Option<&'static str> {
        match self {
            Api::AccessToken => None,
            Api::InitMultipart | Api::PartInfos | Api::UploadInfo => Some(super::UPLOAD_INFO_READ),
            Api::Commit | Api::AddFolder => Some(super::FILE_WRITE),
            Api::ListDentries => Some(super::FILE_READ),
        }
    }
}

struct Token {
    value: String,
    expires: Instant,
}

pub(crate) struct Gateway {
    qps: Option<u32>,
    quota: Option<u64>,
    token: Mutex<Option<Token>>,
    calls: Mutex<HashMap<Api, VecDeque<Instant>>>,
    metered: Mutex<u64>,
    /// Refuse the next call whatever token it presents (see `revoke_token`).
    refuse_next: std::sync::atomic::AtomicBool,
}

/// Why a token was refused.
enum Refusal {
    Missing,
    Unknown,
    Expired,
}

impl Gateway {
    pub(crate) fn new(qps: Option<u32>, quota: Option<u64>) -> Self {
        Gateway {
            qps,
            quota,
            token: Mutex::new(None),
            calls: Mutex::new(HashMap::new()),
            metered: Mutex::new(0),
            refuse_next: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn reset(&self) {
        *self.token.lock() = None;
        self.calls.lock().clear();
        *self.metered.lock() = 0;
    }

    pub(crate) fn revoke_token(&self) {
        *self.token.lock() = None;
        self.refuse_next.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn expire_tokens(&self) {
        if let Some(t) = self.token.lock().as_mut() {
            t.expires = Instant::now();
        }
    }

    /// The valid token, extended; or a new one. Returns (token, is_new).
    fn issue(&self, ttl: Duration) -> (String, bool) {
        let mut token = self.token.lock();
        let now = Instant::now();
        match token.as_mut() {
            Some(t) if t.expires > now => {
                t.expires = now + ttl;
                (t.value.clone(), false)
            }
            _ => {
                let value = format!(
                    "mocktok{}",
                    errors::next_request_id().replace('-', "").to_lowercase()
                );
                *token = Some(Token {
                    value: value.clone(),
                    expires: now + ttl,
                });
                (value, true)
            }
        }
    }

    fn check_token(&self, presented: Option<&str>) -> Result<(), Refusal> {
        let presented = presented
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        if self.refuse_next.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(Refusal::Unknown);
        }
        match self.token.lock().as_ref() {
            Some(t) if t.value == presented => {
                if t.expires > Instant::now() {
                    Ok(())
                } else {
                    Err(Refusal::Expired)
                }
            }
            _ => Err(Refusal::Unknown),
        }
    }

    /// Counts a call against the API's QPS budget; false when the budget of the last second
    /// is spent (the refused call is not counted).
    fn within_qps(&self, api: Api) -> bool {
        let Some(limit) = self.qps else { return true };
        let mut calls = self.calls.lock();
        let window = calls.entry(api).or_default();
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }

    fn within_quota(&self) -> bool {
        let Some(quota) = self.quota else { return true };
        let mut used = self.metered.lock();
        if *used >= quota {
            return false;
        }
        *used += 1;
        true
    }
}

impl App {
    /// Runs the gateway's checks for one call; returns the operator's unionId.
    pub(crate) fn admit(
        &self,
        api: Api,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Result<String, ApiError> {
        let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        if let Err(why) = self.gateway.check_token(token) {
            self.stats.update(|s| {
                s.invalid_token_refusals += 1;
                if matches!(why, Refusal::Expired) {
                    s.expired_token_refusals += 1;
                }
            });
            let message = match why {
                Refusal::Missing => "缺少参数 x-acs-dingtalk-access-token",
                Refusal::Unknown | Refusal::Expired => "不合法的access_token",
            };
            return Err(ApiError::new(errors::INVALID_AUTHENTICATION, message));
        }
        if !self.gateway.within_qps(api) {
            self.stats.update(|s| s.qps_refusals += 1);
            return Err(ApiError::code(errors::QPS_LIMIT_APP_API));
        }
        if !self.gateway.within_quota() {
            return Err(ApiError::code(errors::API_COUNT_LIMIT_ORG));
        }
        if let Some(permission) = api.permission() {
            if !self.cfg.permissions.iter().any(|p| p == permission) {
                let message = format!("没有调用该接口的权限，接口所需权限为：{permission}");
                return Err(ApiError::new(errors::PERMISSION_DENIED, message));
            }
        }
        let union_id = query.get("unionId").map(String::as_str).unwrap_or_default();
        if union_id.is_empty() {
            return Err(ApiError::param("unionId is mandatory for this action."));
        }
        if !self.cfg.members.iter().any(|m| m == union_id) {
            let message = format!(
                "unionId {union_id} has no permission on space {}",
                self.cfg.space_id
            );
            return Err(ApiError::new(errors::NO_PRIVILEDGE, message));
        }
        Ok(union_id.to_owned())
    }

    /// The request body as a JSON object; the gateway only takes `application/json`.
    pub(crate) fn json_body(&self, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
        let json_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json_type {
            return Err(ApiError::param(
                "body is mandatory (Content-Type must be application/json)",
            ));
        }
        if body.is_empty() {
            return Ok(json!({}));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(ApiError::param("the body must be a JSON object")),
            Err(e) => Err(ApiError::param(format!("invalid JSON body: {e}"))),
        }
    }
}

/// `POST /v1.0/oauth2/accessToken` (§1a).
pub(crate) async fn access_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue_token(&app, &headers, &body) {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            app.stats.error(&e.code);
            e.into_response()
        }
    }
}

fn issue_token(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let body = app.json_body(headers, body)?;
    if !app.gateway.within_qps(Api::AccessToken) {
        app.stats.update(|s| s.qps_refusals += 1);
        return Err(ApiError::code(errors::QPS_LIMIT_APP_API));
    }
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (key, secret) = (field("appKey"), field("appSecret"));
    if key.is_empty() || secret.is_empty() {
        return Err(ApiError::param("appKey and appSecret are mandatory"));
    }
    if key != app.cfg.app_key || secret != app.cfg.app_secret {
        // Third-party observation (§1a): HTTP 400 with this code.
        let e = ApiError {
            status: 400,
            ..ApiError::new(errors::PERMISSION_DENIED, "不合法的appSecret")
        };
        return Err(e);
    }
    let ttl = app.cfg.token_ttl;
    let (token, new) = app.gateway.issue(ttl);
    app.issued.record(&token);
    app.stats.update(|s| {
        s.token_requests += 1;
        if new {
            s.tokens_issued += 1;
        }
    });
    let stated = app.cfg.advertised_token_ttl.clone().unwrap_or_else(|| json!(ttl.as_secs().max(1)));
    Ok(json!({ "accessToken": token, "expireIn": stated }))
}

/// `POST /__mock/dingtalk/expire-tokens`.
pub(crate) async fn expire_control(State(app): State<Arc<App>>) -> Response {
    app.gateway.expire_tokens();
    Json(json!({ "ok": true })).into_response()
}
