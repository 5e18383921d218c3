//! The error vocabulary every tool and CLI command speaks.
//!
//! Each area has its own `thiserror` enum whose `code()` (a stable kebab-case
//! string) and `hint()` (how to recover) are exhaustive matches; [`ToolError`]
//! gathers them. Messages are lower-case and name the file, field or value at
//! fault. [`ToolError::body`] is the one place a tool error becomes the
//! `{"code", "message", "hint"}` object ([`ErrorBody`]) that MCP results and
//! the CLI print. A file that fails to load is listed as skipped with its
//! typed [`LoadError`] and can be reported later as [`ToolError::Skipped`].

use std::sync::Arc;

use crate::attestation::AttestationError;
use crate::codes::{ErrorCodes, variant};
pub use crate::echo::{ECHO_CHARS, clip, clip_to};
pub use crate::error_body::{ErrorBody, MAX_HINT_CHARS, MAX_MESSAGE_CHARS};
use crate::model::{LoadError, ModelError};
use crate::nickel::NclError;
use crate::ontologies::OntologyError;
use crate::paging::CursorError;
use crate::project::ProjectError;
use crate::registry::RegistryError;
use crate::suggest::quote_list;
use crate::vault::VaultError;
use crate::write::error::WriteError;

/// Any failure a tool can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// Evaluating a Nickel file failed or took too long.
    #[error(transparent)]
    Ncl(#[from] NclError),
    /// A record is missing, repeated, or malformed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The project root could not be used.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// A paging cursor was malformed or belongs to another query.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The vault refused or failed (a named gate error, a decryption failure).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A registry operation failed (unreachable, unsigned, unsafe, locked).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An ontology file or index is wrong or unusable.
    #[error(transparent)]
    Ontology(#[from] OntologyError),
    /// An attestation does not verify, or cannot be read.
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// A write to a knowledge file was refused or failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The arguments did not match the tool's input schema.
    #[error("invalid arguments for `{tool}`: {detail}")]
    InvalidParams {
        /// The tool that was called.
        tool: String,
        /// What was wrong, naming the field.
        detail: String,
    },
    /// The named tool does not exist in this binary.
    #[error("no tool named `{name}`")]
    UnknownTool {
        /// The requested name.
        name: String,
        /// The closest known names.
        closest: Vec<String>,
    },
    /// A mode's level chain is incoherent: it cannot be resolved.
    #[error("mode `{mode}` cannot be resolved: {reason}")]
    Unresolvable {
        /// The mode.
        mode: String,
        /// Why.
        reason: String,
    },
    /// A file needed for the answer failed to load earlier in this call
    /// (and was listed as skipped): its load error, shared with that list.
    #[error(transparent)]
    Skipped(Arc<LoadError>),
    /// A bug: something that should not fail did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ToolError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ToolError::Ncl(e) => e.code(),
            ToolError::Model(e) => e.code(),
            ToolError::Project(e) => e.code(),
            ToolError::Cursor(e) => e.code(),
            ToolError::Vault(e) => e.code(),
            ToolError::Registry(e) => e.code(),
            ToolError::Ontology(e) => e.code(),
            ToolError::Attestation(e) => e.code(),
            ToolError::Write(e) => e.code(),
            ToolError::InvalidParams { .. } => "invalid-params",
            ToolError::UnknownTool { .. } => "unknown-tool",
            ToolError::Unresolvable { .. } => "mode-unresolvable",
            ToolError::Skipped(e) => e.code(),
            ToolError::Internal(_) => "internal-error",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            ToolError::Ncl(e) => e.hint(),
            ToolError::Model(e) => e.hint(),
            ToolError::Project(e) => e.hint(),
            ToolError::Cursor(e) => e.hint(),
            ToolError::Vault(e) => e.hint(),
            ToolError::Registry(e) => e.hint(),
            ToolError::Ontology(e) => e.hint(),
            ToolError::Attestation(e) => e.hint(),
            ToolError::Write(e) => e.hint(),
            ToolError::InvalidParams { tool, .. } => {
                format!(
                    "check the arguments against the inputSchema of `{tool}` (`ontoref tools` lists every tool)"
                )
            }
            ToolError::UnknownTool { closest, .. } => {
                if closest.is_empty() {
                    "run `ontoref tools` to list the tools this binary has".to_owned()
                } else {
                    format!("did you mean {}?", quote_list(closest))
                }
            }
            ToolError::Unresolvable { .. } => {
                "run `ontoref validate modes` for every problem in the level hierarchy; fix the level or strategy named".to_owned()
            }
            ToolError::Skipped(e) => e.hint(),
            ToolError::Internal(_) => {
                "this is a bug in ontoref; retry, and report it with the message if it persists"
                    .to_owned()
            }
        }
    }

    /// The `{"code", "message", "hint"}` form. Message and hint are cut to
    /// [`MAX_MESSAGE_CHARS`] and [`MAX_HINT_CHARS`] as a last bound on the
    /// size of an error (echoed input is cut where it is quoted, by [`clip`]).
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), &self.to_string(), &self.hint())
    }

    /// The JSON object tools return on failure: `{"error": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.body() })
    }
}

