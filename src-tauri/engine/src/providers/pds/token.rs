//! Access tokens from `POST /v2/oauth/token` with the refresh_token grant (pds.md §1a).
//!
//! Refresh tokens rotate: every grant returns a new one. The new refresh token is written
//! to the keyring *before* the new access token is handed out, so wherever the process
//! dies the keyring holds a refresh token the service still honours (the old one until
//! the new grant is used, the new one after). Refreshes are single-flight per account, and
//! the refresh token is read from the keyring each time, so another process (`ferry
//! account test`, the window) that rotated it meanwhile is followed, not fought.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::errors;
use crate::creds::Secret;
use crate::error::ErrorKind;
use crate::providers::client::token::{renew_after, Fetched, Token, TokenCache};
use crate::providers::{http, Context, ProviderError, ProviderResult};

/// Refresh this long before expiry (the official credential helper's 180 s), or at half
/// the lifetime for very short-lived tokens.
const MARGIN: Duration = Duration::from_secs(180);

#[derive(Deserialize)]
struct Grant {
    access_token: String,
    refresh_token: String,
    #[serde(default, deserialize_with = "crate::providers::error::lenient_lifetime")]
    expires_in: Option<Duration>,
}

/// A grant whose rotated refresh token the keyring refused to store: (refresh token,
/// access token, when to renew it). Saved before anything else.
type Unsaved = (Secret, Secret, Instant);

pub struct Tokens {
    ctx: Context,
    url: url::Url,
    client_id: String,
    cache: TokenCache,
    /// Only touched inside a refresh, which the cache runs one at a time.
    unsaved: std::sync::Mutex<Option<Unsaved>>,
}

impl Tokens {
    pub fn new(ctx: Context, url: url::Url) -> Self {
        let client_id = ctx.setting("client_id").to_owned();
        Tokens { ctx, url, client_id, cache: TokenCache::default(), unsaved: Default::default() }
    }

    /// A usable access token, refreshed when it is close to expiry.
    pub async fn access(&self) -> ProviderResult<Token> {
        self.cache.get(|| self.refresh()).await
    }

    /// A new access token because `refused` was refused (expired or revoked early). If
    /// another call already replaced it, that one is used.
    pub async fn replace(&self, refused: &Token) -> ProviderResult<Token> {
        self.cache.invalidate(refused).await;
        self.access().await
    }

    /// Always asks the token endpoint (`account test`).
    pub async fn fresh(&self) -> ProviderResult<Token> {
        self.cache.fresh(|| self.refresh()).await
    }

    async fn refresh(&self) -> ProviderResult<Fetched> {
        let pending = self.unsaved.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((refresh, access, renew_at)) = pending {
            // The last grant's refresh token is not in the keyring yet: store it first.
            return match self.store(&refresh).await {
                Ok(()) => Ok(Fetched { value: access, renew_after: renew_at.saturating_duration_since(Instant::now()) }),
                Err(e) => {
                    *self.unsaved.lock().unwrap_or_else(|p| p.into_inner()) = Some((refresh, access, renew_at));
                    Err(e)
                }
            };
        }
        let stored = self.load().await?;
        let grant = match self.grant(&stored).await {
            // Another process may have rotated the token since we read it: follow it once.
            Err(e) if e.kind == ErrorKind::Auth => {
                let now = self.load().await?;
                if now == stored {
                    return Err(e);
                }
                self.grant(&now).await?
            }
            other => other?,
        };
        let lifetime = grant.expires_in.unwrap_or(Duration::from_secs(7200));
        let fetched = Fetched { value: Secret::new(grant.access_token), renew_after: renew_after(lifetime, MARGIN, 2) };
        let refresh = Secret::new(grant.refresh_token);
        if refresh != stored {
            if let Err(e) = self.store(&refresh).await {
                let renew_at = crate::providers::error::later(fetched.renew_after);
                *self.unsaved.lock().unwrap_or_else(|p| p.into_inner()) = Some((refresh, fetched.value, renew_at));
                return Err(e);
            }
            tracing::info!(account = %self.ctx.account.name, "PDS refresh token rotated and saved");
        }
        Ok(fetched)
    }

    async fn grant(&self, refresh: &Secret) -> ProviderResult<Grant> {
        let client_secret = self.keyring(|ctx| ctx.secret("client_secret")).await?;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("refresh_token", refresh.expose()),
        ];
        let resp = self
            .ctx
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .timeout(http::api_timeout())
            .send()
            .await
            .map_err(|e| ProviderError::network("PDS token refresh", &e))?;
        let status = resp.status().as_u16();
        let failure = super::api::failure_head(&resp);
        let text = http::answer_text(resp).await.map_err(|e| crate::providers::client::errors::sent("PDS token refresh", e))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| ProviderError::temporary(ErrorKind::Server, format!("PDS token refresh: unreadable answer ({e})")));
        }
        Err(errors::token(&super::api::failure_body(failure, &text)))
    }

    async fn load(&self) -> ProviderResult<Secret> {
        self.keyring(|ctx| ctx.secret("refresh_token")).await
    }

    async fn store(&self, refresh: &Secret) -> ProviderResult<()> {
        let refresh = refresh.clone();
        self.keyring(move |ctx| ctx.replace_secret("refresh_token", &refresh)).await
    }

    /// A keyring call, off the async threads (it is a blocking D-Bus round trip).
    async fn keyring<T: Send + 'static>(&self, f: impl FnOnce(&Context) -> crate::Result<T> + Send + 'static) -> ProviderResult<T> {
        let ctx = self.ctx.clone();
        let r = tokio::task::spawn_blocking(move || f(&ctx))
            .await
            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("keyring task failed: {e}")))?;
        r.map_err(|e| {
            let kind = e.kind();
            let message = format!("PDS credentials: {e}");
            if kind == ErrorKind::KeyringUnavailable {
                ProviderError::temporary(kind, message)
            } else {
                ProviderError::new(kind, message)
            }
        })
    }
}

/// `application/x-www-form-urlencoded` (reqwest's `form` needs a feature this crate does not enable).
fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}
