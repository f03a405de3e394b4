//! The `feishu` provider end to end: `ferry upload` + `ferry run` against the strict Feishu
//! mock (issue #5's acceptance items 1–4; item 5, the error-code table, is the unit test in
//! `providers/feishu/errors.rs`, with the failing codes' messages checked here as people see
//! them).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_mock_providers::feishu::{self, Stats, DEFAULT_FOLDER};
use ferry_mock_providers::{FaultAction, FaultRule, FeishuConfig, FeishuMock};
use rand::Rng;

use super::support::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const BLOCK: u64 = 4 * MIB;

/// A strict Feishu mock on loopback, with the runtime that serves it.
struct Feishu {
    mock: FeishuMock,
    _rt: tokio::runtime::Runtime,
}

impl Feishu {
    fn start(cfg: FeishuConfig) -> Feishu {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mock = rt.block_on(FeishuMock::start(cfg));
        Feishu { mock, _rt: rt }
    }

    /// The SHA-1 of the stored file a job's result names (its file token).
    fn sha1_of(&self, job: &serde_json::Value) -> String {
        let token = job["result"]["id"].as_str().unwrap_or_else(|| panic!("no file token: {job}"));
        sha1_of(&self.mock.object_path(token).unwrap_or_else(|| panic!("the mock holds no file {token}")))
    }

    fn stats(&self) -> Stats {
        self.mock.stats()
    }

    fn faults(&self, rules: Vec<FaultRule>) {
        for r in rules {
            self.mock.faults().push(r).unwrap();
        }
    }
}

/// A feishu account pointing at `fs` (its endpoint), with extra `--set`s.
fn add_feishu(s: &Sandbox, name: &str, fs: &Feishu, sets: &[&str]) {
    let cfg = fs.mock.config();
    let base = fs.mock.base_url();
    let defaults = [format!("app_id={}", cfg.app_id), format!("parent_node={DEFAULT_FOLDER}")];
    let overridden = |kv: &&String| sets.iter().any(|s| s.split('=').next() == kv.split('=').next());
    let mut args = vec!["account", "add", name, "--provider", "feishu", "--endpoint", &base];
    for kv in defaults.iter().filter(|kv| !overridden(kv)).map(String::as_str).chain(sets.iter().copied()) {
        args.push("--set");
        args.push(kv);
    }
    s.run(&args, &format!("app_secret={}\n", cfg.app_secret)).ok();
}

/// Writes one file per size into `dir`; returns (path, sha1).
fn files(dir: &Path, sizes: &[u64], seed: u64) -> Vec<(PathBuf, String)> {
    std::fs::create_dir_all(dir).unwrap();
    sizes
        .iter()
        .map(|&size| {
            let p = dir.join(format!("file-{size}.bin"));
            let h = write_random(&p, size, seed + size);
            (p, h)
        })
        .collect()
}

fn paths(files: &[(PathBuf, String)]) -> Vec<&Path> {
    files.iter().map(|(p, _)| p.as_path()).collect()
}

fn blocks(size: u64) -> u64 {
    size.div_ceil(BLOCK)
}

/// The part calls the mock logged for one upload id, in order: (seq, code).
fn calls_of(stats: &Stats, upload_id: &str) -> Vec<(u64, i64)> {
    stats.part_calls.iter().filter(|c| c.upload_id == upload_id).map(|c| (c.seq.unwrap(), c.code)).collect()
}

fn upload_ids(stats: &Stats) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for c in &stats.part_calls {
        if !ids.contains(&c.upload_id) {
            ids.push(c.upload_id.clone());
        }
    }
    ids
}

