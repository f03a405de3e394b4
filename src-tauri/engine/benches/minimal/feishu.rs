//! The smallest client that does what Ferry does against Feishu Drive: a tenant_access_token,
//! `upload_prepare`, each block of the server's plan in order as a multipart `upload_part`
//! with its Adler-32 (the blocks from a reader hashing the whole file beside the sender, as
//! Ferry's), then `upload_finish`. Paced like Ferry (the documented 5 calls a second, with a
//! 10 % margin) since the service refuses faster callers: the rate bounds both. No queue, no
//! ledger, no retries.

use std::path::Path;
use std::time::Duration;

use ferry_mock_providers::FeishuConfig;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::minimal_reader;

/// Uploads `file` into `folder` on the mock at `base`; returns the file_token and the file's
/// SHA-1.
pub async fn upload(base: &str, cfg: &FeishuConfig, folder: &str, file: &Path) -> (String, String) {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/open-apis/auth/v3/tenant_access_token/internal"))
        .json(&json!({ "app_id": cfg.app_id, "app_secret": cfg.app_secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["tenant_access_token"].as_str().unwrap().to_owned();
    let qps = ferry_engine::providers::feishu::DOCUMENTED_QPS * 0.9;
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / qps));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let send = |req: reqwest::RequestBuilder| async {
        let v: Value = req.bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(v["code"], 0, "{v}");
        v["data"].clone()
    };
    let size = std::fs::metadata(file).unwrap().len();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    pace.tick().await;
    let body = json!({ "file_name": name, "parent_type": "explorer", "parent_node": folder, "size": size });
    let plan = send(http.post(format!("{base}/open-apis/drive/v1/files/upload_prepare")).json(&body)).await;
    let upload_id = plan["upload_id"].as_str().unwrap().to_owned();
    let (block, blocks) = (plan["block_size"].as_u64().unwrap(), plan["block_num"].as_u64().unwrap());
    let mut parts = minimal_reader::spawn(file, block);
    for seq in 0..blocks {
        let buf = parts.recv().await.expect("the plan covers the file");
        let form = Form::new()
            .text("upload_id", upload_id.clone())
            .text("seq", seq.to_string())
            .text("size", buf.len().to_string())
            .text("checksum", adler::adler32_slice(&buf).to_string())
            .part("file", Part::bytes(buf).file_name("blob").mime_str("application/octet-stream").unwrap());
        pace.tick().await;
        send(http.post(format!("{base}/open-apis/drive/v1/files/upload_part")).multipart(form)).await;
    }
    let sha1 = parts.sha1().await;
    pace.tick().await;
    let done = send(http.post(format!("{base}/open-apis/drive/v1/files/upload_finish")).json(&json!({ "upload_id": upload_id, "block_num": blocks }))).await;
    (done["file_token"].as_str().unwrap().to_owned(), sha1)
}
