//! Every PDS answer that is not a success, mapped to a kind, a retry decision and a human
//! message (shared/providers/pds.md §4 data-plane table, §10 API table).

use std::time::Duration;

use crate::error::ErrorKind;
use crate::providers::ProviderError;

/// A non-2xx answer of the API (`{"code","message"}`), or of the gateway in front of it.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub status: u16,
    /// The JSON `code`, else the gateway's `x-ca-error-code`, else empty.
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub retry_after: Option<Duration>,
}

impl Failure {
    fn said(&self, what: &str) -> String {
        let mut s = format!("PDS {what}: HTTP {}", self.status);
        if !self.code.is_empty() {
            s.push_str(&format!(" {}", self.code));
        }
        if !self.message.is_empty() {
            s.push_str(&format!(" \"{}\"", self.message));
        }
        if !self.request_id.is_empty() {
            s.push_str(&format!(" (request id {})", self.request_id));
        }
        s
    }

    /// The access token was refused: refresh it once and try again (§1a, §10).
    pub fn is_token_refused(&self) -> bool {
        self.code == "AccessTokenInvalid" || (self.code.ends_with("TokenExpired") && !self.code.starts_with("Refresh"))
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

/// An API call (`/v2/file/*`, `/v2/drive/*`) failed; `what` names the call.
pub fn api(what: &str, f: &Failure) -> ProviderError {
    let said = f.said(what);
    let code = f.code.as_str();
    let family = code.split('.').next().unwrap_or_default();
    match code {
        // The refresh itself worked, so this is PDS catching up (or a token revoked again at
        // once): worth another try later; a dead refresh token fails at the refresh instead.
        "AccessTokenInvalid" | "AccessTokenExpired" => {
            ProviderError::temporary(ErrorKind::Auth, format!("{said}: the access token was refused even after a refresh; retrying"))
        }
        "RefreshTokenExpired" | "RefreshTokenInvalid" | "InvalidParameter.RefreshToken" => refresh_refused(&said),
        "InvalidParameterNotSupported.ParallelUpload" => ProviderError::new(
            ErrorKind::Unsupported,
            format!("{said}: this domain does not allow parallel uploads; set upload_mode=serial"),
        ),
        "NotFound.UploadId" => ProviderError::restart(format!("{said}: PDS no longer knows this upload (it expires after 10 days); starting it again")),
        "TooManyRequests" => throttled(&said, f.retry_after),
        "QuotaExhausted" | "QuotaExhausted.Drive" | "ExceedCapacityForbidden" => ProviderError::new(
            ErrorKind::Quota,
            format!("{said}: the drive has no space left; free some space or raise its quota"),
        ),
        "AlreadyExist" | "AlreadyExist.File" => ProviderError::new(
            ErrorKind::Conflict,
            format!("{said}: a file of that name already exists in the folder (check_name_mode)"),
        ),
        "StateConflict" => ProviderError::new(ErrorKind::Conflict, format!("{said}: the operation does not fit the file's current state")),
        "InternalError" | "ServiceUnavailable" | "D504TO" => server(&said, f.retry_after),
        _ if family == "Forbidden" || code == "PermissionDenied" || code == "UserNotAllowedAccessDrive" => ProviderError::new(
            ErrorKind::Permission,
            format!("{said}: this account may not write into that drive or folder; check its permissions"),
        ),
        _ if family == "NotFound" => ProviderError::new(
            ErrorKind::NotFound,
            format!("{said}: the drive or folder does not exist; check drive_id and parent_file_id"),
        ),
        _ if family.starts_with("InvalidParameter") || code == "InvalidRequestJSONFormat" => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: PDS refused a request parameter; this is a bug in Ferry or a changed API, please report it"),
        ),
        _ => by_status(&said, f),
    }
}

/// The token endpoint refused or failed.
pub fn token(f: &Failure) -> ProviderError {
    let said = f.said("token refresh");
    match f.status {
        429 => throttled(&said, f.retry_after),
        500..=599 => server(&said, f.retry_after),
        _ if f.code.contains("RefreshToken") || f.status == 401 || f.status == 400 => refresh_refused(&said),
        _ => by_status(&said, f),
    }
}

/// A part PUT to its pre-signed URL failed (object-storage XML `<Code>`, §4).
pub fn data(part: u32, status: u16, code: &str, message: &str, retry_after: Option<Duration>) -> ProviderError {
    let said = format!("PDS part {part} upload: HTTP {status} {code} \"{message}\"");
    match (status, code) {
        (404, _) | (_, "NoSuchUpload") => ProviderError::restart(format!("{said}: the upload session is gone; starting it again")),
        (_, "PartNotSequential") => ProviderError::temporary(
            ErrorKind::Conflict,
            format!("{said}: PDS lacks an earlier part; the next run re-reads which parts it holds"),
        ),
        (_, "SignatureDoesNotMatch") | (_, "MissingContentLength") | (_, "InvalidArgument") => ProviderError::new(
            ErrorKind::Internal,
            format!("{said}: the part request was malformed; this is a bug in Ferry, please report it"),
        ),
        (_, "EntityTooLarge") | (_, "EntityTooSmall") | (_, "InvalidPartSize") | (_, "InvalidDigest") => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: PDS refused the part's size or checksum; this is a bug in Ferry, please report it"),
        ),
        (403, _) => ProviderError::new(ErrorKind::Permission, format!("{said}: the storage refused the part")),
        (429, _) => throttled(&said, retry_after),
        (500..=599, _) => server(&said, retry_after),
        _ => ProviderError::new(ErrorKind::Server, format!("{said}: an undocumented answer")),
    }
}

