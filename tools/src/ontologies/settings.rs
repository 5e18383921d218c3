//! `.ontoref/project.ncl` → `ontologies`: where a project's MIF ontologies
//! come from (`source`), which it uses (`enable`), and what must vouch for
//! the bytes (`trust`). Typed strictly: a misspelt trust field is an error,
//! never a silently weaker policy.

use serde::{Deserialize, Serialize};

/// `ontologies = { source, enable, trust }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OntologiesSettings {
    /// A directory, a `file://` tarball, an `http(s)://` tarball or index,
    /// or an `oci://host/repository:tag` artifact.
    pub source: String,
    /// The ids the project uses; their `extends` closure comes along.
    #[serde(default)]
    pub enable: Vec<String>,
    /// What must vouch for the bytes; absent: hash pinning only.
    #[serde(default)]
    pub trust: Option<Trust>,
}

/// `ontologies.trust`: with `key`, a key-signed envelope; with
/// `trusted_root` (and identity fields), a keyless Sigstore bundle. The
/// identity fields mean what gh's flags of the same names mean.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// Each must be attested (default: SLSA provenance v1).
    #[serde(default)]
    pub predicate_types: Vec<String>,
    /// A PEM public key, relative to the project root.
    #[serde(default)]
    pub key: Option<String>,
    /// A `trusted_root.json`, relative to the project root.
    #[serde(default)]
    pub trusted_root: Option<String>,
    /// `--cert-oidc-issuer`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `--repo OWNER/REPO`.
    #[serde(default)]
    pub repo: Option<String>,
    /// `--owner`.
    #[serde(default)]
    pub owner: Option<String>,
    /// `--signer-workflow`.
    #[serde(default)]
    pub signer_workflow: Option<String>,
}
