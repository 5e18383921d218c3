//! `ontoref serve`: the MCP server over stdio, HTTP, or both sharing one
//! engine, with the HTTP listener's settings checked before anything is
//! served.

use std::sync::Arc;
use std::time::Duration;

use ontoref_tools::{Engine, OntorefServer};

use ontoref::failure::CliError;

use crate::cli::args::{DAY, Failure, Global, ServeArgs, seconds_flag};
use crate::cli::run::{engine_config, runtime};

/// Runs `ontoref serve`: the MCP server over stdio, HTTP, or both sharing one
/// engine (and so one project cache).
pub fn serve(global: &Global, args: &ServeArgs) -> Result<(), Failure> {
    let tools = args
        .selection
        .selection()
        .apply()
        .map_err(|e| CliError::UnknownSelection(e.to_string()))?;
    let mut http_options = args.http.map(|addr| http_options(addr, args)).transpose()?;
    let engine =
        Arc::new(
            Engine::new(engine_config(global)?).map_err(|e| CliError::EngineStart {
                message: e.to_string(),
                hint: e.hint(),
            })?,
        );
    // Credential directories a killed server left behind are removed now,
    // not at the next fetch.
    engine.vault().dirs().sweep();
    // Knowledge files are watched: caches answer without a stat while
    // nothing changed, and subscribers hear of every change.
    if let Err(why) = engine.watch() {
        tracing::warn!(
            "not watching the project's files: {why}; every call checks them instead, \
             and resource subscriptions are not offered"
        );
    }
    // A server never lets a revealed secret into a value rmcp or ontoref
    // could log: reveals go through the escrow, released by the writers.
    let _ = engine
        .escrow()
        .set(ontoref_tools::escrow::SecretEscrow::default());
    let stdio = args.stdio || args.http.is_none();
    tracing::info!(
        project = %engine.project().root().display(),
        origin = ?engine.project().origin(),
        tools = tools.len(),
        stdio,
        http = ?args.http,
        "serving MCP"
    );
    let stop = tokio_util::sync::CancellationToken::new();
    // Over stdio alone there is one client: one thread runs its requests, so
    // a message goes from the reader to the service, the tool and the writer
    // without waking another thread at each hand-over (most of a small
    // call's time on two cores). HTTP serves many clients on every core.
    let rt = runtime(http_options.is_some())?;
    let result = rt.block_on(async {
        let signal_stop = stop.clone();
        tokio::spawn(async move {
            let signal = ontoref::transport::shutdown_signal().await;
            tracing::info!(signal, "shutting down");
            signal_stop.cancel();
        });
        // Secrets nobody released in their lifetime are dropped (zeroized).
        let purged = engine.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(15));
            loop {
                tick.tick().await;
                if let Some(escrow) = purged.escrow().get() {
                    let dropped = escrow.purge_expired();
                    if dropped > 0 {
                        tracing::debug!(dropped, "expired escrowed secrets dropped");
                    }
                }
            }
        });
        // The Q&A store is read while the client initializes, on a thread of
        // its own: a first search finds it loaded, or waits for that load
        // rather than starting another.
        let warm = engine.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || handle.block_on(warm.warm()));
        // Every selected tool's definition, once for both transports.
        ontoref_tools::catalog::prepare_definitions(&tools);
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(http) = http_options.take() {
            let server = OntorefServer::new(engine.clone(), &http.served(&tools));
            let stop = stop.clone();
            tasks.spawn(ontoref::transport::http::serve(server, http, stop));
        }
        if stdio {
            let server = OntorefServer::new(engine.clone(), &tools);
            let stop = stop.clone();
            tasks.spawn(ontoref::transport::stdio::serve(server, stop));
        }
        // The first transport to end (stdin closed, a signal, a failure) stops the rest.
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            stop.cancel();
            let r = done
                .map_err(|e| format!("transport task failed: {e}"))
                .and_then(|r| r);
            if result.is_ok() {
                result = r;
            }
        }
        result
    });
    engine.shutdown();
    // Tokio reads stdin on a blocking thread that a signal cannot interrupt;
    // do not wait for it once the server has stopped.
    rt.shutdown_background();
    result.map_err(|e| CliError::Transport(e).into())
}

/// The HTTP listener's settings from the flags; a bad token file or limit
/// is reported before anything is served.
fn http_options(
    addr: std::net::SocketAddr,
    args: &ServeArgs,
) -> Result<ontoref::transport::http::HttpOptions, Failure> {
    use ontoref::transport::conn::ConnTimeouts;
    use ontoref::transport::http::{HttpOptions, Limits};
    if args.max_sessions == 0 {
        return Err(CliError::BadFlag(
            "--max-sessions 0: at least one session must be allowed".into(),
        )
        .into());
    }
    let tokens = match &args.token_file {
        Some(path) => {
            Some(ontoref::transport::guard::TokenTable::load(path).map_err(CliError::TokenFile)?)
        }
        None => None,
    };
    if !addr.ip().is_loopback() && tokens.is_none() {
        // Still read-only and without the vault, but the project's knowledge is
        // readable by anyone who can reach the address.
        tracing::warn!(
            %addr,
            "serving HTTP beyond loopback without --token-file: anyone who can reach it can \
             read the project"
        );
    }
    let allowed_hosts = if args.allowed_hosts.is_empty() {
        HttpOptions::default_hosts(&addr)
    } else {
        args.allowed_hosts.clone()
    };
    let allowed_origins = if args.allowed_origins.is_empty() {
        HttpOptions::default_origins()
    } else {
        args.allowed_origins.clone()
    };
    // A bad --allowed-host or --allowed-origin is a usage error, caught
    // before anything starts.
    ontoref::transport::guard::Guard::new(&allowed_hosts, &allowed_origins, None)
        .map_err(CliError::BadFlag)?;
    Ok(HttpOptions {
        addr,
        allowed_hosts,
        allowed_origins,
        tokens,
        limits: Limits {
            max_sessions: args.max_sessions,
            idle_timeout: seconds_flag("--session-idle-timeout", args.session_idle_timeout, DAY)?,
            keep_alive: seconds_flag("--sse-keep-alive", args.sse_keep_alive, DAY)?,
            connections: ConnTimeouts {
                header: seconds_flag("--header-timeout", args.header_timeout, DAY)?,
                body: seconds_flag("--body-timeout", args.body_timeout, DAY)?,
                idle: seconds_flag(
                    "--idle-connection-timeout",
                    args.idle_connection_timeout,
                    DAY,
                )?,
            },
        },
    })
}
