//! Provider accounts: a name, a provider kind, an optional endpoint and the provider's
//! settings. Non-secret settings go to SQLite, secret ones only to the OS keyring, and
//! every change is atomic across the two stores.

mod spec;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

pub use spec::{all_specs, ProviderKind, ProviderSpec, SettingSpec};

use crate::creds::{CredError, Secret, SecretStore};
use crate::error::{Error, Result};
use crate::store::Store;

pub(crate) const SCHEMA_V1: &str = include_str!("schema.sql");

/// An account as everyone may see it: no secret values, only which secrets are stored.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Account {
    pub id: i64,
    #[serde(skip)]
    pub(crate) uid: String,
    pub name: String,
    pub provider: ProviderKind,
    pub endpoint: Option<String>,
    /// Non-secret settings, defaults applied.
    pub settings: BTreeMap<String, String>,
    pub secret_keys: Vec<String>,
    pub created_at: i64,
    /// Grows with every edit, secrets included: what caches of a built provider key on.
    #[serde(skip)]
    pub(crate) revision: i64,
}

impl Account {
    /// The endpoint to talk to: the override, else the provider's public one.
    pub fn endpoint_or_default(&self) -> Option<String> {
        self.endpoint.clone().or_else(|| self.provider.spec().default_endpoint)
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// Changes with every edit of the account, its secrets included: what anything built
    /// from it (a provider, a folder browser) is cached by.
    pub fn version(&self) -> String {
        format!("{}#{}", serde_json::to_string(self).unwrap_or_default(), self.revision)
    }
}

/// What a form (or `ferry account add`) submits. Secret values are deserialised straight
/// into [`Secret`], so this type's `Debug` never shows them.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct AccountInput {
    pub name: String,
    pub provider: ProviderKind,
    pub endpoint: Option<String>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// On edit, a secret left out (or empty) keeps its stored value.
    #[serde(default)]
    #[specta(type = BTreeMap<String, String>)]
    pub secrets: BTreeMap<String, Secret>,
}

#[derive(Clone)]
pub struct Accounts {
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
}

fn secret_id(uid: &str, key: &str) -> String {
    format!("{uid}/{key}")
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

const COLUMNS: &str = "id, uid, name, provider, endpoint, settings, secret_keys, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let provider: String = r.get(3)?;
    let json_err = |i, e: serde_json::Error| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    Ok(Account {
        id: r.get(0)?,
        uid: r.get(1)?,
        name: r.get(2)?,
        provider: ProviderKind::parse(&provider).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, format!("unknown provider {provider}").into())
        })?,
        endpoint: r.get(4)?,
        settings: serde_json::from_str(&r.get::<_, String>(5)?).map_err(|e| json_err(5, e))?,
        secret_keys: serde_json::from_str(&r.get::<_, String>(6)?).map_err(|e| json_err(6, e))?,
        created_at: r.get(7)?,
        revision: r.get(8)?,
    })
}

impl Accounts {
    pub fn new(store: Arc<Store>, secrets: Arc<dyn SecretStore>) -> Self {
        Accounts { store, secrets }
    }

    /// The data dir these accounts live in (a provider may keep small state files there).
    pub fn data_dir(&self) -> &std::path::Path {
        self.store.path().parent().unwrap_or(std::path::Path::new("."))
    }

    pub fn list(&self) -> Result<Vec<Account>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM accounts ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn get(&self, name: &str) -> Result<Account> {
        self.find(name)?.ok_or_else(|| Error::UnknownAccount(name.to_owned()))
    }

