//! Runs the enabled watches: a catch-up scan at start (and when a watch is added, resumed
//! or its folder comes back), then platform events (inotify via `notify`) feeding a tracker
//! that enqueues a file only once its size and mtime stayed the same for the quiet period.
//! Where the platform watcher cannot cover a tree (the inotify limit), it rescans
//! periodically instead, and says so in the watch's status — never silent loss.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::store::{Finished, Record, Watches};
use super::{scan, AfterUpload, Rules, UnreadableFolder, Watch, WatchNote, WatchStatus};
use crate::error::Result;
use crate::queue::Queue;
use crate::source::Identity;
use crate::Ferry;

const TICK: Duration = Duration::from_millis(500);
/// How often a watch without platform events rescans its tree.
const POLL_EVERY: Duration = Duration::from_secs(30);
/// Files queued per transaction.
const BATCH: usize = 1000;

/// Platform events waiting to be handled. Past this the watcher drops them and its watch
/// rescans instead: a burst costs a scan, never unbounded memory, and nothing is missed.
const EVENT_CAPACITY: usize = 4096;

type Event = (i64, notify::Result<notify::Event>);

/// Where the platform watchers send their events, and which watches lost some to a full
/// channel (those rescan at the next tick).
#[derive(Clone)]
struct Events {
    tx: mpsc::Sender<Event>,
    overflowed: Arc<Mutex<HashSet<i64>>>,
    dropped: Arc<AtomicU64>,
}
type VersionKey = (u64, i64, Option<u64>);

fn key(id: &Identity) -> VersionKey {
    (id.size, id.mtime_ns, id.inode)
}

struct Candidate {
    identity: Identity,
    since: Instant,
}

/// One running watch.
struct Active {
    watch: Watch,
    dir: PathBuf,
    rules: Rules,
    watcher: Option<RecommendedWatcher>,
    /// Rescan at this instant (polling mode).
    next_scan: Option<Instant>,
    tracker: HashMap<PathBuf, Candidate>,
    records: HashMap<PathBuf, Record>,
    by_version: HashMap<VersionKey, PathBuf>,
    status: WatchStatus,
    notes: Vec<WatchNote>,
}

impl Active {
    fn config_changed(&self, w: &Watch) -> bool {
        (&self.watch.dir, self.watch.recursive, &self.watch.dest, &self.watch.include, &self.watch.exclude, &self.watch.after, self.watch.quiet_secs, self.watch.account_id)
            != (&w.dir, w.recursive, &w.dest, &w.include, &w.exclude, &w.after, w.quiet_secs, w.account_id)
    }

    fn quiet(&self) -> Duration {
        Duration::from_secs(self.watch.quiet_secs as u64)
    }

    /// Notes a file that appeared or changed; it is queued once it settles.
    fn touch(&mut self, path: &Path) {
        let Ok(rel) = path.strip_prefix(&self.dir) else { return };
        if !self.rules.wants(rel) || rel.parent().is_some_and(|p| p.ancestors().any(|a| !a.as_os_str().is_empty() && self.rules.skips_dir(a))) {
            return;
        }
        if !self.watch.recursive && rel.components().count() > 1 {
            return;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {
                let identity = Identity::of(path, &m);
                let fresh = self.tracker.get(path).is_none_or(|c| c.identity != identity);
                if fresh {
                    self.tracker.insert(path.to_path_buf(), Candidate { identity, since: Instant::now() });
                }
            }
            Ok(m) if m.is_dir() && self.watch.recursive => {
                // A folder moved in: its files are new to us.
                if let Ok(s) = scan(path, true, &self.rules) {
                    for (p, _) in s.files {
                        self.touch(&p);
                    }
                }
            }
            _ => {}
        }
    }
}

pub struct WatchService {
    watches: Watches,
    queue: Queue,
    wake: Arc<dyn Fn() + Send + Sync>,
    changed: Arc<dyn Fn() + Send + Sync>,
    capacity: usize,
    /// Platform events dropped because the channel was full (each led to a rescan).
    dropped: Arc<AtomicU64>,
}

fn age(id: &Identity) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64;
    Duration::from_nanos(now.saturating_sub(id.mtime_ns).max(0) as u64)
}

