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

/// Parses a Retry-After header given in seconds (the HTTP-date form is rare here).
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}
