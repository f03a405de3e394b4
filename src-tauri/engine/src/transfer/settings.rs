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

/// Most bytes of parts in flight at once, all files together (each is held in memory
/// while it is sent).
pub const MEMORY_BUDGET: u64 = 1 << 30;

/// The lowest bandwidth limit (bytes/s) other than 0 (none).
pub const MIN_BANDWIDTH: u64 = 16 * 1024;

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
        let n = Self::parse(key, value)?;
        let mut next = Self::load(queue)?;
        next.put(key, n);
        next.check_memory(key)?;
        queue.set_setting(key, &n.to_string())
    }

    /// Validates every setting, then stores them all.
    pub fn save(&self, queue: &Queue) -> Result<()> {
        for key in Self::keys() {
            Self::parse(key, &self.get(key).unwrap_or_default().to_string())?;
        }
        self.check_memory("part_size")?;
        for key in Self::keys() {
            queue.set_setting(key, &self.get(key).unwrap_or_default().to_string())?;
        }
        Ok(())
    }

    fn parse(key: &str, value: &str) -> Result<u64> {
        let (_, lo, hi) = KEYS.iter().find(|k| k.0 == key).copied().ok_or_else(|| {
            Error::invalid(key, format!("unknown setting (known: {})", Self::keys().collect::<Vec<_>>().join(", ")))
        })?;
        let n: u64 = value.trim().parse().map_err(|_| Error::invalid(key, format!("\"{value}\" is not a whole number")))?;
        if n < lo || n > hi {
            return Err(Error::invalid(key, format!("{n} is outside {lo}..={hi}")));
        }
        if key == "bandwidth" && n != 0 && n < MIN_BANDWIDTH {
            return Err(Error::invalid(key, format!("{n} bytes/s is too low to upload anything: use 0 (no limit) or at least {MIN_BANDWIDTH} (16 KiB/s)")));
        }
        Ok(n)
    }

    /// Bytes of parts that may be in memory at once: every file's parts in flight.
    pub fn parts_in_flight_bytes(&self) -> u64 {
        (self.max_files as u64).saturating_mul(self.parts_per_file as u64).saturating_mul(self.part_size)
    }

    /// Each part in flight is held in memory, so their product is bounded.
    fn check_memory(&self, key: &str) -> Result<()> {
        let bytes = self.parts_in_flight_bytes();
        if bytes > MEMORY_BUDGET {
            return Err(Error::invalid(
                key,
                format!(
                    "{} files × {} parts × {} MiB = {} MiB in flight, more than Ferry's budget of {} MiB: lower max_files, parts_per_file or part_size",
                    self.max_files,
                    self.parts_per_file,
                    self.part_size >> 20,
                    bytes >> 20,
                    MEMORY_BUDGET >> 20
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::creds::MemorySecrets;
    use crate::Ferry;

    #[test]
    fn parts_in_flight_stay_within_the_memory_budget() {
        let dir = tempfile::tempdir().unwrap();
        let ferry = Ferry::with_secrets(dir.path().join("data"), Arc::new(MemorySecrets::default())).unwrap();
        let q = &ferry.queue;
        // 3 files × 4 parts × 64 MiB = 768 MiB: allowed.
        EngineSettings::set(q, "part_size", &(64u64 << 20).to_string()).unwrap();
        // 8 files × 4 parts × 64 MiB = 2 GiB: refused, naming the setting that would break it.
        let e = EngineSettings::set(q, "max_files", "8").unwrap_err();
        assert_eq!(e.field(), Some("max_files"), "{e}");
        assert!(e.to_string().contains("more than Ferry's budget of 1024 MiB"), "{e}");
        assert_eq!(EngineSettings::load(q).unwrap().max_files, 3, "nothing stored");
        // The window saves all at once: smaller parts make room for more files.
        let s = EngineSettings { max_files: 8, part_size: 16 << 20, ..EngineSettings::load(q).unwrap() };
        s.save(q).unwrap();
        assert_eq!(EngineSettings::load(q).unwrap().parts_in_flight_bytes(), 512 << 20);
        let huge = EngineSettings { part_size: 5 << 30, ..s };
        assert!(huge.save(q).is_err(), "5 GiB parts × 32 in flight");
        assert!(EngineSettings::set(q, "bandwidth", "1000").unwrap_err().to_string().contains("at least 16384"));
        EngineSettings::set(q, "bandwidth", "16384").unwrap();
        EngineSettings::set(q, "bandwidth", "0").unwrap();
    }
}
