//! [`NclError`]: every way reading or evaluating a Nickel file fails, with
//! its stable code and recovery hint.

use crate::codes::{ErrorCodes, variant};
use crate::fsread::ReadError;

/// A failure to read or evaluate a Nickel file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NclError {
    /// Nickel rejected the file: syntax, type, contract or evaluation error.
    #[error("evaluating {file} failed:\n{diagnostic}")]
    EvalFailed {
        /// The file evaluated, relative to the project when possible.
        file: String,
        /// Nickel's diagnostic, with file:line:col of every label.
        diagnostic: String,
    },
    /// Evaluation did not finish within the limit.
    #[error("evaluating {file} did not finish within {limit_ms} ms")]
    Timeout {
        /// The file evaluated.
        file: String,
        /// The limit in force.
        limit_ms: u64,
        /// In-process evaluations still running past their limit.
        stuck: usize,
    },
    /// Evaluation needed more memory than a worker may use.
    #[error("evaluating {file} needed more than the {limit_mb} MiB an evaluation may use")]
    OutOfMemory {
        /// The file evaluated.
        file: String,
        /// The limit in force (`--eval-memory`).
        limit_mb: u64,
    },
    /// The evaluation worker died.
    #[error("evaluating {file} crashed the evaluation worker: {reason}")]
    Crashed {
        /// The file evaluated.
        file: String,
        /// How it died.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A FIFO, device, socket or directory where a file was expected.
    #[error("{file} is {kind}, not a regular file")]
    NotRegular {
        /// The path.
        file: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file is larger than ontoref evaluates.
    #[error("{file} is {size} bytes, more than the {max} bytes ontoref evaluates")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An import (or the file itself) lies outside what the sandbox admits.
    #[error("{}: the import of `{import}` is denied: {reason}", at(file, *line))]
    ImportDenied {
        /// The importing file (or the refused file itself).
        file: String,
        /// The line of the `import`, when an import was refused.
        line: Option<usize>,
        /// The path as written (cut to a bounded length).
        import: String,
        /// Why: where it resolves, never what it holds.
        reason: String,
    },
}

fn at(file: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_owned(),
    }
}

impl NclError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            NclError::EvalFailed { .. } => "ncl-eval-failed",
            NclError::Timeout { .. } => "ncl-eval-timeout",
            NclError::OutOfMemory { .. } => "ncl-eval-out-of-memory",
            NclError::Crashed { .. } => "ncl-eval-crashed",
            NclError::Read { .. } => "ncl-read-failed",
            NclError::NotRegular { .. } => "ncl-not-regular-file",
            NclError::TooLarge { .. } => "ncl-file-too-large",
            NclError::ImportDenied { .. } => "ncl-import-denied",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            NclError::EvalFailed { .. } => "fix the file at the location shown; ontoref re-evaluates it as soon as it or any file it imports changes".to_owned(),
            NclError::Timeout { stuck, .. } => {
                let mut hint = "look for unbounded recursion in the file or its imports; if it is merely large, raise the limit with --eval-timeout (seconds)".to_owned();
                if *stuck > 0 {
                    hint.push_str(&format!("; {stuck} evaluation(s) are still running past their limit, restart the server to reclaim them"));
                }
                hint
            }
            NclError::OutOfMemory { .. } => "look for unbounded recursion or a runaway array in the file or its imports; if it is merely large, raise the limit with --eval-memory (MiB)".to_owned(),
            NclError::Crashed { .. } => "the file may trigger a bug in Nickel; simplify it to find the construct at fault, and report the crash if it persists".to_owned(),
            NclError::Read { .. } => "check that the file exists and is readable by this user".to_owned(),
            NclError::NotRegular { .. } => "replace it with a regular Nickel file (ontoref never reads FIFOs, devices or directories as files)".to_owned(),
            NclError::TooLarge { .. } => "split the file into several files that import each other".to_owned(),
            NclError::ImportDenied { .. } => "a file may import only files under its roots (for knowledge files: the project root and directories given with --import-path or ONTOREF_IMPORT_PATH), the protocol schemas embedded in ontoref, and never the config home's keys/ or vaults/ or a file holding an age secret key; move the file into the project or name its directory with --import-path".to_owned(),
        }
    }

    /// A read failure of `file`.
    pub fn from_read(file: String, e: ReadError) -> NclError {
        match e {
            ReadError::NotFound => NclError::Read {
                file,
                reason: "no such file".to_owned(),
            },
            ReadError::NotRegular { kind } => NclError::NotRegular { file, kind },
            ReadError::TooLarge { size, max } => NclError::TooLarge { file, size, max },
            ReadError::Io(e) => NclError::Read {
                file,
                reason: e.to_string(),
            },
        }
    }
}

impl ErrorCodes for NclError {
    const VARIANTS: usize = 8;

    fn examples() -> Vec<Self> {
        let file = || "reflection/qa.ncl".to_owned();
        vec![
            NclError::EvalFailed {
                file: file(),
                diagnostic: "error: unbound identifier `x`".into(),
            },
            NclError::Timeout {
                file: file(),
                limit_ms: 5000,
                stuck: 0,
            },
            NclError::OutOfMemory {
                file: file(),
                limit_mb: 512,
            },
            NclError::Crashed {
                file: file(),
                reason: "killed by signal 11".into(),
            },
            NclError::Read {
                file: file(),
                reason: "permission denied".into(),
            },
            NclError::NotRegular {
                file: file(),
                kind: "a FIFO",
            },
            NclError::TooLarge {
                file: file(),
                size: 1 << 30,
                max: 1 << 24,
            },
            NclError::ImportDenied {
                file: file(),
                line: Some(3),
                import: "/etc/passwd".into(),
                reason: "outside the project".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = NclError::VARIANTS;
        match self {
            NclError::EvalFailed { .. } => variant::<0, N>(),
            NclError::Timeout { .. } => variant::<1, N>(),
            NclError::OutOfMemory { .. } => variant::<2, N>(),
            NclError::Crashed { .. } => variant::<3, N>(),
            NclError::Read { .. } => variant::<4, N>(),
            NclError::NotRegular { .. } => variant::<5, N>(),
            NclError::TooLarge { .. } => variant::<6, N>(),
            NclError::ImportDenied { .. } => variant::<7, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
