//! Feishu Drive folders (folders.md §2): nothing on the server stops a second folder of the
//! same name, so a level is made only after listing the parent finds it missing, and every
//! create goes through the daily budget, one at a time, spaced for the 5 QPS that
//! structure-changing calls share (§2.5, §2.7). A destination that is a folder token
//! (`fld…`, `nod…`) or `TYPE:NODE` is used as such, as before.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::api::{Call, Payload};
use super::target::{Destination, EXPLORER};
use super::{Feishu, PACED_QPS};
use crate::error::ErrorKind;
use crate::providers::client::folders::find;
use crate::providers::{Entry, EntryKind, Folders, Listing, ProviderError, ProviderResult};

/// `page_size` is at most 200 (§2.2).
const PAGE: u32 = 200;
/// A folder holds at most 1,500 children (§2.5): listing it whole is at most 8 pages.
const MAX_PAGES: usize = 8;

/// When the last structure-changing call was sent; held while one is in flight.
#[derive(Default)]
pub struct Spacing(tokio::sync::Mutex<Option<Instant>>);

impl Spacing {
    /// Runs `call` after the previous one, at least 1 / PACED_QPS seconds after it.
    async fn run<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let mut last = self.0.lock().await;
        if let Some(at) = *last {
            let gap = Duration::from_secs_f64(1.0 / PACED_QPS);
            tokio::time::sleep(gap.saturating_sub(at.elapsed())).await;
        }
        let out = call.await;
        *last = Some(Instant::now());
        out
    }
}

/// A job's destination as a folder path below the account's folder, or `None` when it names
/// the node itself (empty, a token, or `TYPE:NODE`).
pub fn as_path<'a>(account: &Destination, dest: &'a str) -> Option<&'a str> {
    let dest = dest.trim().trim_matches('/');
    // Tokens are long, mixed letters and digits; a folder called "nodes" is a name.
    let token = |d: &str| {
        (d.starts_with("fld") || d.starts_with("nod"))
            && d.len() >= 12
            && d.chars().all(|c| c.is_ascii_alphanumeric())
            && d.chars().any(|c| c.is_ascii_digit())
    };
    let typed = dest.split_once(':').is_some_and(|(t, _)| super::target::known_types().contains(&t));
    let plain = !dest.is_empty() && !typed && !token(dest) && account.parent_type == EXPLORER;
    plain.then_some(dest)
}

fn entry(f: &Value) -> Option<Entry> {
    let folder = f["type"].as_str() == Some("folder");
    Some(Entry {
        name: f["name"].as_str()?.to_owned(),
        kind: if folder { EntryKind::Folder } else { EntryKind::File },
        id: f["token"].as_str()?.to_owned(),
        // The listing has no size (§2.2).
        size: None,
        modified: f["modified_time"].as_str().map(str::to_owned),
    })
}

#[async_trait]
impl Folders for Feishu {
    fn base(&self) -> String {
        self.destination.parent_node.clone()
    }

    fn top(&self) -> String {
        // An empty folder_token lists the caller's own root (§2.2).
        String::new()
    }

    /// The whole folder in one page: Feishu cannot list in name order, and a folder holds at
    /// most 1,500 children.
    async fn list(&self, parent: &str, _page: Option<&str>) -> ProviderResult<Listing> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = url::Url::parse("http://x/").expect("static URL");
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("page_size", &PAGE.to_string());
                if !parent.is_empty() {
                    q.append_pair("folder_token", parent);
                }
                if let Some(t) = &token {
                    q.append_pair("page_token", t);
                }
            }
            let path = format!("/open-apis/drive/v1/files?{}", url.query().unwrap_or_default());
            let call = Call { what: "list", path: &path, payload: Payload::Get, counted: false };
            let data = self.api.call(call).await?;
            entries.extend(data["files"].as_array().into_iter().flatten().filter_map(entry));
            let next = data["next_page_token"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
            match next {
                Some(n) if data["has_more"].as_bool() != Some(false) && Some(&n) != token.as_ref() => token = Some(n),
                _ => break,
            }
        }
        Ok(Listing { entries, next: None }.sorted())
    }

    async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry> {
        if let Some(found) = find(self, parent, name).await? {
            return Ok(found);
        }
        let body = json!({ "name": name, "folder_token": parent });
        let call = Call { what: "create_folder", path: "/open-apis/drive/v1/files/create_folder", payload: Payload::Json(body), counted: true };
        let data = self.structure.run(self.api.call(call)).await?;
        let token = data["token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            ProviderError::temporary(ErrorKind::Server, format!("Feishu create_folder \"{name}\" answered success without data.token"))
        })?;
        Ok(Entry::folder(name, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_typed_nodes_stay_nodes_and_the_rest_are_paths() {
        let account = Destination { parent_type: EXPLORER.into(), parent_node: "fldRoot".into(), drive_route_token: None };
        assert_eq!(as_path(&account, ""), None);
        assert_eq!(as_path(&account, "fldbcO1UuPz8VwnpPx5a92abcef"), None);
        assert_eq!(as_path(&account, "nodcnAbc12345"), None);
        assert_eq!(as_path(&account, "nodes"), Some("nodes"));
        assert_eq!(as_path(&account, "docx_file:blk9"), None);
        assert_eq!(as_path(&account, "reports/2026"), Some("reports/2026"));
        assert_eq!(as_path(&account, "/photos/"), Some("photos"));
        let doc = Destination { parent_type: "docx_file".into(), ..account };
        assert_eq!(as_path(&doc, "reports"), None);
    }
}
