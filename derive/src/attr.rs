//! Parses the arguments of `#[onto_mcp_tool(...)]`; rejects unknown and
//! repeated keys with an error on the key itself.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Token};

/// The parsed arguments.
pub(crate) struct Args {
    /// The toolset the tool belongs to, e.g. `"qa"`.
    pub toolset: LitStr,
}

pub(crate) fn parse(args: TokenStream) -> syn::Result<Args> {
    let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let mut toolset: Option<LitStr> = None;
    for pair in pairs {
        let Some(key) = pair.path.get_ident() else {
            return Err(syn::Error::new_spanned(
                &pair.path,
                "unknown argument to #[onto_mcp_tool]; expected `toolset = \"...\"`",
            ));
        };
        if key != "toolset" {
            return Err(syn::Error::new_spanned(
                key,
                format!(
                    "unknown argument `{key}` to #[onto_mcp_tool]; name, title, description, schemas \
                     and annotations come from the tool's `ToolBase` impl, only `toolset` goes here"
                ),
            ));
        }
        if toolset.is_some() {
            return Err(syn::Error::new_spanned(
                key,
                "duplicate `toolset` argument to #[onto_mcp_tool]",
            ));
        }
        match &pair.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => toolset = Some(s.clone()),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`toolset` takes a string literal, e.g. `toolset = \"qa\"`",
                ));
            }
        }
    }
    match toolset {
        Some(toolset) => Ok(Args { toolset }),
        None => Err(syn::Error::new(
            Span::call_site(),
            "#[onto_mcp_tool] needs a toolset, e.g. `#[onto_mcp_tool(toolset = \"qa\")]`",
        )),
    }
}
