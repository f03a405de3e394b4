//! The `ferry` binary: with no command it opens the window (the Tauri shell), with a
//! command it runs headless over the same engine.

pub mod autostart;
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
            // `ferry typo` must stay a usage error, not a window that cannot find "typo".
            if let Some(missing) = args.files.iter().find(|p| !p.exists()) {
                eprintln!("ferry: \"{}\" is neither a command nor an existing file (see `ferry --help`)", missing.display());
                return cli::EXIT_USAGE;
            }
            let _guard = logging::init(&data_dir, true);
            let files = args.files.into_iter().map(|p| std::path::absolute(&p).unwrap_or(p)).collect();
            shell::run(data_dir, shell::Launch { hidden: args.hidden, files })
        }
    }
}

/// What a second launch forwarded to the running window asks of it: the same parse as a
/// first launch, with relative paths taken from the second launch's folder.
pub fn forwarded_launch(argv: Vec<String>, cwd: &str) -> Option<shell::Launch> {
    let args = cli::Cli::try_parse_from(argv).ok()?;
    if args.command.is_some() {
        return None;
    }
    let cwd = std::path::Path::new(cwd);
    let files = args.files.into_iter().map(|p| if p.is_absolute() { p } else { cwd.join(p) }).collect();
    Some(shell::Launch { hidden: args.hidden, files })
}
