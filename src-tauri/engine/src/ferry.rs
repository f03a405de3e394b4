//! The facade the shell and the CLI hold: one per data dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::accounts::Accounts;
use crate::creds::{Keyring, SecretStore};
use crate::error::Result;
use crate::proxy::ProxySettings;
use crate::queue::Queue;
use crate::store::Store;
use crate::watch::Watches;

pub struct Ferry {
    data_dir: PathBuf,
    pub store: Arc<Store>,
    pub accounts: Accounts,
    pub queue: Queue,
    pub watches: Watches,
    /// The proxy every provider's requests go through.
    pub proxy: ProxySettings,
}

impl Ferry {
    /// Opens the store in `data_dir` with the OS keyring for secrets.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<Ferry> {
        Ferry::with_secrets(data_dir, Arc::new(Keyring::default()))
    }

    pub fn with_secrets(data_dir: impl Into<PathBuf>, secrets: Arc<dyn SecretStore>) -> Result<Ferry> {
        let data_dir = data_dir.into();
        let store = Arc::new(Store::open(&data_dir)?);
        let accounts = Accounts::new(store.clone(), secrets.clone());
        let queue = Queue::new(store.clone());
        let watches = Watches::new(store.clone());
        let proxy = ProxySettings::new(queue.clone(), secrets);
        Ok(Ferry { data_dir, store, accounts, queue, watches, proxy })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

#[cfg(test)]
impl Ferry {
    /// For engine tests: a Ferry in `dir/data` with an in-memory keyring, and a `local`
    /// account "disk" that writes to `dir/dest`.
    pub(crate) fn with_disk(dir: &Path) -> (Ferry, crate::accounts::Account) {
        let ferry = Ferry::with_secrets(dir.join("data"), Arc::new(crate::creds::MemorySecrets::default())).unwrap();
        let root = dir.join("dest").display().to_string();
        let input = crate::accounts::AccountInput {
            name: "disk".into(),
            provider: crate::accounts::ProviderKind::Local,
            endpoint: None,
            settings: [("root".to_string(), root)].into(),
            secrets: Default::default(),
        };
        let account = ferry.accounts.add(input).unwrap();
        (ferry, account)
    }
}
