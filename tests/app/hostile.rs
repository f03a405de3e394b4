//! Hostile or broken servers, and what must never leak (issue 14, acceptance 3 and 4), for
//! every provider against its strict mock: odd `Retry-After` values, token and URL lifetimes
//! of 0 and 10^12 s, a 100 MiB answer to an API call; then transport errors of every kind
//! with every log line on (trace), after which no account secret, issued token or URL signature may
//! be found in the logs, the database files, `ferry queue --json` or the command's output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_mock_providers::{
    dingtalk, feishu, pds, xfyun, DingtalkConfig, DingtalkMock, FaultAction, FaultRule, Faults, FeishuConfig, FeishuMock, PdsConfig, PdsMock,
    XfyunConfig, XfyunMock,
};
use serde_json::Value;

use super::support::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Dingtalk,
    Feishu,
    Pds,
    Xfyun,
}

const EVERY_PROVIDER: [Kind; 4] = [Kind::Dingtalk, Kind::Feishu, Kind::Pds, Kind::Xfyun];

enum Mock {
    Dingtalk(DingtalkMock),
    Feishu(FeishuMock),
    Pds(PdsMock),
    Xfyun(XfyunMock),
}

/// A strict provider mock on loopback, with the runtime that serves it.
struct Served {
    mock: Mock,
    _rt: tokio::runtime::Runtime,
}

/// Lifetimes the mock states for its tokens (as sent in JSON) and signed URLs (seconds),
/// whatever they really are (`None` = the documented default).
#[derive(Clone, Default)]
struct Stated {
    token: Option<Value>,
    url: Option<u64>,
    /// DingTalk: the first upload URL of every part on a port where nothing listens.
    dead_first_url: bool,
}

impl Served {
    fn start(kind: Kind, stated: Stated) -> Served {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mock = match kind {
            Kind::Dingtalk => Mock::Dingtalk(rt.block_on(DingtalkMock::start(DingtalkConfig {
                advertised_token_ttl: stated.token,
                url_ttl_secs: stated.url.unwrap_or(900),
                // The URLs really live the documented 15 minutes, whatever they say.
                url_real_ttl: Some(Duration::from_secs(900)),
                unreachable_first_url: stated.dead_first_url,
                ..DingtalkConfig::default()
            }))),
            Kind::Feishu => Mock::Feishu(rt.block_on(FeishuMock::start(FeishuConfig { advertised_token_ttl: stated.token, ..FeishuConfig::default() }))),
            Kind::Pds => Mock::Pds(rt.block_on(PdsMock::start(PdsConfig {
                // Tests share one keyring: a refresh token unique to this run.
                refresh_token: unique("rt"),
                advertised_token_ttl: stated.token,
                // A part URL signs its own `Expires`: the stated lifetime is the real one.
                upload_url_ttl: Duration::from_secs(stated.url.unwrap_or(900)),
                ..PdsConfig::default()
            }))),
            Kind::Xfyun => Mock::Xfyun(rt.block_on(XfyunMock::start(XfyunConfig::default()))),
        };
        Served { mock, _rt: rt }
    }

    fn faults(&self) -> &Faults {
        match &self.mock {
            Mock::Dingtalk(m) => m.faults(),
            Mock::Feishu(m) => m.faults(),
            Mock::Pds(m) => m.faults(),
            Mock::Xfyun(m) => m.faults(),
        }
    }

    fn fault(&self, path: &str, action: FaultAction, times: u64) {
        self.faults().push(FaultRule::on(path, action).times(times)).unwrap();
    }

    fn fired(&self) -> u64 {
        self.faults().snapshot().iter().map(|r| r.fired).sum()
    }

    /// Tokens and signatures the mock handed out (or, for iFlytek, checked).
    fn issued(&self) -> Vec<String> {
        match &self.mock {
            Mock::Dingtalk(m) => m.issued(),
            Mock::Feishu(m) => m.issued(),
            Mock::Pds(m) => m.issued(),
            Mock::Xfyun(m) => m.issued(),
        }
    }

    fn base_url(&self) -> String {
        match &self.mock {
            Mock::Dingtalk(m) => m.base_url(),
            Mock::Feishu(m) => m.base_url(),
            Mock::Pds(m) => m.base_url(),
            Mock::Xfyun(m) => m.base_url(),
        }
    }

