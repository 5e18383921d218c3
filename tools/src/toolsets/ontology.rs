//! Toolset `ontology`: the project's nodes, edges and state dimensions
//! (`.ontology/core.ncl`, `state.ncl`, `gate.ncl`), and the MIF ontology
//! extensions vendored into `.ontoref/ontologies/`
//! (`crate::ontologies::snapshot`).

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::explain::{BoundConstraint, Explained, ProjectPath};
use crate::onto_mcp_tool;
use crate::ontologies::resolve::Section;
use crate::ontologies::snapshot::{ExtensionList, ExtensionView, View};
use crate::ontology::{
    Direction, Impact, NodeGet, NodeLevel, NodeList, Pole, StateOut, state_report,
};
use crate::paging::RESPONSE_BUDGET;
use crate::text::{Text, cell_of};
use crate::toolsets::{in_range, limit};

crate::declare_toolset! {
    id: "ontology",
    title: "Ontology graph",
    when: "to see what the project is made of, what depends on what and what binds a file before you edit it",
    description: "The ontology (.ontology/): axioms, tensions and practices with the files that embody them, their edges, impact walks, state dimensions; ontoref_explain_path gives the nodes, ADR constraints and Q&A binding a file; vendored MIF ontology extensions.",
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
#[onto_mcp_tool(toolset = "ontology", custom_cli)]
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

fn default_explain_limit() -> u32 {
    20
}

/// Arguments of `ontoref_explain_path`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainPathParams {
    /// The file or directory to explain, relative to the project root
    /// (`src/vault/gate.rs`, `src/vault/`); an absolute path inside the
    /// project is accepted.
    pub path: String,
    /// Nodes per page.
    #[serde(default = "default_explain_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same path.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// What binds a file or directory: the reverse index of `artifact_paths`.
#[onto_mcp_tool(toolset = "ontology", custom_cli)]
pub struct ExplainPathTool;

impl ToolBase for ExplainPathTool {
    type Parameter = ExplainPathParams;
    type Output = Explained;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_explain_path")
    }

    fn title() -> Option<String> {
        Some("Explain what binds a path".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Before editing a file or directory, ask what binds it: the ontology nodes whose \
             artifact_paths cover `path`, every ADR binding those nodes with its Hard (must hold) \
             and Soft (should hold) constraints, each a claim and its check as the ADR states it, \
             and the Q&A entries that mention the path. `path` is relative to the project root \
             (`src/vault/gate.rs`, `src/vault/`); an absolute path inside the project is \
             accepted, one outside it or a `..` leaving it is `invalid-params`. An artifact path \
             covers `path` when it names it, is a directory holding it (`src/` or `src`), or is a \
             glob matching it or a directory holding it (`*` stays within one directory, `**` \
             crosses them); when `path` is a directory, artifact paths and globs lying under it \
             count too. Nodes come most specific first (exact, glob, nearest enclosing \
             directory, then what lies under), each {id, name, level, invariant, matched: its \
             patterns that matched as written, adrs: ids}; `adrs` lists each binding ADR once: \
             {id, title, status, hard, soft}, where a Superseded ADR shows `superseded_by` \
             instead of constraints; `missing_adrs` names ids a node cites that are not loaded. \
             `qa`: up to 10 entries {id, question} whose question or answer contains the path \
             exactly (case-sensitive, as a whole path; `total_qa` counts all); read one with \
             ontoref_qa_show. No match is not an error: `nodes` is empty, `nearest` lists the \
             closest artifact paths the ontology does name, and `hint` says what to do. Pages \
             hold `limit` nodes (default 20, max 100) within the response budget; pass \
             `next_cursor` back as `cursor` with the same path (later pages list only ADRs not \
             shown before, and no Q&A).",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Explain what binds a path"))
    }
}

impl AsyncTool<Engine> for ExplainPathTool {
    async fn invoke(engine: &Engine, p: ExplainPathParams) -> Result<Explained, ToolError> {
        let limit = limit(&Self::name(), p.limit, 100)?;
        let path = project_path(engine, &p.path).map_err(|detail| ToolError::InvalidParams {
            tool: Self::name().into_owned(),
            detail,
        })?;
        explain_path(engine, &path, limit, p.cursor.as_deref()).await
    }
}

