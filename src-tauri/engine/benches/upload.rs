//! Sections 1–3 of `scripts/bench.sh` (issue #16), every baseline in the same run:
//! 1. Ferry's engine uploading a file to `local` vs max(bare SHA-1, cp + fsync);
//! 2. Ferry through each provider to its strict mock vs a minimal client doing the same
//!    requests in the same order and concurrency and hashing the whole file as Ferry does
//!    (`benches/minimal/`), each pair FERRY_BENCH_REPS times alternating which goes first,
//!    medians (`pairs.rs`), the mocks storing on tmpfs when it has room; and `curl -T` to the
//!    mock's bare sink as the transport ceiling;
//! 3. PDS parallel vs serial on a link with latency and a per-connection bandwidth cap (the
//!    mock's `delay` + `bandwidth` faults).
//!
//! Run it with `scripts/bench.sh` (it provides the keyring and prints the table).
//!
//! Env: FERRY_BENCH_SIZE_MIB (default 1024), FERRY_BENCH_DIR (default a temp dir),
//! FERRY_BENCH_REPS (section 2's repetitions of each pair, default 3), FERRY_BENCH_FEISHU_MIB
//! (Feishu's file, default 256: its rows are bound by the 5 calls/s limit, ~15 s a run),
//! FERRY_BENCH_LINK_MIB (file of section 3, default 256), FERRY_BENCH_LATENCY_MS (40),
//! FERRY_BENCH_LINK_MIBPS (per connection, default 16), FERRY_BENCH_ROWS (append table rows
//! here), FERRY_BENCH_NOTES (append the repetitions' figures here).

#[path = "minimal/dingtalk.rs"]
mod minimal_dingtalk;
#[path = "minimal/feishu.rs"]
mod minimal_feishu;
#[path = "minimal/pds.rs"]
mod minimal_pds;
#[path = "minimal/reader.rs"]
mod minimal_reader;
#[path = "minimal/xfyun.rs"]
mod minimal_xfyun;
#[path = "upload/pairs.rs"]
mod pairs;

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ferry_engine::accounts::{AccountInput, ProviderKind};
use ferry_engine::creds::Secret;
use ferry_engine::transfer::{Engine, NoProgress};
use ferry_engine::Ferry;
use ferry_mock_providers::{
    DingtalkConfig, DingtalkMock, FaultAction, FaultRule, FeishuConfig, FeishuMock, PdsConfig, PdsMock, XfyunConfig, XfyunMock,
};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One line of the final table (tab-separated, appended to FERRY_BENCH_ROWS when set).
fn row(section: u32, what: &str, ferry: String, baseline: String, ratio: f64, target: &str) {
    println!("  {what:<58} {ferry:>14}  {baseline:<30} {ratio:>6.2}");
    if let Some(path) = std::env::var_os("FERRY_BENCH_ROWS") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(f, "{section}\t{what}\t{ferry}\t{baseline}\t{ratio:.2}\t{target}").unwrap();
    }
}

fn mibps(mib: u64, secs: f64) -> String {
    rate(mib as f64 / secs)
}

fn rate(mib_per_sec: f64) -> String {
    format!("{mib_per_sec:.0} MiB/s")
}

/// Where section 2's mocks store what they receive: tmpfs when it has room for `need` bytes,
/// so writing their copies into a disk's page cache (and re-backing pages freed by the phase
/// before) is not in the figures; else under `fallback`, with a line saying so.
fn mock_dir(fallback: &Path, need: u64) -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let free = disk_free(shm).unwrap_or(0).min(mem_available().unwrap_or(0).saturating_sub(1 << 30));
    if free >= need {
        if let Ok(d) = tempfile::Builder::new().prefix("ferry-bench-mocks.").tempdir_in(shm) {
            pairs::note(&format!("section 2's mocks store on tmpfs ({})", d.path().display()));
            return d;
        }
    }
    pairs::note(&format!(
        "section 2's mocks store on disk under {}: /dev/shm has {} MiB free (RAM included), {} MiB needed",
        fallback.display(),
        free >> 20,
        need >> 20
    ));
    tempfile::Builder::new().prefix("mocks.").tempdir_in(fallback).unwrap()
}

/// Bytes free on the filesystem at `path` (`df`, as no statvfs binding is at hand).
fn disk_free(path: &Path) -> Option<u64> {
    let out = std::process::Command::new("df").args(["-Pk"]).arg(path).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let kib: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib << 10)
}

