//! The proxy every provider's requests go through: `system` (the environment's
//! HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY, reqwest's default), `none`, or one
//! proxy URL (`http://`, `https://`, `socks5://`). The choice is a setting in SQLite,
//! shared by the window, `ferry run` and `ferry config`; its credentials live only in the
//! keyring, under one entry of their own.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::creds::{Secret, SecretStore};
use crate::error::{Error, Result};
use crate::queue::Queue;

/// The settings key (SQLite) and the field named in errors.
pub const KEY: &str = "proxy";
/// The keyring entry of the proxy's credentials, `user:password` (Basic's own form).
const CREDENTIALS_ID: &str = "settings/proxy";
const SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// As the environment says (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY).
    System,
    /// Straight to the provider, whatever the environment says.
    None,
    /// Through this proxy (never with userinfo: credentials are kept apart).
    Url(url::Url),
}

impl Proxy {
    /// Parses `system`, `none` or a proxy URL; a URL's userinfo comes back apart as
    /// credentials, so the URL itself can be stored and shown.
    pub fn parse(value: &str) -> Result<(Proxy, Option<Credentials>)> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "system" | "" => return Ok((Proxy::System, None)),
            "none" => return Ok((Proxy::None, None)),
            _ => {}
        }
        let bad = |why: &str| Error::invalid(KEY, format!("{why}: expected system, none or a URL such as http://host:3128, https://host:443 or socks5://host:1080"));
        let mut url = url::Url::parse(value).map_err(|_| bad("not a URL"))?;
        if !SCHEMES.contains(&url.scheme()) {
            return Err(bad(&format!("the scheme \"{}\" is not a proxy's", url.scheme())));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if url.port_or_known_default().is_none() {
            return Err(bad("the URL has no port"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a proxy URL is only scheme://host:port"));
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => {
                let decode = |s: &str| percent_decode(s).ok_or_else(|| bad("the credentials are not UTF-8"));
                let user = decode(user)?;
                if user.is_empty() || user.contains(':') {
                    return Err(bad("the proxy user name must be non-empty and without \":\""));
                }
                Some(Credentials { user, password: Secret::new(decode(password.unwrap_or(""))?) })
            }
        };
        // Cannot fail on a URL with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_path("");
        Ok((Proxy::Url(url), credentials))
    }

    /// The stored and shown form.
    pub fn as_setting(&self) -> String {
        match self {
            Proxy::System => "system".into(),
            Proxy::None => "none".into(),
            Proxy::Url(url) => url.as_str().trim_end_matches('/').to_owned(),
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|s| s.into_owned())
}

/// The proxy's user and password. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// A proxy with its credentials: what a client is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub proxy: Proxy,
    pub credentials: Option<Credentials>,
}

impl ProxyConfig {
    pub const SYSTEM: ProxyConfig = ProxyConfig { proxy: Proxy::System, credentials: None };
}

/// The setting as the window and `ferry config` show it: no credentials, only whether
/// some are saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ProxyView {
    /// `system`, `none` or the proxy's URL (without credentials).
    pub proxy: String,
    pub has_credentials: bool,
}

/// What the Settings form submits.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ProxyInput {
    /// `system`, `none` or a URL (`http://`, `https://`, `socks5://` host:port).
    pub proxy: String,
    pub credentials: CredentialsInput,
}

/// What to do with the saved proxy credentials. `Debug` never shows them.
#[derive(Clone, Deserialize, specta::Type)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CredentialsInput {
    /// Keep the saved ones (the form shows them only as "saved").
    Keep,
    Clear,
    Set {
        user: String,
        #[specta(type = String)]
        password: Secret,
    },
}

impl fmt::Debug for CredentialsInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialsInput::Keep => "Keep",
            CredentialsInput::Clear => "Clear",
            CredentialsInput::Set { .. } => "Set(<redacted>)",
        })
    }
}

/// What SQLite holds under [`KEY`]: the choice and the keyring entry of its credentials.
/// Each new set of credentials gets a new entry (so two data dirs never share one), and
/// a client is rebuilt whenever this changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    proxy: String,
    #[serde(default)]
    credentials: Option<String>,
}

impl Stored {
    fn stamp(&self) -> String {
        format!("{}#{}", self.proxy, self.credentials.as_deref().unwrap_or(""))
    }
}

