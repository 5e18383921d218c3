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