fn refresh_refused(said: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Auth,
        format!("{said}: the refresh token was refused; sign in to PDS again and update the account's refresh_token"),
    )
}

fn throttled(said: &str, retry_after: Option<Duration>) -> ProviderError {
    ProviderError::temporary(ErrorKind::RateLimited, format!("{said}: PDS is throttling requests; waiting")).retry_after(retry_after)
}

fn server(said: &str, retry_after: Option<Duration>) -> ProviderError {
    ProviderError::temporary(ErrorKind::Server, format!("{said}: PDS failed; retrying")).retry_after(retry_after)
}

fn by_status(said: &str, f: &Failure) -> ProviderError {
    match f.status {
        401 => ProviderError::new(ErrorKind::Auth, format!("{said}: PDS refused the credentials")),
        403 => ProviderError::new(ErrorKind::Permission, format!("{said}: PDS denied access")),
        404 => ProviderError::new(
            ErrorKind::NotFound,
            format!("{said}: not found; check the endpoint, drive_id and parent_file_id"),
        ),
        408 => ProviderError::temporary(ErrorKind::Network, format!("{said}: the request timed out; retrying")),
        429 => throttled(said, f.retry_after),
        500..=599 => server(said, f.retry_after),
        _ => ProviderError::new(ErrorKind::InvalidInput, format!("{said}: PDS refused the request")),
    }
}

