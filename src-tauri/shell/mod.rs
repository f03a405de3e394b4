//! The Tauri shell: the only code that imports tauri. It registers commands, builds the
//! tray and the window, and adapts engine results for the UI. No domain logic lives here.

mod bindings;
mod commands;
mod tray;

use std::path::PathBuf;
use std::sync::Arc;

use ferry_engine::Ferry;

pub use bindings::specta_builder;

/// Opens the window and runs until the user quits. Returns the exit code.
pub fn run(data_dir: PathBuf) -> i32 {
    let ferry = match Ferry::open(&data_dir) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            eprintln!("ferry: cannot open the data folder {}: {e}", data_dir.display());
            return 1;
        }
    };
    tracing::info!(data_dir = %data_dir.display(), "starting the window");
    let builder = specta_builder();
    let result = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .manage(ferry)
        .setup(move |app| {
            builder.mount_events(app);
            tray::install(app.handle())?;
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ferry: the window failed: {e}");
            1
        }
    }
}
