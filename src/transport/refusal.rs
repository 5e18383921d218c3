//! Every refusal the HTTP transports answer, as one enum: the guard's 401s
//! and 403s, the body limits, dead or foreign sessions, full session
//! tables, unknown paths and methods, framing failures with no usable
//! JSON-RPC id, and rmcp's own plain-text errors on `/mcp` rewritten into
//! the same shape.
//!
//! Each [`Refusal`] has a stable kebab-case [`code`](Refusal::code), a
//! [`hint`](Refusal::hint) and an HTTP [`status`](Refusal::status), by
//! exhaustive match; [`Refusal::response`] is the one place a refusal
//! becomes a response: that status, `{"error": {code, message, hint}}` (the
//! shape tools use) and the headers the refusal calls for
//! (`WWW-Authenticate`, `Retry-After`, `Connection: close`). A leaf of the
//! transport: it imports only the errors it wraps. Like every error enum it
//! lists one example per variant ([`ErrorCodes`]) for the test over all
//! codes.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ontoref_tools::codes::{ErrorCodes, variant};
use ontoref_tools::error::clip;

use super::conn::BodyTimeout;
use super::framing::FramingError;

/// `WWW-Authenticate` for a request without a bearer token.
const CHALLENGE: &str = r#"Bearer realm="ontoref""#;

/// `WWW-Authenticate` for a request with a token this server does not know.
const CHALLENGE_INVALID: &str =
    r#"Bearer realm="ontoref", error="invalid_token", error_description="unknown token""#;

/// Why an HTTP request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The `Host` header is not in the allow-list (DNS rebinding).
    #[error("the Host header is not in this server's allow-list")]
    HostNotAllowed,
    /// The `Origin` header is not in the allow-list (cross-site requests).
    #[error("the Origin header is not in this server's allow-list")]
    OriginNotAllowed,
    /// Tokens are required and the request has no bearer token.
    #[error("this server requires a bearer token (Authorization: Bearer <token>)")]
    TokenMissing,
    /// The bearer token is not in the token file.
    #[error("the bearer token is not one this server accepts")]
    TokenInvalid,
    /// The request names, in `header`, an actor other than its token's.
    #[error("the request names an actor other than its token's ({actor}) in the {header} header")]
    ActorMismatch {
        /// The token's actor.
        actor: String,
        /// The header that named another actor.
        header: &'static str,
    },
    /// A request into a session another actor's token opened.
    #[error("this session was opened with another actor's token")]
    SessionActorMismatch,
    /// An MCP session (Streamable HTTP or SSE) that never was or has ended.
    #[error("no open MCP session `{}`", clip(id))]
    SessionNotFound {
        /// The session id asked for.
        id: String,
    },
    /// A request that must name its session does not.
    #[error("{}", match route {
        Route::Mcp => "a request within a session needs the Mcp-Session-Id header",
        Route::Legacy => "POST /message needs ?sessionId=<id>",
    })]
    SessionIdMissing {
        /// Which transport asked for it.
        route: Route,
    },
    /// The open sessions (both transports) are at `--max-sessions`.
    #[error("this server already has {open} open MCP sessions (--max-sessions {max})")]
    TooManySessions {
        /// Sessions open now.
        open: usize,
        /// The limit.
        max: usize,
        /// `--session-idle-timeout`, for the hint.
        idle_timeout: Duration,
    },
    /// The request body did not arrive within `--body-timeout`.
    #[error(transparent)]
    BodyTimeout(BodyTimeout),
    /// The request body is larger than the limit.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request body could not be read.
    #[error("the request body could not be read: {}", clip(reason))]
    BodyUnreadable {
        /// Why, as the reader says it.
        reason: String,
    },
    /// A message that cannot be answered in JSON-RPC (no usable id).
    #[error(transparent)]
    Framing(FramingError),
    /// Nothing is served at this path.
    #[error("nothing is served at `{}`", clip(path))]
    PathNotFound {
        /// The path asked for.
        path: String,
    },
    /// The route does not take this method.
    #[error("`{}` does not take {method}", clip(path))]
    MethodNotAllowed {
        /// The path.
        path: String,
        /// The method used.
        method: String,
    },
    /// rmcp refused the request's headers on `/mcp` (protocol version,
    /// `Mcp-*` headers).
    #[error("{}", clip(message))]
    BadRequest {
        /// What rmcp said.
        message: String,
    },
    /// rmcp refused the request's Host or Origin on `/mcp`.
    #[error("{}", clip(message))]
    Forbidden {
        /// What rmcp said.
        message: String,
    },
    /// The `Accept` header does not take what `/mcp` answers.
    #[error("{}", clip(message))]
    NotAcceptable {
        /// What rmcp said.
        message: String,
    },
    /// The body is not `application/json`.
    #[error("{}", clip(message))]
    UnsupportedMediaType {
        /// What rmcp said.
        message: String,
    },
    /// A failure of ontoref or rmcp (a 5xx status).
    #[error("{}", clip(message))]
    Internal {
        /// The 5xx status answered.
        status: StatusCode,
        /// What failed.
        message: String,
    },
    /// Any other error status rmcp answered on `/mcp`.
    #[error("{}", clip(message))]
    Other {
        /// The status answered.
        status: StatusCode,
        /// What rmcp said.
        message: String,
    },
}

