//! The transfer engine: a scheduler that runs up to `max_files` jobs at once, one worker
//! per job, each sending up to `parts_per_file` parts at once within its provider's limits;
//! one pacer per account; one global bandwidth limit.

mod pacer;
pub mod progress;
mod reader;
mod settings;
#[cfg(test)]
mod tests;
mod worker;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use pacer::{Pacer, RetryPolicy};
pub use progress::{JobProgress, NoProgress, PartLive, PartProgress, ProgressSink};
pub use settings::EngineSettings;
pub use worker::{plan_parts, Outcome};

use crate::accounts::{Account, Accounts};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::{self, Bandwidth, Provider};
use crate::queue::{JobState, Queue};
use crate::Ferry;

/// A provider and its account's pacer, shared by every job of that account.
pub(crate) struct Handle {
    pub provider: Arc<dyn Provider>,
    pub pacer: Arc<Pacer>,
}

/// What workers share.
pub(crate) struct Shared {
    pub queue: Queue,
    pub accounts: Accounts,
    pub http: reqwest::Client,
    pub bandwidth: Arc<Bandwidth>,
    pub progress: Arc<progress::Progress>,
    settings: RwLock<EngineSettings>,
    /// account id → (the account as it was when built, its handle)
    handles: Mutex<HashMap<i64, (String, Arc<Handle>)>>,
}

impl Shared {
    pub fn settings(&self) -> EngineSettings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The provider for an account, built once and rebuilt when the account changes.
    pub fn handle(&self, account: &Account) -> Result<Arc<Handle>> {
        let fingerprint = serde_json::to_string(account).unwrap_or_default();
        let mut handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((fp, h)) = handles.get(&account.id) {
            if *fp == fingerprint {
                return Ok(h.clone());
            }
        }
        let ctx = providers::Context { http: self.http.clone(), accounts: self.accounts.clone(), account: account.clone() };
        let provider = providers::build(ctx)?;
        let s = self.settings();
        let policy = RetryPolicy { attempts: s.retry_attempts, base: Duration::from_millis(s.retry_base_ms), ..RetryPolicy::default() };
        let pacer = Arc::new(Pacer::new(provider.limits().requests_per_sec, policy));
        let handle = Arc::new(Handle { provider, pacer });
        handles.insert(account.id, (fingerprint, handle.clone()));
        Ok(handle)
    }
}

/// The one engine per data dir: an exclusive `flock` on `engine.lock`, released on drop
/// (and by the OS when the process dies).
pub struct EngineLock {
    _file: File,
}

impl EngineLock {
    /// The lock, or `None` while another process (the window or `ferry run`) holds it.
    pub fn try_acquire(data_dir: &std::path::Path) -> Result<Option<EngineLock>> {
        Self::try_acquire_at(&data_dir.join("engine.lock"))
    }

    fn try_acquire_at(path: &std::path::Path) -> Result<Option<EngineLock>> {
        let file = File::create(path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(file.try_lock().is_ok().then_some(EngineLock { _file: file }))
    }
}

/// What one `run` did, for `ferry run --until-idle`'s exit code.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    pub touched: Vec<i64>,
    pub failed: Vec<i64>,
}

pub struct Engine {
    sh: Arc<Shared>,
    lock_path: std::path::PathBuf,
    running: Mutex<HashMap<i64, CancellationToken>>,
    wake: Notify,
    stop: CancellationToken,
}

/// How often the scheduler looks at the queue for changes made elsewhere (pause, cancel,
/// new jobs from another process).
const POLL: Duration = Duration::from_millis(250);

impl Engine {
    pub fn new(ferry: &Ferry, sink: Arc<dyn ProgressSink>) -> Result<Arc<Engine>> {
        let settings = EngineSettings::load(&ferry.queue)?;
        let sh = Shared {
            queue: ferry.queue.clone(),
            accounts: ferry.accounts.clone(),
            http: providers::http::client(),
            bandwidth: Arc::new(Bandwidth::new(settings.bandwidth)),
            progress: progress::Progress::new(sink),
            settings: RwLock::new(settings),
            handles: Mutex::new(HashMap::new()),
        };
        Ok(Arc::new(Engine {
            sh: Arc::new(sh),
            lock_path: ferry.data_dir().join("engine.lock"),
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            stop: CancellationToken::new(),
        }))
    }

