//! Integration tests: they drive the built `ontoref` binary as its users do,
//! through the CLI and through real MCP clients over stdio. All modules build
//! into this one test binary (`autotests = false`).

mod attestation;
mod cli;
mod error_codes;
mod hardening;
mod http;
mod knowledge;
mod live;
mod mcp_stdio;
mod modes;
mod oci;
mod ontology;
mod ontology_tools;
mod ontology_vendor;
mod readme;
mod registry;
mod rekey;
mod search_identity;
mod snapshot;
mod trust;
mod util;
mod vault;