fn inotify_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches").ok()?.trim().parse().ok()
}

impl WatchService {
    /// `wake` tells the engine new jobs are queued.
    pub fn new(ferry: &Ferry, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        WatchService { watches: ferry.watches.clone(), queue: ferry.queue.clone(), wake, changed: Arc::new(|| {}), capacity: EVENT_CAPACITY, dropped: Arc::default() }
    }

    /// A smaller event channel, so tests can make it overflow.
    #[cfg(test)]
    pub(crate) fn with_event_capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    #[cfg(test)]
    pub(crate) fn dropped_events(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// `changed` hears that a watch's status, notes, pending or queued count changed (the
    /// window then lists the watches again instead of polling them).
    pub fn on_change(mut self, changed: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.changed = changed;
        self
    }

    /// Records a watch's status; tells `changed` when that changed anything.
    fn set_status(&self, id: i64, status: WatchStatus, notes: &[WatchNote], pending: usize) -> Result<()> {
        if self.watches.set_status(id, status, notes, pending)? {
            (self.changed)();
        }
        Ok(())
    }

    /// Watches until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let (tx, mut rx) = mpsc::channel::<Event>(self.capacity);
        let events = Events { tx, overflowed: Arc::default(), dropped: self.dropped.clone() };
        let mut active: HashMap<i64, Active> = HashMap::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some((id, event)) = rx.recv() => {
                    if let Some(a) = active.get_mut(&id) {
                        self.on_event(a, event);
                    }
                }
                _ = tick.tick() => {
                    let lost: Vec<i64> = events.overflowed.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
                    for id in lost {
                        if let Some(a) = active.get_mut(&id) {
                            tracing::info!(watch = id, "too many changes at once: rescanning the folder instead");
                            a.next_scan = Some(Instant::now());
                        }
                    }
                    if let Err(e) = self.tick(&mut active, Some(&events)).await {
                        tracing::warn!("watched folders: {e}");
                    }
                }
            }
        }
        self.stopped(&active);
    }

    /// Nobody serves these watches any more: their status says so instead of a stale
    /// `watching` or `scanning` (a folder that is gone or unreadable keeps saying that).
    fn stopped(&self, active: &HashMap<i64, Active>) {
        for a in active.values() {
            if matches!(a.status, WatchStatus::Scanning | WatchStatus::Watching | WatchStatus::Polling | WatchStatus::Starting) {
                if let Err(e) = self.set_status(a.watch.id, WatchStatus::Stopped, &a.notes, 0) {
                    tracing::warn!(watch = a.watch.id, "cannot record the status: {e}");
                }
            }
        }
    }

    /// For `ferry run --until-idle`: one catch-up of every enabled watch, waiting for files
    /// still being written to settle. Returns how many files were queued.
    pub async fn catch_up_once(&self) -> Result<usize> {
        let mut active = HashMap::new();
        let before = self.queue.pending_count()?;
        self.tick(&mut active, None).await?;
        let deadline = Instant::now() + Duration::from_secs(600);
        while active.values().any(|a| !a.tracker.is_empty()) && Instant::now() < deadline {
            tokio::time::sleep(TICK).await;
            self.tick(&mut active, None).await?;
        }
        self.stopped(&active);
        Ok(self.queue.pending_count()?.saturating_sub(before) as usize)
    }

    fn on_event(&self, a: &mut Active, event: notify::Result<notify::Event>) {
        match event {
            Ok(ev) => {
                if ev.need_rescan() {
                    a.next_scan = Some(Instant::now());
                }
                if !matches!(ev.kind, notify::EventKind::Remove(_) | notify::EventKind::Access(_)) {
                    for p in &ev.paths {
                        a.touch(p);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(watch = a.watch.id, "watcher error: {e}");
                a.next_scan = Some(Instant::now());
            }
        }
    }

    async fn tick(&self, active: &mut HashMap<i64, Active>, events: Option<&Events>) -> Result<()> {
        let watches = self.watches.list()?;
        active.retain(|id, a| watches.iter().any(|w| w.id == *id && w.enabled && !a.config_changed(w)));
        for w in watches.into_iter().filter(|w| w.enabled) {
            if let Some(a) = active.get_mut(&w.id) {
                a.watch.status = w.status;
                continue;
            }
            let dir = self.watches.dir(w.id)?;
            let rules = match Rules::new(&w.include, &w.exclude) {
                Ok(r) => r,
                Err(e) => {
                    self.set_status(w.id, WatchStatus::Error, &[WatchNote::BadRules { error: e.to_string() }], 0)?;
                    continue;
                }
            };
            let records = self.watches.records(w.id)?;
            let by_version = records.iter().map(|(p, r)| (key(&r.identity), p.clone())).collect();
            let a = Active {
                watch: w,
                dir,
                rules,
                watcher: None,
                next_scan: Some(Instant::now()),
                tracker: HashMap::new(),
                records,
                by_version,
                status: WatchStatus::Scanning,
                notes: vec![],
            };
            active.insert(a.watch.id, a);
        }
        for a in active.values_mut() {
            self.step(a, events).await?;
        }
        self.after_uploads()?;
        Ok(())
    }

    /// One tick of one watch: folder presence, (re)scan, settle, enqueue, status.
    async fn step(&self, a: &mut Active, events: Option<&Events>) -> Result<()> {
        if !a.dir.is_dir() {
            if a.status != WatchStatus::Missing {
                tracing::warn!(watch = a.watch.id, "{} is gone", a.dir.display());
            }
            a.watcher = None;
            a.tracker.clear();
            a.status = WatchStatus::Missing;
            a.notes = vec![WatchNote::Missing { dir: a.dir.display().to_string() }];
            a.next_scan = Some(Instant::now()); // rescan as soon as it is back
            return self.set_status(a.watch.id, a.status, &a.notes, 0);
        }
        if a.next_scan.is_some_and(|t| t <= Instant::now()) {
            self.set_status(a.watch.id, WatchStatus::Scanning, &a.notes, a.tracker.len())?;
            self.rescan(a, events).await;
        }
        let ready = settle(a).await;
        self.enqueue(a, ready)?;
        self.set_status(a.watch.id, a.status, &a.notes, a.tracker.len())
    }

    /// Scans the tree, (re)starts the platform watcher, and queues what is new.
    async fn rescan(&self, a: &mut Active, events: Option<&Events>) {
        let (dir, recursive) = (a.dir.clone(), a.watch.recursive);
        let rules = Rules::new(&a.watch.include, &a.watch.exclude).expect("validated when the watch started");
        let started = Instant::now();
        let scanned = tokio::task::spawn_blocking(move || scan(&dir, recursive, &rules)).await;
        let s = match scanned {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                a.status = WatchStatus::Error;
                a.notes = vec![WatchNote::CannotRead { dir: a.dir.display().to_string(), error: e.to_string() }];
                a.next_scan = Some(Instant::now() + POLL_EVERY);
                return;
            }
            Err(e) => {
                a.status = WatchStatus::Error;
                a.notes = vec![WatchNote::ScanFailed { error: e.to_string() }];
                return;
            }
        };
        tracing::info!(watch = a.watch.id, files = s.files.len(), dirs = s.dirs, ms = started.elapsed().as_millis() as u64, "scanned");

        let mut notes = vec![WatchNote::Scanned { files: s.files.len() as u32, folders: s.dirs as u32 }];
        if !s.unreadable.is_empty() {
            let first = s.unreadable.iter().take(3).map(|(p, e)| UnreadableFolder { path: p.display().to_string(), error: e.clone() }).collect();
            notes.push(WatchNote::Unreadable { count: s.unreadable.len() as u32, first });
        }
        if s.links_skipped > 0 {
            notes.push(WatchNote::LinksSkipped { count: s.links_skipped as u32 });
        }
        a.status = WatchStatus::Watching;
        a.next_scan = None;
        if let Some(tx) = events {
            if a.watcher.is_none() {
                match start_watcher(a.watch.id, &a.dir, a.watch.recursive, tx.clone()) {
                    Ok(w) => a.watcher = Some(w),
                    Err(e) => {
                        a.status = WatchStatus::Polling;
                        notes.push(WatchNote::Polling {
                            folders: s.dirs as u32,
                            limit: inotify_limit(),
                            error: e.to_string(),
                            every_secs: POLL_EVERY.as_secs() as u32,
                        });
                    }
                }
            }
            if a.watcher.is_some() {
                if let Some(limit) = inotify_limit() {
                    notes.push(WatchNote::LiveWatches { used: s.dirs as u32, limit });
                }
            }
        } else {
            a.status = WatchStatus::Scanning; // a one-off catch-up: no live events
        }
        if a.status == WatchStatus::Polling {
            a.next_scan = Some(Instant::now() + POLL_EVERY);
        }
        a.notes = notes;
        if let Err(e) = self.set_status(a.watch.id, a.status, &a.notes, a.tracker.len()) {
            tracing::warn!(watch = a.watch.id, "cannot record the status: {e}");
        }

        // Catch-up: files already settled (older than the quiet period, and not held open by
        // another program) go now; the rest wait in the tracker like any new file.
        let quiet = a.quiet();
        let mut ready = Vec::new();
        for (path, identity) in s.files {
            if a.records.get(&path).is_some_and(|r| r.identity == identity) {
                continue;
            }
            if age(&identity) >= quiet && !crate::platform::held_by_another_program(&path) {
                ready.push((path, identity));
            } else {
                a.tracker.insert(path, Candidate { identity, since: Instant::now() });
            }
        }
        if let Err(e) = self.enqueue(a, ready) {
            a.status = WatchStatus::Error;
            a.notes = vec![WatchNote::CannotQueue { error: e.to_string() }];
        }
    }

    /// Queues settled files that are new or changed versions; renames inside the tree and
    /// versions another watch already queued are only recorded.
    fn enqueue(&self, a: &mut Active, ready: Vec<(PathBuf, Identity)>) -> Result<()> {
        if ready.is_empty() {
            return Ok(());
        }
        let siblings = self.watches.has_siblings(a.watch.id, a.watch.account_id)?;
        let mut jobs = Vec::new();
        let mut versions = Vec::new();
        for (path, identity) in ready {
            if a.records.get(&path).is_some_and(|r| r.identity == identity) {
                continue;
            }
            if let Some(old) = a.by_version.get(&key(&identity)).cloned() {
                if old != path && !old.exists() {
                    // Renamed or moved inside the tree: same content, nothing to upload.
                    self.watches.rename_record(a.watch.id, &old, &path)?;
                    if let Some(r) = a.records.remove(&old) {
                        a.records.insert(path.clone(), r);
                    }
                    a.by_version.insert(key(&identity), path);
                    continue;
                }
            }
            if siblings && self.watches.queued_elsewhere(a.watch.id, a.watch.account_id, &path, &identity)? {
                continue;
            }
            let rel = path.strip_prefix(&a.dir).unwrap_or(&path);
            let sub = rel.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            let dest = [a.watch.dest.as_str(), sub.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("/");
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            jobs.push(crate::enqueue::new_job(a.watch.account_id, &path, name, identity, &dest));
            versions.push((path, identity));
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let watch = a.watch.id;
        // Batches: one transaction per batch keeps the store free for the window meanwhile.
        for (jobs, versions) in jobs.chunks(BATCH).zip(versions.chunks(BATCH)) {
            let mut queued: Vec<(PathBuf, Identity, i64)> = Vec::new();
            self.queue.enqueue_with(jobs, |tx, ids| {
                queued = versions.iter().cloned().zip(ids).map(|((p, v), id)| (p, v, *id)).collect();
                Watches::record_queued(tx, watch, &queued)
            })?;
            tracing::info!(watch, files = queued.len(), "queued from a watched folder");
            for (path, identity, id) in queued {
                a.by_version.insert(key(&identity), path.clone());
                a.records.insert(path, Record { identity, job_id: Some(id), state: "queued".into() });
            }
            (self.wake)();
            (self.changed)(); // its queued count
        }
        Ok(())
    }

    /// Runs each watch's after-upload step for jobs that ended. A file is deleted or moved
    /// only after the provider confirmed the upload (job done) of exactly this version.
    pub fn after_uploads(&self) -> Result<usize> {
        let finished = self.watches.finished()?;
        let n = finished.len();
        for f in finished {
            let state = match after_upload(&f) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(file = %f.path.display(), "after-upload step failed: {e}");
                    "uploaded"
                }
            };
            self.watches.mark(f.watch_id, &f.path, state)?;
        }
        Ok(n)
    }
}

