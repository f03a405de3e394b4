//! A provider failure, classified once by the provider: what went wrong, whether trying
//! again can help, and when. The engine's retry policy reads only these fields.

use std::time::Duration;

use crate::error::ErrorKind;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// Trying the same request again later may succeed.
    pub temporary: bool,
    /// The provider asked us to wait this long (Retry-After, documented back-off).
    pub retry_after: Option<Duration>,
    /// The provider forgot the upload (expired/unknown session): start it again from `init`.
    pub restart: bool,
    /// Human text: what failed and what to do. Never contains a secret.
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError { kind, temporary: false, retry_after: None, restart: false, message: message.into() }
    }

    pub fn temporary(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError { temporary: true, ..Self::new(kind, message) }
    }

    pub fn restart(message: impl Into<String>) -> Self {
        ProviderError { restart: true, ..Self::new(ErrorKind::Expired, message) }
    }

    pub fn retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }

    /// A transport failure: the request may not have arrived, so it can be sent again.
    /// The message never names the URL (see [`super::client::errors::transport`]).
    pub fn network(what: &str, e: &reqwest::Error) -> Self {
        super::client::errors::transport(what, e)
    }

    pub fn io(what: &str, e: &std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => ErrorKind::Quota,
            _ => ErrorKind::Io,
        };
        ProviderError::new(kind, format!("{what}: {e}"))
    }
}

/// The longest wait a server may ask for; anything longer is taken as this (a day).
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A number of seconds a server sent (a wait, a lifetime): non-finite or negative values
/// are ignored, huge ones capped at `cap`, so no server can make us panic or wait forever.
pub fn server_seconds(secs: f64, cap: Duration) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        tracing::warn!("ignored a duration of {secs} s sent by a server");
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(cap).min(cap))
}

/// The longest lifetime taken from a server (a token's, a URL's): anything longer, up to
/// u64::MAX seconds, is nonsense and is taken as this, so adding it to an instant never
/// overflows.
pub const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A lifetime in a server's JSON, as sent: any number, or a number in a string. Negative,
/// non-finite or other values are `None` (the caller's default), huge ones capped at
/// [`MAX_LIFETIME`]: a `-1` or `1e30` must not make a whole answer unreadable (a PDS grant
/// carries the rotated refresh token) nor a token live forever.
pub fn lifetime_field(v: &serde_json::Value) -> Option<Duration> {
    let secs = match v {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    server_seconds(secs, MAX_LIFETIME)
}

/// `#[serde(deserialize_with)]` for an optional lifetime field, read by [`lifetime_field`].
pub fn lenient_lifetime<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
    Ok(v.as_ref().and_then(lifetime_field))
}

/// An instant `d` from now on tokio's clock (the caches' deadlines), `d` capped at
/// [`MAX_LIFETIME`].
pub fn later(d: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + d.min(MAX_LIFETIME)
}

/// Parses a Retry-After header: seconds (possibly fractional) or an HTTP date.
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return server_seconds(secs, MAX_SERVER_WAIT);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default().min(MAX_SERVER_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> Option<Duration> {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, v.parse().unwrap());
        retry_after_header(&h)
    }

    #[test]
    fn hostile_retry_after_values_never_panic() {
        assert_eq!(header("2"), Some(Duration::from_secs(2)));
        assert_eq!(header("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(header("NaN"), None);
        assert_eq!(header("inf"), None);
        assert_eq!(header("-1"), None);
        assert_eq!(header("1e30"), Some(MAX_SERVER_WAIT));
        assert_eq!(header("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO), "a date in the past: no wait");
        assert_eq!(header("soon"), None);
    }

    #[test]
    fn lifetime_fields_take_any_number_and_ignore_nonsense() {
        use serde_json::json;
        assert_eq!(lifetime_field(&json!(7200)), Some(Duration::from_secs(7200)));
        assert_eq!(lifetime_field(&json!("7200")), Some(Duration::from_secs(7200)));
        assert_eq!(lifetime_field(&json!(1.5)), Some(Duration::from_millis(1500)));
        assert_eq!(lifetime_field(&json!(0)), Some(Duration::ZERO));
        assert_eq!(lifetime_field(&json!(1e30)), Some(MAX_LIFETIME));
        assert_eq!(lifetime_field(&json!(1_000_000_000_000u64)), Some(MAX_LIFETIME));
        for nonsense in [json!(-1), json!("NaN"), json!("soon"), json!(null), json!({})] {
            assert_eq!(lifetime_field(&nonsense), None, "{nonsense}");
        }
        #[derive(serde::Deserialize)]
        struct Grant {
            #[serde(default, deserialize_with = "lenient_lifetime")]
            expires_in: Option<Duration>,
        }
        let g: Grant = serde_json::from_str(r#"{"expires_in": -1}"#).unwrap();
        assert_eq!(g.expires_in, None, "the answer stays readable");
        let g: Grant = serde_json::from_str("{}").unwrap();
        assert_eq!(g.expires_in, None);
    }

    #[test]
    fn huge_lifetimes_saturate() {
        let d = server_seconds(1e12, Duration::MAX).unwrap();
        assert!(later(d) > tokio::time::Instant::now());
        assert!(later(Duration::from_secs(u64::MAX)) > tokio::time::Instant::now(), "u64::MAX seconds: no overflow");
        assert_eq!(server_seconds(0.0, MAX_SERVER_WAIT), Some(Duration::ZERO));
    }
}
