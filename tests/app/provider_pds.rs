//! The `pds` provider end to end: `ferry upload` + `ferry run` against the strict PDS mock,
//! in serial and in parallel mode: every size byte-exact, rapid upload, kill -9 (mid-upload
//! and during a token refresh), URL and token expiry, injected faults.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_mock_providers::pds::{
    COMPLETE_PATH, CREATE_PATH, DATA_PATH, GET_UPLOAD_URL_PATH, TOKEN_PATH,
};
use ferry_mock_providers::{FaultAction, FaultRule, PdsConfig, PdsFile, PdsMock, Trigger};
use rand::Rng;

use super::support::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// A strict PDS mock on loopback, with the runtime that serves it. One per account: the
/// mock has one refresh-token family, as one signed-in user has.
struct Pds {
    mock: PdsMock,
    _rt: tokio::runtime::Runtime,
}

impl Pds {
    /// Starts a mock whose refresh token is unique to this run (tests share one keyring).
    fn start(cfg: PdsConfig) -> Pds {
        let cfg = PdsConfig {
            refresh_token: unique("rt"),
            ..cfg
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mock = rt.block_on(PdsMock::start(cfg));
        Pds { mock, _rt: rt }
    }

    /// Completed files (one per finished job is what "one file per job" means).
    fn available(&self) -> Vec<PdsFile> {
        self.mock
            .files()
            .into_iter()
            .filter(|f| !f.folder && f.status == ferry_mock_providers::pds::FileStatus::Available)
            .collect()
    }

    fn file(&self, id: &str) -> PdsFile {
        self.mock
            .files()
            .into_iter()
            .find(|f| f.file_id == id)
            .unwrap_or_else(|| panic!("the mock holds no file {id}"))
    }
}

/// `ferry account add NAME --provider pds` against `pds`, with extra `--set`s.
fn add_pds(s: &Sandbox, name: &str, pds: &Pds, sets: &[&str]) {
    let cfg = pds.mock.config();
    let base = pds.mock.base_url();
    let (domain, drive, client) = (
        format!("domain_id={}", cfg.domain_id),
        format!("drive_id={}", cfg.drive_id),
        format!("client_id={}", cfg.client_id),
    );
    let mut args = vec![
        "account",
        "add",
        name,
        "--provider",
        "pds",
        "--endpoint",
        &base,
        "--set",
        &domain,
        "--set",
        &drive,
        "--set",
        &client,
    ];
    for x in sets {
        args.push("--set");
        args.push(x);
    }
    s.run(
        &args,
        &format!(
            "client_secret={}\nrefresh_token={}\n",
            cfg.client_secret, cfg.refresh_token
        ),
    )
    .ok();
}

fn keyring_has(value: &str) -> bool {
    let out = std::process::Command::new("secret-tool")
        .args([
            "search",
            "--all",
            "--unlock",
            "service",
            "app.ferry.uploader",
        ])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by scripts/setup.sh");
    String::from_utf8_lossy(&out.stdout).contains(value)
        || String::from_utf8_lossy(&out.stderr).contains(value)
}

fn result_id(job: &serde_json::Value) -> String {
    job["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no result id: {job}"))
        .to_owned()
}

fn write_files(dir: &Path, sizes: &[u64], seed: u64) -> Vec<(PathBuf, String)> {
    std::fs::create_dir_all(dir).unwrap();
    sizes
        .iter()
        .map(|&n| {
            let p = dir.join(format!("f-{n}.bin"));
            let h = write_random(&p, n, seed + n);
            (p, h)
        })
        .collect()
}

const MODES: [&str; 2] = ["serial", "parallel"];

