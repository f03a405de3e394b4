//! Watched folders with `ferry run`: slow and fast writers, temp files, catch-up after
//! downtime, after-upload actions, and the awkward trees (symlink loop, unreadable folder,
//! a folder that disappears and comes back).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::support::*;

const MIB: usize = 1 << 20;

fn watch_add(s: &Sandbox, dir: &Path, args: &[&str]) -> i64 {
    let mut all = vec!["watch", "add", dir.to_str().unwrap(), "--account", "disk"];
    all.extend_from_slice(args);
    s.run(&all, "").ok().stdout().trim().parse().unwrap()
}

fn watch_json(s: &Sandbox, id: i64) -> serde_json::Value {
    let out = s.run(&["watch", "list", "--json"], "").ok().stdout();
    out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|w| w["id"] == id).unwrap()
}

fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn done_jobs(s: &Sandbox) -> Vec<serde_json::Value> {
    s.jobs().into_values().filter(|j| j["state"] == "done").collect()
}

#[test]
fn slow_and_fast_writers_are_uploaded_once_complete_and_temp_files_never() {
    let s = Sandbox::new();
    let src = s.dir.path().join("inbox");
    let dest = s.dir.path().join("dest");
    std::fs::create_dir_all(src.join("nested/deeper")).unwrap();
    s.add_local("disk", &dest);
    watch_add(&s, &src, &["--quiet-secs", "2"]);
    let _run = s.spawn_run(&[]);

    // Fast files into nested folders, and temp files that must never be uploaded.
    let mut expected = Vec::new();
    for (i, dir) in ["", "nested", "nested/deeper"].iter().enumerate() {
        let p = src.join(dir).join(format!("quick-{i}.bin"));
        expected.push((p.clone(), write_random(&p, 300_000 + i as u64, i as u64)));
    }
    for temp in ["movie.mp4.crdownload", "report.tmp", "~$doc.docx", ".hidden", "data.part"] {
        std::fs::write(src.join("nested").join(temp), b"temp").unwrap();
    }
    // A slow writer: 1 MiB every 200 ms for 10 s.
    let slow = src.join("nested/slow-recording.bin");
    let mut f = std::fs::File::create(&slow).unwrap();
    let mut sizes_seen_while_writing = Vec::new();
    for i in 0..50u64 {
        f.write_all(&vec![(i % 251) as u8; MIB]).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        if i % 10 == 9 {
            sizes_seen_while_writing.extend(s.jobs().into_values().filter(|j| j["name"] == "slow-recording.bin").map(|j| j["size"].clone()));
        }
    }
    drop(f);
    expected.push((slow.clone(), sha1_of(&slow)));
    assert!(sizes_seen_while_writing.is_empty(), "the growing file was queued while still written: {sizes_seen_while_writing:?}");

    wait_for(60, "every file uploaded", || done_jobs(&s).len() >= expected.len());
    std::thread::sleep(Duration::from_secs(3)); // nothing more may come
    let jobs: Vec<serde_json::Value> = s.jobs().into_values().collect();
    println!("watch: {} files written (+5 temp files), {} jobs queued", expected.len(), jobs.len());
    assert_eq!(jobs.len(), expected.len(), "exactly one job per file, none for temp files: {jobs:#?}");
    for (path, sha1) in &expected {
        let rel = path.strip_prefix(&src).unwrap();
        let j = jobs.iter().find(|j| j["file"] == path.to_str().unwrap()).expect("a job per file");
        assert_eq!(j["size"], std::fs::metadata(path).unwrap().len(), "queued complete, never partial");
        assert_eq!(sha1_of(&dest.join(rel)), *sha1, "{} byte-exact", rel.display());
    }
    assert!(!dest.join("nested/report.tmp").exists() && !dest.join("nested/movie.mp4.crdownload").exists());
}

