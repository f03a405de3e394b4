//! `ferry-soak`: the chaos soak (issue 14).
//!
//! Starts the strict mocks of DingTalk, Feishu, PDS and iFlytek in-process on 127.0.0.1 (each
//! under a gateway prefix) plus a `local` target folder, queues a few hundred files of mixed
//! sizes (some in nested folders) to all five accounts in waves, and while the real `ferry run`
//! works the queue: every fault the mocks know fires at a moderate rate, tokens, signed URLs
//! and upload ids expire, the bandwidth limit drops for a while, the engine is SIGKILLed at
//! random instants and restarted, and the iFlytek secret is rotated at the service and then
//! corrected with `ferry account edit`. Then faults stop, the queue drains (failed jobs are
//! resumed), and the soak checks at the mocks: every file present exactly once and byte-exact,
//! no job left active, no secret, token or signed URL in the logs, the database or any
//! output, and the engine's peak RSS within 64 MiB + parts in flight × part size.
//!
//! It prints one summary line and exits non-zero naming every check that failed. The seed is
//! printed first; `--seed` replays the run's choices (the kill instants are wall-clock, so a
//! replay is close, not exact). Runs inside a Secret Service session (scripts/test.sh makes one).

mod checks;
mod ferry;
mod mocks;
mod rng;
mod tree;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use checks::{Needles, Target};
use ferry::{Engine, Ferry, RssSampler};
use mocks::{Mocks, ACCOUNTS, PART_SIZE};
use rng::Rng;
use tree::{SoakFile, Sizes};

const MIB: u64 = 1 << 20;
/// Enqueued at 0, ¼ and ½ of the chaos.
const WAVES: usize = 3;
/// The engine's own memory, on top of the parts it holds (issue 14).
const RSS_BASE: u64 = 64 * MIB;

#[derive(Parser)]
#[command(name = "ferry-soak", about = "Chaos soak of the real `ferry` binary against the provider mocks")]
struct Args {
    /// The `ferry` binary (default: $FERRY_BIN, else the one next to this program).
    #[arg(long)]
    ferry: Option<PathBuf>,
    /// Seconds of chaos, the drain comes after (default: $FERRY_SOAK_SECS, else 180).
    #[arg(long)]
    seconds: Option<u64>,
    /// Minutes of chaos (overrides --seconds), e.g. `--minutes 30` by hand.
    #[arg(long)]
    minutes: Option<u64>,
    /// Replay a run's choices (default: $FERRY_SOAK_SEED, else from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Files per account.
    #[arg(long, default_value_t = 60)]
    files: usize,
    /// Largest file of the ordinary mix, MiB.
    #[arg(long, default_value_t = 24)]
    max_file_mib: u64,
    /// Add one file of 100–300 MiB per account.
    #[arg(long)]
    big: bool,
    /// Keep the work dir (it is always kept when a check fails).
    #[arg(long)]
    keep: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seed = args.seed.or_else(|| env_u64("FERRY_SOAK_SEED")).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    println!("ferry-soak: seed {seed} (replay: ferry-soak --seed {seed})");
    let work = match tempfile::Builder::new().prefix("ferry-soak.").tempdir() {
        Ok(w) => w,
        Err(e) => return fail(&format!("cannot make a work dir: {e}")),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("no runtime: {e}")),
    };
    let outcome = soak(&args, seed, work.path(), &rt);
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            if args.keep {
                println!("ferry-soak: work dir kept at {}", work.keep().display());
            }
            ExitCode::SUCCESS
        }
        Err((summary, problems)) => {
            let dir = work.keep();
            for p in &problems {
                eprintln!("ferry-soak: FAILED: {p}");
            }
            if let Some(s) = summary {
                println!("{s}");
            }
            eprintln!("ferry-soak: {} check(s) failed (seed {seed}); work dir kept at {}", problems.len(), dir.display());
            ExitCode::FAILURE
        }
    }
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok()?.trim().parse().ok()
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("ferry-soak: {msg}");
    ExitCode::FAILURE
}

type Outcome = Result<String, (Option<String>, Vec<String>)>;

fn setup_err(e: impl std::fmt::Display) -> (Option<String>, Vec<String>) {
    (None, vec![e.to_string()])
}

