//! `xfyun`: iFlytek's OST upload service (shared/providers/xfyun.md). Small files go in one
//! `/file/upload`; larger ones through `/file/mpupload/init → upload (slice_id from 1) →
//! complete`. There is no way to list received slices, so the ledger is the truth.

mod errors;
mod sign;

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};

use super::body::Motion;
use super::client::errors::{secret_header, sent};
use super::client::form::file_part;
use super::client::Endpoint;
use super::{http, Committed, Context, Init, JobSpec, Limits, PartBody, PartReceipt, PartSpec, Provider, ProviderError, ProviderResult};
use crate::creds::Secret;
use crate::error::{ErrorKind, Result};

/// Below this size one `/file/upload` request carries the whole file ("小于30M", §2).
pub const DEFAULT_ONESHOT_MAX: u64 = 30_000_000;

pub struct Xfyun {
    http: reqwest::Client,
    endpoint: Endpoint,
    app_id: String,
    api_key: Secret,
    api_secret: Secret,
    oneshot_max: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Session {
    Oneshot { name: String },
    /// `name`: sent as every slice's form filename, since the service learns the file only
    /// from its slices (§4). Sessions saved before it was recorded have none.
    Multipart {
        upload_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

/// The response envelope: `{code, message, sid, data?}`.
#[derive(Deserialize)]
struct Envelope {
    code: Option<i64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    sid: String,
    #[serde(default)]
    data: serde_json::Value,
}

enum Body {
    Json(serde_json::Value),
    /// A file's bytes: watched for stalls instead of timed (see `http::send`).
    Form(Form, Motion),
}

impl Xfyun {
    pub fn new(ctx: &Context) -> Result<Self> {
        let endpoint = ctx.account.endpoint_or_default().unwrap_or_default();
        let endpoint = Endpoint::parse(&endpoint)?;
        let oneshot_max = match ctx.account.setting("oneshot_max_bytes") {
            Some(v) => v.parse().map_err(|_| crate::Error::invalid("oneshot_max_bytes", format!("\"{v}\" is not a number of bytes")))?,
            None => DEFAULT_ONESHOT_MAX,
        };
        Ok(Xfyun {
            http: ctx.http.clone(),
            endpoint,
            app_id: ctx.setting("app_id").to_owned(),
            api_key: ctx.secret("api_key")?,
            api_secret: ctx.secret("api_secret")?,
            oneshot_max,
        })
    }

    fn request_id() -> String {
        format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>())
    }

    fn json(&self, mut fields: serde_json::Value) -> Body {
        fields["app_id"] = self.app_id.clone().into();
        fields["request_id"] = Self::request_id().into();
        Body::Json(fields)
    }

    fn form(&self, (data, motion): (Part, Motion), fields: &[(&str, String)]) -> Body {
        // `data` first: compatible with every field order the evidence shows (§4).
        let mut form = Form::new().part("data", data).text("app_id", self.app_id.clone()).text("request_id", Self::request_id());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.clone());
        }
        Body::Form(form, motion)
    }

    /// One signed POST; `code == 0` or a classified error.
    async fn call(&self, path: &str, body: Body) -> ProviderResult<serde_json::Value> {
        let what = format!("iFlytek {path}");
        let url = self.endpoint.url(path);
        // A fresh date (and so signature) per request, retries included (§1d). The signed
        // host and request line are the ones really sent: a gateway's path prefix included.
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let host = self.endpoint.host_header();
        let signature = sign::signature(self.api_secret.expose(), &host, &date, url.path(), sign::EMPTY_DIGEST);
        let req = self
            .http
            .post(url)
            .header("date", &date)
            .header("digest", sign::EMPTY_DIGEST)
            .header("authorization", secret_header(&sign::authorization(self.api_key.expose(), &signature))?)
            .header("accept", "application/json");
        let resp = match body {
            Body::Json(v) => req.json(&v).timeout(http::api_timeout()).send().await.map_err(|e| ProviderError::network(&what, &e))?,
            Body::Form(f, motion) => http::send(req.multipart(f), motion).await.map_err(|e| sent(&what, e))?,
        };
        let status = resp.status().as_u16();
        let retry_after = super::error::retry_after_header(resp.headers());
        let text = http::answer_text(resp).await.map_err(|e| sent(&what, e))?;
        let envelope: Option<Envelope> = serde_json::from_str(&text).ok();
        match envelope {
            Some(Envelope { code: Some(0), data, .. }) if (200..300).contains(&status) => Ok(data),
            Some(Envelope { code: Some(code), message, sid, .. }) if (200..300).contains(&status) || status < 500 => {
                Err(errors::business(code, &message, &sid))
            }
            Some(e) if !(200..300).contains(&status) => Err(errors::http(status, &e.message, retry_after)),
            _ if !(200..300).contains(&status) => Err(errors::http(status, "", retry_after)),
            _ => Err(ProviderError::temporary(ErrorKind::Server, format!("{what}: unreadable answer (HTTP {status})"))),
        }
    }

