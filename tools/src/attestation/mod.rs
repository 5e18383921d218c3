//! Offline verification of Sigstore attestations (`ontoref attestation
//! verify`): bundles checked by sigstore-verify against a supplied trusted
//! root, and the policy `gh attestation verify` applies on top.

pub mod error;
pub mod provider;
pub mod verify;

pub use error::AttestationError;
