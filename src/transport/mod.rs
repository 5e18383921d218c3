//! Transports: how the MCP server reaches its clients.

pub mod stdio;
