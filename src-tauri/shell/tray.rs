//! The tray: Ferry's control panel while the window is closed. One status line (also the
//! tooltip, refreshed at most once a second), Show/Hide, Pause all / Resume all, Open data
//! folder and Quit, in the UI's language; the icon shows idle / uploading / paused / failed.
//! Menu clicks and the test hook (`tray_action`) go through the same `act`.

use std::sync::Mutex;
use std::time::Duration;

use ferry_engine::queue::QueueSummary;
use serde::{Deserialize, Serialize};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};

use super::texts::{self, Lang, Mood};
use super::App;

/// What the tray menu offers; also what the test hook can click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TrayAction {
    ToggleWindow,
    PauseAll,
    ResumeAll,
    OpenDataFolder,
    Quit,
}

impl TrayAction {
    const ALL: [TrayAction; 5] = [Self::ToggleWindow, Self::PauseAll, Self::ResumeAll, Self::OpenDataFolder, Self::Quit];

    fn id(self) -> &'static str {
        match self {
            Self::ToggleWindow => "toggle",
            Self::PauseAll => "pause_all",
            Self::ResumeAll => "resume_all",
            Self::OpenDataFolder => "open_data",
            Self::Quit => "quit",
        }
    }
}

/// The menu as it reads now, item by item (for the test hook and the screenshots).
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
pub struct TrayMenu {
    pub status: String,
    pub tooltip: String,
    pub icon: String,
    pub items: Vec<String>,
}

pub struct Tray {
    icon: TrayIcon,
    status: MenuItem<Wry>,
    items: Vec<(TrayAction, MenuItem<Wry>)>,
    shown: Mutex<TrayMenu>,
}

fn icon(mood: Mood) -> (&'static str, &'static [u8]) {
    match mood {
        Mood::Idle => ("idle", include_bytes!("../../icons/tray.png")),
        Mood::Uploading => ("uploading", include_bytes!("../../icons/tray-uploading.png")),
        Mood::Paused => ("paused", include_bytes!("../../icons/tray-paused.png")),
        Mood::Failed => ("failed", include_bytes!("../../icons/tray-failed.png")),
    }
}

pub fn install(app: &AppHandle) -> tauri::Result<Tray> {
    let status = MenuItem::with_id(app, "status", "…", false, None::<&str>)?;
    let items: Vec<(TrayAction, MenuItem<Wry>)> = TrayAction::ALL
        .iter()
        .map(|a| MenuItem::with_id(app, a.id(), a.id(), true, None::<&str>).map(|m| (*a, m)))
        .collect::<tauri::Result<_>>()?;
    let sep = || PredefinedMenuItem::separator(app);
    let (sep1, sep2, sep3) = (sep()?, sep()?, sep()?);
    let item = |a: TrayAction| &items.iter().find(|(x, _)| *x == a).expect("every action has an item").1;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &sep1,
            item(TrayAction::ToggleWindow),
            &sep2,
            item(TrayAction::PauseAll),
            item(TrayAction::ResumeAll),
            item(TrayAction::OpenDataFolder),
            &sep3,
            item(TrayAction::Quit),
        ],
    )?;
    let icon = TrayIconBuilder::with_id("ferry")
        .icon(Image::from_bytes(icon(Mood::Idle).1)?)
        .tooltip("Ferry")
        .menu(&menu)
        .on_menu_event(|app, event| {
            if let Some(a) = TrayAction::ALL.iter().find(|a| a.id() == event.id.as_ref()) {
                act(app, *a);
            }
        })
        .build(app)?;
    Ok(Tray { icon, status, items, shown: Mutex::new(TrayMenu::default()) })
}

