//! Works one job: claim it, (hash it,) initiate or resume the provider session, send the
//! parts the ledger does not have, commit, finish. Every step is a guarded queue
//! transition, so a pause or cancel from anywhere (this window, another process) simply
//! makes the next step's guard refuse, and the worker stops.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::{FusedFuture, Fuse};
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::reader::{self, ReadError};
use super::{is_storage_trouble, Handle, Shared, Source};
use crate::error::{Error, ErrorKind};
use crate::providers::{Committed, Init, JobSpec, PartBody, PartSpec, ProviderError};
use crate::queue::{now_ms, Job, JobError, JobState};
use crate::source::{self, Identity, SourceError};

/// How a worker left its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Will run again later (a retry is scheduled).
    Later,
    /// Paused, cancelled or shut down: someone else decided.
    Stopped,
}

/// Why work on a job stopped before it was done.
enum Stop {
    /// Pause, cancel or shutdown.
    Interrupted,
    /// A guarded transition was refused: the job's state was changed from outside.
    Lost(Error),
    Provider(ProviderError),
    Source(SourceError),
    Engine(Error),
    /// The worker panicked (a bug): the message, for the log and the job's error.
    Panic(String),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        match e {
            Error::Transition { .. } | Error::UnknownJob(_) => Stop::Lost(e),
            other => Stop::Engine(other),
        }
    }
}

impl From<ProviderError> for Stop {
    fn from(e: ProviderError) -> Self {
        Stop::Provider(e)
    }
}

impl From<SourceError> for Stop {
    fn from(e: SourceError) -> Self {
        Stop::Source(e)
    }
}

/// Restarts from `init` allowed in one run when the provider forgets an upload.
const MAX_RESTARTS: u32 = 3;

pub async fn run(sh: Arc<Shared>, id: i64, cancel: CancellationToken) -> Outcome {
    // A panic anywhere in the work (a provider, a part upload it awaits) ends this job's
    // attempt, not the engine: the job goes back to the queue with the error noted.
    let result = match AssertUnwindSafe(work(&sh, id, &cancel)).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(job = id, "worker panicked: {message}");
            Err(Stop::Panic(message))
        }
    };
    // A finished job has no part in flight: skip the write.
    if !matches!(result, Ok(Outcome::Done)) {
        if let Err(e) = sh.queue.release_in_flight(id) {
            tracing::warn!(job = id, error = %e, "could not release parts in flight");
        }
    }
    let outcome = match result {
        Ok(o) => o,
        Err(Stop::Interrupted) => {
            // Stopped while nobody took the job out of its active state (a pause or cancel
            // would have): it must not stay "uploading" with no worker. Back to the queue.
            if sh.queue.state(id).is_ok_and(|s| matches!(s, JobState::Hashing | JobState::Uploading | JobState::Committing)) {
                if let Err(e) = sh.queue.requeue(id) {
                    tracing::info!(job = id, "state changed meanwhile: {e}");
                }
            }
            Outcome::Stopped
        }
        Err(Stop::Lost(e)) => {
            tracing::info!(job = id, "stopped: {e}");
            Outcome::Stopped
        }
        Err(stop) => settle(&sh, id, stop, &cancel).await,
    };
    let state = sh.queue.state(id).unwrap_or(JobState::Failed);
    sh.progress.job_ended(id, state);
    outcome
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "no message".into())
}

/// A write to the queue that the database may refuse for a while (busy past the timeout,
/// disk full, I/O errors): waits and tries again, with the problem told once through
/// `health`, rather than dropping work the provider already did. Other errors (a refused
/// transition) return at once; a cancel stops waiting.
async fn write<T>(sh: &Shared, id: i64, cancel: &CancellationToken, mut f: impl FnMut() -> crate::error::Result<T>) -> Result<T, Stop> {
    let mut tries = 0;
    loop {
        match f() {
            Ok(v) => {
                sh.health.cleared(Source::Job(id));
                return Ok(v);
            }
            Err(e) => wait_out(sh, Source::Job(id), cancel, e, &mut tries).await?,
        }
    }
}

