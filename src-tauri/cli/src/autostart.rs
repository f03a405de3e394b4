//! Start at login: the XDG autostart entry (`$XDG_CONFIG_HOME/autostart/Ferry.desktop`).
//!
//! Written here rather than through `tauri-plugin-autostart`: the plugin (and the
//! `auto-launch` crate under it) fixes the arguments when the app starts and always writes
//! to `~/.config/autostart`, ignoring `XDG_CONFIG_HOME`; the CLI has no app handle at all.
//! The entry has the same shape as theirs. The file itself is the setting: present = on,
//! `--hidden` in its `Exec` = start hidden. Nothing about it is kept in SQLite.

use std::io;
use std::path::{Path, PathBuf};

/// What the Settings page and `ferry config` show and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct Autostart {
    /// Start Ferry when the user logs in.
    pub enabled: bool,
    /// Start with no window, in the tray.
    pub hidden: bool,
}

const FILE: &str = "Ferry.desktop";

/// `$XDG_CONFIG_HOME/autostart`, else `~/.config/autostart` (the XDG Autostart spec).
pub fn dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("autostart"))
}

pub fn entry_path() -> io::Result<PathBuf> {
    dir().map(|d| d.join(FILE)).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no home folder to keep the autostart entry in"))
}

/// The setting as the entry says; off without an entry, "hidden" defaults to on.
pub fn read() -> Autostart {
    match entry_path().and_then(std::fs::read_to_string) {
        Ok(text) => Autostart {
            enabled: true,
            hidden: text.lines().any(|l| l.starts_with("Exec=") && l.split_whitespace().any(|a| a == "--hidden")),
        },
        Err(_) => Autostart { enabled: false, hidden: true },
    }
}

/// Writes or removes the entry exactly as `want` says. The data dir is always passed on, so
/// login starts the Ferry that was asked for, whatever the environment then.
pub fn write(want: Autostart, data_dir: &Path) -> io::Result<()> {
    let path = entry_path()?;
    if !want.enabled {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    // `ferry` itself, also when the window (`ferry-window` beside it) writes the entry: one
    // stable command to start at login, which opens the window.
    let exe = std::env::current_exe()?;
    let ferry = exe.with_file_name(format!("ferry{}", std::env::consts::EXE_SUFFIX));
    let exe = if ferry.is_file() { ferry } else { exe };
    let mut exec = vec![quote(&exe.to_string_lossy())];
    if want.hidden {
        exec.push("--hidden".into());
    }
    exec.push("--data-dir".into());
    exec.push(quote(&data_dir.to_string_lossy()));
    let text = format!(
        "[Desktop Entry]\nType=Application\nVersion=1.0\nName=Ferry\nComment=Ferry startup script\nExec={}\nStartupNotify=false\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    );
    std::fs::create_dir_all(path.parent().expect("the entry has a folder"))?;
    // Write then rename: a login in between never reads half an entry.
    let tmp = path.with_extension("desktop.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

/// Quotes an Exec argument per the Desktop Entry spec when it needs it.
fn quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+,:@=".contains(c)) {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    // `%` is a field code in Exec, also inside quotes.
    out.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn exec_arguments_are_quoted_only_when_needed() {
        assert_eq!(quote("/usr/bin/ferry"), "/usr/bin/ferry");
        assert_eq!(quote("/home/a b/x"), "\"/home/a b/x\"");
        assert_eq!(quote("/tmp/$x\"%"), "\"/tmp/\\$x\\\"%%\"");
    }
}
