//! The scheduler and its workers on a real SQLite file, uploading to `local`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::progress::NoProgress;
use super::{Engine, EngineSettings};
use crate::queue::JobState;
use crate::Ferry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_while_its_job_is_still_active_puts_the_job_back_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (ferry, account) = Ferry::with_disk(dir.path());
    let dest = dir.path().join("dest");
    EngineSettings::set(&ferry.queue, "part_size", &(1 << 20).to_string()).unwrap();
    EngineSettings::set(&ferry.queue, "bandwidth", &(4 << 20).to_string()).unwrap();
    let src = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::File::create(&src).unwrap().write_all(&bytes).unwrap();
    let id = crate::enqueue::enqueue_paths(&ferry, &account, &[src.clone()], "").unwrap().queued[0].id;

    let engine = Engine::new(&ferry, Arc::new(NoProgress)).unwrap();
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(true).await }
    });
    let view = || ferry.queue.view(id).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while !(view().state == JobState::Uploading && view().parts_done >= 1) {
        assert!(std::time::Instant::now() < until, "the upload never got going: {:?}", view());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nobody paused or cancelled it: a stray interrupt (as a control racing the scheduler
    // could send) must not leave it "uploading" with no worker.
    engine.interrupt(id);
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the engine went idle: the job was not left stuck as uploading")
        .unwrap()
        .unwrap();
    assert!(report.failed.is_empty());
    let v = view();
    assert_eq!((v.state, v.bytes_acked), (JobState::Done, 8 << 20));
    assert_eq!(std::fs::read(dest.join("big.bin")).unwrap(), bytes, "byte for byte");
}

// ---- failure handling: panics, a busy database, a full disk ------------------------------

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{EngineProblem, JobProgress, ProblemKind, ProgressSink, RunReport};
use crate::accounts::Account;
use crate::providers::{self, Committed, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderResult};

/// `local`, counting what reaches it, and panicking on cue inside a part upload (deep in
/// what a worker awaits) for files whose name ends with `panic_on`.
struct Wary {
    inner: providers::local::Local,
    sent: Mutex<HashMap<(String, u32), u32>>,
    commits: Mutex<HashMap<String, u32>>,
    panic_on: Option<&'static str>,
    panic_always: bool,
    panicked: AtomicBool,
}

fn target(session: &serde_json::Value) -> String {
    session["target"].as_str().unwrap_or_default().to_owned()
}

#[async_trait]
impl Provider for Wary {
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        self.inner.init(job).await
    }
    async fn upload_part(&self, session: &serde_json::Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        let t = target(session);
        if self.panic_on.is_some_and(|p| t.ends_with(p)) && (self.panic_always || !self.panicked.swap(true, Ordering::SeqCst)) {
            panic!("test: the provider blew up on part {}", part.number);
        }
        let r = self.inner.upload_part(session, part, body).await?;
        *self.sent.lock().unwrap().entry((t, part.number)).or_default() += 1;
        Ok(r)
    }
    async fn commit(&self, session: &serde_json::Value, job: &JobSpec<'_>, parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let c = self.inner.commit(session, job, parts).await?;
        *self.commits.lock().unwrap().entry(target(session)).or_default() += 1;
        Ok(c)
    }
    async fn abort(&self, session: &serde_json::Value) -> ProviderResult<()> {
        self.inner.abort(session).await
    }
    async fn check(&self) -> ProviderResult<String> {
        self.inner.check().await
    }
}

/// Hears the engine's health.
#[derive(Default)]
struct Heard(Mutex<Vec<Option<EngineProblem>>>);
impl ProgressSink for Heard {
    fn emit(&self, _: Vec<JobProgress>) {}
    fn health(&self, p: Option<EngineProblem>) {
        self.0.lock().unwrap().push(p);
    }
}
impl Heard {
    fn kinds(&self) -> Vec<Option<ProblemKind>> {
        self.0.lock().unwrap().iter().map(|p| p.as_ref().map(|p| p.kind)).collect()
    }
}

struct Bench {
    dir: tempfile::TempDir,
    ferry: Ferry,
    account: Account,
    dest: std::path::PathBuf,
    files: Vec<(i64, String, Vec<u8>)>,
}