    /// `(provider, --set fields, secrets as typed at account add)`.
    fn account(&self) -> (&'static str, Vec<String>, Vec<(&'static str, String)>) {
        match &self.mock {
            Mock::Dingtalk(m) => {
                let c = m.config();
                let sets = vec![format!("app_key={}", c.app_key), format!("union_id={}", c.union_id()), format!("space_id={}", c.space_id)];
                ("dingtalk", sets, vec![("app_secret", c.app_secret.clone())])
            }
            Mock::Feishu(m) => {
                let c = m.config();
                ("feishu", vec![format!("app_id={}", c.app_id), format!("parent_node={}", feishu::DEFAULT_FOLDER)], vec![("app_secret", c.app_secret.clone())])
            }
            Mock::Pds(m) => {
                let c = m.config();
                let sets = vec![format!("domain_id={}", c.domain_id), format!("drive_id={}", c.drive_id), format!("client_id={}", c.client_id)];
                ("pds", sets, vec![("client_secret", c.client_secret.clone()), ("refresh_token", c.refresh_token.clone())])
            }
            Mock::Xfyun(m) => {
                let c = m.config();
                ("xfyun", vec![format!("app_id={}", c.app_id)], vec![("api_key", c.api_key.clone()), ("api_secret", c.api_secret.clone())])
            }
        }
    }

    /// The account's secret values.
    fn secrets(&self) -> Vec<String> {
        self.account().2.into_iter().map(|(_, v)| v).collect()
    }

    /// `ferry account add NAME` for this mock, at `endpoint` (the mock's own by default).
    fn add_account(&self, s: &Sandbox, name: &str, endpoint: Option<&str>, log: &str) {
        let (provider, sets, secrets) = self.account();
        let base = endpoint.map_or_else(|| self.base_url(), str::to_owned);
        let mut args = vec!["account", "add", name, "--provider", provider, "--endpoint", &base];
        for kv in &sets {
            args.extend(["--set", kv]);
        }
        let stdin: String = secrets.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let log = log.to_owned();
        s.run_with(&args, &stdin, |c| {
            c.env("FERRY_LOG", log);
        })
        .ok();
    }

    /// The SHA-1 of the bytes the mock stored for a done job.
    fn stored_sha1(&self, job: &Value) -> String {
        let id = |k: &str| job["result"][k].as_str().unwrap_or_else(|| panic!("no result {k}: {job}")).to_owned();
        let path = match &self.mock {
            Mock::Dingtalk(m) => m.file_path(&id("id")),
            Mock::Feishu(m) => m.object_path(&id("id")),
            Mock::Pds(m) => m.file_path(&id("id")),
            Mock::Xfyun(m) => m.object_path(&id("url")),
        };
        sha1_of(&path.unwrap_or_else(|| panic!("the mock holds nothing for {job}")))
    }

    /// An API call every small file's upload makes (not the token's).
    fn api_path(&self) -> String {
        match &self.mock {
            Mock::Dingtalk(m) => format!("/v1.0/storage/spaces/{}/files/uploadInfos/query", m.config().space_id),
            Mock::Feishu(_) => feishu::FILES_UPLOAD_ALL.into(),
            Mock::Pds(_) => pds::CREATE_PATH.into(),
            Mock::Xfyun(_) => xfyun::ONESHOT_PATH.into(),
        }
    }

    /// Where the access token comes from, for providers that have one.
    fn token_path(&self) -> Option<&'static str> {
        match &self.mock {
            Mock::Dingtalk(_) => Some(dingtalk::TOKEN_PATH),
            Mock::Feishu(_) => Some(feishu::TOKEN_PATH),
            Mock::Pds(_) => Some(pds::TOKEN_PATH),
            Mock::Xfyun(_) => None,
        }
    }

    /// Where the bytes of a big file go (iFlytek takes files under 30 MB in one request).
    fn part_paths(&self) -> Vec<String> {
        match &self.mock {
            Mock::Dingtalk(_) => vec![dingtalk::PUT_PRIMARY_PATH.into(), dingtalk::PUT_FALLBACK_PATH.into()],
            Mock::Feishu(_) => vec![feishu::FILES_PART.into()],
            Mock::Pds(_) => vec![pds::DATA_PATH.into()],
            Mock::Xfyun(_) => vec![xfyun::ONESHOT_PATH.into()],
        }
    }
}

/// Writes one file per size into `dir`; returns (path, sha1).
fn files(dir: &Path, sizes: &[u64], seed: u64) -> Vec<(PathBuf, String)> {
    std::fs::create_dir_all(dir).unwrap();
    sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let p = dir.join(format!("take-{i}-{size}.bin"));
            let h = write_random(&p, size, seed + i as u64);
            (p, h)
        })
        .collect()
}

