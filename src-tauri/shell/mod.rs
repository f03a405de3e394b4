//! The Tauri shell: the only code that imports tauri. It registers commands and events,
//! builds the tray and the window, keeps the engine running in the background, and adapts
//! engine results for the UI. No domain logic lives here.

mod bindings;
mod commands;
mod events;
mod launch;
mod supervisor;
mod texts;
mod tray;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ferry_engine::transfer::Engine;
use ferry_engine::Ferry;
use tauri::{Manager, WindowEvent};
use tauri_specta::Event;

pub use bindings::specta_builder;
pub use launch::Launch;
pub use texts::Lang;

/// What every command reaches: the store and the engine working it.
pub struct App {
    pub ferry: Arc<Ferry>,
    /// The engine of this window; replaced when the supervisor restarts it.
    engine: Mutex<Arc<Engine>>,
    pub status: Mutex<events::EngineStatus>,
    pub rates: Arc<events::Rates>,
    pub tray: OnceLock<tray::Tray>,
    lang: Mutex<Lang>,
    /// The engine's health problem, while it lasts.
    problem: Mutex<Option<ferry_engine::transfer::EngineProblem>>,
    /// Paths given to a launch, until the page queues them.
    opened: Mutex<Vec<String>>,
    /// Set once the user quits: the supervisor stops restarting the engine.
    pub quitting: tokio_util::sync::CancellationToken,
    /// Folder browsers by account name, with the account's settings they were made for.
    pub browsers: tokio::sync::Mutex<std::collections::HashMap<String, (String, Arc<ferry_engine::browse::Browser>)>>,
}

impl App {
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set_engine(&self, engine: Arc<Engine>) {
        *self.engine.lock().unwrap_or_else(|p| p.into_inner()) = engine;
    }
    pub fn lang(&self) -> Lang {
        *self.lang.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn problem(&self) -> Option<ferry_engine::transfer::EngineProblem> {
        self.problem.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn set_problem(&self, problem: Option<ferry_engine::transfer::EngineProblem>) {
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = problem;
    }
}

/// Each data dir has its own D-Bus name, so two Ferrys with two data dirs can both run,
/// and two launches on one data dir cannot.
fn instance_id(data_dir: &std::path::Path) -> String {
    use sha1::Digest;
    let dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = sha1::Sha1::digest(dir.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}.d{hex}", ferry_engine::paths::APP_ID)
}

/// Opens the window and runs until the user quits. Returns the exit code.
pub fn run(data_dir: PathBuf, launch: Launch) -> i32 {
    // A database that cannot be used still opens the window: it names the file and offers
    // to move it aside and start fresh (`move_database_aside`). Never a silent exit.
    let ferry = match Ferry::open(&data_dir) {
        Ok(f) => Some(Arc::new(f)),
        Err(ferry_engine::Error::DatabaseUnusable { path, detail }) => {
            eprintln!("ferry: the database {} cannot be used: {detail}", path.display());
            *STARTUP_PROBLEM.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(DatabaseProblem { path: path.display().to_string(), detail });
            None
        }
        Err(e) => {
            eprintln!("ferry: cannot open the data folder {}: {e}", data_dir.display());
            return 1;
        }
    };
    tracing::info!(data_dir = %data_dir.display(), hidden = launch.hidden, "starting the window");
    let builder = specta_builder();
    let first_launch = launch.clone();
    let dir = data_dir.clone();
    let result = tauri::Builder::default()
        // First: a second launch on this data dir hands its files to this one and exits
        // before it builds a window, a tray icon, an engine or a watcher.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id(&data_dir))
                .callback(|app, argv, cwd| {
                    let launch = crate::forwarded_launch(argv, &cwd).unwrap_or_default();
                    tracing::info!(files = launch.files.len(), "another launch came to this window");
                    if !launch.hidden {
                        show_main(app);
                    }
                    launch::queue_files(app.clone(), launch.files);
                })
                .build(),
        )
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            app.manage(DataDir(dir.clone()));
            if let Some(ferry) = ferry.clone() {
                start(app.handle(), ferry)?;
            }
            if let Some(w) = app.get_webview_window("main") {
                // A database problem needs the window, hidden or not.
                if first_launch.hidden && ferry.is_some() {
                    let _ = w.hide();
                } else {
                    let _ = w.show();
                }
            }
            if ferry.is_some() {
                launch::queue_files(app.handle().clone(), first_launch.files.clone());
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if std::env::var_os("FERRY_CLOSE_QUITS").is_some() {
                    return;
                }
                api.prevent_close();
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move { closed(&app).await });
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
                state.quitting.cancel();
                state.engine().shutdown();
            }
        }
    });
    0
}

