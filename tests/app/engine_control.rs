//! Pause, resume and cancel from the command line while `ferry run` works the queue.

use std::time::Duration;

use ferry_mock_providers::{FaultAction, FaultRule, XfyunConfig};

use super::support::*;

const MIB: u64 = 1 << 20;

fn slow_xfyun(s: &Sandbox, x: &Xfyun) {
    s.add_xfyun("ost", &x.mock, &["oneshot_max_bytes=1"]);
    s.config("part_size", &(5 * MIB).to_string());
    s.config("bandwidth", &(10 * MIB).to_string());
}

/// Bytes the mock has received so far (slices, whole or not yet counted).
fn received(x: &Xfyun) -> u64 {
    x.mock.stats().slice_bytes_received
}

#[test]
fn pause_stops_the_bytes_and_resume_finishes() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    slow_xfyun(&s, &x);
    let f = s.dir.path().join("f.bin");
    let sha1 = write_random(&f, 30 * MIB, 7);
    let id = s.upload(&[f.as_path()], "ost")[0];
    let mut run = s.spawn_run(&[]);
    s.wait_job(id, 30, "ack a part", |j| j["parts_done"].as_u64() >= Some(1));

    s.run(&["pause", &id.to_string()], "").ok();
    s.wait_job(id, 30, "pause", |j| j["state"] == "paused");
    // The worker drops its request: a second after the pause nothing more arrives.
    std::thread::sleep(Duration::from_millis(1000));
    let at_pause = (received(&x), s.job(id)["parts_done"].clone());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!((received(&x), s.job(id)["parts_done"].clone()), at_pause, "no bytes after the pause");
    println!("pause took effect; {} acked parts kept", at_pause.1);
    let kept = at_pause.1.as_u64().unwrap();
    assert!(kept >= 1);

    s.run(&["resume", &id.to_string()], "").ok();
    let j = s.wait_job(id, 60, "finish", |j| j["state"] == "done");
    assert_eq!(x.sha1_of(j["result"]["url"].as_str().unwrap()), sha1);
    let total_slices = x.mock.stats().slices_received;
    assert!(total_slices <= 6 + 1, "acked parts were not sent again ({total_slices} slices for 6 parts)");
    stop(&mut run);
}

#[test]
fn pause_during_the_last_part_then_resume() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    slow_xfyun(&s, &x);
    s.config("parts_per_file", "1"); // one part after the other
    // The mock holds the second slice request 20 s before it reads it: the pause surely
    // lands while the last part is in flight, however slow this machine is right now.
    x.mock.faults().push(FaultRule::on("/file/mpupload/upload", FaultAction::Delay { ms: 20_000 }).every(2)).unwrap();
    let f = s.dir.path().join("two-parts.bin");
    let sha1 = write_random(&f, 5 * MIB + 3 * MIB, 8); // parts: 5 MiB + 3 MiB
    let id = s.upload(&[f.as_path()], "ost")[0];
    let mut run = s.spawn_run(&[]);
    s.wait_job(id, 30, "ack the first part", |j| j["parts_done"] == 1);
    s.run(&["pause", &id.to_string()], "").ok();
    let j = s.wait_job(id, 30, "pause", |j| j["state"] == "paused");
    assert_eq!((j["parts_done"].as_u64(), j["parts_total"].as_u64()), (Some(1), Some(2)), "{j}");
    assert_eq!(x.mock.stats().completes_ok, 0, "not committed while paused");
    s.run(&["resume", &id.to_string()], "").ok();
    let j = s.wait_job(id, 60, "finish", |j| j["state"] == "done");
    assert_eq!(x.sha1_of(j["result"]["url"].as_str().unwrap()), sha1);
    assert_eq!(x.mock.stats().completes_ok, 1);
    stop(&mut run);
}

#[test]
fn cancel_aborts_the_provider_session_and_pause_all_resume_all() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    slow_xfyun(&s, &x);
    let a = s.dir.path().join("a.bin");
    write_random(&a, 20 * MIB, 1);
    let b = s.dir.path().join("b.bin");
    let b_sha = write_random(&b, 12 * MIB, 2);
    let ids = s.upload(&[a.as_path(), b.as_path()], "ost");
    let mut run = s.spawn_run(&[]);
    s.wait_job(ids[0], 30, "start", |j| j["state"] == "uploading");
    let r = s.run(&["pause", "--all"], "").ok();
    assert_eq!(r.stdout().lines().count(), 2, "{}", r.stdout());
    s.wait_job(ids[1], 30, "pause", |j| j["state"] == "paused");

    s.run(&["cancel", &ids[0].to_string()], "").ok();
    let j = s.job(ids[0]);
    assert_eq!(j["state"], "cancelled");
    assert_eq!(x.mock.stats().cancels, 1, "the upload session was cancelled at iFlytek");
    let again = s.run(&["cancel", &ids[0].to_string()], "");
    assert_eq!(again.code(), 1);
    assert!(again.stderr().contains("is cancelled: it cannot cancel"), "{}", again.stderr());
    assert_eq!(s.run(&["pause", "999"], "").code(), 2);
    assert_eq!(s.run(&["pause"], "").code(), 2, "a job or --all is required");

    s.run(&["resume", "--all"], "").ok();
    let j = s.wait_job(ids[1], 60, "finish", |j| j["state"] == "done");
    assert_eq!(x.sha1_of(j["result"]["url"].as_str().unwrap()), b_sha);
    assert_eq!(s.job(ids[0])["state"], "cancelled", "resume --all leaves cancelled jobs alone");
    stop(&mut run);
}

fn stop(run: &mut Background) {
    // SIGTERM: the engine stops its workers and puts their jobs back in the queue.
    let _ = std::process::Command::new("kill").arg(run.id().to_string()).status();
    let status = run.wait().unwrap();
    assert!(status.success(), "ferry run exits 0 on SIGTERM: {status:?}");
}
