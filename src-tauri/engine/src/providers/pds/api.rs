//! Calls to the PDS API (pds.md §0): `POST` JSON with a Bearer token, any 2xx is success,
//! failures are `{"code","message"}` (or gateway headers). A refused access token is
//! replaced once and the call sent again (§1a).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::errors::{self, Failure};
use super::token::Tokens;
use super::urls::PartInfo;
use crate::error::ErrorKind;
use crate::creds::Secret;
use crate::providers::client::errors::{secret_header, sent};
use crate::providers::client::Endpoint;
use crate::providers::{http, ProviderError, ProviderResult};

pub struct Api {
    http: reqwest::Client,
    endpoint: Endpoint,
    pub tokens: Tokens,
}

impl Api {
    pub fn new(http: reqwest::Client, endpoint: Endpoint, tokens: Tokens) -> Self {
        Api { http, endpoint, tokens }
    }

    /// The call's result, or its failure unmapped (for callers that act on some codes).
    pub async fn call(&self, path: &str, body: &Value) -> ProviderResult<Result<Value, Failure>> {
        let access = self.tokens.access().await?;
        match self.send(path, body, access.secret()).await? {
            Err(f) if f.is_token_refused() => {
                tracing::info!(path, code = %f.code, "PDS refused the access token; refreshing it once");
                let access = self.tokens.replace(&access).await?;
                self.send(path, body, access.secret()).await
            }
            other => Ok(other),
        }
    }

    /// The call's result, every failure mapped to a [`ProviderError`].
    pub async fn post<T: DeserializeOwned>(&self, what: &str, path: &str, body: &Value) -> ProviderResult<T> {
        match self.call(path, body).await? {
            Ok(v) => parse(what, v),
            Err(f) => Err(errors::api(what, &f)),
        }
    }

    async fn send(&self, path: &str, body: &Value, token: &Secret) -> ProviderResult<Result<Value, Failure>> {
        let what = format!("PDS {path}");
        let url = self.endpoint.url(path);
        let resp = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, secret_header(&format!("Bearer {}", token.expose()))?)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.to_string())
            .timeout(http::api_timeout())
            .send()
            .await
            .map_err(|e| ProviderError::network(&what, &e))?;
        let status = resp.status().as_u16();
        let head = failure_head(&resp);
        let text = http::answer_text(resp).await.map_err(|e| sent(&what, e))?;
        if !(200..300).contains(&status) {
            return Ok(Err(failure_body(head, &text)));
        }
        if text.trim().is_empty() {
            return Ok(Ok(Value::Null));
        }
        serde_json::from_str(&text)
            .map(Ok)
            .map_err(|e| ProviderError::temporary(ErrorKind::Server, format!("{what}: unreadable answer (HTTP {status}): {e}")))
    }
}

pub fn parse<T: DeserializeOwned>(what: &str, v: Value) -> ProviderResult<T> {
    serde_json::from_value(v).map_err(|e| ProviderError::new(ErrorKind::Server, format!("PDS {what}: unexpected answer ({e})")))
}

/// What the headers of a failed answer say: status, request id, gateway error, wait.
pub fn failure_head(resp: &reqwest::Response) -> Failure {
    let h = resp.headers();
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Failure {
        status: resp.status().as_u16(),
        code: text("x-ca-error-code"),
        message: text("x-ca-error-message"),
        request_id: text("x-ca-request-id"),
        retry_after: errors::retry_after(h),
    }
}

/// Completes `head` with the JSON body's `code` and `message`, when there is one.
pub fn failure_body(mut head: Failure, text: &str) -> Failure {
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) {
        if let Some(code) = m.get("code").and_then(Value::as_str) {
            head.code = code.to_owned();
        }
        if let Some(message) = m.get("message").and_then(Value::as_str) {
            head.message = message.to_owned();
        }
    } else if head.message.is_empty() {
        head.message = text.chars().take(200).collect::<String>().trim().to_owned();
    }
    head
}

// ---- answers ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Created {
    pub file_id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub drive_id: Option<String>,
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub rapid_upload: bool,
    #[serde(default)]
    pub exist: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub part_info_list: Vec<PartInfo>,
}

#[derive(Debug, Deserialize)]
pub struct FileInfo {
    pub file_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub content_hash: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UrlAnswer {
    #[serde(default)]
    pub part_info_list: Vec<PartInfo>,
}

#[derive(Debug, Deserialize)]
pub struct PartsPage {
    #[serde(default)]
    pub uploaded_parts: Vec<PartInfo>,
    /// A string in the 2022 model, a number elsewhere; empty or absent on the last page.
    #[serde(default)]
    pub next_part_number_marker: Value,
    #[serde(default)]
    pub parallel_upload: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Drive {
    #[serde(default)]
    pub drive_id: String,
    #[serde(default)]
    pub drive_name: Option<String>,
    #[serde(default)]
    pub total_size: Option<u64>,
    #[serde(default)]
    pub used_size: Option<u64>,
}
