//! One pacer per account: it spaces requests to the provider's documented rate, holds the
//! whole account back when the provider says "wait" (Retry-After), and retries temporary
//! failures with exponential back-off and jitter. Providers only classify errors; the pacer
//! decides the sleeps (the rclone model).

use std::future::Future;
use std::time::Duration;

use crate::providers::client::rate::Rate;
use crate::providers::ProviderError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 6, base: Duration::from_millis(500), cap: Duration::from_secs(30) }
    }
}

/// A wait longer than this (a daily quota, a long ban) is not slept through in place: the
/// error goes up and the job waits in the queue, visibly, until then.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);

pub struct Pacer {
    /// The account's request spacing; a Retry-After holds it back for everyone.
    rate: Rate,
    policy: RetryPolicy,
}

impl Pacer {
    pub fn new(requests_per_sec: Option<f64>, policy: RetryPolicy) -> Self {
        Pacer { rate: Rate::per_sec(requests_per_sec.unwrap_or(0.0)), policy }
    }

    /// Waits for this request's slot.
    pub async fn slot(&self) {
        self.rate.slot().await
    }

    /// Holds every request of the account back for `d` (the provider asked us to wait).
    pub fn hold(&self, d: Duration) {
        self.rate.hold(d)
    }

    /// The sleep before retry number `retry` (1-based): exponential, capped, with jitter
    /// in [½, 1] of the step so many clients do not retry in lockstep.
    pub fn backoff(&self, retry: u32) -> Duration {
        let step = self.policy.base.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.policy.cap);
        step.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }

    /// Runs `call` (given the attempt number, from 1) in paced slots until it succeeds,
    /// fails for good, or the attempts run out. `on_retry` hears about each retry.
    pub async fn run<T, F, Fut>(&self, mut call: F, mut on_retry: impl FnMut(&ProviderError, u32)) -> Result<T, ProviderError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 1;
        loop {
            self.slot().await;
            match call(attempt).await {
                Ok(v) => return Ok(v),
                // Not held account-wide: each job parks itself in the queue when it hears it,
                // instead of other jobs sleeping in a slot for hours with no reason shown.
                Err(e) if e.temporary && e.retry_after.is_some_and(|d| d > MAX_INLINE_WAIT) => return Err(e),
                Err(e) if !e.temporary || attempt >= self.policy.attempts => {
                    if e.temporary {
                        let tries = if attempt == 1 { "1 attempt".to_owned() } else { format!("{attempt} attempts") };
                        return Err(ProviderError { message: format!("{} (gave up after {tries})", e.message), ..e });
                    }
                    return Err(e);
                }
                Err(e) => {
                    on_retry(&e, attempt);
                    match e.retry_after {
                        Some(d) => self.hold(d),
                        None => tokio::time::sleep(self.backoff(attempt)).await,
                    }
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn policy() -> RetryPolicy {
        RetryPolicy { attempts: 4, base: Duration::from_millis(100), cap: Duration::from_secs(1) }
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_to_the_rate() {
        let p = Pacer::new(Some(5.0), policy());
        let start = Instant::now();
        for _ in 0..6 {
            p.slot().await;
        }
        // 6 requests at 5/s: the sixth starts 1 s after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_temporary_errors_then_gives_up() {
        let p = Pacer::new(None, policy());
        let calls = AtomicU32::new(0);
        let mut retries = 0;
        let r: Result<(), _> = p
            .run(
                |_| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(ProviderError::temporary(ErrorKind::Server, "503"))
                },
                |_, _| retries += 1,
            )
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(retries, 3);
        assert!(r.unwrap_err().message.contains("gave up after 4 attempts"));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let p = Pacer::new(None, policy());
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = p
            .run(
                |_| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(ProviderError::new(ErrorKind::Auth, "401"))
                },
                |_, _| {},
            )
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(r.unwrap_err().kind, ErrorKind::Auth);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_account() {
        let p = Pacer::new(None, policy());
        let start = Instant::now();
        let r = p
            .run(
                |attempt| async move {
                    if attempt == 1 {
                        Err(ProviderError::temporary(ErrorKind::RateLimited, "429").retry_after(Some(Duration::from_secs(3))))
                    } else {
                        Ok(attempt)
                    }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(r.unwrap(), 2);
        assert!(start.elapsed() >= Duration::from_secs(3));
        // Another request of the same account right now also waited for the hold.
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_is_handed_back_not_slept() {
        let p = Pacer::new(None, policy());
        let start = Instant::now();
        let r: Result<(), _> = p
            .run(
                |_| async { Err(ProviderError::temporary(ErrorKind::Quota, "daily budget").retry_after(Some(Duration::from_secs(3600)))) },
                |_, _| {},
            )
            .await;
        assert_eq!(r.unwrap_err().retry_after, Some(Duration::from_secs(3600)));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = Pacer::new(None, policy());
        for retry in 1..10 {
            let d = p.backoff(retry);
            let step = Duration::from_millis(100).saturating_mul(1 << (retry - 1)).min(Duration::from_secs(1));
            assert!(d >= step / 2 && d <= step, "retry {retry}: {d:?} vs {step:?}");
        }
    }
}
