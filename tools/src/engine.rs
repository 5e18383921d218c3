//! The engine every tool runs against: the project being served, its Nickel
//! evaluator and document cache. One engine serves every transport and the
//! CLI alike.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::adr::{Adr, AdrSet, is_adr_file};
use crate::backlog::Backlog;
use crate::corpus::{Corpus, Fingerprint};
use crate::embedded::SCHEMAS;
use crate::error::ToolError;
use crate::explain::PathIndex;
use crate::manifest::Manifest;
use crate::model::{Document, Skipped};
use crate::modes::{BASE, Hierarchy, Level, LevelIndex, Mode, Workflow, assemble, modes_dir};
use crate::nickel::cache::{FileStamp, Loader};
use crate::nickel::sandbox::{EMBEDDED_ROOT, Limits, Sandbox};
use crate::nickel::{EvalOptions, Evaluator, Isolation};
use crate::ontologies::snapshot::{self, DocCache, Snapshot, Stamps};
use crate::ontology::{Core, GateDoc, StateDoc};
use crate::project::{Project, config_home};
use crate::qa::QaStore;
use crate::vault::VaultState;
use crate::vault::settings::VaultPaths;
use crate::watch::Watch;

/// Identifies this build; disk cache entries of other builds are ignored.
pub const BUILD_ID: &str = env!("ONTOREF_BUILD_ID");

/// How to build an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `--project DIR`.
    pub project: Option<PathBuf>,
    /// The value of `ONTOREF_PROJECT_ROOT`.
    pub project_env: Option<OsString>,
    /// Where discovery starts; the working directory by default.
    pub cwd: Option<PathBuf>,
    /// Cache directory; `ONTOREF_CACHE_DIR`, else the user's cache dir.
    pub cache_dir: Option<PathBuf>,
    /// Persist evaluated documents on disk.
    pub disk_cache: bool,
    /// Limit for one Nickel evaluation.
    pub eval_timeout: Duration,
    /// Evaluations allowed at once.
    pub eval_slots: usize,
    /// Who is asking (`--actor`, `ONTOREF_ACTOR`): the vault gate's actor.
    pub actor: Option<String>,
    /// The config home; `ONTOREF_CONFIG_HOME`, else `~/.config/ontoref`.
    pub config_home: Option<PathBuf>,
    /// How long an issued credential directory lives.
    pub credential_ttl: Duration,
    /// Where credential directories are made; see [`crate::private::runtime_dir`].
    pub runtime_dir: Option<PathBuf>,
    /// Directories knowledge files may import from besides the project
    /// (`--import-path`, `ONTOREF_IMPORT_PATH`), searched in order after
    /// the project's own and before the embedded schemas.
    pub import_paths: Vec<PathBuf>,
    /// Where evaluations run: the binary uses worker processes.
    pub isolation: Isolation,
    /// Whether this process removes the credential directories it issues
    /// (at expiry and on exit). A one-shot CLI leaves that to a reaper.
    pub own_credential_dirs: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            project: None,
            project_env: None,
            cwd: None,
            cache_dir: None,
            disk_cache: true,
            eval_timeout: Duration::from_secs(10),
            eval_slots: 4,
            actor: None,
            config_home: None,
            credential_ttl: Duration::from_secs(300),
            runtime_dir: None,
            own_credential_dirs: true,
            import_paths: Vec::new(),
            isolation: Isolation::InProcess,
        }
    }
}

