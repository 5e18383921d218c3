//! The legacy HTTP+SSE transport (MCP 2024-11-05), which many IDE
//! assistants still speak: `GET /sse` opens an event stream whose first
//! event is `endpoint` with `/message?sessionId=<id>`; `POST /message?sessionId=<id>`
//! takes one JSON-RPC message and answers 202, and the reply goes out on
//! that session's stream as a `message` event.
//!
//! rmcp removed this transport in 0.11, so it is built here, on axum: each
//! session is an independent rmcp service whose [`Transport`] is a pair of
//! channels (inbound messages from POSTs, outbound messages to the stream).
//! Each POST's `http::request::Parts` go into the message's extensions, as
//! rmcp's Streamable HTTP does, so the server sees the request's actor.
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
use ontoref_tools::vault::RequestActor;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::guard::refusal;
use super::http::{MAX_BODY_BYTES, Sessions};

/// Messages a session buffers in each direction before senders wait.
const CHANNEL_CAPACITY: usize = 32;

/// The open SSE sessions.
#[derive(Debug)]
pub struct SseHub {
    server: OntorefServer,
    sessions: Mutex<HashMap<String, Arc<SseSession>>>,
    stop: CancellationToken,
}

#[derive(Debug)]
struct SseSession {
    inbound: mpsc::Sender<ClientJsonRpcMessage>,
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

/// The rmcp transport of one session: messages in from POSTs, out to the
/// event stream.
struct ChannelTransport {
    inbound: mpsc::Receiver<ClientJsonRpcMessage>,
    outbound: mpsc::Sender<ServerJsonRpcMessage>,
}

/// The session's event stream is gone.
#[derive(Debug, thiserror::Error)]
#[error("the SSE stream of this session is closed")]
pub struct StreamClosed;

impl Transport<RoleServer> for ChannelTransport {
    type Error = StreamClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), StreamClosed>> + Send + 'static {
        let outbound = self.outbound.clone();
        async move { outbound.send(item).await.map_err(|_| StreamClosed) }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        self.inbound.recv()
    }

    async fn close(&mut self) -> Result<(), StreamClosed> {
        self.inbound.close();
        Ok(())
    }
}

/// `GET /sse`: opens a session and its event stream.
pub async fn open(State(sessions): State<Sessions>, req: Request) -> Response {
    // Held until the session is registered, so concurrent opens cannot
    // overshoot the limit.
    let _admitted = match sessions.admit().await {
        Ok(admitted) => admitted,
        Err(full) => return full,
    };
    let hub = sessions.sse.clone();
    let actor = req.extensions().get::<RequestActor>().map(|a| a.0.clone());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let cancel = hub.stop.child_token();
    let session = Arc::new(SseSession {
        inbound: in_tx,
        actor,
        last_seen: Mutex::new(Instant::now()),
        cancel: cancel.clone(),
    });
    lock(&hub.sessions).insert(id.clone(), session);
    tracing::info!(session = %id, "SSE session opened");

    let server = hub.server.clone();
    let service_cancel = cancel.clone();
    let service_id = id.clone();
    tokio::spawn(async move {
        let transport = ChannelTransport {
            inbound: in_rx,
            outbound: out_tx,
        };
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
    let messages = tokio_stream::wrappers::ReceiverStream::new(out_rx).map(move |message| {
        let _keep = &guard;
        let data = serde_json::to_string(&message).unwrap_or_else(|e| {
            // Every server message is serialisable; report rather than panic.
            tracing::error!(error = %e, "cannot serialise an MCP message");
            String::from("{}")
        });
        Event::default().event("message").data(data)
    });
    let stream = futures_util::stream::once(async move { endpoint })
        .chain(messages)
        .take_until(cancel.cancelled_owned())
        .map(Ok::<Event, std::convert::Infallible>);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(sessions.limits.keep_alive))
        .into_response()
}

/// `POST /message?sessionId=<id>`: hands one message to its session.
pub async fn post(State(sessions): State<Sessions>, req: Request) -> Response {
    let hub = &sessions.sse;
    let Some(id) = req.uri().query().and_then(session_id) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "session-id-missing",
            "POST /message needs ?sessionId=<id>",
            "use the endpoint URL the /sse stream sent in its first event",
        );
    };
    let Some(session) = hub.get(&id) else {
        return session_not_found(&id);
    };
    let actor = req.extensions().get::<RequestActor>().map(|a| a.0.clone());
    if actor != session.actor {
        return refusal(
            StatusCode::FORBIDDEN,
            "session-actor-mismatch",
            "this session was opened with another actor's token",
            "post with the token that opened the session, or open your own with GET /sse",
        );
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                &format!("the message is larger than {MAX_BODY_BYTES} bytes"),
                "send smaller requests",
            );
        }
    };
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&bytes) {
        Ok(message) => message,
        Err(e) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "invalid-message",
                &format!("the body is not one JSON-RPC message an MCP client may send: {e}"),
                "POST a single JSON-RPC request, notification or response object",
            );
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
    *lock(&session.last_seen) = Instant::now();
    if session.inbound.send(message).await.is_err() {
        hub.remove(&id);
        return session_not_found(&id);
    }
    (StatusCode::ACCEPTED, Body::from("Accepted")).into_response()
}

/// 404 for a session that never was or has ended.
fn session_not_found(id: &str) -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "session-not-found",
        &format!("no open SSE session `{id}`"),
        "the session ended (stream closed, idle timeout or restart); open a new one with GET /sse",
    )
}

fn session_id(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "sessionId")
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}
