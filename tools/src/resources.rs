//! The project's records as readable resources, in domain terms: each Q&A
//! entry, ADR, ontology node, backlog item, operational mode and vendored
//! ontology extension has a URI `ontoref://<kind>/<id>` ([`ResourceKind`],
//! [`parse_uri`]), a place in one paged listing of them all ([`list`]),
//! and a Markdown rendering ([`read`]) that is the same text the CLI prints
//! with `--fmt md` (the kind's tool rendering, [`crate::command::render`]),
//! cut at [`MAX_MARKDOWN`] bytes. Each carries the modification time of the
//! file it comes from. [`complete_id`] ranks the ids of a kind for a
//! template's `{id}`.
//!
//! A kind is offered when the server serves its toolset
//! ([`served_kinds`]); ontology extensions only when something is vendored
//! ([`templates`]). Nothing here knows MCP: the server (`crate::server`)
//! turns these values and [`ResourceError`] into protocol messages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::codes::{ErrorCodes, variant};
use crate::command::render;
use crate::complete::{Completion, rank};
use crate::echo::{clip, clip_to};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::ontologies::snapshot::View;
use crate::paging::{PageKey, RESPONSE_BUDGET, page_within};
use crate::suggest::{closest, quote_list};
use crate::text::{Style, bounded};
use crate::toolsets::adr::AdrGetTool;
use crate::toolsets::backlog::BacklogGetTool;
use crate::toolsets::modes::ModeResolveTool;
use crate::toolsets::ontology::{GetOntologyExtensionTool, NodeGetTool};
use crate::toolsets::qa::QaShowTool;

/// The URI scheme of every resource.
pub const SCHEME: &str = "ontoref";
/// The MIME type of every resource: Markdown.
pub const MIME_TYPE: &str = "text/markdown";
/// Resources per page of [`list`].
pub const PAGE_SIZE: usize = 100;
/// The most bytes of Markdown one [`read`] returns (about 16,000 tokens,
/// below the 25,000 MCP hosts accept by default).
pub const MAX_MARKDOWN: usize = 64 * 1024;
/// The most characters of a record's title a listing shows.
const TITLE_CHARS: usize = 160;
/// Entity types (or other items) of an extension one read shows at most.
const EXTENSION_ITEMS: usize = 200;

/// A kind of record served as resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A Q&A entry (`reflection/qa.ncl`).
    Qa,
    /// An architecture decision record (`adrs/`).
    Adr,
    /// An ontology node (`.ontology/core.ncl`).
    Node,
    /// A backlog item (`reflection/backlog.ncl`).
    Backlog,
    /// An operational mode, as it resolves here (ADR-018).
    Mode,
    /// A vendored ontology extension (`.ontoref/ontologies/`), resolved.
    Ontology,
}