impl EngineConfig {
    /// Defaults, with `ONTOREF_PROJECT_ROOT`, `ONTOREF_CACHE_DIR`,
    /// `ONTOREF_ACTOR` and `ONTOREF_IMPORT_PATH` (`:`-separated) read from the
    /// environment.
    pub fn from_env() -> Self {
        EngineConfig {
            import_paths: std::env::var_os("ONTOREF_IMPORT_PATH")
                .map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            actor: std::env::var("ONTOREF_ACTOR")
                .ok()
                .filter(|a| !a.is_empty()),
            project_env: std::env::var_os("ONTOREF_PROJECT_ROOT"),
            cache_dir: std::env::var_os("ONTOREF_CACHE_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            ..EngineConfig::default()
        }
    }
}

/// The project being served and the means to load it.
#[derive(Debug)]
pub struct Engine {
    project: Project,
    loader: Loader,
    cache_dir: Option<PathBuf>,
    corpus: std::sync::Mutex<Option<(Fingerprint, Arc<Corpus>)>>,
    adr_set: std::sync::Mutex<Option<Kept<AdrStamps, Arc<AdrSet>>>>,
    ontologies: std::sync::Mutex<Option<Kept<Stamps, Option<Arc<Snapshot>>>>>,
    ontology_docs: Arc<DocCache>,
    path_index: std::sync::Mutex<Option<Arc<PathIndex>>>,
    mtimes: std::sync::Mutex<std::collections::HashMap<PathBuf, (u64, Option<SystemTime>)>>,
    actor: Option<String>,
    config_home: PathBuf,
    vault: VaultState,
    own_credential_dirs: bool,
    config: EngineConfig,
    escrow: std::sync::OnceLock<crate::escrow::SecretEscrow>,
}

/// A cached value with the stamps it was built from and the watch
/// generation it may be trusted at (see [`Engine::watch`]).
type Kept<S, T> = (S, Option<u64>, T);

/// The ADR files an [`AdrSet`] was built from, with their stamps.
type AdrStamps = Vec<(std::path::PathBuf, Option<FileStamp>)>;

impl Engine {
    /// Resolves the project and prepares evaluation.
    pub fn new(config: EngineConfig) -> Result<Engine, ToolError> {
        Engine::build(config, None)
    }

    /// An engine for the project at `root`, configured like this one and
    /// sharing its evaluation slots and workers.
    pub fn for_other_project(&self, root: &Path) -> Result<Engine, ToolError> {
        Engine::build(
            EngineConfig {
                project: Some(root.to_path_buf()),
                project_env: None,
                ..self.config.clone()
            },
            Some(self.loader.evaluator()),
        )
    }

    fn build(config: EngineConfig, shared: Option<&Evaluator>) -> Result<Engine, ToolError> {
        let cache_dir = if config.disk_cache {
            usable_cache_dir(config.cache_dir.clone())
        } else {
            None
        };
        let cwd = config
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        // The embedded template, when it is the project, is written to the
        // cache directory, else to the per-user private temporary one.
        let template_home = || match &cache_dir {
            Some(dir) => Ok(dir.clone()),
            None => crate::private::temp_dir(),
        };
        let project = Project::resolve(
            config.project.as_deref(),
            config.project_env.clone(),
            &cwd,
            template_home,
        )?;
        let config_home = config.config_home.clone().unwrap_or_else(config_home);
        let mut roots = vec![project.root().to_path_buf()];
        roots.extend(config.import_paths.iter().cloned());
        let mut import_paths = project.import_dirs();
        import_paths.extend(config.import_paths.iter().cloned());
        import_paths.push(PathBuf::from(EMBEDDED_ROOT));
        let sandbox = Sandbox::new(
            "the project (and --import-path directories)",
            &roots,
            &[config_home.join("keys"), config_home.join("vaults")],
            import_paths,
        );
        let options = EvalOptions {
            timeout: config.eval_timeout,
            isolation: config.isolation.clone(),
            limits: Limits::default(),
            display_prefixes: vec![
                (project.root().to_path_buf(), String::new()),
                (PathBuf::from(EMBEDDED_ROOT), "<ontoref>/".to_owned()),
            ],
        };
        let mut salt = Sha256::new();
        salt.update(BUILD_ID.as_bytes());
        salt.update(SCHEMAS.hash());
        let disk = cache_dir.as_ref().map(|dir| dir.join("docs"));
        let evaluator = match shared {
            Some(e) => e.sibling(options),
            None => Evaluator::new(options, config.eval_slots),
        };
        let loader = Loader::new(evaluator, sandbox, disk, salt.finalize().into());
        let runtime = match &config.runtime_dir {
            Some(dir) => Ok(dir.clone()),
            None => crate::private::runtime_dir(),
        };
        Ok(Engine {
            project,
            loader,
            cache_dir,
            corpus: std::sync::Mutex::default(),
            adr_set: std::sync::Mutex::default(),
            ontologies: std::sync::Mutex::default(),
            ontology_docs: Arc::default(),
            path_index: std::sync::Mutex::default(),
            mtimes: std::sync::Mutex::default(),
            actor: config.actor.clone().filter(|a| !a.is_empty()),
            config_home,
            vault: VaultState::new(runtime, config.credential_ttl),
            own_credential_dirs: config.own_credential_dirs,
            config,
            escrow: std::sync::OnceLock::new(),
        })
    }