fn print_maxima(what: &str, st: &Stats) {
    println!(
        "{what}: the mock observed at most {} upload_part calls in one second and at most {} at once for one upload \
         (refused: {} for rate, {} concurrent; {} blocks kept, {} with a checked Adler-32)",
        st.max_part_calls_per_second,
        st.max_concurrent_parts_per_upload,
        st.refused_rate,
        st.refused_concurrent,
        st.parts_ok,
        st.parts_with_checksum
    );
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

// ---------------------------------------------------------------- acceptance 1 and 2

#[test]
fn every_size_goes_up_byte_exact_one_block_at_a_time_under_five_calls_a_second() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default()); // enforces 5 calls/s and one part at a time
    add_feishu(&s, "lark", &fs, &[]);
    // Let the engine try to go faster: the provider's limits must hold it back.
    s.config("parts_per_file", "8");
    s.config("max_files", "4");
    let sizes = [0, 1, 20 * MIB, 20 * MIB + 1, 100 * MIB + 4321];
    let files = files(&s.dir.path().join("src"), &sizes, 7);
    let ids = s.upload(&paths(&files), "lark");
    let started = std::time::Instant::now();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let took = started.elapsed();

    let jobs = s.jobs();
    for ((id, (_, sha1)), size) in ids.iter().zip(&files).zip(sizes) {
        let j = &jobs[id];
        assert_eq!(j["state"], "done", "{j}");
        assert_eq!(fs.sha1_of(j), *sha1, "{size} B byte-exact");
        assert_eq!(j["bytes_acked"], size, "{j}");
        // ≤ 20 MiB is one upload_all; above, the server's 4 MiB blocks.
        let parts = if size <= 20 * MIB { 1 } else { blocks(size) };
        assert_eq!(j["parts_total"], parts, "{size} B: {j}");
        assert_eq!(j["parts_done"], parts, "{j}");
    }
    let st = fs.stats();
    print_maxima("every size", &st);
    println!("5 files, {} MiB, in {took:.1?}", sizes.iter().sum::<u64>() / MIB);
    assert_eq!(st.upload_alls_ok, 3, "0 B, 1 B and exactly 20 MiB in one upload_all each: {st:?}");
    assert_eq!((st.prepares_ok, st.finishes_ok), (2, 2), "20 MiB + 1 and 100 MiB in blocks");
    assert_eq!(st.parts_ok, blocks(20 * MIB + 1) + blocks(100 * MIB + 4321));
    assert_eq!(st.parts_with_checksum, st.parts_ok, "every block carried its Adler-32");
    assert_eq!(fs.mock.objects().len(), 5, "one file per job");
    for id in upload_ids(&st) {
        let seqs: Vec<u64> = calls_of(&st, &id).into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "blocks in order, each once");
    }
    assert!(st.max_part_calls_per_second <= 5, "{st:?}");
    assert_eq!(st.max_concurrent_parts_per_upload, 1, "never two parts of one upload at once");
    assert_eq!((st.refused_rate, st.refused_concurrent), (0, 0));
}

// ---------------------------------------------------------------- acceptance 3

#[test]
fn with_faults_every_file_is_byte_exact_and_stored_once() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    s.config("retry_base_ms", "20");
    s.config("retry_attempts", "8");
    let part = feishu::FILES_PART;
    let code = |code: i64| FaultAction::BusinessError { code, message: None };
    fs.faults(vec![
        FaultRule::on(part, FaultAction::DropMidBody { after_bytes: 1 << 20 }).every(3),
        FaultRule::on(part, code(feishu::CAN_RETRY)).every(4),
        // The gateway's throttling answer: HTTP 429, 99991400, x-ogw-ratelimit-reset: 1.
        FaultRule::on(part, code(feishu::RATE_LIMITED)).every(5),
        FaultRule::on(part, code(feishu::CHECKSUM_INVALID)).every(7),
        FaultRule::on(part, FaultAction::Throttle { retry_after_secs: 1 }).every(11),
        FaultRule::on(feishu::FILES_PREPARE, code(feishu::INTERNAL_ERROR)).times(1),
        FaultRule::on(feishu::FILES_FINISH, FaultAction::DropMidBody { after_bytes: 0 }).times(1),
        FaultRule::on(feishu::FILES_FINISH, code(feishu::INTERNAL_TIMEOUT)).times(1),
        FaultRule::on(feishu::FILES_UPLOAD_ALL, FaultAction::DropMidBody { after_bytes: 64 << 10 }).times(1),
        FaultRule::on(feishu::FILES_UPLOAD_ALL, FaultAction::HttpStatus { status: 502 }).times(1),
        FaultRule::on(feishu::FILES_UPLOAD_ALL, code(feishu::RATE_LIMITED)).times(1),
    ]);
    let sizes = [0, 1, 3 * MIB, 20 * MIB + 1, 30 * MIB];
    let files = files(&s.dir.path().join("src"), &sizes, 11);
    let ids = s.upload(&paths(&files), "lark");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(jobs[id]["state"], "done", "{}", jobs[id]);
        assert_eq!(fs.sha1_of(&jobs[id]), *sha1);
    }
    let st = fs.stats();
    print_maxima("with faults", &st);
    println!("faults fired: {}; refused checksums {}; stats {st:?}", st.faults_injected, st.checksum_mismatches);
    assert!(st.faults_injected >= 10, "the faults really happened");
    assert_eq!(fs.mock.objects().len(), 5, "one file per job");
    assert_eq!(st.upload_alls_ok, 3);
    assert_eq!(st.finishes_ok, 2, "exactly one finish per multipart file");
    assert_eq!(st.prepares_ok, 2, "no restart was needed");
    assert!(st.max_part_calls_per_second <= 5);
    assert_eq!(st.max_concurrent_parts_per_upload, 1);
}