/// Uploads one file at a time, so the job order decides which meets a fault.
fn one_by_one(s: &Sandbox, files: &[(PathBuf, String)], account: &str) -> Vec<i64> {
    files.iter().flat_map(|(p, _)| s.upload(&[p.as_path()], account)).collect()
}

/// `ferry run --until-idle` with short stall and answer periods and a log level.
fn run_until_idle(s: &Sandbox, log: &str) -> Run {
    s.run_with(&["run", "--until-idle"], "", |c| {
        c.env("FERRY_STALL_SECS", "3").env("FERRY_ANSWER_SECS", "5").env("FERRY_LOG", log);
    })
}

#[track_caller]
fn assert_no_panic(s: &Sandbox, out: &str) {
    let logs = s.logs();
    assert!(!out.contains("panicked") && !logs.contains("panicked"), "a panic:\n{out}\n{logs}");
    assert!(!logs.contains("internal error"), "a panic caught by the engine:\n{logs}");
}

#[track_caller]
fn assert_done_byte_exact(served: &Served, job: &Value, sha1: &str) {
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(served.stored_sha1(job), sha1, "byte-exact at the server: {job}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `Retry-After: NaN`, `-1` (on a 429 and a 503) and `1e30`: the first two are ignored
/// (the usual back-off applies) and the job goes on; `1e30` is capped at a day, the job
/// waits in the queue visibly, and the next file completes meanwhile.
#[test]
fn odd_retry_after_values_never_panic_and_the_queue_goes_on() {
    for kind in EVERY_PROVIDER {
        let s = Sandbox::new();
        let served = Served::start(kind, Stated::default());
        served.add_account(&s, "acct", None, "info");
        for (k, v) in [("max_files", "1"), ("retry_attempts", "4"), ("retry_base_ms", "50")] {
            s.config(k, v);
        }
        let api = served.api_path();
        for (status, value) in [(429, "NaN"), (503, "-1"), (429, "1e30")] {
            served.fault(&api, FaultAction::RawRetryAfter { status, value: value.into() }, 1);
        }
        let f = files(&s.dir.path().join("in"), &[40 * 1024, 50 * 1024], 3);
        let ids = one_by_one(&s, &f, "acct");
        let log = s.dir.path().join("run.stderr");
        let mut engine = Background(
            s.command(&["run"]).env("FERRY_ANSWER_SECS", "5").stdout(std::process::Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap(),
        );
        let second = s.wait_job(ids[1], 120, "complete while the first waits", |j| j["state"] == "done" || j["state"] == "failed");
        assert_done_byte_exact(&served, &second, &f[1].1);
        let first = s.wait_job(ids[0], 30, "wait for the server", |j| j["error"].is_string());
        let (error, at) = (first["error"].as_str().unwrap(), first["next_run_at"].as_i64().unwrap());
        assert_eq!(first["state"], "queued", "{kind:?}: waits, not failed: {first}");
        assert!(error.contains(&f[0].0.display().to_string()), "{kind:?}: names the file: {error}");
        let wait_h = (at - now_ms()) as f64 / 3.6e6;
        assert!((23.0..=24.0).contains(&wait_h), "{kind:?}: 1e30 s is taken as a day, not forever: {wait_h} h: {first}");
        assert_eq!(served.fired(), 3, "{kind:?}: every odd value was sent");
        engine.kill().unwrap();
        engine.wait().unwrap();
        assert_no_panic(&s, &std::fs::read_to_string(&log).unwrap());
        println!("{kind:?}: NaN and -1 retried, 1e30 → waits {wait_h:.2} h with \"{error}\"");
    }
}

/// Tokens and signed URLs said to live 0 s or 10^12 s, tokens said to live -1, 1e30 or
/// "soon": nothing overflows, spins or makes the answer unreadable, and uploads (one in
/// parts) complete byte-exact.
#[test]
fn odd_stated_lifetimes_still_upload_byte_exact() {
    use serde_json::json;
    let cases = [(json!(0), Some(0)), (json!(1_000_000_000_000u64), Some(1_000_000_000_000)), (json!(-1), None), (json!(1e30), None), (json!("soon"), None)];
    for kind in [Kind::Dingtalk, Kind::Feishu, Kind::Pds] {
        for (token, url) in &cases {
            let secs = format!("token {token}, URL {url:?}");
            let s = Sandbox::new();
            let served = Served::start(kind, Stated { token: Some(token.clone()), url: *url, dead_first_url: false });
            served.add_account(&s, "acct", None, "info");
            s.config("part_size", &(128 * 1024).to_string());
            let f = files(&s.dir.path().join("in"), &[600 * 1024, 20 * 1024], 7);
            let ids = one_by_one(&s, &f, "acct");
            let run = run_until_idle(&s, "info");
            assert_eq!(run.code(), 0, "{kind:?} {secs}: {}", run.stderr());
            let jobs = s.jobs();
            for (id, (_, sha1)) in ids.iter().zip(&f) {
                assert_done_byte_exact(&served, &jobs[id], sha1);
            }
            assert_no_panic(&s, &run.stderr());
            println!("{kind:?}: lifetimes stated as {secs}: both files byte-exact");
        }
    }
}

/// A 100 MiB JSON answer to the token call and to an upload call: each fails its job with
/// a clear error (the answer is refused at 4 MiB, nothing is held whole), and the next file
/// completes byte-exact.
#[test]
fn a_100_mib_answer_fails_its_job_clearly_and_the_queue_goes_on() {
    const HUGE: u64 = 100 << 20;
    for kind in EVERY_PROVIDER {
        let s = Sandbox::new();
        let served = Served::start(kind, Stated::default());
        served.add_account(&s, "acct", None, "info");
        for (k, v) in [("max_files", "1"), ("retry_attempts", "1"), ("job_attempts", "1")] {
            s.config(k, v);
        }
        // Jobs run in order: the first fetches the token, the next makes the upload call.
        let mut hostile = vec![];
        if let Some(token) = served.token_path() {
            served.fault(token, FaultAction::HugeAnswer { bytes: HUGE }, 1);
            hostile.push(token.to_owned());
        }
        served.fault(&served.api_path(), FaultAction::HugeAnswer { bytes: HUGE }, 1);
        hostile.push(served.api_path());
        let sizes: Vec<u64> = (0..=hostile.len() as u64).map(|i| 30 * 1024 + i).collect();
        let f = files(&s.dir.path().join("in"), &sizes, 11);
        let ids = one_by_one(&s, &f, "acct");
        let run = run_until_idle(&s, "info");
        assert_no_panic(&s, &run.stderr());
        let jobs = s.jobs();
        for (i, path) in hostile.iter().enumerate() {
            let j = &jobs[&ids[i]];
            let error = j["error"].as_str().unwrap_or_default();
            assert_eq!(j["state"], "failed", "{kind:?} {path}: {j}");
            assert!(error.contains("the answer is larger than 4 MiB"), "{kind:?} {path}: the cause is named: {error}");
            assert!(error.contains(&f[i].0.display().to_string()), "{kind:?}: names the file: {error}");
            println!("{kind:?} {path}: \"{error}\"");
        }
        let last = ids.len() - 1;
        assert_done_byte_exact(&served, &jobs[&ids[last]], &f[last].1);
        assert_eq!(served.fired(), hostile.len() as u64, "{kind:?}");
    }
}

/// Transport errors of every kind (a body cut mid-way, an answer lost after the work was
/// done, 5xx, an endpoint where nothing listens, for DingTalk a signed upload URL too) with every log line on (trace), for every provider:
/// afterwards no account secret, no token the mock issued and no URL signature it handed
/// out is in the log files, the database (with its WAL), `ferry queue --json` or any output.
#[test]
fn no_secret_token_or_signature_leaks_through_transport_errors() {
    for kind in EVERY_PROVIDER {
        let s = Sandbox::new();
        let served = Served::start(kind, Stated { dead_first_url: true, ..Stated::default() });
        let mut output = String::new();
        served.add_account(&s, "good", None, "trace");
        // An endpoint where nothing listens: every request fails to connect.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        served.add_account(&s, "closed", Some(&closed), "trace");
        for (k, v) in [("part_size", "131072"), ("retry_attempts", "8"), ("retry_base_ms", "20"), ("job_attempts", "1")] {
            s.config(k, v);
        }
        let api = served.api_path();
        for part in served.part_paths() {
            served.fault(&part, FaultAction::DropMidBody { after_bytes: 4096 }, 2);
            served.fault(&part, FaultAction::HttpStatus { status: 503 }, 1);
            served.fault(&part, FaultAction::LoseAnswer, 1);
        }
        served.fault(&api, FaultAction::LoseAnswer, 1);
        served.fault(&api, FaultAction::HttpStatus { status: 502 }, 1);
        served.fault(&api, FaultAction::DropMidBody { after_bytes: 0 }, 1);
        // In parts for DingTalk and PDS (128 KiB parts) and Feishu (4 MiB blocks above 20 MiB).
        let big = match kind {
            Kind::Feishu => 21 << 20,
            _ => 700 * 1024,
        };
        let f = files(&s.dir.path().join("in"), &[big, 60 * 1024], 21);
        let mut ids = one_by_one(&s, &f, "good");
        let doomed = s.dir.path().join("in").join("to-nowhere.bin");
        write_random(&doomed, 50 * 1024, 5);
        ids.extend(s.upload(&[&doomed], "closed"));
        // A running engine, so its write-ahead log can be read before it is checkpointed away.
        let (out, err) = (s.dir.path().join("run.out"), s.dir.path().join("run.err"));
        let mut engine = Background(
            s.command(&["run"])
                .env("FERRY_STALL_SECS", "3")
                .env("FERRY_ANSWER_SECS", "5")
                .env("FERRY_LOG", "trace")
                .stdout(std::fs::File::create(&out).unwrap())
                .stderr(std::fs::File::create(&err).unwrap())
                .spawn()
                .unwrap(),
        );
        for id in &ids {
            s.wait_job(*id, 300, "finish or fail", |j| j["state"] == "done" || j["state"] == "failed");
        }
        let live = s.sqlite_files();
        assert!(live.iter().any(|(p, b)| p.to_string_lossy().ends_with("-wal") && !b.is_empty()), "{kind:?}: the WAL was read");
        // SIGTERM: the engine stops as when the user quits, and its log is flushed.
        assert!(std::process::Command::new("kill").args(["-TERM", &engine.id().to_string()]).status().unwrap().success());
        let status = engine.wait().unwrap();
        // Exit 1: a job (the one to nowhere) failed during the run.
        assert_eq!(status.code(), Some(1), "{kind:?}: ferry run stopped by itself, not by the signal");
        output.push_str(&std::fs::read_to_string(&out).unwrap());
        output.push_str(&std::fs::read_to_string(&err).unwrap());
        let queue = s.run(&["queue", "--json"], "").ok();
        output.push_str(&queue.stdout());
        output.push_str(&queue.stderr());

        let jobs = s.jobs();
        for (id, (_, sha1)) in ids.iter().zip(&f) {
            assert_done_byte_exact(&served, &jobs[id], sha1);
        }
        let nowhere = &jobs[&ids[2]];
        assert_eq!(nowhere["state"], "failed", "{nowhere}");
        let error = nowhere["error"].as_str().unwrap();
        assert!(error.contains("network error (could not connect"), "{kind:?}: {error}");
        let logs = s.logs();
        assert!(logs.contains("DEBUG"), "{kind:?}: debug logging was on");
        assert!(logs.contains("network error"), "{kind:?}: transport errors were met and logged");
        if kind == Kind::Dingtalk {
            assert!(logs.contains("(upload URL 1 of 3): network error (could not connect"), "the dead signed URL was tried: {logs}");
        }
        let fired = served.fired();
        assert!(fired >= 5, "{kind:?}: the faults were met ({fired})");

        let issued = served.issued();
        assert!(!issued.is_empty(), "{kind:?}: the mock issued tokens or signatures");
        let mut needles: Vec<(String, &str)> = issued.into_iter().map(|v| (v, "issued by the mock")).collect();
        needles.extend(served.secrets().into_iter().map(|v| (v, "account secret")));
        let mut places: Vec<(String, Vec<u8>)> = vec![("logs".into(), logs.into_bytes()), ("output".into(), output.into_bytes())];
        places.extend(live.into_iter().map(|(p, b)| (format!("{} (engine running)", p.display()), b)));
        places.extend(s.sqlite_files().into_iter().map(|(p, b)| (p.display().to_string(), b)));
        for (needle, what) in &needles {
            // Base64 signatures may show up percent-encoded, as in a URL's query.
            let encoded = needle.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
            for (place, bytes) in &places {
                for form in [needle, &encoded] {
                    assert!(!contains(bytes, form.as_bytes()), "{kind:?}: {what} {form:?} leaked into {place}");
                }
            }
        }
        assert_no_panic(&s, &String::from_utf8_lossy(&places[1].1));
        println!(
            "{kind:?}: {fired} faults met, {} secrets and issued values looked for in {} places ({} bytes): none found",
            needles.len(),
            places.len(),
            places.iter().map(|(_, b)| b.len()).sum::<usize>()
        );
    }
}
