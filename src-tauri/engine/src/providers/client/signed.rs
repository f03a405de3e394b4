//! Pre-signed part targets (DingTalk's and PDS's object storage): kept per upload inside
//! the provider, asked for in batches just before they are needed, never used once they
//! are about to expire, and the one PUT that sends a part to them — the next URL when one
//! fails, a fresh signature (not a spent retry) when the storage says it expired.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ErrorKind;
use crate::providers::{http, PartBody, PartSpec, ProviderError, ProviderResult};

/// A target with less than this left is signed again before use (or a quarter of a short
/// lifetime).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Expired signatures renewed within one attempt at a part.
const MAX_RENEWALS: u32 = 3;

/// Where one part goes: its URLs (the first preferred, the others fallbacks) and the exact
/// headers to send with it.
#[derive(Clone)]
pub struct Target {
    pub urls: Vec<String>,
    pub headers: Vec<(String, String)>,
    use_until: Instant,
}

impl std::fmt::Debug for Target {
    // The URLs and headers carry signatures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("urls", &self.urls.len()).field("headers", &self.headers.len()).finish()
    }
}

impl Target {
    /// A target received just now, valid for `lifetime`.
    pub fn new(urls: Vec<String>, headers: Vec<(String, String)>, lifetime: Duration) -> Target {
        Target { urls, headers, use_until: crate::providers::error::later(lifetime.saturating_sub(EXPIRY_MARGIN.min(lifetime / 4))) }
    }

    /// Still safe to start a PUT with.
    pub fn fresh(&self) -> bool {
        Instant::now() < self.use_until
    }
}

/// The targets of every upload of one account: upload → part number → target.
#[derive(Default)]
pub struct TargetCache {
    entries: tokio::sync::Mutex<HashMap<String, HashMap<u32, Target>>>,
}

impl TargetCache {
    pub async fn insert(&self, upload: &str, targets: Vec<(u32, Target)>) {
        self.entries.lock().await.entry(upload.to_owned()).or_default().extend(targets);
    }

    /// The target of part `number` (of `count`). On a miss or a target about to expire,
    /// `query` is asked for this part and the following ones still lacking a fresh target
    /// (at most `batch` numbers). Holding the lock meanwhile makes parts sent at once share
    /// one query.
    pub async fn get<F, Fut>(&self, upload: &str, number: u32, count: u32, batch: u32, query: F) -> ProviderResult<Target>
    where
        F: FnOnce(Vec<u32>) -> Fut,
        Fut: Future<Output = ProviderResult<Vec<(u32, Target)>>>,
    {
        let mut entries = self.entries.lock().await;
        let targets = entries.entry(upload.to_owned()).or_default();
        if let Some(t) = targets.get(&number).filter(|t| t.fresh()) {
            return Ok(t.clone());
        }
        let last = number.saturating_add(batch.max(1) - 1).min(count.max(number));
        let wanted: Vec<u32> = (number..=last).filter(|n| *n == number || !targets.get(n).is_some_and(Target::fresh)).collect();
        targets.extend(query(wanted).await?);
        // One received just now is tried whatever lifetime it states (a broken server's 0
        // made every part fail here): the storage judges it, and an expired one is signed
        // again by `put`'s caller.
        targets
            .get(&number)
            .cloned()
            .ok_or_else(|| ProviderError::temporary(ErrorKind::Server, format!("the service gave no upload URL for part {number}")))
    }

    /// The part is done (or its target was refused): forget its target.
    pub async fn forget(&self, upload: &str, number: u32) {
        if let Some(targets) = self.entries.lock().await.get_mut(upload) {
            targets.remove(&number);
        }
    }

    /// The upload is finished or abandoned.
    pub async fn forget_upload(&self, upload: &str) {
        self.entries.lock().await.remove(upload);
    }
}

/// What a provider makes of a storage refusal (status, body, Retry-After).
pub enum Refusal {
    /// The signature expired: sign again and send again at once.
    Expired(ProviderError),
    /// The storage already holds this part (an earlier answer was lost).
    AlreadyThere,
    /// This URL failed for now: the next one, if any.
    Temporary(ProviderError),
    /// The part was refused for good.
    Fatal(ProviderError),
}

/// Why a PUT did not store the part.
pub enum PutError {
    Expired(ProviderError),
    AlreadyThere,
    Failed(ProviderError),
}

impl PutError {
    pub fn into_error(self, what: &str) -> ProviderError {
        match self {
            PutError::Expired(e) | PutError::Failed(e) => e,
            PutError::AlreadyThere => ProviderError::temporary(ErrorKind::Conflict, format!("{what}: the storage already holds this part")),
        }
    }
}

