//! One access token per account, shared by all its jobs: fetched once (concurrent callers
//! wait for that one fetch), renewed before it expires, and dropped when the service refuses
//! it — unless a newer one already replaced it. How a token is fetched, and how early it is
//! renewed, is each provider's own; the caching is this one.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::creds::Secret;
use crate::providers::ProviderResult;

/// A token as handed to one request.
#[derive(Clone)]
pub struct Token {
    value: Secret,
    id: u64,
    /// Some request succeeded with it: a later refusal means it went stale, not that the
    /// credentials are wrong.
    proven: Arc<AtomicBool>,
}

impl Token {
    pub fn secret(&self) -> &Secret {
        &self.value
    }

    pub fn prove(&self) {
        self.proven.store(true, Ordering::Relaxed);
    }

    pub fn is_proven(&self) -> bool {
        self.proven.load(Ordering::Relaxed)
    }
}

/// What a fetch returns: the token and how long to use it before renewing.
pub struct Fetched {
    pub value: Secret,
    pub renew_after: Duration,
}

/// Renew `margin` before a token valid for `lifetime` ends, or earlier for a short-lived
/// one: never later than `1 − 1/divisor` of its lifetime.
pub fn renew_after(lifetime: Duration, margin: Duration, divisor: u32) -> Duration {
    lifetime.saturating_sub(margin.min(lifetime / divisor.max(1)))
}

struct Cached {
    token: Token,
    renew_at: Instant,
}

#[derive(Default)]
pub struct TokenCache {
    /// An async lock held while fetching, so concurrent jobs wait for one fetch.
    cached: tokio::sync::Mutex<Option<Cached>>,
    next_id: AtomicU64,
}

impl TokenCache {
    /// The cached token, or a new one from `fetch` when there is none or it is due.
    pub async fn get<F, Fut>(&self, fetch: F) -> ProviderResult<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ProviderResult<Fetched>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        self.store(&mut cached, fetch().await?)
    }

    /// A new token from `fetch`, whatever is cached (`account test`).
    pub async fn fresh<F, Fut>(&self, fetch: F) -> ProviderResult<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ProviderResult<Fetched>>,
    {
        let mut cached = self.cached.lock().await;
        *cached = None;
        self.store(&mut cached, fetch().await?)
    }

    /// Forgets `token` (the service refused it), unless a newer one replaced it meanwhile.
    pub async fn invalidate(&self, token: &Token) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token.id == token.id) {
            *cached = None;
        }
    }

    fn store(&self, cached: &mut Option<Cached>, f: Fetched) -> ProviderResult<Token> {
        let token = Token { value: f.value, id: self.next_id.fetch_add(1, Ordering::Relaxed), proven: Arc::default() };
        *cached = Some(Cached { token: token.clone(), renew_at: crate::providers::error::later(f.renew_after) });
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn fetched(v: String) -> Fetched {
        Fetched { value: Secret::new(v), renew_after: renew_after(Duration::from_secs(7200), Duration::from_secs(30 * 60), 2) }
    }

    #[test]
    fn renewal_comes_a_margin_early_or_at_a_fraction_of_a_short_life() {
        let m = Duration::from_secs(30 * 60);
        assert_eq!(renew_after(Duration::from_secs(7200), m, 2), Duration::from_secs(5400));
        assert_eq!(renew_after(Duration::from_secs(3138), m, 2), Duration::from_secs(1569));
        assert_eq!(renew_after(Duration::from_secs(4), m, 2), Duration::from_secs(2));
        assert_eq!(renew_after(Duration::from_secs(7200), Duration::from_secs(300), 4), Duration::from_secs(6900));
        assert_eq!(renew_after(Duration::from_secs(60), Duration::from_secs(300), 4), Duration::from_secs(45));
    }

    #[tokio::test(start_paused = true)]
    async fn cached_until_due_then_renewed_and_dropped_when_refused() {
        let cache = TokenCache::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async { Ok(fetched(format!("t-{}", fetches.fetch_add(1, Ordering::SeqCst)))) };
        let a = cache.get(fetch).await.unwrap();
        assert_eq!(a.secret().expose(), "t-0");
        assert_eq!(cache.get(fetch).await.unwrap().secret().expose(), "t-0");
        tokio::time::advance(Duration::from_secs(5399)).await;
        assert_eq!(cache.get(fetch).await.unwrap().secret().expose(), "t-0");
        tokio::time::advance(Duration::from_secs(2)).await;
        let b = cache.get(fetch).await.unwrap();
        assert_eq!(b.secret().expose(), "t-1", "renewed 30 minutes before expiry");
        // A refusal of an older token does not drop the newer one.
        cache.invalidate(&a).await;
        assert_eq!(cache.get(fetch).await.unwrap().secret().expose(), "t-1");
        cache.invalidate(&b).await;
        assert_eq!(cache.get(fetch).await.unwrap().secret().expose(), "t-2");
        assert_eq!(cache.fresh(fetch).await.unwrap().secret().expose(), "t-3", "fresh always fetches");
        assert_eq!(fetches.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                let t = cache
                    .get(|| async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(fetched("t-x".into()))
                    })
                    .await
                    .unwrap();
                t.secret().expose().to_owned()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "t-x");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
