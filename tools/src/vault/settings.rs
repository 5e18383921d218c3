//! The vault's declarative settings and where its files live: the project's
//! `sops` record, the config home's `config.ncl`, a role's scope file, and the
//! vault directory layout (`<config home>/vaults/<vault_id>/`). Nothing here
//! holds or reads a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::config_document;

/// `.ontoref/project.ncl` → `sops`: the project's vault settings. The
/// default is the empty record of a project without a vault (disabled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SopsSettings {
    /// Whether the vault is in use.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The vault's id; the project's slug when absent.
    #[serde(default)]
    pub vault_id: Option<String>,
    /// The project's own age identity file, overriding the config home's.
    #[serde(default)]
    pub master_key_path: Option<String>,
    /// Whether an `'RO` scope may reveal a credential's values.
    #[serde(default)]
    pub allow_reveal: bool,
    /// Actor → role.
    #[serde(default)]
    pub actor_key_bindings: Option<BTreeMap<String, String>>,
    /// Group → age public keys.
    #[serde(default)]
    pub recipient_groups: BTreeMap<String, Vec<String>>,
    /// Which groups each file (a regex on its path relative to the vault
    /// directory) is encrypted to; the first match wins, as in sops.
    #[serde(default)]
    pub recipient_rules: Vec<RecipientRule>,
    /// `host[:port]` of the registry holding the vault.
    #[serde(default)]
    pub registry_endpoint: Option<String>,
}

fn yes() -> bool {
    true
}

/// One `recipient_rules` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientRule {
    /// Regex on the file's path relative to the vault directory.
    pub path: String,
    /// The recipient groups the file is encrypted to.
    pub groups: Vec<String>,
}

/// `<config home>/config.ncl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalConfig {
    /// `vault = { master_key_path }`.
    #[serde(default)]
    pub vault: Option<GlobalVault>,
}

/// `config.ncl` → `vault`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalVault {
    /// The actor's age identity file.
    #[serde(default)]
    pub master_key_path: Option<String>,
    /// Signing keys for vault artifacts.
    #[serde(default)]
    pub cosign: Option<CosignPaths>,
    /// Registries reached over plain HTTP (loopback always is).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// How long a registry may take to answer, in seconds (default 30).
    #[serde(default)]
    pub registry_timeout_secs: Option<f64>,
}

/// `config.ncl` → `vault.cosign`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CosignPaths {
    /// The PEM public key vault artifacts must be signed with.
    #[serde(default)]
    pub pub_path: Option<String>,
    /// The private key pushes are signed with.
    #[serde(default)]
    pub key_path: Option<String>,
    /// The transparency log's public key: when set, signatures must be
    /// logged in it (their Rekor entry and SET verify).
    #[serde(default)]
    pub rekor_pub_path: Option<String>,
}

config_document!(GlobalConfig, "config", "vault");

/// `'RO` or `'RW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Access {
    /// Read only.
    #[serde(rename = "RO")]
    Ro,
    /// Read and write.
    #[serde(rename = "RW")]
    Rw,
}

/// `src-vault/scopes/<role>.ncl`: what a role may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scope {
    /// `'RO` or `'RW`.
    pub access: Access,
    /// The actors who may use the role.
    pub bound_actor: Vec<String>,
    /// Repository globs (`*` within a segment, `**` across segments).
    pub namespaces: Vec<String>,
    /// `pull` and/or `push`.
    pub ops: Vec<String>,
}

config_document!(Scope, "scope", "access", ("schemas/vault.ncl", "Scope"));

/// Where one vault's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPaths {
    /// The vault's id.
    pub id: String,
    /// `<config home>/vaults/<id>/`.
    pub dir: PathBuf,
}

impl VaultPaths {
    /// The vault `id` under `config_home`.
    pub fn new(config_home: &Path, id: &str) -> VaultPaths {
        VaultPaths {
            id: id.to_owned(),
            dir: config_home.join("vaults").join(id),
        }
    }

    /// `src-vault/`: scopes and credential files.
    pub fn src(&self) -> PathBuf {
        self.dir.join("src-vault")
    }

    /// `src-vault/scopes/<role>.ncl`.
    pub fn scope(&self, role: &str) -> PathBuf {
        self.src().join("scopes").join(format!("{role}.ncl"))
    }

    /// `audit.jsonl`.
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// `access.sops.yaml`: the registry and vault credentials (Layer 1).
    pub fn access(&self) -> PathBuf {
        self.dir.join("access.sops.yaml")
    }

    /// `sync.json`: what the last sync installed.
    pub fn sync_state(&self) -> PathBuf {
        self.dir.join("sync.json")
    }

    /// Whether the vault has been synced (src-vault present).
    pub fn synced(&self) -> bool {
        self.src().is_dir()
    }

    /// The roles with a scope file, sorted.
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = std::fs::read_dir(self.src().join("scopes"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|n| n.strip_suffix(".ncl"))
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        roles.sort();
        roles
    }

    /// Every `*.sops.yaml` of the vault (its `access.sops.yaml` and all
    /// under `src-vault/`), as paths relative to the vault directory, sorted.
    pub fn sops_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_sops(&self.dir, &self.dir, &mut out, 0);
        out.sort();
        out
    }
}

fn collect_sops(base: &Path, dir: &Path, out: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            collect_sops(base, &path, out, depth + 1);
        } else if kind.is_file()
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".sops.yaml") && !n.starts_with('.'))
            && let Ok(rel) = path.strip_prefix(base)
        {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// Whether `name` is usable as one path component (a vault id or role):
/// letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `relative` (a manifest credential path) joined under `src`, if it stays
/// inside it: relative, no `..`, no empty or `.` components.
pub fn inside(src: &Path, relative: &str) -> Option<PathBuf> {
    if relative.is_empty() || relative.starts_with('/') || relative.contains('\\') {
        return None;
    }
    let ok = relative
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != "..");
    ok.then(|| src.join(relative))
}

/// Expands a leading `~/` to the home directory, and resolves a relative
/// path against `base`.
pub fn expand(path: &str, base: &Path) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_paths_stay_inside_src_vault() {
        let src = Path::new("/v/src-vault");
        assert_eq!(
            inside(src, "registry/a.sops.yaml"),
            Some(PathBuf::from("/v/src-vault/registry/a.sops.yaml"))
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "registry/../../x",
            "a//b",
            "./a",
            "a\\b",
        ] {
            assert_eq!(inside(src, bad), None, "{bad}");
        }
    }

    #[test]
    fn components_are_plain_names() {
        assert!(is_safe_component("agent-first"));
        assert!(is_safe_component("role_1.x"));
        for bad in ["", ".hidden", "a/b", "..", "a b", "é"] {
            assert!(!is_safe_component(bad), "{bad}");
        }
    }
}
