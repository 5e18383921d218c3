//! In-process Nickel evaluation with nickel-lang-core.
//!
//! Nickel values are not `Send`, and the VM has no fuel or cancellation, so
//! every evaluation runs on a dedicated thread with a large stack: the thread
//! builds the program, evaluates it for export and hands back a
//! `serde_json::Value` plus the list of files it read. The caller waits at most
//! the configured limit and then reports `ncl-eval-timeout`; a runaway thread
//! keeps its slot until it ends, so a server cannot be flooded with them, and
//! the caller remembers that content so the same file is not retried until it
//! changes (see [`crate::nickel::cache`]).

pub mod cache;
mod diag;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use nickel_lang_core::error::Error as NickelError;
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::program::{Program, ProgramBuilder};
use nickel_lang_core::serialize::{self, ExportFormat};
use tokio::sync::Semaphore;

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
        /// Evaluations still running past their limit.
        stuck: usize,
    },
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// The operating system's reason.
        reason: String,
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
}

impl NclError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            NclError::EvalFailed { .. } => "ncl-eval-failed",
            NclError::Timeout { .. } => "ncl-eval-timeout",
            NclError::Read { .. } => "ncl-read-failed",
            NclError::TooLarge { .. } => "ncl-file-too-large",
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
            NclError::Read { .. } => "check that the file exists and is readable by this user".to_owned(),
            NclError::TooLarge { .. } => "split the file into several files that import each other".to_owned(),
        }
    }
}

/// The result of evaluating one file.
#[derive(Debug)]
pub struct Evaluated {
    /// The exported value.
    pub value: serde_json::Value,
    /// Every file on disk that Nickel read, the main file included.
    pub files: Vec<PathBuf>,
}

/// Limits and paths for evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// How long one evaluation may take.
    pub timeout: Duration,
    /// The largest main file evaluated, in bytes.
    pub max_file_size: u64,
    /// Import path, searched in order after the importing file's directory.
    pub import_paths: Vec<PathBuf>,
    /// Path prefixes shown shortened in diagnostics: `(prefix, replacement)`.
    pub display_prefixes: Vec<(PathBuf, String)>,
}

/// Runs evaluations on dedicated threads, at most `slots` at a time.
#[derive(Debug, Clone)]
pub struct Evaluator {
    options: Arc<EvalOptions>,
    slots: Arc<Semaphore>,
    stuck: Arc<AtomicUsize>,
}

/// Stack for evaluation threads: Nickel's parser and transformations recurse
/// over the syntax tree, so deeply nested input needs more than the default.
const EVAL_STACK: usize = 256 * 1024 * 1024;

impl Evaluator {
    /// An evaluator allowing `slots` concurrent evaluations.
    pub fn new(options: EvalOptions, slots: usize) -> Self {
        Evaluator {
            options: Arc::new(options),
            slots: Arc::new(Semaphore::new(slots.max(1))),
            stuck: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &EvalOptions {
        &self.options
    }

    /// Shortens known prefixes (project root, embedded schemas) in a path.
    pub fn display(&self, path: &Path) -> String {
        display_path(&self.options.display_prefixes, path)
    }

    /// Evaluates `source` (the content of `path`) for export.
    pub async fn eval(&self, path: &Path, source: String) -> Result<Evaluated, NclError> {
        let file = self.display(path);
        let limit = self.options.timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let timeout = |stuck: &AtomicUsize| NclError::Timeout {
            file: file.clone(),
            limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            stuck: stuck.load(Ordering::Relaxed),
        };
        let permit =
            match tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                // The semaphore is never closed; treat it like a full server.
                Ok(Err(_)) | Err(_) => return Err(timeout(&self.stuck)),
            };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let job = Job {
            path: path.to_path_buf(),
            source,
            options: self.options.clone(),
        };
        let thread_abandoned = abandoned.clone();
        let stuck = self.stuck.clone();
        let spawned = std::thread::Builder::new()
            .name("ncl-eval".to_owned())
            .stack_size(EVAL_STACK)
            .spawn(move || {
                let _permit = permit;
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| job.run()))
                    .unwrap_or_else(|panic| Err(JobError::Crashed(panic_message(&panic))));
                if thread_abandoned.load(Ordering::Acquire) {
                    stuck.fetch_sub(1, Ordering::AcqRel);
                }
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(NclError::Read {
                file,
                reason: format!("cannot start an evaluation thread: {e}"),
            });
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(evaluated))) => Ok(evaluated),
            Ok(Ok(Err(JobError::Nickel(diagnostic)))) => Err(NclError::EvalFailed {
                file,
                diagnostic: self.shorten(&diagnostic),
            }),
            Ok(Ok(Err(JobError::Crashed(msg)))) => Err(NclError::EvalFailed {
                file,
                diagnostic: format!("nickel stopped with an internal error: {msg}"),
            }),
            Ok(Ok(Err(JobError::Io(reason)))) => Err(NclError::Read { file, reason }),
            Ok(Err(_)) => Err(NclError::EvalFailed {
                file,
                diagnostic: "the evaluation thread ended without a result".to_owned(),
            }),
            Err(_) => {
                abandoned.store(true, Ordering::Release);
                self.stuck.fetch_add(1, Ordering::AcqRel);
                tracing::warn!(file = %file, limit_ms = limit.as_millis() as u64, "nickel evaluation timed out");
                Err(timeout(&self.stuck))
            }
        }
    }

    fn shorten(&self, diagnostic: &str) -> String {
        let mut text = diagnostic.to_owned();
        for (prefix, replacement) in &self.options.display_prefixes {
            let mut p = prefix.display().to_string();
            if !p.ends_with('/') {
                p.push('/');
            }
            text = text.replace(&p, replacement);
        }
        diag::truncate(text.trim_end(), diag::MAX_DIAGNOSTIC)
    }
}

fn display_path(prefixes: &[(PathBuf, String)], path: &Path) -> String {
    for (prefix, replacement) in prefixes {
        if let Ok(rest) = path.strip_prefix(prefix) {
            return format!("{replacement}{}", rest.display());
        }
    }
    path.display().to_string()
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

struct Job {
    path: PathBuf,
    source: String,
    options: Arc<EvalOptions>,
}

enum JobError {
    Nickel(String),
    Io(String),
    Crashed(String),
}

impl Job {
    fn run(self) -> Result<Evaluated, JobError> {
        let mut program: Program<CacheImpl> = ProgramBuilder::new()
            .add_source_string(self.source, self.path.as_os_str())
            .add_import_paths(self.options.import_paths.iter())
            .build()
            .map_err(|e| JobError::Io(e.to_string()))?;
        let value = program
            .eval_full_for_export()
            .map_err(|e| JobError::Nickel(diag::render(&program, e)))?;
        if let Err(e) = serialize::validate(ExportFormat::Json, &value) {
            let err: NickelError = e.with_pos_table(program.pos_table().clone()).into();
            return Err(JobError::Nickel(diag::render(&program, err)));
        }
        let json = serde_json::to_value(&value)
            .map_err(|e| JobError::Nickel(format!("cannot convert the value to JSON: {e}")))?;
        let mut files: Vec<PathBuf> = program
            .files()
            .filenames()
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_file())
            .collect();
        files.sort();
        files.dedup();
        Ok(Evaluated { value: json, files })
    }
}