#[test]
fn an_upload_id_that_expires_mid_job_restarts_from_prepare_and_completes() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    let size = 64 * MIB + 99;
    let files = files(&s.dir.path().join("src"), &[size], 21);
    let id = s.upload(&paths(&files), "lark")[0];
    let mut run = s.spawn_run(&["--until-idle"]);
    s.wait_job(id, 60, "acknowledge 3 blocks", |j| j["parts_done"].as_u64() >= Some(3));
    let expired = fs.mock.expire_uploads();
    assert_eq!(expired, 1);
    assert!(run.wait().unwrap().success(), "the run ends well");

    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(fs.sha1_of(&j), files[0].1, "byte-exact after the restart");
    let st = fs.stats();
    let ids = upload_ids(&st);
    assert_eq!(ids.len(), 2, "two upload ids: {ids:?}");
    let first = calls_of(&st, &ids[0]);
    let second = calls_of(&st, &ids[1]);
    println!("first upload id: {} calls ending with {:?}; second: {} calls", first.len(), first.last(), second.len());
    assert_eq!(first.last().map(|c| c.1), Some(feishu::UPLOAD_ID_EXPIRED), "the old id was refused");
    assert_eq!(second.iter().map(|c| c.0).collect::<Vec<_>>(), (0..blocks(size)).collect::<Vec<_>>(), "from block 0 again");
    assert_eq!((st.prepares_ok, st.finishes_ok), (2, 1));
    assert_eq!(fs.mock.objects().len(), 1, "one file");
}

#[test]
fn a_stale_token_is_replaced_and_the_upload_goes_on() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    let sizes = [40 * MIB, 2 * MIB];
    let files = files(&s.dir.path().join("src"), &sizes, 31);
    let ids = s.upload(&paths(&files), "lark");
    let mut run = s.spawn_run(&["--until-idle"]);
    s.wait_job(ids[0], 60, "acknowledge 2 blocks", |j| j["parts_done"].as_u64() >= Some(2));
    fs.mock.expire_tokens();
    assert!(run.wait().unwrap().success());
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        let j = s.job(*id);
        assert_eq!(j["state"], "done", "{j}");
        assert_eq!(fs.sha1_of(&j), *sha1);
    }
    let st = fs.stats();
    println!("tokens issued {}, calls refused for the token {}, token requests {}", st.tokens_issued, st.token_refusals, st.token_requests);
    assert_eq!(st.tokens_issued, 2, "one token, then one new one after it was refused");
    assert!(st.token_refusals >= 1);
    assert_eq!(st.prepares_ok, 1, "the same upload went on");
}

#[test]
fn a_rate_limited_or_busy_token_call_is_retried_not_taken_for_wrong_credentials() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    s.config("retry_base_ms", "20");
    let faults = fs.mock.faults();
    let code = |code: i64| FaultAction::BusinessError { code, message: None };
    faults.push(FaultRule::on(feishu::TOKEN_PATH, code(feishu::RATE_LIMITED)).times(1)).unwrap();
    faults.push(FaultRule::on(feishu::TOKEN_PATH, code(feishu::CAN_RETRY)).times(1)).unwrap();
    let files = files(&s.dir.path().join("src"), &[300 * KIB], 47);
    let ids = s.upload(&paths(&files), "lark");
    let run = s.run(&["run", "--until-idle"], "");
    let j = s.job(ids[0]);
    assert_eq!((run.code(), j["state"].as_str()), (0, Some("done")), "{j}\n{}", run.stderr());
    assert_eq!(fs.sha1_of(&j), files[0].1);
    let st = fs.stats();
    assert_eq!(st.tokens_issued, 1, "one token, after two answers asking to wait");
    assert!(!s.logs().contains("refused the app's credentials"), "a busy token call is not a credentials problem");
}

