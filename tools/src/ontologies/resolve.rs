//! One ontology extension as a client asks for it (the domain side of
//! `ontoref_get_ontology_extension`): a file parsed into JSON with a bound
//! on what its YAML aliases may expand to ([`parse`], the raw view), and an
//! id composed with everything it `extends` ([`resolve`], the resolved
//! view), as the corpus's composition rules say:
//!
//! - the closure is [`graph::closure`] over the files' `extends` (bases
//!   first, the id itself last, diamonds once);
//! - `traits`, `relationships`, `namespaces` and `discovery` are inherited:
//!   applied in closure order, so a later parent overrides an earlier one
//!   and the id itself overrides all. Traits and relationships are replaced
//!   whole by name; namespaces merge deeply and additively (`children`
//!   merge by name, other fields are overridden, nothing is removed);
//!   discovery pattern lists are concatenated, and of two patterns with the
//!   same pattern string the later one is kept; other discovery fields
//!   (`enabled`, `confidence_threshold`, …) come from the last file that
//!   sets them;
//! - entity types are not inherited: the view lists the id's own, and each
//!   `subtype_of` name must be declared by an ontology of the closure (the
//!   id itself included, the type itself excluded); where it is declared
//!   is added to the type as `subtype_of_resolved`.
//!
//! Where each inherited trait, relationship, namespace, discovery field and
//! pattern came from is kept in [`Provenance`]. [`Section`] cuts a view
//! down to one part; [`Resolved::page_entity_types`] pages the largest.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::clip;
use crate::fsread::{self, Links};
use crate::ontologies::OntologyError;
use crate::ontologies::graph;
use crate::ontologies::index::{self, Index};
use crate::ontologies::yaml::{self, flatten, raw_text, truthy};
pub use crate::ontologies::yaml::{MAX_TEXT, MAX_VALUES};

/// How deep `namespaces` may nest through `children`.
pub const MAX_NAMESPACE_DEPTH: usize = 32;

/// The discovery lists that are concatenated across a closure.
const PATTERN_LISTS: [&str; 3] = ["content_patterns", "file_patterns", "patterns"];
/// The fields of a discovery pattern that hold its pattern string, in the
/// order they are looked for.
const PATTERN_KEYS: [&str; 3] = ["pattern", "content_pattern", "file_pattern"];

/// One parsed ontology file.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// `ontology.id`.
    pub id: String,
    /// `ontology.version`, or `0.0.0` when it has none (as the index).
    pub version: String,
    /// `ontology.extends`, flattened (missing is `[]`, a scalar one id).
    pub extends: Vec<String>,
    /// The whole file as JSON: the raw view.
    pub content: Value,
}

/// The part of a view a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// `entity_types`.
    EntityTypes,
    /// `traits`.
    Traits,
    /// `relationships`.
    Relationships,
    /// `namespaces`.
    Namespaces,
    /// `discovery`.
    Discovery,
}

impl Section {
    /// Every section, in the order views list them.
    pub const ALL: [Section; 5] = [
        Section::EntityTypes,
        Section::Traits,
        Section::Relationships,
        Section::Namespaces,
        Section::Discovery,
    ];

    /// Its key in an ontology file (and in views).
    pub fn key(self) -> &'static str {
        match self {
            Section::EntityTypes => "entity_types",
            Section::Traits => "traits",
            Section::Relationships => "relationships",
            Section::Namespaces => "namespaces",
            Section::Discovery => "discovery",
        }
    }
}

impl Doc {
    /// The raw view: the whole file, or `{id, version, <section>}` with the
    /// section as the file has it (`null` when it has none).
    pub fn raw(&self, section: Option<Section>) -> Value {
        let Some(section) = section else {
            return self.content.clone();
        };
        let mut out = Map::new();
        out.insert("id".into(), Value::String(self.id.clone()));
        out.insert("version".into(), Value::String(self.version.clone()));
        out.insert(
            section.key().into(),
            self.content
                .get(section.key())
                .cloned()
                .unwrap_or(Value::Null),
        );
        Value::Object(out)
    }
}

/// Parses the ontology file `bytes` that the index lists as `id_expected`:
/// YAML into JSON, refused (`ontology-index-invalid`) when it is not YAML,
/// expands past [`MAX_VALUES`] or [`MAX_TEXT`], has a mapping key that is
/// a list or mapping or appears twice, has no `ontology` mapping, or its
/// `ontology.id` is not `id_expected` or an `extends` entry is not an
/// ontology id. `version` and `extends` are read as the index reads them.
pub fn parse(id_expected: &str, bytes: &[u8]) -> Result<Doc, OntologyError> {
    let invalid = |detail: String| OntologyError::IndexInvalid {
        path: format!("{}{}", clip(id_expected), index::SUFFIX),
        detail,
    };
    let content =
        yaml::parse(bytes).map_err(|e| invalid(format!("not YAML this reader accepts: {e}")))?;
    let Some(ontology) = content.get("ontology").and_then(Value::as_object) else {
        return Err(invalid("it has no `ontology` mapping".into()));
    };
    let field = |key: &str| ontology.get(key).filter(|v| truthy(v));
    let id = field("id").and_then(raw_text);
    if id.as_deref() != Some(id_expected) {
        return Err(invalid(match id {
            Some(id) => format!(
                "its ontology.id is `{}`, not `{}`",
                clip(&id),
                clip(id_expected)
            ),
            None => format!("it has no ontology.id (`{}` expected)", clip(id_expected)),
        }));
    }
    let version = field("version")
        .and_then(raw_text)
        .unwrap_or_else(|| "0.0.0".to_owned());
    let mut listed = Vec::new();
    if let Some(v) = field("extends") {
        flatten(v, &mut listed);
    }
    let mut extends = Vec::with_capacity(listed.len());
    for parent in listed {
        match parent.as_str().filter(|p| index::is_id(p)) {
            Some(p) => extends.push(p.to_owned()),
            None => {
                return Err(invalid(format!(
                    "ontology.extends holds `{}`, which is not an ontology id",
                    clip(&raw_text(&parent).unwrap_or_else(|| parent.to_string()))
                )));
            }
        }
    }
    Ok(Doc {
        id: id_expected.to_owned(),
        version,
        extends,
        content,
    })
}