/// MemAvailable: tmpfs pages are RAM (and there may be no swap).
fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib << 10)
}

/// `curl -T file` to the mock's bare sink: seconds.
fn curl_sink(file: &Path, base_url: &str) -> f64 {
    let t = Instant::now();
    let status = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-T"])
        .arg(file)
        .arg(format!("{base_url}/__sink"))
        .status()
        .expect("curl is installed");
    assert!(status.success());
    t.elapsed().as_secs_f64()
}

/// Ferry's engine runs the queue (holding one job, just enqueued) until idle: seconds.
fn ferry_upload(rt: &tokio::runtime::Runtime, ferry: &Ferry, account: &str, file: &Path, digest: &str) -> (f64, ferry_engine::queue::JobView) {
    let a = ferry.accounts.get(account).unwrap();
    let id = ferry_engine::enqueue::enqueue_paths(ferry, &a, &[file.to_path_buf()], "").unwrap().queued[0].id;
    let engine = Engine::new(ferry, Arc::new(NoProgress)).unwrap();
    let t = Instant::now();
    let run = rt.block_on(engine.run(true)).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(run.failed.is_empty(), "the upload to {account} failed: {:?}", ferry.queue.view(id));
    let job = ferry.queue.view(id).unwrap();
    assert_eq!(job.sha1.as_deref(), Some(digest), "byte-exact");
    (secs, job)
}

