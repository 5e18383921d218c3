//! The knowledge commands, derived from the catalog at start-up: each tool
//! becomes the command its `ToolCommand` names (`ontoref qa search`,
//! `ontoref node show`, `ontoref state`), with arguments built from its
//! input schema (`ontoref_tools::command::ArgSpec`) and its description as
//! help. A new tool gets its command without a line here.
//!
//! Values are only type-checked here (an integer is an integer); ranges and
//! enum values are the tool's to check, so a bad value is the same
//! `invalid-params` error over MCP and on the command line.

use clap::{Arg, ArgAction, ArgMatches, Command};
use ontoref_tools::catalog::{self, CatalogTool};
use ontoref_tools::command::{ArgKind, ArgSpec};
use ontoref_tools::toolset;
use serde_json::{Map, Value};

/// Adds every catalog tool's command to `root`, creating the group
/// commands (`qa`, `node`, …) the hand-written part lacks. Only the tools
/// whose words appear, in order, among `argv` get their arguments: those
/// come from the tool's schemas, the costly part of the catalog, and a
/// listing or a group's help shows only names and summaries.
pub fn augment(mut root: Command, argv: &[String]) -> Command {
    let mut tools: Vec<&'static CatalogTool> = catalog::catalog().iter().collect();
    tools.sort_by(|a, b| a.words.cmp(&b.words));
    for tool in tools {
        let leaf = command_for(tool, named(tool, argv));
        root = match tool.words.as_slice() {
            [group, _] => {
                let group_name = group.to_string();
                if root.find_subcommand(&group_name).is_none() {
                    root = root.subcommand(group_command(group));
                }
                root.mut_subcommand(group_name, |g| g.subcommand(leaf))
            }
            _ => root.subcommand(leaf),
        };
    }
    root
}

/// The command of `tool`: its last word, its summary and description as
/// help, its arguments from the schema.
fn command_for(tool: &'static CatalogTool, with_args: bool) -> Command {
    let name = tool.words.last().copied().unwrap_or_default();
    let mut cmd = Command::new(name)
        .about(short_about(tool.summary()))
        .long_about(format!(
            "{}\n\nMCP tool: {}",
            tool.description(),
            tool.name()
        ));
    if with_args {
        for spec in tool.args() {
            cmd = cmd.arg(arg_for(&spec));
        }
    }
    cmd
}

/// Whether the command line names `tool`: its words appear in `argv` in
/// order (global flags may sit between them).
fn named(tool: &CatalogTool, argv: &[String]) -> bool {
    let mut rest = argv.iter();
    tool.words
        .iter()
        .all(|word| rest.by_ref().any(|arg| arg == word))
}

/// A summary short enough for a command list: cut before its first
/// parenthesis or colon when it runs past 80 characters.
fn short_about(summary: &str) -> String {
    let summary = summary.trim_end_matches('.');
    if summary.chars().count() <= 80 {
        return summary.to_owned();
    }
    let cut = [" (", ": "]
        .iter()
        .filter_map(|sep| summary.find(sep))
        .min()
        .unwrap_or(summary.len());
    summary[..cut].to_owned()
}

/// A group command (`qa`, `node`, `secrets`): its toolset's title and verbs.
fn group_command(group: &'static str) -> Command {
    let members: Vec<&CatalogTool> = catalog::catalog()
        .iter()
        .filter(|t| t.words.first() == Some(&group) && t.words.len() == 2)
        .collect();
    let title = members
        .first()
        .and_then(|t| toolset::find(t.toolset))
        .map_or("", |s| s.title);
    let mut verbs: Vec<&str> = members
        .iter()
        .filter_map(|t| t.words.get(1).copied())
        .collect();
    verbs.sort_unstable();
    Command::new(group)
        .about(format!("{title}: {}", verbs.join(", ")))
        .subcommand_required(true)
        .arg_required_else_help(true)
}

