//! Toolset `backlog`: the project's open work (`reflection/backlog.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::backlog::{BacklogGet, BacklogList, BacklogStats, ItemFilter};
use crate::catalog::{name, read_only_annotations, write_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::text::Text;
use crate::toolsets::limit;
use crate::write::Written;
use crate::write::backlog::{ItemChange, NewItem};

crate::declare_toolset! {
    id: "backlog",
    title: "Backlog",
    when: "to see what work is open",
    description: "The project's backlog (reflection/backlog.ncl): items by kind, priority and status, and one item in full with the decisions it relates to.",
    needs_caller: false,
}

/// Arguments of `ontoref_backlog_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogListParams {
    /// Keep items with this status, e.g. `Open` (case-insensitive).
    #[serde(default)]
    pub status: Option<String>,
    /// Keep items with this priority, e.g. `High`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Keep items of this kind, e.g. `Bug`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Page size.
    #[serde(default = "crate::toolsets::default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same filters.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Lists backlog items.
#[onto_mcp_tool(toolset = "backlog", custom_cli)]
pub struct BacklogListTool;

impl ToolBase for BacklogListTool {
    type Parameter = BacklogListParams;
    type Output = BacklogList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_backlog_list")
    }

    fn title() -> Option<String> {
        Some("List backlog items".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the project's backlog (reflection/backlog.ncl): id, title, kind, priority, \
             status and creation date of each item, in file order. Filter by status (e.g. Open), \
             priority (e.g. High) or kind (e.g. Bug), compared case-insensitively. Use it to see \
             what is open before starting work; read one item's detail and related ADRs with \
             ontoref_backlog_get. Paged by `limit` (default 50, max 500) and `cursor`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List backlog items"))
    }
}

impl AsyncTool<Engine> for BacklogListTool {
    async fn invoke(engine: &Engine, p: BacklogListParams) -> Result<BacklogList, ToolError> {
        let limit = limit(&Self::name(), p.limit, 500)?;
        let filter = ItemFilter {
            status: p.status.as_deref(),
            priority: p.priority.as_deref(),
            kind: p.kind.as_deref(),
        };
        engine
            .backlog()
            .await?
            .list(&filter, limit, p.cursor.as_deref())
    }
}

/// Arguments of `ontoref_backlog_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogGetParams {
    /// The item's id, e.g. `bl-003`.
    pub id: String,
}

/// Reads one backlog item.
#[onto_mcp_tool(toolset = "backlog", custom_cli)]
pub struct BacklogGetTool;

impl ToolBase for BacklogGetTool {
    type Parameter = BacklogGetParams;
    type Output = BacklogGet;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_backlog_get")
    }

    fn title() -> Option<String> {
        Some("Show a backlog item".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one backlog item by id with every field: title, kind, priority, status, \
             detail, the ADRs it relates to, the state dimension it moves, what it graduates to \
             when done, and its creation date. An unknown id is `backlog-item-not-found`, whose \
             hint names the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show a backlog item"))
    }
}

impl AsyncTool<Engine> for BacklogGetTool {
    async fn invoke(engine: &Engine, p: BacklogGetParams) -> Result<BacklogGet, ToolError> {
        engine.backlog().await?.show(&p.id)
    }
}

/// Arguments of `ontoref_backlog_stats` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogStatsParams {}

/// Counts the backlog's items by status, priority and kind.
#[onto_mcp_tool(toolset = "backlog")]
pub struct BacklogStatsTool;

impl ToolBase for BacklogStatsTool {
    type Parameter = BacklogStatsParams;
    type Output = BacklogStats;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_backlog_stats")
    }

    fn title() -> Option<String> {
        Some("Count backlog items".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Count the project's backlog items (reflection/backlog.ncl) by status, priority and \
             kind, with the total: one small answer to \"how much is open, and how urgent\". List \
             the items themselves with ontoref_backlog_list and its filters.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Count backlog items"))
    }
}

impl AsyncTool<Engine> for BacklogStatsTool {
    async fn invoke(engine: &Engine, _p: BacklogStatsParams) -> Result<BacklogStats, ToolError> {
        Ok(engine.backlog().await?.stats())
    }
}

