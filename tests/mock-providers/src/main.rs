//! `ferry-mock`: runs a provider mock on 127.0.0.1 until killed.
//!
//! `ferry-mock xfyun --port 0 --app-id A --api-key K --api-secret S` prints
//! `listening on http://127.0.0.1:PORT` once bound. Faults and state: `/__mock/*`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ferry_mock_providers::{XfyunConfig, XfyunMock};

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
    let Provider::Xfyun(args) = cli.provider;
    let port = args.port;
    let mock = match XfyunMock::start_on(args.config(), port).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("ferry-mock: cannot start on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", mock.base_url());
    // Callers parse this line from a pipe: make sure it is not stuck in a buffer.
    let _ = std::io::stdout().flush();
    wait_for_stop_signal().await;
    // Dropping the mock also removes its temp data dir (a benchmark may leave GiBs there).
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
