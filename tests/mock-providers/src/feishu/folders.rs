//! Drive folders (folders.md §2): `create_folder` (§2.1; nothing stops two folders of the
//! same name; structure-changing, so limited with the upload APIs and refused when another
//! is in progress: 1061045) and `GET /open-apis/drive/v1/files` (§2.2: one level, folders and
//! files mixed in creation order, no size, `page_size` ≤ 200, opaque `page_token`; with no
//! `folder_token` the root, whole, unpaged).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, Request, State};
use axum::response::Response;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};

use super::envelope::{BizError, CAN_RETRY, PARENT_NOT_EXIST};
use super::App;

/// A folder as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MockFolder {
    pub token: String,
    pub parent: String,
    pub name: String,
    created: u64,
}

#[derive(Default)]
pub(crate) struct Folders {
    all: Mutex<Vec<MockFolder>>,
    busy: Mutex<bool>,
    overlaps: AtomicU64,
    pages: Mutex<HashMap<String, (String, usize)>>,
    seq: AtomicU64,
}

impl Folders {
    pub(crate) fn exists(&self, token: &str) -> bool {
        self.all.lock().iter().any(|f| f.token == token)
    }

    pub(crate) fn all(&self) -> Vec<MockFolder> {
        self.all.lock().clone()
    }

    pub(crate) fn overlaps(&self) -> u64 {
        self.overlaps.load(Ordering::SeqCst)
    }

    pub(crate) fn reset(&self) {
        self.all.lock().clear();
        self.pages.lock().clear();
        self.overlaps.store(0, Ordering::SeqCst);
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl App {
    /// The root folder: the first configured folder (what root_folder/meta answers).
    fn root_token(&self) -> String {
        self.cfg.folders.first().cloned().unwrap_or_default()
    }

    fn folder_known(&self, token: &str) -> bool {
        self.cfg.folders.iter().any(|f| f == token) || self.folders.exists(token)
    }
}

/// `POST /open-apis/drive/v1/files/create_folder` {name, folder_token} → {token, url}.
pub(crate) async fn create_folder(State(app): State<Arc<App>>, req: Request) -> Response {
    let outcome = async {
        let bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.map_err(|e| BizError::params(e))?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| BizError::params(format!("body is not JSON: {e}")))?;
        let name = body["name"].as_str().map(str::trim).filter(|n| !n.is_empty()).ok_or_else(|| BizError::params("name is required"))?;
        if name.chars().count() > 256 || name.contains('/') {
            return Err(BizError::params(format!("name {name:?} is not a folder name")));
        }
        let parent = match body["folder_token"].as_str() {
            None => return Err(BizError::params("folder_token is required (\"\" for the root)")),
            Some("") => app.root_token(),
            Some(t) => t.to_owned(),
        };
        {
            let mut busy = app.folders.busy.lock();
            if *busy {
                app.folders.overlaps.fetch_add(1, Ordering::SeqCst);
                return Err(BizError::new(CAN_RETRY, "another structure-changing call is in progress"));
            }
            *busy = true;
        }
        let made = (|| {
            if !app.folder_known(&parent) {
                return Err(BizError::new(PARENT_NOT_EXIST, format!("folder {parent:?}")));
            }
            let n = app.folders.seq.fetch_add(1, Ordering::SeqCst);
            let token = format!("fldcnMock{n:06}{}", &parent.len());
            let f = MockFolder { token: token.clone(), parent, name: name.to_owned(), created: now() };
            app.folders.all.lock().push(f);
            Ok(json!({ "token": token, "url": format!("https://mock.feishu.cn/drive/folder/{token}") }))
        })();
        // Hold the call a moment so a concurrent second one is seen as such.
        tokio::time::sleep(app.cfg.folder_call_hold).await;
        *app.folders.busy.lock() = false;
        made
    }
    .await;
    app.respond(outcome)
}

/// `GET /open-apis/drive/v1/files?folder_token=&page_size=&page_token=`.
pub(crate) async fn list(State(app): State<Arc<App>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let outcome = (|| {
        let size = match q.get("page_size") {
            None => 100,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=200).contains(&n) => n,
                _ => return Err(BizError::new(1064001, format!("page_size {v}"))),
            },
        };
        let whole_root = q.get("folder_token").is_none_or(|t| t.is_empty());
        let folder = if whole_root { app.root_token() } else { q["folder_token"].clone() };
        if !app.folder_known(&folder) {
            return Err(BizError::new(super::NOT_FOUND, format!("folder {folder:?}")));
        }
        let mut items: Vec<Value> = app
            .folders
            .all()
            .into_iter()
            .filter(|f| f.parent == folder)
            .map(|f| json!({ "token": f.token, "name": f.name, "type": "folder", "parent_token": folder,
                             "created_time": f.created.to_string(), "modified_time": f.created.to_string(), "owner_id": "ou_mock" }))
            .collect();
        items.extend(app.store.files_in(&folder).into_iter().map(|(token, name, created)| {
            json!({ "token": token, "name": name, "type": "file", "parent_token": folder, "owner_id": "ou_mock",
                    "created_time": created.to_string(), "modified_time": created.to_string() })
        }));
        // order_by EditedTime | CreatedTime, direction ASC | DESC (§2.2); stable, so equal
        // times keep creation order (newest last, or first when descending).
        match q.get("order_by").map(String::as_str) {
            None => {}
            Some("EditedTime" | "CreatedTime") => {
                let time = |v: &Value| v["created_time"].as_str().and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                items.sort_by_key(time);
                match q.get("direction").map(String::as_str) {
                    None | Some("ASC") => {}
                    Some("DESC") => items.reverse(),
                    Some(d) => return Err(BizError::params(format!("direction {d}"))),
                }
            }
            Some(o) => return Err(BizError::params(format!("order_by {o}"))),
        }
        if whole_root {
            return Ok(json!({ "files": items, "has_more": false }));
        }
        let from = match q.get("page_token") {
            None => 0,
            Some(t) => match app.folders.pages.lock().get(t) {
                Some((f, at)) if *f == folder => *at,
                _ => return Err(BizError::params(format!("page_token {t}"))),
            },
        };
        let page: Vec<Value> = items.iter().skip(from).take(size).cloned().collect();
        let more = from + size < items.len();
        let mut data = json!({ "files": page, "has_more": more });
        if more {
            let token = format!("pt{}", app.folders.seq.fetch_add(1, Ordering::SeqCst) * 7919 + 13);
            app.folders.pages.lock().insert(token.clone(), (folder, from + size));
            data["next_page_token"] = token.into();
        }
        Ok(data)
    })();
    app.respond(outcome)
}
