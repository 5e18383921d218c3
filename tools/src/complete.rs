//! Completion candidates ranked for what a person has typed so far: the
//! values a client shows while its user fills in a resource template's
//! `{id}` or a prompt's argument. [`rank`] orders them best first (exact
//! prefix, then prefix ignoring case, then containing the typed text
//! anywhere, ignoring case), keeps at most [`MAX_VALUES`] and says how many
//! matched in all. A leaf module: it imports nothing from the crate.

/// The most values one completion carries (the protocol's bound).
pub const MAX_VALUES: usize = 100;

/// How much of the typed value is compared, in characters: matching must
/// not grow with what a client sends.
const TYPED_CHARS: usize = 200;

/// Ranked completion values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Up to [`MAX_VALUES`] values, best first.
    pub values: Vec<String>,
    /// How many candidates matched, before the cut.
    pub total: usize,
    /// Whether matches were left out.
    pub has_more: bool,
}

impl Completion {
    /// No values: for free text (a question, a title).
    pub fn empty() -> Completion {
        Completion::default()
    }
}

/// The candidates matching `typed`, best first: those starting with it
/// (case kept), then those starting with it ignoring case, then those
/// containing it ignoring case; each group in the candidates' order, each
/// value once. An empty `typed` matches every candidate.
pub fn rank<'a>(candidates: impl IntoIterator<Item = &'a str>, typed: &str) -> Completion {
    let typed = match typed.char_indices().nth(TYPED_CHARS) {
        None => typed,
        Some((end, _)) => &typed[..end],
    };
    let lower = typed.to_lowercase();
    let mut groups: [Vec<&str>; 3] = Default::default();
    let mut seen = std::collections::HashSet::new();
    for c in candidates {
        if !seen.insert(c) {
            continue;
        }
        let c_lower = c.to_lowercase();
        let group = if c.starts_with(typed) {
            0
        } else if c_lower.starts_with(&lower) {
            1
        } else if c_lower.contains(&lower) {
            2
        } else {
            continue;
        };
        groups[group].push(c);
    }
    let total: usize = groups.iter().map(Vec::len).sum();
    let values: Vec<String> = groups
        .iter()
        .flatten()
        .take(MAX_VALUES)
        .map(|v| (*v).to_owned())
        .collect();
    Completion {
        has_more: total > values.len(),
        values,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefixes_come_first_then_any_case_then_substrings() {
        let ids = ["my-adr", "adr-002", "ADR-010", "adr-001", "other"];
        let c = rank(ids, "adr");
        assert_eq!(c.values, ["adr-002", "adr-001", "ADR-010", "my-adr"]);
        assert_eq!((c.total, c.has_more), (4, false));
        assert_eq!(rank(ids, "ADR").values[0], "ADR-010");
        assert!(rank(ids, "zzz").values.is_empty());
    }

    #[test]
    fn an_empty_value_completes_everything_once() {
        let c = rank(["b", "a", "b"], "");
        assert_eq!(c.values, ["b", "a"]);
        assert_eq!(c.total, 2);
    }

    #[test]
    fn at_most_a_hundred_values_with_the_total_and_has_more() {
        let ids: Vec<String> = (0..250).map(|i| format!("qa-{i:03}")).collect();
        let c = rank(ids.iter().map(String::as_str), "qa-");
        assert_eq!(c.values.len(), MAX_VALUES);
        assert_eq!((c.total, c.has_more), (250, true));
        assert_eq!(c.values[0], "qa-000");
        let c = rank(ids.iter().map(String::as_str), "qa-24");
        assert_eq!((c.values.len(), c.total, c.has_more), (10, 10, false));
    }

    #[test]
    fn a_huge_typed_value_is_cut_before_matching() {
        let typed = "a".repeat(1 << 20);
        let c = rank(["abc"], &typed);
        assert!(c.values.is_empty());
    }
}
