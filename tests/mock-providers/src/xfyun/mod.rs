//! Mock of iFlytek's OST upload service (`upload-ost-api.xfyun.cn`), per `shared/providers/xfyun.md`.
//!
//! Gateway signature check (doc §1) → fault injection → the five endpoints (§2–§6), plus the
//! shared `/__sink` and `/__mock/*` routes.

mod auth;
mod envelope;
mod form;
mod handlers;
mod stats;
mod store;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::control::{self, MockControl};
use crate::faults::{self, Faults};
use crate::server::{self, ServerHandle};
use crate::sink;

pub use envelope::{
    default_message, CACHE_ERROR, DATABASE_ERROR, INVALID_PARAMETER, IO_ERROR, PUSH_FAILED,
    S3_ERROR, SUCCESS, UPLOAD_EXPIRED,
};
pub use stats::Stats;
pub use store::StoredObject;

pub const ONESHOT_PATH: &str = "/file/upload";
pub const INIT_PATH: &str = "/file/mpupload/init";
pub const UPLOAD_PATH: &str = "/file/mpupload/upload";
pub const COMPLETE_PATH: &str = "/file/mpupload/complete";
pub const CANCEL_PATH: &str = "/file/mpupload/cancel";

/// What the mock accepts. `Default` uses the doc's worked-example credentials (§1d).
#[derive(Clone, Debug)]
pub struct XfyunConfig {
    pub app_id: String,
    pub api_key: String,
    pub api_secret: String,
    /// Largest file `/file/upload` accepts (doc: "< 30 MB" → 30,000,000).
    pub oneshot_max_bytes: u64,
    /// Smallest size of every slice but the last (doc: "5M" = 5 MiB).
    pub min_slice: u64,
    /// Largest slice (doc: 5 GB, taken as 5 GiB).
    pub max_slice: u64,
    /// Highest slice_id (doc: 1…10,000 slices).
    pub max_slices: u32,
    /// Allowed |date − now| in seconds (doc: 300). `u64::MAX` accepts any date.
    pub clock_skew_secs: u64,
    /// Reject a slice_id that is neither the next one nor a re-send (the doc leaves
    /// out-of-order/concurrent slices unconfirmed, so this is off by default).
    pub require_sequential_slices: bool,
    /// upload_id lifetime from `init` (undocumented; `None` = never expires).
    pub upload_ttl: Option<Duration>,
    /// Where slices and objects are stored; `None` = a temp dir removed with the mock.
    pub data_dir: Option<PathBuf>,
    /// Serve every route under this path (`/some/prefix`), as behind a gateway; "" = the root.
    pub path_prefix: String,
}

impl Default for XfyunConfig {
    fn default() -> Self {
        XfyunConfig {
            app_id: "4CC5779A".into(),
            api_key: "apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX".into(),
            api_secret: "apisecretXXXXXXXXXXXXXXXXXXXXXXX".into(),
            oneshot_max_bytes: 30_000_000,
            min_slice: 5_242_880,
            max_slice: 5 * 1024 * 1024 * 1024,
            max_slices: 10_000,
            clock_skew_secs: 300,
            require_sequential_slices: false,
            upload_ttl: None,
            data_dir: None,
            path_prefix: String::new(),
        }
    }
}

impl XfyunConfig {
    /// Doc defaults with these credentials.
    pub fn new(app_id: &str, api_key: &str, api_secret: &str) -> Self {
        XfyunConfig {
            app_id: app_id.into(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            ..Default::default()
        }
    }
}

/// Shared state of one running mock.
pub(crate) struct App {
    cfg: XfyunConfig,
    /// The APISecret accepted now: `cfg.api_secret` until [`XfyunMock::rotate_secret`].
    api_secret: parking_lot::RwLock<String>,
    store: store::Store,
    stats: stats::StatsRecorder,
    faults: Faults,
    issued: crate::Issued,
}

impl MockControl for App {
    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn issued(&self) -> Vec<String> {
        self.issued.all()
    }

