//! The proxy setting end to end: uploads go through a proxy on loopback once `ferry config
//! set proxy URL` says so, and stop going through it with `none`, while one `ferry run`
//! keeps running; its credentials reach the proxy and nothing else.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ferry_mock_providers::XfyunConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::support::*;

/// A tiny HTTP proxy: CONNECT tunnels and absolute-form forwarding (what reqwest sends
/// to an http proxy for an `http://` target). It demands Basic credentials (407 without
/// them, as a real proxy does) and counts what it relayed.
pub(super) struct TestProxy {
    pub port: u16,
    pub stats: Arc<ProxyStats>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Default)]
pub(super) struct ProxyStats {
    /// Requests relayed (absolute-form requests and CONNECT tunnels).
    pub relayed: AtomicU64,
    /// Bytes relayed from the client to the server.
    pub bytes_up: AtomicU64,
    /// Requests refused for missing or wrong credentials.
    pub refused: AtomicU64,
    /// Every Proxy-Authorization value seen.
    pub auth_seen: Mutex<Vec<String>>,
    /// Request lines relayed, e.g. "POST /upload".
    pub lines: Mutex<Vec<String>>,
}

impl TestProxy {
    pub fn start(user: &str, password: &str) -> TestProxy {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(ProxyStats::default());
        let want = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        let st = stats.clone();
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, st.clone(), want.clone()));
            }
        });
        TestProxy { port, stats, _rt: rt }
    }

    pub fn relayed(&self) -> u64 {
        self.stats.relayed.load(Ordering::SeqCst)
    }
}

