//! Toolset `ontology`: the project's nodes, edges and state dimensions
//! (`.ontology/core.ncl`, `state.ncl`, `gate.ncl`).

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
use crate::ontology::{
    Direction, Impact, NodeGet, NodeLevel, NodeList, Pole, StateOut, state_report,
};
use crate::paging::RESPONSE_BUDGET;
use crate::text::{Text, cell_of};
use crate::toolsets::{in_range, limit};

crate::declare_toolset! {
    id: "ontology",
    title: "Ontology graph",
    when: "to see what the project is made of and what depends on what",
    description: "The ontology (.ontology/): axioms, tensions and practices with the files that embody them, their edges, impact walks, and each state dimension's path to its desired state.",
    needs_caller: false,
}

fn default_depth() -> u32 {
    2
}

/// Arguments of `ontoref_node_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeListParams {
    /// Keep nodes of this level.
    #[serde(default)]
    pub level: Option<NodeLevel>,
    /// Keep nodes of this pole.
    #[serde(default)]
    pub pole: Option<Pole>,
    /// Page size.
    #[serde(default = "crate::toolsets::default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same filters.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Lists ontology nodes.
#[onto_mcp_tool(toolset = "ontology", custom_cli)]
pub struct NodeListTool;

impl ToolBase for NodeListTool {
    type Parameter = NodeListParams;
    type Output = NodeList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_node_list")
    }

    fn title() -> Option<String> {
        Some("List ontology nodes".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the project's ontology nodes (.ontology/core.ncl): id, name, level (Axiom = what \
             must hold, Tension = forces pulling against each other, Practice = what the team \
             does) and pole. Filter by level or pole. Use it to learn what the project is; read one \
             node with its edges with ontoref_node_get, and what hangs on it with \
             ontoref_graph_impact. Pages hold `limit` nodes (default 50, max 500); pass \
             `next_cursor` back as `cursor` for more.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List ontology nodes"))
    }
}

impl AsyncTool<Engine> for NodeListTool {
    async fn invoke(engine: &Engine, p: NodeListParams) -> Result<NodeList, ToolError> {
        let limit = limit(&Self::name(), p.limit, 500)?;
        engine
            .core()
            .await?
            .list(p.level, p.pole, limit, p.cursor.as_deref())
    }
}

/// Arguments of `ontoref_node_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGetParams {
    /// The node's id.
    pub id: String,
}

/// Reads one node and its edges.
#[onto_mcp_tool(toolset = "ontology")]
pub struct NodeGetTool;

impl ToolBase for NodeGetTool {
    type Parameter = NodeGetParams;
    type Output = NodeGet;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_node_get")
    }

    fn title() -> Option<String> {
        Some("Show an ontology node".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one ontology node by id: name, level, pole, description, whether it is an \
             invariant, the files that embody it (artifact_paths), the ADRs that bind it, and its \
             incoming and outgoing edges (other node, relation kind, note). An unknown id is the \
             error `node-not-found`, whose hint names the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show an ontology node"))
    }
}

impl AsyncTool<Engine> for NodeGetTool {
    async fn invoke(engine: &Engine, p: NodeGetParams) -> Result<NodeGet, ToolError> {
        engine.core().await?.get(&p.id)
    }
}

/// Arguments of `ontoref_graph_impact`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactParams {
    /// The node to start from.
    pub id: String,
    /// `in`: what depends on the node (default); `out`: what it depends on; `both`.
    #[serde(default)]
    pub direction: Direction,
    /// How many edges to follow.
    #[serde(default = "default_depth")]
    #[schemars(range(min = 1, max = 5))]
    pub depth: u32,
}

/// The transitive neighbourhood of a node.
#[onto_mcp_tool(toolset = "ontology")]
pub struct GraphImpactTool;

impl ToolBase for GraphImpactTool {
    type Parameter = ImpactParams;
    type Output = Impact;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_graph_impact")
    }

    fn title() -> Option<String> {
        Some("Impact of an ontology node".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Walk the ontology graph from a node, breadth first, up to `depth` edges (default 2, \
             max 5): direction `in` finds what depends on it (which practices realize an axiom), \
             `out` what it depends on, `both` either. Returns each reached node with its distance \
             and the edge it was reached by, and every ADR binding the start node or a reached \
             node. Use it before changing something an axiom or decision protects.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Impact of an ontology node"))
    }
}

