//! What both HTTP MCP endpoints (`/mcp` and the legacy `/sse` +
//! `/message`) do the same way: read a bounded request body, refusing one
//! that is too large, too slow or unreadable with a [`Refusal`].

use axum::body::{Body, Bytes};

use super::conn::BodyTimeout;
use super::refusal::Refusal;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads a request body of at most `limit` bytes, or refuses: 413
/// `body-too-large`, 408 `body-timeout` (the body did not arrive within
/// `--body-timeout`; the connection is closed), 400 `body-unreadable`.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, Refusal> {
    let error = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => return Ok(bytes),
        Err(error) => error,
    };
    if let Some(timeout) = BodyTimeout::caused(&error) {
        tracing::warn!(
            limit_s = timeout.0.as_secs_f64(),
            "refused: request body too slow"
        );
        return Err(Refusal::BodyTimeout(BodyTimeout(timeout.0)));
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return Err(Refusal::BodyTooLarge { limit });
        }
        source = e.source();
    }
    Err(Refusal::BodyUnreadable {
        reason: error.to_string(),
    })
}
