//! Which settings each provider kind needs, which are secret, and their defaults.
//! The forms in the UI and the CLI's validation are both driven by this table.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Local,
    Xfyun,
    Dingtalk,
    Feishu,
    Pds,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 5] =
        [ProviderKind::Local, ProviderKind::Xfyun, ProviderKind::Dingtalk, ProviderKind::Feishu, ProviderKind::Pds];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Local => "local",
            ProviderKind::Xfyun => "xfyun",
            ProviderKind::Dingtalk => "dingtalk",
            ProviderKind::Feishu => "feishu",
            ProviderKind::Pds => "pds",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether files can go into folders of this provider (iFlytek keeps no paths).
    pub fn has_folders(self) -> bool {
        self != ProviderKind::Xfyun
    }

    pub fn spec(self) -> ProviderSpec {
        let s = |key: &str, required: bool, default: Option<&str>| SettingSpec {
            key: key.into(),
            secret: false,
            required,
            default: default.map(Into::into),
            choices: vec![],
            folder: false,
        };
        let secret = |key: &str| SettingSpec { key: key.into(), secret: true, required: true, default: None, choices: vec![], folder: false };
        let folder = |key: &str, required: bool, default: Option<&str>| SettingSpec { folder: true, ..s(key, required, default) };
        let (settings, default_endpoint) = match self {
            ProviderKind::Local => (vec![s("root", true, None)], None),
            ProviderKind::Xfyun => (
                vec![
                    s("app_id", true, None),
                    s("oneshot_max_bytes", false, Some("30000000")),
                    secret("api_key"),
                    secret("api_secret"),
                ],
                Some("https://upload-ost-api.xfyun.cn"),
            ),
            ProviderKind::Dingtalk => (
                vec![
                    s("app_key", true, None),
                    s("union_id", true, None),
                    s("space_id", true, None),
                    folder("parent_id", false, Some("0")),
                    SettingSpec {
                        choices: ["AUTO_RENAME", "OVERWRITE", "RETURN_DENTRY_IF_EXISTS", "RETURN_ERROR_IF_EXISTS"]
                            .map(String::from)
                            .to_vec(),
                        ..s("conflict", false, Some("AUTO_RENAME"))
                    },
                    secret("app_secret"),
                ],
                Some("https://api.dingtalk.com"),
            ),
            ProviderKind::Feishu => (
                vec![
                    s("app_id", true, None),
                    folder("parent_node", true, None),
                    s("parent_type", false, Some("explorer")),
                    s("drive_route_token", false, None),
                    s("daily_calls", false, Some("10000")),
                    secret("app_secret"),
                ],
                Some("https://open.feishu.cn"),
            ),
            ProviderKind::Pds => (
                vec![
                    s("domain_id", true, None),
                    s("drive_id", true, None),
                    folder("parent_file_id", false, Some("root")),
                    s("client_id", true, None),
                    SettingSpec {
                        choices: ["auto_rename", "ignore", "refuse", "overwrite"].map(String::from).to_vec(),
                        ..s("check_name_mode", false, Some("auto_rename"))
                    },
                    SettingSpec {
                        choices: ["serial", "parallel"].map(String::from).to_vec(),
                        ..s("upload_mode", false, Some("serial"))
                    },
                    secret("client_secret"),
                    secret("refresh_token"),
                ],
                None,
            ),
        };
        ProviderSpec { kind: self, settings, default_endpoint: default_endpoint.map(Into::into), folders: self.has_folders() }
    }
}

/// One setting of a provider kind, as a form field.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct SettingSpec {
    pub key: String,
    /// Secret settings go only to the OS keyring and are never shown again.
    pub secret: bool,
    pub required: bool,
    pub default: Option<String>,
    /// When not empty, the value must be one of these.
    pub choices: Vec<String>,
    /// The value is a folder id of the provider's space (chosen with Browse…).
    #[serde(default)]
    pub folder: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ProviderSpec {
    pub kind: ProviderKind,
    pub settings: Vec<SettingSpec>,
    /// The public API base URL; `None` when every tenant has its own (PDS).
    pub default_endpoint: Option<String>,
    /// Files can go into folders (a destination path); false = they all go flat.
    #[serde(default)]
    pub folders: bool,
}

pub fn all_specs() -> Vec<ProviderSpec> {
    ProviderKind::ALL.into_iter().map(ProviderKind::spec).collect()
}
