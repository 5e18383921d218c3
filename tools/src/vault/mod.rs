//! The credential vault: scope-gated, read-only access to the registry
//! credentials kept in a project's SOPS/age vault (ADR-017, ADR-019).
//!
//! An actor asks for a credential to `pull` (or `push`) a target. The
//! [`gate`] decides from declarative files alone — the project's `sops`
//! record, the role's scope, the manifest's `registry_provides` — before a
//! byte is decrypted. An allowed fetch decrypts one credential file
//! ([`sops`], on the `age` crate) and hands back an isolated, expiring Docker
//! config directory ([`creds`]), never the secret itself unless the project
//! allows reveal. Every attempt lands in a keyed, hash-chained [`audit`]
//! log.
//!
//! Layout: [`settings`] (files and their shapes), [`key`] (the master key),
//! [`target`] (references and namespace globs), [`gate`], [`fetch`],
//! [`inspect`] (status, describe, audit checks, `.sops.yaml` generation),
//! [`rekey`] (every file rewrapped for the recipients its rule names, as
//! `sops updatekeys` does), [`sync`] (the vault from its registry,
//! verified), [`lock`] (editing it under a registry lock and publishing it
//! signed) and [`demo`] (a demo vault with generated keys).
//!
//! The actor a fetch is for is [`crate::Engine::actor`]: the configured one,
//! or the one a transport bound to the request ([`crate::actor`], which
//! owns that binding; the vault only reads it).

pub mod audit;
pub mod creds;
pub mod demo;
mod error;
pub mod fetch;
pub mod gate;
pub mod inspect;
pub mod key;
pub mod lock;
pub mod rekey;
pub mod settings;
pub mod sops;
pub mod sync;
pub mod target;

use std::sync::atomic::{AtomicU64, Ordering};

pub use error::VaultError;

/// The vault's per-engine state: the credential directories it issued and a
/// count of decryptions (tests prove the gate decrypts nothing it refuses).
#[derive(Debug)]
pub struct VaultState {
    dirs: creds::CredentialDirs,
    decryptions: AtomicU64,
}

impl VaultState {
    /// State issuing directories under `root` (or refusing with its reason)
    /// that live `ttl`.
    pub fn new(root: Result<std::path::PathBuf, String>, ttl: std::time::Duration) -> VaultState {
        VaultState {
            dirs: creds::CredentialDirs::new(root, ttl),
            decryptions: AtomicU64::new(0),
        }
    }

    /// The credential directories.
    pub fn dirs(&self) -> &creds::CredentialDirs {
        &self.dirs
    }

    /// How many credential files this engine has tried to decrypt.
    pub fn decryptions(&self) -> u64 {
        self.decryptions.load(Ordering::Relaxed)
    }

    pub(crate) fn count_decryption(&self) {
        self.decryptions.fetch_add(1, Ordering::Relaxed);
    }
}
