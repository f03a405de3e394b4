//! Logic of the account store. The secret store here is an in-memory one that can be told
//! to fail, to reach rollback paths a real keyring cannot be made to hit on cue; the real
//! keyring is exercised by the app's integration tests under a Secret Service.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::creds::{CredError, MemorySecrets, Secret, SecretStore};
use crate::error::ErrorKind;

#[derive(Default)]
struct FlakyStore {
    /// What is stored (`map`).
    inner: MemorySecrets,
    /// Fail the `set` call with this index (0-based, counting every call) once.
    fail_set_after: Mutex<Option<usize>>,
    sets: AtomicUsize,
}

impl SecretStore for FlakyStore {
    fn set(&self, id: &str, value: &Secret) -> Result<(), CredError> {
        let call = self.sets.fetch_add(1, Ordering::SeqCst);
        if *self.fail_set_after.lock().unwrap() == Some(call) {
            return Err(CredError::Unavailable("test: keyring went away".into()));
        }
        self.inner.set(id, value)
    }
    fn get(&self, id: &str) -> Result<Option<Secret>, CredError> {
        self.inner.get(id)
    }
    fn delete(&self, id: &str) -> Result<(), CredError> {
        self.inner.delete(id)
    }
}

fn setup() -> (tempfile::TempDir, Arc<FlakyStore>, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let secrets = Arc::new(FlakyStore::default());
    let accounts = Accounts::new(store, secrets.clone());
    (dir, secrets, accounts)
}

fn xfyun(name: &str) -> AccountInput {
    AccountInput {
        name: name.into(),
        provider: ProviderKind::Xfyun,
        endpoint: None,
        settings: [("app_id".to_string(), "4CC5779A".to_string())].into(),
        secrets: [("api_key".to_string(), Secret::new("K-123")), ("api_secret".to_string(), Secret::new("S-456"))].into(),
    }
}

fn field_of(e: &Error) -> (ErrorKind, Option<String>) {
    (e.kind(), e.field().map(str::to_owned))
}

