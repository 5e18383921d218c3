//! MCP over stdio: JSON-RPC lines on stdin/stdout, nothing else on stdout
//! (logs go to stderr). Serves until the client closes stdin or the
//! process is told to stop (SIGINT/SIGTERM, see [`shutdown_signal`]).

use ontoref_tools::OntorefServer;
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

/// Serves `server` on this process's stdin and stdout until the client
/// closes stdin or `stop` is cancelled.
pub async fn serve(server: OntorefServer, stop: CancellationToken) -> Result<(), String> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("stdio transport failed to start: {e}"))?;
    let token = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    tokio::select! {
        r = &mut waiting => r.map(|_| ()).map_err(|e| format!("stdio transport stopped: {e}")),
        () = stop.cancelled() => {
            token.cancel();
            waiting.await.map(|_| ()).map_err(|e| format!("stdio transport stopped: {e}"))
        }
    }
}

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