#[test]
fn every_size_is_byte_exact_in_serial_and_in_parallel_mode() {
    let s = Sandbox::new();
    let sizes = [0, 1, KIB, KIB + 1, 100 * KIB, 10 * MIB + 7, 300 * MIB];
    let files = write_files(&s.dir.path().join("src"), &sizes, 1);
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let mocks = [
        Pds::start(PdsConfig::default()),
        Pds::start(PdsConfig::default()),
    ];
    add_pds(&s, "serial", &mocks[0], &[]);
    add_pds(&s, "parallel", &mocks[1], &["upload_mode=parallel"]);
    s.config("part_size", &MIB.to_string());
    let ids: Vec<Vec<i64>> = MODES.iter().map(|m| s.upload(&paths, m)).collect();

    let t = Instant::now();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    println!(
        "{} files × 2 modes ({} MiB) uploaded in {:.1} s",
        sizes.len(),
        2 * sizes.iter().sum::<u64>() / MIB,
        t.elapsed().as_secs_f64()
    );
    let jobs = s.jobs();
    for (m, mode) in MODES.iter().enumerate() {
        let pds = &mocks[m];
        for (i, (path, sha1)) in files.iter().enumerate() {
            let j = &jobs[&ids[m][i]];
            let size = sizes[i];
            assert_eq!(j["state"], "done", "{mode} {size} B: {j}");
            assert_eq!(j["bytes_acked"], size, "{j}");
            assert_eq!(
                j["parts_total"],
                size.div_ceil(MIB).max(1),
                "{mode} {size} B in 1 MiB parts"
            );
            assert_eq!(j["result"]["rapid"], false, "{j}");
            let f = pds.file(&result_id(j));
            assert_eq!(
                (f.size, &f.sha1),
                (size, sha1),
                "{mode}: {} byte-exact at PDS",
                path.display()
            );
            assert_eq!(f.name, path.file_name().unwrap().to_str().unwrap());
            assert_eq!(j["result"]["name"], f.name.as_str());
        }
        let st = pds.mock.stats();
        println!("{mode}: {st:?}");
        assert_eq!(
            pds.available().len(),
            sizes.len(),
            "{mode}: one file per job"
        );
        assert_eq!(st.completes_ok, sizes.len() as u64);
        assert_eq!(st.rapid_uploads, 0);
        assert_eq!(
            st.part_bytes_accepted,
            sizes.iter().sum::<u64>(),
            "{mode}: every byte once"
        );
    }
    let (serial, parallel) = (mocks[0].mock.stats(), mocks[1].mock.stats());
    assert_eq!(serial.parallel_creates, 0);
    assert_eq!(
        serial.max_concurrent_parts_per_upload, 1,
        "serial: one part at a time"
    );
    assert_eq!(
        serial.not_sequential_rejections, 0,
        "serial: strictly in order"
    );
    assert_eq!(
        parallel.parallel_creates,
        sizes.len() as u64,
        "parallel: every file created with mid-states"
    );
    assert_eq!(
        parallel.ctx_mismatches, 0,
        "parallel: every part continued its declared mid-state"
    );
    assert!(
        parallel.max_concurrent_parts_per_upload >= 2,
        "parallel: parts went at once: {}",
        parallel.max_concurrent_parts_per_upload
    );
}

#[test]
fn a_file_the_mock_already_holds_completes_by_rapid_upload_with_zero_part_bytes() {
    let s = Sandbox::new();
    let f = s.dir.path().join("known.bin");
    write_random(&f, 3 * MIB + 5, 77);
    let bytes = std::fs::read(&f).unwrap();
    let mocks = [
        Pds::start(PdsConfig::default()),
        Pds::start(PdsConfig::default()),
    ];
    for (m, mode) in MODES.iter().enumerate() {
        mocks[m].mock.hold_content(&bytes);
        add_pds(&s, mode, &mocks[m], &[&format!("upload_mode={mode}")]);
    }
    let ids: Vec<i64> = MODES
        .iter()
        .map(|m| s.upload(&[f.as_path()], m)[0])
        .collect();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for (m, mode) in MODES.iter().enumerate() {
        let j = s.job(ids[m]);
        assert_eq!(j["state"], "done", "{j}");
        assert_eq!(j["result"]["rapid"], true, "{mode}: {j}");
        assert_eq!(j["bytes_sent"], 0, "{mode}: {j}");
        let st = mocks[m].mock.stats();
        println!("{mode} rapid upload: {st:?}");
        assert_eq!(
            (st.part_puts, st.part_bytes_received),
            (0, 0),
            "{mode}: zero part bytes sent"
        );
        assert_eq!(st.rapid_uploads, 1);
        let file = mocks[m].file(&result_id(&j));
        assert!(file.rapid && file.size == bytes.len() as u64, "{file:?}");
    }
    // Serial probes with pre_hash first; parallel knows the whole hash from its one pass.
    assert_eq!(mocks[0].mock.stats().pre_hash_matches, 1);
    assert_eq!(mocks[1].mock.stats().pre_hash_matches, 0);
}

