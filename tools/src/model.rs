//! What every document kind shares: the [`Document`] trait each kind
//! implements to be loaded through the cache, built from a [`Source`]; typed
//! decoding of an exported Nickel value with errors naming the file, line and
//! field; unique ids; the "not found, did you mean" error; and why a file
//! could not be loaded ([`LoadError`], kept typed in a [`Skipped`] entry).
//! Q&A entries, ontology nodes, ADRs, backlog items and modes all report
//! through [`ModelError`]. This module names no tool error: [`crate::error`]
//! gathers it, not the other way round.

use std::collections::HashMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::codes::{ErrorCodes, variant};
use crate::echo::clip;
use crate::error_body::ErrorBody;
use crate::nickel::NclError;
use crate::suggest::{closest, quote_list};

/// The kinds of record a project holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A Q&A entry.
    Qa,
    /// An ontology node.
    Node,
    /// An architecture decision record.
    Adr,
    /// A backlog item.
    BacklogItem,
    /// An operational mode.
    Mode,
    /// A state dimension.
    Dimension,
    /// A project-level setting file: the manifest, `.ontoref/project.ncl`,
    /// the registry of projects.
    Config,
}

impl Kind {
    /// How the kind is named in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Qa => "Q&A entry",
            Kind::Node => "node",
            Kind::Adr => "ADR",
            Kind::BacklogItem => "backlog item",
            Kind::Mode => "mode",
            Kind::Dimension => "dimension",
            Kind::Config => "setting",
        }
    }

    fn codes(self) -> [&'static str; 3] {
        match self {
            Kind::Qa => ["qa-not-found", "qa-duplicate-id", "qa-invalid-entry"],
            Kind::Node => ["node-not-found", "node-duplicate-id", "node-invalid"],
            Kind::Adr => ["adr-not-found", "adr-duplicate-id", "adr-invalid"],
            Kind::BacklogItem => [
                "backlog-item-not-found",
                "backlog-duplicate-id",
                "backlog-invalid",
            ],
            Kind::Mode => ["mode-not-found", "mode-duplicate-id", "mode-invalid"],
            Kind::Dimension => [
                "dimension-not-found",
                "dimension-duplicate-id",
                "dimension-invalid",
            ],
            Kind::Config => ["config-not-found", "config-duplicate-id", "config-invalid"],
        }
    }

    fn finder(self) -> &'static str {
        match self {
            Kind::Qa => "`ontoref_qa_search` finds entries by words",
            Kind::Node => "`ontoref_node_list` lists node ids",
            Kind::Adr => "`ontoref_adr_list` lists ADR ids",
            Kind::BacklogItem => "`ontoref_backlog_list` lists item ids",
            Kind::Mode => "`ontoref_mode_list` lists mode ids",
            Kind::Dimension => "`ontoref_state` lists dimensions",
            Kind::Config => "`ontoref_describe` shows the project's settings",
        }
    }
}

/// A record is missing, repeated, or malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No record of this kind has the id.
    #[error("no {} has id `{id}`", kind.noun())]
    NotFound {
        /// The kind looked for.
        kind: Kind,
        /// The id asked for.
        id: String,
        /// The closest existing ids.
        closest: Vec<String>,
    },
    /// Two records share an id.
    #[error("{file}{line}: field `id`: duplicate {} id `{id}`{first}", kind.noun())]
    DuplicateId {
        /// The kind.
        kind: Kind,
        /// The file of the second occurrence.
        file: String,
        /// `:N`, when found.
        line: String,
        /// The repeated id.
        id: String,
        /// ` (first defined at …)`, when found.
        first: String,
    },
    /// A record does not have the expected shape, or refers to nothing.
    #[error("{file}{line}: field `{field}`: {detail}")]
    Invalid {
        /// The kind.
        kind: Kind,
        /// The file.
        file: String,
        /// `:N`, when found.
        line: String,
        /// Path of the field, e.g. `nodes[3].pole`.
        field: String,
        /// What is wrong.
        detail: String,
    },
}

