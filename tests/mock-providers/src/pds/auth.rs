//! `POST /v2/oauth/token` (refresh_token grant, doc §1a) and Bearer checks.
//!
//! Rotation: every grant returns a new refresh token. The refresh token it came from stays
//! valid only until the new grant is *used* (its access token presented, or its refresh
//! token redeemed); from then on every older refresh token is refused. So a client that
//! stores each new refresh token before it uses the new access token can never be locked
//! out, and one that uses the access token first and dies before storing is.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::error::ApiError;

struct Grant {
    refresh: String,
    /// Refresh tokens this grant replaces once it is used.
    replaces: String,
}

struct AccessEntry {
    expires: Instant,
    grant: u64,
}

pub(crate) struct Tokens {
    state: Mutex<State>,
}

struct State {
    /// The refresh token of the newest grant that has been used (or the initial one).
    confirmed: String,
    /// Issued but not used yet, by grant id.
    pending: HashMap<u64, Grant>,
    access: HashMap<String, AccessEntry>,
    /// Refresh tokens that were replaced (for a precise error message).
    retired: Vec<String>,
    next_grant: u64,
}

/// What a refresh request gets.
pub(crate) enum Refresh {
    Granted(Value),
    Refused(ApiError),
}

impl Tokens {
    pub(crate) fn new(initial_refresh: &str) -> Self {
        Tokens {
            state: Mutex::new(State {
                confirmed: initial_refresh.into(),
                pending: HashMap::new(),
                access: HashMap::new(),
                retired: vec![],
                next_grant: 1,
            }),
        }
    }

    pub(crate) fn refresh(
        &self,
        presented: &str,
        ttl: Duration,
        domain_id: &str,
        drive_id: &str,
    ) -> Refresh {
        let mut s = self.state.lock();
        let from = if presented == s.confirmed {
            presented.to_owned()
        } else if let Some(id) = s
            .pending
            .iter()
            .find(|(_, g)| g.refresh == presented)
            .map(|(id, _)| *id)
        {
            // Redeeming a newer grant's refresh token uses that grant.
            s.confirm(id);
            presented.to_owned()
        } else if s.retired.iter().any(|r| r == presented) {
            return Refresh::Refused(ApiError::new(
                401,
                "RefreshTokenExpired",
                "refresh token has been rotated and can no longer be used",
            ));
        } else {
            return Refresh::Refused(ApiError::new(
                401,
                "RefreshTokenInvalid",
                "refresh token is invalid",
            ));
        };
        let grant = s.next_grant;
        s.next_grant += 1;
        let refresh = token("rt", grant);
        let access = token("at", grant);
        s.pending.insert(
            grant,
            Grant {
                refresh: refresh.clone(),
                replaces: from,
            },
        );
        s.access.insert(
            access.clone(),
            AccessEntry {
                expires: Instant::now() + ttl,
                grant,
            },
        );
        let expire_time = SystemTime::now() + ttl;
        Refresh::Granted(json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl.as_secs(),
            "expire_time": iso8601(expire_time),
            "token_type": "Bearer",
            "user_id": "c9b7a5aa04d14ae3867fdc886fa01da4",
            "user_name": "mock-user",
            "nick_name": "mock user",
            "role": "user",
            "status": "enabled",
            "domain_id": domain_id,
            "default_drive_id": drive_id,
        }))
    }

    /// Checks `Authorization: Bearer <token>`.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        let mut s = self.state.lock();
        let Some(entry) = s.access.get(presented) else {
            return Err(ApiError::new(
                401,
                "AccessTokenInvalid",
                "AccessToken is invalid. (missing or unknown Bearer token)",
            ));
        };
        if Instant::now() >= entry.expires {
            return Err(ApiError::new(
                401,
                "AccessTokenExpired",
                "AccessToken is expired.",
            ));
        }
        let grant = entry.grant;
        if s.pending.contains_key(&grant) {
            s.confirm(grant);
        }
        Ok(())
    }

    /// Every access token issued so far expires now.
    pub(crate) fn expire_access_tokens(&self) {
        let now = Instant::now();
        for e in self.state.lock().access.values_mut() {
            e.expires = now;
        }
    }

    /// The refresh tokens the endpoint accepts right now (the confirmed one first).
    pub(crate) fn valid_refresh_tokens(&self) -> Vec<String> {
        let s = self.state.lock();
        let mut v = vec![s.confirmed.clone()];
        v.extend(
            s.pending
                .values()
                .filter(|g| g.replaces == s.confirmed)
                .map(|g| g.refresh.clone()),
        );
        v
    }

    pub(crate) fn confirmed_refresh_token(&self) -> String {
        self.state.lock().confirmed.clone()
    }
}

