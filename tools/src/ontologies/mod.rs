//! MIF ontology extensions (ADR-0004): the index contract the attested core
//! `index.json` follows ([`index`]: generating and checking it exactly as
//! the corpus's `gen-ontology-index.sh` does) and the errors of the
//! ontology subsystem ([`OntologyError`]).

pub mod error;
pub mod index;

pub use error::OntologyError;
