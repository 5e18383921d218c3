//! Evaluation in worker processes: the containment behind every Nickel
//! evaluation the `ontoref` binary runs.
//!
//! Nickel's VM has no fuel, no cancellation and no memory bound, and its
//! parser and evaluator recurse: inside the server, a runaway file would
//! hold a thread (and gigabytes) forever and a deeply nested one would
//! abort the whole process. So each evaluation runs in a worker — the same
//! binary started as `ontoref __eval-worker` — that
//!
//! - reads jobs (a [`Bundle`] of sources) on stdin and answers on stdout,
//!   one length-prefixed postcard frame each way;
//! - caps its data segment (`RLIMIT_DATA`, so an allocation storm ends in
//!   an allocation failure) and its CPU time per job (`RLIMIT_CPU`, a
//!   backstop should the server die mid-job), dumps no core, and exits when
//!   its parent goes away;
//! - installs a seccomp filter before the first job, so it cannot open a
//!   file, execute a program or make a socket: Nickel gets the bundle's
//!   sources from memory and nothing else, whatever a source says.
//!
//! The server keeps idle workers for reuse and kills a worker at the
//! evaluation's deadline (its memory goes with it); a worker that dies is
//! classified from its exit status and the tail of its stderr: stack
//! exhaustion is `ncl-eval-failed`, an allocation failure
//! `ncl-eval-out-of-memory`, anything else `ncl-eval-crashed`.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::sandbox::Bundle;

/// The hidden subcommand that runs a worker.
pub const SUBCOMMAND: &str = "__eval-worker";
/// Largest frame either side accepts.
const MAX_FRAME: u64 = 1024 * 1024 * 1024;
/// Jobs a worker serves before it is replaced (bounds heap fragmentation).
const JOBS_PER_WORKER: u32 = 256;
/// Stack of the thread evaluating in a worker.
const EVAL_STACK: usize = 64 * 1024 * 1024;
/// Bytes of a worker's stderr kept to classify its death.
const STDERR_TAIL: usize = 4096;

/// One evaluation request.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    /// The sources.
    pub bundle: Bundle,
    /// CPU seconds this job may use (a backstop; the server kills earlier).
    pub cpu_seconds: u64,
}

/// A worker's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// The exported value, as JSON text.
    Value(String),
    /// Nickel's diagnostic.
    Nickel(String),
    /// Something else went wrong before Nickel could run.
    Failed(String),
    /// Nickel read a file it was not given (impossible under the filter).
    Stray(PathBuf),
}

fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)?;
    out.flush()
}

fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u64::from(u32::from_le_bytes(len));
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    input.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(buf))
}

// ---------------------------------------------------------------- worker side

/// Runs a worker on this process's stdin and stdout until stdin closes;
/// `args` are the arguments after [`SUBCOMMAND`] (`--memory-mb N`).
/// Returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let memory_mb = args
        .iter()
        .position(|a| a == "--memory-mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024);
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = crate::echo::clip_to(&info.to_string(), 500);
        }
    }));
    if let Err(e) = confine(memory_mb) {
        let _ = writeln!(std::io::stderr(), "ontoref eval worker: {e}");
        return 71;
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut input = stdin.lock();
    let mut output = stdout.lock();
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(f)) => f,
            Ok(None) => return 0,
            Err(_) => return 74,
        };
        let reply = match postcard::from_bytes::<Job>(&frame) {
            Ok(job) => {
                drop(frame);
                set_cpu_limit(job.cpu_seconds);
                run_job(job.bundle)
            }
            Err(e) => Reply::Failed(format!("unreadable job: {e}")),
        };
        let Ok(bytes) = postcard::to_stdvec(&reply) else {
            return 74;
        };
        if write_frame(&mut output, &bytes).is_err() {
            return 74;
        }
    }
}

