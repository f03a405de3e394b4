//! A watch over a 100,000-file tree: how long until it watches (scan + inotify set-up), how
//! long until the catch-up has queued every file, and how responsive the store stays for the
//! window meanwhile (latency of the queries the UI makes). `find` over the same tree is the
//! baseline, in the same run.
//!
//! Env: FERRY_BENCH_FILES (default 100000).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_engine::accounts::{AccountInput, ProviderKind};
use ferry_engine::watch::{AfterUpload, WatchInput, WatchService, WatchStatus};
use ferry_engine::Ferry;

fn main() {
    let files: usize = std::env::var("FERRY_BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let per_dir = 100;
    let t = Instant::now();
    for d in 0..files.div_ceil(per_dir) {
        let sub = tree.join(format!("{:03}/{:03}", d / 100, d % 100));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..per_dir.min(files - d * per_dir) {
            std::fs::write(sub.join(format!("f{f:03}.dat")), b"x").unwrap();
        }
    }
    println!("Watch benchmark: {files} files in {} folders (made in {:.1} s)", files.div_ceil(per_dir), t.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_millis(1100)); // older than the quiet period

    let t = Instant::now();
    let out = std::process::Command::new("find").arg(&tree).args(["-type", "f"]).output().unwrap();
    let found = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    println!("{:<52} {:>8.2} s  ({found} files)", "baseline: find -type f", t.elapsed().as_secs_f64());

    let ferry = Arc::new(Ferry::open(dir.path().join("data")).unwrap());
    ferry
        .accounts
        .add(AccountInput {
            name: "disk".into(),
            provider: ProviderKind::Local,
            endpoint: None,
            settings: [("root".to_string(), dir.path().join("dest").display().to_string())].into(),
            secrets: Default::default(),
        })
        .unwrap();
    let w = ferry
        .watches
        .add(
            &ferry.accounts,
            WatchInput {
                dir: tree.to_path_buf(),
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

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let service = WatchService::new(&ferry, Arc::new(|| {}));
    let started = Instant::now();
    rt.spawn(service.run(stop.clone()));

    // What the window does meanwhile: list the watches and count the queue, every 20 ms.
    let probing = Arc::new(AtomicBool::new(true));
    let (f2, p2) = (ferry.clone(), probing.clone());
    let probe = std::thread::spawn(move || {
        let mut lat = Vec::new();
        while p2.load(Ordering::Relaxed) {
            let t = Instant::now();
            f2.watches.list().unwrap();
            f2.queue.pending_count().unwrap();
            lat.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
        lat
    });

    let mut watching_at = None;
    let queued_at;
    loop {
        let status = ferry.watches.get(w.id).unwrap().status;
        if watching_at.is_none() && status == WatchStatus::Watching {
            watching_at = Some(started.elapsed());
        }
        if ferry.queue.pending_count().unwrap() as usize >= files {
            queued_at = started.elapsed();
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(900), "the catch-up did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    probing.store(false, Ordering::Relaxed);
    let mut lat = probe.join().unwrap();
    lat.sort();
    stop.cancel();
    let detail = ferry.watches.get(w.id).unwrap().detail.unwrap_or_default();
    let watching_at = watching_at.map(|d| format!("{:>8.2} s", d.as_secs_f64())).unwrap_or_else(|| "   (not seen)".into());
    println!("{:<52} {watching_at}", "Ferry: watch added → watching (scan + inotify)");
    println!("{:<52} {:>8.2} s", "Ferry: watch added → every file queued (catch-up)", queued_at.as_secs_f64());
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "{:<52} {:>8.1} ms median, {:.1} ms p99, {:.1} ms max ({} probes)",
        "UI queries during the catch-up",
        pct(0.5),
        pct(0.99),
        lat.last().unwrap().as_secs_f64() * 1000.0,
        lat.len()
    );
    println!("watch status: {detail}");
}