    /// New work was queued (or the settings changed): look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops every worker (their parts in flight go back to pending) and ends `run`.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Stops the worker of a job at once (its state was changed by the caller).
    pub fn interrupt(&self, id: i64) {
        if let Some(t) = self.running.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            t.cancel();
        }
    }

    pub fn settings(&self) -> EngineSettings {
        self.sh.settings()
    }

    /// Re-reads the settings from the store; a new bandwidth limit applies at once.
    pub fn reload_settings(&self) -> Result<()> {
        let s = EngineSettings::load(&self.sh.queue)?;
        self.sh.bandwidth.set(s.bandwidth);
        *self.sh.settings.write().unwrap_or_else(|p| p.into_inner()) = s;
        Ok(())
    }

    /// Works the queue until shut down, or with `until_idle` until nothing is queued or
    /// running. Only one engine works a data dir at a time.
    pub async fn run(self: &Arc<Self>, until_idle: bool) -> Result<RunReport> {
        let Some(lock) = EngineLock::try_acquire_at(&self.lock_path)? else {
            return Err(Error::Unsupported(
                "another Ferry engine (the window or `ferry run`) is already working this queue".into(),
            ));
        };
        self.run_locked(lock, until_idle).await
    }

    /// `run` with the engine lock already held (the window holds it to serve watched folders
    /// only while it is the engine).
    pub async fn run_locked(self: &Arc<Self>, lock: EngineLock, until_idle: bool) -> Result<RunReport> {
        let (jobs, parts) = self.sh.queue.recover()?;
        if jobs + parts > 0 {
            tracing::info!(jobs, parts, "recovered work left by a stopped engine");
        }
        let ticker = tokio::spawn(self.sh.progress.clone().tick(self.stop.clone()));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(i64, Outcome)>();
        let mut report = RunReport::default();
        let mut touched = HashSet::new();

        loop {
            if self.stop.is_cancelled() {
                break;
            }
            self.reload_settings()?;
            self.watch_running()?;
            self.start_due(&done_tx, &mut touched, &mut report)?;
            let idle = self.running_count() == 0 && self.sh.queue.pending_count()? == 0;
            if until_idle && idle {
                break;
            }
            tokio::select! {
                _ = self.stop.cancelled() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some((id, outcome)) = done_rx.recv() => self.ended(id, outcome, &mut report),
            }
            while let Ok((id, outcome)) = done_rx.try_recv() {
                self.ended(id, outcome, &mut report);
            }
        }

        // Shutting down: stop the workers and wait for them to release their parts.
        let tokens: Vec<CancellationToken> = self.running.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        tokens.iter().for_each(CancellationToken::cancel);
        while self.running_count() > 0 {
            match done_rx.recv().await {
                Some((id, outcome)) => self.ended(id, outcome, &mut report),
                None => break,
            }
        }
        // Jobs interrupted by the shutdown go back to the queue for the next run.
        self.sh.queue.recover()?;
        self.stop.cancel();
        let _ = ticker.await;
        drop(lock);
        Ok(report)
    }

    fn running_count(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn ended(&self, id: i64, outcome: Outcome, report: &mut RunReport) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if outcome == Outcome::Failed && !report.failed.contains(&id) {
            report.failed.push(id);
        }
        if outcome == Outcome::Done {
            report.failed.retain(|f| *f != id);
        }
    }

    /// Stops workers whose job was paused or cancelled from outside.
    fn watch_running(&self) -> Result<()> {
        let running: Vec<(i64, CancellationToken)> =
            self.running.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect();
        for (id, token) in running {
            match self.sh.queue.state(id) {
                Ok(JobState::Paused | JobState::Cancelled) | Err(Error::UnknownJob(_)) => token.cancel(),
                _ => {}
            }
        }
        Ok(())
    }

    fn start_due(
        self: &Arc<Self>,
        done: &tokio::sync::mpsc::UnboundedSender<(i64, Outcome)>,
        touched: &mut HashSet<i64>,
        report: &mut RunReport,
    ) -> Result<()> {
        let max = self.sh.settings().max_files as usize;
        loop {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if running.len() >= max {
                return Ok(());
            }
            let Some(id) = self.sh.queue.next_due_except(&running.keys().copied().collect::<Vec<_>>())? else {
                return Ok(());
            };
            let token = self.stop.child_token();
            running.insert(id, token.clone());
            drop(running);
            if touched.insert(id) {
                report.touched.push(id);
            }
            let (sh, done) = (self.sh.clone(), done.clone());
            tokio::spawn(async move {
                let outcome = worker::run(sh, id, token).await;
                let _ = done.send((id, outcome));
            });
        }
    }
}

impl Ferry {
    /// Every job's engine-independent controls live on the queue; these add the provider
    /// side: cancel aborts the provider's session.
    pub async fn cancel_job(&self, id: i64) -> Result<()> {
        let job = self.queue.get(id)?;
        let session = self.queue.cancel(id)?;
        if let Some(session) = session {
            self.abort_session(id, job.account_id, &session).await;
        }
        Ok(())
    }

    /// Resumes a paused job or retries a failed one. A job that failed because its file
    /// changed starts over with the file as it is now (its old upload is abandoned at the
    /// provider), so a retry uploads the current version rather than failing again.
    pub async fn resume_job(&self, id: i64) -> Result<()> {
        let job = self.queue.get(id)?;
        let changed = job.state == JobState::Failed && self.queue.error_kind(id)? == Some(ErrorKind::Changed);
        let now = changed.then(|| std::fs::metadata(&job.source).ok()).flatten();
        let Some(meta) = now else {
            // Not a changed file, or one that is gone now: an ordinary retry says so clearly.
            return self.queue.resume(id);
        };
        if let Some(session) = self.queue.restart_as(id, crate::source::Identity::of(&meta))? {
            self.abort_session(id, job.account_id, &session).await;
        }
        Ok(())
    }

    /// Best effort: the provider forgets an upload that will never be finished.
    async fn abort_session(&self, id: i64, account_id: i64, session: &serde_json::Value) {
        let account = match self.accounts.get_by_id(account_id) {
            Ok(a) => a,
            Err(e) => return tracing::warn!(job = id, "could not abort at the provider: {e}"),
        };
        let ctx = providers::Context { http: providers::http::client(), accounts: self.accounts.clone(), account };
        match providers::build(ctx) {
            Ok(p) => {
                if let Err(e) = p.abort(session).await {
                    tracing::warn!(job = id, "the provider did not confirm the abort: {e}");
                }
            }
            Err(e) => tracing::warn!(job = id, "could not abort at the provider: {e}"),
        }
    }
}
