//! Pre-signed part URLs (pds.md §3 UploadPartInfo, §5): kept in memory per upload, used
//! only while fresh. A URL's expiry is read from its query (`Expires` / `x-oss-expires`,
//! Unix seconds) when it carries one, else taken as 15 minutes after it was fetched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// The documented default lifetime of an upload URL.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Stop using a URL this long before it expires (or a quarter of its lifetime if shorter).
const MARGIN: Duration = Duration::from_secs(60);

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

#[derive(Clone)]
pub struct PartUrl {
    pub url: String,
    /// A Content-Type the PUT must carry (only when PDS names one).
    pub content_type: Option<String>,
    use_until: SystemTime,
}

#[derive(Default)]
pub struct UrlCache {
    urls: Mutex<HashMap<String, HashMap<u32, PartUrl>>>,
    /// One refresh at a time per upload; the others wait and find the new URLs.
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl UrlCache {
    pub fn insert(&self, upload_id: &str, parts: &[PartInfo], fetched: SystemTime) {
        let mut urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        let upload = urls.entry(upload_id.to_owned()).or_default();
        for p in parts {
            if let Some(url) = p.upload_url.as_deref().filter(|u| !u.is_empty()) {
                let content_type = p.content_type.clone().filter(|c| !c.is_empty());
                upload.insert(
                    p.part_number,
                    PartUrl {
                        url: url.to_owned(),
                        content_type,
                        use_until: use_until(url, fetched),
                    },
                );
            }
        }
    }

    /// The part's URL, unless missing or about to expire.
    pub fn fresh(&self, upload_id: &str, part: u32) -> Option<PartUrl> {
        let urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        let u = urls.get(upload_id)?.get(&part)?;
        (SystemTime::now() < u.use_until).then(|| u.clone())
    }

    /// The storage said this part's URL expired.
    pub fn forget(&self, upload_id: &str, part: u32) {
        if let Some(upload) = self.urls.lock().unwrap_or_else(|p| p.into_inner()).get_mut(upload_id) {
            upload.remove(&part);
        }
    }

    /// The upload is finished: drop its URLs.
    pub fn drop_upload(&self, upload_id: &str) {
        self.urls.lock().unwrap_or_else(|p| p.into_inner()).remove(upload_id);
        self.refreshing.lock().unwrap_or_else(|p| p.into_inner()).remove(upload_id);
    }

    pub fn refresh_lock(&self, upload_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.refreshing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(upload_id.to_owned())
            .or_default()
            .clone()
    }
}

/// When to stop using `url`, fetched at `fetched`.
fn use_until(url: &str, fetched: SystemTime) -> SystemTime {
    let expires = expiry_in_query(url).unwrap_or(fetched + DEFAULT_LIFETIME);
    let lifetime = expires.duration_since(fetched).unwrap_or_default();
    expires - MARGIN.min(lifetime / 4)
}

fn expiry_in_query(url: &str) -> Option<SystemTime> {
    let parsed = url::Url::parse(url).ok()?;
    let secs = parsed
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("expires") || k.eq_ignore_ascii_case("x-oss-expires"))?
        .1
        .parse::<u64>()
        .ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u32, url: &str) -> PartInfo {
        PartInfo {
            part_number: n,
            upload_url: Some(url.into()),
            content_type: Some(String::new()),
            part_size: None,
            etag: None,
        }
    }

    #[test]
    fn expiry_comes_from_the_url_or_the_default_lifetime() {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let now = UNIX_EPOCH + Duration::from_secs(secs);
        let v1 = format!("https://data.example/x?Expires={}&OSSAccessKeyId=a&Signature=s&partNumber=1", secs + 900);
        let v2 = format!("https://data.example/x?partNumber=1&x-oss-expires={}&x-oss-signature=s", secs + 8);
        assert_eq!(use_until(&v1, now), UNIX_EPOCH + Duration::from_secs(secs + 900 - 60));
        assert_eq!(
            use_until(&v2, now),
            UNIX_EPOCH + Duration::from_secs(secs + 8) - Duration::from_secs(2),
            "a quarter of a short lifetime"
        );
        assert_eq!(use_until("https://data.example/opaque", now), now + DEFAULT_LIFETIME - MARGIN);
    }

    #[test]
    fn stale_forgotten_and_unknown_parts_are_not_fresh() {
        let cache = UrlCache::default();
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        cache.insert(
            "u",
            &[
                info(1, &format!("http://h/p?Expires={}", secs + 600)),
                info(2, &format!("http://h/p?Expires={}", secs.saturating_sub(1))),
            ],
            SystemTime::now(),
        );
        let one = cache.fresh("u", 1).expect("part 1 is fresh");
        assert_eq!(one.content_type, None, "an empty content_type means: send none");
        assert!(cache.fresh("u", 2).is_none(), "expired");
        assert!(cache.fresh("u", 3).is_none(), "never fetched");
        cache.forget("u", 1);
        assert!(cache.fresh("u", 1).is_none(), "forgotten after an expired answer");
    }
}
