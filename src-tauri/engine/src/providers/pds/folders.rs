//! PDS folders (folders.md §3): one level made by a `type: folder` create with
//! `check_name_mode: refuse`, whose `exist` answer names what is already there (§3.1);
//! listed by `file/list` in name order, following the opaque `next_marker` (§3.2).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Created;
use super::Pds;
use crate::providers::{Entry, EntryKind, Folders, Listing, ProviderResult};

/// `file/list` answers at most 100 items a page.
const PAGE: u32 = 100;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    items: Vec<Item>,
    /// Opaque; a string, though a number is taken too. Empty = the last page.
    #[serde(default)]
    next_marker: Value,
}

#[derive(Deserialize)]
struct Item {
    file_id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    updated_at: Option<String>,
}

fn kind(t: &str) -> EntryKind {
    if t == "folder" {
        EntryKind::Folder
    } else {
        EntryKind::File
    }
}

#[async_trait]
impl Folders for Pds {
    fn base(&self) -> String {
        self.parent_file_id.clone()
    }

    fn top(&self) -> String {
        "root".into()
    }

    async fn list(&self, parent: &str, page: Option<&str>) -> ProviderResult<Listing> {
        let mut body = json!({
            "drive_id": self.drive_id, "parent_file_id": parent, "limit": PAGE,
            "order_by": "name", "order_direction": "ASC",
        });
        if let Some(m) = page {
            body["marker"] = m.into();
        }
        let page: Page = self.api.post("list a folder", "/v2/file/list", &body).await?;
        let next = match page.next_marker {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let entries = page
            .items
            .into_iter()
            .map(|i| Entry {
                kind: kind(&i.kind),
                size: if i.kind == "folder" { None } else { i.size },
                modified: i.updated_at,
                name: i.name,
                id: i.file_id,
            })
            .collect();
        Ok(Listing { entries, next: (!next.is_empty()).then_some(next) }.sorted())
    }

    async fn make(&self, parent: &str, name: &str) -> ProviderResult<Entry> {
        let body = json!({ "drive_id": self.drive_id, "parent_file_id": parent, "name": name, "type": "folder", "check_name_mode": "refuse" });
        let made: Created = self.api.post("create folder", "/v2/file/create", &body).await?;
        Ok(Entry { kind: kind(made.kind.as_deref().unwrap_or("folder")), ..Entry::folder(made.file_name.unwrap_or_else(|| name.to_owned()), made.file_id) })
    }
}