impl ResourceKind {
    /// Every kind, in listing order.
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::Qa,
        ResourceKind::Adr,
        ResourceKind::Node,
        ResourceKind::Backlog,
        ResourceKind::Mode,
        ResourceKind::Ontology,
    ];

    /// The URI's first segment: `qa`, `adr`, `node`, `backlog`, `mode`,
    /// `ontology`.
    pub fn segment(self) -> &'static str {
        match self {
            ResourceKind::Qa => "qa",
            ResourceKind::Adr => "adr",
            ResourceKind::Node => "node",
            ResourceKind::Backlog => "backlog",
            ResourceKind::Mode => "mode",
            ResourceKind::Ontology => "ontology",
        }
    }

    /// The kind a URI segment names.
    pub fn from_segment(segment: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.segment() == segment)
    }

    /// The toolset whose tools read this kind: the kind is served with it.
    pub fn toolset(self) -> &'static str {
        match self {
            ResourceKind::Qa => "qa",
            ResourceKind::Adr => "adr",
            ResourceKind::Node | ResourceKind::Ontology => "ontology",
            ResourceKind::Backlog => "backlog",
            ResourceKind::Mode => "modes",
        }
    }

    /// The RFC 6570 template of its URIs, e.g. `ontoref://adr/{id}`.
    pub fn template(self) -> String {
        format!("{SCHEME}://{}/{{id}}", self.segment())
    }

    /// The URI of record `id` (characters outside RFC 3986's unreserved set
    /// percent-encoded, as the template's simple expansion does).
    pub fn uri(self, id: &str) -> String {
        format!("{SCHEME}://{}/{}", self.segment(), encode(id))
    }

    /// How the kind is named to a person.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::Qa => "Q&A entry",
            ResourceKind::Adr => "architecture decision record",
            ResourceKind::Node => "ontology node",
            ResourceKind::Backlog => "backlog item",
            ResourceKind::Mode => "operational mode",
            ResourceKind::Ontology => "ontology extension",
        }
    }

    /// The template's title.
    pub fn title(self) -> &'static str {
        match self {
            ResourceKind::Qa => "Q&A entry",
            ResourceKind::Adr => "Architecture decision",
            ResourceKind::Node => "Ontology node",
            ResourceKind::Backlog => "Backlog item",
            ResourceKind::Mode => "Operational mode",
            ResourceKind::Ontology => "Ontology extension",
        }
    }

    /// What the template's resources hold, for a model.
    pub fn description(self) -> &'static str {
        match self {
            ResourceKind::Qa => {
                "One entry of the project's Q&A store (reflection/qa.ncl): the question, the whole answer, tags and related ids."
            }
            ResourceKind::Adr => {
                "One architecture decision record (adrs/): status, context, decision, rationale and every Hard or Soft constraint with its check."
            }
            ResourceKind::Node => {
                "One node of the project's ontology (.ontology/core.ncl): an axiom, tension or practice with its description, artifact paths, ADRs and edges."
            }
            ResourceKind::Backlog => {
                "One backlog item (reflection/backlog.ncl): status, priority, kind, detail and what it relates to."
            }
            ResourceKind::Mode => {
                "One operational mode as it resolves in this project (ADR-018): why it resolves at its level, then its steps in order with command, verification and on-error."
            }
            ResourceKind::Ontology => {
                "One vendored MIF ontology extension (.ontoref/ontologies/), resolved with everything it extends; every file served is checked against the lock."
            }
        }
    }
}

/// The kinds offered by a server serving tools of `toolsets` (ids, repeats
/// allowed), in listing order.
pub fn served_kinds<'a>(toolsets: impl IntoIterator<Item = &'a str>) -> Vec<ResourceKind> {
    let served: Vec<&str> = toolsets.into_iter().collect();
    ResourceKind::ALL
        .into_iter()
        .filter(|k| served.contains(&k.toolset()))
        .collect()
}

/// A resource template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The kind.
    pub kind: ResourceKind,
    /// `ontoref://<kind>/{id}`.
    pub uri_template: String,
    /// Its programmatic name: the kind's URI segment.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What its resources hold.
    pub description: &'static str,
}

impl Template {
    fn of(kind: ResourceKind) -> Template {
        Template {
            kind,
            uri_template: kind.template(),
            name: kind.segment(),
            title: kind.title(),
            description: kind.description(),
        }
    }
}

/// The templates of `kinds`; ontology extensions only when the project has
/// a snapshot (or one that fails to open, whose error a read reports).
pub fn templates(engine: &Engine, kinds: &[ResourceKind]) -> Vec<Template> {
    kinds
        .iter()
        .filter(|k| {
            **k != ResourceKind::Ontology || !matches!(engine.ontology_snapshot(), Ok(None))
        })
        .map(|k| Template::of(*k))
        .collect()
}

/// A resource URI, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUri {
    /// Its kind.
    pub kind: ResourceKind,
    /// The record's id, percent-decoded.
    pub id: String,
}

/// Parses `ontoref://<kind>/<id>` for one of `kinds`; anything else is
/// [`ResourceError::UnknownUri`] naming the templates of `kinds`.
pub fn parse_uri(uri: &str, kinds: &[ResourceKind]) -> Result<ResourceUri, ResourceError> {
    let unknown = || ResourceError::UnknownUri {
        uri: clip(uri),
        templates: kinds.iter().map(|k| k.template()).collect(),
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(unknown)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(unknown());
    }
    let (segment, id) = rest.split_once('/').ok_or_else(unknown)?;
    let kind = ResourceKind::from_segment(segment)
        .filter(|k| kinds.contains(k))
        .ok_or_else(unknown)?;
    // One path segment: a `/` in an id comes percent-encoded.
    if id.is_empty() || id.contains('/') {
        return Err(unknown());
    }
    Ok(ResourceUri {
        kind,
        id: decode(id),
    })
}