    /// The configuration this engine was built from.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The sandbox for files of the config home (`config.ncl`,
    /// `projects.ncl`): the config home, never its `keys/`.
    pub fn config_sandbox(&self) -> Sandbox {
        Sandbox::new(
            "the config home",
            std::slice::from_ref(&self.config_home),
            &[self.config_home.join("keys")],
            vec![self.config_home.clone(), PathBuf::from(EMBEDDED_ROOT)],
        )
    }

    /// The sandbox for a vault's scope files: its `src-vault/`, never the
    /// config home's `keys/`.
    pub fn vault_sandbox(&self, vault: &VaultPaths) -> Sandbox {
        Sandbox::new(
            format!("the vault's src-vault/ ({})", vault.src().display()),
            &[vault.src()],
            &[self.config_home.join("keys")],
            vec![PathBuf::from(EMBEDDED_ROOT)],
        )
    }

    /// Who is asking: the actor a transport bound to this request (an HTTP
    /// token's), else the configured one.
    pub fn actor(&self) -> Option<String> {
        crate::actor::request_actor().unwrap_or_else(|| self.actor.clone())
    }

    /// The config home (vaults, `config.ncl`, `projects.ncl`).
    pub fn config_home(&self) -> &Path {
        &self.config_home
    }

    /// The vault's state: issued credential directories, decryption count.
    pub fn vault(&self) -> &VaultState {
        &self.vault
    }

    /// Where revealed secrets wait for a transport writer: a server sets one
    /// (`escrow().set(..)`) so secrets never enter a logged value; without
    /// one (the CLI) a reveal returns the values themselves.
    pub fn escrow(&self) -> &std::sync::OnceLock<crate::escrow::SecretEscrow> {
        &self.escrow
    }

    /// Whether this engine removes the credential directories it issues.
    pub fn owns_credential_dirs(&self) -> bool {
        self.own_credential_dirs
    }

    /// Removes every credential directory this engine still owns: call when
    /// a server stops.
    pub fn shutdown(&self) {
        self.vault.dirs().remove_all();
    }

    /// An engine for the project at `root`, with default settings.
    pub fn for_project(root: &Path) -> Result<Engine, ToolError> {
        Engine::new(EngineConfig {
            project: Some(root.to_path_buf()),
            ..EngineConfig::from_env()
        })
    }

    /// The project served.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The document loader and its cache.
    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The cache directory in use, when there is one that is ours.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// The document at `relative`; the empty document when the file is absent.
    async fn or_empty<D: Document + Default>(&self, relative: &str) -> Result<Arc<D>, ToolError> {
        Ok(self
            .loader
            .load::<D>(&self.project.file(relative))
            .await?
            .unwrap_or_default())
    }

    /// The ontology (`.ontology/core.ncl`); empty when absent.
    pub async fn core(&self) -> Result<Arc<Core>, ToolError> {
        self.or_empty(".ontology/core.ncl").await
    }

    /// The state dimensions (`.ontology/state.ncl`); empty when absent.
    pub async fn state(&self) -> Result<Arc<StateDoc>, ToolError> {
        self.or_empty(".ontology/state.ncl").await
    }

    /// The membranes (`.ontology/gate.ncl`); empty when absent.
    pub async fn gates(&self) -> Result<Arc<GateDoc>, ToolError> {
        self.or_empty(".ontology/gate.ncl").await
    }

    /// The backlog (`reflection/backlog.ncl`); empty when absent.
    pub async fn backlog(&self) -> Result<Arc<Backlog>, ToolError> {
        self.or_empty("reflection/backlog.ncl").await
    }