/// The last panic in this worker, as its hook described it (payloads of
/// `panic_any` and the like carry no message of their own).
static LAST_PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn run_job(bundle: Bundle) -> Reply {
    // The thread hands its result over before it frees Nickel's heap, so
    // the reply is written while it cleans up. It is joined before the
    // next job starts, which keeps one evaluation's memory at a time.
    PENDING.with(|pending| {
        if let Some(previous) = pending.take() {
            let _ = previous.join();
        }
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name("ncl-eval".to_owned())
        .stack_size(EVAL_STACK)
        .spawn(move || {
            let tx = std::cell::Cell::new(Some(tx));
            let answer = |result| {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(result);
                }
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::evaluate_then(bundle, answer)
            }));
            if let Err(p) = outcome {
                answer(Err(super::JobError::Crashed(super::panic_message(&p))));
            }
        });
    let handle = match handle {
        Ok(handle) => handle,
        Err(e) => return Reply::Failed(format!("cannot start the evaluation thread: {e}")),
    };
    let reply = match rx.recv() {
        Ok(Ok(value)) => Reply::Value(value.to_string()),
        Ok(Err(super::JobError::Nickel(d))) => Reply::Nickel(d),
        Ok(Err(super::JobError::Crashed(_))) => {
            let last = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
            Reply::Failed(format!("nickel panicked: {last}"))
        }
        Ok(Err(super::JobError::Stray(p))) => Reply::Stray(p),
        Err(_) => Reply::Failed("the evaluation thread panicked".to_owned()),
    };
    PENDING.with(|pending| pending.set(Some(handle)));
    reply
}

thread_local! {
    /// The last job's thread, still freeing its heap while its reply is
    /// written; joined before the next job starts.
    static PENDING: std::cell::Cell<Option<std::thread::JoinHandle<()>>> =
        const { std::cell::Cell::new(None) };
}

/// Resource limits, the parent watchdog and the seccomp filter.
fn confine(memory_mb: u64) -> Result<(), String> {
    #[cfg(unix)]
    {
        let bytes = memory_mb.saturating_mul(1024 * 1024);
        set_limit(libc::RLIMIT_DATA, bytes, bytes).map_err(|e| format!("RLIMIT_DATA: {e}"))?;
        set_limit(libc::RLIMIT_CORE, 0, 0).map_err(|e| format!("RLIMIT_CORE: {e}"))?;
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() };
        std::thread::Builder::new()
            .name("parent-watch".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(200));
                    // SAFETY: as above.
                    if unsafe { libc::getppid() } != parent {
                        std::process::exit(70);
                    }
                }
            })
            .map_err(|e| format!("cannot start the parent watchdog: {e}"))?;
    }
    #[cfg(target_os = "linux")]
    seccomp::install()?;
    Ok(())
}

#[cfg(unix)]
fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: a valid rlimit struct for a valid resource.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Lets this job use `seconds` more CPU seconds than the process has used.
fn set_cpu_limit(seconds: u64) {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the struct it is given.
        let used = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) as u64
        };
        let soft = used.saturating_add(seconds).saturating_add(1);
        let _ = set_limit(libc::RLIMIT_CPU, soft, libc::RLIM_INFINITY);
    }
    #[cfg(not(unix))]
    let _ = seconds;
}

#[cfg(target_os = "linux")]
mod seccomp {
    //! The worker's system-call filter: no file opens, no exec, no sockets.

    use std::collections::BTreeMap;

    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

    /// Denied with `EACCES`; everything else is allowed.
    fn denied() -> Vec<i64> {
        let mut calls = vec![
            libc::SYS_openat,
            libc::SYS_openat2,
            libc::SYS_open_by_handle_at,
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_socket,
            libc::SYS_socketpair,
            libc::SYS_connect,
            libc::SYS_bind,
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
        ];
        #[cfg(target_arch = "x86_64")]
        calls.extend([libc::SYS_open, libc::SYS_creat]);
        calls
    }

    pub(super) fn install() -> Result<(), String> {
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|e| format!("seccomp: unsupported architecture: {e}"))?;
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
            denied().into_iter().map(|c| (c, Vec::new())).collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EACCES as u32),
            arch,
        )
        .map_err(|e| format!("seccomp: {e}"))?;
        let program: BpfProgram = filter.try_into().map_err(|e| format!("seccomp: {e}"))?;
        seccompiler::apply_filter_all_threads(&program).map_err(|e| format!("seccomp: {e}"))
    }
}

// ---------------------------------------------------------------- server side

/// How a worker job ended, when it did not answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The deadline passed; the worker was killed.
    Timeout,
    /// It ran out of memory (`RLIMIT_DATA`).
    OutOfMemory,
    /// It exhausted its stack.
    StackOverflow,
    /// It died some other way, or could not be started.
    Died(String),
}

