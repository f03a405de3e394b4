//! Calls to DingTalk's API gateway: JSON bodies, the access token in
//! `x-acs-dingtalk-access-token` (sent raw), the token cached per account and refreshed
//! before it expires and once when DingTalk says `InvalidAuthentication` (notes §0, §1, §9.1).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::errors::{self, Call};
use crate::creds::Secret;
use crate::error::ErrorKind;
use crate::providers::client::errors::secret_header;
use crate::providers::client::token::{renew_after, Fetched, Token, TokenCache};
use crate::providers::client::rate::Rate;
use crate::providers::client::Endpoint;
use crate::providers::{http, ProviderError, ProviderResult};

const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
/// Refresh when less than this is left (§9.1: 5 minutes), or a quarter of a short lifetime.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A successful answer: the JSON body and the server's clock (its `Date` header).
pub struct Answer {
    pub body: Value,
    /// Unix seconds by the server's clock, when it said.
    pub server_time: Option<i64>,
}

pub struct Api {
    http: reqwest::Client,
    endpoint: Endpoint,
    app_key: String,
    app_secret: Secret,
    union_id: String,
    tokens: TokenCache,
    tokens_fetched: AtomicU64,
    /// The gateway's per-app call rate (§8). Paced here, per gateway call, not by the
    /// engine per part: part PUTs go to the storage host, which this limit does not cover.
    rate: Rate,
}

/// A failed call: the classified error, and whether DingTalk refused the token itself.
struct Refused {
    error: ProviderError,
    bad_token: bool,
}

impl From<ProviderError> for Refused {
    fn from(error: ProviderError) -> Self {
        Refused {
            error,
            bad_token: false,
        }
    }
}

impl Api {
    pub fn new(
        http: reqwest::Client,
        endpoint: Endpoint,
        app_key: &str,
        app_secret: Secret,
        union_id: &str,
        calls_per_sec: f64,
    ) -> Self {
        Api {
            http,
            endpoint,
            app_key: app_key.to_owned(),
            app_secret,
            union_id: union_id.to_owned(),
            tokens: TokenCache::default(),
            tokens_fetched: AtomicU64::new(0),
            rate: Rate::per_sec(calls_per_sec),
        }
    }

    /// The API endpoint, for messages.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `POST path?unionId=…` with a JSON body, as the account's operator. A refused token is
    /// replaced and the call sent once more.
    pub async fn post(&self, what: &str, path: &str, body: &Value) -> ProviderResult<Answer> {
        self.call(what, path, Some(body)).await
    }

    /// `GET path?…&unionId=…` (the path carries its own query).
    pub async fn get(&self, what: &str, path: &str) -> ProviderResult<Answer> {
        self.call(what, path, None).await
    }

    async fn call(&self, what: &str, path: &str, body: Option<&Value>) -> ProviderResult<Answer> {
        let mut retried = false;
        loop {
            let token = self.token().await?;
            match self
                .send(Call::Storage, what, path, Some(&token), body)
                .await
            {
                Ok(a) => return Ok(a),
                Err(Refused {
                    bad_token: true, ..
                }) if !retried => {
                    tracing::info!("DingTalk refused the access token ({what}); fetching a new one and trying again");
                    self.tokens.invalidate(&token).await;
                    retried = true;
                }
                Err(r) => return Err(r.error),
            }
        }
    }

    /// The cached token, or a new one when it is about to expire.
    pub async fn token(&self) -> ProviderResult<Token> {
        self.tokens.get(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> ProviderResult<Fetched> {
        let body =
            serde_json::json!({ "appKey": self.app_key, "appSecret": self.app_secret.expose() });
        let answer = self
            .send(
                Call::Token,
                "getting an access token",
                TOKEN_PATH,
                None,
                Some(&body),
            )
            .await
            .map_err(|r| r.error)?;
        let value = answer
            .body
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        let Some(value) = value else {
            return Err(ProviderError::temporary(
                ErrorKind::Server,
                "DingTalk answered the token request without an accessToken",
            ));
        };
        // 7200 s in practice (§1a); an absent or silly value gets a short life, not a long one.
        let lifetime = answer
            .body
            .get("expireIn")
            .and_then(crate::providers::error::lifetime_field)
            .unwrap_or(Duration::from_secs(60))
            .clamp(Duration::from_secs(1), Duration::from_secs(86_400));
        let n = self.tokens_fetched.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(
            lifetime_s = lifetime.as_secs(),
            fetched = n,
            "fetched a DingTalk access token"
        );
        Ok(Fetched {
            value: Secret::new(value),
            renew_after: renew_after(lifetime, REFRESH_MARGIN, 4),
        })
    }

    async fn send(
        &self,
        call: Call,
        what: &str,
        path: &str,
        token: Option<&Token>,
        body: Option<&Value>,
    ) -> Result<Answer, Refused> {
        self.rate.slot().await;
        let what = what.to_owned();
        // A GET carries its query in `path`: the endpoint keeps only the path part.
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut url = self.endpoint.url(path);
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        if call == Call::Storage {
            url.query_pairs_mut().append_pair("unionId", &self.union_id);
        }
        let req = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        let mut req = req.timeout(http::api_timeout());
        if let Some(t) = token {
            req = req.header("x-acs-dingtalk-access-token", secret_header(t.secret().expose())?);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ProviderError::network(&what, &e))?;
        read(call, &what, resp).await
    }
}

async fn read(call: Call, what: &str, resp: reqwest::Response) -> Result<Answer, Refused> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let retry_after = crate::providers::error::retry_after_header(&headers);
    let server_time = headers
        .get(reqwest::header::DATE)
        .and_then(|v| httpdate::parse_http_date(v.to_str().ok()?).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let text = http::answer_text(resp)
        .await
        .map_err(|e| crate::providers::client::errors::sent(what, e))?;
    if let Some(minutes) = errors::ban_minutes(&text) {
        return Err(errors::ip_ban(minutes).into());
    }
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map(|body| Answer { body, server_time })
            .map_err(|_| {
                ProviderError::temporary(
                    ErrorKind::Server,
                    format!("{what}: unreadable answer (HTTP {status})"),
                )
                .into()
            });
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let code = field("code");
    if code.is_empty() {
        return Err(errors::bare(call, status, retry_after).into());
    }
    let mut request_id = field("requestid");
    if request_id.is_empty() {
        request_id = headers
            .get("x-acs-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
    }
    let error = errors::api(
        call,
        status,
        &code,
        &field("message"),
        &request_id,
        retry_after,
    );
    let error = ProviderError {
        message: format!("{what}: {}", error.message),
        ..error
    };
    Err(Refused {
        bad_token: call == Call::Storage && code == errors::INVALID_AUTHENTICATION,
        error,
    })
}