fn soak(args: &Args, seed: u64, work: &std::path::Path, rt: &tokio::runtime::Runtime) -> Outcome {
    let began = Instant::now();
    let seconds = args.seconds.or_else(|| env_u64("FERRY_SOAK_SECS")).unwrap_or(180);
    let chaos_len = Duration::from_secs(args.minutes.map_or(seconds, |m| m * 60).max(20));
    let mut rng = Rng::new(seed);
    let bin = match args.ferry.clone().or_else(|| std::env::var_os("FERRY_BIN").map(PathBuf::from)) {
        Some(b) => b,
        None => std::env::current_exe().map_err(setup_err)?.with_file_name(format!("ferry{}", std::env::consts::EXE_SUFFIX)),
    };
    let ferry = Ferry::new(bin, work).map_err(setup_err)?;
    let mocks = rt.block_on(Mocks::start()).map_err(setup_err)?;

    // Accounts: the four mocks and a local folder.
    for (args, secrets) in mocks.account_args() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ferry.run(&args, &secrets).map_err(setup_err)?;
    }
    let local_root = work.join("local-target");
    std::fs::create_dir_all(&local_root).map_err(setup_err)?;
    ferry.run(&["account", "add", "loc", "--provider", "local", "--set", &format!("root={}", local_root.display())], "").map_err(setup_err)?;
    ferry.run(&["config", "set", "part_size", &PART_SIZE.to_string()], "").map_err(setup_err)?;

    // The files.
    let sizes = Sizes { files_per_account: args.files, max_file: args.max_file_mib * MIB, huge_files: usize::from(args.big) };
    let mut trees: BTreeMap<&str, Vec<SoakFile>> = BTreeMap::new();
    for account in ACCOUNTS {
        let files = tree::write_tree(&work.join("src").join(account), account, WAVES, sizes, &mut rng).map_err(setup_err)?;
        trees.insert(account, files);
    }
    let (file_count, bytes): (usize, u64) = trees.values().flatten().fold((0, 0), |(n, b), f| (n + 1, b + f.size));
    println!("ferry-soak: {file_count} files, {:.1} MiB, to {} accounts; {} s of chaos", bytes as f64 / MIB as f64, ACCOUNTS.len(), chaos_len.as_secs());

    let mut problems: Vec<String> = Vec::new();
    let mut refresh_tokens: Vec<String> = mocks.refresh_tokens();
    let rss = RssSampler::start();
    let mut stats = Stats::default();

    // ---- the storm ----
    mocks.chaos_on(&mut rng);
    let start = Instant::now();
    let at = |fraction: f64| start + chaos_len.mul_f64(fraction);
    let mut waves_due: Vec<(Instant, usize)> = (0..WAVES).map(|w| (at(w as f64 / 4.0), w)).collect();
    let mut next_kill = start + Duration::from_secs(rng.range(8, 25));
    let mut next_event = start + Duration::from_secs(rng.range(2, 8));
    let mut next_poll = start + Duration::from_secs(2);
    let mut next_report = start + Duration::from_secs(30);
    let mut bandwidth_at = at(0.1 + rng.range(0, 40) as f64 / 100.0);
    let mut bandwidth_until: Option<Instant> = None;
    // The rotation must meet iFlytek uploads in progress: from 30 % of the chaos once one
    // is, at 60 % whatever happens.
    let (rotate_from, rotate_by) = (at(0.3), at(0.6));
    let mut xfy_active = false;
    let mut xfy_auth_failed = false;
    let new_secret = format!("rotated-secret-{:016x}", rng.next_u64());
    let mut rotated: Option<Instant> = None;
    let mut corrected = false;
    let mut engine: Option<Engine> = None;
    let mut restart_at = Some(start);

    while Instant::now() < start + chaos_len {
        let now = Instant::now();
        if let Some(w) = waves_due.iter().position(|(t, _)| *t <= now) {
            let (_, wave) = waves_due.remove(w);
            let first = rng.range(0, ACCOUNTS.len() as u64 - 1) as usize;
            enqueue_wave(&ferry, work, wave, first).unwrap_or_else(|e| problems.push(e));
        }
        if restart_at.is_some_and(|t| t <= now) {
            let e = ferry.spawn_engine().map_err(|e| (None, vec![e]))?;
            rss.watch(e.pid());
            engine = Some(e);
            restart_at = None;
        }
        if let Some(e) = engine.as_mut() {
            if let Some(status) = e.exited() {
                problems.push(format!("`ferry run` exited by itself ({status}) at {:.0} s; see the engine-*.out files", now.duration_since(start).as_secs_f64()));
                engine = None;
                restart_at = Some(now);
            }
        }
        if now >= next_kill {
            if let Some(e) = engine.take() {
                rss.last_look();
                e.kill();
                stats.kills += 1;
                restart_at = Some(now + Duration::from_millis(rng.range(0, 3000)));
            }
            next_kill = now + Duration::from_secs(rng.range(8, 30));
        }
        if now >= next_event {
            *stats.events.entry(mocks.expire_something(&mut rng)).or_default() += 1;
            next_event = now + Duration::from_secs(rng.range(2, 8));
        }
        if now >= bandwidth_at && bandwidth_until.is_none() {
            let limit = rng.range(64, 1024) << 10;
            ferry.run(&["config", "set", "bandwidth", &limit.to_string()], "").unwrap_or_else(|e| {
                problems.push(e);
                String::new()
            });
            stats.bandwidth_windows.push(limit);
            bandwidth_until = Some(now + Duration::from_secs(20));
        }
        if bandwidth_until.is_some_and(|t| t <= now) {
            let _ = ferry.run(&["config", "set", "bandwidth", "0"], "").map_err(|e| problems.push(e));
            bandwidth_until = None;
            // Once a minute in a long soak.
            bandwidth_at = now + Duration::from_secs(rng.range(40, 80));
        }
        if rotated.is_none() && ((now >= rotate_from && xfy_active) || now >= rotate_by) {
            // The app's secret is reset at the service: iFlytek refuses the old one at once.
            mocks.xfyun.rotate_secret(&new_secret);
            rotated = Some(now);
        }
        if !corrected && rotated.is_some_and(|t| xfy_auth_failed || now >= t + (chaos_len / 5).min(Duration::from_secs(30))) {
            // Once, whatever the outcome: a failed edit is a finding, not something to repeat.
            corrected = true;
            if let Err(e) = ferry.run(&["account", "edit", "xfy"], &format!("api_secret={new_secret}\n")) {
                problems.push(format!("correcting the rotated secret: {e}"));
            }
            // Retry what failed on the old secret.
            if let Ok(jobs) = ferry.jobs() {
                let ids: Vec<String> = jobs
                    .iter()
                    .filter(|j| j["state"] == "failed" && j["error_kind"] == "auth")
                    .filter_map(|j| j["id"].as_i64().map(|i| i.to_string()))
                    .collect();
                stats.auth_failures = ids.len();
                resume(&ferry, &ids, &mut stats, &mut problems);
            }
        }
        if now >= next_poll {
            if let Ok(jobs) = ferry.jobs() {
                stats.note(&jobs);
                let xfy = |j: &&serde_json::Value| j["account"] == "xfy";
                xfy_active = jobs.iter().filter(xfy).any(|j| j["state"] == "uploading");
                xfy_auth_failed = jobs.iter().filter(xfy).any(|j| j["state"] == "failed" && j["error_kind"] == "auth");
                if now >= next_report {
                    println!("ferry-soak: {:>4.0} s  {}", now.duration_since(start).as_secs_f64(), states_line(&jobs));
                    next_report = now + Duration::from_secs(30);
                }
            }
            for t in mocks.refresh_tokens() {
                if !refresh_tokens.contains(&t) {
                    refresh_tokens.push(t);
                }
            }
            next_poll = now + Duration::from_secs(2);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (_, wave) in std::mem::take(&mut waves_due) {
        enqueue_wave(&ferry, work, wave, 0).unwrap_or_else(|e| problems.push(e));
    }

    // ---- the calm: faults off, the queue drains ----
    let fired = mocks.chaos_off();
    let _ = ferry.run(&["config", "set", "bandwidth", "0"], "").map_err(|e| problems.push(e));
    if !corrected {
        problems.push("the chaos ended before the rotated secret was corrected".into());
    }
    if engine.is_none() {
        let e = ferry.spawn_engine().map_err(|e| (None, vec![e]))?;
        rss.watch(e.pid());
        engine = Some(e);
    }
    let drain_began = Instant::now();
    let drain_limit = Duration::from_secs(240);
    let mut resumed_in_drain: HashMap<i64, u32> = HashMap::new();
    let jobs = loop {
        let jobs = ferry.jobs().map_err(|e| (None, vec![e]))?;
        stats.note(&jobs);
        if jobs.iter().all(|j| j["state"] == "done") {
            break jobs;
        }
        if drain_began.elapsed() > drain_limit {
            problems.push(format!("the queue did not drain within {} s after the faults stopped: {}", drain_limit.as_secs(), states_line(&jobs)));
            break jobs;
        }
        let mut again = Vec::new();
        for j in jobs.iter().filter(|j| j["state"] == "failed") {
            let id = j["id"].as_i64().unwrap_or_default();
            let n = resumed_in_drain.entry(id).or_default();
            *n += 1;
            if *n > 3 {
                problems.push(format!("job {id} ({}) keeps failing with no fault injected: {}", j["file"].as_str().unwrap_or("?"), j["error"]));
            } else {
                again.push(id.to_string());
            }
        }
        if problems.iter().any(|p| p.contains("keeps failing")) {
            break jobs;
        }
        resume(&ferry, &again, &mut stats, &mut problems);
        if let Some(e) = engine.as_mut() {
            if let Some(status) = e.exited() {
                problems.push(format!("`ferry run` exited by itself ({status}) while draining"));
                let e = ferry.spawn_engine().map_err(|e| (None, vec![e]))?;
                rss.watch(e.pid());
                engine = Some(e);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    rss.last_look();
    if let Some(e) = engine.take() {
        e.kill();
    }
    // A fresh engine finds nothing to do and says all is well.
    if let Err(e) = ferry.run(&["run", "--until-idle"], "") {
        problems.push(format!("after the drain: {e}"));
    }

    // ---- the checks ----
    let stored = mocks.stored();
    let pds_unfinished = mocks.pds_unfinished();
    let local_stored: Vec<mocks::Stored> = tree::walk(&local_root)
        .into_iter()
        .map(|(rel, p)| mocks::Stored { id: p.display().to_string(), size: std::fs::metadata(&p).map_or(0, |m| m.len()), sha1: tree::sha1_of(&p).unwrap_or_default(), path: rel })
        .collect();
    let in_folder: fn(&SoakFile) -> String = |f| format!("soak/{}", f.rel);
    let flat: fn(&SoakFile) -> String = |f| f.name.clone();
    let targets: Vec<Target> = ACCOUNTS
        .iter()
        .map(|&account| Target {
            account,
            source_root: work.join("src").join(account),
            files: &trees[account],
            expected_path: if account == "xfy" { flat } else { in_folder },
            stored: if account == "loc" { local_stored.clone() } else { stored.get(account).cloned().unwrap_or_default() },
            check_result_id: account != "loc",
            // iFlytek has no look-up: each lost answer, and each kill that lands while a
            // one-shot upload or a `complete` is in flight, can leave one unreferenced copy.
            allowed_orphans: if account == "xfy" { fired.xfyun_lost_answers + stats.kills } else { 0 },
        })
        .collect();
    let orphans = checks::verify_targets(&targets, &jobs, &mut problems);

    let mut secrets = mocks.secrets();
    secrets.push(new_secret.clone());
    secrets.extend(refresh_tokens.iter().chain(mocks.refresh_tokens().iter()).cloned());
    let scanned = checks::scan_for_leaks(&ferry.files_to_scan(), &Needles::new(&secrets), &mut problems);
    if scanned == 0 {
        problems.push("no file to scan for leaks: the data dir is empty?".into());
    }

    let in_flight = config_u64(&ferry, "max_files") * config_u64(&ferry, "parts_per_file") * config_u64(&ferry, "part_size");
    let budget = RSS_BASE + in_flight;
    let (peak_hwm, peak_anon) = rss.peaks();
    if peak_hwm == 0 || peak_anon == 0 {
        problems.push("the engine's memory could not be read (/proc/PID/status)".into());
    } else if peak_anon > budget {
        problems.push(format!(
            "`ferry run` held {:.1} MiB (RssAnon), over its budget of {:.0} MiB (64 MiB + {:.0} MiB of parts in flight)",
            mib(peak_anon),
            mib(budget),
            mib(in_flight)
        ));
    }
    let (request_retries, job_retries) = checks::retries_in_logs(ferry.data_dir());
    let kinds = |v: &mut dyn Iterator<Item = (String, u64)>| v.map(|(k, n)| format!("{k}:{n}")).collect::<Vec<_>>().join(",");
    let summary = format!(
        "ferry-soak: {} seed={seed} files={file_count} bytes={:.1}MiB faults={} events={} bandwidth_limits={} secret_rotations=1 (auth failures retried: {}) kills={} xfyun_orphans_after_lost_answers={orphans} pds_unfinished_records={pds_unfinished} retries=requests:{request_retries},jobs:{job_retries},resumed:{} duration={} (chaos {} s, drain {} s) peak_rss={:.1}MiB (VmHWM; allocated {:.1}MiB of a {:.0}MiB budget)",
        if problems.is_empty() { "PASS" } else { "FAIL" },
        mib(bytes),
        kinds(&mut fired.by_kind.into_iter()),
        kinds(&mut stats.events.iter().map(|(k, n)| (k.to_string(), *n))),
        stats.bandwidth_windows.iter().map(|b| format!("{}KiB/s", b >> 10)).collect::<Vec<_>>().join(","),
        stats.auth_failures,
        stats.kills,
        stats.resumed,
        human(began.elapsed()),
        chaos_len.as_secs(),
        drain_began.elapsed().as_secs(),
        mib(peak_hwm),
        mib(peak_anon),
        mib(budget),
    );
    // The keyring is the user's when run by hand: leave no entries behind.
    for account in ACCOUNTS {
        let _ = ferry.run(&["account", "remove", account], "");
    }
    if !stats.failures.is_empty() {
        println!("ferry-soak: failures seen on the way (each resumed):");
        for (error, n) in &stats.failures {
            println!("  {n}× {error}");
        }
    }
    if problems.is_empty() {
        Ok(summary)
    } else {
        Err((Some(summary), problems))
    }
}

#[derive(Default)]
struct Stats {
    kills: u64,
    events: BTreeMap<&'static str, u64>,
    bandwidth_windows: Vec<u64>,
    auth_failures: usize,
    resumed: u64,
    /// Distinct errors of failed jobs (file names taken out), with how many jobs had each.
    failures: BTreeMap<String, u64>,
    seen_failed: std::collections::HashSet<(i64, String)>,
}

impl Stats {
    fn note(&mut self, jobs: &[serde_json::Value]) {
        for j in jobs.iter().filter(|j| j["state"] == "failed") {
            let error = j["error"].as_str().unwrap_or("?").to_owned();
            let key = (j["id"].as_i64().unwrap_or_default(), error.clone());
            if self.seen_failed.insert(key) {
                let name = j["name"].as_str().unwrap_or("\u{0}");
                *self.failures.entry(error.replace(name, "FILE")).or_default() += 1;
            }
        }
    }
}

/// Queues wave `wave` of every account's tree, starting with account number `first`, so
/// each wave's order differs and every account's jobs meet the chaos.
fn enqueue_wave(ferry: &Ferry, work: &std::path::Path, wave: usize, first: usize) -> Result<(), String> {
    for i in 0..ACCOUNTS.len() {
        let account = ACCOUNTS[(first + i) % ACCOUNTS.len()];
        let dir = work.join("src").join(account).join(format!("w{wave}"));
        if !dir.exists() {
            continue;
        }
        let dir = dir.display().to_string();
        let mut args = vec!["upload", dir.as_str(), "--account", account];
        if account != "xfy" {
            args.extend(["--to", "soak"]);
        }
        ferry.run(&args, "")?;
    }
    Ok(())
}

fn resume(ferry: &Ferry, ids: &[String], stats: &mut Stats, problems: &mut Vec<String>) {
    if ids.is_empty() {
        return;
    }
    let mut args = vec!["resume"];
    args.extend(ids.iter().map(String::as_str));
    // A job may have been resumed by the engine meanwhile: that refusal is not a finding.
    match ferry.run(&args, "") {
        Ok(_) => stats.resumed += ids.len() as u64,
        Err(e) if e.contains("exited Some(1)") => stats.resumed += ids.len() as u64,
        Err(e) => problems.push(e),
    }
}

fn states_line(jobs: &[serde_json::Value]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for j in jobs {
        *by.entry(j["state"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
    }
    by.iter().map(|(s, n)| format!("{s}:{n}")).collect::<Vec<_>>().join(" ")
}

fn config_u64(ferry: &Ferry, key: &str) -> u64 {
    ferry.run(&["config", "get", key], "").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

fn human(d: Duration) -> String {
    format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
}
