// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

//! `ferry-window`: Ferry with its window (Tauri, WebKitGTK), what `ferry` with no command
//! execs. Given a command it runs it headless like `ferry`.

fn main() {
    std::process::exit(ferry_app::main());
}