fn main() {
    let mib = env_u64("FERRY_BENCH_SIZE_MIB", 1024);
    let size = mib << 20;
    let base = std::env::var_os("FERRY_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let file = dir.path().join("bench.bin");
    write_file(&file, size);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mock_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let part = ferry_engine::transfer::EngineSettings::default().part_size;
    println!("{mib} MiB file on loopback, {} cores; {:<44} {:>14}  {:<30} {:>6}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "", "Ferry", "baseline", "ratio");

    // ---- 1. local ---------------------------------------------------------------------------
    let t = Instant::now();
    let digest = ferry_engine::hashing::sha1_file(&file).unwrap();
    let sha1_secs = t.elapsed().as_secs_f64();
    // The disk's own speed bounds any upload to `local`: copy + fsync is that baseline.
    let copy = dir.path().join("copy.bin");
    let t = Instant::now();
    std::fs::copy(&file, &copy).unwrap();
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    let cp_secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&copy).unwrap();
    println!("  (bare SHA-1 {}, cp + fsync {})", mibps(mib, sha1_secs), mibps(mib, cp_secs));

    let ferry = Ferry::open(dir.path().join("data")).unwrap();
    let dest = dir.path().join("dest");
    add(&ferry, "disk", ProviderKind::Local, None, &[("root", dest.to_str().unwrap())], &[]);
    let (secs, _) = ferry_upload(&rt, &ferry, "disk", &file, &digest);
    let bound = sha1_secs.max(cp_secs);
    row(1, &format!("{mib} MiB → local: seconds vs max(SHA-1, cp + fsync)"), format!("{secs:.2} s"), format!("{bound:.2} s"), secs / bound, "≤ 1.15");
    ferry.accounts.remove("disk").unwrap();
    let _ = std::fs::remove_dir_all(&dest);

    // ---- 2. each cloud provider, same protocol ------------------------------------------------
    let reps = env_u64("FERRY_BENCH_REPS", 3).max(1) as usize;
    // One mock holds at most the parts and the assembled copy at a time (each is emptied after
    // its run); Feishu's file is not larger than the main one.
    let mocks = mock_dir(dir.path(), 2 * size + (256 << 20));
    let mock = mock_rt.block_on(XfyunMock::start(XfyunConfig { data_dir: Some(mocks.path().join("xfyun")), ..XfyunConfig::default() }));
    let curl: Vec<f64> = (0..reps).map(|_| mib as f64 / curl_sink(&file, &mock.base_url())).collect();
    let curl = pairs::median(&curl);

    let cfg = mock.config().clone();
    add(
        &ferry,
        "ost",
        ProviderKind::Xfyun,
        Some(mock.base_url()),
        &[("app_id", &cfg.app_id), ("oneshot_max_bytes", "1")],
        &[("api_key", &cfg.api_key), ("api_secret", &cfg.api_secret)],
    );
    let client = minimal_xfyun::Client::new(&mock.base_url(), &cfg.app_id, &cfg.api_key, &cfg.api_secret);
    // Both send the same slices; the mock is emptied after every run.
    let slices = Cell::new(None);
    let same_slices = |who: &str| {
        let n = mock.stats().slices_received;
        if let Some(before) = slices.replace(Some(n)) {
            assert_eq!(n, before, "{who} sent as many slices as the runs before");
        }
        mock.reset();
    };
    let xf = pairs::alternate(
        "iFlytek",
        mib,
        reps,
        || {
            let (secs, _) = ferry_upload(&rt, &ferry, "ost", &file, &digest);
            same_slices("Ferry");
            secs
        },
        || {
            let t = Instant::now();
            let (url, sha1) = rt.block_on(client.upload(&file, part));
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(sha1, digest, "the minimal client hashed the whole file");
            assert_eq!(mock.objects().into_iter().find(|o| o.url == url).expect("stored").sha1_hex, digest, "byte-exact");
            same_slices("the minimal client");
            secs
        },
    );
    let (f, m) = (xf.ferry_median(), xf.minimal_median());
    row(2, "iFlytek mock (8 MiB slices in order) vs minimal client", rate(f), rate(m), f / m, "≥ 0.90");
    row(2, "iFlytek mock vs curl -T → bare sink (transport ceiling)", rate(f), rate(curl), f / curl, "-");
    // Is the mock the bound? Its protocol work (signature, multipart parse, slice stored)
    // against the bare sink, without Ferry: a low ratio here means the mock, not Ferry, limits.
    row(2, "(no Ferry) iFlytek minimal client vs curl -T → bare sink", rate(m), rate(curl), m / curl, "-");
    ferry.accounts.remove("ost").unwrap();
    drop(mock);

    for mode in ["serial", "parallel"] {
        let parts_at_once = ferry_engine::transfer::EngineSettings::default().parts_per_file as usize;
        let seen = Cell::new(0);
        let pds = pairs::alternate(
            &format!("PDS {mode}"),
            mib,
            reps,
            || {
                let (secs, at_once) = pds_ferry(&rt, &mock_rt, &ferry, &file, &digest, mocks.path(), mode, &[]);
                seen.set(at_once);
                secs
            },
            || pds_minimal(&rt, &mock_rt, &file, &digest, mocks.path(), mode, part, parts_at_once, &[]),
        );
        let (f, m) = (pds.ferry_median(), pds.minimal_median());
        row(2, &format!("PDS mock, {mode} ({} part(s) at once) vs minimal client", seen.get()), rate(f), rate(m), f / m, "≥ 0.90");
    }

    let at_once = ferry_engine::transfer::EngineSettings::default().parts_per_file as usize;
    let dt = pairs::alternate(
        "DingTalk",
        mib,
        reps,
        || dingtalk_ferry(&rt, &mock_rt, &ferry, &file, &digest, mocks.path()),
        || dingtalk_minimal(&rt, &mock_rt, &file, &digest, mocks.path(), part, at_once),
    );
    let (f, m) = (dt.ferry_median(), dt.minimal_median());
    row(2, &format!("DingTalk mock ({at_once} parts at once) vs minimal client"), rate(f), rate(m), f / m, "≥ 0.90");

    // Feishu is bound by its 5 calls a second (both paced at 4.5): a smaller file keeps its
    // repetitions to ~15 s each at the default size, and the ratio does not depend on it.
    let feishu_mib = env_u64("FERRY_BENCH_FEISHU_MIB", 256).clamp(1, mib);
    let feishu_file = dir.path().join("feishu.bin");
    write_file(&feishu_file, feishu_mib << 20);
    let feishu_digest = ferry_engine::hashing::sha1_file(&feishu_file).unwrap();
    let fs = pairs::alternate(
        "Feishu",
        feishu_mib,
        reps,
        || feishu_ferry(&rt, &mock_rt, &ferry, &feishu_file, &feishu_digest, mocks.path()),
        || feishu_minimal(&rt, &mock_rt, &feishu_file, &feishu_digest, mocks.path()),
    );
    let (f, m) = (fs.ferry_median(), fs.minimal_median());
    let block = FeishuConfig::default().block_size >> 20;
    row(2, &format!("Feishu mock, {feishu_mib} MiB ({block} MiB blocks, paced 4.5/s) vs minimal"), rate(f), rate(m), f / m, "≥ 0.90");
    std::fs::remove_file(&feishu_file).unwrap();
    drop(mocks);

    // ---- 3. PDS on a link with latency and a per-connection bandwidth cap --------------------
    let link_mib = env_u64("FERRY_BENCH_LINK_MIB", 256).min(mib);
    let latency = env_u64("FERRY_BENCH_LATENCY_MS", 40);
    let cap = env_u64("FERRY_BENCH_LINK_MIBPS", 16);
    let link_file = dir.path().join("link.bin");
    write_file(&link_file, link_mib << 20);
    let link_digest = ferry_engine::hashing::sha1_file(&link_file).unwrap();
    let shaping = [FaultAction::Delay { ms: latency }, FaultAction::Bandwidth { bytes_per_sec: cap << 20 }];
    let (serial, _) = pds_ferry(&rt, &mock_rt, &ferry, &link_file, &link_digest, dir.path(), "serial", &shaping);
    let (parallel, at_once) = pds_ferry(&rt, &mock_rt, &ferry, &link_file, &link_digest, dir.path(), "parallel", &shaping);
    row(
        3,
        &format!("PDS {link_mib} MiB, {latency} ms, {cap} MiB/s a connection: parallel ({at_once}) vs serial"),
        mibps(link_mib, parallel),
        mibps(link_mib, serial),
        serial / parallel,
        "≥ 2.50",
    );
}

/// Ferry's upload to a fresh DingTalk mock: seconds.
fn dingtalk_ferry(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, ferry: &Ferry, file: &Path, digest: &str, dir: &Path) -> f64 {
    let data_dir = dir.join("dingtalk-ferry");
    let mock = mock_rt.block_on(DingtalkMock::start(DingtalkConfig { data_dir: Some(data_dir.clone()), ..DingtalkConfig::default() }));
    let cfg = mock.config().clone();
    add(
        ferry,
        "dt",
        ProviderKind::Dingtalk,
        Some(mock.base_url()),
        &[("app_key", &cfg.app_key), ("union_id", cfg.union_id()), ("space_id", &cfg.space_id)],
        &[("app_secret", &cfg.app_secret)],
    );
    let (secs, _) = ferry_upload(rt, ferry, "dt", file, digest);
    assert!(mock.files().iter().any(|f| f.sha1_hex == digest), "the mock's copy is byte-exact");
    ferry.accounts.remove("dt").unwrap();
    drop(mock);
    std::fs::remove_dir_all(&data_dir).unwrap();
    secs
}

/// The minimal client's upload to a fresh DingTalk mock: seconds.
fn dingtalk_minimal(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, file: &Path, digest: &str, dir: &Path, part: u64, at_once: usize) -> f64 {
    let data_dir = dir.join("dingtalk-minimal");
    let mock = mock_rt.block_on(DingtalkMock::start(DingtalkConfig { data_dir: Some(data_dir.clone()), ..DingtalkConfig::default() }));
    let t = Instant::now();
    let (_, sha1) = rt.block_on(minimal_dingtalk::upload(&mock.base_url(), mock.config(), file, part, at_once));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(sha1, digest, "the minimal client hashed the whole file");
    assert!(mock.files().iter().any(|f| f.sha1_hex == digest), "the mock's copy is byte-exact");
    drop(mock);
    std::fs::remove_dir_all(&data_dir).unwrap();
    secs
}

/// Ferry's upload to a fresh Feishu mock (paced at the documented rate): seconds.
fn feishu_ferry(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, ferry: &Ferry, file: &Path, digest: &str, dir: &Path) -> f64 {
    let folder = ferry_mock_providers::feishu::DEFAULT_FOLDER;
    let data_dir = dir.join("feishu-ferry");
    let mock = mock_rt.block_on(FeishuMock::start(FeishuConfig { data_dir: Some(data_dir.clone()), ..FeishuConfig::default() }));
    let cfg = mock.config().clone();
    add(ferry, "fs", ProviderKind::Feishu, Some(mock.base_url()), &[("app_id", &cfg.app_id), ("parent_node", folder)], &[("app_secret", &cfg.app_secret)]);
    let (secs, job) = ferry_upload(rt, ferry, "fs", file, digest);
    let token = job.result.as_ref().and_then(|r| r.id.clone()).expect("a file_token");
    assert_eq!(mock.objects().into_iter().find(|o| o.file_token == token).expect("stored").sha1_hex, digest, "byte-exact");
    ferry.accounts.remove("fs").unwrap();
    drop(mock);
    std::fs::remove_dir_all(&data_dir).unwrap();
    secs
}

/// The minimal client's upload to a fresh Feishu mock (paced like Ferry): seconds.
fn feishu_minimal(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, file: &Path, digest: &str, dir: &Path) -> f64 {
    let folder = ferry_mock_providers::feishu::DEFAULT_FOLDER;
    let data_dir = dir.join("feishu-minimal");
    let mock = mock_rt.block_on(FeishuMock::start(FeishuConfig { data_dir: Some(data_dir.clone()), ..FeishuConfig::default() }));
    let t = Instant::now();
    let (token, sha1) = rt.block_on(minimal_feishu::upload(&mock.base_url(), mock.config(), folder, file));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(sha1, digest, "the minimal client hashed the whole file");
    assert_eq!(mock.objects().into_iter().find(|o| o.file_token == token).expect("stored").sha1_hex, digest, "byte-exact");
    drop(mock);
    std::fs::remove_dir_all(&data_dir).unwrap();
    secs
}

/// The same file through Ferry's PDS provider in `mode`, against a fresh mock (one that
/// already held the content would answer with a rapid upload): seconds, parts seen at once.
#[allow(clippy::too_many_arguments)]
fn pds_ferry(
    rt: &tokio::runtime::Runtime,
    mock_rt: &tokio::runtime::Runtime,
    ferry: &Ferry,
    file: &Path,
    digest: &str,
    dir: &Path,
    mode: &str,
    shaping: &[FaultAction],
) -> (f64, u64) {
    let data_dir = dir.join(format!("pds-{mode}"));
    let mock = mock_rt.block_on(PdsMock::start(PdsConfig { data_dir: Some(data_dir.clone()), ..PdsConfig::default() }));
    for action in shaping {
        mock.faults().push(FaultRule::anywhere(action.clone())).unwrap();
    }
    let cfg = mock.config().clone();
    let name = format!("pds-{mode}");
    add(
        ferry,
        &name,
        ProviderKind::Pds,
        Some(mock.base_url()),
        &[("domain_id", &cfg.domain_id), ("drive_id", &cfg.drive_id), ("client_id", &cfg.client_id), ("upload_mode", mode)],
        &[("client_secret", &cfg.client_secret), ("refresh_token", &cfg.refresh_token)],
    );
    let (secs, job) = ferry_upload(rt, ferry, &name, file, digest);
    let stored = mock.files().into_iter().find(|f| Some(&f.file_id) == job.result.as_ref().and_then(|r| r.id.as_ref())).expect("the mock holds the file");
    assert_eq!(stored.sha1, digest, "the mock's copy is byte-exact");
    let at_once = mock.stats().max_concurrent_parts_per_upload;
    ferry.accounts.remove(&name).unwrap();
    drop(mock);
    let _ = std::fs::remove_dir_all(&data_dir);
    (secs, at_once)
}

/// The minimal client's run of the same upload, against its own fresh mock: seconds.
#[allow(clippy::too_many_arguments)]
fn pds_minimal(
    rt: &tokio::runtime::Runtime,
    mock_rt: &tokio::runtime::Runtime,
    file: &Path,
    digest: &str,
    dir: &Path,
    mode: &str,
    part: u64,
    at_once: usize,
    shaping: &[FaultAction],
) -> f64 {
    let data_dir = dir.join(format!("pds-min-{mode}"));
    let mock = mock_rt.block_on(PdsMock::start(PdsConfig { data_dir: Some(data_dir.clone()), ..PdsConfig::default() }));
    for action in shaping {
        mock.faults().push(FaultRule::anywhere(action.clone())).unwrap();
    }
    let t = Instant::now();
    let (file_id, sha1) = rt.block_on(minimal_pds::upload(&mock.base_url(), mock.config(), file, part, mode == "parallel", at_once));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(sha1, digest, "the minimal client hashed the whole file");
    let stored = mock.files().into_iter().find(|f| f.file_id == file_id).expect("the mock holds the file");
    assert_eq!(stored.sha1, digest, "the mock's copy is byte-exact");
    drop(mock);
    let _ = std::fs::remove_dir_all(&data_dir);
    secs
}

fn add(ferry: &Ferry, name: &str, provider: ProviderKind, endpoint: Option<String>, settings: &[(&str, &str)], secrets: &[(&str, &str)]) {
    let _ = ferry.accounts.remove(name);
    ferry
        .accounts
        .add(AccountInput {
            name: name.into(),
            provider,
            endpoint,
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            secrets: secrets.iter().map(|(k, v)| (k.to_string(), Secret::new(*v))).collect(),
        })
        .unwrap();
}

fn write_file(path: &Path, size: u64) {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = (left as usize).min(buf.len());
        w.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    w.flush().unwrap();
}
