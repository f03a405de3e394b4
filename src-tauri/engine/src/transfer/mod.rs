//! The transfer engine: a scheduler that runs up to `max_files` jobs at once, one worker
//! per job, each sending up to `parts_per_file` parts at once within its provider's limits;
//! one pacer per account; one global bandwidth limit.

mod health;
mod lock;
mod pacer;
pub mod progress;
mod reader;
mod settings;
#[cfg(test)]
mod tests;
mod worker;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use health::{is_storage_trouble, EngineProblem, ProblemKind};
pub(crate) use health::{Health, Source};
pub use lock::{EngineLock, LOCK_FILE};
pub use pacer::{Pacer, RetryPolicy};
pub use progress::{JobProgress, NoProgress, PartLive, PartProgress, ProgressSink};
pub use settings::EngineSettings;
pub use worker::{plan_parts, Outcome};

use crate::accounts::{Account, Accounts};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::{self, Bandwidth, Provider};
use crate::proxy::ProxySettings;
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
    proxy: ProxySettings,
    /// The proxy setting's stamp as last read from SQLite (each tick), and the client
    /// built for a stamp: providers are built with a client for the current one.
    proxy_stamp: RwLock<String>,
    http: Mutex<Option<(String, reqwest::Client)>>,
    pub bandwidth: Arc<Bandwidth>,
    pub progress: Arc<progress::Progress>,
    pub health: Health,
    settings: RwLock<EngineSettings>,
    /// account id → (the account as it was when built, its handle)
    handles: Mutex<HashMap<i64, (String, Arc<Handle>)>>,
    /// Test-only: holds or fails the workers' flushes, as a slow or failing disk would.
    #[cfg(test)]
    pub flushes: tokio::sync::watch::Sender<worker::Flushes>,
}

impl Shared {
    pub fn settings(&self) -> EngineSettings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The provider for an account, built once and rebuilt when the account changes.
    /// Building reads the account's secrets from the keyring (a D-Bus call that may wait
    /// for an unlock prompt): that happens on the blocking pool and outside every lock.
    pub async fn handle(&self, account: &Account) -> Result<Arc<Handle>> {
        let s = self.settings();
        let wanted = self.proxy_stamp.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(h) = self.cached(account.id, &Self::fingerprint(account, &s, &wanted)) {
            return Ok(h);
        }
        let (stamp, http) = self.client(&wanted).await?;
        let fingerprint = Self::fingerprint(account, &s, &stamp);
        let ctx = providers::Context { http, accounts: self.accounts.clone(), account: account.clone() };
        let provider = tokio::task::spawn_blocking(move || providers::build(ctx))
            .await
            .map_err(|e| Error::Unsupported(format!("building the provider failed: {e}")))??;
        let policy = RetryPolicy { attempts: s.retry_attempts, base: Duration::from_millis(s.retry_base_ms), ..RetryPolicy::default() };
        let pacer = Arc::new(Pacer::new(provider.limits().requests_per_sec, policy));
        let mut handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        // Another worker may have built it meanwhile: keep the first, so the account's
        // jobs share one pacer.
        if let Some((fp, h)) = handles.get(&account.id) {
            if *fp == fingerprint {
                return Ok(h.clone());
            }
        }
        let handle = Arc::new(Handle { provider, pacer });
        handles.insert(account.id, (fingerprint, handle.clone()));
        Ok(handle)
    }

