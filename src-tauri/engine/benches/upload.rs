//! Sections 1–3 of `scripts/bench.sh` (issue #16), every baseline in the same run:
//! 1. Ferry's engine uploading a file to `local` vs max(bare SHA-1, cp + fsync);
//! 2. Ferry through each provider to its strict mock vs a minimal client doing the same
//!    requests in the same order and concurrency (`benches/minimal/`), and `curl -T` to the
//!    mock's bare sink as the transport ceiling;
//! 3. PDS parallel vs serial on a link with latency and a per-connection bandwidth cap (the
//!    mock's `delay` + `bandwidth` faults).
//! Run it with `scripts/bench.sh` (it provides the keyring and prints the table).
//!
//! Env: FERRY_BENCH_SIZE_MIB (default 1024), FERRY_BENCH_DIR (default a temp dir),
//! FERRY_BENCH_LINK_MIB (file of section 3, default 256), FERRY_BENCH_LATENCY_MS (40),
//! FERRY_BENCH_LINK_MIBPS (per connection, default 16), FERRY_BENCH_ROWS (append table rows here).

#[path = "minimal/dingtalk.rs"]
mod minimal_dingtalk;
#[path = "minimal/feishu.rs"]
mod minimal_feishu;
#[path = "minimal/pds.rs"]
mod minimal_pds;
#[path = "minimal/xfyun.rs"]
mod minimal_xfyun;

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
    format!("{:.0} MiB/s", mib as f64 / secs)
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
    let mock = mock_rt.block_on(XfyunMock::start(XfyunConfig { data_dir: Some(dir.path().join("mock")), ..XfyunConfig::default() }));
    let t = Instant::now();
    let status = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-T"])
        .arg(&file)
        .arg(format!("{}/__sink", mock.base_url()))
        .status()
        .expect("curl is installed");
    assert!(status.success());
    let curl_secs = t.elapsed().as_secs_f64();

    let cfg = mock.config().clone();
    add(
        &ferry,
        "ost",
        ProviderKind::Xfyun,
        Some(mock.base_url()),
        &[("app_id", &cfg.app_id), ("oneshot_max_bytes", "1")],
        &[("api_key", &cfg.api_key), ("api_secret", &cfg.api_secret)],
    );
    let (ferry_secs, _) = ferry_upload(&rt, &ferry, "ost", &file, &digest);
    let slices = mock.stats().slices_received;
    mock.reset();
    let client = minimal_xfyun::Client::new(&mock.base_url(), &cfg.app_id, &cfg.api_key, &cfg.api_secret);
    let t = Instant::now();
    let url = rt.block_on(client.upload(&file, part));
    let min_secs = t.elapsed().as_secs_f64();
    assert_eq!(mock.stats().slices_received, slices, "the minimal client sent as many slices as Ferry");
    assert_eq!(mock.objects().into_iter().find(|o| o.url == url).expect("stored").sha1_hex, digest, "byte-exact");
    row(2, "iFlytek mock (8 MiB slices in order) vs minimal client", mibps(mib, ferry_secs), mibps(mib, min_secs), min_secs / ferry_secs, "≥ 0.90");
    row(2, "iFlytek mock vs curl -T → bare sink (transport ceiling)", mibps(mib, ferry_secs), mibps(mib, curl_secs), curl_secs / ferry_secs, "-");
    // Is the mock the bound? Its protocol work (signature, multipart parse, slice to disk)
    // against the bare sink, without Ferry: a low ratio here means the mock, not Ferry, limits.
    row(2, "(no Ferry) iFlytek minimal client vs curl -T → bare sink", mibps(mib, min_secs), mibps(mib, curl_secs), curl_secs / min_secs, "-");
    ferry.accounts.remove("ost").unwrap();
    drop(mock);

    for mode in ["serial", "parallel"] {
        let parts_at_once = ferry_engine::transfer::EngineSettings::default().parts_per_file as usize;
        let (ferry_secs, at_once) = pds_ferry(&rt, &mock_rt, &ferry, &file, &digest, dir.path(), mode, &[]);
        let min_secs = pds_minimal(&rt, &mock_rt, &file, &digest, dir.path(), mode, part, parts_at_once, &[]);
        row(2, &format!("PDS mock, {mode} ({at_once} part(s) at once) vs minimal client"), mibps(mib, ferry_secs), mibps(mib, min_secs), min_secs / ferry_secs, "≥ 0.90");
    }
    dingtalk(&rt, &mock_rt, &ferry, &file, &digest, dir.path(), mib, part);
    feishu(&rt, &mock_rt, &ferry, &file, &digest, dir.path(), mib);

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