/// `raw` as a path of the engine's project (relative, or absolute inside
/// it); `Err` says why not.
pub fn project_path(engine: &Engine, raw: &str) -> Result<ProjectPath, String> {
    let root = engine.project().root();
    let resolved = std::fs::canonicalize(root).ok();
    let roots: Vec<&std::path::Path> = std::iter::once(root).chain(resolved.as_deref()).collect();
    ProjectPath::parse(raw, &roots)
}

/// What binds `path` in the engine's project: the one domain call of
/// `ontoref_explain_path` and of the `explain-path` prompt. A broken Q&A
/// store costs its mentions (listed under `problems`), not the answer.
pub async fn explain_path(
    engine: &Engine,
    path: &ProjectPath,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Explained, ToolError> {
    let index = engine.path_index().await?;
    let adrs = engine.adrs().await?;
    let (qa, problem) = match engine.qa().await {
        Ok(qa) => (qa, None),
        Err(e) => (std::sync::Arc::default(), Some(e.body())),
    };
    let mut out = index.explain(&adrs, &qa, path, limit, cursor)?;
    out.problems.extend(problem);
    Ok(out)
}

impl ToolCommand for ExplainPathTool {
    const WORDS: Option<&'static str> = Some("explain");
    const POSITIONAL: &'static [&'static str] = &["path"];

    fn text(x: &Explained, out: &mut Text) -> bool {
        out.heading(&x.path);
        if x.total_nodes == 0 {
            out.line("no ontology node covers this path");
            out.list_field("nearest", &x.nearest);
        } else {
            let rows: Vec<Vec<String>> = x
                .nodes
                .iter()
                .map(|n| {
                    vec![
                        n.id.clone(),
                        cell_of(&n.level),
                        n.matched.join(", "),
                        n.adrs.join(", "),
                    ]
                })
                .collect();
            out.table(&["node", "level", "matched", "adrs"], &rows);
            out.line(&format!("\n{} of {} nodes", x.nodes.len(), x.total_nodes));
        }
        for a in &x.adrs {
            out.blank();
            bullet(
                out,
                0,
                &format!("{} ({}): {}", a.id, cell_of(&a.status), a.title),
            );
            if !a.superseded_by.is_empty() {
                bullet(
                    out,
                    1,
                    &format!("superseded by {}", a.superseded_by.join(", ")),
                );
            }
            for (severity, list) in [("Hard", &a.hard), ("Soft", &a.soft)] {
                for c in list {
                    bullet(out, 1, &format!("{severity} {}: {}", c.id, c.claim));
                    if let Some(check) = check_text(c) {
                        bullet(out, 2, &format!("check: {check}"));
                    }
                }
            }
        }
        if !x.missing_adrs.is_empty() {
            out.blank();
            out.list_field("missing ADRs", &x.missing_adrs);
        }
        if !x.qa.is_empty() {
            out.blank();
            out.line(&format!(
                "Q&A mentioning it ({} of {}):",
                x.qa.len(),
                x.total_qa
            ));
            let rows: Vec<Vec<String>> =
                x.qa.iter()
                    .map(|q| vec![q.id.clone(), q.question.clone()])
                    .collect();
            out.table(&["id", "question"], &rows);
        }
        if !x.problems.is_empty() {
            out.blank();
            out.line("left out:");
            out.value(&serde_json::json!(x.problems));
        }
        if let Some(hint) = &x.hint {
            out.blank();
            out.field("hint", hint);
        }
        out.next_page(x.next_cursor.as_deref());
        true
    }
}

/// A line of a nested list: `- text` in Markdown, indented text in plain.
fn bullet(out: &mut Text, depth: usize, text: &str) {
    let indent = "  ".repeat(depth);
    if out.is_markdown() {
        out.line(&format!("{indent}- {text}"));
    } else {
        out.line(&format!("{indent}{text}"));
    }
}

