//! The smallest client that does what Ferry does against iFlytek OST: `init`, then each slice
//! in order as a signed multipart POST (`data` first, like Ferry), then `complete`; the slices
//! come from a reader hashing the whole file beside the sender, as Ferry's. No queue, no
//! ledger, no retries: the protocol's own cost on this mock, Ferry's baseline.

use std::path::Path;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::multipart::{Form, Part};
use sha2::Sha256;

use crate::minimal_reader;

/// The digest Ferry (and iFlytek's demo) signs for every call (shared/providers/xfyun.md §1c).
const EMPTY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

pub struct Client {
    http: reqwest::Client,
    base: String,
    host: String,
    app_id: String,
    api_key: String,
    api_secret: String,
}

impl Client {
    pub fn new(base: &str, app_id: &str, api_key: &str, api_secret: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            host: base.trim_start_matches("http://").trim_end_matches('/').to_owned(),
            app_id: app_id.into(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
        }
    }

    fn signed(&self, path: &str) -> reqwest::RequestBuilder {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let origin = format!("host: {}\ndate: {date}\nPOST {path} HTTP/1.1\ndigest: {EMPTY_DIGEST}", self.host);
        let mut mac = Hmac::<Sha256>::new_from_slice(self.api_secret.as_bytes()).unwrap();
        mac.update(origin.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let auth = format!(
            r#"api_key="{}", algorithm="hmac-sha256", headers="host date request-line digest", signature="{signature}""#,
            self.api_key
        );
        self.http
            .post(format!("{}{path}", self.base))
            .header("date", date)
            .header("digest", EMPTY_DIGEST)
            .header("authorization", auth)
            .header("accept", "application/json")
    }

    async fn ok(req: reqwest::RequestBuilder) -> serde_json::Value {
        let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
        assert_eq!(v["code"], 0, "{v}");
        v["data"].clone()
    }

    fn request_id() -> String {
        format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>())
    }

    /// Uploads `file` in `slice`-byte slices, one at a time; returns the object's URL and the
    /// file's SHA-1.
    pub async fn upload(&self, file: &Path, slice: u64) -> (String, String) {
        let json = |extra: serde_json::Value| {
            let mut v = extra;
            v["app_id"] = self.app_id.clone().into();
            v["request_id"] = Self::request_id().into();
            v
        };
        let data = Self::ok(self.signed("/file/mpupload/init").json(&json(serde_json::json!({"cloud_id": "0"})))).await;
        let upload_id = data["upload_id"].as_str().unwrap().to_owned();
        let mut slices = minimal_reader::spawn(file, slice);
        let mut id = 1u32;
        while let Some(buf) = slices.recv().await {
            let part = Part::bytes(buf).file_name(format!("slice-{id}")).mime_str("application/octet-stream").unwrap();
            let form = Form::new()
                .part("data", part)
                .text("app_id", self.app_id.clone())
                .text("request_id", Self::request_id())
                .text("upload_id", upload_id.clone())
                .text("slice_id", id.to_string());
            Self::ok(self.signed("/file/mpupload/upload").multipart(form)).await;
            id += 1;
        }
        let data = Self::ok(self.signed("/file/mpupload/complete").json(&json(serde_json::json!({"upload_id": upload_id})))).await;
        (data["url"].as_str().unwrap().to_owned(), slices.sha1().await)
    }
}