// ---------------------------------------------------------------- acceptance 4

#[test]
fn kill_minus_nine_resumes_from_the_next_unacknowledged_block() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    // Slow enough that each kill lands mid-upload.
    s.config("bandwidth", &(24 * MIB).to_string());
    let size = 104 * MIB + 777;
    let files = files(&s.dir.path().join("src"), &[size], 41);
    let id = s.upload(&paths(&files), "lark")[0];

    let mut rng = rand::rng();
    let mut kills = 0u64;
    let mut resumed_at = Vec::new();
    loop {
        let calls_before = fs.stats().part_calls.len();
        let mut run = s.spawn_run(&["--until-idle"]);
        if let Some((calls, acked)) = resumed_at.last().copied() {
            // The first block this run sends is the first one the ledger lacks.
            let end = std::time::Instant::now() + Duration::from_secs(30);
            while fs.stats().part_calls.len() <= calls && std::time::Instant::now() < end && s.job(id)["state"] != "done" {
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Some(first) = fs.stats().part_calls.get(calls) {
                assert_eq!(first.seq, Some(acked), "after kill {kills}, {acked} blocks were acknowledged");
            }
        }
        if kills == 5 {
            assert!(run.wait().unwrap().success(), "the last run finishes the job");
            break;
        }
        // Wait until this run is sending, then kill it at a random instant.
        while fs.stats().part_calls.len() <= calls_before && run.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(100..900)));
        if run.try_wait().unwrap().is_some() {
            break; // finished before the kill
        }
        run.kill().unwrap(); // SIGKILL
        run.wait().unwrap();
        kills += 1;
        // Let the mock see the dropped connection, then note where the ledger stands.
        std::thread::sleep(Duration::from_millis(300));
        let acked = s.job(id)["parts_done"].as_u64().unwrap();
        resumed_at.push((fs.stats().part_calls.len(), acked));
        println!("kill {kills}: {acked} of {} blocks acknowledged", blocks(size));
    }

    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(fs.sha1_of(&j), files[0].1, "byte-exact after {kills} kills");
    let st = fs.stats();
    let ids = upload_ids(&st);
    assert_eq!(ids.len(), 1, "one upload id, resumed every time");
    let seqs: Vec<u64> = calls_of(&st, &ids[0]).iter().map(|c| c.0).collect();
    // Each step is the same block again (the one in flight at a kill) or the next one.
    assert!(seqs.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1), "{seqs:?}");
    let resent = seqs.len() as u64 - blocks(size);
    println!(
        "kill -9: {kills} kills, {} block calls for {} blocks ({resent} re-sent, at most one per kill), {} bytes received for {size}",
        seqs.len(),
        blocks(size),
        st.part_bytes
    );
    assert!(kills >= 3, "the kills landed mid-upload");
    assert!(resent <= kills, "re-sent only blocks in flight at a kill");
    assert_eq!((st.prepares_ok, st.finishes_ok), (1, 1));
    assert!(st.max_part_calls_per_second <= 5);
    assert_eq!(st.max_concurrent_parts_per_upload, 1);
}

// ---------------------------------------------------------------- the daily budget

