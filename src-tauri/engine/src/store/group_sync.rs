//! Group commit for fsyncs: callers that each need "everything I wrote so far is on disk"
//! share one fsync instead of queueing one each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One file's (or folder's) fsyncs, shared. A caller whose write is done takes a ticket;
/// any fsync that starts after that covers it. While one fsync runs, the callers arriving
/// meanwhile wait, and the next fsync covers all of them at once.
#[derive(Default)]
pub struct GroupSync {
    tickets: AtomicU64,
    /// The highest ticket a finished fsync covers; held while an fsync runs.
    synced: Mutex<u64>,
}

impl GroupSync {
    /// Returns once an fsync (`sync`) that began after this call has succeeded. Blocking.
    pub fn sync(&self, sync: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
        let mine = self.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= mine {
            return Ok(()); // someone else's fsync, begun after our write, covered it
        }
        // Every ticket taken so far was taken after its write: this fsync covers them all.
        let upto = self.tickets.load(Ordering::SeqCst);
        sync()?;
        *synced = upto;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn callers_waiting_together_share_fsyncs_and_each_is_covered() {
        let group = Arc::new(GroupSync::default());
        let fsyncs = Arc::new(AtomicUsize::new(0));
        // "Written" counts writes; an fsync records how many writes it saw begin after.
        let written = Arc::new(AtomicUsize::new(0));
        let durable = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (group, fsyncs, written, durable) = (group.clone(), fsyncs.clone(), written.clone(), durable.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        group
                            .sync(|| {
                                fsyncs.fetch_add(1, Ordering::SeqCst);
                                durable.fetch_max(written.load(Ordering::SeqCst), Ordering::SeqCst);
                                Ok(())
                            })
                            .unwrap();
                        assert!(durable.load(Ordering::SeqCst) >= mine, "returned before a covering fsync");
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(fsyncs.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn a_failed_fsync_covers_nobody() {
        let group = GroupSync::default();
        assert!(group.sync(|| Err(std::io::Error::other("EIO"))).is_err());
        let mut ran = false;
        group.sync(|| {
            ran = true;
            Ok(())
        })
        .unwrap();
        assert!(ran, "the next caller fsyncs again");
    }
}