    /// The mode hierarchy: the levels of `reflection/workflow.ncl` (or the
    /// implicit single Instance level over `reflection/modes/`), plus Base
    /// with the modes shipped in the binary, each with its mode files.
    pub async fn hierarchy(&self) -> Result<Hierarchy, ToolError> {
        let root = self.project.root();
        let workflow = self
            .loader
            .load::<Workflow>(&self.project.file("reflection/workflow.ncl"))
            .await?;
        let (declared, source) = match workflow {
            Some(w) => (
                w.level_hierarchy
                    .iter()
                    .map(|l| {
                        (
                            l.index,
                            l.name.clone(),
                            Some(l.parent.clone()),
                            l.modes_dir.clone(),
                            modes_dir(root, &l.modes_dir),
                        )
                    })
                    .collect::<Vec<_>>(),
                "reflection/workflow.ncl".to_owned(),
            ),
            None => {
                let name = root.file_name().map_or_else(
                    || "project".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                (
                    vec![(
                        LevelIndex::Instance,
                        name,
                        Some(BASE.to_owned()),
                        "reflection/modes".to_owned(),
                        root.join("reflection/modes"),
                    )],
                    "(implicit: no reflection/workflow.ncl)".to_owned(),
                )
            }
        };
        let mut levels = Vec::new();
        let base = (
            LevelIndex::Base,
            BASE.to_owned(),
            None,
            "<ontoref>/modes".to_owned(),
            PathBuf::from(EMBEDDED_ROOT).join("modes"),
        );
        for (index, name, parent, shown, dir) in declared.into_iter().chain(std::iter::once(base)) {
            levels.push(self.load_level(index, name, parent, shown, &dir).await);
        }
        Ok(assemble(levels, source))
    }

    async fn load_level(
        &self,
        index: LevelIndex,
        name: String,
        parent: Option<String>,
        shown: String,
        dir: &std::path::Path,
    ) -> Level {
        let files = ncl_files(dir, |_| true);
        let mut level = Level {
            index,
            name,
            parent,
            modes_dir: shown,
            modes: Default::default(),
            skipped: Vec::new(),
            duplicates: Vec::new(),
        };
        for path in files {
            let file = self.loader.evaluator().display(&path);
            match self.loader.load::<Mode>(&path).await {
                Ok(Some(mode)) => {
                    if level.modes.contains_key(&mode.id) {
                        level.duplicates.push((mode.id.clone(), file));
                    } else {
                        level.modes.insert(mode.id.clone(), (file, mode));
                    }
                }
                Ok(None) => {}
                Err(e) => level.skipped.push((file, Arc::new(e))),
            }
        }
        level
    }

    /// Every ADR (`adrs/adr-NNN-*.ncl`), each file loaded on its own: a file
    /// that fails is listed in `skipped`, the others load. Served by a
    /// watching server, the set is kept while the watch generation has not
    /// moved (no `stat` at all) and rebuilt through the loader's cache
    /// when it has, so a change to a file an ADR imports is seen too.
    /// Without a watch it is kept while every file's stat stamp is
    /// unchanged (and none is racy): one stat per file per call.
    pub async fn adrs(&self) -> Result<Arc<AdrSet>, ToolError> {
        let dir = self.project.file("adrs");
        let generation = self.watch_generation();
        if generation.is_some()
            && let Ok(cached) = self.adr_set.lock()
            && let Some((_, seen, set)) = cached.as_ref()
            && *seen == generation
        {
            return Ok(set.clone());
        }
        let files = ncl_files(&dir, is_adr_file);
        let stamps: AdrStamps = files
            .iter()
            .map(|p| (p.clone(), FileStamp::of(p)))
            .collect();
        let trusted = stamps.iter().all(|(_, s)| s.is_some_and(|s| !s.is_racy()));
        if trusted
            && generation.is_none()
            && let Ok(cached) = self.adr_set.lock()
            && let Some((prev, _, set)) = cached.as_ref()
            && *prev == stamps
        {
            return Ok(set.clone());
        }
        let mut set = AdrSet::default();
        let loaded = self.loader.load_many::<Adr>(&files).await;
        for (path, result) in files.iter().zip(loaded) {
            let shown = self.loader.evaluator().display(path);
            match result {
                Ok(Some(adr)) => set.adrs.push((shown, adr)),
                Ok(None) => {}
                Err(e) => set.skipped.push(Skipped {
                    file: shown,
                    error: Arc::new(e),
                }),
            }
        }
        let set = Arc::new(set);
        // The set holds what the loader served: trusted at `generation` when
        // the directory is watched (each file's own imports were tracked by
        // the loader as it served them).
        let seen = self.watched_at(generation, &[dir.as_path()]);
        if let Ok(mut cached) = self.adr_set.lock() {
            *cached = Some((stamps, seen, set.clone()));
        }
        Ok(set)
    }

    /// The manifest (`.ontology/manifest.ncl`), when there is one.
    pub async fn manifest(&self) -> Result<Option<Arc<Manifest>>, ToolError> {
        self.loader
            .load::<Manifest>(&self.project.file(".ontology/manifest.ncl"))
            .await
            .map_err(ToolError::from)
    }

    /// `.ontoref/project.ncl`, when there is one.
    pub async fn project_file(
        &self,
    ) -> Result<Option<Arc<crate::project::ProjectFile>>, ToolError> {
        self.loader
            .load::<crate::project::ProjectFile>(&self.project.file(".ontoref/project.ncl"))
            .await
            .map_err(ToolError::from)
    }

    /// The slot the cross-kind search's corpus is kept in, with the
    /// fingerprint of the documents it was built from
    /// (`overview::corpus` fills it).
    pub fn corpus_slot(&self) -> &std::sync::Mutex<Option<(Fingerprint, Arc<Corpus>)>> {
        &self.corpus
    }

    /// The project's ontology snapshot (`.ontoref/ontologies/`), `None`
    /// when nothing is vendored. An opened snapshot is kept while the stat
    /// stamps of its directory, lock, index, `snapshot.json` and stale
    /// record are unchanged (and none is racy); parsed files and resolved
    /// views are kept across snapshots, keyed by content.
    pub fn ontology_snapshot(&self) -> Result<Option<Arc<Snapshot>>, ToolError> {
        let root = self.project.root();
        let generation = self.watch_generation();
        if generation.is_some()
            && let Ok(cached) = self.ontologies.lock()
            && let Some((_, seen, snapshot)) = cached.as_ref()
            && *seen == generation
        {
            return Ok(snapshot.clone());
        }
        let stamps = Stamps::of(root);
        let dir = root.join(snapshot::SNAPSHOT_DIR);
        let seen = match dir.parent() {
            Some(parent) => self.watched_at(generation, &[parent, dir.as_path()]),
            None => None,
        };
        if stamps.trusted()
            && let Ok(mut cached) = self.ontologies.lock()
            && let Some((prev, kept, snapshot)) = cached.as_mut()
            && *prev == stamps
        {
            *kept = seen;
            return Ok(snapshot.clone());
        }
        let snapshot = Snapshot::open_with(root, self.ontology_docs.clone())?.map(Arc::new);
        if let Ok(mut cached) = self.ontologies.lock() {
            *cached = Some((
                stamps,
                if snapshot.is_some() { seen } else { None },
                snapshot.clone(),
            ));
        }
        Ok(snapshot)
    }

    /// Starts watching the project's knowledge directories, so caches
    /// answer without a `stat` while nothing changed and [`Engine::changes`]
    /// reports every change (what a server does; a one-shot CLI does not).
    /// The error says why the platform refused a watcher; the engine then
    /// keeps validating by stat, as without one.
    pub fn watch(&self) -> Result<(), String> {
        if self.loader.watch().is_some() {
            return Ok(());
        }
        let watch = Arc::new(Watch::start()?);
        let root = self.project.root();
        // The root sees knowledge directories appear; each directory sees
        // its files come, go and change. Directories of other files (a
        // mode level elsewhere, an import) are watched as they are read.
        watch.track(root);
        for dir in WATCHED_DIRS {
            watch.track(&root.join(dir));
        }
        self.loader.set_watch(watch);
        Ok(())
    }

    /// Every change to the watched knowledge files from now on (the value
    /// is the watch generation); `None` when the engine does not watch.
    pub fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.loader.watch().map(|w| w.changes())
    }

