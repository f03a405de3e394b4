//! Ferry left running: what a long-lived engine must get right when the world changes
//! under it (issue 14): a corrected secret is used at once; slow links are not stalls.

use ferry_mock_providers::{FaultAction, FaultRule, XfyunConfig};

use super::support::*;

#[test]
fn a_corrected_secret_is_used_by_the_running_engine() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let cfg = x.mock.config();
    let (base, app_id) = (x.mock.base_url(), format!("app_id={}", cfg.app_id));
    s.run(
        &["account", "add", "ost", "--provider", "xfyun", "--endpoint", &base, "--set", &app_id],
        &format!("api_key={}\napi_secret=not-the-secret\n", cfg.api_key),
    )
    .ok();
    let file = s.dir.path().join("take-1.wav");
    let sha1 = write_random(&file, 1_500_000, 14);

    // One engine for the whole test, as the window keeps one: it must not keep the
    // provider it built with the wrong secret.
    let mut engine = s.spawn_run(&[]);
    let id = s.upload(&[&file], "ost")[0];
    let failed = s.wait_job(id, 60, "fail on the wrong secret", |j| j["state"] == "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("take-1.wav") && error.contains("check the account's APIKey and APISecret"), "{failed}");
    assert!(!error.contains("not-the-secret"), "a secret never reaches an error: {error}");

    let r = s.run(&["account", "edit", "ost"], &format!("api_secret={}\n", cfg.api_secret)).ok();
    assert!(r.stdout().contains("updated account \"ost\""), "{}", r.stdout());
    s.run(&["resume", &id.to_string()], "").ok();
    let done = s.wait_job(id, 60, "finish after the fix", |j| j["state"] == "done");
    let url = done["result"]["url"].as_str().unwrap();
    assert_eq!(x.sha1_of(url), sha1, "the file arrived byte-exact");
    assert!(engine.try_wait().unwrap().is_none(), "the same engine process did it, without a restart");

    let list = s.run(&["account", "list", "--json"], "").ok().stdout();
    assert!(!list.contains(&cfg.api_secret) && !list.contains("not-the-secret"), "{list}");
    assert!(s.run(&["account", "edit", "nobody"], "").code() == 2, "unknown account: usage error");
}

#[test]
fn old_daily_logs_are_pruned_to_two_weeks() {
    let s = Sandbox::new();
    let logs = s.data_dir().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Written a day after another, as they would be (the appender goes by creation time).
    for day in 1..=20 {
        std::fs::write(logs.join(format!("ferry.log.2020-01-{day:02}")), b"old\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.run(&["account", "list"], "").ok();
    let mut left: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ferry.log"))
        .collect();
    left.sort();
    assert_eq!(left.len(), 14, "{left:?}");
    assert_eq!(left.first().map(String::as_str), Some("ferry.log.2020-01-08"), "the oldest went first: {left:?}");
}

/// Slow links: a request is given up when its bytes stand still, never because it is slow.
/// The stall and answer periods are shortened to 2 s; each upload here takes ~10× that.
#[test]
fn a_slow_upload_that_keeps_moving_is_never_timed_out() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("ost", &x.mock, &[]);
    s.config("bandwidth", "16384"); // the lowest limit Settings allows, shared by 3 files at once
    let dir = s.dir.path().join("takes");
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<(std::path::PathBuf, String)> = (0..4)
        .map(|i| {
            let p = dir.join(format!("take-{i}.wav"));
            let h = write_random(&p, 128 * 1024, 40 + i);
            (p, h)
        })
        .collect();
    let paths: Vec<&std::path::Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let ids = s.upload(&paths, "ost");
    let run = s.run_with(&["run", "--until-idle"], "", |c| {
        c.env("FERRY_STALL_SECS", "2").env("FERRY_ANSWER_SECS", "2");
    });
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(jobs[id]["state"], "done", "{}", jobs[id]);
        assert_eq!(x.sha1_of(jobs[id]["result"]["url"].as_str().unwrap()), *sha1, "byte-exact");
    }
    let logs = s.logs();
    assert!(!logs.contains("retrying") && !logs.contains("stalled") && !logs.contains("no answer"), "no request was given up: {logs}");
    assert_eq!(x.mock.stats().oneshots_ok, 4, "one request per file, none sent twice");
}

#[test]
fn a_request_whose_server_stops_answering_is_given_up_and_retried() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("ost", &x.mock, &[]);
    // The first upload request is held for five minutes without an answer.
    x.mock.faults().push(FaultRule::on("/file/upload", FaultAction::Delay { ms: 300_000 }).times(1)).unwrap();
    let file = s.dir.path().join("take.wav");
    let sha1 = write_random(&file, 128 * 1024, 77);
    let id = s.upload(&[&file], "ost")[0];
    let run = s.run_with(&["run", "--until-idle"], "", |c| {
        c.env("FERRY_STALL_SECS", "2").env("FERRY_ANSWER_SECS", "2");
    });
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let job = s.job(id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(x.sha1_of(job["result"]["url"].as_str().unwrap()), sha1);
    let logs = s.logs();
    assert!(logs.contains("no answer 2 s after the upload was sent"), "the silent server was given up on: {logs}");
    assert!(!logs.contains(&x.mock.base_url()), "no URL in the log");
}
