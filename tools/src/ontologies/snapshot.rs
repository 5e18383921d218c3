//! The read side of a project's ontology snapshot, the MIF ontology
//! extensions `ontoref ontology vendor` copied into `.ontoref/ontologies/`
//! (ADR-0004): the domain of `ontoref_list_ontology_extensions` and
//! `ontoref_get_ontology_extension`.
//!
//! A snapshot directory ([`SNAPSHOT_DIR`]) holds the attested `index.json`
//! byte for byte, the enabled ontology files and their `extends` closure
//! (each under the bare name its index entry gives), the lock
//! ([`lock::LOCK_FILE`]) and [`META_FILE`] ([`SnapshotMeta`]: the source,
//! who verified it, when). [`STALE_FILE`], beside it, records the last
//! vendor attempt that failed ([`Stale`]); the snapshot is kept and served.
//!
//! [`Snapshot::open`] fails closed: a malformed lock, an `index.json` that
//! does not hash to the lock's `index_sha256`, a lock that disagrees with
//! the index, or a malformed `snapshot.json` is an error, never a partial
//! snapshot. [`Snapshot::get`] hashes every file it serves (the id's file
//! for the raw view, the whole closure for the resolved one) against the
//! lock first: a file that changed is `ontology-tampered`, and its bytes
//! are not served. [`Snapshot::list`] describes what the lock pins, from
//! files that were checked when first read.
//!
//! Parsed files and resolved views are kept in a [`DocCache`] (the engine
//! holds one across snapshots), keyed by path and hash: a warm `get`
//! reads and hashes the files, and parses and composes nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::corpus::Record;
use crate::error::{ToolError, clip};
use crate::fsread::{self, Links};
use crate::model::json_size;
use crate::nickel::cache::FileStamp;
use crate::ontologies::OntologyError;
use crate::ontologies::index::{self, Index};
use crate::ontologies::lock::{self, Lock};
use crate::ontologies::resolve::{self, Doc, Resolved, Section};
use crate::paging::{PageKey, RESPONSE_BUDGET, page, page_rows, page_within};

/// The snapshot directory, relative to the project root.
pub const SNAPSHOT_DIR: &str = ".ontoref/ontologies";
/// The snapshot's metadata file ([`SnapshotMeta`]), in [`SNAPSHOT_DIR`].
pub const META_FILE: &str = "snapshot.json";
/// The record of the last failed vendor attempt ([`Stale`]), relative to
/// the project root (outside the snapshot, which a failure leaves as it
/// was).
pub const STALE_FILE: &str = ".ontoref/ontologies.stale.json";
/// The largest `snapshot.json` or stale record read.
pub const MAX_META: u64 = 1 << 20;
/// The most parsed files a [`DocCache`] keeps before it starts over.
pub const MAX_CACHED_DOCS: usize = 4096;
/// The most resolved views a [`DocCache`] keeps before it starts over.
pub const MAX_CACHED_VIEWS: usize = 256;

/// `snapshot.json`: where a snapshot came from and how far it is trusted.
///
/// Written by `ontoref ontology vendor` ([`SnapshotMeta::render`]); the
/// fields are declared sorted, the order they are written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotMeta {
    /// Where it was vendored from (as the lock's `source`).
    pub source: String,
    /// What verified the index's attestation (a policy or signer
    /// identity); `null` when it was only hash-pinned (trust on first use,
    /// no attestation checked).
    pub verified_by: Option<String>,
    /// When it was vendored (RFC 3339).
    pub vendored_at: String,
}

/// `.ontoref/ontologies.stale.json`: the last vendor attempt failed, and
/// the snapshot (if any) is the one before it. Removed by the next
/// successful vendor.
///
/// The fields are declared sorted, the order [`Stale::render`] writes them
/// in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stale {
    /// The failure's error code (`ontology-fetch-failed`, …).
    pub code: String,
    /// The failure's message.
    pub message: String,
    /// When the first failing attempt since the last success ran (RFC
    /// 3339).
    pub since: String,
}

impl SnapshotMeta {
    /// The file's text: sorted keys, two-space indent, a trailing `\n`.
    pub fn render(&self) -> String {
        pretty(self)
    }
}

impl Stale {
    /// The file's text: sorted keys, two-space indent, a trailing `\n`.
    pub fn render(&self) -> String {
        pretty(self)
    }
}

fn pretty<T: Serialize>(value: &T) -> String {
    // Strings and options of strings always serialise.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Which view of an ontology extension to serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The file as it is, parsed into JSON.
    Raw,
    /// The id composed with everything it extends (inherited traits,
    /// relationships, namespaces and discovery, with their provenance;
    /// its own entity types with each supertype located).
    #[default]
    Resolved,
}

impl View {
    /// Its name, as the tool's argument spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Raw => "raw",
            View::Resolved => "resolved",
        }
    }
}

/// A file's key in a [`DocCache`]: its path and its hash.
type DocKey = (PathBuf, String);
/// A resolved view's key: the closure's ids and hashes, the id last.
type ViewKey = Vec<(String, String)>;

/// Parsed ontology files and resolved views, keyed by content: shared by
/// the snapshots an engine opens, so re-opening a snapshot (its stale
/// record changed, say) parses nothing again.
#[derive(Debug, Default)]
pub struct DocCache {
    docs: Mutex<HashMap<DocKey, Arc<Doc>>>,
    views: Mutex<HashMap<ViewKey, Arc<Resolved>>>,
}

impl DocCache {
    fn doc(&self, key: &DocKey) -> Option<Arc<Doc>> {
        self.docs.lock().ok()?.get(key).cloned()
    }

    fn keep_doc(&self, key: DocKey, doc: Arc<Doc>) {
        if let Ok(mut docs) = self.docs.lock() {
            if docs.len() >= MAX_CACHED_DOCS {
                docs.clear();
            }
            docs.insert(key, doc);
        }
    }

    fn view(&self, key: &ViewKey) -> Option<Arc<Resolved>> {
        self.views.lock().ok()?.get(key).cloned()
    }

    fn keep_view(&self, key: ViewKey, view: Arc<Resolved>) {
        if let Ok(mut views) = self.views.lock() {
            if views.len() >= MAX_CACHED_VIEWS {
                views.clear();
            }
            views.insert(key, view);
        }
    }
}

/// The stat stamps of the files a [`Snapshot`] is opened from (the
/// directory, the lock, the index, `snapshot.json`, the stale record): while
/// they are unchanged, and none was modified within the racy window, an
/// opened snapshot may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps([Option<FileStamp>; 5]);

impl Stamps {
    /// The stamps for the project at `project_root`.
    pub fn of(project_root: &Path) -> Stamps {
        let dir = project_root.join(SNAPSHOT_DIR);
        Stamps([
            FileStamp::of(&dir),
            FileStamp::of(&dir.join(lock::LOCK_FILE)),
            FileStamp::of(&dir.join(index::INDEX_FILE)),
            FileStamp::of(&dir.join(META_FILE)),
            FileStamp::of(&project_root.join(STALE_FILE)),
        ])
    }