impl Tray {
    /// Relabels the menu and, if the status changed, the tooltip and icon.
    pub fn show(&self, lang: Lang, summary: &QueueSummary, (rate, in_flight): (f64, u64), window_visible: bool, problem: Option<&str>) {
        let t = texts::texts(lang);
        let mut line = texts::status_line(lang, summary, rate, in_flight);
        if let Some(p) = problem {
            line = format!("{p} · {line}");
        }
        let (icon_name, icon_bytes) = icon(if problem.is_some() { Mood::Failed } else { texts::mood(summary) });
        let label = |a: TrayAction| match a {
            TrayAction::ToggleWindow => if window_visible { t.hide } else { t.show },
            TrayAction::PauseAll => t.pause_all,
            TrayAction::ResumeAll => t.resume_all,
            TrayAction::OpenDataFolder => t.open_data,
            TrayAction::Quit => t.quit,
        };
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        let items: Vec<String> = self.items.iter().map(|(a, _)| label(*a).to_owned()).collect();
        if shown.items != items {
            for ((_, item), text) in self.items.iter().zip(&items) {
                let _ = item.set_text(text);
            }
        }
        if shown.status != line {
            let _ = self.status.set_text(&line);
            let _ = self.icon.set_tooltip(Some(format!("Ferry — {line}")));
        }
        if shown.icon != icon_name {
            if let Ok(image) = Image::from_bytes(icon_bytes) {
                let _ = self.icon.set_icon(Some(image));
            }
        }
        *shown = TrayMenu { tooltip: format!("Ferry — {line}"), status: line, icon: icon_name.into(), items };
    }

    pub fn menu(&self) -> TrayMenu {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Refreshes the tray once a second (the tooltip's limit) for as long as the app runs.
pub async fn refresh_forever(app: AppHandle) {
    loop {
        refresh(&app).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Reads the queue and relabels the tray now (after a language change, a click).
pub async fn refresh(app: &AppHandle) {
    let Some(state) = app.try_state::<App>() else { return };
    let ferry = state.ferry.clone();
    let summary = tauri::async_runtime::spawn_blocking(move || ferry.queue.summary()).await;
    let summary = match summary {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tracing::warn!("the tray cannot read the queue: {e}"),
        Err(_) => return,
    };
    let visible = app.get_webview_window("main").and_then(|w| w.is_visible().ok()).unwrap_or(false);
    let lang = state.lang();
    let problem = state.problem().map(|p| texts::problem_short(lang, p.kind));
    if let Some(tray) = state.tray.get() {
        tray.show(lang, &summary, state.rates.total(), visible, problem);
    }
}

/// Does what a tray item says. Pause all / Resume all are the window's own job controls.
pub fn act(app: &AppHandle, action: TrayAction) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match action {
            TrayAction::ToggleWindow => {
                let visible = app.get_webview_window("main").and_then(|w| w.is_visible().ok()).unwrap_or(false);
                if visible {
                    if let Some(w) = app.get_webview_window("main") {
                        let _ = w.hide();
                    }
                } else {
                    super::show_main(&app);
                }
            }
            TrayAction::PauseAll | TrayAction::ResumeAll => {
                let control = if action == TrayAction::PauseAll { super::commands::JobControl::Pause } else { super::commands::JobControl::Resume };
                if let Err(e) = super::commands::control_jobs(app.state(), app.clone(), control, None).await {
                    tracing::warn!("the tray's {action:?} failed: {}", e.message);
                }
            }
            TrayAction::OpenDataFolder => {
                let dir = app.state::<App>().ferry.data_dir().to_path_buf();
                if let Err(e) = open_folder(&dir) {
                    tracing::warn!("cannot open {}: {e}", dir.display());
                }
            }
            TrayAction::Quit => super::request_quit(&app).await,
        }
        refresh(&app).await;
    });
}

fn open_folder(dir: &std::path::Path) -> std::io::Result<()> {
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    // Reaped in the background: the opener may outlive this call.
    let mut child = std::process::Command::new(opener).arg(dir).spawn()?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Whether the desktop shows tray icons: a StatusNotifier host registered with the watcher.
/// Without one, closing the window must quit rather than leave an invisible process.
pub fn host_present() -> bool {
    let Ok(conn) = zbus::blocking::Connection::session() else { return false };
    let owned = conn
        .call_method(Some("org.freedesktop.DBus"), "/org/freedesktop/DBus", Some("org.freedesktop.DBus"), "NameHasOwner", &("org.kde.StatusNotifierWatcher",))
        .and_then(|m| m.body().deserialize::<bool>().map_err(Into::into));
    owned.unwrap_or(false)
}
