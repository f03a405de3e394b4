//! What every cloud provider needs, kept once (object_store's `client/` shape): endpoint URLs,
//! the token cache, signed part targets and their PUT, the reqwest error mapping and
//! multipart form parts, the folder-path cache. A provider's own folder holds only its calls and its error table.

pub mod endpoint;
pub mod errors;
pub mod folders;
pub mod form;
pub mod rate;
pub mod signed;
pub mod token;

pub use endpoint::Endpoint;