fn after_upload(f: &Finished) -> std::io::Result<&'static str> {
    if f.job_state != "done" {
        return Ok("failed");
    }
    let unchanged = std::fs::metadata(&f.path).is_ok_and(|m| f.identity.matches(&Identity::of(&f.path, &m)));
    match &f.after {
        AfterUpload::Keep => Ok("uploaded"),
        // A newer version, or no proof of what was sent: keep it.
        _ if !unchanged || f.job_sha1.is_none() => Ok("uploaded"),
        AfterUpload::Delete => {
            std::fs::remove_file(&f.path)?;
            tracing::info!(file = %f.path.display(), "deleted after a confirmed upload");
            Ok("acted")
        }
        AfterUpload::Move(to) => {
            let rel = f.path.strip_prefix(&f.watch_dir).unwrap_or(Path::new(f.path.file_name().unwrap_or_default()));
            let target = Path::new(to).join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Never over a file already there (a plain rename would replace it, silently):
            // a collision gets the next free name, "a (1).pdf", so both files are kept.
            let target = move_to_free_name(&f.path, &target)?;
            tracing::info!(file = %f.path.display(), to = %target.display(), "moved after a confirmed upload");
            Ok("acted")
        }
    }
}

/// Moves `from` to `target`, or to "name (1).ext", "name (2).ext", … when that is taken;
/// returns where it went.
fn move_to_free_name(from: &Path, target: &Path) -> std::io::Result<PathBuf> {
    for n in 0..10_000 {
        let to = crate::paths::numbered(target, n);
        match crate::platform::move_no_replace(from, &to) {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{} and 10,000 numbered names next to it already exist: the file stays where it is", target.display())))
}

/// Stats every candidate; returns those unchanged for the quiet period.
async fn settle(a: &mut Active) -> Vec<(PathBuf, Identity)> {
    if a.tracker.is_empty() {
        return vec![];
    }
    let quiet = a.quiet();
    let paths: Vec<(PathBuf, Identity)> = a.tracker.iter().map(|(p, c)| (p.clone(), c.identity)).collect();
    let now = tokio::task::spawn_blocking(move || {
        paths.into_iter().map(|(p, _)| {
            let id = std::fs::metadata(&p).ok().filter(|m| m.is_file()).map(|m| Identity::of(&p, &m));
            // Still open for writing elsewhere (Windows): not stable yet, whatever its mtime says.
            let busy = id.is_some() && crate::platform::held_by_another_program(&p);
            (p, id, busy)
        }).collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut ready = Vec::new();
    for (path, current, busy) in now {
        match current {
            None => {
                a.tracker.remove(&path);
            }
            Some(id) => {
                let c = a.tracker.get_mut(&path).expect("tracked");
                if c.identity != id || busy {
                    // Still being written: the quiet period starts again.
                    c.identity = id;
                    c.since = Instant::now();
                } else if c.since.elapsed() >= quiet {
                    a.tracker.remove(&path);
                    ready.push((path, id));
                }
            }
        }
    }
    ready
}

fn start_watcher(id: i64, dir: &Path, recursive: bool, events: Events) -> notify::Result<RecommendedWatcher> {
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut w = RecommendedWatcher::new(move |res| {
        if let Err(mpsc::error::TrySendError::Full(_)) = events.tx.try_send((id, res)) {
            events.dropped.fetch_add(1, Ordering::Relaxed);
            events.overflowed.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        }
    }, config)?;
    w.watch(dir, if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive })?;
    Ok(w)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::watch::WatchInput;

    /// A burst of changes larger than the event channel: the events that do not fit are
    /// dropped, the watch rescans, and every file is still queued exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_event_burst_past_the_channel_becomes_a_rescan_and_nothing_is_missed() {
        let tmp = tempfile::tempdir().unwrap();
        let (ferry, _) = Ferry::with_disk(tmp.path());
        let inbox = tmp.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        ferry
            .watches
            .add(
                &ferry.accounts,
                WatchInput {
                    dir: inbox.clone(),
                    account: "disk".into(),
                    dest: String::new(),
                    include: vec![],
                    exclude: vec![],
                    after: AfterUpload::Keep,
                    quiet_secs: 1,
                    recursive: true,
                },
            )
            .unwrap();
        let service = WatchService::new(&ferry, Arc::new(|| {})).with_event_capacity(2);
        let dropped = service.dropped_events();
        let stop = CancellationToken::new();
        let running = tokio::spawn(service.run(stop.clone()));
        let watching = Instant::now();
        while ferry.watches.list().unwrap()[0].status != WatchStatus::Watching {
            assert!(watching.elapsed() < Duration::from_secs(30), "the watch never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Hundreds of events into a channel of 2 while the service is stuck on the database
        // (its next tick waits for this lock), so they cannot all fit.
        {
            let _held = ferry.store.conn();
            std::thread::sleep(Duration::from_millis(700));
            for i in 0..200 {
                std::fs::write(inbox.join(format!("take-{i:03}.wav")), format!("take {i}")).unwrap();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert!(dropped.load(Ordering::Relaxed) > 0, "the burst overflowed the channel");
        let queued = Instant::now();
        while ferry.queue.list().unwrap().len() < 200 {
            assert!(queued.elapsed() < Duration::from_secs(60), "only {} of 200 files were queued", ferry.queue.list().unwrap().len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await; // a rescan that re-queued would show now
        stop.cancel();
        running.await.unwrap();
        let jobs = ferry.queue.list().unwrap();
        let names: HashSet<String> = jobs.iter().map(|j| j.name.clone()).collect();
        assert_eq!((jobs.len(), names.len()), (200, 200), "every file queued exactly once");
    }

    fn finished(watch_dir: &Path, path: &Path, to: &Path) -> Finished {
        let meta = std::fs::metadata(path).unwrap();
        Finished {
            watch_id: 1,
            watch_dir: watch_dir.to_path_buf(),
            path: path.to_path_buf(),
            identity: Identity::of(path, &meta),
            job_state: "done".into(),
            job_sha1: Some("sent".into()),
            after: AfterUpload::Move(to.display().to_string()),
        }
    }

    #[test]
    fn moving_after_upload_never_replaces_a_file_already_there() {
        let d = tempfile::tempdir().unwrap();
        let (watched, archive) = (d.path().join("w"), d.path().join("archive"));
        std::fs::create_dir_all(watched.join("sub")).unwrap();
        std::fs::create_dir_all(archive.join("sub")).unwrap();
        std::fs::write(archive.join("sub/a.txt"), b"archived earlier").unwrap();
        std::fs::write(archive.join("sub/a (1).txt"), b"archived second").unwrap();
        for (content, lands_as) in [(&b"new"[..], "sub/a (2).txt"), (b"newer", "sub/a (3).txt")] {
            std::fs::write(watched.join("sub/a.txt"), content).unwrap();
            let f = finished(&watched, &watched.join("sub/a.txt"), &archive);
            assert_eq!(after_upload(&f).unwrap(), "acted");
            assert_eq!(std::fs::read(archive.join(lands_as)).unwrap(), content, "{lands_as}");
            assert!(!watched.join("sub/a.txt").exists(), "moved, not copied");
        }
        assert_eq!(std::fs::read(archive.join("sub/a.txt")).unwrap(), b"archived earlier");
        assert_eq!(std::fs::read(archive.join("sub/a (1).txt")).unwrap(), b"archived second");
        assert_eq!(std::fs::read_dir(archive.join("sub")).unwrap().count(), 4, "nothing replaced, nothing else made");
    }

    #[test]
    fn a_file_without_extension_is_numbered_too() {
        let d = tempfile::tempdir().unwrap();
        let (watched, archive) = (d.path().join("w"), d.path().join("archive"));
        std::fs::create_dir_all(&watched).unwrap();
        std::fs::create_dir_all(&archive).unwrap();
        std::fs::write(archive.join("README"), b"old").unwrap();
        std::fs::write(watched.join("README"), b"new").unwrap();
        assert_eq!(after_upload(&finished(&watched, &watched.join("README"), &archive)).unwrap(), "acted");
        assert_eq!(std::fs::read(archive.join("README (1)")).unwrap(), b"new");
        assert_eq!(std::fs::read(archive.join("README")).unwrap(), b"old");
    }
}
