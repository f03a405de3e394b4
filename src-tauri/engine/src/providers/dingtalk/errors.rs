//! Every DingTalk answer the notes document, mapped to a kind, a retry decision and a human
//! message (shared/providers/dingtalk.md §3 "Errors", §8 retry table, §1a token errors).
//! Quota and permission answers say what to ask the organisation's admin.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::providers::ProviderError;

pub const INVALID_AUTHENTICATION: &str = "InvalidAuthentication";

/// Which call answered: token errors are about the app's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Token,
    Storage,
}

/// How long the per-IP ban lasts (§8: 5 minutes).
const IP_BAN: Duration = Duration::from_secs(300);
/// The documented back-off for the QPS limits (§8: sleep ≥ 1 s).
const QPS_WAIT: Duration = Duration::from_secs(1);

/// An error body `{code, message, requestid}` with its HTTP status.
pub fn api(
    call: Call,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
    retry_after: Option<Duration>,
) -> ProviderError {
    let said = if request_id.is_empty() {
        format!("DingTalk answered HTTP {status} {code} \"{message}\"")
    } else {
        format!("DingTalk answered HTTP {status} {code} \"{message}\" (requestid {request_id})")
    };
    let qps_wait = Some(retry_after.unwrap_or(QPS_WAIT).max(QPS_WAIT));
    match code {
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" | "Forbidden.AccessDenied.QpsLimitForApi" => {
            ProviderError::temporary(ErrorKind::RateLimited, format!("{said}: too many calls per second; slowing down")).retry_after(qps_wait)
        }
        "systemError" | "unknownError" | "operationTimeout" | "ServiceUnavailable" => {
            ProviderError::temporary(ErrorKind::Server, format!("{said}: a server-side failure; retrying")).retry_after(retry_after)
        }
        _ if call == Call::Token => token(status, &said, retry_after),
        INVALID_AUTHENTICATION => ProviderError::new(
            ErrorKind::Auth,
            format!("{said}: DingTalk refused the access token even after a fresh one was fetched; check the account's app_key and app_secret"),
        ),
        "Forbidden.AccessDenied.AccessTokenPermissionDenied" => ProviderError::new(
            ErrorKind::Permission,
            format!("{said}: the DingTalk app lacks a permission; ask your DingTalk admin to grant the app the Storage.UploadInfo.Read and Storage.File.Write permissions in the developer console"),
        ),
        "Forbidden.AccessDenied.IpNotInWhiteList" => ProviderError::new(
            ErrorKind::Permission,
            format!("{said}: this computer's IP address is not in the app's IP whitelist; ask your DingTalk admin to add this computer's public IP address to the app's whitelist"),
        ),
        "Forbidden.AccessDenied.ApiCountLimitForOrg" => ProviderError::new(
            ErrorKind::Quota,
            format!("{said}: your organisation has used up its monthly DingTalk API call quota; ask your DingTalk admin to upgrade the organisation's edition or buy more calls, or retry next month"),
        ),
        "no.priviledge" => ProviderError::new(
            ErrorKind::Permission,
            format!("{said}: the account's user (union_id) has no rights on this storage space or folder; ask the space's admin to add this user's permissions (for an APP space every operator must be added)"),
        ),
        "paramError.uploadKey" => ProviderError::restart(format!("{said}: DingTalk no longer knows this upload (its uploadKey is invalid or expired); starting it again")),
        "paramError.partNumbers" => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: DingTalk refused the part numbers; this is a bug in Ferry, please report it"),
        ),
        "paramError" => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: DingTalk refused a parameter; check the account's space_id, parent_id and union_id, and if they are right please report this to Ferry"),
        ),
        "DENTRY_UPLOAD_PROTOCOL_NOTSUPPORT" => ProviderError::new(
            ErrorKind::Unsupported,
            format!("{said}: this organisation's storage does not accept header-signed uploads; ask your DingTalk admin which upload protocol the space supports"),
        ),
        _ => undocumented(status, code, message, &said, retry_after),
    }
}