    /// When the file at `path` was last modified (`None` when it does not
    /// exist). A watching engine remembers it while nothing changed, so
    /// a resource's `lastModified` costs no `stat` per read.
    pub fn modified(&self, path: &Path) -> Option<SystemTime> {
        let generation = self.watch_generation();
        if let Some(generation) = generation
            && let Ok(known) = self.mtimes.lock()
            && let Some((seen, at)) = known.get(path)
            && *seen == generation
        {
            return *at;
        }
        let at = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if let Some(dir) = path.parent()
            && let Some(seen) = self.watched_at(generation, &[dir])
            && let Ok(mut known) = self.mtimes.lock()
        {
            // Bounded by the knowledge files there are; dropped wholesale
            // if a project somehow names very many.
            if known.len() > 4096 {
                known.clear();
            }
            known.insert(path.to_path_buf(), (seen, at));
        }
        at
    }

    /// The watch generation now, when the engine watches.
    fn watch_generation(&self) -> Option<u64> {
        self.loader.watch().map(|w| w.generation())
    }

    /// `generation`, when there is one and every directory of `dirs` is
    /// watched: the generation a cache built from them may be trusted at.
    fn watched_at(&self, generation: Option<u64>, dirs: &[&Path]) -> Option<u64> {
        let watch = self.loader.watch()?;
        let generation = generation?;
        dirs.iter().all(|d| watch.track(d)).then_some(generation)
    }

