//! Engine settings, stored in SQLite so the window, `ferry run` and `ferry config` share
//! them. Read again while the engine runs: a new bandwidth limit applies at once.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::queue::Queue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct EngineSettings {
    /// Files uploading at once.
    pub max_files: u32,
    /// Parts of one file in flight at once (capped by each provider's limit).
    pub parts_per_file: u32,
    /// Upload bandwidth limit for all transfers, bytes per second; 0 = unlimited.
    pub bandwidth: u64,
    /// Preferred part size, where the provider lets the client choose.
    pub part_size: u64,
    /// Tries per request before a temporary failure counts against the job.
    pub retry_attempts: u32,
    /// First retry delay, doubled on each retry (with jitter), ms.
    pub retry_base_ms: u64,
    /// Times a job is retried after its requests gave up, before it fails for good.
    pub job_attempts: u32,
    /// Quiet period of a new watched folder when none is given, seconds.
    pub quiet_secs: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_files: 3,
            parts_per_file: 4,
            bandwidth: 0,
            part_size: 8 << 20,
            retry_attempts: 6,
            retry_base_ms: 500,
            job_attempts: 3,
            quiet_secs: crate::watch::DEFAULT_QUIET_SECS,
        }
    }
}

/// (key, lowest allowed, highest allowed)
const KEYS: [(&str, u64, u64); 8] = [
    ("max_files", 1, 64),
    ("parts_per_file", 1, 64),
    ("bandwidth", 0, u64::MAX),
    ("part_size", 1, 5 << 30),
    ("retry_attempts", 1, 100),
    ("retry_base_ms", 1, 600_000),
    ("job_attempts", 1, 100),
    ("quiet_secs", 1, 3600),
];

impl EngineSettings {
    pub fn keys() -> impl Iterator<Item = &'static str> {
        KEYS.iter().map(|k| k.0)
    }

    pub fn load(queue: &Queue) -> Result<EngineSettings> {
        let mut s = EngineSettings::default();
        for (key, _, _) in KEYS {
            if let Some(v) = queue.setting(key)? {
                if let Ok(n) = v.parse::<u64>() {
                    s.put(key, n);
                }
            }
        }
        Ok(s)
    }

    fn put(&mut self, key: &str, n: u64) {
        let small = n.min(u32::MAX as u64) as u32;
        match key {
            "max_files" => self.max_files = small,
            "parts_per_file" => self.parts_per_file = small,
            "bandwidth" => self.bandwidth = n,
            "part_size" => self.part_size = n,
            "retry_attempts" => self.retry_attempts = small,
            "retry_base_ms" => self.retry_base_ms = n,
            "job_attempts" => self.job_attempts = small,
            "quiet_secs" => self.quiet_secs = small,
            _ => {}
        }
    }

    pub fn get(&self, key: &str) -> Option<u64> {
        Some(match key {
            "max_files" => self.max_files as u64,
            "parts_per_file" => self.parts_per_file as u64,
            "bandwidth" => self.bandwidth,
            "part_size" => self.part_size,
            "retry_attempts" => self.retry_attempts as u64,
            "retry_base_ms" => self.retry_base_ms,
            "job_attempts" => self.job_attempts as u64,
            "quiet_secs" => self.quiet_secs as u64,
            _ => return None,
        })
    }

    /// Validates and stores one setting.
    pub fn set(queue: &Queue, key: &str, value: &str) -> Result<()> {
        let (_, lo, hi) = KEYS.iter().find(|k| k.0 == key).copied().ok_or_else(|| {
            Error::invalid(key, format!("unknown setting (known: {})", Self::keys().collect::<Vec<_>>().join(", ")))
        })?;
        let n: u64 = value.trim().parse().map_err(|_| Error::invalid(key, format!("\"{value}\" is not a whole number")))?;
        if n < lo || n > hi {
            return Err(Error::invalid(key, format!("{n} is outside {lo}..={hi}")));
        }
        queue.set_setting(key, &n.to_string())
    }

    pub fn save(&self, queue: &Queue) -> Result<()> {
        for key in Self::keys() {
            Self::set(queue, key, &self.get(key).unwrap_or_default().to_string())?;
        }
        Ok(())
    }
}
