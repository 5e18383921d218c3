//! Code generation: the item unchanged, the default `ToolCommand` impl
//! (unless `custom_cli`), plus one `inventory::submit!` of a catalog entry. On error the item is still emitted beside the
//! `compile_error!`, so one mistake does not cascade into unresolved names.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;

use crate::{attr, valid};

pub(crate) fn onto_mcp_tool(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(err) => return fallback(input, err),
    };
    match expand(args, &item) {
        Ok(tokens) => tokens,
        Err(err) => fallback(input, err),
    }
}

fn expand(args: TokenStream, item: &Item) -> syn::Result<TokenStream> {
    let strukt = valid::item(item)?;
    let args = attr::parse(args)?;
    valid::args(&args)?;
    let ident = &strukt.ident;
    let toolset = &args.toolset;
    let command = if args.custom_cli.is_some() {
        quote! {}
    } else {
        quote! {
            impl ::ontoref_tools::__private::ToolCommand for #ident {}
        }
    };
    Ok(quote! {
        #item
        #command
        ::ontoref_tools::__private::inventory::submit! {
            ::ontoref_tools::__private::ToolEntry::new::<#ident>(#toolset)
        }
    })
}

fn fallback(input: TokenStream, err: syn::Error) -> TokenStream {
    let error = err.to_compile_error();
    quote! {
        #input
        #error
    }
}
