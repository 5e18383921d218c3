//! MCP over stdio: JSON-RPC lines on stdin/stdout, nothing else on stdout
//! (logs go to stderr). Serves until the client closes stdin or the process
//! gets SIGINT/SIGTERM; then the credential directories the server issued
//! are removed before it exits.

use ontoref_tools::OntorefServer;
use rmcp::ServiceExt;

/// Serves `server` on this process's stdin and stdout.
pub async fn serve(server: OntorefServer) -> Result<(), String> {
    let engine = server.engine().clone();
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("stdio transport failed to start: {e}"))?;
    let token = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    let result = tokio::select! {
        r = &mut waiting => r.map(|_| ()).map_err(|e| format!("stdio transport stopped: {e}")),
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            token.cancel();
            waiting.await.map(|_| ()).map_err(|e| format!("stdio transport stopped: {e}"))
        }
    };
    engine.shutdown();
    result
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