#[test]
fn add_list_get_remove() {
    let (_d, secrets, accounts) = setup();
    let a = accounts.add(xfyun("work")).unwrap();
    assert_eq!(a.secret_keys, vec!["api_key", "api_secret"]);
    assert_eq!(accounts.list().unwrap().len(), 1);
    assert_eq!(accounts.secret(&a, "api_secret").unwrap().expose(), "S-456");
    assert_eq!(secrets.inner.map.lock().unwrap().len(), 2);
    accounts.remove("work").unwrap();
    assert!(accounts.list().unwrap().is_empty());
    assert!(secrets.inner.map.lock().unwrap().is_empty(), "remove deletes the keyring entries");
    assert_eq!(accounts.remove("work").unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn defaults_are_applied() {
    let (_d, _s, accounts) = setup();
    let a = accounts
        .add(AccountInput {
            name: "ding".into(),
            provider: ProviderKind::Dingtalk,
            endpoint: Some("http://127.0.0.1:9/".into()),
            settings: [("app_key", "k"), ("union_id", "u"), ("space_id", "1")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            secrets: [("app_secret".to_string(), Secret::new("x"))].into(),
        })
        .unwrap();
    assert_eq!(a.setting("parent_id"), Some("0"));
    assert_eq!(a.setting("conflict"), Some("AUTO_RENAME"));
    assert_eq!(a.endpoint.as_deref(), Some("http://127.0.0.1:9"));
}

#[test]
fn keyring_failure_leaves_no_row_and_no_entries() {
    let (_d, secrets, accounts) = setup();
    *secrets.fail_set_after.lock().unwrap() = Some(1); // first secret written, second fails
    let err = accounts.add(xfyun("work")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyringUnavailable);
    assert!(err.to_string().contains("No Secret Service found"), "{err}");
    assert!(accounts.list().unwrap().is_empty(), "no SQLite row");
    assert!(secrets.inner.map.lock().unwrap().is_empty(), "the first secret was taken back");
}

#[test]
fn sqlite_failure_removes_the_new_keyring_entries() {
    let (_d, secrets, accounts) = setup();
    // Make the commit fail by making the table refuse inserts at commit time: a deferred
    // foreign key that can never be satisfied.
    accounts
        .store
        .conn()
        .execute_batch(
            "CREATE TABLE blocker (id INTEGER PRIMARY KEY, x INTEGER REFERENCES nowhere(id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TABLE nowhere (id INTEGER PRIMARY KEY);
             CREATE TRIGGER block AFTER INSERT ON accounts BEGIN INSERT INTO blocker (x) VALUES (42); END;",
        )
        .unwrap();
    let err = accounts.add(xfyun("work")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(secrets.inner.map.lock().unwrap().is_empty(), "keyring entries written before the failed commit are removed");
    accounts.store.conn().execute_batch("DROP TRIGGER block;").unwrap();
    assert!(accounts.list().unwrap().is_empty());
}

#[test]
fn edit_keeps_omitted_secrets_and_restores_on_failure() {
    let (_d, secrets, accounts) = setup();
    let a = accounts.add(xfyun("work")).unwrap();
    let mut edit = xfyun("job");
    edit.secrets = [("api_secret".to_string(), Secret::new("S-new"))].into();
    let b = accounts.update("work", edit).unwrap();
    assert_eq!(b.name, "job");
    assert_eq!(accounts.secret(&b, "api_key").unwrap().expose(), "K-123");
    assert_eq!(accounts.secret(&b, "api_secret").unwrap().expose(), "S-new");

    // A failing keyring mid-edit restores the earlier value and leaves the row as it was.
    *secrets.fail_set_after.lock().unwrap() = Some(secrets.sets.load(Ordering::SeqCst) + 1);
    let mut edit = xfyun("renamed");
    edit.secrets = [("api_key".to_string(), Secret::new("K-2")), ("api_secret".to_string(), Secret::new("S-3"))].into();
    assert_eq!(accounts.update("job", edit).unwrap_err().kind(), ErrorKind::KeyringUnavailable);
    *secrets.fail_set_after.lock().unwrap() = None;
    let still = accounts.get("job").unwrap();
    assert_eq!(accounts.secret(&still, "api_key").unwrap().expose(), "K-123");
    assert_eq!(accounts.secret(&still, "api_secret").unwrap().expose(), "S-new");
    assert_eq!(a.id, still.id);
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let (_d, secrets, accounts) = setup();
    accounts.add(xfyun("taken")).unwrap();
    let n = secrets.inner.map.lock().unwrap().len();

    let cases: Vec<(AccountInput, ErrorKind, &str, &str)> = vec![
        (xfyun("  "), ErrorKind::InvalidInput, "name", "must not be empty"),
        (xfyun("taken"), ErrorKind::Conflict, "name", "already exists"),
        (AccountInput { endpoint: Some("ftp://x".into()), ..xfyun("a") }, ErrorKind::InvalidInput, "endpoint", "http:// or https://"),
        (AccountInput { endpoint: Some("not a url".into()), ..xfyun("a") }, ErrorKind::InvalidInput, "endpoint", "not a valid endpoint URL"),
        (AccountInput { settings: BTreeMap::new(), ..xfyun("a") }, ErrorKind::InvalidInput, "app_id", "missing required setting"),
        (AccountInput { secrets: BTreeMap::new(), ..xfyun("a") }, ErrorKind::InvalidInput, "api_key", "missing required secret"),
        (
            AccountInput { settings: [("colour".to_string(), "red".to_string())].into(), ..xfyun("a") },
            ErrorKind::InvalidInput,
            "colour",
            "unknown setting for provider xfyun",
        ),
        (
            AccountInput { settings: [("api_key".to_string(), "oops".to_string())].into(), ..xfyun("a") },
            ErrorKind::InvalidInput,
            "api_key",
            "is a secret",
        ),
        (
            AccountInput {
                provider: ProviderKind::Local,
                settings: [("root".to_string(), "relative/dir".to_string())].into(),
                secrets: BTreeMap::new(),
                ..xfyun("a")
            },
            ErrorKind::InvalidInput,
            "root",
            "absolute",
        ),
    ];
    for (input, kind, field, text) in cases {
        let err = accounts.add(input).unwrap_err();
        assert_eq!(field_of(&err), (kind, Some(field.to_string())), "{err}");
        assert!(err.to_string().contains(text), "{err:?} should say {text:?}");
    }
    assert_eq!(accounts.list().unwrap().len(), 1, "nothing written");
    assert_eq!(secrets.inner.map.lock().unwrap().len(), n, "no keyring writes");
}

#[test]
fn choices_are_enforced() {
    let (_d, _s, accounts) = setup();
    let err = accounts
        .add(AccountInput {
            name: "d".into(),
            provider: ProviderKind::Dingtalk,
            endpoint: None,
            settings: [("app_key", "k"), ("union_id", "u"), ("space_id", "1"), ("conflict", "SOMETIMES")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            secrets: [("app_secret".to_string(), Secret::new("x"))].into(),
        })
        .unwrap_err();
    assert_eq!(err.field(), Some("conflict"));
}

#[test]
fn input_debug_never_shows_secrets() {
    let shown = format!("{:?}", xfyun("w"));
    assert!(!shown.contains("S-456") && !shown.contains("K-123"), "{shown}");
}

/// A keyring that checks, at every call, that the database is free: no write transaction
/// open (another connection can take the write lock at once) and Ferry's connection not
/// held. A keyring waiting on an unlock prompt must never hold the database.
struct Watchful {
    inner: FlakyStore,
    store: Arc<Store>,
    calls: AtomicUsize,
}

impl Watchful {
    fn check(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(!self.store.in_use(), "a keyring call ran while Ferry's database connection was held");
        let other = rusqlite::Connection::open(self.store.path()).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").expect("a keyring call ran inside an open write transaction");
    }
}

impl SecretStore for Watchful {
    fn set(&self, id: &str, value: &Secret) -> Result<(), CredError> {
        self.check();
        self.inner.set(id, value)
    }
    fn get(&self, id: &str) -> Result<Option<Secret>, CredError> {
        self.check();
        self.inner.get(id)
    }
    fn delete(&self, id: &str) -> Result<(), CredError> {
        self.check();
        self.inner.delete(id)
    }
}

#[test]
fn keyring_calls_never_run_inside_a_database_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let secrets = Arc::new(Watchful { inner: FlakyStore::default(), store: store.clone(), calls: AtomicUsize::new(0) });
    let accounts = Accounts::new(store, secrets.clone());
    let a = accounts.add(xfyun("work")).unwrap();
    let mut edit = xfyun("job");
    edit.secrets = [("api_secret".to_string(), Secret::new("S-new"))].into();
    accounts.update("work", edit).unwrap();
    assert_eq!(accounts.secret(&accounts.get("job").unwrap(), "api_secret").unwrap().expose(), "S-new");
    // The failure paths call the keyring too (undoing): same rule.
    *secrets.inner.fail_set_after.lock().unwrap() = Some(secrets.inner.sets.load(Ordering::SeqCst) + 1);
    assert!(accounts.add(xfyun("other")).is_err());
    *secrets.inner.fail_set_after.lock().unwrap() = None;
    accounts.remove("job").unwrap();
    assert!(accounts.list().unwrap().is_empty());
    assert!(secrets.inner.inner.map.lock().unwrap().is_empty());
    assert!(secrets.calls.load(Ordering::SeqCst) >= 8, "every path went through the keyring");
    let _ = a;
}

#[test]
fn a_keyring_failure_while_removing_puts_back_what_it_deleted_and_keeps_the_row() {
    struct FailSecondDelete {
        inner: MemorySecrets,
        deletes: AtomicUsize,
    }
    impl SecretStore for FailSecondDelete {
        fn set(&self, id: &str, value: &Secret) -> Result<(), CredError> {
            self.inner.set(id, value)
        }
        fn get(&self, id: &str) -> Result<Option<Secret>, CredError> {
            self.inner.get(id)
        }
        fn delete(&self, id: &str) -> Result<(), CredError> {
            if self.deletes.fetch_add(1, Ordering::SeqCst) == 1 {
                return Err(CredError::Unavailable("test: keyring went away".into()));
            }
            self.inner.delete(id)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(FailSecondDelete { inner: MemorySecrets::default(), deletes: AtomicUsize::new(0) });
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()), secrets.clone());
    accounts.add(xfyun("work")).unwrap();
    assert_eq!(accounts.remove("work").unwrap_err().kind(), ErrorKind::KeyringUnavailable);
    let still = accounts.get("work").expect("the row stays");
    assert_eq!(accounts.secret(&still, "api_key").unwrap().expose(), "K-123", "the deleted entry was put back");
    assert_eq!(accounts.secret(&still, "api_secret").unwrap().expose(), "S-456");
}

#[test]
fn a_failed_row_write_on_edit_restores_the_replaced_secrets() {
    let (_d, _secrets, accounts) = setup();
    let a = accounts.add(xfyun("work")).unwrap();
    accounts.store.conn().execute_batch("CREATE TRIGGER block BEFORE UPDATE ON accounts BEGIN SELECT RAISE(ABORT, 'test: refused'); END;").unwrap();
    let mut edit = xfyun("work");
    edit.secrets = [("api_key".to_string(), Secret::new("K-new"))].into();
    assert_eq!(accounts.update("work", edit).unwrap_err().kind(), ErrorKind::Storage);
    assert_eq!(accounts.secret(&a, "api_key").unwrap().expose(), "K-123", "the old secret is back");
}