impl State {
    /// Grant `id` was used: its refresh token is the one, every older one is retired.
    fn confirm(&mut self, id: u64) {
        let Some(g) = self.pending.remove(&id) else {
            return;
        };
        let old = std::mem::replace(&mut self.confirmed, g.refresh);
        self.retired.push(old);
        // Grants issued from the old token (never used) die with it.
        let stale: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.replaces != self.confirmed)
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            if let Some(p) = self.pending.remove(&k) {
                self.retired.push(p.refresh);
            }
        }
    }
}

fn token(prefix: &str, grant: u64) -> String {
    let mut h = Sha256::new();
    h.update(prefix.as_bytes());
    h.update(grant.to_le_bytes());
    h.update(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    h.update(std::process::id().to_le_bytes());
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    if prefix == "at" {
        // Access tokens are JWTs; the shape is all a client may rely on.
        format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{hex}.mock")
    } else {
        hex
    }
}

pub(crate) fn iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let millis = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_millis();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso8601_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_567_321_068_813)),
            "2019-09-01T06:57:48.813Z"
        );
    }

    fn granted(r: Refresh) -> Value {
        match r {
            Refresh::Granted(v) => v,
            Refresh::Refused(e) => panic!("refused: {e:?}"),
        }
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {t}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn the_old_refresh_token_dies_when_the_new_grant_is_used() {
        let t = Tokens::new("r0");
        let ttl = Duration::from_secs(60);
        let g1 = granted(t.refresh("r0", ttl, "bj1", "1"));
        let r1 = g1["refresh_token"].as_str().unwrap().to_owned();
        // Not used yet: a client that died before storing r1 can still use r0.
        assert_eq!(t.valid_refresh_tokens(), vec!["r0".to_owned(), r1.clone()]);
        let g2 = granted(t.refresh("r0", ttl, "bj1", "1"));
        let r2 = g2["refresh_token"].as_str().unwrap().to_owned();
        // Using g2's access token confirms it: r0 and the unused r1 are refused from now on.
        t.check(&bearer(g2["access_token"].as_str().unwrap()))
            .unwrap();
        assert_eq!(t.confirmed_refresh_token(), r2);
        assert!(
            matches!(t.refresh("r0", ttl, "bj1", "1"), Refresh::Refused(e) if e.code == "RefreshTokenExpired")
        );
        assert!(matches!(
            t.refresh(&r1, ttl, "bj1", "1"),
            Refresh::Refused(_)
        ));
        assert!(
            matches!(t.refresh("nonsense", ttl, "bj1", "1"), Refresh::Refused(e) if e.code == "RefreshTokenInvalid")
        );
        // Redeeming r2 works and confirms nothing older.
        granted(t.refresh(&r2, ttl, "bj1", "1"));
        let e = t.check(&bearer("nope")).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (401, "AccessTokenInvalid"));
        t.expire_access_tokens();
        let e = t
            .check(&bearer(g2["access_token"].as_str().unwrap()))
            .unwrap_err();
        assert_eq!(e.code, "AccessTokenExpired");
    }
}