/// DingTalk: Ferry vs the minimal client, each against its own fresh mock.
#[allow(clippy::too_many_arguments)]
fn dingtalk(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, ferry: &Ferry, file: &Path, digest: &str, dir: &Path, mib: u64, part: u64) {
    let start = |name: &str| {
        let cfg = DingtalkConfig { data_dir: Some(dir.join(name)), ..DingtalkConfig::default() };
        mock_rt.block_on(DingtalkMock::start(cfg))
    };
    let mock = start("dingtalk-ferry");
    let cfg = mock.config().clone();
    add(
        ferry,
        "dt",
        ProviderKind::Dingtalk,
        Some(mock.base_url()),
        &[("app_key", &cfg.app_key), ("union_id", cfg.union_id()), ("space_id", &cfg.space_id)],
        &[("app_secret", &cfg.app_secret)],
    );
    let (ferry_secs, _) = ferry_upload(rt, ferry, "dt", file, digest);
    assert!(mock.files().iter().any(|f| f.sha1_hex == digest), "the mock's copy is byte-exact");
    ferry.accounts.remove("dt").unwrap();
    drop(mock);
    let mock = start("dingtalk-minimal");
    let at_once = ferry_engine::transfer::EngineSettings::default().parts_per_file as usize;
    let t = Instant::now();
    rt.block_on(minimal_dingtalk::upload(&mock.base_url(), mock.config(), file, part, at_once));
    let min_secs = t.elapsed().as_secs_f64();
    assert!(mock.files().iter().any(|f| f.sha1_hex == digest), "the mock's copy is byte-exact");
    drop(mock);
    row(2, &format!("DingTalk mock ({at_once} parts at once) vs minimal client"), mibps(mib, ferry_secs), mibps(mib, min_secs), min_secs / ferry_secs, "≥ 0.90");
}

/// Feishu: Ferry vs the minimal client (both paced at the documented rate), fresh mocks.
#[allow(clippy::too_many_arguments)]
fn feishu(rt: &tokio::runtime::Runtime, mock_rt: &tokio::runtime::Runtime, ferry: &Ferry, file: &Path, digest: &str, dir: &Path, mib: u64) {
    let folder = ferry_mock_providers::feishu::DEFAULT_FOLDER;
    let start = |name: &str| {
        let cfg = FeishuConfig { data_dir: Some(dir.join(name)), ..FeishuConfig::default() };
        mock_rt.block_on(FeishuMock::start(cfg))
    };
    let mock = start("feishu-ferry");
    let cfg = mock.config().clone();
    add(ferry, "fs", ProviderKind::Feishu, Some(mock.base_url()), &[("app_id", &cfg.app_id), ("parent_node", folder)], &[("app_secret", &cfg.app_secret)]);
    let (ferry_secs, job) = ferry_upload(rt, ferry, "fs", file, digest);
    let token = job.result.as_ref().and_then(|r| r.id.clone()).expect("a file_token");
    assert_eq!(mock.objects().into_iter().find(|o| o.file_token == token).expect("stored").sha1_hex, digest, "byte-exact");
    ferry.accounts.remove("fs").unwrap();
    drop(mock);
    let mock = start("feishu-minimal");
    let t = Instant::now();
    let token = rt.block_on(minimal_feishu::upload(&mock.base_url(), mock.config(), folder, file));
    let min_secs = t.elapsed().as_secs_f64();
    assert_eq!(mock.objects().into_iter().find(|o| o.file_token == token).expect("stored").sha1_hex, digest, "byte-exact");
    drop(mock);
    let block = cfg.block_size >> 20;
    row(2, &format!("Feishu mock ({block} MiB blocks, paced 4.5/s) vs minimal client"), mibps(mib, ferry_secs), mibps(mib, min_secs), min_secs / ferry_secs, "≥ 0.90");
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
    let file_id = rt.block_on(minimal_pds::upload(&mock.base_url(), mock.config(), file, part, mode == "parallel", at_once));
    let secs = t.elapsed().as_secs_f64();
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
