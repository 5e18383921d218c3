//! Streamable HTTP at `/mcp`: rmcp's `StreamableHttpService` behind a gate
//! of our own, and the session manager that remembers who opened each
//! session.
//!
//! [`BoundSessions`] wraps rmcp's `LocalSessionManager`: when a session is
//! initialized it records the actor of the request (the token's
//! [`RequestActor`], or none without tokens) and a set of the session's
//! request ids in flight; both are forgotten when the session is closed
//! (DELETE, idle timeout, shutdown: rmcp closes every ending session
//! through the manager).
//!
//! [`gate`] runs before rmcp on every `/mcp` request:
//!
//! - a request naming a session that another actor opened is refused, 403
//!   `session-actor-mismatch` (POST, GET and DELETE alike);
//! - a POST body is read here (413 `body-too-large`, 408 `body-timeout`)
//!   and checked with [`framing::classify_line`]: a body that is not JSON is
//!   400 `parse-error`, one that is not a JSON-RPC message 400
//!   `invalid-message` (or `request-id-too-long`), a request with malformed
//!   params or an id already in flight in its session is answered here with
//!   its JSON-RPC error (-32602, -32600), since rmcp would answer the first
//!   with -32601 and lose one of the two answers of the second; unknown
//!   methods go on to rmcp, which answers -32601 with the status each
//!   protocol revision asks for;
//! - every error response rmcp gives as plain text becomes the JSON shape
//!   `{"error": {code, message, hint}}` with the same status (404 for a dead
//!   session is [`Refusal::SessionNotFound`], as on SSE);
//! - with an escrow, response bodies are passed through
//!   [`reveal::SseReleaser`] so revealed secrets replace their placeholders
//!   only as the bytes go out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use ontoref_tools::Engine;
use ontoref_tools::actor::RequestActor;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, RequestId, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::{RestoreOutcome, SessionId, SessionManager};

use super::channel::InFlight;
use super::conn::GuardedBody;
use super::endpoint::{MAX_BODY_BYTES, read_body};
use super::framing::{self, Checked, FramingError};
use super::guard;
use super::refusal::{Refusal, Route};
use super::reveal::{self, SseReleaser};

/// What ontoref knows about one Streamable HTTP session.
#[derive(Debug, Default)]
struct Binding {
    /// The actor whose token opened it; only it may use it.
    actor: Option<String>,
    /// Its requests not answered yet.
    in_flight: InFlight,
}

/// rmcp's local session manager, plus who opened each session and the ids
/// of its requests in flight.
#[derive(Debug)]
pub struct BoundSessions {
    inner: LocalSessionManager,
    bindings: Mutex<HashMap<SessionId, Arc<Binding>>>,
}

impl BoundSessions {
    /// Wraps `inner`.
    pub fn new(inner: LocalSessionManager) -> BoundSessions {
        BoundSessions {
            inner,
            bindings: Mutex::new(HashMap::new()),
        }
    }

    /// Open sessions.
    pub async fn open(&self) -> usize {
        self.inner.sessions.read().await.len()
    }

    /// Sessions with a recorded actor (tests and logs).
    pub fn bound(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<Binding>>> {
        // Single inserts and removes cannot leave the map inconsistent.
        self.bindings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn binding(&self, id: &str) -> Option<Arc<Binding>> {
        self.lock().get(id).cloned()
    }
}

/// The actor a request was authenticated as (none without tokens).
fn actor_of_message(message: &ClientJsonRpcMessage) -> Option<String> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return None;
    };
    guard::caller(request.request.extensions()).flatten()
}

// Calls through the trait, so the streams carry the trait's bounds.
async fn stream_of<M: SessionManager>(
    manager: &M,
    id: &SessionId,
    message: ClientJsonRpcMessage,
) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, M::Error> {
    manager.create_stream(id, message).await
}

async fn standalone_of<M: SessionManager>(
    manager: &M,
    id: &SessionId,
) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, M::Error> {
    manager.create_standalone_stream(id).await
}

async fn resume_of<M: SessionManager>(
    manager: &M,
    id: &SessionId,
    last_event_id: String,
) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, M::Error> {
    manager.resume(id, last_event_id).await
}

