//! The engine every tool runs against: the project being served, its Nickel
//! evaluator and document cache. One engine serves every transport and the
//! CLI alike.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::adr::{Adr, AdrSet, Skipped, is_adr_file};
use crate::backlog::Backlog;
use crate::embedded::SCHEMAS;
use crate::error::ToolError;
use crate::modes::{BASE, Hierarchy, Level, LevelIndex, Mode, Workflow, assemble, modes_dir};
use crate::nickel::cache::Loader;
use crate::nickel::{EvalOptions, Evaluator};
use crate::ontology::{Core, GateDoc, StateDoc};
use crate::project::{Project, ProjectError};
use crate::qa::QaStore;

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
        }
    }
}

impl EngineConfig {
    /// Defaults, with `ONTOREF_PROJECT_ROOT` and `ONTOREF_CACHE_DIR` read
    /// from the environment.
    pub fn from_env() -> Self {
        EngineConfig {
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
    cache_dir: PathBuf,
    schemas_dir: PathBuf,
}

impl Engine {
    /// Resolves the project and prepares evaluation.
    pub fn new(config: EngineConfig) -> Result<Engine, ToolError> {
        let cache_dir = usable_cache_dir(config.cache_dir.clone());
        let cwd = config
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        let project = Project::resolve(
            config.project.as_deref(),
            config.project_env.clone(),
            &cwd,
            &cache_dir,
        )?;
        let schemas =
            SCHEMAS
                .materialize(&cache_dir)
                .map_err(|e| ProjectError::TemplateUnavailable {
                    dir: cache_dir.display().to_string(),
                    reason: e.to_string(),
                })?;
        let mut import_paths = project.import_dirs();
        import_paths.push(schemas.clone());
        let schemas_dir = schemas.clone();
        let options = EvalOptions {
            timeout: config.eval_timeout,
            max_file_size: 64 * 1024 * 1024,
            import_paths,
            display_prefixes: vec![
                (project.root().to_path_buf(), String::new()),
                (schemas, "<ontoref>/".to_owned()),
            ],
        };
        let mut salt = Sha256::new();
        salt.update(BUILD_ID.as_bytes());
        salt.update(SCHEMAS.hash());
        let disk = config.disk_cache.then(|| cache_dir.join("docs"));
        let loader = Loader::new(
            Evaluator::new(options, config.eval_slots),
            disk,
            salt.finalize().into(),
        );
        Ok(Engine {
            project,
            loader,
            cache_dir,
            schemas_dir,
        })
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

    /// The cache directory in use.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// The ontology (`.ontology/core.ncl`); empty when absent.
    pub async fn core(&self) -> Result<Arc<Core>, ToolError> {
        Ok(self
            .loader
            .load::<Core>(&self.project.file(".ontology/core.ncl"))
            .await?
            .unwrap_or_default())
    }

    /// The state dimensions (`.ontology/state.ncl`); empty when absent.
    pub async fn state(&self) -> Result<Arc<StateDoc>, ToolError> {
        Ok(self
            .loader
            .load::<StateDoc>(&self.project.file(".ontology/state.ncl"))
            .await?
            .unwrap_or_default())
    }

    /// The membranes (`.ontology/gate.ncl`); empty when absent.
    pub async fn gates(&self) -> Result<Arc<GateDoc>, ToolError> {
        Ok(self
            .loader
            .load::<GateDoc>(&self.project.file(".ontology/gate.ncl"))
            .await?
            .unwrap_or_default())
    }

    /// The backlog (`reflection/backlog.ncl`); empty when absent.
    pub async fn backlog(&self) -> Result<Arc<Backlog>, ToolError> {
        Ok(self
            .loader
            .load::<Backlog>(&self.project.file("reflection/backlog.ncl"))
            .await?
            .unwrap_or_default())
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
            self.schemas_dir.join("modes"),
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
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "ncl"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
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
                Err(e) => level.skipped.push((file, e.body())),
            }
        }
        level
    }

    /// Every ADR (`adrs/adr-NNN-*.ncl`), each file loaded on its own: a file
    /// that fails is listed in `skipped`, the others load.
    pub async fn adrs(&self) -> Result<AdrSet, ToolError> {
        let dir = self.project.file("adrs");
        let mut files: Vec<std::path::PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_adr_file)
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        let mut set = AdrSet::default();
        for path in files {
            let shown = self.loader.evaluator().display(&path);
            match self.loader.load::<Adr>(&path).await {
                Ok(Some(adr)) => set.adrs.push((shown, adr)),
                Ok(None) => {}
                Err(e) => set.skipped.push(Skipped {
                    file: shown,
                    error: e.body(),
                }),
            }
        }
        Ok(set)
    }

    /// The Q&A store; empty when `reflection/qa.ncl` does not exist.
    pub async fn qa(&self) -> Result<Arc<QaStore>, ToolError> {
        Ok(self
            .loader
            .load::<QaStore>(&self.project.qa_path())
            .await?
            .unwrap_or_default())
    }
}

/// The configured cache directory if it can be created, else a private one
/// under the system temporary directory.
fn usable_cache_dir(configured: Option<PathBuf>) -> PathBuf {
    let preferred = configured.or_else(|| dirs::cache_dir().map(|d| d.join("ontoref")));
    if let Some(dir) = preferred
        && std::fs::create_dir_all(&dir).is_ok()
    {
        return dir;
    }
    let fallback = std::env::temp_dir().join(format!("ontoref-cache-{}", whoami()));
    let _ = std::fs::create_dir_all(&fallback);
    fallback
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "user".to_owned())
}
