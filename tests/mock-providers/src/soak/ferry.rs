//! Driving the real `ferry` binary: commands (their output kept in a transcript, scanned for
//! leaks at the end), the `ferry run` engine that the soak kills and restarts, and the
//! sampler of its peak RSS.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The stall and answer periods the engine is given (`FERRY_STALL_SECS`, `FERRY_ANSWER_SECS`):
/// shorter than a minute so a silent server costs seconds, longer than any delay fault but one.
const PERIOD_SECS: &str = "8";

pub struct Ferry {
    bin: PathBuf,
    data: PathBuf,
    work: PathBuf,
    transcript: Mutex<File>,
    engines_started: AtomicU32,
}

impl Ferry {
    pub fn new(bin: PathBuf, work: &Path) -> std::io::Result<Ferry> {
        let transcript = OpenOptions::new().create(true).append(true).open(work.join("transcript.txt"))?;
        Ok(Ferry { bin, data: work.join("data"), work: work.to_path_buf(), transcript: Mutex::new(transcript), engines_started: AtomicU32::new(0) })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).env("FERRY_DATA_DIR", &self.data).env("FERRY_LOG", "info");
        c
    }

    /// Runs `ferry ARGS` with `stdin`; Ok(stdout) when it exits 0.
    pub fn run(&self, args: &[&str], stdin: &str) -> Result<String, String> {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let _ = child.stdin.take().expect("piped").write_all(stdin.as_bytes());
        let out = child.wait_with_output().map_err(|e| format!("ferry {}: {e}", args.join(" ")))?;
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        if let Ok(mut t) = self.transcript.lock() {
            let _ = writeln!(t, "$ ferry {}\n{stdout}{stderr}", args.join(" "));
        }
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!("`ferry {}` exited {:?}: {}{}", args.join(" "), out.status.code(), stdout.trim(), stderr.trim()))
        }
    }

    /// `ferry queue --json`, one object per job.
    pub fn jobs(&self) -> Result<Vec<serde_json::Value>, String> {
        self.run(&["queue", "--json"], "")?
            .lines()
            .map(|l| serde_json::from_str(l).map_err(|e| format!("`ferry queue --json` printed {l:?}: {e}")))
            .collect()
    }

    /// Starts `ferry run`; its output goes to `engine-N.out` in the work dir (scanned later).
    pub fn spawn_engine(&self) -> Result<Engine, String> {
        let n = self.engines_started.fetch_add(1, Ordering::Relaxed);
        let out = File::create(self.work.join(format!("engine-{n}.out"))).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .command(&["run"])
            .env("FERRY_STALL_SECS", PERIOD_SECS)
            .env("FERRY_ANSWER_SECS", PERIOD_SECS)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start `ferry run`: {e}"))?;
        Ok(Engine(child))
    }

    /// Every file the soak must find no secret in: the data dir (database, WAL, logs), the
    /// transcript of every command and the engines' output.
    pub fn files_to_scan(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = super::tree::walk(&self.data).into_iter().map(|(_, p)| p).collect();
        out.extend(super::tree::walk(&self.work).into_iter().filter(|(rel, _)| !rel.contains('/')).map(|(_, p)| p));
        out
    }
}

/// A running `ferry run`; killed (SIGKILL) when dropped.
pub struct Engine(Child);

impl Engine {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: no chance to finish a write or say goodbye.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Still running? (An engine that exits on its own is a finding.)
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Samples the current engine's memory every 100 ms: `VmHWM` (its peak resident set, code
/// and libraries included) and `RssAnon` (what it allocated: heap, stacks, parts in flight).
/// A debug build's code alone is ~60 MiB resident, so the budget is checked on `RssAnon`.
#[derive(Clone, Default)]
pub struct RssSampler {
    pid: Arc<AtomicU32>,
    peak_hwm_kib: Arc<AtomicU64>,
    peak_anon_kib: Arc<AtomicU64>,
}

impl RssSampler {
    pub fn start() -> RssSampler {
        let s = RssSampler::default();
        let me = s.clone();
        std::thread::spawn(move || loop {
            me.sample(me.pid.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        });
        s
    }

    fn sample(&self, pid: u32) {
        if pid == 0 {
            return;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return };
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        if let Some(kib) = field("VmHWM:") {
            self.peak_hwm_kib.fetch_max(kib, Ordering::Relaxed);
        }
        if let Some(kib) = field("RssAnon:") {
            self.peak_anon_kib.fetch_max(kib, Ordering::Relaxed);
        }
    }

    pub fn watch(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// Takes a last sample of the engine about to be killed, then stops watching it.
    pub fn last_look(&self) {
        self.sample(self.pid.swap(0, Ordering::Relaxed));
    }

    /// (peak VmHWM, peak RssAnon) in bytes, over every engine of the run.
    pub fn peaks(&self) -> (u64, u64) {
        (self.peak_hwm_kib.load(Ordering::Relaxed) * 1024, self.peak_anon_kib.load(Ordering::Relaxed) * 1024)
    }
}
