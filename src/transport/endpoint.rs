//! What both HTTP MCP endpoints (`/mcp` and the legacy `/sse` +
//! `/message`) answer the same way: reading a bounded request body, and the
//! JSON refusals for a body that is not a message and for a session that is
//! gone or belongs to another actor.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ontoref_tools::error::clip;

use super::conn::BodyTimeout;
use super::framing::FramingError;
use super::guard::refusal;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads a request body of at most `limit` bytes, or answers: 413
/// `body-too-large`, 408 `body-timeout` (the body did not arrive within
/// `--body-timeout`; the connection is closed), 400 `body-unreadable`.
#[allow(clippy::result_large_err)]
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    let error = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => return Ok(bytes),
        Err(error) => error,
    };
    if let Some(timeout) = BodyTimeout::caused(&error) {
        tracing::warn!(
            limit_s = timeout.0.as_secs_f64(),
            "refused: request body too slow"
        );
        let mut response = refusal(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            &timeout.to_string(),
            "send the whole body at once, with a Content-Length that matches it (--body-timeout \
             bounds how long a body may take)",
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(response);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return Err(refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                &format!("the request body is larger than {limit} bytes"),
                "send smaller requests",
            ));
        }
        source = e.source();
    }
    Err(refusal(
        StatusCode::BAD_REQUEST,
        "body-unreadable",
        &format!(
            "the request body could not be read: {}",
            clip(&error.to_string())
        ),
        "send a complete body with a Content-Length that matches it",
    ))
}

/// 404 for an MCP session (Streamable HTTP or SSE) that never was or has
/// ended.
pub fn session_not_found(id: &str) -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "session-not-found",
        &format!("no open MCP session `{}`", clip(id)),
        "the session ended (DELETE, stream closed, idle timeout or restart): start a new one \
         (initialize on /mcp, or GET /sse)",
    )
}

/// 403 for a request into a session another actor's token opened.
pub fn session_actor_mismatch() -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        "session-actor-mismatch",
        "this session was opened with another actor's token",
        "use the token that opened the session, or open your own (initialize on /mcp, or GET \
         /sse)",
    )
}

/// The HTTP refusal of a message that cannot be answered in JSON-RPC (no
/// usable id).
pub fn framing_refusal(error: &FramingError) -> Response {
    let status = match error {
        FramingError::TooLong { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    refusal(status, error.code(), &error.to_string(), error.hint())
}
