//! Every answer code in shared/providers/feishu.md §11 (and the gateway's, §10) mapped to a
//! kind, a retry decision and a human message. The provider classifies once; the pacer and
//! the worker only read the resulting `ProviderError`.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::providers::ProviderError;

/// A block's Adler-32 refused (§11).
pub const CHECKSUM_REFUSED: i64 = 1062008;

/// A failed answer, as it came: the envelope's `code` and `msg` (if the body had them), the
/// HTTP status, the `X-Tt-Logid` trace id and any wait the gateway asked for.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub code: Option<i64>,
    pub msg: String,
    pub status: u16,
    pub log_id: Option<String>,
    pub retry_after: Option<Duration>,
}

/// What to do about a code (shared/providers/feishu.md §11, "Action").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// R / RB: send the same request again with back-off (a part is re-sent from memory).
    Retry,
    /// R with a wait Feishu implies; longer than a minute parks the job in the queue.
    RetryAfter(Duration),
    /// RS: the upload id is gone or unusable: start again from `upload_prepare`.
    Restart,
    /// F: no retry can help; the message says what to change.
    Fail,
}

/// The gateway's "request trigger frequency limit" (§10).
pub const RATE_LIMITED: i64 = 99991400;
/// "can retry": the upload APIs' answer to > 5 QPS, concurrent calls or a transient error.
pub const CAN_RETRY: i64 = 1061045;

/// Token refusals (§1a, §11 "T"): drop the cached token, get a new one, try once more.
pub fn refreshes_token(f: &Failure) -> bool {
    match f.code {
        Some(code) => matches!(code, 99991661 | 99991663 | 99991664 | 99991668 | 99991671 | 1061005),
        None => f.status == 401,
    }
}

/// (decision, kind, advice) for a documented code; `None` for codes the notes do not list.
pub fn table(code: i64) -> Option<(Decision, ErrorKind, &'static str)> {
    use Decision::*;
    use ErrorKind::*;
    let minutes = |m: u64| RetryAfter(Duration::from_secs(m * 60));
    Some(match code {
        1061001 => (Retry, Server, "Feishu had an internal error; retrying. If it persists and the target is a wiki, upload to a folder and move the file into the wiki"),
        1061002 => (Fail, InvalidInput, "Feishu refused a request parameter: this is a bug in Ferry or a changed API, please report it"),
        1061003 => (Fail, NotFound, "Feishu says the target does not exist: check the account's parent_node"),
        1061004 => (Fail, Permission, "the app may not write to the target: share the folder (or document) with the app with edit access"),
        1061005 => (Fail, Auth, "Feishu refused the app's identity: check app_id and app_secret"),
        1061006 => (Retry, Server, "Feishu timed out internally; retrying"),
        1061007 => (Fail, NotFound, "the target has been deleted in Feishu: choose another parent_node"),
        1061008 => (Fail, InvalidInput, "the file name is empty or longer than 250 characters: rename the file"),
        1061021 => (Restart, Expired, "the upload id expired (uploads live 24 hours) or is unknown: starting again from upload_prepare"),
        1061022 => (Retry, Conflict, "Feishu reported a file version conflict; retrying"),
        1061041 => (Fail, NotFound, "the parent folder has been deleted: choose another parent_node"),
        1061042 => (Fail, Quota, "the upload point holds too many files: choose another upload point"),
        1061043 => (Fail, Quota, "the file is larger than this Feishu edition accepts"),
        1061044 => (Fail, NotFound, "the parent node does not exist: check parent_node (a folder token for explorer, an upload-point token for documents)"),
        CAN_RETRY => (RetryAfter(Duration::from_secs(1)), RateLimited, "Feishu asked to slow down (rate, concurrency or a transient error); retrying"),
        1061061 => (Fail, Quota, "the user's storage quota is full: free space in Feishu"),
        1061073 => (Fail, Permission, "the app lacks the API scope: enable drive:file:upload (or drive:drive / drive:file) in the developer console and publish a new version of the app"),
        1061101 => (Fail, Quota, "the tenant's storage quota is full: free space or ask the Feishu administrator for more"),
        1061109 => (Fail, InvalidInput, "the file name did not pass Feishu's content review: rename the file"),
        1061113 => (Fail, InvalidInput, "the file's content did not pass Feishu's content review"),
        1061500 => (Fail, NotFound, "the mount point does not exist: check parent_node"),
        1061547 => (Fail, Quota, "the document has too many attachments: choose another upload point"),
        1062004 => (Retry, Server, "Feishu is still generating the cover; retrying"),
        1062005 => (Fail, Unsupported, "Feishu has no cover for this file type"),
        1062006 => (Retry, Server, "the cover is not ready yet; retrying"),
        1062007 => (Restart, Auth, "the upload was prepared by another identity: starting it again with this app's token"),
        1062008 => (Retry, Network, "Feishu refused the Adler-32 checksum (the bytes changed on the way); sending the block again"),
        1062009 => (Retry, Network, "Feishu received a different number of bytes than declared; sending again"),
        1062010 => (Restart, Server, "Feishu is missing blocks that were each acknowledged: starting the upload again"),
        1062011 => (Restart, InvalidInput, "a block number is outside the upload's block plan: starting the upload again"),
        1062012 => (Retry, Server, "the file is being copied; retrying"),
        1062013 => (Restart, Server, "Feishu reports the file damaged: starting the upload again"),
        1062014 => (Fail, Unsupported, "instant (deduplicated) upload is not allowed here"),
        1062051 => (Retry, Network, "the connection closed in the middle of the request; sending again"),
        1062505 => (Fail, Quota, "the cloud space holds more than 400,000 items: upload elsewhere"),
        1062506 => (Fail, Quota, "the folder is nested deeper than 15 levels: choose a shallower folder"),
        1062507 => (Fail, Quota, "the folder already holds 1,500 items: choose another folder"),
        1064230 => (minutes(5), Server, "the tenant's data is being migrated; waiting"),
        RATE_LIMITED => (RetryAfter(Duration::from_secs(1)), RateLimited, "Feishu's gateway is throttling requests; waiting"),
        // Reached only once a fresh token was refused too (the refresh-once already happened).
        99991661 | 99991663 | 99991664 | 99991668 | 99991671 => {
            (Fail, Auth, "Feishu refused a newly issued access token: check app_id / app_secret and that the app is enabled")
        }
        99991672 => (Fail, Permission, "the app has not enabled the scope this API needs: enable it in the developer console and publish the app"),
        _ => return None,
    })
}

