//! `ontologies.lock.json`, the pins of a project's ontology snapshot
//! (`.ontoref/ontologies/`, ADR-0004), in the shape the
//! research-harness-template's `fetch-ontology.sh` writes
//! (`mif-ontology-lock/v1`): the source vendored from, the sha256 of the
//! attested `index.json`, and each vendored ontology's version and sha256.
//!
//! - [`read`] fails closed: a missing or malformed lock, another schema, a
//!   hash that is not 64 hex digits, an id of the wrong shape or given
//!   twice are all `ontology-lock-invalid`, naming the file and field;
//! - [`render`] writes a lock as the index is written (keys sorted at every
//!   depth, two-space indent, a trailing `\n`), so a re-vendor that changes
//!   nothing changes no byte;
//! - [`check`] is the drift gate of `check-ontology-lock.sh`: coverage
//!   (every enabled id, and every id its `extends` closure brings in, is
//!   pinned) and integrity (every pinned file, `index.json` included,
//!   hashes to its pin). A malformed lock is its error, not a drift.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::clip;
use crate::fsread::{self, Links};
use crate::ontologies::OntologyError;
use crate::ontologies::graph;
use crate::ontologies::index::{self, Index};

/// The lock's `schema`.
pub const LOCK_SCHEMA: &str = "mif-ontology-lock/v1";
/// The lock's file name, in the snapshot directory.
pub const LOCK_FILE: &str = "ontologies.lock.json";
/// The largest lock read (a pin is about 150 bytes: this is tens of
/// thousands of ontologies).
pub const MAX_LOCK: u64 = 4 << 20;

/// A lock: what a snapshot was vendored from and what it holds.
///
/// The fields are declared in sorted order, the order [`render`] writes
/// them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// SHA-256 (hex) of the attested `index.json` the snapshot was vendored
    /// from, byte for byte (trust on first use: a changed index is refused
    /// until the pin is deliberately cleared).
    pub index_sha256: String,
    /// The vendored ontologies by id.
    #[serde(deserialize_with = "unique_ids")]
    pub ontologies: BTreeMap<String, Pinned>,
    /// [`LOCK_SCHEMA`].
    pub schema: String,
    /// Where the snapshot was vendored from (a directory, `file://` or
    /// http(s) URL).
    pub source: String,
}

/// One vendored ontology of a [`Lock`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    /// SHA-256 (hex) of its file's raw bytes, as the index pins it.
    pub sha256: String,
    /// Its version, as the index lists it.
    pub version: String,
}

/// Reads and checks the lock at `path`; any flaw is
/// `ontology-lock-invalid` naming the file and field.
pub fn read(path: &Path) -> Result<Lock, OntologyError> {
    let bytes = fsread::read(path, MAX_LOCK, Links::Refuse)
        .map_err(|e| invalid(path, format!("cannot be read: {e}")))?;
    parse(path, &bytes)
}

/// Checks the lock `bytes` read from `path` (named in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Lock, OntologyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let lock: Lock = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = clip(&e.into_inner().to_string());
        invalid(
            path,
            if at == "." || at == "?" {
                format!("not an ontology lock: {inner}")
            } else {
                format!("`{}`: {inner}", clip(&at))
            },
        )
    })?;
    de.end()
        .map_err(|e| invalid(path, format!("not an ontology lock: {e}")))?;
    if lock.schema != LOCK_SCHEMA {
        return Err(invalid(
            path,
            format!("`schema` is `{}`, not `{LOCK_SCHEMA}`", clip(&lock.schema)),
        ));
    }
    if lock.source.trim().is_empty() {
        return Err(invalid(path, "`source` is empty".into()));
    }
    if !is_sha256(&lock.index_sha256) {
        return Err(invalid(
            path,
            format!(
                "`index_sha256` is `{}`, not 64 hex digits",
                clip(&lock.index_sha256)
            ),
        ));
    }
    for (id, pin) in &lock.ontologies {
        if !index::is_id(id) {
            return Err(invalid(
                path,
                format!(
                    "`ontologies` holds `{}`, which is not an ontology id (^[a-z][a-z0-9-]*$)",
                    clip(id)
                ),
            ));
        }
        if !is_sha256(&pin.sha256) {
            return Err(invalid(
                path,
                format!(
                    "`ontologies.{id}.sha256` is `{}`, not 64 hex digits",
                    clip(&pin.sha256)
                ),
            ));
        }
        if pin.version.trim().is_empty() {
            return Err(invalid(path, format!("`ontologies.{id}.version` is empty")));
        }
    }
    Ok(lock)
}

