//! What the OCI layer reads from `config.ncl` (`vault.cosign`,
//! `vault.insecure_registries`, `vault.registry_timeout_secs`) and the
//! public keys it verifies with: the manifest registry entry's
//! `cosign_pub` (relative to the project) or `vault.cosign.pub_path`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::Engine;
use crate::error::ToolError;
use crate::registry::client::{DEFAULT_TIMEOUT, Settings};
use crate::registry::cosign::{CosignError, PublicKey};
use crate::vault::settings::{GlobalConfig, expand};

/// The largest key file read.
const MAX_KEY_FILE: u64 = 64 << 10;

/// The OCI layer's settings.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// Transport settings.
    pub settings: Settings,
    /// `vault.cosign.pub_path`, expanded.
    pub cosign_pub: Option<PathBuf>,
    /// `vault.cosign.key_path`, expanded.
    pub cosign_key: Option<PathBuf>,
}

/// Reads `config.ncl` of the engine's config home (defaults when absent).
pub async fn load(engine: &Engine) -> Result<RegistryConfig, ToolError> {
    let file = engine.config_home().join("config.ncl");
    let config = engine
        .loader()
        .load_in::<GlobalConfig>(&file, &engine.config_sandbox())
        .await?;
    let Some(vault) = config.as_ref().and_then(|c| c.vault.clone()) else {
        return Ok(RegistryConfig::default());
    };
    let home = engine.config_home();
    let timeout = match vault.registry_timeout_secs {
        Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(crate::vault::VaultError::Invalid(format!(
                "{}: `vault.registry_timeout_secs` = {s} is not between 0 and 3600 seconds",
                file.display()
            ))
            .into());
        }
        None => DEFAULT_TIMEOUT,
    };
    let cosign = vault.cosign.unwrap_or_default();
    let rekor = match &cosign.rekor_pub_path {
        None => None,
        Some(p) => Some(
            public_key(Some(&expand(p, home)), "vault.cosign.rekor_pub_path")
                .map_err(crate::registry::RegistryError::from)?,
        ),
    };
    Ok(RegistryConfig {
        settings: Settings {
            insecure: vault.insecure_registries,
            timeout,
            rekor,
        },
        cosign_pub: cosign.pub_path.map(|p| expand(&p, home)),
        cosign_key: cosign.key_path.map(|p| expand(&p, home)),
    })
}

/// Reads the public key at `path`; `setting` names where it was
/// configured. A missing setting or file is `cosign-key-missing`.
pub fn public_key(path: Option<&Path>, setting: &str) -> Result<PublicKey, CosignError> {
    let Some(path) = path else {
        return Err(CosignError::KeyMissing {
            detail: format!("{setting} is not set"),
        });
    };
    let shown = path.display().to_string();
    let text = crate::fsread::read_text(path, MAX_KEY_FILE, crate::fsread::Links::Follow).map_err(
        |e| CosignError::KeyMissing {
            detail: format!("{setting} names {shown}, which cannot be read: {e}"),
        },
    )?;
    PublicKey::from_pem(&text, &shown)
}
