//! The OCI registry side of the vault and of integration artifacts:
//! signatures (`cosign`) first; the registry client, vault sync and
//! artifact pulls build on it.

pub mod cosign;