/// A queue write or flush that failed: storage trouble is told through `health` and waited
/// out before the next try; anything else ends the job's run; a cancel stops waiting.
async fn wait_out(sh: &Shared, source: Source, cancel: &CancellationToken, e: Error, tries: &mut u32) -> Result<(), Stop> {
    if !is_storage_trouble(&e) {
        return Err(e.into());
    }
    sh.health.failed(source, &e);
    tokio::select! {
        _ = tokio::time::sleep(super::backoff(*tries)) => {
            *tries += 1;
            Ok(())
        }
        _ = cancel.cancelled() => Err(Stop::Interrupted),
    }
}

/// Waits until every write so far is durable: one fsync of the database's log shared with
/// the other workers waiting at the same time (group commit), on the blocking pool so the
/// runtime keeps running them meanwhile. Retried in place like any write.
async fn flush(sh: &Shared, id: i64, cancel: &CancellationToken) -> Result<(), Stop> {
    let mut tries = 0;
    loop {
        #[cfg(test)]
        if let Some(e) = test_trouble(sh).await {
            wait_out(sh, Source::Flush(id), cancel, e, &mut tries).await?;
            continue;
        }
        let queue = sh.queue.clone();
        let r = tokio::task::spawn_blocking(move || queue.flush())
            .await
            .unwrap_or_else(|e| Err(Error::Unsupported(format!("syncing the database failed: {e}"))));
        match r {
            Ok(()) => {
                sh.health.cleared(Source::Flush(id));
                return Ok(());
            }
            Err(e) => wait_out(sh, Source::Flush(id), cancel, e, &mut tries).await?,
        }
    }
}

/// Test-only: what the next flush meets (see `Shared::flushes`).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushes {
    Pass,
    /// Waits until set otherwise, as a very slow fsync.
    Hold,
    /// Fails, as `Store::flush` does when the log's fsync fails.
    Fail,
}

#[cfg(test)]
async fn test_trouble(sh: &Shared) -> Option<Error> {
    let mut rx = sh.flushes.subscribe();
    let now = *rx.wait_for(|f| *f != Flushes::Hold).await.expect("the sender lives in Shared");
    (now == Flushes::Fail).then(|| {
        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_FSYNC);
        Error::Db(rusqlite::Error::SqliteFailure(code, Some("test: cannot sync ferry.db-wal".into())))
    })
}

/// Records a failure: retried later if it was temporary and attempts remain, else failed.
async fn settle(sh: &Shared, id: i64, stop: Stop, cancel: &CancellationToken) -> Outcome {
    let job = sh.queue.get(id).ok();
    let path = job.as_ref().map(|j| j.source.display().to_string()).unwrap_or_default();
    let mut wait = None;
    let (kind, message, temporary) = match stop {
        Stop::Provider(e) => {
            if e.kind == ErrorKind::Auth {
                if let Some(j) = &job {
                    sh.forget(j.account_id);
                }
            }
            wait = e.retry_after.filter(|d| e.temporary && *d > super::pacer::MAX_INLINE_WAIT);
            (e.kind, e.message, e.temporary)
        }
        Stop::Source(e) => (e.kind(), e.to_string(), e.is_temporary()),
        Stop::Engine(e) if is_storage_trouble(&e) => {
            // Ferry's own database, not the job: back soon, without using up an attempt.
            wait = Some(super::BACKOFF.1);
            (e.kind(), e.to_string(), true)
        }
        Stop::Engine(e) => (e.kind(), e.to_string(), e.kind() == ErrorKind::KeyringUnavailable),
        Stop::Panic(m) => (ErrorKind::Internal, format!("Ferry hit an internal error while uploading this file: {m}"), true),
        Stop::Interrupted | Stop::Lost(_) => unreachable!("handled by the caller"),
    };
    // Name the file in every error people see.
    let message = if message.contains(&path) { message } else { format!("{path}: {message}") };
    let error = JobError { kind, message };
    let attempts = job.map(|j| j.attempts).unwrap_or(u32::MAX);
    let limit = sh.settings().job_attempts;
    let r = if let Some(wait) = wait {
        // The provider said when (a quota resets, a ban lifts): wait in the queue, visibly,
        // without using up the job's attempts.
        tracing::warn!(job = id, "waiting {} s: {}", wait.as_secs(), error.message);
        write(sh, id, cancel, || sh.queue.defer(id, now_ms() + wait.as_millis() as i64, &error)).await.map(|_| Outcome::Later)
    } else if temporary && attempts < limit {
        let delay_ms = (30_000i64 << (attempts.saturating_sub(1)).min(6)).min(30 * 60_000);
        tracing::warn!(job = id, attempts, "will retry in {} s: {}", delay_ms / 1000, error.message);
        write(sh, id, cancel, || sh.queue.retry_later(id, now_ms() + delay_ms, &error)).await.map(|_| Outcome::Later)
    } else {
        tracing::warn!(job = id, "failed: {}", error.message);
        write(sh, id, cancel, || sh.queue.fail(id, &error)).await.map(|_| Outcome::Failed)
    };
    // Not recorded (the state changed meanwhile, or shutdown while the database refused):
    // a job left active is put back by the engine's sweep or the next start.
    r.unwrap_or_else(|stop| {
        if let Stop::Lost(e) = stop {
            tracing::info!(job = id, "state changed meanwhile: {e}");
        }
        Outcome::Stopped
    })
}

