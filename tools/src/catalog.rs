//! The tool catalog: every tool registered with `#[onto_mcp_tool]`, collected
//! at link time with `inventory`.
//!
//! [`catalog`] is the one list the MCP server, the CLI's `tools` listing and
//! the README table are built from, sorted by toolset, then name.
//! [`Selection`] applies `--toolsets`, `--tools`, `--exclude-tools` and
//! `--read-only`, in that order of precedence.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::Tool;
use serde_json::Value;

use crate::command::{ArgSpec, ToolCommand, arg_specs, default_words};
use crate::engine::Engine;
use crate::error::{ToolError, clip};
use crate::suggest::{closest, quote_list};
use crate::text::Style;
use crate::toolset;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs a tool: JSON arguments in, JSON structured output out.
pub type InvokeFn = for<'a> fn(&'a Engine, Value) -> BoxFuture<'a, Result<Value, ToolError>>;

/// Runs a tool for the command line: JSON arguments in, the structured
/// output plus, when a style is asked for, its text for a person.
pub type RunFn =
    for<'a> fn(&'a Engine, Value, Option<Style>) -> BoxFuture<'a, Result<Ran, ToolError>>;

/// What a command-line run of a tool gives.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The structured output, exactly as MCP clients get it.
    pub value: Value,
    /// The output for a person, in the style asked for.
    pub text: Option<String>,
    /// The command should exit 1 ([`ToolCommand::failed`]).
    pub failed: bool,
}

/// What `#[onto_mcp_tool]` submits: a toolset and functions generated from
/// the tool's `ToolBase`, `AsyncTool<Engine>` and `ToolCommand` impls.
#[derive(Debug)]
pub struct ToolEntry {
    toolset: &'static str,
    name: fn() -> Cow<'static, str>,
    title: fn() -> Option<String>,
    description: fn() -> Option<Cow<'static, str>>,
    annotations: fn() -> Option<rmcp::model::ToolAnnotations>,
    definition: fn() -> Tool,
    invoke: InvokeFn,
    run: RunFn,
    words: Option<&'static str>,
    positional: &'static [&'static str],
}

inventory::collect!(ToolEntry);

impl ToolEntry {
    /// The entry for tool `T` in `toolset`.
    pub const fn new<T>(toolset: &'static str) -> ToolEntry
    where
        T: AsyncTool<Engine> + ToolBase<Error = ToolError> + ToolCommand + 'static,
    {
        ToolEntry {
            toolset,
            name: T::name,
            title: T::title,
            description: T::description,
            annotations: T::annotations,
            definition: definition::<T>,
            invoke: invoke::<T>,
            run: run::<T>,
            words: T::WORDS,
            positional: T::POSITIONAL,
        }
    }
}

fn definition<T: ToolBase>() -> Tool {
    let mut input = T::input_schema().map(|s| (*s).clone()).unwrap_or_else(|| {
        let mut m = rmcp::model::JsonObject::new();
        m.insert("type".into(), "object".into());
        m.insert("additionalProperties".into(), false.into());
        m
    });
    crate::schema::normalize(&mut input);
    let output = T::output_schema().map(|s| {
        let mut s = (*s).clone();
        crate::schema::normalize(&mut s);
        std::sync::Arc::new(s)
    });
    let mut tool = Tool::new(
        T::name(),
        T::description().unwrap_or_default(),
        std::sync::Arc::new(input),
    );
    tool.title = T::title();
    tool.output_schema = output;
    tool.annotations = T::annotations();
    tool.icons = T::icons();
    tool.meta = T::meta();
    tool
}

/// The tool's parameters from JSON arguments (`null` is `{}`).
fn params<T: ToolBase<Error = ToolError>>(args: Value) -> Result<T::Parameter, ToolError> {
    let args = match args {
        Value::Null => Value::Object(Default::default()),
        other => other,
    };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde quotes the offending value (and path keys) whole: cut both.
        ToolError::InvalidParams {
            tool: T::name().into_owned(),
            detail: if path == "." {
                clip(&inner)
            } else {
                format!("{}: {}", clip(&path), clip(&inner))
            },
        }
    })
}

