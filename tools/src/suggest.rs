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
    let wanted_chars: Vec<char> = wanted_lc.chars().collect();
    let limit = (wanted.chars().count() / 3).max(2);
    // Only candidates within `limit` are kept, so most of a large set (the
    // ids of a 10,000-entry store) is ruled out by length or by an edit
    // distance abandoned as soon as it exceeds `limit`, without an
    // allocation per candidate.
    let mut c_lc = String::new();
    let mut rows = (Vec::new(), Vec::new());
    let mut scored: Vec<(usize, &str)> = Vec::new();
    for c in candidates {
        c_lc.clear();
        if c.is_ascii() {
            c_lc.extend(c.chars().map(|ch| ch.to_ascii_lowercase()));
        } else {
            c_lc.push_str(&c.to_lowercase());
        }
        // One contains the other: as good as a one-letter typo.
        let d = if c_lc.contains(&wanted_lc) || wanted_lc.contains(c_lc.as_str()) {
            usize::from(c_lc != wanted_lc)
        } else {
            match bounded_levenshtein(&wanted_chars, &c_lc, limit, &mut rows) {
                Some(d) => d,
                None => continue,
            }
        };
        scored.push((d, c));
    }
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(max)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// The edit distance between `a` and `b` when it is at most `limit`, else
/// `None` (decided as soon as a whole row of the table exceeds `limit`:
/// the distance is at least the smallest value of any row). `rows` are
/// reused buffers.
fn bounded_levenshtein(
    a: &[char],
    b: &str,
    limit: usize,
    rows: &mut (Vec<usize>, Vec<usize>),
) -> Option<usize> {
    let b_len = b.chars().count();
    if a.len().abs_diff(b_len) > limit {
        return None;
    }
    let (prev, cur) = rows;
    prev.clear();
    prev.extend(0..=a.len());
    cur.clear();
    cur.resize(a.len() + 1, 0);
    for (j, cb) in b.chars().enumerate() {
        cur[0] = j + 1;
        let mut row_min = cur[0];
        for (i, ca) in a.iter().enumerate() {
            let cost = usize::from(*ca != cb);
            cur[i + 1] = (prev[i] + cost).min(prev[i + 1] + 1).min(cur[i] + 1);
            row_min = row_min.min(cur[i + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(prev, cur);
    }
    let d = prev[a.len()];
    (d <= limit).then_some(d)
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

    /// The ranking as first written: every candidate scored, then filtered.
    fn closest_plain(wanted: &str, candidates: &[&str], max: usize) -> Vec<String> {
        let wanted_lc = wanted.to_lowercase();
        let mut scored: Vec<(usize, &str)> = candidates
            .iter()
            .map(|c| {
                let c_lc = c.to_lowercase();
                let mut d = levenshtein(&wanted_lc, &c_lc);
                if c_lc.contains(&wanted_lc) || wanted_lc.contains(&c_lc) {
                    d = d.min(1);
                }
                (d, *c)
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

    #[test]
    fn the_bounded_ranking_is_the_plain_one() {
        let candidates = [
            "nats-how-to-setup",
            "nats-troubleshooting",
            "NATS-Setup",
            "credential-vault-templates",
            "vault",
            "vaults",
            "valt",
            "qa-00042",
            "qa-00024",
            "qa-0042",
            "ΣΊΣΥΦΟΣ-node",
            "σίσυφος-node",
            "",
            "a",
            "ab",
        ];
        let wanted = [
            "nats-setup",
            "nats-troubleshoot",
            "Vault",
            "vlt",
            "qa-00043",
            "qa-42",
            "σίσυφος-nod",
            "ΣΊΣΥΦΟΣ",
            "",
            "zzzzzzzzzzzzzzzzzzzzzzzz",
            "credential-vault-template",
        ];
        for w in wanted {
            for max in [1, 3, 20] {
                assert_eq!(
                    closest(w, candidates, max),
                    closest_plain(w, &candidates, max),
                    "wanted {w:?}, max {max}"
                );
            }
        }
        // Something is found, so the comparison above is not over empty lists.
        // (Without the one- and two-letter names, which many names contain.)
        let named = candidates.iter().copied().filter(|c| c.len() > 2);
        assert_eq!(closest("qa-00043", named.clone(), 1), ["qa-00042"]);
        assert_eq!(closest("vlt", named, 1), ["valt"]);
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