/// One resource in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its URI.
    pub uri: String,
    /// Its kind.
    pub kind: ResourceKind,
    /// The record's id.
    pub name: String,
    /// The record's title (question, ADR title, node name…), cut to 160
    /// characters.
    pub title: String,
    /// When its source file last changed (RFC 3339, UTC), when known.
    pub last_modified: Option<String>,
}

/// One page of resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The page, kinds in [`ResourceKind::ALL`] order, records in file order.
    pub resources: Vec<Listed>,
    /// Pass back for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// One page (at most [`PAGE_SIZE`], within the response budget) of every
/// record of `kinds`, from `cursor`. A kind whose files fail to load is
/// left out (logged); reading one of its records reports the error. A
/// cursor from another listing is `invalid-cursor`; one issued before the
/// set of resources changed is `cursor-stale`.
pub async fn list(
    engine: &Engine,
    kinds: &[ResourceKind],
    cursor: Option<&str>,
) -> Result<ListPage, ResourceError> {
    list_pages_of(engine, kinds, cursor, PAGE_SIZE).await
}

/// [`list`] with pages of at most `page_size`.
async fn list_pages_of(
    engine: &Engine,
    kinds: &[ResourceKind],
    cursor: Option<&str>,
    page_size: usize,
) -> Result<ListPage, ResourceError> {
    let mut all = Vec::new();
    for kind in kinds {
        match entries(engine, *kind).await {
            Ok(found) => all.extend(found.into_iter().map(|e| e.listed(*kind))),
            Err(e) => tracing::warn!(
                kind = kind.segment(),
                code = e.code(),
                "resources of this kind left out of the listing: {e}"
            ),
        }
    }
    let mut generation = Sha256::new();
    for r in &all {
        generation.update(r.uri.as_bytes());
        generation.update([0]);
    }
    let key = PageKey::new("resources/list", &generation.finalize());
    let (range, next_cursor) =
        page_within(&key, cursor, page_size, all.len(), RESPONSE_BUDGET, |i| {
            all.get(i)
                .map_or(0, |r| 2 * r.uri.len() + r.name.len() + r.title.len() + 120)
        })
        .map_err(ToolError::from)?;
    Ok(ListPage {
        resources: all[range].to_vec(),
        next_cursor,
    })
}

/// A resource read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its URI (canonical form).
    pub uri: String,
    /// The record's id.
    pub name: String,
    /// The record's title.
    pub title: String,
    /// The record in Markdown, at most [`MAX_MARKDOWN`] bytes.
    pub markdown: String,
    /// When its source file last changed (RFC 3339, UTC), when known.
    pub last_modified: Option<String>,
}

