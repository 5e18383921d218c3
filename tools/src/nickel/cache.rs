//! The evaluation cache: every loaded document is kept in memory and on disk.
//!
//! **Memory.** Each `(kind, file)` has a slot holding the typed document and
//! the files it was built from, each with a stat stamp (size, mtime, ctime,
//! inode) and its sha256. A hit costs one `stat` per file. A file modified
//! within [`RACY_WINDOW`] of being stamped is "racy" (a second write in the
//! same timestamp tick would keep the stamp) and is re-hashed until it ages.
//!
//! **Disk.** Every stdio client spawns its own server, so documents also
//! persist under `<cache dir>/docs/`, one file per `(kind, path)`. An entry is
//! used only if its key (build id, embedded schemas, path and sha256 of the
//! main file) matches, the sha256 of every import it lists matches the files
//! now on disk, and the payload's xxh3 checksum verifies; anything else
//! (corrupt, foreign, stale) is ignored and rewritten. As in git's index, a
//! file whose stat stamp equals the one recorded, and which was not modified
//! within [`RACY_WINDOW`] of the entry being written, is taken to still have
//! the recorded sha256 without being read again: a warm start does not
//! re-read a large store just to hash it.
//!
//! Evaluations that time out are remembered by key for [`TIMEOUT_MEMO`], so a
//! runaway file does not tie up a fresh thread on every call.
//!
//! **Watched.** A server gives the loader a [`Watch`]: an entry records the
//! watch's generation when it was last validated, and while that generation
//! has not moved (and the directory of every file it read is watched) a hit
//! costs no `stat` at all. When it moves, the entry is validated by its
//! stamps as above, so a change re-evaluates only the documents that read
//! the changed file.

use std::any::Any;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::xxh3_64;

use super::batch::quoted;
use super::sandbox::{self, Bundle, BundleFile, Format, Sandbox, embedded_file, is_embedded};
use super::{Evaluated, Evaluator, NclError};
use crate::fsread::{self, Links};
use crate::model::{Document, LoadError, Source};
use crate::packed::Backing;
use crate::watch::Watch;

/// How recently modified a file must be to count as racy.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);
/// How long a timed-out key is answered from memory.
pub const TIMEOUT_MEMO: Duration = Duration::from_secs(60);
/// Bumped whenever the disk layout changes.
const DISK_FORMAT: u32 = 5;
/// The largest disk cache entry read.
const MAX_DISK_ENTRY: u64 = 1024 * 1024 * 1024;
const MAGIC: &[u8; 8] = b"ONTOREF\x01";

/// Counters, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    /// Served from memory.
    pub memory_hits: AtomicU64,
    /// Served from the disk cache.
    pub disk_hits: AtomicU64,
    /// Evaluated by Nickel.
    pub evaluations: AtomicU64,
    /// Files re-read and hashed to check a disk entry, their stat stamps
    /// not being trusted (changed, or racy when the entry was written).
    pub rehashed: AtomicU64,
    /// Disk entries read by mapping them (large ones) rather than copying.
    pub mapped: AtomicU64,
}

/// Loads documents through the caches.
#[derive(Debug)]
pub struct Loader {
    evaluator: Evaluator,
    sandbox: Sandbox,
    disk: Option<PathBuf>,
    salt: [u8; 32],
    slots: Mutex<HashMap<(&'static str, PathBuf), Slot>>,
    /// Keys that timed out: when, the file shown and the limit in force.
    timeouts: Mutex<HashMap<[u8; 32], (Instant, String, u64)>>,
    stats: Stats,
    watch: std::sync::OnceLock<Arc<Watch>>,
}

/// A text evaluated as a file's content by [`Loader::check_text`]: the
/// typed document and what its evaluation read.
#[derive(Debug)]
pub struct Checked<D> {
    doc: Arc<D>,
    key: [u8; 32],
    deps_read: Vec<(PathBuf, [u8; 32])>,
    started: SystemTime,
}

impl<D> Checked<D> {
    /// The document.
    pub fn doc(&self) -> &Arc<D> {
        &self.doc
    }
}

/// A disk entry found sound by [`Loader::verify_disk`].
struct Verified {
    /// Where its payload lies.
    payload: std::ops::Range<usize>,
    /// Its dependencies, stamped now.
    deps: Vec<Dep>,
    /// The header to write it again with, when a dependency had to be
    /// re-read and no longer needs to be.
    refresh: Option<DiskHeader>,
}

/// What [`Loader::lookup`] found.
enum Lookup<D> {
    /// The answer: the document, or `None` when there is no such file.
    Done(Option<Arc<D>>),
    /// Nothing cached holds: the file is to be evaluated.
    Miss(Miss),
}

/// A file to evaluate, as read when the caches missed.
struct Miss {
    text: String,
    embedded: bool,
    started: SystemTime,
    generation: Option<u64>,
}

/// A file's evaluation under way: what [`Loader::finish`] needs besides
/// the value.
struct Prepared {
    display: String,
    text: String,
    key: [u8; 32],
    deps_read: Vec<(PathBuf, [u8; 32])>,
    started: SystemTime,
}

/// One document's cache slot; its lock also makes concurrent loads of the
/// same file evaluate once.
type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

struct Entry {
    deps: Vec<Dep>,
    doc: Arc<dyn Any + Send + Sync>,
    /// The watch generation at which `deps` were last found unchanged,
    /// when every one of them lies in a watched directory.
    seen: Option<u64>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("deps", &self.deps).finish()
    }
}

