//! Nickel evaluation with nickel-lang-core, sandboxed and contained.
//!
//! Every evaluation gets a [`Bundle`]: the main source and the files it may
//! import, gathered and vetted by [`sandbox`] (Nickel never opens a file
//! itself). Where it runs is the [`Isolation`]: the `ontoref` binary uses
//! [`worker`] processes, killed at the deadline, memory-capped and unable to
//! open files; tests and embedders may evaluate in process, on a dedicated
//! thread with a large stack that is abandoned (and counted as stuck) when
//! it overruns its limit. Either way the caller waits at most the configured
//! limit and then reports `ncl-eval-timeout`, and the loader remembers that
//! content so the same file is not retried until it changes (see
//! [`crate::nickel::cache`]).

mod batch;
pub mod cache;
mod diag;
mod error;
pub mod sandbox;
pub mod scan;
pub mod worker;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use nickel_lang_core::cache::{CacheHub, InputFormat, SourcePath};
use nickel_lang_core::error::{Error as NickelError, NullReporter};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::{VirtualMachine, VmContext};
use nickel_lang_core::serialize::{self, ExportFormat};
use tokio::sync::Semaphore;

pub use error::NclError;
use sandbox::{Bundle, Format};

/// The result of evaluating one bundle.
#[derive(Debug)]
pub struct Evaluated {
    /// The exported value.
    pub value: serde_json::Value,
}

/// Where evaluations run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// In this process, on a dedicated thread: for tests and embedding. A
    /// timed-out evaluation keeps its thread, a stack overflow aborts the
    /// process; the sandbox still applies.
    InProcess,
    /// In worker processes started as `program __eval-worker` (see
    /// [`worker`]), each limited to `memory_mb` MiB and killed at the
    /// deadline. What the `ontoref` binary uses.
    Worker {
        /// The executable (normally this very binary).
        program: PathBuf,
        /// Data-segment limit of a worker, in MiB.
        memory_mb: u64,
    },
}

/// Limits and paths for evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// How long one evaluation may take.
    pub timeout: Duration,
    /// Where evaluations run.
    pub isolation: Isolation,
    /// What one evaluation may read.
    pub limits: sandbox::Limits,
    /// Path prefixes shown shortened in diagnostics: `(prefix, replacement)`.
    pub display_prefixes: Vec<(PathBuf, String)>,
}

/// Runs evaluations, at most `slots` at a time.
#[derive(Debug, Clone)]
pub struct Evaluator {
    options: Arc<EvalOptions>,
    slots: Arc<Semaphore>,
    stuck: Arc<AtomicUsize>,
    programs: Arc<AtomicU64>,
    pool: Option<Arc<worker::Pool>>,
}

/// Stack for in-process evaluation threads: Nickel's parser and
/// transformations recurse over the syntax tree.
const EVAL_STACK: usize = 256 * 1024 * 1024;

impl Evaluator {
    /// An evaluator allowing `slots` concurrent evaluations.
    pub fn new(options: EvalOptions, slots: usize) -> Self {
        let pool = match &options.isolation {
            Isolation::InProcess => None,
            Isolation::Worker { program, memory_mb } => {
                Some(Arc::new(worker::Pool::new(program.clone(), *memory_mb)))
            }
        };
        Evaluator {
            options: Arc::new(options),
            slots: Arc::new(Semaphore::new(slots.max(1))),
            stuck: Arc::new(AtomicUsize::new(0)),
            programs: Arc::new(AtomicU64::new(0)),
            pool,
        }
    }

