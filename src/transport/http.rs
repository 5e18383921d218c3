//! MCP over HTTP on one port: Streamable HTTP at `/mcp` (rmcp's
//! `StreamableHttpService`: 2025-11-25 sessions with `Mcp-Session-Id`, and
//! the stateless 2026-07-28 revision), the legacy HTTP+SSE transport at
//! `/sse` + `/message` ([`super::sse`]) and `GET /healthz`.
//!
//! Every MCP route is behind [`super::guard`]: `Host` and `Origin`
//! allow-lists (403) and, with a token file, bearer tokens (401). rmcp
//! checks Host and Origin again on `/mcp`; both lists are set explicitly,
//! since rmcp leaves Origin unchecked by default. `/mcp` is behind
//! [`super::mcp::gate`] too (session actors, message checks, JSON errors,
//! secret release). Limits: body size (413), body, header and idle-connection
//! timeouts ([`super::conn`]), open sessions across both transports (503,
//! [`super::sessions`], which owns [`Limits`] and admission),
//! idle sessions closed after a timeout, keep-alive comments on event
//! streams. Every refusal is JSON, `{"error": {code, message, hint}}`.
//! Stops on SIGINT/SIGTERM: calls in flight finish, streams close, and the
//! credential directories the engine issued are removed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use ontoref_tools::{CatalogTool, OntorefServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::conn;
use super::endpoint::MAX_BODY_BYTES;
use super::guard::{self, Guard, TokenTable};
use super::mcp::{self, BoundSessions, McpGate};
use super::refusal::Refusal;
pub use super::sessions::Limits;
use super::sessions::Sessions;
use super::sse::{self, SseHub, SseState};

/// How the HTTP listener is set up.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// `Host` values accepted (host or host:port).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted (scheme://host[:port|:*]).
    pub allowed_origins: Vec<String>,
    /// Bearer tokens, when required.
    pub tokens: Option<TokenTable>,
    /// Session limits.
    pub limits: Limits,
}

impl HttpOptions {
    /// The tools HTTP serves out of `selected`. Without tokens any local
    /// process can reach the port, so only read-only tools and never the
    /// vault; with tokens, all of them (each request is its token's actor).
    pub fn served(&self, selected: &[&'static CatalogTool]) -> Vec<&'static CatalogTool> {
        selected
            .iter()
            .copied()
            .filter(|t| self.tokens.is_some() || (t.read_only() && !t.needs_caller()))
            .collect()
    }

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

/// 404 for a path this server does not serve.
async fn no_such_path(req: Request) -> Response {
    Refusal::PathNotFound {
        path: req.uri().path().to_owned(),
    }
    .response()
}

/// 405 for a method a route does not take (axum sets `Allow`).
async fn wrong_method(req: Request) -> Response {
    Refusal::MethodNotAllowed {
        path: req.uri().path().to_owned(),
        method: req.method().to_string(),
    }
    .response()
}

/// On `/mcp`: a POST that may open a session (no `Mcp-Session-Id`, and not
/// a stateless 2026 request, which carries `Mcp-Method`) must be admitted.
async fn limit_mcp_sessions(
    State(sessions): State<Sessions>,
    req: Request,
    next: Next,
) -> Response {
    let may_open = req.method() == Method::POST
        && !req.headers().contains_key("mcp-session-id")
        && !req.headers().contains_key("mcp-method");
    if !may_open {
        return next.run(req).await;
    }
    let _admitted = match sessions.admit().await {
        Ok(admitted) => admitted,
        Err(full) => return full.response(),
    };
    next.run(req).await
}

/// Serves `server` over HTTP until `stop` is cancelled. Each call runs as
/// the actor of the request's token, or as none ([`guard::caller`]).
pub async fn serve(
    server: OntorefServer,
    options: HttpOptions,
    stop: CancellationToken,
) -> Result<(), String> {
    let server = server.with_caller(guard::caller);
    let tokens = options.tokens.as_ref().map_or(0, TokenTable::len);
    let guard = Arc::new(Guard::new(
        &options.allowed_hosts,
        &options.allowed_origins,
        options.tokens,
    )?);
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let limits = options.limits;
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts.clone())
        .with_allowed_origins(options.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_sse_keep_alive(Some(limits.keep_alive))
        .with_cancellation_token(stop.child_token());
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(limits.idle_timeout);
    let manager = Arc::new(BoundSessions::new(manager));
    let factory_server = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(factory_server.session()),
        manager.clone(),
        config,
    );
    let hub = SseHub::new(server.clone(), limits.idle_timeout, stop.child_token());
    let sessions = Sessions::new(manager.clone(), hub.clone(), limits);
    let gate = McpGate {
        sessions: manager,
        engine: server.engine().clone(),
    };
    // The gate reads the body before admission, so a slow body never holds
    // the admission lock.
    let mcp = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(
            sessions.clone(),
            limit_mcp_sessions,
        ))
        .layer(middleware::from_fn_with_state(gate, mcp::gate));
    let legacy = Router::new()
        .route("/sse", get(sse::open))
        .route("/message", post(sse::post))
        .with_state(SseState {
            hub,
            sessions: sessions.clone(),
        });
    let app = mcp
        .merge(legacy)
        .layer(middleware::from_fn_with_state(guard, guard::middleware))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(no_such_path)
        .method_not_allowed_fallback(wrong_method);
    // Tests and scripts read the bound port from here (`--http 127.0.0.1:0`).
    eprintln!("ontoref: serving MCP over HTTP at http://{local}/mcp");
    eprintln!("ontoref: legacy HTTP+SSE transport at http://{local}/sse");
    tracing::info!(
        addr = %local,
        tools = server.tool_count(),
        tokens,
        max_sessions = limits.max_sessions,
        "serving MCP over HTTP"
    );
    // TCP_NODELAY, the timeouts and graceful shutdown: see `conn`.
    conn::serve(listener, app, limits.connections, stop).await;
    Ok(())
}
