//! ontoref-tools: the engine behind the `ontoref` binary.
//!
//! It owns the project model (where a project's knowledge lives and how the
//! default template is found), in-process Nickel evaluation with a memory and
//! disk cache, ranked search, and every MCP tool, one module per toolset. It
//! knows nothing of transports: the binary serves [`server::OntorefServer`]
//! over stdio or HTTP, and its CLI calls the same [`catalog`] entries, so both
//! print the same JSON.
//!
//! Tools are unit structs implementing rmcp's [`ToolBase`](rmcp::handler::server::router::tool::ToolBase)
//! and [`AsyncTool<Engine>`](rmcp::handler::server::router::tool::AsyncTool),
//! registered with [`#[onto_mcp_tool]`](macro@onto_mcp_tool).
#![deny(missing_docs)]

extern crate self as ontoref_tools;

pub mod actor;
pub mod adr;
pub mod attestation;
pub mod backlog;
pub mod catalog;
pub mod codes;
pub mod command;
pub mod complete;
pub mod corpus;
pub mod echo;
pub mod embedded;
pub mod engine;
pub mod error;
pub mod error_body;
pub mod escrow;
pub mod explain;
pub mod fsread;
pub mod fswrite;
pub mod hex;
pub mod live;
pub mod manifest;
pub mod memo;
pub mod model;
pub mod modes;
pub mod nickel;
pub mod ontologies;
pub mod ontology;
pub mod overview;
pub mod packed;
pub mod paging;
pub mod private;
pub mod project;
pub mod prompts;
pub mod qa;
pub mod registry;
pub mod resources;
pub mod schema;
pub mod search;
pub mod server;
pub mod skills;
pub mod subscribe;
pub mod suggest;
pub mod text;
pub mod toolset;
pub mod toolsets;
pub mod vault;
pub mod watch;
pub mod write;

pub use catalog::{CatalogTool, Selection, ToolEntry, catalog};
pub use engine::{Engine, EngineConfig};
pub use error::{ErrorBody, ToolError};
pub use ontoref_derive::onto_mcp_tool;
pub use project::{Project, ProjectOrigin};
pub use server::OntorefServer;

/// Not public API: what `#[onto_mcp_tool]` expands to.
#[doc(hidden)]
pub mod __private {
    pub use crate::catalog::ToolEntry;
    pub use crate::command::ToolCommand;
    pub use inventory;
}
