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