/// `n` files of `size` bytes queued to a `local` account.
fn bench(n: usize, size: usize, settings: &[(&str, String)]) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let (ferry, account) = Ferry::with_disk(dir.path());
    let dest = dir.path().join("dest");
    for (k, v) in settings {
        EngineSettings::set(&ferry.queue, k, v).unwrap();
    }
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for i in 0..n {
        let name = format!("{}.bin", (b'a' + i as u8) as char);
        let bytes: Vec<u8> = (0..size as u32).map(|j| (j.wrapping_mul(2_654_435_761).wrapping_add(i as u32 * 7919) >> 11) as u8).collect();
        let src = dir.path().join(&name);
        std::fs::write(&src, &bytes).unwrap();
        paths.push(src);
        files.push((0, name, bytes));
    }
    let account = ferry.accounts.get_by_id(account.id).unwrap();
    let queued = crate::enqueue::enqueue_paths(&ferry, &account, &paths, "").unwrap().queued;
    for (f, q) in files.iter_mut().zip(&queued) {
        f.0 = q.id;
    }
    Bench { dir, ferry, account, dest, files }
}

impl Bench {
    fn engine(&self, sink: Arc<dyn ProgressSink>, panic_on: Option<&'static str>, panic_always: bool) -> (Arc<Engine>, Arc<Wary>) {
        let engine = Engine::new(&self.ferry, sink).unwrap();
        let ctx = providers::Context { http: providers::http::client(&crate::proxy::ProxyConfig::SYSTEM).unwrap(), accounts: self.ferry.accounts.clone(), account: self.account.clone() };
        let wary = Arc::new(Wary {
            inner: providers::local::Local::new(&ctx),
            sent: Mutex::default(),
            commits: Mutex::default(),
            panic_on,
            panic_always,
            panicked: AtomicBool::new(false),
        });
        engine.use_provider(&self.account, wary.clone());
        (engine, wary)
    }

    fn state(&self, id: i64) -> JobState {
        self.ferry.queue.view(id).unwrap().state
    }

    /// Every file at the destination byte for byte, once (no "a (1).bin").
    fn all_uploaded_once(&self, wary: &Wary) {
        for (id, name, bytes) in &self.files {
            assert_eq!(self.state(*id), JobState::Done, "{name}");
            assert_eq!(&std::fs::read(self.dest.join(name)).unwrap(), bytes, "{name} byte for byte");
            let commits = wary.commits.lock().unwrap().get(&self.dest.join(name).display().to_string()).copied();
            assert_eq!(commits, Some(1), "{name} committed once");
        }
        let names: Vec<_> = std::fs::read_dir(&self.dest).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n != ".ferry-staging").collect();
        assert_eq!(names.len(), self.files.len(), "no second copy: {names:?}");
    }

    /// Nothing sent to the provider twice: each part of each file exactly once.
    fn every_part_sent_once(&self, wary: &Wary) {
        let sent = wary.sent.lock().unwrap();
        assert!(sent.values().all(|n| *n == 1), "a part was sent twice: {:?}", sent.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
        for (id, name, _) in &self.files {
            let parts = self.ferry.queue.view(*id).unwrap().parts_total;
            let t = self.dest.join(name).display().to_string();
            assert_eq!(sent.keys().filter(|(f, _)| *f == t).count() as u32, parts, "{name}: every part sent");
        }
    }

    /// The invariant after every run: no job is active without a worker.
    fn none_left_active(&self) {
        let active = self.ferry.queue.ids_in(&[JobState::Hashing, JobState::Uploading, JobState::Committing]).unwrap();
        assert!(active.is_empty(), "jobs left active with no worker: {active:?}");
    }
}

fn run(engine: &Arc<Engine>, until_idle: bool) -> tokio::task::JoinHandle<crate::Result<RunReport>> {
    let engine = engine.clone();
    tokio::spawn(async move { engine.run(until_idle).await })
}