#[derive(Debug, Clone)]
struct Dep {
    path: PathBuf,
    stamp: Option<Stamp>,
    sha256: [u8; 32],
    racy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    mtime: i128,
    ctime: i128,
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        if is_embedded(path) {
            return None;
        }
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp::from_meta(&meta))
    }

    #[cfg(unix)]
    fn from_meta(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            mtime: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            ino: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    fn from_meta(meta: &std::fs::Metadata) -> Stamp {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp {
            len: meta.len(),
            mtime,
            ctime: mtime,
            ino: 0,
        }
    }

    /// Modified within the racy window before `now`.
    fn is_racy(&self, now: SystemTime) -> bool {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        self.mtime.max(self.ctime) + RACY_WINDOW.as_nanos() as i128 >= now
    }
}

/// A file's stat stamp, for callers that validate many files at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp(Stamp);

impl FileStamp {
    /// The stamp of `path`, if it exists.
    pub fn of(path: &Path) -> Option<FileStamp> {
        Stamp::of(path).map(FileStamp)
    }

    /// Modified so recently that a same-tick rewrite could keep the stamp:
    /// not to be trusted without reading the file.
    pub fn is_racy(&self) -> bool {
        self.0.is_racy(SystemTime::now())
    }
}

#[derive(Serialize, Deserialize)]
struct DiskHeader {
    key: [u8; 32],
    /// When the entry was written, in ns since the epoch.
    written_at: i128,
    /// The main file first, then every import.
    deps: Vec<DiskDep>,
    payload_len: u64,
    payload_xxh3: u64,
}