#[test]
fn a_spent_daily_budget_parks_the_job_visibly_and_it_goes_on_the_next_day() {
    // The budget resets at midnight China time (16:00 UTC): keep clear of it.
    let to_midnight = 86_400 - (now_ms() / 1000 + 8 * 3600) % 86_400;
    if to_midnight < 180 {
        std::thread::sleep(Duration::from_secs(to_midnight as u64 + 2));
    }
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &["daily_calls=4"]);
    let size = 30 * MIB; // 8 blocks: 4 today, 4 tomorrow
    let files = files(&s.dir.path().join("src"), &[size], 51);
    let id = s.upload(&paths(&files), "lark")[0];
    let mut run = s.spawn_run(&[]);
    let j = s.wait_job(id, 60, "wait for the budget", |j| {
        j["state"] == "queued" && j["error"].as_str().is_some_and(|e| e.contains("daily budget"))
    });
    let queue_line = s.run(&["queue"], "").ok().stdout();
    println!("ferry queue: {}", queue_line.trim());
    assert!(queue_line.contains("queued") && queue_line.contains("daily budget of 4 files/upload_part calls"), "{queue_line}");
    let wait_s = (j["next_run_at"].as_i64().unwrap() - now_ms()) / 1000;
    println!("the job waits {wait_s} s, until midnight China time ({to_midnight} s away when the test began)");
    assert!(wait_s > 60, "longer than the pacer sleeps in place: the job waits in the queue");
    assert_eq!(j["parts_done"], 4);
    assert_eq!(j["error_kind"], "quota");
    assert_eq!(j["attempts"], 0, "waiting for the budget costs no attempt: {j}");
    assert_eq!(fs.stats().parts_ok, 4, "the fifth call was never sent");
    run.kill().unwrap();
    run.wait().unwrap();

    // The next day: the stored count belongs to yesterday (the file is how a restarted Ferry
    // remembers it), and the job is due (pause + resume stands in for the clock).
    let state_dir = s.data_dir().join("provider-state");
    let budget = std::fs::read_dir(&state_dir).unwrap().next().unwrap().unwrap().path();
    let mut counts: serde_json::Value = serde_json::from_slice(&std::fs::read(&budget).unwrap()).unwrap();
    assert_eq!(counts["calls"]["files/upload_part"], 4, "{counts}");
    counts["day"] = (counts["day"].as_i64().unwrap() - 1).into();
    std::fs::write(&budget, counts.to_string()).unwrap();
    s.run(&["pause", &id.to_string()], "").ok();
    s.run(&["resume", &id.to_string()], "").ok();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(fs.sha1_of(&j), files[0].1);
    let st = fs.stats();
    assert_eq!((st.prepares_ok, st.parts_ok, st.finishes_ok), (1, 8, 1), "the same upload went on: {st:?}");
    assert_eq!(st.refused_daily, 0, "Ferry never went over Feishu's budget");
}

// ---------------------------------------------------------------- failures people read

#[test]
fn refusals_fail_their_job_with_a_readable_message_and_the_queue_goes_on() {
    let s = Sandbox::new();
    // The notes' HTTP statuses this time (403, 400…), with the code in the body.
    let fs = Feishu::start(FeishuConfig { documented_http_status: true, quota_bytes: Some(8 * MIB), ..FeishuConfig::default() });
    add_feishu(&s, "lark", &fs, &[]);
    let dir = s.dir.path().join("src");
    let cases: [(Option<i64>, u64, &str); 5] = [
        (Some(feishu::FORBIDDEN), KIB, "share the folder (or document) with the app with edit access"),
        (Some(feishu::NO_SCOPE), KIB, "enable drive:file:upload"),
        (Some(feishu::USER_QUOTA_EXCEEDED), KIB, "user's storage quota is full"),
        (Some(feishu::NAME_REVIEW_FAILED), KIB, "did not pass Feishu's content review: rename the file"),
        // The mock's real tenant quota (8 MiB), on the multipart path.
        (None, 21 * MIB, "tenant's storage quota is full"),
    ];
    for (i, (code, size, words)) in cases.iter().enumerate() {
        let f = files(&dir.join(i.to_string()), &[*size], 60 + i as u64);
        if let Some(code) = code {
            fs.faults(vec![FaultRule::on(feishu::FILES_UPLOAD_ALL, FaultAction::BusinessError { code: *code, message: None }).times(1)]);
        }
        let id = s.upload(&paths(&f), "lark")[0];
        let run = s.run_until_idle();
        assert_eq!(run.code(), 1, "the job failed: {}", run.stderr());
        let j = s.job(id);
        let error = j["error"].as_str().unwrap();
        println!("{}: {error}", code.unwrap_or(feishu::TENANT_QUOTA_EXCEEDED));
        assert_eq!(j["state"], "failed", "{j}");
        assert!(error.contains(words), "{error}");
        assert!(error.contains(&code.unwrap_or(feishu::TENANT_QUOTA_EXCEEDED).to_string()), "{error}");
        assert_eq!(j["attempts"], 1, "not retried: {j}");
    }
    // A name Feishu cannot take is refused before any call.
    let long = dir.join(format!("{}.txt", "n".repeat(247)));
    std::fs::write(&long, b"x").unwrap();
    let id = s.upload(&[long.as_path()], "lark")[0];
    assert_eq!(s.run_until_idle().code(), 1);
    let j = s.job(id);
    assert!(j["error"].as_str().unwrap().contains("rename the file"), "{j}");
    // The queue goes on.
    let ok = files(&dir.join("ok"), &[3 * KIB], 70);
    let id = s.upload(&paths(&ok), "lark")[0];
    assert_eq!(s.run_until_idle().code(), 0);
    assert_eq!(fs.sha1_of(&s.job(id)), ok[0].1);
    assert_eq!(fs.mock.objects().len(), 1);
}

