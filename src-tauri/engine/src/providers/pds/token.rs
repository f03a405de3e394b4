//! Access tokens from `POST /v2/oauth/token` with the refresh_token grant (pds.md §1a).
//!
//! Refresh tokens rotate: every grant returns a new one. The new refresh token is written
//! to the keyring *before* the new access token is handed out, so wherever the process
//! dies the keyring holds a refresh token the service still honours (the old one until
//! the new grant is used, the new one after). Refreshes are single-flight per account, and
//! the refresh token is read from the keyring each time, so another process (`ferry
//! account test`, the window) that rotated it meanwhile is followed, not fought.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::errors;
use crate::creds::Secret;
use crate::error::ErrorKind;
use crate::providers::{http, Context, ProviderError, ProviderResult};

/// Refresh this long before expiry (the official credential helper's 180 s), or at half
/// the lifetime for very short-lived tokens.
const MARGIN: Duration = Duration::from_secs(180);

#[derive(Clone)]
pub struct Access {
    pub token: Secret,
    /// When to stop using it (expiry minus the margin).
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct Grant {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Default)]
struct State {
    access: Option<Access>,
    /// A rotated refresh token the keyring refused to store: saved before anything else.
    unsaved: Option<(Secret, Access)>,
}

pub struct Tokens {
    ctx: Context,
    url: url::Url,
    client_id: String,
    state: tokio::sync::Mutex<State>,
}

impl Tokens {
    pub fn new(ctx: Context, url: url::Url) -> Self {
        let client_id = ctx.setting("client_id").to_owned();
        Tokens {
            ctx,
            url,
            client_id,
            state: Default::default(),
        }
    }

    /// A usable access token, refreshed when it is close to expiry.
    pub async fn access(&self) -> ProviderResult<Access> {
        let mut state = self.state.lock().await;
        if let Some(a) = &state.access {
            if Instant::now() < a.refresh_at {
                return Ok(a.clone());
            }
        }
        self.refresh(&mut state).await
    }

    /// A new access token because `refused` was refused (expired or revoked early). If
    /// another call already replaced it, that one is used.
    pub async fn replace(&self, refused: &Secret) -> ProviderResult<Access> {
        let mut state = self.state.lock().await;
        if let Some(a) = &state.access {
            if a.token != *refused && Instant::now() < a.refresh_at {
                return Ok(a.clone());
            }
        }
        self.refresh(&mut state).await
    }

    /// Always asks the token endpoint (`account test`).
    pub async fn fresh(&self) -> ProviderResult<Access> {
        let mut state = self.state.lock().await;
        self.refresh(&mut state).await
    }

    async fn refresh(&self, state: &mut State) -> ProviderResult<Access> {
        state.access = None;
        if let Some((refresh, access)) = state.unsaved.take() {
            // The last grant's refresh token is not in the keyring yet: store it first.
            return match self.store(&refresh).await {
                Ok(()) => {
                    state.access = Some(access.clone());
                    Ok(access)
                }
                Err(e) => {
                    state.unsaved = Some((refresh, access));
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
        let lifetime = Duration::from_secs(grant.expires_in.unwrap_or(7200));
        let access = Access {
            token: Secret::new(grant.access_token),
            refresh_at: Instant::now() + lifetime.saturating_sub(MARGIN.min(lifetime / 2)),
        };
        let refresh = Secret::new(grant.refresh_token);
        if refresh != stored {
            if let Err(e) = self.store(&refresh).await {
                state.unsaved = Some((refresh, access));
                return Err(e);
            }
            tracing::info!(account = %self.ctx.account.name, "PDS refresh token rotated and saved");
        }
        state.access = Some(access.clone());
        Ok(access)
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
            .timeout(http::timeout_for(0))
            .send()
            .await
            .map_err(|e| ProviderError::network("PDS token refresh", &e.without_url()))?;
        let status = resp.status().as_u16();
        let failure = super::api::failure_head(&resp);
        let text = resp.text().await.map_err(|e| ProviderError::network("PDS token refresh", &e.without_url()))?;
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
