//! Toolsets as data: each toolset module declares one [`Toolset`] (id,
//! title, what it is for, whether it needs an authenticated caller) with
//! [`declare_toolset!`](crate::declare_toolset), collected with `inventory`.
//!
//! Everything said about toolsets is derived from these declarations: the
//! HTTP rule "without a token file, only read-only tools and never a
//! toolset that needs a caller" (`CatalogTool::needs_caller`), the
//! `ontoref tools` listing and README table, and the server's
//! `instructions` ([`instructions`]), which mention only the toolsets
//! served.

use std::fmt::Write as _;

/// One toolset.
#[derive(Debug)]
pub struct Toolset {
    /// The id tools name in `#[onto_mcp_tool(toolset = "…")]`.
    pub id: &'static str,
    /// A short title.
    pub title: &'static str,
    /// When an agent should reach for it: a purpose clause completing
    /// "Reach for ontoref …" (e.g. "to learn why a decision was made").
    pub when: &'static str,
    /// One paragraph for a model: what the toolset's tools cover.
    pub description: &'static str,
    /// Its tools act for a caller the transport authenticated (the vault):
    /// never served over HTTP without tokens.
    pub needs_caller: bool,
}

inventory::collect!(Toolset);

/// Declares the toolset of the current module.
#[macro_export]
#[doc(hidden)]
macro_rules! declare_toolset {
    ($($field:ident : $value:expr),* $(,)?) => {
        ::ontoref_tools::__private::inventory::submit! {
            ::ontoref_tools::toolset::Toolset { $($field: $value),* }
        }
    };
}

/// Every declared toolset, sorted by id.
pub fn toolsets() -> Vec<&'static Toolset> {
    let mut all: Vec<&'static Toolset> = inventory::iter::<Toolset>.into_iter().collect();
    all.sort_by_key(|t| t.id);
    all
}

/// The toolset with this id.
pub fn find(id: &str) -> Option<&'static Toolset> {
    inventory::iter::<Toolset>.into_iter().find(|t| t.id == id)
}

/// The most characters the instructions may have: clients cut longer text
/// silently.
pub const MAX_INSTRUCTIONS: usize = 2048;

/// The `instructions` sent at `initialize` for a server offering tools of
/// the toolsets `served` (ids, repeats allowed): when to reach for ontoref
/// (from those toolsets only), then one line per toolset. At most
/// [`MAX_INSTRUCTIONS`] characters: lines that would pass the bound are left
/// out, last first.
pub fn instructions<'a>(served: impl IntoIterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = served.into_iter().collect();
    let served: Vec<&'static Toolset> = toolsets()
        .into_iter()
        .filter(|s| ids.contains(&s.id))
        .collect();
    if served.is_empty() {
        return "ontoref serves a software project's typed self-knowledge; this server offers \
                no tools."
            .to_owned();
    }
    let whens: Vec<&str> = served.iter().map(|s| s.when).collect();
    let mut text = format!(
        "Reach for ontoref, this project's own typed knowledge (Nickel files the team keeps), \
         {}. Results are bounded: pass next_cursor back as cursor for more; an error's hint says \
         how to recover.",
        join_clauses(&whens)
    );
    for set in &served {
        let line = format!("\n- {} ({}): {}", set.title, set.id, set.description);
        if text.chars().count() + line.chars().count() > MAX_INSTRUCTIONS {
            break;
        }
        let _ = write!(text, "{line}");
    }
    if text.chars().count() > MAX_INSTRUCTIONS {
        text = text.chars().take(MAX_INSTRUCTIONS).collect();
    }
    text
}

/// `a`, `a or b`, `a, b or c`.
fn join_clauses(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CatalogTool, Selection, catalog};

    fn instructions_for(tools: &[&CatalogTool]) -> String {
        instructions(tools.iter().map(|t| t.toolset))
    }

    #[test]
    fn every_tool_names_a_declared_toolset_and_every_toolset_has_tools() {
        let sets = toolsets();
        assert!(sets.len() >= 7, "{}", sets.len());
        for t in catalog() {
            assert!(
                find(t.toolset).is_some(),
                "{}: undeclared toolset {}",
                t.name(),
                t.toolset
            );
        }
        let mut ids = std::collections::HashSet::new();
        for s in &sets {
            assert!(ids.insert(s.id), "toolset {} declared twice", s.id);
            assert!(
                catalog().iter().any(|t| t.toolset == s.id),
                "{} has no tools",
                s.id
            );
            assert!(!s.title.is_empty() && !s.when.is_empty(), "{}", s.id);
            assert!(s.description.len() >= 60, "{}: description too thin", s.id);
        }
        assert!(find("vault").is_some_and(|s| s.needs_caller));
        assert!(find("qa").is_some_and(|s| !s.needs_caller));
    }

    #[test]
    fn instructions_fit_2048_characters_and_name_every_served_toolset() {
        let all: Vec<&CatalogTool> = catalog().iter().collect();
        let text = instructions_for(&all);
        assert!(
            text.chars().count() <= MAX_INSTRUCTIONS,
            "{} chars",
            text.chars().count()
        );
        assert!(text.starts_with("Reach for ontoref"), "{text}");
        for s in toolsets() {
            assert!(text.contains(s.when), "{}: when-clause missing", s.id);
            assert!(
                text.contains(&format!("- {} ({})", s.title, s.id)),
                "{}: line missing",
                s.id
            );
        }
    }

    #[test]
    fn a_toolset_left_out_is_not_mentioned() {
        for left_out in toolsets() {
            let tools = Selection {
                toolsets: Some(
                    toolsets()
                        .iter()
                        .filter(|s| s.id != left_out.id)
                        .map(|s| s.id.to_owned())
                        .collect(),
                ),
                ..Default::default()
            }
            .apply()
            .unwrap();
            let text = instructions_for(&tools);
            assert!(!text.contains(left_out.when), "{}: {text}", left_out.id);
            assert!(!text.contains(left_out.title), "{}: {text}", left_out.id);
            assert!(
                !text.contains(&format!("({})", left_out.id)),
                "{}: {text}",
                left_out.id
            );
            for t in catalog().iter().filter(|t| t.toolset == left_out.id) {
                assert!(!text.contains(t.name()), "{} named: {text}", t.name());
            }
        }
        let none = instructions_for(&[]);
        assert!(none.contains("no tools"), "{none}");
    }

    #[test]
    fn clauses_join_like_prose() {
        assert_eq!(join_clauses(&["a"]), "a");
        assert_eq!(join_clauses(&["a", "b"]), "a or b");
        assert_eq!(join_clauses(&["a", "b", "c"]), "a, b or c");
    }
}