fn to_value<T: ToolBase<Error = ToolError>>(output: &T::Output) -> Result<Value, ToolError> {
    serde_json::to_value(output).map_err(|e| {
        ToolError::Internal(format!(
            "cannot serialise the output of `{}`: {e}",
            T::name()
        ))
    })
}

fn invoke<T>(engine: &Engine, args: Value) -> BoxFuture<'_, Result<Value, ToolError>>
where
    T: AsyncTool<Engine> + ToolBase<Error = ToolError> + 'static,
{
    Box::pin(async move {
        let output = <T as AsyncTool<Engine>>::invoke(engine, params::<T>(args)?).await?;
        to_value::<T>(&output)
    })
}

fn run<T>(
    engine: &Engine,
    args: Value,
    style: Option<Style>,
) -> BoxFuture<'_, Result<Ran, ToolError>>
where
    T: AsyncTool<Engine> + ToolBase<Error = ToolError> + ToolCommand + 'static,
{
    Box::pin(async move {
        let output = <T as AsyncTool<Engine>>::invoke(engine, params::<T>(args)?).await?;
        let value = to_value::<T>(&output)?;
        let text = style.map(|style| crate::command::render::<T>(&output, style));
        Ok(Ran {
            failed: T::failed(&output),
            value,
            text,
        })
    })
}

/// A tool as the catalog holds it. Its MCP definition (with the schemas
/// schemars generates, the costly part) is built on first use, so a
/// command line that runs one tool builds one definition.
#[derive(Debug)]
pub struct CatalogTool {
    /// The toolset it belongs to.
    pub toolset: &'static str,
    name: String,
    title: Option<String>,
    description: Cow<'static, str>,
    read_only: bool,
    definition: fn() -> Tool,
    tool: OnceLock<Tool>,
    /// Runs it.
    pub invoke: InvokeFn,
    /// Runs it for the command line.
    pub run: RunFn,
    /// Its command words on the command line (`["node", "show"]`).
    pub words: Vec<&'static str>,
    /// Optional parameters its command takes as positionals.
    pub positional: &'static [&'static str],
}

impl CatalogTool {
    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its title.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Its description, for a model.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its MCP definition (built on first use).
    pub fn tool(&self) -> &Tool {
        self.tool.get_or_init(self.definition)
    }

    /// Whether the tool is annotated read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Runs the tool with JSON arguments.
    pub async fn call(&self, engine: &Engine, args: Value) -> Result<Value, ToolError> {
        (self.invoke)(engine, args).await
    }

    /// Runs the tool for the command line, with its text in `style`.
    pub async fn run(
        &self,
        engine: &Engine,
        args: Value,
        style: Option<Style>,
    ) -> Result<Ran, ToolError> {
        (self.run)(engine, args, style).await
    }

    /// Whether its toolset acts for an authenticated caller (the vault):
    /// such tools are never served over HTTP without tokens.
    pub fn needs_caller(&self) -> bool {
        toolset::find(self.toolset).is_none_or(|s| s.needs_caller)
    }

    /// The arguments of its command, derived from its input schema.
    pub fn args(&self) -> Vec<ArgSpec> {
        arg_specs(self.tool(), self.positional)
    }

    /// The first sentence of its description.
    pub fn summary(&self) -> &str {
        let description = self.description();
        description
            .find(". ")
            .map_or(description, |end| &description[..=end])
            .trim()
    }
}