/// Token endpoint refusals are about the credentials, whatever the code says (§1a).
fn token(status: u16, said: &str, retry_after: Option<Duration>) -> ProviderError {
    match status {
        500..=599 => ProviderError::temporary(ErrorKind::Server, format!("{said}: the token service failed; retrying")).retry_after(retry_after),
        429 => ProviderError::temporary(ErrorKind::RateLimited, format!("{said}: the token service is throttling; waiting")).retry_after(retry_after),
        _ => ProviderError::new(ErrorKind::Auth, format!("{said}: DingTalk refused the app credentials; check the account's app_key and app_secret")),
    }
}

/// Codes the notes do not list: classified by their words, else by the status.
fn undocumented(
    status: u16,
    code: &str,
    message: &str,
    said: &str,
    retry_after: Option<Duration>,
) -> ProviderError {
    let words = format!("{code} {message}").to_ascii_lowercase();
    let has = |w: &[&str]| w.iter().any(|w| words.contains(w));
    if has(&["quota", "capacity", "space full"]) && !has(&["qps"]) {
        return ProviderError::new(
            ErrorKind::Quota,
            format!("{said}: the DingTalk storage space is full or over its quota; ask your DingTalk admin for more storage space"),
        );
    }
    if has(&["exist", "conflict", "duplicate"]) {
        return ProviderError::new(
            ErrorKind::Conflict,
            format!("{said}: a file with this name already exists in the DingTalk folder and the account's conflict setting refuses to replace it; rename the file or change the setting"),
        );
    }
    if has(&[
        "permission",
        "privilege",
        "priviledge",
        "forbidden",
        "denied",
        "unauthorized",
    ]) {
        return ProviderError::new(
            ErrorKind::Permission,
            format!("{said}: DingTalk denied access; ask your DingTalk admin to check the app's permissions and this user's rights on the space"),
        );
    }
    match status {
        429 => ProviderError::temporary(
            ErrorKind::RateLimited,
            format!("{said}: throttled; waiting"),
        )
        .retry_after(Some(retry_after.unwrap_or(QPS_WAIT))),
        500..=599 => ProviderError::temporary(
            ErrorKind::Server,
            format!("{said}: a server-side failure; retrying"),
        )
        .retry_after(retry_after),
        _ => ProviderError::new(
            ErrorKind::InvalidInput,
            format!(
                "{said}: an undocumented refusal; if it persists, report the requestid to DingTalk"
            ),
        ),
    }
}

/// An answer without DingTalk's error body (a proxy, a bare status).
pub fn bare(call: Call, status: u16, retry_after: Option<Duration>) -> ProviderError {
    let said = format!("DingTalk answered HTTP {status} without an error body");
    match status {
        429 => ProviderError::temporary(
            ErrorKind::RateLimited,
            format!("{said}: throttled; waiting"),
        )
        .retry_after(Some(retry_after.unwrap_or(QPS_WAIT))),
        500..=599 => ProviderError::temporary(ErrorKind::Server, format!("{said}; retrying"))
            .retry_after(retry_after),
        401 => ProviderError::new(
            ErrorKind::Auth,
            format!("{said}: check the account's app_key and app_secret"),
        ),
        403 if call == Call::Token => ProviderError::new(
            ErrorKind::Auth,
            format!("{said}: check the account's app_key and app_secret"),
        ),
        403 => ProviderError::new(
            ErrorKind::Permission,
            format!(
                "{said}: access denied; ask your DingTalk admin to check the app's permissions"
            ),
        ),
        404 => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: no such API; check the account's endpoint"),
        ),
        _ => ProviderError::new(ErrorKind::InvalidInput, said),
    }
}

/// The per-IP ban page (§8): every call from this IP waits the ban out.
pub fn ip_ban(wait_minutes: Option<u64>) -> ProviderError {
    let wait = wait_minutes
        .map(|m| Duration::from_secs(m * 60))
        .unwrap_or(IP_BAN)
        .max(IP_BAN);
    ProviderError::temporary(
        ErrorKind::RateLimited,
        format!("DingTalk banned this IP address for too many calls (10,000 per 20 s); waiting {} minutes before trying again", wait.as_secs() / 60),
    )
    .retry_after(Some(wait))
}

