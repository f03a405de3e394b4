//! The gateway's HMAC-SHA256 header signature (doc §1), checked before any endpoint logic.
//!
//! Check order follows the Kong-style gateway the doc's messages come from: authorization
//! present → parsable → date valid and fresh → api_key known → signature matches. The digest is
//! not compared with the body (doc §1c), only required to be the signed string.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::App;
use crate::body;

/// The fixed list of signed items (doc §1a/§1b step 4).
pub(crate) const SIGNED_HEADERS: &str = "host date request-line digest";
pub(crate) const ALGORITHM: &str = "hmac-sha256";

pub(crate) const MSG_UNAUTHORIZED: &str = "Unauthorized";
pub(crate) const MSG_CANNOT_VERIFY: &str = "HMAC signature cannot be verified";
pub(crate) const MSG_NO_MATCH: &str = "HMAC signature does not match";
pub(crate) const MSG_BAD_DATE: &str = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication";

/// Why the gateway refused a request (doc §1e).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    MissingAuthorization,
    CannotBeVerified,
    InvalidDate,
    DoesNotMatch,
}

impl AuthFailure {
    fn status(self) -> StatusCode {
        match self {
            AuthFailure::InvalidDate => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn message(self) -> &'static str {
        match self {
            AuthFailure::MissingAuthorization => MSG_UNAUTHORIZED,
            AuthFailure::CannotBeVerified => MSG_CANNOT_VERIFY,
            AuthFailure::InvalidDate => MSG_BAD_DATE,
            AuthFailure::DoesNotMatch => MSG_NO_MATCH,
        }
    }
}

/// The credentials and clock tolerance one mock accepts.
pub(crate) struct Verifier<'a> {
    pub api_key: &'a str,
    pub api_secret: &'a str,
    pub clock_skew_secs: u64,
}

impl Verifier<'_> {
    /// Checks one request's signature headers; `path` is the URL path without query.
    pub(crate) fn verify(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Result<(), AuthFailure> {
        let authorization = headers
            .get("authorization")
            .ok_or(AuthFailure::MissingAuthorization)?;
        let auth = authorization
            .to_str()
            .ok()
            .and_then(parse_authorization)
            .ok_or(AuthFailure::CannotBeVerified)?;
        if auth.algorithm != ALGORITHM || auth.headers != SIGNED_HEADERS {
            return Err(AuthFailure::CannotBeVerified);
        }
        let date = header_str(headers, "date").ok_or(AuthFailure::InvalidDate)?;
        if !date_is_fresh(date, now, self.clock_skew_secs) {
            return Err(AuthFailure::InvalidDate);
        }
        if auth.api_key != self.api_key {
            return Err(AuthFailure::CannotBeVerified);
        }
        // Both are signed items; without them there is nothing to verify against.
        let host = header_str(headers, "host").ok_or(AuthFailure::CannotBeVerified)?;
        let digest = header_str(headers, "digest").ok_or(AuthFailure::CannotBeVerified)?;
        let origin = signature_origin(host, date, method, path, digest);
        if signature_matches(self.api_secret, &origin, &auth.signature) {
            Ok(())
        } else {
            Err(AuthFailure::DoesNotMatch)
        }
    }
}

/// `host: H\ndate: D\nPOST /path HTTP/1.1\ndigest: G` (doc §1b step 2).
pub(crate) fn signature_origin(
    host: &str,
    date: &str,
    method: &str,
    path: &str,
    digest: &str,
) -> String {
    format!("host: {host}\ndate: {date}\n{method} {path} HTTP/1.1\ndigest: {digest}")
}