#[test]
fn account_test_gets_a_token_and_finds_the_folder() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "good", &fs, &[]);
    add_feishu(&s, "no-folder", &fs, &["parent_node=fldNOPE"]);
    let out = s.run(&["account", "test", "good"], "").ok().stdout();
    println!("{}", out.trim());
    assert!(out.contains("tenant_access_token") && out.contains(DEFAULT_FOLDER) && out.contains("reachable"), "{out}");
    let r = s.run(&["account", "test", "no-folder"], "");
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("1061003") && r.stderr().contains("parent_node"), "{}", r.stderr());
    // Wrong credentials: said so, naming the platform.
    let cfg = fs.mock.config();
    let base = fs.mock.base_url();
    let args = [
        "account",
        "add",
        "bad",
        "--provider",
        "feishu",
        "--endpoint",
        &base,
        "--set",
        &format!("app_id={}", cfg.app_id),
        "--set",
        "parent_node=x",
    ];
    s.run(&args, "app_secret=wrong\n").ok();
    let r = s.run(&["account", "test", "bad"], "");
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("check app_id and app_secret"), "{}", r.stderr());
    assert_eq!(fs.stats().tokens_issued, 1);
    // Lark is one --endpoint away (the mock above stands in for either platform).
    s.run(
        &[
            "account",
            "add",
            "intl",
            "--provider",
            "feishu",
            "--endpoint",
            "https://open.larksuite.com",
            "--set",
            "app_id=a",
            "--set",
            "parent_node=f",
        ],
        "app_secret=s\n",
    )
    .ok();
    let list = s.run(&["account", "list", "--json"], "").ok().stdout();
    assert!(list.contains("https://open.larksuite.com"), "{list}");
}

#[test]
fn documents_take_files_through_the_media_apis() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    let doc = "doxcnXgNGAtaAraIRVeCfmabcef";
    add_feishu(&s, "doc", &fs, &["parent_type=docx_file", "parent_node=blkFileBlock1", &format!("drive_route_token={doc}")]);
    let sizes = [5 * KIB, 21 * MIB];
    let files = files(&s.dir.path().join("src"), &sizes, 81);
    let ids = s.upload(&paths(&files), "doc");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(fs.sha1_of(&s.job(*id)), *sha1);
    }
    let objects = fs.mock.objects();
    assert_eq!(objects.len(), 2);
    for o in &objects {
        assert_eq!((o.placement.family.as_str(), o.placement.parent_type.as_str()), ("medias", "docx_file"), "{o:?}");
        assert_eq!(o.placement.parent_node, "blkFileBlock1");
        let extra: serde_json::Value = serde_json::from_str(o.placement.extra.as_deref().unwrap()).unwrap();
        assert_eq!(extra["drive_route_token"], doc);
    }
    let st = fs.stats();
    assert_eq!(st.requests_by_endpoint.get(feishu::MEDIAS_PART), Some(&blocks(21 * MIB)));
    assert_eq!(st.requests_by_endpoint.get(feishu::FILES_UPLOAD_ALL), None, "nothing went to Drive folders");
}

/// Issue #13: a gateway serving Feishu under a path: the token and every call keep it.
#[test]
fn an_endpoint_with_a_path_prefix_serves_the_token_and_every_call() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig { path_prefix: "/some/prefix".into(), ..FeishuConfig::default() });
    assert!(fs.mock.base_url().ends_with("/some/prefix"));
    add_feishu(&s, "gw", &fs, &[]);
    let out = s.run(&["account", "test", "gw"], "").ok().stdout();
    assert!(out.contains("reachable"), "{out}");
    let sizes = [0, 1, 20 * MIB + 1];
    let files = files(&s.dir.path().join("src"), &sizes, 1313);
    let ids = s.upload(&paths(&files), "gw");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for ((id, (_, sha1)), size) in ids.iter().zip(&files).zip(sizes) {
        let j = &jobs[id];
        assert_eq!(j["state"], "done", "{j}");
        assert_eq!(fs.sha1_of(j), *sha1, "{size} B byte-exact");
    }
    assert_eq!(jobs[&ids[2]]["parts_total"], blocks(20 * MIB + 1));
    assert_eq!(fs.mock.objects().len(), 3, "one file per job");
}

