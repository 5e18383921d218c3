//! Toolset `project`: what the project is (`ontoref_describe`), one ranked
//! search across every kind of record (`ontoref_search`), and the projects
//! registered on this machine (`ontoref_list_projects`). Declarative
//! metadata only: no tool here reads a credential.

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::overview::{self, Description, ProjectList, SearchResults, Subject};
use crate::text::{Hit, Text};
use crate::toolsets::limit;

crate::declare_toolset! {
    id: "project",
    title: "Project overview",
    when: "to search all of it at once",
    description: "What the project is (identity, counts, registries, vault state), one ranked search across every kind, and the projects on this machine.",
    needs_caller: false,
}

/// Arguments of `ontoref_describe`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    /// `capabilities` (default), `requirements` or `deps`.
    #[serde(default)]
    pub subject: Subject,
}

/// Describes the project.
#[onto_mcp_tool(toolset = "project", custom_cli)]
pub struct DescribeTool;

impl ToolBase for DescribeTool {
    type Parameter = DescribeParams;
    type Output = Description;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_describe")
    }

    fn title() -> Option<String> {
        Some("Describe the project".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Describe the project ontoref serves. `capabilities` (default): identity (slug, name, \
             description, kind), its level in the mode hierarchy, the toolsets served, counts of \
             nodes, ADRs, Q&A entries, backlog items, modes and vendored ontology extensions, the \
             registry topology and the vault state (declared or not, vault id) — declarative metadata only, never a secret. \
             `requirements`: what it needs; `deps`: critical dependencies with their failure \
             impact. A good first call on an unfamiliar project.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Describe the project"))
    }
}

impl AsyncTool<Engine> for DescribeTool {
    async fn invoke(engine: &Engine, p: DescribeParams) -> Result<Description, ToolError> {
        Ok(overview::describe(engine, p.subject).await)
    }
}

fn default_search_limit() -> u32 {
    10
}

/// Arguments of `ontoref_search`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Free text.
    pub query: String,
    /// Kinds to search: `qa`, `node`, `adr`, `backlog`, `mode`, `extension` (all when empty).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Most results.
    #[serde(default = "default_search_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: u32,
}

/// Searches every kind of record.
#[onto_mcp_tool(toolset = "project", custom_cli)]
pub struct SearchTool;

impl ToolBase for SearchTool {
    type Parameter = SearchParams;
    type Output = SearchResults;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_search")
    }

    fn title() -> Option<String> {
        Some("Search the whole project".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "One ranked search (BM25, stemmed) across every kind of record: Q&A entries, ontology \
             nodes, ADRs, backlog items, modes and vendored ontology extensions (their entity \
             types, traits and namespaces). Each hit is {kind, id, title, score, snippet}; open \
             it with the kind's own tool (ontoref_qa_show, ontoref_node_get, ontoref_adr_get, \
             ontoref_backlog_get, ontoref_mode_resolve, ontoref_get_ontology_extension). Limit \
             kinds with \
             `kinds`. Returns up to `limit` hits (default 10, max 100) and `total_matches`; no \
             match is an empty list. Use it when you do not know where an answer lives.",
        ))
    }

    fn meta() -> Option<rmcp::model::MetaObject> {
        Some(crate::catalog::always_load_meta())
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Search the whole project"))
    }
}

impl AsyncTool<Engine> for SearchTool {
    async fn invoke(engine: &Engine, p: SearchParams) -> Result<SearchResults, ToolError> {
        let limit = limit(&Self::name(), p.limit, 100)?;
        overview::search(engine, &p.query, &p.kinds, limit)
            .await
            .map_err(|r| ToolError::InvalidParams {
                tool: Self::name().into_owned(),
                detail: r.detail(),
            })
    }
}

/// Arguments of `ontoref_list_projects` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProjectsParams {}

/// Lists registered projects.
#[onto_mcp_tool(toolset = "project", custom_cli)]
pub struct ListProjectsTool;