/// Reads the resource at `uri` (one of `kinds`) as Markdown: the record's
/// rendering, cut at [`MAX_MARKDOWN`] bytes with a note saying where the
/// rest is. An unknown id is [`ResourceError::NotFound`] with the closest
/// ids of its kind.
pub async fn read(
    engine: &Engine,
    kinds: &[ResourceKind],
    uri: &str,
) -> Result<Resource, ResourceError> {
    let ResourceUri { kind, id } = parse_uri(uri, kinds)?;
    let found = entries(engine, kind).await?;
    let Some(entry) = found.iter().find(|e| e.id == id) else {
        return Err(ResourceError::NotFound {
            uri: clip(uri),
            kind,
            id: clip(&id),
            closest: closest(&id, found.iter().map(|e| e.id.as_str()), 3),
        });
    };
    let md = Style::Markdown;
    let (markdown, tool) = match kind {
        ResourceKind::Qa => (
            render::<QaShowTool>(&engine.qa().await?.show(&id)?, md),
            "ontoref_qa_show",
        ),
        ResourceKind::Adr => (
            render::<AdrGetTool>(&engine.adrs().await?.show(&id)?, md),
            "ontoref_adr_get",
        ),
        ResourceKind::Node => (
            render::<NodeGetTool>(&engine.core().await?.get(&id)?, md),
            "ontoref_node_get",
        ),
        ResourceKind::Backlog => (
            render::<BacklogGetTool>(&engine.backlog().await?.show(&id)?, md),
            "ontoref_backlog_get",
        ),
        ResourceKind::Mode => (
            render::<ModeResolveTool>(&engine.hierarchy().await?.resolution(&id)?, md),
            "ontoref_mode_resolve",
        ),
        ResourceKind::Ontology => {
            let view =
                engine
                    .ontologies()?
                    .get(&id, View::Resolved, None, EXTENSION_ITEMS, None)?;
            (
                render::<GetOntologyExtensionTool>(&view, md),
                "ontoref_get_ontology_extension",
            )
        }
    };
    Ok(Resource {
        uri: kind.uri(&id),
        name: entry.id.clone(),
        title: entry.title.clone(),
        markdown: bounded(
            markdown,
            MAX_MARKDOWN,
            &format!("the tool `{tool}` and the source file have it whole"),
        ),
        last_modified: entry.modified.map(rfc3339),
    })
}

/// The ids of `kind`, in file order (empty for ontology extensions when
/// nothing is vendored).
pub async fn ids(engine: &Engine, kind: ResourceKind) -> Result<Vec<String>, ToolError> {
    Ok(entries(engine, kind)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect())
}

/// Completes argument `argument` (it must be `id`) of the template
/// `template` (one of `kinds`') with the ids starting with, then
/// containing, `typed`.
pub async fn complete_id(
    engine: &Engine,
    kinds: &[ResourceKind],
    template: &str,
    argument: &str,
    typed: &str,
) -> Result<Completion, ResourceError> {
    let Some(kind) = kinds.iter().find(|k| k.template() == template) else {
        return Err(ResourceError::UnknownUri {
            uri: clip(template),
            templates: kinds.iter().map(|k| k.template()).collect(),
        });
    };
    if argument != "id" {
        return Err(ResourceError::UnknownArgument {
            template: template.to_owned(),
            argument: clip(argument),
        });
    }
    let ids = ids(engine, *kind).await?;
    Ok(rank(ids.iter().map(String::as_str), typed))
}

/// A record as listings and reads need it.
#[derive(Debug)]
struct Entry {
    id: String,
    title: String,
    modified: Option<SystemTime>,
}

impl Entry {
    fn listed(self, kind: ResourceKind) -> Listed {
        Listed {
            uri: kind.uri(&self.id),
            kind,
            name: self.id,
            title: self.title,
            last_modified: self.modified.map(rfc3339),
        }
    }
}

