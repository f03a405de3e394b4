//! Running the real `ferry` binary against a throwaway data dir.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_ferry");

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).env("FERRY_DATA_DIR", self.data_dir()).env("FERRY_LOG", "info");
        c
    }

    /// Runs `ferry ARGS` with `stdin` piped in.
    pub fn run_with(&self, args: &[&str], stdin: &str, tweak: impl FnOnce(&mut Command)) -> Run {
        let mut c = self.command(args);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        tweak(&mut c);
        let mut child = c.spawn().expect("spawn ferry");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        Run(child.wait_with_output().unwrap())
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with(args, stdin, |_| {})
    }

    /// Every file in the data dir whose name starts with `ferry.db` (db, -wal, -shm).
    pub fn sqlite_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        files_with_prefix(&self.data_dir(), "ferry.db")
    }

    /// Every log file's content.
    pub fn logs(&self) -> String {
        files_with_prefix(&self.data_dir().join("logs"), "ferry.log")
            .into_iter()
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }
}

fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// A background `ferry` process that never outlives its test.
pub struct Background(pub std::process::Child);

impl std::ops::Deref for Background {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Background {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code(), 0, "ferry failed:\nstdout: {}\nstderr: {}", self.stdout(), self.stderr());
        self
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A value unique to this test run, so keyring entries of different runs never collide.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

// ---- uploads --------------------------------------------------------------------------

use ferry_mock_providers::{XfyunConfig, XfyunMock};
use sha1::{Digest, Sha1};

/// Writes `size` pseudo-random bytes (reproducible from `seed`); returns their SHA-1.
pub fn write_random(path: &Path, size: u64, seed: u64) -> String {
    use std::io::BufWriter;
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut h = Sha1::new();
    let mut x = seed | 1;
    let mut left = size;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        for chunk in buf[..n].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        h.update(&buf[..n]);
        w.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    w.flush().unwrap();
    hex(&h.finalize())
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sha1_of(path: &Path) -> String {
    let mut h = Sha1::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    hex(&h.finalize())
}

/// A strict iFlytek mock on loopback, with the runtime that serves it.
pub struct Xfyun {
    pub mock: XfyunMock,
    /// Serves the mock; dropped with it.
    _rt: tokio::runtime::Runtime,
}

impl Xfyun {
    pub fn start(cfg: XfyunConfig) -> Xfyun {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mock = rt.block_on(XfyunMock::start(cfg));
        Xfyun { mock, _rt: rt }
    }

    /// The stored object's bytes' SHA-1 for a result URL.
    pub fn sha1_of(&self, url: &str) -> String {
        let path = self.mock.object_path(url).unwrap_or_else(|| panic!("the mock holds no object {url}"));
        super::support::sha1_of(&path)
    }
}

impl Sandbox {
    pub fn add_local(&self, name: &str, root: &Path) {
        self.run(&["account", "add", name, "--provider", "local", "--set", &format!("root={}", root.display())], "").ok();
    }

    /// An xfyun account pointing at `mock`, with extra `--set`s.
    pub fn add_xfyun(&self, name: &str, mock: &XfyunMock, sets: &[&str]) {
        self.add_xfyun_at(name, mock, &mock.base_url(), sets);
    }

    /// An xfyun account for `mock` reached at `base` (a front such as a TLS terminator).
    pub fn add_xfyun_at(&self, name: &str, mock: &XfyunMock, base: &str, sets: &[&str]) {
        let cfg = mock.config();
        let app_id = format!("app_id={}", cfg.app_id);
        let base = base.to_owned();
        let mut args = vec!["account", "add", name, "--provider", "xfyun", "--endpoint", &base, "--set", &app_id];
        for s in sets {
            args.push("--set");
            args.push(s);
        }
        self.run(&args, &format!("api_key={}\napi_secret={}\n", cfg.api_key, cfg.api_secret)).ok();
    }

    pub fn config(&self, key: &str, value: &str) {
        self.run(&["config", "set", key, value], "").ok();
    }

    /// `ferry upload PATHS --account A` → the job ids.
    pub fn upload(&self, paths: &[&Path], account: &str) -> Vec<i64> {
        let mut args: Vec<String> = vec!["upload".into()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        args.extend(["--account".into(), account.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args, "").ok().stdout().lines().map(|l| l.trim().parse().unwrap()).collect()
    }

    pub fn run_until_idle(&self) -> Run {
        self.run(&["run", "--until-idle"], "")
    }

    /// `ferry queue --json`, by job id.
    pub fn jobs(&self) -> std::collections::BTreeMap<i64, serde_json::Value> {
        self.run(&["queue", "--json"], "")
            .ok()
            .stdout()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["id"].as_i64().unwrap(), v)
            })
            .collect()
    }

    pub fn job(&self, id: i64) -> serde_json::Value {
        self.jobs().remove(&id).unwrap_or_else(|| panic!("no job {id}"))
    }

    /// Starts `ferry run` in the background; killed when dropped, even if the test panics.
    pub fn spawn_run(&self, args: &[&str]) -> Background {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        Background(self.command(&all).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap())
    }

    /// Waits until `pred` holds for job `id` (polling `ferry queue`), or panics after `secs`.
    pub fn wait_job(&self, id: i64, secs: u64, what: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let j = self.job(id);
            if pred(&j) {
                return j;
            }
            assert!(std::time::Instant::now() < end, "timed out waiting for job {id} to {what}: {j}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
