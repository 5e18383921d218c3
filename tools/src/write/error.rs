//! What can go wrong when a knowledge file is written, besides an entry the
//! contract refuses (that is the store's own `qa-invalid-entry` /
//! `backlog-invalid`, [`crate::model::ModelError::Invalid`]) or an id
//! already taken (`qa-duplicate-id` / `backlog-duplicate-id`). A failed
//! write leaves the file as it was.

use crate::codes::{ErrorCodes, variant};

/// A write that was refused or failed; the file is unchanged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The file's shape is not one ontoref can edit in place.
    #[error("{file} cannot be edited in place: {detail}")]
    NotEditable {
        /// The file, relative to the project.
        file: String,
        /// What is in the way.
        detail: String,
    },
    /// The project served is one ontoref must not write.
    #[error("the project served ({root}) is read-only: {why}")]
    ReadOnly {
        /// The project root, as shown.
        root: String,
        /// Why.
        why: String,
    },
    /// Another writer held the file's lock for too long.
    #[error("{file} is being written by another process (its lock was held for {seconds} s)")]
    Busy {
        /// The file, relative to the project.
        file: String,
        /// How long this writer waited.
        seconds: u64,
    },
    /// The file system refused an operation.
    #[error("could not {op} {file}: {reason}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file, relative to the project.
        file: String,
        /// The system's error.
        reason: String,
    },
}

impl WriteError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::NotEditable { .. } => "knowledge-not-editable",
            WriteError::ReadOnly { .. } => "knowledge-read-only",
            WriteError::Busy { .. } => "knowledge-busy",
            WriteError::Io { .. } => "knowledge-write-failed",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            WriteError::NotEditable { .. } => {
                "ontoref edits a top-level `entries = [ { .. }, .. ]` (or `items = [ .. ]`) array \
                 literal of record literals; edit the file by hand, or restore that shape"
                    .to_owned()
            }
            WriteError::ReadOnly { .. } => {
                "serve your own project (`--project DIR` or ONTOREF_PROJECT_ROOT); the embedded \
                 template is read-only"
                    .to_owned()
            }
            WriteError::Busy { .. } => {
                "retry in a moment; if it persists, look for a stuck ontoref process".to_owned()
            }
            WriteError::Io { .. } => {
                "the file is unchanged; check that its directory is writable by this user and \
                 the disk has room"
                    .to_owned()
            }
        }
    }
}

impl ErrorCodes for WriteError {
    const VARIANTS: usize = 4;

    fn examples() -> Vec<Self> {
        vec![
            WriteError::NotEditable {
                file: "reflection/qa.ncl".into(),
                detail: "`entries` is not an array literal".into(),
            },
            WriteError::ReadOnly {
                root: "<embedded agent-first template>".into(),
                why: "it is the template built into the binary".into(),
            },
            WriteError::Busy {
                file: "reflection/qa.ncl".into(),
                seconds: 10,
            },
            WriteError::Io {
                op: "rename over",
                file: "reflection/qa.ncl".into(),
                reason: "Permission denied (os error 13)".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = WriteError::VARIANTS;
        match self {
            WriteError::NotEditable { .. } => variant::<0, N>(),
            WriteError::ReadOnly { .. } => variant::<1, N>(),
            WriteError::Busy { .. } => variant::<2, N>(),
            WriteError::Io { .. } => variant::<3, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