/// The lock as its file holds it: keys sorted at every depth, two-space
/// indent, a trailing `\n` (as `jq -S` and the index generator write).
pub fn render(lock: &Lock) -> String {
    // Every map is a BTreeMap and every struct declares its fields sorted:
    // serde_json writes them in that order. Plain strings and maps of
    // strings cannot fail to serialise.
    let mut text = serde_json::to_string_pretty(lock).unwrap_or_default();
    text.push('\n');
    text
}

/// Whether `s` is a SHA-256 in hex (either case).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// SHA-256 (lower-case hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(bytes))
}

/// What the drift gate found. A clean snapshot has neither list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Drift {
    /// Coverage: ids the project needs that the lock does not pin: the
    /// enabled ids, and the ids their `extends` closures bring in (known
    /// when the snapshot's `index.json` is intact), sorted.
    pub unpinned: Vec<String>,
    /// Integrity: pinned files that are missing, unreadable or hash
    /// differently from their pin, `index.json` first.
    pub integrity: Vec<FileDrift>,
}

impl Drift {
    /// Whether nothing drifted.
    pub fn is_clean(&self) -> bool {
        self.unpinned.is_empty() && self.integrity.is_empty()
    }
}

/// A pinned file that is not what the lock pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FileDrift {
    /// The file, relative to the snapshot directory.
    pub file: String,
    /// The ontology it holds (none for `index.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is wrong with it.
    pub state: DriftState,
    /// The hash the lock pins.
    pub expected: String,
    /// The hash of the bytes found (a modified file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Why it cannot be read (an unreadable file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How a pinned file drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    /// Its bytes hash differently.
    Modified,
    /// It is not there.
    Missing,
    /// It is there but cannot be read as a regular file (a link, a
    /// directory, too large, no permission).
    Unreadable,
}

/// The drift gate over the snapshot in `snapshot_dir` for the project's
/// `enabled` ids: coverage and integrity, as [`Drift`] says. The lock must
/// read ([`read`]); everything else that is wrong is reported, not raised.
pub fn check(snapshot_dir: &Path, enabled: &[String]) -> Result<Drift, OntologyError> {
    let lock = read(&snapshot_dir.join(LOCK_FILE))?;
    let mut drift = Drift::default();
    let index_path = snapshot_dir.join(index::INDEX_FILE);
    let index: Option<Index> = match compare(&index_path, &lock.index_sha256) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err((state, found, detail)) => {
            drift.integrity.push(FileDrift {
                file: index::INDEX_FILE.to_owned(),
                id: None,
                state,
                expected: lock.index_sha256.clone(),
                found,
                detail,
            });
            None
        }
    };
    for (id, pin) in &lock.ontologies {
        // An intact index names the file; without one, the corpus's
        // convention does.
        let file = index
            .as_ref()
            .and_then(|i| i.ontologies.get(id))
            .map(|e| e.file.clone())
            .filter(|f| index::is_bare_file(f))
            .unwrap_or_else(|| format!("{id}{}", index::SUFFIX));
        if let Err((state, found, detail)) = compare(&snapshot_dir.join(&file), &pin.sha256) {
            drift.integrity.push(FileDrift {
                file,
                id: Some(id.clone()),
                state,
                expected: pin.sha256.clone(),
                found,
                detail,
            });
        }
    }
    let parents = index.as_ref().map(Index::parents);
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for id in enabled {
        needed.insert(id.clone());
        if let Some(parents) = &parents
            && let Ok(closure) = graph::closure(parents, id)
        {
            needed.extend(closure);
        }
    }
    drift.unpinned = needed
        .into_iter()
        .filter(|id| !lock.ontologies.contains_key(id))
        .collect();
    Ok(drift)
}

/// A file's state and found hash, and why it cannot be read, when it is
/// not what `pinned` says.
type Mismatch = (DriftState, Option<String>, Option<String>);

/// The bytes of `path` when they hash to `pinned`.
fn compare(path: &Path, pinned: &str) -> Result<Vec<u8>, Mismatch> {
    let bytes = match fsread::read(path, index::MAX_FILE, Links::Refuse) {
        Ok(b) => b,
        Err(fsread::ReadError::NotFound) => return Err((DriftState::Missing, None, None)),
        Err(e) => return Err((DriftState::Unreadable, None, Some(e.to_string()))),
    };
    let found = sha256_hex(&bytes);
    if found.eq_ignore_ascii_case(pinned) {
        Ok(bytes)
    } else {
        Err((DriftState::Modified, Some(found), None))
    }
}