/// Reads and parses every file `index` lists, from `dir`. It checks no
/// hash: validate the index against the directory first
/// ([`index::validate`]).
pub fn load(dir: &Path, index: &Index) -> Result<BTreeMap<String, Doc>, OntologyError> {
    let mut docs = BTreeMap::new();
    for (id, entry) in &index.ontologies {
        let path = dir.join(&entry.file);
        let bytes = fsread::read(&path, index::MAX_FILE, Links::Refuse).map_err(|e| {
            OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!("listed for `{id}` but cannot be read: {e}"),
            }
        })?;
        docs.insert(id.clone(), parse(id, &bytes)?);
    }
    Ok(docs)
}

/// Where the inherited parts of a [`Resolved`] view came from: for each,
/// the id of the ontology whose definition it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Trait name → the ontology whose definition won.
    pub traits: BTreeMap<String, String>,
    /// Relationship name → the ontology whose definition won.
    pub relationships: BTreeMap<String, String>,
    /// Namespace path (`parent/child`) → every ontology that defined or
    /// extended it, in closure order (the first introduced it).
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// Discovery field other than a pattern list (`enabled`,
    /// `confidence_threshold`, …) → the ontology whose value won.
    pub discovery: BTreeMap<String, String>,
    /// Discovery pattern list → the ontology of each of its patterns, in
    /// the list's order.
    pub patterns: BTreeMap<String, Vec<String>>,
}

/// How large each part of a [`Resolved`] view is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// The id's own entity types.
    pub entity_types: usize,
    /// Traits.
    pub traits: usize,
    /// Relationships.
    pub relationships: usize,
    /// Namespaces, at every depth.
    pub namespaces: usize,
    /// Discovery patterns, over every list.
    pub patterns: usize,
}

/// An ontology composed with its closure: the resolved view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The ontology's id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its closure, bases first, the id itself last.
    pub closure: Vec<String>,
    /// Its own entity types, each with a `subtype_of` given
    /// `subtype_of_resolved: [{name, ontology}]`.
    pub entity_types: Vec<Value>,
    /// Traits by name, inherited and its own.
    pub traits: Map<String, Value>,
    /// Relationships by name, inherited and its own.
    pub relationships: Map<String, Value>,
    /// Namespaces by name, merged.
    pub namespaces: Map<String, Value>,
    /// Discovery, merged (a mapping; empty when no file of the closure has
    /// any).
    pub discovery: Value,
    /// Where the inherited parts came from.
    pub provenance: Provenance,
}

/// A page of a [`Resolved`] view's entity types.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityTypePage<'a> {
    /// How many entity types there are in all.
    pub total: usize,
    /// The index of the first item.
    pub offset: usize,
    /// The page.
    pub items: &'a [Value],
    /// Where the next page starts, if there is one.
    pub next_offset: Option<usize>,
}

impl Resolved {
    /// The view as JSON: `{id, version, closure, counts}` and either every
    /// part with all of [`Provenance`], or only `section` with its own
    /// provenance (none for entity types, which carry theirs).
    pub fn view(&self, section: Option<Section>) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::String(self.id.clone()));
        out.insert("version".into(), Value::String(self.version.clone()));
        out.insert("closure".into(), Value::from(self.closure.clone()));
        out.insert("counts".into(), counts_json(self.counts()));
        let sections = match section {
            Some(s) => vec![s],
            None => Section::ALL.to_vec(),
        };
        let p = &self.provenance;
        let mut provenance = Map::new();
        for s in sections {
            let part = match s {
                Section::EntityTypes => Value::Array(self.entity_types.clone()),
                Section::Traits => {
                    provenance.insert("traits".into(), strings(&p.traits));
                    Value::Object(self.traits.clone())
                }
                Section::Relationships => {
                    provenance.insert("relationships".into(), strings(&p.relationships));
                    Value::Object(self.relationships.clone())
                }
                Section::Namespaces => {
                    provenance.insert("namespaces".into(), lists(&p.namespaces));
                    Value::Object(self.namespaces.clone())
                }
                Section::Discovery => {
                    provenance.insert("discovery".into(), strings(&p.discovery));
                    provenance.insert("patterns".into(), lists(&p.patterns));
                    self.discovery.clone()
                }
            };
            out.insert(s.key().into(), part);
        }
        if !provenance.is_empty() {
            out.insert("provenance".into(), Value::Object(provenance));
        }
        Value::Object(out)
    }

    /// How large each part is.
    pub fn counts(&self) -> Counts {
        Counts {
            entity_types: self.entity_types.len(),
            traits: self.traits.len(),
            relationships: self.relationships.len(),
            namespaces: self.provenance.namespaces.len(),
            patterns: self.provenance.patterns.values().map(Vec::len).sum(),
        }
    }

    /// Entity types `offset..offset + limit` (a `limit` of 0 is taken as 1,
    /// so paging always moves on), with where the next page starts.
    pub fn page_entity_types(&self, offset: usize, limit: usize) -> EntityTypePage<'_> {
        let total = self.entity_types.len();
        let start = offset.min(total);
        let end = start.saturating_add(limit.max(1)).min(total);
        EntityTypePage {
            total,
            offset: start,
            items: &self.entity_types[start..end],
            next_offset: (end < total).then_some(end),
        }
    }
}