/// Found by the chaos soak: a create that carries the content hash completes the file at once
/// (rapid upload); when its answer is lost, the create sent again must not make a second file
/// ("known_20261205_051700.bin" beside "known.bin"). A file of another content under the name
/// still gets the account's auto_rename.
#[test]
fn a_lost_rapid_upload_answer_leaves_one_file() {
    let s = Sandbox::new();
    s.config("retry_base_ms", "20");
    let f = s.dir.path().join("known.bin");
    write_random(&f, 2 * MIB + 3, 78);
    let bytes = std::fs::read(&f).unwrap();
    let mocks = [Pds::start(PdsConfig::default()), Pds::start(PdsConfig::default())];
    for (m, mode) in MODES.iter().enumerate() {
        mocks[m].mock.hold_content(&bytes);
        add_pds(&s, mode, &mocks[m], &[&format!("upload_mode={mode}")]);
        // Serial probes with pre_hash first (answered PreHashMatched): lose the second create's answer.
        let k = if *mode == "serial" { 2 } else { 1 };
        let lose = FaultRule { trigger: Trigger::EveryNth { k, max_fires: Some(1) }, ..FaultRule::on(CREATE_PATH, FaultAction::LoseAnswer) };
        mocks[m].mock.faults().push(lose).unwrap();
    }
    let ids: Vec<i64> = MODES.iter().map(|m| s.upload(&[f.as_path()], m)[0]).collect();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for (m, mode) in MODES.iter().enumerate() {
        let j = s.job(ids[m]);
        assert_eq!(j["state"], "done", "{mode}: {j}");
        assert_eq!(mocks[m].mock.faults().fired_total(), 1, "{mode}: the answer was lost once");
        let names: Vec<String> = mocks[m].available().iter().map(|f| f.name.clone()).collect();
        assert_eq!(names, ["known.bin"], "{mode}: one file, under its own name");
        assert_eq!(j["result"]["name"], "known.bin", "{mode}: {j}");
        assert_eq!(mocks[m].file(&result_id(&j)).sha1, sha1_of(&f), "{mode}");
    }

    // Other content under a taken name (parallel mode sends the content hash with every
    // create): renamed as the account says, not taken for the file.
    let other = s.dir.path().join("other").join("known.bin");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let other_sha1 = write_random(&other, MIB + 1, 79);
    let id = s.upload(&[other.as_path()], "parallel")[0];
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_ne!(j["result"]["name"], "known.bin", "{j}");
    assert_eq!(mocks[1].file(&result_id(&j)).sha1, other_sha1);
    assert_eq!(mocks[1].available().len(), 2);
}