#[test]
fn catch_up_after_downtime_uploads_new_files_only() {
    let s = Sandbox::new();
    let src = s.dir.path().join("camera");
    let dest = s.dir.path().join("dest");
    std::fs::create_dir_all(&src).unwrap();
    s.add_local("disk", &dest);
    for i in 0..5 {
        write_random(&src.join(format!("old-{i}.jpg")), 50_000, i);
    }
    let id = watch_add(&s, &src, &["--quiet-secs", "1"]);
    let first = s.run_until_idle();
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert_eq!(done_jobs(&s).len(), 5);
    // Nobody watches it once the run is over: it says so, not a stale "scanning".
    let w = watch_json(&s, id);
    assert_eq!(w["status"], "stopped", "{w}");
    assert!(s.run(&["watch", "list"], "").ok().stdout().contains("stopped"));

    // While Ferry is not running: three new files, one changed, one renamed.
    for i in 0..3 {
        write_random(&src.join(format!("new-{i}.jpg")), 40_000, 100 + i);
    }
    std::thread::sleep(Duration::from_millis(20));
    write_random(&src.join("old-0.jpg"), 60_000, 999); // a new version
    std::fs::rename(src.join("old-1.jpg"), src.join("renamed-1.jpg")).unwrap();
    std::thread::sleep(Duration::from_millis(1100)); // older than the quiet period

    let second = s.run_until_idle();
    assert_eq!(second.code(), 0, "{}", second.stderr());
    let jobs = s.jobs();
    let new_jobs = jobs.len() - 5;
    println!("catch-up: 5 uploaded before, {new_jobs} queued at restart (3 new + 1 changed), renamed file not re-uploaded");
    assert_eq!(new_jobs, 4);
    assert!(jobs.values().all(|j| j["state"] == "done"));
    assert!(!jobs.values().any(|j| j["name"] == "renamed-1.jpg"), "a rename is not a new file");
    assert_eq!(sha1_of(&dest.join("old-0 (1).jpg")), sha1_of(&src.join("old-0.jpg")), "the new version went up beside the old");

    let third = s.run_until_idle();
    assert_eq!(third.code(), 0);
    assert_eq!(s.jobs().len(), jobs.len(), "nothing re-uploaded on a third start");
    assert_eq!(watch_json(&s, id)["status"], "stopped");
}

#[test]
fn after_upload_actions_and_delete_only_after_a_confirmed_upload() {
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    s.run(&["account", "add", "broken", "--provider", "xfyun", "--endpoint", "http://127.0.0.1:9", "--set", "app_id=A"], "api_key=k\napi_secret=s\n").ok();
    s.config("retry_attempts", "1");
    s.config("job_attempts", "1");
    let (del, mov, fail) = (s.dir.path().join("del"), s.dir.path().join("mov"), s.dir.path().join("fail"));
    let archive = s.dir.path().join("archive");
    for d in [&del, &mov, &fail] {
        std::fs::create_dir_all(d.join("sub")).unwrap();
    }
    let del_sha = write_random(&del.join("sub/a.bin"), 10_000, 1);
    let mov_sha = write_random(&mov.join("sub/b.bin"), 10_000, 2);
    write_random(&fail.join("c.bin"), 10_000, 3);
    std::thread::sleep(Duration::from_millis(1100));
    watch_add(&s, &del, &["--after", "delete", "--quiet-secs", "1"]);
    watch_add(&s, &mov, &["--after", &format!("move:{}", archive.display()), "--quiet-secs", "1"]);
    let r = s.run(&["watch", "add", fail.to_str().unwrap(), "--account", "broken", "--after", "delete", "--quiet-secs", "1"], "").ok();
    assert!(!r.stdout().is_empty());

    let run = s.run_until_idle();
    assert_eq!(run.code(), 1, "the broken account's upload failed: {}", run.stderr());
    assert!(!del.join("sub/a.bin").exists(), "deleted after its confirmed upload");
    assert_eq!(sha1_of(&dest.join("sub/a.bin")), del_sha);
    assert!(!mov.join("sub/b.bin").exists());
    assert_eq!(sha1_of(&archive.join("sub/b.bin")), mov_sha, "moved, keeping its relative path");
    assert!(fail.join("c.bin").exists(), "a failed upload never deletes the file");
    let bad = s.run(&["watch", "add", "relative/dir", "--account", "disk"], "");
    assert_eq!(bad.code(), 2);
    let bad = s.run(&["watch", "add", del.to_str().unwrap(), "--account", "disk", "--after", "shred"], "");
    assert_eq!(bad.code(), 2);
    assert!(bad.stderr().contains("expected keep, delete or move:DIR"));

    // Without --quiet-secs a watch takes the quiet period of `ferry config` (Settings).
    let plain = s.dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    s.config("quiet_secs", "9");
    let id = watch_add(&s, &plain, &[]);
    assert_eq!(watch_json(&s, id)["quiet_secs"], 9);
    assert_eq!(s.run(&["config", "set", "quiet_secs", "0"], "").code(), 2, "1 to 3600 seconds");
}

