//! Running things for one command: logging, the async runtime, the engine
//! configuration from the global flags, and running a catalog tool (or any
//! engine function) with its result printed by the output rules.

use std::io::IsTerminal;
use std::time::Duration;

use ontoref_tools::catalog::{BoxFuture, CatalogTool};
use ontoref_tools::nickel::Isolation;
use ontoref_tools::{Engine, EngineConfig, ProjectOrigin, ToolError};
use serde_json::Value;

use ontoref::failure::CliError;

use crate::cli::args::{Failure, Global, seconds_flag};
use crate::output::{self, Format};

/// Sets up logging to stderr from `--log-level`, else `RUST_LOG`, else warn.
pub fn init_logging(level: Option<&str>) -> Result<(), Failure> {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => log_filter(l).map_err(CliError::BadFlag)?,
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

/// A tokio runtime: multi-threaded for a server, current-thread for a
/// command.
pub fn runtime(multi: bool) -> Result<tokio::runtime::Runtime, Failure> {
    let mut builder = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::Environment(format!("cannot start the async runtime: {e}")).into())
}

/// The engine configuration the global flags ask for (evaluation in
/// worker processes).
pub fn engine_config(global: &Global) -> Result<EngineConfig, Failure> {
    let eval_timeout = seconds_flag("--eval-timeout", global.eval_timeout, 86_400.0)?;
    if !(64..=1_048_576).contains(&global.eval_memory) {
        return Err(CliError::BadFlag(format!(
            "--eval-memory must be 64 to 1048576 MiB, got {}",
            global.eval_memory
        ))
        .into());
    }
    let program = ontoref_tools::nickel::worker::current_program().map_err(|e| {
        CliError::Environment(format!(
            "cannot find this executable to start evaluation workers: {e}"
        ))
    })?;
    if global.credential_ttl == 0 || global.credential_ttl > 86_400 {
        return Err(CliError::BadFlag(format!(
            "--credential-ttl must be 1 to 86400 seconds, got {}",
            global.credential_ttl
        ))
        .into());
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
                return Err(CliError::BadFlag(format!(
                    "--import-path {} is not a directory",
                    dir.display()
                ))
                .into());
            }
        }
    }
    if let Some(actor) = &global.actor {
        config.actor = Some(actor.clone()).filter(|a| !a.is_empty());
    }
    Ok(config)
}

/// Runs `tool` with `args` on an engine built from `config` and prints its
/// output (its own text for a person, or its structured content as JSON).
/// Returns the structured content; a tool error, or an output the tool
/// calls failed, is [`Failure::Reported`] after printing.
pub fn run_tool(
    config: EngineConfig,
    tool: &'static CatalogTool,
    args: Value,
    format: Format,
) -> Result<Value, Failure> {
    let style = output::style(format);
    let ran = on_engine(config, format, move |engine| {
        Box::pin(async move { tool.run(engine, args, style).await })
    })?;
    output::print(&ran.value, ran.text.as_deref(), format);
    if ran.failed {
        return Err(Failure::Reported);
    }
    Ok(ran.value)
}

/// Builds an engine from `config` and runs `f` on it; a tool error is
/// printed in `format` and becomes [`Failure::Reported`].
pub fn on_engine<T, F>(config: EngineConfig, format: Format, f: F) -> Result<T, Failure>
where
    F: for<'a> FnOnce(&'a Engine) -> BoxFuture<'a, Result<T, ToolError>>,
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
    result.map_err(|err| {
        output::print_error(&err, format);
        Failure::Reported
    })
}

/// Like [`on_engine`], printing the JSON value `f` returns with the
/// generic rendering.
pub fn with_engine<F>(config: EngineConfig, format: Format, f: F) -> Result<Value, Failure>
where
    F: for<'a> FnOnce(&'a Engine) -> BoxFuture<'a, Result<Value, ToolError>>,
{
    let value = on_engine(config, format, f)?;
    output::print(&value, None, format);
    Ok(value)
}