impl DiskHeader {
    /// The header of an entry written now for `deps` and `payload`.
    fn now(key: [u8; 32], deps: &[Dep], payload: &[u8]) -> DiskHeader {
        DiskHeader {
            key,
            written_at: now_ns(),
            deps: deps
                .iter()
                .map(|d| DiskDep {
                    path: d.path.clone(),
                    sha256: d.sha256,
                    stamp: d.stamp,
                })
                .collect(),
            payload_len: payload.len() as u64,
            payload_xxh3: xxh3_64(payload),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct DiskDep {
    path: PathBuf,
    sha256: [u8; 32],
    stamp: Option<Stamp>,
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Loader {
    /// A loader evaluating with `evaluator` inside `sandbox` (unless told
    /// otherwise, see [`Loader::load_in`]), persisting under `disk` when
    /// given. `salt` identifies everything outside the files that shapes a
    /// document: the build and the embedded schemas.
    pub fn new(
        evaluator: Evaluator,
        sandbox: Sandbox,
        disk: Option<PathBuf>,
        salt: [u8; 32],
    ) -> Self {
        Loader {
            evaluator,
            sandbox,
            disk,
            salt,
            slots: Mutex::default(),
            timeouts: Mutex::default(),
            stats: Stats::default(),
            watch: std::sync::OnceLock::new(),
        }
    }

    /// Lets `watch` stand in for the per-call `stat` of every file (see the
    /// module's "Watched"); `false` when the loader already has one.
    pub fn set_watch(&self, watch: Arc<Watch>) -> bool {
        self.watch.set(watch).is_ok()
    }

    /// The watch, when the loader has one.
    pub fn watch(&self) -> Option<&Arc<Watch>> {
        self.watch.get()
    }

    /// The generation `deps` may be trusted at from now on: `generation`,
    /// when there is a watch and every (real) file of `deps` lies in a
    /// directory it watches.
    fn seen(&self, generation: Option<u64>, deps: &[Dep]) -> Option<u64> {
        let watch = self.watch.get()?;
        let generation = generation?;
        let files = deps
            .iter()
            .map(|d| d.path.as_path())
            .filter(|p| !is_embedded(p));
        watch.track_files(files).then_some(generation)
    }

    /// The evaluator in use.
    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// Cache counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The sandbox knowledge files are evaluated in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Loads the document of kind `D` from `path` in the loader's sandbox;
    /// `None` when the file does not exist.
    pub async fn load<D: Document>(&self, path: &Path) -> Result<Option<Arc<D>>, LoadError> {
        self.load_in::<D>(path, &self.sandbox).await
    }

    /// Parses and typechecks the Nickel file at `path` (as `nickel
    /// typecheck` does), with the imports `sandbox` admits; evaluates
    /// nothing and caches nothing (for files from elsewhere, such as a
    /// pulled domain contract).
    pub async fn typecheck(&self, path: &Path, sandbox: &Sandbox) -> Result<(), NclError> {
        let display = self.evaluator.display(path);
        let real = admit(sandbox, path, path, &display)?;
        let text = fsread::read_text(
            &real,
            self.evaluator.options().limits.max_file,
            Links::Refuse,
        )
        .map_err(|e| NclError::from_read(display.clone(), e))?;
        let main = BundleFile {
            name: path.to_path_buf(),
            format: Format::Nickel,
            text,
            on_disk: true,
        };
        let display_fn = |p: &Path| self.evaluator.display(p);
        let mut bundle =
            sandbox::gather(main, sandbox, &self.evaluator.options().limits, &display_fn)?;
        bundle.typecheck_only = true;
        self.evaluator.eval(bundle).await.map(|_| ())
    }

    /// Loads the document of kind `D` from `path`, admitting only what
    /// `sandbox` admits (the file itself included); `None` when the file
    /// does not exist. Paths under [`sandbox::EMBEDDED_ROOT`] are the
    /// binary's own files.
    pub async fn load_in<D: Document>(
        &self,
        path: &Path,
        sandbox: &Sandbox,
    ) -> Result<Option<Arc<D>>, LoadError> {
        let mut slot = self.slot::<D>(path).lock_owned().await;
        let miss = match self.lookup::<D>(path, sandbox, &mut slot)? {
            Lookup::Done(doc) => return Ok(doc),
            Lookup::Miss(miss) => miss,
        };
        let checked = self
            .evaluate_text::<D>(path, miss.text, !miss.embedded, sandbox, miss.started)
            .await?;
        Ok(Some(self.keep(path, &mut slot, checked, miss.generation)))
    }

    /// [`Loader::load`] of every file of `paths`, results in that order:
    /// the files the caches cannot answer are evaluated together, one
    /// Nickel program per core (see [`super::batch`]), each failing file
    /// reported as its own load would report it.
    pub async fn load_many<D: Document>(
        &self,
        paths: &[PathBuf],
    ) -> Vec<Result<Option<Arc<D>>, LoadError>> {
        let sandbox = &self.sandbox;
        let mut out: Vec<Result<Option<Arc<D>>, LoadError>> =
            paths.iter().map(|_| Ok(None)).collect();
        // Slots are locked in path order (as `ncl_files` lists them) and
        // held until each result is kept: a concurrent load of one of
        // these files waits for it rather than evaluating it again.
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by(|&a, &b| paths[a].cmp(&paths[b]));
        order.dedup_by(|a, b| paths[*a] == paths[*b]);
        let mut pending = Vec::new();
        let mut bundles = Vec::new();
        for i in order {
            let path = &paths[i];
            let mut slot = self.slot::<D>(path).lock_owned().await;
            let prepared = match self.lookup::<D>(path, sandbox, &mut slot) {
                Ok(Lookup::Done(doc)) => Ok(doc),
                Ok(Lookup::Miss(miss)) => self
                    .prepare::<D>(path, miss.text, !miss.embedded, sandbox, miss.started)
                    .map(|(prepared, bundle)| {
                        bundles.push(bundle);
                        pending.push((i, slot, prepared, miss.generation));
                        None
                    }),
                Err(e) => Err(e),
            };
            out[i] = prepared;
        }
        let results = self.evaluator.eval_many(bundles).await;
        for ((i, mut slot, prepared, generation), result) in pending.into_iter().zip(results) {
            out[i] = self
                .finish::<D>(prepared, result)
                .map(|checked| Some(self.keep(&paths[i], &mut slot, checked, generation)));
        }
        // A path listed twice answers as its first listing did.
        for i in 0..paths.len() {
            if let Some(first) = paths[..i].iter().position(|p| *p == paths[i])
                && let Ok(doc) = &out[first]
            {
                out[i] = Ok(doc.clone());
            }
        }
        out
    }

    /// The cache slot of `(D, path)`.
    fn slot<D: Document>(&self, path: &Path) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry((D::KIND, path.to_path_buf()))
            .or_default()
            .clone()
    }

    /// What the memory and disk caches hold for `path` (whose slot is
    /// locked: `slot`), or the text to evaluate.
    fn lookup<D: Document>(
        &self,
        path: &Path,
        sandbox: &Sandbox,
        slot: &mut Option<Entry>,
    ) -> Result<Lookup<D>, LoadError> {
        // Read before anything is checked: a change from here on moves it.
        let generation = self.watch.get().map(|w| w.generation());
        if let Some(entry) = slot.as_mut()
            && let Ok(doc) = entry.doc.clone().downcast::<D>()
        {
            if generation.is_some() && entry.seen == generation {
                self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Lookup::Done(Some(doc)));
            }
            if fresh(&mut entry.deps, self.evaluator.options().limits.max_file) {
                entry.seen = self.seen(generation, &entry.deps);
                self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Lookup::Done(Some(doc)));
            }
        }
        *slot = None;

        let display = self.evaluator.display(path);
        let embedded = is_embedded(path);
        let (main_stamp, real) = if embedded {
            if embedded_file(path).is_none() {
                return Ok(Lookup::Done(None));
            }
            (None, path.to_path_buf())
        } else {
            let meta = match std::fs::metadata(path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Lookup::Done(None));
                }
                Err(e) => {
                    return Err(NclError::Read {
                        file: display,
                        reason: e.to_string(),
                    }
                    .into());
                }
            };
            // The file itself must lie inside the sandbox, links resolved.
            let real = admit(sandbox, path, path, &display)?;
            (Some(Stamp::from_meta(&meta)), real)
        };
        let fingerprint = sandbox.fingerprint();

