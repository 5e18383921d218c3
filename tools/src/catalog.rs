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

use crate::engine::Engine;
use crate::error::{ToolError, clip};
use crate::suggest::{closest, quote_list};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs a tool: JSON arguments in, JSON structured output out.
pub type InvokeFn = for<'a> fn(&'a Engine, Value) -> BoxFuture<'a, Result<Value, ToolError>>;

/// What `#[onto_mcp_tool]` submits: a toolset and two functions generated
/// from the tool's `ToolBase` and `AsyncTool<Engine>` impls.
#[derive(Debug)]
pub struct ToolEntry {
    toolset: &'static str,
    definition: fn() -> Tool,
    invoke: InvokeFn,
}

inventory::collect!(ToolEntry);

impl ToolEntry {
    /// The entry for tool `T` in `toolset`.
    pub const fn new<T>(toolset: &'static str) -> ToolEntry
    where
        T: AsyncTool<Engine> + ToolBase<Error = ToolError> + 'static,
    {
        ToolEntry {
            toolset,
            definition: definition::<T>,
            invoke: invoke::<T>,
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

fn invoke<T>(engine: &Engine, args: Value) -> BoxFuture<'_, Result<Value, ToolError>>
where
    T: AsyncTool<Engine> + ToolBase<Error = ToolError> + 'static,
{
    Box::pin(async move {
        let args = match args {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let params: T::Parameter = serde_path_to_error::deserialize(args).map_err(|e| {
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
        })?;
        let output = <T as AsyncTool<Engine>>::invoke(engine, params).await?;
        serde_json::to_value(output).map_err(|e| {
            ToolError::Internal(format!(
                "cannot serialise the output of `{}`: {e}",
                T::name()
            ))
        })
    })
}

/// A tool as the catalog holds it.
#[derive(Debug, Clone)]
pub struct CatalogTool {
    /// The toolset it belongs to.
    pub toolset: &'static str,
    /// Its MCP definition.
    pub tool: Tool,
    /// Runs it.
    pub invoke: InvokeFn,
}

impl CatalogTool {
    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.tool.name
    }

    /// Whether the tool is annotated read-only.
    pub fn read_only(&self) -> bool {
        self.tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false)
    }

    /// Runs the tool with JSON arguments.
    pub async fn call(&self, engine: &Engine, args: Value) -> Result<Value, ToolError> {
        (self.invoke)(engine, args).await
    }
}

/// Every toolset ontoref knows, with what it is for.
pub const TOOLSETS: &[(&str, &str)] = &[
    (
        "adr",
        "architecture decision records (adrs/): list, show with constraints and supersession",
    ),
    (
        "backlog",
        "the project's open work (reflection/backlog.ncl): list, show",
    ),
    (
        "modes",
        "operational modes across the level hierarchy: list, show, resolve, validate",
    ),
    (
        "ontology",
        "nodes, edges and state dimensions (.ontology/): list, show, impact, state",
    ),
    (
        "project",
        "what the project is, one search across every kind, registered projects",
    ),
    (
        "qa",
        "the project's Q&A knowledge (reflection/qa.ncl): list, search, show",
    ),
    (
        "vault",
        "scope-gated registry credentials (SOPS/age): status, describe, audit, fetch",
    ),
];

/// Every registered tool, sorted by toolset then name.
pub fn catalog() -> &'static [CatalogTool] {
    static CATALOG: OnceLock<Vec<CatalogTool>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut tools: Vec<CatalogTool> = inventory::iter::<ToolEntry>
            .into_iter()
            .map(|e| CatalogTool {
                toolset: e.toolset,
                tool: (e.definition)(),
                invoke: e.invoke,
            })
            .collect();
        tools.sort_by(|a, b| (a.toolset, a.name()).cmp(&(b.toolset, b.name())));
        tools
    })
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
                if set != "all" && !TOOLSETS.iter().any(|(name, _)| name == set) {
                    return Err(SelectionError::UnknownToolset {
                        name: set.clone(),
                        known: TOOLSETS
                            .iter()
                            .map(|(n, _)| *n)
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

/// A `Cow` name, for `ToolBase::name`.
pub const fn name(name: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                TOOLSETS.iter().any(|(s, _)| *s == t.toolset),
                "{name}: unknown toolset {}",
                t.toolset
            );
            assert!(
                t.tool.title.as_deref().is_some_and(|s| !s.is_empty()),
                "{name}: no title"
            );
            let desc = t.tool.description.as_deref().unwrap_or("");
            assert!(
                desc.len() >= 80,
                "{name}: description too thin for a model: {desc:?}"
            );
            assert_eq!(
                t.tool.input_schema.get("type"),
                Some(&Value::from("object")),
                "{name}: input root not an object"
            );
            let out = t
                .tool
                .output_schema
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no outputSchema"));
            assert_eq!(
                out.get("type"),
                Some(&Value::from("object")),
                "{name}: output root not an object"
            );
            let a = t
                .tool
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
            let text = serde_json::to_string(&t.tool).unwrap_or_default();
            assert!(
                !text.contains("\"null\""),
                "{name}: nullable type left in schema"
            );
        }
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