fn spec<'a>(job: &'a Job, sha1: Option<&'a str>, preferred: u64) -> JobSpec<'a> {
    JobSpec {
        job_id: job.id,
        path: &job.source,
        name: &job.name,
        dest: &job.dest,
        size: job.size,
        sha1,
        preferred_part_size: preferred,
        // An earlier run claimed the job (it counts its runs): it may have sent `init`.
        init_may_have_run: job.attempts > 0,
    }
}

/// The parts of a file of `size` bytes cut at `part_size` (one empty part for an empty file).
pub fn plan_parts(size: u64, part_size: u64) -> Vec<PartSpec> {
    let count = size.div_ceil(part_size.max(1)).max(1) as u32;
    (1..=count)
        .map(|n| {
            let offset = (n as u64 - 1) * part_size;
            PartSpec { number: n, offset, length: part_size.min(size - offset.min(size)), count }
        })
        .collect()
}

async fn work(sh: &Arc<Shared>, id: i64, cancel: &CancellationToken) -> Result<Outcome, Stop> {
    let job = sh.queue.get(id)?;
    if job.state != JobState::Queued {
        return Err(Stop::Lost(Error::Transition { job: id, state: job.state.as_str().into(), verb: "start" }));
    }
    let account = sh.accounts.get_by_id(job.account_id).map_err(|_| {
        Stop::Engine(Error::Unsupported(format!("the account of this job (#{}) was removed", job.account_id)))
    })?;
    let handle = match sh.handle(&account).await {
        Ok(h) => h,
        Err(e) => {
            write(sh, id, cancel, || sh.queue.start_uploading(id)).await?; // claim, so the failure is recorded against this run
            return Err(Stop::Engine(e));
        }
    };
    let limits = handle.provider.limits();
    let hashing_first = limits.sha1_before_init && job.sha1.is_none() && job.session.is_none();
    if hashing_first {
        write(sh, id, cancel, || sh.queue.start_hashing(id)).await?;
    } else {
        write(sh, id, cancel, || sh.queue.start_uploading(id)).await?;
    }
    let acked: u64 = sh.queue.parts(id)?.iter().filter(|p| p.state == crate::queue::PartState::Acked).map(|p| p.spec.length).sum();
    let first_state = if hashing_first { JobState::Hashing } else { JobState::Uploading };
    sh.progress.job(id, first_state, job.size, acked);

    let identity = Identity { size: job.size, mtime_ns: job.mtime_ns, inode: job.inode };
    source::verify(&job.source, identity)?;
    if job.size > limits.max_file() {
        return Err(Stop::Provider(ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{} is {} bytes, more than {} accepts ({} bytes at most)", job.source.display(), job.size, account.provider.as_str(), limits.max_file()),
        )));
    }

    let mut sha1 = job.sha1.clone();
    if hashing_first {
        let hash = hash(&job, identity, cancel).await?;
        write(sh, id, cancel, || sh.queue.set_sha1(id, &hash)).await?;
        sha1 = Some(hash);
        write(sh, id, cancel, || sh.queue.start_uploading(id)).await?;
        sh.progress.job(id, JobState::Uploading, job.size, 0);
    }

    let preferred = sh.settings().part_size;
    let mut session = job.session.clone();
    let mut restarts = 0;
    loop {
        let spec = spec(&job, sha1.as_deref(), preferred);
        let sess = match session.take() {
            None => {
                let again = JobSpec { init_may_have_run: true, ..spec.clone() };
                let init = pace(&handle, cancel, |attempt| handle.provider.init(if attempt > 1 { &again } else { &spec })).await?;
                match init {
                    Init::AlreadyThere(committed) => return finish(sh, id, committed, cancel).await,
                    Init::Upload { session: s, part_size } => {
                        // The provider holds a session now: keep it even while the database
                        // refuses for a while, rather than start another one.
                        let parts = plan_parts(job.size, part_size);
                        write(sh, id, cancel, || sh.queue.plan(id, &s, part_size, &parts)).await?;
                        s
                    }
                }
            }
            Some(s) => {
                match pace(&handle, cancel, |_| handle.provider.uploaded_parts(&s)).await {
                    Ok(Some(held)) => {
                        let (gained, lost) = write(sh, id, cancel, || sh.queue.reconcile(id, &held)).await?;
                        tracing::info!(job = id, gained, lost, "reconciled the ledger with the provider");
                    }
                    Ok(None) => {}
                    // The provider forgot the upload while the engine was away: start over,
                    // as in `transfer` (before, the job failed and every resume failed again).
                    Err(Stop::Provider(e)) if e.restart && restarts < MAX_RESTARTS => {
                        restarts += 1;
                        tracing::warn!(job = id, "starting the upload over: {}", e.message);
                        write(sh, id, cancel, || sh.queue.reset_session(id)).await?;
                        sh.progress.job(id, JobState::Uploading, job.size, 0);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                s
            }
        };

        match transfer(sh, &handle, &job, &sess, identity, cancel).await {
            Ok(hash) => sha1 = Some(hash),
            Err(Stop::Provider(e)) if e.restart && restarts < MAX_RESTARTS => {
                restarts += 1;
                tracing::warn!(job = id, "starting the upload over: {}", e.message);
                write(sh, id, cancel, || sh.queue.reset_session(id)).await?;
                sh.progress.job(id, JobState::Uploading, job.size, 0);
                continue;
            }
            Err(e) => return Err(e),
        }

        // Commit: the source must still be the version whose parts were sent.
        source::verify(&job.source, identity)?;
        write(sh, id, cancel, || sh.queue.begin_commit_with(id, sha1.as_deref())).await?;
        sh.progress.job(id, JobState::Committing, job.size, job.size);
        let receipts: Vec<_> = sh.queue.parts(id)?.into_iter().filter_map(|p| p.receipt).collect();
        let spec = self::spec(&job, sha1.as_deref(), preferred);
        // Not cancellable: a commit in flight cannot be taken back (pause waits for it).
        let never = CancellationToken::new();
        return match pace(&handle, &never, |_| handle.provider.commit(&sess, &spec, &receipts)).await {
            Ok(committed) => finish(sh, id, committed, cancel).await,
            Err(Stop::Provider(e)) if e.restart => {
                tracing::warn!(job = id, "the provider forgot the upload at commit; starting over: {}", e.message);
                write(sh, id, cancel, || sh.queue.reset_session(id)).await?;
                let error = JobError { kind: e.kind, message: e.message };
                write(sh, id, cancel, || sh.queue.retry_later(id, now_ms(), &error)).await?;
                Ok(Outcome::Later)
            }
            Err(e) => Err(e),
        };
    }
}

/// The provider has the file: recorded even if the database refuses for a while (a lost
/// record would mean committing again).
async fn finish(sh: &Shared, id: i64, committed: Committed, cancel: &CancellationToken) -> Result<Outcome, Stop> {
    write(sh, id, cancel, || sh.queue.finish(id, &committed)).await?;
    flush(sh, id, cancel).await?;
    tracing::info!(job = id, result = %committed.summary(), rapid = committed.rapid, "done");
    Ok(Outcome::Done)
}

/// A provider call in paced, retried slots, abandoned on cancel.
async fn pace<'a, T, F, Fut>(handle: &'a Handle, cancel: &CancellationToken, call: F) -> Result<T, Stop>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    tokio::select! {
        r = handle.pacer.run(call, |e, attempt| tracing::info!(attempt, "retrying: {}", e.message)) => r.map_err(Stop::Provider),
        _ = cancel.cancelled() => Err(Stop::Interrupted),
    }
}