/// Is this body DingTalk's per-IP ban page (JSON with `punish`, or the HTML version)?
pub fn ban_minutes(body: &str) -> Option<Option<u64>> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if v.get("punish").is_some() || v.get("status").and_then(|s| s.as_i64()) == Some(1111) {
            return Some(v.get("wait").and_then(|w| w.as_u64()));
        }
        return None;
    }
    let lower = body.to_ascii_lowercase();
    (lower.contains("<html") && lower.contains("punish")).then_some(None)
}

/// A PUT to the storage host failed with `status` (OSS XML error body, §4).
pub fn storage_put(status: u16, body: &str) -> ProviderError {
    let code = xml_field(body, "Code").unwrap_or_default();
    let message = xml_field(body, "Message").unwrap_or_default();
    let said = format!("the storage host answered HTTP {status} {code} \"{message}\"");
    match status {
        403 => ProviderError::temporary(
            ErrorKind::Expired,
            format!("{said}: the signed upload URL was refused; asking DingTalk for a new one"),
        ),
        408 | 429 | 500..=599 => {
            ProviderError::temporary(ErrorKind::Server, format!("{said}; retrying"))
        }
        404 => ProviderError::restart(format!(
            "{said}: the storage host no longer knows this upload; starting it again"
        )),
        _ => ProviderError::new(
            ErrorKind::InvalidInput,
            format!("{said}: the part was refused; this is a bug in Ferry, please report it"),
        ),
    }
}

