//! One engine per data dir: whoever holds `engine.lock` (an OS file lock, released by the
//! OS when the process dies) works the queue and serves the watched folders.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = "engine.lock";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct EngineLock {
    file: File,
    data_dir: PathBuf,
}

impl EngineLock {
    /// Takes the lock of `data_dir` if no other engine holds it (`None` if one does). The
    /// lock belongs to this open file: a second `try_acquire` in the same process while
    /// the first is held answers `None` too.
    pub fn try_acquire(data_dir: &Path) -> Result<Option<EngineLock>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("cannot create the data folder {}", data_dir.display()), e))?;
        let path = data_dir.join(LOCK_FILE);
        let file = File::create(&path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(EngineLock { file, data_dir: data_dir.to_path_buf() })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(format!("cannot lock {}", path.display()), e)),
        }
    }

    /// Like [`EngineLock::try_acquire`], but another engine is an error in words.
    pub fn acquire(data_dir: &Path) -> Result<EngineLock> {
        EngineLock::try_acquire(data_dir)?.ok_or_else(|| {
            Error::Unsupported("another Ferry engine (the window or `ferry run`) is already working this queue".into())
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl Drop for EngineLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = EngineLock::try_acquire(dir.path()).unwrap().expect("free at first");
        assert!(EngineLock::try_acquire(dir.path()).unwrap().is_none(), "held");
        let err = EngineLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains("another Ferry engine"), "{err}");
        drop(first);
        assert!(EngineLock::try_acquire(dir.path()).unwrap().is_some(), "released on drop");
    }
}