async fn hash(job: &Job, identity: Identity, cancel: &CancellationToken) -> Result<String, Stop> {
    let stop = Arc::new(AtomicBool::new(false));
    let (path, s) = (job.source.clone(), stop.clone());
    let task = tokio::task::spawn_blocking(move || reader::hash_file(&path, identity, &s));
    let _stop_on_exit = StopFlag(stop);
    tokio::select! {
        r = task => match r {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(ReadError::Source(e))) => Err(Stop::Source(e)),
            Ok(Err(ReadError::Closed)) => Err(Stop::Interrupted),
            Err(e) => Err(Stop::Engine(Error::Unsupported(format!("hashing failed: {e}")))),
        },
        _ = cancel.cancelled() => Err(Stop::Interrupted),
    }
}

/// Tells a blocking reader to stop when the async side goes away.
struct StopFlag(Arc<AtomicBool>);
impl Drop for StopFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Sends every part the ledger lacks; returns the whole file's SHA-1 (read in the same pass)
/// once every part sent is durably acknowledged.
async fn transfer(sh: &Arc<Shared>, handle: &Handle, job: &Job, session: &serde_json::Value, identity: Identity, cancel: &CancellationToken) -> Result<String, Stop> {
    let parts = sh.queue.parts(job.id)?;
    let concurrency = handle.provider.part_concurrency(session).min(sh.settings().parts_per_file as usize).max(1);
    // One buffer per part in flight plus one read ahead: part memory stays within
    // (parts in flight + 1) × part size, the channel's item included.
    let buffers = reader::Buffers::new(concurrency + 1);
    let (tx, rx) = mpsc::channel::<(PartSpec, Bytes)>(1);
    let stop = Arc::new(AtomicBool::new(false));
    let (path, s, b) = (job.source.clone(), stop.clone(), buffers.clone());
    let reader = tokio::task::spawn_blocking(move || reader::read_parts(&path, identity, &parts, tx, &s, &b));
    let _stop_on_exit = StopReading(stop, buffers);

    let incoming = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let sends = incoming.map(|(spec, bytes)| send_part(sh, handle, job.id, session, spec, bytes, cancel)).buffer_unordered(concurrency);
    let sent = tokio::select! {
        r = count_when_durable(sh, job.id, sends, cancel) => r,
        _ = cancel.cancelled() => Err(Stop::Interrupted),
    };
    drop(_stop_on_exit);
    let read = reader.await;
    sent?;
    match read {
        Ok(Ok(sha1)) => Ok(sha1),
        Ok(Err(ReadError::Source(e))) => Err(Stop::Source(e)),
        Ok(Err(ReadError::Closed)) => Err(Stop::Interrupted),
        Err(e) => Err(Stop::Engine(Error::Unsupported(format!("reading failed: {e}")))),
    }
}

