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

impl ErrorCodes for OntologyError {
    const VARIANTS: usize = 7;

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
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
