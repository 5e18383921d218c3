//! Transports: how the MCP server reaches its clients (stdio, HTTP).

pub mod http;
pub mod stdio;