    /// The HTTP client for the proxy setting `stamp` names: the one built already, or a
    /// new one (its credentials are read from the keyring on the blocking pool, outside
    /// every lock). Returns the stamp the client was really built for.
    async fn client(&self, stamp: &str) -> Result<(String, reqwest::Client)> {
        if let Some((built, c)) = self.http.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if built == stamp {
                return Ok((built.clone(), c.clone()));
            }
        }
        let proxy = self.proxy.clone();
        let (built, config) = tokio::task::spawn_blocking(move || proxy.config())
            .await
            .map_err(|e| Error::Unsupported(format!("reading the proxy setting failed: {e}")))??;
        let client = providers::http::client(&config)?;
        tracing::info!("HTTP client built for the proxy setting \"{}\"", config.proxy.as_setting());
        *self.http.lock().unwrap_or_else(|p| p.into_inner()) = Some((built.clone(), client.clone()));
        Ok((built, client))
    }

    /// What a built provider depends on: it is rebuilt when the account changes (a
    /// corrected secret bumps its revision), the retry settings do (the pacer holds them)
    /// or the proxy setting does (the client goes through it).
    fn fingerprint(account: &Account, s: &EngineSettings, proxy: &str) -> String {
        format!("{}#{}/{}#{proxy}", account.version(), s.retry_attempts, s.retry_base_ms)
    }

    fn cached(&self, account_id: i64, fingerprint: &str) -> Option<Arc<Handle>> {
        let handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        handles.get(&account_id).filter(|(fp, _)| fp == fingerprint).map(|(_, h)| h.clone())
    }

    /// Drops an account's built provider (its cached token was refused): the next job
    /// builds it again with the secrets as they are now.
    pub fn forget(&self, account_id: i64) {
        self.handles.lock().unwrap_or_else(|p| p.into_inner()).remove(&account_id);
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
    data_dir: PathBuf,
    running: Mutex<HashMap<i64, CancellationToken>>,
    wake: Notify,
    stop: CancellationToken,
}

/// How often the scheduler looks at the queue for changes made elsewhere (pause, cancel,
/// new jobs from another process).
const POLL: Duration = Duration::from_millis(250);

/// Waits between tries of something the database refused (busy, full, failing): doubling
/// from the first to the last.
pub(crate) const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

pub(crate) fn backoff(tries: u32) -> Duration {
    BACKOFF.0.saturating_mul(1 << tries.min(8)).min(BACKOFF.1)
}