/// A load error becomes the tool error of its kind: a Nickel failure is
/// [`ToolError::Ncl`], a malformed record [`ToolError::Model`].
impl From<LoadError> for ToolError {
    fn from(err: LoadError) -> Self {
        match err {
            LoadError::Ncl(e) => ToolError::Ncl(e),
            LoadError::Model(e) => ToolError::Model(e),
        }
    }
}

impl ErrorCodes for ToolError {
    const VARIANTS: usize = 14;

    fn examples() -> Vec<Self> {
        fn one<E: ErrorCodes>() -> Option<E> {
            E::examples().into_iter().next()
        }
        let mut out: Vec<ToolError> = Vec::new();
        out.extend(one::<NclError>().map(ToolError::Ncl));
        out.extend(one::<ModelError>().map(ToolError::Model));
        out.extend(one::<ProjectError>().map(ToolError::Project));
        out.extend(one::<CursorError>().map(ToolError::Cursor));
        out.extend(one::<VaultError>().map(ToolError::Vault));
        out.extend(one::<RegistryError>().map(ToolError::Registry));
        out.extend(one::<OntologyError>().map(ToolError::Ontology));
        out.extend(one::<AttestationError>().map(ToolError::Attestation));
        out.extend(one::<WriteError>().map(ToolError::Write));
        out.extend(one::<LoadError>().map(|e| ToolError::Skipped(Arc::new(e))));
        out.extend([
            ToolError::InvalidParams {
                tool: "ontoref_qa_show".into(),
                detail: "missing field `id`".into(),
            },
            ToolError::UnknownTool {
                name: "ontoref_qa_shw".into(),
                closest: vec!["ontoref_qa_show".into()],
            },
            ToolError::Unresolvable {
                mode: "release".into(),
                reason: "level `team` delegates to itself".into(),
            },
            ToolError::Internal("a lock was poisoned".into()),
        ]);
        out
    }

    fn variant_index(&self) -> usize {
        const N: usize = ToolError::VARIANTS;
        match self {
            ToolError::Ncl(_) => variant::<0, N>(),
            ToolError::Model(_) => variant::<1, N>(),
            ToolError::Project(_) => variant::<2, N>(),
            ToolError::Cursor(_) => variant::<3, N>(),
            ToolError::Vault(_) => variant::<4, N>(),
            ToolError::Skipped(_) => variant::<5, N>(),
            ToolError::InvalidParams { .. } => variant::<6, N>(),
            ToolError::UnknownTool { .. } => variant::<7, N>(),
            ToolError::Unresolvable { .. } => variant::<8, N>(),
            ToolError::Internal(_) => variant::<9, N>(),
            ToolError::Registry(_) => variant::<10, N>(),
            ToolError::Ontology(_) => variant::<11, N>(),
            ToolError::Attestation(_) => variant::<12, N>(),
            ToolError::Write(_) => variant::<13, N>(),
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
            ToolError::Ncl(_)
            | ToolError::Model(_)
            | ToolError::Project(_)
            | ToolError::Cursor(_)
            | ToolError::Vault(_)
            | ToolError::Registry(_)
            | ToolError::Ontology(_)
            | ToolError::Attestation(_)
            | ToolError::Write(_)
            | ToolError::Skipped(_) => true,
            ToolError::InvalidParams { .. }
            | ToolError::UnknownTool { .. }
            | ToolError::Unresolvable { .. }
            | ToolError::Internal(_) => false,
        }
    }
}

/// rmcp's `ToolBase` requires errors convertible to a JSON-RPC error. ontoref
/// never routes tool failures that way (they become `isError` results in
/// [`crate::server`]); this conversion exists for the trait bound only.
impl From<ToolError> for rmcp::ErrorData {
    fn from(err: ToolError) -> Self {
        rmcp::ErrorData::internal_error(err.to_string(), Some(err.to_json()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_bounded() {
        let err = ToolError::InvalidParams {
            tool: "t".into(),
            detail: "y".repeat(1 << 20),
        };
        let body = err.body();
        assert!(body.message.chars().count() < MAX_MESSAGE_CHARS + 40);
        assert!(body.message.ends_with("bytes)"), "{}", &body.message[..50]);
    }
}
