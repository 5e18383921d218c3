//! "Why is this file like this?": the reverse index from the ontology's
//! `artifact_paths` (a file, a directory, or a glob) to the nodes naming
//! them ([`PathIndex`]), and [`PathIndex::explain`], which answers for one
//! project path with the nodes whose artifact paths cover it, the ADRs that
//! bind those nodes (Hard and Soft constraints, claim and check) and the
//! Q&A entries that mention the path. An unmatched path is an empty answer
//! with the nearest artifact paths the ontology does name, not an error.
//!
//! Matching rules (the tool's description states them for a model):
//! - a literal artifact path (`src/output.rs`, `src/transport/` or
//!   `src/transport`; a trailing `/` changes nothing) matches the path it
//!   names and every path under it, and, when the query is a directory,
//!   lies under it;
//! - a glob (`*`, `?`, `[..]`, `{a,b}`; `*` stays within one directory,
//!   `**` crosses them) matches a path it matches, a path inside a directory
//!   it matches, and lies under a queried directory holding its fixed part
//!   (`src/vault/**` lies under `src/` and `src/vault`).
//!
//! Paths are compared as written, component by component, case-sensitively;
//! nothing here reads the file system. Knows nothing of MCP or the CLI; the
//! engine keeps one index per loaded core (`Engine::path_index`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::Serialize;

use crate::adr::{AdrSet, AdrStatus, Severity};
use crate::echo::clip_to;
use crate::error::{ErrorBody, ToolError};
use crate::model::json_size;
use crate::ontology::{Core, NodeLevel};
use crate::paging::{PageKey, RESPONSE_BUDGET};
use crate::qa::QaStore;
use crate::suggest::{closest, edit_distance};

/// The most Q&A entries one answer lists (`total_qa` counts them all).
pub const QA_CAP: usize = 10;
/// The most `nearest` suggestions of an empty answer.
pub const NEAREST_CAP: usize = 5;
/// The longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// The longest question quoted in `qa`, in characters.
const QUESTION_CHARS: usize = 200;
/// Candidates under one directory weighed for `nearest`.
const NEAREST_CANDIDATES: usize = 256;
/// Bytes of an answer kept for what is not nodes or ADRs (path, totals,
/// cursor, hint).
const ENVELOPE_BYTES: usize = 1024;

/// A path inside the project: relative to its root, `/`-separated, with no
/// `.` or `..` component, no empty component and no leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// `raw` as a project path: relative to the project root, or absolute
    /// and inside one of `roots` (the root as given and as resolved).
    /// `./` and `.` components are dropped and `a/../b` is resolved
    /// lexically; a path that climbs out of the project, an absolute path
    /// elsewhere, the root itself, an empty path or one over
    /// [`MAX_PATH_BYTES`] is refused with a sentence saying why (the
    /// caller's `invalid-params` detail).
    pub fn parse(raw: &str, roots: &[&Path]) -> Result<ProjectPath, String> {
        let shown = || clip_to(raw, 80);
        if raw.len() > MAX_PATH_BYTES {
            return Err(format!(
                "path is {} bytes long; at most {MAX_PATH_BYTES}",
                raw.len()
            ));
        }
        if raw.contains('\0') {
            return Err("path contains a NUL character".to_owned());
        }
        let path = raw.trim();
        if path.is_empty() {
            return Err(
                "path is empty: name a file or directory relative to the project root, e.g. `src/main.rs`"
                    .to_owned(),
            );
        }
        let parts: Vec<&str> = if path.starts_with('/') {
            let abs = lexical(path, true).unwrap_or_default();
            let inside = roots.iter().find_map(|root| {
                let root = lexical(root.to_str()?, true)?;
                abs.strip_prefix(root.as_slice()).map(<[&str]>::to_vec)
            });
            match inside {
                Some(rest) => rest,
                None => {
                    return Err(format!(
                        "path `{}` is outside the project (root `{}`): give it relative to the project root",
                        shown(),
                        roots
                            .first()
                            .map_or(String::new(), |r| r.display().to_string())
                    ));
                }
            }
        } else {
            lexical(path, false).ok_or_else(|| {
                format!(
                    "path `{}` climbs out of the project with `..`: give it relative to the project root",
                    shown()
                )
            })?
        };
        if parts.is_empty() {
            return Err(format!(
                "path `{}` names the project root itself: name a file or directory under it",
                shown()
            ));
        }
        Ok(ProjectPath(parts.join("/")))
    }

    /// The path, e.g. `src/vault/gate.rs`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The components of a `/`-separated path with `.` and empty ones dropped