/// kill -9 at random instants; each resume must go through list_uploaded_parts and send
/// at most the parts that were in flight again.
fn kill_and_resume(mode: &str) {
    let s = Sandbox::new();
    // Small pages, so every resume pages through the list.
    let pds = Pds::start(PdsConfig {
        list_page_max: 7,
        ..PdsConfig::default()
    });
    add_pds(&s, "pds", &pds, &[&format!("upload_mode={mode}")]);
    let part = 2 * MIB;
    s.config("part_size", &part.to_string());
    s.config("bandwidth", &(24 * MIB).to_string());
    let size = 96 * MIB + 333;
    let f = s.dir.path().join("big.bin");
    let sha1 = write_random(&f, size, 9);
    let id = s.upload(&[f.as_path()], "pds")[0];

    let mut rng = rand::rng();
    let mut kills = 0;
    let mut runs = 0;
    loop {
        let before = pds.mock.stats().part_bytes_accepted;
        let mut child = s.spawn_run(&["--until-idle"]);
        runs += 1;
        if kills >= 6 {
            assert!(
                child.wait().unwrap().success(),
                "the last run finishes the job"
            );
            break;
        }
        // Kill only once this run is sending parts: mid-upload, never before it started.
        wait_until(60, "the run sends a part", || {
            pds.mock.stats().part_bytes_accepted > before || pds.mock.stats().completes_ok > 0
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(50..500)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        }
        if s.job(id)["state"] == "done" {
            break;
        }
    }
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    let file = pds.file(&result_id(&j));
    assert_eq!(file.sha1, sha1, "{mode}: byte-exact after {kills} kills");
    assert_eq!(pds.available().len(), 1, "one file for the job");
    let st = pds.mock.stats();
    let in_flight = if mode == "serial" { 1 } else { 4 }; // parts_per_file's default
    let bound = size + kills * in_flight * part;
    println!(
        "{mode} kill -9: {kills} kills in {runs} runs, file {size} B, part bytes received {} B (excess {} B, bound {} B), list pages {}, creates {}, stats {st:?}",
        st.part_bytes_received,
        st.part_bytes_received - size,
        bound - size,
        st.list_pages,
        st.creates
    );
    assert!(kills >= 6);
    assert!(st.part_bytes_accepted >= size);
    assert!(
        st.part_bytes_received <= bound,
        "{mode}: re-sent more than the parts in flight: {} > {bound}",
        st.part_bytes_received
    );
    assert!(
        st.list_pages >= 2,
        "resumes asked PDS which parts it holds, page by page"
    );
    assert_eq!(st.part_already_exist, 0, "no stored part was sent again");
    assert_eq!(st.completes_ok, 1, "one complete");
}

#[test]
fn kill_minus_nine_mid_upload_resumes_through_list_uploaded_parts_in_serial_mode() {
    kill_and_resume("serial");
}

#[test]
fn kill_minus_nine_mid_upload_resumes_through_list_uploaded_parts_in_parallel_mode() {
    kill_and_resume("parallel");
}

/// Waits until `pred` holds, polling every 20 ms, or panics after `secs`.
fn wait_until(secs: u64, what: &str, pred: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !pred() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_minus_nine_during_a_token_refresh_never_loses_the_account() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig::default());
    add_pds(&s, "pds", &pds, &[]);
    let f = s.dir.path().join("f.bin");
    let sha1 = write_random(&f, 3 * MIB, 5);
    let id = s.upload(&[f.as_path()], "pds")[0];
    let first = pds.mock.config().refresh_token.clone();
    assert!(keyring_has(&first));
    let seen = |path: &str| {
        pds.mock
            .stats()
            .requests_by_endpoint
            .get(path)
            .copied()
            .unwrap_or(0)
    };

    // 1. Killed while the token request is at the server: nothing was rotated for us.
    pds.mock
        .faults()
        .push(FaultRule::on(TOKEN_PATH, FaultAction::Delay { ms: 1500 }).times(1))
        .unwrap();
    let mut child = s.spawn_run(&["--until-idle"]);
    wait_until(30, "the token request arrives", || seen(TOKEN_PATH) >= 1);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1700)); // the server answers a dead client
    let valid = pds.mock.valid_refresh_tokens();
    assert!(
        valid.iter().any(|t| keyring_has(t)),
        "the keyring holds a refresh token PDS accepts ({valid:?})"
    );

    // 2. Killed right after a refresh whose access token PDS has already seen (create used
    //    it, the first part is on its way): the rotated refresh token must be the one in the
    //    keyring, since the old one is dead from the moment the new grant was used.
    pds.mock
        .faults()
        .push(FaultRule::on(DATA_PATH, FaultAction::Delay { ms: 1500 }).times(1))
        .unwrap();
    let previous = pds.mock.current_refresh_token();
    let mut child = s.spawn_run(&["--until-idle"]);
    wait_until(30, "the first part arrives", || seen(DATA_PATH) >= 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let current = pds.mock.current_refresh_token();
    assert_ne!(current, previous, "the new grant was used, so PDS rotated");
    assert!(
        keyring_has(&current),
        "the rotated refresh token is the one in the keyring"
    );
    assert!(!keyring_has(&previous), "the replaced one is gone");

    // The account still works: the upload finishes, and account test refreshes once more.
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(pds.file(&result_id(&j)).sha1, sha1);
    let test = s.run(&["account", "test", "pds"], "").ok();
    assert!(test.stdout().contains("mock drive"), "{}", test.stdout());
    assert!(
        keyring_has(&pds.mock.current_refresh_token()),
        "the keyring follows every rotation"
    );
    let st = pds.mock.stats();
    println!(
        "token refresh kills: refreshes {}, rejections {}, stats {st:?}",
        st.token_refreshes, st.token_rejections
    );
    assert_eq!(st.token_rejections, 0, "no refresh was ever refused");
}