    /// Whether no file was modified so recently that a rewrite could keep
    /// its stamp.
    pub fn trusted(&self) -> bool {
        self.0.iter().flatten().all(|s| !s.is_racy())
    }
}

/// An opened snapshot: its lock, index, metadata and stale record, checked
/// against each other.
#[derive(Debug)]
pub struct Snapshot {
    dir: PathBuf,
    lock: Lock,
    index: Index,
    meta: SnapshotMeta,
    stale: Option<Stale>,
    /// SHA-256 of the lock's bytes: the generation cursors carry.
    generation: [u8; 32],
    cache: Arc<DocCache>,
    catalog: Mutex<Option<Arc<Catalog>>>,
}

/// What [`Snapshot::list`] and the search corpus read, built once per
/// snapshot from the checked files.
#[derive(Debug)]
struct Catalog {
    /// Each extension with its lower-case id and description, by id.
    rows: Vec<(String, ExtensionSummary)>,
    /// The search records, by id.
    records: Arc<Vec<Record>>,
}

/// The snapshot as a whole, as list and get report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SnapshotInfo {
    /// Where it was vendored from.
    pub source: String,
    /// Whether the index's attestation was verified (`verified_by` is
    /// set); `false`: hash-pinned only.
    pub verified: bool,
    /// What verified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    /// When it was vendored (RFC 3339).
    pub vendored_at: String,
    /// Since when vendoring has been failing (RFC 3339): the snapshot may
    /// be out of date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<String>,
}

/// One vendored ontology extension, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ExtensionSummary {
    /// Its id.
    pub id: String,
    /// Its version (as pinned).
    pub version: String,
    /// `ontology.description` (empty when it has none).
    pub description: String,
    /// The ids it extends, in order.
    pub extends: Vec<String>,
    /// How many entity types its own file declares (entity types are not
    /// inherited).
    pub entity_types: usize,
    /// How many traits its own file defines (the resolved view adds the
    /// inherited ones).
    pub traits: usize,
    /// Whether the snapshot's attestation was verified; `false`:
    /// hash-pinned only.
    pub verified: bool,
    /// SHA-256 of its file, as the lock pins it.
    pub sha256: String,
}

/// A page of the vendored extensions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExtensionList {
    /// The page, by id.
    pub extensions: Vec<ExtensionSummary>,
    /// How many match, over every page.
    pub total: usize,
    /// The snapshot they come from.
    pub snapshot: SnapshotInfo,
    /// Pass back as `cursor` (with the same `query`) for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// What to know about the snapshot or do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Which items of the paged part a view of an extension holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PageInfo {
    /// The part paged (`entity_types`, or the section asked for).
    pub part: String,
    /// How many items (list entries or names) it has in all.
    pub total: usize,
    /// The index of the first item of this page.
    pub offset: usize,
    /// How many this page holds.
    pub count: usize,
}

