//! The object-storage side: pre-signed part URLs and `PUT` of a part's raw bytes (doc §4).
//!
//! A URL is `/data/part?uploadId&partNumber&Expires&OSSAccessKeyId&x-mock-issued&Signature`,
//! signed with a key only the mock knows. A PUT is refused when the URL was tampered with,
//! has expired (its `Expires`, or an `expire_upload_urls()` since it was issued), carries an
//! `Authorization` or a non-empty `Content-Type` header, or has no exact `Content-Length`.
//! Serial uploads take parts strictly in order (`PartNotSequential`, `PartAlreadyExist`);
//! parallel uploads check each part's bytes against the declared SHA-1 mid-states.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use sha2::Sha256;

use super::error::OssError;
use super::midstate::Running;
use super::store::StoredPart;
use super::App;
use crate::body;

pub const DATA_PATH: &str = "/data/part";

pub(crate) fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

pub(crate) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl App {
    fn signature(&self, upload_id: &str, part: u32, expires: u64, issued: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.url_key).expect("any key length");
        mac.update(format!("PUT\n{upload_id}\n{part}\n{expires}\n{issued}").as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// A pre-signed PUT URL for one part, valid for the configured lifetime.
    pub(crate) fn upload_url(&self, host: &str, upload_id: &str, part: u32) -> String {
        let expires = unix_secs() + self.cfg.upload_url_ttl.as_secs().max(1);
        // A URL issued after `expire_upload_urls()` is valid even within the same
        // millisecond (the expiry invalidates what was issued up to then, nothing later).
        let issued = unix_millis().max(self.urls_valid_from.load(std::sync::atomic::Ordering::Relaxed));
        let sig = self.signature(upload_id, part, expires, issued);
        self.issued.record(&sig);
        let prefix = crate::server::normalize_prefix(&self.cfg.path_prefix);
        format!(
            "http://{host}{prefix}{DATA_PATH}?uploadId={upload_id}&partNumber={part}&Expires={expires}&OSSAccessKeyId=LTAImock&x-mock-issued={issued}&Signature={sig}"
        )
    }
}

pub(crate) async fn put_part(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&app, &q, &headers, body).await {
        Ok(etag) => {
            let mut resp = ().into_response();
            if let Ok(v) = HeaderValue::from_str(&etag) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Checks the URL and headers, then stores the part; returns its ETag.
async fn receive(
    app: &App,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<String, OssError> {
    let field = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let (upload_id, part, expires, issued) = (
        field("uploadId"),
        field("partNumber").parse::<u32>(),
        field("Expires").parse::<u64>(),
        field("x-mock-issued").parse::<u64>(),
    );
    let (Ok(part), Ok(expires), Ok(issued)) = (part, expires, issued) else {
        drain(app, body).await;
        return Err(OssError::new(
            403,
            "AccessDenied",
            "The request is not a valid pre-signed part URL.",
        ));
    };
    if !constant_eq(
        &app.signature(upload_id, part, expires, issued),
        field("Signature"),
    ) {
        drain(app, body).await;
        return Err(OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    if headers.contains_key(header::AUTHORIZATION) {
        drain(app, body).await;
        app.stats.update(|s| s.header_rejections += 1);
        return Err(OssError::new(
            400,
            "InvalidArgument",
            "Authorization header is invalid with a pre-signed URL: send no Authorization header.",
        ));
    }
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| !v.as_bytes().is_empty())
    {
        drain(app, body).await;
        app.stats.update(|s| s.header_rejections += 1);
        return Err(OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided (the URL was signed with an empty Content-Type).",
        ));
    }
    if unix_secs() > expires
        || issued
            < app
                .urls_valid_from
                .load(std::sync::atomic::Ordering::Relaxed)
    {
        drain(app, body).await;
        app.stats.update(|s| s.expired_url_rejections += 1);
        return Err(OssError::new(403, "AccessDenied", "Request has expired."));
    }
    let declared: Option<u64> = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let Some(declared) = declared.filter(|_| !headers.contains_key(header::TRANSFER_ENCODING))
    else {
        drain(app, body).await;
        return Err(OssError::new(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ));
    };
    app.stats.update(|s| s.part_puts += 1);

    // Where this part's bytes start hashing from.
    let (mut hasher, count, parallel_next) = match begin(app, upload_id, part) {
        Ok(start) => start,
        Err(e) => {
            drain(app, body).await;
            return Err(e);
        }
    };
    let _in_flight = InFlight { app, upload_id };

    // Stream the body to disk, hashing as it comes.
    let mut temp = tempfile::NamedTempFile::new_in(app.store.incoming_dir()).map_err(io_error)?;
    let mut received = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        // A broken connection leaves nothing behind (the temp file is removed on drop).
        let frame = frame
            .map_err(|_| OssError::new(400, "IncompleteBody", "The request body was cut off."))?;
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
            app.stats
                .update(|s| s.part_bytes_received += data.len() as u64);
            hasher.update(data);
            temp.write_all(data).map_err(io_error)?;
        }
    }
    if received != declared {
        return Err(OssError::new(
            400,
            "IncompleteBody",
            format!("Received {received} bytes, Content-Length said {declared}."),
        ));
    }

    let mut digest = None;
    if let Some(next) = parallel_next {
        let part_size = {
            let inner = app.store.inner.lock();
            inner
                .uploads
                .get(upload_id)
                .and_then(|u| u.parallel.as_ref())
                .map_or(0, |p| p.part_size)
        };
        if part < count {
            if received != part_size {
                return Err(OssError::new(
                    400,
                    "InvalidPartSize",
                    format!("Part {part} has {received} bytes; every part but the last must have {part_size} bytes in a parallel upload."),
                ));
            }
            if hasher.state() != next {
                app.stats.update(|s| s.ctx_mismatches += 1);
                return Err(OssError::new(
                    400,
                    "InvalidDigest",
                    format!("The bytes of part {part} do not lead to the parallel_sha1_ctx declared for part {}.", part + 1),
                ));
            }
        } else {
            digest = Some(hasher.clone().finish());
        }
    }

    let mut inner = app.store.inner.lock();
    let Some(up) = inner.uploads.get_mut(upload_id) else {
        return Err(OssError::new(
            404,
            "NoSuchUpload",
            "The specified upload does not exist.",
        ));
    };
    if up.parallel.is_none() {
        if up.parts.contains_key(&part) {
            app.stats.update(|s| s.part_already_exist += 1);
            return Err(OssError::new(
                409,
                "PartAlreadyExist",
                "Part already exists: parts of a sequential upload cannot be replaced.",
            ));
        }
        up.serial = hasher;
    }
    temp.persist(up.part_path(part))
        .map_err(|e| io_error(e.error))?;
    let etag = format!(
        "\"{:032X}\"",
        (crate::pds::store::next_seq() as u128 * 0x9E37_79B9_7F4A_7C15) ^ received as u128
    );
    up.parts.insert(
        part,
        StoredPart {
            size: received,
            etag: etag.clone(),
            digest,
        },
    );
    app.stats.update(|s| {
        s.parts_accepted += 1;
        s.part_bytes_accepted += received;
    });
    Ok(etag)
}

/// Admits a PUT of `part`: the running hash it continues, the part count, and (parallel
/// mode) the mid-state its bytes must end in. Counts it in flight.
#[allow(clippy::type_complexity)]
fn begin(
    app: &App,
    upload_id: &str,
    part: u32,
) -> Result<(Running, u32, Option<Option<[u32; 5]>>), OssError> {
    let mut inner = app.store.inner.lock();
    let expired = app.upload_expired(&inner, upload_id);
    let Some(up) = inner.uploads.get_mut(upload_id).filter(|_| !expired) else {
        return Err(OssError::new(
            404,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        ));
    };
    if part == 0 || part > up.count {
        return Err(OssError::new(
            400,
            "InvalidArgument",
            format!("Part number must be an integer between 1 and {}.", up.count),
        ));
    }
    let start = match up.parallel_start(part) {
        Some((offset, ctx)) => {
            let next = up
                .parallel
                .as_ref()
                .and_then(|p| p.ctx.get(part as usize).copied());
            (Running::from_state(ctx, offset), up.count, Some(next))
        }
        None => {
            let next = up.parts.len() as u32 + 1;
            if part < next {
                app.stats.update(|s| s.part_already_exist += 1);
                return Err(OssError::new(
                    409,
                    "PartAlreadyExist",
                    "Part already exists: parts of a sequential upload cannot be replaced.",
                ));
            }
            if part > next {
                app.stats.update(|s| s.not_sequential_rejections += 1);
                return Err(OssError::new(
                    400,
                    "PartNotSequential",
                    format!(
                        "Part {part} is not uploaded sequentially: the next part must be {next}."
                    ),
                ));
            }
            (up.serial.clone(), up.count, None)
        }
    };
    up.in_flight += 1;
    let now = up.in_flight as u64;
    app.stats
        .update(|s| s.max_concurrent_parts_per_upload = s.max_concurrent_parts_per_upload.max(now));
    Ok(start)
}

/// Counts a PUT out of its upload's in-flight total, however it ends.
struct InFlight<'a> {
    app: &'a App,
    upload_id: &'a str,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(u) = self.app.store.inner.lock().uploads.get_mut(self.upload_id) {
            u.in_flight = u.in_flight.saturating_sub(1);
        }
    }
}

/// Reads and discards a refused body, counting its bytes as received.
async fn drain(app: &App, body: Body) {
    let n = body::drain(body).await;
    app.stats.update(|s| s.part_bytes_received += n);
}

fn io_error(e: std::io::Error) -> OssError {
    OssError::new(500, "InternalError", format!("storage failure: {e}"))
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
