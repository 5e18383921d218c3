//! The legacy HTTP+SSE transport (MCP 2024-11-05), which many IDE
//! assistants still speak: `GET /sse` opens an event stream whose first
//! event is `endpoint` with `/message?sessionId=<id>`; `POST /message?sessionId=<id>`
//! takes one JSON-RPC message and answers 202, and the reply goes out on
//! that session's stream as a `message` event.
//!
//! rmcp removed this transport in 0.11, so it is built here, on axum: each
//! session is an independent rmcp service over a [`super::channel`] pair
//! (inbound messages from POSTs, outbound messages to the stream). Each
//! POST body passes [`super::framing`]'s checks: a request rejected with an
//! id (malformed params, unknown method, duplicate id in flight) is answered
//! 202 and its JSON-RPC error goes out on the stream, where the client waits
//! for the answer; a body that cannot be answered in JSON-RPC (not JSON, no
//! usable id) is refused 400. Each POST's `http::request::Parts` go into
//! the message's extensions, as rmcp's Streamable HTTP does, so the server
//! sees the request's actor; only the actor whose token opened a session
//! may post to it (403). Messages are written with the engine's escrowed
//! secrets released ([`super::reveal`]).
//!
//! Sessions end when the client closes the stream, after the idle timeout
//! (no POST), or on shutdown; the stream carries keep-alive comments.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use ontoref_tools::OntorefServer;
use ontoref_tools::actor::RequestActor;
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::channel::{self, Inlet};
use super::endpoint::{MAX_BODY_BYTES, read_body};
use super::framing::{Classified, FramingError};
use super::refusal::{Refusal, Route};
use super::reveal;
use super::sessions::{SessionCount, Sessions};

/// What the SSE routes share: the hub of open sessions and the admission
/// of new ones, counted with Streamable HTTP's.
#[derive(Debug, Clone)]
pub struct SseState {
    /// The open SSE sessions.
    pub hub: Arc<SseHub>,
    /// Admission against `--max-sessions`.
    pub sessions: Sessions,
}

/// The open SSE sessions.
#[derive(Debug)]
pub struct SseHub {
    server: OntorefServer,
    sessions: Mutex<HashMap<String, Arc<SseSession>>>,
    stop: CancellationToken,
}

#[derive(Debug)]
struct SseSession {
    inlet: Inlet,
    /// Rejections, straight to the stream.
    replies: mpsc::Sender<ServerJsonRpcMessage>,
    /// The actor whose token opened the session; only it may post to it.
    actor: Option<String>,
    last_seen: Mutex<Instant>,
    cancel: CancellationToken,
}

impl SseHub {
    /// A hub serving `server` that closes sessions idle for `idle_timeout`
    /// and ends every session when `stop` fires.
    pub fn new(
        server: OntorefServer,
        idle_timeout: Duration,
        stop: CancellationToken,
    ) -> Arc<SseHub> {
        let hub = Arc::new(SseHub {
            server,
            sessions: Mutex::new(HashMap::new()),
            stop,
        });
        tokio::spawn(reap_idle(Arc::downgrade(&hub), idle_timeout));
        hub
    }

    /// Open sessions.
    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, id: &str) -> Option<Arc<SseSession>> {
        lock(&self.sessions).get(id).cloned()
    }

    fn remove(&self, id: &str) {
        if let Some(session) = lock(&self.sessions).remove(id) {
            session.cancel.cancel();
            tracing::info!(session = id, "SSE session closed");
        }
    }
}

