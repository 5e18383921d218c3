//! The project's manifest (`.ontology/manifest.ncl`): identity, capabilities,
//! requirements, critical dependencies, its level in the hierarchy and the
//! registries it provides. Declarative metadata only: no secret lives here.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::config_document;

fn tag<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

fn default_kind() -> String {
    "Project".to_owned()
}

/// The manifest's `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ManifestLevel {
    /// `Domain` or `Instance`.
    #[serde(deserialize_with = "tag")]
    pub index: String,
    /// Level name.
    pub name: String,
    /// Parent level name.
    pub parent: String,
}

/// A registry the project provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Registry {
    /// Registry id; `default` is used when none is asked for.
    pub id: String,
    /// Host and port.
    pub endpoint: String,
    /// RO credential file, relative to the vault's `src-vault/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sops: Option<String>,
    /// RW credential file, relative to the vault's `src-vault/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sops_rw: Option<String>,
    /// The PEM public key this registry's artifacts are signed with,
    /// relative to the project; else `vault.cosign.pub_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosign_pub: Option<String>,
}

/// The manifest's `registry_provides`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryProvides {
    /// The participant name namespaces are published under.
    pub participant: String,
    /// The registries.
    #[serde(default)]
    pub registries: Vec<Registry>,
}

/// `.ontology/manifest.ncl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Project name.
    pub project: String,
    /// What kind of repository, e.g. `DevWorkspace`.
    #[serde(default = "default_kind", deserialize_with = "tag")]
    pub repo_kind: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// What it can do (free-form records).
    #[serde(default)]
    pub capabilities: Vec<serde_json::Value>,
    /// What it needs (free-form records).
    #[serde(default)]
    pub requirements: Vec<serde_json::Value>,
    /// Dependencies whose failure hurts (free-form records).
    #[serde(default)]
    pub critical_deps: Vec<serde_json::Value>,
    /// Its level in the mode hierarchy.
    #[serde(default)]
    pub level: Option<ManifestLevel>,
    /// Registries it provides.
    #[serde(default)]
    pub registry_provides: Option<RegistryProvides>,
    /// Multi-registry coordination, as declared.
    #[serde(default)]
    pub registry_topology: Option<serde_json::Value>,
}

config_document!(Manifest, "manifest", "capabilities");
