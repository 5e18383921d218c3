//! `#[onto_mcp_tool]`: registers an MCP tool unit struct in ontoref's catalog.
//!
//! The attribute goes on a unit struct that implements rmcp's `ToolBase` and
//! `AsyncTool<Engine>`. It emits the struct unchanged and adds an
//! `inventory::submit!` of a catalog entry built from those traits, so the
//! server, the CLI's `tools` listing and the README table all see the tool
//! without anyone listing it by hand:
//!
//! ```ignore
//! #[onto_mcp_tool(toolset = "qa")]
//! pub struct QaShow;
//! ```
//!
//! Everything the trait already says (name, title, description, schemas,
//! annotations, handler) is taken from the trait; the attribute only adds the
//! toolset. The tool's command line (words, positionals, text for a person,
//! exit status) comes from its `ToolCommand` impl: the defaults are generated
//! unless the attribute says `custom_cli`, and the tool then implements it
//! beside its other impls. Misuse (fields, generics, an enum, a function, unknown or repeated
//! arguments) is a compile error on the offending tokens.

mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Registers a unit struct as an ontoref MCP tool. See the crate docs.
#[proc_macro_attribute]
pub fn onto_mcp_tool(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::onto_mcp_tool(args.into(), input.into()).into()
}
