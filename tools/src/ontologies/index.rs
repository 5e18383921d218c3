//! `index.json` of a directory of MIF ontology files, generated and checked
//! byte for byte as the corpus's `scripts/gen-ontology-index.sh` does (the
//! attested core of a release, ADR-0002): for each `*.ontology.yaml` in
//! name order, `id = .ontology.id` (a file without one is skipped, a
//! duplicate is refused), `version = .ontology.version // "0.0.0"`,
//! `extends` as a flat list (missing → `[]`, a scalar → `[scalar]`),
//! `sha256` over the raw bytes, `file` the bare name; rendered as `jq -S`
//! renders (keys sorted at every depth, two-space indent) plus `\n`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::fsread::{self, Links};
use crate::ontologies::OntologyError;

/// The index's `schema`.
pub const SCHEMA: &str = "mif-ontology-index/v1";
/// The index's `source`, as the corpus's generator writes it.
pub const SOURCE: &str = "https://mif-spec.dev/ontologies/";
/// The index's file name, beside the ontology files.
pub const INDEX_FILE: &str = "index.json";
/// What an ontology file's name ends with.
pub const SUFFIX: &str = ".ontology.yaml";
/// The largest ontology file read.
pub const MAX_FILE: u64 = 16 << 20;
/// The most ontology files in one directory.
pub const MAX_FILES: usize = 10_000;

/// A freshly generated index.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The index as the generator writes it (ends with `\n`).
    pub text: String,
    /// How many ontologies it lists.
    pub ontologies: usize,
    /// The files skipped for having no `ontology.id`.
    pub skipped: Vec<String>,
}

/// Generates the index of the ontology files in `dir`.
pub fn generate(dir: &Path) -> Result<Generated, OntologyError> {
    let mut entries: BTreeMap<String, Value> = BTreeMap::new();
    let mut first_of: BTreeMap<String, String> = BTreeMap::new();
    let mut skipped = Vec::new();
    for (name, path) in ontology_files(dir)? {
        let bytes = fsread::read(&path, MAX_FILE, Links::Follow).map_err(|e| {
            OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!("cannot be read: {e}"),
            }
        })?;
        let invalid = |detail: String| OntologyError::IndexInvalid {
            path: path.display().to_string(),
            detail,
        };
        let doc: serde_yaml::Value = serde_yaml::from_slice(&bytes)
            .map_err(|e| invalid(format!("not YAML the generator can read: {e}")))?;
        let ontology = doc.get("ontology");
        let field = |key: &str| ontology.and_then(|o| o.get(key)).filter(|v| truthy(v));
        let Some(id) = field("id").and_then(raw_text).filter(|id| !id.is_empty()) else {
            tracing::warn!(file = %path.display(), "skipped: no ontology.id");
            skipped.push(name);
            continue;
        };
        if let Some(first) = first_of.get(&id) {
            return Err(invalid(format!(
                "duplicate ontology id `{}` (first in {first})",
                crate::error::clip(&id)
            )));
        }
        let version = field("version")
            .and_then(raw_text)
            .unwrap_or_else(|| "0.0.0".to_owned());
        let mut extends = Vec::new();
        if let Some(v) = field("extends") {
            flatten(&to_json(v).map_err(invalid)?, &mut extends);
        }
        let mut entry = serde_json::Map::new();
        entry.insert("extends".into(), Value::Array(extends));
        entry.insert("file".into(), Value::String(name.clone()));
        entry.insert(
            "sha256".into(),
            Value::String(crate::hex::encode(&Sha256::digest(&bytes))),
        );
        entry.insert("version".into(), Value::String(version));
        first_of.insert(id.clone(), name);
        entries.insert(id, Value::Object(entry));
    }
    let count = entries.len();
    let mut top = serde_json::Map::new();
    top.insert(
        "ontologies".into(),
        Value::Object(entries.into_iter().collect()),
    );
    top.insert("schema".into(), Value::String(SCHEMA.into()));
    top.insert("source".into(), Value::String(SOURCE.into()));
    let mut text = serde_json::to_string_pretty(&sorted(Value::Object(top))).map_err(|e| {
        OntologyError::IndexInvalid {
            path: dir.display().to_string(),
            detail: format!("cannot render the index: {e}"),
        }
    })?;
    text.push('\n');
    Ok(Generated {
        text,
        ontologies: count,
        skipped,
    })
}

/// What `index --check` found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The index file compared.
    pub path: PathBuf,
    /// Whether it equals a fresh generation byte for byte.
    pub up_to_date: bool,
    /// A unified diff from the file to the fresh generation, when they differ.
    pub diff: Option<String>,
    /// The fresh generation.
    pub generated: Generated,
}

/// Compares `dir/index.json` with a fresh generation; writes nothing. A
/// missing index is compared as empty, as the generator's `--check` does.
pub fn check(dir: &Path) -> Result<Checked, OntologyError> {
    let generated = generate(dir)?;
    let path = dir.join(INDEX_FILE);
    let current = match fsread::read(&path, MAX_FILE, Links::Follow) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(fsread::ReadError::NotFound) => String::new(),
        Err(e) => {
            return Err(OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!("cannot be read: {e}"),
            });
        }
    };
    let up_to_date = current == generated.text;
    let diff = (!up_to_date).then(|| {
        similar::TextDiff::from_lines(&current, &generated.text)
            .unified_diff()
            .context_radius(3)
            .header(&path.display().to_string(), "regenerated")
            .to_string()
    });
    Ok(Checked {
        path,
        up_to_date,
        diff,
        generated,
    })
}

/// Writes `dir/index.json` from a fresh generation, atomically.
pub fn write(dir: &Path) -> Result<(PathBuf, Generated), OntologyError> {
    let generated = generate(dir)?;
    let path = dir.join(INDEX_FILE);
    crate::fswrite::write_atomic(&path, generated.text.as_bytes())
        .map_err(|(op, e)| OntologyError::io(op, &path, &e))?;
    Ok((path, generated))
}

/// `dir`'s `*.ontology.yaml` entries (not hidden ones, as a shell glob), by
/// name.
fn ontology_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, OntologyError> {
    let mut files = Vec::new();
    let read = std::fs::read_dir(dir).map_err(|e| OntologyError::io("read", dir, &e))?;
    for entry in read {
        let entry = entry.map_err(|e| OntologyError::io("read", dir, &e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !name.ends_with(SUFFIX) {
            continue;
        }
        files.push((name, entry.path()));
        if files.len() > MAX_FILES {
            return Err(OntologyError::IndexInvalid {
                path: dir.display().to_string(),
                detail: format!("more than {MAX_FILES} ontology files"),
            });
        }
    }
    files.sort();
    Ok(files)
}

/// Whether jq's `//` keeps `v` (everything but null and false).
fn truthy(v: &serde_yaml::Value) -> bool {
    !matches!(v, serde_yaml::Value::Null | serde_yaml::Value::Bool(false))
}

/// A scalar as `yq -r` prints it; `None` for a mapping or sequence.
fn raw_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Tagged(t) => raw_text(&t.value),
        _ => None,
    }
}

fn to_json(v: &serde_yaml::Value) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| format!("`ontology.extends` has no JSON form: {e}"))
}

/// `[v] | flatten`: nested lists spread, everything else kept.
fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// `v` with the keys of every object in sorted order (as `jq -S`), whatever
/// order serde_json's map keeps.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