impl SessionCount for SseHub {
    fn open(&self) -> usize {
        self.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the map inconsistent
    // (single inserts and removes), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Closes sessions that saw no POST for the idle timeout.
async fn reap_idle(hub: std::sync::Weak<SseHub>, idle_timeout: Duration) {
    let period = (idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.stop.is_cancelled() {
            return;
        }
        let idle: Vec<String> = lock(&hub.sessions)
            .iter()
            .filter(|(_, s)| lock(&s.last_seen).elapsed() >= idle_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            tracing::info!(session = %id, "SSE session idle too long");
            hub.remove(&id);
        }
    }
}

/// Removes its session when the event stream is dropped (client gone).
struct StreamGuard {
    hub: Arc<SseHub>,
    id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.hub.remove(&self.id);
    }
}

/// `GET /sse`: opens a session and its event stream.
pub async fn open(State(SseState { hub, sessions }): State<SseState>, req: Request) -> Response {
    // Held until the session is registered, so concurrent opens cannot
    // overshoot the limit.
    let _admitted = match sessions.admit().await {
        Ok(admitted) => admitted,
        Err(full) => return full.response(),
    };
    let actor = req.extensions().get::<RequestActor>().map(|a| a.0.clone());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let pair = channel::pair();
    let cancel = hub.stop.child_token();
    let session = Arc::new(SseSession {
        inlet: pair.inlet,
        replies: pair.replies,
        actor,
        last_seen: Mutex::new(Instant::now()),
        cancel: cancel.clone(),
    });
    lock(&hub.sessions).insert(id.clone(), session);
    tracing::info!(session = %id, "SSE session opened");

    let server = hub.server.session();
    let service_cancel = cancel.clone();
    let service_id = id.clone();
    let transport = pair.transport;
    tokio::spawn(async move {
        match server.serve_with_ct(transport, service_cancel).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => {
                tracing::debug!(session = %service_id, error = %e, "SSE session ended before initialize")
            }
        }
    });

    let guard = StreamGuard {
        hub: hub.clone(),
        id: id.clone(),
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/message?sessionId={id}"));
    let engine = hub.server.engine().clone();
    let messages = tokio_stream::wrappers::ReceiverStream::new(pair.outbound).map(move |message| {
        let _keep = &guard;
        let data = reveal::message_bytes(&message, engine.escrow().get());
        // JSON text is UTF-8; the lossy conversion never replaces anything.
        Event::default()
            .event("message")
            .data(String::from_utf8_lossy(&data))
    });
    let stream = futures_util::stream::once(async move { endpoint })
        .chain(messages)
        .take_until(cancel.cancelled_owned())
        .map(Ok::<Event, std::convert::Infallible>);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(sessions.limits().keep_alive))
        .into_response()
}

/// `POST /message?sessionId=<id>`: hands one message to its session.
pub async fn post(State(SseState { hub, .. }): State<SseState>, req: Request) -> Response {
    let Some(id) = req.uri().query().and_then(session_id) else {
        return Refusal::SessionIdMissing {
            route: Route::Legacy,
        }
        .response();
    };
    let Some(session) = hub.get(&id) else {
        return Refusal::SessionNotFound { id }.response();
    };
    let actor = req.extensions().get::<RequestActor>().map(|a| a.0.clone());
    if actor != session.actor {
        tracing::warn!("refused: a POST into another actor's SSE session");
        return Refusal::SessionActorMismatch.response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match read_body(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused.response(),
    };
    *lock(&session.last_seen) = Instant::now();
    let mut message = match session.inlet.admit(&bytes) {
        Classified::Message(message) => message,
        Classified::Reject(rejection) if rejection.id.is_some() => {
            // The client waits for this id's answer on the stream.
            if session.replies.send(rejection.to_message()).await.is_err() {
                hub.remove(&id);
                return Refusal::SessionNotFound { id }.response();
            }
            return accepted();
        }
        Classified::Reject(rejection) => return Refusal::Framing(rejection.error).response(),
        Classified::Ignore(why) => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Refusal::Framing(FramingError::NotJson("the body is empty".to_owned()))
                    .response();
            }
            tracing::debug!(why, "a POST to /message was ignored");
            return accepted();
        }
    };
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    if session.inlet.forward(message).await.is_err() {
        hub.remove(&id);
        return Refusal::SessionNotFound { id }.response();
    }
    accepted()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Body::from("Accepted")).into_response()
}

fn session_id(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "sessionId")
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}