/// A constraint's check on one line: its kind, then its fields as JSON
/// (`Grep paths=["src/"] pattern="x" must_be_empty=true`).
fn check_text(c: &BoundConstraint) -> Option<String> {
    let check = c.check.as_ref()?;
    let mut parts: Vec<String> = check
        .get("tag")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    parts.extend(
        check
            .iter()
            .filter(|(k, _)| k.as_str() != "tag")
            .map(|(k, v)| format!("{k}={v}")),
    );
    Some(parts.join(" "))
}

fn default_extension_limit() -> u32 {
    25
}

/// Arguments of `ontoref_list_ontology_extensions`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListExtensionsParams {
    /// Keep extensions whose id or description holds every word of this
    /// (ignoring case).
    #[serde(default)]
    pub query: Option<String>,
    /// Page size.
    #[serde(default = "crate::toolsets::default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same query.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Lists the vendored MIF ontology extensions.
#[onto_mcp_tool(toolset = "ontology", custom_cli)]
pub struct ListOntologyExtensionsTool;

impl ToolBase for ListOntologyExtensionsTool {
    type Parameter = ListExtensionsParams;
    type Output = ExtensionList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_list_ontology_extensions")
    }

    fn title() -> Option<String> {
        Some("List ontology extensions".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the MIF ontology extensions this project vendors (.ontoref/ontologies/, \
             written by `ontoref ontology vendor`): the domain vocabularies its knowledge is typed \
             against. Each is {id, version, description, extends, entity_types and traits (counts \
             in its own file), verified, sha256}, with the snapshot's source, vendoring time and, \
             when vendoring has been failing, stale_since. verified: false means the snapshot is \
             hash-pinned only: its index was pinned on first use and no attestation was checked; \
             the files still match their pins. Use it to find which extension defines an entity \
             type or namespace, then read one with ontoref_get_ontology_extension. `query` keeps \
             extensions whose id or description holds every word. Pages hold `limit` extensions \
             (default 50, max 500); pass `next_cursor` back as `cursor` for more. No snapshot is \
             the error `ontology-not-vendored`; a malformed one `ontology-lock-invalid` or \
             `ontology-snapshot-invalid`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List ontology extensions"))
    }
}

impl AsyncTool<Engine> for ListOntologyExtensionsTool {
    async fn invoke(engine: &Engine, p: ListExtensionsParams) -> Result<ExtensionList, ToolError> {
        let limit = limit(&Self::name(), p.limit, 500)?;
        engine
            .ontologies()?
            .list(p.query.as_deref(), limit, p.cursor.as_deref())
    }
}

/// Arguments of `ontoref_get_ontology_extension`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetExtensionParams {
    /// The extension's id (as ontoref_list_ontology_extensions lists it).
    pub id: String,
    /// `resolved` (default): composed with everything it extends; `raw`:
    /// its own file as it is.
    #[serde(default)]
    pub view: View,
    /// Only this part of the view.
    #[serde(default)]
    pub section: Option<Section>,
    /// Items of the paged part (entity types, or the section's entries) per
    /// page.
    #[serde(default = "default_extension_limit")]
    #[schemars(range(min = 1, max = 200))]
    pub limit: u32,
    /// `next_cursor` from the previous page, with the same id, view and
    /// section.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Reads one vendored MIF ontology extension.
#[onto_mcp_tool(toolset = "ontology", custom_cli)]
pub struct GetOntologyExtensionTool;

impl ToolBase for GetOntologyExtensionTool {
    type Parameter = GetExtensionParams;
    type Output = ExtensionView;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_get_ontology_extension")
    }

    fn title() -> Option<String> {
        Some("Show an ontology extension".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one vendored MIF ontology extension by id, to type knowledge against it. \
             view `resolved` (default) composes it with everything it extends, as MIF's rules \
             say: traits, relationships, namespaces and discovery patterns inherited (later \
             parents and the extension itself win) with their provenance, the closure (bases \
             first), and its own entity types (never inherited), each supertype located \
             (subtype_of_resolved). view `raw`: its own file as it is. `section` (entity_types, \
             traits, relationships, namespaces, discovery) returns only that part. Entity types \
             (or the section's entries) come `limit` at a time (default 25, max 200): pass \
             `next_cursor` back as `cursor`; a view too large for one response lists the parts \
             it left out in `omitted`. Every file served is first hashed against the lock: one \
             that changed since vendoring is the error `ontology-tampered` and is not served. \
             verified: false means hash-pinned only (no attestation checked). An unknown id is \
             `ontology-not-found` (the hint names the closest ids); one the index lists but the \
             project does not vendor, `ontology-not-enabled`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show an ontology extension"))
    }
}

