#![allow(dead_code)]
use ontoref_derive::onto_mcp_tool;

#[onto_mcp_tool]
struct QaShow;

fn main() {}