#[test]
fn url_and_token_expiry_and_injected_faults_leave_every_file_byte_exact() {
    let s = Sandbox::new();
    // Short-lived URLs (2 s) and access tokens (4 s): both expire many times per file.
    let cfg = || PdsConfig {
        upload_url_ttl: Duration::from_secs(2),
        access_token_ttl: Duration::from_secs(4),
        ..PdsConfig::default()
    };
    let mocks = [Pds::start(cfg()), Pds::start(cfg())];
    for (m, mode) in MODES.iter().enumerate() {
        add_pds(&s, mode, &mocks[m], &[&format!("upload_mode={mode}")]);
        let faults = mocks[m].mock.faults();
        faults
            .push(
                FaultRule::on(
                    DATA_PATH,
                    FaultAction::DropMidBody {
                        after_bytes: 256 * KIB,
                    },
                )
                .every(5),
            )
            .unwrap();
        faults
            .push(FaultRule::on(DATA_PATH, FaultAction::HttpStatus { status: 503 }).every(7))
            .unwrap();
        faults
            .push(
                FaultRule::on(
                    DATA_PATH,
                    FaultAction::Throttle {
                        retry_after_secs: 1,
                    },
                )
                .every(11),
            )
            .unwrap();
        faults
            .push(
                FaultRule::on(GET_UPLOAD_URL_PATH, FaultAction::HttpStatus { status: 500 })
                    .every(4),
            )
            .unwrap();
        faults
            .push(FaultRule::on(CREATE_PATH, FaultAction::HttpStatus { status: 502 }).times(1))
            .unwrap();
        faults
            .push(
                FaultRule::on(
                    CREATE_PATH,
                    FaultAction::Throttle {
                        retry_after_secs: 1,
                    },
                )
                .times(1),
            )
            .unwrap();
        faults
            .push(
                FaultRule::on(COMPLETE_PATH, FaultAction::DropMidBody { after_bytes: 0 }).times(1),
            )
            .unwrap();
        faults
            .push(FaultRule::on(TOKEN_PATH, FaultAction::HttpStatus { status: 503 }).times(1))
            .unwrap();
    }
    s.config("part_size", &MIB.to_string());
    // Slow enough that every mode's parts are in flight across several revocations below
    // (the provider renews URLs before they expire, so only a revocation is refused).
    s.config("bandwidth", &(6 * MIB).to_string());
    s.config("retry_base_ms", "20");
    s.config("retry_attempts", "20");
    let sizes = [0, KIB + 1, 5 * MIB + 3, 20 * MIB + 1];
    let files = write_files(&s.dir.path().join("src"), &sizes, 3);
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let ids: Vec<Vec<i64>> = MODES.iter().map(|m| s.upload(&paths, m)).collect();

    // Meanwhile, revoke every URL and access token now and then (the reactive paths).
    let stop = Arc::new(AtomicBool::new(false));
    let run = std::thread::scope(|scope| {
        let (stop2, mocks2) = (stop.clone(), &mocks);
        scope.spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(700));
                for p in mocks2 {
                    p.mock.expire_upload_urls();
                    p.mock.expire_access_tokens();
                }
            }
        });
        let run = s.run_until_idle();
        stop.store(true, Ordering::Relaxed);
        run
    });
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let logs = s.logs();
    let later: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("will retry in"))
        .collect();
    println!("jobs sent back to the queue: {} {later:#?}", later.len());
    let jobs = s.jobs();
    for (m, mode) in MODES.iter().enumerate() {
        let pds = &mocks[m];
        for (i, (_, sha1)) in files.iter().enumerate() {
            let j = &jobs[&ids[m][i]];
            assert_eq!(j["state"], "done", "{mode}: {j}");
            assert_eq!(
                &pds.file(&result_id(j)).sha1,
                sha1,
                "{mode} {} B byte-exact",
                sizes[i]
            );
        }
        let st = pds.mock.stats();
        println!(
            "{mode} under expiry and faults: faults fired {}, {st:?}",
            pds.mock.faults().fired_total()
        );
        assert_eq!(
            pds.available().len(),
            sizes.len(),
            "{mode}: one file per job"
        );
        assert_eq!(
            st.completes_ok,
            sizes.len() as u64,
            "{mode}: one complete per file"
        );
        assert!(
            st.expired_url_rejections > 0 && st.url_refreshes > 0,
            "{mode}: URLs expired and were renewed"
        );
        assert!(
            st.access_token_rejections > 0,
            "{mode}: access tokens were refused mid-upload"
        );
        assert!(
            st.token_refreshes > 2,
            "{mode}: tokens were refreshed before expiry and after refusals"
        );
        assert!(
            pds.mock.faults().fired_total() >= 8,
            "{mode}: the faults really happened"
        );
        assert!(
            keyring_has(&pds.mock.current_refresh_token()),
            "{mode}: the keyring has the current refresh token"
        );
    }
}

