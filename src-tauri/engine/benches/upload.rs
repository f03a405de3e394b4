//! Upload throughput on loopback, measured against baselines in the same run:
//! a bare SHA-1 of the file, `curl -T` of the file to the mock's plain sink, then Ferry's
//! engine uploading the same file to `local` and, through the iFlytek provider, to the
//! strict iFlytek mock. Run it with `scripts/bench.sh` (it provides the keyring).
//!
//! Env: FERRY_BENCH_SIZE_MIB (default 1024), FERRY_BENCH_DIR (default a temp dir).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ferry_engine::accounts::{AccountInput, ProviderKind};
use ferry_engine::creds::Secret;
use ferry_engine::transfer::{Engine, NoProgress};
use ferry_engine::Ferry;
use ferry_mock_providers::{XfyunConfig, XfyunMock};

fn main() {
    let mib: u64 = std::env::var("FERRY_BENCH_SIZE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let size = mib << 20;
    let base = std::env::var_os("FERRY_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let file = dir.path().join("bench.bin");
    write_file(&file, size);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mock_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = mock_rt.block_on(XfyunMock::start(XfyunConfig { data_dir: Some(dir.path().join("mock")), ..XfyunConfig::default() }));

    println!("Ferry upload benchmark: {mib} MiB file on loopback, {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!("{:<44} {:>10} {:>12}", "what", "seconds", "MiB/s");
    let report = |what: &str, secs: f64| println!("{what:<44} {secs:>10.2} {:>12.0}", mib as f64 / secs);

    let t = Instant::now();
    let digest = ferry_engine::hashing::sha1_file(&file).unwrap();
    report("bare SHA-1 of the file (sha1 crate)", t.elapsed().as_secs_f64());

    let sink = format!("{}/__sink", mock.base_url());
    let t = Instant::now();
    let status = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-T"])
        .arg(&file)
        .arg(&sink)
        .status()
        .expect("curl is installed");
    assert!(status.success());
    report("curl -T to the mock's sink (baseline)", t.elapsed().as_secs_f64());

    // The disk's own speed bounds any upload to `local`: copy + fsync is that baseline.
    let copy = dir.path().join("copy.bin");
    let t = Instant::now();
    std::fs::copy(&file, &copy).unwrap();
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    report("cp + fsync of the file (disk baseline for local)", t.elapsed().as_secs_f64());
    std::fs::remove_file(&copy).unwrap();

    let ferry = Ferry::open(dir.path().join("data")).unwrap();
    let dest = dir.path().join("dest");
    add(&ferry, "disk", ProviderKind::Local, None, &[("root", dest.to_str().unwrap())], &[]);
    let cfg = mock.config().clone();
    let endpoint = mock.base_url();
    add(
        &ferry,
        "ost",
        ProviderKind::Xfyun,
        Some(endpoint),
        &[("app_id", &cfg.app_id), ("oneshot_max_bytes", "1")],
        &[("api_key", &cfg.api_key), ("api_secret", &cfg.api_secret)],
    );

    for (account, what) in [("disk", "Ferry → local (parts, fsync per part)"), ("ost", "Ferry → iFlytek mock (signed 8 MiB slices)")] {
        let a = ferry.accounts.get(account).unwrap();
        let queued = ferry_engine::enqueue::enqueue_paths(&ferry, &a, &[file.clone()], "").unwrap();
        let id = queued.queued[0].id;
        let engine = Engine::new(&ferry, Arc::new(NoProgress)).unwrap();
        let t = Instant::now();
        let run = rt.block_on(engine.run(true)).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(run.failed.is_empty(), "the upload failed: {:?}", ferry.queue.view(id));
        let job = ferry.queue.view(id).unwrap();
        assert_eq!(job.sha1.as_deref(), Some(digest.as_str()), "byte-exact");
        report(what, secs);
    }
    for a in ["disk", "ost"] {
        ferry.accounts.remove(a).unwrap();
    }

    pds_serial_vs_parallel(&rt, &mock_rt, &ferry, &file, &digest, dir.path(), &report);
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

// ---- PDS: serial vs parallel mode (issue #6) ----------------------------------------------
// The same file through the PDS provider in each mode, each mode against its own fresh mock
// (a mock that already held the content would answer with a rapid upload). Serial sends one
// part at a time, in order; parallel hashes the file once for the SHA-1 mid-states, then
// sends `parts_per_file` parts at once.

fn pds_serial_vs_parallel(
    rt: &tokio::runtime::Runtime,
    mock_rt: &tokio::runtime::Runtime,
    ferry: &Ferry,
    file: &Path,
    digest: &str,
    dir: &Path,
    report: &dyn Fn(&str, f64),
) {
    use ferry_mock_providers::{PdsConfig, PdsMock};
    let parts_at_once = ferry_engine::transfer::EngineSettings::default().parts_per_file;
    for mode in ["serial", "parallel"] {
        let data_dir = dir.join(format!("pds-{mode}"));
        let mock = mock_rt.block_on(PdsMock::start(PdsConfig { data_dir: Some(data_dir.clone()), ..PdsConfig::default() }));
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
        let a = ferry.accounts.get(&name).unwrap();
        let id = ferry_engine::enqueue::enqueue_paths(ferry, &a, &[file.to_path_buf()], "").unwrap().queued[0].id;
        let engine = Engine::new(ferry, Arc::new(NoProgress)).unwrap();
        let t = Instant::now();
        let run = rt.block_on(engine.run(true)).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(run.failed.is_empty(), "the PDS {mode} upload failed: {:?}", ferry.queue.view(id));
        let job = ferry.queue.view(id).unwrap();
        assert_eq!(job.sha1.as_deref(), Some(digest), "byte-exact");
        let stored = mock.files().into_iter().find(|f| Some(&f.file_id) == job.result.as_ref().and_then(|r| r.id.as_ref())).expect("the mock holds the file");
        assert_eq!(stored.sha1, digest, "the mock's copy is byte-exact");
        let at_once = mock.stats().max_concurrent_parts_per_upload;
        let what = match mode {
            "serial" => format!("Ferry → PDS mock, serial ({at_once} part at a time)"),
            _ => format!("Ferry → PDS mock, parallel ({at_once} of {parts_at_once} parts at once)"),
        };
        report(&what, secs);
        ferry.accounts.remove(&name).unwrap();
        drop(mock);
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}
