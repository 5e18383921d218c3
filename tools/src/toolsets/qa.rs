//! Toolset `qa`: the project's Q&A knowledge (`reflection/qa.ncl`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations, write_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::qa::{QaList, QaSearch, QaShow};
use crate::text::{Hit, Text};
use crate::toolsets::limit;
use crate::write::Written;
use crate::write::qa::{EntryChange, NewEntry};

crate::declare_toolset! {
    id: "qa",
    title: "Q&A knowledge",
    when: "to learn how this project does something",
    description: "The team's questions and answers (reflection/qa.ncl): search by topic for ranked snippets, read one entry whole, or page through them. Search before reading; record what you learn.",
    needs_caller: false,
}

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
#[onto_mcp_tool(toolset = "qa", custom_cli)]
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

impl ToolCommand for QaListTool {
    fn text(list: &QaList, out: &mut Text) -> bool {
        if out.is_markdown() {
            let rows: Vec<Vec<String>> = list
                .entries
                .iter()
                .map(|e| {
                    vec![
                        format!("`{}`", e.id),
                        e.question.clone(),
                        e.tags.join(", "),
                        if e.verified { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            out.table(&["id", "question", "tags", "verified"], &rows);
        } else {
            for e in &list.entries {
                let mark = if e.verified { "✓" } else { " " };
                out.line(&format!("{mark} {}\n    {}", e.id, e.question));
                if !e.tags.is_empty() {
                    out.line(&format!("    [{}]", e.tags.join(", ")));
                }
            }
        }
        out.line(&format!(
            "\n{} of {} entries",
            list.entries.len(),
            list.total
        ));
        out.next_page(list.next_cursor.as_deref());
        true
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
#[onto_mcp_tool(toolset = "qa", custom_cli)]
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

impl ToolCommand for QaSearchTool {
    fn text(found: &QaSearch, out: &mut Text) -> bool {
        let hits: Vec<Hit<'_>> = found
            .results
            .iter()
            .map(|r| Hit {
                kind: None,
                id: &r.id,
                title: &r.question,
                score: r.score,
                snippet: &r.snippet,
                tags: &r.tags,
            })
            .collect();
        out.hits(&hits, found.total_matches);
        true
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
#[onto_mcp_tool(toolset = "qa", custom_cli)]
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

impl ToolCommand for QaShowTool {
    fn text(shown: &QaShow, out: &mut Text) -> bool {
        let e = &shown.entry;
        let verified = if e.verified {
            "verified"
        } else {
            "not verified"
        };
        if out.is_markdown() {
            out.heading(&e.question);
            out.line(&format!(
                "`{}` · {} · {} · {verified}\n",
                e.id, e.actor, e.created_at
            ));
            out.passage(&e.answer);
        } else {
            out.line(&format!("{}\n{}\n", e.id, e.question));
            out.passage(&e.answer);
            out.line(&format!("by {} on {}, {verified}", e.actor, e.created_at));
        }
        out.list_field("tags", &e.tags);
        out.list_field("related", &e.related);
        if shown.truncated {
            out.line("(answer cut to fit one response)");
        }
        true
    }
}

/// Arguments of `ontoref_qa_add`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaAddParams {
    /// The question, as a reader would ask it.
    pub question: String,
    /// The answer: the commands to run and what to expect; line breaks are kept.
    pub answer: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ids of related ADRs or Q&A entries.
    #[serde(default)]
    pub related: Vec<String>,
    /// A kebab-case id; the next free `qa-NNN` when left out.
    #[serde(default)]
    pub id: Option<String>,
}

/// Adds a Q&A entry.
#[onto_mcp_tool(toolset = "qa", custom_cli)]
pub struct QaAddTool;

impl ToolBase for QaAddTool {
    type Parameter = QaAddParams;
    type Output = Written;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_add")
    }

    fn title() -> Option<String> {
        Some("Add a Q&A entry".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Record a question and its answer in the project's Q&A store (reflection/qa.ncl) so \
             every agent and person of the team finds it. Search first (ontoref_qa_search) and \
             update an existing entry rather than adding a near duplicate. Returns the new `id` \
             (the one given, kebab-case, or the next free `qa-NNN`). The entry is written by the \
             caller, dated today and unverified; the file is edited in place (nothing else in it \
             changes) and checked against its contract first: a refused entry is \
             `qa-invalid-entry` with Nickel's diagnostic, a taken id `qa-duplicate-id`, and the \
             file is then unchanged.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(write_annotations("Add a Q&A entry", false, false))
    }
}

impl AsyncTool<Engine> for QaAddTool {
    async fn invoke(engine: &Engine, p: QaAddParams) -> Result<Written, ToolError> {
        let actor = crate::write::actor(engine);
        crate::write::qa::add(
            engine,
            NewEntry {
                id: p.id,
                question: p.question,
                answer: p.answer,
                tags: p.tags,
                related: p.related,
            },
            &actor,
        )
        .await
    }
}

impl ToolCommand for QaAddTool {
    fn text(w: &Written, out: &mut Text) -> bool {
        out.line(&format!("added {} to {}", w.id, w.file));
        true
    }
}

/// Arguments of `ontoref_qa_update`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaUpdateParams {
    /// The entry's id.
    pub id: String,
    /// A new question.
    #[serde(default)]
    pub question: Option<String>,
    /// A new answer (replaces the whole answer).
    #[serde(default)]
    pub answer: Option<String>,
    /// New tags (replace them all).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// New related ids (replace them all).
    #[serde(default)]
    pub related: Option<Vec<String>>,
    /// Whether a person has checked the answer against the code.
    #[serde(default)]
    pub verified: Option<bool>,
}

/// Changes fields of a Q&A entry.
#[onto_mcp_tool(toolset = "qa", custom_cli)]
pub struct QaUpdateTool;

impl ToolBase for QaUpdateTool {
    type Parameter = QaUpdateParams;
    type Output = Written;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_update")
    }

    fn title() -> Option<String> {
        Some("Update a Q&A entry".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Change fields of one Q&A entry (reflection/qa.ncl) by id: question, answer, tags, \
             related or verified; fields left out stay as they are, a given list replaces the \
             old one. Read the entry first (ontoref_qa_show). Only that entry's text changes; \
             the file is checked against its contract before it is replaced (`qa-invalid-entry` \
             otherwise, file unchanged). An unknown id is `qa-not-found` with the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(write_annotations("Update a Q&A entry", true, true))
    }
}

impl AsyncTool<Engine> for QaUpdateTool {
    async fn invoke(engine: &Engine, p: QaUpdateParams) -> Result<Written, ToolError> {
        let change = EntryChange {
            id: p.id,
            question: p.question,
            answer: p.answer,
            tags: p.tags,
            related: p.related,
            verified: p.verified,
        };
        if change.is_empty() {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_qa_update".to_owned(),
                detail: "nothing to change: give question, answer, tags, related or verified"
                    .to_owned(),
            });
        }
        let actor = crate::write::actor(engine);
        crate::write::qa::update(engine, change, &actor).await
    }
}

impl ToolCommand for QaUpdateTool {
    fn text(w: &Written, out: &mut Text) -> bool {
        out.line(&format!("updated {} in {}", w.id, w.file));
        true
    }
}

/// Arguments of `ontoref_qa_delete`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaDeleteParams {
    /// The entry's id.
    pub id: String,
}

/// Deletes a Q&A entry.
#[onto_mcp_tool(toolset = "qa", custom_cli)]
pub struct QaDeleteTool;

impl ToolBase for QaDeleteTool {
    type Parameter = QaDeleteParams;
    type Output = Written;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_qa_delete")
    }

    fn title() -> Option<String> {
        Some("Delete a Q&A entry".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Delete one Q&A entry (reflection/qa.ncl) by id: its text and its line go, the rest \
             of the file stays byte for byte. Prefer ontoref_qa_update to correct an entry. An \
             unknown id is `qa-not-found` with the closest ids.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(write_annotations("Delete a Q&A entry", true, true))
    }
}

impl AsyncTool<Engine> for QaDeleteTool {
    async fn invoke(engine: &Engine, p: QaDeleteParams) -> Result<Written, ToolError> {
        let actor = crate::write::actor(engine);
        crate::write::qa::delete(engine, &p.id, &actor).await
    }
}

impl ToolCommand for QaDeleteTool {
    fn text(w: &Written, out: &mut Text) -> bool {
        out.line(&format!("deleted {} from {}", w.id, w.file));
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn qa_list_pages_with_a_cursor_and_checks_its_limit() {
        let (e, _d) = template();
        let first = call::<QaListTool>(&e, json!({"limit": 2})).unwrap();
        assert_eq!(first["entries"].as_array().unwrap().len(), 2);
        assert!(first["total"].as_u64().unwrap() > 2);
        assert!(
            first["entries"][0].get("answer").is_none(),
            "no answers in a list"
        );
        let cursor = first["next_cursor"].as_str().unwrap();
        let next = call::<QaListTool>(&e, json!({"limit": 2, "cursor": cursor})).unwrap();
        assert_ne!(next["entries"][0]["id"], first["entries"][0]["id"]);
        assert_eq!(
            code::<QaListTool>(&e, json!({"limit": 0})),
            "invalid-params"
        );
    }

    #[test]
    fn qa_search_ranks_best_first_and_refuses_a_blank_query() {
        let (e, _d) = template();
        let found =
            call::<QaSearchTool>(&e, json!({"query": "secrets vault", "limit": 3})).unwrap();
        let scores: Vec<f64> = found["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["score"].as_f64().unwrap())
            .collect();
        assert!(!scores.is_empty() && scores.len() <= 3, "{found}");
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert!(found["total_matches"].as_u64().unwrap() >= scores.len() as u64);
        assert_eq!(
            code::<QaSearchTool>(&e, json!({"query": "  "})),
            "invalid-params"
        );
    }

    #[test]
    fn qa_show_returns_the_whole_entry_or_the_closest_ids() {
        let (e, _d) = template();
        let shown = call::<QaShowTool>(&e, json!({"id": "what-is-ontoref"})).unwrap();
        assert_eq!(shown["entry"]["id"], "what-is-ontoref");
        assert!(shown["entry"]["answer"].as_str().unwrap().len() > 40);
        let err = call::<QaShowTool>(&e, json!({"id": "what-is-ontorf"})).unwrap_err();
        assert_eq!(err.code(), "qa-not-found");
        assert!(err.hint().contains("what-is-ontoref"), "{}", err.hint());
    }
}
