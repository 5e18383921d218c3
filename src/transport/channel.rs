//! A session whose bytes we frame ourselves (stdio, legacy SSE): the rmcp
//! service runs over a [`ChannelTransport`], a pair of channels, fed by an
//! [`Inlet`] that applies [`framing::classify_line`] to each line or POST
//! body, and drained by the transport's writer (stdout, the SSE stream).
//!
//! The ids of the client's requests in flight are tracked here
//! ([`InFlight`]): an id enters when its request is handed to the service
//! and leaves when the service sends the response or error with that id
//! (or the client cancels it), so a second request with the same id is
//! refused instead of silently losing one of the two answers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ClientNotification, RequestId, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::mpsc;

use super::framing::{self, Checked, Classified};

/// Messages buffered in each direction before senders wait.
pub const CHANNEL_CAPACITY: usize = 32;

/// The ids of a client's requests that the service has not answered yet.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<RequestId>>>);

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<RequestId>> {
        // Single inserts and removes cannot leave the set inconsistent.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Classifies `line` against the ids in flight and, when it is a request
    /// to forward, records its id, in one step (two concurrent duplicates
    /// cannot both pass). A client's cancellation frees the id it names.
    pub fn admit(&self, line: &[u8]) -> Classified {
        let mut ids = self.lock();
        let classified = framing::classify_line(line, &ids);
        match &classified {
            Classified::Message(ClientJsonRpcMessage::Request(request)) => {
                ids.insert(request.id.clone());
            }
            Classified::Message(ClientJsonRpcMessage::Notification(n)) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(id) = &c.params.request_id
                {
                    ids.remove(id);
                }
            }
            _ => {}
        }
        classified
    }

    /// Like [`InFlight::admit`], without building the typed message (see
    /// [`framing::check_line`]).
    pub fn check(&self, line: &[u8]) -> Checked {
        let mut ids = self.lock();
        let checked = framing::check_line(line, &ids);
        match &checked {
            Checked::Request(id) => {
                ids.insert(id.clone());
            }
            Checked::Notification(Some(cancelled)) => {
                ids.remove(cancelled);
            }
            _ => {}
        }
        checked
    }

    /// The request `id` was answered (or will never be).
    pub fn finish(&self, id: &RequestId) {
        self.lock().remove(id);
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The service is gone: nothing more can be forwarded.
#[derive(Debug, thiserror::Error)]
#[error("the MCP session has ended")]
pub struct SessionEnded;

/// Where lines enter a session.
#[derive(Debug, Clone)]
pub struct Inlet {
    inbound: mpsc::Sender<ClientJsonRpcMessage>,
    in_flight: InFlight,
}

impl Inlet {
    /// See [`InFlight::admit`].
    pub fn admit(&self, line: &[u8]) -> Classified {
        self.in_flight.admit(line)
    }

    /// Hands an admitted message to the service.
    pub async fn forward(&self, message: ClientJsonRpcMessage) -> Result<(), SessionEnded> {
        let id = match &message {
            ClientJsonRpcMessage::Request(r) => Some(r.id.clone()),
            _ => None,
        };
        if self.inbound.send(message).await.is_err() {
            if let Some(id) = id {
                self.in_flight.finish(&id);
            }
            return Err(SessionEnded);
        }
        Ok(())
    }
}

/// The rmcp transport of one session: messages in from the [`Inlet`], out
/// to the writer.
#[derive(Debug)]
pub struct ChannelTransport {
    inbound: mpsc::Receiver<ClientJsonRpcMessage>,
    outbound: mpsc::Sender<ServerJsonRpcMessage>,
    in_flight: InFlight,
}

/// The session's writer is gone.
#[derive(Debug, thiserror::Error)]
#[error("the client's side of this session is closed")]
pub struct WriterClosed;

impl Transport<RoleServer> for ChannelTransport {
    type Error = WriterClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), WriterClosed>> + Send + 'static {
        let answered = match &item {
            ServerJsonRpcMessage::Response(r) => Some(r.id.clone()),
            ServerJsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        if let Some(id) = answered {
            self.in_flight.finish(&id);
        }
        let outbound = self.outbound.clone();
        async move { outbound.send(item).await.map_err(|_| WriterClosed) }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        self.inbound.recv()
    }

    async fn close(&mut self) -> Result<(), WriterClosed> {
        self.inbound.close();
        Ok(())
    }
}

/// The parts of one session.
#[derive(Debug)]
pub struct Pair {
    /// Feeds the service.
    pub inlet: Inlet,
    /// Give to the rmcp service.
    pub transport: ChannelTransport,
    /// What the writer writes: the service's messages and the rejections
    /// sent through [`Pair::replies`], in order.
    pub outbound: mpsc::Receiver<ServerJsonRpcMessage>,
    /// Where rejections go (straight to the writer, not via the service).
    pub replies: mpsc::Sender<ServerJsonRpcMessage>,
}

/// A new session's channels.
pub fn pair() -> Pair {
    let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let in_flight = InFlight::default();
    Pair {
        inlet: Inlet {
            inbound: in_tx,
            in_flight: in_flight.clone(),
        },
        transport: ChannelTransport {
            inbound: in_rx,
            outbound: out_tx.clone(),
            in_flight,
        },
        outbound: out_rx,
        replies: out_tx,
    }
}
