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
    // Once taken, the lock is kept until Ferry quits: a restarted engine never lets another
    // process slip in between.
    let mut held: Option<EngineLock> = None;
    while !quitting.is_cancelled() {
        if held.is_none() {
            match EngineLock::try_acquire(ferry.data_dir()) {
                Ok(Some(lock)) => held = Some(lock),
                Ok(None) => {
                    set_status(&app, false, Some("another Ferry (`ferry run`) is uploading this queue; this window takes over when it stops".into()));
                    if pause(&quitting, LOOK_AGAIN).await {
                        break;
                    }
                    continue;
                }
                Err(e) => {
                    set_status(&app, false, Some(e.to_string()));
                    if pause(&quitting, LOOK_AGAIN).await {
                        break;
                    }
                    continue;
                }
            }
        }
        let lock = held.as_ref().expect("held above");
        // An engine runs once: every restart gets a fresh one.
        let engine = if first {
            state.engine()
        } else {
            match Engine::new(&ferry, sink.clone()) {
                Ok(e) => e,
                Err(e) => {
                    set_status(&app, false, Some(format!("the engine cannot start: {e}")));
                    if pause(&quitting, RESTART_AFTER).await {
                        break;
                    }
                    continue;
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
        if pause(&quitting, RESTART_AFTER).await {
            break;
        }
    }
}

/// Sleeps `how_long`; true if Ferry is quitting meanwhile.
async fn pause(quitting: &tokio_util::sync::CancellationToken, how_long: Duration) -> bool {
    tokio::select! {
        _ = quitting.cancelled() => true,
        _ = tokio::time::sleep(how_long) => false,
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