/// Which HTTP MCP transport a refusal concerns, where the hint differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Streamable HTTP at `/mcp`.
    Mcp,
    /// The legacy transport at `/sse` + `/message` (and `/healthz`).
    Legacy,
}

impl Refusal {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::HostNotAllowed => "host-not-allowed",
            Refusal::OriginNotAllowed => "origin-not-allowed",
            Refusal::TokenMissing => "token-missing",
            Refusal::TokenInvalid => "token-invalid",
            Refusal::ActorMismatch { .. } => "actor-mismatch",
            Refusal::SessionActorMismatch => "session-actor-mismatch",
            Refusal::SessionNotFound { .. } => "session-not-found",
            Refusal::SessionIdMissing { .. } => "session-id-missing",
            Refusal::TooManySessions { .. } => "too-many-sessions",
            Refusal::BodyTimeout(_) => "body-timeout",
            Refusal::BodyTooLarge { .. } => "body-too-large",
            Refusal::BodyUnreadable { .. } => "body-unreadable",
            Refusal::Framing(e) => e.code(),
            Refusal::PathNotFound { .. } => "path-not-found",
            Refusal::MethodNotAllowed { .. } => "method-not-allowed",
            Refusal::BadRequest { .. } => "bad-request",
            Refusal::Forbidden { .. } => "forbidden",
            Refusal::NotAcceptable { .. } => "not-acceptable",
            Refusal::UnsupportedMediaType { .. } => "unsupported-media-type",
            Refusal::Internal { .. } => "http-internal-error",
            Refusal::Other { .. } => "http-error",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            Refusal::HostNotAllowed => "connect through an allowed name (localhost by default) or \
                                        start the server with --allowed-host"
                .to_owned(),
            Refusal::OriginNotAllowed => {
                "start the server with --allowed-origin for this client's origin".to_owned()
            }
            Refusal::TokenMissing | Refusal::TokenInvalid => {
                "ask the server's operator for a token; its sha256 must be listed in the server's \
                 --token-file"
                    .to_owned()
            }
            Refusal::ActorMismatch { .. } => {
                "a request acts as its token's actor; drop the header \
                                              or use that actor's own token"
                    .to_owned()
            }
            Refusal::SessionActorMismatch => "use the token that opened the session, or open your \
                                              own (initialize on /mcp, or GET /sse)"
                .to_owned(),
            Refusal::SessionNotFound { .. } => {
                "the session ended (DELETE, stream closed, idle timeout or restart): start a new \
                 one (initialize on /mcp, or GET /sse)"
                    .to_owned()
            }
            Refusal::SessionIdMissing { route: Route::Mcp } => {
                "send the Mcp-Session-Id header the initialize response returned, or start with \
                 initialize"
                    .to_owned()
            }
            Refusal::SessionIdMissing {
                route: Route::Legacy,
            } => "use the endpoint URL the /sse stream sent in its first event".to_owned(),
            Refusal::TooManySessions { idle_timeout, .. } => format!(
                "close sessions you no longer use (DELETE /mcp, or close the /sse stream); idle \
                 ones close after {} s (--session-idle-timeout)",
                idle_timeout.as_secs_f64()
            ),
            Refusal::BodyTimeout(_) => "send the whole body at once, with a Content-Length that \
                                        matches it (--body-timeout bounds how long a body may take)"
                .to_owned(),
            Refusal::BodyTooLarge { .. } => "send smaller requests".to_owned(),
            Refusal::BodyUnreadable { .. } => {
                "send a complete body with a Content-Length that matches it".to_owned()
            }
            Refusal::Framing(e) => e.hint().to_owned(),
            Refusal::PathNotFound { .. } => "MCP is at /mcp (Streamable HTTP) and /sse + /message \
                                             (the legacy SSE transport); /healthz answers `ok`"
                .to_owned(),
            Refusal::MethodNotAllowed { path, .. } if path.starts_with("/mcp") => {
                "/mcp takes POST; GET (an event stream) and DELETE only within a 2025-11-25 session"
                    .to_owned()
            }
            Refusal::MethodNotAllowed { .. } => {
                "GET /sse opens a stream, POST /message?sessionId=… \
                                                 posts to it, GET /healthz; /mcp takes POST (and \
                                                 GET and DELETE within a session)"
                    .to_owned()
            }
            Refusal::BadRequest { .. } => {
                "check the MCP-Protocol-Version and Mcp-* headers against the request".to_owned()
            }
            Refusal::Forbidden { .. } => "connect through an allowed Host and Origin \
                                          (--allowed-host, --allowed-origin)"
                .to_owned(),
            Refusal::NotAcceptable { .. } => "send `Accept: application/json, text/event-stream` \
                                              (a GET stream needs text/event-stream)"
                .to_owned(),
            Refusal::UnsupportedMediaType { .. } => {
                "send the JSON-RPC message with `Content-Type: application/json`".to_owned()
            }
            Refusal::Internal { .. } => "this is a bug in ontoref; retry, and report it with the \
                                         message if it persists"
                .to_owned(),
            Refusal::Other { .. } => "see the message; the MCP Streamable HTTP transport \
                                      describes what /mcp expects"
                .to_owned(),
        }
    }

    /// The HTTP status answered.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::HostNotAllowed
            | Refusal::OriginNotAllowed
            | Refusal::ActorMismatch { .. }
            | Refusal::SessionActorMismatch
            | Refusal::Forbidden { .. } => StatusCode::FORBIDDEN,
            Refusal::TokenMissing | Refusal::TokenInvalid => StatusCode::UNAUTHORIZED,
            Refusal::SessionNotFound { .. } | Refusal::PathNotFound { .. } => StatusCode::NOT_FOUND,
            Refusal::SessionIdMissing { .. }
            | Refusal::BodyUnreadable { .. }
            | Refusal::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Refusal::TooManySessions { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Framing(FramingError::TooLong { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Framing(_) => StatusCode::BAD_REQUEST,
            Refusal::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            Refusal::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::Internal { status, .. } | Refusal::Other { status, .. } => *status,
        }
    }

    /// The response: [`status`](Refusal::status), a JSON body
    /// `{"error": {code, message, hint}}`, and the headers this refusal
    /// calls for.
    pub fn response(&self) -> Response {
        let body = serde_json::json!({"error": {
            "code": self.code(),
            "message": self.to_string(),
            "hint": self.hint(),
        }});
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        let extra = match self {
            Refusal::TokenMissing => Some((header::WWW_AUTHENTICATE, CHALLENGE)),
            Refusal::TokenInvalid => Some((header::WWW_AUTHENTICATE, CHALLENGE_INVALID)),
            Refusal::TooManySessions { .. } => Some((header::RETRY_AFTER, "5")),
            // The rest of a slow body is not read: the connection must go.
            Refusal::BodyTimeout(_) => Some((header::CONNECTION, "close")),
            _ => None,
        };
        if let Some((name, value)) = extra {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

impl ErrorCodes for Refusal {
    const VARIANTS: usize = 21;

    fn examples() -> Vec<Refusal> {
        vec![
            Refusal::HostNotAllowed,
            Refusal::OriginNotAllowed,
            Refusal::TokenMissing,
            Refusal::TokenInvalid,
            Refusal::ActorMismatch {
                actor: "agent-bot".into(),
                header: "ontoref-actor",
            },
            Refusal::SessionActorMismatch,
            Refusal::SessionNotFound { id: "s1".into() },
            Refusal::SessionIdMissing { route: Route::Mcp },
            Refusal::TooManySessions {
                open: 2,
                max: 2,
                idle_timeout: Duration::from_secs(300),
            },
            Refusal::BodyTimeout(BodyTimeout(Duration::from_secs(30))),
            Refusal::BodyTooLarge { limit: 1024 },
            Refusal::BodyUnreadable {
                reason: "connection reset".into(),
            },
            Refusal::Framing(FramingError::NotJson("the body is empty".into())),
            Refusal::PathNotFound {
                path: "/nope".into(),
            },
            Refusal::MethodNotAllowed {
                path: "/sse".into(),
                method: "PUT".into(),
            },
            Refusal::BadRequest {
                message: "bad protocol version".into(),
            },
            Refusal::Forbidden {
                message: "forbidden host".into(),
            },
            Refusal::NotAcceptable {
                message: "not acceptable".into(),
            },
            Refusal::UnsupportedMediaType {
                message: "unsupported media type".into(),
            },
            Refusal::Internal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "the response could not be read".into(),
            },
            Refusal::Other {
                status: StatusCode::IM_A_TEAPOT,
                message: "teapot".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = Refusal::VARIANTS;
        match self {
            Refusal::HostNotAllowed => variant::<0, N>(),
            Refusal::OriginNotAllowed => variant::<1, N>(),
            Refusal::TokenMissing => variant::<2, N>(),
            Refusal::TokenInvalid => variant::<3, N>(),
            Refusal::ActorMismatch { .. } => variant::<4, N>(),
            Refusal::SessionActorMismatch => variant::<5, N>(),
            Refusal::SessionNotFound { .. } => variant::<6, N>(),
            Refusal::SessionIdMissing { .. } => variant::<7, N>(),
            Refusal::TooManySessions { .. } => variant::<8, N>(),
            Refusal::BodyTimeout(_) => variant::<9, N>(),
            Refusal::BodyTooLarge { .. } => variant::<10, N>(),
            Refusal::BodyUnreadable { .. } => variant::<11, N>(),
            Refusal::Framing(_) => variant::<12, N>(),
            Refusal::PathNotFound { .. } => variant::<13, N>(),
            Refusal::MethodNotAllowed { .. } => variant::<14, N>(),
            Refusal::BadRequest { .. } => variant::<15, N>(),
            Refusal::Forbidden { .. } => variant::<16, N>(),
            Refusal::NotAcceptable { .. } => variant::<17, N>(),
            Refusal::UnsupportedMediaType { .. } => variant::<18, N>(),
            Refusal::Internal { .. } => variant::<19, N>(),
            Refusal::Other { .. } => variant::<20, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, Refusal::Framing(_))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.response()
    }
}