    pub fn get_by_id(&self, id: i64) -> Result<Account> {
        let conn = self.store.conn();
        conn.query_row(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"), [id], from_row)
            .optional()?
            .ok_or_else(|| Error::UnknownAccount(format!("#{id}")))
    }

    fn find(&self, name: &str) -> Result<Option<Account>> {
        let conn = self.store.conn();
        Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM accounts WHERE name = ?1"), [name], from_row).optional()?)
    }

    /// Adds an account: the SQLite row and the keyring entries, or neither. The keyring
    /// comes first and no database lock is held meanwhile (a locked keyring may wait on
    /// an unlock prompt): the entries live under a fresh uid nothing else refers to, and
    /// are taken back if the row cannot be written.
    pub fn add(&self, input: AccountInput) -> Result<Account> {
        let v = validate::validate(input, None)?;
        if self.find(&v.name)?.is_some() {
            return Err(Error::DuplicateAccount(v.name));
        }
        let uid = format!("{:016x}{:08x}", rand::random::<u64>(), now() as u32);
        let secret_keys: Vec<String> = v.secrets.keys().cloned().collect();
        let mut written = Vec::new();
        for (key, value) in &v.secrets {
            if let Err(e) = self.secrets.set(&secret_id(&uid, key), value) {
                self.forget(&written);
                return Err(e.into());
            }
            written.push(secret_id(&uid, key));
        }
        let t = now();
        let inserted = {
            let conn = self.store.conn();
            conn.execute(
                "INSERT INTO accounts (uid, name, provider, endpoint, settings, secret_keys, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![uid, v.name, v.provider.as_str(), v.endpoint, json(&v.settings), json(&secret_keys), t],
            )
            .map(|_| conn.last_insert_rowid())
        };
        let id = match inserted {
            Ok(id) => id,
            Err(e) => {
                self.forget(&written);
                return Err(unique_violation_as_duplicate(e, &v.name));
            }
        };
        tracing::info!(account = %v.name, provider = v.provider.as_str(), "account added");
        Ok(Account {
            id,
            uid,
            name: v.name,
            provider: v.provider,
            endpoint: v.endpoint,
            settings: v.settings,
            secret_keys,
            created_at: t,
            revision: t,
        })
    }

    /// Edits the account called `name` (which may be renamed). Secrets left out keep their
    /// stored values; given ones replace them first (outside any database transaction),
    /// and are restored if the row cannot be written.
    pub fn update(&self, name: &str, input: AccountInput) -> Result<Account> {
        let old = self.get(name)?;
        if input.provider != old.provider {
            return Err(Error::invalid("provider", "the provider of an existing account cannot change; add a new account"));
        }
        let v = validate::validate(input, Some(&old))?;
        if v.name != old.name && self.find(&v.name)?.is_some() {
            return Err(Error::DuplicateAccount(v.name));
        }
        let mut secret_keys: Vec<String> = old.secret_keys.clone();
        secret_keys.extend(v.secrets.keys().filter(|k| !old.secret_keys.contains(k)).cloned());
        secret_keys.sort();
        let mut replaced: Vec<(String, Option<Secret>)> = Vec::new();
        for (key, value) in &v.secrets {
            let id = secret_id(&old.uid, key);
            let step = self.secrets.get(&id).and_then(|prev| {
                self.secrets.set(&id, value)?;
                Ok(prev)
            });
            match step {
                Ok(prev) => replaced.push((id, prev)),
                Err(e) => {
                    self.restore(&replaced);
                    return Err(e.into());
                }
            }
        }
        let updated = self.store.conn().execute(
            // updated_at only grows, even for two edits within a second: it is the revision.
            "UPDATE accounts SET name = ?2, endpoint = ?3, settings = ?4, secret_keys = ?5, updated_at = MAX(updated_at + 1, ?6) WHERE id = ?1",
            params![old.id, v.name, v.endpoint, json(&v.settings), json(&secret_keys), now()],
        );
        match updated {
            Ok(1) => {}
            Ok(_) => {
                self.restore(&replaced);
                return Err(Error::UnknownAccount(name.to_owned())); // removed meanwhile
            }
            Err(e) => {
                self.restore(&replaced);
                return Err(unique_violation_as_duplicate(e, &v.name));
            }
        }
        self.get_by_id(old.id)
    }

    /// Removes the account and its keyring entries. The entries go first (their values
    /// read beforehand, outside any database transaction); if the keyring fails midway
    /// the deleted ones are put back and the row stays, so nothing is orphaned silently.
    pub fn remove(&self, name: &str) -> Result<()> {
        let account = self.get(name)?;
        let ids: Vec<String> = account.secret_keys.iter().map(|k| secret_id(&account.uid, k)).collect();
        let mut kept: Vec<(String, Option<Secret>)> = Vec::new();
        for id in &ids {
            kept.push((id.clone(), self.secrets.get(id)?));
        }
        let mut deleted: Vec<(String, Option<Secret>)> = Vec::new();
        for (id, value) in kept {
            if let Err(e) = self.secrets.delete(&id) {
                self.restore(&deleted);
                return Err(e.into());
            }
            deleted.push((id, value));
        }
        if let Err(e) = self.store.conn().execute("DELETE FROM accounts WHERE id = ?1", [account.id]) {
            self.restore(&deleted);
            return Err(e.into());
        }
        tracing::info!(account = %account.name, "account removed");
        Ok(())
    }

    /// Reads one secret of an account from the keyring.
    pub fn secret(&self, account: &Account, key: &str) -> Result<Secret> {
        self.secrets
            .get(&secret_id(&account.uid, key))?
            .ok_or_else(|| CredError::Missing { account: account.name.clone(), key: key.to_owned() }.into())
    }

    /// Replaces one secret (a rotated refresh token, say) in place.
    pub fn replace_secret(&self, account: &Account, key: &str, value: &Secret) -> Result<()> {
        Ok(self.secrets.set(&secret_id(&account.uid, key), value)?)
    }

    fn forget(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = self.secrets.delete(id) {
                tracing::warn!(error = %e, "could not remove a keyring entry while undoing a failed add");
            }
        }
    }

    fn restore(&self, replaced: &[(String, Option<Secret>)]) {
        for (id, prev) in replaced {
            let undo = match prev {
                Some(p) => self.secrets.set(id, p),
                None => self.secrets.delete(id),
            };
            if let Err(e) = undo {
                tracing::warn!(error = %e, "could not restore a keyring entry while undoing a failed change");
            }
        }
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("maps and lists of strings always serialise")
}

fn unique_violation_as_duplicate(e: rusqlite::Error, name: &str) -> Error {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            Error::DuplicateAccount(name.to_owned())
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests;
