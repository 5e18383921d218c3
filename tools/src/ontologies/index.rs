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

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::fsread::{self, Links};
use crate::ontologies::OntologyError;
use crate::ontologies::yaml::{self, flatten, raw_text, truthy};

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
        let doc = yaml::parse(&bytes)
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
            flatten(v, &mut extends);
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

/// An index as the contract defines it: exactly these members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The ontologies by id.
    pub ontologies: BTreeMap<String, Entry>,
    /// [`SCHEMA`].
    pub schema: String,
    /// Where the corpus says it is published.
    pub source: String,
}

/// One ontology of an [`Index`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The ids it extends, in order.
    pub extends: Vec<String>,
    /// Its file, a bare name beside the index.
    pub file: String,
    /// SHA-256 of the file's raw bytes (hex).
    pub sha256: String,
    /// Its version.
    pub version: String,
}

impl Index {
    /// Each id's parents, for [`crate::ontologies::graph`].
    pub fn parents(&self) -> BTreeMap<String, Vec<String>> {
        self.ontologies
            .iter()
            .map(|(id, e)| (id.clone(), e.extends.clone()))
            .collect()
    }
}

/// Whether `id` is an ontology id (`^[a-z][a-z0-9-]*$`).
pub fn is_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && id.len() <= 128
}

/// Whether `file` is a bare file name (no separator, not `.` or `..`, no
/// NUL, at most 255 bytes): index entries name files beside the index only.
pub fn is_bare_file(file: &str) -> bool {
    !file.is_empty()
        && file != "."
        && file != ".."
        && !file.contains(['/', '\\', '\0'])
        && file.len() <= 255
}