impl SessionManager for BoundSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.inner.create_session().await
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let binding = Binding {
            actor: actor_of_message(&message),
            in_flight: InFlight::default(),
        };
        self.lock().insert(id.clone(), Arc::new(binding));
        let result = self.inner.initialize_session(id, message).await;
        if result.is_err() {
            self.lock().remove(id);
        }
        result
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.lock().remove(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        stream_of(&self.inner, id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        standalone_of(&self.inner, id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        resume_of(&self.inner, id, last_event_id).await
    }

    async fn restore_session(
        &self,
        _id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        // No external session store: a session unknown here is gone (404).
        Ok(RestoreOutcome::NotSupported)
    }
}

/// What the gate needs.
#[derive(Debug, Clone)]
pub struct McpGate {
    /// The sessions of `/mcp`.
    pub sessions: Arc<BoundSessions>,
    /// The engine served (for its escrow).
    pub engine: Arc<Engine>,
}

/// Whether a request's `Content-Type` is JSON (else rmcp answers 415).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON-RPC answer given here instead of by rmcp (200, JSON body).
fn json_rpc_answer(message: &ServerJsonRpcMessage) -> Response {
    let body = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The `/mcp` gate (see the module documentation).
pub async fn gate(State(gate): State<McpGate>, req: Request, next: Next) -> Response {
    let session = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let binding = session.as_deref().and_then(|id| gate.sessions.binding(id));
    if let Some(binding) = &binding {
        let actor = req.extensions().get::<RequestActor>().map(|a| a.0.clone());
        if actor != binding.actor {
            tracing::warn!("refused: a request for another actor's MCP session");
            return Refusal::SessionActorMismatch.response();
        }
    }
    let mut answered: Option<(Arc<Binding>, RequestId)> = None;
    let req = if req.method() == Method::POST && is_json(req.headers()) {
        let (parts, body) = req.into_parts();
        let bytes = match read_body(body, MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(refused) => return refused.response(),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Refusal::Framing(FramingError::NotJson("the body is empty".to_owned()))
                .response();
        }
        let checked = match &binding {
            Some(binding) => binding.in_flight.check(&bytes),
            None => framing::check_line(&bytes, &Default::default()),
        };
        match checked {
            Checked::Request(id) => {
                if let Some(binding) = &binding {
                    answered = Some((binding.clone(), id));
                }
            }
            Checked::Notification(_) | Checked::Response => {}
            // rmcp answers unknown methods, with each revision's status.
            Checked::Reject(rejection)
                if matches!(rejection.error, FramingError::UnknownMethod { .. }) => {}
            Checked::Reject(rejection) if rejection.id.is_some() => {
                return json_rpc_answer(&rejection.to_message());
            }
            Checked::Reject(rejection) => return Refusal::Framing(rejection.error).response(),
            Checked::Ignore(why) => {
                tracing::debug!(why, "a POST to /mcp was ignored");
                return StatusCode::ACCEPTED.into_response();
            }
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let method = req.method().to_string();
    let response = next.run(req).await;
    let response = json_errors(response, session.as_deref(), &method).await;
    let response = release_secrets(response, &gate.engine).await;
    match answered {
        Some((binding, id)) => finish_when_sent(response, binding, id),
        None => response,
    }
}

/// Keeps `id` in flight in its session until the response body is done.
fn finish_when_sent(response: Response, binding: Arc<Binding>, id: RequestId) -> Response {
    struct Finish(Arc<Binding>, RequestId);
    impl Drop for Finish {
        fn drop(&mut self) {
            self.0.in_flight.finish(&self.1);
        }
    }
    let finish = Finish(binding, id);
    response.map(|body| Body::new(GuardedBody::new(body, finish)))
}

/// The refusal of a plain-text error status rmcp answered on `/mcp` to a
/// `method` request (a 404 there is a session that is gone).
fn rmcp_refusal(status: StatusCode, text: &str, session: Option<&str>, method: &str) -> Refusal {
    let text = text.trim();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("HTTP error").to_owned()
    } else {
        text.to_owned()
    };
    match status {
        StatusCode::NOT_FOUND => Refusal::SessionNotFound {
            id: session.unwrap_or("").to_owned(),
        },
        StatusCode::BAD_REQUEST if text.contains("Session ID is required") => {
            Refusal::SessionIdMissing { route: Route::Mcp }
        }
        StatusCode::BAD_REQUEST => Refusal::BadRequest { message },
        StatusCode::FORBIDDEN => Refusal::Forbidden { message },
        StatusCode::METHOD_NOT_ALLOWED => Refusal::MethodNotAllowed {
            path: "/mcp".to_owned(),
            method: method.to_owned(),
        },
        StatusCode::NOT_ACCEPTABLE => Refusal::NotAcceptable { message },
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Refusal::UnsupportedMediaType { message },
        s if s.is_server_error() => Refusal::Internal { status, message },
        _ => Refusal::Other { status, message },
    }
}

/// Rewrites an error response whose body is not JSON into the JSON shape,
/// keeping its status and headers such as `Allow`.
async fn json_errors(response: Response, session: Option<&str>, method: &str) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let mut rewritten = rmcp_refusal(status, &text, session, method).response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// With an escrow, passes a response body through the releaser: event by
/// event for an event stream, whole for a JSON body.
async fn release_secrets(response: Response, engine: &Arc<Engine>) -> Response {
    if engine.escrow().get().is_none() || response.status() != StatusCode::OK {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (mut parts, body) = response.into_parts();
    if content_type.starts_with("application/json") {
        parts.headers.remove(header::CONTENT_LENGTH);
        let bytes = match axum::body::to_bytes(body, 4 * MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "cannot read a JSON response body");
                return Refusal::Internal {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "the response could not be read".to_owned(),
                }
                .response();
            }
        };
        let out = reveal::release_json(bytes.to_vec(), engine.escrow().get());
        return Response::from_parts(parts, Body::from(out));
    }
    if !content_type.starts_with("text/event-stream") {
        return Response::from_parts(parts, body);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    let state = (
        body.into_data_stream(),
        SseReleaser::default(),
        engine.clone(),
        false,
    );
    let stream = futures_util::stream::unfold(
        state,
        |(mut chunks, mut releaser, engine, done)| async move {
            if done {
                return None;
            }
            // Checked above, and an escrow is never unset.
            let escrow = engine.escrow().get()?;
            loop {
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        let out = releaser.push(chunk, escrow);
                        if !out.is_empty() {
                            return Some((
                                Ok::<Bytes, axum::Error>(out),
                                (chunks, releaser, engine, false),
                            ));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (chunks, releaser, engine, true))),
                    None => {
                        let rest = releaser.finish(escrow);
                        if rest.is_empty() {
                            return None;
                        }
                        return Some((Ok(rest), (chunks, releaser, engine, true)));
                    }
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}
