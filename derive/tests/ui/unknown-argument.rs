#![allow(dead_code)]
use ontoref_derive::onto_mcp_tool;

#[onto_mcp_tool(toolset = "qa", name = "ontoref_qa_show")]
struct QaShow;

fn main() {}
