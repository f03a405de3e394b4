//! Builds the provider for an account.

use std::sync::Arc;

use crate::accounts::{Account, Accounts, ProviderKind};
use crate::creds::Secret;
use crate::error::Result;

use super::Provider;

/// What a provider may use: the shared HTTP client and its account's credentials.
#[derive(Clone)]
pub struct Context {
    pub http: reqwest::Client,
    pub accounts: Accounts,
    pub account: Account,
}

impl Context {
    /// A secret of this account, from the keyring.
    pub fn secret(&self, key: &str) -> Result<Secret> {
        self.accounts.secret(&self.account, key)
    }

    /// Replaces a secret of this account (rotated tokens).
    pub fn replace_secret(&self, key: &str, value: &Secret) -> Result<()> {
        self.accounts.replace_secret(&self.account, key, value)
    }

    /// A required non-secret setting (validated when the account was saved).
    pub fn setting(&self, key: &str) -> &str {
        self.account.setting(key).unwrap_or_default()
    }
}

pub fn build(ctx: Context) -> Result<Arc<dyn Provider>> {
    Ok(match ctx.account.provider {
        ProviderKind::Local => Arc::new(super::local::Local::new(&ctx)),
        ProviderKind::Xfyun => Arc::new(super::xfyun::Xfyun::new(&ctx)?),
        ProviderKind::Dingtalk => Arc::new(super::dingtalk::Dingtalk::new(&ctx)?),
        ProviderKind::Feishu => Arc::new(super::feishu::Feishu::new(&ctx)?),
        ProviderKind::Pds => Arc::new(super::pds::Pds::new(ctx)?),
    })
}
