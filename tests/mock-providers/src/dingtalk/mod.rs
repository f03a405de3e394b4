//! Mock of DingTalk storage 1.0 (`api.dingtalk.com`) and the OSS host its signed part URLs
//! point at, per `shared/providers/dingtalk.md`.
//!
//! * `POST /v1.0/oauth2/accessToken` (§1a): tokens with a configurable lifetime; asking
//!   again while one is valid returns the same token and extends it.
//! * `InitMultipartFileUpload` (§2), `GetMultipartFileUploadInfos` (§3, ≤ 30 part numbers in
//!   1..10000), `GetFileUploadInfo` (§6), `CommitFile` (§5, with the four conflict strategies
//!   and `option.size`), each behind the gateway's checks: raw token header, the app's
//!   permissions, the operator's `unionId`, a per-API QPS limit and the org's monthly quota.
//! * `PUT /oss/primary?Signature=…` and `/oss/fallback?…` (§4): signed URLs that expire and
//!   demand exactly the signed headers and a Content-Length; parts stored on disk.
//! * Faults: the shared `/__mock/faults` rules (a `business_error` rule's `message` names the
//!   DingTalk code, its `code` the HTTP status, see [`errors::fault_renderer`]), plus lost
//!   answers (the request is applied, then the connection drops before the answer).

mod errors;
mod folders;
mod gateway;
mod handlers;
mod lost;
mod oss;
mod stats;
mod store;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};

use crate::control::{self, MockControl};
use crate::faults::{self, Faults};
use crate::server::{self, ServerHandle};
use crate::sink;

pub use errors::{
    default_message, status_of, API_COUNT_LIMIT_ORG, DOCUMENTED, FILE_EXISTS,
    INVALID_AUTHENTICATION, IP_BAN_PAGE, IP_NOT_IN_WHITELIST, NO_PRIVILEDGE, OPERATION_TIMEOUT,
    PARAM_ERROR, PARAM_ERROR_PART_NUMBERS, PARAM_ERROR_UPLOAD_KEY, PERMISSION_DENIED,
    QPS_LIMIT_API, QPS_LIMIT_APP_API, SERVICE_UNAVAILABLE, SPACE_QUOTA_EXCEEDED, SYSTEM_ERROR,
    UNKNOWN_ERROR,
};
pub use folders::MockFolder;
pub use stats::Stats;
pub use store::StoredFile;

pub const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
pub const PART_INFOS_PATH: &str = "/v1.0/storage/spaces/files/multiPartUploadInfos/query";
pub const PUT_PRIMARY_PATH: &str = "/oss/primary";
pub const PUT_FALLBACK_PATH: &str = "/oss/fallback";
pub const LOSE_ANSWERS_PATH: &str = "/__mock/dingtalk/lose-answers";
pub const EXPIRE_TOKENS_PATH: &str = "/__mock/dingtalk/expire-tokens";

pub fn init_path(space_id: &str) -> String {
    format!("/v1.0/storage/spaces/{space_id}/files/multiPartUploadInfos/init")
}

pub fn upload_info_path(space_id: &str) -> String {
    format!("/v1.0/storage/spaces/{space_id}/files/uploadInfos/query")
}

pub fn commit_path(space_id: &str) -> String {
    format!("/v1.0/storage/spaces/{space_id}/files/commit")
}

pub const UPLOAD_INFO_READ: &str = "Storage.UploadInfo.Read";
pub const FILE_WRITE: &str = "Storage.File.Write";
pub const FILE_READ: &str = "Storage.File.Read";

