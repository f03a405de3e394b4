//! DingTalk's `headerSignatureInfo` (notes §3, §4) read into a shared signed [`Target`]:
//! used with exactly the headers DingTalk returned, asked for in batches of at most 30 part
//! numbers. Caching, expiry and the PUT itself are `providers::client::signed`.

use std::time::Duration;

use serde_json::Value;

use super::errors;
use crate::error::ErrorKind;
use crate::providers::client::signed::{Refusal, Target};
use crate::providers::{ProviderError, ProviderResult};

/// Part numbers per `GetMultipartFileUploadInfos` call (§3).
pub const MAX_BATCH: u32 = 30;

/// Reads a `headerSignatureInfo` object received just now.
pub fn parse(info: &Value) -> ProviderResult<Target> {
    let bad = |why: &str| ProviderError::temporary(ErrorKind::Server, format!("DingTalk's upload info is unusable: {why}"));
    let urls: Vec<String> = info
        .get("resourceUrls")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).filter(|u| !u.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if urls.is_empty() {
        return Err(bad("no resourceUrls"));
    }
    let headers = match info.get("headers") {
        None | Some(Value::Null) => vec![],
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect(),
        Some(_) => return Err(bad("headers is not a map")),
    };
    // An absent lifetime is taken as short, so the URL is used at once or asked again.
    let lifetime = info.get("expirationSeconds").and_then(crate::providers::error::lifetime_field).unwrap_or(Duration::from_secs(60));
    Ok(Target::new(urls, headers, lifetime))
}

/// What a storage refusal means (§4): a refused signature (403) is signed again; 5xx and
/// throttling try the next URL.
pub fn refusal(what: &str, status: u16, body: &str) -> Refusal {
    let e = errors::storage_put(status, body);
    let e = ProviderError { message: format!("{what}: {}", e.message), ..e };
    match status {
        403 => Refusal::Expired(e),
        _ if e.temporary => Refusal::Temporary(e),
        _ => Refusal::Fatal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let info = serde_json::json!({
            "resourceUrls": ["https://zjk.trans.dingtalkxxxxx", "https://b"],
            "headers": {"Authorization": "OSS a:b", "x-oss-date": "d"},
            "expirationSeconds": 900, "region": "ZHANGJIAKOU", "internalResourceUrls": ["ignored"]
        });
        let t = parse(&info).unwrap();
        assert_eq!(t.urls.len(), 2);
        assert!(t.headers.contains(&("x-oss-date".into(), "d".into())));
        assert!(t.fresh());
        assert!(parse(&serde_json::json!({"resourceUrls": []})).is_err());
    }

    #[test]
    fn a_refused_signature_is_signed_again_and_a_busy_host_tries_the_next_url() {
        assert!(matches!(refusal("part 1", 403, "<Error><Code>AccessDenied</Code></Error>"), Refusal::Expired(_)));
        assert!(matches!(refusal("part 1", 503, ""), Refusal::Temporary(_)));
        assert!(matches!(refusal("part 1", 400, ""), Refusal::Fatal(_)));
    }
}
