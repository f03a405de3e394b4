//! `ferry-mock`: runs a provider mock on 127.0.0.1 until killed.
//!
//! `ferry-mock xfyun --port 0 --app-id A --api-key K --api-secret S` prints
//! `listening on http://127.0.0.1:PORT` once bound. `ferry-mock dingtalk | feishu | pds
//! [--port P] [--prefix /some/prefix]` serve those providers with their default settings and
//! also print the `ferry account add` command to use them. Faults and state: `/__mock/*`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ferry_mock_providers::{DingtalkConfig, DingtalkMock, FeishuConfig, FeishuMock, PdsConfig, PdsMock, XfyunConfig, XfyunMock};

#[derive(Parser)]
#[command(
    name = "ferry-mock",
    about = "Strict loopback mocks of Ferry's upload providers"
)]
struct Cli {
    #[command(subcommand)]
    provider: Provider,
}

#[derive(Subcommand)]
enum Provider {
    /// iFlytek OST upload service (upload-ost-api.xfyun.cn).
    Xfyun(XfyunArgs),
    /// DingTalk storage (api.dingtalk.com), default app, space and user.
    Dingtalk(Mount),
    /// Feishu / Lark Drive (open.feishu.cn), default app and folder.
    Feishu(Mount),
    /// Alibaba Cloud PDS, default domain, drive and client.
    Pds(Mount),
}

/// Where a mock with default settings listens.
#[derive(clap::Args)]
struct Mount {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve under this path, as behind a gateway (`/some/prefix`).
    #[arg(long, default_value = "")]
    prefix: String,
}

#[derive(clap::Args)]
struct XfyunArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long)]
    app_id: String,
    #[arg(long)]
    api_key: String,
    #[arg(long)]
    api_secret: String,
    /// Largest one-shot /file/upload body in bytes.
    #[arg(long)]
    oneshot_max: Option<u64>,
    /// Smallest non-last slice in bytes.
    #[arg(long)]
    min_slice: Option<u64>,
    /// Allowed clock skew of the `date` header, in seconds.
    #[arg(long)]
    clock_skew_secs: Option<u64>,
    /// Reject out-of-order slice ids.
    #[arg(long)]
    sequential_slices: bool,
    /// upload_id lifetime in seconds (default: never expires).
    #[arg(long)]
    upload_ttl_secs: Option<u64>,
    /// Keep slices and objects here instead of a temp dir.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl XfyunArgs {
    fn config(self) -> XfyunConfig {
        let defaults = XfyunConfig::new(&self.app_id, &self.api_key, &self.api_secret);
        XfyunConfig {
            oneshot_max_bytes: self.oneshot_max.unwrap_or(defaults.oneshot_max_bytes),
            min_slice: self.min_slice.unwrap_or(defaults.min_slice),
            clock_skew_secs: self.clock_skew_secs.unwrap_or(defaults.clock_skew_secs),
            require_sequential_slices: self.sequential_slices,
            upload_ttl: self.upload_ttl_secs.map(Duration::from_secs),
            data_dir: self.data_dir,
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Each arm keeps its mock alive until the stop signal; dropping it removes its temp data.
    let started = match cli.provider {
        Provider::Xfyun(args) => {
            let port = args.port;
            XfyunMock::start_on(args.config(), port).await.map(|m| (m.base_url(), None, Box::new(m) as Box<dyn Send>))
        }
        Provider::Dingtalk(m) => {
            let cfg = DingtalkConfig { path_prefix: m.prefix, ..DingtalkConfig::default() };
            DingtalkMock::start_on(cfg, m.port).await.map(|mock| {
                let c = mock.config();
                let add = format!(
                    "printf 'app_secret={}\\n' | ferry account add mock-dingtalk --provider dingtalk --endpoint {} --set app_key={} --set union_id={} --set space_id={}",
                    c.app_secret, mock.base_url(), c.app_key, c.union_id(), c.space_id
                );
                (mock.base_url(), Some(add), Box::new(mock) as Box<dyn Send>)
            })
        }
        Provider::Feishu(m) => {
            let cfg = FeishuConfig { path_prefix: m.prefix, ..FeishuConfig::default() };
            FeishuMock::start_on(cfg, m.port).await.map(|mock| {
                let c = mock.config();
                let add = format!(
                    "printf 'app_secret={}\\n' | ferry account add mock-feishu --provider feishu --endpoint {} --set app_id={} --set parent_node={}",
                    c.app_secret, mock.base_url(), c.app_id, ferry_mock_providers::feishu::DEFAULT_FOLDER
                );
                (mock.base_url(), Some(add), Box::new(mock) as Box<dyn Send>)
            })
        }
        Provider::Pds(m) => {
            let cfg = PdsConfig { path_prefix: m.prefix, ..PdsConfig::default() };
            PdsMock::start_on(cfg, m.port).await.map(|mock| {
                let c = mock.config();
                let add = format!(
                    "printf 'client_secret={}\\nrefresh_token={}\\n' | ferry account add mock-pds --provider pds --endpoint {} --set domain_id={} --set drive_id={} --set client_id={}",
                    c.client_secret, c.refresh_token, mock.base_url(), c.domain_id, c.drive_id, c.client_id
                );
                (mock.base_url(), Some(add), Box::new(mock) as Box<dyn Send>)
            })
        }
    };
    let (url, add, mock) = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferry-mock: cannot start on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {url}");
    if let Some(add) = add {
        println!("account: {add}");
    }
    // Callers parse these lines from a pipe: make sure they are not stuck in a buffer.
    let _ = std::io::stdout().flush();
    wait_for_stop_signal().await;
    drop(mock);
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what `kill` and test harnesses send).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