/// One client connection: one request (absolute-form, forwarded with `Connection: close`
/// so the client opens a new connection for the next one) or one CONNECT tunnel.
async fn serve(mut client: TcpStream, stats: Arc<ProxyStats>, want: String) {
    let Some((head, rest)) = read_head(&mut client).await else { return };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or("HTTP/1.1"));
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let auth = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization")).map(|(_, v)| v.clone());
    if let Some(a) = &auth {
        stats.auth_seen.lock().unwrap().push(a.clone());
    }
    if auth.as_deref() != Some(want.as_str()) {
        stats.refused.fetch_add(1, Ordering::SeqCst);
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let Ok(mut server) = TcpStream::connect(target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").await;
            return;
        };
        stats.relayed.fetch_add(1, Ordering::SeqCst);
        stats.lines.lock().unwrap().push(format!("CONNECT {target}"));
        let _ = client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await;
        // Counted as they pass (before they are forwarded, so the count is never behind what
        // the server got): a tunnel may stay open in the client's pool long after its upload.
        stats.bytes_up.fetch_add(rest.len() as u64, Ordering::SeqCst);
        if server.write_all(&rest).await.is_err() {
            return;
        }
        relay(client, server, &stats.bytes_up).await;
        return;
    }
    // Absolute form: http://host:port/path → connect to host:port, send /path.
    let Some(after) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
        return;
    };
    let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
    let path = if path.is_empty() { "/" } else { path };
    let Ok(mut server) = TcpStream::connect(authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
        return;
    };
    stats.relayed.fetch_add(1, Ordering::SeqCst);
    stats.lines.lock().unwrap().push(format!("{method} {}", path.split('?').next().unwrap_or(path)));
    let mut out = format!("{method} {path} {version}\r\n");
    for (k, v) in &headers {
        let hop = ["proxy-authorization", "proxy-connection", "connection", "keep-alive"];
        if !hop.iter().any(|h| k.eq_ignore_ascii_case(h)) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    if server.write_all(out.as_bytes()).await.is_err() || server.write_all(&rest).await.is_err() {
        return;
    }
    stats.bytes_up.fetch_add(rest.len() as u64, Ordering::SeqCst);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = cr.read(&mut buf).await {
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            stats.bytes_up.fetch_add(n as u64, Ordering::SeqCst);
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::pin!(down);
    // The server closes after its answer (Connection: close): that ends the exchange.
    tokio::select! {
        _ = up => (&mut down).await,
        _ = &mut down => {}
    }
}

/// Reads up to the end of the request head; returns it and the bytes read past it.
/// Pipes `client` ↔ `server` until both sides close, counting the bytes sent up as they
/// pass (the proxy's tunnel and the TLS front both need the figure).
pub(super) async fn relay<C, S>(client: C, server: S, bytes_up: &AtomicU64)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(server);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = cr.read(&mut buf).await {
            bytes_up.fetch_add(n as u64, Ordering::SeqCst);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

async fn read_head(sock: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Some((head, buf[end + 4..].to_vec()));
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub(super) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const MIB: u64 = 1 << 20;
const PASSWORD: &str = "pr0xy-Secret-9f3k";

#[test]
fn the_proxy_setting_reaches_a_running_engine_and_its_password_nothing_else() {
    assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let proxy = TestProxy::start("ferry-user", PASSWORD);
    // Sliced uploads: several requests per file, each of which must take the proxy.
    s.add_xfyun("ost", &x.mock, &["oneshot_max_bytes=1"]);
    s.config("part_size", &(5 * MIB).to_string());
    assert_eq!(s.run(&["config", "get", "proxy"], "").ok().stdout().trim(), "system");

    // The environment asks to bypass loopback and names no proxy: `system` goes direct,
    // and a proxy chosen in Settings must not be bypassed by NO_PROXY.
    let mut run = s.command(&["run"]);
    for k in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        run.env_remove(k);
    }
    run.env("NO_PROXY", "127.0.0.1,localhost,::1").stdout(Stdio::null()).stderr(Stdio::null());
    let mut run = Background(run.spawn().unwrap());

    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let upload = |name: &str, size: u64, seed: u64| -> (serde_json::Value, String) {
        let path = src.join(name);
        let sha1 = write_random(&path, size, seed);
        let id = s.upload(&[&path], "ost")[0];
        let job = s.wait_job(id, 120, "finish", |j| j["state"] == "done" || j["state"] == "failed");
        assert_eq!(job["state"], "done", "{name}: {job}");
        let url = job["result"]["url"].as_str().unwrap().to_owned();
        assert_eq!(x.sha1_of(&url), sha1, "{name}: the bytes at the mock are the file's");
        (job, sha1)
    };

    // 1. system (no proxy in the environment): straight to the mock.
    upload("direct.bin", 3 * MIB, 1);
    assert_eq!(proxy.relayed(), 0, "nothing went through the proxy yet");

    // 2. A proxy URL with credentials, set in the middle of an upload while `ferry run`
    // keeps running: the rest of that upload goes through it. One part at a time at
    // 1 MiB/s, switched once the first of three parts is acknowledged.
    s.config("parts_per_file", "1");
    s.config("bandwidth", &MIB.to_string());
    let path = src.join("switched.bin");
    let sha1 = write_random(&path, 12 * MIB + 7, 2);
    let id = s.upload(&[&path], "ost")[0];
    s.wait_job(id, 120, "acknowledge its first part", |j| j["parts_done"].as_u64() >= Some(1));
    let set = s.run(&["config", "set", "proxy", &format!("http://ferry-user:{PASSWORD}@127.0.0.1:{}", proxy.port)], "").ok();
    let job = s.wait_job(id, 120, "finish", |j| j["state"] == "done" || j["state"] == "failed");
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["parts_total"], 3, "{job}");
    assert_eq!(x.sha1_of(job["result"]["url"].as_str().unwrap()), sha1, "the switched upload is byte-exact at the mock");
    let lines = proxy.stats.lines.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.ends_with("/file/mpupload/complete")), "the upload's end went through the proxy: {lines:?}");
    assert!(lines.iter().any(|l| l.ends_with("/file/mpupload/upload")), "its later parts did: {lines:?}");
    assert!(!lines.iter().any(|l| l.ends_with("/file/mpupload/init")), "its start did not: {lines:?}");
    s.config("parts_per_file", "4");
    s.config("bandwidth", "0");

    let shown = format!("http://127.0.0.1:{}", proxy.port);
    assert_eq!(set.stdout().trim(), format!("proxy={shown}"));
    assert_eq!(s.run(&["config", "get", "proxy"], "").ok().stdout().trim(), shown);
    let list = s.run(&["config", "list"], "").ok().stdout();
    assert!(list.lines().any(|l| l == format!("proxy={shown}")), "{list}");

    // 3. A whole upload through the proxy.
    let (before, bytes_before) = (proxy.relayed(), proxy.stats.bytes_up.load(Ordering::SeqCst));
    let size = 12 * MIB + 7;
    let (job, _) = upload("proxied.bin", size, 4);
    let relayed = proxy.relayed();
    let lines = proxy.stats.lines.lock().unwrap()[before as usize..].to_vec();
    // init + 3 slices + complete, at least: every call of the upload went through it.
    assert!(relayed - before >= 5, "the upload's requests went through the proxy: {lines:?}");
    assert!(lines.iter().any(|l| l.ends_with("/file/mpupload/init")), "{lines:?}");
    assert!(proxy.stats.bytes_up.load(Ordering::SeqCst) - bytes_before >= size, "the file's bytes went through the proxy");
    assert_eq!(proxy.stats.refused.load(Ordering::SeqCst), 0, "every request carried the credentials");
    let seen = proxy.stats.auth_seen.lock().unwrap().clone();
    let want = format!("Basic {}", base64(format!("ferry-user:{PASSWORD}").as_bytes()));
    assert!(!seen.is_empty() && seen.iter().all(|a| *a == want), "{seen:?}");
    assert_eq!(job["parts_total"], 3, "{job}");

    // 4. none: the next upload goes direct, the same `ferry run` still running.
    assert_eq!(s.run(&["config", "set", "proxy", "none"], "").ok().stdout().trim(), "proxy=none");
    upload("after.bin", 6 * MIB, 3);
    assert_eq!(proxy.relayed(), relayed, "nothing more went through the proxy");
    assert!(run.try_wait().unwrap().is_none(), "the same ferry run did all four");

    // The password is in none of the database, the logs or any output.
    let mut outputs: HashMap<&str, String> = HashMap::new();
    outputs.insert("config list", s.run(&["config", "list"], "").ok().stdout());
    outputs.insert("config set", set.stdout() + &set.stderr());
    outputs.insert("queue", s.run(&["queue", "--json"], "").ok().stdout());
    outputs.insert("logs", s.logs());
    for (what, text) in &outputs {
        assert!(!text.contains(PASSWORD), "the proxy password is in {what}");
    }
    for (path, bytes) in s.sqlite_files() {
        assert!(!contains(&bytes, PASSWORD.as_bytes()), "the proxy password is in {}", path.display());
    }
    let logs = s.logs();
    assert!(logs.contains("HTTP client built for the proxy setting"), "the rebuild is logged");
    assert!(logs.contains("the proxy setting changed: uploads in progress continue through the new one"), "the switch is logged");
    let _ = run.kill();
}

