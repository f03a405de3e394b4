//! kill -9 at random instants: the upload resumes from the ledger, is byte-exact, and
//! re-sends at most the parts that were in flight at each kill.

use std::time::Duration;

use ferry_mock_providers::XfyunConfig;
use rand::Rng;

use super::support::*;

const MIB: u64 = 1 << 20;

#[test]
fn kill_minus_nine_at_random_instants_resumes_without_resending_acked_parts() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("ost", &x.mock, &["oneshot_max_bytes=1"]);
    let part = 5 * MIB;
    s.config("part_size", &part.to_string());
    // Slow enough that ten kills land mid-upload (≈ 6 s of sending in all).
    s.config("bandwidth", &(48 * MIB).to_string());
    let size = 256 * MIB + 12_345;
    let f = s.dir.path().join("big.bin");
    let sha1 = write_random(&f, size, 42);
    let id = s.upload(&[f.as_path()], "ost")[0];

    let mut rng = rand::rng();
    let mut kills = 0;
    while kills < 10 || s.job(id)["state"] != "done" {
        let mut child = s.spawn_run(&["--until-idle"]);
        if kills >= 10 {
            let status = child.wait().unwrap();
            assert!(status.success(), "the last run finishes the job");
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(150..700)));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        }
        let j = s.job(id);
        if finished && j["state"] == "done" {
            break;
        }
    }

    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    let url = j["result"]["url"].as_str().unwrap();
    assert_eq!(x.sha1_of(url), sha1, "byte-exact after {kills} kills");
    let stats = x.mock.stats();
    let sent = stats.slice_bytes_received;
    // xfyun sends one slice at a time: at most one part in flight per kill.
    let in_flight = 1;
    let bound = size + kills * in_flight * part;
    println!(
        "kill -9 test: {kills} kills, file {size} B, slices received {} ({sent} B), excess {} B, bound {} B (kills × parts in flight {in_flight} × part {part} B)",
        stats.slices_received,
        sent - size,
        bound - size
    );
    assert!(kills >= 10);
    assert!(sent >= size);
    assert!(sent <= bound, "re-sent more than the parts in flight: {sent} > {bound}");
    assert_eq!(stats.completes_ok, 1, "one commit");
}

#[test]
fn a_damaged_database_is_named_with_the_way_out_and_moved_aside_on_request() {
    let s = Sandbox::new();
    s.add_local("disk", &s.dir.path().join("dest"));
    drop(s.run(&["queue"], "").ok());
    // Overwrite the database's first page (its header): no longer a SQLite file.
    let db = s.data_dir().join("ferry.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..4096].fill(0x42);
    std::fs::write(&db, &bytes).unwrap();

    for args in [&["queue"][..], &["run", "--until-idle"][..], &["account", "list"][..]] {
        let out = s.run(args, "");
        assert_eq!(out.code(), 1, "{args:?}: {}", out.stderr());
        let err = out.stderr();
        assert!(err.contains(&format!("Ferry can't use its database {}", db.display())), "{args:?}: {err}");
        assert!(err.contains("not a SQLite database"), "{err}");
        assert!(err.contains("database move-aside"), "the way out: {err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "nothing touched the damaged file");

    let moved = s.run(&["database", "move-aside"], "").ok();
    let kept = std::path::PathBuf::from(moved.stdout().trim());
    assert_eq!(kept.parent().unwrap(), s.data_dir());
    assert!(kept.file_name().unwrap().to_string_lossy().starts_with("ferry.broken-"), "{}", kept.display());
    assert_eq!(std::fs::read(&kept).unwrap(), bytes, "the old file is kept as it was");
    let fresh = s.run(&["account", "list"], "").ok();
    assert_eq!(fresh.stdout(), "", "a fresh, empty database");
}
