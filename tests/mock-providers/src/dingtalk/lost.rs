//! Lost answers: the request is applied (a commit stores its file), then the connection is
//! dropped before the answer leaves, as when a response is lost on the way back.
//! Only successful answers are lost, so a rule always stands for "applied, not heard".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parking_lot::Mutex;
use serde::Deserialize;

use super::App;
use crate::server::ConnectionKiller;

#[derive(Default)]
pub(crate) struct LostAnswers {
    /// (exact path, answers still to lose)
    rules: Mutex<Vec<(String, u64)>>,
}

impl LostAnswers {
    pub(crate) fn add(&self, path: &str, times: u64) {
        self.rules.lock().push((path.to_owned(), times));
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().clear();
    }

    fn armed(&self, path: &str) -> bool {
        self.rules.lock().iter().any(|(p, n)| p == path && *n > 0)
    }

    /// Takes one loss for `path`, if any is left.
    fn take(&self, path: &str) -> bool {
        let mut rules = self.rules.lock();
        match rules.iter_mut().find(|(p, n)| p == path && *n > 0) {
            Some((_, n)) => {
                *n -= 1;
                true
            }
            None => false,
        }
    }
}

pub(crate) async fn apply(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !app.lost.armed(&path) {
        return next.run(req).await;
    }
    let killer = req.extensions().get::<ConnectionKiller>().cloned();
    let resp = next.run(req).await;
    if !resp.status().is_success() || !app.lost.take(&path) {
        return resp;
    }
    let Some(killer) = killer else { return resp };
    app.stats.update(|s| s.answers_lost += 1);
    killer.kill();
    // The connection task drops this future together with the socket.
    std::future::pending().await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoseAnswers {
    path: String,
    times: u64,
}

/// `POST /__mock/dingtalk/lose-answers` with `{"path": "...", "times": n}`.
pub(crate) async fn control(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match serde_json::from_slice::<LoseAnswers>(&body) {
        Ok(r) => {
            app.lost.add(&r.path, r.times);
            Json(serde_json::json!({ "ok": true })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
