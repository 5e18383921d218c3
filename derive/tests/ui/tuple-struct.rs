#![allow(dead_code)]
use ontoref_derive::onto_mcp_tool;

#[onto_mcp_tool(toolset = "qa")]
struct QaShow(u32);

fn main() {}
