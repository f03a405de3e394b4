//! One call to the Feishu / Lark open API: the cached token in the `Authorization` header, the
//! daily budget counted, the answer's `code` checked whatever the HTTP status (many failures
//! come as HTTP 200), and a refused token replaced once (shared/providers/feishu.md §0, §1a).

use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde::Deserialize;
use serde_json::Value;

use super::budget::Budget;
use super::errors::{self, Failure};
use crate::providers::client::errors::secret_header;
use crate::providers::client::token::{renew_after, Fetched, Token, TokenCache};
use crate::creds::Secret;
use crate::providers::client::Endpoint;
use crate::error::ErrorKind;
use crate::providers::{http, ProviderError, ProviderResult};

pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// Feishu hands out a *new* token only when the current one has less than 30 minutes left
/// (before that it returns the same one), so renewing inside that window gets a fresh token.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(30 * 60);

/// What a call sends.
pub enum Payload {
    Get,
    Json(Value),
    /// A streamed body: it cannot be sent twice, so a stale token makes the call fail
    /// temporarily and the pacer sends a new body.
    Form(reqwest::multipart::Form, crate::providers::body::Motion),
}

impl Payload {
    /// A copy to send again with a new token, when the body allows it.
    fn replay(&self) -> Option<Payload> {
        match self {
            Payload::Get => Some(Payload::Get),
            Payload::Json(v) => Some(Payload::Json(v.clone())),
            Payload::Form(..) => None,
        }
    }
}

/// A call: `what` names it in messages and, when `counted`, in the daily budget.
pub struct Call<'a> {
    pub what: &'a str,
    pub path: &'a str,
    pub payload: Payload,
    pub counted: bool,
}

/// `{code, msg, data}`; the token endpoint puts its fields at the top level instead.
#[derive(Deserialize)]
struct Envelope {
    code: Option<i64>,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    data: Value,
    tenant_access_token: Option<String>,
    #[serde(default, deserialize_with = "crate::providers::error::lenient_lifetime")]
    expire: Option<Duration>,
}

pub struct Api {
    http: reqwest::Client,
    endpoint: Endpoint,
    app_id: String,
    app_secret: Secret,
    tokens: TokenCache,
    budget: Budget,
}

impl Api {
    pub fn new(http: reqwest::Client, endpoint: Endpoint, app_id: String, app_secret: Secret, budget: Budget) -> Api {
        Api { http, endpoint, app_id, app_secret, tokens: TokenCache::default(), budget }
    }

    pub fn host(&self) -> &str {
        self.endpoint.host()
    }

    fn url(&self, path: &str) -> ProviderResult<url::Url> {
        // A GET carries its query in `path`: the endpoint keeps only the path part.
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut url = self.endpoint.url(path);
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        Ok(url)
    }