impl ModelError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        let (kind, which) = match self {
            ModelError::NotFound { kind, .. } => (kind, 0),
            ModelError::DuplicateId { kind, .. } => (kind, 1),
            ModelError::Invalid { kind, .. } => (kind, 2),
        };
        kind.codes()[which]
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            ModelError::NotFound { kind, closest, .. } if !closest.is_empty() => {
                format!("did you mean {}? {}", quote_list(closest), kind.finder())
            }
            ModelError::NotFound { kind, .. } => kind.finder().to_owned(),
            ModelError::DuplicateId { kind, .. } => format!(
                "give each {} its own id; ids are how agents and other records refer to it",
                kind.noun()
            ),
            ModelError::Invalid { .. } => {
                "make the record match its protocol schema (the binary's schemas/*.ncl) at the field named".to_owned()
            }
        }
    }

    /// The not-found error for `id` among `ids`.
    pub fn not_found<'a>(
        kind: Kind,
        id: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> ModelError {
        ModelError::NotFound {
            kind,
            id: clip(id),
            closest: closest(id, ids, 3),
        }
    }
}

/// A typed document built from one evaluated Nickel file.
pub trait Document: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Short name of the kind, e.g. `qa`; part of cache keys.
    const KIND: &'static str;
    /// Bumped when the serialised layout changes.
    const VERSION: u32;
    /// Persist with postcard (compact and fastest to decode) rather than
    /// JSON. postcard is positional: only for types with no skipped fields
    /// and no free-form `serde_json::Value`s, which it cannot read back.
    const COMPACT: bool = false;
    /// A contract every file of this kind is checked against, whether or not
    /// the file applies it itself: `(embedded schema file, contract name)`,
    /// e.g. `("schemas/vault.ncl", "Scope")`.
    const CONTRACT: Option<(&'static str, &'static str)> = None;
    /// Builds the document from the exported value.
    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError>;

    /// The bytes the disk cache keeps: postcard when [`Document::COMPACT`],
    /// JSON otherwise; `None` when it cannot be written.
    fn to_payload(&self) -> Option<Vec<u8>> {
        if Self::COMPACT {
            postcard::to_stdvec(self).ok()
        } else {
            serde_json::to_vec(self).ok()
        }
    }

    /// The document back from the bytes [`Document::to_payload`] gave, at
    /// `range` of `backing` (8-aligned there; a packed document keeps the
    /// backing and reads where it lies rather than decoding); `None` when
    /// they are not such bytes.
    fn from_payload(
        backing: &crate::packed::Backing,
        range: std::ops::Range<usize>,
    ) -> Option<Self> {
        let bytes = backing.bytes().get(range)?;
        if Self::COMPACT {
            let (doc, trailing) = postcard::take_from_bytes::<Self>(bytes).ok()?;
            trailing.is_empty().then_some(doc)
        } else {
            serde_json::from_slice(bytes).ok()
        }
    }
}

/// What a document is built from, for error messages and cursors.
#[derive(Debug)]
pub struct Source<'a> {
    /// The file, shortened for display.
    pub display: &'a str,
    /// The main file's text (to find the line of a value).
    pub text: &'a str,
    /// A digest of everything the document depends on.
    pub key: [u8; 32],
}

/// Why a document could not be loaded: its file failed to evaluate, or
/// its value is not a valid record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading or evaluating the Nickel file failed or took too long.
    #[error(transparent)]
    Ncl(#[from] NclError),
    /// The evaluated value is not a valid record of its kind.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl LoadError {
    /// The stable kebab-case code: the inner error's.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Ncl(e) => e.code(),
            LoadError::Model(e) => e.code(),
        }
    }

    /// How to recover: the inner error's hint.
    pub fn hint(&self) -> String {
        match self {
            LoadError::Ncl(e) => e.hint(),
            LoadError::Model(e) => e.hint(),
        }
    }

    /// The `{"code", "message", "hint"}` form, bounded as every error body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), &self.to_string(), &self.hint())
    }
}

/// Every [`Kind`], in [`Kind::index`] order.
const KINDS: [Kind; 7] = [
    Kind::Qa,
    Kind::Node,
    Kind::Adr,
    Kind::BacklogItem,
    Kind::Mode,
    Kind::Dimension,
    Kind::Config,
];

