//! Progress, coalesced. Workers report every change here as it happens; a ticker sends
//! the latest state of each changed job to the sink at most 10 times a second. Bytes count
//! acknowledged plus in-flight bytes, so the bar moves smoothly and only goes back when a
//! part is retried (and then the part says `retrying`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::queue::JobState;

/// Where progress goes: the Tauri shell turns it into events, the CLI ignores it, tests
/// collect it.
pub trait ProgressSink: Send + Sync {
    fn emit(&self, updates: Vec<JobProgress>);

    /// The engine's persistent problem started (`Some`) or cleared (`None`): told once
    /// each way, not once per failure. `Engine::problem` answers late readers.
    fn health(&self, _problem: Option<super::EngineProblem>) {}
}

/// The sink that drops everything.
pub struct NoProgress;
impl ProgressSink for NoProgress {
    fn emit(&self, _: Vec<JobProgress>) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PartLive {
    Pending,
    InFlight,
    Retrying,
    Acked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PartProgress {
    pub number: u32,
    pub state: PartLive,
    /// Bytes of this part sent in the current attempt (its length once acked).
    pub sent: u64,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct JobProgress {
    pub job: i64,
    pub state: JobState,
    pub size: u64,
    /// Acknowledged plus in-flight bytes.
    pub bytes: u64,
    pub bytes_acked: u64,
    /// Smoothed upload rate, bytes per second.
    pub rate: f64,
    /// Parts whose state changed since the last update (in-flight ones every time).
    pub parts: Vec<PartProgress>,
}

struct InFlight {
    sent: Arc<AtomicU64>,
    length: u64,
    retrying: bool,
}

struct Live {
    state: JobState,
    size: u64,
    acked: u64,
    in_flight: BTreeMap<u32, InFlight>,
    changed: BTreeMap<u32, PartProgress>,
    dirty: bool,
    last_bytes: u64,
    last_at: Instant,
    rate: f64,
}

pub struct Progress {
    jobs: Mutex<HashMap<i64, Live>>,
    sink: Arc<dyn ProgressSink>,
}

/// At most this many updates a second.
pub const UPDATES_PER_SEC: u32 = 10;

impl Progress {
    pub fn new(sink: Arc<dyn ProgressSink>) -> Arc<Self> {
        Arc::new(Progress { jobs: Mutex::new(HashMap::new()), sink })
    }

    fn with(&self, job: i64, f: impl FnOnce(&mut Live)) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = jobs.get_mut(&job) {
            f(live);
            live.dirty = true;
        }
    }

    /// A job starts (or changes state); `acked` = bytes already acknowledged.
    pub fn job(&self, job: i64, state: JobState, size: u64, acked: u64) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let live = jobs.entry(job).or_insert_with(|| Live {
            state,
            size,
            acked,
            in_flight: BTreeMap::new(),
            changed: BTreeMap::new(),
            dirty: true,
            last_bytes: acked,
            last_at: Instant::now(),
            rate: 0.0,
        });
        live.state = state;
        live.size = size;
        live.acked = acked;
        live.dirty = true;
    }

    pub fn part_started(&self, job: i64, number: u32, length: u64, sent: Arc<AtomicU64>) {
        self.with(job, |l| {
            l.in_flight.insert(number, InFlight { sent, length, retrying: false });
        });
    }

    pub fn part_retrying(&self, job: i64, number: u32) {
        self.with(job, |l| {
            if let Some(p) = l.in_flight.get_mut(&number) {
                p.retrying = true;
            }
            l.changed.insert(number, PartProgress { number, state: PartLive::Retrying, sent: 0, length: 0 });
        });
    }

    pub fn part_acked(&self, job: i64, number: u32, length: u64) {
        self.with(job, |l| {
            l.in_flight.remove(&number);
            l.acked += length;
            l.changed.insert(number, PartProgress { number, state: PartLive::Acked, sent: length, length });
        });
    }

    /// Test-only: the bytes a job counts as acknowledged right now.
    #[cfg(test)]
    pub fn acked(&self, job: i64) -> Option<u64> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).get(&job).map(|l| l.acked)
    }

    /// The part went back to pending (pause, failure).
    pub fn part_released(&self, job: i64, number: u32) {
        self.with(job, |l| {
            if let Some(p) = l.in_flight.remove(&number) {
                l.changed.insert(number, PartProgress { number, state: PartLive::Pending, sent: 0, length: p.length });
            }
        });
    }

    /// The job left the worker: one last update, then it is forgotten.
    pub fn job_ended(&self, job: i64, state: JobState) {
        self.with(job, |l| {
            l.state = state;
            l.in_flight.clear();
        });
        let update = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
            jobs.remove(&job).map(|mut l| snapshot(job, &mut l, Instant::now()))
        };
        if let Some(u) = update {
            self.sink.emit(vec![u]);
        }
    }

    /// Collects the updates due now (changed or moving jobs).
    pub fn drain(&self) -> Vec<JobProgress> {
        let now = Instant::now();
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter_mut()
            .filter(|(_, l)| l.dirty || !l.in_flight.is_empty())
            .map(|(id, l)| snapshot(*id, l, now))
            .collect()
    }

    /// Sends coalesced updates until the engine stops.
    pub async fn tick(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let mut every = tokio::time::interval(Duration::from_millis(1000 / UPDATES_PER_SEC as u64));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let updates = self.drain();
            if !updates.is_empty() {
                self.sink.emit(updates);
            }
        }
    }
}

