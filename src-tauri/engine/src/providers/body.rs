//! A part's bytes on their way out: streamed in chunks through the global bandwidth limit,
//! counting what has gone so far for progress. The bytes stay in memory until the part is
//! acknowledged, so a retry rewinds instead of re-reading the file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use futures_util::Stream;

/// Bytes handed to the network per step: large enough for throughput, small enough for
/// smooth progress and a responsive bandwidth limit.
const CHUNK: usize = 256 * 1024;

/// The global upload bandwidth limit, shared by every transfer; changeable while they run.
pub struct Bandwidth {
    bytes_per_sec: AtomicU64,
    bucket: tokio::sync::Mutex<(f64, Instant)>,
}

impl Bandwidth {
    /// `0` = unlimited.
    pub fn new(bytes_per_sec: u64) -> Self {
        Bandwidth { bytes_per_sec: AtomicU64::new(bytes_per_sec), bucket: tokio::sync::Mutex::new((0.0, Instant::now())) }
    }

    pub fn set(&self, bytes_per_sec: u64) {
        self.bytes_per_sec.store(bytes_per_sec, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.bytes_per_sec.load(Ordering::Relaxed)
    }

    /// Waits until `n` bytes may be sent. Takers queue on the lock, so they are served in
    /// order; the bucket holds at most a quarter second of burst.
    pub async fn take(&self, n: usize) {
        let rate = self.get();
        if rate == 0 {
            return;
        }
        let rate = rate as f64;
        let mut bucket = self.bucket.lock().await;
        let now = Instant::now();
        let (tokens, last) = *bucket;
        let mut tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(rate / 4.0);
        tokens -= n as f64;
        if tokens < 0.0 {
            // Pay the debt by waiting, holding the lock so later takers queue behind.
            tokio::time::sleep(Duration::from_secs_f64(-tokens / rate)).await;
            *bucket = (0.0, Instant::now());
        } else {
            *bucket = (tokens, now);
        }
    }
}

/// One part's bytes, ready to send.
pub struct PartBody {
    data: Bytes,
    bandwidth: Arc<Bandwidth>,
    sent: Arc<AtomicU64>,
}

impl PartBody {
    /// `sent` counts the bytes handed to the network during this attempt.
    pub fn new(data: Bytes, bandwidth: Arc<Bandwidth>, sent: Arc<AtomicU64>) -> Self {
        sent.store(0, Ordering::Relaxed);
        PartBody { data, bandwidth, sent }
    }

    /// The same bytes for another try within one provider call (a fallback URL, a refreshed
    /// signature): shares the bandwidth limit, and the sent counter starts again from zero.
    pub fn again(&self) -> PartBody {
        PartBody::new(self.data.clone(), self.bandwidth.clone(), self.sent.clone())
    }

    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The whole part, for checksums the provider computes over it.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The part as a throttled, counted stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        futures_util::stream::unfold((self, 0usize), |(body, at)| async move {
            if at >= body.data.len() {
                return None;
            }
            let end = (at + CHUNK).min(body.data.len());
            body.bandwidth.take(end - at).await;
            let chunk = body.data.slice(at..end);
            body.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Some((Ok(chunk), (body, end)))
        })
    }

    /// The part as a request body with a known length.
    pub fn into_reqwest(self) -> reqwest::Body {
        reqwest::Body::wrap_stream(self.into_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn streams_every_byte_in_order_and_counts_them() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let sent = Arc::new(AtomicU64::new(99));
        let body = PartBody::new(Bytes::from(data.clone()), Arc::new(Bandwidth::new(0)), sent.clone());
        assert_eq!(sent.load(Ordering::Relaxed), 0, "a new attempt starts from zero");
        let chunks: Vec<Bytes> = body.into_stream().map(|c| c.unwrap()).collect().await;
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks.concat(), data);
        assert_eq!(sent.load(Ordering::Relaxed), data.len() as u64);
    }

    #[tokio::test(start_paused = true)]
    async fn bandwidth_limit_paces_the_stream() {
        let bw = Arc::new(Bandwidth::new(1024 * 1024)); // 1 MiB/s
        let body = PartBody::new(Bytes::from(vec![0u8; 2 * 1024 * 1024]), bw, Arc::new(AtomicU64::new(0)));
        let start = tokio::time::Instant::now();
        let n = body.into_stream().count().await;
        assert_eq!(n, 8);
        let took = start.elapsed();
        // 2 MiB at 1 MiB/s with a quarter second of burst: at least 1.75 s (virtual time).
        assert!(took >= Duration::from_millis(1700), "{took:?}");
    }
}
