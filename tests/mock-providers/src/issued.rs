//! What a mock handed out that must stay secret (access and refresh tokens, URL signatures,
//! request signatures it checked), so a test can look for each one where it must never be:
//! logs, the database, the window, command output.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::Mutex;

#[derive(Clone, Default)]
pub struct Issued(Arc<Mutex<BTreeSet<String>>>);

impl Issued {
    pub(crate) fn record(&self, secret: impl Into<String>) {
        let secret = secret.into();
        if !secret.is_empty() {
            self.0.lock().insert(secret);
        }
    }

    /// Every secret value recorded so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().iter().cloned().collect()
    }
}
