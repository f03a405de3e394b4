// No console window on Windows release builds; `ferry <command>` still prints when run from a terminal.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

//! `ferry`. On Linux and macOS the command line alone (crate `ferry-cli`, no Tauri, so no GUI
//! library is loaded for a command); with no command it execs `ferry-window` beside it. On
//! Windows one binary, the window included, as before: WebView2 is loaded only when a window
//! is made, and a separate window program would need its own shortcut, console handling and
//! installer entries that nothing here can test (Wine has no WebView2).

fn main() {
    #[cfg(not(windows))]
    let code = ferry_cli::main(ferry_cli::exec_window);
    #[cfg(windows)]
    let code = ferry_app::main();
    std::process::exit(code);
}
