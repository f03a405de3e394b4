//! The storage host behind the signed URLs (§4): a grant per signed URL set, checked on PUT
//! (expiry, exactly the signed headers, no unsigned Content-Type, a Content-Length, never the
//! DingTalk token), the body streamed to disk.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha1::Sha1;

use super::errors::oss_error;
use super::gateway::TOKEN_HEADER;
use super::App;

/// What one signature allows: a PUT of part `part` (0 = single-shot object) of `key`.
#[derive(Clone)]
struct Grant {
    key: String,
    part: u32,
    expires: Instant,
    headers: Vec<(String, String)>,
}

#[derive(Default)]
pub(crate) struct Grants {
    by_signature: Mutex<HashMap<String, Grant>>,
}

impl Grants {
    pub(crate) fn clear(&self) {
        self.by_signature.lock().clear();
    }
}

const ACCESS_KEY_ID: &str = "LTAI5tMockDingTalkOss";
const SIGNING_SECRET: &[u8] = b"mock-oss-signing-secret";

impl App {
    /// A `headerSignatureInfo` object (§3) for part `part` of `key`.
    pub(crate) fn sign(&self, key: &str, part: u32) -> Value {
        let ttl = self.cfg.url_ttl_secs;
        let date = httpdate::fmt_http_date(SystemTime::now());
        let signature = {
            let mut mac = Hmac::<Sha1>::new_from_slice(SIGNING_SECRET).expect("any key length");
            mac.update(
                format!("PUT\n{key}\n{part}\n{date}\n{}", super::store::next_seq()).as_bytes(),
            );
            BASE64.encode(mac.finalize().into_bytes())
        };
        let headers = vec![
            (
                "Authorization".to_owned(),
                format!("OSS {ACCESS_KEY_ID}:{signature}"),
            ),
            ("x-oss-date".to_owned(), date),
            (
                "x-oss-content-sha256".to_owned(),
                "UNSIGNED-PAYLOAD".to_owned(),
            ),
        ];
        let grant = Grant {
            key: key.to_owned(),
            part,
            expires: Instant::now() + self.cfg.url_real_ttl.unwrap_or(Duration::from_secs(ttl)),
            headers: headers.clone(),
        };
        let token = super::store::opaque(32);
        self.issued.record(&token);
        self.issued.record(&signature);
        self.grants.by_signature.lock().insert(token.clone(), grant);
        let base = self.base_url();
        let mut urls: Vec<String> = [super::PUT_PRIMARY_PATH, super::PUT_FALLBACK_PATH]
            .iter()
            .cycle()
            .take(self.cfg.urls_per_part.clamp(1, 10))
            .map(|p| format!("{base}{p}?Signature={token}"))
            .collect();
        if self.cfg.unreachable_first_url {
            urls.insert(0, format!("http://{}{}?Signature={token}", unreachable(), super::PUT_PRIMARY_PATH));
        }
        let headers: serde_json::Map<String, Value> = headers
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        json!({
            "resourceUrls": urls,
            "headers": headers,
            "expirationSeconds": ttl,
            "region": "ZHANGJIAKOU",
            "internalResourceUrls": [],
        })
    }
}

/// `PUT /oss/primary?Signature=…` (and `/oss/fallback`).
pub(crate) async fn put_object(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let grant = match check(&app, &query, &headers) {
        Ok(g) => g,
        Err(refusal) => {
            crate::body::drain(body).await;
            return refusal;
        }
    };
    let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    else {
        crate::body::drain(body).await;
        app.stats.update(|s| s.puts_refused += 1);
        return oss_error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        );
    };
    let (temp, size, etag) = match receive(&app, body).await {
        Some(r) => r,
        None => return StatusCode::BAD_REQUEST.into_response(), // the client went away
    };
    if size != length {
        app.stats.update(|s| s.puts_refused += 1);
        return oss_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "The request body is shorter than Content-Length.",
        );
    }
    match app.store.put_part(&grant.key, grant.part, temp, size) {
        Ok(()) => {}
        Err(None) => {
            return oss_error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            )
        }
        Err(Some(e)) => {
            return oss_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &e.to_string(),
            )
        }
    }
    app.stats.put_ok(&grant.key, grant.part, size);
    let mut resp = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A loopback address nothing listens on (bound, then released).
fn unreachable() -> std::net::SocketAddr {
    static ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        l.local_addr().expect("a bound address")
    })
}

/// The request's grant, if its signature is valid, unexpired and its headers are exactly
/// the signed ones.
#[allow(clippy::result_large_err)] // the refusal is the answer itself, built once per PUT
fn check(
    app: &App,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Grant, Response> {
    let refuse = |code: &str, message: &str| {
        app.stats.update(|s| s.puts_refused += 1);
        oss_error(StatusCode::FORBIDDEN, code, message)
    };
    let signature = query
        .get("Signature")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(grant) = app.grants.by_signature.lock().get(signature).cloned() else {
        return Err(refuse("AccessDenied", "The signature is not recognised."));
    };
    if Instant::now() >= grant.expires {
        app.stats.update(|s| s.puts_expired += 1);
        return Err(oss_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired.",
        ));
    }
    for (k, v) in &grant.headers {
        let sent: Vec<&[u8]> = headers
            .get_all(k.as_str())
            .iter()
            .map(|h| h.as_bytes())
            .collect();
        if sent != [v.as_bytes()] {
            return Err(refuse(
                "SignatureDoesNotMatch",
                &format!("The signed header {k} is missing or differs."),
            ));
        }
    }
    if headers.contains_key(header::CONTENT_TYPE) {
        return Err(refuse(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match: Content-Type was not part of the signed headers.",
        ));
    }
    if headers.contains_key(TOKEN_HEADER) {
        app.stats.update(|s| s.puts_refused += 1);
        return Err(oss_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "x-acs-dingtalk-access-token must not be sent to the storage host.",
        ));
    }
    Ok(grant)
}

/// Streams the body to a temp file; returns (file, size, SHA-1 hex), or None if the client
/// went away.
async fn receive(app: &App, body: Body) -> Option<(tempfile::TempPath, u64, String)> {
    use sha1::Digest;
    let file = tempfile::NamedTempFile::new_in(app.store.incoming_dir()).ok()?;
    let (file, temp) = file.into_parts();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = sha1::Sha1::new();
    let mut size = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.ok()?;
        if let Some(data) = frame.data_ref() {
            app.stats
                .update(|s| s.put_bytes_arrived += data.len() as u64);
            hasher.update(data);
            out.write_all(data).ok()?;
            size += data.len() as u64;
        }
    }
    out.flush().ok()?;
    Some((temp, size, crate::sink::hex(&hasher.finalize())))
}
