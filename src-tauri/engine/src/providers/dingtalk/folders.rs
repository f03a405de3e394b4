//! DingTalk folders (folders.md §1): one level made by `AddFolder` with
//! `RETURN_DENTRY_IF_EXISTS`, so an existing folder is answered instead of a renamed copy
//! (§1.1); listed by `ListDentries` in name order, 50 a page, echoing `nextToken` (§1.2).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::Dingtalk;
use crate::error::ErrorKind;
use crate::providers::{Entry, EntryKind, Folders, Listing, ProviderError, ProviderResult};

/// `maxResults` is at most 50 (§1.2).
const PAGE: u32 = 50;

/// A `Dentry` (§1.5) as an entry.
fn entry(d: &Value) -> Option<Entry> {
    let text = |k: &str| match &d[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let folder = d["type"].as_str() == Some("FOLDER");
    Some(Entry {
        name: text("name")?,
        kind: if folder { EntryKind::Folder } else { EntryKind::File },
        id: text("id")?,
        size: if folder { None } else { d["size"].as_u64() },
        modified: text("modifiedTime"),
    })
}

#[async_trait]
impl Folders for Dingtalk {
    fn base(&self) -> String {
        self.parent_id.clone()
    }

    fn top(&self) -> String {
        "0".into()
    }

    async fn list(&self, parent: &str, page: Option<&str>) -> ProviderResult<Listing> {
        let mut url = url::Url::parse("http://x/").expect("static URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("parentId", parent).append_pair("maxResults", &PAGE.to_string());
            q.append_pair("orderBy", "NAME").append_pair("order", "ASC");
            if let Some(t) = page {
                q.append_pair("nextToken", t);
            }
        }
        let path = format!("/v1.0/storage/spaces/{}/dentries?{}", self.space_id, url.query().unwrap_or_default());
        let answer = self.api.get("listing a folder", &path).await?;
        let entries = answer.body["dentries"].as_array().map(|a| a.iter().filter_map(entry).collect()).unwrap_or_default();
        let next = answer.body["nextToken"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
        Ok(Listing { entries, next }.sorted())
    }

    async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry> {
        let path = format!("/v1.0/storage/spaces/{}/dentries/{}/folders", self.space_id, urlencoding(parent));
        let body = json!({ "name": name, "option": { "conflictStrategy": "RETURN_DENTRY_IF_EXISTS" } });
        let answer = self.api.post(&format!("making the folder \"{name}\""), &path, &body).await?;
        entry(&answer.body["dentry"]).ok_or_else(|| {
            ProviderError::temporary(ErrorKind::Server, format!("DingTalk AddFolder \"{name}\" answered without a dentry"))
        })
    }
}

/// A path segment: ids are digits in practice, but nothing promises it.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
