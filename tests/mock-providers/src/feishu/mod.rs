//! Mock of Feishu / Lark Drive uploads (open.feishu.cn), per `shared/providers/feishu.md`.
//!
//! Call limits (5 a second, 10,000 a day per upload API) → fault injection → token endpoint,
//! or bearer check → the Drive endpoints; plus the shared `/__sink` and `/__mock/*` routes.
//! Strict where the notes are: 20 MB for `upload_all`, the server's 4 MiB block plan, block
//! sizes, Adler-32 checksums, seq range, no concurrent parts of one upload, every block
//! before finish (1062010), upload ids that expire (1061021), failures as HTTP 200.

mod adler;
mod auth;
mod envelope;
mod folders;
mod form;
mod handlers;
mod limits;
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
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;

use crate::control::{self, MockControl};
use crate::faults::{self, Faults};
use crate::server::{self, ServerHandle};
use crate::sink;

pub use envelope::{default_message, documented_status};
pub use envelope::{
    BLOCK_MISSING, BLOCK_OUT_OF_BOUNDS, CAN_RETRY, CHECKSUM_INVALID, FORBIDDEN, INTERNAL_ERROR,
    INTERNAL_TIMEOUT, INVALID_FILE_NAME, MISSING_TOKEN, NAME_REVIEW_FAILED, NOT_FOUND, NO_SCOPE,
    PARAMS_ERROR, PARENT_NOT_EXIST, RATE_LIMITED, SIZE_MISMATCH, TENANT_QUOTA_EXCEEDED,
    TENANT_TOKEN_INVALID, UPLOAD_ID_EXPIRED, USER_QUOTA_EXCEEDED,
};
pub use folders::MockFolder;
pub use stats::{PartCall, Stats};
pub use store::{Placement, StoredObject};

pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
pub const FILES_UPLOAD_ALL: &str = "/open-apis/drive/v1/files/upload_all";
pub const FILES_PREPARE: &str = "/open-apis/drive/v1/files/upload_prepare";
pub const FILES_PART: &str = "/open-apis/drive/v1/files/upload_part";
pub const FILES_FINISH: &str = "/open-apis/drive/v1/files/upload_finish";
pub const MEDIAS_UPLOAD_ALL: &str = "/open-apis/drive/v1/medias/upload_all";
pub const MEDIAS_PREPARE: &str = "/open-apis/drive/v1/medias/upload_prepare";
pub const MEDIAS_PART: &str = "/open-apis/drive/v1/medias/upload_part";
pub const MEDIAS_FINISH: &str = "/open-apis/drive/v1/medias/upload_finish";
pub const FOLDER_META: &str = "/open-apis/drive/explorer/v2/folder/{token}/meta";
pub const ROOT_FOLDER_META: &str = "/open-apis/drive/explorer/v2/root_folder/meta";
pub const CREATE_FOLDER: &str = "/open-apis/drive/v1/files/create_folder";
pub const LIST_FILES: &str = "/open-apis/drive/v1/files";

/// The upload APIs and create_folder, each limited to 5 calls a second and 10,000 a day
/// (§10, folders.md §2.5).
const LIMITED: [&str; 9] = [
    CREATE_FOLDER,
    FILES_UPLOAD_ALL,
    FILES_PREPARE,
    FILES_PART,
    FILES_FINISH,
    MEDIAS_UPLOAD_ALL,
    MEDIAS_PREPARE,
    MEDIAS_PART,
    MEDIAS_FINISH,
];

/// The doc's example folder token.
pub const DEFAULT_FOLDER: &str = "fldbcO1UuPz8VwnpPx5a92abcef";