/// Tells the reader to stop, and wakes it if it waits for a part buffer.
struct StopReading(Arc<AtomicBool>, Arc<reader::Buffers>);
impl Drop for StopReading {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        self.1.close();
    }
}

/// Counts each part the provider answered once its ack is durable, and returns when every
/// one is (so commit never starts with a flush pending). One flush at a time per job,
/// covering every ack written before it began (and shared with other jobs' by group
/// commit); the sends go on meanwhile, so an fsync no longer sits between one part's answer
/// and the next part's request. The sends are polled all the time, not only while fewer
/// than n flushes are pending: a send left unpolled also leaves its watchdog
/// (`http::send`) unpolled, which would then blame the server for our wait.
async fn count_when_durable(sh: &Shared, job: i64, sends: impl Stream<Item = Result<PartSpec, Stop>>, cancel: &CancellationToken) -> Result<(), Stop> {
    let mut sends = std::pin::pin!(sends);
    let mut flushing = std::pin::pin!(Fuse::terminated());
    let mut covered: Vec<PartSpec> = Vec::new(); // acks the running flush makes durable
    let mut written: Vec<PartSpec> = Vec::new(); // acks written since it began
    let mut sending = true;
    loop {
        if flushing.is_terminated() {
            if !written.is_empty() {
                covered = std::mem::take(&mut written);
                flushing.set(flush(sh, job, cancel).fuse());
            } else if !sending {
                return Ok(());
            }
        }
        tokio::select! {
            r = &mut flushing, if !flushing.is_terminated() => {
                r?; // waited out like any flush; what it could not wait out ends the run
                for p in covered.drain(..) {
                    sh.progress.part_acked(job, p.number, p.length); // durable before it counts
                }
            }
            s = sends.next(), if sending => match s {
                Some(spec) => written.push(spec?),
                None => sending = false,
            },
        }
    }
}