impl Kind {
    /// The kind's position in [`KINDS`], by exhaustive match.
    fn index(self) -> usize {
        const N: usize = KINDS.len();
        match self {
            Kind::Qa => variant::<0, N>(),
            Kind::Node => variant::<1, N>(),
            Kind::Adr => variant::<2, N>(),
            Kind::BacklogItem => variant::<3, N>(),
            Kind::Mode => variant::<4, N>(),
            Kind::Dimension => variant::<5, N>(),
            Kind::Config => variant::<6, N>(),
        }
    }
}

/// A model error's code depends on its kind: every variant of every kind.
impl ErrorCodes for ModelError {
    const VARIANTS: usize = 3 * KINDS.len();

    fn examples() -> Vec<Self> {
        KINDS
            .iter()
            .flat_map(|&kind| {
                let file = || "reflection/qa.ncl".to_owned();
                [
                    ModelError::NotFound {
                        kind,
                        id: "nats-setup".into(),
                        closest: vec!["nats-how-to-setup".into()],
                    },
                    ModelError::DuplicateId {
                        kind,
                        file: file(),
                        line: ":12".into(),
                        id: "nats-setup".into(),
                        first: " (first defined at line 3)".into(),
                    },
                    ModelError::Invalid {
                        kind,
                        file: file(),
                        line: ":4".into(),
                        field: "entries[0].tags".into(),
                        detail: "invalid type: string, expected a sequence".into(),
                    },
                ]
            })
            .collect()
    }

    fn variant_index(&self) -> usize {
        let (kind, which) = match self {
            ModelError::NotFound { kind, .. } => (kind, variant::<0, 3>()),
            ModelError::DuplicateId { kind, .. } => (kind, variant::<1, 3>()),
            ModelError::Invalid { kind, .. } => (kind, variant::<2, 3>()),
        };
        which * KINDS.len() + kind.index()
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}

impl ErrorCodes for LoadError {
    const VARIANTS: usize = 2;

