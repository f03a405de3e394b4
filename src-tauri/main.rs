// No console window on Windows release builds; `ferry <command>` still prints when run from a terminal.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    std::process::exit(ferry_app::main());
}