/// One ontology extension, in the view asked for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExtensionView {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// `raw` or `resolved`.
    pub view: View,
    /// The section asked for, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
    /// SHA-256 of its file: the lock's pin, which the file on disk was
    /// just checked against.
    pub sha256: String,
    /// Whether the snapshot's attestation was verified; `false`:
    /// hash-pinned only.
    pub verified: bool,
    /// The view. Raw: the file's content, or `{id, version, <section>}`.
    /// Resolved: `{id, version, closure, counts}` with every section and
    /// its `provenance`, or only the one asked for.
    #[schemars(with = "Map<String, Value>")]
    pub content: Value,
    /// The items of the paged part (`entity_types`, or the section) this
    /// response holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<PageInfo>,
    /// Parts left out because the whole view is too large for one
    /// response: ask for each with `section`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<String>,
    /// Pass back as `cursor` (with the same id, view and section) for the
    /// next page of the paged part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Snapshot {
    /// Opens the snapshot of the project at `project_root`; `None` when it
    /// has none (nothing vendored).
    pub fn open(project_root: &Path) -> Result<Option<Snapshot>, OntologyError> {
        Snapshot::open_with(project_root, Arc::new(DocCache::default()))
    }

    /// [`Snapshot::open`], keeping parsed files and views in `cache`.
    pub fn open_with(
        project_root: &Path,
        cache: Arc<DocCache>,
    ) -> Result<Option<Snapshot>, OntologyError> {
        let dir = project_root.join(SNAPSHOT_DIR);
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(OntologyError::SnapshotInvalid {
                    path: dir.display().to_string(),
                    detail: "is not a directory".into(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OntologyError::io("read", &dir, &e)),
        }
        let lock_path = dir.join(lock::LOCK_FILE);
        let lock_bytes = fsread::read(&lock_path, lock::MAX_LOCK, Links::Refuse).map_err(|e| {
            OntologyError::LockInvalid {
                path: lock_path.display().to_string(),
                detail: format!("cannot be read: {e}"),
            }
        })?;
        let lock = lock::parse(&lock_path, &lock_bytes)?;
        let index = read_index(&dir, &lock)?;
        check_pins(&lock_path, &lock, &index)?;
        let meta_path = dir.join(META_FILE);
        let meta: SnapshotMeta = read_json(&meta_path)?
            .ok_or_else(|| snapshot_invalid(&meta_path, "cannot be read: no such file".into()))?;
        check_meta(&meta_path, &meta, &lock)?;
        let stale = read_stale(project_root)?;
        Ok(Some(Snapshot {
            dir,
            lock,
            index,
            meta,
            stale,
            generation: Sha256::digest(&lock_bytes).into(),
            cache,
            catalog: Mutex::default(),
        }))
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// The attested index (every ontology of the corpus, vendored or not).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// `snapshot.json`.
    pub fn meta(&self) -> &SnapshotMeta {
        &self.meta
    }

    /// The last failed vendor attempt, if vendoring is failing.
    pub fn stale(&self) -> Option<&Stale> {
        self.stale.as_ref()
    }

    /// Whether the index's attestation was verified when it was vendored.
    pub fn verified(&self) -> bool {
        self.meta.verified_by.is_some()
    }

    /// The snapshot as list and get report it.
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            source: self.meta.source.clone(),
            verified: self.verified(),
            verified_by: self.meta.verified_by.clone(),
            vendored_at: self.meta.vendored_at.clone(),
            stale_since: self.stale.as_ref().map(|s| s.since.clone()),
        }
    }

    /// The vendored extensions whose id or description holds every word of
    /// `query` (ignoring case; all when there is none), by id, `limit` to a
    /// page from `cursor`.
    pub fn list(
        &self,
        query: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ExtensionList, ToolError> {
        let catalog = self.catalog()?;
        let words: Vec<String> = query
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let rows: Vec<&ExtensionSummary> = catalog
            .rows
            .iter()
            .filter(|(haystack, _)| words.iter().all(|w| haystack.contains(w.as_str())))
            .map(|(_, row)| row)
            .collect();
        let key = PageKey::new(&format!("query={}", words.join(" ")), &self.generation);
        let (extensions, total, next_cursor) = page_rows(&rows, &key, cursor, limit)?;
        let mut hints = Vec::new();
        if next_cursor.is_some() {
            hints.push(
                "more extensions: pass next_cursor back as cursor, with the same query".to_owned(),
            );
        }
        if total == 0 && !words.is_empty() {
            hints.push(format!(
                "no vendored extension matches; {} are vendored (list them without a query)",
                catalog.rows.len()
            ));
        }
        if !self.verified() {
            hints.push(
                "verified is false: the snapshot is hash-pinned only (its index was pinned on \
                 first use, no attestation was checked)"
                    .to_owned(),
            );
        }
        hints.extend(self.stale_hint());
        Ok(ExtensionList {
            extensions: extensions.into_iter().cloned().collect(),
            total,
            snapshot: self.info(),
            next_cursor,
            hint: join(hints),
        })
    }

    /// Extension `id` in `view`, cut to `section` when one is given. The
    /// files served are hashed against the lock first. The paged part (a
    /// given section other than `discovery`, which comes whole, else
    /// `entity_types`) holds up to `limit` items (list entries, or names of
    /// a mapping) from `cursor`, within the response budget; a whole view
    /// too large for one response keeps only its outline and
    /// `entity_types`, and lists the parts it left out in `omitted`.
    pub fn get(
        &self,
        id: &str,
        view: View,
        section: Option<Section>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ExtensionView, ToolError> {
        let (version, mut content) = match view {
            View::Raw => {
                let doc = self.doc(id)?;
                (doc.version.clone(), doc.raw(section))
            }
            View::Resolved => {
                let resolved = self.resolved(id)?;
                (resolved.version.clone(), resolved.view(section))
            }
        };
        let sha256 = self
            .lock
            .ontologies
            .get(id)
            .map(|p| p.sha256.to_ascii_lowercase())
            .unwrap_or_default();
        let part = section.unwrap_or(Section::EntityTypes).key();
        let key = PageKey::new(
            &format!(
                "id={id}\nview={}\nsection={}",
                view.as_str(),
                section.map_or("", Section::key)
            ),
            &self.generation,
        );
        let mut omitted = Vec::new();
        // Discovery (a few settings and pattern lists) comes whole.
        let items = match &mut content {
            Value::Object(map) if section != Some(Section::Discovery) => map.remove(part),
            _ => None,
        };
        if section.is_none() && json_size(&content) > RESPONSE_BUDGET * 3 / 4 {
            omitted = outline(&mut content, view);
        }
        let budget = RESPONSE_BUDGET.saturating_sub(json_size(&content)).max(1);
        let (items, page_info, next_cursor) = page_part(part, items, &key, cursor, limit, budget)?;
        if let (Value::Object(map), Some(items)) = (&mut content, items) {
            map.insert(part.to_owned(), items);
        }
        let mut hints = Vec::new();
        if next_cursor.is_some() {
            hints.push(format!(
                "more {part}: pass next_cursor back as cursor, with the same id, view and section"
            ));
        }
        if !omitted.is_empty() {
            hints.push(format!(
                "the whole view is too large for one response: ask for {} with `section`",
                omitted.join(", ")
            ));
        }
        hints.extend(self.stale_hint());
        Ok(ExtensionView {
            id: id.to_owned(),
            version,
            view,
            section,
            sha256,
            verified: self.verified(),
            content,
            page: page_info,
            omitted,
            next_cursor,
            hint: join(hints),
        })
    }

    /// Extension `id`'s file, parsed, once its bytes on disk are checked
    /// against the lock. An id the snapshot lacks is `ontology-not-found`
    /// (with the closest vendored ids) or, when the index lists it,
    /// `ontology-not-enabled`; a file that changed or is gone is
    /// `ontology-tampered`.
    pub fn doc(&self, id: &str) -> Result<Arc<Doc>, OntologyError> {
        self.checked(id).map(|(doc, _)| doc)
    }

    /// Extension `id` composed with its closure ([`resolve::resolve`]),
    /// every file of the closure checked against the lock first.
    pub fn resolved(&self, id: &str) -> Result<Arc<Resolved>, OntologyError> {
        let mut docs: BTreeMap<String, Arc<Doc>> = BTreeMap::new();
        let mut key: ViewKey = Vec::new();
        let mut queue: Vec<(String, Option<String>)> = vec![(id.to_owned(), None)];
        while let Some((next, child)) = queue.pop() {
            if docs.contains_key(&next) {
                continue;
            }
            let (doc, sha) = match (self.checked(&next), child) {
                (Ok(found), _) => found,
                (
                    Err(OntologyError::NotFound { .. } | OntologyError::NotEnabled { .. }),
                    Some(child),
                ) => {
                    return Err(OntologyError::LockInvalid {
                        path: self.dir.join(lock::LOCK_FILE).display().to_string(),
                        detail: format!(
                            "`{child}` extends `{}`, which the lock does not pin",
                            clip(&next)
                        ),
                    });
                }
                (Err(e), _) => return Err(e),
            };
            queue.extend(
                doc.extends
                    .iter()
                    .rev()
                    .map(|p| (p.clone(), Some(next.clone()))),
            );
            key.push((next.clone(), sha));
            docs.insert(next, doc);
        }
        key.sort();
        key.push((id.to_owned(), String::new()));
        if let Some(view) = self.cache.view(&key) {
            return Ok(view);
        }
        let owned: BTreeMap<String, Doc> = docs
            .into_iter()
            .map(|(id, doc)| (id, (*doc).clone()))
            .collect();
        let view = Arc::new(resolve::resolve(&owned, id)?);
        self.cache.keep_view(key, view.clone());
        Ok(view)
    }

    /// The search records of the vendored extensions (kind `extension`):
    /// id, description as title, `ontology extension` and its parents as
    /// labels, and its description, entity types, traits and namespaces
    /// as body.
    pub fn records(&self) -> Result<Arc<Vec<Record>>, OntologyError> {
        Ok(self.catalog()?.records.clone())
    }

    /// `id`'s file, checked and parsed, with its hash.
    fn checked(&self, id: &str) -> Result<(Arc<Doc>, String), OntologyError> {
        let (Some(pin), Some(entry)) =
            (self.lock.ontologies.get(id), self.index.ontologies.get(id))
        else {
            return Err(self.unknown(id));
        };
        let path = self.dir.join(&entry.file);
        let pinned = pin.sha256.to_ascii_lowercase();
        let tampered = |found: Option<String>| OntologyError::Tampered {
            path: path.display().to_string(),
            pinned: pinned.clone(),
            found,
        };
        let bytes = fsread::read(&path, index::MAX_FILE, Links::Refuse).map_err(|e| {
            tracing::debug!(file = %path.display(), "a pinned file cannot be read: {e}");
            tampered(None)
        })?;
        let found = lock::sha256_hex(&bytes);
        if found != pinned {
            return Err(tampered(Some(found)));
        }
        let key = (path, pinned);
        if let Some(doc) = self.cache.doc(&key) {
            return Ok((doc, key.1));
        }
        let doc = Arc::new(resolve::parse(id, &bytes)?);
        self.cache.keep_doc(key.clone(), doc.clone());
        Ok((doc, key.1))
    }

    /// The error for an id the snapshot does not hold.
    fn unknown(&self, id: &str) -> OntologyError {
        if self.index.ontologies.contains_key(id) {
            return OntologyError::NotEnabled { id: clip(id) };
        }
        OntologyError::NotFound {
            id: clip(id),
            closest: crate::suggest::closest(
                id,
                self.lock.ontologies.keys().map(String::as_str),
                3,
            ),
        }
    }

    fn stale_hint(&self) -> Option<String> {
        self.stale.as_ref().map(|s| {
            format!(
                "the snapshot may be out of date: vendoring has failed since {} ({}: {}); \
                 `ontoref ontology vendor` retries",
                s.since,
                s.code,
                clip(&s.message)
            )
        })
    }

    /// The catalog, built on first use from the checked files.
    fn catalog(&self) -> Result<Arc<Catalog>, OntologyError> {
        if let Ok(slot) = self.catalog.lock()
            && let Some(c) = slot.as_ref()
        {
            return Ok(c.clone());
        }
        let verified = self.verified();
        let mut rows = Vec::with_capacity(self.lock.ontologies.len());
        let mut records = Vec::with_capacity(self.lock.ontologies.len());
        for (id, pin) in &self.lock.ontologies {
            let doc = self.doc(id)?;
            let description = doc
                .content
                .get("ontology")
                .and_then(|o| o.get("description"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned();
            let summary = ExtensionSummary {
                id: id.clone(),
                version: pin.version.clone(),
                description: description.clone(),
                extends: doc.extends.clone(),
                entity_types: doc
                    .content
                    .get("entity_types")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len),
                traits: doc
                    .content
                    .get("traits")
                    .and_then(Value::as_object)
                    .map_or(0, Map::len),
                verified,
                sha256: pin.sha256.to_ascii_lowercase(),
            };
            records.push(record(&doc, &summary));
            rows.push((format!("{id}\n{description}").to_lowercase(), summary));
        }
        let catalog = Arc::new(Catalog {
            rows,
            records: Arc::new(records),
        });
        if let Ok(mut slot) = self.catalog.lock() {
            *slot = Some(catalog.clone());
        }
        Ok(catalog)
    }
}

/// The search record of an extension.
fn record(doc: &Doc, summary: &ExtensionSummary) -> Record {
    let mut body = summary.description.clone();
    let names = |key: &str| -> Vec<String> {
        match doc.content.get(key) {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    };
    if let Some(types) = doc.content.get("entity_types").and_then(Value::as_array) {
        body.push_str("\nEntity types:");
        for t in types {
            let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            let about = t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            body.push_str(&format!("\n{name}: {}", about.trim()));
        }
    }
    for (key, title) in [("traits", "Traits"), ("namespaces", "Namespaces")] {
        let names = names(key);
        if !names.is_empty() {
            body.push_str(&format!("\n{title}: {}", names.join(", ")));
        }
    }
    let title = match summary.description.char_indices().nth(160) {
        _ if summary.description.is_empty() => summary.id.clone(),
        None => summary.description.clone(),
        Some((end, _)) => format!("{}…", &summary.description[..end]),
    };
    let mut labels = vec!["ontology extension".to_owned()];
    labels.extend(summary.extends.iter().cloned());
    labels.push(
        if summary.verified {
            "verified"
        } else {
            "hash-pinned"
        }
        .to_owned(),
    );
    Record {
        kind: "extension",
        id: summary.id.clone(),
        title,
        labels: labels.join(" "),
        body,
    }
}

/// Cuts a whole view too large for one response down to its outline (id,
/// version, closure, counts; a raw file's `ontology` header): the parts
/// left out, by name.
fn outline(content: &mut Value, view: View) -> Vec<String> {
    let keep: &[&str] = match view {
        View::Resolved => &["id", "version", "closure", "counts"],
        View::Raw => &["ontology"],
    };
    let Value::Object(map) = content else {
        return Vec::new();
    };
    let dropped: Vec<String> = map
        .keys()
        .filter(|k| !keep.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in &dropped {
        map.remove(k);
    }
    dropped
}

/// A paged part: its page (or the part whole), which items it holds, and
/// the next cursor.
type PagedPart = (Option<Value>, Option<PageInfo>, Option<String>);

/// One page of a view's paged part: a list pages by item, a mapping by
/// name (in the file's order); anything else comes whole. The cursor is
/// checked even when nothing pages.
fn page_part(
    part: &str,
    items: Option<Value>,
    key: &PageKey,
    cursor: Option<&str>,
    limit: usize,
    budget: usize,
) -> Result<PagedPart, ToolError> {
    let info = |total: usize, range: &std::ops::Range<usize>| PageInfo {
        part: part.to_owned(),
        total,
        offset: range.start,
        count: range.len(),
    };
    match items {
        Some(Value::Array(list)) => {
            let (range, next) = page_within(key, cursor, limit, list.len(), budget, |i| {
                list.get(i).map_or(0, json_size)
            })?;
            let total = list.len();
            let page: Vec<Value> = list
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect();
            Ok((Some(Value::Array(page)), Some(info(total, &range)), next))
        }
        Some(Value::Object(map)) => {
            let entries: Vec<(String, Value)> = map.into_iter().collect();
            let (range, next) = page_within(key, cursor, limit, entries.len(), budget, |i| {
                entries
                    .get(i)
                    .map_or(0, |(k, v)| k.len() + 4 + json_size(v))
            })?;
            let total = entries.len();
            let page: Map<String, Value> = entries
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect();
            Ok((Some(Value::Object(page)), Some(info(total, &range)), next))
        }
        other => {
            page(key, cursor, limit, 0)?;
            Ok((other, None, None))
        }
    }
}

fn join(hints: Vec<String>) -> Option<String> {
    (!hints.is_empty()).then(|| hints.join("; "))
}

/// The snapshot's `index.json`: it must hash to the lock's `index_sha256`
/// (else `ontology-tampered`) and be an index.
fn read_index(dir: &Path, lock: &Lock) -> Result<Index, OntologyError> {
    let path = dir.join(index::INDEX_FILE);
    let pinned = lock.index_sha256.to_ascii_lowercase();
    let tampered = |found: Option<String>| OntologyError::Tampered {
        path: path.display().to_string(),
        pinned: pinned.clone(),
        found,
    };
    let bytes = fsread::read(&path, index::MAX_FILE, Links::Refuse).map_err(|e| {
        tracing::debug!(file = %path.display(), "the snapshot's index cannot be read: {e}");
        tampered(None)
    })?;
    let found = lock::sha256_hex(&bytes);
    if found != pinned {
        return Err(tampered(Some(found)));
    }
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| OntologyError::IndexInvalid {
        path: path.display().to_string(),
        detail: format!("not an ontology index: {}", clip(&e.to_string())),
    })?;
    if index.schema != index::SCHEMA {
        return Err(OntologyError::IndexInvalid {
            path: path.display().to_string(),
            detail: format!(
                "`schema` is `{}`, not `{}`",
                clip(&index.schema),
                index::SCHEMA
            ),
        });
    }
    Ok(index)
}

/// Every pin agrees with the index: listed there, same version and hash,
/// under a bare file name.
fn check_pins(lock_path: &Path, lock: &Lock, index: &Index) -> Result<(), OntologyError> {
    let invalid = |detail: String| OntologyError::LockInvalid {
        path: lock_path.display().to_string(),
        detail,
    };
    for (id, pin) in &lock.ontologies {
        let Some(entry) = index.ontologies.get(id) else {
            return Err(invalid(format!(
                "`ontologies` pins `{id}`, which the snapshot's index.json does not list"
            )));
        };
        if entry.version != pin.version {
            return Err(invalid(format!(
                "`ontologies.{id}.version` is `{}`, but index.json lists `{}`",
                clip(&pin.version),
                clip(&entry.version)
            )));
        }
        if !entry.sha256.eq_ignore_ascii_case(&pin.sha256) {
            return Err(invalid(format!(
                "`ontologies.{id}.sha256` is {}, but index.json pins {}",
                pin.sha256,
                clip(&entry.sha256)
            )));
        }
        if !crate::ontologies::index::is_bare_file(&entry.file) {
            return Err(OntologyError::IndexInvalid {
                path: lock_path
                    .with_file_name(index::INDEX_FILE)
                    .display()
                    .to_string(),
                detail: format!(
                    "`{id}`'s file `{}` is not a bare file name",
                    clip(&entry.file)
                ),
            });
        }
    }
    Ok(())
}

fn check_meta(path: &Path, meta: &SnapshotMeta, lock: &Lock) -> Result<(), OntologyError> {
    if meta.source != lock.source {
        return Err(snapshot_invalid(
            path,
            format!(
                "`source` is `{}`, but the lock's is `{}`",
                clip(&meta.source),
                clip(&lock.source)
            ),
        ));
    }
    if meta
        .verified_by
        .as_deref()
        .is_some_and(|v| v.trim().is_empty())
    {
        return Err(snapshot_invalid(
            path,
            "`verified_by` is empty (null when nothing was verified)".into(),
        ));
    }
    check_time(path, "vendored_at", &meta.vendored_at)
}

/// The stale record of the project at `project_root`, if vendoring is
/// failing; a malformed one is `ontology-snapshot-invalid`.
pub fn read_stale(project_root: &Path) -> Result<Option<Stale>, OntologyError> {
    let path = project_root.join(STALE_FILE);
    let Some(stale) = read_json::<Stale>(&path)? else {
        return Ok(None);
    };
    if stale.code.trim().is_empty() {
        return Err(snapshot_invalid(&path, "`code` is empty".into()));
    }
    check_time(&path, "since", &stale.since)?;
    Ok(Some(stale))
}

/// The error for a project without a snapshot (`ontology-not-vendored`),
/// naming the last failed vendor attempt when one is recorded.
pub fn not_vendored(project_root: &Path) -> OntologyError {
    OntologyError::NotVendored {
        dir: project_root.join(SNAPSHOT_DIR).display().to_string(),
        last_failure: read_stale(project_root)
            .ok()
            .flatten()
            .map(|s| format!("{}: {}", s.code, clip(&s.message))),
    }
}

fn check_time(path: &Path, field: &str, value: &str) -> Result<(), OntologyError> {
    if chrono::DateTime::parse_from_rfc3339(value).is_err() {
        return Err(snapshot_invalid(
            path,
            format!("`{field}` is `{}`, not an RFC 3339 time", clip(value)),
        ));
    }
    Ok(())
}

/// A small JSON file of the snapshot; `None` when it does not exist.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, OntologyError> {
    let bytes = match fsread::read(path, MAX_META, Links::Refuse) {
        Ok(b) => b,
        Err(fsread::ReadError::NotFound) => return Ok(None),
        Err(e) => return Err(snapshot_invalid(path, format!("cannot be read: {e}"))),
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = clip(&e.into_inner().to_string());
        snapshot_invalid(
            path,
            if at == "." || at == "?" {
                format!("not what ontoref writes here: {inner}")
            } else {
                format!("`{}`: {inner}", clip(&at))
            },
        )
    })?;
    de.end()
        .map_err(|e| snapshot_invalid(path, format!("not what ontoref writes here: {e}")))?;
    Ok(Some(value))
}

fn snapshot_invalid(path: &Path, detail: String) -> OntologyError {
    OntologyError::SnapshotInvalid {
        path: path.display().to_string(),
        detail,
    }
}

/// Snapshots made from the real corpus (`../shared/fixtures/mif/`) for
/// tests: here and beside the tools.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    use super::{META_FILE, SNAPSHOT_DIR, SnapshotMeta};
    use crate::ontologies::index::{self, Index};
    use crate::ontologies::lock::{self, LOCK_FILE, LOCK_SCHEMA, Lock, Pinned};

    pub(crate) const WIDEST: &str = "regenerative-agriculture-research";
    pub(crate) const WIDEST_CLOSURE: [&str; 7] = [
        "mif-base",
        "shared-traits",
        "research",
        "agriculture",
        "engineering-base",
        "mif-generic",
        WIDEST,
    ];

    pub(crate) fn corpus() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mif/corpus-v0.4.0")
    }

    /// A project whose snapshot holds `files` (name, bytes) beside the
    /// index `index_bytes`, pinning `pins` as the index does.
    pub(crate) fn project_with(
        index_bytes: &[u8],
        files: &[(String, Vec<u8>)],
        pins: &[&str],
        verified_by: Option<&str>,
    ) -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("project");
        let dir = root.join(SNAPSHOT_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(index::INDEX_FILE), index_bytes).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let index: Index = serde_json::from_slice(index_bytes).unwrap();
        let lock = Lock {
            index_sha256: lock::sha256_hex(index_bytes),
            ontologies: pins
                .iter()
                .map(|id| {
                    let e = &index.ontologies[*id];
                    (
                        (*id).to_owned(),
                        Pinned {
                            sha256: e.sha256.clone(),
                            version: e.version.clone(),
                        },
                    )
                })
                .collect(),
            schema: LOCK_SCHEMA.into(),
            source: index::SOURCE.into(),
        };
        std::fs::write(dir.join(LOCK_FILE), lock::render(&lock)).unwrap();
        let meta = SnapshotMeta {
            source: index::SOURCE.into(),
            verified_by: verified_by.map(str::to_owned),
            vendored_at: "2026-07-24T10:00:00Z".into(),
        };
        std::fs::write(dir.join(META_FILE), meta.render()).unwrap();
        (t, root)
    }

    /// A project vendoring `ids` of the real corpus (with its attested
    /// index).
    pub(crate) fn corpus_project(
        ids: &[&str],
        verified_by: Option<&str>,
    ) -> (tempfile::TempDir, PathBuf) {
        let index_bytes = std::fs::read(corpus().join(index::INDEX_FILE)).unwrap();
        let index: Index = serde_json::from_slice(&index_bytes).unwrap();
        let files: Vec<(String, Vec<u8>)> = ids
            .iter()
            .map(|id| {
                let file = index.ontologies[*id].file.clone();
                let bytes = std::fs::read(corpus().join(&file)).unwrap();
                (file, bytes)
            })
            .collect();
        project_with(&index_bytes, &files, ids, verified_by)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{WIDEST, WIDEST_CLOSURE, corpus, corpus_project, project_with};
    use super::*;
    use crate::ontologies::lock::LOCK_FILE;

    fn open(root: &Path) -> Snapshot {
        Snapshot::open(root).unwrap().unwrap()
    }

    fn code(e: impl Into<ToolError>) -> &'static str {
        e.into().code()
    }

    fn corpus_resolved(id: &str) -> Resolved {
        let dir = corpus();
        let bytes = std::fs::read(dir.join(index::INDEX_FILE)).unwrap();
        let index = index::validate(&dir, &bytes).unwrap();
        resolve::resolve(&resolve::load(&dir, &index).unwrap(), id).unwrap()
    }

    fn names(items: &Value) -> Vec<String> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn snapshot_absent_is_none_and_not_vendored_names_the_last_failure() {
        let t = tempfile::tempdir().unwrap();
        assert!(Snapshot::open(t.path()).unwrap().is_none());
        let e = not_vendored(t.path());
        assert_eq!(e.code(), "ontology-not-vendored");
        assert!(e.to_string().contains(".ontoref/ontologies"), "{e}");
        assert!(e.hint().contains("ontoref ontology vendor"), "{}", e.hint());
        let stale = Stale {
            code: "ontology-fetch-failed".into(),
            message: "connection refused".into(),
            since: "2026-07-24T09:00:00+02:00".into(),
        };
        std::fs::create_dir_all(t.path().join(".ontoref")).unwrap();
        std::fs::write(t.path().join(STALE_FILE), stale.render()).unwrap();
        let e = not_vendored(t.path());
        assert!(
            e.to_string()
                .contains("ontology-fetch-failed: connection refused"),
            "{e}"
        );
        assert_eq!(read_stale(t.path()).unwrap(), Some(stale));
    }

    #[test]
    fn snapshot_list_counts_filters_and_pages() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let s = open(&root);
        let all = s.list(None, 50, None).unwrap();
        assert_eq!(all.total, 7);
        let ids: Vec<&str> = all.extensions.iter().map(|e| e.id.as_str()).collect();
        let mut sorted = WIDEST_CLOSURE.to_vec();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        let widest = all.extensions.iter().find(|e| e.id == WIDEST).unwrap();
        assert_eq!(widest.entity_types, 21);
        assert_eq!(widest.traits, 1);
        assert_eq!(
            widest.extends,
            ["research", "agriculture", "engineering-base", "mif-generic"]
        );
        assert!(!widest.verified);
        assert_eq!(widest.sha256, s.index().ontologies[WIDEST].sha256);
        let traits = all
            .extensions
            .iter()
            .find(|e| e.id == "shared-traits")
            .unwrap();
        assert_eq!((traits.traits, traits.entity_types), (28, 0));
        assert!(all.extensions.iter().all(|e| !e.description.is_empty()));
        assert_eq!(all.snapshot.verified_by, None);
        assert!(all.hint.as_deref().unwrap().contains("hash-pinned only"));

        // Every word, in id or description, ignoring case.
        let agri = s.list(Some("AGRICULTURE"), 50, None).unwrap();
        let ids: Vec<&str> = agri.extensions.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["agriculture", WIDEST], "{agri:?}");
        let none = s.list(Some("agriculture zzzz"), 50, None).unwrap();
        assert_eq!(none.total, 0);
        assert!(none.hint.unwrap().contains("7 are vendored"));

        // Pages of 3 walk all 7 once; a cursor of another query is refused.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = s.list(None, 3, cursor.as_deref()).unwrap();
            assert!(page.extensions.len() <= 3);
            seen.extend(page.extensions.into_iter().map(|e| e.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, sorted);
        let first = s.list(None, 3, None).unwrap().next_cursor.unwrap();
        assert_eq!(
            code(s.list(Some("agri"), 3, Some(&first)).unwrap_err()),
            "invalid-cursor"
        );
    }

    #[test]
    fn snapshot_reports_verification_and_staleness() {
        let (_t, root) = corpus_project(&["mif-base"], Some("gh attestation verify"));
        let s = open(&root);
        let list = s.list(None, 50, None).unwrap();
        assert!(list.snapshot.verified && list.extensions[0].verified);
        assert_eq!(
            list.snapshot.verified_by.as_deref(),
            Some("gh attestation verify")
        );
        assert_eq!(list.hint, None);
        let stale = Stale {
            code: "ontology-fetch-failed".into(),
            message: "timed out".into(),
            since: "2026-07-24T11:00:00Z".into(),
        };
        std::fs::write(root.join(STALE_FILE), stale.render()).unwrap();
        let s = open(&root);
        let list = s.list(None, 50, None).unwrap();
        assert_eq!(
            list.snapshot.stale_since.as_deref(),
            Some("2026-07-24T11:00:00Z")
        );
        let hint = list.hint.unwrap();
        assert!(
            hint.contains("ontology-fetch-failed") && hint.contains("timed out"),
            "{hint}"
        );
        let got = s.get("mif-base", View::Raw, None, 25, None).unwrap();
        assert!(got.hint.unwrap().contains("out of date"));
    }

    #[test]
    fn snapshot_get_resolved_pages_entity_types_as_the_resolver_gives_them() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let s = open(&root);
        let expected = corpus_resolved(WIDEST);
        let want: Vec<String> = names(&Value::from(expected.entity_types.clone()));
        assert_eq!(want.len(), 21);
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let v = s
                .get(WIDEST, View::Resolved, None, 5, cursor.as_deref())
                .unwrap();
            pages += 1;
            assert_eq!(v.content["closure"], serde_json::json!(WIDEST_CLOSURE));
            assert_eq!(v.content["traits"], Value::Object(expected.traits.clone()));
            assert!(v.content["provenance"]["traits"].is_object());
            let page = v.page.clone().unwrap();
            assert_eq!((page.part.as_str(), page.total), ("entity_types", 21));
            assert_eq!(page.offset, got.len());
            let items = names(&v.content["entity_types"]);
            assert_eq!(items.len(), page.count);
            assert!(items.len() <= 5);
            got.extend(items);
            assert!(json_size(&v) <= RESPONSE_BUDGET, "{}", json_size(&v));
            match v.next_cursor {
                Some(c) => {
                    assert!(v.hint.as_deref().unwrap().contains("more entity_types"));
                    cursor = Some(c);
                }
                None => break,
            }
        }
        assert_eq!(got, want);
        assert_eq!(pages, 5);
        // Supertypes located across the closure.
        let first = s.get(WIDEST, View::Resolved, None, 200, None).unwrap();
        let located = first.content["entity_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t.get("subtype_of_resolved").is_some())
            .count();
        assert!(located > 0, "{first:?}");
        assert_eq!(first.sha256, s.lock().ontologies[WIDEST].sha256);
        // A cursor for another view is refused.
        let cursor = s
            .get(WIDEST, View::Resolved, None, 5, None)
            .unwrap()
            .next_cursor
            .unwrap();
        assert_eq!(
            code(
                s.get(WIDEST, View::Raw, None, 5, Some(&cursor))
                    .unwrap_err()
            ),
            "invalid-cursor"
        );
    }

    #[test]
    fn snapshot_get_sections_raw_and_resolved() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let s = open(&root);
        // Resolved traits: inherited from the whole closure, paged by name.
        let expected = corpus_resolved(WIDEST);
        let v = s
            .get(WIDEST, View::Resolved, Some(Section::Traits), 200, None)
            .unwrap();
        assert_eq!(v.section, Some(Section::Traits));
        assert_eq!(v.content["traits"], Value::Object(expected.traits.clone()));
        assert!(v.content.get("entity_types").is_none());
        assert_eq!(v.page.as_ref().unwrap().total, expected.traits.len());
        assert!(expected.traits.len() > 28, "inherited traits");
        let mut names_seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let v = s
                .get(
                    WIDEST,
                    View::Resolved,
                    Some(Section::Traits),
                    10,
                    cursor.as_deref(),
                )
                .unwrap();
            names_seen.extend(v.content["traits"].as_object().unwrap().keys().cloned());
            match v.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let all: Vec<String> = expected.traits.keys().cloned().collect();
        assert_eq!(names_seen, all);
        // Raw: the file's own traits only.
        let raw = s
            .get(WIDEST, View::Raw, Some(Section::Traits), 200, None)
            .unwrap();
        assert_eq!(raw.content["traits"].as_object().unwrap().len(), 1);
        assert_eq!(raw.content["id"], WIDEST);
        // Discovery comes whole; the raw file whole with its header.
        let d = s
            .get(WIDEST, View::Resolved, Some(Section::Discovery), 1, None)
            .unwrap();
        assert_eq!(d.page, None);
        assert_eq!(d.content["discovery"], expected.discovery);
        let whole = s.get(WIDEST, View::Raw, None, 200, None).unwrap();
        assert_eq!(whole.content["ontology"]["id"], WIDEST);
        assert_eq!(whole.page.unwrap().total, 21);
        assert!(whole.omitted.is_empty());
    }

    #[test]
    fn snapshot_get_refuses_a_tampered_file_even_when_warm() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let s = open(&root);
        s.get(WIDEST, View::Resolved, None, 25, None).unwrap();
        s.get(WIDEST, View::Raw, None, 25, None).unwrap();
        let dir = root.join(SNAPSHOT_DIR);
        // A parent changes: the resolved view is refused, naming it; the
        // raw view of the child (which reads only its own file) is served.
        let parent = dir.join("mif-base.ontology.yaml");
        let mut data = std::fs::read(&parent).unwrap();
        data.extend_from_slice(b"# edited\n");
        std::fs::write(&parent, &data).unwrap();
        let e = s.get(WIDEST, View::Resolved, None, 25, None).unwrap_err();
        assert_eq!(e.code(), "ontology-tampered", "{e}");
        let msg = e.to_string();
        assert!(msg.contains("mif-base.ontology.yaml"), "{msg}");
        assert!(
            msg.contains(&s.lock().ontologies["mif-base"].sha256),
            "{msg}"
        );
        assert!(msg.contains(&lock::sha256_hex(&data)), "{msg}");
        assert!(e.hint().contains("ontoref ontology check"), "{}", e.hint());
        assert!(e.hint().contains("vendor --refresh"), "{}", e.hint());
        assert!(s.get(WIDEST, View::Raw, None, 25, None).is_ok());
        assert_eq!(
            code(s.get("mif-base", View::Raw, None, 25, None).unwrap_err()),
            "ontology-tampered"
        );
        // The child itself changes: raw is refused too.
        let own = dir.join(format!("{WIDEST}.ontology.yaml"));
        let mut data = std::fs::read(&own).unwrap();
        data[0] = b' ';
        std::fs::write(&own, &data).unwrap();
        let e = s.get(WIDEST, View::Raw, None, 25, None).unwrap_err();
        assert_eq!(e.code(), "ontology-tampered", "{e}");
        // A missing file is tampering too.
        std::fs::remove_file(&own).unwrap();
        let e = s
            .get(WIDEST, View::Raw, Some(Section::Traits), 25, None)
            .unwrap_err();
        assert_eq!(e.code(), "ontology-tampered", "{e}");
        assert!(e.to_string().contains("missing or unreadable"), "{e}");
        // A link in its place is not followed.
        std::os::unix::fs::symlink(corpus().join(format!("{WIDEST}.ontology.yaml")), &own).unwrap();
        let e = s.get(WIDEST, View::Raw, None, 25, None).unwrap_err();
        assert_eq!(e.code(), "ontology-tampered", "{e}");
    }

    #[test]
    fn snapshot_caches_parsed_files_and_views_across_openings() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let cache = Arc::new(DocCache::default());
        let s = Snapshot::open_with(&root, cache.clone()).unwrap().unwrap();
        let a = s.resolved(WIDEST).unwrap();
        let s = Snapshot::open_with(&root, cache.clone()).unwrap().unwrap();
        let b = s.resolved(WIDEST).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(
            &s.doc("mif-base").unwrap(),
            &s.doc("mif-base").unwrap()
        ));
        // Another root with the same closure is another view.
        let research = s.resolved("research").unwrap();
        assert_eq!(research.id, "research");
        assert!(!Arc::ptr_eq(&a, &research));
    }

    #[test]
    fn snapshot_names_unknown_and_unvendored_ids() {
        let (_t, root) = corpus_project(&WIDEST_CLOSURE, None);
        let s = open(&root);
        let e = s
            .get(
                "regenerative-agriculture-reserch",
                View::Raw,
                None,
                25,
                None,
            )
            .unwrap_err();
        assert_eq!(e.code(), "ontology-not-found", "{e}");
        assert!(e.hint().contains(&format!("`{WIDEST}`")), "{}", e.hint());
        let e = s
            .get("cosmology", View::Resolved, None, 25, None)
            .unwrap_err();
        assert_eq!(e.code(), "ontology-not-enabled", "{e}");
        assert!(e.to_string().contains("`cosmology`"), "{e}");
        assert!(e.hint().contains("project.ncl"), "{}", e.hint());
    }

    #[test]
    fn snapshot_open_fails_closed_on_every_file() {
        let (_t, root) = corpus_project(&["mif-base", "shared-traits"], None);
        let dir = root.join(SNAPSHOT_DIR);
        let open_err = || Snapshot::open(&root).unwrap_err();
        let expect = |e: OntologyError, code: &str, needles: &[&str]| {
            assert_eq!(e.code(), code, "{e}");
            for n in needles {
                assert!(e.to_string().contains(n), "{n}: {e}");
            }
        };

        // The lock.
        let lock_path = dir.join(LOCK_FILE);
        let good_lock = std::fs::read_to_string(&lock_path).unwrap();
        std::fs::write(&lock_path, "{}").unwrap();
        expect(
            open_err(),
            "ontology-lock-invalid",
            &[LOCK_FILE, "missing field"],
        );
        std::fs::remove_file(&lock_path).unwrap();
        expect(open_err(), "ontology-lock-invalid", &["no such file"]);
        let pin = serde_json::from_str::<Lock>(&good_lock).unwrap().ontologies["mif-base"]
            .sha256
            .clone();
        std::fs::write(&lock_path, good_lock.replace(&pin, &"a".repeat(64))).unwrap();
        expect(
            open_err(),
            "ontology-lock-invalid",
            &["`ontologies.mif-base.sha256`", "index.json pins"],
        );
        std::fs::write(&lock_path, good_lock.replace("\"1.0.0\"", "\"1.0.1\"")).unwrap();
        expect(open_err(), "ontology-lock-invalid", &["1.0.1"]);
        std::fs::write(&lock_path, &good_lock).unwrap();
        assert!(Snapshot::open(&root).is_ok());

        // The index.
        let index_path = dir.join(index::INDEX_FILE);
        let good_index = std::fs::read(&index_path).unwrap();
        let mut edited = good_index.clone();
        edited.push(b'\n');
        std::fs::write(&index_path, &edited).unwrap();
        expect(
            open_err(),
            "ontology-tampered",
            &["index.json", "hashes to"],
        );
        std::fs::remove_file(&index_path).unwrap();
        expect(open_err(), "ontology-tampered", &["missing or unreadable"]);
        std::fs::write(&index_path, &good_index).unwrap();

        // snapshot.json.
        let meta_path = dir.join(META_FILE);
        let good_meta = std::fs::read_to_string(&meta_path).unwrap();
        for (text, needle) in [
            (
                good_meta.replace("2026-07-24T10:00:00Z", "yesterday"),
                "`vendored_at` is `yesterday`",
            ),
            (
                good_meta.replace("https://mif-spec.dev/ontologies/", "file:///elsewhere"),
                "the lock's is",
            ),
            (
                good_meta.replace("\"source\"", "\"extra\": 1, \"source\""),
                "extra",
            ),
            (good_meta.replace("null", "\"\""), "`verified_by` is empty"),
            ("[]".to_owned(), META_FILE),
        ] {
            std::fs::write(&meta_path, &text).unwrap();
            expect(
                open_err(),
                "ontology-snapshot-invalid",
                &[needle, META_FILE],
            );
        }
        std::fs::remove_file(&meta_path).unwrap();
        expect(open_err(), "ontology-snapshot-invalid", &["no such file"]);
        std::fs::write(&meta_path, &good_meta).unwrap();

        // The stale record.
        let stale_path = root.join(STALE_FILE);
        std::fs::write(
            &stale_path,
            "{\"since\": \"now\", \"code\": \"x\", \"message\": \"y\"}",
        )
        .unwrap();
        expect(
            open_err(),
            "ontology-snapshot-invalid",
            &["`since` is `now`"],
        );
        std::fs::write(&stale_path, "{\"since\": \"2026-07-24T10:00:00Z\"}").unwrap();
        expect(open_err(), "ontology-snapshot-invalid", &["missing field"]);
        std::fs::remove_file(&stale_path).unwrap();

        // Not a directory.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::write(&dir, "").unwrap();
        expect(
            open_err(),
            "ontology-snapshot-invalid",
            &["not a directory"],
        );
    }

    #[test]
    fn snapshot_refuses_a_closure_the_lock_does_not_pin() {
        // research extends mif-base and shared-traits; shared-traits is
        // neither pinned nor present.
        let (_t, root) = corpus_project(&["mif-base", "research"], None);
        let s = open(&root);
        assert!(s.get("research", View::Raw, None, 25, None).is_ok());
        let e = s
            .get("research", View::Resolved, None, 25, None)
            .unwrap_err();
        assert_eq!(e.code(), "ontology-lock-invalid", "{e}");
        assert!(
            e.to_string()
                .contains("`research` extends `shared-traits`, which the lock does not pin"),
            "{e}"
        );
    }

    #[test]
    fn snapshot_outlines_a_view_too_large_for_one_response() {
        // A synthetic extension whose traits alone pass the budget.
        let mut yaml = String::from("ontology: {id: big, version: 1.0.0}\ntraits:\n");
        for i in 0..400 {
            yaml.push_str(&format!(
                "  t{i}: {{description: \"{}\"}}\n",
                "a long description ".repeat(6)
            ));
        }
        yaml.push_str("entity_types:\n  - {name: thing, base: semantic}\n");
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("big.ontology.yaml"), &yaml).unwrap();
        let generated = index::generate(t.path()).unwrap();
        let files = vec![("big.ontology.yaml".to_owned(), yaml.into_bytes())];
        let (_t, root) = project_with(generated.text.as_bytes(), &files, &["big"], None);
        let s = open(&root);
        for view in [View::Raw, View::Resolved] {
            let v = s.get("big", view, None, 25, None).unwrap();
            assert!(
                v.omitted.contains(&"traits".to_owned()),
                "{view:?}: {:?}",
                v.omitted
            );
            assert!(v.content.get("traits").is_none());
            assert_eq!(names(&v.content["entity_types"]), ["thing"]);
            assert!(v.hint.unwrap().contains("with `section`"));
            assert!(json_size(&v.content) <= RESPONSE_BUDGET);
            // Asked for alone, the traits come a page at a time.
            let traits = s
                .get("big", view, Some(Section::Traits), 200, None)
                .unwrap();
            assert!(traits.next_cursor.is_some());
            assert!(json_size(&traits) <= RESPONSE_BUDGET + 1024);
            assert_eq!(traits.page.unwrap().total, 400);
        }
    }
}