/// The proxy setting over SQLite and the keyring.
#[derive(Clone)]
pub struct ProxySettings {
    queue: Queue,
    secrets: Arc<dyn SecretStore>,
}

impl ProxySettings {
    pub fn new(queue: Queue, secrets: Arc<dyn SecretStore>) -> Self {
        ProxySettings { queue, secrets }
    }

    fn stored(&self) -> Result<Stored> {
        let raw = self.queue.setting(KEY)?;
        Ok(raw.and_then(|v| serde_json::from_str::<Stored>(&v).ok()).unwrap_or(Stored { proxy: "system".into(), credentials: None }))
    }

    pub fn view(&self) -> Result<ProxyView> {
        let s = self.stored()?;
        Ok(ProxyView { proxy: s.proxy, has_credentials: s.credentials.is_some() })
    }

    /// What a built client depends on, read from SQLite only (cheap: the engine looks on
    /// every tick): it changes with the choice and with every new set of credentials.
    pub fn stamp(&self) -> Result<String> {
        Ok(self.stored()?.stamp())
    }

    /// `ferry config set proxy VALUE`: `system`, `none` or a URL. The URL is the whole
    /// truth: its userinfo become the saved credentials, and a URL without any clears them.
    pub fn set(&self, value: &str) -> Result<ProxyView> {
        let (proxy, credentials) = Proxy::parse(value)?;
        let change = match credentials {
            Some(Credentials { user, password }) => CredentialsInput::Set { user, password },
            None => CredentialsInput::Clear,
        };
        self.store(proxy, change)
    }

    /// The Settings form's save.
    pub fn save(&self, input: ProxyInput) -> Result<ProxyView> {
        let (proxy, in_url) = Proxy::parse(&input.proxy)?;
        let change = match in_url {
            Some(Credentials { user, password }) => CredentialsInput::Set { user, password },
            None => input.credentials,
        };
        self.store(proxy, change)
    }

    /// New credentials to the keyring first, then SQLite (the engine rebuilds its client
    /// once SQLite says so), then the old entry goes.
    fn store(&self, proxy: Proxy, change: CredentialsInput) -> Result<ProxyView> {
        let old = self.stored()?;
        let credentials = match (&proxy, change) {
            (Proxy::Url(_), CredentialsInput::Keep) => old.credentials.clone(),
            (Proxy::Url(_), CredentialsInput::Set { user, password }) => {
                if user.is_empty() || user.contains(':') {
                    return Err(Error::invalid("proxy_user", "the proxy user name must be non-empty and without \":\""));
                }
                let id = format!("{CREDENTIALS_ID}/{:016x}", rand::random::<u64>());
                self.secrets.set(&id, &Secret::new(format!("{user}:{}", password.expose())))?;
                Some(id)
            }
            // No proxy of our own, or one without credentials: none are kept.
            _ => None,
        };
        let next = Stored { proxy: proxy.as_setting(), credentials };
        if let Err(e) = self.queue.set_setting(KEY, &serde_json::to_string(&next).expect("serialises")) {
            if let Some(id) = next.credentials.filter(|id| Some(id) != old.credentials.as_ref()) {
                let _ = self.secrets.delete(&id);
            }
            return Err(e);
        }
        if let Some(id) = old.credentials.filter(|id| Some(id) != next.credentials.as_ref()) {
            if let Err(e) = self.secrets.delete(&id) {
                tracing::warn!("could not remove the old proxy credentials from the keyring: {e}");
            }
        }
        self.view()
    }

    /// The stored proxy with its credentials. Reads the keyring (a D-Bus call): call it
    /// off the async runtime. Returns the stamp it read with it.
    pub fn config(&self) -> Result<(String, ProxyConfig)> {
        let s = self.stored()?;
        let (proxy, _) = Proxy::parse(&s.proxy)?;
        let credentials = match (&proxy, &s.credentials) {
            (Proxy::Url(_), Some(id)) => {
                let saved = self.secrets.get(id)?.ok_or_else(|| {
                    Error::invalid(KEY, "the proxy's credentials are missing from the system keyring: enter them again in Settings or with `ferry config set proxy`")
                })?;
                let (user, password) = saved.expose().split_once(':').unwrap_or((saved.expose(), ""));
                Some(Credentials { user: user.to_owned(), password: Secret::new(password) })
            }
            _ => None,
        };
        Ok((s.stamp(), ProxyConfig { proxy, credentials }))
    }

