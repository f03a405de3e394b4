//! `tenant_access_token` (§1a) and the bearer check in front of every Drive call.
//!
//! Token lifetime rules as documented: valid for `token_ttl` (2 h); asking again while the
//! current token has at least 30 minutes left returns the same token with its remaining
//! lifetime; with less left, a new token is issued and the old one stays valid until it ends.
//! For short test lifetimes the 30-minute mark scales down to half the lifetime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::envelope::{BizError, APP_SECRET_INVALID, MISSING_TOKEN, TENANT_TOKEN_INVALID};
use super::App;
use crate::body;

const REISSUE_WITHIN: Duration = Duration::from_secs(30 * 60);

#[derive(Default)]
pub(crate) struct Tokens {
    current: Option<String>,
    /// token → end of validity.
    valid: HashMap<String, Instant>,
}

impl Tokens {
    /// Every token stops being valid now (as if they had all expired).
    pub(crate) fn expire_all(&mut self) {
        self.valid.clear();
        self.current = None;
    }

    fn is_valid(&self, token: &str) -> bool {
        self.valid
            .get(token)
            .is_some_and(|end| Instant::now() < *end)
    }
}

/// `POST /open-apis/auth/v3/tenant_access_token/internal`.
pub(crate) async fn issue(State(app): State<Arc<App>>, req: Request) -> Response {
    app.stats.update(|s| s.token_requests += 1);
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let bytes = body::read_limited(req.into_body(), 64 * 1024).await.ok();
    let body: Option<Value> = bytes
        .filter(|_| is_json)
        .and_then(|b| serde_json::from_slice(&b).ok());
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b[name].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (app_id, secret) = (field("app_id"), field("app_secret"));
    if app_id.is_empty() || secret.is_empty() {
        // The token endpoint's own codes are not in the notes; 10003 is "invalid param".
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "code": 10003, "msg": "invalid param" })),
        )
            .into_response();
    }
    if app_id != app.cfg.app_id || secret != app.cfg.app_secret {
        let msg = super::envelope::default_message(APP_SECRET_INVALID);
        return Json(json!({ "code": APP_SECRET_INVALID, "msg": msg })).into_response();
    }
    let ttl = app.cfg.token_ttl;
    let reissue_within = REISSUE_WITHIN.min(ttl / 2);
    let now = Instant::now();
    let mut tokens = app.tokens.lock();
    let current = tokens
        .current
        .clone()
        .and_then(|t| tokens.valid.get(&t).map(|end| (t, *end)));
    let (token, left) = match current {
        Some((token, end)) if end.saturating_duration_since(now) >= reissue_within => {
            (token, end - now)
        }
        _ => {
            let token = format!("t-{:032x}", rand_u128());
            tokens.valid.insert(token.clone(), now + ttl);
            tokens.current = Some(token.clone());
            app.stats.update(|s| s.tokens_issued += 1);
            (token, ttl)
        }
    };
    drop(tokens);
    app.issued.record(&token);
    let stated = app.cfg.advertised_token_ttl.clone().unwrap_or_else(|| json!(left.as_secs().max(1)));
    Json(json!({ "code": 0, "msg": "ok", "tenant_access_token": token, "expire": stated })).into_response()
}

/// Every Drive call needs `Authorization: Bearer <a valid token>`.
pub(crate) async fn require_token(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let refusal = match header.strip_prefix("Bearer ").map(str::trim) {
        None | Some("") => Some(BizError::new(MISSING_TOKEN, "")),
        Some(token) if !app.tokens.lock().is_valid(token) => {
            Some(BizError::new(TENANT_TOKEN_INVALID, ""))
        }
        Some(_) => None,
    };
    match refusal {
        None => next.run(req).await,
        Some(err) => {
            // Drain first, like a gateway, so a client still sending sees the answer.
            body::drain(req.into_body()).await;
            app.stats.update(|s| s.token_refusals += 1);
            app.policy.failure(&err)
        }
    }
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = h.finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(a);
    (u128::from(a) << 64) | u128::from(h.finish())
}
