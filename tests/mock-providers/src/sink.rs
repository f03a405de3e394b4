//! `PUT|POST /__sink`: swallows the body and reports its size and SHA-1.
//!
//! The benchmark's `curl -T` baseline: same server, same loopback, no provider logic.

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::routing::put;
use axum::{Json, Router};
use http_body_util::BodyExt;
use sha1::{Digest, Sha1};

pub(crate) const PATH: &str = "/__sink";

pub(crate) fn routes() -> Router {
    Router::new()
        .route(PATH, put(sink).post(sink))
        .layer(DefaultBodyLimit::disable())
}

async fn sink(body: Body) -> Json<serde_json::Value> {
    let mut body = body;
    let mut hasher = Sha1::new();
    let mut bytes = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            hasher.update(data);
            bytes += data.len() as u64;
        }
    }
    let sha1 = hex(&hasher.finalize());
    Json(serde_json::json!({ "bytes": bytes, "sha1": sha1 }))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
