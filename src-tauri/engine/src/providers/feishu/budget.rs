//! The daily call budget (shared/providers/feishu.md §10: each upload API takes 10,000 calls
//! a day per app). Every call is counted before it is sent; when an API's budget is spent the
//! call is not made, and the error says when the budget resets, so the job waits in the
//! queue (visibly, with this reason) and carries on then instead of failing.
//!
//! Counts are kept in a small JSON file in the data dir, keyed by endpoint and app, so a
//! restarted engine or the next `ferry run` does not start the day from zero. Whether Feishu
//! counts per app or per tenant, and in which time zone its day ends, is unconfirmed: the
//! day here ends at midnight China Standard Time (UTC+8), where the platform is run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::providers::{ProviderError, ProviderResult};

pub const DEFAULT_DAILY_CALLS: u64 = 10_000;
const DAY_SECS: i64 = 86_400;
/// UTC+8.
const DAY_OFFSET_SECS: i64 = 8 * 3600;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Counts {
    /// Days since the epoch, in UTC+8.
    day: i64,
    /// API name → calls made that day.
    calls: BTreeMap<String, u64>,
}

pub struct Budget {
    limit: u64,
    /// Where the counts are kept; `None` = in memory only.
    file: Option<PathBuf>,
    counts: Arc<Mutex<Counts>>,
}

/// One counter per file in this process, shared by every provider instance of the same app.
fn shared(file: Option<&Path>) -> Arc<Mutex<Counts>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<Counts>>>>> = OnceLock::new();
    let Some(file) = file else { return Arc::default() };
    let mut open = OPEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    open.entry(file.to_path_buf())
        .or_insert_with(|| {
            let counts = std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
            Arc::new(Mutex::new(counts))
        })
        .clone()
}

pub fn day_of(unix_secs: i64) -> i64 {
    (unix_secs + DAY_OFFSET_SECS).div_euclid(DAY_SECS)
}

/// The unix time the day `day` ends (its budget resets).
fn end_of(day: i64) -> i64 {
    (day + 1) * DAY_SECS - DAY_OFFSET_SECS
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Budget {
    pub fn new(limit: u64, file: Option<PathBuf>) -> Budget {
        let counts = shared(file.as_deref());
        Budget { limit, file, counts }
    }

    /// Counts one call of `api`, or refuses it (temporary, with the wait until the reset).
    pub fn spend(&self, api: &str) -> ProviderResult<()> {
        self.spend_at(api, now_secs())
    }

    fn spend_at(&self, api: &str, now: i64) -> ProviderResult<()> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let today = day_of(now);
        if counts.day != today {
            *counts = Counts { day: today, calls: BTreeMap::new() };
        }
        let used = counts.calls.entry(api.to_owned()).or_default();
        if *used >= self.limit {
            let wait = Duration::from_secs((end_of(today) - now).max(1) as u64);
            let (h, m) = (wait.as_secs() / 3600, wait.as_secs() % 3600 / 60);
            return Err(ProviderError::temporary(
                ErrorKind::Quota,
                format!(
                    "the Feishu app's daily budget of {} {api} calls is used up; waiting until it resets at 00:00 China time (in {h} h {m} min)",
                    self.limit
                ),
            )
            .retry_after(Some(wait)));
        }
        *used += 1;
        self.save(&counts);
        Ok(())
    }

    /// Calls of `api` made today (for tests and logs).
    #[cfg(test)]
    fn used(&self, api: &str) -> u64 {
        self.counts.lock().unwrap().calls.get(api).copied().unwrap_or(0)
    }

    fn save(&self, counts: &Counts) {
        let Some(file) = &self.file else { return };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec(counts).expect("counts serialise"))?;
            std::fs::rename(&tmp, file)
        };
        if let Err(e) = write() {
            tracing::warn!("cannot save the Feishu call budget to {}: {e}", file.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01 12:00:00 UTC = 20:00 in UTC+8.
    const NOON_UTC: i64 = 1_714_564_800;

    #[test]
    fn the_day_ends_at_midnight_china_time() {
        let d = day_of(NOON_UTC);
        // 16:00 UTC is midnight in UTC+8.
        assert_eq!(day_of(NOON_UTC + 4 * 3600 - 1), d);
        assert_eq!(day_of(NOON_UTC + 4 * 3600), d + 1);
        assert_eq!(end_of(d), NOON_UTC + 4 * 3600);
    }

    #[test]
    fn spends_then_waits_until_the_reset_then_starts_again() {
        let b = Budget::new(3, None);
        for _ in 0..3 {
            b.spend_at("upload_part", NOON_UTC).unwrap();
        }
        // Other APIs have their own budget.
        b.spend_at("upload_finish", NOON_UTC).unwrap();
        let e = b.spend_at("upload_part", NOON_UTC).unwrap_err();
        assert_eq!((e.kind, e.temporary, e.restart), (ErrorKind::Quota, true, false));
        assert_eq!(e.retry_after, Some(Duration::from_secs(4 * 3600)));
        assert!(e.message.contains("daily budget of 3 upload_part calls") && e.message.contains("in 4 h 0 min"), "{}", e.message);
        // Still spent one second before midnight, fresh at midnight.
        let e = b.spend_at("upload_part", NOON_UTC + 4 * 3600 - 1).unwrap_err();
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        b.spend_at("upload_part", NOON_UTC + 4 * 3600).unwrap();
        assert_eq!(b.used("upload_part"), 1);
    }

    #[test]
    fn counts_survive_a_restart_and_are_shared_by_instances() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state").join("budget.json");
        let a = Budget::new(2, Some(file.clone()));
        a.spend_at("upload_part", NOON_UTC).unwrap();
        // Another instance in this process (an account rebuilt) sees the same count.
        let b = Budget::new(2, Some(file.clone()));
        b.spend_at("upload_part", NOON_UTC).unwrap();
        assert!(a.spend_at("upload_part", NOON_UTC).is_err());
        // A new process reads the file.
        let saved: Counts = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(saved, Counts { day: day_of(NOON_UTC), calls: [("upload_part".to_owned(), 2)].into() });
    }
}