/// Every registered tool, sorted by toolset then name.
pub fn catalog() -> &'static [CatalogTool] {
    static CATALOG: OnceLock<Vec<CatalogTool>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut tools: Vec<CatalogTool> = inventory::iter::<ToolEntry>
            .into_iter()
            .map(|e| {
                let name = (e.name)().into_owned();
                let words = match e.words {
                    Some(words) => words.split_whitespace().collect(),
                    None => default_words(&name)
                        .into_iter()
                        .map(|w| &*Box::leak(w.into_boxed_str()))
                        .collect(),
                };
                CatalogTool {
                    toolset: e.toolset,
                    read_only: (e.annotations)()
                        .and_then(|a| a.read_only_hint)
                        .unwrap_or(false),
                    title: (e.title)(),
                    description: (e.description)().unwrap_or_default(),
                    name,
                    definition: e.definition,
                    tool: OnceLock::new(),
                    invoke: e.invoke,
                    run: e.run,
                    words,
                    positional: e.positional,
                }
            })
            .collect();
        tools.sort_by(|a, b| (a.toolset, a.name()).cmp(&(b.toolset, b.name())));
        tools
    })
}

/// Builds the definitions of `tools` on a thread of their own, so that a
/// first `tools/list` finds them ready while `initialize` and a first call,
/// which need none of them, are answered without waiting for them (their
/// schemas take a few milliseconds to build). Sorted by name, as a server
/// lists them.
pub fn prepare_definitions(tools: &[&'static CatalogTool]) {
    let mut tools = tools.to_vec();
    tools.sort_by(|a, b| a.name().cmp(b.name()));
    let spawned = std::thread::Builder::new()
        .name("ontoref-defs".into())
        .spawn(move || {
            // From the last: a `tools/list` that comes before they are all
            // built builds from the first, and the two meet.
            for tool in tools.iter().rev() {
                tool.tool();
            }
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "tool definitions are built on first use");
    }
}

/// The catalog entry of the tool type `T`, so domain text can name a tool
/// by its type rather than spelling its name.
pub fn of<T: ToolBase>() -> Option<&'static CatalogTool> {
    let name = T::name();
    catalog().iter().find(|t| t.name() == name)
}

/// The catalog tool whose command words are `words`.
pub fn by_words(words: &[&str]) -> Option<&'static CatalogTool> {
    catalog().iter().find(|t| t.words == words)
}

/// The catalog tool named `name`.
pub fn find(name: &str) -> Result<&'static CatalogTool, ToolError> {
    catalog()
        .iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| ToolError::UnknownTool {
            name: clip(name),
            closest: closest(name, catalog().iter().map(CatalogTool::name), 3),
        })
}

/// A `--toolsets`/`--tools`/`--exclude-tools` name that does not exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectionError {
    /// Unknown toolset.
    #[error("unknown toolset `{name}`; known toolsets: {known}")]
    UnknownToolset {
        /// The name given.
        name: String,
        /// The known toolsets.
        known: String,
    },
    /// Unknown tool.
    #[error("unknown tool `{name}`{suggestion}")]
    UnknownTool {
        /// The name given.
        name: String,
        /// ` (did you mean …?)`.
        suggestion: String,
    },
}

/// Which tools a server exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Toolsets to enable; `None` means all.
    pub toolsets: Option<Vec<String>>,
    /// Single tools added on top of the toolsets.
    pub tools: Vec<String>,
    /// Tools removed, whatever enabled them.
    pub exclude: Vec<String>,
    /// Keep only tools annotated read-only; wins over everything.
    pub read_only: bool,
}