        if let Some((doc, deps)) = self.read_disk::<D>(path, main_stamp, &fingerprint) {
            self.stats.disk_hits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                kind = D::KIND,
                file = ?path,
                "served from the disk cache"
            );
            let doc = Arc::new(doc);
            let seen = self.seen(generation, &deps);
            *slot = Some(Entry {
                deps,
                doc: doc.clone(),
                seen,
            });
            return Ok(Lookup::Done(Some(doc)));
        }

        let started = SystemTime::now();
        let max = self.evaluator.options().limits.max_file;
        let text = if embedded {
            String::from_utf8_lossy(embedded_file(path).unwrap_or_default()).into_owned()
        } else {
            fsread::read_text(&real, max, Links::Refuse)
                .map_err(|e| NclError::from_read(display.clone(), e))?
        };
        Ok(Lookup::Miss(Miss {
            text,
            embedded,
            started,
            generation,
        }))
    }

    /// Keeps an evaluated document in its slot (and on disk, unless a file
    /// it read changed while it was evaluated).
    fn keep<D: Document>(
        &self,
        path: &Path,
        slot: &mut Option<Entry>,
        checked: Checked<D>,
        generation: Option<u64>,
    ) -> Arc<D> {
        let (deps, clean) = stamp_deps(&checked.deps_read, checked.started);
        let seen = if clean {
            self.write_disk(path, &checked.key, &deps, checked.doc.as_ref());
            self.seen(generation, &deps)
        } else {
            None
        };
        *slot = Some(Entry {
            deps,
            doc: checked.doc.clone(),
            seen,
        });
        checked.doc
    }

    /// Evaluates `text` as the content of the file at `path` would be (its
    /// imports resolved beside `path`, the document's contract applied, in
    /// the loader's sandbox), without reading or caching `path`: how a
    /// write checks its new text before it replaces the file.
    pub async fn check_text<D: Document>(
        &self,
        path: &Path,
        text: String,
    ) -> Result<Checked<D>, LoadError> {
        let display = self.evaluator.display(path);
        // A file about to be created: its directory must be admitted.
        let probe = match path.parent() {
            Some(dir) if !path.exists() => dir,
            _ => path,
        };
        admit(&self.sandbox, probe, path, &display)?;
        self.evaluate_text::<D>(path, text, true, &self.sandbox, SystemTime::now())
            .await
    }

    /// Puts a document [`Loader::check_text`] made into the memory cache,
    /// once its text is the file at `path`: the next load is a hit instead
    /// of a second evaluation of what was just written. The main file is
    /// marked racy, so the hit is checked against its content until it ages.
    pub async fn install<D: Document>(&self, path: &Path, checked: &Checked<D>) {
        let slot = self.slot::<D>(path);
        let mut slot = slot.lock().await;
        let (mut deps, _) = stamp_deps(&checked.deps_read, checked.started);
        for dep in deps.iter_mut().filter(|d| d.path == path) {
            dep.stamp = Stamp::of(path);
            dep.racy = true;
        }
        *slot = Some(Entry {
            deps,
            doc: checked.doc.clone(),
            seen: None,
        });
        // The file changed: every watched cache revalidates, and
        // subscribers hear of it now rather than at the kernel's event.
        if let Some(watch) = self.watch.get() {
            watch.bump();
        }
    }

    async fn evaluate_text<D: Document>(
        &self,
        path: &Path,
        text: String,
        on_disk: bool,
        sandbox: &Sandbox,
        started: SystemTime,
    ) -> Result<Checked<D>, LoadError> {
        let (prepared, bundle) = self.prepare::<D>(path, text, on_disk, sandbox, started)?;
        let result = self.evaluator.eval(bundle).await;
        self.finish::<D>(prepared, result)
    }

    /// The bundle evaluating `text` as the file at `path` (its contract
    /// applied), and what is needed to make a document of its value.
    fn prepare<D: Document>(
        &self,
        path: &Path,
        text: String,
        on_disk: bool,
        sandbox: &Sandbox,
        started: SystemTime,
    ) -> Result<(Prepared, Bundle), LoadError> {
        let display = self.evaluator.display(path);
        let fingerprint = sandbox.fingerprint();
        let main_sha = sha256(text.as_bytes());
        let key = self.key::<D>(path, &main_sha, &fingerprint);
        if let Some(err) = self.remembered_timeout(&key) {
            return Err(err.into());
        }
        let main = BundleFile {
            name: path.to_path_buf(),
            format: Format::Nickel,
            text: text.clone(),
            on_disk,
        };
        let main = match D::CONTRACT {
            None => main,
            Some((schema, contract)) => contracted(main, schema, contract),
        };
        let display_fn = |p: &Path| self.evaluator.display(p);
        let bundle = sandbox::gather(main, sandbox, &self.evaluator.options().limits, &display_fn)?;
        let deps_read: Vec<(PathBuf, [u8; 32])> = bundle
            .disk_files()
            .map(|f| (f.name.clone(), sha256(f.text.as_bytes())))
            .collect();

        self.stats.evaluations.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            kind = D::KIND,
            file = ?path,
            "evaluating with nickel"
        );
        let prepared = Prepared {
            display,
            text,
            key,
            deps_read,
            started,
        };
        Ok((prepared, bundle))
    }

    /// The document made of an evaluation's `result`; a timeout is
    /// remembered (see [`TIMEOUT_MEMO`]).
    fn finish<D: Document>(
        &self,
        prepared: Prepared,
        result: Result<Evaluated, NclError>,
    ) -> Result<Checked<D>, LoadError> {
        let Prepared {
            display,
            text,
            key,
            deps_read,
            started,
        } = prepared;
        let evaluated = match result {
            Ok(evaluated) => evaluated,
            Err(err) => {
                if matches!(err, NclError::Timeout { .. }) {
                    self.remember_timeout(key, &err);
                }
                return Err(err.into());
            }
        };
        let source = Source {
            display: &display,
            text: &text,
            key,
        };
        let doc = Arc::new(D::from_value(evaluated.value, &source)?);
        Ok(Checked {
            doc,
            key,
            deps_read,
            started,
        })
    }

    fn key<D: Document>(&self, path: &Path, main_sha: &[u8; 32], sandbox: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(DISK_FORMAT.to_le_bytes());
        h.update(D::KIND.as_bytes());
        h.update(D::VERSION.to_le_bytes());
        h.update(self.salt);
        h.update(sandbox);
        h.update(path.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(main_sha);
        h.finalize().into()
    }

    fn disk_path<D: Document>(&self, path: &Path) -> Option<PathBuf> {
        let dir = self.disk.as_ref()?;
        let name = sha256(path.as_os_str().as_encoded_bytes());
        Some(dir.join(format!(
            "{}-{}.bin",
            D::KIND,
            &crate::hex::encode(&name)[..32]
        )))
    }

    fn remembered_timeout(&self, key: &[u8; 32]) -> Option<NclError> {
        let mut memo = self.timeouts.lock().unwrap_or_else(|e| e.into_inner());
        memo.retain(|_, (at, _, _)| at.elapsed() < TIMEOUT_MEMO);
        memo.get(key).map(|(_, file, limit_ms)| NclError::Timeout {
            file: file.clone(),
            limit_ms: *limit_ms,
            stuck: self.evaluator.stuck(),
        })
    }

    fn remember_timeout(&self, key: [u8; 32], err: &NclError) {
        if let NclError::Timeout { file, limit_ms, .. } = err {
            let mut memo = self.timeouts.lock().unwrap_or_else(|e| e.into_inner());
            memo.insert(key, (Instant::now(), file.clone(), *limit_ms));
        }
    }

    /// A verified disk entry, or `None` (absent, corrupt, foreign or stale).
    /// `main_stamp` is `None` for an embedded file (its content is part of
    /// the key's salt).
    fn read_disk<D: Document>(
        &self,
        path: &Path,
        main_stamp: Option<Stamp>,
        sandbox: &[u8; 32],
    ) -> Option<(D, Vec<Dep>)> {
        let file = self.disk_path::<D>(path)?;
        let (backing, len) = read_entry(&file)?;
        if matches!(backing, Backing::Mapped(_)) {
            self.stats.mapped.fetch_add(1, Ordering::Relaxed);
        }
        let result = backing
            .bytes()
            .get(..len)
            .and_then(|bytes| self.verify_disk::<D>(bytes, path, main_stamp, sandbox))
            .and_then(|verified| {
                let doc = D::from_payload(&backing, verified.payload.clone())?;
                if let Some(header) = &verified.refresh
                    && let Some(payload) = backing.bytes().get(verified.payload.clone())
                    && let Err(e) = write_entry(&file, header, payload)
                {
                    tracing::debug!(cache = %file.display(), error = %e, "disk cache entry not refreshed");
                }
                Some((doc, verified.deps))
            });
        if result.is_none() {
            tracing::debug!(cache = %file.display(), "disk cache entry ignored (stale, foreign or corrupt)");
        }
        result
    }

    /// Where a disk entry's payload lies in `bytes`, and its dependencies,
    /// when the entry is this build's, for this file, unchanged and intact.
    fn verify_disk<D: Document>(
        &self,
        bytes: &[u8],
        path: &Path,
        main_stamp: Option<Stamp>,
        sandbox: &[u8; 32],
    ) -> Option<Verified> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (len, rest) = rest.split_at_checked(4)?;
        let header_len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let (header, _) = rest.split_at_checked(header_len)?;
        let header: DiskHeader = postcard::from_bytes(header).ok()?;
        let start = payload_start(header_len)?;
        let payload = bytes.get(start..)?;
        if header.payload_len != payload.len() as u64 {
            return None;
        }
        let max = self.evaluator.options().limits.max_file;
        let main_sha = match (main_stamp, header.deps.first()) {
            // An embedded main: its content is the binary's.
            (None, _) => sha256(embedded_file(path)?),
            (Some(_), Some(main)) if main.path == path => main.sha256,
            _ => return None,
        };
        let now = SystemTime::now();
        let mut deps = Vec::with_capacity(header.deps.len());
        let mut rehashed = false;
        for (i, dep) in header.deps.iter().enumerate() {
            let stamp = match main_stamp {
                Some(stamp) if i == 0 => stamp,
                _ => Stamp::of(&dep.path)?,
            };
            let trusted = dep.stamp == Some(stamp)
                && stamp.mtime.max(stamp.ctime) + (RACY_WINDOW.as_nanos() as i128)
                    < header.written_at;
            if !trusted {
                self.stats.rehashed.fetch_add(1, Ordering::Relaxed);
                rehashed = true;
                let content = fsread::read(&dep.path, max, Links::Follow).ok()?;
                if sha256(&content) != dep.sha256 {
                    return None;
                }
            }
            deps.push(Dep {
                path: dep.path.clone(),
                stamp: Some(stamp),
                sha256: dep.sha256,
                racy: stamp.is_racy(now),
            });
        }
        // The key binds the entry to this build, these schemas, this sandbox,
        // this path and the main file's content.
        if header.key != self.key::<D>(path, &main_sha, sandbox) {
            return None;
        }
        if xxh3_64(payload) != header.payload_xxh3 {
            return None;
        }
        // A file that had to be re-read (its stamp was racy when the entry
        // was written) and has aged since is trusted from now on: the entry
        // is written again with today's stamps, or every later start would
        // read and hash it again.
        let refresh = (rehashed && deps.iter().all(|d| !d.racy))
            .then(|| DiskHeader::now(header.key, &deps, payload));
        Some(Verified {
            payload: start..bytes.len(),
            deps,
            refresh,
        })
    }

    fn write_disk<D: Document>(&self, path: &Path, key: &[u8; 32], deps: &[Dep], doc: &D) {
        let Some(file) = self.disk_path::<D>(path) else {
            return;
        };
        if let Err(e) = write_disk_entry(&file, key, deps, doc) {
            tracing::debug!(cache = %file.display(), error = %e, "disk cache not written");
        }
    }
}