/// What the mock accepts. `Default` uses the doc's example app and folder.
#[derive(Clone, Debug)]
pub struct FeishuConfig {
    pub app_id: String,
    pub app_secret: String,
    /// Lifetime of a tenant_access_token (doc: 2 h).
    pub token_ttl: Duration,
    /// The lifetime the token answer states, as sent, whatever the token's real one (`None`
    /// = the truth): a broken server's `0`, `1e12`, `-1`, `1e30` or `"soon"`.
    pub advertised_token_ttl: Option<serde_json::Value>,
    /// Folder tokens that exist and the app may write to (`files/*` parent_node).
    pub folders: Vec<String>,
    /// Largest `upload_all` (doc: 20,971,520 bytes).
    pub oneshot_max: u64,
    /// The block size `upload_prepare` plans with (doc: 4 MiB).
    pub block_size: u64,
    /// Calls a second per upload API (doc: 5).
    pub qps: u64,
    /// Calls per upload API over the mock's lifetime, its "day" (doc: 10,000).
    pub daily_limit: u64,
    /// Upload id lifetime from prepare (doc: 24 h).
    pub upload_ttl: Duration,
    /// Tenant storage quota in bytes (1061101 beyond it); `None` = unlimited.
    pub quota_bytes: Option<u64>,
    /// Answer business errors with the notes' HTTP status instead of HTTP 200.
    pub documented_http_status: bool,
    /// How long a create_folder call stays in progress (a second one meanwhile is refused).
    pub folder_call_hold: Duration,
    /// Where blocks and files are kept; `None` = a temp dir removed with the mock.
    pub data_dir: Option<PathBuf>,
    /// Serve every route under this path (`/some/prefix`), as behind a gateway; "" = the root.
    pub path_prefix: String,
    /// Refuse every block checksum with 1062008, right or wrong (a service whose Adler-32
    /// disagrees; the field is optional).
    pub refuse_block_checksums: bool,
}

impl Default for FeishuConfig {
    fn default() -> Self {
        FeishuConfig {
            app_id: "cli_slkdjalasdkjasd".into(),
            app_secret: "dskLLdkasdjlasdKK".into(),
            token_ttl: Duration::from_secs(7200),
            advertised_token_ttl: None,
            folders: vec![DEFAULT_FOLDER.into()],
            oneshot_max: 20_971_520,
            block_size: 4 << 20,
            qps: 5,
            daily_limit: 10_000,
            upload_ttl: Duration::from_secs(24 * 3600),
            quota_bytes: None,
            documented_http_status: false,
            folder_call_hold: Duration::from_millis(20),
            data_dir: None,
            path_prefix: String::new(),
            refuse_block_checksums: false,
        }
    }
}

/// Which API family a path belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Files,
    Medias,
}

impl Family {
    fn of(path: &str) -> Family {
        if path.starts_with("/open-apis/drive/v1/medias/") {
            Family::Medias
        } else {
            Family::Files
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Family::Files => "files",
            Family::Medias => "medias",
        }
    }
}

pub(crate) struct App {
    cfg: FeishuConfig,
    store: store::Store,
    folders: folders::Folders,
    stats: stats::StatsRecorder,
    limits: Arc<limits::CallLimits>,
    tokens: Mutex<auth::Tokens>,
    faults: Faults,
    issued: crate::Issued,
    policy: envelope::StatusPolicy,
}

impl App {
    fn stats(&self) -> Stats {
        let mut s = self.stats.snapshot();
        s.faults_injected = self.faults.fired_total();
        s.max_calls_per_second = self.limits.max_per_window();
        s.max_part_calls_per_second = [FILES_PART, MEDIAS_PART]
            .iter()
            .filter_map(|p| s.max_calls_per_second.get(*p))
            .copied()
            .max()
            .unwrap_or(0);
        s.max_concurrent_parts_per_upload = self.limits.max_concurrent_parts();
        s
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
            "stats": self.stats(),
            "objects": self.store.objects(),
            "folders": self.folders.all(),
            "faults": self.faults.snapshot(),
            "data_dir": self.store.root(),
        })
    }

    fn reset(&self) {
        self.faults.reset();
        self.store.reset();
        self.folders.reset();
        self.stats.reset();
        self.limits.reset();
        self.tokens.lock().expire_all();
    }
}

/// A running Feishu mock on `127.0.0.1`; stops when dropped.
pub struct FeishuMock {
    app: Arc<App>,
    server: ServerHandle,
}

impl FeishuMock {
    /// Starts on a free port. Panics only if loopback cannot be bound or the temp dir created.
    pub async fn start(cfg: FeishuConfig) -> FeishuMock {
        Self::start_on(cfg, 0)
            .await
            .expect("start the feishu mock on 127.0.0.1")
    }

    pub async fn start_on(cfg: FeishuConfig, port: u16) -> io::Result<FeishuMock> {
        let store = store::Store::open(cfg.data_dir.clone(), cfg.upload_ttl)?;
        let policy = envelope::StatusPolicy {
            documented: cfg.documented_http_status,
        };
        let app = Arc::new(App {
            cfg,
            store,
            folders: Default::default(),
            stats: Default::default(),
            limits: Default::default(),
            tokens: Default::default(),
            faults: Faults::new(),
            issued: Default::default(),
            policy,
        });
        let server = server::serve(router(app.clone()), port, &app.cfg.path_prefix).await?;
        Ok(FeishuMock { app, server })
    }

