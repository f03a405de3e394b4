//! Errors as types. Every error knows its [`ErrorKind`] (what went wrong, for code and
//! for the UI) and renders a human sentence naming the thing and the cause.

use serde::{Deserialize, Serialize};

use crate::creds::CredError;

/// What went wrong, in words scripts and the UI can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidInput,
    NotFound,
    Conflict,
    KeyringUnavailable,
    SecretMissing,
    Storage,
    Io,
    Auth,
    Permission,
    Quota,
    RateLimited,
    Expired,
    Network,
    Server,
    Changed,
    Unsupported,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user; `field` names the form field or flag at fault.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no account named \"{0}\"")]
    UnknownAccount(String),
    #[error("an account named \"{0}\" already exists")]
    DuplicateAccount(String),
    #[error(transparent)]
    Cred(#[from] CredError),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no job {0}")]
    UnknownJob(i64),
    /// A state change the job's current state does not allow (the guard refused it).
    #[error("job {job} is {state}: it cannot {verb}")]
    Transition { job: i64, state: String, verb: &'static str },
    /// A provider's answer, already in human words.
    #[error("{message}")]
    Provider { kind: ErrorKind, message: String },
    #[error("{0}")]
    Unsupported(String),
    /// No request can go out: the HTTP client cannot be built (no CA certificate to trust, say).
    #[error("cannot set up secure (HTTPS) connections: {0}; Ferry trusts the system's CA certificates, or those SSL_CERT_FILE / SSL_CERT_DIR name")]
    HttpClient(String),
    /// `ferry.db` cannot be opened or is damaged: Ferry cannot start on it. The way out is
    /// [`crate::store::move_aside`] (the old file is kept) and a fresh start.
    #[error("Ferry can't use its database {}: {detail}", path.display())]
    DatabaseUnusable { path: std::path::PathBuf, detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), message: message.into() }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::InvalidInput,
            Error::UnknownAccount(_) | Error::UnknownJob(_) => ErrorKind::NotFound,
            Error::Transition { .. } => ErrorKind::Conflict,
            Error::DuplicateAccount(_) => ErrorKind::Conflict,
            Error::Cred(CredError::Missing { .. }) => ErrorKind::SecretMissing,
            Error::Cred(_) => ErrorKind::KeyringUnavailable,
            Error::Db(_) | Error::DatabaseUnusable { .. } => ErrorKind::Storage,
            Error::Io { .. } => ErrorKind::Io,
            Error::Provider { kind, .. } => *kind,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::HttpClient(_) => ErrorKind::Network,
        }
    }

    /// The input field this error is about, so a form can highlight it.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::DuplicateAccount(_) => Some("name"),
            _ => None,
        }
    }

    /// True when the error is the user's input (the CLI exits 2 for these).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Invalid { .. } | Error::UnknownAccount(_) | Error::UnknownJob(_) | Error::DuplicateAccount(_))
    }
}

/// What the UI receives for any failed command: never a bare string.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
    pub field: Option<String>,
}

impl From<Error> for UiError {
    fn from(e: Error) -> Self {
        UiError { kind: e.kind(), message: e.to_string(), field: e.field().map(str::to_owned) }
    }
}
