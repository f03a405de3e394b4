//! IPC commands: thin adapters from the UI to the engine. Engine calls may block (SQLite,
//! D-Bus for the keyring), so they run on the blocking pool, never on the UI thread.

use std::sync::Arc;

use ferry_engine::accounts::{self, Account, AccountInput, ProviderSpec};
use ferry_engine::{Error, Ferry, UiError};
use tauri::State;

type Engine<'a> = State<'a, Arc<Ferry>>;

async fn blocking<T: Send + 'static>(
    ferry: &Engine<'_>,
    f: impl FnOnce(&Ferry) -> Result<T, Error> + Send + 'static,
) -> Result<T, UiError> {
    let ferry = Arc::clone(ferry);
    tauri::async_runtime::spawn_blocking(move || f(&ferry))
        .await
        .unwrap_or_else(|e| Err(Error::Unsupported(format!("internal error: {e}"))))
        .map_err(UiError::from)
}

/// The settings each provider kind needs (drives the account forms).
#[tauri::command]
#[specta::specta]
pub fn provider_specs() -> Vec<ProviderSpec> {
    accounts::all_specs()
}

#[tauri::command]
#[specta::specta]
pub async fn list_accounts(ferry: Engine<'_>) -> Result<Vec<Account>, UiError> {
    blocking(&ferry, |f| f.accounts.list()).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_account(ferry: Engine<'_>, input: AccountInput) -> Result<Account, UiError> {
    blocking(&ferry, move |f| f.accounts.add(input)).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_account(ferry: Engine<'_>, name: String, input: AccountInput) -> Result<Account, UiError> {
    blocking(&ferry, move |f| f.accounts.update(&name, input)).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_account(ferry: Engine<'_>, name: String) -> Result<(), UiError> {
    blocking(&ferry, move |f| f.accounts.remove(&name)).await
}

/// Checks that an account is usable; returns a human sentence.
#[tauri::command]
#[specta::specta]
pub async fn test_account(ferry: Engine<'_>, name: String) -> Result<String, UiError> {
    let account = blocking(&ferry, move |f| f.accounts.get(&name)).await?;
    ferry_engine::check::check_account(&ferry, &account).await.map_err(UiError::from)
}
