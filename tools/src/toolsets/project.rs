//! Toolset `project`: what the project is (`ontoref_describe`), one ranked
//! search across every kind of record (`ontoref_search`), and the projects
//! registered on this machine (`ontoref_list_projects`). Declarative
//! metadata only: no tool here reads a credential.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::corpus::{CorpusHit, KINDS};
use crate::engine::Engine;
use crate::error::{ErrorBody, ToolError, clip};
use crate::onto_mcp_tool;
use crate::paging::RESPONSE_BUDGET;
use crate::project::Registered;
use crate::text::{Hit, Text};
use crate::toolsets::limit;
use std::path::Path;

crate::declare_toolset! {
    id: "project",
    title: "Project overview",
    when: "to search all of it at once",
    description: "What the project is (identity, counts, registries, vault state, requirements, dependencies), one ranked search across every kind, and the projects on this machine.",
    needs_caller: false,
}

/// What to describe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// Identity, level, toolsets, counts, registry topology, vault state.
    #[default]
    Capabilities,
    /// What the project needs (tools, services, environment).
    Requirements,
    /// Dependencies whose failure hurts, with mitigations.
    Deps,
}

/// Arguments of `ontoref_describe`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    /// `capabilities` (default), `requirements` or `deps`.
    #[serde(default)]
    pub subject: Subject,
}

/// What a project is. Fields depend on the subject asked for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Description {
    /// The subject described.
    pub subject: String,
    /// The answer, as a record.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub description: Value,
    /// Files that failed to load; their sections are left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorBody>,
}

/// How many records of each kind a project has (a kind is left out when
/// its file failed to load; `problems` says why).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Counts {
    /// Q&A entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qa: Option<usize>,
    /// Ontology nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<usize>,
    /// Architecture decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adrs: Option<usize>,
    /// Backlog items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<usize>,
    /// Operational modes across the hierarchy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<usize>,
}

/// A project's registry badge.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RegistryBadge {
    /// Its participant name in the registry namespace.
    pub participant: String,
    /// How many registries it provides.
    pub registries: usize,
}

/// A project's vault badge: which vault, never its contents.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VaultBadge {
    /// The vault's id, when it can be derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    /// Whether the vault directory exists on this machine.
    pub synced: bool,
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
             nodes, ADRs, Q&A entries, backlog items and modes, the registry topology and the \
             vault state (declared or not, vault id) — declarative metadata only, never a secret. \
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
        let mut problems = Vec::new();
        let manifest = match engine.manifest().await {
            Ok(m) => m,
            Err(e) => {
                problems.push(e.body());
                None
            }
        };
        let description = match p.subject {
            Subject::Requirements => {
                json!({ "requirements": manifest.as_ref().map(|m| m.requirements.clone()).unwrap_or_default() })
            }
            Subject::Deps => {
                json!({ "critical_deps": manifest.as_ref().map(|m| m.critical_deps.clone()).unwrap_or_default() })
            }
            Subject::Capabilities => capabilities(engine, manifest.as_deref(), &mut problems).await,
        };
        Ok(Description {
            subject: format!("{:?}", p.subject).to_lowercase(),
            description,
            problems,
        })
    }
}

async fn capabilities(
    engine: &Engine,
    manifest: Option<&crate::manifest::Manifest>,
    problems: &mut Vec<ErrorBody>,
) -> Value {
    let project = engine.project_file().await.unwrap_or_else(|e| {
        problems.push(e.body());
        None
    });
    let counts = counts(engine, problems).await;
    let root = engine.project().root();
    let slug = project
        .as_ref()
        .and_then(|p| p.slug.clone())
        .or_else(|| manifest.map(|m| m.project.clone()))
        .unwrap_or_else(|| {
            root.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        });
    json!({
        "project": {
            "slug": slug,
            "name": project.as_ref().and_then(|p| p.name.clone()).or_else(|| manifest.map(|m| m.project.clone())),
            "description": manifest.map(|m| m.description.clone()).filter(|d| !d.is_empty()).or_else(|| project.as_ref().and_then(|p| p.description.clone())),
            "repo_kind": manifest.map(|m| m.repo_kind.clone()),
            "root": root.display().to_string(),
            "origin": engine.project().origin(),
        },
        "level": manifest.and_then(|m| m.level.clone()),
        "capabilities": manifest.map(|m| m.capabilities.clone()).unwrap_or_default(),
        "toolsets": crate::toolset::toolsets().iter().map(|s| s.id).collect::<Vec<_>>(),
        "counts": counts,
        "registry_topology": registry_topology(manifest),
        "vault_state": vault_state(engine, project.as_deref()),
    })
}