impl Engine {
    pub fn new(ferry: &Ferry, sink: Arc<dyn ProgressSink>) -> Result<Arc<Engine>> {
        let settings = EngineSettings::load(&ferry.queue)?;
        let sh = Shared {
            queue: ferry.queue.clone(),
            accounts: ferry.accounts.clone(),
            proxy: ferry.proxy.clone(),
            proxy_stamp: RwLock::new(ferry.proxy.stamp()?),
            http: Mutex::new(None),
            bandwidth: Arc::new(Bandwidth::new(settings.bandwidth)),
            progress: progress::Progress::new(sink.clone()),
            health: Health::new(sink, ferry.store.path().to_path_buf()),
            settings: RwLock::new(settings),
            handles: Mutex::new(HashMap::new()),
            #[cfg(test)]
            flushes: tokio::sync::watch::Sender::new(worker::Flushes::Pass),
        };
        Ok(Arc::new(Engine {
            sh: Arc::new(sh),
            data_dir: ferry.data_dir().to_path_buf(),
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

    /// The problem the engine is working around now (the database cannot be written…),
    /// for a window that starts listening late; the sink hears each change as it happens.
    pub fn problem(&self) -> Option<EngineProblem> {
        self.sh.health.current()
    }

    pub fn settings(&self) -> EngineSettings {
        self.sh.settings()
    }

    /// Re-reads the settings from the store; a new bandwidth limit applies at once, and so
    /// does a new proxy: uploads in progress stop (their acknowledged parts stay) and start
    /// again at once with providers built for it, so no request goes the old way after this.
    pub fn reload_settings(&self) -> Result<()> {
        let s = EngineSettings::load(&self.sh.queue)?;
        let stamp = self.sh.proxy.stamp()?;
        let proxy_changed = {
            let mut current = self.sh.proxy_stamp.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *current, stamp.clone()) != stamp
        };
        if proxy_changed {
            let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            tracing::info!(jobs = running.len(), "the proxy setting changed: uploads in progress continue through the new one");
            // A stopped worker puts its job back in the queue, due now (see worker::run).
            running.values().for_each(CancellationToken::cancel);
        }
        self.sh.bandwidth.set(s.bandwidth);
        *self.sh.settings.write().unwrap_or_else(|p| p.into_inner()) = s;
        Ok(())
    }

    /// Works the queue until shut down, or with `until_idle` until nothing is queued or
    /// running. Only one engine works a data dir at a time: this takes the engine lock.
    pub async fn run(self: &Arc<Self>, until_idle: bool) -> Result<RunReport> {
        let lock = EngineLock::acquire(&self.data_dir)?;
        self.run_locked(&lock, until_idle).await
    }

    /// [`Engine::run`] under a lock the caller holds (and keeps after the run: the window
    /// holds it for its watchers too, and for a new engine should this one ever stop).
    /// Errors of the database meanwhile do not end it: it backs off, retries, and reports
    /// the problem through [`ProgressSink::health`] until it clears. An engine runs once:
    /// to start again after `run` returned, make a new one.
    pub async fn run_locked(self: &Arc<Self>, lock: &EngineLock, until_idle: bool) -> Result<RunReport> {
        if lock.data_dir() != self.data_dir {
            return Err(Error::Unsupported(format!("the engine lock of {} does not cover {}", lock.data_dir().display(), self.data_dir.display())));
        }
        let mut report = RunReport::default();
        let mut tries = 0;
        // Start-up recovery is a write: a busy or full database waits here, visibly.
        loop {
            match self.sh.queue.recover() {
                Ok((jobs, parts)) => {
                    if jobs + parts > 0 {
                        tracing::info!(jobs, parts, "recovered work left by a stopped engine");
                    }
                    self.sh.health.cleared(Source::Loop);
                    break;
                }
                Err(e) => {
                    self.sh.health.failed(Source::Loop, &e);
                    tokio::select! {
                        _ = self.stop.cancelled() => return Ok(report),
                        _ = tokio::time::sleep(backoff(tries)) => tries += 1,
                    }
                }
            }
        }
        let ticker = tokio::spawn(self.sh.progress.clone().tick(self.stop.clone()));
        let mut workers: JoinSet<Outcome> = JoinSet::new();
        let mut tasks: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut touched = HashSet::new();
        let mut tries = 0;
        let mut looked_around: Option<std::time::Instant> = None;

        loop {
            if self.stop.is_cancelled() {
                break;
            }
            let mut wait = POLL;
            // Outside pauses and orphans are looked for once a poll interval, not after every
            // job that ends: with many small files that is a query per running job per file.
            let look_around = looked_around.is_none_or(|t| t.elapsed() >= POLL);
            if look_around {
                looked_around = Some(std::time::Instant::now());
            }
            match self.tick(&mut workers, &mut tasks, &mut touched, &mut report, look_around) {
                Ok(idle) => {
                    tries = 0;
                    self.sh.health.cleared(Source::Loop);
                    if until_idle && idle {
                        break;
                    }
                }
                Err(e) => {
                    // Nothing is cancelled: running workers carry on (their own writes wait
                    // the same way) and this loop looks again later.
                    tracing::warn!("engine loop: {e}");
                    self.sh.health.failed(Source::Loop, &e);
                    wait = backoff(tries);
                    tries += 1;
                }
            }
            tokio::select! {
                _ = self.stop.cancelled() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(ended) = workers.join_next_with_id() => self.ended(ended, &mut tasks, &mut report),
            }
            while let Some(ended) = workers.try_join_next_with_id() {
                self.ended(ended, &mut tasks, &mut report);
            }
        }

        // Shutting down: stop the workers and wait for each to release its parts.
        let tokens: Vec<CancellationToken> = self.running.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        tokens.iter().for_each(CancellationToken::cancel);
        while let Some(ended) = workers.join_next_with_id().await {
            self.ended(ended, &mut tasks, &mut report);
        }
        // Jobs interrupted by the shutdown go back to the queue for the next run (if the
        // database refuses now, the next start does it).
        if let Err(e) = self.sh.queue.recover() {
            tracing::warn!("could not put interrupted jobs back in the queue; the next start will: {e}");
        }
        self.stop.cancel();
        let _ = ticker.await;
        Ok(report)
    }

    /// One look at the queue: settings, (with `look_around`) outside pauses and cancels and
    /// jobs left without a worker, new workers. True when nothing is queued or running.
    fn tick(
        self: &Arc<Self>,
        workers: &mut JoinSet<Outcome>,
        tasks: &mut HashMap<tokio::task::Id, i64>,
        touched: &mut HashSet<i64>,
        report: &mut RunReport,
        look_around: bool,
    ) -> Result<bool> {
        self.reload_settings()?;
        if look_around {
            self.watch_running()?;
            self.sweep()?;
        }
        self.start_due(workers, tasks, touched, report)?;
        Ok(self.running_count() == 0 && self.sh.queue.pending_count()? == 0)
    }

    fn running_count(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A worker's task ended: normally with its outcome, or with a panic that escaped it
    /// (then its job is put back by the next `sweep`).
    fn ended(
        &self,
        ended: std::result::Result<(tokio::task::Id, Outcome), tokio::task::JoinError>,
        tasks: &mut HashMap<tokio::task::Id, i64>,
        report: &mut RunReport,
    ) {
        let (task, outcome) = match ended {
            Ok((task, outcome)) => (task, outcome),
            Err(e) => {
                let id = tasks.get(&e.id()).copied();
                tracing::error!(job = ?id, "a worker's task ended abnormally: {e}");
                (e.id(), Outcome::Stopped)
            }
        };
        let Some(id) = tasks.remove(&task) else { return };
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.sh.health.cleared(Source::Job(id));
        self.sh.health.cleared(Source::Flush(id));
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

    /// No job stays active without a worker: one whose worker could not write its end
    /// (the database refused) or died goes back to the queue. Only this engine (the lock
    /// holder) makes jobs active, so an active job it does not run has no worker anywhere.
    fn sweep(&self) -> Result<()> {
        let active = self.sh.queue.ids_in(&[JobState::Hashing, JobState::Uploading, JobState::Committing])?;
        let orphans: Vec<i64> = {
            let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            active.into_iter().filter(|id| !running.contains_key(id)).collect()
        };
        for id in orphans {
            self.sh.queue.release_in_flight(id)?;
            match self.sh.queue.requeue(id) {
                Ok(()) => tracing::warn!(job = id, "the job had no worker: back in the queue"),
                Err(Error::Transition { .. } | Error::UnknownJob(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn start_due(
        self: &Arc<Self>,
        workers: &mut JoinSet<Outcome>,
        tasks: &mut HashMap<tokio::task::Id, i64>,
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
            let task = workers.spawn(worker::run(self.sh.clone(), id, token));
            tasks.insert(task.id(), id);
        }
    }

    /// Test-only: use `provider` for `account`'s jobs (a provider that misbehaves on cue).
    #[cfg(test)]
    pub(crate) fn use_provider(&self, account: &Account, provider: Arc<dyn Provider>) {
        let s = self.sh.settings();
        let fingerprint = Shared::fingerprint(account, &s, &self.sh.proxy_stamp.read().unwrap().clone());
        let policy = RetryPolicy { attempts: s.retry_attempts, base: Duration::from_millis(s.retry_base_ms), ..RetryPolicy::default() };
        let pacer = Arc::new(Pacer::new(provider.limits().requests_per_sec, policy));
        self.sh.handles.lock().unwrap().insert(account.id, (fingerprint, Arc::new(Handle { provider, pacer })));
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
        if let Some(session) = self.queue.restart_as(id, crate::source::Identity::of(&job.source, &meta))? {
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
        let (accounts, proxy) = (self.accounts.clone(), self.proxy.clone());
        // Reads the keyring: on the blocking pool.
        let built = tokio::task::spawn_blocking(move || providers::build(providers::Context { http: proxy.client()?, accounts, account })).await;
        match built.unwrap_or_else(|e| Err(Error::Unsupported(format!("building the provider failed: {e}")))) {
            Ok(p) => {
                if let Err(e) = p.abort(session).await {
                    tracing::warn!(job = id, "the provider did not confirm the abort: {e}");
                }
            }
            Err(e) => tracing::warn!(job = id, "could not abort at the provider: {e}"),
        }
    }
}
