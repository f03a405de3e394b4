//! What must hold after the storm: every file at its target exactly once and byte-exact,
//! every job done and naming what was stored, and no secret, token or signed URL anywhere
//! Ferry writes or prints.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::mocks::Stored;
use super::tree::SoakFile;

/// One account's expected files, where they went from, and what its target holds.
pub struct Target<'a> {
    pub account: &'a str,
    /// The folder the tree was uploaded from.
    pub source_root: PathBuf,
    pub files: &'a [SoakFile],
    /// Where a file is expected at the target: `soak/<rel>` or just the name (no folders).
    pub expected_path: fn(&SoakFile) -> String,
    pub stored: Vec<Stored>,
    /// Whether the job's result names the stored file (cloud targets).
    pub check_result_id: bool,
    /// Extra byte-exact copies the target may hold because the provider has no way to look
    /// up an upload whose answer was lost (iFlytek); the copies found are counted here.
    pub allowed_orphans: u64,
}

/// Every file present exactly once, byte-exact, its job done and naming it. Returns the
/// orphaned copies found within the targets' allowance.
pub fn verify_targets(targets: &[Target], jobs: &[serde_json::Value], problems: &mut Vec<String>) -> u64 {
    let mut orphans_found = 0;
    let mut job_by_source: HashMap<PathBuf, Vec<&serde_json::Value>> = HashMap::new();
    for j in jobs {
        job_by_source.entry(PathBuf::from(j["file"].as_str().unwrap_or_default())).or_default().push(j);
    }
    let expected_jobs: usize = targets.iter().map(|t| t.files.len()).sum();
    if jobs.len() != expected_jobs {
        problems.push(format!("{} jobs in the queue, {} files were queued", jobs.len(), expected_jobs));
    }
    for j in jobs.iter().filter(|j| j["state"] != "done") {
        problems.push(format!("job {} ({}) ended {}: {}", j["id"], j["file"].as_str().unwrap_or("?"), j["state"], j["error"]));
    }
    for t in targets {
        let mut orphans_left = t.allowed_orphans;
        let mut by_path: BTreeMap<&str, Vec<&Stored>> = BTreeMap::new();
        for s in &t.stored {
            by_path.entry(s.path.as_str()).or_default().push(s);
        }
        let mut expected: Vec<String> = Vec::new();
        for f in t.files {
            let want = (t.expected_path)(f);
            let source = t.source_root.join(&f.rel);
            let the_jobs = job_by_source.get(&source).map(Vec::as_slice).unwrap_or_default();
            if the_jobs.len() != 1 {
                problems.push(format!("{}: {} has {} jobs, not one", t.account, f.rel, the_jobs.len()));
            }
            match by_path.get(want.as_str()).map(Vec::as_slice).unwrap_or_default() {
                [] => problems.push(format!("{}: {want} is missing at the target", t.account)),
                copies => {
                    // The one the job names is the upload; any other is a duplicate commit
                    // unless the provider left it behind after a lost answer (allowance).
                    let named_by_job = |s: &&&Stored| {
                        the_jobs.first().is_some_and(|job| [&job["result"]["id"], &job["result"]["url"]].iter().filter_map(|v| v.as_str()).any(|id| id == s.id))
                    };
                    let s = copies.iter().find(named_by_job).unwrap_or(&copies[0]);
                    let extra = copies.len() as u64 - 1;
                    if extra > 0 {
                        let exact = copies.iter().all(|c| (c.size, c.sha1.as_str()) == (f.size, f.sha1.as_str()));
                        if exact && extra <= orphans_left {
                            orphans_left -= extra;
                            orphans_found += extra;
                        } else {
                            problems.push(format!("{}: {want} is stored {} times (a duplicate commit)", t.account, copies.len()));
                        }
                    }
                    if (s.size, s.sha1.as_str()) != (f.size, f.sha1.as_str()) {
                        problems.push(format!("{}: {want} arrived as {} B sha1 {}, sent {} B sha1 {}", t.account, s.size, s.sha1, f.size, f.sha1));
                    }
                    if t.check_result_id {
                        if let [job] = the_jobs {
                            let named = [&job["result"]["id"], &job["result"]["url"]].iter().filter_map(|v| v.as_str()).any(|id| id == s.id);
                            if !named && job["state"] == "done" {
                                problems.push(format!("{}: job {} for {want} names {}, the target stored it as {}", t.account, job["id"], job["result"], s.id));
                            }
                        }
                    }
                }
            }
            expected.push(want);
        }
        for (path, stored) in &by_path {
            if !expected.iter().any(|e| e == path) {
                problems.push(format!("{}: {path} is at the target ({} time(s)) but no file of that name was sent", t.account, stored.len()));
            }
        }
    }
    orphans_found
}

/// What must never be written or printed.
pub struct Needles {
    pub literal: Vec<(String, String)>,
}