/// Composes `root` with its closure over `docs` (id → its parsed file), as
/// the module documentation says. An id `docs` lacks is
/// `ontology-not-found`; an unknown parent `ontology-index-invalid`
/// naming it; a cycle `ontology-extends-cycle`; a section of the wrong
/// shape `ontology-section-invalid`; a `subtype_of` no ontology of the
/// closure declares `ontology-subtype-unresolved`.
pub fn resolve(docs: &BTreeMap<String, Doc>, root: &str) -> Result<Resolved, OntologyError> {
    let Some(own) = docs.get(root) else {
        return Err(OntologyError::NotFound {
            id: clip(root),
            closest: crate::suggest::closest(root, docs.keys().map(String::as_str), 3),
        });
    };
    let parents: BTreeMap<String, Vec<String>> = docs
        .iter()
        .map(|(id, d)| (id.clone(), d.extends.clone()))
        .collect();
    let ids = graph::closure(&parents, root)?;
    // Every id of a closure is a key of `parents`, so of `docs`.
    let closure: Vec<(&str, &Doc)> = ids
        .iter()
        .filter_map(|id| docs.get(id).map(|d| (id.as_str(), d)))
        .collect();

    let mut provenance = Provenance::default();
    let traits = by_name(&closure, "traits", &mut provenance.traits)?;
    let relationships = by_name(&closure, "relationships", &mut provenance.relationships)?;
    let mut namespaces = Map::new();
    for (id, doc) in &closure {
        if let Some(defs) = mapping(doc, "namespaces")? {
            merge_namespaces(
                &mut namespaces,
                defs,
                &Place {
                    id,
                    path: "",
                    field: "namespaces",
                    depth: 0,
                },
                &mut provenance.namespaces,
            )?;
        }
    }
    let discovery = discovery(&closure, &mut provenance)?;
    let entity_types = entity_types(&closure, root)?;
    Ok(Resolved {
        id: root.to_owned(),
        version: own.version.clone(),
        closure: ids,
        entity_types,
        traits,
        relationships,
        namespaces,
        discovery,
        provenance,
    })
}

/// A file's name, for errors.
fn file_of(id: &str) -> String {
    format!("{}{}", clip(id), index::SUFFIX)
}

fn section_invalid(id: &str, field: &str, detail: impl Into<String>) -> OntologyError {
    OntologyError::SectionInvalid {
        path: file_of(id),
        field: clip(field),
        detail: detail.into(),
    }
}

/// What kind of JSON value `v` is, for errors.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `doc`'s top-level `field` as a mapping: `None` when missing or null.
fn mapping<'d>(doc: &'d Doc, field: &str) -> Result<Option<&'d Map<String, Value>>, OntologyError> {
    match doc.content.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(section_invalid(
            &doc.id,
            field,
            format!("is {}, not a mapping by name", kind(other)),
        )),
    }
}

/// Traits or relationships: each name's last definition in closure order.
fn by_name(
    closure: &[(&str, &Doc)],
    field: &str,
    origin: &mut BTreeMap<String, String>,
) -> Result<Map<String, Value>, OntologyError> {
    let mut out = Map::new();
    for (id, doc) in closure {
        for (name, def) in mapping(doc, field)?.into_iter().flatten() {
            out.insert(name.clone(), def.clone());
            origin.insert(name.clone(), (*id).to_owned());
        }
    }
    Ok(out)
}

/// Where a namespace merge stands.
struct Place<'a> {
    /// The ontology whose definitions are merged in.
    id: &'a str,
    /// The namespace path of the parent (`""` at the top).
    path: &'a str,
    /// The field path in the file, for errors.
    field: &'a str,
    depth: usize,
}

