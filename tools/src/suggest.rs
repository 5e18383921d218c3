//! "Did you mean" suggestions for hints: the names closest to a mistyped
//! one ([`closest`]) and how a list of names reads in a hint
//! ([`quote_list`]). A leaf module: it imports nothing from the crate, so any
//! error enum may use it.

/// Longest input [`closest`] compares, in characters: edit distances over
/// a 1 MiB name must not run.
const CLOSEST_INPUT_CHARS: usize = 100;

/// Up to `max` candidates closest to `wanted` (by edit distance and shared
/// prefix), closest first. Used by "did you mean" hints. Only the first
/// 100 characters of `wanted` are compared.
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    let wanted = match wanted.char_indices().nth(CLOSEST_INPUT_CHARS) {
        None => wanted,
        Some((end, _)) => &wanted[..end],
    };
    let wanted_lc = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let c_lc = c.to_lowercase();
            let mut d = levenshtein(&wanted_lc, &c_lc);
            // One contains the other: as good as a one-letter typo.
            if c_lc.contains(&wanted_lc) || wanted_lc.contains(&c_lc) {
                d = d.min(1);
            }
            (d, c)
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let limit = (wanted.chars().count() / 3).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(max)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// The edit distance between the first 100 characters of `a` and of `b`,
/// for ranking suggestions that are not names (paths).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let cut = |s: &str| match s.char_indices().nth(CLOSEST_INPUT_CHARS) {
        None => s.len(),
        Some((end, _)) => end,
    };
    levenshtein(&a[..cut(a)], &b[..cut(b)])
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Formats names as `` `a`, `b` or `c` `` for hints.
pub fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_prefers_small_edits_and_substrings() {
        let ids = [
            "nats-how-to-setup",
            "nats-troubleshooting",
            "credential-vault-templates",
        ];
        let got = closest("nats-troubleshoot", ids, 2);
        assert_eq!(got[0], "nats-troubleshooting");
        assert!(closest("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", ids, 3).is_empty());
    }

    #[test]
    fn closest_cuts_its_input_first() {
        let mut wanted = String::from("ontoref_qa_shw");
        wanted.push_str(&"z".repeat(1 << 20));
        let started = std::time::Instant::now();
        let got = closest(&wanted, ["ontoref_qa_show", "ontoref_qa_list"], 2);
        // A 1 MiB edit distance would take minutes; this is immediate.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(
            closest("ontoref_qa_shw", ["ontoref_qa_show", "ontoref_qa_list"], 2)[0],
            "ontoref_qa_show"
        );
    }

    #[test]
    fn quote_list_reads_naturally() {
        assert_eq!(quote_list(&["a".into()]), "`a`");
        assert_eq!(
            quote_list(&["a".into(), "b".into(), "c".into()]),
            "`a`, `b` or `c`"
        );
    }
}