    /// `http://127.0.0.1:PORT`, to use instead of `https://open.feishu.cn`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.server.addr(), server::normalize_prefix(&self.app.cfg.path_prefix))
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn config(&self) -> &FeishuConfig {
        &self.app.cfg
    }

    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// Every access token so far: secrets that must never show up on the client's side.
    pub fn issued(&self) -> Vec<String> {
        self.app.issued.all()
    }

    pub fn stats(&self) -> Stats {
        self.app.stats()
    }

    /// Stored files in creation order (hashes each once, on first call: may block).
    pub fn objects(&self) -> Vec<StoredObject> {
        self.app.store.objects()
    }

    /// Folders made by create_folder, in creation order.
    pub fn folders(&self) -> Vec<MockFolder> {
        self.app.folders.all()
    }

    /// create_folder calls that made a folder.
    pub fn folders_created(&self) -> u64 {
        self.app.folders.all().len() as u64
    }

    /// create_folder calls that arrived while another was being handled (Feishu forbids it).
    pub fn concurrent_folder_calls(&self) -> u64 {
        self.app.folders.overlaps()
    }

    pub fn object_path(&self, file_token: &str) -> Option<PathBuf> {
        self.app.store.object_path(file_token)
    }

    pub fn data_dir(&self) -> &Path {
        self.app.store.root()
    }

    /// Every upload id in progress expires now (as if 24 hours had passed); returns how many.
    pub fn expire_uploads(&self) -> usize {
        self.app.store.expire_uploads()
    }

    /// Every issued token stops being valid now (calls answer 99991663 until a new one).
    pub fn expire_tokens(&self) {
        self.app.tokens.lock().expire_all();
    }

    pub fn reset(&self) {
        self.app.reset();
    }

    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

fn router(app: Arc<App>) -> Router {
    let drive = Router::new()
        .route(FILES_UPLOAD_ALL, post(handlers::upload_all))
        .route(MEDIAS_UPLOAD_ALL, post(handlers::upload_all))
        .route(FILES_PREPARE, post(handlers::prepare))
        .route(MEDIAS_PREPARE, post(handlers::prepare))
        .route(FILES_PART, post(handlers::upload_part))
        .route(MEDIAS_PART, post(handlers::upload_part))
        .route(FILES_FINISH, post(handlers::finish))
        .route(MEDIAS_FINISH, post(handlers::finish))
        .route(FOLDER_META, get(handlers::folder_meta))
        .route(CREATE_FOLDER, post(folders::create_folder))
        .route(LIST_FILES, get(folders::list))
        .route(ROOT_FOLDER_META, get(handlers::root_meta))
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(app.clone());
    let token = Router::new()
        .route(TOKEN_PATH, post(auth::issue))
        .with_state(app.clone());
    let faultable = faults::wrap(
        drive.merge(token).merge(sink::routes()),
        app.faults.clone(),
        envelope::fault_renderer(app.policy),
    );
    // Limits see every call, faulted ones included; counting is outermost.
    let limited = faultable.layer(middleware::from_fn_with_state(app.clone(), limit_calls));
    let counted = limited.layer(middleware::from_fn_with_state(app.clone(), count_request));
    counted.merge(control::routes(app)).fallback(not_found)
}

async fn count_request(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    app.stats
        .update(|s| *s.requests_by_endpoint.entry(path).or_default() += 1);
    next.run(req).await
}

/// Over 5 a second or 10,000 a day: `1061045` "can retry" (HTTP 200), as §10 documents.
async fn limit_calls(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !LIMITED.contains(&path) {
        return next.run(req).await;
    }
    match app.limits.arrive(path, app.cfg.qps, app.cfg.daily_limit) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            crate::body::drain(req.into_body()).await;
            let detail = match why {
                limits::Refusal::Rate => {
                    app.stats.update(|s| s.refused_rate += 1);
                    format!("more than {} calls in one second", app.cfg.qps)
                }
                limits::Refusal::Daily => {
                    app.stats.update(|s| s.refused_daily += 1);
                    format!("more than {} calls today", app.cfg.daily_limit)
                }
            };
            app.policy
                .failure(&envelope::BizError::new(CAN_RETRY, detail))
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "code": 404, "msg": "404 page not found" })),
    )
        .into_response()
}
