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
//! [`inspect`] (status, describe, audit checks, `.sops.yaml` generation) and
//! [`demo`] (a demo vault with generated keys).

pub mod audit;
pub mod creds;
pub mod demo;
mod error;
pub mod fetch;
pub mod gate;
pub mod inspect;
pub mod key;
pub mod settings;
pub mod sops;
pub mod target;

use std::sync::atomic::{AtomicU64, Ordering};

pub use error::VaultError;

tokio::task_local! {
    static REQUEST_ACTOR: Option<String>;
}

/// Runs `f` on behalf of `actor`: within it, [`crate::Engine::actor`]
/// returns `actor` instead of the engine's configured actor. Transports
/// that authenticate each request (HTTP tokens) use this.
pub async fn as_actor<F: std::future::Future>(actor: Option<String>, f: F) -> F::Output {
    REQUEST_ACTOR.scope(actor, f).await
}

/// The actor an HTTP transport authenticated for one request (by its bearer
/// token), put in the request's `http` extensions. The server runs the
/// request as this actor; a request over HTTP without one runs as no actor,
/// never as the server's own configured actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestActor(pub String);

/// The actor bound to the current request, if a transport set one.
pub(crate) fn request_actor() -> Option<Option<String>> {
    REQUEST_ACTOR.try_with(Clone::clone).ok()
}

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