/// Every record of `kind`, in file order, with its title and the
/// modification time of its file.
async fn entries(engine: &Engine, kind: ResourceKind) -> Result<Vec<Entry>, ToolError> {
    let project = engine.project();
    let mut stamps = Stamps(engine, HashMap::new());
    let entry = |id: &str, title: &str, modified| Entry {
        id: id.to_owned(),
        title: clip_to(title.trim(), TITLE_CHARS),
        modified,
    };
    Ok(match kind {
        ResourceKind::Qa => {
            let at = stamps.of(&project.file("reflection/qa.ncl"));
            engine
                .qa()
                .await?
                .entries()
                .iter()
                .map(|e| entry(&e.id, &e.question, at))
                .collect()
        }
        ResourceKind::Adr => engine
            .adrs()
            .await?
            .adrs
            .iter()
            .map(|(file, a)| {
                let at = source(engine, file).and_then(|p| stamps.of(&p));
                entry(&a.id, &a.title, at)
            })
            .collect(),
        ResourceKind::Node => {
            let at = stamps.of(&project.file(".ontology/core.ncl"));
            engine
                .core()
                .await?
                .nodes()
                .iter()
                .map(|n| entry(&n.id, &n.name, at))
                .collect()
        }
        ResourceKind::Backlog => {
            let at = stamps.of(&project.file("reflection/backlog.ncl"));
            engine
                .backlog()
                .await?
                .items()
                .iter()
                .map(|i| entry(&i.id, &i.title, at))
                .collect()
        }
        ResourceKind::Mode => {
            let h = engine.hierarchy().await?;
            let levels = h.lowest_first();
            h.mode_ids()
                .iter()
                .map(|id| {
                    let defined: Vec<_> = levels.iter().filter_map(|l| l.modes.get(id)).collect();
                    let trigger = defined.iter().find_map(|(_, m)| m.trigger.as_deref());
                    let title = match trigger {
                        Some(t) => format!("{id}: when {t}"),
                        None => id.clone(),
                    };
                    // The newest of the files defining it, at any level.
                    let at = defined
                        .iter()
                        .filter_map(|(file, _)| source(engine, file).and_then(|p| stamps.of(&p)))
                        .max();
                    entry(id, &title, at)
                })
                .collect()
        }
        ResourceKind::Ontology => {
            let Some(snapshot) = engine.ontology_snapshot()? else {
                return Ok(Vec::new());
            };
            let descriptions = extension_descriptions(&snapshot)?;
            snapshot
                .lock()
                .ontologies
                .keys()
                .map(|id| {
                    let at = snapshot
                        .index()
                        .ontologies
                        .get(id)
                        .and_then(|e| stamps.of(&snapshot.dir().join(&e.file)));
                    let title = descriptions
                        .get(id)
                        .filter(|d| !d.is_empty())
                        .cloned()
                        .unwrap_or_else(|| id.clone());
                    entry(id, &title, at)
                })
                .collect()
        }
    })
}

/// Each vendored extension's description, by id (every page of the list).
fn extension_descriptions(
    snapshot: &crate::ontologies::snapshot::Snapshot,
) -> Result<HashMap<String, String>, ToolError> {
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = snapshot.list(None, 500, cursor.as_deref())?;
        for e in page.extensions {
            out.insert(e.id, e.description);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The file a loaded document was displayed as: under the project unless
/// absolute; `None` for the files embedded in the binary.
fn source(engine: &Engine, display: &str) -> Option<PathBuf> {
    if display.starts_with("<ontoref>/") {
        return None;
    }
    let path = Path::new(display);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        engine.project().root().join(path)
    })
}

/// Modification times, each file asked of the engine once per call
/// ([`Engine::modified`]: no `stat` while a watching engine saw no change).
struct Stamps<'a>(&'a Engine, HashMap<PathBuf, Option<SystemTime>>);

impl Stamps<'_> {
    fn of(&mut self, path: &Path) -> Option<SystemTime> {
        let engine = self.0;
        *self
            .1
            .entry(path.to_path_buf())
            .or_insert_with(|| engine.modified(path))
    }
}