#[test]
fn a_bad_proxy_is_refused_naming_the_field() {
    let s = Sandbox::new();
    for bad in ["ftp://127.0.0.1:21", "127.0.0.1:3128", "socks5://127.0.0.1", "http://127.0.0.1:3128/path"] {
        let r = s.run(&["config", "set", "proxy", bad], "");
        assert_eq!(r.code(), 2, "{bad}: {}", r.stderr());
        assert!(r.stderr().contains("proxy"), "{bad}: {}", r.stderr());
    }
    assert_eq!(s.run(&["config", "get", "proxy"], "").ok().stdout().trim(), "system", "nothing was stored");
    for good in ["socks5://127.0.0.1:1080", "https://127.0.0.1:8443", "system"] {
        assert_eq!(s.run(&["config", "set", "proxy", good], "").ok().stdout().trim(), format!("proxy={good}"));
    }
}

#[test]
fn system_follows_the_environment_and_none_ignores_it() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let proxy = TestProxy::start("env-user", "env-pass");
    s.add_xfyun("ost", &x.mock, &[]);
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // `ferry run --until-idle` with the environment's proxy (credentials in its URL, as
    // HTTP_PROXY allows) and no exceptions.
    let run = |seed: u64| {
        let path = src.join(format!("f{seed}.bin"));
        let sha1 = write_random(&path, MIB + seed, seed);
        let id = s.upload(&[&path], "ost")[0];
        s.run_with(&["run", "--until-idle"], "", |c| {
            for k in ["NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
                c.env_remove(k);
            }
            c.env("HTTP_PROXY", format!("http://env-user:env-pass@127.0.0.1:{}", proxy.port));
        })
        .ok();
        let job = s.job(id);
        assert_eq!(job["state"], "done", "{job}");
        assert_eq!(x.sha1_of(job["result"]["url"].as_str().unwrap()), sha1);
    };
    run(1);
    let relayed = proxy.relayed();
    assert!(relayed >= 1, "system: the upload took the environment's proxy");
    assert_eq!(proxy.stats.refused.load(Ordering::SeqCst), 0);
    s.config("proxy", "none");
    run(2);
    assert_eq!(proxy.relayed(), relayed, "none: the environment's proxy is ignored");
}
