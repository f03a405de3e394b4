//! `ferry upload` + `ferry run --until-idle` end to end: sizes around every boundary, to
//! `local` and to the strict iFlytek mock, byte-exact; injected faults; bad input.

use std::io::Write;

use ferry_mock_providers::{FaultAction, FaultRule, XfyunConfig};

use super::support::*;

const MIB: u64 = 1 << 20;
const SIZES: [u64; 6] = [0, 1, 5 * MIB - 1, 5 * MIB, 5 * MIB + 1, 64 * MIB];

/// Writes one file per size; returns (path, sha1).
fn files(s: &Sandbox, seed: u64) -> Vec<(std::path::PathBuf, String)> {
    let dir = s.dir.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    SIZES
        .iter()
        .map(|&size| {
            let p = dir.join(format!("file-{size}.bin"));
            let h = write_random(&p, size, seed + size);
            (p, h)
        })
        .collect()
}

fn result_url(job: &serde_json::Value) -> String {
    job["result"]["url"].as_str().unwrap_or_else(|| panic!("no result url: {job}")).to_owned()
}

#[test]
fn every_size_reaches_local_and_xfyun_byte_exact() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    // One account takes the one-shot path below 30 MB, the other always slices.
    s.add_xfyun("ost", &x.mock, &[]);
    s.add_xfyun("ost-sliced", &x.mock, &["oneshot_max_bytes=1"]);
    s.config("part_size", &(5 * MIB).to_string());
    let files = files(&s, 1);
    let paths: Vec<&std::path::Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let local = s.upload(&paths, "disk");
    let oneshot = s.upload(&paths, "ost");
    let sliced = s.upload(&paths, "ost-sliced");

    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (i, (path, sha1)) in files.iter().enumerate() {
        let size = SIZES[i];
        let name = path.file_name().unwrap();
        assert_eq!(sha1_of(&dest.join(name)), *sha1, "local copy of {size} B");
        for id in [local[i], oneshot[i], sliced[i]] {
            let j = &jobs[&id];
            assert_eq!(j["state"], "done", "{j}");
            assert_eq!(j["bytes_acked"], size, "{j}");
            assert_eq!(j["parts_done"], j["parts_total"], "{j}");
            assert_eq!(j["sha1"], sha1.as_str(), "{j}");
        }
        for id in [oneshot[i], sliced[i]] {
            assert_eq!(x.sha1_of(&result_url(&jobs[&id])), *sha1, "xfyun object of {size} B");
        }
        let expected_slices = size.div_ceil(5 * MIB).max(1);
        assert_eq!(jobs[&sliced[i]]["parts_total"], expected_slices, "{size} B in 5 MiB slices");
    }
    let stats = x.mock.stats();
    // One-shot below 30 MB (all six files but 64 MiB), and the 0 B file of the sliced account.
    assert_eq!(stats.oneshots_ok, 5 + 1, "{stats:?}");
    assert_eq!(stats.completes_ok, 1 + 5, "one complete per multipart file: {stats:?}");
}

#[test]
fn injected_faults_never_break_a_file_or_commit_twice() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("ost", &x.mock, &["oneshot_max_bytes=1"]);
    s.config("part_size", &(5 * MIB).to_string());
    s.config("retry_base_ms", "20");
    s.config("retry_attempts", "8");
    let faults = x.mock.faults();
    let slices = "/file/mpupload/upload";
    faults.push(FaultRule::on(slices, FaultAction::DropMidBody { after_bytes: 1 << 20 }).every(3)).unwrap();
    faults.push(FaultRule::on(slices, FaultAction::HttpStatus { status: 503 }).every(4)).unwrap();
    faults.push(FaultRule::on(slices, FaultAction::Throttle { retry_after_secs: 1 }).every(7)).unwrap();
    faults.push(FaultRule::on(slices, FaultAction::BusinessError { code: 10002, message: None }).every(5)).unwrap();
    faults.push(FaultRule::on("/file/mpupload/init", FaultAction::HttpStatus { status: 502 }).times(1)).unwrap();
    faults.push(FaultRule::on("/file/mpupload/complete", FaultAction::DropMidBody { after_bytes: 0 }).times(1)).unwrap();
    faults.push(FaultRule::on("/file/upload", FaultAction::HttpStatus { status: 500 }).times(1)).unwrap();

    let dir = s.dir.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    let sizes = [0, 1, 5 * MIB + 1, 23 * MIB];
    let files: Vec<(std::path::PathBuf, String)> = sizes
        .iter()
        .map(|&n| {
            let p = dir.join(format!("f{n}"));
            let h = write_random(&p, n, 99 + n);
            (p, h)
        })
        .collect();
    let paths: Vec<&std::path::Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let ids = s.upload(&paths, "ost");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(jobs[id]["state"], "done", "{}", jobs[id]);
        assert_eq!(x.sha1_of(&result_url(&jobs[id])), *sha1);
    }
    let stats = x.mock.stats();
    println!("faults fired: {}, stats: {stats:?}", faults.fired_total());
    assert!(faults.fired_total() >= 6, "the faults really happened");
    assert_eq!(stats.completes_ok, 3, "exactly one commit per multipart file");
    assert_eq!(stats.oneshots_ok, 1, "exactly one one-shot upload for the 0 B file");
    assert_eq!(x.mock.objects().len(), 4, "one stored object per file");
}