fn snapshot(job: i64, l: &mut Live, now: Instant) -> JobProgress {
    let mut parts: Vec<PartProgress> = std::mem::take(&mut l.changed).into_values().collect();
    let mut in_flight_bytes = 0;
    for (number, p) in &l.in_flight {
        let sent = p.sent.load(Ordering::Relaxed).min(p.length);
        in_flight_bytes += sent;
        parts.retain(|c| c.number != *number || c.state == PartLive::Retrying);
        if !p.retrying {
            parts.push(PartProgress { number: *number, state: PartLive::InFlight, sent, length: p.length });
        }
    }
    parts.sort_by_key(|p| p.number);
    let bytes = (l.acked + in_flight_bytes).min(l.size);
    let dt = now.duration_since(l.last_at).as_secs_f64();
    if dt >= 0.05 {
        let instant = bytes.saturating_sub(l.last_bytes) as f64 / dt;
        l.rate = if l.rate == 0.0 { instant } else { 0.7 * l.rate + 0.3 * instant };
        l.last_bytes = bytes;
        l.last_at = now;
    }
    l.dirty = false;
    JobProgress { job, state: l.state, size: l.size, bytes, bytes_acked: l.acked, rate: l.rate, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<JobProgress>>);
    impl ProgressSink for Collect {
        fn emit(&self, u: Vec<JobProgress>) {
            self.0.lock().unwrap().extend(u);
        }
    }

    #[test]
    fn counts_acked_plus_in_flight_and_reports_part_changes() {
        let sink = Arc::new(Collect::default());
        let p = Progress::new(sink.clone());
        p.job(1, JobState::Uploading, 100, 20);
        let sent = Arc::new(AtomicU64::new(0));
        p.part_started(1, 2, 40, sent.clone());
        sent.store(15, Ordering::Relaxed);
        let u = p.drain();
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].bytes, u[0].bytes_acked), (35, 20));
        assert_eq!(u[0].parts, vec![PartProgress { number: 2, state: PartLive::InFlight, sent: 15, length: 40 }]);
        p.part_acked(1, 2, 40);
        let u = p.drain();
        assert_eq!(u[0].bytes, 60);
        assert_eq!(u[0].parts[0].state, PartLive::Acked);
        assert!(p.drain().is_empty(), "nothing changed, nothing sent");
        p.job_ended(1, JobState::Done);
        assert_eq!(sink.0.lock().unwrap().last().unwrap().state, JobState::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_ten_updates_a_second() {
        let sink = Arc::new(Collect::default());
        let p = Progress::new(sink.clone());
        p.job(1, JobState::Uploading, 1 << 30, 0);
        let sent = Arc::new(AtomicU64::new(0));
        p.part_started(1, 1, 1 << 30, sent.clone());
        let stop = tokio_util::sync::CancellationToken::new();
        let t = tokio::spawn(p.clone().tick(stop.clone()));
        for i in 0..1000u64 {
            sent.store(i * 1000, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await; // 1000 changes in 1 s
        }
        stop.cancel();
        t.await.unwrap();
        let n = sink.0.lock().unwrap().len();
        assert!((9..=11).contains(&n), "{n} updates in one second");
        let bytes: Vec<u64> = sink.0.lock().unwrap().iter().map(|u| u.bytes).collect();
        assert!(bytes.windows(2).all(|w| w[0] <= w[1]), "never backwards: {bytes:?}");
    }
}
