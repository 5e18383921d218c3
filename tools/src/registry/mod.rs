//! The OCI registry side of the vault and of integration artifacts:
//! signatures (`cosign` verifies, `signing` makes them), the registry's
//! named errors, and the client the vault sync and artifact pulls build on.

pub mod artifact;
pub mod client;
pub mod config;
pub mod cosign;
pub mod error;
pub mod signing;

pub use error::RegistryError;