/// Idle workers, and how to start more.
#[derive(Debug)]
pub(crate) struct Pool {
    program: PathBuf,
    memory_mb: u64,
    idle: Mutex<Vec<Worker>>,
}

#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    jobs: u32,
}

impl Pool {
    /// Workers started as `program __eval-worker --memory-mb N`.
    pub(crate) fn new(program: PathBuf, memory_mb: u64) -> Pool {
        Pool {
            program,
            memory_mb,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Option<Worker> {
        self.idle.lock().ok()?.pop()
    }

    fn put(&self, worker: Worker) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(worker);
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let mut child = Command::new(&self.program)
            .arg(SUBCOMMAND)
            .arg("--memory-mb")
            .arg(self.memory_mb.to_string())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend(&buf[..n]);
                        while t.len() > STDERR_TAIL {
                            t.pop_front();
                        }
                    }
                }
            });
        }
        Ok(Worker {
            child,
            stdin,
            stdout,
            stderr,
            jobs: 0,
        })
    }

    /// Runs one job, killing the worker at `deadline`.
    pub(crate) async fn run(
        &self,
        bundle: Bundle,
        cpu_seconds: u64,
        deadline: tokio::time::Instant,
    ) -> Result<Reply, Failure> {
        let job = postcard::to_stdvec(&Job {
            bundle,
            cpu_seconds,
        })
        .map_err(|e| Failure::Died(format!("cannot encode the job: {e}")))?;
        let mut worker = match self.take() {
            Some(w) => w,
            None => self
                .spawn()
                .map_err(|e| Failure::Died(format!("cannot start an evaluation worker: {e}")))?,
        };
        let exchange = async {
            let len = u32::try_from(job.len()).map_err(std::io::Error::other)?;
            worker.stdin.write_all(&len.to_le_bytes()).await?;
            worker.stdin.write_all(&job).await?;
            worker.stdin.flush().await?;
            let mut len = [0u8; 4];
            worker.stdout.read_exact(&mut len).await?;
            let len = u64::from(u32::from_le_bytes(len));
            if len > MAX_FRAME {
                return Err(std::io::Error::other("reply frame too large"));
            }
            let mut buf = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
            worker.stdout.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(Ok(frame)) => {
                let reply = postcard::from_bytes::<Reply>(&frame)
                    .map_err(|e| Failure::Died(format!("unreadable reply: {e}")));
                worker.jobs += 1;
                if reply.is_ok() && worker.jobs < JOBS_PER_WORKER {
                    self.put(worker);
                }
                reply
            }
            Ok(Err(_)) => Err(self.autopsy(worker).await),
            Err(_) => {
                let _ = worker.child.start_kill();
                let _ = worker.child.wait().await;
                Err(Failure::Timeout)
            }
        }
    }

    /// Why a worker stopped answering.
    async fn autopsy(&self, mut worker: Worker) -> Failure {
        let status = match tokio::time::timeout(Duration::from_secs(2), worker.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = worker.child.start_kill();
                worker.child.wait().await.ok()
            }
        };
        // Let the stderr reader drain what the worker wrote last.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let tail = worker
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t.iter().copied().collect::<Vec<u8>>()).into_owned())
            .unwrap_or_default();
        classify(status, &tail)
    }
}

fn classify(status: Option<std::process::ExitStatus>, stderr: &str) -> Failure {
    if stderr.contains("memory allocation of") {
        return Failure::OutOfMemory;
    }
    if stderr.contains("overflowed its stack") {
        return Failure::StackOverflow;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.and_then(|s| s.signal()) == Some(libc::SIGXCPU) {
            return Failure::Timeout;
        }
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| crate::echo::clip_to(l.trim(), 300))
        .unwrap_or_default();
    let how = match status {
        Some(s) => s.to_string(),
        None => "stopped answering".to_owned(),
    };
    Failure::Died(if last.is_empty() {
        format!("the evaluation worker {how}")
    } else {
        format!("the evaluation worker {how}: {last}")
    })
}

/// The program a server starts workers from: this very executable.
pub fn current_program() -> std::io::Result<PathBuf> {
    // /proc/self/exe names this binary even if the file was replaced since.
    #[cfg(target_os = "linux")]
    {
        let proc = Path::new("/proc/self/exe");
        if proc.exists() {
            return Ok(proc.to_path_buf());
        }
    }
    std::env::current_exe()
}