/// Waits (polling) for `what`; the deadline only turns a hang into a failure.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(std::time::Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn finished(run: tokio::task::JoinHandle<crate::Result<RunReport>>) -> RunReport {
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("the engine finished").unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_worker_puts_its_job_back_with_the_error_frees_its_slot_and_the_queue_carries_on() {
    // One file at a time: the others can only run if the panicked worker's slot is freed.
    let b = bench(3, 300_000, &[("max_files", "1".into()), ("part_size", "65536".into())]);
    let (engine, wary) = b.engine(Arc::new(NoProgress), Some("b.bin"), false);
    let running = run(&engine, true);
    let (a, bb, c) = (b.files[0].0, b.files[1].0, b.files[2].0);
    until("a and c done while b waits to retry", || b.state(a) == JobState::Done && b.state(c) == JobState::Done).await;
    let v = b.ferry.queue.view(bb).unwrap();
    assert_eq!(v.state, JobState::Queued, "back in the queue: {v:?}");
    let error = v.error.clone().unwrap_or_default();
    assert!(error.contains("internal error") && error.contains("blew up on part"), "{error}");
    assert!(error.contains(&b.dir.path().join("b.bin").display().to_string()), "names the file: {error}");
    assert!(v.next_run_at > crate::queue::now_ms(), "retried later, like any temporary error");
    assert!(!running.is_finished(), "--until-idle waits for the retry");

    // The retry comes due (as time would make it): it runs again and finishes.
    b.ferry.store.conn().execute("UPDATE jobs SET next_run_at = 0 WHERE id = ?1", [bb]).unwrap();
    engine.wake();
    let report = finished(running).await;
    assert!(report.failed.is_empty(), "{report:?}");
    b.all_uploaded_once(&wary);
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_every_time_fails_with_the_error_and_run_until_idle_exits() {
    let b = bench(2, 100_000, &[("max_files", "1".into()), ("job_attempts", "1".into()), ("part_size", "65536".into())]);
    let (engine, _wary) = b.engine(Arc::new(NoProgress), Some("a.bin"), true);
    let report = finished(run(&engine, true)).await;
    let (a, bb) = (b.files[0].0, b.files[1].0);
    assert_eq!(report.failed, vec![a]);
    let v = b.ferry.queue.view(a).unwrap();
    assert_eq!(v.state, JobState::Failed);
    assert!(v.error.unwrap_or_default().contains("blew up"));
    assert_eq!(b.state(bb), JobState::Done);
    assert_eq!(std::fs::read(b.dest.join("b.bin")).unwrap(), b.files[1].2);
    b.none_left_active();

    // Shutdown finishes too while a job keeps panicking (it is retried with attempts left).
    EngineSettings::set(&b.ferry.queue, "job_attempts", "5").unwrap();
    b.ferry.queue.resume(a).unwrap();
    let (engine, wary) = b.engine(Arc::new(NoProgress), Some("a.bin"), true);
    let running = run(&engine, false);
    until("the panic recorded", || b.ferry.queue.view(a).unwrap().error.is_some_and(|e| e.contains("blew up"))).await;
    engine.shutdown();
    finished(running).await;
    assert!(wary.commits.lock().unwrap().is_empty());
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_work_reports_it_once_and_the_queue_finishes_when_it_clears() {
    // Many small parts: their rows and receipts need new database pages.
    let b = bench(4, 1 << 20, &[("part_size", "8192".into()), ("max_files", "2".into())]);
    let heard = Arc::new(Heard::default());
    let (engine, wary) = b.engine(heard.clone(), None, false);
    // `max_page_count` belongs to the connection (it is not stored in the file): set on the
    // engine's own connection, every write that needs a new page fails with SQLITE_FULL,
    // as on a full disk, while reads and in-place updates still work.
    {
        let conn = b.ferry.store.conn();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).unwrap();
    }
    let running = run(&engine, true);
    until("the full disk reported", || engine.problem().is_some_and(|p| p.kind == ProblemKind::DiskFull)).await;
    let p = engine.problem().unwrap();
    assert!(p.message.contains("disk full") && p.message.contains("ferry.db"), "{}", p.message);
    // It keeps trying: nothing failed, nothing given up.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(b.files.iter().all(|(id, _, _)| b.state(*id) != JobState::Failed));
    assert!(!running.is_finished());

    // Space again.
    {
        let conn = b.ferry.store.conn();
        let _: i64 = conn.query_row("PRAGMA max_page_count = 1073741823", [], |r| r.get(0)).unwrap();
    }
    let report = finished(running).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(heard.kinds(), vec![Some(ProblemKind::DiskFull), None], "told once, cleared once");
    assert_eq!(engine.problem(), None);
    b.all_uploaded_once(&wary);
    b.every_part_sent_once(&wary);
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_program_past_the_timeout_is_waited_out() {
    let b = bench(3, 2 << 20, &[("part_size", "65536".into()), ("bandwidth", (4 << 20).to_string())]);
    let heard = Arc::new(Heard::default());
    let (engine, wary) = b.engine(heard.clone(), None, false);
    // A short busy timeout so "past the timeout" comes soon; the path is the same as 10 s.
    b.ferry.store.conn().busy_timeout(Duration::from_millis(100)).unwrap();
    let other = rusqlite::Connection::open(b.ferry.store.path()).unwrap();

    // Locked before the engine starts: its start-up recovery waits.
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let running = run(&engine, true);
    until("the lock reported at start", || engine.problem().is_some_and(|p| p.kind == ProblemKind::DatabaseBusy)).await;
    assert!(engine.problem().unwrap().message.contains("another program keeps it locked"));
    other.execute_batch("COMMIT").unwrap();

    // Locked again in the middle of the uploads.
    let first = b.files[0].0;
    until("uploads under way", || b.ferry.queue.view(first).unwrap().parts_done >= 2).await;
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    until("the lock reported mid-upload", || heard.kinds().len() == 3).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(b.files.iter().all(|(id, _, _)| b.state(*id) != JobState::Failed));
    other.execute_batch("COMMIT").unwrap();

    let report = finished(running).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(
        heard.kinds(),
        vec![Some(ProblemKind::DatabaseBusy), None, Some(ProblemKind::DatabaseBusy), None],
        "each episode told once and cleared once"
    );
    b.all_uploaded_once(&wary);
    b.every_part_sent_once(&wary);
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_left_active_by_a_worker_that_vanished_goes_back_to_the_queue() {
    let b = bench(2, 200_000, &[]);
    let (a, bb) = (b.files[0].0, b.files[1].0);
    b.ferry.queue.pause(bb).unwrap();
    let (engine, wary) = b.engine(Arc::new(NoProgress), None, false);
    let running = run(&engine, false);
    until("a done: the engine is past its start-up recovery", || b.state(a) == JobState::Done).await;
    // As a worker that died without a word would leave it.
    b.ferry.store.conn().execute("UPDATE jobs SET state = 'uploading' WHERE id = ?1", [bb]).unwrap();
    until("b swept back into the queue and uploaded", || b.state(bb) == JobState::Done).await;
    engine.shutdown();
    finished(running).await;
    b.all_uploaded_once(&wary);
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_while_the_database_refuses_and_the_next_run_completes_the_work() {
    let b = bench(2, 2 << 20, &[("part_size", "65536".into()), ("bandwidth", (2 << 20).to_string())]);
    let (engine, _) = b.engine(Arc::new(NoProgress), None, false);
    b.ferry.store.conn().busy_timeout(Duration::from_millis(100)).unwrap();
    let running = run(&engine, false);
    let first = b.files[0].0;
    until("uploads under way", || b.ferry.queue.view(first).unwrap().parts_done >= 2).await;
    let other = rusqlite::Connection::open(b.ferry.store.path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    until("the lock reported", || engine.problem().is_some()).await;
    engine.shutdown();
    let report = finished(running).await;
    assert!(report.failed.is_empty());
    other.execute_batch("COMMIT").unwrap();

    // The next start recovers what the shutdown could not write and finishes.
    let (engine, wary) = b.engine(Arc::new(NoProgress), None, false);
    let report = finished(run(&engine, true)).await;
    assert!(report.failed.is_empty(), "{report:?}");
    b.all_uploaded_once(&wary);
    b.none_left_active();
}

// ---- the ledger off the part path: the next part goes out while an ack is flushed --------

use super::worker::Flushes;

/// Hears what progress counts, and whether the test had let the flushes go by then.
#[derive(Default)]
struct Counted {
    let_go: AtomicBool,
    /// Updates that counted acknowledged bytes before any flush was let go.
    early: Mutex<Vec<JobProgress>>,
    /// Every part progress ever showed as acknowledged.
    acked: Mutex<std::collections::BTreeSet<u32>>,
    heard: Heard,
}
impl ProgressSink for Counted {
    fn emit(&self, updates: Vec<JobProgress>) {
        let let_go = self.let_go.load(Ordering::SeqCst);
        for u in updates {
            self.acked.lock().unwrap().extend(u.parts.iter().filter(|p| p.state == super::PartLive::Acked).map(|p| p.number));
            if !let_go && u.bytes_acked > 0 {
                self.early.lock().unwrap().push(u);
            }
        }
    }
    fn health(&self, p: Option<EngineProblem>) {
        self.heard.health(p);
    }
}

/// One file of `parts` parts sent one at a time (as PDS serial, iFlytek), with every flush
/// meeting `trouble` until the test lets them go.
async fn sent_while_flushes_meet(trouble: Flushes, parts: u32) -> (Bench, Arc<Counted>, Arc<Wary>, Arc<Engine>, tokio::task::JoinHandle<crate::Result<RunReport>>) {
    let b = bench(1, parts as usize * 65536 - 1000, &[("part_size", "65536".into()), ("parts_per_file", "1".into())]);
    let counted = Arc::new(Counted::default());
    let (engine, wary) = b.engine(counted.clone(), None, false);
    engine.sh.flushes.send_replace(trouble);
    let running = run(&engine, true);
    let id = b.files[0].0;
    // With one part at a time, part n+1 goes out only once part n's send is over: all of them
    // going out while no flush returns is the overlap.
    until("every part sent and its ack written though no ack could be flushed", || {
        wary.sent.lock().unwrap().len() == parts as usize && b.ferry.queue.view(id).unwrap().parts_done == parts
    })
    .await;
    assert_eq!(b.ferry.queue.view(id).unwrap().parts_total, parts);
    assert_eq!(engine.sh.progress.acked(id), Some(0), "a part counted before its ack was durable");
    assert_eq!(b.state(id), JobState::Uploading, "no commit while an ack is not durable");
    assert!(wary.commits.lock().unwrap().is_empty());
    (b, counted, wary, engine, running)
}

/// Lets the flushes go and checks the job finished with every part counted once durable.
async fn let_go(b: Bench, counted: Arc<Counted>, wary: Arc<Wary>, engine: Arc<Engine>, running: tokio::task::JoinHandle<crate::Result<RunReport>>, parts: u32) {
    assert_eq!(engine.sh.progress.acked(b.files[0].0), Some(0), "a part counted before its ack was durable");
    assert!(counted.early.lock().unwrap().is_empty(), "counted before durable: {:?}", counted.early.lock().unwrap());
    counted.let_go.store(true, Ordering::SeqCst); // before the flushes can return
    engine.sh.flushes.send_replace(Flushes::Pass);
    let report = finished(running).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(counted.early.lock().unwrap().is_empty(), "counted before durable: {:?}", counted.early.lock().unwrap());
    assert_eq!(counted.acked.lock().unwrap().len() as u32, parts, "every part counted: {:?}", counted.acked.lock().unwrap());
    b.all_uploaded_once(&wary);
    b.every_part_sent_once(&wary);
    b.none_left_active();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_part_goes_out_while_an_ack_is_flushed_and_a_part_counts_only_once_durable() {
    let parts = 6;
    let (b, counted, wary, engine, running) = sent_while_flushes_meet(Flushes::Hold, parts).await;
    assert_eq!(engine.problem(), None, "a slow disk is no problem to report");
    let_go(b, counted, wary, engine, running, parts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_flush_is_waited_out_reported_once_and_counts_nothing_until_it_works() {
    let parts = 5;
    let (b, counted, wary, engine, running) = sent_while_flushes_meet(Flushes::Fail, parts).await;
    until("the failing flush reported", || engine.problem().is_some()).await;
    let p = engine.problem().unwrap();
    assert!(p.kind == ProblemKind::DatabaseIo && p.message.contains("cannot sync"), "{p:?}");
    tokio::time::sleep(Duration::from_millis(600)).await; // a few more tries: still waiting, nothing failed
    assert_eq!(b.state(b.files[0].0), JobState::Uploading);
    let heard = Arc::clone(&counted);
    let_go(b, counted, wary, engine.clone(), running, parts).await;
    assert_eq!(heard.heard.kinds(), vec![Some(ProblemKind::DatabaseIo), None], "told once, cleared once, no flapping while the sends went on");
    assert_eq!(engine.problem(), None);
}
