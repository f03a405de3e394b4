//! Uploads over real TLS: a loopback TLS front (a test CA made at test start) over a plain
//! mock. The engine trusts that CA the standard way on Linux — reqwest's rustls verifier
//! (rustls-platform-verifier) loads the system roots through rustls-native-certs, which
//! reads only `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is set — so the product has no
//! switch for it. Through a proxy, an `https://` endpoint takes the CONNECT path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferry_mock_providers::XfyunConfig;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use super::proxy::{base64, TestProxy};
use super::support::*;

const MIB: u64 = 1 << 20;

/// A certificate authority made for one test.
struct TestCa(CertifiedIssuer<'static, KeyPair>);

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        TestCa(CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap())
    }

    /// Writes the CA's certificate as a PEM bundle (what `SSL_CERT_FILE` names).
    fn bundle(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.0.pem()).unwrap();
        path.to_owned()
    }

    /// A server certificate for `localhost` and 127.0.0.1, signed by this CA.
    fn server_cert(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = p.signed_by(&key, &self.0).unwrap();
        (vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
    }
}

/// Terminates TLS on 127.0.0.1 and pipes the decrypted stream to a plain mock.
struct TlsFront {
    port: u16,
    stats: Arc<FrontStats>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Default)]
struct FrontStats {
    /// Handshakes completed.
    sessions: AtomicU64,
    /// Handshakes that failed (the client refused the certificate, say).
    refused: AtomicU64,
    /// Decrypted bytes from clients.
    bytes_up: AtomicU64,
}

impl TlsFront {
    fn start(ca: &TestCa, backend: SocketAddr) -> TlsFront {
        let (chain, key) = ca.server_cert();
        // No ALPN: the client falls back to HTTP/1.1, what the plain mocks speak.
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(FrontStats::default());
        let st = stats.clone();
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (acceptor, st) = (acceptor.clone(), st.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(sock).await else {
                        st.refused.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    st.sessions.fetch_add(1, Ordering::SeqCst);
                    let Ok(plain) = TcpStream::connect(backend).await else { return };
                    super::proxy::relay(tls, plain, &st.bytes_up).await;
                });
            }
        });
        TlsFront { port, stats, _rt: rt }
    }

    /// The endpoint to give an account: by name, as a real one is (the certificate names it).
    fn base_url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

/// A `ferry` command with the roots in `bundle` (None: the system's) and no proxy or CA
/// settings from the test's own environment.
fn roots(c: &mut Command, bundle: Option<&Path>) {
    for k in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_DIR"] {
        c.env_remove(k);
    }
    match bundle {
        Some(b) => c.env("SSL_CERT_FILE", b),
        None => c.env_remove("SSL_CERT_FILE"),
    };
}

#[test]
fn uploads_over_tls_are_byte_exact_direct_and_through_a_proxys_connect_tunnel() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let ca = TestCa::new("Ferry test CA");
    let front = TlsFront::start(&ca, x.mock.addr());
    let bundle = ca.bundle(&s.dir.path().join("ca.pem"));
    let proxy = TestProxy::start("tls-user", "tls-pass");
    // Sliced: init, three parts and complete, each its own request.
    s.add_xfyun_at("tls", &x.mock, &front.base_url(), &["oneshot_max_bytes=1"]);
    s.config("part_size", &(5 * MIB).to_string());
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let size = 10 * MIB + 3;
    let upload = |name: &str, seed: u64| -> serde_json::Value {
        let path = src.join(name);
        let sha1 = write_random(&path, size, seed);
        let id = s.upload(&[&path], "tls")[0];
        let run = s.run_with(&["run", "--until-idle"], "", |c| roots(c, Some(&bundle)));
        let job = s.job(id);
        assert_eq!(job["state"], "done", "{name}: {job}\n{}", run.stderr());
        assert_eq!(run.code(), 0, "{}", run.stderr());
        assert_eq!(job["parts_total"], 3, "{job}");
        assert_eq!(x.sha1_of(job["result"]["url"].as_str().unwrap()), sha1, "{name}: the bytes at the mock are the file's");
        job
    };

    // a) Straight to the TLS front: every request of the upload was inside TLS sessions.
    upload("direct.bin", 1);
    assert!(front.stats.sessions.load(Ordering::SeqCst) >= 1);
    assert!(front.stats.bytes_up.load(Ordering::SeqCst) >= size, "the file's bytes came decrypted out of the TLS front");
    assert_eq!(front.stats.refused.load(Ordering::SeqCst), 0, "the engine trusted the test CA");
    assert_eq!(proxy.relayed(), 0);

    // b) Through the proxy: CONNECT tunnels to the endpoint's host, with the credentials,
    // carrying (encrypted) at least the file's bytes; nothing sent in the clear to the proxy.
    s.run(&["config", "set", "proxy", &format!("http://tls-user:tls-pass@127.0.0.1:{}", proxy.port)], "").ok();
    let (sessions, front_bytes) = (front.stats.sessions.load(Ordering::SeqCst), front.stats.bytes_up.load(Ordering::SeqCst));
    upload("tunnelled.bin", 2);
    let lines = proxy.stats.lines.lock().unwrap().clone();
    let target = format!("CONNECT localhost:{}", front.port);
    assert!(!lines.is_empty() && lines.iter().all(|l| *l == target), "only CONNECT tunnels to the endpoint: {lines:?}");
    assert_eq!(proxy.relayed(), lines.len() as u64);
    assert_eq!(proxy.stats.refused.load(Ordering::SeqCst), 0, "every CONNECT carried the credentials");
    let seen = proxy.stats.auth_seen.lock().unwrap().clone();
    let want = format!("Basic {}", base64(b"tls-user:tls-pass"));
    assert!(!seen.is_empty() && seen.iter().all(|a| *a == want), "{seen:?}");
    let tunnelled = proxy.stats.bytes_up.load(Ordering::SeqCst);
    assert!(tunnelled >= size, "the file's bytes went through the tunnels: {tunnelled}");
    assert!(front.stats.sessions.load(Ordering::SeqCst) > sessions, "the tunnels ended at the TLS front");
    assert!(front.stats.bytes_up.load(Ordering::SeqCst) - front_bytes >= size);

    // none: the next upload does not touch the proxy.
    assert_eq!(s.run(&["config", "set", "proxy", "none"], "").ok().stdout().trim(), "proxy=none");
    let relayed = proxy.relayed();
    upload("after.bin", 3);
    assert_eq!(proxy.relayed(), relayed, "nothing more went through the proxy");
    assert_eq!(proxy.stats.bytes_up.load(Ordering::SeqCst), tunnelled);
}

