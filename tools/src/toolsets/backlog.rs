//! Toolset `backlog`: the project's open work (`reflection/backlog.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backlog::{Item, ItemFilter};
use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::paging::{PageKey, page_rows};
use crate::text::Text;
use crate::toolsets::limit;

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

/// A backlog item in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// Date created.
    pub created: String,
}

/// One page of backlog items.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BacklogList {
    /// Items of this page, in file order.
    pub items: Vec<ItemSummary>,
    /// Items matching the filters, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
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
        let limit = limit("ontoref_backlog_list", p.limit, 500)?;
        let backlog = engine.backlog().await?;
        let filter = ItemFilter {
            status: p.status.as_deref(),
            priority: p.priority.as_deref(),
            kind: p.kind.as_deref(),
        };
        let rows: Vec<ItemSummary> = backlog
            .matching(&filter)
            .into_iter()
            .map(|i| ItemSummary {
                id: i.id.clone(),
                title: i.title.clone(),
                kind: i.kind.clone(),
                priority: i.priority.clone(),
                status: i.status.clone(),
                created: i.created.clone(),
            })
            .collect();
        let query =
            format!("backlog_list {:?} {:?} {:?}", p.status, p.priority, p.kind).to_lowercase();
        let key = PageKey::new(&query, backlog.generation());
        let (items, total, next_cursor) = page_rows(&rows, &key, p.cursor.as_deref(), limit)?;
        Ok(BacklogList {
            total,
            items,
            next_cursor,
        })
    }
}

/// Arguments of `ontoref_backlog_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogGetParams {
    /// The item's id, e.g. `bl-003`.
    pub id: String,
}

/// One backlog item in full.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BacklogGet {
    /// The item.
    pub item: Item,
}

/// Reads one backlog item.
#[onto_mcp_tool(toolset = "backlog")]
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
        let backlog = engine.backlog().await?;
        Ok(BacklogGet {
            item: backlog.get(&p.id)?.clone(),
        })
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
