//! Keeps one engine working this data dir from the window: it takes the engine lock when it
//! can (at start, or within a few seconds of a `ferry run` exiting), serves the watched
//! folders only while it holds that lock, and starts a fresh engine if the last one stopped.

use std::sync::Arc;
use std::time::Duration;

use ferry_engine::transfer::{Engine, EngineLock, ProgressSink};
use ferry_engine::watch::WatchService;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use super::events::{EngineStatus, QueueChanged, WatchesChanged};
use super::App;

/// How often a window that found another engine looks whether it has gone.
const LOOK_AGAIN: Duration = Duration::from_secs(2);
/// A pause before restarting an engine that stopped, so a persistent failure cannot spin.
const RESTART_AFTER: Duration = Duration::from_secs(1);

pub async fn supervise(app: AppHandle, sink: Arc<dyn ProgressSink>) {
    let state = app.state::<App>();
    let ferry = state.ferry.clone();
    let quitting = state.quitting.clone();
    let mut first = true;
    while !quitting.is_cancelled() {
        let wait = match EngineLock::try_acquire(ferry.data_dir()) {
            Ok(Some(lock)) => {
                // Every run gets a fresh engine: a stopped one stays stopped.
                let engine = if first {
                    state.engine()
                } else {
                    match Engine::new(&ferry, sink.clone()) {
                        Ok(e) => e,
                        Err(e) => {
                            set_status(&app, false, Some(format!("the engine cannot start: {e}")));
                            tokio::select! { _ = quitting.cancelled() => break, _ = tokio::time::sleep(RESTART_AFTER) => continue }
                        }
                    }
                };
                first = false;
                state.set_engine(engine.clone());
                // A problem of the engine before this one is not this one's.
                if state.problem().is_some() {
                    state.set_problem(None);
                    let _ = super::events::EngineHealth(None).emit(&app);
                }
                set_status(&app, true, None);
                let stop_watching = quitting.child_token();
                let watching = tauri::async_runtime::spawn(watch_service(&app, &engine).run(stop_watching.clone()));
                let result = engine.run_locked(lock, false).await;
                stop_watching.cancel();
                let _ = watching.await;
                if quitting.is_cancelled() {
                    break;
                }
                let why = match result {
                    Ok(_) => "the engine stopped".to_owned(),
                    Err(e) => format!("the engine stopped: {e}"),
                };
                tracing::warn!("{why}; starting it again");
                set_status(&app, false, Some(why));
                RESTART_AFTER
            }
            Ok(None) => {
                set_status(&app, false, Some("another Ferry (`ferry run`) is uploading this queue; this window takes over when it stops".into()));
                LOOK_AGAIN
            }
            Err(e) => {
                set_status(&app, false, Some(e.to_string()));
                LOOK_AGAIN
            }
        };
        tokio::select! {
            _ = quitting.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The watched folders, queuing into this engine and telling the window.
fn watch_service(app: &AppHandle, engine: &Arc<Engine>) -> WatchService {
    let state = app.state::<App>();
    let (waker, queued, changed) = (engine.clone(), app.clone(), app.clone());
    WatchService::new(
        &state.ferry,
        Arc::new(move || {
            waker.wake();
            let _ = QueueChanged.emit(&queued);
        }),
    )
    .on_change(Arc::new(move || {
        let _ = WatchesChanged.emit(&changed);
    }))
}

/// Records and announces the engine's status, once per change.
fn set_status(app: &AppHandle, running: bool, message: Option<String>) {
    let state = app.state::<App>();
    let status = EngineStatus { running, message };
    let mut now = state.status.lock().unwrap_or_else(|p| p.into_inner());
    if now.running == status.running && now.message == status.message {
        return;
    }
    *now = status.clone();
    drop(now);
    let _ = status.emit(app);
}
