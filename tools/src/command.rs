//! How a tool appears on the command line: its command words, which
//! parameters are positional, its text for a person and when the command
//! exits 1, declared beside the tool ([`ToolCommand`]); and the arguments
//! derived from its input schema ([`ArgSpec`]), which the binary turns into
//! a `clap` command. Nothing here knows `clap`.
//!
//! Derivation rules (the binary's `--help` and README rely on them):
//! - command words from the name: `ontoref_node_get` → `node show`
//!   (`get` reads `show` on the command line), `ontoref_state` → `state`;
//! - a required `id`, `query` or `target`, and the tool's own
//!   [`ToolCommand::POSITIONAL`] parameters, are positional; a `query` takes
//!   several words, joined by spaces;
//! - every other property is a `--flag` (underscores become dashes); an
//!   array of strings is a repeatable flag named in the singular (`tags` →
//!   `--tag`); a boolean defaulting to false is a switch; enum values,
//!   defaults and integer ranges come from the schema.

use rmcp::handler::server::router::tool::ToolBase;
use rmcp::model::Tool;
use serde_json::{Map, Value};

use crate::text::{Style, Text};

/// A tool's command line. `#[onto_mcp_tool]` implements it with the
/// defaults; a tool that says `custom_cli` implements it beside its other
/// impls.
pub trait ToolCommand: ToolBase {
    /// The command words after `ontoref`, space-separated; `None` derives
    /// them from the name ([`default_words`]).
    const WORDS: Option<&'static str> = None;
    /// Optional parameters taken as positional arguments, in order, after
    /// a required `id`/`query`/`target`.
    const POSITIONAL: &'static [&'static str] = &[];

    /// Writes `output` for a person; returning `false` leaves it to the
    /// generic rendering ([`Text::value`]).
    fn text(output: &Self::Output, out: &mut Text) -> bool {
        let _ = (output, out);
        false
    }

    /// Whether the command exits 1 although the call succeeded (a check
    /// that failed, a Hard finding).
    fn failed(output: &Self::Output) -> bool {
        let _ = output;
        false
    }
}

/// `output` as text for a person in `style`: the tool's own rendering
/// ([`ToolCommand::text`]), else the generic rendering of its JSON
/// ([`Text::value`]). The one rendering of an output: the command line
/// prints it, and the MCP resources ([`crate::resources`]) and prompts
/// ([`crate::prompts`]) serve it as Markdown.
pub fn render<T: ToolCommand>(output: &T::Output, style: Style) -> String {
    let mut text = Text::new(style);
    if !T::text(output, &mut text) {
        text.value(&serde_json::to_value(output).unwrap_or_default());
    }
    text.finish()
}

/// Parameter names that are positional when required.
const POSITIONAL_WHEN_REQUIRED: [&str; 3] = ["id", "query", "target"];

/// The command words derived from a tool name.
pub fn default_words(name: &str) -> Vec<String> {
    let rest = name.strip_prefix("ontoref_").unwrap_or(name);
    match rest.split_once('_') {
        None => vec![rest.to_owned()],
        Some((group, verb)) => {
            let verb = if verb == "get" { "show" } else { verb };
            vec![group.to_owned(), verb.replace('_', "-")]
        }
    }
}

/// What kind of value an argument takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    /// One string.
    Text,
    /// Several words joined by spaces (a positional `query`).
    Words,
    /// An integer in `min..=max`.
    Integer {
        /// The least value.
        min: i64,
        /// The greatest value.
        max: i64,
    },
    /// `true` when the flag is given (a boolean defaulting to false).
    Switch,
    /// `true` or `false`, written out.
    Bool,
    /// A repeatable string.
    List,
}

/// One argument of a derived command.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgSpec {
    /// The schema property it fills.
    pub property: String,
    /// Positional (else a `--flag`).
    pub positional: bool,
    /// Must be given.
    pub required: bool,
    /// Its kind.
    pub kind: ArgKind,
    /// The only values it takes (a schema enum), canonical spelling.
    pub values: Vec<String>,
    /// Its default, as the schema states it.
    pub default: Option<Value>,
    /// Help text: the property's description.
    pub help: String,
}

impl ArgSpec {
    /// The flag's long name (`registry_id` → `registry-id`, `tags` → `tag`),
    /// or the positional's value name.
    pub fn long(&self) -> String {
        let name = if self.kind == ArgKind::List {
            self.property
                .strip_suffix('s')
                .unwrap_or(&self.property)
                .to_owned()
        } else {
            self.property.clone()
        };
        name.replace('_', "-")
    }
}

