#![allow(dead_code)]
use ontoref_derive::onto_mcp_tool;

#[onto_mcp_tool(toolset = "qa", toolset = "adr")]
struct QaShow;

fn main() {}