fn invalid(path: &Path, detail: String) -> OntologyError {
    OntologyError::LockInvalid {
        path: path.display().to_string(),
        detail,
    }
}

/// `ontologies` as a map whose ids each appear once: JSON parsers keep the
/// last of two equal keys, which would let a lock pin an id twice.
fn unique_ids<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Pinned>, D::Error> {
    struct Unique;
    impl<'de> Visitor<'de> for Unique {
        type Value = BTreeMap<String, Pinned>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from ontology id to {sha256, version}")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((id, pin)) = map.next_entry::<String, Pinned>()? {
                if out.contains_key(&id) {
                    return Err(serde::de::Error::custom(format!(
                        "the id `{}` appears twice",
                        clip(&id)
                    )));
                }
                out.insert(id, pin);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mif/corpus-v0.4.0")
    }

    /// A snapshot directory holding `ids` from the corpus, its index, and a
    /// lock pinning them as the index does.
    fn snapshot(ids: &[&str]) -> (tempfile::TempDir, PathBuf, Lock) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("ontologies");
        std::fs::create_dir_all(&dir).unwrap();
        let index_bytes = std::fs::read(corpus().join(index::INDEX_FILE)).unwrap();
        std::fs::write(dir.join(index::INDEX_FILE), &index_bytes).unwrap();
        let index: Index = serde_json::from_slice(&index_bytes).unwrap();
        let mut ontologies = BTreeMap::new();
        for id in ids {
            let e = &index.ontologies[*id];
            std::fs::copy(corpus().join(&e.file), dir.join(&e.file)).unwrap();
            ontologies.insert(
                (*id).to_owned(),
                Pinned {
                    sha256: e.sha256.clone(),
                    version: e.version.clone(),
                },
            );
        }
        let lock = Lock {
            index_sha256: sha256_hex(&index_bytes),
            ontologies,
            schema: LOCK_SCHEMA.into(),
            source: index::SOURCE.into(),
        };
        std::fs::write(dir.join(LOCK_FILE), render(&lock)).unwrap();
        (t, dir, lock)
    }

    fn enabled(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn lock_renders_sorted_and_round_trips() {
        let (_t, dir, lock) = snapshot(&["mif-base", "shared-traits"]);
        let text = render(&lock);
        assert!(text.ends_with("}\n"));
        // Keys sorted at each depth, two-space indent.
        let at = |k: &str| text.find(k).unwrap();
        assert!(at("\"index_sha256\"") < at("\"ontologies\""));
        assert!(at("\"ontologies\"") < at("\"schema\""));
        assert!(at("\"schema\"") < at("\"source\""));
        assert!(at("\"mif-base\"") < at("\"shared-traits\""));
        assert!(
            text.contains("\n  \"schema\": \"mif-ontology-lock/v1\""),
            "{text}"
        );
        assert!(at("\"sha256\"") < at("\"version\""));
        // The same bytes as jq -S would write: serde_json's sorted value.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&v).unwrap() + "\n", text);
        assert_eq!(read(&dir.join(LOCK_FILE)).unwrap(), lock);
    }

    #[test]
    fn lock_read_fails_closed_naming_the_file_and_field() {
        let (_t, dir, lock) = snapshot(&["mif-base"]);
        let path = dir.join(LOCK_FILE);
        let good = render(&lock);
        let check = |text: &str, needle: &str| {
            std::fs::write(&path, text).unwrap();
            let e = read(&path).unwrap_err();
            assert_eq!(e.code(), "ontology-lock-invalid", "{e}");
            let msg = e.to_string();
            assert!(msg.contains(LOCK_FILE), "{msg}");
            assert!(msg.contains(needle), "{needle}: {msg}");
            assert!(!e.hint().is_empty());
        };
        let pin = &lock.ontologies["mif-base"].sha256;
        check("", "not an ontology lock");
        check("{", "not an ontology lock");
        check(&format!("{good}x"), "not an ontology lock");
        check(
            &good.replace(LOCK_SCHEMA, "mif-ontology-lock/v2"),
            "`schema` is `mif-ontology-lock/v2`",
        );
        check(
            &good.replace(&lock.index_sha256, "abc"),
            "`index_sha256` is `abc`",
        );
        check(
            &good.replace(pin, &"z".repeat(64)),
            "`ontologies.mif-base.sha256`",
        );
        check(&good.replace("\"mif-base\"", "\"Mif-Base\""), "`Mif-Base`");
        check(
            &good.replace("\"version\": \"1.0.0\"", "\"version\": \"\""),
            "`ontologies.mif-base.version` is empty",
        );
        check(
            &good.replace("\"schema\":", "\"extra\": 1,\n  \"schema\":"),
            "extra",
        );
        check(
            &good.replace("\"version\": \"1.0.0\"", "\"version\": 1"),
            "ontologies.mif-base.version",
        );
        check(&good.replace("  \"source\"", "  \"sources\""), "sources");
        let twice = good.replace(
            "\"ontologies\": {",
            &format!(
                "\"ontologies\": {{\n    \"mif-base\": {{\"sha256\": \"{}\", \"version\": \"1.0.0\"}},",
                "0".repeat(64)
            ),
        );
        check(&twice, "appears twice");
        std::fs::remove_file(&path).unwrap();
        let e = read(&path).unwrap_err();
        assert_eq!(e.code(), "ontology-lock-invalid", "{e}");
        assert!(e.to_string().contains("no such file"), "{e}");
        std::os::unix::fs::symlink(corpus().join("index.json"), &path).unwrap();
        let e = read(&path).unwrap_err();
        assert_eq!(e.code(), "ontology-lock-invalid", "{e}");
        // The good lock reads.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &good).unwrap();
        assert!(read(&path).is_ok());
    }

    #[test]
    fn lock_check_is_clean_on_a_faithful_snapshot() {
        let closure = [
            "mif-base",
            "shared-traits",
            "research",
            "clinical-health-base",
            "fitness",
        ];
        let (_t, dir, _) = snapshot(&closure);
        let drift = check(&dir, &enabled(&["fitness"])).unwrap();
        assert!(drift.is_clean(), "{drift:?}");
    }

    #[test]
    fn lock_check_reports_an_edited_a_missing_and_an_unpinned_file() {
        let (_t, dir, lock) = snapshot(&["mif-base", "shared-traits", "research"]);
        // Edited: one byte appended.
        let research = dir.join("research.ontology.yaml");
        let mut data = std::fs::read(&research).unwrap();
        data.extend_from_slice(b"\n");
        std::fs::write(&research, &data).unwrap();
        // Missing.
        std::fs::remove_file(dir.join("shared-traits.ontology.yaml")).unwrap();
        // Enabled, with a closure the lock lacks part of.
        let drift = check(&dir, &enabled(&["research", "fitness"])).unwrap();
        assert!(!drift.is_clean());
        assert_eq!(
            drift.unpinned,
            ["clinical-health-base", "fitness"],
            "fitness and the parent it brings in"
        );
        assert_eq!(drift.integrity.len(), 2, "{drift:?}");
        let research_drift = drift
            .integrity
            .iter()
            .find(|d| d.id.as_deref() == Some("research"))
            .unwrap();
        assert_eq!(research_drift.state, DriftState::Modified);
        assert_eq!(research_drift.expected, lock.ontologies["research"].sha256);
        assert_eq!(
            research_drift.found.as_deref(),
            Some(sha256_hex(&data).as_str())
        );
        assert_eq!(research_drift.file, "research.ontology.yaml");
        let missing = drift
            .integrity
            .iter()
            .find(|d| d.id.as_deref() == Some("shared-traits"))
            .unwrap();
        assert_eq!(missing.state, DriftState::Missing);
        assert_eq!(missing.found, None);
    }

    #[test]
    fn lock_check_reports_a_changed_index_and_still_checks_the_files() {
        let (_t, dir, _) = snapshot(&["mif-base"]);
        let path = dir.join(index::INDEX_FILE);
        let mut data = std::fs::read(&path).unwrap();
        data.push(b' ');
        std::fs::write(&path, &data).unwrap();
        std::fs::write(dir.join("mif-base.ontology.yaml"), "tampered").unwrap();
        let drift = check(&dir, &enabled(&["mif-base"])).unwrap();
        let files: Vec<&str> = drift.integrity.iter().map(|d| d.file.as_str()).collect();
        assert_eq!(files, ["index.json", "mif-base.ontology.yaml"]);
        assert!(drift.unpinned.is_empty());
        assert_eq!(drift.integrity[0].id, None);
        assert_eq!(drift.integrity[0].state, DriftState::Modified);
    }

    #[test]
    fn lock_check_fails_on_a_malformed_lock_rather_than_reporting_drift() {
        let (_t, dir, _) = snapshot(&["mif-base"]);
        std::fs::write(
            dir.join(LOCK_FILE),
            "{\"schema\": \"mif-ontology-lock/v1\"}",
        )
        .unwrap();
        let e = check(&dir, &enabled(&["mif-base"])).unwrap_err();
        assert_eq!(e.code(), "ontology-lock-invalid", "{e}");
        assert!(e.to_string().contains("missing field"), "{e}");
    }
}
