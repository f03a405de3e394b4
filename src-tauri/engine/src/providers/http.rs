//! The HTTP client every provider shares (one connection pool per engine).

use std::time::Duration;

use super::body::{Motion, Stall};
use crate::proxy::{Proxy, ProxyConfig};

/// A client that goes through `proxy` (see [`crate::proxy`]).
pub fn client(proxy: &ProxyConfig) -> crate::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!("Ferry/", env!("CARGO_PKG_VERSION")))
        .redirect(same_origin_redirects());
    let builder = match &proxy.proxy {
        // reqwest reads HTTP(S)_PROXY / ALL_PROXY / NO_PROXY itself.
        Proxy::System => builder,
        Proxy::None => builder.no_proxy(),
        Proxy::Url(url) => {
            let bad = |e: reqwest::Error| crate::Error::invalid(crate::proxy::KEY, format!("cannot use this proxy: {}", e.without_url()));
            let mut p = reqwest::Proxy::all(url.as_str()).map_err(bad)?;
            if let Some(c) = &proxy.credentials {
                p = p.basic_auth(&c.user, c.password.expose());
            }
            // The chosen proxy takes every request: no exceptions from NO_PROXY, loopback included.
            builder.proxy(p.no_proxy(None))
        }
    };
    // A failure here is the TLS setup, not the proxy (a bad proxy URL is refused above):
    // most often no CA certificate could be loaded. reqwest's own text is just "builder
    // error", so the cause is taken from its sources.
    builder.build().map_err(|e| crate::Error::HttpClient(causes(e)))
}

/// An error's sources, outermost first, joined by ": " (the error's own text left out).
fn causes(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let mut out = Vec::new();
    let mut src = e.source();
    while let Some(s) = src {
        out.push(s.to_string());
        src = s.source();
    }
    if out.is_empty() {
        out.push(e.without_url().to_string());
    }
    out.join(": ")
}

/// Redirects are followed only within the same scheme, host and port: a token header
/// (DingTalk's `x-acs-dingtalk-access-token`, a bearer token) must never reach another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(url::Url::origin);
        if attempt.previous().len() > 5 {
            attempt.stop()
        } else if first.is_some_and(|o| o == attempt.url().origin()) {
            attempt.follow()
        } else {
            tracing::warn!("not following a redirect to another host");
            attempt.stop()
        }
    })
}

/// The deadline of a request without a file's bytes (a token, an API call): the answer period.
pub fn api_timeout() -> Duration {
    answer_period()
}

/// How long a body may stand still before its request is given up (env
/// `FERRY_STALL_SECS`, for tests; default a minute).
pub fn stall_period() -> Duration {
    secs_from_env("FERRY_STALL_SECS")
}

/// How long a server may take to answer once it has the whole request (env
/// `FERRY_ANSWER_SECS`, for tests; default a minute).
pub fn answer_period() -> Duration {
    secs_from_env("FERRY_ANSWER_SECS")
}

fn secs_from_env(key: &str) -> Duration {
    let secs = std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok()).filter(|s| *s > 0).unwrap_or(60);
    Duration::from_secs(secs)
}

/// Why a request that carried a body failed.
#[derive(Debug)]
pub enum SendError {
    Transport(reqwest::Error),
    Stalled(Stall),
    /// The answer was not what any provider sends (too large, too slow).
    Answer(String),
}

/// The largest answer read: providers answer a part or an API call with a few KiB of JSON.
pub const MAX_ANSWER: usize = 4 << 20;

/// Reads an answer's body: at most [`MAX_ANSWER`] bytes, within the answer period, so a
/// hostile or broken server can neither fill memory nor hold the request forever.
pub async fn answer_text(mut resp: reqwest::Response) -> Result<String, SendError> {
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(SendError::Transport)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(SendError::Answer(format!("the answer is larger than {} MiB", MAX_ANSWER >> 20)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    let period = answer_period();
    tokio::time::timeout(period, read).await.unwrap_or_else(|_| Err(SendError::Answer(format!("the answer did not arrive within {} s", period.as_secs()))))
}

/// Sends a request carrying a part's body. There is no deadline while its bytes keep
/// moving, however slow the link or low the bandwidth limit: it is given up only when
/// the body stands still for the stall period, or the server does not answer within the
/// answer period after the body went out. (A size-based deadline timed out every part
/// on slow uplinks.) The response's own body is read under the answer period.
pub async fn send(req: reqwest::RequestBuilder, motion: Motion) -> Result<reqwest::Response, SendError> {
    let (stall, answer) = (stall_period(), answer_period());
    let request = req.send();
    tokio::pin!(request);
    let mut check = tokio::time::interval(CHECK_EVERY.min(stall / 4));
    loop {
        tokio::select! {
            r = &mut request => return r.map_err(SendError::Transport),
            _ = check.tick() => {
                if let Some(why) = motion.stalled(stall, answer) {
                    return Err(SendError::Stalled(why));
                }
            }
        }
    }
}

const CHECK_EVERY: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-line HTTP server: answers every request with `answer(path)`, counting them.
    async fn serve(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (count, answer) = (hits.clone(), Arc::new(answer));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (count, answer) = (count.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = sock.write_all(answer(&path).as_bytes()).await;
                });
            }
        });
        (port, hits)
    }

    fn redirect(to: String) -> String {
        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    #[tokio::test]
    async fn redirects_stay_on_the_same_host() {
        let (other, other_hits) = serve(|_| "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()).await;
        let (port, _) = serve(move |path| match path {
            "/same" => redirect("/ok".into()),
            "/ok" => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into(),
            // localhost is another host than 127.0.0.1, as far as an origin goes.
            _ => redirect(format!("http://localhost:{other}/steal")),
        })
        .await;
        let client = super::client(&crate::proxy::ProxyConfig::SYSTEM).unwrap();
        let same = client.get(format!("http://127.0.0.1:{port}/same")).send().await.unwrap();
        assert_eq!((same.status().as_u16(), same.text().await.unwrap()), (200, "ok".to_owned()), "same-origin redirect followed");
        let cross = client
            .get(format!("http://127.0.0.1:{port}/cross"))
            .header("x-acs-dingtalk-access-token", "tok")
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status().as_u16(), 307, "the redirect to another host is answered, not followed");
        assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the other host never saw the request");
    }
}
