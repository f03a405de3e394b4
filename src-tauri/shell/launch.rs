//! Files given on the command line (`ferry FILE...`, a file manager's "Open with"), to this
//! launch or forwarded by a second one. They wait here until the page takes them and queues
//! them the way a drop does: to the account and folder last used, with the same notice.

use std::path::PathBuf;

use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use super::events::FilesOpened;
use super::App;

/// What a launch asks of the window (parsed by the command line, `ferry-cli`).
pub use ferry_cli::Launch;

pub fn queue_files(app: AppHandle, files: Vec<PathBuf>) {
    if files.is_empty() {
        return;
    }
    let state = app.state::<App>();
    state.opened.lock().unwrap_or_else(|p| p.into_inner()).extend(files.into_iter().map(|p| p.to_string_lossy().into_owned()));
    // A page that is not loaded yet takes them when it starts (`take_opened_files`).
    let _ = FilesOpened.emit(&app);
}

/// The paths waiting to be queued; each is handed out once.
pub fn take(app: &App) -> Vec<String> {
    std::mem::take(&mut *app.opened.lock().unwrap_or_else(|p| p.into_inner()))
}
