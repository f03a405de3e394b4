//! `ferry`'s command line, without a window: this crate never depends on Tauri, so the
//! `ferry` binary built on it links no GUI library (WebKitGTK, GTK, GStreamer: ~25 MB of
//! mappings and 150 libraries to load) and a command, `ferry run` for days included, pays
//! only for what it uses. With no command, `ferry` hands over to the window binary
//! (`ferry-window`, the `ferry` package's Tauri shell) through `exec_window`.

pub mod autostart;
mod cli;
pub mod logging;

use std::path::PathBuf;

use clap::Parser;

pub use cli::{Cli, EXIT_USAGE};

/// What a launch with no command asks of the window.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Start with no window (in the tray).
    pub hidden: bool,
    /// Absolute paths to queue.
    pub files: Vec<PathBuf>,
}

/// Runs `ferry` and returns the process exit code: a command runs here; no command opens
/// the window for the data dir through `window` (which sets up its own logging).
pub fn main(window: impl FnOnce(PathBuf, Launch) -> i32) -> i32 {
    let args = Cli::parse();
    let data_dir = ferry_engine::paths::data_dir(args.data_dir.clone());
    match args.command {
        Some(command) => {
            let _guard = logging::init(&data_dir, false);
            cli::run(command, &data_dir)
        }
        None => {
            // `ferry typo` must stay a usage error, not a window that cannot find "typo".
            if let Some(missing) = args.files.iter().find(|p| !p.exists()) {
                eprintln!("ferry: \"{}\" is neither a command nor an existing file (see `ferry --help`)", missing.display());
                return EXIT_USAGE;
            }
            let files = args.files.into_iter().map(|p| std::path::absolute(&p).unwrap_or(p)).collect();
            window(data_dir, Launch { hidden: args.hidden, files })
        }
    }
}

/// The window binary's file name, next to `ferry`.
pub const WINDOW_BIN: &str = "ferry-window";

/// Opens the window by replacing this process with `ferry-window` beside it, with the same
/// arguments, argv[0] and environment (see `platform::exec`): the window process is the one
/// the user started (same PID, same command line), and it parses the arguments again.
pub fn exec_window(_: PathBuf, _: Launch) -> i32 {
    let window = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(format!("{WINDOW_BIN}{}", std::env::consts::EXE_SUFFIX)),
        Err(e) => {
            eprintln!("ferry: cannot find its own program to start the window: {e}");
            return 1;
        }
    };
    let args: Vec<_> = std::env::args_os().collect();
    let e = ferry_engine::platform::exec(&window, &args);
    eprintln!("ferry: cannot start the window ({}): {e}", window.display());
    1
}

/// What a second launch forwarded to the running window asks of it: the same parse as a
/// first launch, with relative paths taken from the second launch's folder. `None` for a
/// command or arguments that do not parse.
pub fn forwarded(argv: Vec<String>, cwd: &str) -> Option<Launch> {
    let args = Cli::try_parse_from(argv).ok()?;
    if args.command.is_some() {
        return None;
    }
    let cwd = std::path::Path::new(cwd);
    let files = args.files.into_iter().map(|p| if p.is_absolute() { p } else { cwd.join(p) }).collect();
    Some(Launch { hidden: args.hidden, files })
}
