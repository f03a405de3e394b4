//! Reads a job's parts from disk in file order, once: each part's bytes feed the
//! whole-file SHA-1 and, unless the part is already acknowledged, go to the uploaders.
//! Runs on a blocking thread beside the async senders, so hashing and sending overlap.
//! Part buffers come from a bounded pool ([`Buffers`]) that also sets how far it reads ahead.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;

use crate::hashing::hex;
use crate::platform;
use crate::providers::PartSpec;
use crate::queue::{Part, PartState};
use crate::source::{self, Identity, SourceError};

pub enum ReadError {
    Source(SourceError),
    /// The uploaders stopped listening (error, pause, cancel).
    Closed,
}

impl From<SourceError> for ReadError {
    fn from(e: SourceError) -> Self {
        ReadError::Source(e)
    }
}

/// The part buffers of one transfer. At most `limit` exist at once: the reader waits for
/// one to come back before it reads the next part, so `limit` bounds the memory parts take
/// (those being sent plus the read-ahead). A buffer comes back when the last reference to
/// its bytes is dropped (the sender's, a retry's, a chunk the HTTP stack still holds) and
/// is read into again as it is, without zeroing it first.
pub struct Buffers {
    limit: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

#[derive(Default)]
struct Pool {
    free: Vec<Vec<u8>>,
    /// Buffers allocated so far (out or free); never more than `limit`.
    made: usize,
    closed: bool,
    /// The reader is waiting for a buffer (tests watch it instead of timing).
    waiting: bool,
}

impl Buffers {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Buffers { limit: limit.max(1), pool: Mutex::default(), returned: Condvar::new() })
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buffer of `len` bytes whose contents the caller overwrites, once one is free or
    /// fewer than `limit` exist; `None` once closed. Blocking.
    fn take(&self, len: usize) -> Option<Vec<u8>> {
        let mut pool = self.pool();
        loop {
            if pool.closed {
                return None;
            }
            if let Some(mut buf) = pool.free.pop() {
                drop(pool);
                // Shorter: keeps its capacity. Longer (not with one part size): only the tail is new.
                buf.resize(len, 0);
                return Some(buf);
            }
            if pool.made < self.limit {
                pool.made += 1;
                drop(pool);
                return Some(vec![0u8; len]);
            }
            pool.waiting = true;
            pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
            pool.waiting = false;
        }
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut pool = self.pool();
        if !pool.closed {
            pool.free.push(buf);
        }
        self.returned.notify_one();
    }

    /// The transfer is over: a waiting reader stops, and buffers coming back are freed.
    pub fn close(&self) {
        let mut pool = self.pool();
        pool.closed = true;
        pool.free.clear();
        self.returned.notify_all();
    }

    /// How many buffers were allocated (each at most once).
    #[cfg(test)]
    pub fn made(&self) -> usize {
        self.pool().made
    }

    #[cfg(test)]
    pub fn reader_waiting(&self) -> bool {
        self.pool().waiting
    }
}

/// A buffer lent out as a part's `Bytes`: home again when the last reference is dropped.
struct Lent {
    buf: Vec<u8>,
    home: Arc<Buffers>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.home.give_back(std::mem::take(&mut self.buf));
    }
}

/// Sends every part not yet acknowledged, in order, and returns the file's SHA-1.
pub fn read_parts(
    path: &Path,
    identity: Identity,
    parts: &[Part],
    tx: mpsc::Sender<(PartSpec, Bytes)>,
    stop: &AtomicBool,
    buffers: &Arc<Buffers>,
) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| SourceError::unreadable(path, &e))?;
    let meta = file.metadata().map_err(|e| SourceError::unreadable(path, &e))?;
    if !identity.matches(&Identity::of_file(&file, &meta)) {
        return Err(SourceError::Changed { path: path.display().to_string() }.into());
    }
    let mut hasher = Sha1::new();
    for part in parts {
        if stop.load(Ordering::Relaxed) {
            return Err(ReadError::Closed);
        }
        // Before each part: is the path still the version that was queued?
        source::verify(path, identity)?;
        let mut buf = buffers.take(part.spec.length as usize).ok_or(ReadError::Closed)?;
        let read = platform::read_exact_at(&file, &mut buf, part.spec.offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => SourceError::Changed { path: path.display().to_string() },
            _ => SourceError::unreadable(path, &e),
        });
        let buf = Lent { buf, home: buffers.clone() }; // home again even if the read failed
        read?;
        hasher.update(&buf.buf);
        if part.state != PartState::Acked && tx.blocking_send((part.spec, Bytes::from_owner(buf))).is_err() {
            return Err(ReadError::Closed);
        }
    }
    source::verify(path, identity)?;
    Ok(hex(&hasher.finalize()))
}