fn xml_field(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (code, HTTP status, kind, temporary, restart, words the message must contain)
    const TABLE: [(&str, u16, ErrorKind, bool, bool, &str); 15] = [
        ("InvalidAuthentication", 400, ErrorKind::Auth, false, false, "app_key and app_secret"),
        ("Forbidden.AccessDenied.AccessTokenPermissionDenied", 403, ErrorKind::Permission, false, false, "ask your DingTalk admin to grant the app the Storage.UploadInfo.Read and Storage.File.Write"),
        ("Forbidden.AccessDenied.IpNotInWhiteList", 403, ErrorKind::Permission, false, false, "ask your DingTalk admin to add this computer's public IP"),
        ("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", 403, ErrorKind::RateLimited, true, false, "slowing down"),
        ("Forbidden.AccessDenied.QpsLimitForApi", 403, ErrorKind::RateLimited, true, false, "slowing down"),
        ("Forbidden.AccessDenied.ApiCountLimitForOrg", 403, ErrorKind::Quota, false, false, "ask your DingTalk admin to upgrade"),
        ("paramError", 400, ErrorKind::InvalidInput, false, false, "space_id, parent_id and union_id"),
        ("paramError.uploadKey", 400, ErrorKind::Expired, false, true, "starting it again"),
        ("paramError.partNumbers", 400, ErrorKind::InvalidInput, false, false, "bug in Ferry"),
        ("systemError", 500, ErrorKind::Server, true, false, "retrying"),
        ("unknownError", 500, ErrorKind::Server, true, false, "retrying"),
        ("operationTimeout", 503, ErrorKind::Server, true, false, "retrying"),
        ("ServiceUnavailable", 503, ErrorKind::Server, true, false, "retrying"),
        ("no.priviledge", 400, ErrorKind::Permission, false, false, "ask the space's admin"),
        ("DENTRY_UPLOAD_PROTOCOL_NOTSUPPORT", 400, ErrorKind::Unsupported, false, false, "ask your DingTalk admin"),
    ];

    #[test]
    fn every_documented_code_has_a_kind_a_retry_decision_and_a_message() {
        for (code, status, kind, temporary, restart, words) in TABLE {
            let e = api(Call::Storage, status, code, "msg", "REQ-1", None);
            assert_eq!(
                (e.kind, e.temporary, e.restart),
                (kind, temporary, restart),
                "{code}"
            );
            assert!(
                e.message.contains(code) && e.message.contains("REQ-1"),
                "{code}: {}",
                e.message
            );
            assert!(e.message.contains(words), "{code}: {}", e.message);
        }
    }

    #[test]
    fn qps_limits_wait_at_least_a_second() {
        for code in [
            "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
            "Forbidden.AccessDenied.QpsLimitForApi",
        ] {
            assert_eq!(
                api(Call::Storage, 403, code, "", "", None).retry_after,
                Some(QPS_WAIT)
            );
            let longer = Some(Duration::from_secs(3));
            assert_eq!(
                api(Call::Storage, 403, code, "", "", longer).retry_after,
                longer
            );
        }
    }

    #[test]
    fn token_refusals_are_about_the_credentials() {
        let e = api(
            Call::Token,
            400,
            "Forbidden.AccessDenied.AccessTokenPermissionDenied",
            "不合法的appSecret",
            "r",
            None,
        );
        assert_eq!((e.kind, e.temporary), (ErrorKind::Auth, false));
        assert!(
            e.message.contains("app_key and app_secret"),
            "{}",
            e.message
        );
        assert!(api(Call::Token, 500, "systemError", "", "", None).temporary);
        assert_eq!(
            api(
                Call::Token,
                403,
                "Forbidden.AccessDenied.QpsLimitForApi",
                "",
                "",
                None
            )
            .kind,
            ErrorKind::RateLimited
        );
    }

    #[test]
    fn undocumented_codes_are_classified_by_their_words_then_status() {
        let quota = api(
            Call::Storage,
            400,
            "spaceQuotaExceeded",
            "no room",
            "",
            None,
        );
        assert_eq!((quota.kind, quota.temporary), (ErrorKind::Quota, false));
        assert!(quota
            .message
            .contains("ask your DingTalk admin for more storage"));
        let exists = api(
            Call::Storage,
            400,
            "fileAlreadyExists",
            "a file named x exists",
            "",
            None,
        );
        assert_eq!(
            (exists.kind, exists.temporary),
            (ErrorKind::Conflict, false)
        );
        assert!(api(Call::Storage, 502, "gatewayBroke", "", "", None).temporary);
        let other = api(Call::Storage, 400, "somethingNew", "", "rid", None);
        assert_eq!(
            (other.kind, other.temporary),
            (ErrorKind::InvalidInput, false)
        );
        assert!(other.message.contains("rid"));
    }

    #[test]
    fn bare_statuses() {
        assert!(bare(Call::Storage, 429, None).temporary);
        assert!(bare(Call::Storage, 503, None).temporary);
        assert_eq!(bare(Call::Storage, 403, None).kind, ErrorKind::Permission);
        assert_eq!(bare(Call::Token, 403, None).kind, ErrorKind::Auth);
        assert!(!bare(Call::Storage, 400, None).temporary);
    }

    #[test]
    fn the_ip_ban_page_waits_five_minutes_in_the_queue() {
        let page = r#"{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}"#;
        let minutes = ban_minutes(page).expect("recognised");
        let e = ip_ban(minutes);
        assert_eq!(
            (e.kind, e.temporary, e.retry_after),
            (ErrorKind::RateLimited, true, Some(Duration::from_secs(300)))
        );
        assert!(ban_minutes("<html><body>punish deny x5</body></html>").is_some());
        assert!(ban_minutes(r#"{"code":"systemError"}"#).is_none());
    }

    #[test]
    fn storage_host_answers() {
        let expired =
            "<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>";
        let e = storage_put(403, expired);
        assert_eq!((e.kind, e.temporary), (ErrorKind::Expired, true));
        assert!(e.message.contains("Request has expired."));
        assert!(storage_put(503, "").temporary);
        assert!(storage_put(404, "<Error><Code>NoSuchUpload</Code></Error>").restart);
        assert!(!storage_put(400, "<Error><Code>InvalidArgument</Code></Error>").temporary);
    }
}
