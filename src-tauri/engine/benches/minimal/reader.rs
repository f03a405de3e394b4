//! The minimal clients' reader, doing what Ferry's does (`transfer/reader.rs`): the file's
//! parts in order, read once on a blocking thread beside the senders, each part's bytes
//! feeding the whole-file SHA-1 that Ferry must compute for its record. Without it the
//! baseline skipped ~0.56 CPU-s/GiB of work Ferry does (docs/perf/providers.md).

use std::path::Path;

use futures_util::Stream;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;

pub struct Parts {
    rx: mpsc::Receiver<Vec<u8>>,
    task: tokio::task::JoinHandle<String>,
}

/// Starts reading `file` in `part`-byte parts. The channel holds one part, as Ferry's does,
/// so the reader runs at most two parts ahead of the senders.
pub fn spawn(file: &Path, part: u64) -> Parts {
    let f = std::fs::File::open(file).unwrap();
    let size = f.metadata().unwrap().len();
    let (tx, rx) = mpsc::channel(1);
    let task = tokio::task::spawn_blocking(move || {
        let mut hasher = Sha1::new();
        for n in 0..size.div_ceil(part).max(1) {
            let offset = n * part;
            let mut buf = vec![0u8; part.min(size - offset) as usize];
            ferry_engine::platform::read_exact_at(&f, &mut buf, offset).unwrap();
            hasher.update(&buf);
            tx.blocking_send(buf).expect("the senders take every part");
        }
        ferry_engine::hashing::hex(&hasher.finalize())
    });
    Parts { rx, task }
}

impl Parts {
    /// The next part's bytes, in file order; None after the last.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// The parts still to come, as a stream (polled only when a sender has room).
    pub fn stream(&mut self) -> impl Stream<Item = Vec<u8>> + '_ {
        futures_util::stream::unfold(&mut self.rx, |rx| async move { rx.recv().await.map(|b| (b, rx)) })
    }

    /// The whole file's SHA-1 (hex), once every part has been taken (else the reader panics).
    pub async fn sha1(self) -> String {
        let Parts { rx, task } = self;
        drop(rx);
        task.await.unwrap()
    }
}