/// and `..` applied; `None` when `..` climbs above the start, unless
/// `clamp` (an absolute path: `/..` is `/`).
fn lexical(path: &str, clamp: bool) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && !clamp {
                    return None;
                }
            }
            p => parts.push(p),
        }
    }
    Some(parts)
}

/// An artifact path as the index compares it: `./`, `/` and `.`
/// components and trailing slashes dropped; `None` when nothing is left.
fn normalize_pattern(written: &str) -> Option<String> {
    let parts: Vec<&str> = written
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Whether an artifact path is a glob.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// The directory a glob's matches all lie in: its components before the
/// first one holding a wildcard (`src/vault/**` → `src/vault`, `**/x` → ``).
fn fixed_dir(glob: &str) -> String {
    glob.split('/')
        .take_while(|p| !is_glob(p))
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` and each directory holding it, deepest first, with their depth
/// in components.
fn ancestors(path: &str) -> impl Iterator<Item = (&str, usize)> {
    let depth = path.split('/').count();
    std::iter::once((path, depth)).chain(
        path.rmatch_indices('/')
            .enumerate()
            .map(move |(i, (at, _))| (&path[..at], depth - 1 - i)),
    )
}

/// The keys of `map` that lie strictly under directory `dir`, in order.
fn under<'a, V>(map: &'a BTreeMap<String, V>, dir: &str) -> impl Iterator<Item = (&'a str, &'a V)> {
    let prefix = format!("{dir}/");
    map.range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k.as_str(), v))
}

/// How an artifact path covers the asked path; the derived order puts the
/// most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cover {
    /// It names the path.
    Exact,
    /// A glob matching the path.
    Glob,
    /// A directory (or a glob matching one) holding the path; the deeper
    /// the directory, the closer (the field is `usize::MAX - depth`).
    Holds(usize),
    /// It lies under the asked directory.
    Under,
}

/// One artifact path of one node.
#[derive(Debug)]
struct Entry {
    /// The node's position in the core.
    node: usize,
    /// The artifact path as written.
    written: String,
}

/// The globs rooted in one directory (their [`fixed_dir`]): one set when
/// it builds, else one matcher each, and the entries of each glob.
#[derive(Debug)]
struct GlobGroup {
    matchers: Matchers,
    /// Entries of each glob, by its position in the group.
    entries: Vec<Vec<usize>>,
}

#[derive(Debug)]
enum Matchers {
    Set(GlobSet),
    Each(Vec<GlobMatcher>),
}

impl GlobGroup {
    fn new(globs: Vec<(Glob, Vec<usize>)>) -> GlobGroup {
        let mut set = GlobSetBuilder::new();
        for (g, _) in &globs {
            set.add(g.clone());
        }
        let matchers = match set.build() {
            Ok(set) => Matchers::Set(set),
            Err(_) => Matchers::Each(globs.iter().map(|(g, _)| g.compile_matcher()).collect()),
        };
        GlobGroup {
            matchers,
            entries: globs.into_iter().map(|(_, es)| es).collect(),
        }
    }

    /// The entries of the globs matching `path`.
    fn matching<'a>(
        &'a self,
        path: &str,
        hits: &'a mut Vec<usize>,
    ) -> impl Iterator<Item = usize> + 'a {
        hits.clear();
        match &self.matchers {
            Matchers::Set(set) => set.matches_into(path, hits),
            Matchers::Each(each) => hits.extend(
                each.iter()
                    .enumerate()
                    .filter_map(|(i, g)| g.is_match(path).then_some(i)),
            ),
        }
        hits.iter()
            .filter_map(|&g| self.entries.get(g))
            .flatten()
            .copied()
    }

    /// Every entry of the group.
    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().flatten().copied()
    }
}

/// The reverse index of one loaded core: artifact path → nodes. Built once
/// per core ([`PathIndex::new`]); answers hold no lock and read no file.
#[derive(Debug)]
pub struct PathIndex {
    core: Arc<Core>,
    entries: Vec<Entry>,
    /// Normalised literal artifact path → entries.
    literals: BTreeMap<String, Vec<usize>>,
    /// The globs by the directory they are rooted in (`` for `**/x`): a
    /// path is only matched against the globs of its own directories.
    globs: BTreeMap<String, GlobGroup>,
    /// Each top-level name of an artifact path → how `nearest` shows it:
    /// as written when an artifact path is just that name, else as a
    /// directory (`src/`).
    tops: BTreeMap<String, String>,
}

impl PathIndex {
    /// Indexes every artifact path of `core`'s nodes. A glob that does not
    /// parse is taken as a literal path.
    pub fn new(core: Arc<Core>) -> PathIndex {
        let mut entries = Vec::new();
        let mut literals: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        // Directory → glob text → (glob, entries).
        let mut globs: BTreeMap<String, BTreeMap<String, (Glob, Vec<usize>)>> = BTreeMap::new();
        for (n, node) in core.nodes().iter().enumerate() {
            for written in &node.artifact_paths {
                let Some(norm) = normalize_pattern(written) else {
                    continue;
                };
                let e = entries.len();
                entries.push(Entry {
                    node: n,
                    written: written.clone(),
                });
                let glob = is_glob(&norm)
                    .then(|| GlobBuilder::new(&norm).literal_separator(true).build().ok())
                    .flatten();
                match glob {
                    Some(glob) => globs
                        .entry(fixed_dir(&norm))
                        .or_default()
                        .entry(norm)
                        .or_insert_with(|| (glob, Vec::new()))
                        .1
                        .push(e),
                    None => literals.entry(norm).or_default().push(e),
                }
            }
        }
        let globs: BTreeMap<String, GlobGroup> = globs
            .into_iter()
            .map(|(dir, group)| (dir, GlobGroup::new(group.into_values().collect())))
            .collect();
        let mut tops: BTreeMap<String, String> = BTreeMap::new();
        for key in literals.keys().chain(globs.keys()) {
            let top = key.split('/').next().unwrap_or(key);
            if top.is_empty() || tops.contains_key(top) {
                continue;
            }
            let shown = match literals.get(top).and_then(|es| es.first()) {
                Some(&e) => entries[e].written.clone(),
                None => format!("{top}/"),
            };
            tops.insert(top.to_owned(), shown);
        }
        PathIndex {
            core,
            entries,
            literals,
            globs,
            tops,
        }
    }

    /// The core this index was built from.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Every (entry, cover) of the artifact paths covering `path`.
    fn covers(&self, path: &str) -> Vec<(usize, Cover)> {
        let mut found = Vec::new();
        let mut hits = Vec::new();
        let here = |at: &str, depth: usize, exact: Cover| {
            if at.len() == path.len() {
                exact
            } else {
                Cover::Holds(usize::MAX - depth)
            }
        };
        let chain: Vec<(&str, usize)> = ancestors(path).collect();
        for &(at, depth) in &chain {
            if let Some(es) = self.literals.get(at) {
                found.extend(es.iter().map(|&e| (e, here(at, depth, Cover::Exact))));
            }
        }
        // A glob rooted in `dir` can only match what lies under `dir`: the
        // root's globs, then those of each directory holding `path`.
        let dirs = std::iter::once("").chain(chain.iter().skip(1).map(|&(a, _)| a));
        for dir in dirs {
            let Some(group) = self.globs.get(dir) else {
                continue;
            };
            for &(at, depth) in chain.iter().filter(|(at, _)| at.len() > dir.len()) {
                let cover = here(at, depth, Cover::Glob);
                found.extend(group.matching(at, &mut hits).map(|e| (e, cover)));
            }
        }
        for (_, es) in under(&self.literals, path) {
            found.extend(es.iter().map(|&e| (e, Cover::Under)));
        }
        let rooted = self.globs.get(path).into_iter().map(|g| (path, g));
        for (_, group) in rooted.chain(under(&self.globs, path)) {
            found.extend(group.all().map(|e| (e, Cover::Under)));
        }
        found
    }

    /// The nodes covering `path`, most specific first (then in file
    /// order), each with the entries that matched, in the node's order.
    fn matches(&self, path: &str) -> Vec<(usize, Vec<usize>)> {
        let mut by_node: HashMap<usize, (Cover, Vec<usize>)> = HashMap::new();
        for (e, cover) in self.covers(path) {
            let Some(entry) = self.entries.get(e) else {
                continue;
            };
            let slot = by_node.entry(entry.node).or_insert((cover, Vec::new()));
            slot.0 = slot.0.min(cover);
            slot.1.push(e);
        }
        let mut nodes: Vec<(Cover, usize, Vec<usize>)> = by_node
            .into_iter()
            .map(|(n, (cover, mut es))| {
                es.sort_unstable();
                es.dedup();
                (cover, n, es)
            })
            .collect();
        nodes.sort_by_key(|(cover, n, _)| (*cover, *n));
        nodes.into_iter().map(|(_, n, es)| (n, es)).collect()
    }

    /// Up to [`NEAREST_CAP`] artifact paths (as written) closest to `path`:
    /// those under the deepest directory of `path` that holds any, by edit
    /// distance; when no directory is shared, the top-level names closest
    /// to its first component.
    fn nearest(&self, path: &str) -> Vec<String> {
        for (dir, _) in ancestors(path).skip(1) {
            let mut candidates: Vec<&str> = under(&self.literals, dir)
                .take(NEAREST_CANDIDATES)
                .filter_map(|(_, es)| es.first().map(|&e| self.entries[e].written.as_str()))
                .collect();
            let rooted = self.globs.get(dir).into_iter().map(|g| (dir, g));
            for (_, group) in rooted
                .chain(under(&self.globs, dir))
                .take(NEAREST_CANDIDATES)
            {
                candidates.extend(
                    group
                        .entries
                        .iter()
                        .filter_map(|es| es.first().map(|&e| self.entries[e].written.as_str())),
                );
            }
            candidates.truncate(NEAREST_CANDIDATES);
            if candidates.is_empty() {
                continue;
            }
            let mut ranked: Vec<(usize, &str)> = candidates
                .into_iter()
                .map(|c| (edit_distance(path, c), c))
                .collect();
            ranked.sort_unstable();
            ranked.dedup_by(|a, b| a.1 == b.1);
            return ranked
                .into_iter()
                .take(NEAREST_CAP)
                .map(|(_, c)| c.to_owned())
                .collect();
        }
        // No directory in common: the closest top-level names.
        let first = path.split('/').next().unwrap_or(path);
        closest(first, self.tops.keys().map(String::as_str), NEAREST_CAP)
            .into_iter()
            .filter_map(|t| self.tops.get(&t).cloned())
            .collect()
    }

    /// What binds `path`: one page of at most `limit` nodes (within the
    /// response budget) whose artifact paths cover it, the ADRs binding
    /// them (each listed once, on the first page whose nodes cite it), and,
    /// on the first page, up to [`QA_CAP`] Q&A entries mentioning the path.
    /// `cursor` is a previous answer's `next_cursor` for the same path and
    /// core; another is `invalid-cursor`, one of a changed core
    /// `cursor-stale`.
    pub fn explain(
        &self,
        adrs: &AdrSet,
        qa: &QaStore,
        path: &ProjectPath,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Explained, ToolError> {
        let core = &self.core;
        let key = PageKey::new(&format!("explain_path {path}"), core.generation());
        let start = match cursor {
            Some(c) if !c.is_empty() => key.decode(c)?,
            _ => 0,
        };
        let matches = self.matches(path.as_str());
        let total_nodes = matches.len();
        let start = start.min(total_nodes);
        let nodes_of = |range: &[(usize, Vec<usize>)]| {
            range
                .iter()
                .filter_map(|(n, _)| core.nodes().get(*n))
                .collect::<Vec<_>>()
        };
        // ADRs already listed on earlier pages.
        let mut listed: HashSet<&str> = nodes_of(&matches[..start])
            .into_iter()
            .flat_map(|n| n.adrs.iter().map(String::as_str))
            .collect();

        let (qa_out, total_qa) = if start == 0 {
            mentions(qa, path.as_str())
        } else {
            (Vec::new(), 0)
        };
        let budget = RESPONSE_BUDGET.saturating_sub(json_size(&qa_out) + ENVELOPE_BYTES);
        let mut used = 0;
        let mut nodes = Vec::new();
        let mut bound = Vec::new();
        let mut missing = Vec::new();
        let mut end = start;
        for (n, es) in matches.iter().skip(start).take(limit) {
            let Some(node) = core.nodes().get(*n) else {
                continue;
            };
            let mut matched: Vec<String> = Vec::new();
            for &e in es {
                let written = &self.entries[e].written;
                if !matched.contains(written) {
                    matched.push(written.clone());
                }
            }
            let out = PathNode {
                id: node.id.clone(),
                name: node.name.clone(),
                level: node.level,
                invariant: node.invariant,
                matched,
                adrs: node.adrs.clone(),
            };
            let mut cost = json_size(&out);
            let mut new_adrs = Vec::new();
            let mut new_missing = Vec::new();
            for id in &node.adrs {
                if listed.contains(id.as_str())
                    || new_adrs.iter().any(|a: &BindingAdr| &a.id == id)
                    || new_missing.contains(id)
                {
                    continue;
                }
                match binding(adrs, id) {
                    Some(a) => {
                        cost += json_size(&a);
                        new_adrs.push(a);
                    }
                    None => new_missing.push(id.clone()),
                }
            }
            if used + cost > budget && end > start {
                break;
            }
            used += cost;
            listed.extend(node.adrs.iter().map(String::as_str));
            nodes.push(out);
            bound.extend(new_adrs);
            missing.extend(new_missing);
            end += 1;
        }
        let next_cursor = (end < total_nodes).then(|| key.encode(end));
        let nearest = if total_nodes == 0 {
            self.nearest(path.as_str())
        } else {
            Vec::new()
        };
        let hint = if total_nodes == 0 {
            Some(if nearest.is_empty() {
                "no artifact_paths of .ontology/core.ncl cover this path, and none lies near it: list the nodes with ontoref_node_list, or add the path to a node's artifact_paths".to_owned()
            } else {
                "no artifact_paths of .ontology/core.ncl cover this path; `nearest` lists the closest ones it names: explain one of those, or add the path to a node's artifact_paths".to_owned()
            })
        } else if !missing.is_empty() {
            Some("`missing_adrs` are cited by a node but not loaded: ontoref_adr_list shows ADR files that failed to load".to_owned())
        } else {
            None
        };
        Ok(Explained {
            path: path.to_string(),
            nodes,
            adrs: bound,
            missing_adrs: missing,
            qa: qa_out,
            total_nodes,
            total_qa,
            next_cursor,
            nearest,
            hint,
            problems: Vec::new(),
        })
    }
}

/// ADR `id` as an answer shows it; `None` when it is not loaded.
fn binding(adrs: &AdrSet, id: &str) -> Option<BindingAdr> {
    let (_, adr) = adrs.get(id).ok()?;
    let superseded = adr.status == AdrStatus::Superseded;
    let of = |s: Severity| -> Vec<BoundConstraint> {
        if superseded {
            return Vec::new();
        }
        adr.constraints
            .iter()
            .filter(|c| c.severity == s)
            .map(|c| BoundConstraint {
                id: c.id.clone(),
                claim: c.claim.clone(),
                check: c.check.clone(),
            })
            .collect()
    };
    Some(BindingAdr {
        id: adr.id.clone(),
        title: adr.title.clone(),
        status: adr.status,
        superseded_by: adrs.superseded_by(id),
        hard: of(Severity::Hard),
        soft: of(Severity::Soft),
    })
}

/// The first [`QA_CAP`] entries whose question or answer mentions `path`,
/// and how many do.
fn mentions(qa: &QaStore, path: &str) -> (Vec<QaMention>, usize) {
    let finder = PathFinder::new(path);
    let mut out = Vec::new();
    let mut total = 0;
    for e in qa.entries() {
        if finder.in_text(&e.question) || finder.in_text(&e.answer) {
            total += 1;
            if out.len() < QA_CAP {
                out.push(QaMention {
                    id: e.id.clone(),
                    question: clip_to(&e.question, QUESTION_CHARS),
                });
            }
        }
    }
    (out, total)
}

/// A character that continues a path name.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-')
}

/// Whether `text` mentions `path` (exactly, case-sensitively) as a whole
/// path: not inside a longer name (`src` in `src-vault`, `qa.ncl` in
/// `qa.ncl.bak`) nor under another directory (`a/src/x` for `src/x`); a
/// leading `./` and anything under the path (`src/` + `x`) still count.
pub fn mentions_path(text: &str, path: &str) -> bool {
    PathFinder::new(path).in_text(text)
}

/// [`mentions_path`] for one path over many texts: the substring searcher
/// is built once.
struct PathFinder<'p> {
    path: &'p str,
    finder: memchr::memmem::Finder<'p>,
}

impl<'p> PathFinder<'p> {
    fn new(path: &'p str) -> PathFinder<'p> {
        PathFinder {
            path,
            finder: memchr::memmem::Finder::new(path.as_bytes()),
        }
    }

    fn in_text(&self, text: &str) -> bool {
        if self.path.is_empty() {
            return false;
        }
        self.finder.find_iter(text.as_bytes()).any(|at| {
            // A match of a UTF-8 needle starts and ends on character
            // boundaries; `get` keeps that from being a panic regardless.
            let (Some(before), Some(after)) = (text.get(..at), text.get(at + self.path.len()..))
            else {
                return false;
            };
            let starts = match before.chars().next_back() {
                None => true,
                Some('/') => before.strip_suffix("./").is_some_and(|b| {
                    b.chars()
                        .next_back()
                        .is_none_or(|c| !name_char(c) && c != '.' && c != '/')
                }),
                Some(c) => !name_char(c) && c != '.',
            };
            let mut rest = after.chars();
            let ends = match rest.next() {
                None => true,
                Some('.') => rest.next().is_none_or(|c| !name_char(c)),
                Some(c) => !name_char(c),
            };
            starts && ends
        })
    }
}

/// A node whose artifact paths cover the asked path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PathNode {
    /// Node id (ontoref_node_get reads it whole).
    pub id: String,
    /// Name.
    pub name: String,
    /// Axiom, Tension or Practice.
    pub level: NodeLevel,
    /// Present and true when the node must never be broken.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invariant: bool,
    /// Its artifact paths that cover the path, as written in core.ncl.
    pub matched: Vec<String>,
    /// Ids of the ADRs binding it (in `adrs` of this or an earlier page).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adrs: Vec<String>,
}

/// A constraint of a binding ADR.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BoundConstraint {
    /// Id within its ADR.
    pub id: String,
    /// What must hold.
    pub claim: String,
    /// How to verify it, as the ADR states it: a record tagged by kind,
    /// e.g. `{tag: "Grep", paths, pattern, must_be_empty}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An ADR binding a matched node.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BindingAdr {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Proposed, Accepted or Superseded.
    pub status: AdrStatus,
    /// The ADRs replacing a Superseded one (whose constraints no longer
    /// bind, so none are listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded_by: Vec<String>,
    /// Its Hard constraints: must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hard: Vec<BoundConstraint>,
    /// Its Soft constraints: should hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub soft: Vec<BoundConstraint>,
}

/// A Q&A entry mentioning the path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaMention {
    /// Entry id (ontoref_qa_show reads it whole).
    pub id: String,
    /// The question (cut at 200 characters).
    pub question: String,
}

/// What binds a project path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Explained {
    /// The path explained, relative to the project root.
    pub path: String,
    /// Nodes of this page whose artifact paths cover it, most specific
    /// first.
    pub nodes: Vec<PathNode>,
    /// The ADRs binding this page's nodes, each once over all pages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adrs: Vec<BindingAdr>,
    /// ADR ids a node of this page cites that are not loaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_adrs: Vec<String>,
    /// Q&A entries mentioning the path (first page only, at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qa: Vec<QaMention>,
    /// Nodes covering the path, over all pages.
    pub total_nodes: usize,
    /// Q&A entries mentioning it (first page only).
    #[serde(skip_serializing_if = "is_zero")]
    pub total_qa: usize,
    /// Pass as `cursor` (with the same path) for the next page of nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// When no node covers the path: the closest artifact paths the
    /// ontology names, closest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nearest: Vec<String>,
    /// What to do next, when the answer is empty or incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Documents that failed to load and were left out of the answer (the
    /// Q&A store), with their error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorBody>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adr::{Adr, Constraint};
    use crate::model::{Document, Source};
    use crate::qa::QaEntry;

    fn core(nodes: serde_json::Value) -> Arc<Core> {
        let source = Source {
            display: ".ontology/core.ncl",
            text: "",
            key: [7; 32],
        };
        Arc::new(Core::from_value(serde_json::json!({ "nodes": nodes }), &source).unwrap())
    }

    fn node(id: &str, paths: &[&str], adrs: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "id": id, "name": id, "pole": "Yang", "level": "Practice",
            "description": "", "artifact_paths": paths, "adrs": adrs,
        })
    }

    fn index() -> PathIndex {
        PathIndex::new(core(serde_json::json!([
            node("exact", &["src/vault/gate.rs"], &["adr-001"]),
            node("dir", &["src/vault/"], &["adr-001", "adr-002"]),
            node("dir-no-slash", &["./src"], &[]),
            node("glob", &["src/vault/**/*.rs"], &["adr-003"]),
            node("star", &["src/*.rs"], &[]),
            node("anywhere", &["**/*.sops.yaml"], &[]),
            node("other", &["docs/", "src-vault/"], &["adr-404"]),
        ])))
    }

    fn ids(index: &PathIndex, path: &str) -> Vec<String> {
        index
            .matches(path)
            .into_iter()
            .map(|(n, _)| index.core.nodes()[n].id.clone())
            .collect()
    }

    fn adr_set() -> AdrSet {
        let adr = |id: &str, status: AdrStatus, supersedes: Option<&str>| {
            (
                format!("adrs/{id}.ncl"),
                Arc::new(Adr {
                    id: id.into(),
                    title: format!("title of {id}"),
                    status,
                    date: "2026-01-01".into(),
                    context: String::new(),
                    decision: String::new(),
                    rationale: vec![],
                    constraints: vec![
                        Constraint {
                            id: "h".into(),
                            severity: Severity::Hard,
                            claim: format!("{id} hard"),
                            check: serde_json::json!({"tag": "Grep", "pattern": "x"})
                                .as_object()
                                .cloned(),
                        },
                        Constraint {
                            id: "s".into(),
                            severity: Severity::Soft,
                            claim: format!("{id} soft"),
                            check: None,
                        },
                    ],
                    supersedes: supersedes.map(Into::into),
                }),
            )
        };
        AdrSet {
            adrs: vec![
                adr("adr-001", AdrStatus::Accepted, None),
                adr("adr-002", AdrStatus::Superseded, None),
                adr("adr-003", AdrStatus::Proposed, Some("adr-002")),
            ],
            skipped: vec![],
        }
    }

    fn store(entries: &[(&str, &str)]) -> QaStore {
        QaStore::new(
            entries
                .iter()
                .map(|(id, answer)| QaEntry {
                    id: (*id).into(),
                    question: format!("about {id}?"),
                    answer: (*answer).into(),
                    actor: "agent".into(),
                    created_at: "2026-01-01".into(),
                    tags: vec![],
                    related: vec![],
                    verified: false,
                })
                .collect(),
            [1; 32],
        )
    }

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        let root = Path::new("/repo/project");
        let ok = |raw: &str| ProjectPath::parse(raw, &[root]).map(|p| p.0);
        assert_eq!(ok("./src//vault/./gate.rs").unwrap(), "src/vault/gate.rs");
        assert_eq!(ok("src/vault/").unwrap(), "src/vault");
        assert_eq!(ok("src/x/../vault").unwrap(), "src/vault");
        assert_eq!(ok("/repo/project/src/a.rs").unwrap(), "src/a.rs");
        assert_eq!(ok("/repo/./project/../project/src").unwrap(), "src");
        for bad in [
            "../x",
            "src/../../x",
            "/etc/passwd",
            "/repo/projectx/a",
            "",
            " ",
            ".",
            "/repo/project/",
            "a\0b",
        ] {
            assert!(ok(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(ok(&"a".repeat(MAX_PATH_BYTES + 1)).is_err());
        assert!(ok("../x").unwrap_err().contains("climbs out"));
        assert!(
            ok("/etc/passwd")
                .unwrap_err()
                .contains("outside the project")
        );
    }

    #[test]
    fn a_file_is_covered_by_its_path_its_directories_and_globs_most_specific_first() {
        let i = index();
        assert_eq!(
            ids(&i, "src/vault/gate.rs"),
            ["exact", "glob", "dir", "dir-no-slash"]
        );
        assert_eq!(
            ids(&i, "src/vault/deep/x.rs"),
            ["glob", "dir", "dir-no-slash"]
        );
        // `*` stays within its directory.
        assert_eq!(ids(&i, "src/main.rs"), ["star", "dir-no-slash"]);
        assert_eq!(ids(&i, "deploy/prod/db.sops.yaml"), ["anywhere"]);
        // A longer name is another path.
        assert!(ids(&i, "src-vault2/a").is_empty());
        assert_eq!(ids(&i, "src-vault/a"), ["other"]);
    }

    #[test]
    fn a_directory_also_finds_what_lies_under_it() {
        let i = index();
        assert_eq!(
            ids(&i, "src/vault"),
            ["dir", "dir-no-slash", "exact", "glob"]
        );
        let src = ids(&i, "src");
        assert_eq!(src[0], "dir-no-slash");
        assert!(
            ["exact", "dir", "glob", "star"]
                .iter()
                .all(|n| src.contains(&(*n).to_owned()))
        );
        assert!(!src.contains(&"anywhere".to_owned()));
    }

    #[test]
    fn explain_lists_binding_adrs_once_and_pages() {
        let i = index();
        let adrs = adr_set();
        let qa = store(&[
            ("a", "edit `./src/vault/gate.rs` with care"),
            ("b", "see src/vault/gate.rs.bak"),
            ("c", "src/vault/gate.rs"),
        ]);
        let p = ProjectPath("src/vault/gate.rs".into());
        let all = i.explain(&adrs, &qa, &p, 20, None).unwrap();
        assert_eq!(all.total_nodes, 4);
        let listed: Vec<&str> = all.adrs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(listed, ["adr-001", "adr-003", "adr-002"]);
        assert_eq!(all.adrs[0].hard[0].claim, "adr-001 hard");
        assert_eq!(all.adrs[0].hard[0].check.as_ref().unwrap()["tag"], "Grep");
        assert_eq!(all.adrs[0].soft[0].claim, "adr-001 soft");
        // A Superseded ADR binds no more: its successor is named instead.
        assert!(all.adrs[2].hard.is_empty() && all.adrs[2].superseded_by == ["adr-003"]);
        let qa_ids: Vec<&str> = all.qa.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(qa_ids, ["a", "c"]);
        assert_eq!(all.total_qa, 2);
        assert!(all.nearest.is_empty() && all.hint.is_none() && all.next_cursor.is_none());

        let first = i.explain(&adrs, &qa, &p, 1, None).unwrap();
        assert_eq!(first.nodes[0].id, "exact");
        assert_eq!(first.adrs.len(), 1);
        let second = i
            .explain(&adrs, &qa, &p, 2, first.next_cursor.as_deref())
            .unwrap();
        let ids: Vec<&str> = second.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["glob", "dir"]);
        // adr-001 came with the first page.
        let listed: Vec<&str> = second.adrs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(listed, ["adr-003", "adr-002"]);
        assert!(second.qa.is_empty() && second.next_cursor.is_some());
        let other = ProjectPath("src".into());
        let err = i
            .explain(&adrs, &qa, &other, 2, first.next_cursor.as_deref())
            .unwrap_err();
        assert_eq!(err.code(), "invalid-cursor");
    }

    #[test]
    fn a_missing_adr_is_named() {
        let i = index();
        let got = i
            .explain(
                &adr_set(),
                &store(&[]),
                &ProjectPath("docs/a.md".into()),
                20,
                None,
            )
            .unwrap();
        assert_eq!(got.missing_adrs, ["adr-404"]);
        assert!(got.hint.unwrap().contains("missing_adrs"));
    }

    #[test]
    fn an_unmatched_path_is_empty_with_the_nearest_artifact_paths() {
        let i = index();
        let got = i
            .explain(
                &adr_set(),
                &store(&[]),
                &ProjectPath("src/vaults/x.rs".into()),
                20,
                None,
            )
            .unwrap();
        // `./src` holds it: not unmatched. Ask outside every node instead.
        assert_eq!(got.total_nodes, 1);
        let got = i
            .explain(
                &adr_set(),
                &store(&[]),
                &ProjectPath("docz/guide.md".into()),
                20,
                None,
            )
            .unwrap();
        assert!(got.nodes.is_empty() && got.total_nodes == 0);
        assert_eq!(got.nearest, ["docs/"]);
        assert!(got.hint.unwrap().contains("nearest"));
        let no_src = PathIndex::new(core(serde_json::json!([node(
            "a",
            &["lib/vault/keys.rs", "lib/vault/**/*.ncl", "lib/output.rs"],
            &[]
        ),])));
        let got = no_src
            .explain(
                &adr_set(),
                &store(&[]),
                &ProjectPath("lib/vault/gate.rs".into()),
                20,
                None,
            )
            .unwrap();
        assert_eq!(got.nearest[0], "lib/vault/keys.rs");
        assert!(
            got.nearest.contains(&"lib/vault/**/*.ncl".to_owned()),
            "{:?}",
            got.nearest
        );
        assert!(!got.nearest.contains(&"lib/output.rs".to_owned()));
    }

    #[test]
    fn mentions_are_whole_paths() {
        let p = "src/output.rs";
        for yes in [
            "src/output.rs",
            "see `src/output.rs`.",
            "(./src/output.rs)",
            "src/output.rs:12",
        ] {
            assert!(mentions_path(yes, p), "{yes}");
        }
        for no in [
            "src/output.rsx",
            "lib/src/output.rs",
            "xsrc/output.rs",
            "src/output.rs.bak",
            "a./src/output.rs",
        ] {
            assert!(!mentions_path(no, p), "{no}");
        }
        assert!(mentions_path("src-vault/scopes/x.ncl", "src-vault"));
        assert!(!mentions_path("src-vault/scopes/x.ncl", "src"));
    }
}
