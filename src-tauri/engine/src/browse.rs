//! An account's folders, for `ferry ls` / `ferry mkdir` and the window's Browse dialog:
//! the provider's own folder calls ([`providers::Folders`]) behind the account's name.

use std::sync::Arc;

use serde::Serialize;

use crate::accounts::Account;
use crate::error::{Error, Result};
use crate::providers::client::folders::FolderCache;
use crate::providers::{self, Context, Entry, Listing, Provider, ProviderError};
use crate::Ferry;

/// Where browsing an account starts.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct FolderRoots {
    /// The account's base folder: destination paths start here.
    pub base: String,
    /// The top of the account's space: a base folder is chosen from here.
    pub top: String,
}

/// One account's folders, for a few calls in a row (one provider, one cache).
pub struct Browser {
    provider: Arc<dyn Provider>,
    cache: FolderCache,
}

fn provider_error(e: ProviderError) -> Error {
    Error::Provider { kind: e.kind, message: e.message }
}

/// The error for an account whose provider keeps no folders (a usage error: exit 2).
pub fn no_folders(account: &Account) -> Error {
    Error::invalid(
        "account",
        format!("account \"{}\" ({}) has no folders: its files are stored without a path", account.name, account.provider.as_str()),
    )
}

impl Browser {
    pub fn new(ferry: &Ferry, account: &Account) -> Result<Browser> {
        if !account.provider.has_folders() {
            return Err(no_folders(account));
        }
        let ctx = Context { http: ferry.proxy.client()?, accounts: ferry.accounts.clone(), account: account.clone() };
        let provider = providers::build(ctx)?;
        if provider.folders().is_none() {
            return Err(no_folders(account));
        }
        Ok(Browser { provider, cache: FolderCache::default() })
    }

    fn folders(&self) -> &dyn providers::Folders {
        self.provider.folders().expect("checked in new")
    }

    pub fn roots(&self) -> FolderRoots {
        FolderRoots { base: self.folders().base(), top: self.folders().top() }
    }

    /// The id of the existing folder `path` below the base folder.
    pub async fn find(&self, path: &str) -> Result<String> {
        let base = self.folders().base();
        self.cache.find_path(self.folders(), &base, path).await.map_err(provider_error)
    }

    /// One page of the folder `id`.
    pub async fn list(&self, id: &str, page: Option<&str>) -> Result<Listing> {
        self.folders().list(id, page).await.map_err(provider_error)
    }

    /// Every page of the folder `id`.
    pub async fn list_all(&self, id: &str) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let listing = self.list(id, page.as_deref()).await?;
            all.extend(listing.entries);
            match listing.next {
                Some(n) if Some(&n) != page.as_ref() => page = Some(n),
                _ => break,
            }
        }
        Ok(Listing { entries: all, next: None }.sorted().entries)
    }

    /// Makes `path` below the base folder (mkdir -p); its id.
    pub async fn make_path(&self, path: &str) -> Result<String> {
        if providers::client::folders::segments(path).map_err(provider_error)?.is_empty() {
            return Err(Error::invalid("path", "name the folder to make"));
        }
        let base = self.folders().base();
        self.cache.make_path(self.folders(), &base, path).await.map_err(provider_error)
    }

    /// Makes the folder `name` in the folder `parent` (or finds it there).
    pub async fn make_in(&self, parent: &str, name: &str) -> Result<Entry> {
        let name = name.trim();
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid("name", format!("\"{name}\" is not a folder name")));
        }
        let id = self.cache.make_path(self.folders(), parent, name).await.map_err(provider_error)?;
        Ok(Entry::folder(name, id))
    }
}