/// The classified error for a failed answer.
pub fn classify(what: &str, f: &Failure) -> ProviderError {
    let said = said(what, f);
    let documented = f.code.and_then(table);
    let (decision, kind, advice) = match documented {
        Some(entry) => entry,
        None => match f.status {
            429 => (Decision::RetryAfter(Duration::from_secs(1)), ErrorKind::RateLimited, "Feishu is throttling requests; waiting"),
            401 => (Decision::Fail, ErrorKind::Auth, "Feishu refused the credentials: check app_id and app_secret"),
            403 => (Decision::Fail, ErrorKind::Permission, "Feishu denied access: check the app's scopes and the target's sharing"),
            500..=599 => (Decision::Retry, ErrorKind::Server, "Feishu's server failed; retrying"),
            _ if f.code.is_some() => {
                (Decision::Fail, ErrorKind::Server, "an undocumented Feishu error; if it persists, report the log id to Feishu")
            }
            _ => (Decision::Fail, ErrorKind::InvalidInput, "Feishu refused the request"),
        },
    };
    let message = format!("{said}: {advice}");
    match decision {
        Decision::Retry => ProviderError::temporary(kind, message).retry_after(f.retry_after),
        // The gateway's own figure (x-ogw-ratelimit-reset) wins over the default wait.
        Decision::RetryAfter(d) => ProviderError::temporary(kind, message).retry_after(Some(f.retry_after.unwrap_or(d))),
        Decision::Restart => ProviderError { kind, ..ProviderError::restart(message) },
        Decision::Fail => ProviderError::new(kind, message),
    }
}

