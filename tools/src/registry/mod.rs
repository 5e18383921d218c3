//! The OCI registry side of the vault and of integration artifacts:
//! signatures (`cosign`), the registry's named errors, and the client the
//! vault sync and artifact pulls build on.

pub mod artifact;
pub mod client;
pub mod config;
pub mod cosign;
pub mod error;

pub use error::RegistryError;
