//! Ferry's upload engine. It knows nothing about windows: the Tauri shell and the
//! headless `ferry` command line both drive it through the same types.

pub mod accounts;
pub mod browse;
pub mod check;
pub mod creds;
pub mod enqueue;
pub mod error;
mod ferry;
pub mod hashing;
pub mod paths;
pub mod platform;
pub mod providers;
pub mod proxy;
pub mod queue;
pub mod source;
pub mod store;
pub mod transfer;
pub mod watch;

pub use error::{Error, ErrorKind, Result, UiError};
pub use ferry::Ferry;
