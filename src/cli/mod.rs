//! The command line: the hand-written commands (`args.rs`) plus one
//! command per catalog tool (`derived.rs`), parsed together, then one
//! documented function per command.
//!
//! A tool's command runs the catalog entry with the JSON argument object
//! its flags make, so it prints exactly the tool's structured content (or
//! the tool's own text for a person). Global flags (`--project`, `--actor`,
//! `--fmt`, `--log-level`, `--eval-timeout`, `--no-disk-cache`, …) are
//! accepted before or after the subcommand.

pub mod args;
pub mod attestation;
pub mod derived;
pub mod ontology;
pub mod progress;
pub mod run;
pub mod secrets;
pub mod serve;

use std::io::{IsTerminal, Read};

use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use ontoref::failure::CliError;
use ontoref_tools::catalog::{self, CatalogTool};
use ontoref_tools::text::Text;
use ontoref_tools::toolset;
use ontoref_tools::toolsets::modes::ValidateModesTool;
use ontoref_tools::toolsets::vault::CredentialFetchTool;
use rmcp::handler::server::router::tool::ToolBase;
use serde_json::{Value, json};

pub use args::Failure;
use args::{Cli, Command, Global, SelectionArgs};
use run::{engine_config, init_logging, run_tool, runtime};

use crate::output::{self, Format};

/// The flag `validate modes` has beyond its tool's arguments.
const SELF_TEST: &str = "self-test";

/// The most bytes `ontoref call TOOL -` reads from stdin.
const MAX_CALL_ARGS: u64 = 16 * 1024 * 1024;

/// The whole command line: the hand-written commands, the catalog's, and
/// `--self-test` on the command of the modes validator.
fn command(argv: &[String]) -> clap::Command {
    let mut root = derived::augment(Cli::command(), argv);
    if let Some(tool) = catalog::find(&ValidateModesTool::name()).ok()
        && let [group, leaf] = tool.words.as_slice()
    {
        root = root.mut_subcommand(*group, |g| {
            g.mut_subcommand(*leaf, |c| {
                c.arg(
                    Arg::new(SELF_TEST)
                        .long(SELF_TEST)
                        .action(ArgAction::SetTrue)
                        .help(
                            "Validate synthetic hierarchies (a clean one and one per violation) \
                             instead; exits 0 only if every violation is caught",
                        ),
                )
            })
        });
    }
    root
}

/// Parses the command line and runs it.
pub fn run() -> Result<(), Failure> {
    // Not `args()`: a path given to --project may not be UTF-8.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let matches = match command(&words).try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            let code = e.exit_code();
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let global =
        Global::from_arg_matches(&matches).map_err(|e| CliError::BadArguments(e.to_string()))?;
    init_logging(global.log_level.as_deref())?;
    let format = output::choose(
        global.fmt,
        global.actor.as_deref(),
        std::io::stdout().is_terminal(),
    );
    let (words, leaf) = derived::path(&matches);
    if let Some(tool) = catalog::by_words(&words) {
        return tool_command(&global, tool, leaf, format);
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| CliError::BadArguments(e.to_string()))?;
    match &cli.command {
        Command::Serve(args) => serve::serve(&global, args),
        Command::Tools(args) => tools(args, format),
        Command::Call { tool, args } => call(&global, tool, args.as_deref(), format),
        Command::Secrets(cmd) => secrets::secrets(&global, cmd, format),
        Command::Setup(cmd) => secrets::setup(&global, cmd, format),
        Command::Ontology(cmd) => ontology::ontology(&global, cmd, format),
        Command::Attestation(cmd) => attestation::attestation(cmd, format),
    }
}

/// A catalog tool's command: its arguments from the flags, then the tool.
fn tool_command(
    global: &Global,
    tool: &'static CatalogTool,
    matches: &ArgMatches,
    format: Format,
) -> Result<(), Failure> {
    if tool.name() == ValidateModesTool::name()
        && matches.try_get_one::<bool>(SELF_TEST).ok().flatten() == Some(&true)
    {
        return validate_self_test(global, format);
    }
    run_catalog_tool(global, tool, derived::arguments(tool, matches), format)
}

/// Runs a catalog tool from the command line (a derived command or
/// `ontoref call`).
fn run_catalog_tool(
    global: &Global,
    tool: &'static CatalogTool,
    args: Value,
    format: Format,
) -> Result<(), Failure> {
    if tool.name() == CredentialFetchTool::name() {
        return secrets::fetch(global, tool, args, format);
    }
    run_tool(engine_config(global)?, tool, args, format).map(|_| ())
}