/// What the mock accepts and how it behaves where the notes say "(unconfirmed)".
#[derive(Clone, Debug)]
pub struct DingtalkConfig {
    pub app_key: String,
    pub app_secret: String,
    pub space_id: String,
    /// unionIds allowed to operate on the space; anyone else gets `no.priviledge`.
    pub members: Vec<String>,
    /// Folder ids that exist in the space besides the root `"0"`.
    pub folders: Vec<String>,
    /// The app's permissions (§0): all three by default.
    pub permissions: Vec<String>,
    /// Access-token lifetime (doc: 7200 s).
    pub token_ttl: Duration,
    /// The lifetime the token answer states, as sent, whatever the token's real one (`None`
    /// = the truth): a broken server's `0`, `1e12`, `-1`, `1e30` or `"soon"`.
    pub advertised_token_ttl: Option<serde_json::Value>,
    /// Signed-URL lifetime, `expirationSeconds` (doc example: 900 s).
    pub url_ttl_secs: u64,
    /// Signatures stop working after this, whatever `expirationSeconds` says (a storage host
    /// whose clock runs ahead); `None` = exactly `url_ttl_secs`.
    pub url_real_ttl: Option<Duration>,
    /// `resourceUrls` per part (≤ 10; the first is preferred).
    pub urls_per_part: usize,
    /// The first `resourceUrl` of every part names a port where nothing listens (a storage
    /// host that is down), with the signature in its query as the others.
    pub unreachable_first_url: bool,
    /// Calls per second per API per app (doc: 20); `None` = no limit.
    pub qps_per_api: Option<u32>,
    /// Metered storage calls the org may still make this month; `None` = no limit.
    pub monthly_quota: Option<u64>,
    /// Bytes the space may hold; `None` = no limit.
    pub capacity: Option<u64>,
    /// Smallest part (doc: 100 KB; taken as 100 KiB, the stricter reading).
    pub min_part: u64,
    /// Largest part (doc: 5 GB).
    pub max_part: u64,
    pub max_parts: u32,
    /// Part numbers per info query (doc: 30).
    pub max_batch: usize,
    /// The last part may be smaller than `min_part`, as in OSS (unconfirmed).
    pub small_last_part: bool,
    /// A committed uploadKey can be committed again and makes another file (unconfirmed; the
    /// pessimistic reading, so a client that blindly re-commits shows up as a duplicate).
    pub reusable_upload_key: bool,
    /// uploadKey lifetime (unconfirmed; `None` = never expires).
    pub upload_key_ttl: Option<Duration>,
    /// Where parts and files are stored; `None` = a temp dir removed with the mock.
    pub data_dir: Option<PathBuf>,
    /// Serve every route under this path (`/some/prefix`), as behind a gateway; "" = the root.
    pub path_prefix: String,
}

impl Default for DingtalkConfig {
    fn default() -> Self {
        DingtalkConfig {
            app_key: "dingmockappkey0001".into(),
            app_secret: "mock-app-secret-0123456789abcdef".into(),
            space_id: "2256226585".into(),
            members: vec!["chyMockUnionId0001".into()],
            folders: vec![],
            permissions: vec![UPLOAD_INFO_READ.into(), FILE_WRITE.into(), FILE_READ.into()],
            token_ttl: Duration::from_secs(7200),
            advertised_token_ttl: None,
            url_ttl_secs: 900,
            url_real_ttl: None,
            urls_per_part: 2,
            unreachable_first_url: false,
            qps_per_api: Some(20),
            monthly_quota: None,
            capacity: None,
            min_part: 100 * 1024,
            max_part: 5_000_000_000,
            max_parts: 10_000,
            max_batch: 30,
            small_last_part: true,
            reusable_upload_key: true,
            upload_key_ttl: None,
            data_dir: None,
            path_prefix: String::new(),
        }
    }
}

impl DingtalkConfig {
    /// The first member: the operator tests act as.
    pub fn union_id(&self) -> &str {
        self.members.first().map_or("", String::as_str)
    }
}

/// Shared state of one running mock.
pub(crate) struct App {
    cfg: DingtalkConfig,
    base: OnceLock<String>,
    gateway: gateway::Gateway,
    store: store::Store,
    folders: folders::Folders,
    grants: oss::Grants,
    lost: lost::LostAnswers,
    stats: stats::StatsRecorder,
    faults: Faults,
    issued: crate::Issued,
    /// One commit at a time: name checks and file creation must not interleave.
    commit_lock: tokio::sync::Mutex<()>,
}

impl App {
    fn base_url(&self) -> &str {
        self.base.get().map_or("http://127.0.0.1", String::as_str)
    }
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
            "folders": self.folders.all(),
            "faults": self.faults.snapshot(),
            "data_dir": self.store.root(),
        })
    }

    fn reset(&self) {
        self.faults.reset();
        self.lost.clear();
        self.store.reset();
        self.folders.reset();
        self.grants.clear();
        self.gateway.reset();
        self.stats.reset();
    }
}

/// A running DingTalk mock on `127.0.0.1`; stops when dropped.
pub struct DingtalkMock {
    app: Arc<App>,
    server: ServerHandle,
}

impl DingtalkMock {
    /// Starts on a free port. Panics only if loopback cannot be bound or the temp dir created.
    pub async fn start(cfg: DingtalkConfig) -> DingtalkMock {
        Self::start_on(cfg, 0)
            .await
            .expect("start the dingtalk mock on 127.0.0.1")
    }