/// Checks the attested index `bytes` against the ontology files in `dir`,
/// as vendoring does before anything is kept: the contract's shape and
/// schema, ids and bare file names, every `extends` id listed and the graph
/// acyclic, each file hashing to its pin (`ontology-hash-mismatch`) with
/// the id and version it is listed under, and the index regenerated from
/// the files equal to `bytes`, byte for byte.
pub fn validate(dir: &Path, bytes: &[u8]) -> Result<Index, OntologyError> {
    let shown = dir.join(INDEX_FILE).display().to_string();
    let invalid = |detail: String| OntologyError::IndexInvalid {
        path: shown.clone(),
        detail,
    };
    let index: Index = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("not an ontology index: {e}")))?;
    if index.schema != SCHEMA {
        return Err(invalid(format!(
            "`schema` is `{}`, not `{SCHEMA}`",
            crate::error::clip(&index.schema)
        )));
    }
    for (id, e) in &index.ontologies {
        if !is_id(id) {
            return Err(invalid(format!(
                "`{}` is not an ontology id (^[a-z][a-z0-9-]*$)",
                crate::error::clip(id)
            )));
        }
        if !is_bare_file(&e.file) {
            return Err(invalid(format!(
                "`{id}`'s file `{}` is not a bare file name",
                crate::error::clip(&e.file)
            )));
        }
        if e.sha256.len() != 64 || crate::hex::decode(&e.sha256).is_none() {
            return Err(invalid(format!("`{id}`'s sha256 is not 64 hex digits")));
        }
        if let Some(missing) = e
            .extends
            .iter()
            .find(|p| !index.ontologies.contains_key(*p))
        {
            return Err(invalid(format!(
                "`{id}` extends `{}`, which the index does not list",
                crate::error::clip(missing)
            )));
        }
    }
    if let Some(cycle) = crate::ontologies::graph::find_cycle(&index.parents()) {
        return Err(OntologyError::ExtendsCycle { cycle });
    }
    for (id, e) in &index.ontologies {
        let path = dir.join(&e.file);
        let data = fsread::read(&path, MAX_FILE, Links::Refuse).map_err(|err| {
            OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!("listed for `{id}` but cannot be read: {err}"),
            }
        })?;
        let found = crate::hex::encode(&Sha256::digest(&data));
        if !found.eq_ignore_ascii_case(&e.sha256) {
            return Err(OntologyError::HashMismatch {
                path: path.display().to_string(),
                expected: e.sha256.clone(),
                found,
            });
        }
        let doc = yaml::parse(&data).map_err(|err| OntologyError::IndexInvalid {
            path: path.display().to_string(),
            detail: format!("not YAML: {err}"),
        })?;
        let field = |k: &str| {
            doc.get("ontology")
                .and_then(|o| o.get(k))
                .and_then(raw_text)
        };
        if field("id").as_deref() != Some(id.as_str()) {
            return Err(OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!("its ontology.id is not `{id}`, the id the index lists it under"),
            });
        }
        let version = field("version").unwrap_or_else(|| "0.0.0".to_owned());
        if version != e.version {
            return Err(OntologyError::IndexInvalid {
                path: path.display().to_string(),
                detail: format!(
                    "its ontology.version is `{}`, the index says `{}`",
                    crate::error::clip(&version),
                    crate::error::clip(&e.version)
                ),
            });
        }
    }
    let regenerated = generate(dir)?;
    if regenerated.text.as_bytes() != bytes {
        return Err(invalid(
            "it is not the index the ontology files beside it regenerate to (byte for byte)".into(),
        ));
    }
    Ok(index)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mif/corpus-v0.4.0")
    }

    /// A writable copy of the corpus with its index.
    fn copy() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("ontologies");
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(corpus()).unwrap().flatten() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
        (t, dir)
    }

    fn index_bytes(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(INDEX_FILE)).unwrap()
    }

    #[test]
    fn an_alias_bomb_in_a_directory_is_refused_by_the_generator_and_the_check() {
        // Few alias jumps to a wide value: under serde_yaml's own limit,
        // past the value budget every ontology file is read with.
        let wide = vec!["1"; 5_000].join(",");
        let mut bomb =
            format!("ontology: {{id: bomb, version: \"1.0.0\"}}\nwide: &w [{wide}]\nmany: [");
        bomb.push_str(&vec!["*w"; 200].join(", "));
        bomb.push_str("]\n");
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("bomb.ontology.yaml"), &bomb).unwrap();
        let e = generate(t.path()).unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid", "{e}");
        assert!(e.to_string().contains("expands past"), "{e}");
    }

    #[test]
    fn the_real_corpus_validates_and_its_widest_closure_is_in_resolver_order() {
        let dir = corpus();
        let index = validate(&dir, &index_bytes(&dir)).unwrap();
        assert_eq!(index.ontologies.len(), 29);
        let closure = crate::ontologies::graph::closure(
            &index.parents(),
            "regenerative-agriculture-research",
        )
        .unwrap();
        assert_eq!(
            closure,
            [
                "mif-base",
                "shared-traits",
                "research",
                "agriculture",
                "engineering-base",
                "mif-generic",
                "regenerative-agriculture-research"
            ]
        );
    }

    #[test]
    fn a_tampered_file_is_a_hash_mismatch_naming_it() {
        let (_t, dir) = copy();
        let file = dir.join("fitness.ontology.yaml");
        let mut data = std::fs::read(&file).unwrap();
        data.extend_from_slice(b"# tampered\n");
        std::fs::write(&file, data).unwrap();
        let e = validate(&dir, &index_bytes(&dir)).unwrap_err();
        assert_eq!(e.code(), "ontology-hash-mismatch", "{e}");
        assert!(e.to_string().contains("fitness.ontology.yaml"), "{e}");
    }

    #[test]
    fn a_tampered_index_is_refused_for_what_it_breaks() {
        let (_t, dir) = copy();
        let text = String::from_utf8(index_bytes(&dir)).unwrap();
        let check = |edited: String, code: &str, needle: &str| {
            let e = validate(&dir, edited.as_bytes()).unwrap_err();
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().contains(needle), "{needle}: {e}");
        };
        // Another version for an id than its file says.
        check(
            text.replacen("\"version\": \"1.0.0\"", "\"version\": \"9.9.9\"", 1),
            "ontology-index-invalid",
            "9.9.9",
        );
        // Another pinned hash.
        let v: Value = serde_json::from_str(&text).unwrap();
        let pinned = v["ontologies"]["fitness"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        check(
            text.replacen(&pinned, &"0".repeat(64), 1),
            "ontology-hash-mismatch",
            "fitness.ontology.yaml",
        );
        // A member the contract does not have.
        check(
            text.replacen("\"schema\":", "\"extra\": 1,\n  \"schema\":", 1),
            "ontology-index-invalid",
            "extra",
        );
        check(
            text.replacen(SCHEMA, "mif-ontology-index/v2", 1),
            "ontology-index-invalid",
            "schema",
        );
        // A file that climbs out, an unknown parent, a bad id.
        check(
            text.replacen(
                "\"file\": \"fitness.ontology.yaml\"",
                "\"file\": \"../fitness.ontology.yaml\"",
                1,
            ),
            "ontology-index-invalid",
            "bare file name",
        );
        check(
            text.replacen(
                "\"mif-base\"\n      ]",
                "\"mif-base\",\n        \"ghost\"\n      ]",
                1,
            ),
            "ontology-index-invalid",
            "ghost",
        );
        check(
            text.replacen("\"fitness\":", "\"Fitness\":", 1),
            "ontology-index-invalid",
            "Fitness",
        );
        // The same content, not as the generator writes it.
        let compact = serde_json::to_string(&v).unwrap();
        check(compact, "ontology-index-invalid", "byte for byte");
    }

    #[test]
    fn a_cycle_and_a_linked_file_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        std::fs::write(
            dir.join("a.ontology.yaml"),
            "ontology:\n  id: a\n  version: 1.0.0\n  extends: [b]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("b.ontology.yaml"),
            "ontology:\n  id: b\n  version: 1.0.0\n  extends: [a]\n",
        )
        .unwrap();
        let generated = generate(dir).unwrap();
        let e = validate(dir, generated.text.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "ontology-extends-cycle", "{e}");
        assert!(e.to_string().contains("a → b → a"), "{e}");

        let (_t, dir) = copy();
        let file = dir.join("fitness.ontology.yaml");
        let moved = dir.join("elsewhere.yaml");
        std::fs::rename(&file, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &file).unwrap();
        let e = validate(&dir, &index_bytes(&dir)).unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid", "{e}");
        assert!(e.to_string().contains("fitness.ontology.yaml"), "{e}");
    }
}