/// Everything the window runs over a usable data dir: the state commands reach, the engine
/// supervisor, the tray.
fn start(app: &tauri::AppHandle, ferry: Arc<Ferry>) -> tauri::Result<()> {
    let rates = Arc::new(events::Rates::default());
    let sink = Arc::new(events::EventSink { app: app.clone(), rates: rates.clone() });
    let engine = Engine::new(&ferry, sink.clone()).map_err(|e| tauri::Error::Anyhow(e.into()))?;
    app.manage(App {
        ferry,
        engine: Mutex::new(engine),
        status: Mutex::new(events::EngineStatus { running: true, message: None }),
        rates,
        tray: OnceLock::new(),
        lang: Mutex::new(Lang::default()),
        problem: Mutex::new(None),
        opened: Mutex::new(vec![]),
        quitting: tokio_util::sync::CancellationToken::new(),
        browsers: Default::default(),
    });
    tauri::async_runtime::spawn(supervisor::supervise(app.clone(), sink));
    match tray::install(app) {
        Ok(t) => {
            let _ = app.state::<App>().tray.set(t);
        }
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
    tauri::async_runtime::spawn(tray::refresh_forever(app.clone()));
    Ok(())
}

/// The data dir this window serves (also before its database could be opened).
pub struct DataDir(pub PathBuf);

/// Why the data dir's database could not be opened at start (until it is moved aside).
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct DatabaseProblem {
    pub path: String,
    pub detail: String,
}

pub(crate) static STARTUP_PROBLEM: Mutex<Option<DatabaseProblem>> = Mutex::new(None);

/// Moves the unusable database aside (the old file kept) and starts over with a fresh one,
/// in this process. Returns where the old file went.
pub fn recover_database(app: &tauri::AppHandle, data_dir: &std::path::Path) -> Result<PathBuf, ferry_engine::Error> {
    let moved = ferry_engine::store::move_aside(data_dir)?;
    tracing::warn!(moved = %moved.display(), "moved the unusable database aside; starting fresh");
    let ferry = Arc::new(Ferry::open(data_dir)?);
    *STARTUP_PROBLEM.lock().unwrap_or_else(|p| p.into_inner()) = None;
    start(app, ferry).map_err(|e| ferry_engine::Error::Unsupported(format!("cannot start: {e}")))?;
    Ok(moved)
}

/// The window was closed: hide it to the tray (the first time, say so once), or where the
/// desktop shows no tray icons, quit as the tray's Quit would.
async fn closed(app: &tauri::AppHandle) {
    if app.try_state::<App>().is_none() {
        return app.exit(0); // nothing runs yet (the database problem was not resolved)
    }
    let host = tauri::async_runtime::spawn_blocking(tray::host_present).await.unwrap_or(false);
    if !host {
        return request_quit(app).await;
    }
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.hide();
    }
    let state = app.state::<App>();
    let marker = state.ferry.data_dir().join("closed-to-tray");
    if !marker.exists() {
        let _ = std::fs::write(&marker, b"the first close to the tray was announced\n");
        let t = texts::texts(state.lang());
        use tauri_plugin_notification::NotificationExt;
        if let Err(e) = app.notification().builder().title(t.closed_title).body(t.closed_body).show() {
            tracing::warn!("cannot notify: {e}");
        }
    }
    tray::refresh(app).await;
}

/// Quit: at once when nothing uploads, else the window asks first (`QuitRequested`) and
/// quits through `quit_app` if the user confirms.
pub async fn request_quit(app: &tauri::AppHandle) {
    let Some(state) = app.try_state::<App>() else { return app.exit(0) };
    let ferry = state.ferry.clone();
    let running = tauri::async_runtime::spawn_blocking(move || ferry.queue.summary().map(|s| s.running).unwrap_or(0)).await.unwrap_or(0);
    if running == 0 {
        return app.exit(0);
    }
    show_main(app);
    let _ = events::QuitRequested { running }.emit(app);
}

pub fn show_main(app: &tauri::AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