impl Evaluator {
    /// Evaluations still running past their limit.
    pub fn stuck(&self) -> usize {
        self.stuck.load(Ordering::Relaxed)
    }
}

/// `probe` (the file `path`, or the directory it is to be created in)
/// admitted by `sandbox`, or the refusal naming `path`.
fn admit(sandbox: &Sandbox, probe: &Path, path: &Path, display: &str) -> Result<PathBuf, NclError> {
    sandbox
        .admit(probe)
        .map_err(|reason| NclError::ImportDenied {
            file: display.to_owned(),
            line: None,
            import: crate::echo::clip(&path.display().to_string()),
            reason,
        })
}

/// Whether every dependency is unchanged; re-hashes racy files (of at
/// most `max` bytes).
fn fresh(deps: &mut [Dep], max: u64) -> bool {
    let now = SystemTime::now();
    for dep in deps.iter_mut() {
        let Some(recorded) = dep.stamp else {
            return false;
        };
        let Some(stamp) = Stamp::of(&dep.path) else {
            return false;
        };
        if stamp != recorded {
            return false;
        }
        if dep.racy {
            let Ok(bytes) = fsread::read(&dep.path, max, Links::Follow) else {
                return false;
            };
            if sha256(&bytes) != dep.sha256 {
                return false;
            }
            dep.racy = stamp.is_racy(now);
        }
    }
    true
}

