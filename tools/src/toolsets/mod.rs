//! Every MCP tool, one module per toolset. A tool adapts its parameters to a
//! domain function and returns that function's result; nothing here knows
//! which transport or CLI command called it.

pub mod adr;
pub mod backlog;
pub mod modes;
pub mod ontology;
pub mod project;
pub mod qa;
pub mod vault;

use crate::error::ToolError;

/// Default page size of list tools.
pub(crate) fn default_list_limit() -> u32 {
    50
}

/// Checks a `limit` argument: at least 1, at most `max`.
pub(crate) fn limit(tool: &str, value: u32, max: u32) -> Result<usize, ToolError> {
    in_range(tool, "limit", value, max)
}

/// `value` of the parameter `field` as a count, checked to lie in `1..=max`.
pub(crate) fn in_range(tool: &str, field: &str, value: u32, max: u32) -> Result<usize, ToolError> {
    if value == 0 || value > max {
        return Err(ToolError::InvalidParams {
            tool: tool.to_owned(),
            detail: format!("{field}: {value} is outside 1..={max}"),
        });
    }
    Ok(value as usize)
}
