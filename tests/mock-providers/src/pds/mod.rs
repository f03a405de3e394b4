//! Mock of Alibaba Cloud PDS (`{domain}.api.aliyunpds.com` + its object storage), per
//! `shared/providers/pds.md` and seed 003 — not per Ferry's client.
//!
//! * `POST /v2/oauth/token`: refresh_token grant with rotation ([`auth`]).
//! * `POST /v2/file/create`: part list, `pre_hash` probe (409 `PreHashMatched`),
//!   `content_hash` rapid upload against content it holds, `check_name_mode`, revisions
//!   (`file_id`), parallel mode with validated `parallel_sha1_ctx`, drive quota.
//! * `POST /v2/file/get_upload_url`, `/v2/file/list_uploaded_parts` (paginated),
//!   `/v2/file/complete` (checks every part, sizes and the SHA-1 against `content_hash`),
//!   `/v2/file/get`, `/v2/drive/get`.
//! * `PUT /data/part?…`: pre-signed part URLs ([`data`]).
//! * Faults (`/__mock/faults`), state, reset, and `POST /__mock/pds/expire` with
//!   `{"access_tokens":true,"upload_urls":true}`.
//!
//! Fault rules' `business_error` on API paths uses `code` as the HTTP status and `message`
//! as the PDS code (`{"code":401,"message":"AccessTokenExpired"}`); on `/data/part`,
//! `message` is the OSS code.

mod auth;
mod data;
mod error;
mod handlers;
mod midstate;
mod stats;
mod store;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};

use crate::control::{self, MockControl};
use crate::faults::{self, Faults};
use crate::server::{self, ServerHandle};
use crate::sink;

pub use data::DATA_PATH;
pub use stats::PdsStats;
pub use store::{FileStatus, PdsFile};

pub const TOKEN_PATH: &str = "/v2/oauth/token";
pub const CREATE_PATH: &str = "/v2/file/create";
pub const GET_UPLOAD_URL_PATH: &str = "/v2/file/get_upload_url";
pub const LIST_PARTS_PATH: &str = "/v2/file/list_uploaded_parts";
pub const COMPLETE_PATH: &str = "/v2/file/complete";
pub const FILE_GET_PATH: &str = "/v2/file/get";
pub const DRIVE_GET_PATH: &str = "/v2/drive/get";
pub const FILE_LIST_PATH: &str = "/v2/file/list";

/// What the mock accepts and how it behaves.
#[derive(Clone, Debug)]
pub struct PdsConfig {
    pub domain_id: String,
    pub drive_id: String,
    pub drive_name: String,
    pub client_id: String,
    pub client_secret: String,
    /// The refresh token the first grant must present.
    pub refresh_token: String,
    /// `expires_in` of access tokens (doc: about 2 h).
    pub access_token_ttl: Duration,
    /// The lifetime the token answer states, as sent, whatever the token's real one (`None`
    /// = the truth): a broken server's `0`, `1e12`, `-1`, `1e30` or `"soon"`.
    pub advertised_token_ttl: Option<serde_json::Value>,
    /// Lifetime of part URLs (doc: 15 min).
    pub upload_url_ttl: Duration,
    /// Whether `parallel_upload: true` is allowed (else `InvalidParameterNotSupported.ParallelUpload`).
    pub parallel_supported: bool,
    /// Most parts per `list_uploaded_parts` page, whatever `limit` asks (doc: ≤ 100).
    pub list_page_max: u32,
    /// Smallest part except the last, checked at complete (doc §9: 100 KiB).
    pub min_part: u64,
    pub max_parts: u32,
    pub drive_quota: u64,
    /// Folder ids besides `root` that exist.
    pub folders: Vec<String>,
    /// Upload sessions die after this (doc: 10 days); `None` = never.
    pub upload_ttl: Option<Duration>,
    /// Where parts and content are stored; `None` = a temp dir removed with the mock.
    pub data_dir: Option<PathBuf>,
    /// Serve every route under this path (`/some/prefix`), as behind a gateway; "" = the root.
    pub path_prefix: String,
    /// `next_part_number_marker` as an opaque token (the docs' example looks like base64)
    /// instead of the part number as a string (the 2022 SDK's `"4"`).
    pub opaque_markers: bool,
}

impl Default for PdsConfig {
    fn default() -> Self {
        PdsConfig {
            domain_id: "bj1".into(),
            drive_id: "1".into(),
            drive_name: "mock drive".into(),
            client_id: "1ZuMockClientflH".into(),
            client_secret: "80DMockSecret3i5".into(),
            refresh_token: "399623e13353490391266c7d48a13ed1".into(),
            access_token_ttl: Duration::from_secs(7200),
            advertised_token_ttl: None,
            upload_url_ttl: Duration::from_secs(900),
            parallel_supported: true,
            list_page_max: 100,
            min_part: 100 * 1024,
            max_parts: 10_000,
            drive_quota: 1 << 50,
            folders: vec![],
            upload_ttl: None,
            data_dir: None,
            path_prefix: String::new(),
            opaque_markers: false,
        }
    }
}

pub(crate) struct App {
    cfg: PdsConfig,
    store: store::Store,
    tokens: auth::Tokens,
    stats: stats::StatsRecorder,
    faults: Faults,
    issued: crate::Issued,
    /// Signs part URLs.
    url_key: [u8; 32],
    /// Part URLs issued before this (Unix ms) are expired.
    urls_valid_from: AtomicU64,
    parallel_supported: AtomicBool,
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
            "files": self.store.files(),
            "refresh_tokens": self.tokens.valid_refresh_tokens(),
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

/// A running PDS mock on `127.0.0.1`; stops when dropped.
pub struct PdsMock {
    app: Arc<App>,
    server: ServerHandle,
}

impl PdsMock {
    pub async fn start(cfg: PdsConfig) -> PdsMock {
        Self::start_on(cfg, 0)
            .await
            .expect("start the PDS mock on 127.0.0.1")
    }

