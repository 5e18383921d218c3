//! [`OntologyError`]: what goes wrong with MIF ontology files and their
//! index, each with a stable code, the file or entry at fault, and a hint.

use crate::codes::{ErrorCodes, variant};
use crate::suggest::quote_list;

/// An ontology file, index or directory is wrong or unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OntologyError {
    /// An ontology file or the index breaks the index contract (a duplicate
    /// id, a file that does not parse, an id of the wrong shape).
    #[error("{path}: {detail}")]
    IndexInvalid {
        /// The file at fault.
        path: String,
        /// What is wrong, naming the field or id.
        detail: String,
    },
    /// A file's bytes do not hash to what the index pins.
    #[error("{path}: its sha256 is {found}, the index pins {expected}")]
    HashMismatch {
        /// The file.
        path: String,
        /// The pinned hash.
        expected: String,
        /// The hash of the bytes found.
        found: String,
    },
    /// The `extends` graph has a cycle.
    #[error("the extends graph has a cycle: {}", cycle.join(" → "))]
    ExtendsCycle {
        /// The ids along it, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// No ontology has the id asked for.
    #[error("no ontology `{id}`")]
    NotFound {
        /// The id asked for (clipped).
        id: String,
        /// The known ids closest to it.
        closest: Vec<String>,
    },
    /// A section of an ontology file (`traits`, `relationships`,
    /// `namespaces`, `entity_types`, `discovery`) does not have the shape
    /// composing it needs.
    #[error("{path}: `{field}` {detail}")]
    SectionInvalid {
        /// The file at fault.
        path: String,
        /// The field, as a path from the top of the file.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// An entity type's `subtype_of` names a type that no ontology of its
    /// `extends` closure declares.
    #[error(
        "`{ontology}`'s entity type `{entity_type}` is a subtype of `{supertype}`, which no \
         ontology of its closure ({}) declares",
        closure.join(", ")
    )]
    SubtypeUnresolved {
        /// The ontology whose entity type it is.
        ontology: String,
        /// The entity type.
        entity_type: String,
        /// The supertype it names.
        supertype: String,
        /// The ontology's closure, bases first.
        closure: Vec<String>,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {op} {path}: {detail}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: String,
        /// The system's reason.
        detail: String,
    },
    /// `ontologies.lock.json` is missing or malformed: the pins cannot be
    /// trusted, so nothing is served (fail closed).
    #[error("{path}: {detail}")]
    LockInvalid {
        /// The lock file.
        path: String,
        /// What is wrong, naming the field and value.
        detail: String,
    },
    /// A vendored file no longer hashes to its pin in the lock (or is
    /// gone): its bytes are not served.
    #[error(
        "{path}: the lock pins sha256 {pinned}, but {}; not served",
        found_text(found)
    )]
    Tampered {
        /// The file.
        path: String,
        /// The hash the lock pins.
        pinned: String,
        /// The hash of the bytes found; `None` when the file is missing or
        /// cannot be read.
        found: Option<String>,
    },
    /// The project has no ontology snapshot (`.ontoref/ontologies/`).
    #[error(
        "{dir} does not exist: no ontology extension is vendored{}",
        failure_text(last_failure)
    )]
    NotVendored {
        /// The snapshot directory looked for.
        dir: String,
        /// `code: message` of the last failed vendor attempt, when
        /// `.ontoref/ontologies.stale.json` records one.
        last_failure: Option<String>,
    },
    /// A file of the snapshot other than the lock (`snapshot.json`,
    /// `ontologies.stale.json`, `index.json`'s entries) is malformed or
    /// disagrees with the lock.
    #[error("{path}: {detail}")]
    SnapshotInvalid {
        /// The file at fault.
        path: String,
        /// What is wrong, naming the field or id.
        detail: String,
    },
    /// The id is in the snapshot's index but was not vendored.
    #[error(
        "ontology `{id}` is in the snapshot's index but not vendored: the project does not \
         enable it, nor does an enabled ontology extend it"
    )]
    NotEnabled {
        /// The id asked for.
        id: String,
    },
    /// A vendored tarball holds an entry that may not be unpacked (an
    /// absolute path, `..`, a link, a device) or not exactly one top-level
    /// directory.
    #[error("{source_ref}: {detail}")]
    UnsafePath {
        /// The source.
        source_ref: String,
        /// The entry and why it is refused.
        detail: String,
    },
    /// The index at a pinned source changed since it was pinned.
    #[error(
        "{source_ref}: its index.json is sha256 {found}, but the lock pinned {pinned} for this \
         source"
    )]
    IndexChanged {
        /// The source.
        source_ref: String,
        /// The pinned hash.
        pinned: String,
        /// The hash found.
        found: String,
    },
    /// An (id, version) the lock knows has other bytes now.
    #[error(
        "`{id}` {version}: the source serves sha256 {found}, but the lock pinned {pinned} for \
         that same version"
    )]
    VersionDiverged {
        /// The ontology.
        id: String,
        /// Its version.
        version: String,
        /// The pinned hash.
        pinned: String,
        /// The hash found.
        found: String,
    },
    /// The `ontologies` settings or the source cannot be used as given.
    #[error("{source_ref}: {detail}")]
    SourceInvalid {
        /// The source (or setting) at fault.
        source_ref: String,
        /// What is wrong.
        detail: String,
    },
    /// Fetching from the source failed.
    #[error("{url}: {detail}")]
    FetchFailed {
        /// What was fetched.
        url: String,
        /// Why it failed.
        detail: String,
    },
}

