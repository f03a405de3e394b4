//! Folders (folders.md §1): `AddFolder` (§1.1) with its four conflict strategies, and
//! `ListDentries` (§1.2): one level, files and folders mixed, at most 50 a page, ordered by
//! `orderBy`/`order`, paged by an opaque `nextToken`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};

use super::errors::{self, ApiError};
use super::gateway::Api;
use super::handlers::check_name;
use super::store::{iso_now, next_seq, opaque};
use super::App;

/// A folder as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MockFolder {
    pub id: String,
    pub parent_id: String,
    pub name: String,
    created: String,
}

#[derive(Default)]
pub(crate) struct Folders {
    all: Mutex<Vec<MockFolder>>,
    calls: AtomicU64,
    /// nextToken → (parent, offset): tokens are opaque to the client.
    pages: Mutex<HashMap<String, (String, usize)>>,
}

impl Folders {
    pub(crate) fn exists(&self, id: &str) -> bool {
        self.all.lock().iter().any(|f| f.id == id)
    }

    pub(crate) fn all(&self) -> Vec<MockFolder> {
        self.all.lock().clone()
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn reset(&self) {
        self.all.lock().clear();
        self.pages.lock().clear();
        self.calls.store(0, Ordering::SeqCst);
    }
}

fn folder_json(space: &str, f: &MockFolder) -> Value {
    // Folders come without size and extension (§1.3).
    json!({
        "id": f.id, "uuid": format!("Zf{}", f.id), "spaceId": space, "parentId": f.parent_id,
        "type": "FOLDER", "name": f.name, "path": format!("/{}", f.name), "version": 1,
        "status": "NORMAL", "storageDriver": "DINGTALK",
        "creatorId": "mockCreator", "modifierId": "mockCreator",
        "createTime": f.created, "modifiedTime": f.created,
    })
}

fn answer(app: &App, r: Result<Value, ApiError>) -> Response {
    use axum::response::IntoResponse;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => {
            app.stats.error(&e.code);
            e.into_response()
        }
    }
}

/// `POST /v1.0/storage/spaces/{spaceId}/dentries/{parentId}/folders?unionId=…` (§1.1).
pub(crate) async fn add_folder(
    State(app): State<Arc<App>>,
    Path((space, parent)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        app.admit(Api::AddFolder, &headers, &q)?;
        let body = app.json_body(&headers, &body)?;
        app.check_space(&space)?;
        app.check_parent(&parent)?;
        let name = check_name(body.get("name").and_then(Value::as_str))?;
        let strategy = match body.pointer("/option/conflictStrategy") {
            // The documented default renames silently (§1.1).
            None => "AUTO_RENAME",
            Some(Value::String(s)) if ["AUTO_RENAME", "OVERWRITE", "RETURN_DENTRY_IF_EXISTS", "RETURN_ERROR_IF_EXISTS"].contains(&s.as_str()) => s.as_str(),
            Some(v) => return Err(ApiError::param(format!("option.conflictStrategy {v} is not one of AUTO_RENAME, OVERWRITE, RETURN_DENTRY_IF_EXISTS, RETURN_ERROR_IF_EXISTS"))),
        };
        let _one_at_a_time = app.commit_lock.lock().await;
        app.folders.calls.fetch_add(1, Ordering::SeqCst);
        let folder = app.folders.all.lock().iter().find(|f| f.parent_id == parent && f.name == name).cloned();
        // Unconfirmed whether the strategy also matches a *file*: the mock says yes and
        // answers the file, so a client must check `type`.
        let file = app.store.find(&space, &parent, &name);
        let mut name = name;
        match (folder, file, strategy) {
            (Some(f), _, "RETURN_DENTRY_IF_EXISTS" | "OVERWRITE") => return Ok(json!({ "dentry": folder_json(&space, &f) })),
            (None, Some(d), "RETURN_DENTRY_IF_EXISTS" | "OVERWRITE") => return Ok(json!({ "dentry": d })),
            (Some(_), _, "RETURN_ERROR_IF_EXISTS") | (None, Some(_), "RETURN_ERROR_IF_EXISTS") => {
                return Err(ApiError::new(errors::FILE_EXISTS, format!("{name} already exists in folder {parent}")))
            }
            (Some(_), _, _) | (None, Some(_), _) => {
                let taken = |n: &str| app.folders.all.lock().iter().any(|f| f.parent_id == parent && f.name == n) || app.store.find(&space, &parent, n).is_some();
                name = (1..).map(|i| format!("{name}({i})")).find(|n| !taken(n)).expect("a free name");
            }
            (None, None, _) => {}
        }
        let f = MockFolder { id: format!("{}", 333_000_000_000 + next_seq()), parent_id: parent, name, created: iso_now() };
        app.folders.all.lock().push(f.clone());
        Ok(json!({ "dentry": folder_json(&space, &f) }))
    }
    .await;
    answer(&app, r)
}

/// `GET /v1.0/storage/spaces/{spaceId}/dentries?parentId=…&unionId=…` (§1.2).
pub(crate) async fn list_dentries(
    State(app): State<Arc<App>>,
    Path(space): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        app.admit(Api::ListDentries, &headers, &q)?;
        app.check_space(&space)?;
        let parent = q.get("parentId").filter(|p| !p.is_empty()).ok_or_else(|| ApiError::param("parentId is mandatory"))?.clone();
        app.check_parent(&parent)?;
        let max = match q.get("maxResults") {
            None => 50,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => n,
                _ => return Err(ApiError::param(format!("maxResults {v} must be 1..50"))),
            },
        };
        let order_by = q.get("orderBy").map_or("MODIFIED_TIME", String::as_str);
        let desc = match q.get("order").map_or("DESC", String::as_str) {
            "ASC" => false,
            "DESC" => true,
            o => return Err(ApiError::param(format!("order {o} must be ASC or DESC"))),
        };
        let mut all: Vec<Value> = app.folders.all().iter().filter(|f| f.parent_id == parent).map(|f| folder_json(&space, f)).collect();
        all.extend(app.store.children(&space, &parent));
        let key = |d: &Value| -> (String, u64) {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            match order_by {
                "NAME" => (text("name"), 0),
                "SIZE" => (String::new(), d["size"].as_u64().unwrap_or(0)),
                "CREATE_TIME" => (text("createTime"), 0),
                "MODIFIED_TIME" => (text("modifiedTime"), 0),
                _ => (String::new(), 0),
            }
        };
        if !["NAME", "SIZE", "CREATE_TIME", "MODIFIED_TIME"].contains(&order_by) {
            return Err(ApiError::param(format!("orderBy {order_by} is unknown")));
        }
        all.sort_by_key(key);
        if desc {
            all.reverse();
        }
        let from = match q.get("nextToken") {
            None => 0,
            Some(t) => match app.folders.pages.lock().get(t) {
                Some((p, offset)) if *p == parent => *offset,
                _ => return Err(ApiError::param(format!("nextToken {t} is invalid"))),
            },
        };
        let page: Vec<Value> = all.iter().skip(from).take(max).cloned().collect();
        let mut out = json!({ "dentries": page });
        if from + max < all.len() {
            let token = opaque(24);
            app.folders.pages.lock().insert(token.clone(), (parent, from + max));
            out["nextToken"] = token.into();
        }
        Ok(out)
    }
    .await;
    answer(&app, r)
}