/// Stamps every file an evaluation read, with the sha256 of the content it
/// was given. Returns `clean = false` when a file changed after reading
/// began (`started`): the value may reflect either version, so the entry is
/// kept for this call only (its stamps are dropped) and not persisted.
fn stamp_deps(files: &[(PathBuf, [u8; 32])], started: SystemTime) -> (Vec<Dep>, bool) {
    let started_ns = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let now = SystemTime::now();
    let mut clean = true;
    let mut deps = Vec::with_capacity(files.len());
    for (path, sha) in files {
        let stamp = Stamp::of(path);
        let ok = stamp.is_some_and(|s| s.mtime.max(s.ctime) < started_ns);
        clean &= ok;
        deps.push(Dep {
            path: path.clone(),
            stamp: if ok { stamp } else { None },
            sha256: *sha,
            racy: stamp.is_none_or(|s| s.is_racy(now)),
        });
    }
    (deps, clean)
}

/// A synthetic main that applies `contract` of the embedded `schema` to
/// `file`, so a file that leaves its contract out is still checked. Public
/// only for the `loader_prechecks` fuzz target, which checks that no file
/// name can inject an import into the synthetic source.
#[doc(hidden)]
pub fn contracted(file: BundleFile, schema: &str, contract: &str) -> BundleFile {
    let schema_path = Path::new(sandbox::EMBEDDED_ROOT).join(schema);
    let text = format!(
        "let schema = import {} in\n(import {}) | schema.{contract}\n",
        quoted(&schema_path),
        quoted(&file.name)
    );
    let mut name = file.name.clone().into_os_string();
    name.push(format!("#{contract}"));
    BundleFile {
        name: PathBuf::from(name),
        format: Format::Nickel,
        text,
        on_disk: false,
    }
}