fn signature_matches(secret: &str, origin: &str, signature_b64: &str) -> bool {
    let Ok(signature) = BASE64.decode(signature_b64) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(origin.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().filter(|v| !v.is_empty())
}

/// RFC 1123 GMT exactly (`Fri, 23 Apr 2021 02:35:47 GMT`) and within `skew_secs` of `now`.
fn date_is_fresh(date: &str, now: SystemTime, skew_secs: u64) -> bool {
    let Ok(at) = httpdate::parse_http_date(date) else {
        return false;
    };
    // parse_http_date also takes RFC 850 and asctime; the doc asks for RFC 1123 only.
    if httpdate::fmt_http_date(at) != date {
        return false;
    }
    let skew = at
        .duration_since(now)
        .or_else(|_| now.duration_since(at))
        .unwrap_or(Duration::MAX);
    skew.as_secs() <= skew_secs
}

/// The `authorization` fields, e.g. `api_key="k", algorithm="hmac-sha256", headers="…", signature="…"`.
struct AuthorizationFields {
    api_key: String,
    algorithm: String,
    headers: String,
    signature: String,
}

fn parse_authorization(value: &str) -> Option<AuthorizationFields> {
    let mut fields = HashMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (val, after) = after.trim_start().strip_prefix('"')?.split_once('"')?;
        if fields.insert(key, val).is_some() {
            return None; // a repeated field is ambiguous
        }
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    let mut take = |k: &str| fields.remove(k).map(str::to_owned);
    Some(AuthorizationFields {
        api_key: take("api_key")?,
        algorithm: take("algorithm")?,
        headers: take("headers")?,
        signature: take("signature")?,
    })
}

/// Middleware: refuse unsigned or badly signed requests with the gateway's `{"message"}` body.
pub(crate) async fn require_signature(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    let api_secret = app.api_secret.read().clone();
    let verifier = Verifier {
        api_key: &app.cfg.api_key,
        api_secret: &api_secret,
        clock_skew_secs: app.cfg.clock_skew_secs,
    };
    let verdict = verifier.verify(
        req.method().as_str(),
        // The request line as sent: a gateway's prefix is part of what was signed.
        crate::server::sent_path(&req),
        req.headers(),
        SystemTime::now(),
    );
    // What the client signed with: a secret derived from api_secret, never to be shown.
    if let Some(auth) = req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(parse_authorization) {
        app.issued.record(auth.signature);
    }
    match verdict {
        Ok(()) => next.run(req).await,
        Err(failure) => {
            app.stats.auth_failure();
            body::drain(req.into_body()).await;
            let body = serde_json::json!({ "message": failure.message() });
            (failure.status(), Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const KEY: &str = "apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX";
    const SECRET: &str = "apisecretXXXXXXXXXXXXXXXXXXXXXXX";
    const DATE: &str = "Fri, 23 Apr 2021 02:35:47 GMT";
    const EMPTY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    fn headers(date: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("upload-ost-api.xfyun.cn"));
        h.insert("date", HeaderValue::from_str(date).unwrap());
        h.insert("digest", HeaderValue::from_static(EMPTY_DIGEST));
        let auth = format!(
            r#"api_key="{KEY}", algorithm="hmac-sha256", headers="host date request-line digest", signature="{signature}""#
        );
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        h
    }

    fn at_doc_date() -> SystemTime {
        httpdate::parse_http_date(DATE).unwrap()
    }

    fn verifier() -> Verifier<'static> {
        Verifier {
            api_key: KEY,
            api_secret: SECRET,
            clock_skew_secs: 300,
        }
    }

    #[test]
    fn accepts_doc_worked_example() {
        let h = headers(DATE, "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ=");
        assert_eq!(
            verifier().verify("POST", "/file/mpupload/init", &h, at_doc_date()),
            Ok(())
        );
        let h = headers(DATE, "sBR/Dd+Orose+iSjyezzl3hCHxcN34nF8M+7LYZ9hXQ=");
        assert_eq!(
            verifier().verify("POST", "/file/mpupload/upload", &h, at_doc_date()),
            Ok(())
        );
    }

    #[test]
    fn rejects_other_path_and_stale_or_non_rfc1123_dates() {
        let h = headers(DATE, "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ=");
        let v = verifier();
        assert_eq!(
            v.verify("POST", "/file/upload", &h, at_doc_date()),
            Err(AuthFailure::DoesNotMatch)
        );
        let late = at_doc_date() + Duration::from_secs(301);
        assert_eq!(
            v.verify("POST", "/file/mpupload/init", &h, late),
            Err(AuthFailure::InvalidDate)
        );
        let ok_late = at_doc_date() + Duration::from_secs(300);
        assert_eq!(v.verify("POST", "/file/mpupload/init", &h, ok_late), Ok(()));
        let h = headers("Friday, 23-Apr-21 02:35:47 GMT", "x");
        assert_eq!(
            v.verify("POST", "/file/mpupload/init", &h, at_doc_date()),
            Err(AuthFailure::InvalidDate)
        );
    }

    #[test]
    fn parses_authorization_strictly() {
        assert!(
            parse_authorization(r#"api_key="a", algorithm="b", headers="c", signature="d""#)
                .is_some()
        );
        assert!(
            parse_authorization(r#"api_key="a",algorithm="b",headers="c",signature="d""#).is_some()
        );
        assert!(parse_authorization(r#"api_key="a", algorithm="b", headers="c""#).is_none());
        assert!(parse_authorization(
            r#"api_key="a", api_key="a", algorithm="b", headers="c", signature="d""#
        )
        .is_none());
        assert!(parse_authorization("YXBpX2tleT0iYSIi").is_none());
        assert!(
            parse_authorization(r#"api_key=a, algorithm="b", headers="c", signature="d""#)
                .is_none()
        );
    }
}