#[test]
fn bad_input_fails_that_job_clearly_and_the_queue_goes_on() {
    use std::os::unix::ffi::OsStrExt;
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    // An endpoint that refuses connections.
    s.run(&["account", "add", "nowhere", "--provider", "xfyun", "--endpoint", "http://127.0.0.1:9", "--set", "app_id=A"], "api_key=k\napi_secret=s\n").ok();
    s.config("retry_attempts", "2");
    s.config("retry_base_ms", "10");
    s.config("job_attempts", "1");
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let good = src.join("good.bin");
    let good_sha = write_random(&good, 3 * MIB, 5);
    let vanishing = src.join("vanishing.bin");
    write_random(&vanishing, 10, 6);
    let odd = src.join(std::ffi::OsStr::from_bytes(b"caf\xe9.bin"));
    std::fs::write(&odd, b"latin-1 name").unwrap();

    // A missing path and a non-UTF-8 name are reported at enqueue; the rest is queued.
    let r = s.run(&["upload", good.to_str().unwrap(), vanishing.to_str().unwrap(), "/nonexistent/x", "--account", "disk"], "");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("/nonexistent/x: No such file or directory"), "{}", r.stderr());
    assert_eq!(r.stdout().lines().count(), 2);
    let r = s.run_with(&["upload", "--account", "disk"], "", |c| {
        c.arg(&odd);
    });
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("not valid UTF-8; uploading it as \"caf\u{fffd}.bin\""), "{}", r.stderr());
    let refused = s.upload(&[good.as_path()], "nowhere")[0];
    let r = s.run(&["upload", good.to_str().unwrap(), "--account", "nobody"], "");
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("no account named \"nobody\""));

    std::fs::remove_file(&vanishing).unwrap();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 1, "a job failed: {}", run.stderr());
    let jobs = s.jobs();
    let by_file = |name: &str| jobs.values().find(|j| j["file"].as_str().unwrap().ends_with(name) && j["account"] == "disk").unwrap().clone();
    assert_eq!(by_file("good.bin")["state"], "done");
    assert_eq!(sha1_of(&dest.join("good.bin")), good_sha);
    let v = by_file("vanishing.bin");
    assert_eq!(v["state"], "failed");
    assert!(v["error"].as_str().unwrap().contains("vanishing.bin vanished"), "{v}");
    assert_eq!(by_file(".bin")["state"], "done");
    assert_eq!(std::fs::read(dest.join("caf\u{fffd}.bin")).unwrap(), b"latin-1 name");
    let n = &jobs[&refused];
    assert_eq!(n["state"], "failed");
    let e = n["error"].as_str().unwrap();
    assert!(e.contains("good.bin") && e.contains("network error") && e.contains("gave up after 2 attempts"), "{e}");
}

#[test]
fn a_secret_gone_from_the_keyring_fails_the_job_with_what_to_do() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("ost", &x.mock, &[]);
    let f = s.dir.path().join("f");
    write_random(&f, 100, 1);
    let id = s.upload(&[f.as_path()], "ost")[0];
    // Delete the keyring entries behind Ferry's back.
    let status = std::process::Command::new("secret-tool")
        .args(["clear", "service", "app.ferry.uploader", "username", &keyring_user(&s, "ost", "api_secret")])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(s.run_until_idle().code(), 1);
    let j = s.job(id);
    assert_eq!(j["state"], "failed");
    assert_eq!(j["error_kind"], "secret_missing");
    assert!(j["error"].as_str().unwrap().contains("\"api_secret\" of account \"ost\" is missing from the system keyring: edit the account"), "{j}");
}