#[test]
fn a_certificate_the_engine_does_not_trust_fails_the_job_naming_it_and_the_queue_carries_on() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let ca = TestCa::new("Ferry test CA");
    let front = TlsFront::start(&ca, x.mock.addr());
    s.add_xfyun_at("tls", &x.mock, &front.base_url(), &[]);
    s.add_xfyun("plain", &x.mock, &[]);
    for (k, v) in [("retry_attempts", "1"), ("job_attempts", "1")] {
        s.config(k, v);
    }
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let (untrusted, after) = (src.join("untrusted.bin"), src.join("after.bin"));
    write_random(&untrusted, MIB, 1);
    let sha1 = write_random(&after, MIB, 2);
    let refused = s.upload(&[&untrusted], "tls")[0];
    let next = s.upload(&[&after], "plain")[0];

    // The system's roots (SSL_CERT_FILE unset): the test CA is not among them.
    let run = s.run_with(&["run", "--until-idle"], "", |c| roots(c, None));
    assert_eq!(run.code(), 1, "a job failed: {}", run.stderr());
    let job = s.job(refused);
    assert_eq!(job["state"], "failed", "{job}");
    let e = job["error"].as_str().unwrap();
    assert!(e.contains("untrusted.bin") && e.contains("certificate"), "names the file and the certificate problem: {e}");
    assert!(!e.contains("https://") && !e.contains("localhost:"), "names no URL: {e}");
    assert!(front.stats.refused.load(Ordering::SeqCst) >= 1, "the engine refused the handshake");
    assert_eq!(front.stats.sessions.load(Ordering::SeqCst), 0, "no request went out over an untrusted session");
    assert!(!s.logs().contains("panicked"));

    let job = s.job(next);
    assert_eq!(job["state"], "done", "the queue carried on: {job}");
    assert_eq!(x.sha1_of(job["result"]["url"].as_str().unwrap()), sha1);
}

#[test]
fn without_any_ca_certificate_a_job_fails_saying_so_not_blaming_the_proxy() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    let ca = TestCa::new("Ferry test CA");
    let front = TlsFront::start(&ca, x.mock.addr());
    s.add_xfyun_at("tls", &x.mock, &front.base_url(), &[]);
    let path = s.dir.path().join("nocerts.bin");
    write_random(&path, 1000, 1);
    let id = s.upload(&[&path], "tls")[0];
    // What a machine without its CA certificates (or with SSL_CERT_FILE naming a missing
    // file) has: no root at all, so no HTTP client can be built.
    let missing = s.dir.path().join("no-such-bundle.pem");
    let run = s.run_with(&["run", "--until-idle"], "", |c| roots(c, Some(&missing)));
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let job = s.job(id);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_kind"], "network", "{job}");
    let e = job["error"].as_str().unwrap();
    assert!(e.contains("nocerts.bin") && e.contains("cannot set up secure (HTTPS) connections") && e.contains("No CA certificates were loaded"), "{e}");
    assert!(e.contains("SSL_CERT_FILE"), "says where the roots come from: {e}");
    assert!(!e.contains("proxy"), "the proxy setting is not the cause: {e}");
    assert_eq!(front.stats.sessions.load(Ordering::SeqCst) + front.stats.refused.load(Ordering::SeqCst), 0, "nothing was sent");
}
