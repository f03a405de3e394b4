//! Engine progress as typed events for the window.

use std::collections::HashMap;
use std::sync::Mutex;

use ferry_engine::queue::JobState;
use ferry_engine::transfer::{EngineProblem, JobProgress, ProgressSink};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

/// Coalesced progress (at most 10 a second): every changed job's bytes, state and parts.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueueProgress(pub Vec<JobProgress>);

/// The queue changed (jobs added or removed, controls applied): ask for the changes since
/// the last revision seen.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueueChanged;

/// A watch's status, notes, pending or queued count changed: list the watches again.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct WatchesChanged;

/// The engine's own state, for the status line.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct EngineStatus {
    pub running: bool,
    /// Why the engine is not running here (another process works this queue, an error).
    pub message: Option<String>,
}

/// The engine's persistent problem began (`Some`: disk full, database locked, …) or cleared.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct EngineHealth(pub Option<EngineProblem>);

/// A launch gave files to queue: take them with `take_opened_files`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct FilesOpened;

/// Quit was asked while uploads run: the window asks the user, then calls `quit_app`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct QuitRequested {
    pub running: u32,
}

/// Each running job's latest smoothed rate and bytes in flight, for the tray's status line.
#[derive(Default)]
pub struct Rates(Mutex<HashMap<i64, (f64, u64)>>);

impl Rates {
    fn note(&self, updates: &[JobProgress]) {
        let mut rates = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for u in updates {
            if matches!(u.state, JobState::Uploading | JobState::Hashing | JobState::Committing) {
                rates.insert(u.job, (u.rate, u.bytes.saturating_sub(u.bytes_acked)));
            } else {
                rates.remove(&u.job);
            }
        }
    }

    /// (bytes a second, bytes sent but not yet acknowledged) of every running job.
    pub fn total(&self) -> (f64, u64) {
        let rates = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (rates.values().map(|r| r.0).sum(), rates.values().map(|r| r.1).sum())
    }
}

/// Adapts the engine's progress sink to window events.
pub struct EventSink {
    pub app: AppHandle,
    pub rates: std::sync::Arc<Rates>,
}

impl ProgressSink for EventSink {
    fn emit(&self, updates: Vec<JobProgress>) {
        self.rates.note(&updates);
        let _ = QueueProgress(updates).emit(&self.app);
    }

    fn health(&self, problem: Option<EngineProblem>) {
        if let Some(app) = self.app.try_state::<super::App>() {
            app.set_problem(problem.clone());
        }
        let _ = EngineHealth(problem).emit(&self.app);
    }
}
