//! Windows. std has no stable file index or no-replace move, so these call Win32 directly.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};

use windows_sys::Win32::Foundation::{ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_FLAG_BACKUP_SEMANTICS, GetFileInformationByHandle, MOVEFILE_WRITE_THROUGH, MoveFileExW,
};

use super::FileId;

pub fn file_id(path: &Path) -> io::Result<FileId> {
    // No access rights: only metadata, which a sharing mode never refuses. Backup semantics
    // lets the same call open a folder.
    let f = std::fs::OpenOptions::new().access_mode(0).custom_flags(FILE_FLAG_BACKUP_SEMANTICS).open(path)?;
    file_id_of(&f)
}

pub fn file_id_of(file: &File) -> io::Result<FileId> {
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: a valid handle owned by `file`, and a properly sized out-struct.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle() as _, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(FileId {
        volume: info.dwVolumeSerialNumber as u64,
        index: ((info.nFileIndexHigh as u64) << 32) | info.nFileIndexLow as u64,
    })
}

pub fn file_index(path: &Path, _meta: &Metadata) -> Option<u64> {
    file_id(path).ok().map(|i| i.index)
}

pub fn file_index_of(file: &File, _meta: &Metadata) -> Option<u64> {
    file_id_of(file).ok().map(|i| i.index)
}

/// `seek_read` may return fewer bytes than asked: loop like unix `read_exact_at`.
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "failed to fill whole buffer")),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Reading at or past the end of file reports "handle EOF" on Windows.
            Err(e) if e.raw_os_error() == Some(38) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer")),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    match String::from_utf8(b) {
        Ok(s) => PathBuf::from(s),
        Err(e) => PathBuf::from(OsString::from_wide(&super::wtf8_to_wide(e.as_bytes()))),
    }
}

/// `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING` fails with ERROR_ALREADY_EXISTS
/// (`AlreadyExists`) instead of replacing; one atomic rename on one volume, and it works on
/// FAT/exFAT disks, which have no hard links.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (wide(from)?, wide(to)?);
    // SAFETY: both are NUL-terminated UTF-16 strings that outlive the call.
    if unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), MOVEFILE_WRITE_THROUGH) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// NTFS journals folder entries; Windows has no portable way to flush a folder.
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

pub fn in_use(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c == ERROR_SHARING_VIOLATION as i32 || c == ERROR_LOCK_VIOLATION as i32)
}

/// An absolute, NUL-terminated path for Win32, with the `\\?\` prefix when it is longer
/// than MAX_PATH (std does the same inside its own calls).
fn wide(p: &Path) -> io::Result<Vec<u16>> {
    let abs = std::path::absolute(p)?;
    let s: Vec<u16> = abs.as_os_str().encode_wide().collect();
    let verbatim = s.starts_with(&[b'\\' as u16, b'\\' as u16, b'?' as u16, b'\\' as u16]);
    let mut out: Vec<u16> = Vec::with_capacity(s.len() + 8);
    if s.len() >= 248 && !verbatim {
        if s.starts_with(&[b'\\' as u16, b'\\' as u16]) {
            out.extend(r"\\?\UNC\".encode_utf16());
            out.extend_from_slice(&s[2..]);
        } else {
            out.extend(r"\\?\".encode_utf16());
            out.extend_from_slice(&s);
        }
    } else {
        out.extend_from_slice(&s);
    }
    out.push(0);
    Ok(out)
}

pub async fn stop_requested() {
    use tokio::signal::windows::{ctrl_break, ctrl_close};
    match (ctrl_break(), ctrl_close()) {
        (Ok(mut brk), Ok(mut close)) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = brk.recv() => {}
            _ = close.recv() => {}
        },
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub fn exec(program: &Path, args: &[OsString]) -> io::Error {
    match std::process::Command::new(program).args(args.iter().skip(1)).status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    }
}