    /// Starts on `127.0.0.1:port` (0 = any free port).
    pub async fn start_on(cfg: DingtalkConfig, port: u16) -> io::Result<DingtalkMock> {
        let store = store::Store::open(cfg.data_dir.clone(), cfg.upload_key_ttl)?;
        let app = Arc::new(App {
            gateway: gateway::Gateway::new(cfg.qps_per_api, cfg.monthly_quota),
            cfg,
            base: OnceLock::new(),
            store,
            folders: Default::default(),
            grants: Default::default(),
            lost: Default::default(),
            stats: Default::default(),
            faults: Faults::new(),
            issued: Default::default(),
            commit_lock: Default::default(),
        });
        let server = server::serve(router(app.clone()), port, &app.cfg.path_prefix).await?;
        let _ = app.base.set(format!("http://{}{}", server.addr(), server::normalize_prefix(&app.cfg.path_prefix)));
        Ok(DingtalkMock { app, server })
    }

    /// `http://127.0.0.1:PORT`, to use instead of `https://api.dingtalk.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.server.addr(), server::normalize_prefix(&self.app.cfg.path_prefix))
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn config(&self) -> &DingtalkConfig {
        &self.app.cfg
    }

    /// Fault rules, changeable at any time.
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// Every access token and URL signature handed out so far.
    pub fn issued(&self) -> Vec<String> {
        self.app.issued.all()
    }

    /// Drops the answer of the next `times` successful requests to `path` after applying them.
    pub fn lose_answers(&self, path: &str, times: u64) {
        self.app.lost.add(path, times);
    }

    /// Revokes the current token (as DingTalk does when the app's secret is reset): it is
    /// refused from now on, and so is the next call whatever token it presents, so a
    /// client's refusal path runs even if it fetched a fresh token just before.
    pub fn revoke_token(&self) {
        self.app.gateway.revoke_token();
    }

    /// Ends the current token's life now (as if its lifetime had run out).
    pub fn expire_tokens(&self) {
        self.app.gateway.expire_tokens();
    }

    pub fn stats(&self) -> Stats {
        self.app.stats.snapshot(self.app.faults.fired_total())
    }

    /// Every PUT the storage host accepted, in order: (when, uploadKey, part number; 0 = a
    /// single-shot file).
    pub fn accepted_puts(&self) -> Vec<(std::time::Instant, String, u32)> {
        self.app.stats.accepted()
    }

    /// Files in the space, in creation order (hashes each on first call: may block).
    pub fn files(&self) -> Vec<StoredFile> {
        self.app.store.files()
    }

    /// Folders made by `AddFolder`, in creation order.
    pub fn folders(&self) -> Vec<MockFolder> {
        self.app.folders.all()
    }

    /// `AddFolder` calls answered (made or returned existing).
    pub fn folder_calls(&self) -> u64 {
        self.app.folders.calls()
    }

    /// Where a file's bytes are.
    pub fn file_path(&self, dentry_id: &str) -> Option<PathBuf> {
        self.app.store.file_path(dentry_id)
    }

    pub fn data_dir(&self) -> &Path {
        self.app.store.root()
    }

    /// Forgets tokens, uploads, files, stats and fault rules.
    pub fn reset(&self) {
        self.app.reset();
    }

    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route(TOKEN_PATH, post(gateway::access_token))
        .route(
            "/v1.0/storage/spaces/{space_id}/files/multiPartUploadInfos/init",
            post(handlers::init),
        )
        .route(PART_INFOS_PATH, post(handlers::part_infos))
        .route(
            "/v1.0/storage/spaces/{space_id}/files/uploadInfos/query",
            post(handlers::upload_info),
        )
        .route(
            "/v1.0/storage/spaces/{space_id}/files/commit",
            post(handlers::commit),
        )
        .route(
            "/v1.0/storage/spaces/{space_id}/dentries/{parent_id}/folders",
            post(folders::add_folder),
        )
        .route(
            "/v1.0/storage/spaces/{space_id}/dentries",
            axum::routing::get(folders::list_dentries),
        )
        .route(PUT_PRIMARY_PATH, put(oss::put_object))
        .route(PUT_FALLBACK_PATH, put(oss::put_object))
        .with_state(app.clone())
        .layer(axum::extract::DefaultBodyLimit::disable());
    // Lost answers sit inside the fault layer: a faulted request never reaches the handler.
    let api = api.layer(middleware::from_fn_with_state(app.clone(), lost::apply));
    let faultable = faults::wrap(
        api.merge(sink::routes()),
        app.faults.clone(),
        errors::fault_renderer(),
    );
    let counted = faultable.layer(middleware::from_fn_with_state(app.clone(), count_request));
    let own_control = Router::new()
        .route(LOSE_ANSWERS_PATH, post(lost::control))
        .route(EXPIRE_TOKENS_PATH, post(gateway::expire_control))
        .with_state(app.clone());
    counted
        .merge(own_control)
        .merge(control::routes(app))
        .fallback(not_found)
}

async fn count_request(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    app.stats.request(req.uri().path());
    next.run(req).await
}

async fn not_found() -> Response {
    let body = serde_json::json!({ "code": "NotFound", "message": "no such API" });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
