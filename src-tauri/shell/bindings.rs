//! The IPC surface in one place, and the TypeScript bindings generated from it into
//! `ui/src/lib/bindings.ts`. A test fails when the committed file is stale; regenerate with
//! `FERRY_WRITE_BINDINGS=1 cargo test --lib bindings`.

use tauri_specta::{collect_commands, collect_events, Builder};

use super::commands::*;
use super::events::{EngineHealth, EngineStatus, FilesOpened, QueueChanged, QueueProgress, QuitRequested, WatchesChanged};

pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            provider_specs,
            list_accounts,
            add_account,
            update_account,
            remove_account,
            test_account,
            list_jobs,
            list_jobs_page,
            queue_revision,
            queue_changes,
            job_parts,
            enqueue,
            control_jobs,
            clear_history,
            get_settings,
            set_settings,
            get_proxy,
            set_proxy,
            engine_status,
            list_watches,
            add_watch,
            remove_watch,
            set_watch_enabled,
            folder_roots,
            list_folder,
            make_folder,
            set_ui_language,
            take_opened_files,
            get_autostart,
            set_autostart,
            quit_app,
            tray_action,
            tray_menu,
            engine_problem,
            startup_problem,
            move_database_aside,
        ])
        .events(collect_events![QueueProgress, QueueChanged, EngineStatus, WatchesChanged, FilesOpened, QuitRequested, EngineHealth])
}

#[cfg(test)]
mod tests {
    use super::*;
    use specta_typescript::{BigIntExportBehavior, Typescript};

    /// The generated TypeScript, exactly as committed.
    fn typescript() -> String {
        let language = Typescript::default()
            .bigint(BigIntExportBehavior::Number)
            .header("// Generated from the Rust IPC types by tauri-specta. Do not edit: run\n// FERRY_WRITE_BINDINGS=1 cargo test --lib bindings\n");
        specta_builder().export_str(language).expect("bindings export")
    }

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/src/lib/bindings.ts");

    #[test]
    fn bindings_are_current() {
        let fresh = typescript();
        if std::env::var_os("FERRY_WRITE_BINDINGS").is_some() {
            std::fs::write(COMMITTED, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/lib/bindings.ts is stale: an IPC command or type changed. Regenerate it with \
             FERRY_WRITE_BINDINGS=1 cargo test --lib bindings"
        );
    }
}