impl OntologyError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            OntologyError::IndexInvalid { .. } => "ontology-index-invalid",
            OntologyError::HashMismatch { .. } => "ontology-hash-mismatch",
            OntologyError::ExtendsCycle { .. } => "ontology-extends-cycle",
            OntologyError::Io { .. } => "ontology-io-failed",
            OntologyError::NotFound { .. } => "ontology-not-found",
            OntologyError::SectionInvalid { .. } => "ontology-section-invalid",
            OntologyError::SubtypeUnresolved { .. } => "ontology-subtype-unresolved",
            OntologyError::LockInvalid { .. } => "ontology-lock-invalid",
            OntologyError::Tampered { .. } => "ontology-tampered",
            OntologyError::NotVendored { .. } => "ontology-not-vendored",
            OntologyError::SnapshotInvalid { .. } => "ontology-snapshot-invalid",
            OntologyError::NotEnabled { .. } => "ontology-not-enabled",
            OntologyError::UnsafePath { .. } => "ontology-unsafe-path",
            OntologyError::IndexChanged { .. } => "ontology-index-changed",
            OntologyError::VersionDiverged { .. } => "ontology-version-diverged",
            OntologyError::SourceInvalid { .. } => "ontology-source-invalid",
            OntologyError::FetchFailed { .. } => "ontology-fetch-failed",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            OntologyError::IndexInvalid { .. } => "fix the named file: each `*.ontology.yaml` has \
                 `ontology.id` (unique, ^[a-z][a-z0-9-]*$), `ontology.version` and `ontology.extends`"
                .to_owned(),
            OntologyError::HashMismatch { .. } => "the file is not the one the index vouches for: \
                 restore it from its release (or regenerate the index if you changed it on purpose)"
                .to_owned(),
            OntologyError::ExtendsCycle { .. } => {
                "remove one `extends` edge of the cycle; an ontology may not extend itself, even \
                 through others"
                    .to_owned()
            }
            OntologyError::Io { .. } => {
                "check that the path exists and that this user may read (and, to write the index, \
                 write) it"
                    .to_owned()
            }
            OntologyError::NotFound { closest, .. } => {
                if closest.is_empty() {
                    "ask for an id the index lists (the keys of its `ontologies`)".to_owned()
                } else {
                    format!("did you mean {}?", quote_list(closest))
                }
            }
            OntologyError::SectionInvalid { .. } => "fix the named field: `traits`, \
                 `relationships` and `namespaces` (and each namespace's `children`) are mappings \
                 by name, `entity_types` is a list of mappings each with a string `name`, \
                 `discovery` is a mapping whose `patterns`, `content_patterns` and \
                 `file_patterns` are lists"
                .to_owned(),
            OntologyError::SubtypeUnresolved { supertype, .. } => format!(
                "declare `{supertype}` in an ontology of the closure, add the ontology that \
                 declares it to `extends`, or correct the name in `subtype_of` (a type is never \
                 its own supertype)"
            ),
            OntologyError::LockInvalid { .. } => "the lock is written by `ontoref ontology \
                 vendor` and never by hand: restore it from version control, or run `ontoref \
                 ontology vendor --refresh` to vendor the snapshot again"
                .to_owned(),
            OntologyError::Tampered { .. } => "the snapshot changed after it was vendored: run \
                 `ontoref ontology check` to see every file that drifted, then `ontoref ontology \
                 vendor --refresh` to vendor it again"
                .to_owned(),
            OntologyError::NotVendored { .. } => "add the ontology ids to `ontologies` in \
                 .ontoref/project.ncl and run `ontoref ontology vendor`"
                .to_owned(),
            OntologyError::SnapshotInvalid { .. } => "the snapshot's files are written by \
                 `ontoref ontology vendor`: run `ontoref ontology vendor --refresh` to write them \
                 again"
                .to_owned(),
            OntologyError::NotEnabled { id } => format!(
                "add `{id}` to `ontologies` in .ontoref/project.ncl and run `ontoref ontology \
                 vendor`; ontoref_list_ontology_extensions lists what is vendored"
            ),
            OntologyError::UnsafePath { .. } => "the release is not a plain tarball of one \
                 directory of files: fetch it again from its release page, or report it to its \
                 publisher; the previous snapshot is kept"
                .to_owned(),
            OntologyError::IndexChanged { .. } => "the source now serves another index (a new \
                 release, or tampering): check the release, then accept it with `ontoref ontology \
                 vendor --refresh`; the previous snapshot is kept"
                .to_owned(),
            OntologyError::VersionDiverged { .. } => "one (id, version) must always have the same \
                 bytes: the source is tampered with or was re-published under the same version; \
                 --refresh does not accept this. Report it to the publisher"
                .to_owned(),
            OntologyError::SourceInvalid { .. } => "set `ontologies.source` in \
                 .ontoref/project.ncl (or pass --source) to a directory, file://…tar.gz, \
                 http(s)://…tar.gz or …/index.json, or oci://host/repository:tag"
                .to_owned(),
            OntologyError::FetchFailed { .. } => "check the source's address and that it is \
                 reachable; the previous snapshot is kept and still served"
                .to_owned(),
        }
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, e: &std::io::Error) -> Self {
        OntologyError::Io {
            op,
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

/// What a tampered file was found to be, for its message.
fn found_text(found: &Option<String>) -> String {
    match found {
        Some(f) => format!("the file hashes to {f}"),
        None => "the file is missing or unreadable".to_owned(),
    }
}

/// The last failed vendor attempt, for a not-vendored message.
fn failure_text(last_failure: &Option<String>) -> String {
    match last_failure {
        Some(f) => format!(" (the last vendor attempt failed: {f})"),
        None => String::new(),
    }
}

impl ErrorCodes for OntologyError {
    const VARIANTS: usize = 17;

    fn examples() -> Vec<Self> {
        vec![
            OntologyError::IndexInvalid {
                path: "ontologies/b.ontology.yaml".into(),
                detail: "duplicate ontology id `a` (first in a.ontology.yaml)".into(),
            },
            OntologyError::Io {
                op: "read",
                path: "ontologies".into(),
                detail: "No such file or directory (os error 2)".into(),
            },
            OntologyError::HashMismatch {
                path: "fitness.ontology.yaml".into(),
                expected: "5d514bbe".into(),
                found: "8eba262f".into(),
            },
            OntologyError::ExtendsCycle {
                cycle: vec!["a".into(), "b".into(), "a".into()],
            },
            OntologyError::NotFound {
                id: "fitnes".into(),
                closest: vec!["fitness".into()],
            },
            OntologyError::SectionInvalid {
                path: "fitness.ontology.yaml".into(),
                field: "traits".into(),
                detail: "is a list, not a mapping by name".into(),
            },
            OntologyError::SubtypeUnresolved {
                ontology: "fitness".into(),
                entity_type: "workout".into(),
                supertype: "activity".into(),
                closure: vec!["mif-base".into(), "fitness".into()],
            },
            OntologyError::LockInvalid {
                path: ".ontoref/ontologies/ontologies.lock.json".into(),
                detail: "`ontologies.fitness.sha256` is `xyz`, not 64 hex digits".into(),
            },
            OntologyError::Tampered {
                path: ".ontoref/ontologies/fitness.ontology.yaml".into(),
                pinned: "5d514bbe".into(),
                found: Some("8eba262f".into()),
            },
            OntologyError::NotVendored {
                dir: ".ontoref/ontologies".into(),
                last_failure: Some("ontology-fetch-failed: connection refused".into()),
            },
            OntologyError::SnapshotInvalid {
                path: ".ontoref/ontologies/snapshot.json".into(),
                detail: "`vendored_at` is `yesterday`, not an RFC 3339 time".into(),
            },
            OntologyError::NotEnabled {
                id: "cosmology".into(),
            },
            OntologyError::UnsafePath {
                source_ref: "file://ontologies-0.4.0.tar.gz".into(),
                detail: "entry `../evil` leaves the directory".into(),
            },
            OntologyError::IndexChanged {
                source_ref: "file://ontologies-0.4.0.tar.gz".into(),
                pinned: "e8a16e00".into(),
                found: "0bad0bad".into(),
            },
            OntologyError::VersionDiverged {
                id: "fitness".into(),
                version: "1.0.0".into(),
                pinned: "5d514bbe".into(),
                found: "8eba262f".into(),
            },
            OntologyError::SourceInvalid {
                source_ref: "ftp://x".into(),
                detail: "unknown scheme `ftp`".into(),
            },
            OntologyError::FetchFailed {
                url: "https://example.org/index.json".into(),
                detail: "HTTP 404".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = OntologyError::VARIANTS;
        match self {
            OntologyError::IndexInvalid { .. } => variant::<0, N>(),
            OntologyError::Io { .. } => variant::<1, N>(),
            OntologyError::HashMismatch { .. } => variant::<2, N>(),
            OntologyError::ExtendsCycle { .. } => variant::<3, N>(),
            OntologyError::NotFound { .. } => variant::<4, N>(),
            OntologyError::SectionInvalid { .. } => variant::<5, N>(),
            OntologyError::SubtypeUnresolved { .. } => variant::<6, N>(),
            OntologyError::LockInvalid { .. } => variant::<7, N>(),
            OntologyError::Tampered { .. } => variant::<8, N>(),
            OntologyError::NotVendored { .. } => variant::<9, N>(),
            OntologyError::SnapshotInvalid { .. } => variant::<10, N>(),
            OntologyError::NotEnabled { .. } => variant::<11, N>(),
            OntologyError::UnsafePath { .. } => variant::<12, N>(),
            OntologyError::IndexChanged { .. } => variant::<13, N>(),
            OntologyError::VersionDiverged { .. } => variant::<14, N>(),
            OntologyError::SourceInvalid { .. } => variant::<15, N>(),
            OntologyError::FetchFailed { .. } => variant::<16, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
