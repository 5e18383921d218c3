//! What a project is, as a whole: its description (identity, level,
//! counts, registry topology, vault state; requirements; critical
//! dependencies), the projects registered on this machine with their
//! badges, and one ranked search across every kind of record. Declarative
//! metadata only: nothing here reads a credential or decrypts a file.

use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backlog::Backlog;
use crate::corpus::{Corpus, CorpusHit, Fingerprint, KINDS, identity};
use crate::engine::Engine;
use crate::error::{ErrorBody, ToolError};
use crate::manifest::{Manifest, ManifestLevel};
use crate::ontology::Core;
use crate::paging::RESPONSE_BUDGET;
use crate::project::{ProjectFile, ProjectOrigin, Registered};
use crate::qa::QaStore;

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

impl Subject {
    /// Its name, as the tool's argument spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Capabilities => "capabilities",
            Subject::Requirements => "requirements",
            Subject::Deps => "deps",
        }
    }
}

/// What a project is. Fields depend on the subject asked for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Description {
    /// The subject described.
    pub subject: String,
    /// The answer, as a record.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub description: Described,
    /// Files that failed to load; their sections are left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorBody>,
}

/// The answer for each subject.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Described {
    /// `capabilities`.
    Capabilities(Box<Capabilities>),
    /// `requirements`: the manifest's free-form records.
    Requirements {
        /// What the project needs.
        requirements: Vec<Value>,
    },
    /// `deps`: the manifest's free-form records.
    Deps {
        /// Dependencies whose failure hurts.
        critical_deps: Vec<Value>,
    },
}

/// A project's identity and what it offers.
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    /// Who it is.
    pub project: Identity,
    /// Its level in the mode hierarchy.
    pub level: Option<ManifestLevel>,
    /// What it can do (the manifest's free-form records).
    pub capabilities: Vec<Value>,
    /// The toolsets ontoref has.
    pub toolsets: Vec<&'static str>,
    /// How many records of each kind.
    pub counts: Counts,
    /// The registries, as declared or derived from `registry_provides`.
    pub registry_topology: Option<Topology>,
    /// Whether it declares a vault, and which.
    pub vault_state: VaultState,
}

/// Who a project is.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// What kind of repository.
    pub repo_kind: Option<String>,
    /// Its root directory.
    pub root: String,
    /// How the root was found.
    pub origin: ProjectOrigin,
}

/// A registry topology.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Topology {
    /// As the manifest declares it (free-form).
    Declared(Value),
    /// Derived from `registry_provides`.
    Derived {
        /// The participant providing the registries.
        participant: String,
        /// Its registries.
        registries: Vec<Route>,
    },
}

/// A registry endpoint and the operations it declares credentials for
/// (never where they live).
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    /// The registry's id.
    pub id: String,
    /// Its endpoint.
    pub endpoint: String,
    /// A read-only credential file is declared.
    pub pull: bool,
    /// A read-write credential file is declared.
    pub push: bool,
}

/// Whether the project declares a vault: never its contents.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VaultState {
    /// A `sops` record is declared.
    pub declared: bool,
    /// Whether it is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The vault's id, when declared and resolvable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    /// Whether its src-vault is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced: Option<bool>,
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
    /// MIF ontology extensions vendored in `.ontoref/ontologies/` (left out
    /// when nothing is vendored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ontology_extensions: Option<usize>,
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

/// Describes the project `engine` serves.
pub async fn describe(engine: &Engine, subject: Subject) -> Description {
    let mut problems = Vec::new();
    let manifest = engine.manifest().await.unwrap_or_else(|e| {
        problems.push(e.body());
        None
    });
    let manifest = manifest.as_deref();
    let description = match subject {
        Subject::Requirements => Described::Requirements {
            requirements: manifest.map(|m| m.requirements.clone()).unwrap_or_default(),
        },
        Subject::Deps => Described::Deps {
            critical_deps: manifest
                .map(|m| m.critical_deps.clone())
                .unwrap_or_default(),
        },
        Subject::Capabilities => Described::Capabilities(Box::new(
            capabilities(engine, manifest, &mut problems).await,
        )),
    };
    Description {
        subject: subject.as_str().to_owned(),
        description,
        problems,
    }
}

async fn capabilities(
    engine: &Engine,
    manifest: Option<&Manifest>,
    problems: &mut Vec<ErrorBody>,
) -> Capabilities {
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
    Capabilities {
        project: Identity {
            slug,
            name: project
                .as_ref()
                .and_then(|p| p.name.clone())
                .or_else(|| manifest.map(|m| m.project.clone())),
            description: manifest
                .map(|m| m.description.clone())
                .filter(|d| !d.is_empty())
                .or_else(|| project.as_ref().and_then(|p| p.description.clone())),
            repo_kind: manifest.map(|m| m.repo_kind.clone()),
            root: root.display().to_string(),
            origin: engine.project().origin(),
        },
        level: manifest.and_then(|m| m.level.clone()),
        capabilities: manifest.map(|m| m.capabilities.clone()).unwrap_or_default(),
        toolsets: crate::toolset::toolsets().iter().map(|s| s.id).collect(),
        counts,
        registry_topology: topology(manifest),
        vault_state: vault_state(engine, project.as_deref()),
    }
}