/// Merges the namespace definitions `defs` into `into`: a name seen before
/// keeps its fields and gains or overrides those `defs` sets (a null field
/// overrides nothing), its `children` merged the same way.
fn merge_namespaces(
    into: &mut Map<String, Value>,
    defs: &Map<String, Value>,
    at: &Place<'_>,
    origin: &mut BTreeMap<String, Vec<String>>,
) -> Result<(), OntologyError> {
    if at.depth >= MAX_NAMESPACE_DEPTH {
        return Err(section_invalid(
            at.id,
            at.field,
            format!("nests deeper than {MAX_NAMESPACE_DEPTH} levels"),
        ));
    }
    let empty = Map::new();
    for (name, def) in defs {
        let field = format!("{}.{name}", at.field);
        let def = match def {
            Value::Null => &empty,
            Value::Object(m) => m,
            other => {
                return Err(section_invalid(
                    at.id,
                    &field,
                    format!("is {}, not a namespace mapping", kind(other)),
                ));
            }
        };
        let path = if at.path.is_empty() {
            name.clone()
        } else {
            format!("{}/{name}", at.path)
        };
        let ids = origin.entry(path.clone()).or_default();
        if ids.last().map(String::as_str) != Some(at.id) {
            ids.push(at.id.to_owned());
        }
        let slot = into
            .entry(name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(slot) = slot else {
            continue;
        };
        for (key, value) in def {
            if key != "children" {
                if !value.is_null() {
                    slot.insert(key.clone(), value.clone());
                }
                continue;
            }
            let children_field = format!("{field}.children");
            let children = match value {
                Value::Null => continue,
                Value::Object(m) => m,
                other => {
                    return Err(section_invalid(
                        at.id,
                        &children_field,
                        format!("is {}, not a mapping of namespaces", kind(other)),
                    ));
                }
            };
            let target = slot
                .entry("children")
                .or_insert_with(|| Value::Object(Map::new()));
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(target) = target {
                merge_namespaces(
                    target,
                    children,
                    &Place {
                        id: at.id,
                        path: &path,
                        field: &children_field,
                        depth: at.depth + 1,
                    },
                    origin,
                )?;
            }
        }
    }
    Ok(())
}

/// A discovery pattern's identity: the field holding its pattern string,
/// and the string.
fn pattern_key(item: &Value) -> Option<(&'static str, &str)> {
    PATTERN_KEYS
        .iter()
        .find_map(|k| item.get(*k).and_then(Value::as_str).map(|s| (*k, s)))
}

/// Discovery over the closure: pattern lists concatenated with the later
/// of two same patterns kept (where the later file put it), every other
/// field from the last file that sets it.
fn discovery(
    closure: &[(&str, &Doc)],
    provenance: &mut Provenance,
) -> Result<Value, OntologyError> {
    let mut fields: Map<String, Value> = Map::new();
    let mut lists: BTreeMap<&'static str, Vec<(&Value, &str)>> = BTreeMap::new();
    for (id, doc) in closure {
        for (key, value) in mapping(doc, "discovery")?.into_iter().flatten() {
            if let Some(list) = PATTERN_LISTS.iter().find(|l| **l == key) {
                let items = match value {
                    Value::Null => continue,
                    Value::Array(items) => items,
                    other => {
                        return Err(section_invalid(
                            id,
                            &format!("discovery.{key}"),
                            format!("is {}, not a list of patterns", kind(other)),
                        ));
                    }
                };
                let into = lists.entry(*list).or_default();
                into.extend(items.iter().map(|item| (item, *id)));
            } else if !value.is_null() {
                fields.insert(key.clone(), value.clone());
                provenance.discovery.insert(key.clone(), (*id).to_owned());
            }
        }
    }
    for (list, items) in lists {
        let mut last: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (i, (item, _)) in items.iter().enumerate() {
            if let Some(k) = pattern_key(item) {
                last.insert(k, i);
            }
        }
        let mut kept = Vec::new();
        let mut origins = Vec::new();
        for (i, (item, id)) in items.iter().enumerate() {
            if pattern_key(item).is_none_or(|k| last.get(&k) == Some(&i)) {
                kept.push((*item).clone());
                origins.push((*id).to_owned());
            }
        }
        fields.insert(list.to_owned(), Value::Array(kept));
        provenance.patterns.insert(list.to_owned(), origins);
    }
    Ok(Value::Object(fields))
}

/// An ontology's entity types as `(index in its list, name, type)`.
type Declared<'d> = Vec<(usize, &'d str, &'d Value)>;

/// An ontology's entity types, each with a string `name`.
fn declared(doc: &Doc) -> Result<Declared<'_>, OntologyError> {
    let items = match doc.content.get("entity_types") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(section_invalid(
                &doc.id,
                "entity_types",
                format!("is {}, not a list of entity types", kind(other)),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return Err(section_invalid(
                &doc.id,
                &format!("entity_types[{i}]"),
                "has no string `name`",
            ));
        };
        out.push((i, name, item));
    }
    Ok(out)
}

/// The root's own entity types, each `subtype_of` name resolved to the
/// ontology of the closure that declares it, the root first, then its
/// parents from the last applied back to the base.
fn entity_types(closure: &[(&str, &Doc)], root: &str) -> Result<Vec<Value>, OntologyError> {
    let mut declared_by: Vec<(&str, Declared<'_>)> = Vec::new();
    for (id, doc) in closure.iter().rev() {
        declared_by.push((id, declared(doc)?));
    }
    let Some((_, own)) = declared_by.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(own.len());
    for (index, name, item) in own {
        let supers = match item.get("subtype_of") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => {
                let mut names = Vec::with_capacity(list.len());
                for s in list {
                    let Some(s) = s.as_str() else {
                        return Err(section_invalid(
                            root,
                            &format!("entity_types[{index}].subtype_of"),
                            format!("holds {}, not a type name", kind(s)),
                        ));
                    };
                    names.push(s);
                }
                names
            }
            Some(other) => {
                return Err(section_invalid(
                    root,
                    &format!("entity_types[{index}].subtype_of"),
                    format!("is {}, not a list of type names", kind(other)),
                ));
            }
        };
        let mut item = (*item).clone();
        if !supers.is_empty() {
            let mut found = Vec::with_capacity(supers.len());
            for s in supers {
                let by = declared_by.iter().find(|(id, types)| {
                    types
                        .iter()
                        .any(|(i, n, _)| *n == s && !(*id == root && i == index))
                });
                let Some((by, _)) = by else {
                    return Err(OntologyError::SubtypeUnresolved {
                        ontology: clip(root),
                        entity_type: clip(name),
                        supertype: clip(s),
                        closure: closure.iter().map(|(id, _)| (*id).to_owned()).collect(),
                    });
                };
                let mut entry = Map::new();
                entry.insert("name".into(), Value::String(s.to_owned()));
                entry.insert("ontology".into(), Value::String((*by).to_owned()));
                found.push(Value::Object(entry));
            }
            if let Value::Object(m) = &mut item {
                m.insert("subtype_of_resolved".into(), Value::Array(found));
            }
        }
        out.push(item);
    }
    Ok(out)
}