/// The bytes of the entry `file`: mapped when large (a warm start of a
/// 10,000-entry store then reads its 16 MB where the page cache holds them,
/// instead of copying them first), read into memory otherwise.
/// With the entry's length (a heap backing is padded to whole words).
fn read_entry(file: &Path) -> Option<(Backing, usize)> {
    const MAP_FROM: u64 = 256 * 1024;
    match fsread::map_own(file, MAP_FROM, MAX_DISK_ENTRY) {
        Ok(Some(map)) => {
            let len = map.bytes().len();
            return Some((Backing::Mapped(std::sync::Arc::new(map)), len));
        }
        Ok(None) => {}
        Err(_) => return None,
    }
    let (words, len) = fsread::read_aligned(file, MAX_DISK_ENTRY, Links::Refuse).ok()?;
    Some((Backing::from_words(words), len))
}

/// Where the payload of an entry whose header is `header_len` bytes starts:
/// after the magic, the header's length and the header, at the next multiple
/// of 8 (a packed document is read where it lies, its `u32`s aligned).
fn payload_start(header_len: usize) -> Option<usize> {
    MAGIC
        .len()
        .checked_add(4)?
        .checked_add(header_len)?
        .checked_next_multiple_of(8)
}

fn write_disk_entry<D: Document>(
    file: &Path,
    key: &[u8; 32],
    deps: &[Dep],
    doc: &D,
) -> std::io::Result<()> {
    let payload = doc
        .to_payload()
        .ok_or_else(|| std::io::Error::other("the document cannot be written"))?;
    write_entry(file, &DiskHeader::now(*key, deps, &payload), &payload)
}

