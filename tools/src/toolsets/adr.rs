//! Toolset `adr`: architecture decision records (`adrs/adr-NNN-*.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::adr::{Adr, AdrStatus, Finding, Severity};
use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::model::Skipped;
use crate::onto_mcp_tool;
use crate::paging::{PageKey, page_rows};
use crate::text::{Text, cell_of};
use crate::toolsets::limit;

crate::declare_toolset! {
    id: "adr",
    title: "Architecture decisions",
    when: "to learn why a decision was made and which constraints bind the code",
    description: "Architecture decision records (adrs/): list by status; read one with its context, decision, rationale and every Hard or Soft constraint. Check Hard constraints before changing the code they govern.",
    needs_caller: false,
}

/// Arguments of `ontoref_adr_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdrListParams {
    /// Keep ADRs with this status.
    #[serde(default)]
    pub status: Option<AdrStatus>,
    /// Page size.
    #[serde(default = "crate::toolsets::default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same filter.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// An ADR in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: AdrStatus,
    /// Date.
    pub date: String,
    /// Hard constraints.
    pub hard_constraints: usize,
    /// Soft constraints.
    pub soft_constraints: usize,
    /// The ADR it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// ADRs that replace it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded_by: Vec<String>,
}

/// One page of ADRs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrList {
    /// ADRs of this page, by file name.
    pub adrs: Vec<AdrSummary>,
    /// ADRs matching the filter, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// ADR files that failed to load, with the error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Problems across ADRs: dangling `supersedes`, repeated ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// Lists architecture decisions.
#[onto_mcp_tool(toolset = "adr", custom_cli)]
pub struct AdrListTool;

impl ToolBase for AdrListTool {
    type Parameter = AdrListParams;
    type Output = AdrList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_adr_list")
    }

    fn title() -> Option<String> {
        Some("List architecture decisions".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the project's architecture decision records (adrs/adr-NNN-*.ncl): id, title, \
             status (Proposed, Accepted, Superseded), date, counts of Hard and Soft constraints, \
             and supersession links. Filter by status; `Accepted` gives the decisions in force. \
             ADR files that fail to load are listed under `skipped` with their error, and \
             dangling `supersedes` under `findings`, so one broken file hides nothing. Read one \
             with ontoref_adr_get. Paged by `limit` (default 50) and `cursor`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List architecture decisions"))
    }
}

impl AsyncTool<Engine> for AdrListTool {
    async fn invoke(engine: &Engine, p: AdrListParams) -> Result<AdrList, ToolError> {
        let limit = limit("ontoref_adr_list", p.limit, 500)?;
        let set = engine.adrs().await?;
        let rows: Vec<AdrSummary> = set
            .adrs
            .iter()
            .filter(|(_, a)| p.status.is_none_or(|s| a.status == s))
            .map(|(_, a)| AdrSummary {
                id: a.id.clone(),
                title: a.title.clone(),
                status: a.status,
                date: a.date.clone(),
                hard_constraints: a
                    .constraints
                    .iter()
                    .filter(|c| c.severity == Severity::Hard)
                    .count(),
                soft_constraints: a
                    .constraints
                    .iter()
                    .filter(|c| c.severity == Severity::Soft)
                    .count(),
                supersedes: a.supersedes.clone(),
                superseded_by: set.superseded_by(&a.id),
            })
            .collect();
        let generation: [u8; 32] =
            Sha256::digest(serde_json::to_vec(&rows).unwrap_or_default()).into();
        let key = PageKey::new(&format!("adr_list {:?}", p.status), &generation);
        let (adrs, total, next_cursor) = page_rows(&rows, &key, p.cursor.as_deref(), limit)?;
        Ok(AdrList {
            total,
            adrs,
            next_cursor,
            findings: set.findings(),
            skipped: set.skipped.clone(),
        })
    }
}

/// Arguments of `ontoref_adr_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdrGetParams {
    /// The ADR's id, e.g. `adr-003`.
    pub id: String,
}

/// One decision in full.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrGet {
    /// The ADR.
    pub adr: Adr,
    /// Its file, relative to the project.
    pub file: String,
    /// ADRs that replace it.
    pub superseded_by: Vec<String>,
    /// The supersession chain through it, oldest first.
    pub chain: Vec<String>,
}

/// Reads one architecture decision.
#[onto_mcp_tool(toolset = "adr")]
pub struct AdrGetTool;

impl ToolBase for AdrGetTool {
    type Parameter = AdrGetParams;
    type Output = AdrGet;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_adr_get")
    }

    fn title() -> Option<String> {
        Some("Show an architecture decision".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one ADR by id: title, status, date, context, decision, rationale, every \
             constraint (id, Hard or Soft, claim, and how to check it), the file it lives in, the \
             ADRs that supersede it and the whole supersession chain, oldest first. Check an \
             ADR's Hard constraints before changing code it governs. An unknown id is \
             `adr-not-found`, whose hint names the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show an architecture decision"))
    }
}

impl AsyncTool<Engine> for AdrGetTool {
    async fn invoke(engine: &Engine, p: AdrGetParams) -> Result<AdrGet, ToolError> {
        let set = engine.adrs().await?;
        let (file, adr) = match set.get(&p.id) {
            Ok(found) => found,
            Err(not_found) => {
                // A broken file may hold the ADR asked for: report its error.
                if let Some(s) = set.skipped.iter().find(|s| {
                    s.file.contains(&format!("{}-", p.id))
                        || s.file.ends_with(&format!("{}.ncl", p.id))
                }) {
                    return Err(ToolError::Skipped(s.error.clone()));
                }
                return Err(not_found.into());
            }
        };
        Ok(AdrGet {
            adr: adr.clone(),
            file: file.to_owned(),
            superseded_by: set.superseded_by(&p.id),
            chain: set.chain(&p.id),
        })
    }
}

impl ToolCommand for AdrListTool {
    fn text(list: &AdrList, out: &mut Text) -> bool {
        let rows: Vec<Vec<String>> = list
            .adrs
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    cell_of(&a.status),
                    a.date.clone(),
                    a.title.clone(),
                ]
            })
            .collect();
        out.table(&["id", "status", "date", "title"], &rows);
        out.line(&format!("\n{} of {}", list.adrs.len(), list.total));
        if !list.skipped.is_empty() {
            out.line("\nskipped:");
            out.value(&serde_json::json!(list.skipped));
        }
        if !list.findings.is_empty() {
            out.line("\nfindings:");
            out.value(&serde_json::json!(list.findings));
        }
        out.next_page(list.next_cursor.as_deref());
        true
    }
}
