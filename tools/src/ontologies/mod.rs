//! MIF ontology extensions (ADR-0004): the index contract the attested core
//! `index.json` follows ([`index`]: generating it exactly as the corpus's
//! `gen-ontology-index.sh` does, and validating an attested one against the
//! files beside it), the `extends` graph ([`graph`]: closures and cycles),
//! and the errors of the ontology subsystem ([`OntologyError`]).

pub mod error;
pub mod graph;
pub mod index;
pub mod lock;
pub mod resolve;
pub mod settings;
pub mod vendor;

pub use error::OntologyError;
pub use vendor::SNAPSHOT_DIR;
