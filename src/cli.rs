//! Command-line parsing and dispatch: one documented function per command.
//!
//! Every command that returns data runs a catalog tool with a JSON argument
//! object built from its flags, so the CLI prints exactly the tool's
//! structured content. Global flags (`--project`, `--actor`, `--fmt`,
//! `--log-level`, `--eval-timeout`, `--no-disk-cache`) are accepted before
//! or after the subcommand.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ontoref_tools::catalog::{self, Selection};
use ontoref_tools::nickel::Isolation;
use ontoref_tools::{Engine, EngineConfig, OntorefServer, ProjectOrigin, ToolError};
use serde_json::{Value, json};

use crate::output::{self, Format};

/// How a run failed.
#[derive(Debug)]
pub enum Failure {
    /// A tool error, already printed in the chosen format.
    Reported,
    /// Bad flags or values (exit 2).
    Usage(String),
    /// Something outside any tool failed (exit 1).
    Fatal(String),
    /// Exit with this status (`secrets exec` passes on its command's).
    Exit(i32),
}

#[derive(Debug, Parser)]
#[command(
    name = "ontoref",
    version,
    about = "Typed, queryable access to a project's self-knowledge, for agents and people",
    long_about = "ontoref serves a project's Q&A, ontology, decisions and modes (Nickel files) \
                  to AI agents over MCP, and to people and scripts on the command line. \
                  Output is JSON when an agent asks (--actor agent, ONTOREF_ACTOR=agent, or \
                  stdout is not a terminal) and readable text otherwise."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Project root [default: $ONTOREF_PROJECT_ROOT, else the nearest
    /// ancestor holding .ontoref/ or reflection/qa.ncl, else the embedded template]
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Who is asking: `agent` makes output JSON
    #[arg(long, global = true, env = "ONTOREF_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    /// Output format [default: json for agents and pipes, text at a terminal]
    #[arg(short = 'f', long, global = true, value_enum)]
    fmt: Option<Format>,
    /// Log filter for stderr, e.g. `debug` or `ontoref_tools=trace` [default: $RUST_LOG, else warn]
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Seconds one Nickel evaluation may take (at most 86400)
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10.0)]
    eval_timeout: f64,
    /// MiB of memory one Nickel evaluation may use (its worker is stopped beyond)
    #[arg(long, global = true, value_name = "MIB", default_value_t = 1024)]
    eval_memory: u64,
    /// A directory knowledge files may import from besides the project
    /// (repeatable; also ONTOREF_IMPORT_PATH, `:`-separated)
    #[arg(long = "import-path", global = true, value_name = "DIR")]
    import_paths: Vec<PathBuf>,
    /// Do not read or write the on-disk evaluation cache
    #[arg(long, global = true)]
    no_disk_cache: bool,
    /// Seconds an issued credential directory lives before it is removed
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 300)]
    credential_ttl: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the MCP server (stdio by default)
    Serve(ServeArgs),
    /// List the tools this binary serves (the catalog)
    Tools(SelectionArgs),
    /// The project's Q&A knowledge (reflection/qa.ncl)
    #[command(subcommand)]
    Qa(QaCommand),
    /// Ontology nodes (.ontology/core.ncl)
    #[command(subcommand)]
    Node(NodeCommand),
    /// Walks of the ontology graph
    #[command(subcommand)]
    Graph(GraphCommand),
    /// State dimensions: current vs desired, and what blocks the way
    State,
    /// Architecture decision records (adrs/)
    #[command(subcommand)]
    Adr(AdrCommand),
    /// The backlog (reflection/backlog.ncl)
    #[command(subcommand)]
    Backlog(BacklogCommand),
    /// Operational modes across the level hierarchy (ADR-018)
    #[command(subcommand)]
    Mode(ModeCommand),
    /// Check the project's files
    #[command(subcommand)]
    Validate(ValidateCommand),
    /// What the project is: capabilities (default), requirements or deps
    Describe {
        /// capabilities, requirements or deps
        #[arg(default_value = "capabilities")]
        subject: String,
    },
    /// One ranked search across Q&A, nodes, ADRs, backlog and modes
    Search {
        /// Words to search for
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Search only this kind: qa, node, adr, backlog, mode (repeatable)
        #[arg(long = "kind", value_name = "KIND")]
        kinds: Vec<String>,
        /// Most results (1-100)
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Projects registered in the config home (projects.ncl)
    Projects,
    /// The credential vault: status, inventory, checks, scope-gated fetch
    #[command(subcommand)]
    Secrets(crate::secrets::SecretsCommand),
    /// Set things up: a demo vault with generated keys
    #[command(subcommand)]
    Setup(crate::secrets::SetupCommand),
}