#[test]
fn symlink_loop_unreadable_folder_and_a_folder_that_comes_back() {
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    let src = s.dir.path().join("tree");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::os::unix::fs::symlink(&src, src.join("a/b/loop")).unwrap();
    write_random(&src.join("a/b/one.bin"), 1000, 1);
    std::thread::sleep(Duration::from_millis(1100));
    let id = watch_add(&s, &src, &["--quiet-secs", "1"]);
    let mut run = s.spawn_run(&[]);
    wait_for(30, "the first file", || done_jobs(&s).len() == 1);
    let w = watch_json(&s, id);
    assert_eq!(w["status"], "watching", "{w}");
    assert!(w["detail"].as_str().unwrap().contains("1 symbolic link(s) to folders not followed"), "{w}");

    // The folder disappears (an unmounted drive), then comes back with a new file.
    let moved = s.dir.path().join("tree-away");
    std::fs::rename(&src, &moved).unwrap();
    wait_for(10, "status missing", || watch_json(&s, id)["status"] == "missing");
    assert!(watch_json(&s, id)["detail"].as_str().unwrap().contains("waiting for it to come back"));
    std::fs::rename(&moved, &src).unwrap();
    write_random(&src.join("two.bin"), 2000, 2);
    wait_for(30, "the file added after the folder came back", || done_jobs(&s).len() == 2);
    assert_eq!(watch_json(&s, id)["status"], "watching");
    assert_eq!(s.jobs().len(), 2, "one.bin was not uploaded again");

    // `ferry run` stops (SIGTERM): the watch no longer says "watching".
    let _ = std::process::Command::new("kill").arg(run.id().to_string()).status();
    assert!(run.wait().unwrap().success());
    assert_eq!(watch_json(&s, id)["status"], "stopped");
}

/// As root every folder is readable, so this runs `ferry` as an unprivileged user.
#[test]
fn an_unreadable_folder_is_reported_and_the_rest_uploaded() {
    let nobody = 65534;
    let setpriv = std::process::Command::new("setpriv").arg("--help").output();
    assert!(setpriv.is_ok(), "setpriv (util-linux) is needed to run ferry unprivileged");
    let base = tempfile::Builder::new().prefix("ferry-unpriv").tempdir_in("/tmp").unwrap();
    let chown = |p: &Path| std::os::unix::fs::chown(p, Some(nobody), Some(nobody)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (data, src, dest) = (base.path().join("data"), base.path().join("src"), base.path().join("dest"));
    for d in [&data, &src, &dest, &src.join("open"), &src.join("locked")] {
        std::fs::create_dir_all(d).unwrap();
        chown(d);
    }
    std::fs::write(src.join("open/ok.txt"), b"readable").unwrap();
    chown(&src.join("open/ok.txt"));
    std::fs::write(src.join("locked/secret.txt"), b"x").unwrap();
    std::fs::set_permissions(src.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let ferry = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(BIN)
            .args(args)
            .env("FERRY_DATA_DIR", &data)
            .env("HOME", base.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Run(out)
    };
    ferry(&["account", "add", "disk", "--provider", "local", "--set", &format!("root={}", dest.display())]).ok();
    ferry(&["watch", "add", src.to_str().unwrap(), "--account", "disk", "--quiet-secs", "1"]).ok();
    let run = ferry(&["run", "--until-idle"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(std::fs::read(dest.join("open/ok.txt")).unwrap(), b"readable");
    let list = ferry(&["watch", "list"]).ok().stdout();
    println!("{list}");
    assert!(list.contains("1 folder(s) could not be read") && list.contains("locked (Permission denied"), "{list}");
    std::fs::set_permissions(src.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_second_engine_neither_watches_nor_touches_the_watch_statuses() {
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    let src = s.dir.path().join("inbox");
    std::fs::create_dir_all(&src).unwrap();
    let id = watch_add(&s, &src, &["--quiet-secs", "1"]);
    let mut first = s.spawn_run(&[]);
    wait_for(30, "the first engine watching", || watch_json(&s, id)["status"] == "watching");
    write_random(&src.join("late.bin"), 10_000, 5);
    std::thread::sleep(Duration::from_millis(1100)); // older than the quiet period

    for args in [&["run", "--until-idle"][..], &["run"][..]] {
        let second = s.run(args, "");
        assert_eq!(second.code(), 1, "{args:?}");
        assert!(second.stderr().contains("another Ferry engine"), "{}", second.stderr());
        assert_eq!(watch_json(&s, id)["status"], "watching", "{args:?} left the statuses alone");
    }
    wait_for(30, "the file uploaded by the first engine", || done_jobs(&s).len() == 1);
    assert_eq!(s.jobs().len(), 1, "queued once, by the engine that holds the lock");
    let _ = std::process::Command::new("kill").arg(first.id().to_string()).status();
    assert!(first.wait().unwrap().success());
}
