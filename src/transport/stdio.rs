//! MCP over stdio: JSON-RPC lines on stdin/stdout, nothing else on stdout
//! (logs go to stderr). Serves until the client closes stdin or the
//! process is told to stop (SIGINT/SIGTERM, see [`super::shutdown_signal`]).

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
