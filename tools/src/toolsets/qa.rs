//! Toolset `qa`: the project's Q&A knowledge (`reflection/qa.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::qa::{QaList, QaSearch, QaShow};
use crate::toolsets::limit;

fn default_list_limit() -> u32 {
    50
}

fn default_search_limit() -> u32 {
    10
}

/// Arguments of `ontoref_qa_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaListParams {
    /// Keep entries having every one of these tags (case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Keep only entries whose `verified` flag equals this.
    #[serde(default)]
    pub verified: Option<bool>,
    /// Page size.
    #[serde(default = "default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same filters.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Lists Q&A entries without their answers.
#[onto_mcp_tool(toolset = "qa")]
pub struct QaListTool;

impl ToolBase for QaListTool {
    type Parameter = QaListParams;
    type Output = QaList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_list")
    }

    fn title() -> Option<String> {
        Some("List Q&A entries".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the project's Q&A entries (reflection/qa.ncl) in file order: id, question, tags, \
             verified flag and date, without answers, so a page stays small. Filter by tags (all \
             must match) or by verified. Use it to see what knowledge exists; use \
             ontoref_qa_search to find entries about a topic and ontoref_qa_show to read one. \
             Pages hold `limit` entries (default 50, max 500); when `next_cursor` is present, pass \
             it back as `cursor` with the same filters for the next page.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List Q&A entries"))
    }
}

impl AsyncTool<Engine> for QaListTool {
    async fn invoke(engine: &Engine, p: QaListParams) -> Result<QaList, ToolError> {
        let limit = limit("ontoref_qa_list", p.limit, 500)?;
        engine
            .qa()
            .await?
            .list(&p.tags, p.verified, limit, p.cursor.as_deref())
    }
}

/// Arguments of `ontoref_qa_search`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaSearchParams {
    /// Free text: words, an id, or a phrase.
    pub query: String,
    /// Keep entries having every one of these tags (case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Most results returned.
    #[serde(default = "default_search_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: u32,
}

/// Ranked search over the Q&A entries.
#[onto_mcp_tool(toolset = "qa")]
pub struct QaSearchTool;

impl ToolBase for QaSearchTool {
    type Parameter = QaSearchParams;
    type Output = QaSearch;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_search")
    }

    fn title() -> Option<String> {
        Some("Search Q&A entries".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Search the project's Q&A entries by relevance (BM25 over id, question, tags and \
             answer; id, question and tag hits weigh more than answer text; words are stemmed). \
             Returns up to `limit` results (default 10, max 100), best first, each with id, \
             question, score, tags and a snippet: the best-matching passage of the answer, at \
             most 300 characters. `total_matches` counts every match. No match is an empty list. \
             Read a whole answer with ontoref_qa_show.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Search Q&A entries"))
    }
}

impl AsyncTool<Engine> for QaSearchTool {
    async fn invoke(engine: &Engine, p: QaSearchParams) -> Result<QaSearch, ToolError> {
        let limit = limit("ontoref_qa_search", p.limit, 100)?;
        if p.query.trim().is_empty() {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_qa_search".to_owned(),
                detail: "query: must not be empty".to_owned(),
            });
        }
        Ok(engine.qa().await?.search(&p.query, &p.tags, limit))
    }
}

/// Arguments of `ontoref_qa_show`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaShowParams {
    /// The entry's id.
    pub id: String,
}

/// Reads one Q&A entry.
#[onto_mcp_tool(toolset = "qa")]
pub struct QaShowTool;

impl ToolBase for QaShowTool {
    type Parameter = QaShowParams;
    type Output = QaShow;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_show")
    }

    fn title() -> Option<String> {
        Some("Show a Q&A entry".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one Q&A entry by id with every field: question, full answer (line breaks \
             kept), actor, created_at, tags, related ids (ADRs or other entries, which can be \
             shown in turn) and verified. An answer too long for one response is cut, with \
             `truncated: true`. Get ids from ontoref_qa_search or ontoref_qa_list. An \
             unknown id is the error `qa-not-found`, whose hint names the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show a Q&A entry"))
    }
}

impl AsyncTool<Engine> for QaShowTool {
    async fn invoke(engine: &Engine, p: QaShowParams) -> Result<QaShow, ToolError> {
        Ok(engine.qa().await?.show(&p.id)?)
    }
}
