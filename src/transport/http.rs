//! MCP over HTTP on one port: Streamable HTTP at `/mcp` (rmcp's
//! `StreamableHttpService`: 2025-11-25 sessions with `Mcp-Session-Id`, and
//! the stateless 2026-07-28 revision) and `GET /healthz`. `Host` and
//! `Origin` are checked against allow-lists (403 otherwise); both are set
//! explicitly, since rmcp leaves Origin unchecked by default. Stops on
//! SIGINT/SIGTERM: calls in flight finish, streams close, and the credential
//! directories the engine issued are removed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use ontoref_tools::OntorefServer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the HTTP listener is set up.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// `Host` values accepted (host or host:port).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted (scheme://host[:port|:*]).
    pub allowed_origins: Vec<String>,
}

impl HttpOptions {
    /// The localhost forms, with and without the port.
    pub fn default_hosts(addr: &SocketAddr) -> Vec<String> {
        let port = addr.port();
        ["localhost", "127.0.0.1", "[::1]", "::1"]
            .iter()
            .flat_map(|h| [h.to_string(), format!("{h}:{port}")])
            .collect()
    }

    /// `http://localhost:*`, `http://127.0.0.1:*` and `http://[::1]:*`.
    pub fn default_origins() -> Vec<String> {
        ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// Serves `server` over HTTP until `stop` is cancelled.
pub async fn serve(
    server: OntorefServer,
    options: HttpOptions,
    stop: CancellationToken,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts.clone())
        .with_allowed_origins(options.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(stop.child_token());
    let factory_server = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(factory_server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .route("/healthz", get(|| async { "ok\n" }));
    // Tests and scripts read the bound port from here (`--http 127.0.0.1:0`).
    eprintln!("ontoref: serving MCP over HTTP at http://{local}/mcp");
    tracing::info!(addr = %local, tools = server.tools().len(), "serving MCP over HTTP");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .map_err(|e| format!("HTTP server failed: {e}"))
}