    pub async fn start_on(cfg: PdsConfig, port: u16) -> io::Result<PdsMock> {
        let store = store::Store::open(cfg.data_dir.clone(), cfg.upload_ttl)?;
        let mut url_key = [0u8; 32];
        for (i, b) in url_key.iter_mut().enumerate() {
            *b = (store::next_seq().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (i % 8)) as u8
                ^ (std::process::id() as u8);
        }
        let app = Arc::new(App {
            tokens: auth::Tokens::new(&cfg.refresh_token),
            parallel_supported: AtomicBool::new(cfg.parallel_supported),
            cfg,
            store,
            stats: Default::default(),
            faults: Faults::new(),
            issued: Default::default(),
            url_key,
            urls_valid_from: AtomicU64::new(0),
        });
        let server = server::serve(router(app.clone()), port, &app.cfg.path_prefix).await?;
        Ok(PdsMock { app, server })
    }

    /// `http://127.0.0.1:PORT`: the account's endpoint (instead of `https://{domain}.api.aliyunpds.com`).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.server.addr(), server::normalize_prefix(&self.app.cfg.path_prefix))
    }

    pub fn config(&self) -> &PdsConfig {
        &self.app.cfg
    }

    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// Every access and refresh token and part-URL signature so far: secrets that must never show up on the client's side.
    pub fn issued(&self) -> Vec<String> {
        self.app.issued.all()
    }

    pub fn stats(&self) -> PdsStats {
        self.app.stats.snapshot(self.app.faults.fired_total())
    }

    /// Every file record in creation order, with the SHA-1 of its stored bytes (hashed from
    /// disk on first call: may block).
    pub fn files(&self) -> Vec<PdsFile> {
        self.app.store.files()
    }

    pub fn file_path(&self, file_id: &str) -> Option<PathBuf> {
        self.app.store.file_path(file_id)
    }

    /// Makes the service hold `bytes` already (as if another user had uploaded them), so a
    /// create with their hashes is a rapid upload.
    pub fn hold_content(&self, bytes: &[u8]) {
        let path = self.app.store.new_blob_path();
        std::fs::write(&path, bytes).expect("write held content");
        self.app.store.hold(path).expect("hold content");
    }

    /// The refresh tokens the token endpoint accepts now (the current one first).
    pub fn valid_refresh_tokens(&self) -> Vec<String> {
        self.app.tokens.valid_refresh_tokens()
    }

    /// The refresh token of the newest grant in use.
    pub fn current_refresh_token(&self) -> String {
        self.app.tokens.confirmed_refresh_token()
    }

    /// Every access token issued so far is expired from now on.
    pub fn expire_access_tokens(&self) {
        self.app.tokens.expire_access_tokens();
    }

    /// Every part URL issued so far is expired from now on.
    pub fn expire_upload_urls(&self) {
        self.app
            .urls_valid_from
            .store(data::unix_millis() + 1, Ordering::Relaxed);
    }

    pub fn set_parallel_supported(&self, yes: bool) {
        self.app.parallel_supported.store(yes, Ordering::Relaxed);
    }

    pub fn data_dir(&self) -> &Path {
        self.app.store.root()
    }

    /// Forgets files, uploads, content, stats and fault rules (tokens stay).
    pub fn reset(&self) {
        self.app.reset();
    }

    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route(TOKEN_PATH, post(handlers::token))
        .route(CREATE_PATH, post(handlers::create))
        .route(GET_UPLOAD_URL_PATH, post(handlers::get_upload_url))
        .route(LIST_PARTS_PATH, post(handlers::list_uploaded_parts))
        .route(COMPLETE_PATH, post(handlers::complete))
        .route(FILE_GET_PATH, post(handlers::file_get))
        .route(DRIVE_GET_PATH, post(handlers::drive_get))
        .route(FILE_LIST_PATH, post(handlers::file_list))
        .with_state(app.clone());
    let data = Router::new()
        .route(DATA_PATH, put(data::put_part))
        .layer(DefaultBodyLimit::disable())
        .with_state(app.clone());
    let faultable = faults::wrap(
        api.merge(sink::routes()),
        app.faults.clone(),
        error::api_fault_renderer(),
    )
    .merge(faults::wrap(
        data,
        app.faults.clone(),
        error::data_fault_renderer(),
    ));
    let counted = faultable.layer(middleware::from_fn_with_state(app.clone(), count_request));
    let expire = Router::new()
        .route("/__mock/pds/expire", post(expire))
        .with_state(app.clone());
    counted
        .merge(control::routes(app))
        .merge(expire)
        .fallback(not_found)
}

async fn count_request(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    app.stats.request(req.uri().path());
    next.run(req).await
}

async fn expire(State(app): State<Arc<App>>, Json(what): Json<serde_json::Value>) -> Response {
    if what["access_tokens"] == true {
        app.tokens.expire_access_tokens();
    }
    if what["upload_urls"] == true {
        app.urls_valid_from
            .store(data::unix_millis() + 1, Ordering::Relaxed);
    }
    Json(serde_json::json!({ "ok": true })).into_response()
}

async fn not_found() -> Response {
    error::ApiError::new(404, "NotFound", "no such API").into_response()
}