    /// The cached token, fetched (or renewed) when needed.
    pub async fn token(&self) -> ProviderResult<Token> {
        self.tokens.get(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> ProviderResult<Fetched> {
        let what = "tenant_access_token";
        let body = serde_json::json!({ "app_id": self.app_id, "app_secret": self.app_secret.expose() });
        let resp = self
            .http
            .post(self.url(TOKEN_PATH)?)
            .json(&body)
            .timeout(http::api_timeout())
            .send()
            .await
            .map_err(|e| ProviderError::network(&format!("Feishu {what}"), &e))?;
        let (failure, envelope) = read(resp, what).await?;
        match envelope {
            Some(Envelope { code: Some(0), tenant_access_token: Some(token), expire, .. }) if !token.is_empty() => {
                tracing::debug!(host = self.host(), ?expire, "got a Feishu tenant_access_token");
                let lifetime = expire.unwrap_or(Duration::from_secs(7200));
                Ok(Fetched { value: Secret::new(token), renew_after: renew_after(lifetime, RENEW_BEFORE_EXPIRY, 2) })
            }
            // A rate limit or a transient error is what the code table says it is; any
            // other refusal of the token call is about the credentials.
            Some(Envelope { code: Some(_), .. }) if errors::classify(what, &failure).temporary => Err(errors::classify(what, &failure)),
            Some(Envelope { code: Some(code), .. }) if code != 0 && failure.status < 500 => Err(ProviderError::new(
                ErrorKind::Auth,
                format!(
                    "Feishu refused the app's credentials (error {code} \"{}\"): check app_id and app_secret, and that the app belongs to {} (Feishu and Lark apps are separate)",
                    failure.msg,
                    self.host()
                ),
            )),
            Some(Envelope { code: Some(0), .. }) => {
                Err(ProviderError::temporary(ErrorKind::Server, format!("Feishu {what}: answered success without a token")))
            }
            _ => Err(errors::classify(what, &failure)),
        }
    }

    /// Sends `call` and returns the answer's `data` once `code == 0`.
    pub async fn call(&self, call: Call<'_>) -> ProviderResult<Value> {
        let what = call.what;
        match self.call_raw(call).await? {
            Ok(data) => Ok(data),
            Err(failure) => Err(errors::classify(what, &failure)),
        }
    }

    /// As [`Api::call`], but a refusal comes back unclassified, for callers that act on a code.
    pub async fn call_raw(&self, call: Call<'_>) -> ProviderResult<Result<Value, Failure>> {
        let mut payload = call.payload;
        // A token that worked before and is refused now went stale: replace it once.
        for _try in 0..2 {
            let token = self.token().await?;
            let again = payload.replay();
            if call.counted {
                self.budget.spend(call.what)?;
            }
            let failure = match self.send(call.what, call.path, payload, &token).await? {
                Ok(data) => {
                    token.prove();
                    return Ok(Ok(data));
                }
                Err(f) => f,
            };
            if !(errors::refreshes_token(&failure) && token.is_proven()) {
                return Ok(Err(failure));
            }
            self.tokens.invalidate(&token).await;
            tracing::info!(what = call.what, "Feishu refused the cached token; getting a new one");
            payload = match again {
                Some(p) => p,
                None => {
                    return Err(ProviderError::temporary(
                        ErrorKind::Auth,
                        format!("Feishu {}: the access token expired; sending again with a new one", call.what),
                    )
                    .retry_after(Some(Duration::ZERO)))
                }
            };
        }
        Err(ProviderError::new(
            ErrorKind::Auth,
            format!("Feishu {}: every new access token was refused: check app_id and app_secret", call.what),
        ))
    }

    /// One request: `Ok(data)`, or the failed answer to classify.
    async fn send(&self, what: &str, path: &str, payload: Payload, token: &Token) -> ProviderResult<Result<Value, Failure>> {
        let url = self.url(path)?;
        let auth = secret_header(&format!("Bearer {}", token.secret().expose()))?;
        let timed = |req: reqwest::RequestBuilder| req.header(AUTHORIZATION, auth.clone()).timeout(http::api_timeout());
        let failed = |e| super::super::client::errors::sent(&format!("Feishu {what}"), e);
        let resp = match payload {
            Payload::Get => timed(self.http.get(url)).send().await.map_err(|e| ProviderError::network(&format!("Feishu {what}"), &e))?,
            Payload::Json(v) => timed(self.http.post(url).json(&v)).send().await.map_err(|e| ProviderError::network(&format!("Feishu {what}"), &e))?,
            // A file's bytes: watched for stalls instead of timed.
            Payload::Form(f, motion) => http::send(self.http.post(url).header(AUTHORIZATION, auth.clone()).multipart(f), motion).await.map_err(failed)?,
        };
        let (failure, envelope) = read(resp, what).await?;
        match envelope {
            Some(Envelope { code: Some(0), data, .. }) if (200..300).contains(&failure.status) => Ok(Ok(data)),
            Some(_) | None if failure.code.is_some() || !(200..300).contains(&failure.status) => Ok(Err(failure)),
            _ => Err(ProviderError::temporary(ErrorKind::Server, format!("Feishu {what}: unreadable answer (HTTP {})", failure.status))),
        }
    }
}

/// Reads an answer: what a failure would say (status, code, msg, log id, wait) and the
/// parsed envelope, if the body is one.
async fn read(resp: reqwest::Response, what: &str) -> ProviderResult<(Failure, Option<Envelope>)> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = http::answer_text(resp).await.map_err(|e| super::super::client::errors::sent(&format!("Feishu {what}"), e))?;
    let envelope: Option<Envelope> = serde_json::from_str(&text).ok();
    let failure = Failure {
        code: envelope.as_ref().and_then(|e| e.code).filter(|c| *c != 0),
        msg: envelope.as_ref().map(|e| e.msg.clone()).unwrap_or_default(),
        status,
        log_id: header(&headers, "x-tt-logid"),
        retry_after: wait(&headers),
    };
    Ok((failure, envelope))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The gateway's `x-ogw-ratelimit-reset` (seconds to wait, §10), else `Retry-After`.
fn wait(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "x-ogw-ratelimit-reset")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
        .or_else(|| crate::providers::error::retry_after_header(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_wait_is_read_from_its_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(wait(&h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(wait(&h), Some(Duration::from_secs(3)));
        h.insert("x-ogw-ratelimit-reset", "7".parse().unwrap());
        assert_eq!(wait(&h), Some(Duration::from_secs(7)), "Feishu's own header wins");
        h.insert("x-ogw-ratelimit-reset", "soon".parse().unwrap());
        assert_eq!(wait(&h), Some(Duration::from_secs(3)));
    }
}
