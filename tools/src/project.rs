//! Which project ontoref serves, and where its files are.
//!
//! The root is `--project DIR`, else `ONTOREF_PROJECT_ROOT`, else the nearest
//! ancestor of the working directory holding `.ontoref/` or
//! `reflection/qa.ncl`, else the agent-first template embedded in the binary
//! (written under the cache directory, or the private temporary directory,
//! and checked against the binary each time it is used).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::codes::{ErrorCodes, variant};
use crate::embedded::TEMPLATE;

/// How the project root was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProjectOrigin {
    /// `--project DIR`.
    Flag,
    /// `ONTOREF_PROJECT_ROOT`.
    Env,
    /// Found above the working directory.
    Discovered,
    /// The embedded agent-first template.
    Embedded,
}

/// A project root could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// The named root does not exist or is not a directory.
    #[error("project root {path} (from {from}) is not a directory")]
    NotADirectory {
        /// The path given.
        path: String,
        /// Where it came from: `--project` or `ONTOREF_PROJECT_ROOT`.
        from: &'static str,
    },
    /// The embedded template could not be written to disk.
    #[error("cannot write the embedded template under {dir}: {reason}")]
    TemplateUnavailable {
        /// The directory tried.
        dir: String,
        /// The operating system's reason.
        reason: String,
    },
}

impl ProjectError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ProjectError::NotADirectory { .. } => "project-not-found",
            ProjectError::TemplateUnavailable { .. } => "template-unavailable",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            ProjectError::NotADirectory { from, .. } => format!(
                "point {from} at the repository root (the directory holding `.ontoref/` or `reflection/`)"
            ),
            ProjectError::TemplateUnavailable { .. } => {
                "set ONTOREF_CACHE_DIR to a writable directory of yours, or pass --project"
                    .to_owned()
            }
        }
    }
}

impl ErrorCodes for ProjectError {
    const VARIANTS: usize = 2;