/// "Feishu upload_part: error 1061045 "can retry" (HTTP 200, log id 2024…)".
fn said(what: &str, f: &Failure) -> String {
    let code = match f.code {
        Some(code) if f.msg.is_empty() => format!("error {code} "),
        Some(code) => format!("error {code} \"{}\" ", f.msg),
        None => String::new(),
    };
    let log = f.log_id.as_ref().map(|id| format!(", log id {id}")).unwrap_or_default();
    format!("Feishu {what}: {code}(HTTP {}{log})", f.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: i64) -> Failure {
        Failure { code: Some(c), msg: "msg".into(), status: 200, log_id: Some("log42".into()), retry_after: None }
    }

    /// (code, kind, temporary, restart): every code of §10–§11.
    const TABLE: &[(i64, ErrorKind, bool, bool)] = &[
        (1061001, ErrorKind::Server, true, false),
        (1061002, ErrorKind::InvalidInput, false, false),
        (1061003, ErrorKind::NotFound, false, false),
        (1061004, ErrorKind::Permission, false, false),
        (1061005, ErrorKind::Auth, false, false),
        (1061006, ErrorKind::Server, true, false),
        (1061007, ErrorKind::NotFound, false, false),
        (1061008, ErrorKind::InvalidInput, false, false),
        (1061021, ErrorKind::Expired, false, true),
        (1061022, ErrorKind::Conflict, true, false),
        (1061041, ErrorKind::NotFound, false, false),
        (1061042, ErrorKind::Quota, false, false),
        (1061043, ErrorKind::Quota, false, false),
        (1061044, ErrorKind::NotFound, false, false),
        (1061045, ErrorKind::RateLimited, true, false),
        (1061061, ErrorKind::Quota, false, false),
        (1061073, ErrorKind::Permission, false, false),
        (1061101, ErrorKind::Quota, false, false),
        (1061109, ErrorKind::InvalidInput, false, false),
        (1061113, ErrorKind::InvalidInput, false, false),
        (1061500, ErrorKind::NotFound, false, false),
        (1061547, ErrorKind::Quota, false, false),
        (1062004, ErrorKind::Server, true, false),
        (1062005, ErrorKind::Unsupported, false, false),
        (1062006, ErrorKind::Server, true, false),
        (1062007, ErrorKind::Auth, false, true),
        (1062008, ErrorKind::Network, true, false),
        (1062009, ErrorKind::Network, true, false),
        (1062010, ErrorKind::Server, false, true),
        (1062011, ErrorKind::InvalidInput, false, true),
        (1062012, ErrorKind::Server, true, false),
        (1062013, ErrorKind::Server, false, true),
        (1062014, ErrorKind::Unsupported, false, false),
        (1062051, ErrorKind::Network, true, false),
        (1062505, ErrorKind::Quota, false, false),
        (1062506, ErrorKind::Quota, false, false),
        (1062507, ErrorKind::Quota, false, false),
        (1064230, ErrorKind::Server, true, false),
        (99991400, ErrorKind::RateLimited, true, false),
        (99991661, ErrorKind::Auth, false, false),
        (99991663, ErrorKind::Auth, false, false),
        (99991664, ErrorKind::Auth, false, false),
        (99991668, ErrorKind::Auth, false, false),
        (99991671, ErrorKind::Auth, false, false),
        (99991672, ErrorKind::Permission, false, false),
    ];

    #[test]
    fn every_documented_code_has_a_kind_a_retry_decision_and_a_message() {
        for &(c, kind, temporary, restart) in TABLE {
            assert!(table(c).is_some(), "code {c} is in the table");
            let e = classify("upload_part", &code(c));
            assert_eq!((e.kind, e.temporary, e.restart), (kind, temporary, restart), "code {c}");
            // The code, Feishu's words and the trace id are in the message, then advice.
            for part in [c.to_string().as_str(), "\"msg\"", "log42", "Feishu upload_part"] {
                assert!(e.message.contains(part), "code {c}: {part} missing from {}", e.message);
            }
            let advice = e.message.split_once("): ").unwrap().1;
            assert!(advice.len() > 15, "code {c} has human advice: {}", e.message);
        }
    }

    #[test]
    fn the_actions_the_issue_names() {
        // Retry later: 1061045 / 1061006 / 1061001.
        for c in [1061045, 1061006, 1061001] {
            assert!(classify("x", &code(c)).temporary, "{c}");
        }
        // Upload id expired: restart from prepare.
        assert!(classify("x", &code(1061021)).restart);
        // Checksum refused: the same block again (temporary, not a restart).
        let e = classify("x", &code(1062008));
        assert!(e.temporary && !e.restart);
        // Quota, permission and name: fail with a readable message.
        let fails = [
            (1061101, "tenant's storage quota"),
            (1061061, "user's storage quota"),
            (1061004, "edit access"),
            (1061073, "drive:file:upload"),
            (1061008, "250 characters"),
            (1061109, "rename the file"),
        ];
        for (c, words) in fails {
            let e = classify("x", &code(c));
            assert!(!e.temporary && !e.restart, "{c}");
            assert!(e.message.contains(words), "{c}: {}", e.message);
        }
    }

    #[test]
    fn waits_come_from_the_gateway_when_it_says() {
        let f = Failure { code: Some(RATE_LIMITED), status: 429, retry_after: Some(Duration::from_secs(7)), ..Default::default() };
        assert_eq!(classify("x", &f).retry_after, Some(Duration::from_secs(7)));
        let f = Failure { code: Some(RATE_LIMITED), status: 429, ..Default::default() };
        assert_eq!(classify("x", &f).retry_after, Some(Duration::from_secs(1)));
        // Data migration: minutes, so the job waits in the queue rather than in place.
        let e = classify("x", &code(1064230));
        // (More than the pacer's MAX_INLINE_WAIT of 60 s.)
        assert!(e.retry_after.unwrap() > Duration::from_secs(60));
    }

    #[test]
    fn answers_without_a_code() {
        let f = |status| Failure { status, ..Default::default() };
        let e = classify("upload_all", &f(503));
        assert_eq!((e.kind, e.temporary), (ErrorKind::Server, true));
        assert!(e.message.contains("HTTP 503"), "{}", e.message);
        let e = classify("upload_all", &f(429));
        assert_eq!((e.kind, e.temporary), (ErrorKind::RateLimited, true));
        assert!(!classify("x", &f(400)).temporary);
        assert_eq!(classify("x", &f(403)).kind, ErrorKind::Permission);
        // Undocumented code with HTTP 200: surfaced, not retried.
        let e = classify("x", &code(4242));
        assert_eq!((e.kind, e.temporary), (ErrorKind::Server, false));
        assert!(e.message.contains("4242") && e.message.contains("log42"));
    }

    #[test]
    fn token_refusals_are_recognised() {
        for c in [99991661, 99991663, 99991664, 99991668, 99991671, 1061005] {
            assert!(refreshes_token(&code(c)), "{c}");
        }
        assert!(refreshes_token(&Failure { status: 401, ..Default::default() }));
        assert!(!refreshes_token(&code(1061045)));
        assert!(!refreshes_token(&code(99991672)), "a missing scope is not cured by a new token");
    }
}
