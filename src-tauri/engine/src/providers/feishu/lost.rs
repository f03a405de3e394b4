//! Lost answers of the calls that create the file (folders.md §2.7): `upload_all` and
//! `upload_finish`. When one's answer was lost the file may exist already, so before it is
//! sent again the parent folder is listed newest first, and a file of exactly this name
//! created since the upload began is taken as this upload's. An upload begun before this
//! provider was built counts as such too: the engine that sent the call may have been killed
//! (or the provider rebuilt) before the answer came, and Feishu has no other way to tell.
//! Only Drive folders can be listed; documents' media are sent again as before.

use serde_json::Value;

use super::api::{Call, Payload};
use super::target::{Family, Target};
use super::Feishu;
use crate::error::ErrorKind;
use crate::providers::{ProviderError, ProviderResult};

/// Files looked at, newest first: the few uploaded since the lost answer are among them.
const NEWEST: u32 = 50;
/// Feishu's clock and ours may differ a little.
const CLOCK_SLACK_S: i64 = 2;

/// The request may have arrived and been done: its answer is what was lost.
pub(super) fn answer_lost(e: &ProviderError) -> bool {
    e.kind == ErrorKind::Network || (e.temporary && e.kind == ErrorKind::Server)
}

impl Feishu {
    pub(super) fn mark_lost(&self, key: &str) {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned());
    }

    pub(super) fn clear_lost(&self, key: &str) {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// The file this upload made, if an earlier answer was lost and Feishu lists it: the
    /// newest `file` named `name` in `target`'s folder, created at or after `since_ms`.
    pub(super) async fn made_before(&self, key: &str, target: &Target, name: &str, since_ms: i64) -> ProviderResult<Option<String>> {
        let lost = self.lost.lock().unwrap_or_else(|p| p.into_inner()).contains(key) || since_ms < self.built_ms;
        if !lost || since_ms <= 0 || target.family != Family::Files {
            return Ok(None);
        }
        let folder: String = url::form_urlencoded::byte_serialize(target.parent_node.as_bytes()).collect();
        let path = format!("/open-apis/drive/v1/files?folder_token={folder}&order_by=EditedTime&direction=DESC&page_size={NEWEST}");
        let what = "files list (after a lost answer)";
        let data = self.api.call(Call { what, path: &path, payload: Payload::Get, counted: false }).await?;
        let since = since_ms / 1000 - CLOCK_SLACK_S;
        let found = data["files"].as_array().into_iter().flatten().find(|f| {
            let created = match &f["created_time"] {
                Value::String(s) => s.parse::<i64>().ok(),
                v => v.as_i64(),
            };
            f["type"] == "file" && f["name"] == name && created.is_some_and(|t| t >= since)
        });
        let token = found.and_then(|f| f["token"].as_str()).map(str::to_owned);
        if let Some(t) = &token {
            tracing::info!(file_token = %t, "Feishu had stored \"{name}\" before its answer was lost: taking that file");
        }
        Ok(token)
    }
}