#[test]
fn account_test_fallback_to_serial_and_refusals_are_clear() {
    let s = Sandbox::new();
    // A domain without parallel mode: a parallel account falls back to serial.
    let pds = Pds::start(PdsConfig {
        parallel_supported: false,
        drive_quota: 40 * MIB,
        ..PdsConfig::default()
    });
    add_pds(
        &s,
        "pds",
        &pds,
        &["upload_mode=parallel", "check_name_mode=refuse"],
    );
    let test = s.run(&["account", "test", "pds"], "").ok();
    assert!(
        test.stdout().contains("token refreshed") && test.stdout().contains("mock drive"),
        "{}",
        test.stdout()
    );
    s.config("part_size", &MIB.to_string());
    let dir = s.dir.path().join("src");
    let files = write_files(&dir, &[6 * MIB + 1], 21);
    let id = s.upload(&[files[0].0.as_path()], "pds")[0];
    assert_eq!(s.run_until_idle().code(), 0);
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(pds.file(&result_id(&j)).sha1, files[0].1);
    let st = pds.mock.stats();
    assert_eq!(
        (st.parallel_creates, st.max_concurrent_parts_per_upload),
        (0, 1),
        "serial after the fallback: {st:?}"
    );

    // The same name again with check_name_mode=refuse: a clear conflict, nothing uploaded.
    let other = dir.join("again");
    std::fs::create_dir_all(&other).unwrap();
    let same_name = other.join(files[0].0.file_name().unwrap());
    write_random(&same_name, 2 * MIB, 99);
    // More than the quota left: a clear quota error.
    let big = dir.join("big.bin");
    write_random(&big, 40 * MIB, 98);
    let ids = s.upload(&[same_name.as_path(), big.as_path()], "pds");
    assert_ne!(s.run_until_idle().code(), 0, "the failures are reported");
    let conflict = s.job(ids[0]);
    assert_eq!(
        (conflict["state"].as_str(), conflict["error_kind"].as_str()),
        (Some("failed"), Some("conflict")),
        "{conflict}"
    );
    assert!(
        conflict["error"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{conflict}"
    );
    let quota = s.job(ids[1]);
    assert_eq!(
        (quota["state"].as_str(), quota["error_kind"].as_str()),
        (Some("failed"), Some("quota")),
        "{quota}"
    );
    assert!(
        quota["error"].as_str().unwrap().contains("no space left"),
        "{quota}"
    );
    assert_eq!(pds.available().len(), 1);
    assert_eq!(
        pds.mock.stats().part_bytes_received,
        6 * MIB + 1,
        "nothing sent for the refused files"
    );
}

#[test]
fn overwrite_uploads_a_new_revision_of_the_file_with_that_name() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig::default());
    add_pds(&s, "pds", &pds, &["check_name_mode=overwrite"]);
    let (a, b) = (s.dir.path().join("a"), s.dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    write_random(&a.join("report.pdf"), 300 * KIB, 1);
    let second = write_random(&b.join("report.pdf"), 200 * KIB + 3, 2);
    let first_id = s.upload(&[a.join("report.pdf").as_path()], "pds")[0];
    assert_eq!(s.run_until_idle().code(), 0);
    let second_id = s.upload(&[b.join("report.pdf").as_path()], "pds")[0];
    assert_eq!(s.run_until_idle().code(), 0);
    let (j1, j2) = (s.job(first_id), s.job(second_id));
    assert_eq!(j2["state"], "done", "{j2}");
    assert_eq!(
        result_id(&j1),
        result_id(&j2),
        "the same file, a new revision"
    );
    let files = pds.available();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (files[0].name.as_str(), &files[0].sha1),
        ("report.pdf", &second),
        "the new content replaced the old"
    );
}