    /// An evaluator with other options (another project's paths) that
    /// shares this one's slots, stuck count and workers.
    pub fn sibling(&self, options: EvalOptions) -> Evaluator {
        Evaluator {
            options: Arc::new(options),
            slots: self.slots.clone(),
            stuck: self.stuck.clone(),
            programs: self.programs.clone(),
            pool: self.pool.clone(),
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

    /// How many Nickel programs were started (a batch of files is one;
    /// see [`Evaluator::eval_many`]).
    pub fn programs(&self) -> u64 {
        self.programs.load(Ordering::Relaxed)
    }

    /// Evaluates `bundle` for export; `file` names it in errors.
    pub async fn eval(&self, bundle: Bundle) -> Result<Evaluated, NclError> {
        self.programs.fetch_add(1, Ordering::Relaxed);
        let file = self.display(&bundle.main.name);
        let limit = self.options.timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        let timeout = |stuck: &AtomicUsize| NclError::Timeout {
            file: file.clone(),
            limit_ms,
            stuck: stuck.load(Ordering::Relaxed),
        };
        let permit =
            match tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                // The semaphore is never closed; treat it like a full server.
                Ok(Err(_)) | Err(_) => return Err(timeout(&self.stuck)),
            };
        match &self.pool {
            Some(pool) => {
                let cpu = limit.as_secs().saturating_add(1);
                match pool.run(bundle, cpu, deadline).await {
                    Ok(worker::Reply::Value(json)) => serde_json::from_str(&json)
                        .map(|value| Evaluated { value })
                        .map_err(|e| NclError::Crashed {
                            file: file.clone(),
                            reason: format!("unreadable result: {e}"),
                        }),
                    Ok(worker::Reply::Nickel(diagnostic)) => Err(NclError::EvalFailed {
                        file: file.clone(),
                        diagnostic: self.shorten(&diagnostic),
                    }),
                    Ok(worker::Reply::Stray(path)) => Err(stray(file.clone(), &path)),
                    Ok(worker::Reply::Failed(reason)) if reason.contains("memory allocation") => {
                        Err(NclError::OutOfMemory {
                            file: file.clone(),
                            limit_mb: match &self.options.isolation {
                                Isolation::Worker { memory_mb, .. } => *memory_mb,
                                Isolation::InProcess => 0,
                            },
                        })
                    }
                    Ok(worker::Reply::Failed(reason)) => Err(NclError::Crashed {
                        file: file.clone(),
                        reason: diag::truncate(&reason, 1_000),
                    }),
                    Err(worker::Failure::Timeout) => {
                        tracing::warn!(file = %file, limit_ms, "nickel evaluation timed out; its worker was killed");
                        Err(timeout(&self.stuck))
                    }
                    Err(worker::Failure::OutOfMemory) => {
                        let limit_mb = match &self.options.isolation {
                            Isolation::Worker { memory_mb, .. } => *memory_mb,
                            Isolation::InProcess => 0,
                        };
                        Err(NclError::OutOfMemory {
                            file: file.clone(),
                            limit_mb,
                        })
                    }
                    Err(worker::Failure::StackOverflow) => Err(NclError::EvalFailed {
                        file: file.clone(),
                        diagnostic: "evaluation exhausted its stack: the file (or one it imports) nests too deeply (long chains of `let`, function applications, operators or field accesses)".to_owned(),
                    }),
                    Err(worker::Failure::Died(reason)) => Err(NclError::Crashed {
                        file: file.clone(),
                        reason,
                    }),
                }
            }
            None => self.eval_in_process(bundle, &file, deadline, permit).await,
        }
    }

    async fn eval_in_process(
        &self,
        bundle: Bundle,
        file: &str,
        deadline: tokio::time::Instant,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Evaluated, NclError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let thread_abandoned = abandoned.clone();
        let stuck = self.stuck.clone();
        let spawned = std::thread::Builder::new()
            .name("ncl-eval".to_owned())
            .stack_size(EVAL_STACK)
            .spawn(move || {
                let permit = std::cell::Cell::new(Some(permit));
                let tx = std::cell::Cell::new(Some(tx));
                // The answer goes out as soon as there is one (the heap is
                // freed after), and so does the slot.
                let answer = |result| {
                    drop(permit.take());
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(result);
                    }
                };
                let outcome =
                    std::panic::catch_unwind(AssertUnwindSafe(|| evaluate_then(bundle, answer)));
                if let Err(panic) = outcome {
                    answer(Err(JobError::Crashed(panic_message(&panic))));
                }
                if thread_abandoned.load(Ordering::Acquire) {
                    stuck.fetch_sub(1, Ordering::AcqRel);
                }
            });
        let file = file.to_owned();
        if let Err(e) = spawned {
            return Err(NclError::Crashed {
                file,
                reason: format!("cannot start an evaluation thread: {e}"),
            });
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(value))) => Ok(Evaluated { value }),
            Ok(Ok(Err(JobError::Nickel(diagnostic)))) => Err(NclError::EvalFailed {
                file,
                diagnostic: self.shorten(&diagnostic),
            }),
            Ok(Ok(Err(JobError::Crashed(msg)))) => Err(NclError::Crashed {
                file,
                reason: format!("nickel panicked: {msg}"),
            }),
            Ok(Ok(Err(JobError::Stray(path)))) => Err(stray(file, &path)),
            Ok(Err(_)) => Err(NclError::Crashed {
                file,
                reason: "the evaluation thread ended without a result".to_owned(),
            }),
            Err(_) => {
                abandoned.store(true, Ordering::Release);
                self.stuck.fetch_add(1, Ordering::AcqRel);
                let limit_ms = u64::try_from(self.options.timeout.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(file = %file, limit_ms, "nickel evaluation timed out");
                Err(NclError::Timeout {
                    file,
                    limit_ms,
                    stuck: self.stuck.load(Ordering::Relaxed),
                })
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

fn stray(file: String, path: &Path) -> NclError {
    NclError::ImportDenied {
        import: crate::echo::clip(&path.display().to_string()),
        file,
        line: None,
        reason: "Nickel read it although the sandbox did not admit it; the result was discarded"
            .to_owned(),
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

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Why an evaluation produced no value.
pub(crate) enum JobError {
    /// Nickel's rendered diagnostic.
    Nickel(String),
    /// Nickel panicked.
    Crashed(String),
    /// Nickel read a file the sandbox did not give it (in process only).
    Stray(PathBuf),
}

fn input_format(format: Format) -> InputFormat {
    match format {
        Format::Nickel => InputFormat::Nickel,
        Format::Json => InputFormat::Json,
        Format::Yaml => InputFormat::Yaml,
        Format::Toml => InputFormat::Toml,
        Format::Text => InputFormat::Text,
    }
}

/// A file Nickel read that is not among `names` (the bundle's), if any.
fn stray_file(vm: &VmContext<CacheHub, CacheImpl>, names: &[PathBuf]) -> Option<PathBuf> {
    vm.import_resolver
        .sources
        .files
        .filenames()
        .map(PathBuf::from)
        .find(|p| p.is_absolute() && !names.contains(p))
}

/// Evaluates a bundle for export with Nickel, which is given the bundle's
/// sources in memory and nothing else. Runs in a worker process or on an
/// in-process evaluation thread. `deliver` gets the result before Nickel's
/// heap is freed (for a large store that takes a tenth of the time the
/// evaluation did): the caller has its answer while this thread cleans up.
///
/// This is what nickel-lang-core's `Program::eval_full_for_export` does,
/// built from its public parts so that the sources can be registered before
/// imports are resolved: every admitted file is an in-memory source under
/// the name Nickel's import resolution computes, so an import finds it in
/// memory and never reaches the disk.
pub(crate) fn evaluate_then<T>(
    bundle: Bundle,
    deliver: impl FnOnce(Result<serde_json::Value, JobError>) -> T,
) -> T {
    let Bundle {
        main,
        files,
        import_paths,
        typecheck_only,
    } = bundle;
    let names: Vec<PathBuf> = std::iter::once(main.name.clone())
        .chain(files.iter().map(|f| f.name.clone()))
        .collect();
    let mut cache = CacheHub::new();
    let main_id = cache.sources.add_string(
        SourcePath::Path(main.name, input_format(main.format)),
        main.text,
    );
    for f in files {
        cache
            .sources
            .add_string(SourcePath::Path(f.name, input_format(f.format)), f.text);
    }
    cache.sources.add_import_paths(import_paths.iter());
    let mut vm: VmContext<CacheHub, CacheImpl> =
        VmContext::new(cache, std::io::sink(), NullReporter {});
    let result = run(&mut vm, main_id, &names, typecheck_only);
    deliver(result)
}

/// Prepares and evaluates `main_id` in `vm` (see [`evaluate_then`]).
fn run(
    vm: &mut VmContext<CacheHub, CacheImpl>,
    main_id: nickel_lang_core::files::FileId,
    names: &[PathBuf],
    typecheck_only: bool,
) -> Result<serde_json::Value, JobError> {
    let render = |vm: &VmContext<CacheHub, CacheImpl>, err: NickelError| {
        let mut files = vm.import_resolver.sources.files.clone();
        diag::render(&mut files, err)
    };
    let prepared = match vm.prepare_eval(main_id) {
        Ok(p) => p,
        Err(e) => return Err(JobError::Nickel(render(vm, e))),
    };
    if typecheck_only {
        // Parsed and typechecked (prepare_eval typechecks, as `nickel
        // typecheck` does); nothing is evaluated.
        return match stray_file(vm, names) {
            Some(stray) => Err(JobError::Stray(stray)),
            None => Ok(serde_json::Value::Null),
        };
    }
    let evaluated = VirtualMachine::new(vm).eval_full_for_export(prepared);
    let value = match evaluated {
        Ok(v) => v,
        Err(e) => return Err(JobError::Nickel(render(vm, e.into()))),
    };
    if let Err(e) = serialize::validate(ExportFormat::Json, &value) {
        let err: NickelError = e.with_pos_table(vm.pos_table.clone()).into();
        return Err(JobError::Nickel(render(vm, err)));
    }
    // Defence in depth for in-process evaluation (a worker cannot open
    // files at all): a file Nickel read that the sandbox did not hand it
    // means the import scan missed something; its value is not used.
    if let Some(stray) = stray_file(vm, names) {
        return Err(JobError::Stray(stray));
    }
    serde_json::to_value(&value)
        .map_err(|e| JobError::Nickel(format!("cannot convert the value to JSON: {e}")))
}
