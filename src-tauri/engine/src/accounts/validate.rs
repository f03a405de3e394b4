//! Checks an [`AccountInput`] against its provider's [`ProviderSpec`]: every refusal names
//! the field at fault.

use std::collections::BTreeMap;

use super::{Account, AccountInput, ProviderKind};
use crate::creds::Secret;
use crate::error::{Error, Result};

pub(super) struct Valid {
    pub name: String,
    pub provider: ProviderKind,
    pub endpoint: Option<String>,
    pub settings: BTreeMap<String, String>,
    /// Only the secrets to write (on edit: the ones given).
    pub secrets: BTreeMap<String, Secret>,
}

const MAX_NAME: usize = 64;

pub(super) fn validate(input: AccountInput, existing: Option<&Account>) -> Result<Valid> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(Error::invalid("name", "the account name must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::invalid("name", format!("the account name is longer than {MAX_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "the account name must not contain control characters"));
    }

    let endpoint = match input.endpoint.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(endpoint(raw)?),
    };

    let spec = input.provider.spec();
    let kind = input.provider.as_str();
    let lookup = |key: &str| {
        spec.settings.iter().find(|s| s.key == key).ok_or_else(|| {
            let known: Vec<&str> = spec.settings.iter().map(|s| s.key.as_str()).collect();
            Error::invalid(key, format!("unknown setting for provider {kind} (known: {})", known.join(", ")))
        })
    };

    let mut settings = BTreeMap::new();
    for (key, value) in input.settings {
        let s = lookup(&key)?;
        if s.secret {
            return Err(Error::invalid(&key, "is a secret: give it on standard input (CLI) or in its password field, never as a plain setting"));
        }
        let value = value.trim().to_owned();
        if value.is_empty() {
            continue;
        }
        if !s.choices.is_empty() && !s.choices.contains(&value) {
            return Err(Error::invalid(&key, format!("\"{value}\" is not one of: {}", s.choices.join(", "))));
        }
        settings.insert(key, value);
    }

    let mut secrets = BTreeMap::new();
    for (key, value) in input.secrets {
        if !lookup(&key)?.secret {
            return Err(Error::invalid(&key, "is not a secret setting: give it as --set KEY=VALUE (CLI) or in its plain field"));
        }
        if !value.expose().is_empty() {
            secrets.insert(key, value);
        }
    }

    for s in &spec.settings {
        if s.secret {
            let stored = existing.is_some_and(|a| a.secret_keys.contains(&s.key));
            if s.required && !stored && !secrets.contains_key(&s.key) {
                return Err(Error::invalid(&s.key, format!("missing required secret for provider {kind}")));
            }
        } else if !settings.contains_key(&s.key) {
            match &s.default {
                Some(d) => {
                    settings.insert(s.key.clone(), d.clone());
                }
                None if s.required => {
                    return Err(Error::invalid(&s.key, format!("missing required setting for provider {kind}")));
                }
                None => {}
            }
        }
    }

    if input.provider == ProviderKind::Local {
        let root = std::path::Path::new(&settings["root"]);
        if !root.is_absolute() {
            return Err(Error::invalid("root", "must be an absolute folder path"));
        }
    }

    Ok(Valid { name, provider: input.provider, endpoint, settings, secrets })
}

fn endpoint(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid("endpoint", format!("\"{raw}\" is not a valid endpoint URL: {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the URL holds a password.
        return Err(Error::invalid("endpoint", "the endpoint URL must not carry a user name or password (credentials go to the keyring, never into a URL)"));
    }
    // Credentials and tokens travel in headers and bodies: only loopback (tests, a local
    // gateway) may be plain http.
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(bad("use https:// (plain http:// is allowed only for 127.0.0.1, ::1 or localhost)"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// 127.0.0.0/8, ::1 or localhost.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
