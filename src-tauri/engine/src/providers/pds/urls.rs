//! Pre-signed part URLs (pds.md §3 UploadPartInfo, §5) read into shared signed targets. A
//! URL's lifetime is read from its query (`Expires` / `x-oss-expires`, Unix seconds) when it
//! carries one, else taken as the documented 15 minutes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::providers::client::signed::{Refusal, Target};

/// The documented default lifetime of an upload URL.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// One part's entry in `part_info_list` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct PartInfo {
    pub part_number: u32,
    #[serde(default)]
    pub upload_url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub part_size: Option<u64>,
    #[serde(default)]
    pub etag: Option<String>,
}

/// The usable targets among `parts`, fetched at `fetched`. A Content-Type is sent only when
/// PDS names one (§4).
pub fn targets(parts: &[PartInfo], fetched: SystemTime) -> Vec<(u32, Target)> {
    parts
        .iter()
        .filter_map(|p| {
            let url = p.upload_url.as_deref().filter(|u| !u.is_empty())?;
            let headers = p.content_type.iter().filter(|c| !c.is_empty()).map(|c| ("Content-Type".to_owned(), c.clone())).collect();
            Some((p.part_number, Target::new(vec![url.to_owned()], headers, lifetime(url, fetched))))
        })
        .collect()
}

/// What a storage refusal of part `number` means (§4).
pub fn refusal(number: u32, status: u16, text: &str, retry_after: Option<Duration>) -> Refusal {
    let (code, message) = (xml_field(text, "Code"), xml_field(text, "Message"));
    match (status, code.as_str()) {
        (403, _) if message.to_ascii_lowercase().contains("expired") => {
            Refusal::Expired(super::errors::data(number, status, &code, &message, retry_after))
        }
        (409, "PartAlreadyExist") => Refusal::AlreadyThere,
        _ => match super::errors::data(number, status, &code, &message, retry_after) {
            e if e.temporary => Refusal::Temporary(e),
            e => Refusal::Fatal(e),
        },
    }
}

/// How long `url`, fetched at `fetched`, stays valid.
fn lifetime(url: &str, fetched: SystemTime) -> Duration {
    expiry_in_query(url).map_or(DEFAULT_LIFETIME, |at| at.duration_since(fetched).unwrap_or_default())
}

fn expiry_in_query(url: &str) -> Option<SystemTime> {
    let parsed = url::Url::parse(url).ok()?;
    let secs = parsed
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("expires") || k.eq_ignore_ascii_case("x-oss-expires"))?
        .1
        .parse::<u64>()
        .ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The `<Code>` and `<Message>` of an object-storage XML error.
pub fn xml_field(text: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    text.find(&open)
        .and_then(|i| {
            let rest = &text[i + open.len()..];
            rest.find(&close).map(|j| rest[..j].trim().to_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u32, url: &str) -> PartInfo {
        PartInfo { part_number: n, upload_url: Some(url.into()), content_type: Some(String::new()), part_size: None, etag: None }
    }

    #[test]
    fn lifetime_comes_from_the_url_or_the_default() {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let now = UNIX_EPOCH + Duration::from_secs(secs);
        let v1 = format!("https://data.example/x?Expires={}&OSSAccessKeyId=a&Signature=s&partNumber=1", secs + 900);
        let v2 = format!("https://data.example/x?partNumber=1&x-oss-expires={}&x-oss-signature=s", secs + 8);
        assert_eq!(lifetime(&v1, now), Duration::from_secs(900));
        assert_eq!(lifetime(&v2, now), Duration::from_secs(8));
        assert_eq!(lifetime("https://data.example/opaque", now), DEFAULT_LIFETIME);
        assert_eq!(lifetime(&format!("http://h/p?Expires={}", secs - 1), now), Duration::ZERO);
    }

    #[test]
    fn usable_urls_become_targets_with_a_content_type_only_when_named() {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let mut typed = info(3, &format!("http://h/p?Expires={}", secs + 600));
        typed.content_type = Some("application/octet-stream".into());
        let parts = [
            info(1, &format!("http://h/p?Expires={}", secs + 600)),
            info(2, &format!("http://h/p?Expires={}", secs.saturating_sub(1))),
            typed,
            PartInfo { upload_url: None, ..info(4, "") },
        ];
        let t = targets(&parts, SystemTime::now());
        assert_eq!(t.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(t[0].1.fresh() && t[0].1.headers.is_empty(), "an empty content_type means: send none");
        assert!(!t[1].1.fresh(), "expired");
        assert_eq!(t[2].1.headers, [("Content-Type".to_owned(), "application/octet-stream".to_owned())]);
    }

    #[test]
    fn storage_errors_are_read_leniently() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>";
        assert_eq!(xml_field(xml, "Code"), "AccessDenied");
        assert_eq!(xml_field(xml, "Message"), "Request has expired.");
        assert_eq!(xml_field("not xml", "Code"), "");
        assert!(matches!(refusal(1, 403, xml, None), Refusal::Expired(_)));
        let exists = "<Error><Code>PartAlreadyExist</Code><Message>sequential</Message></Error>";
        assert!(matches!(refusal(1, 409, exists, None), Refusal::AlreadyThere));
        assert!(matches!(refusal(1, 503, "", None), Refusal::Temporary(_)));
    }
}