fn strings(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn lists(m: &BTreeMap<String, Vec<String>>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect(),
    )
}

fn counts_json(c: Counts) -> Value {
    let mut m = Map::new();
    m.insert("entity_types".into(), c.entity_types.into());
    m.insert("traits".into(), c.traits.into());
    m.insert("relationships".into(), c.relationships.into());
    m.insert("namespaces".into(), c.namespaces.into());
    m.insert("patterns".into(), c.patterns.into());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mif/corpus-v0.4.0")
    }

    fn corpus_docs() -> (Index, BTreeMap<String, Doc>) {
        let dir = corpus();
        let bytes = std::fs::read(dir.join(index::INDEX_FILE)).unwrap();
        let index = index::validate(&dir, &bytes).unwrap();
        let docs = load(&dir, &index).unwrap();
        (index, docs)
    }

    /// Parses synthetic files given as `(id, yaml)`.
    fn docs(files: &[(&str, &str)]) -> BTreeMap<String, Doc> {
        files
            .iter()
            .map(|(id, yaml)| {
                (
                    (*id).to_owned(),
                    parse(id, yaml.as_bytes()).unwrap_or_else(|e| panic!("{id}: {e}")),
                )
            })
            .collect()
    }

    #[test]
    fn resolve_every_corpus_ontology_and_check_the_widest_closure() {
        let (index, docs) = corpus_docs();
        assert_eq!(docs.len(), 29);
        let mut widest: Option<Resolved> = None;
        let mut subtypes = 0;
        for id in docs.keys() {
            let r = resolve(&docs, id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(r.closure.last(), Some(id));
            subtypes += r
                .entity_types
                .iter()
                .filter_map(|t| t.get("subtype_of_resolved"))
                .filter_map(Value::as_array)
                .map(Vec::len)
                .sum::<usize>();
            if widest
                .as_ref()
                .is_none_or(|w| r.closure.len() > w.closure.len())
            {
                widest = Some(r);
            }
        }
        // Every `subtype_of` of the corpus resolves.
        assert_eq!(subtypes, 129);
        let r = widest.unwrap();
        assert_eq!(r.id, "regenerative-agriculture-research");
        assert_eq!(
            r.closure,
            graph::closure(&index.parents(), &r.id).unwrap(),
            "the closure is the graph's"
        );
        assert_eq!(r.closure[..2], ["mif-base", "shared-traits"]);

        // `lifecycle` is defined only by shared-traits; `cited` by
        // shared-traits, research, agriculture, engineering-base and the
        // root, which wins.
        assert!(docs["shared-traits"].content["traits"]["lifecycle"].is_object());
        assert_eq!(r.provenance.traits["lifecycle"], "shared-traits");
        assert_eq!(
            r.traits["lifecycle"],
            docs["shared-traits"].content["traits"]["lifecycle"]
        );
        assert_eq!(r.provenance.traits["cited"], r.id);
        assert_eq!(r.provenance.traits["versioned"], "engineering-base");
        assert_eq!(
            r.provenance.relationships["derived_from"],
            "engineering-base"
        );
        assert_eq!(r.provenance.relationships["supersedes"], "mif-base");
        assert_eq!(r.provenance.namespaces["_semantic"], ["mif-base"]);

        // Entity types are the root's own, not the closure's.
        let own = docs[&r.id].content["entity_types"].as_array().unwrap();
        let all: usize = r
            .closure
            .iter()
            .map(|id| {
                docs[id].content["entity_types"]
                    .as_array()
                    .map_or(0, Vec::len)
            })
            .sum();
        assert_eq!(r.entity_types.len(), own.len());
        assert!(all > own.len());
        let names = |list: &[Value]| -> Vec<String> {
            list.iter().map(|t| t["name"].to_string()).collect()
        };
        assert_eq!(names(&r.entity_types), names(own));

        // A section restricts the view; entity types page.
        let view = r.view(Some(Section::Traits));
        assert!(view.get("entity_types").is_none());
        assert!(view.get("namespaces").is_none());
        assert_eq!(view["traits"].as_object().unwrap().len(), r.traits.len());
        assert_eq!(view["provenance"]["traits"]["lifecycle"], "shared-traits");
        assert!(view["provenance"].get("namespaces").is_none());
        assert_eq!(view["counts"]["entity_types"], own.len());
        let whole = r.view(None);
        for s in Section::ALL {
            assert!(whole.get(s.key()).is_some(), "{}", s.key());
        }
        let page = r.page_entity_types(20, 5);
        assert_eq!((page.total, page.items.len()), (21, 1));
        assert_eq!(page.next_offset, None);
        assert_eq!(page.items[0], r.entity_types[20]);
        let page = r.page_entity_types(0, 5);
        assert_eq!(page.next_offset, Some(5));
        assert_eq!(r.page_entity_types(99, 0).items.len(), 0);
        assert_eq!(r.page_entity_types(0, 0).next_offset, Some(1));
    }

    #[test]
    fn resolve_reports_where_corpus_subtypes_are_declared() {
        let (_, docs) = corpus_docs();
        let parents = |r: &Resolved, ty: &str| -> Vec<(String, String)> {
            let t = r
                .entity_types
                .iter()
                .find(|t| t["name"] == ty)
                .unwrap_or_else(|| panic!("{ty}"));
            t["subtype_of_resolved"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_owned(),
                        s["ontology"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };
        // Some supertype in the corpus is declared two levels up, and some
        // in the file itself: find one of each and check where they point.
        let mut far = 0;
        let mut own = 0;
        for id in docs.keys() {
            let r = resolve(&docs, id).unwrap();
            for t in &r.entity_types {
                let Some(list) = t.get("subtype_of") else {
                    continue;
                };
                let name = t["name"].as_str().unwrap();
                for (i, (sup, by)) in parents(&r, name).into_iter().enumerate() {
                    assert_eq!(list[i], sup.as_str());
                    let declares = docs[&by].content["entity_types"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|t| t["name"] == sup.as_str());
                    assert!(declares, "{id}/{name}: {by} does not declare {sup}");
                    assert!(r.closure.contains(&by));
                    if by == *id {
                        own += 1;
                    } else if !docs[id].extends.contains(&by) {
                        far += 1;
                    }
                }
            }
        }
        assert_eq!(own, 19, "supertypes declared in the same file");
        assert!(far > 0, "no supertype declared beyond a direct parent");
    }

    const A: &str = r#"
ontology: {id: a, version: 1.0.0}
traits:
  shared: {description: from a}
  only_a: {description: a's}
relationships:
  rel: {description: from a, from: [], to: []}
namespaces:
  _semantic:
    description: a semantic
    type_hint: semantic
    children:
      decisions: {description: a decisions, type_hint: semantic}
entity_types:
  - {name: thing, base: semantic}
discovery:
  enabled: false
  confidence_threshold: 0.5
  patterns:
    - {content_pattern: "\\bfoo\\b", suggest_entity: thing, suggest_namespace: _semantic/a}
    - {file_pattern: "*.md", suggest_entity: thing, suggest_namespace: _semantic/a}
"#;
    const B: &str = r#"
ontology: {id: b, version: 1.0.0, extends: [a]}
traits:
  shared: {description: from b}
  only_b: {description: b's}
namespaces:
  _semantic:
    children:
      decisions: {description: b decisions}
      designs: {description: b designs, type_hint: semantic}
"#;
    const C: &str = r#"
ontology: {id: c, version: 1.0.0, extends: a}
traits:
  shared: {description: from c}
  both: {description: from c}
relationships:
  rel: {description: from c, from: [x], to: [y]}
discovery:
  enabled: true
  patterns:
    - {content_pattern: "\\bbar\\b", suggest_entity: thing, suggest_namespace: _semantic/c}
"#;
    const D: &str = r#"
---
# a comment
ontology: {id: d, version: 2.0.0, extends: [b, c]}
traits:
  both: {description: from d}
namespaces:
  _semantic:
    description: d semantic
    children:
      decisions:
        children:
          adr: {description: d adr, type_hint: semantic}
  _episodic: {description: d episodic, type_hint: episodic}
entity_types:
  - {name: gadget, base: semantic, subtype_of: [thing]}
  - {name: widget, base: semantic, subtype_of: [gadget, thing]}
discovery:
  patterns:
    - {content_pattern: "\\bfoo\\b", suggest_entity: gadget, suggest_namespace: _semantic/d}
"#;

    #[test]
    fn resolve_a_diamond_in_order_with_later_parents_and_the_child_winning() {
        let docs = docs(&[("a", A), ("b", B), ("c", C), ("d", D)]);
        let r = resolve(&docs, "d").unwrap();
        assert_eq!(r.closure, ["a", "b", "c", "d"]);
        assert_eq!((r.id.as_str(), r.version.as_str()), ("d", "2.0.0"));

        // Traits: c (later parent) over b over a; d over c.
        assert_eq!(r.traits["shared"]["description"], "from c");
        assert_eq!(r.provenance.traits["shared"], "c");
        assert_eq!(r.traits["both"]["description"], "from d");
        assert_eq!(r.provenance.traits["both"], "d");
        assert_eq!(r.provenance.traits["only_a"], "a");
        assert_eq!(r.provenance.traits["only_b"], "b");
        assert_eq!(r.traits.len(), 4);
        // A relationship is replaced whole.
        assert_eq!(r.relationships["rel"]["from"], serde_json::json!(["x"]));
        assert_eq!(r.provenance.relationships["rel"], "c");

        // Namespaces: additive, deep.
        let sem = &r.namespaces["_semantic"];
        assert_eq!(sem["description"], "d semantic");
        assert_eq!(sem["type_hint"], "semantic", "kept from a");
        let decisions = &sem["children"]["decisions"];
        assert_eq!(decisions["description"], "b decisions");
        assert_eq!(decisions["type_hint"], "semantic", "kept from a");
        assert_eq!(decisions["children"]["adr"]["description"], "d adr");
        assert_eq!(sem["children"]["designs"]["description"], "b designs");
        assert_eq!(r.namespaces["_episodic"]["type_hint"], "episodic");
        assert_eq!(r.provenance.namespaces["_semantic"], ["a", "b", "d"]);
        assert_eq!(
            r.provenance.namespaces["_semantic/decisions"],
            ["a", "b", "d"]
        );
        assert_eq!(r.provenance.namespaces["_semantic/decisions/adr"], ["d"]);
        assert_eq!(r.provenance.namespaces["_semantic/designs"], ["b"]);
        assert_eq!(r.counts().namespaces, 5);

        // Discovery: the child's `\bfoo\b` replaces a's, the others stay in
        // closure order; scalars from the last that sets them.
        let patterns = r.discovery["patterns"].as_array().unwrap();
        let strings: Vec<&str> = patterns
            .iter()
            .map(|p| {
                p.get("content_pattern")
                    .or(p.get("file_pattern"))
                    .and_then(Value::as_str)
                    .unwrap()
            })
            .collect();
        assert_eq!(strings, ["*.md", "\\bbar\\b", "\\bfoo\\b"]);
        assert_eq!(patterns[2]["suggest_entity"], "gadget");
        assert_eq!(r.provenance.patterns["patterns"], ["a", "c", "d"]);
        assert_eq!(r.discovery["enabled"], true);
        assert_eq!(r.provenance.discovery["enabled"], "c");
        assert_eq!(r.discovery["confidence_threshold"], 0.5);
        assert_eq!(r.provenance.discovery["confidence_threshold"], "a");

        // Entity types: d's own; a grandparent's and its own supertypes.
        assert_eq!(r.entity_types.len(), 2);
        assert_eq!(
            r.entity_types[0]["subtype_of_resolved"],
            serde_json::json!([{"name": "thing", "ontology": "a"}])
        );
        assert_eq!(
            r.entity_types[1]["subtype_of_resolved"],
            serde_json::json!([
                {"name": "gadget", "ontology": "d"},
                {"name": "thing", "ontology": "a"}
            ])
        );
        // b has no entity types of its own, and inherits none.
        let rb = resolve(&docs, "b").unwrap();
        assert!(rb.entity_types.is_empty());
        assert_eq!(rb.closure, ["a", "b"]);
        assert_eq!(rb.traits["shared"]["description"], "from b");
    }

    #[test]
    fn resolve_refuses_an_unresolvable_or_self_subtype() {
        let with = |types: &str| {
            let d = format!("ontology: {{id: d, version: 1.0.0, extends: [b]}}\n{types}");
            let docs = docs(&[("a", A), ("b", B), ("c", C), ("d", &d)]);
            resolve(&docs, "d")
        };
        let e = with("entity_types:\n  - {name: gizmo, base: semantic, subtype_of: [ghost]}\n")
            .unwrap_err();
        assert_eq!(e.code(), "ontology-subtype-unresolved", "{e}");
        let msg = e.to_string();
        for needle in ["`gizmo`", "`ghost`", "a, b, d"] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
        // A type is not its own supertype when nothing else declares it.
        let e = with("entity_types:\n  - {name: loop, base: semantic, subtype_of: loop}\n")
            .unwrap_err();
        assert_eq!(e.code(), "ontology-subtype-unresolved", "{e}");
        // Its own name is fine when an ancestor declares it.
        let r =
            with("entity_types:\n  - {name: thing, base: semantic, subtype_of: thing}\n").unwrap();
        assert_eq!(r.entity_types[0]["subtype_of_resolved"][0]["ontology"], "a");
        let e = with("entity_types:\n  - {base: semantic}\n").unwrap_err();
        assert_eq!(e.code(), "ontology-section-invalid", "{e}");
        assert!(e.to_string().contains("entity_types[0]"), "{e}");
    }

    #[test]
    fn resolve_names_a_cycle_an_unknown_parent_and_an_unknown_id() {
        let docs = docs(&[
            ("x", "ontology: {id: x, extends: [y]}\n"),
            ("y", "ontology: {id: y, extends: [z]}\n"),
            ("z", "ontology: {id: z, extends: [x]}\n"),
            ("w", "ontology: {id: w, extends: [ghost]}\n"),
        ]);
        let e = resolve(&docs, "x").unwrap_err();
        assert_eq!(e.code(), "ontology-extends-cycle", "{e}");
        assert!(e.to_string().contains("x → y → z → x"), "{e}");
        let e = resolve(&docs, "w").unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid", "{e}");
        assert!(e.to_string().contains("`ghost`"), "{e}");
        let e = resolve(&docs, "v").unwrap_err();
        assert_eq!(e.code(), "ontology-not-found", "{e}");
        assert!(
            e.hint().contains("`w`") || e.hint().contains("`x`"),
            "{}",
            e.hint()
        );
    }

    #[test]
    fn resolve_refuses_sections_of_the_wrong_shape() {
        for (yaml, field) in [
            ("traits: [a, b]\n", "`traits`"),
            (
                "namespaces: {_s: {children: [x]}}\n",
                "namespaces._s.children",
            ),
            ("namespaces: {_s: 3}\n", "namespaces._s"),
            ("discovery: {patterns: {a: 1}}\n", "discovery.patterns"),
            ("entity_types: {a: 1}\n", "`entity_types`"),
        ] {
            let text = format!("ontology: {{id: a}}\n{yaml}");
            let docs = docs(&[("a", &text)]);
            let e = resolve(&docs, "a").unwrap_err();
            assert_eq!(e.code(), "ontology-section-invalid", "{yaml}: {e}");
            assert!(e.to_string().contains(field), "{field}: {e}");
            assert!(e.to_string().contains("a.ontology.yaml"), "{e}");
        }
        // Null and missing sections are empty.
        let docs = docs(&[("a", "ontology: {id: a}\ntraits:\nnamespaces: {_s: }\n")]);
        let r = resolve(&docs, "a").unwrap();
        assert!(r.traits.is_empty());
        assert_eq!(r.namespaces["_s"], serde_json::json!({}));
        assert_eq!(r.discovery, serde_json::json!({}));
        assert_eq!(r.version, "0.0.0");
    }

    #[test]
    fn resolve_parse_gives_the_raw_view_as_the_file_has_it() {
        let dir = corpus();
        let bytes = std::fs::read(dir.join("fitness.ontology.yaml")).unwrap();
        let doc = parse("fitness", &bytes).unwrap();
        assert_eq!(doc.content["ontology"]["id"], "fitness");
        assert_eq!(doc.extends, ["clinical-health-base"]);
        // The same content as an independent YAML reading of the file.
        let reference: serde_yaml::Value = serde_yaml::from_slice(&bytes).unwrap();
        assert_eq!(doc.content, serde_json::to_value(&reference).unwrap());
        assert_eq!(doc.raw(None), doc.content);
        let raw = doc.raw(Some(Section::EntityTypes));
        assert_eq!(raw["entity_types"], doc.content["entity_types"]);
        assert_eq!(raw["version"], doc.version);
        assert!(raw.get("traits").is_none());
        assert_eq!(doc.raw(Some(Section::Traits))["traits"], Value::Null);

        let doc = parse(
            "t",
            b"ontology: {id: t, version: 1.5, extends: p}\nk: !custom 5\n",
        )
        .unwrap();
        assert_eq!(doc.version, "1.5");
        assert_eq!(doc.extends, ["p"]);
        assert_eq!(doc.content["k"], serde_json::json!({"!custom": 5}));
    }

    #[test]
    fn resolve_parse_refuses_what_it_cannot_read_naming_the_file() {
        let check = |id: &str, yaml: &str, needle: &str| {
            let e = parse(id, yaml.as_bytes()).unwrap_err();
            assert_eq!(e.code(), "ontology-index-invalid", "{e}");
            let msg = e.to_string();
            assert!(msg.contains(&format!("{id}.ontology.yaml")), "{msg}");
            assert!(msg.contains(needle), "{needle}: {msg}");
        };
        check("a", "ontology: {id: b}\n", "`b`, not `a`");
        check("a", "ontology: {version: 1.0.0}\n", "no ontology.id");
        check("a", "- 1\n", "no `ontology` mapping");
        check("a", "ontology: {id: a, extends: [Bad]}\n", "`Bad`");
        check(
            "a",
            "ontology: {id: a, extends: [[1]]}\n",
            "not an ontology id",
        );
        check("a", "ontology: {id: a}\nx: 1\nx: 2\n", "twice");
        check("a", "ontology: {id: a}\n? [1]\n: 2\n", "key is a list");
        check("a", "ontology: [\n", "not YAML");
    }

    #[test]
    fn resolve_parse_refuses_an_alias_bomb_quickly() {
        let started = std::time::Instant::now();
        // Nine levels of ten aliases each: 10^9 strings once expanded
        // (serde_yaml's own limit on alias jumps stops this one).
        let mut yaml = String::from("ontology: {id: a}\nl0: &l0 [\"lol\"]\n");
        for i in 1..10 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            yaml.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let e = parse("a", yaml.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid", "{e}");
        // Few jumps to a wide value, under that limit: the value bound.
        let wide = vec!["1"; 5_000].join(",");
        let mut yaml = format!("ontology: {{id: a}}\nwide: &w [{wide}]\nmany: [");
        yaml.push_str(&vec!["*w"; 200].join(", "));
        yaml.push_str("]\n");
        let e = parse("a", yaml.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid", "{e}");
        assert!(e.to_string().contains("values"), "{e}");
        assert!(e.to_string().contains("expands past"), "{e}");
        // Few aliases over a large value: the text bound.
        let big = "x".repeat(1 << 20);
        let mut yaml = format!("ontology: {{id: a}}\nbig: &big \"{big}\"\nmany: [");
        yaml.push_str(&vec!["*big"; 20].join(", "));
        yaml.push_str("]\n");
        let e = parse("a", yaml.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("bytes of text"), "{e}");
        // A few aliases within bounds are expanded.
        let doc = parse("a", b"ontology: {id: a}\nx: &x {k: 1}\ny: *x\n").unwrap();
        assert_eq!(doc.content["y"], serde_json::json!({"k": 1}));
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