/// The keyring user name of an account's secret: "<uid>/<key>", uid read from SQLite.
fn keyring_user(s: &Sandbox, account: &str, key: &str) -> String {
    let out = std::process::Command::new("secret-tool").args(["search", "--all", "service", "app.ferry.uploader"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let _ = (s, account);
    text.lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .find(|u| u.ends_with(&format!("/{key}")))
        .expect("the secret is in the keyring")
        .to_owned()
}

#[test]
fn a_file_changed_mid_upload_fails_with_advice_and_others_finish() {
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.add_local("disk", &dest);
    s.config("part_size", &MIB.to_string());
    s.config("bandwidth", &(8 * MIB).to_string());
    s.config("parts_per_file", "1");
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let changing = src.join("changing.bin");
    write_random(&changing, 16 * MIB, 1);
    let steady = src.join("steady.bin");
    let steady_sha = write_random(&steady, 2 * MIB, 2);
    let ids = s.upload(&[changing.as_path(), steady.as_path()], "disk");
    let mut run = s.spawn_run(&["--until-idle"]);
    s.wait_job(ids[0], 30, "send a part", |j| j["parts_done"].as_u64() >= Some(2));
    std::fs::OpenOptions::new().append(true).open(&changing).unwrap().write_all(b"more").unwrap();
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let j = s.job(ids[0]);
    assert_eq!(j["state"], "failed");
    assert_eq!(j["error_kind"], "changed");
    assert!(j["error"].as_str().unwrap().contains("changing.bin changed while uploading: retry it to upload the new version"), "{j}");
    assert_eq!(s.job(ids[1])["state"], "done");
    assert_eq!(sha1_of(&dest.join("steady.bin")), steady_sha);
    assert!(!dest.join("changing.bin").exists(), "nothing half-written is published");

    // Retrying uploads the file as it is now, from its first byte.
    let new_sha = sha1_of(&changing);
    s.run(&["resume", &ids[0].to_string()], "").ok();
    let j = s.job(ids[0]);
    assert_eq!((j["state"].as_str(), j["size"].as_u64(), j["parts_total"].as_u64()), (Some("queued"), Some(16 * MIB + 4), Some(0)), "{j}");
    s.run_until_idle().ok();
    let j = s.job(ids[0]);
    assert_eq!((j["state"].as_str(), j["bytes_acked"].as_u64()), (Some("done"), Some(16 * MIB + 4)), "{j}");
    assert_eq!(sha1_of(&dest.join("changing.bin")), new_sha, "the new version, byte for byte");
    // Retrying again is refused: nothing failed any more.
    assert_eq!(s.run(&["resume", &ids[0].to_string()], "").code(), 1);
}

/// Issue #13: behind a gateway that serves iFlytek under a path, the signed request line
/// carries the prefix, and a sliced file keeps its own name at the service.
#[test]
fn xfyun_through_an_endpoint_with_a_path_prefix_keeps_bytes_and_names() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig { path_prefix: "/some/prefix".into(), ..XfyunConfig::default() });
    assert!(x.mock.base_url().ends_with("/some/prefix"));
    s.add_xfyun("gw", &x.mock, &["oneshot_max_bytes=1"]);
    let test = s.run(&["account", "test", "gw"], "").ok().stdout();
    assert!(test.contains("are accepted"), "{test}");
    s.config("part_size", &(5 * MIB).to_string());
    let dir = s.dir.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    let sizes = [0, 1, 5 * MIB + 1];
    let files: Vec<(std::path::PathBuf, String)> = sizes
        .iter()
        .map(|&n| {
            let p = dir.join(format!("recording {n}.wav"));
            let h = write_random(&p, n, 1300 + n);
            (p, h)
        })
        .collect();
    let paths: Vec<&std::path::Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let ids = s.upload(&paths, "gw");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    let objects = x.mock.objects();
    for ((id, (path, sha1)), size) in ids.iter().zip(&files).zip(sizes) {
        let j = &jobs[id];
        assert_eq!(j["state"], "done", "{j}");
        let url = result_url(j);
        assert_eq!(x.sha1_of(&url), *sha1, "{size} B byte-exact");
        let object = objects.iter().find(|o| o.url == url).unwrap();
        assert_eq!(object.name, path.file_name().unwrap().to_str().unwrap(), "{size} B stored under its own name");
    }
    assert_eq!(jobs[&ids[2]]["parts_total"], 2, "5 MiB + 1 went up in two slices");
    let stats = x.mock.stats();
    assert_eq!((stats.completes_ok, stats.auth_failures), (1 + 1, 0), "{stats:?}");
}
