//! Credentials: secrets live only in the OS keyring (Secret Service on Linux).
//!
//! [`Secret`] cannot be serialised and prints `<redacted>`, so a secret cannot leak into
//! SQLite, logs, events or panics by accident.

use std::fmt;

/// A secret value. Deliberately not `Serialize`/`Display`; read it with [`Secret::expose`].
/// It can be deserialised, so forms and stdin hand secrets over without a plain `String`.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredError {
    #[error("No Secret Service found: install and start gnome-keyring or KWallet (system keyring unavailable: {0})")]
    Unavailable(String),
    #[error("The system keyring is locked: unlock it (log in to your desktop session, or unlock the login keyring) and try again")]
    Locked,
    #[error("the secret \"{key}\" of account \"{account}\" is missing from the system keyring: edit the account and enter it again")]
    Missing { account: String, key: String },
    #[error("system keyring error: {0}")]
    Other(String),
}

/// Where secrets are kept. The real one is [`Keyring`]; the trait exists so the account
/// store can be exercised against a keyring that fails on purpose.
pub trait SecretStore: Send + Sync {
    fn set(&self, id: &str, value: &Secret) -> Result<(), CredError>;
    fn get(&self, id: &str) -> Result<Option<Secret>, CredError>;
    /// Deleting an entry that does not exist is not an error.
    fn delete(&self, id: &str) -> Result<(), CredError>;
}

/// The OS keyring through the `keyring` crate. Entries are (service, id).
pub struct Keyring {
    service: String,
}

impl Keyring {
    pub fn new(service: impl Into<String>) -> Self {
        Keyring { service: service.into() }
    }

    fn entry(&self, id: &str) -> Result<keyring::Entry, CredError> {
        keyring::Entry::new(&self.service, id).map_err(map_err)
    }
}

impl Default for Keyring {
    fn default() -> Self {
        Keyring::new(crate::paths::APP_ID)
    }
}

fn map_err(e: keyring::Error) -> CredError {
    match e {
        keyring::Error::PlatformFailure(inner) => CredError::Unavailable(inner.to_string()),
        keyring::Error::NoStorageAccess(_) => CredError::Locked,
        other => CredError::Other(other.to_string()),
    }
}

impl SecretStore for Keyring {
    fn set(&self, id: &str, value: &Secret) -> Result<(), CredError> {
        self.entry(id)?.set_password(value.expose()).map_err(map_err)
    }

    fn get(&self, id: &str) -> Result<Option<Secret>, CredError> {
        match self.entry(id)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn delete(&self, id: &str) -> Result<(), CredError> {
        match self.entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}

/// A keyring in memory, for engine tests that need no real Secret Service.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemorySecrets {
    pub(crate) map: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

#[cfg(test)]
impl SecretStore for MemorySecrets {
    fn set(&self, id: &str, value: &Secret) -> Result<(), CredError> {
        self.map.lock().unwrap().insert(id.into(), value.expose().into());
        Ok(())
    }
    fn get(&self, id: &str) -> Result<Option<Secret>, CredError> {
        Ok(self.map.lock().unwrap().get(id).map(|v| Secret::new(v.clone())))
    }
    fn delete(&self, id: &str) -> Result<(), CredError> {
        self.map.lock().unwrap().remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
