//! Logs go to `<data dir>/logs/ferry.log`; the CLI also prints warnings to stderr.
//! Secrets never reach a log: they are `Secret`s, whose Debug is `<redacted>`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

const KEEP_DAYS: usize = 14;

pub fn init(data_dir: &Path, gui: bool) -> Option<WorkerGuard> {
    let filter = || EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let dir = data_dir.join("logs");
    // One file a day, the last 14 kept: Ferry runs for weeks in the tray.
    let file = std::fs::create_dir_all(&dir).ok().and_then(|_| {
        tracing_appender::rolling::RollingFileAppender::builder()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("ferry.log")
            .max_log_files(KEEP_DAYS)
            .build(&dir)
            .ok()
    });
    let (file_layer, guard) = match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter())), Some(guard))
        }
        None => (None, None),
    };
    let stderr_level = if gui { "info" } else { "warn" };
    let stderr_layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new(stderr_level)));
    let _ = tracing_subscriber::registry().with(file_layer).with(stderr_layer).try_init();
    guard
}