/// Issue #13: a service that refuses a block's (correct) Adler-32 twice in a row gets the
/// blocks without the optional checksum instead of the same refusal forever.
#[test]
fn a_block_checksum_refused_twice_in_a_row_falls_back_to_none() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig { refuse_block_checksums: true, ..FeishuConfig::default() });
    add_feishu(&s, "lark", &fs, &[]);
    s.config("retry_base_ms", "20");
    let size = 20 * MIB + 1;
    let files = files(&s.dir.path().join("src"), &[size], 1616);
    let ids = s.upload(&paths(&files), "lark");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let j = s.job(ids[0]);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(fs.sha1_of(&j), files[0].1, "byte-exact");
    let st = fs.stats();
    assert_eq!(st.checksum_mismatches, 2, "refused twice, then sent without: {st:?}");
    assert_eq!((st.parts_ok, st.parts_with_checksum), (blocks(size), 0));
    assert_eq!(fs.mock.objects().len(), 1);
}

/// Issue #13: `upload_all` and `upload_finish` store the file but their answers are lost.
/// Before sending again, Ferry lists the folder newest first and takes the file of that name
/// made since the upload began: one file per job, no second upload_all or finish.
#[test]
fn lost_upload_all_and_upload_finish_answers_leave_exactly_one_file_each() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    s.config("retry_base_ms", "20");
    fs.faults(vec![
        FaultRule::on(feishu::FILES_UPLOAD_ALL, FaultAction::LoseAnswer).times(1),
        FaultRule::on(feishu::FILES_FINISH, FaultAction::LoseAnswer).times(1),
    ]);
    let files = files(&s.dir.path().join("src"), &[1, 20 * MIB + 1], 1717);
    let ids = s.upload(&paths(&files), "lark");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(jobs[id]["state"], "done", "{}", jobs[id]);
        assert_eq!(fs.sha1_of(&jobs[id]), *sha1, "byte-exact");
    }
    let st = fs.stats();
    assert_eq!(fs.mock.faults().fired_total(), 2, "both answers were lost");
    assert_eq!((st.upload_alls_ok, st.finishes_ok), (1, 1), "neither call was made twice: {st:?}");
    assert_eq!(fs.mock.objects().len(), 2, "exactly one file per job");
}

/// Found by the chaos soak (issue 14): the engine is killed after Feishu stored the file but
/// before the answer came back. The next engine must look before sending `upload_all` or
/// `upload_finish` again, as the same process does after a lost answer: one file per job.
#[test]
fn an_engine_killed_before_it_heard_that_feishu_stored_the_file_leaves_one_file_per_job() {
    let s = Sandbox::new();
    let fs = Feishu::start(FeishuConfig::default());
    add_feishu(&s, "lark", &fs, &[]);
    // The retry after the lost answer would wait ten minutes: the engine dies meanwhile.
    s.config("retry_base_ms", "600000");
    fs.faults(vec![
        FaultRule::on(feishu::FILES_UPLOAD_ALL, FaultAction::LoseAnswer).times(1),
        FaultRule::on(feishu::FILES_FINISH, FaultAction::LoseAnswer).times(1),
    ]);
    let files = files(&s.dir.path().join("src"), &[1, 20 * MIB + 1], 1718);
    let ids = s.upload(&paths(&files), "lark");
    let mut engine = s.spawn_run(&[]);
    let end = std::time::Instant::now() + Duration::from_secs(120);
    while fs.mock.objects().len() < 2 {
        assert!(std::time::Instant::now() < end, "Feishu never stored both files: {:?}", fs.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    engine.kill().unwrap();
    engine.wait().unwrap();
    assert_eq!(fs.mock.faults().fired_total(), 2, "both answers were lost");

    s.config("retry_base_ms", "20");
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let jobs = s.jobs();
    for (id, (_, sha1)) in ids.iter().zip(&files) {
        assert_eq!(jobs[id]["state"], "done", "{}", jobs[id]);
        assert_eq!(fs.sha1_of(&jobs[id]), *sha1, "byte-exact");
    }
    let st = fs.stats();
    assert_eq!((st.upload_alls_ok, st.finishes_ok), (1, 1), "neither call was made twice: {st:?}");
    assert_eq!(fs.mock.objects().len(), 2, "exactly one file per job");
}