/// One part: in flight in the ledger, sent (retried in place from memory), acknowledged in
/// the ledger. The ack is written at once but not flushed: the caller counts the part once
/// it is durable, while the next part goes out.
async fn send_part(sh: &Arc<Shared>, handle: &Handle, job: i64, session: &serde_json::Value, spec: PartSpec, bytes: Bytes, cancel: &CancellationToken) -> Result<PartSpec, Stop> {
    write(sh, job, cancel, || sh.queue.part_start(job, spec.number)).await?;
    let sent = Arc::new(AtomicU64::new(0));
    sh.progress.part_started(job, spec.number, spec.length, sent.clone());
    let provider = &handle.provider;
    let result = handle
        .pacer
        .run(
            |_| provider.upload_part(session, spec, PartBody::new(bytes.clone(), sh.bandwidth.clone(), sent.clone())),
            |e, attempt| {
                tracing::info!(job, part = spec.number, attempt, "retrying part: {}", e.message);
                let _ = sh.queue.add_bytes_sent(job, sent.load(Ordering::Relaxed));
                let _ = sh.queue.part_retried(job, spec.number);
                sh.progress.part_retrying(job, spec.number);
            },
        )
        .await;
    drop(bytes); // its buffer goes back to the reader for the next part
    match result {
        Ok(receipt) => {
            // The provider has the part: its receipt waits out a refusing database rather
            // than be lost and the part sent again. Written in answer order, so the WAL
            // holds acks in order and a later durable one implies the earlier ones.
            write(sh, job, cancel, || sh.queue.ack_sent_part(job, &receipt, spec.length)).await?;
            Ok(spec)
        }
        Err(e) => {
            let _ = sh.queue.add_bytes_sent(job, sent.load(Ordering::Relaxed));
            sh.progress.part_released(job, spec.number);
            Err(Stop::Provider(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plan_parts;

    #[test]
    fn parts_cover_the_file_exactly() {
        for (size, part) in [(0u64, 5u64), (1, 5), (4, 5), (5, 5), (6, 5), (11, 5), (10, 5)] {
            let parts = plan_parts(size, part);
            assert_eq!(parts.iter().map(|p| p.length).sum::<u64>(), size, "{size}/{part}");
            assert_eq!(parts.len() as u64, size.div_ceil(part).max(1));
            for (i, p) in parts.iter().enumerate() {
                assert_eq!(p.number as usize, i + 1);
                assert_eq!(p.offset, i as u64 * part);
                assert_eq!(p.count as usize, parts.len());
                if !p.is_last() {
                    assert_eq!(p.length, part, "every non-final part has the same size");
                }
            }
        }
    }
}
