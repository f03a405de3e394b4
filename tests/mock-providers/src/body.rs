//! Request-body helpers shared by handlers and middlewares.

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// Reads and discards the whole body, returning how many bytes arrived.
///
/// Early answers (auth failures, injected 5xx) drain first, like a fronting gateway does, so a
/// client that is still sending sees the answer instead of a reset connection.
pub(crate) async fn drain(body: Body) -> u64 {
    let mut body = body;
    let mut total = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            total += data.len() as u64;
        }
    }
    total
}

/// Why [`read_limited`] gave up.
pub(crate) enum ReadError {
    TooLarge,
    Transport,
}

/// Collects the body when it is at most `limit` bytes (the rest is drained when it is larger).
pub(crate) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut body = body;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ReadError::Transport)?;
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > limit {
                drain(body).await;
                return Err(ReadError::TooLarge);
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Reads at least `n` bytes of the body (fewer if it ends first), discarding them.
pub(crate) async fn read_at_least(body: &mut Body, n: u64) -> u64 {
    let mut total = 0u64;
    while total < n {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    total += data.len() as u64;
                }
            }
            _ => break,
        }
    }
    total
}