async fn counts(engine: &Engine, problems: &mut Vec<ErrorBody>) -> Counts {
    let mut note = |e: ToolError| {
        problems.push(e.body());
        None
    };
    Counts {
        qa: engine
            .qa()
            .await
            .map(|q| Some(q.entries().len()))
            .unwrap_or_else(&mut note),
        nodes: engine
            .core()
            .await
            .map(|c| Some(c.nodes().len()))
            .unwrap_or_else(&mut note),
        adrs: engine
            .adrs()
            .await
            .map(|a| Some(a.adrs.len()))
            .unwrap_or_else(&mut note),
        backlog: engine
            .backlog()
            .await
            .map(|b| Some(b.items().len()))
            .unwrap_or_else(&mut note),
        modes: engine
            .hierarchy()
            .await
            .map(|h| Some(h.mode_ids().len()))
            .unwrap_or_else(&mut note),
    }
}

/// The declared topology, else one derived from `registry_provides`:
/// endpoints and which operations each declares, not where credentials live.
fn registry_topology(manifest: Option<&crate::manifest::Manifest>) -> Value {
    let Some(m) = manifest else {
        return Value::Null;
    };
    if let Some(t) = &m.registry_topology {
        return t.clone();
    }
    match &m.registry_provides {
        Some(rp) => json!({
            "participant": rp.participant,
            "registries": rp.registries.iter().map(|r| json!({
                "id": r.id,
                "endpoint": r.endpoint,
                "pull": r.credential_sops.is_some(),
                "push": r.credential_sops_rw.is_some(),
            })).collect::<Vec<_>>(),
        }),
        None => Value::Null,
    }
}

/// Whether the project declares a vault, and which: never its contents.
fn vault_state(engine: &Engine, project: Option<&crate::project::ProjectFile>) -> Value {
    let Some(sops) = project.and_then(|p| p.sops.as_ref()) else {
        return json!({ "declared": false });
    };
    let id = crate::vault::gate::vault_id(engine, project).ok();
    let synced = id.as_ref().is_some_and(|id| {
        crate::vault::settings::VaultPaths::new(engine.config_home(), id).synced()
    });
    json!({
        "declared": true,
        "enabled": sops.enabled,
        "vault_id": id,
        "synced": synced,
    })
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
    /// Kinds to search: `qa`, `node`, `adr`, `backlog`, `mode` (all when empty).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Most results.
    #[serde(default = "default_search_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: u32,
}

/// Ranked results across kinds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchResults {
    /// Best first.
    pub results: Vec<CorpusHit>,
    /// Records matching, before the limit.
    pub total_matches: usize,
    /// Kinds left out because their files failed to load.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<ErrorBody>,
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
             nodes, ADRs, backlog items and modes. Each hit is {kind, id, title, score, snippet}; \
             open it with the kind's own tool (ontoref_qa_show, ontoref_node_get, \
             ontoref_adr_get, ontoref_backlog_get, ontoref_mode_resolve). Limit kinds with \
             `kinds`. Returns up to `limit` hits (default 10, max 100) and `total_matches`; no \
             match is an empty list. Use it when you do not know where an answer lives.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Search the whole project"))
    }
}