/// A time as RFC 3339 in UTC, to the second: `2026-01-08T10:00:00Z`.
fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Percent-encodes everything outside RFC 3986's unreserved characters.
fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; a malformed escape, or bytes that are not UTF-8
/// once decoded, leave the text as it was.
fn decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return text.to_owned(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// A resource could not be listed, read or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The URI is not `ontoref://<kind>/<id>` for a kind served here.
    #[error("no resource `{uri}`: this server's resources are {}", templates_text(.templates))]
    UnknownUri {
        /// The URI asked for (cut).
        uri: String,
        /// The templates served.
        templates: Vec<String>,
    },
    /// The kind is served but has no record with this id.
    #[error("no {} has id `{id}` (resource `{uri}`)", kind.noun())]
    NotFound {
        /// The URI asked for (cut).
        uri: String,
        /// Its kind.
        kind: ResourceKind,
        /// The id asked for (cut).
        id: String,
        /// The closest ids of that kind.
        closest: Vec<String>,
    },
    /// A completion asked for an argument the template does not have.
    #[error("resource template `{template}` has no argument `{argument}`")]
    UnknownArgument {
        /// The template.
        template: String,
        /// The argument asked for (cut).
        argument: String,
    },
    /// Loading the records failed (a file that does not evaluate, a bad
    /// cursor): the tool error, with its own code.
    #[error(transparent)]
    Tool(#[from] ToolError),
}

fn templates_text(templates: &[String]) -> String {
    if templates.is_empty() {
        "none".to_owned()
    } else {
        templates.join(", ")
    }
}

impl From<crate::model::ModelError> for ResourceError {
    fn from(e: crate::model::ModelError) -> Self {
        ResourceError::Tool(e.into())
    }
}

impl From<crate::ontologies::OntologyError> for ResourceError {
    fn from(e: crate::ontologies::OntologyError) -> Self {
        ResourceError::Tool(e.into())
    }
}

impl ResourceError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ResourceError::UnknownUri { .. } => "resource-unknown-uri",
            ResourceError::NotFound { .. } => "resource-not-found",
            ResourceError::UnknownArgument { .. } => "resource-argument-unknown",
            ResourceError::Tool(e) => e.code(),
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            ResourceError::UnknownUri { templates, .. } if templates.is_empty() => {
                "this server serves no resources; its tools are in `tools/list`".to_owned()
            }
            ResourceError::UnknownUri { templates, .. } => format!(
                "use a URI of the form {}; `resources/list` lists every resource",
                templates_text(templates)
            ),
            ResourceError::NotFound { closest, kind, .. } if !closest.is_empty() => format!(
                "did you mean {}? `resources/list` lists every resource, and completing \
                 `{}` offers its ids",
                quote_list(closest),
                kind.template()
            ),
            ResourceError::NotFound { kind, .. } => format!(
                "`resources/list` lists every resource; completing `{}` offers its ids",
                kind.template()
            ),
            ResourceError::UnknownArgument { .. } => {
                "a resource template's only argument is `id`".to_owned()
            }
            ResourceError::Tool(e) => e.hint(),
        }
    }

    /// Whether the request named something that does not exist (the URI,
    /// an id, an argument) rather than the project failing to load.
    pub fn is_not_found(&self) -> bool {
        match self {
            ResourceError::UnknownUri { .. }
            | ResourceError::NotFound { .. }
            | ResourceError::UnknownArgument { .. } => true,
            ResourceError::Tool(_) => false,
        }
    }

    /// Whether the request was at fault: something that does not exist, or
    /// a cursor not issued for this listing.
    pub fn is_caller_fault(&self) -> bool {
        self.is_not_found() || matches!(self, ResourceError::Tool(ToolError::Cursor(_)))
    }
}

impl ErrorCodes for ResourceError {
    const VARIANTS: usize = 4;

