//! MCP over stdio: JSON-RPC lines on stdin/stdout, nothing else on stdout
//! (logs go to stderr). Serves until the client closes stdin or the
//! process is told to stop (SIGINT/SIGTERM, see [`super::shutdown_signal`]).
//!
//! The line framing is ours, not rmcp's: a reader splits stdin into lines
//! of at most [`MAX_LINE_BYTES`] (a longer line is discarded up to its
//! newline as it streams in, never buffered whole) and passes each through
//! [`super::framing`]'s checks via the session's [`super::channel`] inlet;
//! the rmcp service runs over the channel pair; one writer task writes the
//! service's messages and the rejections, one per line, releasing escrowed
//! secrets as it writes ([`super::reveal`]).

use std::sync::Arc;

use ontoref_tools::{Engine, OntorefServer};
use rmcp::ServiceExt;
use rmcp::model::ServerJsonRpcMessage;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::channel::{self, Inlet};
use super::framing::{Classified, FramingError, MAX_LINE_BYTES, Rejection};
use super::reveal;

/// Serves `server` on this process's stdin and stdout until the client
/// closes stdin or `stop` is cancelled.
pub async fn serve(server: OntorefServer, stop: CancellationToken) -> Result<(), String> {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    serve_on(server, stdin, stdout, stop).await
}

/// [`serve`] over any reader and writer.
pub async fn serve_on<R, W>(
    server: OntorefServer,
    input: R,
    output: W,
    stop: CancellationToken,
) -> Result<(), String>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let engine = server.engine().clone();
    let pair = channel::pair();
    let writer = tokio::spawn(write_lines(output, pair.outbound, engine));
    let reader = tokio::spawn(read_lines(input, pair.inlet, pair.replies));
    let service_stop = stop.child_token();
    let result = tokio::select! {
        started = server.serve_with_ct(pair.transport, service_stop.clone()) => match started {
            Ok(running) => running
                .waiting()
                .await
                .map(|_| ())
                .map_err(|e| format!("stdio transport stopped: {e}")),
            Err(e) => Err(format!("stdio transport failed to start: {e}")),
        },
        // Stopped before the client initialized: nothing to finish.
        () = stop.cancelled() => Ok(()),
    };
    // The reader may sit in a read of stdin that only the client can end:
    // drop it, which also drops its senders, so the writer ends once it has
    // written everything already queued.
    reader.abort();
    let _ = reader.await;
    let _ = writer.await;
    result
}

/// Splits `input` into lines and hands each to the session.
async fn read_lines<R: AsyncRead + Unpin>(
    input: R,
    inlet: Inlet,
    replies: mpsc::Sender<ServerJsonRpcMessage>,
) {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut line: Vec<u8> = Vec::new();
    // Inside a line longer than MAX_LINE_BYTES: skip to its newline.
    let mut discarding = false;
    loop {
        let (used, newline) = {
            let buf = match input.fill_buf().await {
                Ok(buf) => buf,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read stdin");
                    break;
                }
            };
            if buf.is_empty() {
                // End of input: a last line without a newline still counts.
                if discarding {
                    reply_too_long(&replies).await;
                } else if !line.is_empty() {
                    take(&line, &inlet, &replies).await;
                }
                break;
            }
            let (chunk, newline) = match memchr::memchr(b'\n', buf) {
                Some(at) => (&buf[..at], true),
                None => (buf, false),
            };
            if !discarding {
                if line.len() + chunk.len() > MAX_LINE_BYTES {
                    tracing::warn!(max = MAX_LINE_BYTES, "discarding an over-long stdin line");
                    discarding = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            (chunk.len() + usize::from(newline), newline)
        };
        input.consume(used);
        if newline {
            if discarding {
                discarding = false;
                reply_too_long(&replies).await;
            } else if !take(&line, &inlet, &replies).await {
                break;
            }
            line.clear();
            if line.capacity() > 1024 * 1024 {
                line = Vec::new();
            }
        }
    }
    tracing::debug!("stdin closed");
}

/// Handles one complete line; `false` once the session is gone.
async fn take(line: &[u8], inlet: &Inlet, replies: &mpsc::Sender<ServerJsonRpcMessage>) -> bool {
    match inlet.admit(line) {
        Classified::Message(message) => inlet.forward(message).await.is_ok(),
        Classified::Reject(rejection) => {
            tracing::debug!(code = rejection.error.code(), "a stdin line was refused");
            replies.send(rejection.to_message()).await.is_ok()
        }
        Classified::Ignore(why) => {
            tracing::debug!(why, "a stdin line was ignored");
            true
        }
    }
}

async fn reply_too_long(replies: &mpsc::Sender<ServerJsonRpcMessage>) {
    let rejection = Rejection {
        id: None,
        error: FramingError::TooLong {
            max: MAX_LINE_BYTES,
        },
    };
    let _ = replies.send(rejection.to_message()).await;
}

/// Writes each message as one line, secrets released, flushing when no
/// more are queued.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut output: W,
    mut outbound: mpsc::Receiver<ServerJsonRpcMessage>,
    engine: Arc<Engine>,
) {
    while let Some(message) = outbound.recv().await {
        let mut next = Some(message);
        while let Some(message) = next.take() {
            let mut bytes = reveal::message_bytes(&message, engine.escrow().get());
            bytes.push(b'\n');
            let written = output.write_all(&bytes).await;
            zeroize::Zeroize::zeroize(&mut bytes);
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot write to stdout");
                return;
            }
            next = outbound.try_recv().ok();
        }
        if let Err(e) = output.flush().await {
            tracing::warn!(error = %e, "cannot write to stdout");
            return;
        }
    }
}