/// PUTs the body to the target's URLs in order until one takes it, with exactly its headers
/// and a Content-Length. Returns the ETag, if the storage sent one.
pub async fn put<J>(client: &reqwest::Client, target: &Target, body: &PartBody, what: &str, judge: J) -> Result<Option<String>, PutError>
where
    J: Fn(u16, &str, Option<Duration>) -> Refusal,
{
    let len = body.len();
    let mut last = None;
    for (i, url) in target.urls.iter().enumerate() {
        // No deadline while the bytes move: `http::send` gives up only on a stall.
        let mut req = client.put(url).header(reqwest::header::CONTENT_LENGTH, len);
        for (k, v) in &target.headers {
            // They carry the signature (`Authorization: OSS id:signature`): never shown.
            let Ok(mut value) = reqwest::header::HeaderValue::from_str(v) else {
                return Err(PutError::Failed(ProviderError::new(ErrorKind::Server, format!("{what}: the service gave a header that cannot be sent ({k})"))));
            };
            value.set_sensitive(true);
            req = req.header(k.as_str(), value);
        }
        let attempt = if target.urls.len() > 1 { format!("{what} (upload URL {} of {})", i + 1, target.urls.len()) } else { what.to_owned() };
        let body = body.again();
        let motion = body.motion();
        let resp = match http::send(req.body(body.into_reqwest()), motion).await {
            Ok(r) => r,
            Err(e) => {
                let e = super::errors::sent(&attempt, e);
                tracing::info!("{}; trying the next upload URL if there is one", e.message);
                last = Some(e);
                continue;
            }
        };
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            let etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
            return Ok(etag);
        }
        let retry_after = crate::providers::error::retry_after_header(resp.headers());
        let text = http::answer_text(resp).await.unwrap_or_default();
        match judge(status, &text, retry_after) {
            Refusal::Expired(e) => return Err(PutError::Expired(e)),
            Refusal::AlreadyThere => return Err(PutError::AlreadyThere),
            Refusal::Fatal(e) => return Err(PutError::Failed(e)),
            Refusal::Temporary(e) => {
                tracing::info!("{}; trying the next upload URL if there is one", e.message);
                last = Some(e);
            }
        }
    }
    Err(PutError::Failed(last.unwrap_or_else(|| ProviderError::temporary(ErrorKind::Server, format!("{what}: no upload URL")))))
}

/// One part to its cached target: a fresh target when needed (`query`, `batch` at a time),
/// and a new signature, not a spent retry, when the storage says the old one expired.
#[allow(clippy::too_many_arguments)]
pub async fn put_part<Q, Fut, J>(
    client: &reqwest::Client,
    cache: &TargetCache,
    upload: &str,
    part: PartSpec,
    batch: u32,
    body: &PartBody,
    query: Q,
    judge: J,
) -> Result<Option<String>, PutError>
where
    Q: Fn(Vec<u32>) -> Fut,
    Fut: Future<Output = ProviderResult<Vec<(u32, Target)>>>,
    J: Fn(u16, &str, Option<Duration>) -> Refusal,
{
    let what = format!("part {} of {}", part.number, part.count);
    let mut renewals = 0;
    loop {
        let target = cache.get(upload, part.number, part.count, batch, &query).await.map_err(PutError::Failed)?;
        match put(client, &target, body, &what, &judge).await {
            Err(PutError::Expired(e)) if renewals < MAX_RENEWALS => {
                tracing::info!("{}; signing this part's upload again", e.message);
                cache.forget(upload, part.number).await;
                renewals += 1;
            }
            Err(PutError::Expired(e)) => {
                cache.forget(upload, part.number).await;
                return Err(PutError::Failed(
                    ProviderError::temporary(ErrorKind::Expired, format!("{}; it expired {renewals} times in a row, trying again", e.message))
                        .retry_after(Some(Duration::ZERO)),
                ));
            }
            other => {
                cache.forget(upload, part.number).await;
                return other;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn target(secs: u64) -> Target {
        Target::new(vec!["http://x/?Signature=s".into()], vec![], Duration::from_secs(secs))
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_about_to_expire_is_not_fresh() {
        let t = target(900);
        assert!(t.fresh());
        tokio::time::advance(Duration::from_secs(839)).await;
        assert!(t.fresh());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!t.fresh(), "less than 60 s left");
        let short = target(4);
        tokio::time::advance(Duration::from_millis(2900)).await;
        assert!(!t.fresh() && short.fresh());
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(!short.fresh(), "less than a quarter of 4 s left");
        assert!(!format!("{short:?}").contains("Signature"), "Debug shows no signature");
    }

    #[tokio::test]
    async fn a_target_said_to_live_zero_seconds_is_still_tried_once() {
        let cache = TargetCache::default();
        let calls = AtomicU32::new(0);
        let query = |nums: Vec<u32>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok(nums.into_iter().map(|n| (n, target(0))).collect()) }
        };
        let t = cache.get("k", 1, 2, 30, query).await.expect("used, not refused as stale");
        assert_eq!(t.urls.len(), 1);
        cache.get("k", 2, 2, 30, query).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a stale cached target is asked again");
        let none = cache.get("k", 3, 3, 30, |_| async { Ok(vec![]) }).await.unwrap_err();
        assert!(none.temporary && none.message.contains("no upload URL for part 3"), "{}", none.message);
    }

    #[tokio::test]
    async fn batches_from_the_part_needed_and_only_stale_ones() {
        let cache = TargetCache::default();
        let asked = std::sync::Mutex::new(vec![]);
        let calls = AtomicU32::new(0);
        let query = |nums: Vec<u32>| {
            calls.fetch_add(1, Ordering::SeqCst);
            asked.lock().unwrap().push(nums.clone());
            async move { Ok(nums.into_iter().map(|n| (n, target(900))).collect()) }
        };
        for n in 1..=38 {
            cache.get("k", n, 38, 30, query).await.unwrap();
        }
        let asked = asked.into_inner().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(asked[0], (1..=30).collect::<Vec<_>>());
        assert_eq!(asked[1], (31..=38).collect::<Vec<_>>());
        // A refused target is asked again alone when its neighbours are still fresh.
        cache.forget("k", 5).await;
        let again = std::sync::Mutex::new(vec![]);
        cache
            .get("k", 5, 38, 30, |nums: Vec<u32>| {
                again.lock().unwrap().push(nums.clone());
                async move { Ok(nums.into_iter().map(|n| (n, target(900))).collect()) }
            })
            .await
            .unwrap();
        assert_eq!(again.into_inner().unwrap(), vec![vec![5]]);
        // A query that leaves the part out is a temporary failure, not a panic.
        let e = cache.get("k", 40, 40, 30, |_| async { Ok(vec![]) }).await.unwrap_err();
        assert!(e.temporary);
    }
}
