//! Destination folders as paths (`reports/2026/q4`) below an account's base folder, on top of
//! the two calls a provider with folders supplies ([`Folders`]: list one level, make one
//! level). Found or made ids are cached per account, and making is serialised, so a folder
//! drop of 10,000 files asks for each folder once.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::providers::{ProviderError, ProviderResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Folder,
    File,
}

/// One child of a folder, as `ferry ls` and the Browse dialog show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    /// The provider's id or token of this item (what uploads into it use).
    pub id: String,
    pub size: Option<u64>,
    /// As the provider says it (ISO-8601 or Unix seconds), for people.
    pub modified: Option<String>,
}

impl Entry {
    pub fn folder(name: impl Into<String>, id: impl Into<String>) -> Entry {
        Entry { name: name.into(), kind: EntryKind::Folder, id: id.into(), size: None, modified: None }
    }
}

/// One page of a folder's children: folders first, then by name; `next` asks for the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub next: Option<String>,
}

impl Listing {
    /// Folders first, each group by name: the order every listing is shown in.
    pub fn sorted(mut self) -> Listing {
        self.entries.sort_by(|a, b| (a.kind != EntryKind::Folder, &a.name).cmp(&(b.kind != EntryKind::Folder, &b.name)));
        self
    }
}

/// The folder calls of a provider that has folders.
#[async_trait]
pub trait Folders: Send + Sync {
    /// The id of the account's base folder, which destination paths start from.
    fn base(&self) -> String;

    /// The id of the top of the account's space (where a base folder is chosen from).
    fn top(&self) -> String {
        self.base()
    }

    /// One page of `parent`'s children, sorted by name (folders first).
    async fn list(&self, parent: &str, page: Option<&str>) -> ProviderResult<Listing>;

    /// The folder `name` in `parent`: the existing one, else made now. Never a second folder
    /// of that name; a file of that name is a `Conflict`.
    async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry>;
}

/// The names of a destination path; `..` is refused, empty and `.` segments are skipped.
pub fn segments(path: &str) -> ProviderResult<Vec<&str>> {
    let names: Vec<&str> = path.split('/').map(str::trim).filter(|n| !n.is_empty() && *n != ".").collect();
    if names.contains(&"..") {
        return Err(ProviderError::new(ErrorKind::InvalidInput, format!("destination \"{path}\" must be a folder path without \"..\"")));
    }
    Ok(names)
}

/// Per account: (parent id, name) → folder id, for every folder found or made.
#[derive(Default)]
pub struct FolderCache {
    known: Mutex<HashMap<(String, String), String>>,
    /// One walk that may make folders at a time: two jobs of the same new folder must not
    /// both make it (Feishu would keep both).
    making: tokio::sync::Mutex<()>,
}

impl FolderCache {
    fn known(&self, parent: &str, name: &str) -> Option<String> {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).get(&(parent.to_owned(), name.to_owned())).cloned()
    }

    fn remember(&self, parent: &str, name: &str, id: &str) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).insert((parent.to_owned(), name.to_owned()), id.to_owned());
    }

    /// The folder id of `path` below `from`, every missing level made (mkdir -p).
    pub async fn make_path(&self, folders: &dyn Folders, from: &str, path: &str) -> ProviderResult<String> {
        let names = segments(path)?;
        if let Some(id) = self.cached(from, &names) {
            return Ok(id);
        }
        let _one_at_a_time = self.making.lock().await;
        let mut parent = from.to_owned();
        for name in names {
            parent = match self.known(&parent, name) {
                Some(id) => id,
                None => {
                    let made = folders.make(&parent, name).await?;
                    if made.kind != EntryKind::Folder {
                        return Err(not_a_folder(path, name));
                    }
                    self.remember(&parent, name, &made.id);
                    made.id
                }
            };
        }
        Ok(parent)
    }

    /// The folder id of an existing `path` below `from` (nothing is made): a missing level is
    /// a `NotFound` naming it.
    pub async fn find_path(&self, folders: &dyn Folders, from: &str, path: &str) -> ProviderResult<String> {
        let mut parent = from.to_owned();
        for name in segments(path)? {
            if let Some(id) = self.known(&parent, name) {
                parent = id;
                continue;
            }
            let entry = find(folders, &parent, name).await?.ok_or_else(|| {
                ProviderError::new(ErrorKind::NotFound, format!("no folder \"{name}\" (in \"{path}\")"))
            })?;
            if entry.kind != EntryKind::Folder {
                return Err(not_a_folder(path, name));
            }
            self.remember(&parent, name, &entry.id);
            parent = entry.id;
        }
        Ok(parent)
    }

    fn cached(&self, from: &str, names: &[&str]) -> Option<String> {
        let mut parent = from.to_owned();
        for name in names {
            parent = self.known(&parent, name)?;
        }
        Some(parent)
    }
}