/// The clap id of a schema property (kept apart from the global flags').
fn id(spec: &ArgSpec) -> String {
    format!("tool:{}", spec.property)
}

fn arg_for(spec: &ArgSpec) -> Arg {
    let mut help = spec.help.trim_end_matches('.').to_owned();
    if let ArgKind::Integer { min, max } = spec.kind
        && min > i64::MIN
        && max < i64::MAX
    {
        help.push_str(&format!(" ({min}-{max})"));
    }
    if !spec.values.is_empty() {
        help.push_str(&format!(" [values: {}]", spec.values.join(", ")));
    }
    if let Some(default) = spec.default.as_ref().filter(|d| !is_empty(d)) {
        let shown = match default {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        help.push_str(&format!(" [default: {shown}]"));
    }
    let value_name = spec.property.to_ascii_uppercase();
    let mut arg = Arg::new(id(spec)).help(help).required(spec.required);
    arg = if spec.positional {
        arg.value_name(value_name)
    } else {
        arg.long(spec.long())
    };
    match spec.kind {
        ArgKind::Words => arg.num_args(1..).value_name("WORDS"),
        ArgKind::Text => arg.value_name(if spec.positional {
            spec.property.to_ascii_uppercase()
        } else {
            spec.long().to_ascii_uppercase()
        }),
        ArgKind::Integer { .. } => arg.value_parser(clap::value_parser!(i64)).value_name("N"),
        ArgKind::Switch => arg.action(ArgAction::SetTrue),
        ArgKind::Bool => arg
            .value_parser(clap::value_parser!(bool))
            .value_name("BOOL"),
        ArgKind::List => arg
            .action(ArgAction::Append)
            .value_name(spec.long().to_ascii_uppercase()),
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_array().is_some_and(Vec::is_empty)
}

/// The subcommand path of `matches` (`["qa", "search"]`) and the deepest
/// matches.
pub fn path(matches: &ArgMatches) -> (Vec<&str>, &ArgMatches) {
    let mut words = Vec::new();
    let mut at = matches;
    while let Some((name, sub)) = at.subcommand() {
        words.push(name);
        at = sub;
    }
    (words, at)
}

/// The JSON argument object the command line gave `tool`: only what was
/// written; the tool applies its own defaults.
pub fn arguments(tool: &CatalogTool, matches: &ArgMatches) -> Value {
    let mut args = Map::new();
    for spec in tool.args() {
        let id = id(&spec);
        let value = match spec.kind {
            ArgKind::Words => matches
                .get_many::<String>(&id)
                .map(|words| Value::from(words.cloned().collect::<Vec<_>>().join(" "))),
            ArgKind::Text => matches
                .get_one::<String>(&id)
                .map(|v| Value::from(canonical(&spec, v))),
            ArgKind::Integer { .. } => matches.get_one::<i64>(&id).map(|n| Value::from(*n)),
            ArgKind::Switch => matches.get_flag(&id).then_some(Value::Bool(true)),
            ArgKind::Bool => matches.get_one::<bool>(&id).map(|b| Value::Bool(*b)),
            ArgKind::List => matches
                .get_many::<String>(&id)
                .map(|vs| Value::from(vs.cloned().collect::<Vec<_>>())),
        };
        if let Some(value) = value {
            args.insert(spec.property.clone(), value);
        }
    }
    Value::Object(args)
}

/// An enum value in its canonical spelling when it matches one ignoring
/// case (`--level axiom` is `Axiom`); anything else as written, for the tool
/// to refuse with its own error.
fn canonical(spec: &ArgSpec, value: &str) -> String {
    spec.values
        .iter()
        .find(|v| v.eq_ignore_ascii_case(value))
        .cloned()
        .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(line: &[&str]) -> (&'static CatalogTool, Value) {
        let argv: Vec<String> = line.iter().map(|s| s.to_string()).collect();
        let root = augment(Command::new("ontoref").subcommand_required(true), &argv);
        let matches = root
            .try_get_matches_from(std::iter::once("ontoref").chain(line.iter().copied()))
            .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let (words, leaf) = path(&matches);
        let tool = catalog::by_words(&words).unwrap_or_else(|| panic!("{words:?}"));
        (tool, arguments(tool, leaf))
    }

    #[test]
    fn every_tool_has_a_command_that_parses_with_its_required_arguments() {
        for tool in catalog::catalog() {
            let mut line: Vec<String> = tool.words.iter().map(|w| w.to_string()).collect();
            for spec in tool.args().iter().filter(|s| s.required) {
                if !spec.positional {
                    line.push(format!("--{}", spec.long()));
                }
                line.push("x".into());
            }
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            let (found, _) = parse(&line);
            assert_eq!(found.name(), tool.name());
        }
    }

    #[test]
    fn a_query_takes_several_words_and_lists_repeat_in_the_singular() {
        let (tool, args) = parse(&[
            "qa", "search", "deploy", "to", "staging", "--tag", "ops", "--tag", "ci", "--limit",
            "3",
        ]);
        assert_eq!(tool.words, ["qa", "search"]);
        assert_eq!(
            args,
            json!({"query": "deploy to staging", "tags": ["ops", "ci"], "limit": 3})
        );
    }

    #[test]
    fn only_written_arguments_are_sent_and_enum_values_take_their_canonical_case() {
        let (_, args) = parse(&["node", "list", "--level", "axiom"]);
        assert_eq!(args, json!({"level": "Axiom"}));
        let (_, args) = parse(&["describe", "deps"]);
        assert_eq!(args, json!({"subject": "deps"}));
        let (_, args) = parse(&["describe", "everything"]);
        assert_eq!(
            args,
            json!({"subject": "everything"}),
            "the tool refuses it, not clap"
        );
        let (_, args) = parse(&["qa", "list", "--verified", "true"]);
        assert_eq!(args, json!({"verified": true}));
        let (tool, args) = parse(&[
            "secrets",
            "fetch",
            "domains/a/b:1",
            "--reveal",
            "--registry-id",
            "r",
        ]);
        assert_eq!(tool.words, ["secrets", "fetch"]);
        assert_eq!(
            args,
            json!({"target": "domains/a/b:1", "reveal": true, "registry_id": "r"})
        );
    }

    #[test]
    fn only_the_tools_the_command_line_names_get_their_arguments() {
        let argv: Vec<String> = ["--project", "p", "qa", "-f", "json", "search", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let root = augment(Command::new("ontoref"), &argv);
        let args_of = |group: &str, leaf: &str| {
            root.find_subcommand(group)
                .and_then(|g| g.find_subcommand(leaf))
                .map(|c| c.get_arguments().count())
                .unwrap()
        };
        assert!(args_of("qa", "search") >= 3, "query, tags, limit");
        assert_eq!(args_of("qa", "list"), 0, "not named: name and summary only");
        assert_eq!(args_of("node", "show"), 0);
    }

    #[test]
    fn help_shows_the_description_range_values_and_default() {
        let argv = ["graph".to_owned(), "impact".to_owned(), "--help".to_owned()];
        let mut root = augment(Command::new("ontoref"), &argv);
        let impact = catalog::by_words(&["graph", "impact"]).unwrap();
        let help = root
            .find_subcommand_mut("graph")
            .and_then(|g| g.find_subcommand_mut("impact"))
            .map(|c| c.render_long_help().to_string())
            .unwrap();
        assert!(
            help.contains("Walk the ontology graph from a node"),
            "{help}"
        );
        assert!(
            help.contains("(1-5)") && help.contains("[default: 2]"),
            "{help}"
        );
        assert!(help.contains("[values: in, out, both]"), "{help}");
        assert!(
            help.contains(&format!("MCP tool: {}", impact.name())),
            "{help}"
        );
    }
}
