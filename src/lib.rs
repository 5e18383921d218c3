//! The `ontoref` binary's transports as a library: how the MCP server
//! reaches its clients (stdio, Streamable HTTP, legacy SSE), the guard in
//! front of HTTP, and the pure message checks ([`transport::framing`]) that
//! fuzz targets drive; and the command line's own failures
//! ([`failure::CliError`]). The CLI stays in the binary (`src/main.rs`);
//! the engine and every tool live in `ontoref-tools`.

pub mod failure;
pub mod transport;
