//! The HTTP client every provider shares (one connection pool per engine).

use std::time::Duration;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!("Ferry/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds with static settings")
}

/// A deadline for one request carrying `bytes`: a minute for the exchange plus the body at
/// a pessimistic 16 KiB/s, so only a truly stuck request times out.
pub fn timeout_for(bytes: u64) -> Duration {
    Duration::from_secs(60 + bytes / (16 * 1024))
}
