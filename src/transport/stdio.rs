//! MCP over stdio: JSON-RPC lines on stdin/stdout, nothing else on stdout
//! (logs go to stderr). Serves until the client closes stdin.

use ontoref_tools::OntorefServer;
use rmcp::ServiceExt;

/// Serves `server` on this process's stdin and stdout.
pub async fn serve(server: OntorefServer) -> Result<(), String> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("stdio transport failed to start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("stdio transport stopped: {e}"))?;
    Ok(())
}