/// `ontoref call TOOL [JSON|-]`: any tool by name with a JSON argument
/// object (from stdin with `-`).
fn call(global: &Global, name: &str, args: Option<&str>, format: Format) -> Result<(), Failure> {
    let text = match args {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_CALL_ARGS + 1)
                .read_to_string(&mut text)
                .map_err(|e| {
                    CliError::BadArguments(format!("cannot read the arguments from stdin: {e}"))
                })?;
            if text.len() as u64 > MAX_CALL_ARGS {
                return Err(CliError::BadArguments(format!(
                    "the arguments on stdin pass {MAX_CALL_ARGS} bytes"
                ))
                .into());
            }
            text
        }
        Some(text) => text.to_owned(),
        None => "{}".to_owned(),
    };
    let args: Value = serde_json::from_str(text.trim()).map_err(|e| {
        CliError::BadArguments(format!(
            "the arguments are not JSON ({e}); give an object such as '{{\"query\": \"deploy\"}}'"
        ))
    })?;
    if !args.is_object() {
        return Err(CliError::BadArguments(
            "the arguments must be a JSON object such as '{\"id\": \"adr-001\"}'".to_owned(),
        )
        .into());
    }
    let tool = match catalog::find(name) {
        Ok(tool) => tool,
        Err(err) => {
            output::print_error(&err, format);
            return Err(Failure::Reported);
        }
    };
    run_catalog_tool(global, tool, args, format)
}

/// `ontoref tools`: the toolsets and the catalog, as the selection flags
/// would serve them.
fn tools(args: &SelectionArgs, format: Format) -> Result<(), Failure> {
    let tools = args
        .selection()
        .apply()
        .map_err(|e| CliError::UnknownSelection(e.to_string()))?;
    let rows: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name(),
                "toolset": t.toolset,
                "title": t.title(),
                "summary": t.summary(),
                "read_only": t.read_only(),
                "command": t.words.join(" "),
            })
        })
        .collect();
    // The toolsets of the tools shown, in id order.
    let served: Vec<&toolset::Toolset> = toolset::toolsets()
        .into_iter()
        .filter(|s| tools.iter().any(|t| t.toolset == s.id))
        .collect();
    let sets: Vec<Value> = served
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "description": s.description,
                "needs_caller": s.needs_caller,
            })
        })
        .collect();
    let value = json!({ "toolsets": sets, "tools": rows, "total": rows.len() });
    let text = output::style(format).map(|style| {
        let mut out = Text::new(style);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        if out.is_markdown() {
            let rows: Vec<Vec<String>> = tools
                .iter()
                .map(|t| {
                    vec![
                        format!("`{}`", t.name()),
                        t.toolset.to_owned(),
                        yes_no(t.read_only()).to_owned(),
                        t.summary().to_owned(),
                    ]
                })
                .collect();
            out.table(&["tool", "toolset", "read-only", "what it does"], &rows);
            out.blank();
            let rows: Vec<Vec<String>> = served
                .iter()
                .map(|s| {
                    vec![
                        format!("`{}`", s.id),
                        s.title.to_owned(),
                        yes_no(s.needs_caller).to_owned(),
                        s.description.to_owned(),
                    ]
                })
                .collect();
            out.table(
                &["toolset", "title", "needs a caller", "what it covers"],
                &rows,
            );
        } else {
            let rows: Vec<Vec<String>> = tools
                .iter()
                .map(|t| {
                    vec![
                        t.name().to_owned(),
                        t.toolset.to_owned(),
                        if t.read_only() { "read-only" } else { "writes" }.to_owned(),
                        format!("ontoref {}", t.words.join(" ")),
                    ]
                })
                .collect();
            out.table(&["tool", "toolset", "access", "command"], &rows);
        }
        out.finish()
    });
    output::print(&value, text.as_deref(), format);
    Ok(())
}

/// `ontoref validate modes --self-test`: the validator on synthetic
/// hierarchies; exits 0 only if every violation was caught.
fn validate_self_test(global: &Global, format: Format) -> Result<(), Failure> {
    let config = engine_config(global)?;
    let dir = tempfile::Builder::new()
        .prefix("ontoref-self-test-")
        .tempdir()
        .map_err(|e| CliError::Environment(format!("cannot create a temporary directory: {e}")))?;
    let rt = runtime(false)?;
    match rt.block_on(ontoref_tools::modes::self_test::self_test(
        dir.path(),
        &config,
    )) {
        Ok(report) => {
            let value = serde_json::to_value(&report).unwrap_or_default();
            let text = output::style(format).map(|style| {
                let mut out = Text::new(style);
                report.text(&mut out);
                out.finish()
            });
            output::print(&value, text.as_deref(), format);
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
