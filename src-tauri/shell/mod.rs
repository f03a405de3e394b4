//! The Tauri shell: the only code that imports tauri. It registers commands and events,
//! builds the tray and the window, runs the engine in the background, and adapts engine
//! results for the UI. No domain logic lives here.

mod bindings;
mod commands;
mod events;
mod tray;

use std::path::PathBuf;
use std::sync::Arc;

use ferry_engine::transfer::Engine;
use ferry_engine::watch::WatchService;
use ferry_engine::Ferry;
use tauri::{Manager, WindowEvent};
use tauri_specta::Event;

pub use bindings::specta_builder;

/// What every command reaches: the store and the engine working it.
pub struct App {
    pub ferry: Arc<Ferry>,
    pub engine: Arc<Engine>,
    /// Stops the watched folders at exit.
    pub stop_watching: tokio_util::sync::CancellationToken,
    pub status: std::sync::Mutex<events::EngineStatus>,
    /// Folder browsers by account name, with the account's settings they were made for.
    pub browsers: tokio::sync::Mutex<std::collections::HashMap<String, (String, Arc<ferry_engine::browse::Browser>)>>,
}

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
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let sink = Arc::new(events::EventSink(app.handle().clone()));
            let engine = Engine::new(&ferry, sink)?;
            let stop_watching = tokio_util::sync::CancellationToken::new();
            let waker = engine.clone();
            let handle = app.handle().clone();
            let watch_handle = app.handle().clone();
            // A watch queued files: the engine starts them, the window lists them.
            let watches = WatchService::new(
                &ferry,
                Arc::new(move || {
                    waker.wake();
                    let _ = events::QueueChanged.emit(&handle);
                }),
            )
            .on_change(Arc::new(move || {
                let _ = events::WatchesChanged.emit(&watch_handle);
            }));
            tauri::async_runtime::spawn(watches.run(stop_watching.clone()));
            app.manage(App {
                ferry: ferry.clone(),
                engine: engine.clone(),
                stop_watching,
                status: std::sync::Mutex::new(events::EngineStatus { running: true, message: None }),
                browsers: Default::default(),
            });
            start_engine(app.handle().clone(), engine);
            tray::install(app.handle())?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Ferry syncing in the tray; Quit is in the tray menu.
            if let WindowEvent::CloseRequested { api, .. } = event {
                if std::env::var_os("FERRY_CLOSE_QUITS").is_none() {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!("tauri.conf.json"));
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("ferry: the window failed: {e}");
            return 1;
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(state) = handle.try_state::<App>() {
                state.stop_watching.cancel();
                state.engine.shutdown();
            }
        }
    });
    0
}

/// Works the queue in the background for as long as the app runs. If another engine
/// (`ferry run`) already works this data dir, the window still shows and controls the
/// queue; that engine does the uploading.
fn start_engine(handle: tauri::AppHandle, engine: Arc<Engine>) {
    tauri::async_runtime::spawn(async move {
        let result = engine.run(false).await;
        let message = match result {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("the engine is not running in the window: {e}");
                Some(e.to_string())
            }
        };
        let status = events::EngineStatus { running: false, message };
        if let Some(app) = handle.try_state::<App>() {
            *app.status.lock().unwrap_or_else(|p| p.into_inner()) = status.clone();
        }
        let _ = status.emit(&handle);
    });
}