#[cfg(test)]
mod stats_tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, template};

    #[test]
    fn backlog_stats_counts_every_item_once_per_dimension() {
        let (e, _d) = template();
        let stats = call::<BacklogStatsTool>(&e, json!({})).unwrap();
        let listed = call::<BacklogListTool>(&e, json!({"kind": "Bug"})).unwrap();
        let total = stats["total"].as_u64().unwrap();
        assert!(total > 1, "{stats}");
        for dim in ["by_status", "by_priority", "by_kind"] {
            let sum: u64 = stats[dim]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|v| v.as_u64())
                .sum();
            assert_eq!(sum, total, "{dim}: {stats}");
        }
        assert_eq!(stats["by_kind"]["Bug"], listed["total"], "{stats}");
    }
}

impl ToolCommand for BacklogGetTool {
    /// The item as a document: title, its fields, then its detail (the
    /// `ontoref://backlog/{id}` resource too).
    fn text(got: &BacklogGet, out: &mut Text) -> bool {
        let i = &got.item;
        out.heading(&format!("{}: {}", i.id, i.title));
        out.facts(&[
            ("status", i.status.clone()),
            ("priority", i.priority.clone()),
            ("kind", i.kind.clone()),
            ("created", i.created.clone()),
            ("related ADRs", i.related_adrs.join(", ")),
            (
                "related dimension",
                i.related_dim.clone().unwrap_or_default(),
            ),
            ("graduates to", i.graduates_to.clone().unwrap_or_default()),
        ]);
        if !i.detail.is_empty() {
            out.passage(&i.detail);
        }
        true
    }
}

impl ToolCommand for BacklogListTool {
    fn text(list: &BacklogList, out: &mut Text) -> bool {
        let rows: Vec<Vec<String>> = list
            .items
            .iter()
            .map(|i| {
                vec![
                    i.id.clone(),
                    i.status.clone(),
                    i.priority.clone(),
                    i.kind.clone(),
                    i.title.clone(),
                ]
            })
            .collect();
        out.table(&["id", "status", "priority", "kind", "title"], &rows);
        out.line(&format!("\n{} of {}", list.items.len(), list.total));
        out.next_page(list.next_cursor.as_deref());
        true
    }
}

/// Arguments of `ontoref_backlog_add`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogAddParams {
    /// A one-line title.
    pub title: String,
    /// The kind, an enum tag: `Todo`, `Bug`, `Research`, `Chore`, …
    pub kind: String,
    /// The priority, an enum tag: `High`, `Medium`, `Low`.
    pub priority: String,
    /// What is to be done and why.
    pub detail: String,
    /// The status, an enum tag; `Open` when left out.
    #[serde(default)]
    pub status: Option<String>,
    /// Ids of related ADRs.
    #[serde(default)]
    pub related_adrs: Vec<String>,
    /// The state dimension (.ontology/state.ncl) the item moves.
    #[serde(default)]
    pub related_dim: Option<String>,
    /// What the item becomes when done: `PrItem` or `StateTransition`.
    #[serde(default)]
    pub graduates_to: Option<String>,
}

/// Adds a backlog item.
#[onto_mcp_tool(toolset = "backlog", custom_cli)]
pub struct BacklogAddTool;

impl ToolBase for BacklogAddTool {
    type Parameter = BacklogAddParams;
    type Output = Written;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_backlog_add")
    }

    fn title() -> Option<String> {
        Some("Add a backlog item".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Add an item of open work to the project's backlog (reflection/backlog.ncl): title, \
             kind (an enum tag such as Todo, Bug, Research), priority (High, Medium, Low), detail, \
             and optionally status (default Open), related_adrs, related_dim, graduates_to. \
             Returns the new `id`, the next free `bl-NNN`; `created` is today. The file is \
             edited in place and checked against its contract first (`backlog-invalid` with \
             Nickel's diagnostic otherwise, file unchanged). List first (ontoref_backlog_list) \
             to avoid duplicates.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(write_annotations("Add a backlog item", false, false))
    }
}

