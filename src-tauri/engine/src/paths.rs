//! Where Ferry keeps its database and logs.

use std::path::PathBuf;

/// The app identifier; also the keyring service name, so entries are easy to find.
pub const APP_ID: &str = "app.ferry.uploader";

/// `explicit` (the `--data-dir` flag) wins, then `FERRY_DATA_DIR`, then the platform's
/// app-data dir (the same folder Tauri's `app_data_dir()` resolves to).
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("FERRY_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| crate::platform::app_data_root().join(APP_ID))
}
