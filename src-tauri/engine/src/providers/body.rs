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

/// When a body last moved: the stream notes each chunk it hands to the network, and
/// whether it is only waiting for the bandwidth limit (our choice, not a stall). The
/// request's watchdog (`http::send`) reads it.
#[derive(Clone)]
pub struct Motion(Arc<MotionState>);

struct MotionState {
    start: std::time::Instant,
    /// ms since `start` of the last chunk handed over.
    last_ms: AtomicU64,
    /// ms since `start` when the last chunk was handed over; `u64::MAX` until then.
    done_ms: AtomicU64,
    handed: AtomicU64,
    waiting_for_limit: std::sync::atomic::AtomicBool,
}

/// Why a request was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stall {
    /// No byte of the body moved for this long.
    Body(Duration),
    /// The whole body went out, and no answer came within this long.
    Answer(Duration),
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::Body(d) => write!(f, "the connection stalled: no byte moved for {} s", d.as_secs()),
            Stall::Answer(d) => write!(f, "no answer {} s after the upload was sent", d.as_secs()),
        }
    }
}

impl Motion {
    fn new() -> Self {
        Motion(Arc::new(MotionState {
            start: std::time::Instant::now(),
            last_ms: AtomicU64::new(0),
            done_ms: AtomicU64::new(u64::MAX),
            handed: AtomicU64::new(0),
            waiting_for_limit: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    fn now_ms(&self) -> u64 {
        self.0.start.elapsed().as_millis() as u64
    }

    fn moved(&self, bytes: usize, last: bool) {
        let now = self.now_ms();
        self.0.last_ms.store(now, Ordering::Relaxed);
        self.0.handed.fetch_add(bytes as u64, Ordering::Relaxed);
        if last {
            self.0.done_ms.store(now, Ordering::Relaxed);
        }
    }

    /// Has the request stalled? A body stalls when no chunk moved for `stall` while not
    /// waiting for the bandwidth limit; after the last chunk the server gets `answer`, plus
    /// the time what may still sit in the socket's buffers needs at the rate seen so far.
    pub fn stalled(&self, stall: Duration, answer: Duration) -> Option<Stall> {
        let now = self.now_ms();
        let done = self.0.done_ms.load(Ordering::Relaxed);
        if done == u64::MAX {
            let idle = now.saturating_sub(self.0.last_ms.load(Ordering::Relaxed));
            let waiting = self.0.waiting_for_limit.load(Ordering::Relaxed);
            return (!waiting && idle > stall.as_millis() as u64).then_some(Stall::Body(stall));
        }
        let handed = self.0.handed.load(Ordering::Relaxed);
        let rate = handed as f64 * 1000.0 / done.max(1) as f64; // bytes/s while handing over
        let buffered = handed.min(BUFFERED_AT_MOST) as f64;
        let drain_ms = (buffered / rate.max(1024.0) * 1000.0) as u64;
        (now.saturating_sub(done) > answer.as_millis() as u64 + drain_ms).then_some(Stall::Answer(answer))
    }
}

/// Bytes a connection may still hold in its buffers after the last chunk was handed over.
const BUFFERED_AT_MOST: u64 = 8 << 20;

/// One part's bytes, ready to send.
pub struct PartBody {
    data: Bytes,
    bandwidth: Arc<Bandwidth>,
    sent: Arc<AtomicU64>,
    motion: Motion,
}

impl PartBody {
    /// `sent` counts the bytes handed to the network during this attempt.
    pub fn new(data: Bytes, bandwidth: Arc<Bandwidth>, sent: Arc<AtomicU64>) -> Self {
        sent.store(0, Ordering::Relaxed);
        PartBody { data, bandwidth, sent, motion: Motion::new() }
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

    /// How this attempt's bytes are moving, for the request's watchdog.
    pub fn motion(&self) -> Motion {
        self.motion.clone()
    }

    /// The part as a throttled, counted stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        if self.data.is_empty() {
            self.motion.moved(0, true);
        }
        futures_util::stream::unfold((self, 0usize), |(body, at)| async move {
            if at >= body.data.len() {
                return None;
            }
            let end = (at + CHUNK).min(body.data.len());
            body.motion.0.waiting_for_limit.store(true, Ordering::Relaxed);
            body.bandwidth.take(end - at).await;
            body.motion.0.waiting_for_limit.store(false, Ordering::Relaxed);
            let chunk = body.data.slice(at..end);
            body.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            body.motion.moved(chunk.len(), end == body.data.len());
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

    #[tokio::test]
    async fn motion_tells_a_stall_from_a_slow_body_and_a_silent_server() {
        let body = PartBody::new(Bytes::from(vec![7u8; CHUNK * 2]), Arc::new(Bandwidth::new(0)), Arc::new(AtomicU64::new(0)));
        let motion = body.motion();
        let (stall, answer) = (Duration::from_millis(150), Duration::from_millis(150));
        assert_eq!(motion.stalled(stall, answer), None, "just started");
        let mut stream = Box::pin(body.into_stream());
        stream.next().await.unwrap().unwrap();
        assert_eq!(motion.stalled(stall, answer), None, "a chunk just moved");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(motion.stalled(stall, answer), Some(Stall::Body(stall)), "nothing moved for longer than the stall period");
        stream.next().await.unwrap().unwrap();
        assert_eq!(motion.stalled(stall, answer), None, "the last chunk went out: the server has time to answer");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(motion.stalled(stall, answer), Some(Stall::Answer(answer)), "and no answer came");
    }

    #[tokio::test]
    async fn waiting_for_the_bandwidth_limit_is_not_a_stall() {
        // 64 KiB/s: the second 256 KiB chunk waits ~3.7 s for the limit, far past the stall period.
        let body = PartBody::new(Bytes::from(vec![1u8; CHUNK * 2]), Arc::new(Bandwidth::new(64 * 1024)), Arc::new(AtomicU64::new(0)));
        let motion = body.motion();
        let mut stream = Box::pin(body.into_stream());
        let next = tokio::spawn(async move {
            stream.next().await;
            stream.next().await;
        });
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(motion.stalled(Duration::from_millis(200), Duration::from_secs(60)), None, "only waiting for the limit");
        next.abort();
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