impl Needles {
    /// Secrets and refresh tokens by value; tokens and signed URLs by their shape at the mocks.
    pub fn new(secrets: &[String]) -> Needles {
        let mut literal: Vec<(String, String)> = secrets.iter().map(|s| ("a secret".to_owned(), s.clone())).collect();
        for (what, shape) in [
            ("a signed URL", "Signature="),
            ("a signed URL", "OSSAccessKeyId="),
            ("a DingTalk token", "mocktok"),
            ("a PDS access token", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."),
            ("an iFlytek request signature", "signature=\""),
            ("an authorization header", "Bearer "),
        ] {
            literal.push((what.to_owned(), shape.to_owned()));
        }
        Needles { literal }
    }
}

/// Scans `files` for every needle and for Feishu tenant tokens (`t-` and 32 hex digits).
pub fn scan_for_leaks(files: &[PathBuf], needles: &Needles, problems: &mut Vec<String>) -> usize {
    let mut scanned = 0;
    for path in files {
        let Ok(bytes) = std::fs::read(path) else { continue };
        scanned += 1;
        for (what, needle) in &needles.literal {
            if let Some(at) = find(&bytes, needle.as_bytes()) {
                problems.push(format!("{what} is in {}, {}", path.display(), place(&bytes, at)));
            }
        }
        if let Some(at) = feishu_token(&bytes) {
            problems.push(format!("a Feishu token is in {}, {}", path.display(), place(&bytes, at)));
        }
    }
    scanned
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn feishu_token(hay: &[u8]) -> Option<usize> {
    let hexd = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    hay.windows(34).position(|w| w.starts_with(b"t-") && w[2..].iter().all(hexd))
}

/// Where a find is, without any of its text (the report must not leak it either).
fn place(bytes: &[u8], at: usize) -> String {
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    format!("line {line} (byte {at})")
}

/// Lines of the engine's logs that say a request or a job was tried again.
pub fn retries_in_logs(data: &Path) -> (u64, u64) {
    let (mut requests, mut jobs) = (0, 0);
    for (_, p) in super::tree::walk(&data.join("logs")) {
        let Ok(text) = std::fs::read_to_string(p) else { continue };
        for line in text.lines() {
            if line.contains("retrying:") || line.contains("retrying part:") {
                requests += 1;
            } else if line.contains("will retry in") {
                jobs += 1;
            }
        }
    }
    (requests, jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, sha1: &str) -> SoakFile {
        SoakFile { rel: rel.into(), name: rel.rsplit('/').next().unwrap().into(), size: 3, sha1: sha1.into() }
    }

    fn stored(path: &str, id: &str, sha1: &str) -> Stored {
        Stored { path: path.into(), id: id.into(), size: 3, sha1: sha1.into() }
    }

    fn job(source: &str, id: &str) -> serde_json::Value {
        serde_json::json!({ "id": 1, "state": "done", "file": source, "result": { "id": id } })
    }

    #[test]
    fn a_duplicate_a_missing_file_and_wrong_bytes_are_each_found() {
        let files = [file("w0/a.bin", "aa"), file("w0/b.bin", "bb"), file("w0/c.bin", "cc")];
        let target = |stored: Vec<Stored>, allowed_orphans| Target {
            account: "t",
            source_root: PathBuf::from("/src"),
            files: &files,
            expected_path: |f| format!("soak/{}", f.rel),
            stored,
            check_result_id: true,
            allowed_orphans,
        };
        let jobs = [job("/src/w0/a.bin", "1"), job("/src/w0/b.bin", "2"), job("/src/w0/c.bin", "3")];
        let good = vec![stored("soak/w0/a.bin", "1", "aa"), stored("soak/w0/b.bin", "2", "bb"), stored("soak/w0/c.bin", "3", "cc")];
        let mut problems = vec![];
        verify_targets(&[target(good.clone(), 0)], &jobs, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");

        let mut bad = good.clone();
        bad[1].sha1 = "xx".into();
        bad.push(stored("soak/w0/a.bin", "9", "aa"));
        bad.retain(|s| s.path != "soak/w0/c.bin");
        bad.push(stored("soak/w0/c (1).bin", "3", "cc"));
        verify_targets(&[target(bad, 0)], &jobs, &mut problems);
        let all = problems.join("\n");
        for expected in ["a.bin is stored 2 times", "b.bin arrived as 3 B sha1 xx", "c.bin is missing", "c (1).bin is at the target"] {
            assert!(all.contains(expected), "{expected:?} not in {all}");
        }

        // An orphan the provider could not avoid is allowed only when counted for.
        let mut orphan = good;
        orphan.push(stored("soak/w0/a.bin", "9", "aa"));
        let mut problems = vec![];
        assert_eq!(verify_targets(&[target(orphan, 1)], &jobs, &mut problems), 1);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn every_needle_is_found_and_masked_in_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ferry.log");
        let token = format!("t-{}", "0123456789abcdef".repeat(2));
        std::fs::write(&log, format!("error for url (http://h/oss?Signature=abc) s3cret {token}\n")).unwrap();
        let mut problems = vec![];
        assert_eq!(scan_for_leaks(&[log], &Needles::new(&["s3cret".into()]), &mut problems), 1);
        let all = problems.join("\n");
        assert!(all.contains("a signed URL") && all.contains("a secret") && all.contains("a Feishu token"), "{all}");
        assert!(!all.contains("s3cret") && !all.contains(&token), "the report must not leak what it found: {all}");
    }
}