    fn session(v: &serde_json::Value) -> ProviderResult<Session> {
        serde_json::from_value(v.clone()).map_err(|e| ProviderError::restart(format!("unreadable upload session ({e}): starting over")))
    }

    fn url_of(data: &serde_json::Value, what: &str) -> ProviderResult<String> {
        data.get("url").and_then(|u| u.as_str()).map(str::to_owned).ok_or_else(|| {
            ProviderError::new(ErrorKind::Server, format!("iFlytek {what} answered success without data.url"))
        })
    }

    async fn init_multipart(&self) -> ProviderResult<String> {
        let data = self.call("/file/mpupload/init", self.json(serde_json::json!({"cloud_id": "0"}))).await?;
        data.get("upload_id")
            .and_then(|u| u.as_str())
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::new(ErrorKind::Server, "iFlytek init answered success without data.upload_id"))
    }

    async fn cancel(&self, upload_id: &str) -> ProviderResult<()> {
        self.call("/file/mpupload/cancel", self.json(serde_json::json!({"upload_id": upload_id}))).await.map(drop)
    }
}

#[async_trait]
impl Provider for Xfyun {
    fn limits(&self) -> Limits {
        Limits {
            // "5M" taken as 5 MiB, as in iFlytek's demos (§4).
            min_part: 5_242_880,
            max_part: 5_000_000_000,
            max_parts: 10_000,
            // Concurrent slices are unconfirmed: sequential, in order (§4).
            part_concurrency: 1,
            requests_per_sec: None,
            sha1_before_init: false,
        }
    }

    async fn init(&self, job: &JobSpec<'_>) -> ProviderResult<Init> {
        if job.size < self.oneshot_max {
            let session = Session::Oneshot { name: job.name.to_owned() };
            return Ok(Init::Upload { session: serde_json::to_value(session).expect("serialises"), part_size: job.size.max(1) });
        }
        let upload_id = self.init_multipart().await?;
        let part_size = self.limits().part_size(job.size, job.preferred_part_size);
        Ok(Init::Upload { session: serde_json::to_value(Session::Multipart { upload_id, name: Some(job.name.to_owned()) }).expect("serialises"), part_size })
    }

    async fn upload_part(&self, session: &serde_json::Value, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        match Self::session(session)? {
            Session::Oneshot { name } => {
                let data = self.call("/file/upload", self.form(file_part(body, name), &[])).await?;
                let url = Self::url_of(&data, "/file/upload")?;
                Ok(PartReceipt { number: part.number, etag: None, extra: serde_json::json!({ "url": url }) })
            }
            Session::Multipart { upload_id, name } => {
                let fields = [("upload_id", upload_id), ("slice_id", part.number.to_string())];
                let file_name = name.unwrap_or_else(|| format!("slice-{}", part.number));
                self.call("/file/mpupload/upload", self.form(file_part(body, file_name), &fields)).await?;
                Ok(PartReceipt { number: part.number, ..Default::default() })
            }
        }
    }

    async fn commit(&self, session: &serde_json::Value, _job: &JobSpec<'_>, parts: &[PartReceipt]) -> ProviderResult<Committed> {
        let url = match Self::session(session)? {
            Session::Oneshot { .. } => {
                let receipt = parts.first().ok_or_else(|| ProviderError::restart("the one-shot upload has no receipt: starting over"))?;
                Self::url_of(&receipt.extra, "/file/upload")?
            }
            Session::Multipart { upload_id, .. } => {
                let data = self.call("/file/mpupload/complete", self.json(serde_json::json!({"upload_id": upload_id}))).await?;
                Self::url_of(&data, "/file/mpupload/complete")?
            }
        };
        Ok(Committed { url: Some(url), ..Default::default() })
    }

    async fn abort(&self, session: &serde_json::Value) -> ProviderResult<()> {
        match Self::session(session)? {
            Session::Oneshot { .. } => Ok(()),
            Session::Multipart { upload_id, .. } => self.cancel(&upload_id).await,
        }
    }

    async fn check(&self) -> ProviderResult<String> {
        // No token endpoint: a signed init + cancel proves the credentials and the app id.
        let upload_id = self.init_multipart().await?;
        self.cancel(&upload_id).await?;
        Ok(format!("signed requests to {} are accepted", self.endpoint.host_header()))
    }
}
