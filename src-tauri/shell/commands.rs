//! IPC commands: thin adapters from the UI to the engine. Engine calls may block (SQLite,
//! D-Bus for the keyring), so they run on the blocking pool, never on the UI thread.

use std::path::PathBuf;

use ferry_engine::accounts::{self, Account, AccountInput, ProviderSpec};
use ferry_engine::browse::FolderRoots;
use ferry_engine::enqueue::EnqueueReport;
use ferry_engine::providers::{Entry, Listing};
use ferry_engine::queue::{JobView, PartView, QueueChanges, Transition};
use ferry_engine::proxy::{ProxyInput, ProxyView};
use ferry_engine::transfer::EngineSettings;
use ferry_engine::watch::{Watch, WatchInput};
use ferry_engine::{Error, Ferry, UiError};
use tauri::{AppHandle, State};
use tauri_specta::Event;

use super::events::{EngineStatus, QueueChanged};
use super::App;

type Shell<'a> = State<'a, App>;

async fn blocking<T: Send + 'static>(
    app: &Shell<'_>,
    f: impl FnOnce(&Ferry) -> Result<T, Error> + Send + 'static,
) -> Result<T, UiError> {
    let ferry = app.ferry.clone();
    tauri::async_runtime::spawn_blocking(move || f(&ferry))
        .await
        .unwrap_or_else(|e| Err(Error::Unsupported(format!("internal error: {e}"))))
        .map_err(UiError::from)
}

/// The settings each provider kind needs (drives the account forms).
#[tauri::command]
#[specta::specta]
pub fn provider_specs() -> Vec<ProviderSpec> {
    accounts::all_specs()
}