#[test]
fn a_folder_lands_in_folders_found_or_made_below_the_destination() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig::default());
    add_pds(&s, "pds", &pds, &[]);
    let album = s.dir.path().join("album");
    std::fs::create_dir_all(album.join("day1")).unwrap();
    let a = write_random(&album.join("a.jpg"), 150 * KIB, 1);
    let b = write_random(&album.join("day1").join("b.jpg"), 10, 2);
    let dest = [
        "upload",
        album.to_str().unwrap(),
        "--account",
        "pds",
        "--to",
        "Inbox/2026",
    ];
    s.run(&dest, "").ok();
    assert_eq!(s.run_until_idle().code(), 0);
    // Again: the folders are found, not made twice (the files get new names: auto_rename).
    s.run(&dest, "").ok();
    assert_eq!(s.run_until_idle().code(), 0);

    let all = pds.mock.files();
    let path_of = |f: &PdsFile| {
        let mut parts = vec![f.name.clone()];
        let mut parent = f.parent_file_id.clone();
        while let Some(p) = all.iter().find(|x| x.file_id == parent) {
            parts.insert(0, p.name.clone());
            parent = p.parent_file_id.clone();
        }
        parts.join("/")
    };
    let mut folders: Vec<String> = all.iter().filter(|f| f.folder).map(path_of).collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "Inbox",
            "Inbox/2026",
            "Inbox/2026/album",
            "Inbox/2026/album/day1"
        ]
    );
    let files = pds.available();
    assert_eq!(files.len(), 4, "{files:?}");
    for f in &files {
        let (dir, sha1) = if f.name.starts_with('a') {
            ("Inbox/2026/album", &a)
        } else {
            ("Inbox/2026/album/day1", &b)
        };
        assert_eq!(&f.sha1, sha1);
        assert_eq!(path_of(f).rsplit_once('/').unwrap().0, dir, "{f:?}");
    }
}

/// Issue #13: a gateway serving PDS under a path: the token URL and every API call keep it.
#[test]
fn an_endpoint_with_a_path_prefix_serves_the_token_and_every_call() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig { path_prefix: "/some/prefix/".into(), ..PdsConfig::default() });
    assert!(pds.mock.base_url().ends_with("/some/prefix"));
    add_pds(&s, "gw", &pds, &[]);
    let test = s.run(&["account", "test", "gw"], "").ok().stdout();
    assert!(test.contains("token refreshed"), "{test}");
    s.config("part_size", &MIB.to_string());
    let sizes = [0, 1, 3 * MIB + 5];
    let files = write_files(&s.dir.path().join("src"), &sizes, 1313);
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let ids = s.upload(&paths, "gw");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for ((id, (path, sha1)), size) in ids.iter().zip(&files).zip(sizes) {
        let j = &jobs[id];
        assert_eq!(j["state"], "done", "{j}");
        let f = pds.file(&result_id(j));
        assert_eq!((f.size, &f.sha1), (size, sha1), "{size} B byte-exact");
        assert_eq!(f.name, path.file_name().unwrap().to_str().unwrap());
    }
    assert_eq!(jobs[&ids[2]]["parts_total"], 4);
    assert_eq!(pds.available().len(), 3, "one file per job");
}