/// How many records of each kind `engine`'s project has; a kind whose
/// file fails to load is left out and its error added to `problems`.
pub async fn counts(engine: &Engine, problems: &mut Vec<ErrorBody>) -> Counts {
    // Loaded side by side: cold, each kind is its own Nickel evaluation
    // (the store on one core while the ADRs share the other).
    let (qa, core, adrs, backlog, hierarchy) = tokio::join!(
        engine.qa(),
        engine.core(),
        engine.adrs(),
        engine.backlog(),
        engine.hierarchy()
    );
    let mut note = |e: ToolError| {
        problems.push(e.body());
        None
    };
    Counts {
        qa: qa
            .map(|q| Some(q.entries().len()))
            .unwrap_or_else(&mut note),
        nodes: core
            .map(|c| Some(c.nodes().len()))
            .unwrap_or_else(&mut note),
        adrs: adrs.map(|a| Some(a.adrs.len())).unwrap_or_else(&mut note),
        backlog: backlog
            .map(|b| Some(b.items().len()))
            .unwrap_or_else(&mut note),
        modes: hierarchy
            .map(|h| Some(h.mode_ids().len()))
            .unwrap_or_else(&mut note),
        ontology_extensions: engine
            .ontology_snapshot()
            .map(|s| s.map(|s| s.lock().ontologies.len()))
            .unwrap_or_else(&mut note),
    }
}

/// The declared topology, else one derived from `registry_provides`.
fn topology(manifest: Option<&Manifest>) -> Option<Topology> {
    let m = manifest?;
    if let Some(t) = &m.registry_topology {
        return Some(Topology::Declared(t.clone()));
    }
    m.registry_provides.as_ref().map(|rp| Topology::Derived {
        participant: rp.participant.clone(),
        registries: rp
            .registries
            .iter()
            .map(|r| Route {
                id: r.id.clone(),
                endpoint: r.endpoint.clone(),
                pull: r.credential_sops.is_some(),
                push: r.credential_sops_rw.is_some(),
            })
            .collect(),
    })
}

/// Whether the project declares a vault, which, and whether it is synced.
pub fn vault_state(engine: &Engine, project: Option<&ProjectFile>) -> VaultState {
    let Some(sops) = project.and_then(|p| p.sops.as_ref()) else {
        return VaultState::default();
    };
    let id = crate::vault::gate::vault_id(engine, project).ok();
    let synced = id.as_ref().is_some_and(|id| {
        crate::vault::settings::VaultPaths::new(engine.config_home(), id).synced()
    });
    VaultState {
        declared: true,
        enabled: Some(sops.enabled),
        vault_id: id,
        synced: Some(synced),
    }
}

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

/// The projects registered in the config home's `projects.ncl`, each with
/// its counts and badges; the current project alone when none is.
pub async fn list_projects(engine: &Engine) -> Result<ProjectList, ToolError> {
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
    let mut projects = Vec::with_capacity(entries.len());
    for (slug, root) in entries {
        let current = std::fs::canonicalize(&root).ok().as_deref() == Some(current_root.as_path());
        let card = if current {
            card(engine, slug, root, true).await
        } else {
            match engine.for_other_project(Path::new(&root)) {
                Ok(other) => card(&other, slug, root, false).await,
                Err(err) => ProjectCard {
                    slug,
                    root,
                    current: false,
                    counts: None,
                    registry: None,
                    vault: None,
                    error: Some(err.body()),
                },
            }
        };
        projects.push(card);
    }
    Ok(ProjectList {
        projects,
        registry_file: file.display().to_string(),
    })
}

/// The card of the project `engine` serves, registered as `slug` at `root`.
async fn card(engine: &Engine, slug: String, root: String, current: bool) -> ProjectCard {
    let mut problems = Vec::new();
    let counts = counts(engine, &mut problems).await;
    let manifest = engine.manifest().await.ok().flatten();
    let project = engine.project_file().await.ok().flatten();
    let slug = if slug.is_empty() {
        project
            .as_ref()
            .and_then(|p| p.slug.clone())
            .unwrap_or_else(|| root.clone())
    } else {
        slug
    };
    let vault = vault_state(engine, project.as_deref());
    ProjectCard {
        slug,
        root,
        current,
        counts: Some(counts),
        registry: manifest
            .as_ref()
            .and_then(|m| m.registry_provides.as_ref())
            .map(|rp| RegistryBadge {
                participant: rp.participant.clone(),
                registries: rp.registries.len(),
            }),
        vault: vault.declared.then(|| VaultBadge {
            vault_id: vault.vault_id.clone(),
            synced: vault.synced.unwrap_or(false),
        }),
        error: problems.into_iter().next(),
    }
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

/// Why a cross-kind search cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchRefusal {
    /// The query is blank.
    EmptyQuery,
    /// A kind that does not exist.
    UnknownKind(String),
}

