//! Transports: how the MCP server reaches its clients (stdio, HTTP with
//! Streamable HTTP and legacy SSE), and who may use them over HTTP.
//!
//! `framing` holds the pure checks every message from a client passes
//! (the fuzzing surface); `channel` the channel-pair session that stdio and
//! SSE share; `reveal` the release of escrowed secrets by every writer;
//! `conn` the HTTP connections and their timeouts; `endpoint` what both
//! HTTP endpoints do alike; `sessions` the session limits and admission
//! both HTTP transports share; `refusal` every HTTP refusal, one enum with its
//! codes, statuses and JSON response; `mcp` the gate in front of rmcp's
//! Streamable HTTP service.

pub mod channel;
pub mod conn;
pub mod endpoint;
pub mod framing;
pub mod guard;
pub mod http;
pub mod mcp;
pub mod refusal;
pub mod reveal;
pub mod sessions;
pub mod sse;
pub mod stdio;

/// Resolves on SIGINT or SIGTERM, naming which.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}