impl AsyncTool<Engine> for GetOntologyExtensionTool {
    async fn invoke(engine: &Engine, p: GetExtensionParams) -> Result<ExtensionView, ToolError> {
        let limit = limit(&Self::name(), p.limit, 200)?;
        engine
            .ontologies()?
            .get(&p.id, p.view, p.section, limit, p.cursor.as_deref())
    }
}

impl ToolCommand for ListOntologyExtensionsTool {
    const WORDS: Option<&'static str> = Some("ontology list");

    fn text(list: &ExtensionList, out: &mut Text) -> bool {
        let rows: Vec<Vec<String>> = list
            .extensions
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.version.clone(),
                    e.entity_types.to_string(),
                    e.traits.to_string(),
                    e.extends.join(", "),
                ]
            })
            .collect();
        out.table(
            &["id", "version", "entity types", "traits", "extends"],
            &rows,
        );
        let s = &list.snapshot;
        out.line(&format!(
            "\n{} of {} from {} (vendored {}, {})",
            list.extensions.len(),
            list.total,
            s.source,
            s.vendored_at,
            match &s.verified_by {
                Some(by) => format!("verified by {by}"),
                None => "hash-pinned only".to_owned(),
            }
        ));
        if let Some(since) = &s.stale_since {
            out.line(&format!("stale: vendoring has failed since {since}"));
        }
        out.next_page(list.next_cursor.as_deref());
        true
    }
}

impl ToolCommand for GetOntologyExtensionTool {
    const WORDS: Option<&'static str> = Some("ontology show");

    /// The extension's identity, what this view holds, then its content
    /// (the `ontoref://ontology/{id}` resource too).
    fn text(v: &ExtensionView, out: &mut Text) -> bool {
        out.heading(&format!("{} {}", v.id, v.version));
        let page = v.page.as_ref().map_or_else(String::new, |p| {
            format!(
                "{} {}..{} of {}",
                p.part,
                p.offset + 1,
                p.offset + p.count,
                p.total
            )
        });
        out.facts(&[
            ("view", v.view.as_str().to_owned()),
            (
                "section",
                v.section.map(|s| s.key().to_owned()).unwrap_or_default(),
            ),
            ("sha256", out.code(&v.sha256)),
            (
                "verified",
                if v.verified {
                    "yes"
                } else {
                    "no: hash-pinned only"
                }
                .to_owned(),
            ),
            ("page", page),
            ("omitted", v.omitted.join(", ")),
            ("next cursor", v.next_cursor.clone().unwrap_or_default()),
        ]);
        if let Some(hint) = &v.hint {
            out.passage(hint);
        }
        out.value(&v.content);
        true
    }
}