/// The SHA-1 of the whole file, for providers that need it before `init`.
pub fn hash_file(path: &Path, identity: Identity, stop: &AtomicBool) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| SourceError::unreadable(path, &e))?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < identity.size {
        if stop.load(Ordering::Relaxed) {
            return Err(ReadError::Closed);
        }
        let want = buf.len().min((identity.size - at) as usize);
        platform::read_exact_at(&file, &mut buf[..want], at).map_err(|e| SourceError::unreadable(path, &e))?;
        hasher.update(&buf[..want]);
        at += want as u64;
    }
    source::verify(path, identity)?;
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::PartSpec;

    /// Waits (polling) for `what`; the deadline only turns a hang into a failure.
    fn until(what: &str, f: impl Fn() -> bool) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !f() {
            assert!(std::time::Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn file(dir: &Path, size: usize) -> (std::path::PathBuf, Vec<u8>, Identity) {
        let bytes: Vec<u8> = (0..size as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let path = dir.join("f.bin");
        std::fs::write(&path, &bytes).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let identity = Identity::of_file(&f, &f.metadata().unwrap());
        (path, bytes, identity)
    }

    fn ledger(size: u64, part: u64, acked: &[u32]) -> Vec<Part> {
        crate::transfer::plan_parts(size, part)
            .into_iter()
            .map(|spec: PartSpec| Part {
                state: if acked.contains(&spec.number) { PartState::Acked } else { PartState::Pending },
                spec,
                receipt: None,
                attempts: 0,
            })
            .collect()
    }

    #[test]
    fn the_reader_holds_at_most_the_pool_of_buffers_and_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, identity) = file(dir.path(), 10 * 1000 + 300);
        let parts = ledger(bytes.len() as u64, 1000, &[2]); // 11 parts, the 2nd already acked
        let buffers = Buffers::new(3);
        let (tx, mut rx) = mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = std::thread::spawn({
            let (buffers, parts, stop) = (buffers.clone(), parts.clone(), stop.clone());
            move || read_parts(&path, identity, &parts, tx, &stop, &buffers).map_err(|_| "read failed")
        });

        // Keep every part received: with three buffers out (two here, one in the channel),
        // the reader waits for one to come back and reads nothing more meanwhile.
        let mut held: Vec<(PartSpec, Bytes)> = vec![rx.blocking_recv().unwrap(), rx.blocking_recv().unwrap()];
        until("the reader waiting for a buffer", || buffers.reader_waiting());
        assert_eq!(buffers.made(), 3);
        held.push(rx.try_recv().expect("the third buffer's part waits in the channel"));
        assert!(rx.try_recv().is_err(), "no fourth part while three buffers are out");
        assert_eq!(held.iter().map(|(s, _)| s.number).collect::<Vec<_>>(), vec![1, 3, 4], "the acked part is read (hashed) but not sent");

        // Each part given back lets the reader read one more.
        let check = |(spec, data): (PartSpec, Bytes)| {
            assert_eq!(&data[..], &bytes[spec.offset as usize..(spec.offset + spec.length) as usize], "part {}", spec.number);
            spec.number
        };
        let mut seen: Vec<u32> = held.drain(..).map(check).collect();
        while let Some(p) = rx.blocking_recv() {
            seen.push(check(p));
        }
        let sha1 = reader.join().unwrap().unwrap();
        assert_eq!(sha1, crate::hashing::hex(&Sha1::digest(&bytes)));
        assert_eq!(seen, vec![1, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(buffers.made(), 3, "ten parts read through three buffers");
    }

    #[test]
    fn a_buffer_comes_back_when_its_last_reference_goes_even_a_chunk() {
        let buffers = Buffers::new(1);
        let bytes = Bytes::from_owner(Lent { buf: buffers.take(64).unwrap(), home: buffers.clone() });
        let chunk = bytes.slice(8..16); // as the HTTP stack may still hold one
        drop(bytes);
        assert_eq!(buffers.pool().free.len(), 0, "still out through the chunk");
        drop(chunk);
        assert_eq!(buffers.pool().free.len(), 1, "back home");
        let again = buffers.take(32).unwrap();
        assert_eq!((again.len(), buffers.made()), (32, 1), "reused, cut to the new length");
    }

    #[test]
    fn closing_the_pool_stops_a_reader_waiting_for_a_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, identity) = file(dir.path(), 5000);
        let parts = ledger(bytes.len() as u64, 1000, &[]);
        let buffers = Buffers::new(1);
        let (tx, mut rx) = mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = std::thread::spawn({
            let (buffers, stop) = (buffers.clone(), stop.clone());
            move || matches!(read_parts(&path, identity, &parts, tx, &stop, &buffers), Err(ReadError::Closed))
        });
        let _first = rx.blocking_recv().unwrap();
        until("the reader waiting for a buffer", || buffers.reader_waiting());
        buffers.close();
        assert!(reader.join().unwrap(), "the reader stopped as closed");
    }
}