impl SearchRefusal {
    /// What is wrong with which argument, for an `invalid-params` error.
    pub fn detail(&self) -> String {
        match self {
            SearchRefusal::EmptyQuery => "query: must not be empty".to_owned(),
            SearchRefusal::UnknownKind(kind) => format!(
                "kinds: unknown kind `{}`; known: {}",
                crate::echo::clip(kind),
                KINDS.join(", ")
            ),
        }
    }
}

/// One ranked search over `kinds` (every kind when empty), at most `limit`
/// hits.
pub async fn search(
    engine: &Engine,
    query: &str,
    kinds: &[String],
    limit: usize,
) -> Result<SearchResults, SearchRefusal> {
    if query.trim().is_empty() {
        return Err(SearchRefusal::EmptyQuery);
    }
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(SearchRefusal::UnknownKind(bad.clone()));
    }
    let (corpus, problems) = corpus(engine).await;
    let (results, total_matches) = corpus.search(query, kinds, limit, RESPONSE_BUDGET);
    Ok(SearchResults {
        results,
        total_matches,
        skipped: problems
            .into_iter()
            .filter(|(kind, _)| kinds.is_empty() || kinds.iter().any(|k| k == kind))
            .map(|(_, e)| e)
            .collect(),
    })
}

/// The corpus of the cross-kind search: every Q&A entry, node, ADR,
/// backlog item, mode and vendored ontology extension of `engine`'s
/// project as a record, rebuilt only
/// when a document it was built from changed (the engine keeps it). Kinds
/// whose files fail to load are left out and returned with their error.
pub async fn corpus(engine: &Engine) -> (Arc<Corpus>, Vec<(&'static str, ErrorBody)>) {
    let mut problems = Vec::new();
    let p = &mut problems;
    let project = engine.project();
    let loader = engine.loader();
    let qa = reported(loader.load::<QaStore>(&project.qa_path()).await, "qa", p);
    let core = reported(
        loader
            .load::<Core>(&project.file(".ontology/core.ncl"))
            .await,
        "node",
        p,
    );
    let backlog = reported(
        loader
            .load::<Backlog>(&project.file("reflection/backlog.ncl"))
            .await,
        "backlog",
        p,
    );
    let adrs = reported(engine.adrs().await.map(Some), "adr", p).unwrap_or_default();
    let hierarchy = reported(engine.hierarchy().await.map(Some), "mode", p);
    let extensions = reported(
        engine
            .ontology_snapshot()
            .and_then(|s| s.map(|s| s.records()).transpose().map_err(ToolError::from)),
        "extension",
        p,
    );
    let mut fingerprint: Fingerprint = vec![
        qa.as_ref().map_or(0, identity),
        core.as_ref().map_or(0, identity),
        backlog.as_ref().map_or(0, identity),
    ];
    fingerprint.extend(adrs.adrs.iter().map(|(_, a)| identity(a)));
    fingerprint.push(usize::MAX);
    if let Some(h) = &hierarchy {
        for l in &h.levels {
            fingerprint.extend(l.modes.values().map(|(_, m)| identity(m)));
            fingerprint.push(usize::MAX);
        }
    }
    fingerprint.push(extensions.as_ref().map_or(0, identity));
    if let Ok(cached) = engine.corpus_slot().lock()
        && let Some((fp, corpus)) = cached.as_ref()
        && *fp == fingerprint
    {
        return (corpus.clone(), problems);
    }
    let mut records = Vec::new();
    if let Some(qa) = &qa {
        records.extend(qa.entries().iter().map(|e| e.record()));
    }
    if let Some(core) = &core {
        records.extend(core.nodes().iter().map(|n| n.record()));
    }
    records.extend(adrs.adrs.iter().map(|(_, a)| a.record()));
    if let Some(backlog) = &backlog {
        records.extend(backlog.items().iter().map(|i| i.record()));
    }
    if let Some(h) = &hierarchy {
        records.extend(h.records());
    }
    if let Some(extensions) = &extensions {
        records.extend(extensions.iter().cloned());
    }
    let corpus = Arc::new(Corpus::new(records));
    if let Ok(mut cached) = engine.corpus_slot().lock() {
        *cached = Some((fingerprint, corpus.clone()));
    }
    (corpus, problems)
}

/// The document of a load, or `None` with its error added to `problems`
/// under `kind`.
fn reported<T, E: Into<ToolError>>(
    r: Result<Option<T>, E>,
    kind: &'static str,
    problems: &mut Vec<(&'static str, ErrorBody)>,
) -> Option<T> {
    r.unwrap_or_else(|e| {
        problems.push((kind, e.into().body()));
        None
    })
}
