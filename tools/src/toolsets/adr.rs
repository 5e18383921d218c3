//! Toolset `adr`: architecture decision records (`adrs/adr-NNN-*.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::adr::{AdrGet, AdrList, AdrStatus};
use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
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
        let limit = limit(&Self::name(), p.limit, 500)?;
        engine
            .adrs()
            .await?
            .list(p.status, limit, p.cursor.as_deref())
    }
}

/// Arguments of `ontoref_adr_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdrGetParams {
    /// The ADR's id, e.g. `adr-003`.
    pub id: String,
}

/// Reads one architecture decision.
#[onto_mcp_tool(toolset = "adr", custom_cli)]
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
        engine.adrs().await?.show(&p.id)
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

impl ToolCommand for AdrGetTool {
    /// The decision as a document: title, status line, context, decision,
    /// rationale and constraints (the `ontoref://adr/{id}` resource too).
    fn text(got: &AdrGet, out: &mut Text) -> bool {
        let a = &got.adr;
        out.heading(&format!("{}: {}", a.id, a.title));
        let chain = if got.chain.len() > 1 {
            got.chain.join(" → ")
        } else {
            String::new()
        };
        out.facts(&[
            ("status", cell_of(&a.status)),
            ("date", a.date.clone()),
            ("file", out.code(&got.file)),
            ("supersedes", a.supersedes.clone().unwrap_or_default()),
            ("superseded by", got.superseded_by.join(", ")),
            ("chain", chain),
        ]);
        out.subheading("Context");
        out.passage(&a.context);
        out.subheading("Decision");
        out.passage(&a.decision);
        if !a.rationale.is_empty() {
            out.subheading("Rationale");
            for r in &a.rationale {
                out.item(&format!("{}: {}", r.claim, r.detail));
            }
            out.blank();
        }
        if !a.constraints.is_empty() {
            out.subheading("Constraints");
            for c in &a.constraints {
                let check = c
                    .check
                    .as_ref()
                    .map(|m| {
                        let json = serde_json::Value::Object(m.clone()).to_string();
                        format!("\ncheck: {}", out.code(&json))
                    })
                    .unwrap_or_default();
                out.item(&format!(
                    "{} ({}): {}{check}",
                    out.code(&c.id),
                    cell_of(&c.severity),
                    c.claim
                ));
            }
            out.blank();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn adr_list_filters_by_status_and_counts_constraints() {
        let (e, _d) = template();
        let superseded = call::<AdrListTool>(&e, json!({"status": "Superseded"})).unwrap();
        let adrs = superseded["adrs"].as_array().unwrap();
        assert_eq!(adrs.len(), 1, "{superseded}");
        assert_eq!(adrs[0]["id"], "adr-003");
        assert!(!adrs[0]["superseded_by"].as_array().unwrap().is_empty());
        let all = call::<AdrListTool>(&e, json!({})).unwrap();
        assert!(all["total"].as_u64().unwrap() > 1);
        assert!(
            all["adrs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["hard_constraints"].as_u64() > Some(0))
        );
    }

    #[test]
    fn adr_get_shows_constraints_and_the_supersession_chain() {
        let (e, _d) = template();
        let got = call::<AdrGetTool>(&e, json!({"id": "adr-003"})).unwrap();
        assert_eq!(got["adr"]["id"], "adr-003");
        assert!(!got["adr"]["constraints"].as_array().unwrap().is_empty());
        assert!(got["chain"].as_array().unwrap().len() >= 2, "{got}");
        assert!(
            got["file"].as_str().unwrap().starts_with("adrs/adr-003"),
            "{got}"
        );
        assert_eq!(
            code::<AdrGetTool>(&e, json!({"id": "adr-999"})),
            "adr-not-found"
        );
    }
}