    /// The project's ontology snapshot; `ontology-not-vendored` when there
    /// is none.
    pub fn ontologies(&self) -> Result<Arc<Snapshot>, ToolError> {
        self.ontology_snapshot()?
            .ok_or_else(|| snapshot::not_vendored(self.project.root()).into())
    }

    /// The reverse index of the ontology's `artifact_paths`
    /// (`explain::PathIndex`), built once per loaded core: kept while
    /// [`Engine::core`] returns the same document.
    pub async fn path_index(&self) -> Result<Arc<PathIndex>, ToolError> {
        let core = self.core().await?;
        if let Ok(cached) = self.path_index.lock()
            && let Some(index) = cached.as_ref()
            && Arc::ptr_eq(index.core(), &core)
        {
            return Ok(index.clone());
        }
        let index = Arc::new(PathIndex::new(core));
        if let Ok(mut cached) = self.path_index.lock() {
            *cached = Some(index.clone());
        }
        Ok(index)
    }

    /// The Q&A store; empty when `reflection/qa.ncl` does not exist.
    pub async fn qa(&self) -> Result<Arc<QaStore>, ToolError> {
        self.or_empty("reflection/qa.ncl").await
    }

    /// Loads the Q&A store ahead of a first call (a server starts this as
    /// it starts, so the store is read while the client initializes): the
    /// file every search and show reads, and the largest. An error is left
    /// for the call that reads the store to report.
    pub async fn warm(&self) {
        if let Err(e) = self.qa().await {
            tracing::debug!(
                code = e.code(),
                "the Q&A store was not loaded ahead of a call"
            );
        }
    }
}

/// The project directories a watching engine watches from the start.
const WATCHED_DIRS: &[&str] = &[
    ".ontology",
    "reflection",
    "reflection/modes",
    "adrs",
    ".ontoref",
    ".ontoref/ontologies",
];

/// The `.ncl` files of `dir` whose names pass `keep`, sorted; none when the
/// directory does not exist. Under [`EMBEDDED_ROOT`], the binary's own.
fn ncl_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    if let Ok(rest) = dir.strip_prefix(EMBEDDED_ROOT) {
        return SCHEMAS
            .dir_files(rest)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "ncl"))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
            .map(|p| Path::new(EMBEDDED_ROOT).join(p))
            .collect();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ncl"))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The configured cache directory (`ONTOREF_CACHE_DIR`, else the user's
/// cache directory) when it can be created and is ours: a directory of this
/// user that nobody else can write. Anything else is never used; ontoref
/// warns and runs without a disk cache (it never falls back to a shared
/// temporary directory someone else could have prepared).
fn usable_cache_dir(configured: Option<PathBuf>) -> Option<PathBuf> {
    let dir = configured.or_else(|| dirs::cache_dir().map(|d| d.join("ontoref")))?;
    match crate::private::ensure(&dir, crate::private::Mode::NoForeignWrites) {
        Ok(dir) => Some(dir),
        Err(why) => {
            tracing::warn!(
                "not using the cache directory: {why}; running without the disk cache \
                 (set ONTOREF_CACHE_DIR to a directory of yours)"
            );
            None
        }
    }
}
