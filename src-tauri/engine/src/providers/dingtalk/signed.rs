//! Signed part URLs (notes §3, §4): kept with their headers and expiry inside the provider,
//! asked for in batches of at most 30 part numbers just before they are needed, refreshed
//! when about to expire, and used with exactly the headers DingTalk returned.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::errors;
use crate::error::ErrorKind;
use crate::providers::{http, PartBody, ProviderError, ProviderResult};

/// Part numbers per `GetMultipartFileUploadInfos` call (§3).
pub const MAX_BATCH: u32 = 30;
/// A URL with less than this left is refreshed before use (a quarter of a short lifetime).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// One part's (or a single-shot file's) upload target.
#[derive(Debug, Clone)]
pub struct Signed {
    /// First preferred; the next ones are fallbacks.
    pub urls: Vec<String>,
    /// Sent exactly as given.
    pub headers: Vec<(String, String)>,
    pub expires_at: Instant,
    pub lifetime: Duration,
}

impl Signed {
    /// Reads a `headerSignatureInfo` object received just now.
    pub fn parse(info: &Value) -> ProviderResult<Signed> {
        let bad = |why: &str| {
            ProviderError::temporary(
                ErrorKind::Server,
                format!("DingTalk's upload info is unusable: {why}"),
            )
        };
        let urls: Vec<String> = info
            .get("resourceUrls")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if urls.is_empty() {
            return Err(bad("no resourceUrls"));
        }
        let headers = match info.get("headers") {
            None | Some(Value::Null) => vec![],
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            Some(_) => return Err(bad("headers is not a map")),
        };
        // An absent lifetime is taken as short, so the URL is used at once or asked again.
        let lifetime = Duration::from_secs(
            info.get("expirationSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(60),
        );
        Ok(Signed {
            urls,
            headers,
            expires_at: Instant::now() + lifetime,
            lifetime,
        })
    }

    /// Still safe to start a PUT with.
    pub fn fresh(&self) -> bool {
        let margin = EXPIRY_MARGIN.min(self.lifetime / 4);
        self.expires_at.saturating_duration_since(Instant::now()) > margin
    }
}

/// The signed URLs of every upload of one account: uploadKey → part number → target.
#[derive(Default)]
pub struct UrlCache {
    entries: tokio::sync::Mutex<HashMap<String, HashMap<u32, Signed>>>,
}

impl UrlCache {
    /// The target of part `number` (of `count`) of `key`. On a miss or a URL about to expire,
    /// `query` is asked for this part and the following ones still lacking a fresh URL (at most
    /// 30 numbers). Holding the lock meanwhile makes parts sent at once share one query.
    pub async fn get<F, Fut>(
        &self,
        key: &str,
        number: u32,
        count: u32,
        query: F,
    ) -> ProviderResult<Signed>
    where
        F: FnOnce(Vec<u32>) -> Fut,
        Fut: Future<Output = ProviderResult<Vec<(u32, Signed)>>>,
    {
        let mut entries = self.entries.lock().await;
        let upload = entries.entry(key.to_owned()).or_default();
        if let Some(s) = upload.get(&number).filter(|s| s.fresh()) {
            return Ok(s.clone());
        }
        let last = number.saturating_add(MAX_BATCH - 1).min(count.max(number));
        let wanted: Vec<u32> = (number..=last)
            .filter(|n| *n == number || !upload.get(n).is_some_and(Signed::fresh))
            .collect();
        for (n, s) in query(wanted).await? {
            upload.insert(n, s);
        }
        upload.get(&number).cloned().ok_or_else(|| {
            ProviderError::temporary(
                ErrorKind::Server,
                format!("DingTalk's part upload infos lacked part {number}"),
            )
        })
    }

    /// The part is done (or its URL was refused): forget its target.
    pub async fn forget(&self, key: &str, number: u32) {
        if let Some(upload) = self.entries.lock().await.get_mut(key) {
            upload.remove(&number);
        }
    }

