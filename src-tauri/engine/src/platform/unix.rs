//! Linux and macOS.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::FileId;

pub fn file_id(path: &Path) -> io::Result<FileId> {
    Ok(id(&std::fs::metadata(path)?))
}

pub fn file_id_of(file: &File) -> io::Result<FileId> {
    Ok(id(&file.metadata()?))
}

fn id(m: &Metadata) -> FileId {
    FileId { volume: m.dev(), index: m.ino() }
}

pub fn file_index(_path: &Path, meta: &Metadata) -> Option<u64> {
    Some(meta.ino())
}

pub fn file_index_of(_file: &File, meta: &Metadata) -> Option<u64> {
    Some(meta.ino())
}

pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

pub fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(b))
}

/// A hard link fails with EEXIST instead of replacing (`rename` would replace), and works
/// on every unix filesystem that has links; then the old name goes.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from).inspect_err(|_| {
        let _ = std::fs::remove_file(to); // the old name stays: undo the new one
    })
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub fn in_use(_e: &io::Error) -> bool {
    false
}

pub async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub fn exec(program: &Path, args: &[OsString]) -> io::Error {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(program);
    if let Some((arg0, rest)) = args.split_first() {
        command.arg0(arg0).args(rest);
    }
    command.exec()
}