impl ToolCommand for NodeGetTool {
    /// The node as a document: name, level and pole, description, the files
    /// and ADRs it names, and its edges (the `ontoref://node/{id}` resource
    /// too).
    fn text(got: &NodeGet, out: &mut Text) -> bool {
        let n = &got.node;
        out.heading(&format!("{} ({})", n.name, out.code(&n.id)));
        let paths: Vec<String> = n.artifact_paths.iter().map(|p| out.code(p)).collect();
        out.facts(&[
            ("level", cell_of(&n.level)),
            ("pole", cell_of(&n.pole)),
            ("invariant", if n.invariant { "yes" } else { "" }.to_owned()),
            ("artifact paths", paths.join(", ")),
            ("ADRs", n.adrs.join(", ")),
        ]);
        out.passage(&n.description);
        for (title, links) in [
            ("Incoming edges", &got.incoming),
            ("Outgoing edges", &got.outgoing),
        ] {
            if links.is_empty() {
                continue;
            }
            out.subheading(title);
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|l| {
                    vec![
                        l.kind.clone(),
                        l.node.clone(),
                        l.note.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.table(&["kind", "node", "note"], &rows);
            out.blank();
        }
        true
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
    use crate::ontologies::snapshot::testing::corpus_project;
    use crate::toolsets::testing::{call, code, engine_on, template};

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
    fn ontology_extension_tools_without_a_snapshot_say_how_to_vendor_one() {
        let (e, _d) = template();
        for err in [
            call::<ListOntologyExtensionsTool>(&e, json!({})).unwrap_err(),
            call::<GetOntologyExtensionTool>(&e, json!({"id": "fitness"})).unwrap_err(),
        ] {
            assert_eq!(err.code(), "ontology-not-vendored", "{err}");
            assert!(
                err.hint().contains("ontoref ontology vendor"),
                "{}",
                err.hint()
            );
        }
    }

    #[test]
    fn ontology_extension_tools_list_and_get_a_vendored_closure() {
        let closure = [
            "mif-base",
            "shared-traits",
            "research",
            "clinical-health-base",
            "fitness",
        ];
        let (_t, root) = corpus_project(&closure, None);
        let (e, _d) = engine_on(&root);
        let list = call::<ListOntologyExtensionsTool>(&e, json!({"query": "exercise physiology"}))
            .unwrap();
        assert_eq!(list["total"], 1, "{list}");
        assert_eq!(list["extensions"][0]["id"], "fitness");
        assert_eq!(list["extensions"][0]["verified"], false);
        assert!(list["snapshot"].get("verified_by").is_none(), "{list}");
        let all = call::<ListOntologyExtensionsTool>(&e, json!({"limit": 2})).unwrap();
        assert_eq!(all["total"], 5);
        assert!(all["next_cursor"].is_string(), "{all}");

        // Resolved is the default view.
        let got = call::<GetOntologyExtensionTool>(
            &e,
            json!({"id": "fitness", "section": "entity_types", "limit": 3}),
        )
        .unwrap();
        assert_eq!(got["view"], "resolved");
        assert_eq!(got["content"]["closure"], json!(closure));
        assert_eq!(got["content"]["entity_types"].as_array().unwrap().len(), 3);
        assert_eq!(got["page"]["total"], 12);
        let next = call::<GetOntologyExtensionTool>(
            &e,
            json!({"id": "fitness", "section": "entity_types", "limit": 3,
                   "cursor": got["next_cursor"]}),
        )
        .unwrap();
        assert_eq!(next["page"]["offset"], 3);
        assert_ne!(
            next["content"]["entity_types"][0],
            got["content"]["entity_types"][0]
        );
        let raw = call::<GetOntologyExtensionTool>(
            &e,
            json!({"id": "fitness", "view": "raw", "section": "namespaces"}),
        )
        .unwrap();
        assert!(raw["content"]["namespaces"].is_object(), "{raw}");
        assert!(raw["content"].get("closure").is_none(), "{raw}");

        for bad in [
            json!({"id": "fitness", "view": "cooked"}),
            json!({"id": "fitness", "section": "everything"}),
            json!({"id": "fitness", "limit": 0}),
            json!({"id": "fitness", "limit": 201}),
            json!({}),
        ] {
            assert_eq!(code::<GetOntologyExtensionTool>(&e, bad), "invalid-params");
        }
        assert_eq!(
            code::<ListOntologyExtensionsTool>(&e, json!({"limit": 501})),
            "invalid-params"
        );
        assert_eq!(
            code::<GetOntologyExtensionTool>(&e, json!({"id": "fitnes"})),
            "ontology-not-found"
        );
        assert_eq!(
            code::<GetOntologyExtensionTool>(&e, json!({"id": "cardiology"})),
            "ontology-not-enabled"
        );
    }

    #[test]
    fn vendored_extensions_are_counted_by_describe_and_found_by_search() {
        use crate::toolsets::project::{DescribeTool, SearchTool};
        let (_t, root) = corpus_project(&["mif-base", "mif-generic"], None);
        let (e, _d) = engine_on(&root);
        let caps = call::<DescribeTool>(&e, json!({})).unwrap();
        let d = &caps["description"];
        assert_eq!(d["counts"]["ontology_extensions"], 2, "{caps}");
        assert!(
            d["toolsets"]
                .as_array()
                .unwrap()
                .contains(&json!("ontology"))
        );
        // `organization` is an entity type of mif-generic only.
        let found =
            call::<SearchTool>(&e, json!({"query": "organization", "kinds": ["extension"]}))
                .unwrap();
        assert_eq!(found["results"][0]["kind"], "extension", "{found}");
        assert_eq!(found["results"][0]["id"], "mif-generic", "{found}");
        assert_eq!(found["total_matches"], 1, "{found}");
        // Without a snapshot, the count is left out and search has no such
        // records.
        let (t, _d) = template();
        let caps = call::<DescribeTool>(&t, json!({})).unwrap();
        assert!(
            caps["description"]["counts"]
                .get("ontology_extensions")
                .is_none(),
            "{caps}"
        );
    }

    fn ids(v: &serde_json::Value, list: &str) -> Vec<String> {
        v[list]
            .as_array()
            .unwrap_or_else(|| panic!("no `{list}` in {v}"))
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn explain_path_gives_the_nodes_the_binding_constraints_and_the_qa() {
        let (e, _d) = template();
        let got = call::<ExplainPathTool>(&e, json!({"path": "./src/output.rs"})).unwrap();
        assert_eq!(got["path"], "src/output.rs");
        assert_eq!(
            ids(&got, "nodes"),
            ["context-is-scarce", "bound-tool-output"]
        );
        assert_eq!(got["nodes"][0]["matched"], json!(["src/output.rs"]));
        assert_eq!(got["nodes"][0]["invariant"], true);
        // adr-005 binds both nodes and is listed once, constraints split.
        assert_eq!(ids(&got, "adrs"), ["adr-005"]);
        let adr = &got["adrs"][0];
        assert_eq!(adr["status"], "Proposed");
        assert_eq!(adr["hard"][0]["id"], "shared-budget-constant");
        assert_eq!(
            adr["hard"][0]["claim"],
            "Tools take their limit from one shared budget constant"
        );
        assert_eq!(adr["hard"][0]["check"]["tag"], "Grep");
        assert_eq!(
            adr["hard"][0]["check"]["pattern"],
            "pub const RESPONSE_BUDGET_BYTES"
        );
        assert_eq!(adr["soft"][0]["id"], "no-per-tool-budgets");
        assert_eq!(ids(&got, "qa"), ["what-binds-this-file"]);
        assert!(got["qa"][0].get("answer").is_none(), "{got}");
        assert_eq!(got["total_qa"], 1);
        for absent in ["nearest", "hint", "next_cursor", "missing_adrs"] {
            assert!(got.get(absent).is_none(), "{absent}: {got}");
        }

        // A file under a directory prefix; Accepted ADRs with Hard and Soft
        // constraints; several Q&A entries name the file.
        let got = call::<ExplainPathTool>(&e, json!({"path": "reflection/qa.ncl"})).unwrap();
        assert_eq!(
            ids(&got, "nodes"),
            ["knowledge-is-typed", "write-qa-entries"]
        );
        let adr = &got["adrs"][0];
        assert_eq!(adr["id"], "adr-001");
        assert_eq!(adr["status"], "Accepted");
        assert!(!adr["hard"].as_array().unwrap().is_empty(), "{got}");
        assert!(adr["hard"][0]["check"].is_object(), "{got}");
        assert!(got["total_qa"].as_u64().unwrap() >= 2, "{got}");
    }

    #[test]
    fn explain_path_matches_globs_and_directories() {
        let (e, _d) = template();
        // `**/*.sops.yaml` covers a sops file anywhere.
        let got = call::<ExplainPathTool>(&e, json!({"path": "deploy/prod.sops.yaml"})).unwrap();
        assert_eq!(ids(&got, "nodes"), ["agents-never-hold-secrets"]);
        assert_eq!(got["nodes"][0]["matched"], json!(["**/*.sops.yaml"]));
        assert_eq!(ids(&got, "adrs"), ["adr-002", "adr-004"]);
        let hard: Vec<&str> = got["adrs"][0]["hard"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(hard.contains(&"no-secret-values-in-knowledge"), "{got}");
        assert_eq!(got["adrs"][0]["soft"][0]["id"], "two-recipients");
        // The token file: named exactly, inside `src-vault/`, and a sops
        // file: the exact name comes first.
        let got =
            call::<ExplainPathTool>(&e, json!({"path": "src-vault/tokens.sops.yaml"})).unwrap();
        let nodes = ids(&got, "nodes");
        assert_eq!(nodes[0], "scope-tokens-per-client");
        assert!(nodes.contains(&"fetch-credentials-through-vault".to_owned()));
        // A directory also finds what lies under it.
        let got = call::<ExplainPathTool>(&e, json!({"path": "src/"})).unwrap();
        let nodes = ids(&got, "nodes");
        for n in [
            "context-is-scarce",
            "bound-tool-output",
            "serve-mcp-stdio-and-http",
        ] {
            assert!(nodes.contains(&n.to_owned()), "{n}: {got}");
        }
        // Pages: one node at a time, the ADR not repeated.
        let first = call::<ExplainPathTool>(&e, json!({"path": "src", "limit": 1})).unwrap();
        assert_eq!(first["total_nodes"], got["total_nodes"]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second =
            call::<ExplainPathTool>(&e, json!({"path": "src", "limit": 1, "cursor": cursor}))
                .unwrap();
        assert_ne!(second["nodes"][0]["id"], first["nodes"][0]["id"]);
        assert!(second.get("qa").is_none(), "{second}");
        assert_eq!(
            code::<ExplainPathTool>(&e, json!({"path": "adrs", "cursor": cursor})),
            "invalid-cursor"
        );
    }

    #[test]
    fn explain_path_of_an_unmatched_path_is_empty_with_the_nearest_paths() {
        let (e, _d) = template();
        let got = call::<ExplainPathTool>(&e, json!({"path": "src/vault/gate.rs"})).unwrap();
        assert_eq!(got["nodes"], json!([]));
        assert_eq!(got["total_nodes"], 0);
        assert_eq!(got["nearest"], json!(["src/output.rs", "src/transport/"]));
        assert!(got["hint"].as_str().unwrap().contains("nearest"), "{got}");
        assert!(got.get("adrs").is_none(), "{got}");
        // Nothing shares a directory: the closest top-level names.
        let got = call::<ExplainPathTool>(&e, json!({"path": "adr/adr-001.ncl"})).unwrap();
        assert_eq!(got["nearest"][0], "adrs/", "{got}");
    }

    #[test]
    fn explain_path_refuses_paths_outside_the_project() {
        let (e, _d) = template();
        for bad in [
            json!({"path": "../secrets.txt"}),
            json!({"path": "src/../../x"}),
            json!({"path": "/etc/passwd"}),
            json!({"path": ""}),
            json!({"path": "."}),
            json!({}),
            json!({"path": "src", "limit": 0}),
            json!({"path": "src", "limit": 101}),
            json!({"path": "src", "depth": 2}),
        ] {
            assert_eq!(
                code::<ExplainPathTool>(&e, bad.clone()),
                "invalid-params",
                "{bad}"
            );
        }
        let err = call::<ExplainPathTool>(&e, json!({"path": "../x"})).unwrap_err();
        assert!(err.to_string().contains("climbs out"), "{err}");
        // An absolute path inside the project is its relative path.
        let root = e.project().root().join("src/output.rs");
        let got = call::<ExplainPathTool>(&e, json!({"path": root.to_str().unwrap()})).unwrap();
        assert_eq!(got["path"], "src/output.rs");
        assert_eq!(got["total_nodes"], 2);
    }

    #[test]
    fn explain_path_text_shows_constraints_and_checks() {
        use crate::text::Style;
        let (e, _d) = template();
        let params = ExplainPathParams {
            path: "src/output.rs".into(),
            limit: 20,
            cursor: None,
        };
        let x = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(ExplainPathTool::invoke(&e, params))
            .unwrap();
        let mut out = Text::new(Style::Plain);
        assert!(ExplainPathTool::text(&x, &mut out));
        let text = out.finish();
        assert!(text.contains("adr-005 (Proposed)"), "{text}");
        assert!(
            text.contains("Hard shared-budget-constant: Tools take"),
            "{text}"
        );
        assert!(text.contains("check: Grep "), "{text}");
        assert!(text.contains("what-binds-this-file"), "{text}");
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
