//! The error vocabulary every tool and CLI command speaks.
//!
//! Each area has its own `thiserror` enum whose `code()` (a stable kebab-case
//! string) and `hint()` (how to recover) are exhaustive matches; [`ToolError`]
//! gathers them. Messages are lower-case and name the file, field or value at
//! fault. [`ToolError::body`] is the one place an error becomes the
//! `{"code", "message", "hint"}` object that MCP results and the CLI print.

pub use crate::echo::{ECHO_CHARS, clip, clip_to};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::ModelError;
use crate::nickel::NclError;
use crate::paging::CursorError;
use crate::project::ProjectError;
use crate::vault::VaultError;

/// The serialised form of an error: `{"code", "message", "hint"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable kebab-case code, e.g. `qa-not-found`.
    pub code: String,
    /// What went wrong, naming the file, field or value at fault.
    pub message: String,
    /// How to recover.
    pub hint: String,
}

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
    /// A file needed for the answer failed to load earlier in this call.
    #[error("{}", .0.message)]
    Skipped(ErrorBody),
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
            ToolError::InvalidParams { .. } => "invalid-params",
            ToolError::UnknownTool { .. } => "unknown-tool",
            ToolError::Unresolvable { .. } => "mode-unresolvable",
            ToolError::Skipped(body) => known_code(&body.code),
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
            ToolError::Skipped(body) => body.hint.clone(),
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
        ErrorBody {
            code: self.code().to_owned(),
            message: clip_to(&self.to_string(), MAX_MESSAGE_CHARS),
            hint: clip_to(&self.hint(), MAX_HINT_CHARS),
        }
    }

    /// The JSON object tools return on failure: `{"error": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.body() })
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

/// The static code matching one carried in an [`ErrorBody`].
fn known_code(code: &str) -> &'static str {
    const CODES: &[&str] = &[
        "ncl-eval-failed",
        "ncl-eval-timeout",
        "ncl-read-failed",
        "ncl-file-too-large",
        "ncl-not-regular-file",
        "ncl-import-denied",
        "ncl-eval-out-of-memory",
        "ncl-eval-crashed",
        "adr-invalid",
        "adr-duplicate-id",
        "mode-invalid",
        "mode-duplicate-id",
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("load-failed")
}

/// Formats names as `` `a`, `b` or `c` `` for hints.
pub(crate) fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// The longest error message [`ToolError::body`] returns, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// The longest hint [`ToolError::body`] returns, in characters.
pub const MAX_HINT_CHARS: usize = 1000;

/// Longest input [`closest`] compares, in characters: edit distances over
/// a 1 MiB name must not run.
const CLOSEST_INPUT_CHARS: usize = 100;

/// Up to `max` candidates closest to `wanted` (by edit distance and shared
/// prefix), closest first. Used by "did you mean" hints. Only the first
/// 100 characters of `wanted` are compared.
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    let wanted = match wanted.char_indices().nth(CLOSEST_INPUT_CHARS) {
        None => wanted,
        Some((end, _)) => &wanted[..end],
    };
    let wanted_lc = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let c_lc = c.to_lowercase();
            let mut d = levenshtein(&wanted_lc, &c_lc);
            // One contains the other: as good as a one-letter typo.
            if c_lc.contains(&wanted_lc) || wanted_lc.contains(&c_lc) {
                d = d.min(1);
            }
            (d, c)
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let limit = (wanted.chars().count() / 3).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(max)
        .map(|(_, c)| c.to_owned())
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_prefers_small_edits_and_substrings() {
        let ids = [
            "nats-how-to-setup",
            "nats-troubleshooting",
            "credential-vault-templates",
        ];
        let got = closest("nats-troubleshoot", ids, 2);
        assert_eq!(got[0], "nats-troubleshooting");
        assert!(closest("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", ids, 3).is_empty());
    }

    #[test]
    fn closest_cuts_its_input_first() {
        let mut wanted = String::from("ontoref_qa_shw");
        wanted.push_str(&"z".repeat(1 << 20));
        let started = std::time::Instant::now();
        let got = closest(&wanted, ["ontoref_qa_show", "ontoref_qa_list"], 2);
        // A 1 MiB edit distance would take minutes; this is immediate.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(
            closest("ontoref_qa_shw", ["ontoref_qa_show", "ontoref_qa_list"], 2)[0],
            "ontoref_qa_show"
        );
    }

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

    #[test]
    fn quote_list_reads_naturally() {
        assert_eq!(quote_list(&["a".into()]), "`a`");
        assert_eq!(
            quote_list(&["a".into(), "b".into(), "c".into()]),
            "`a`, `b` or `c`"
        );
    }
}