impl AsyncTool<Engine> for BacklogAddTool {
    async fn invoke(engine: &Engine, p: BacklogAddParams) -> Result<Written, ToolError> {
        let actor = crate::write::actor(engine);
        crate::write::backlog::add(
            engine,
            NewItem {
                title: p.title,
                kind: p.kind,
                priority: p.priority,
                status: p.status,
                detail: p.detail,
                related_adrs: p.related_adrs,
                related_dim: p.related_dim,
                graduates_to: p.graduates_to,
            },
            &actor,
        )
        .await
    }
}

impl ToolCommand for BacklogAddTool {
    fn text(w: &Written, out: &mut Text) -> bool {
        out.line(&format!("added {} to {}", w.id, w.file));
        true
    }
}

/// Arguments of `ontoref_backlog_update`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogUpdateParams {
    /// The item's id, e.g. `bl-003`.
    pub id: String,
    /// A new status, an enum tag: `Open`, `InProgress`, `Done`, …
    #[serde(default)]
    pub status: Option<String>,
    /// A new priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// New details.
    #[serde(default)]
    pub detail: Option<String>,
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// New related ADR ids (replace them all).
    #[serde(default)]
    pub related_adrs: Option<Vec<String>>,
    /// A new state dimension.
    #[serde(default)]
    pub related_dim: Option<String>,
    /// What the item becomes when done.
    #[serde(default)]
    pub graduates_to: Option<String>,
}

/// Changes fields of a backlog item.
#[onto_mcp_tool(toolset = "backlog", custom_cli)]
pub struct BacklogUpdateTool;

impl ToolBase for BacklogUpdateTool {
    type Parameter = BacklogUpdateParams;
    type Output = Written;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_backlog_update")
    }

    fn title() -> Option<String> {
        Some("Update a backlog item".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Change fields of one backlog item (reflection/backlog.ncl) by id, typically its \
             status (Open, InProgress, Done) or priority; fields left out stay as they are. Only \
             that item's text changes; the file is checked against its contract before it is \
             replaced (`backlog-invalid` otherwise, file unchanged). An unknown id is \
             `backlog-item-not-found` with the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(write_annotations("Update a backlog item", true, true))
    }
}

impl AsyncTool<Engine> for BacklogUpdateTool {
    async fn invoke(engine: &Engine, p: BacklogUpdateParams) -> Result<Written, ToolError> {
        let change = ItemChange {
            id: p.id,
            title: p.title,
            kind: p.kind,
            priority: p.priority,
            status: p.status,
            detail: p.detail,
            related_adrs: p.related_adrs,
            related_dim: p.related_dim,
            graduates_to: p.graduates_to,
        };
        if change.is_empty() {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_backlog_update".to_owned(),
                detail: "nothing to change: give status, priority, detail, title, kind, \
                         related_adrs, related_dim or graduates_to"
                    .to_owned(),
            });
        }
        let actor = crate::write::actor(engine);
        crate::write::backlog::update(engine, change, &actor).await
    }
}

impl ToolCommand for BacklogUpdateTool {
    fn text(w: &Written, out: &mut Text) -> bool {
        out.line(&format!("updated {} in {}", w.id, w.file));
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn backlog_list_filters_case_insensitively() {
        let (e, _d) = template();
        let bugs = call::<BacklogListTool>(&e, json!({"kind": "bug"})).unwrap();
        let items = bugs["items"].as_array().unwrap();
        assert!(
            !items.is_empty() && items.iter().all(|i| i["kind"] == "Bug"),
            "{bugs}"
        );
        let all = call::<BacklogListTool>(&e, json!({})).unwrap();
        assert!(all["total"].as_u64() > bugs["total"].as_u64());
    }

    #[test]
    fn backlog_get_returns_one_item_whole() {
        let (e, _d) = template();
        let got = call::<BacklogGetTool>(&e, json!({"id": "bl-001"})).unwrap();
        assert_eq!(got["item"]["id"], "bl-001");
        assert!(!got["item"]["title"].as_str().unwrap().is_empty());
        assert_eq!(
            code::<BacklogGetTool>(&e, json!({"id": "bl-0001"})),
            "backlog-item-not-found"
        );
    }
}
