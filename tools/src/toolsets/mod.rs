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

/// What the per-tool tests share: an engine on the agent-first template
/// (evaluated in process, no disk cache, an empty config home) and a call
/// through the tool's catalog entry, so a test covers the adapter whole:
/// JSON arguments, the domain call, the serialised output.
#[cfg(test)]
pub(crate) mod testing {
    use rmcp::handler::server::router::tool::ToolBase;
    use serde_json::Value;

    use crate::engine::{Engine, EngineConfig};
    use crate::error::ToolError;

    /// An engine on the template, and the directory its config home and
    /// cache live in.
    pub(crate) fn template() -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent-first-template");
        let engine = Engine::new(EngineConfig {
            project: Some(root),
            cache_dir: Some(dir.path().join("cache")),
            config_home: Some(dir.path().join("home")),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .expect("an engine on the template");
        (engine, dir)
    }

    /// An engine on the project at `root`, configured as [`template`]'s.
    pub(crate) fn engine_on(root: &std::path::Path) -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let engine = Engine::new(EngineConfig {
            project: Some(root.to_path_buf()),
            cache_dir: Some(dir.path().join("cache")),
            config_home: Some(dir.path().join("home")),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .expect("an engine on the project");
        (engine, dir)
    }

    /// Calls tool `T` with `args` through its catalog entry.
    pub(crate) fn call<T: ToolBase>(engine: &Engine, args: Value) -> Result<Value, ToolError> {
        let tool = crate::catalog::find(&T::name())?;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(tool.call(engine, args))
    }

    /// The error code of a call that must fail.
    pub(crate) fn code<T: ToolBase>(engine: &Engine, args: Value) -> &'static str {
        match call::<T>(engine, args) {
            Ok(v) => panic!("{} succeeded: {v}", T::name()),
            Err(e) => e.code(),
        }
    }
}
