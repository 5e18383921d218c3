//! Writing knowledge: the Q&A store and the backlog are edited in place,
//! safely against other writers and against their contracts.
//!
//! Every write edits the Nickel text itself: the bytes outside the touched
//! record stay as they were (comments, formatting, the order of records,
//! the file's own `let` bindings). [`layout`] finds the records in the text,
//! [`render`] writes values as literals that read back exactly, [`splice`]
//! makes the edit, and [`store`] runs the transaction (lock, re-read, edit,
//! contract check, durable rename). [`qa`] and [`backlog`] are the
//! operations the tools call. Writes never touch `.ontology/` or `adrs/`.

pub mod backlog;
pub mod error;
pub mod layout;
pub mod qa;
pub mod render;
pub mod splice;
pub mod store;

use schemars::JsonSchema;

use crate::engine::Engine;
use serde::Serialize;

pub use error::WriteError;
use store::Store;

/// What a write did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Written {
    /// The id of the record written.
    pub id: String,
    /// The file changed, relative to the project.
    pub file: String,
}

impl Written {
    fn new(id: String, store: Store) -> Written {
        Written {
            id,
            file: store.file().to_owned(),
        }
    }
}

/// Who a write is recorded as: the caller (`--actor`, `ONTOREF_ACTOR`, or
/// the HTTP token's actor), else `agent`.
pub fn actor(engine: &Engine) -> String {
    engine.actor().unwrap_or_else(|| "agent".to_owned())
}