impl AsyncTool<Engine> for SearchTool {
    async fn invoke(engine: &Engine, p: SearchParams) -> Result<SearchResults, ToolError> {
        let limit = limit("ontoref_search", p.limit, 100)?;
        if p.query.trim().is_empty() {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_search".to_owned(),
                detail: "query: must not be empty".to_owned(),
            });
        }
        if let Some(bad) = p.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_search".to_owned(),
                detail: format!(
                    "kinds: unknown kind `{}`; known: {}",
                    clip(bad),
                    KINDS.join(", ")
                ),
            });
        }
        let (corpus, problems) = engine.corpus().await;
        let (results, total_matches) = corpus.search(&p.query, &p.kinds, limit, RESPONSE_BUDGET);
        Ok(SearchResults {
            results,
            total_matches,
            skipped: problems
                .into_iter()
                .filter(|(kind, _)| p.kinds.is_empty() || p.kinds.iter().any(|k| k == kind))
                .map(|(_, e)| e)
                .collect(),
        })
    }
}

/// Arguments of `ontoref_list_projects` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProjectsParams {}

/// A project with its badges.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectCard {
    /// Short name.
    pub slug: String,
    /// Root directory.
    pub root: String,
    /// Whether this is the project this server serves.
    pub current: bool,
    /// Counts of records, when the project loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The registries it provides, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryBadge>,
    /// The vault it declares, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultBadge>,
    /// Why it could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The projects of this machine.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectList {
    /// Registered projects, or the current one when none is registered.
    pub projects: Vec<ProjectCard>,
    /// Where the registry was read from.
    pub registry_file: String,
}

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
        let file = engine.config_home().join("projects.ncl");
        let registered = engine
            .loader()
            .load_in::<Registered>(&file, &engine.config_sandbox())
            .await?;
        let entries: Vec<(String, String)> = match &registered {
            Some(r) if !r.projects.is_empty() => r
                .projects
                .iter()
                .map(|p| (p.slug.clone(), p.root.clone()))
                .collect(),
            _ => vec![(String::new(), engine.project().root().display().to_string())],
        };
        let current_root = engine.project().root().to_path_buf();
        let mut projects = Vec::new();
        for (slug, root) in entries {
            let is_current =
                std::fs::canonicalize(&root).ok().as_deref() == Some(current_root.as_path());
            let other;
            let e: &Engine = if is_current {
                engine
            } else {
                match engine.for_other_project(Path::new(&root)) {
                    Ok(x) => {
                        other = Arc::new(x);
                        &other
                    }
                    Err(err) => {
                        projects.push(ProjectCard {
                            slug,
                            root,
                            current: false,
                            counts: None,
                            registry: None,
                            vault: None,
                            error: Some(err.body()),
                        });
                        continue;
                    }
                }
            };
            let mut problems = Vec::new();
            let counts = counts(e, &mut problems).await;
            let manifest = e.manifest().await.ok().flatten();
            let project = e.project_file().await.ok().flatten();
            let slug = if slug.is_empty() {
                project
                    .as_ref()
                    .and_then(|p| p.slug.clone())
                    .unwrap_or_else(|| root.clone())
            } else {
                slug
            };
            let vault = vault_state(e, project.as_deref());
            projects.push(ProjectCard {
                slug,
                root,
                current: is_current,
                counts: Some(counts),
                registry: manifest
                    .as_ref()
                    .and_then(|m| m.registry_provides.as_ref())
                    .map(|rp| RegistryBadge {
                        participant: rp.participant.clone(),
                        registries: rp.registries.len(),
                    }),
                vault: (vault["declared"] == true).then(|| VaultBadge {
                    vault_id: vault["vault_id"].as_str().map(str::to_owned),
                    synced: vault["synced"].as_bool().unwrap_or(false),
                }),
                error: problems.into_iter().next(),
            });
        }
        Ok(ProjectList {
            projects,
            registry_file: file.display().to_string(),
        })
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
