//! The `ferry` binary: with no command it opens the window (the Tauri shell), with a
//! command it runs headless over the same engine.

mod cli;
mod logging;
pub mod shell;

use clap::Parser;

/// Runs Ferry and returns the process exit code.
pub fn main() -> i32 {
    let args = cli::Cli::parse();
    let data_dir = ferry_engine::paths::data_dir(args.data_dir.clone());
    match args.command {
        Some(command) => {
            let _guard = logging::init(&data_dir, false);
            cli::run(command, &data_dir)
        }
        None => {
            let _guard = logging::init(&data_dir, true);
            shell::run(data_dir)
        }
    }
}
