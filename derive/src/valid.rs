//! Shape checks: the attribute applies only to a non-generic unit struct, and
//! the toolset is a snake_case word. Errors span the tokens at fault.

use crate::attr::Args;
use syn::{Fields, Item, ItemStruct};

/// Returns the struct when the annotated item is a plain unit struct.
pub(crate) fn item(item: &Item) -> syn::Result<&ItemStruct> {
    let what = match item {
        Item::Struct(s) => return unit_struct(s),
        Item::Enum(e) => (e.enum_token.span, "an enum"),
        Item::Fn(f) => (f.sig.fn_token.span, "a function"),
        Item::Union(u) => (u.union_token.span, "a union"),
        Item::Impl(i) => (i.impl_token.span, "an impl block"),
        Item::Trait(t) => (t.trait_token.span, "a trait"),
        Item::Type(t) => (t.type_token.span, "a type alias"),
        Item::Mod(m) => (m.mod_token.span, "a module"),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[onto_mcp_tool] applies only to a unit struct such as `pub struct QaShow;`",
            ));
        }
    };
    Err(syn::Error::new(
        what.0,
        format!(
            "#[onto_mcp_tool] applies only to a unit struct such as `pub struct QaShow;`, not {}",
            what.1
        ),
    ))
}

fn unit_struct(s: &ItemStruct) -> syn::Result<&ItemStruct> {
    if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &s.generics,
            "#[onto_mcp_tool] struct cannot be generic: the catalog holds one entry per concrete tool",
        ));
    }
    match &s.fields {
        Fields::Unit => Ok(s),
        fields => Err(syn::Error::new_spanned(
            fields,
            "#[onto_mcp_tool] struct must be a unit struct with no fields; keep tool state in the \
             engine the tool runs against",
        )),
    }
}

/// A toolset is a snake_case word (`qa`, `ontology`, `vault`).
pub(crate) fn args(args: &Args) -> syn::Result<()> {
    let value = args.toolset.value();
    let ok = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            &args.toolset,
            format!("toolset `{value}` must be a snake_case word such as \"qa\""),
        ))
    }
}