    fn state_json(&self) -> serde_json::Value {
        serde_json::json!({
            "stats": self.stats.snapshot(self.faults.fired_total()),
            "objects": self.store.objects(),
            "faults": self.faults.snapshot(),
            "data_dir": self.store.root(),
        })
    }

    fn reset(&self) {
        self.faults.reset();
        self.store.reset();
        self.stats.reset();
    }
}

/// A running xfyun mock on `127.0.0.1`; stops when dropped.
pub struct XfyunMock {
    app: Arc<App>,
    server: ServerHandle,
}

impl XfyunMock {
    /// Starts on a free port. Panics only if loopback cannot be bound or the temp dir created.
    pub async fn start(cfg: XfyunConfig) -> XfyunMock {
        Self::start_on(cfg, 0)
            .await
            .expect("start the xfyun mock on 127.0.0.1")
    }

    /// Starts on `127.0.0.1:port` (0 = any free port).
    pub async fn start_on(cfg: XfyunConfig, port: u16) -> io::Result<XfyunMock> {
        let store = store::Store::open(cfg.data_dir.clone(), cfg.upload_ttl)?;
        let app = Arc::new(App {
            api_secret: parking_lot::RwLock::new(cfg.api_secret.clone()),
            cfg,
            store,
            stats: Default::default(),
            faults: Faults::new(),
            issued: Default::default(),
        });
        let server = server::serve(router(app.clone()), port, &app.cfg.path_prefix).await?;
        Ok(XfyunMock { app, server })
    }

    /// `http://127.0.0.1:PORT`, to use instead of `https://upload-ost-api.xfyun.cn`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.server.addr(), server::normalize_prefix(&self.app.cfg.path_prefix))
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn config(&self) -> &XfyunConfig {
        &self.app.cfg
    }

    /// Fault rules, changeable at any time.
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// Every signature of a request it checked so far: secrets that must never show up on the client's side.
    pub fn issued(&self) -> Vec<String> {
        self.app.issued.all()
    }

    /// Replaces the APISecret the gateway accepts (as when the app's secret is reset in the
    /// console): requests signed with the old one are refused from now on. `config()` keeps
    /// the secret the mock started with.
    pub fn rotate_secret(&self, new_secret: &str) {
        *self.app.api_secret.write() = new_secret.to_owned();
    }

    pub fn stats(&self) -> Stats {
        self.app.stats.snapshot(self.app.faults.fired_total())
    }

    /// Stored objects in creation order. Hashes each file once, on first call (may block).
    pub fn objects(&self) -> Vec<StoredObject> {
        self.app.store.objects()
    }

    pub fn object_path(&self, url: &str) -> Option<PathBuf> {
        self.app.store.object_path(url)
    }

    /// The stored bytes (reads the whole file: mind the size).
    pub fn object_bytes(&self, url: &str) -> Option<Vec<u8>> {
        std::fs::read(self.object_path(url)?).ok()
    }

    /// Directory holding slices and objects.
    pub fn data_dir(&self) -> &Path {
        self.app.store.root()
    }

    /// Forgets uploads, objects, stats and fault rules.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Stops accepting and closes open connections (dropping the mock does the same).
    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route(ONESHOT_PATH, post(handlers::oneshot))
        .route(INIT_PATH, post(handlers::init))
        .route(UPLOAD_PATH, post(handlers::upload_slice))
        .route(COMPLETE_PATH, post(handlers::complete))
        .route(CANCEL_PATH, post(handlers::cancel))
        // The gateway checks the signature before the service sees the request.
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_signature,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(app.clone());
    let faultable = faults::wrap(
        api.merge(sink::routes()),
        app.faults.clone(),
        envelope::fault_renderer(),
    );
    // Outermost, so faulted and refused requests are counted too.
    let counted = faultable.layer(middleware::from_fn_with_state(app.clone(), count_request));
    counted.merge(control::routes(app)).fallback(not_found)
}

async fn count_request(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    app.stats.request(req.uri().path());
    next.run(req).await
}

async fn not_found() -> Response {
    let body = serde_json::json!({ "message": "no Route matched with those values" });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