/// `Retry-After` (seconds or date) or the Aliyun Drive style `x-retry-after` (milliseconds).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    crate::providers::error::retry_after_header(headers).or_else(|| {
        let ms: u64 = headers.get("x-retry-after")?.to_str().ok()?.trim().parse().ok()?;
        Some(Duration::from_millis(ms.min(3_600_000)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(status: u16, code: &str) -> Failure {
        Failure {
            status,
            code: code.into(),
            message: "msg".into(),
            request_id: "rid1".into(),
            retry_after: None,
        }
    }

    #[test]
    fn every_documented_api_code_has_a_kind_and_a_retry_decision() {
        // (status, code, kind, temporary, restart)
        let table = [
            (400, "InvalidParameter", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterEmpty", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterWrongFormat", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterMissing", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterNotMatch", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterOutOfRange", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterNotSupported", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameter.Limit", ErrorKind::InvalidInput, false, false),
            (400, "InvalidRequestJSONFormat", ErrorKind::InvalidInput, false, false),
            (400, "InvalidParameterNotSupported.ParallelUpload", ErrorKind::Unsupported, false, false),
            (401, "AccessTokenInvalid", ErrorKind::Auth, true, false),
            (401, "AccessTokenExpired", ErrorKind::Auth, true, false),
            (401, "RefreshTokenExpired", ErrorKind::Auth, false, false),
            (401, "RefreshTokenInvalid", ErrorKind::Auth, false, false),
            (400, "InvalidParameter.RefreshToken", ErrorKind::Auth, false, false),
            (403, "ForbiddenNoPermission", ErrorKind::Permission, false, false),
            (403, "Forbidden", ErrorKind::Permission, false, false),
            (403, "ForbiddenDriveLocked", ErrorKind::Permission, false, false),
            (403, "ForbiddenDriveNotValid", ErrorKind::Permission, false, false),
            (403, "ForbiddenFileInTheRecycleBin", ErrorKind::Permission, false, false),
            (403, "PermissionDenied", ErrorKind::Permission, false, false),
            (403, "UserNotAllowedAccessDrive", ErrorKind::Permission, false, false),
            (400, "QuotaExhausted", ErrorKind::Quota, false, false),
            (400, "QuotaExhausted.Drive", ErrorKind::Quota, false, false),
            (403, "ExceedCapacityForbidden", ErrorKind::Quota, false, false),
            (404, "NotFound", ErrorKind::NotFound, false, false),
            (404, "NotFound.File", ErrorKind::NotFound, false, false),
            (404, "NotFound.FileId", ErrorKind::NotFound, false, false),
            (404, "NotFound.UploadId", ErrorKind::Expired, false, true),
            (409, "AlreadyExist", ErrorKind::Conflict, false, false),
            (409, "AlreadyExist.File", ErrorKind::Conflict, false, false),
            (409, "StateConflict", ErrorKind::Conflict, false, false),
            (429, "TooManyRequests", ErrorKind::RateLimited, true, false),
            (500, "InternalError", ErrorKind::Server, true, false),
            (503, "ServiceUnavailable", ErrorKind::Server, true, false),
            (504, "D504TO", ErrorKind::Server, true, false),
            (502, "", ErrorKind::Server, true, false),
            (418, "SomethingNew", ErrorKind::InvalidInput, false, false),
        ];
        for (status, code, kind, temporary, restart) in table {
            let e = api("create", &f(status, code));
            assert_eq!((e.kind, e.temporary, e.restart), (kind, temporary, restart), "{status} {code}");
            assert!(e.message.contains("rid1") && e.message.contains(&status.to_string()), "{}", e.message);
            if !code.is_empty() {
                assert!(e.message.contains(code), "{}", e.message);
            }
        }
    }

    #[test]
    fn throttling_keeps_the_wait_the_server_asked_for() {
        let mut t = f(429, "TooManyRequests");
        t.retry_after = Some(Duration::from_secs(3));
        assert_eq!(api("create", &t).retry_after, Some(Duration::from_secs(3)));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-retry-after", "1500".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)), "Retry-After wins");
    }

    #[test]
    fn token_answers() {
        assert!(f(401, "AccessTokenExpired").is_token_refused());
        assert!(f(401, "AccessTokenInvalid").is_token_refused());
        assert!(!f(401, "RefreshTokenExpired").is_token_refused());
        for (status, code) in [(400, "InvalidParameter.RefreshToken"), (401, "RefreshTokenInvalid"), (401, "")] {
            let e = token(&f(status, code));
            assert_eq!((e.kind, e.temporary), (ErrorKind::Auth, false), "{status} {code}");
            assert!(e.message.contains("refresh_token"), "{}", e.message);
        }
        assert!(token(&f(503, "ServiceUnavailable")).temporary);
        assert!(token(&f(429, "")).temporary);
    }

    #[test]
    fn data_plane_answers() {
        // (status, code, kind, temporary, restart)
        let table = [
            (404, "NoSuchUpload", ErrorKind::Expired, false, true),
            (400, "PartNotSequential", ErrorKind::Conflict, true, false),
            (403, "SignatureDoesNotMatch", ErrorKind::Internal, false, false),
            (411, "MissingContentLength", ErrorKind::Internal, false, false),
            (400, "EntityTooSmall", ErrorKind::InvalidInput, false, false),
            (403, "AccessDenied", ErrorKind::Permission, false, false),
            (429, "", ErrorKind::RateLimited, true, false),
            (500, "InternalError", ErrorKind::Server, true, false),
            (503, "", ErrorKind::Server, true, false),
            (504, "", ErrorKind::Server, true, false),
        ];
        for (status, code, kind, temporary, restart) in table {
            let e = data(3, status, code, "m", None);
            assert_eq!((e.kind, e.temporary, e.restart), (kind, temporary, restart), "{status} {code}");
            assert!(e.message.contains("part 3"), "{}", e.message);
        }
    }
}
