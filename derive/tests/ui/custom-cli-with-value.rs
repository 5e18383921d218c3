#![allow(dead_code)]
use ontoref_derive::onto_mcp_tool;

#[onto_mcp_tool(toolset = "qa", custom_cli = true)]
pub struct QaShow;

fn main() {}