impl ToolBase for ListProjectsTool {
    type Parameter = ListProjectsParams;
    type Output = ProjectList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_list_projects")
    }

    fn title() -> Option<String> {
        Some("List projects".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the projects registered on this machine (`projects.ncl` in ontoref's config \
             home, $ONTOREF_CONFIG_HOME or ~/.config/ontoref, as `projects = [{slug, root}]`), \
             each with counts of its records and badges: the registries it provides and the vault \
             it declares (id and whether it is synced; never a secret). When none is registered, \
             the current project alone.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List projects"))
    }
}

impl AsyncTool<Engine> for ListProjectsTool {
    async fn invoke(engine: &Engine, _p: ListProjectsParams) -> Result<ProjectList, ToolError> {
        overview::list_projects(engine).await
    }
}

impl ToolCommand for DescribeTool {
    const POSITIONAL: &'static [&'static str] = &["subject"];
}

impl ToolCommand for SearchTool {
    fn text(found: &SearchResults, out: &mut Text) -> bool {
        let hits: Vec<Hit<'_>> = found
            .results
            .iter()
            .map(|r| Hit {
                kind: Some(&r.kind),
                id: &r.id,
                title: &r.title,
                score: r.score,
                snippet: &r.snippet,
                tags: &[],
            })
            .collect();
        out.hits(&hits, found.total_matches);
        true
    }
}

impl ToolCommand for ListProjectsTool {
    const WORDS: Option<&'static str> = Some("projects");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn describe_counts_every_kind_and_answers_each_subject() {
        let (e, _d) = template();
        let caps = call::<DescribeTool>(&e, json!({})).unwrap();
        assert_eq!(caps["subject"], "capabilities");
        let d = &caps["description"];
        assert!(d["counts"]["qa"].as_u64().unwrap() > 0, "{d}");
        assert!(d["counts"]["adrs"].as_u64().unwrap() > 0, "{d}");
        assert!(d["toolsets"].as_array().unwrap().contains(&json!("qa")));
        assert_eq!(d["vault_state"]["declared"], true);
        assert_eq!(d["vault_state"]["synced"], false);
        let deps = call::<DescribeTool>(&e, json!({"subject": "deps"})).unwrap();
        assert!(deps["description"]["critical_deps"].is_array(), "{deps}");
        assert!(deps["description"].get("counts").is_none());
        assert_eq!(
            code::<DescribeTool>(&e, json!({"subject": "all"})),
            "invalid-params"
        );
    }

    #[test]
    fn search_spans_kinds_and_narrows_to_the_kinds_asked() {
        let (e, _d) = template();
        let all =
            call::<SearchTool>(&e, json!({"query": "secrets vault agent", "limit": 30})).unwrap();
        let kinds: std::collections::HashSet<&str> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
        let adrs = call::<SearchTool>(
            &e,
            json!({"query": "secrets vault agent", "kinds": ["adr"]}),
        )
        .unwrap();
        let hits = adrs["results"].as_array().unwrap();
        assert!(
            !hits.is_empty() && hits.iter().all(|h| h["kind"] == "adr"),
            "{adrs}"
        );
        assert_eq!(
            code::<SearchTool>(&e, json!({"query": "x", "kinds": ["nope"]})),
            "invalid-params"
        );
        assert_eq!(
            code::<SearchTool>(&e, json!({"query": ""})),
            "invalid-params"
        );
    }

    #[test]
    fn list_projects_shows_the_current_project_when_none_is_registered() {
        let (e, _d) = template();
        let list = call::<ListProjectsTool>(&e, json!({})).unwrap();
        let cards = list["projects"].as_array().unwrap();
        assert_eq!(cards.len(), 1, "{list}");
        assert_eq!(cards[0]["current"], true);
        assert!(cards[0]["counts"]["nodes"].as_u64().unwrap() > 0);
        assert_eq!(cards[0]["vault"]["synced"], false);
        assert!(
            list["registry_file"]
                .as_str()
                .unwrap()
                .ends_with("projects.ncl")
        );
    }
}
