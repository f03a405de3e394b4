//! Every answer of iFlytek's upload service mapped to a kind, a retry decision and a
//! human message (shared/providers/xfyun.md §1e and §8).

use std::time::Duration;

use crate::error::ErrorKind;
use crate::providers::ProviderError;

/// A business error from the envelope (`code != 0`, usually with HTTP 200).
pub fn business(code: i64, message: &str, sid: &str) -> ProviderError {
    let said = format!("iFlytek error {code} \"{message}\" (sid {sid})");
    match code {
        10001 => ProviderError::new(ErrorKind::InvalidInput, format!("{said}: a request parameter was refused; this is a bug in Ferry or a changed API, please report it")),
        10002 => ProviderError::temporary(ErrorKind::Server, format!("{said}: iFlytek's storage backend failed; retrying")),
        10003 => ProviderError::temporary(ErrorKind::Server, format!("{said}: iFlytek's database failed; retrying")),
        10004 => ProviderError::temporary(ErrorKind::Server, format!("{said}: iFlytek's cache failed; retrying")),
        10005 => ProviderError::restart(format!("{said}: the upload expired or is unknown to iFlytek; starting it again")),
        10006 => ProviderError::temporary(ErrorKind::Server, format!("{said}: an I/O operation failed at iFlytek; retrying")),
        10007 => ProviderError::temporary(ErrorKind::Server, format!("{said}: iFlytek could not queue the task; retrying")),
        // Undocumented codes: not retried, surfaced with code, message and sid (§8).
        _ => ProviderError::new(ErrorKind::Server, format!("{said}: an undocumented error; if it persists, report the sid to iFlytek")),
    }
}

/// An HTTP-level failure: the gateway's auth answers, throttling, server errors.
pub fn http(status: u16, gateway_message: &str, retry_after: Option<Duration>) -> ProviderError {
    let said = if gateway_message.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status} \"{gateway_message}\"") };
    match status {
        401 => ProviderError::new(ErrorKind::Auth, format!("iFlytek refused the credentials ({said}): check the account's APIKey and APISecret")),
        403 if gateway_message.contains("date") => ProviderError::temporary(
            ErrorKind::Auth,
            format!("iFlytek refused the request time ({said}): this computer's clock must be within 5 minutes of the real time"),
        ),
        403 => ProviderError::new(ErrorKind::Permission, format!("iFlytek denied access ({said}): check that the app has the capability enabled")),
        429 => ProviderError::temporary(ErrorKind::RateLimited, format!("iFlytek is throttling requests ({said}); waiting")).retry_after(retry_after),
        500..=599 => ProviderError::temporary(ErrorKind::Server, format!("iFlytek's server failed ({said}); retrying")).retry_after(retry_after),
        _ => ProviderError::new(ErrorKind::InvalidInput, format!("iFlytek refused the request ({said})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_a_kind_and_a_retry_decision() {
        // (code, kind, temporary, restart)
        let table = [
            (10001, ErrorKind::InvalidInput, false, false),
            (10002, ErrorKind::Server, true, false),
            (10003, ErrorKind::Server, true, false),
            (10004, ErrorKind::Server, true, false),
            (10005, ErrorKind::Expired, false, true),
            (10006, ErrorKind::Server, true, false),
            (10007, ErrorKind::Server, true, false),
            (99999, ErrorKind::Server, false, false),
        ];
        for (code, kind, temporary, restart) in table {
            let e = business(code, "msg", "sid1");
            assert_eq!((e.kind, e.temporary, e.restart), (kind, temporary, restart), "code {code}");
            assert!(e.message.contains(&code.to_string()) && e.message.contains("sid1"), "{}", e.message);
        }
    }

    #[test]
    fn gateway_answers() {
        let e = http(401, "HMAC signature does not match", None);
        assert_eq!((e.kind, e.temporary), (ErrorKind::Auth, false));
        assert!(e.message.contains("APIKey and APISecret"));
        let e = http(403, "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication", None);
        assert_eq!((e.kind, e.temporary), (ErrorKind::Auth, true));
        assert!(e.message.contains("clock"));
        assert_eq!(http(403, "Forbidden", None).kind, ErrorKind::Permission);
        let e = http(429, "", Some(Duration::from_secs(2)));
        assert_eq!((e.kind, e.temporary, e.retry_after), (ErrorKind::RateLimited, true, Some(Duration::from_secs(2))));
        for s in [500, 502, 503] {
            assert!(http(s, "", None).temporary, "{s}");
        }
        assert!(!http(400, "", None).temporary);
    }
}
