//! Strict HTTP mocks of Ferry's upload providers, for tests and benchmarks.
//!
//! Every mock binds `127.0.0.1` only. Each one follows its provider's reference document in
//! `shared/providers/` (not Ferry's client), so a client bug shows up as the error the real
//! service would give.
//!
//! Shared pieces, reused by every provider mock:
//! * [`faults`]: runtime fault injection (dropped connections, 5xx, business errors, throttling,
//!   slowness), driven in-process or over HTTP;
//! * a `PUT|POST /__sink` byte sink (a `curl -T` baseline on the same server);
//! * control endpoints `POST /__mock/faults`, `GET /__mock/faults`, `GET /__mock/state`,
//!   `POST /__mock/reset`, `GET /__mock/issued` (every token and signature handed out, for
//!   leak checks; [`Issued`]).

mod body;
mod control;
pub mod dingtalk;
pub mod faults;
mod issued;
pub mod pds;
pub mod feishu;
mod server;
mod sink;
pub mod xfyun;

pub use dingtalk::{DingtalkConfig, DingtalkMock};
pub use feishu::{FeishuConfig, FeishuMock};
pub use issued::Issued;
pub use faults::{FaultAction, FaultRule, FaultRuleStatus, Faults, Trigger};
pub use xfyun::{Stats, StoredObject, XfyunConfig, XfyunMock};
pub use pds::{PdsConfig, PdsFile, PdsMock, PdsStats};