impl AsyncTool<Engine> for GraphImpactTool {
    async fn invoke(engine: &Engine, p: ImpactParams) -> Result<Impact, ToolError> {
        let depth = in_range(&Self::name(), "depth", p.depth, 5)?;
        let core = engine.core().await?;
        Ok(core.impact(&p.id, p.direction, depth, RESPONSE_BUDGET)?)
    }
}

/// Arguments of `ontoref_state` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateParams {}

/// The project's state dimensions.
#[onto_mcp_tool(toolset = "ontology")]
pub struct StateTool;

impl ToolBase for StateTool {
    type Parameter = StateParams;
    type Output = StateOut;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_state")
    }

    fn title() -> Option<String> {
        Some("Project state dimensions".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Report each state dimension of the project (.ontology/state.ncl): its current and \
             desired state, whether it is there, the shortest path of declared transitions from \
             current to desired (each with its condition) and, for a gated transition, the \
             membrane from .ontology/gate.ncl that blocks it with the guards that must hold. Use \
             it to see what the project is working towards and what stands in the way.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Project state dimensions"))
    }
}

impl AsyncTool<Engine> for StateTool {
    async fn invoke(engine: &Engine, _p: StateParams) -> Result<StateOut, ToolError> {
        Ok(state_report(
            &*engine.state().await?,
            &*engine.gates().await?,
        ))
    }
}

impl ToolCommand for NodeListTool {
    fn text(list: &NodeList, out: &mut Text) -> bool {
        let rows: Vec<Vec<String>> = list
            .nodes
            .iter()
            .map(|n| {
                vec![
                    n.id.clone(),
                    cell_of(&n.level),
                    cell_of(&n.pole),
                    n.name.clone(),
                ]
            })
            .collect();
        out.table(&["id", "level", "pole", "name"], &rows);
        out.line(&format!("\n{} of {}", list.nodes.len(), list.total));
        out.next_page(list.next_cursor.as_deref());
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn node_list_filters_by_level_and_pages() {
        let (e, _d) = template();
        let all = call::<NodeListTool>(&e, json!({})).unwrap();
        let axioms = call::<NodeListTool>(&e, json!({"level": "Axiom"})).unwrap();
        let n = axioms["nodes"].as_array().unwrap();
        assert!(
            !n.is_empty() && n.iter().all(|x| x["level"] == "Axiom"),
            "{axioms}"
        );
        assert!(axioms["total"].as_u64() < all["total"].as_u64());
        let page = call::<NodeListTool>(&e, json!({"limit": 1})).unwrap();
        assert!(page["next_cursor"].is_string());
        assert_eq!(
            code::<NodeListTool>(&e, json!({"pole": "North"})),
            "invalid-params"
        );
    }

    #[test]
    fn node_get_returns_the_node_and_both_directions_of_edges() {
        let (e, _d) = template();
        let got = call::<NodeGetTool>(&e, json!({"id": "knowledge-is-typed"})).unwrap();
        assert_eq!(got["node"]["id"], "knowledge-is-typed");
        assert!(!got["incoming"].as_array().unwrap().is_empty(), "{got}");
        assert_eq!(
            code::<NodeGetTool>(&e, json!({"id": "knowledge-is-typd"})),
            "node-not-found"
        );
    }

    #[test]
    fn graph_impact_reaches_further_with_depth_and_checks_its_range() {
        let (e, _d) = template();
        let walk = |depth: u32| {
            call::<GraphImpactTool>(
                &e,
                json!({"id": "knowledge-is-typed", "direction": "both", "depth": depth}),
            )
            .unwrap()["nodes"]
                .as_array()
                .unwrap()
                .len()
        };
        assert!(
            walk(1) > 0 && walk(1) < walk(3),
            "{} vs {}",
            walk(1),
            walk(3)
        );
        assert_eq!(
            code::<GraphImpactTool>(&e, json!({"id": "knowledge-is-typed", "depth": 6})),
            "invalid-params"
        );
    }

    #[test]
    fn state_reports_each_dimension_with_its_path() {
        let (e, _d) = template();
        let state = call::<StateTool>(&e, json!({})).unwrap();
        let dims = state["dimensions"].as_array().unwrap();
        let adoption = dims
            .iter()
            .find(|d| d["id"] == "protocol-adoption")
            .unwrap();
        assert_eq!(adoption["at_desired"], false);
        assert!(
            !adoption["path"].as_array().unwrap().is_empty(),
            "{adoption}"
        );
    }
}