    pub async fn forget_upload(&self, key: &str) {
        self.entries.lock().await.remove(key);
    }
}

/// Why a PUT failed.
pub enum PutError {
    /// The storage host refused the signature (expired, 403): ask for a new URL.
    Refused(ProviderError),
    /// Every URL failed (network, 5xx) or the part was refused for good.
    Failed(ProviderError),
}

impl PutError {
    pub fn into_error(self) -> ProviderError {
        match self {
            PutError::Refused(e) | PutError::Failed(e) => e,
        }
    }
}

/// PUTs the body to the target's URLs in order until one takes it, with exactly the signed
/// headers and a Content-Length (and no Content-Type of our own, §4). Returns the ETag.
pub async fn put(
    client: &reqwest::Client,
    target: &Signed,
    body: &PartBody,
    what: &str,
) -> Result<Option<String>, PutError> {
    let len = body.len();
    let mut last = None;
    for (i, url) in target.urls.iter().enumerate() {
        let mut req = client
            .put(url)
            .timeout(http::timeout_for(len))
            .header(reqwest::header::CONTENT_LENGTH, len);
        for (k, v) in &target.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match req.body(body.again().into_reqwest()).send().await {
            Ok(r) => r,
            Err(e) => {
                let e = ProviderError::network(
                    &format!("{what} (upload URL {} of {})", i + 1, target.urls.len()),
                    &e,
                );
                tracing::info!("{}; trying the next upload URL", e.message);
                last = Some(e);
                continue;
            }
        };
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            let etag = resp
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim_matches('"').to_owned());
            return Ok(etag);
        }
        let text = resp.text().await.unwrap_or_default();
        let e = errors::storage_put(status, &text);
        let e = ProviderError {
            message: format!("{what}: {}", e.message),
            ..e
        };
        match status {
            403 => return Err(PutError::Refused(e)),
            _ if e.temporary => {
                tracing::info!("{}; trying the next upload URL", e.message);
                last = Some(e);
            }
            _ => return Err(PutError::Failed(e)),
        }
    }
    Err(PutError::Failed(last.unwrap_or_else(|| {
        ProviderError::temporary(ErrorKind::Server, format!("{what}: no upload URL"))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn signed(secs: u64) -> Signed {
        Signed {
            urls: vec!["http://x".into()],
            headers: vec![],
            expires_at: Instant::now() + Duration::from_secs(secs),
            lifetime: Duration::from_secs(secs),
        }
    }

    #[test]
    fn parses_the_documented_shape() {
        let info = serde_json::json!({
            "resourceUrls": ["https://zjk.trans.dingtalkxxxxx", "https://b"],
            "headers": {"Authorization": "OSS a:b", "x-oss-date": "d"},
            "expirationSeconds": 900, "region": "ZHANGJIAKOU", "internalResourceUrls": ["ignored"]
        });
        let s = Signed::parse(&info).unwrap();
        assert_eq!(s.urls.len(), 2);
        assert!(s.headers.contains(&("x-oss-date".into(), "d".into())));
        assert_eq!(s.lifetime, Duration::from_secs(900));
        assert!(s.fresh());
        assert!(Signed::parse(&serde_json::json!({"resourceUrls": []})).is_err());
    }

    #[test]
    fn a_url_about_to_expire_is_not_fresh() {
        assert!(signed(900).fresh());
        let mut s = signed(900);
        s.expires_at = Instant::now() + Duration::from_secs(30); // < 60 s left
        assert!(!s.fresh());
        let mut short = signed(4);
        short.expires_at = Instant::now() + Duration::from_millis(500); // < a quarter of 4 s
        assert!(!short.fresh());
    }

    #[tokio::test]
    async fn batches_of_at_most_30_from_the_part_needed_and_only_stale_ones() {
        let cache = UrlCache::default();
        let asked = std::sync::Mutex::new(vec![]);
        let calls = AtomicU32::new(0);
        let query = |nums: Vec<u32>| {
            calls.fetch_add(1, Ordering::SeqCst);
            asked.lock().unwrap().push(nums.clone());
            async move { Ok(nums.into_iter().map(|n| (n, signed(900))).collect()) }
        };
        for n in 1..=38 {
            cache.get("k", n, 38, query).await.unwrap();
        }
        let asked = asked.into_inner().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(asked[0], (1..=30).collect::<Vec<_>>());
        assert_eq!(asked[1], (31..=38).collect::<Vec<_>>());
        // A refused URL is asked again alone when its neighbours are still fresh.
        cache.forget("k", 5).await;
        let again = std::sync::Mutex::new(vec![]);
        cache
            .get("k", 5, 38, |nums: Vec<u32>| {
                again.lock().unwrap().push(nums.clone());
                async move { Ok(nums.into_iter().map(|n| (n, signed(900))).collect()) }
            })
            .await
            .unwrap();
        assert_eq!(again.into_inner().unwrap(), vec![vec![5]]);
    }
}