    /// A client for the stored proxy (reads the keyring: off the async runtime).
    pub fn client(&self) -> Result<reqwest::Client> {
        let (_, config) = self.config()?;
        crate::providers::http::client(&config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::creds::MemorySecrets;
    use crate::Ferry;

    #[test]
    fn parses_the_three_choices_and_splits_credentials_off() {
        assert_eq!(Proxy::parse("system").unwrap(), (Proxy::System, None));
        assert_eq!(Proxy::parse(" NONE ").unwrap(), (Proxy::None, None));
        let (p, c) = Proxy::parse("http://127.0.0.1:3128").unwrap();
        assert_eq!((p.as_setting(), c), ("http://127.0.0.1:3128".to_owned(), None));
        let (p, c) = Proxy::parse("socks5://proxy.example:1080/").unwrap();
        assert_eq!((p.as_setting(), c), ("socks5://proxy.example:1080".to_owned(), None));
        // The default port of https is kept implicit; the URL shown has no userinfo.
        let (p, c) = Proxy::parse("https://al%40ice:p%3Ass:w@proxy.example").unwrap();
        assert_eq!(p.as_setting(), "https://proxy.example");
        let c = c.unwrap();
        assert_eq!((c.user.as_str(), c.password.expose()), ("al@ice", "p:ss:w"));
        assert_eq!(format!("{c:?}"), "Credentials(<redacted>)");
        let (_, c) = Proxy::parse("http://u@h:1").unwrap();
        assert_eq!(c.unwrap().password.expose(), "");
    }

    #[test]
    fn refuses_what_is_not_a_proxy_naming_the_field() {
        for bad in ["ftp://h:21", "proxy.example:3128", "http://", "socks5://h", "http://h:1/path", "http://h:1?q", "http://:pw@h:1", "file:///tmp"] {
            let e = Proxy::parse(bad).unwrap_err();
            assert_eq!(e.field(), Some(KEY), "{bad}: {e}");
            assert!(e.is_usage(), "{bad}");
        }
        assert!(Proxy::parse("ftp://h:21").unwrap_err().to_string().contains("\"ftp\""));
    }

    fn settings() -> (tempfile::TempDir, ProxySettings, Arc<MemorySecrets>) {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Arc::new(MemorySecrets::default());
        let ferry = Ferry::with_secrets(dir.path().join("data"), secrets.clone()).unwrap();
        (dir, ProxySettings::new(ferry.queue.clone(), secrets.clone()), secrets)
    }

    #[test]
    fn credentials_go_to_the_keyring_and_the_stamp_follows_every_change() {
        let (dir, p, secrets) = settings();
        assert_eq!(p.view().unwrap(), ProxyView { proxy: "system".into(), has_credentials: false });
        let s0 = p.stamp().unwrap();
        let v = p.set("http://me:hunter2@127.0.0.1:3128").unwrap();
        assert_eq!(v, ProxyView { proxy: "http://127.0.0.1:3128".into(), has_credentials: true });
        let saved: Vec<String> = secrets.map.lock().unwrap().values().cloned().collect();
        assert_eq!(saved, ["me:hunter2"], "one keyring entry");
        let s1 = p.stamp().unwrap();
        assert_ne!(s0, s1);
        assert!(!s1.contains("hunter2"));
        let stored = p.queue.setting(KEY).unwrap().unwrap();
        assert!(!stored.contains("hunter2") && !stored.contains("me:"), "{stored}");
        let (_, config) = p.config().unwrap();
        assert_eq!(config.credentials.unwrap().password.expose(), "hunter2");

        // A new password for the same URL is a new stamp: the engine rebuilds its client.
        p.set("http://me:changed@127.0.0.1:3128").unwrap();
        let s2 = p.stamp().unwrap();
        assert_ne!(s1, s2);
        assert_eq!(secrets.map.lock().unwrap().len(), 1, "the old entry is gone");
        // The form's "keep" keeps them; a wrong user name is refused naming its field.
        let keep = ProxyInput { proxy: "http://127.0.0.1:3129".into(), credentials: CredentialsInput::Keep };
        assert!(p.save(keep).unwrap().has_credentials);
        let bad = ProxyInput { proxy: "http://127.0.0.1:3129".into(), credentials: CredentialsInput::Set { user: "a:b".into(), password: Secret::new("x") } };
        assert_eq!(format!("{bad:?}"), r#"ProxyInput { proxy: "http://127.0.0.1:3129", credentials: Set(<redacted>) }"#);
        assert_eq!(p.save(bad).unwrap_err().field(), Some("proxy_user"));
        // `none` drops them from the keyring too.
        assert_eq!(p.set("none").unwrap(), ProxyView { proxy: "none".into(), has_credentials: false });
        assert!(secrets.map.lock().unwrap().is_empty());
        assert_eq!(p.config().unwrap().1, ProxyConfig { proxy: Proxy::None, credentials: None });
        // Nothing of the password reached the database file.
        drop(p);
        for file in ["ferry.db", "ferry.db-wal"] {
            let db = std::fs::read(dir.path().join("data").join(file)).unwrap_or_default();
            assert!(!db.windows(7).any(|w| w == b"hunter2"), "password in {file}");
        }
    }

    #[test]
    fn a_client_with_credentials_does_not_show_them() {
        let config = ProxyConfig {
            proxy: Proxy::parse("http://127.0.0.1:3128").unwrap().0,
            credentials: Some(Credentials { user: "me".into(), password: Secret::new("hunter2") }),
        };
        let client = crate::providers::http::client(&config).unwrap();
        let shown = format!("{client:?}");
        // The client does list its proxy, but without the credentials.
        assert!(shown.contains("127.0.0.1:3128") && !shown.contains("hunter2") && !shown.contains("me:"), "{shown}");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("\"me\""), "{shown}");
        for c in ["system", "none", "socks5://127.0.0.1:1080", "https://127.0.0.1:443"] {
            crate::providers::http::client(&ProxyConfig { proxy: Proxy::parse(c).unwrap().0, credentials: None }).unwrap();
        }
    }

    /// A SOCKS5 server with user/password auth (RFC 1928 + 1929), CONNECT only: returns
    /// its port and the (user, password) pairs it was offered.
    async fn socks5() -> (u16, Arc<std::sync::Mutex<Vec<(String, String)>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut b = [0u8; 2];
                    c.read_exact(&mut b).await?;
                    let mut methods = vec![0u8; b[1] as usize];
                    c.read_exact(&mut methods).await?;
                    if !methods.contains(&2) {
                        return c.write_all(&[5, 0xff]).await;
                    }
                    c.write_all(&[5, 2]).await?;
                    let read = |len: u8| vec![0u8; len as usize];
                    let mut v = [0u8; 2];
                    c.read_exact(&mut v).await?;
                    let mut user = read(v[1]);
                    c.read_exact(&mut user).await?;
                    let mut l = [0u8; 1];
                    c.read_exact(&mut l).await?;
                    let mut pass = read(l[0]);
                    c.read_exact(&mut pass).await?;
                    log.lock().unwrap().push((String::from_utf8_lossy(&user).into_owned(), String::from_utf8_lossy(&pass).into_owned()));
                    c.write_all(&[1, 0]).await?;
                    let mut req = [0u8; 4];
                    c.read_exact(&mut req).await?;
                    let addr = match req[3] {
                        1 => {
                            let mut a = [0u8; 6];
                            c.read_exact(&mut a).await?;
                            std::net::SocketAddr::from((std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]), u16::from_be_bytes([a[4], a[5]])))
                        }
                        _ => return c.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await,
                    };
                    let mut up = tokio::net::TcpStream::connect(addr).await?;
                    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
                    tokio::io::copy_bidirectional(&mut c, &mut up).await.map(|_| ())
                });
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn socks5_with_credentials_carries_requests() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let site_port = site.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = site.accept().await {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf).await;
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello!").await;
            }
        });
        let (port, seen) = socks5().await;
        let (proxy, credentials) = Proxy::parse(&format!("socks5://me:hunter2@127.0.0.1:{port}")).unwrap();
        let client = crate::providers::http::client(&ProxyConfig { proxy, credentials }).unwrap();
        let body = client.get(format!("http://127.0.0.1:{site_port}/x")).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "hello!");
        assert_eq!(*seen.lock().unwrap(), [("me".to_owned(), "hunter2".to_owned())], "the request went through the SOCKS5 proxy with its credentials");
    }
}
