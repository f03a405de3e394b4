//! Turning paths into jobs: a file becomes one job, a folder its files (recursively, in
//! name order). A path that cannot be uploaded is reported by name with its cause, and the
//! rest are queued anyway.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::accounts::Account;
use crate::error::Result;
use crate::queue::NewJob;
use crate::source::Identity;
use crate::Ferry;

/// A queued file, as `ferry upload --json` prints it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Enqueued {
    pub id: i64,
    pub file: String,
    pub name: String,
    pub dest: String,
    pub size: u64,
    pub account: String,
}

/// A path that was not queued, and why (human words naming it).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Rejected {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Default, Serialize, specta::Type)]
pub struct EnqueueReport {
    pub queued: Vec<Enqueued>,
    pub rejected: Vec<Rejected>,
    /// Notes for people, e.g. a name that is not valid UTF-8 and the name used instead.
    pub notes: Vec<String>,
}

/// Queues `paths` for `account` under `dest`.
pub fn enqueue_paths(ferry: &Ferry, account: &Account, paths: &[PathBuf], dest: &str) -> Result<EnqueueReport> {
    let mut report = EnqueueReport::default();
    let mut jobs = Vec::new();
    let mut dest = dest.trim_matches('/');
    if !account.provider.has_folders() && !dest.is_empty() {
        report.notes.push(format!("{} accounts have no folders: the destination \"{dest}\" is not used", account.provider.as_str()));
        dest = "";
    }
    for path in paths {
        collect(path, dest, account, &mut jobs, &mut report);
    }
    let ids = ferry.queue.enqueue(&jobs)?;
    for (id, j) in ids.into_iter().zip(jobs) {
        report.queued.push(Enqueued {
            id,
            file: j.source.display().to_string(),
            name: j.name,
            dest: j.dest,
            size: j.size,
            account: account.name.clone(),
        });
    }
    Ok(report)
}

fn reject(report: &mut EnqueueReport, path: &Path, error: impl std::fmt::Display) {
    report.rejected.push(Rejected { file: path.display().to_string(), error: format!("{}: {error}", path.display()) });
}

fn collect(path: &Path, dest: &str, account: &Account, jobs: &mut Vec<NewJob>, report: &mut EnqueueReport) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return reject(report, path, e),
    };
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => return reject(report, path, format!("cannot list the folder: {e}")),
        };
        entries.sort();
        let folder = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sub = if !account.provider.has_folders() {
            // The provider keeps no paths: the files go flat, and people are told so once.
            let note = format!("{} accounts have no folders: the files of {} are uploaded without their folders", account.provider.as_str(), path.display());
            if !report.notes.iter().any(|n| n.ends_with("without their folders")) {
                report.notes.push(note);
            }
            String::new()
        } else if dest.is_empty() {
            folder
        } else {
            format!("{dest}/{folder}")
        };
        for entry in entries {
            // Symlinked folders are not followed: they can loop and lead outside the tree.
            if entry.is_dir() && std::fs::symlink_metadata(&entry).is_ok_and(|m| m.file_type().is_symlink()) {
                report.notes.push(format!("{}: a symbolic link to a folder; not followed", entry.display()));
                continue;
            }
            collect(&entry, &sub, account, jobs, report);
        }
        return;
    }
    if !meta.is_file() {
        return reject(report, path, "not a regular file");
    }
    match std::fs::File::open(path) {
        // Windows: held open without sharing, typically still being written. Queued: the
        // upload tries again until that program lets go.
        Err(e) if crate::platform::in_use(&e) => {
            report.notes.push(format!("{}: in use by another program right now; it uploads once that program lets go of it", path.display()));
        }
        Err(e) => return reject(report, path, format!("cannot read it: {e}")),
        Ok(_) => {}
    }
    let Some(raw) = path.file_name() else { return reject(report, path, "has no file name") };
    let name = match raw.to_str() {
        Some(n) => n.to_owned(),
        None => {
            let lossy = raw.to_string_lossy().into_owned();
            report.notes.push(format!("{}: the name is not valid UTF-8; uploading it as \"{lossy}\"", path.display()));
            lossy
        }
    };
    jobs.push(new_job(account.id, path, name, Identity::of(path, &meta), dest));
}

/// The job for one file (by its absolute path) at a known version.
pub fn new_job(account_id: i64, path: &Path, name: String, id: Identity, dest: &str) -> NewJob {
    let source = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    NewJob { account_id, source, name, dest: dest.to_owned(), size: id.size, mtime_ns: id.mtime_ns, inode: id.inode }
}
