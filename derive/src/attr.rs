//! Parses the arguments of `#[onto_mcp_tool(...)]`; rejects unknown and
//! repeated keys with an error on the key itself.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

/// The parsed arguments.
pub(crate) struct Args {
    /// The toolset the tool belongs to, e.g. `"qa"`.
    pub toolset: LitStr,
    /// `custom_cli`: the tool implements `ToolCommand` itself (its command
    /// words, positionals, text or exit status); otherwise the defaults are
    /// generated.
    pub custom_cli: Option<Ident>,
}

const EXPECTED: &str = "expected `toolset = \"...\"` and optionally `custom_cli`";

pub(crate) fn parse(args: TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut toolset: Option<LitStr> = None;
    let mut custom_cli: Option<Ident> = None;
    for meta in metas {
        let Some(key) = meta.path().get_ident().cloned() else {
            return Err(syn::Error::new_spanned(
                meta.path(),
                format!("unknown argument to #[onto_mcp_tool]; {EXPECTED}"),
            ));
        };
        match (key.to_string().as_str(), &meta) {
            ("toolset", Meta::NameValue(pair)) => {
                if toolset.is_some() {
                    return Err(syn::Error::new_spanned(
                        &key,
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
            ("toolset", other) => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`toolset` takes a string literal, e.g. `toolset = \"qa\"`",
                ));
            }
            ("custom_cli", Meta::Path(_)) => {
                if custom_cli.is_some() {
                    return Err(syn::Error::new_spanned(
                        &key,
                        "duplicate `custom_cli` argument to #[onto_mcp_tool]",
                    ));
                }
                custom_cli = Some(key);
            }
            ("custom_cli", other) => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`custom_cli` takes no value: write `custom_cli` and implement `ToolCommand` \
                     beside the tool",
                ));
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown argument `{key}` to #[onto_mcp_tool]; name, title, description, \
                         schemas and annotations come from the tool's `ToolBase` impl, and the \
                         command line from its `ToolCommand` impl; {EXPECTED}"
                    ),
                ));
            }
        }
    }
    match toolset {
        Some(toolset) => Ok(Args {
            toolset,
            custom_cli,
        }),
        None => Err(syn::Error::new(
            Span::call_site(),
            "#[onto_mcp_tool] needs a toolset, e.g. `#[onto_mcp_tool(toolset = \"qa\")]`",
        )),
    }
}