#[tauri::command]
#[specta::specta]
pub async fn list_accounts(app: Shell<'_>) -> Result<Vec<Account>, UiError> {
    blocking(&app, |f| f.accounts.list()).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_account(app: Shell<'_>, input: AccountInput) -> Result<Account, UiError> {
    blocking(&app, move |f| f.accounts.add(input)).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_account(app: Shell<'_>, name: String, input: AccountInput) -> Result<Account, UiError> {
    blocking(&app, move |f| f.accounts.update(&name, input)).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_account(app: Shell<'_>, name: String) -> Result<(), UiError> {
    blocking(&app, move |f| f.accounts.remove(&name)).await
}

/// Checks that an account is usable; returns a human sentence.
#[tauri::command]
#[specta::specta]
pub async fn test_account(app: Shell<'_>, name: String) -> Result<String, UiError> {
    let account = blocking(&app, move |f| f.accounts.get(&name)).await?;
    ferry_engine::check::check_account(&app.ferry, &account).await.map_err(UiError::from)
}

/// Every job, oldest first (the Queue and History views filter by state).
#[tauri::command]
#[specta::specta]
pub async fn list_jobs(app: Shell<'_>) -> Result<Vec<JobView>, UiError> {
    blocking(&app, |f| f.queue.list()).await
}

/// Up to `limit` jobs with ids above `after_id`, oldest first: the window loads a long queue
/// page by page (100,000 jobs in one reply would be tens of megabytes).
#[tauri::command]
#[specta::specta]
pub async fn list_jobs_page(app: Shell<'_>, after_id: i64, limit: u32) -> Result<Vec<JobView>, UiError> {
    blocking(&app, move |f| f.queue.list_page(after_id, limit.min(10_000))).await
}

/// The queue's revision now: the window notes it before listing, then asks for changes since.
#[tauri::command]
#[specta::specta]
pub async fn queue_revision(app: Shell<'_>) -> Result<i64, UiError> {
    blocking(&app, |f| f.queue.revision()).await
}

/// What changed after revision `since` (at most `limit` jobs a call): how the window keeps
/// a 100,000-job list current without listing it again.
#[tauri::command]
#[specta::specta]
pub async fn queue_changes(app: Shell<'_>, since: i64, limit: u32) -> Result<QueueChanges, UiError> {
    blocking(&app, move |f| f.queue.changes_since(since, limit.min(10_000))).await
}

/// One job's parts, for its part grid.
#[tauri::command]
#[specta::specta]
pub async fn job_parts(app: Shell<'_>, id: i64) -> Result<Vec<PartView>, UiError> {
    blocking(&app, move |f| f.queue.part_views(id)).await
}

/// Queues files and folders (dropped on the window or picked) for an account.
#[tauri::command]
#[specta::specta]
pub async fn enqueue(app: Shell<'_>, handle: AppHandle, paths: Vec<String>, account: String, dest: String) -> Result<EnqueueReport, UiError> {
    let report = blocking(&app, move |f| {
        let account = f.accounts.get(&account)?;
        let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
        ferry_engine::enqueue::enqueue_paths(f, &account, &paths, &dest)
    })
    .await?;
    app.engine().wake();
    let _ = QueueChanged.emit(&handle);
    Ok(report)
}

/// What a job control did to each job: the ids it applied to and the refusals.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct ControlReport {
    pub applied: Vec<i64>,
    pub refused: Vec<UiError>,
}

#[derive(Debug, Clone, Copy, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobControl {
    Pause,
    Resume,
    Cancel,
}

/// Pause, resume (also retries a failed job) or cancel jobs; `ids = null` means every job
/// the control applies to.
#[tauri::command]
#[specta::specta]
pub async fn control_jobs(app: Shell<'_>, handle: AppHandle, control: JobControl, ids: Option<Vec<i64>>) -> Result<ControlReport, UiError> {
    let transition = match control {
        JobControl::Pause => Transition::Pause,
        JobControl::Resume => Transition::Resume,
        JobControl::Cancel => Transition::Cancel,
    };
    let ids = match ids {
        Some(ids) => ids,
        None => blocking(&app, move |f| f.queue.ids_in(transition.from())).await?,
    };
    let mut report = ControlReport { applied: vec![], refused: vec![] };
    for id in ids {
        let ferry = app.ferry.clone();
        let r = match control {
            JobControl::Pause => blocking(&app, move |f| f.queue.pause(id)).await,
            JobControl::Resume => ferry.resume_job(id).await.map_err(UiError::from),
            JobControl::Cancel => ferry.cancel_job(id).await.map_err(UiError::from),
        };
        match r {
            Ok(()) => {
                // A paused or cancelled job's worker stops now, not at the next poll. A resumed
                // job has none: interrupting would stop the worker that just took it.
                if !matches!(control, JobControl::Resume) {
                    app.engine().interrupt(id);
                }
                report.applied.push(id);
            }
            Err(e) => report.refused.push(e),
        }
    }
    app.engine().wake();
    let _ = QueueChanged.emit(&handle);
    Ok(report)
}

/// Forgets finished uploads (the History view's "Clear").
#[tauri::command]
#[specta::specta]
pub async fn clear_history(app: Shell<'_>, handle: AppHandle) -> Result<u32, UiError> {
    let n = blocking(&app, |f| f.queue.clear_finished()).await?;
    let _ = QueueChanged.emit(&handle);
    Ok(n as u32)
}

#[tauri::command]
#[specta::specta]
pub async fn get_settings(app: Shell<'_>) -> Result<EngineSettings, UiError> {
    blocking(&app, |f| EngineSettings::load(&f.queue)).await
}

/// Saves the engine settings; a new bandwidth limit applies to running uploads at once.
#[tauri::command]
#[specta::specta]
pub async fn set_settings(app: Shell<'_>, settings: EngineSettings) -> Result<EngineSettings, UiError> {
    let saved = blocking(&app, move |f| {
        settings.save(&f.queue)?;
        EngineSettings::load(&f.queue)
    })
    .await?;
    app.engine().reload_settings().map_err(UiError::from)?;
    app.engine().wake();
    Ok(saved)
}

/// The proxy setting, without its credentials (only whether some are saved).
#[tauri::command]
#[specta::specta]
pub async fn get_proxy(app: Shell<'_>) -> Result<ProxyView, UiError> {
    blocking(&app, |f| f.proxy.view()).await
}

/// Saves the proxy setting (credentials to the keyring); the engine's next request of
/// each account goes the new way.
#[tauri::command]
#[specta::specta]
pub async fn set_proxy(app: Shell<'_>, input: ProxyInput) -> Result<ProxyView, UiError> {
    let saved = blocking(&app, move |f| f.proxy.save(input)).await?;
    app.engine().reload_settings().map_err(UiError::from)?;
    app.engine().wake();
    Ok(saved)
}

/// Whether the engine works the queue in this window (else another `ferry run` does).
#[tauri::command]
#[specta::specta]
pub fn engine_status(app: Shell<'_>) -> EngineStatus {
    app.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Every watched folder with its live status.
#[tauri::command]
#[specta::specta]
pub async fn list_watches(app: Shell<'_>) -> Result<Vec<Watch>, UiError> {
    blocking(&app, |f| f.watches.list()).await
}

/// Starts watching a folder (the running watch service picks it up within a second).
#[tauri::command]
#[specta::specta]
pub async fn add_watch(app: Shell<'_>, input: WatchInput) -> Result<Watch, UiError> {
    blocking(&app, move |f| f.watches.add(&f.accounts, input)).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_watch(app: Shell<'_>, id: i64) -> Result<(), UiError> {
    blocking(&app, move |f| f.watches.remove(id)).await
}

/// Pauses (`false`) or resumes (`true`) a watch; resuming catches up on what changed.
#[tauri::command]
#[specta::specta]
pub async fn set_watch_enabled(app: Shell<'_>, id: i64, enabled: bool) -> Result<Watch, UiError> {
    blocking(&app, move |f| {
        f.watches.set_enabled(id, enabled)?;
        f.watches.get(id)
    })
    .await
}

/// One account's folder browser, kept while the account (secrets included) and the proxy stay the same: a Browse dialog
/// makes many calls in a row, and each would otherwise fetch a new access token.
async fn browser(app: &Shell<'_>, account: String) -> Result<std::sync::Arc<ferry_engine::browse::Browser>, UiError> {
    // The proxy setting is part of the key: a browser goes the way Settings say now.
    let (account, proxy) = blocking(app, move |f| Ok((f.accounts.get(&account)?, f.proxy.stamp()?))).await?;
    let key = format!("{}#{proxy}", account.version());
    let mut open = app.browsers.lock().await;
    if let Some((k, b)) = open.get(&account.name) {
        if *k == key {
            return Ok(b.clone());
        }
    }
    let ferry = app.ferry.clone();
    let (name, acc) = (account.name.clone(), account.clone());
    let b = tauri::async_runtime::spawn_blocking(move || ferry_engine::browse::Browser::new(&ferry, &acc))
        .await
        .unwrap_or_else(|e| Err(Error::Unsupported(format!("internal error: {e}"))))
        .map(std::sync::Arc::new)
        .map_err(UiError::from)?;
    open.insert(name, (key, b.clone()));
    Ok(b)
}

/// Where browsing an account's folders starts: its base folder and the top of its space.
#[tauri::command]
#[specta::specta]
pub async fn folder_roots(app: Shell<'_>, account: String) -> Result<FolderRoots, UiError> {
    Ok(browser(&app, account).await?.roots())
}

/// One page of a folder's children (folders first, by name); `page` is the previous `next`.
#[tauri::command]
#[specta::specta]
pub async fn list_folder(app: Shell<'_>, account: String, folder: String, page: Option<String>) -> Result<Listing, UiError> {
    browser(&app, account).await?.list(&folder, page.as_deref()).await.map_err(UiError::from)
}

/// Makes the folder `name` in `parent` (or finds the one already there).
#[tauri::command]
#[specta::specta]
pub async fn make_folder(app: Shell<'_>, account: String, parent: String, name: String) -> Result<Entry, UiError> {
    browser(&app, account).await?.make_in(&parent, &name).await.map_err(UiError::from)
}

/// The page's language, so the tray and notifications speak it too (on start and on change).
#[tauri::command]
#[specta::specta]
pub async fn set_ui_language(app: Shell<'_>, handle: AppHandle, lang: super::Lang) -> Result<(), UiError> {
    *app.lang.lock().unwrap_or_else(|p| p.into_inner()) = lang;
    super::tray::refresh(&handle).await;
    Ok(())
}

/// Paths given to `ferry FILE...` (this launch or a later one) not yet queued; each once.
#[tauri::command]
#[specta::specta]
pub fn take_opened_files(app: Shell<'_>) -> Vec<String> {
    super::launch::take(&app)
}

/// Start at login, as the autostart entry says now.
#[tauri::command]
#[specta::specta]
pub fn get_autostart() -> crate::autostart::Autostart {
    crate::autostart::read()
}

/// Writes or removes the autostart entry; returns what it says afterwards.
#[tauri::command]
#[specta::specta]
pub fn set_autostart(app: Shell<'_>, want: crate::autostart::Autostart) -> Result<crate::autostart::Autostart, UiError> {
    crate::autostart::write(want, app.ferry.data_dir())
        .map_err(|e| UiError::from(Error::io("cannot change the autostart entry".to_owned(), e)))?;
    Ok(crate::autostart::read())
}

/// Quits Ferry (the user confirmed; running uploads resume at the next start).
#[tauri::command]
#[specta::specta]
pub fn quit_app(handle: AppHandle) {
    handle.exit(0);
}

/// Does what the tray menu item does (the same code as a click), for keyboard users of the
/// window and for the E2E tests, which cannot click a tray under Xvfb.
#[tauri::command]
#[specta::specta]
pub fn tray_action(handle: AppHandle, action: super::tray::TrayAction) {
    super::tray::act(&handle, action);
}

/// The tray menu as it reads now (status line, tooltip, icon, items).
#[tauri::command]
#[specta::specta]
pub async fn tray_menu(app: Shell<'_>, handle: AppHandle) -> Result<super::tray::TrayMenu, UiError> {
    super::tray::refresh(&handle).await;
    Ok(app.tray.get().map(|t| t.menu()).unwrap_or_default())
}

/// The engine's persistent problem now (disk full, database locked, …), for a page that
/// starts after it was announced.
#[tauri::command]
#[specta::specta]
pub fn engine_problem(app: Shell<'_>) -> Option<ferry_engine::transfer::EngineProblem> {
    app.problem()
}

/// Why the database could not be opened at start, while that lasts.
#[tauri::command]
#[specta::specta]
pub fn startup_problem() -> Option<super::DatabaseProblem> {
    super::STARTUP_PROBLEM.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Moves the unusable database aside (kept, renamed) and starts fresh; returns where the
/// old file went.
#[tauri::command]
#[specta::specta]
pub async fn move_database_aside(handle: AppHandle, dir: State<'_, super::DataDir>) -> Result<String, UiError> {
    let dir = dir.0.clone();
    tauri::async_runtime::spawn_blocking(move || super::recover_database(&handle, &dir))
        .await
        .unwrap_or_else(|e| Err(Error::Unsupported(format!("internal error: {e}"))))
        .map(|p| p.display().to_string())
        .map_err(UiError::from)
}
