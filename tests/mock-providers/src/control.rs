//! `/__mock/*` control routes, shared by every provider mock (never subject to faults or auth).
//!
//! * `POST /__mock/faults`: body = JSON array of [`FaultRule`]s; replaces the active rules.
//! * `GET  /__mock/faults`: the active rules with their `seen`/`fired` counters.
//! * `GET  /__mock/state`:  the provider's stats, stored objects and fault counters.
//! * `POST /__mock/reset`:  forgets uploads, objects, stats and faults.
//! * `GET  /__mock/issued`: every token and signature the mock handed out (see [`crate::Issued`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::faults::{FaultRule, Faults};

/// What a provider mock exposes to the control routes.
pub(crate) trait MockControl: Send + Sync + 'static {
    fn faults(&self) -> &Faults;
    /// Secrets handed out so far, for leak checks.
    fn issued(&self) -> Vec<String>;
    /// Everything worth asserting on, as JSON. May block (e.g. hashing stored files).
    fn state_json(&self) -> serde_json::Value;
    fn reset(&self);
}

pub(crate) fn routes<C: MockControl>(ctl: Arc<C>) -> Router {
    Router::new()
        .route("/__mock/faults", post(set_faults::<C>).get(get_faults::<C>))
        .route("/__mock/state", get(state::<C>))
        .route("/__mock/reset", post(reset::<C>))
        .route("/__mock/issued", get(issued::<C>))
        .with_state(ctl)
}

async fn set_faults<C: MockControl>(State(ctl): State<Arc<C>>, body: Bytes) -> Response {
    let rules: Vec<FaultRule> = match serde_json::from_slice(&body) {
        Ok(rules) => rules,
        Err(e) => return bad_request(format!("invalid fault rules: {e}")),
    };
    let count = rules.len();
    match ctl.faults().set(rules) {
        Ok(()) => Json(json!({ "rules": count })).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn get_faults<C: MockControl>(State(ctl): State<Arc<C>>) -> Response {
    Json(ctl.faults().snapshot()).into_response()
}

async fn state<C: MockControl>(State(ctl): State<Arc<C>>) -> Response {
    match tokio::task::spawn_blocking(move || ctl.state_json()).await {
        Ok(state) => Json(state).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn issued<C: MockControl>(State(ctl): State<Arc<C>>) -> Response {
    Json(ctl.issued()).into_response()
}

async fn reset<C: MockControl>(State(ctl): State<Arc<C>>) -> Response {
    ctl.reset();
    Json(json!({ "ok": true })).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}