    fn examples() -> Vec<Self> {
        vec![
            ResourceError::UnknownUri {
                uri: "ontoref://nothing".into(),
                templates: vec![ResourceKind::Adr.template()],
            },
            ResourceError::NotFound {
                uri: "ontoref://adr/adr-01".into(),
                kind: ResourceKind::Adr,
                id: "adr-01".into(),
                closest: vec!["adr-001".into()],
            },
            ResourceError::UnknownArgument {
                template: ResourceKind::Adr.template(),
                argument: "name".into(),
            },
            ResourceError::Tool(ToolError::Internal("x".into())),
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = ResourceError::VARIANTS;
        match self {
            ResourceError::UnknownUri { .. } => variant::<0, N>(),
            ResourceError::NotFound { .. } => variant::<1, N>(),
            ResourceError::UnknownArgument { .. } => variant::<2, N>(),
            ResourceError::Tool(_) => variant::<3, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, ResourceError::Tool(_))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ontologies::snapshot::testing::{WIDEST, WIDEST_CLOSURE, corpus_project};
    use crate::toolsets::testing::{engine_on, template};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    const ALL: &[ResourceKind] = &ResourceKind::ALL;

    #[test]
    fn uris_parse_into_a_kind_and_a_decoded_id() {
        let got = parse_uri("ontoref://adr/adr-001", ALL).unwrap();
        assert_eq!((got.kind, got.id.as_str()), (ResourceKind::Adr, "adr-001"));
        let got = parse_uri("ONTOREF://mode/release", ALL).unwrap();
        assert_eq!(got.kind, ResourceKind::Mode);
        let odd = "a b/c%é";
        let uri = ResourceKind::Qa.uri(odd);
        assert_eq!(uri, "ontoref://qa/a%20b%2Fc%25%C3%A9");
        assert_eq!(parse_uri(&uri, ALL).unwrap().id, odd);
        // A malformed escape is kept as written.
        assert_eq!(parse_uri("ontoref://qa/100%", ALL).unwrap().id, "100%");
        for bad in [
            "ontoref://nothing",
            "ontoref://qa/",
            "ontoref://qa/a/b",
            "ontoref://wiki/x",
            "test://qa/x",
            "ontoref:qa/x",
            "",
        ] {
            match parse_uri(bad, ALL) {
                Err(ResourceError::UnknownUri { templates, .. }) => {
                    assert_eq!(templates.len(), ALL.len(), "{bad}");
                    assert!(templates.contains(&"ontoref://adr/{id}".to_owned()));
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        // A kind whose toolset is not served is unknown too.
        let qa_only = served_kinds(["qa"]);
        assert_eq!(qa_only, [ResourceKind::Qa]);
        let err = parse_uri("ontoref://adr/adr-001", &qa_only).unwrap_err();
        assert_eq!(err.code(), "resource-unknown-uri");
        assert!(err.to_string().contains("ontoref://qa/{id}"), "{err}");
        assert_eq!(
            served_kinds(["ontology", "modes"]),
            [
                ResourceKind::Node,
                ResourceKind::Mode,
                ResourceKind::Ontology
            ]
        );
    }

    #[test]
    fn the_listing_pages_through_every_record_exactly_once() {
        let (e, _d) = template();
        let expected: usize = ALL
            .iter()
            .map(|k| block_on(ids(&e, *k)).unwrap().len())
            .sum();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = block_on(list_pages_of(&e, ALL, cursor.as_deref(), 7)).unwrap();
            assert!(page.resources.len() <= 7);
            seen.extend(page.resources);
            pages += 1;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert!(pages > 3, "{pages}");
        assert_eq!(seen.len(), expected);
        let uris: HashSet<&str> = seen.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(uris.len(), expected, "each resource once");
        for kind in [
            ResourceKind::Qa,
            ResourceKind::Adr,
            ResourceKind::Node,
            ResourceKind::Backlog,
            ResourceKind::Mode,
        ] {
            assert!(seen.iter().any(|r| r.kind == kind), "{kind:?}");
        }
        // Nothing is vendored in the template.
        assert!(!seen.iter().any(|r| r.kind == ResourceKind::Ontology));
        assert!(
            !templates(&e, ALL)
                .iter()
                .any(|t| t.kind == ResourceKind::Ontology)
        );
        let adr = seen
            .iter()
            .find(|r| r.uri == "ontoref://adr/adr-001")
            .unwrap();
        assert_eq!(adr.name, "adr-001");
        assert!(adr.title.starts_with("Keep the project's self-knowledge"));
        let at = adr.last_modified.as_deref().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        // The whole listing fits the default page; a foreign cursor is refused.
        let all = block_on(list(&e, ALL, None)).unwrap();
        assert_eq!((all.resources.len(), all.next_cursor), (expected, None));
        let err = block_on(list(&e, ALL, Some("bm90LWEtY3Vyc29y"))).unwrap_err();
        assert_eq!(err.code(), "invalid-cursor");
        assert!(err.is_caller_fault());
    }

    #[test]
    fn a_read_is_the_records_markdown_with_its_modification_time() {
        let (e, _d) = template();
        let adr = block_on(read(&e, ALL, "ontoref://adr/adr-001")).unwrap();
        assert!(
            adr.markdown
                .starts_with("## adr-001: Keep the project's self-knowledge"),
            "{}",
            adr.markdown
        );
        assert!(adr.markdown.contains("### Constraints"), "{}", adr.markdown);
        assert!(adr.last_modified.is_some());
        let mode = block_on(read(&e, ALL, "ontoref://mode/release")).unwrap();
        assert!(
            mode.markdown.contains("1. **changelog**"),
            "{}",
            mode.markdown
        );
        assert!(
            mode.markdown
                .contains("command: `ontoref adr check --severity Hard`"),
            "{}",
            mode.markdown
        );
        assert!(mode.title.starts_with("release: when "), "{}", mode.title);
        let node = block_on(read(&e, ALL, "ontoref://node/reach-vs-exposure")).unwrap();
        assert!(
            node.markdown.contains("**level:** Tension"),
            "{}",
            node.markdown
        );
        let qa = block_on(read(&e, ALL, "ontoref://qa/what-is-ontoref")).unwrap();
        assert!(
            qa.markdown.starts_with("## What is ontoref"),
            "{}",
            qa.markdown
        );
        let bl = block_on(read(&e, ALL, "ontoref://backlog/bl-001")).unwrap();
        assert!(bl.markdown.starts_with("## bl-001: "), "{}", bl.markdown);
        assert!(qa.markdown.len() <= MAX_MARKDOWN + 200);
    }

    #[test]
    fn an_unknown_id_names_the_closest_and_an_unknown_kind_the_templates() {
        let (e, _d) = template();
        match block_on(read(&e, ALL, "ontoref://adr/adr-01")).unwrap_err() {
            ResourceError::NotFound { closest, kind, .. } => {
                assert_eq!(kind, ResourceKind::Adr);
                assert!(closest.contains(&"adr-001".to_owned()), "{closest:?}");
            }
            other => panic!("{other:?}"),
        }
        let err = block_on(read(&e, ALL, "ontoref://mode/relase")).unwrap_err();
        assert_eq!(err.code(), "resource-not-found");
        assert!(err.hint().contains("`release`"), "{}", err.hint());
        let err = block_on(read(&e, ALL, "ontoref://wiki/x")).unwrap_err();
        assert_eq!(err.code(), "resource-unknown-uri");
        assert!(err.hint().contains("ontoref://mode/{id}"), "{}", err.hint());
    }

    #[test]
    fn ids_complete_by_prefix_for_a_template() {
        let (e, _d) = template();
        let c = block_on(complete_id(&e, ALL, "ontoref://adr/{id}", "id", "adr-00")).unwrap();
        assert!(c.values.len() >= 6 && c.values.iter().all(|v| v.starts_with("adr-00")));
        assert!(!c.has_more);
        let c = block_on(complete_id(&e, ALL, "ontoref://mode/{id}", "id", "REL")).unwrap();
        assert_eq!(c.values[0], "release");
        let err = block_on(complete_id(&e, ALL, "ontoref://adr/{id}", "name", "")).unwrap_err();
        assert_eq!(err.code(), "resource-argument-unknown");
        let err = block_on(complete_id(&e, ALL, "test://x/{id}", "id", "")).unwrap_err();
        assert_eq!(err.code(), "resource-unknown-uri");
    }

    #[test]
    fn vendored_extensions_are_listed_read_and_completed() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let (e, _d) = engine_on(&root);
        assert!(
            templates(&e, ALL)
                .iter()
                .any(|t| t.kind == ResourceKind::Ontology)
        );
        let all = block_on(list(&e, ALL, None)).unwrap();
        let ext: Vec<&Listed> = all
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Ontology)
            .collect();
        assert_eq!(ext.len(), WIDEST_CLOSURE.len());
        assert!(ext.iter().all(|r| r.last_modified.is_some()));
        let uri = ResourceKind::Ontology.uri(WIDEST);
        let got = block_on(read(&e, ALL, &uri)).unwrap();
        assert!(
            got.markdown.starts_with(&format!("## {WIDEST} ")),
            "{}",
            got.markdown
        );
        assert!(got.markdown.contains("husbandry-practice"));
        let c = block_on(complete_id(
            &e,
            ALL,
            "ontoref://ontology/{id}",
            "id",
            "regen",
        ))
        .unwrap();
        assert_eq!(c.values, [WIDEST]);
        // The project has no other knowledge: those kinds are simply empty.
        assert!(block_on(ids(&e, ResourceKind::Qa)).unwrap().is_empty());
    }
}