    fn examples() -> Vec<Self> {
        vec![
            LoadError::Ncl(NclError::Read {
                file: "reflection/qa.ncl".into(),
                reason: "permission denied".into(),
            }),
            LoadError::Model(ModelError::Invalid {
                kind: Kind::Adr,
                file: "adrs/adr-001.ncl".into(),
                line: String::new(),
                field: "status".into(),
                detail: "unknown variant".into(),
            }),
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = LoadError::VARIANTS;
        match self {
            LoadError::Ncl(_) => variant::<0, N>(),
            LoadError::Model(_) => variant::<1, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        match self {
            LoadError::Ncl(_) | LoadError::Model(_) => true,
        }
    }
}

// Serialised as `{"file", "error": {"code", "message", "hint"}}`; the doc
// comments are the output schema's descriptions, kept as they were.
/// A file that could not be loaded, listed beside the records that did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Skipped {
    /// The file, relative to the project.
    pub file: String,
    // The typed load error, shared with a later `ToolError::Skipped`,
    // written as its `ErrorBody`.
    /// Why.
    #[serde(serialize_with = "serialize_body")]
    #[schemars(with = "ErrorBody")]
    pub error: Arc<LoadError>,
}

/// Serialises a load error as its [`ErrorBody`].
fn serialize_body<S: Serializer>(error: &Arc<LoadError>, s: S) -> Result<S::Ok, S::Error> {
    error.body().serialize(s)
}

/// Implements [`Document`] for a settings
/// file (manifest, project file, config, scope, registry of projects):
/// decoded whole under [`Kind::Config`], naming the record of array `list`
/// at fault by its id.
macro_rules! config_document {
    ($ty:ty, $kind:literal, $list:literal) => {
        $crate::model::config_document!($ty, $kind, $list, None);
    };
    ($ty:ty, $kind:literal, $list:literal, ($schema:literal, $contract:literal)) => {
        $crate::model::config_document!($ty, $kind, $list, Some(($schema, $contract)));
    };
    ($ty:ty, $kind:literal, $list:literal, $contract:expr) => {
        impl $crate::model::Document for $ty {
            const KIND: &'static str = $kind;
            const VERSION: u32 = 1;
            const CONTRACT: Option<(&'static str, &'static str)> = $contract;

            fn from_value(
                value: serde_json::Value,
                source: &$crate::model::Source<'_>,
            ) -> Result<Self, $crate::model::ModelError> {
                $crate::model::decode(value, source, $crate::model::Kind::Config, $list)
            }
        }
    };
}
pub(crate) use config_document;

/// Decodes an exported value into `T`, naming the field path and, for a
/// record in the array `list`, the line of that record's id.
pub fn decode<T: DeserializeOwned>(
    value: serde_json::Value,
    source: &Source<'_>,
    kind: Kind,
    list: &str,
) -> Result<T, ModelError> {
    // The common case, a valid document, without tracking the path of every
    // value; the path, and the id of the record at fault, only for an error.
    if let Ok(decoded) = serde::Deserialize::deserialize(&value) {
        return Ok(decoded);
    }
    let ids: Vec<Option<String>> = value
        .get(list)
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .map(|e| e.get("id").and_then(|v| v.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let top_id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let id = index_in(&field, list)
            .and_then(|i| ids.get(i).cloned().flatten())
            .or(top_id);
        let line = id.and_then(|id| line_of_field(source.text, "id", &id, 0));
        ModelError::Invalid {
            kind,
            file: source.display.to_owned(),
            line: line.map(|l| format!(":{l}")).unwrap_or_default(),
            field: if field == "." { list.to_owned() } else { field },
            detail: e.into_inner().to_string(),
        }
    })
}

/// `entries[3].tags` with list `entries` → 3.
fn index_in(path: &str, list: &str) -> Option<usize> {
    let rest = path.strip_prefix(list)?.strip_prefix('[')?;
    rest[..rest.find(']')?].parse().ok()
}

/// Fails on the first id used twice, naming the line of both occurrences.
pub fn unique_ids<'a>(
    ids: impl IntoIterator<Item = &'a str>,
    source: &Source<'_>,
    kind: Kind,
) -> Result<HashMap<&'a str, usize>, ModelError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.into_iter().enumerate() {
        if seen.insert(id, i).is_some() {
            let first = line_of_field(source.text, "id", id, 0);
            let line = line_of_field(source.text, "id", id, 1);
            return Err(ModelError::DuplicateId {
                kind,
                file: source.display.to_owned(),
                line: line.map(|l| format!(":{l}")).unwrap_or_default(),
                id: id.to_owned(),
                first: first
                    .map(|l| format!(" (first defined at line {l})"))
                    .unwrap_or_default(),
            });
        }
    }
    Ok(seen)
}

/// The 1-based line of the `nth` (0-based) `field = "<value>"` in `text`.
pub fn line_of_field(text: &str, field: &str, value: &str, nth: usize) -> Option<usize> {
    let quoted = format!("\"{value}\"");
    let defines = |line: &str| {
        line.match_indices(&quoted).any(|(at, _)| {
            let Some(before) = line[..at].trim_end().strip_suffix('=') else {
                return false;
            };
            before.trim_end().strip_suffix(field).is_some_and(|rest| {
                rest.chars()
                    .next_back()
                    .is_none_or(|c| c.is_whitespace() || c == '{' || c == ',')
            })
        })
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| defines(line))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// Case-insensitive equality for enum-like filters (`'Open` vs `open`).
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Estimated JSON size of a value, for response budgets.
pub fn json_size<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_field_finds_each_occurrence() {
        let text = "{\n  id = \"a\",\n  x = 1,\n},\n{\n  id   =  \"a\",\n}\n{ id = \"a\", related = [\"a\"], pid = \"a\" }";
        assert_eq!(line_of_field(text, "id", "a", 0), Some(2));
        assert_eq!(line_of_field(text, "id", "a", 1), Some(6));
        assert_eq!(line_of_field(text, "id", "a", 2), Some(8));
        assert_eq!(line_of_field(text, "id", "a", 3), None);
        assert_eq!(line_of_field("{ pid = \"a\" }", "id", "a", 0), None);
        assert_eq!(line_of_field("  from = \"x\",", "from", "x", 0), Some(1));
    }

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut all: Vec<&str> = KINDS.iter().flat_map(|k| k.codes()).collect();
        for c in &all {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