#[derive(Debug, Subcommand)]
enum ModeCommand {
    /// List modes and the levels defining them
    List,
    /// Show one level's definition of a mode
    Show {
        /// The mode's id
        id: String,
        /// Which level's definition [default: the lowest defining it]
        #[arg(long)]
        level: Option<String>,
    },
    /// Which level handles a mode, why, and the steps that run
    Resolve {
        /// The mode's id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ValidateCommand {
    /// Check every mode of every level; exits 1 on any Hard finding
    Modes {
        /// Run only this check (repeatable)
        #[arg(long = "check", value_name = "CHECK")]
        checks: Vec<String>,
        /// Validate synthetic hierarchies (a clean one and one per violation) instead
        #[arg(long)]
        self_test: bool,
    },
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// List nodes
    List {
        /// Keep nodes of this level: Axiom, Tension or Practice
        #[arg(long)]
        level: Option<String>,
        /// Keep nodes of this pole: Yang, Yin or Spiral
        #[arg(long)]
        pole: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one node with its edges
    Show {
        /// The node's id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum GraphCommand {
    /// What hangs on a node (or what it hangs on)
    Impact {
        /// The node's id
        id: String,
        /// in (what depends on it), out (what it depends on) or both
        #[arg(long, default_value = "in")]
        direction: String,
        /// Edges to follow (1-5)
        #[arg(long, default_value_t = 2)]
        depth: u32,
    },
}

#[derive(Debug, Subcommand)]
enum AdrCommand {
    /// List ADRs
    List {
        /// Keep ADRs with this status: Proposed, Accepted or Superseded
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one ADR with its constraints and supersession chain
    Show {
        /// The ADR's id, e.g. adr-003
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum BacklogCommand {
    /// List items
    List {
        /// Keep items with this status, e.g. Open
        #[arg(long)]
        status: Option<String>,
        /// Keep items with this priority, e.g. High
        #[arg(long)]
        priority: Option<String>,
        /// Keep items of this kind, e.g. Bug
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one item
    Show {
        /// The item's id, e.g. bl-003
        id: String,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Serve MCP on stdin/stdout (the default without --http; with it, both run)
    #[arg(long)]
    stdio: bool,
    /// Serve MCP over HTTP on ADDR (IP:PORT, or PORT for loopback): Streamable HTTP at /mcp,
    /// legacy SSE at /sse, /healthz
    #[arg(long, value_name = "ADDR", value_parser = parse_http_addr)]
    http: Option<std::net::SocketAddr>,
    /// A Host header HTTP accepts (repeatable) [default: the localhost forms]
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// An Origin HTTP accepts, e.g. http://localhost:* (repeatable) [default: the localhost forms]
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Require bearer tokens over HTTP: one `<actor> <sha256 hex of token>` per line. Each request
    /// then acts as its token's actor, and the vault and writing tools are served
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Open MCP sessions over HTTP (Streamable HTTP and SSE together) at most
    #[arg(long, value_name = "N", default_value_t = 128)]
    max_sessions: usize,
    /// Close an HTTP session after this many seconds without a request
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    session_idle_timeout: f64,
    /// Seconds between keep-alive comments on HTTP event streams
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    sse_keep_alive: f64,
    /// Seconds an HTTP connection has to send a whole request head, from connecting or from its
    /// previous response (slow or silent clients are closed)
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds a request body has to arrive completely (408 otherwise)
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    body_timeout: f64,
    /// Close an HTTP connection with no request in flight for this many seconds (an open event
    /// stream is a request in flight)
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_connection_timeout: f64,
    #[command(flatten)]
    selection: SelectionArgs,
}

#[derive(Debug, Args, Clone)]
struct SelectionArgs {
    /// Toolsets to enable, comma-separated [default: all]
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    toolsets: Option<Vec<String>>,
    /// Single tools to add on top of the toolsets, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    tools: Vec<String>,
    /// Tools to remove, whatever enabled them, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    exclude_tools: Vec<String>,
    /// Keep only read-only tools
    #[arg(long)]
    read_only: bool,
}

impl SelectionArgs {
    fn selection(&self) -> Selection {
        Selection {
            // `--toolsets ""` means no toolset (only what --tools adds).
            toolsets: self
                .toolsets
                .as_ref()
                .map(|sets| sets.iter().filter(|s| !s.is_empty()).cloned().collect()),
            tools: self.tools.clone(),
            exclude: self.exclude_tools.clone(),
            read_only: self.read_only,
        }
    }
}

/// `--limit` and `--cursor` of every list command.
#[derive(Debug, Args)]
struct PageArgs {
    /// Page size (1-500)
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// next_cursor of the previous page
    #[arg(long)]
    cursor: Option<String>,
}

impl PageArgs {
    /// The tool arguments `{limit, cursor?}`, extended with `args`.
    fn with(&self, mut args: Value) -> Value {
        args["limit"] = json!(self.limit);
        if let Some(c) = &self.cursor {
            args["cursor"] = json!(c);
        }
        args
    }
}

#[derive(Debug, Subcommand)]
enum QaCommand {
    /// List entries (ids and questions, no answers)
    List {
        /// Keep entries having this tag (repeatable; all must match)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Keep entries whose verified flag is this
        #[arg(long, value_name = "BOOL")]
        verified: Option<bool>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Ranked search over ids, questions, tags and answers
    Search {
        /// Words to search for
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Keep entries having this tag (repeatable; all must match)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Most results (1-100)
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Show one entry with its whole answer
    Show {
        /// The entry's id
        id: String,
    },
}

/// Parses the command line and runs it.
pub fn run() -> Result<(), Failure> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            std::process::exit(code);
        }
    };
    init_logging(cli.global.log_level.as_deref())?;
    let format = output::choose(
        cli.global.fmt,
        cli.global.actor.as_deref(),
        std::io::stdout().is_terminal(),
    );
    match &cli.command {
        Command::Serve(args) => serve(&cli.global, args),
        Command::Tools(args) => tools(args, format),
        Command::Qa(cmd) => qa(&cli.global, cmd, format),
        Command::Node(cmd) => {
            let (tool, args) = match cmd {
                NodeCommand::List { level, pole, page } => (
                    "ontoref_node_list",
                    with_optional(page.with(json!({})), [("level", level), ("pole", pole)]),
                ),
                NodeCommand::Show { id } => ("ontoref_node_get", json!({ "id": id })),
            };
            call(&cli.global, tool, args, format)
        }
        Command::Graph(GraphCommand::Impact {
            id,
            direction,
            depth,
        }) => call(
            &cli.global,
            "ontoref_graph_impact",
            json!({ "id": id, "direction": direction, "depth": depth }),
            format,
        ),
        Command::State => call(&cli.global, "ontoref_state", json!({}), format),
        Command::Adr(cmd) => {
            let (tool, args) = match cmd {
                AdrCommand::List { status, page } => (
                    "ontoref_adr_list",
                    with_optional(page.with(json!({})), [("status", status)]),
                ),
                AdrCommand::Show { id } => ("ontoref_adr_get", json!({ "id": id })),
            };
            call(&cli.global, tool, args, format)
        }
        Command::Mode(cmd) => {
            let (tool, args) = match cmd {
                ModeCommand::List => ("ontoref_mode_list", json!({})),
                ModeCommand::Show { id, level } => (
                    "ontoref_mode_get",
                    with_optional(json!({ "id": id }), [("level", level)]),
                ),
                ModeCommand::Resolve { id } => ("ontoref_mode_resolve", json!({ "id": id })),
            };
            call(&cli.global, tool, args, format)
        }
        Command::Validate(ValidateCommand::Modes { checks, self_test }) => {
            if *self_test {
                return validate_self_test(&cli.global, format);
            }
            let value = call_value(
                &cli.global,
                "ontoref_validate_modes",
                json!({ "checks": checks }),
                format,
            )?;
            if value["hard"].as_u64().unwrap_or(0) > 0 {
                return Err(Failure::Reported);
            }
            Ok(())
        }
        Command::Describe { subject } => call(
            &cli.global,
            "ontoref_describe",
            json!({ "subject": subject }),
            format,
        ),
        Command::Search {
            query,
            kinds,
            limit,
        } => call(
            &cli.global,
            "ontoref_search",
            json!({ "query": query.join(" "), "kinds": kinds, "limit": limit }),
            format,
        ),
        Command::Projects => call(&cli.global, "ontoref_list_projects", json!({}), format),
        Command::Secrets(cmd) => crate::secrets::secrets(&cli.global, cmd, format),
        Command::Setup(cmd) => crate::secrets::setup(&cli.global, cmd, format),
        Command::Backlog(cmd) => {
            let (tool, args) = match cmd {
                BacklogCommand::List {
                    status,
                    priority,
                    kind,
                    page,
                } => (
                    "ontoref_backlog_list",
                    with_optional(
                        page.with(json!({})),
                        [("status", status), ("priority", priority), ("kind", kind)],
                    ),
                ),
                BacklogCommand::Show { id } => ("ontoref_backlog_get", json!({ "id": id })),
            };
            call(&cli.global, tool, args, format)
        }
    }
}

fn init_logging(level: Option<&str>) -> Result<(), Failure> {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => log_filter(l).map_err(Failure::Usage)?,
        None => EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new("warn"))
            .unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    Ok(())
}

/// `--log-level`: a level, or comma-separated `target=level` directives. A
/// bare word that is not a level (`--log-level verbose`) would otherwise be
/// taken as a target name and silently log nothing.
fn log_filter(text: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let bad = |why: String| {
        format!(
            "--log-level `{}`: {why}; give a level ({}) or `target=level` directives, e.g. `ontoref_tools=debug,warn`",
            ontoref_tools::error::clip_to(text, 100),
            LEVELS.join(", ")
        )
    };
    for directive in text.split(',').map(str::trim) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "`{}` is not a level",
                ontoref_tools::error::clip_to(level, 40)
            )));
        }
    }
    tracing_subscriber::EnvFilter::try_new(text).map_err(|e| bad(e.to_string()))
}

pub(crate) fn runtime(multi: bool) -> Result<tokio::runtime::Runtime, Failure> {
    let mut builder = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| Failure::Fatal(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn engine_config(global: &Global) -> Result<EngineConfig, Failure> {
    let eval_timeout = seconds_flag("--eval-timeout", global.eval_timeout, 86_400.0)?;
    if !(64..=1_048_576).contains(&global.eval_memory) {
        return Err(Failure::Usage(format!(
            "--eval-memory must be 64 to 1048576 MiB, got {}",
            global.eval_memory
        )));
    }
    let program = ontoref_tools::nickel::worker::current_program().map_err(|e| {
        Failure::Fatal(format!(
            "cannot find this executable to start evaluation workers: {e}"
        ))
    })?;
    if global.credential_ttl == 0 || global.credential_ttl > 86_400 {
        return Err(Failure::Usage(format!(
            "--credential-ttl must be 1 to 86400 seconds, got {}",
            global.credential_ttl
        )));
    }
    let mut config = EngineConfig {
        project: global.project.clone(),
        disk_cache: !global.no_disk_cache,
        eval_timeout,
        credential_ttl: Duration::from_secs(global.credential_ttl),
        isolation: Isolation::Worker {
            program,
            memory_mb: global.eval_memory,
        },
        ..EngineConfig::from_env()
    };
    for dir in &global.import_paths {
        match std::fs::canonicalize(dir) {
            Ok(d) if d.is_dir() => config.import_paths.push(d),
            _ => {
                return Err(Failure::Usage(format!(
                    "--import-path {} is not a directory",
                    dir.display()
                )));
            }
        }
    }
    if let Some(actor) = &global.actor {
        config.actor = Some(actor.clone()).filter(|a| !a.is_empty());
    }
    Ok(config)
}

/// `ontoref serve`: the MCP server over stdio, HTTP, or both sharing one
/// engine (and so one project cache).
fn serve(global: &Global, args: &ServeArgs) -> Result<(), Failure> {
    let tools = args
        .selection
        .selection()
        .apply()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut http_options = args.http.map(|addr| http_options(addr, args)).transpose()?;
    let engine = Arc::new(
        Engine::new(engine_config(global)?)
            .map_err(|e| Failure::Fatal(format!("{} ({})", e, e.hint())))?,
    );
    // Credential directories a killed server left behind are removed now,
    // not at the next fetch.
    engine.vault().dirs().sweep();
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
    let rt = runtime(true)?;
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
    result.map_err(Failure::Fatal)
}

const DAY: f64 = 86_400.0;

/// A flag's positive, finite number of seconds, at most `max`.
fn seconds_flag(flag: &str, value: f64, max: f64) -> Result<Duration, Failure> {
    if value.is_finite()
        && value > 0.0
        && value <= max
        && let Ok(d) = Duration::try_from_secs_f64(value)
    {
        Ok(d)
    } else if max.is_finite() {
        Err(Failure::Usage(format!(
            "{flag} must be a positive number of seconds up to {max}, got {value}"
        )))
    } else {
        Err(Failure::Usage(format!(
            "{flag} must be a positive number of seconds, got {value}"
        )))
    }
}

/// `--http`: `IP:PORT`, `localhost:PORT`, or a bare `PORT` / `:PORT`,
/// which bind loopback (127.0.0.1).
fn parse_http_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let loopback = std::net::Ipv4Addr::LOCALHOST;
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok((loopback, port).into());
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{port}` is not a port number"))?;
        return Ok((loopback, port).into());
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not IP:PORT or PORT (e.g. 127.0.0.1:7337, [::1]:7337, 7337)")
    })
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
        return Err(Failure::Usage(
            "--max-sessions 0: at least one session must be allowed".into(),
        ));
    }
    let tokens = match &args.token_file {
        Some(path) => Some(
            ontoref::transport::guard::TokenTable::load(path)
                .map_err(|e| Failure::Fatal(format!("{e} [{}] ({})", e.code(), e.hint())))?,
        ),
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
        .map_err(Failure::Usage)?;
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

/// `ontoref tools`: the catalog, as the selection flags would serve it.
fn tools(args: &SelectionArgs, format: Format) -> Result<(), Failure> {
    let tools = args
        .selection()
        .apply()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let rows: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name(),
                "toolset": t.toolset,
                "title": t.tool.title,
                "summary": summary(t.tool.description.as_deref().unwrap_or("")),
                "read_only": t.read_only(),
            })
        })
        .collect();
    let value = json!({ "tools": rows, "total": rows.len() });
    output::print("tools", &value, format);
    Ok(())
}

/// Adds each present optional flag to a tool's argument object.
fn with_optional<const N: usize>(mut args: Value, optional: [(&str, &Option<String>); N]) -> Value {
    for (key, value) in optional {
        if let Some(v) = value {
            args[key] = json!(v);
        }
    }
    args
}

/// The first sentence of a tool description.
fn summary(description: &str) -> &str {
    description
        .find(". ")
        .map_or(description, |end| &description[..=end])
        .trim()
}

/// `ontoref qa …`: runs the matching `qa` tool.
fn qa(global: &Global, cmd: &QaCommand, format: Format) -> Result<(), Failure> {
    let (tool, args) = match cmd {
        QaCommand::List {
            tags,
            verified,
            page,
        } => {
            let mut args = page.with(json!({ "tags": tags }));
            if let Some(v) = verified {
                args["verified"] = json!(v);
            }
            ("ontoref_qa_list", args)
        }
        QaCommand::Search { query, tags, limit } => (
            "ontoref_qa_search",
            json!({ "query": query.join(" "), "tags": tags, "limit": limit }),
        ),
        QaCommand::Show { id } => ("ontoref_qa_show", json!({ "id": id })),
    };
    call(global, tool, args, format)
}

/// `ontoref validate modes --self-test`: the validator on synthetic
/// hierarchies; exits 0 only if every violation was caught.
fn validate_self_test(global: &Global, format: Format) -> Result<(), Failure> {
    let config = engine_config(global)?;
    let dir = tempdir_for_self_test()?;
    let rt = runtime(false)?;
    match rt.block_on(ontoref_tools::toolsets::modes::self_test(
        dir.path(),
        &config,
    )) {
        Ok(report) => {
            let value = serde_json::to_value(&report).unwrap_or_default();
            output::print("self-test", &value, format);
            if report.ok {
                Ok(())
            } else {
                Err(Failure::Reported)
            }
        }
        Err(err) => {
            output::print_error(&err, format);
            Err(Failure::Reported)
        }
    }
}

fn tempdir_for_self_test() -> Result<tempfile::TempDir, Failure> {
    tempfile::Builder::new()
        .prefix("ontoref-self-test-")
        .tempdir()
        .map_err(|e| Failure::Fatal(format!("cannot create a temporary directory: {e}")))
}

/// Runs one catalog tool against the resolved project and prints its result.
pub(crate) fn call(
    global: &Global,
    tool: &str,
    args: Value,
    format: Format,
) -> Result<(), Failure> {
    call_value(global, tool, args, format).map(|_| ())
}

/// Like [`call`], returning the printed value.
pub(crate) fn call_value(
    global: &Global,
    tool: &str,
    args: Value,
    format: Format,
) -> Result<Value, Failure> {
    let name = tool.to_owned();
    with_engine(engine_config(global)?, format, tool, move |engine| {
        Box::pin(async move { catalog::find(&name)?.call(engine, args).await })
    })
}

/// Builds an engine from `config`, runs `f` on it, and prints the value as
/// `kind` (or the error, in the chosen format).
pub(crate) fn with_engine<F>(
    config: EngineConfig,
    format: Format,
    kind: &str,
    f: F,
) -> Result<Value, Failure>
where
    F: for<'a> FnOnce(&'a Engine) -> catalog::BoxFuture<'a, Result<Value, ToolError>>,
{
    let rt = runtime(false)?;
    let result = rt.block_on(async {
        let engine = Engine::new(config)?;
        if engine.project().origin() == ProjectOrigin::Embedded
            && format != Format::Json
            && std::io::stderr().is_terminal()
        {
            eprintln!(
                "note: no ontoref project here (no .ontoref/ or reflection/qa.ncl above the \
                 working directory); showing the embedded agent-first template. Pass --project DIR."
            );
        }
        f(&engine).await
    });
    match result {
        Ok(value) => {
            output::print(kind, &value, format);
            Ok(value)
        }
        Err(err) => {
            output::print_error(&err, format);
            Err(Failure::Reported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_http_addr;

    #[test]
    fn http_addresses_default_to_loopback() {
        for (text, want) in [
            ("7337", "127.0.0.1:7337"),
            (":7337", "127.0.0.1:7337"),
            ("localhost:7337", "127.0.0.1:7337"),
            ("0.0.0.0:80", "0.0.0.0:80"),
            ("[::1]:7337", "[::1]:7337"),
        ] {
            assert_eq!(parse_http_addr(text).unwrap().to_string(), want, "{text}");
        }
        for bad in ["", "localhost", "host:1", "70000", "localhost:x", "1.2.3.4"] {
            let err = parse_http_addr(bad).unwrap_err();
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }
}
