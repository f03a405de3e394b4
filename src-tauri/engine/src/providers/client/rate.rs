//! Spaces calls to a documented rate: the engine's per-account pacer, and a provider's own
//! API calls where its part uploads go elsewhere (a storage host behind signed URLs) and so
//! must not be paced with them.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct Rate {
    interval: Duration,
    /// No call starts before this instant.
    next: Mutex<Instant>,
}

impl Rate {
    pub fn per_sec(calls: f64) -> Self {
        let interval = if calls > 0.0 && calls.is_finite() { Duration::from_secs_f64(1.0 / calls) } else { Duration::ZERO };
        Rate { interval, next: Mutex::new(Instant::now()) }
    }

    /// Waits for this call's slot.
    pub async fn slot(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Holds every call back for `d` from now (the server asked us to wait).
    pub fn hold(&self, d: Duration) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        *next = (*next).max(now.checked_add(d).unwrap_or(now + crate::providers::error::MAX_SERVER_WAIT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_to_the_rate() {
        let rate = Rate::per_sec(20.0);
        let start = Instant::now();
        for _ in 0..21 {
            rate.slot().await;
        }
        // 21 calls at 20/s: the last starts 1 s after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
