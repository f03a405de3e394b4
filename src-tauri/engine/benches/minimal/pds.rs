//! The smallest client that does what Ferry does against PDS: a refresh-token grant, `create`
//! with the part list (serial: the `pre_hash` probe; parallel: the mid-states from one hashing
//! pass, with the engine's public `pds::hash`), the part PUTs to the URLs `create` answered
//! (serial: in order; parallel: `at_once` at a time), their bytes from a reader hashing the
//! whole file beside the senders as Ferry's does, then `complete`. No queue, no ledger, no
//! retries: Ferry's baseline on the same mock.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use ferry_engine::providers::pds::hash;
use ferry_mock_providers::PdsConfig;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::minimal_reader;

/// Uploads `file` to the mock at `base`; returns the file_id and the file's SHA-1.
pub async fn upload(base: &str, cfg: &PdsConfig, file: &Path, part: u64, parallel: bool, at_once: usize) -> (String, String) {
    let http = reqwest::Client::new();
    let grant = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        cfg.client_id, cfg.client_secret, cfg.refresh_token
    );
    let token: Value = http
        .post(format!("{base}/v2/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(grant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let size = std::fs::metadata(file).unwrap().len();
    let count = size.div_ceil(part).max(1);
    let len = |n: u64| part.min(size - (n - 1) * part);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let mut body = json!({ "drive_id": cfg.drive_id, "parent_file_id": "root", "name": name, "type": "file", "check_name_mode": "auto_rename", "size": size });
    if parallel {
        let path = file.to_path_buf();
        let d = tokio::task::spawn_blocking(move || hash::digests(&path, size, part, &AtomicBool::new(false)).ok().unwrap()).await.unwrap();
        let parts: Vec<Value> = (1..=count)
            .map(|n| {
                let h: &[u32] = if n == 1 { &[] } else { &d.ctx[n as usize - 1] };
                json!({ "part_number": n, "part_size": len(n), "parallel_sha1_ctx": { "h": h, "part_offset": (n - 1) * part } })
            })
            .collect();
        body["part_info_list"] = parts.into();
        body["content_hash"] = d.content_hash.into();
        body["content_hash_name"] = "sha1".into();
        body["parallel_upload"] = true.into();
    } else {
        body["part_info_list"] = (1..=count).map(|n| json!({ "part_number": n, "part_size": len(n) })).collect::<Vec<_>>().into();
        body["pre_hash"] = hash::pre_hash(file).unwrap().into();
    }
    let call = |path: &'static str, body: Value| {
        let req = http.post(format!("{base}{path}")).bearer_auth(&access).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        }
    };
    let created = call("/v2/file/create", body).await;
    let urls: Vec<String> = created["part_info_list"].as_array().unwrap().iter().map(|p| p["upload_url"].as_str().unwrap().to_owned()).collect();
    let mut parts = minimal_reader::spawn(file, part);
    let put = |(n, bytes): (u64, Vec<u8>)| {
        let (http, url) = (http.clone(), urls[n as usize - 1].clone());
        async move {
            assert_eq!(bytes.len() as u64, len(n));
            let r = http.put(url).body(bytes).send().await?;
            assert!(r.status().is_success(), "part {n}: {}", r.status());
            r.bytes().await.map(drop)
        }
    };
    let at_once = if parallel { at_once } else { 1 };
    futures_util::stream::iter(1..=count).zip(parts.stream()).map(put).buffered(at_once).try_collect::<Vec<_>>().await.unwrap();
    let sha1 = parts.sha1().await;
    let ids = json!({ "drive_id": cfg.drive_id, "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let done = call("/v2/file/complete", ids).await;
    (done["file_id"].as_str().unwrap().to_owned(), sha1)
}
