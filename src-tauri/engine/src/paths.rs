//! Where Ferry keeps its database and logs.

use std::path::{Path, PathBuf};

/// The app identifier; also the keyring service name, so entries are easy to find.
pub const APP_ID: &str = "app.ferry.uploader";

/// `explicit` (the `--data-dir` flag) wins, then `FERRY_DATA_DIR`, then the platform's
/// app-data dir (the same folder Tauri's `app_data_dir()` resolves to).
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("FERRY_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| crate::platform::app_data_root().join(APP_ID))
}

/// The n-th name for a file that must not replace another: "a.txt", "a (1).txt",
/// "a (2).txt", … (the local provider and after-upload moves name collisions alike).
pub fn numbered(target: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return target.to_path_buf();
    }
    let stem = target.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match target.extension() {
        Some(ext) => format!("{stem} ({n}).{}", ext.to_string_lossy()),
        None => format!("{stem} ({n})"),
    };
    target.with_file_name(name)
}
