//! The cached tenant_access_token (shared/providers/feishu.md §1a): fetched once for all of
//! an account's jobs, renewed before it expires, and dropped when Feishu refuses it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::creds::Secret;
use crate::providers::ProviderResult;

/// Feishu hands out a *new* token only when the current one has less than 30 minutes left
/// (before that it returns the same one), so renewing inside that window gets a fresh token.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(30 * 60);

/// One token as handed to a request.
#[derive(Clone)]
pub struct Token {
    value: Secret,
    id: u64,
    /// Some request succeeded with it: a later refusal means it went stale, not that the
    /// credentials are wrong.
    proven: Arc<AtomicBool>,
}

impl Token {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.value.expose())
    }

    pub fn prove(&self) {
        self.proven.store(true, Ordering::Relaxed);
    }

    pub fn is_proven(&self) -> bool {
        self.proven.load(Ordering::Relaxed)
    }
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

/// When to renew a token that is valid for `expire`: 30 minutes before it ends, or halfway
/// for a short-lived one.
pub fn renew_after(expire: Duration) -> Duration {
    if expire >= RENEW_BEFORE_EXPIRY * 2 {
        expire - RENEW_BEFORE_EXPIRY
    } else {
        expire / 2
    }
}

impl TokenCache {
    /// The cached token, or a new one from `fetch` (value, lifetime) when there is none or
    /// it is due for renewal.
    pub async fn get<F, Fut>(&self, fetch: F) -> ProviderResult<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ProviderResult<(Secret, Duration)>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let (value, expire) = fetch().await?;
        let token = Token { value, id: self.next_id.fetch_add(1, Ordering::Relaxed), proven: Arc::default() };
        *cached = Some(Cached { token: token.clone(), renew_at: Instant::now() + renew_after(expire) });
        Ok(token)
    }

    /// Forgets `token` (Feishu refused it), unless a newer one replaced it meanwhile.
    pub async fn invalidate(&self, token: &Token) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token.id == token.id) {
            *cached = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn renews_inside_the_window_where_feishu_issues_a_new_token() {
        assert_eq!(renew_after(Duration::from_secs(7200)), Duration::from_secs(5400));
        // The same token handed back with 52 minutes left: renewed at 22 minutes left.
        assert_eq!(renew_after(Duration::from_secs(3138)), Duration::from_secs(1569));
        assert_eq!(renew_after(Duration::from_secs(4)), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn cached_until_due_then_renewed_and_dropped_when_refused() {
        let cache = TokenCache::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            Ok((Secret::new(format!("t-{n}")), Duration::from_secs(7200)))
        };
        let a = cache.get(fetch).await.unwrap();
        assert_eq!(a.bearer(), "Bearer t-0");
        assert_eq!(cache.get(fetch).await.unwrap().bearer(), "Bearer t-0");
        tokio::time::advance(Duration::from_secs(5399)).await;
        assert_eq!(cache.get(fetch).await.unwrap().bearer(), "Bearer t-0");
        tokio::time::advance(Duration::from_secs(2)).await;
        let b = cache.get(fetch).await.unwrap();
        assert_eq!(b.bearer(), "Bearer t-1", "renewed 30 minutes before expiry");
        // A refusal of an older token does not drop the newer one.
        cache.invalidate(&a).await;
        assert_eq!(cache.get(fetch).await.unwrap().bearer(), "Bearer t-1");
        cache.invalidate(&b).await;
        assert_eq!(cache.get(fetch).await.unwrap().bearer(), "Bearer t-2");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok((Secret::new("t-x"), Duration::from_secs(7200)))
                    })
                    .await
                    .unwrap()
                    .bearer()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "Bearer t-x");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_token_never_prints() {
        let t = Token { value: Secret::new("t-secret"), id: 0, proven: Arc::default() };
        assert!(!format!("{:?}", t.value).contains("t-secret"));
    }
}