fn not_a_folder(path: &str, name: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Conflict, format!("a file named \"{name}\" is where the folder \"{path}\" should be"))
}

/// The child named `name` of `parent` (a folder if there are both), paging through the listing.
pub async fn find(folders: &dyn Folders, parent: &str, name: &str) -> ProviderResult<Option<Entry>> {
    let mut page: Option<String> = None;
    let mut found = None;
    loop {
        let listing = folders.list(parent, page.as_deref()).await?;
        for e in listing.entries.into_iter().filter(|e| e.name == name) {
            if e.kind == EntryKind::Folder {
                return Ok(Some(e));
            }
            found = Some(e);
        }
        match listing.next.filter(|n| !n.is_empty()) {
            Some(n) if Some(&n) != page.as_ref() => page = Some(n),
            _ => return Ok(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Folders in memory, listed two per page, counting makes.
    #[derive(Default)]
    struct Memory {
        children: Mutex<Vec<(String, Entry)>>,
        makes: AtomicUsize,
    }

    #[async_trait]
    impl Folders for Memory {
        fn base(&self) -> String {
            "root".into()
        }
        async fn list(&self, parent: &str, page: Option<&str>) -> ProviderResult<Listing> {
            let all: Vec<Entry> = self.children.lock().unwrap().iter().filter(|(p, _)| p == parent).map(|(_, e)| e.clone()).collect();
            let from: usize = page.map_or(0, |p| p.parse().unwrap());
            let next = (from + 2 < all.len()).then(|| (from + 2).to_string());
            Ok(Listing { entries: all.into_iter().skip(from).take(2).collect(), next }.sorted())
        }
        async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry> {
            if let Some(e) = find(self, parent, name).await? {
                return Ok(e);
            }
            let n = self.makes.fetch_add(1, Ordering::SeqCst);
            let e = Entry::folder(name, format!("id{n}"));
            self.children.lock().unwrap().push((parent.to_owned(), e.clone()));
            Ok(e)
        }
    }

    #[tokio::test]
    async fn every_folder_is_made_once_however_many_files_go_there() {
        let m = Memory::default();
        let cache = std::sync::Arc::new(FolderCache::default());
        let m = std::sync::Arc::new(m);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (m, cache) = (m.clone(), cache.clone());
            let path = ["a/b/c", "a/b", "a/d", "e"][i % 4];
            tasks.push(tokio::spawn(async move { cache.make_path(m.as_ref(), "root", path).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(m.makes.load(Ordering::SeqCst), 5, "a, a/b, a/b/c, a/d, e");
        let c = cache.find_path(m.as_ref(), "root", "/a//b/./c/").await.unwrap();
        assert_eq!(c, cache.make_path(m.as_ref(), "root", "a/b/c").await.unwrap());
    }

    #[tokio::test]
    async fn a_missing_level_or_a_file_in_the_way_is_named() {
        let m = Memory::default();
        m.children.lock().unwrap().push(("root".into(), Entry { kind: EntryKind::File, ..Entry::folder("f", "x") }));
        for n in ["p", "q", "r"] {
            m.children.lock().unwrap().push(("root".into(), Entry::folder(n, n)));
        }
        let cache = FolderCache::default();
        assert_eq!(cache.find_path(&m, "root", "r").await.unwrap(), "r", "found on the second page");
        let e = cache.find_path(&m, "root", "p/nope").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e.message.contains("\"nope\""), "{}", e.message);
        assert_eq!(cache.find_path(&m, "root", "f").await.unwrap_err().kind, ErrorKind::Conflict);
        assert_eq!(cache.make_path(&m, "root", "a/../b").await.unwrap_err().kind, ErrorKind::InvalidInput);
    }
}
