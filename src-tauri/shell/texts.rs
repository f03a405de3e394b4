//! The words the shell shows outside the web page (tray menu, tooltip, notification), in the
//! UI's language. The page's strings live in ui/src/lib/i18n; these few are Rust's.

use ferry_engine::queue::QueueSummary;
use ferry_engine::transfer::ProblemKind;
use serde::{Deserialize, Serialize};

/// The UI language, told to Rust by the page whenever it is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

pub struct Texts {
    pub show: &'static str,
    pub hide: &'static str,
    pub pause_all: &'static str,
    pub resume_all: &'static str,
    pub open_data: &'static str,
    pub quit: &'static str,
    pub closed_title: &'static str,
    pub closed_body: &'static str,
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &Texts {
            show: "Show Ferry",
            hide: "Hide Ferry",
            pause_all: "Pause all",
            resume_all: "Resume all",
            open_data: "Open data folder",
            quit: "Quit",
            closed_title: "Ferry is still running",
            closed_body: "Uploads carry on in the background. Open Ferry or quit it from its tray icon.",
        },
        Lang::Zh => &Texts {
            show: "显示 Ferry",
            hide: "隐藏 Ferry",
            pause_all: "全部暂停",
            resume_all: "全部继续",
            open_data: "打开数据文件夹",
            quit: "退出",
            closed_title: "Ferry 仍在运行",
            closed_body: "上传会在后台继续。可从托盘图标打开或退出 Ferry。",
        },
    }
}

/// The engine's problem, short enough for the tray's status line (the window has the whole
/// sentence with the file's path).
pub fn problem_short(lang: Lang, kind: ProblemKind) -> &'static str {
    match (lang, kind) {
        (Lang::En, ProblemKind::DiskFull) => "Can't write the database: disk full",
        (Lang::En, ProblemKind::DatabaseBusy) => "Database locked by another program",
        (Lang::En, ProblemKind::DatabaseIo) => "Can't write the database",
        (Lang::En, ProblemKind::DatabaseCorrupt) => "The database is damaged",
        (Lang::En, ProblemKind::Internal) => "The engine has a problem",
        (Lang::Zh, ProblemKind::DiskFull) => "无法写入数据库：磁盘已满",
        (Lang::Zh, ProblemKind::DatabaseBusy) => "数据库被其他程序锁定",
        (Lang::Zh, ProblemKind::DatabaseIo) => "无法写入数据库",
        (Lang::Zh, ProblemKind::DatabaseCorrupt) => "数据库已损坏",
        (Lang::Zh, ProblemKind::Internal) => "上传引擎遇到问题",
    }
}

/// What the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    Idle,
    Uploading,
    Paused,
    Failed,
}

pub fn mood(s: &QueueSummary) -> Mood {
    if s.failed > 0 {
        Mood::Failed
    } else if s.running + s.queued > 0 {
        Mood::Uploading
    } else if s.paused > 0 {
        Mood::Paused
    } else {
        Mood::Idle
    }
}

/// One line: "Uploading 3 · 12.4 MiB/s · 2 min left", "Idle", "2 failed", …
/// `rate` is bytes a second as this process measures it (0 when another engine uploads);
/// `in_flight` the bytes sent but not yet acknowledged (not in `bytes_left`'s count).
pub fn status_line(lang: Lang, s: &QueueSummary, rate: f64, in_flight: u64) -> String {
    let zh = lang == Lang::Zh;
    let mut parts: Vec<String> = vec![];
    if s.running > 0 {
        parts.push(if zh { format!("正在上传 {} 个", s.running) } else { format!("Uploading {}", s.running) });
        if rate >= 1.0 {
            parts.push(format!("{}/s", bytes(rate)));
            let secs = (s.bytes_left.saturating_sub(in_flight) as f64 / rate).ceil() as u64;
            parts.push(left(zh, secs));
        }
    }
    if s.queued > 0 {
        parts.push(if zh { format!("{} 个排队", s.queued) } else { format!("{} queued", s.queued) });
    }
    if s.paused > 0 && s.running + s.queued == 0 {
        parts.push(if zh { format!("{} 个已暂停", s.paused) } else { format!("{} paused", s.paused) });
    }
    if s.failed > 0 {
        parts.push(if zh { format!("{} 个失败", s.failed) } else { format!("{} failed", s.failed) });
    }
    if parts.is_empty() {
        return if zh { "空闲".into() } else { "Idle".into() };
    }
    parts.join(" · ")
}

fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut i) = (n, 0);
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn left(zh: bool, secs: u64) -> String {
    let mins = secs.div_ceil(60);
    match (zh, mins) {
        (false, _) if secs < 60 => "<1 min left".into(),
        (true, _) if secs < 60 => "剩余不到 1 分钟".into(),
        (false, 0..=1) => "1 min left".into(),
        (false, 2..=59) => format!("{mins} min left"),
        (false, _) => format!("{} h {} min left", mins / 60, mins % 60),
        (true, 0..=1) => "剩余 1 分钟".into(),
        (true, 2..=59) => format!("剩余 {mins} 分钟"),
        (true, _) => format!("剩余 {} 小时 {} 分钟", mins / 60, mins % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(running: u32, queued: u32, paused: u32, failed: u32, bytes_left: u64) -> QueueSummary {
        QueueSummary { running, queued, paused, failed, bytes_left }
    }

    #[test]
    fn status_lines_in_both_languages() {
        let busy = summary(3, 0, 0, 0, 12 * 1024 * 1024 * 100);
        let rate = 12.4 * 1024.0 * 1024.0;
        assert_eq!(status_line(Lang::En, &busy, rate, 0), "Uploading 3 · 12.4 MiB/s · 2 min left");
        assert_eq!(status_line(Lang::Zh, &busy, rate, 0), "正在上传 3 个 · 12.4 MiB/s · 剩余 2 分钟");
        // What is in flight is nearly sent: 1,200 MiB − 700 MiB at 12.4 MiB/s is 41 s.
        assert_eq!(status_line(Lang::En, &busy, rate, 700 * 1024 * 1024), "Uploading 3 · 12.4 MiB/s · <1 min left");
        assert_eq!(status_line(Lang::Zh, &busy, rate, 700 * 1024 * 1024), "正在上传 3 个 · 12.4 MiB/s · 剩余不到 1 分钟");
        assert_eq!(status_line(Lang::En, &summary(0, 0, 0, 0, 0), 0.0, 0), "Idle");
        assert_eq!(status_line(Lang::Zh, &summary(0, 0, 0, 0, 0), 0.0, 0), "空闲");
        assert_eq!(status_line(Lang::En, &summary(0, 0, 0, 2, 0), 0.0, 0), "2 failed");
        assert_eq!(status_line(Lang::En, &summary(0, 0, 4, 0, 0), 0.0, 0), "4 paused");
        assert_eq!(status_line(Lang::En, &summary(1, 2, 0, 1, 10), 0.0, 0), "Uploading 1 · 2 queued · 1 failed");
    }

    #[test]
    fn the_icon_follows_the_worst_news() {
        assert_eq!(mood(&summary(1, 0, 0, 1, 0)), Mood::Failed);
        assert_eq!(mood(&summary(1, 0, 3, 0, 0)), Mood::Uploading);
        assert_eq!(mood(&summary(0, 0, 3, 0, 0)), Mood::Paused);
        assert_eq!(mood(&summary(0, 0, 0, 0, 0)), Mood::Idle);
    }
}