/// The arguments of `tool`'s command, positionals first (in order), then
/// flags sorted by name.
pub fn arg_specs(tool: &Tool, positional: &[&str]) -> Vec<ArgSpec> {
    let schema = tool.input_schema.as_ref();
    let defs = schema.get("$defs").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut specs: Vec<ArgSpec> = props
        .iter()
        .map(|(name, prop)| {
            let is_required = required.contains(&name.as_str());
            let is_positional = (is_required && POSITIONAL_WHEN_REQUIRED.contains(&name.as_str()))
                || positional.contains(&name.as_str());
            spec(name, prop, defs, is_required, is_positional)
        })
        .collect();
    let rank = |s: &ArgSpec| {
        if !s.positional {
            usize::MAX
        } else if let Some(i) = POSITIONAL_WHEN_REQUIRED
            .iter()
            .position(|p| *p == s.property && s.required)
        {
            i
        } else {
            POSITIONAL_WHEN_REQUIRED.len()
                + positional
                    .iter()
                    .position(|p| *p == s.property)
                    .unwrap_or(0)
        }
    };
    specs.sort_by(|a, b| (rank(a), &a.property).cmp(&(rank(b), &b.property)));
    specs
}

fn spec(
    name: &str,
    prop: &Value,
    defs: Option<&Map<String, Value>>,
    required: bool,
    positional: bool,
) -> ArgSpec {
    let resolved = resolve(prop, defs);
    let help = prop
        .get("description")
        .or_else(|| resolved.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let default = prop.get("default").cloned();
    let values = enum_values(resolved);
    let kind = match resolved.get("type").and_then(Value::as_str) {
        Some("integer") => ArgKind::Integer {
            min: resolved
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN),
            max: resolved
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX),
        },
        Some("boolean") if default == Some(Value::Bool(false)) && !positional => ArgKind::Switch,
        Some("boolean") => ArgKind::Bool,
        Some("array") => ArgKind::List,
        _ if positional && name == "query" => ArgKind::Words,
        _ => ArgKind::Text,
    };
    ArgSpec {
        property: name.to_owned(),
        positional,
        required,
        kind,
        values,
        default,
        help,
    }
}

/// The property itself, or the definition its `$ref` names.
fn resolve<'a>(prop: &'a Value, defs: Option<&'a Map<String, Value>>) -> &'a Value {
    prop.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.and_then(|d| d.get(name)))
        .unwrap_or(prop)
}

/// `enum: [..]` or `oneOf: [{const}, ..]` string values.
fn enum_values(schema: &Value) -> Vec<String> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .filter_map(|a| a.get("const").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(schema: Value) -> Tool {
        let Value::Object(map) = schema else {
            panic!("object schema")
        };
        Tool::new("ontoref_x_y", "d", std::sync::Arc::new(map))
    }

    #[test]
    fn words_come_from_the_name_and_get_reads_show() {
        assert_eq!(default_words("ontoref_node_get"), ["node", "show"]);
        assert_eq!(default_words("ontoref_qa_search"), ["qa", "search"]);
        assert_eq!(default_words("ontoref_state"), ["state"]);
        assert_eq!(
            default_words("ontoref_backlog_add_item"),
            ["backlog", "add-item"]
        );
    }

    #[test]
    fn required_ids_and_queries_are_positional_the_rest_are_typed_flags() {
        let t = tool(json!({
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {"type": "string", "description": "Free text."},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                "reveal": {"type": "boolean", "default": false},
                "verified": {"type": "boolean"},
                "registry_id": {"type": "string"},
                "dir": {"$ref": "#/$defs/Dir", "description": "Which way."}
            },
            "$defs": {"Dir": {"oneOf": [{"const": "in"}, {"const": "out"}]}}
        }));
        let specs = arg_specs(&t, &[]);
        let names: Vec<_> = specs.iter().map(|s| s.property.as_str()).collect();
        assert_eq!(
            names,
            [
                "query",
                "dir",
                "limit",
                "registry_id",
                "reveal",
                "tags",
                "verified"
            ]
        );
        let by = |n: &str| specs.iter().find(|s| s.property == n).unwrap();
        assert!(by("query").positional && by("query").required);
        assert_eq!(by("query").kind, ArgKind::Words);
        assert_eq!(by("query").help, "Free text.");
        assert_eq!(by("tags").kind, ArgKind::List);
        assert_eq!(by("tags").long(), "tag");
        assert_eq!(by("limit").kind, ArgKind::Integer { min: 1, max: 100 });
        assert_eq!(by("limit").default, Some(json!(10)));
        assert_eq!(by("reveal").kind, ArgKind::Switch);
        assert_eq!(by("verified").kind, ArgKind::Bool);
        assert_eq!(by("registry_id").long(), "registry-id");
        assert_eq!(by("dir").values, ["in", "out"]);
        assert_eq!(by("dir").help, "Which way.");
        assert!(!by("dir").positional);
    }

    #[test]
    fn a_tool_names_extra_positionals_and_an_optional_id_stays_a_flag() {
        let t = tool(json!({
            "type": "object",
            "properties": {
                "subject": {"enum": ["a", "b"]},
                "id": {"type": "string"}
            }
        }));
        let specs = arg_specs(&t, &["subject"]);
        assert_eq!(specs[0].property, "subject");
        assert!(specs[0].positional && !specs[0].required);
        assert_eq!(specs[0].values, ["a", "b"]);
        assert!(!specs[1].positional, "an optional id is a flag");
    }
}
