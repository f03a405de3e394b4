//! `account test`: is this account usable right now?

use crate::accounts::Account;
use crate::error::{Error, Result};
use crate::providers::{self, Context};
use crate::Ferry;

/// Checks an account with its provider (gets a token / checks the settings) and returns a
/// one-line human result.
pub async fn check_account(ferry: &Ferry, account: &Account) -> Result<String> {
    let ctx = Context { http: ferry.proxy.client()?, accounts: ferry.accounts.clone(), account: account.clone() };
    let provider = providers::build(ctx)?;
    let said = provider.check().await.map_err(|e| Error::Provider { kind: e.kind, message: e.message })?;
    Ok(format!("account \"{}\" is usable: {said}", account.name))
}
