//! The smallest client that does what Ferry does against DingTalk storage: an access token,
//! `multiPartUploadInfos/init` (with the capacity pre-check), the signed part URLs in batches
//! of 30 part numbers, the part PUTs `at_once` at a time with exactly the returned headers
//! (their bytes from a reader hashing the whole file beside the senders, as Ferry's), then
//! `commit` (RETURN_DENTRY_IF_EXISTS first, as Ferry's default AUTO_RENAME does). No queue, no
//! ledger, no retries, no pacing (the mock limits API calls, not PUTs).

use std::path::Path;

use ferry_mock_providers::DingtalkConfig;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::minimal_reader;

/// Uploads `file` to the mock at `base` in `part`-byte parts; returns the dentry id and the
/// file's SHA-1.
pub async fn upload(base: &str, cfg: &DingtalkConfig, file: &Path, part: u64, at_once: usize) -> (String, String) {
    let http = reqwest::Client::new();
    let union = cfg.union_id().to_owned();
    let token: Value = http
        .post(format!("{base}/v1.0/oauth2/accessToken"))
        .json(&json!({ "appKey": cfg.app_key, "appSecret": cfg.app_secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["accessToken"].as_str().unwrap().to_owned();
    let call = |path: String, body: Value| {
        let req = http.post(format!("{base}{path}?unionId={union}")).header("x-acs-dingtalk-access-token", &token).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        }
    };
    let size = std::fs::metadata(file).unwrap().len();
    let count = size.div_ceil(part).max(1);
    let space = &cfg.space_id;
    let option = json!({ "storageDriver": "DINGTALK", "preCheckParam": { "parentId": "0", "size": size } });
    let init = call(format!("/v1.0/storage/spaces/{space}/files/multiPartUploadInfos/init"), json!({ "option": option })).await;
    let key = init["uploadKey"].as_str().unwrap().to_owned();
    let mut parts = minimal_reader::spawn(file, part);
    let mut first = 1u64;
    while first <= count {
        let numbers: Vec<u64> = (first..=count.min(first + 29)).collect();
        let infos = call("/v1.0/storage/spaces/files/multiPartUploadInfos/query".into(), json!({ "uploadKey": key, "partNumbers": numbers })).await;
        let infos = infos["multipartHeaderSignatureInfos"].as_array().unwrap().clone();
        assert!(infos.iter().map(|i| i["partNumber"].as_u64().unwrap()).eq(numbers.iter().copied()), "signed in the order asked");
        let put = |(info, bytes): (Value, Vec<u8>)| {
            let http = http.clone();
            async move {
                let n = info["partNumber"].as_u64().unwrap();
                let signed = &info["headerSignatureInfo"];
                let len = part.min(size - (n - 1) * part);
                assert_eq!(bytes.len() as u64, len);
                let mut req = http.put(signed["resourceUrls"][0].as_str().unwrap()).header("content-length", len);
                for (k, v) in signed["headers"].as_object().unwrap() {
                    req = req.header(k.as_str(), v.as_str().unwrap());
                }
                let r = req.body(bytes).send().await?;
                assert!(r.status().is_success(), "part {n}: {}", r.status());
                r.bytes().await.map(drop)
            }
        };
        // take(): zip would otherwise pull (and lose) the next batch's first part.
        let batch = infos.len();
        futures_util::stream::iter(infos).zip(parts.stream().take(batch)).map(put).buffered(at_once).try_collect::<Vec<_>>().await.unwrap();
        first += 30;
    }
    let sha1 = parts.sha1().await;
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let body = json!({ "uploadKey": key, "name": name, "parentId": "0", "option": { "size": size, "conflictStrategy": "RETURN_DENTRY_IF_EXISTS" } });
    let done = call(format!("/v1.0/storage/spaces/{space}/files/commit"), body).await;
    (done["dentry"]["id"].as_str().map(str::to_owned).unwrap_or_else(|| done.to_string()), sha1)
}