/// Writes an entry (magic, header, padding, payload) to `file` atomically.
fn write_entry(file: &Path, header: &DiskHeader, payload: &[u8]) -> std::io::Result<()> {
    let header = postcard::to_stdvec(header).map_err(std::io::Error::other)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(
        &u32::try_from(header.len())
            .map_err(std::io::Error::other)?
            .to_le_bytes(),
    )?;
    tmp.write_all(&header)?;
    let start =
        payload_start(header.len()).ok_or_else(|| std::io::Error::other("header too large"))?;
    let pad = start - (MAGIC.len() + 4 + header.len());
    tmp.write_all(&[0u8; 8][..pad])?;
    tmp.write_all(payload)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contracted_main_imports_exactly_the_schema_and_the_file() {
        // Names a project path may hold: quotes, backslashes, interpolation, a lone CR (the
        // loader_prechecks fuzz target found the scan stopping there) and CRLF (which Nickel
        // reads as LF unless it is escaped).
        for name in [
            "/p/plain.ncl",
            "/p/a \"b\" \\c %{d} %e.ncl",
            "/p/a\rb.ncl",
            "/p/a\r\nb\n.ncl",
        ] {
            let file = BundleFile {
                name: PathBuf::from(name),
                format: Format::Nickel,
                text: String::new(),
                on_disk: true,
            };
            let main = contracted(file, "schemas/vault.ncl", "Scope");
            let scan = crate::nickel::scan::scan(&main.text).unwrap();
            assert_eq!(scan.lexical_error, None, "{name:?}");
            let paths: Vec<_> = scan.imports.iter().map(|i| i.path.as_str()).collect();
            assert_eq!(paths, ["/<ontoref>/schemas/vault.ncl", name], "{name:?}");
        }
    }
}
