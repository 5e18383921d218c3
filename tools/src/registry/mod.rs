//! The OCI registry side of the vault and of integration artifacts:
//! signatures (`cosign`), the vault layer's tar+gzip (`archive`), the
//! registry's named errors, and the client the vault sync and artifact
//! pulls build on.

pub mod archive;
pub mod cosign;
pub mod error;

pub use error::RegistryError;
