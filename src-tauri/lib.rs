//! The window: the Tauri shell over the same engine. Built into `ferry-window`, which the
//! lean `ferry` (crate `ferry-cli`, no GUI library) replaces itself with when no command is
//! given; on Windows it is `ferry.exe` itself (see main.rs).

pub mod shell;

pub use ferry_cli::autostart;

/// Runs Ferry with the window and returns the process exit code: a command still runs
/// headless, in this process.
pub fn main() -> i32 {
    ferry_cli::main(|data_dir, launch| {
        let _guard = ferry_cli::logging::init(&data_dir, true);
        shell::run(data_dir, launch)
    })
}

/// What a second launch forwarded to the running window asks of it.
pub fn forwarded_launch(argv: Vec<String>, cwd: &str) -> Option<shell::Launch> {
    ferry_cli::forwarded(argv, cwd)
}