/// Issue #13: PDS pages `list_uploaded_parts` with markers that may be opaque tokens. A
/// resume over more than one page of stored parts must follow them to the end: no stored
/// part is sent again (serial mode would meet `PartAlreadyExist` for each).
#[test]
fn resume_pages_past_100_stored_parts_with_opaque_markers_and_resends_none() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig { opaque_markers: true, ..PdsConfig::default() });
    add_pds(&s, "pds", &pds, &[]);
    let part = 100 * KIB;
    s.config("part_size", &part.to_string());
    s.config("bandwidth", &(2 * MIB).to_string());
    let size = 150 * part + 17;
    let f = s.dir.path().join("many-parts.bin");
    let sha1 = write_random(&f, size, 150);
    let id = s.upload(&[f.as_path()], "pds")[0];
    let mut child = s.spawn_run(&["--until-idle"]);
    wait_until(120, "PDS holds 110 parts", || pds.mock.stats().part_bytes_accepted >= 110 * part);
    child.kill().unwrap(); // SIGKILL, with more than a page of parts stored
    child.wait().unwrap();
    assert_ne!(s.job(id)["state"], "done", "killed mid-upload");
    let held_before = pds.mock.stats().part_bytes_accepted;
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(pds.file(&result_id(&j)).sha1, sha1, "byte-exact");
    let st = pds.mock.stats();
    println!("held {held_before} B at the kill; stats {st:?}");
    assert!(st.list_pages >= 2, "the resume paged past the first 100 parts");
    assert_eq!(st.part_already_exist, 0, "no stored part was sent again");
    assert!(st.part_bytes_received <= size + part, "at most the one part in flight went twice: {st:?}");
    assert_eq!((st.completes_ok, pds.available().len()), (1, 1));
}

/// Issue #13: `complete` does its work but its answer is lost. The retry asks PDS about the
/// file (`file/get`) before completing again: one complete, one file, the job done.
#[test]
fn a_lost_complete_answer_is_followed_by_file_get_not_a_second_complete() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig::default());
    add_pds(&s, "pds", &pds, &[]);
    s.config("part_size", &MIB.to_string());
    s.config("retry_base_ms", "20");
    pds.mock.faults().push(FaultRule::on(COMPLETE_PATH, FaultAction::LoseAnswer).times(1)).unwrap();
    let files = write_files(&s.dir.path().join("src"), &[3 * MIB + 1], 1414);
    let id = s.upload(&[files[0].0.as_path()], "pds")[0];
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(pds.file(&result_id(&j)).sha1, files[0].1, "byte-exact");
    let st = pds.mock.stats();
    assert_eq!(pds.mock.faults().fired_total(), 1, "the answer was lost once");
    assert_eq!(st.requests_by_endpoint.get(COMPLETE_PATH), Some(&1), "never completed twice: {st:?}");
    assert!(st.requests_by_endpoint.get(ferry_mock_providers::pds::FILE_GET_PATH).is_some_and(|n| *n >= 1), "{st:?}");
    assert_eq!((st.completes_ok, pds.available().len()), (1, 1), "one file");
}

/// Found by the chaos soak (issue 14): `complete` is done but the engine is killed before its
/// answer comes. PDS then forgets the upload id, so the next engine's `list_uploaded_parts`
/// says NotFound.UploadId: the file is asked for first (it is there), never started over (a
/// second file) nor failed for good (before: every resume failed the same way).
#[test]
fn an_engine_killed_before_it_heard_that_pds_completed_the_upload_finishes_the_job() {
    let s = Sandbox::new();
    let pds = Pds::start(PdsConfig::default());
    add_pds(&s, "pds", &pds, &[]);
    s.config("part_size", &MIB.to_string());
    // The retry after the lost answer would wait ten minutes: the engine dies meanwhile.
    s.config("retry_base_ms", "600000");
    pds.mock.faults().push(FaultRule::on(COMPLETE_PATH, FaultAction::LoseAnswer).times(1)).unwrap();
    let files = write_files(&s.dir.path().join("src"), &[3 * MIB + 1], 1415);
    let id = s.upload(&[files[0].0.as_path()], "pds")[0];
    let mut engine = s.spawn_run(&[]);
    let end = Instant::now() + Duration::from_secs(120);
    while pds.available().is_empty() {
        assert!(Instant::now() < end, "PDS never completed the upload: {:?}", pds.mock.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    engine.kill().unwrap();
    engine.wait().unwrap();

    s.config("retry_base_ms", "20");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(pds.file(&result_id(&j)).sha1, files[0].1, "byte-exact");
    let st = pds.mock.stats();
    assert_eq!(st.creates, 1, "never started over: {st:?}");
    assert_eq!((st.completes_ok, pds.available().len()), (1, 1), "one file: {st:?}");
}
