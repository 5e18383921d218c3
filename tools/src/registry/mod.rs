//! The OCI registry side of the vault and of integration artifacts:
//! signatures (`cosign` verifies, `signing` signs), the registry's named
//! errors, the client ([`client::Remote`]) with its settings from
//! `config.ncl`, the vault layer's tar (`archive`), and signature-verified
//! artifact pulls (`artifact`). The vault's sync and lock build on it.

pub mod archive;
pub mod artifact;
pub mod client;
pub mod config;
pub mod cosign;
pub mod error;
pub mod signing;

pub use error::RegistryError;

use std::path::Path;

/// Writes `value` as pretty JSON to `path` atomically (a temporary file in
/// the same directory, then a rename): the OCI layer's local records
/// (`sync.json`, `lock.json`, a cached artifact's record).
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), RegistryError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| RegistryError::Io {
        what: "encode",
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    crate::fswrite::write_atomic(path, &bytes).map_err(|(op, e)| RegistryError::io(op, path, &e))
}