impl Selection {
    /// The selected tools, in catalog order.
    pub fn apply(&self) -> Result<Vec<&'static CatalogTool>, SelectionError> {
        let all = catalog();
        if let Some(sets) = &self.toolsets {
            for set in sets {
                if set != "all" && toolset::find(set).is_none() {
                    return Err(SelectionError::UnknownToolset {
                        name: set.clone(),
                        known: toolset::toolsets()
                            .iter()
                            .map(|s| s.id)
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        for name in self.tools.iter().chain(&self.exclude) {
            if !all.iter().any(|t| t.name() == name) {
                let near = closest(name, all.iter().map(CatalogTool::name), 2);
                return Err(SelectionError::UnknownTool {
                    name: name.clone(),
                    suggestion: if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", quote_list(&near))
                    },
                });
            }
        }
        Ok(all
            .iter()
            .filter(|t| {
                let in_set = match &self.toolsets {
                    None => true,
                    Some(sets) => sets.iter().any(|s| s == "all" || s == t.toolset),
                };
                in_set || self.tools.iter().any(|n| n == t.name())
            })
            .filter(|t| !self.exclude.iter().any(|n| n == t.name()))
            .filter(|t| !self.read_only || t.read_only())
            .collect())
    }
}

/// Annotations of a tool that only reads project files: read-only,
/// idempotent, not destructive, closed world.
pub fn read_only_annotations(title: &str) -> rmcp::model::ToolAnnotations {
    let mut a = rmcp::model::ToolAnnotations::with_title(title);
    a.read_only_hint = Some(true);
    a.destructive_hint = Some(false);
    a.idempotent_hint = Some(true);
    a.open_world_hint = Some(false);
    a
}

/// The annotations of a tool that writes the project's knowledge files:
/// not read-only, closed world; `destructive` when it changes or removes
/// what exists, `idempotent` when a repeat has no further effect.
pub fn write_annotations(
    title: &str,
    destructive: bool,
    idempotent: bool,
) -> rmcp::model::ToolAnnotations {
    let mut a = rmcp::model::ToolAnnotations::with_title(title);
    a.read_only_hint = Some(false);
    a.destructive_hint = Some(destructive);
    a.idempotent_hint = Some(idempotent);
    a.open_world_hint = Some(false);
    a
}

/// `_meta` asking Claude Code to keep this tool's definition loaded
/// despite tool search (`anthropic/alwaysLoad`): for the one tool a model
/// should always see.
pub fn always_load_meta() -> rmcp::model::MetaObject {
    let mut m = rmcp::model::JsonObject::new();
    m.insert("anthropic/alwaysLoad".into(), true.into());
    rmcp::model::MetaObject(m)
}

/// `_meta` asking Claude Code to confirm every call with the user, in
/// every permission mode (`anthropic/requiresUserInteraction`): for tools
/// that issue or use registry credentials.
pub fn user_interaction_meta() -> rmcp::model::MetaObject {
    let mut m = rmcp::model::JsonObject::new();
    m.insert("anthropic/requiresUserInteraction".into(), true.into());
    rmcp::model::MetaObject(m)
}

/// A `Cow` name, for `ToolBase::name`.
pub const fn name(name: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_hints_sit_on_the_right_tools_only() {
        let with = |key: &str| -> Vec<String> {
            let mut names: Vec<String> = catalog()
                .iter()
                .filter(|t| {
                    t.tool()
                        .meta
                        .as_ref()
                        .is_some_and(|m| m.0.get(key) == Some(&serde_json::Value::Bool(true)))
                })
                .map(|t| t.name().to_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(with("anthropic/alwaysLoad"), ["ontoref_search"]);
        assert_eq!(
            with("anthropic/requiresUserInteraction"),
            ["ontoref_artifact_pull", "ontoref_credential_fetch"]
        );
    }

    #[test]
    fn names_are_unique_prefixed_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for t in catalog() {
            let name = t.name();
            assert!(seen.insert(name.to_owned()), "duplicate tool {name}");
            let rest = name
                .strip_prefix("ontoref_")
                .unwrap_or_else(|| panic!("{name} lacks the ontoref_ prefix"));
            assert!(
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !rest.starts_with('_')
                    && !rest.ends_with('_'),
                "{name} is not snake_case"
            );
        }
        assert!(!catalog().is_empty());
    }

    #[test]
    fn every_tool_has_required_metadata() {
        for t in catalog() {
            let name = t.name();
            assert!(
                toolset::find(t.toolset).is_some(),
                "{name}: unknown toolset {}",
                t.toolset
            );
            assert!(
                t.tool().title.as_deref().is_some_and(|s| !s.is_empty()),
                "{name}: no title"
            );
            let desc = t.tool().description.as_deref().unwrap_or("");
            assert!(
                desc.len() >= 80,
                "{name}: description too thin for a model: {desc:?}"
            );
            assert_eq!(
                t.tool().input_schema.get("type"),
                Some(&Value::from("object")),
                "{name}: input root not an object"
            );
            let out = t
                .tool()
                .output_schema
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no outputSchema"));
            assert_eq!(
                out.get("type"),
                Some(&Value::from("object")),
                "{name}: output root not an object"
            );
            let a = t
                .tool()
                .annotations
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no annotations"));
            for (hint, v) in [
                ("readOnlyHint", a.read_only_hint),
                ("destructiveHint", a.destructive_hint),
                ("idempotentHint", a.idempotent_hint),
                ("openWorldHint", a.open_world_hint),
            ] {
                assert!(v.is_some(), "{name}: {hint} not set explicitly");
            }
            let text = serde_json::to_string(t.tool()).unwrap_or_default();
            assert!(
                !text.contains("\"null\""),
                "{name}: nullable type left in schema"
            );
        }
    }

    #[test]
    fn descriptions_fit_2048_characters_and_open_with_what_the_tool_is_for() {
        for t in catalog() {
            let desc = t.tool().description.as_deref().unwrap_or("");
            assert!(
                desc.chars().count() <= 2048,
                "{}: description has {} characters",
                t.name(),
                desc.chars().count()
            );
            let first = t.summary();
            assert!(
                (20..=400).contains(&first.chars().count()) && first.ends_with('.'),
                "{}: the first sentence should say what the tool is for: {first:?}",
                t.name()
            );
            assert!(
                first.starts_with(|c: char| c.is_ascii_uppercase()),
                "{}: {first:?}",
                t.name()
            );
        }
    }

    #[test]
    fn command_words_are_unique_and_no_command_is_a_group_of_another() {
        let mut seen = std::collections::HashSet::new();
        for t in catalog() {
            assert!(!t.words.is_empty() && t.words.len() <= 2, "{}", t.name());
            assert!(seen.insert(t.words.clone()), "{}: words taken", t.name());
        }
        for t in catalog().iter().filter(|t| t.words.len() == 1) {
            assert!(
                !catalog()
                    .iter()
                    .any(|o| o.words.len() == 2 && o.words[0] == t.words[0]),
                "{} is both a command and a group",
                t.words[0]
            );
        }
        let qa_show = find("ontoref_qa_show").unwrap();
        assert_eq!(
            by_words(&["qa", "show"]).map(|t| t.name()),
            Some(qa_show.name())
        );
    }

    #[test]
    fn selection_precedence() {
        let qa_show = "ontoref_qa_show".to_owned();
        let all = Selection::default().apply().unwrap();
        assert_eq!(all.len(), catalog().len());
        let none = Selection {
            toolsets: Some(vec![]),
            ..Default::default()
        }
        .apply()
        .unwrap();
        assert!(none.is_empty());
        let one = Selection {
            toolsets: Some(vec![]),
            tools: vec![qa_show.clone()],
            ..Default::default()
        }
        .apply()
        .unwrap();
        assert_eq!(
            one.iter().map(|t| t.name()).collect::<Vec<_>>(),
            [qa_show.as_str()]
        );
        let excluded = Selection {
            tools: vec![qa_show.clone()],
            exclude: vec![qa_show.clone()],
            ..Default::default()
        }
        .apply()
        .unwrap();
        assert!(excluded.iter().all(|t| t.name() != qa_show));
        assert!(matches!(
            Selection {
                toolsets: Some(vec!["nope".into()]),
                ..Default::default()
            }
            .apply(),
            Err(SelectionError::UnknownToolset { .. })
        ));
        assert!(matches!(
            Selection {
                tools: vec!["ontoref_qa_shw".into()],
                ..Default::default()
            }
            .apply(),
            Err(SelectionError::UnknownTool { .. })
        ));
        let ro = Selection {
            read_only: true,
            ..Default::default()
        }
        .apply()
        .unwrap();
        assert!(ro.iter().all(|t| t.read_only()));
    }
}