    fn examples() -> Vec<Self> {
        vec![
            ProjectError::NotADirectory {
                path: "/no/such/dir".into(),
                from: "--project",
            },
            ProjectError::TemplateUnavailable {
                dir: "/cache".into(),
                reason: "read-only file system".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = ProjectError::VARIANTS;
        match self {
            ProjectError::NotADirectory { .. } => variant::<0, N>(),
            ProjectError::TemplateUnavailable { .. } => variant::<1, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}

/// The project being served.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    origin: ProjectOrigin,
}

impl Project {
    /// Resolves the root from the flag, the environment value and the working
    /// directory, in that order, falling back to the embedded template
    /// written (and verified) under the directory `template_home` gives.
    pub fn resolve(
        flag: Option<&Path>,
        env: Option<OsString>,
        cwd: &Path,
        template_home: impl FnOnce() -> Result<PathBuf, String>,
    ) -> Result<Project, ProjectError> {
        if let Some(dir) = flag {
            return Project::explicit(dir, ProjectOrigin::Flag, "--project");
        }
        if let Some(dir) = env.filter(|v| !v.is_empty()) {
            return Project::explicit(Path::new(&dir), ProjectOrigin::Env, "ONTOREF_PROJECT_ROOT");
        }
        if let Some(root) = discover(cwd) {
            return Ok(Project {
                root,
                origin: ProjectOrigin::Discovered,
            });
        }
        let home = template_home().map_err(|reason| ProjectError::TemplateUnavailable {
            dir: "(no private directory)".to_owned(),
            reason,
        })?;
        let root = TEMPLATE
            .materialize(&home)
            .map_err(|e| ProjectError::TemplateUnavailable {
                dir: home.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Project {
            root,
            origin: ProjectOrigin::Embedded,
        })
    }

    /// A project at `root`, which must be a directory.
    pub fn at(root: &Path) -> Result<Project, ProjectError> {
        Project::explicit(root, ProjectOrigin::Flag, "--project")
    }

    fn explicit(
        dir: &Path,
        origin: ProjectOrigin,
        from: &'static str,
    ) -> Result<Project, ProjectError> {
        match std::fs::canonicalize(dir) {
            Ok(root) if root.is_dir() => Ok(Project { root, origin }),
            _ => Err(ProjectError::NotADirectory {
                path: dir.display().to_string(),
                from,
            }),
        }
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How the root was chosen.
    pub fn origin(&self) -> ProjectOrigin {
        self.origin
    }

    /// A path relative to the root.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// `reflection/qa.ncl`.
    pub fn qa_path(&self) -> PathBuf {
        self.root.join("reflection").join("qa.ncl")
    }

    /// The project's own Nickel import directories, searched before the
    /// embedded schemas: the root and `reflection/`.
    pub fn import_dirs(&self) -> Vec<PathBuf> {
        vec![self.root.clone(), self.root.join("reflection")]
    }
}

/// `.ontoref/project.ncl`: the project's marker and settings. Only what
/// ontoref reads is typed; every other field passes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProjectFile {
    /// Short name.
    #[serde(default)]
    pub slug: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// The vault settings (`sops = { enabled, vault_id, .. }`).
    #[serde(default)]
    pub sops: Option<crate::vault::settings::SopsSettings>,
    /// The MIF ontologies it vendors (`ontologies = { source, enable, trust }`).
    #[serde(default)]
    pub ontologies: Option<crate::ontologies::settings::OntologiesSettings>,
}

crate::model::config_document!(ProjectFile, "project", "sops");

/// `<config home>/projects.ncl`: `projects = [{ slug, root }]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Registered {
    /// The projects.
    #[serde(default)]
    pub projects: Vec<RegisteredProject>,
}

/// One registered project.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegisteredProject {
    /// Short name.
    pub slug: String,
    /// Root directory.
    pub root: String,
}

crate::model::config_document!(Registered, "projects", "projects");

/// ontoref's config home: `$ONTOREF_CONFIG_HOME`, else `~/.config/ontoref`.
pub fn config_home() -> PathBuf {
    std::env::var_os("ONTOREF_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("ontoref")))
        .unwrap_or_else(|| PathBuf::from(".config/ontoref"))
}

/// The nearest ancestor of `cwd` holding `.ontoref/` or `reflection/qa.ncl`.
fn discover(cwd: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    start
        .ancestors()
        .find(|dir| dir.join(".ontoref").is_dir() || dir.join("reflection/qa.ncl").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_env_discovery_template() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        let nested = b.join("src/deep");
        std::fs::create_dir_all(a.join(".ontoref")).unwrap();
        std::fs::create_dir_all(b.join("reflection")).unwrap();
        std::fs::write(b.join("reflection/qa.ncl"), "{}").unwrap();
        std::fs::create_dir_all(&nested).unwrap();
        let cache = tmp.path().join("cache");
        let home = || Ok(cache.clone());
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap();

        let p = Project::resolve(Some(&a), Some(b.clone().into()), &nested, home).unwrap();
        assert_eq!(
            (p.root(), p.origin()),
            (canon(&a).as_path(), ProjectOrigin::Flag)
        );
        let p = Project::resolve(None, Some(a.clone().into()), &nested, home).unwrap();
        assert_eq!(
            (p.root(), p.origin()),
            (canon(&a).as_path(), ProjectOrigin::Env)
        );
        let p = Project::resolve(None, None, &nested, home).unwrap();
        assert_eq!(
            (p.root(), p.origin()),
            (canon(&b).as_path(), ProjectOrigin::Discovered)
        );
        let lonely = tmp.path().join("lonely");
        std::fs::create_dir_all(&lonely).unwrap();
        let p = Project::resolve(None, None, &lonely, home).unwrap();
        assert_eq!(p.origin(), ProjectOrigin::Embedded);
        assert!(p.qa_path().is_file());
    }

    #[test]
    fn a_missing_explicit_root_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Project::resolve(Some(&tmp.path().join("nope")), None, tmp.path(), || {
            Ok(tmp.path().to_path_buf())
        })
        .unwrap_err();
        assert_eq!(err.code(), "project-not-found");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
