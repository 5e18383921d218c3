//! MIF ontology extensions (ADR-0004): the index contract the attested core
//! `index.json` follows ([`index`]: generating it exactly as the corpus's
//! `gen-ontology-index.sh` does, and validating an attested one against the
//! files beside it), the `extends` graph ([`graph`]: closures and cycles),
//! the pins of a project's vendored snapshot and their drift gate
//! ([`lock`]), the snapshot's read side behind the ontology extension tools
//! ([`snapshot`]), the project's `ontologies` settings ([`settings`]),
//! vendoring from an attested release ([`vendor`]), and the errors of the
//! ontology subsystem ([`OntologyError`]).

pub mod error;
pub mod graph;
pub mod index;
pub mod lock;
pub mod resolve;
pub mod settings;
pub mod snapshot;
pub mod vendor;
pub mod yaml;

pub use error::OntologyError;
pub use snapshot::SNAPSHOT_DIR;
