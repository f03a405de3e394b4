//! Engine progress as typed events for the window.

use ferry_engine::transfer::{JobProgress, ProgressSink};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;
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

/// Adapts the engine's progress sink to window events.
pub struct EventSink(pub AppHandle);

impl ProgressSink for EventSink {
    fn emit(&self, updates: Vec<JobProgress>) {
        let _ = QueueProgress(updates).emit(&self.0);
    }
}
