//! Ranked full-text search: a BM25F index over documents with weighted fields,
//! and snippet extraction.
//!
//! Written here rather than taken from a crate: tantivy does this well but
//! adds minutes of build and an on-disk index directory of its own, while the
//! small BM25 crates have no per-field weights. This index is a plain
//! serialisable value, so it is persisted inside the evaluation cache next to
//! the documents it indexes and a fresh process answers without rebuilding it.
//!
//! Tokens are lower-cased alphanumeric runs, English stop words dropped, and
//! stemmed with Snowball's English stemmer, so `credentials` finds
//! `credential`. Scores follow BM25F: each field's term frequency is
//! normalised by that field's length, weighted, summed, then saturated.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 300;

const K1: f32 = 1.2;

/// One field of the indexed documents.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct FieldSpec {
    /// Weight of a hit in this field relative to body text (1.0).
    pub weight: f32,
    /// Length normalisation (BM25's `b`): 0 for none, 1 for full.
    pub b: f32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Posting {
    doc: u32,
    field: u8,
    tf: u16,
}

/// An inverted index over `docs` documents with the same fields.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SearchIndex {
    fields: Vec<FieldSpec>,
    docs: u32,
    /// `lengths[field][doc]`, in tokens.
    lengths: Vec<Vec<u32>>,
    avg_lengths: Vec<f32>,
    /// Sorted by term, for binary search; each with its document frequency.
    terms: Vec<(String, u32, Vec<Posting>)>,
}

/// A scored document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the document, in the order given to [`SearchIndex::build`].
    pub doc: usize,
    /// BM25F score; larger is better.
    pub score: f32,
}

impl SearchIndex {
    /// Indexes documents given as one text per field, in `fields` order.
    pub fn build<'a, I, D>(fields: &[FieldSpec], docs: I) -> SearchIndex
    where
        I: IntoIterator<Item = D>,
        D: IntoIterator<Item = &'a str>,
    {
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut lengths: Vec<Vec<u32>> = vec![Vec::new(); fields.len()];
        let mut count = 0u32;
        let mut tf: HashMap<String, u16> = HashMap::new();
        for (doc, texts) in docs.into_iter().enumerate() {
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            count = doc.saturating_add(1);
            let mut texts = texts.into_iter();
            for (field, lens) in lengths.iter_mut().enumerate() {
                let text = texts.next().unwrap_or("");
                tf.clear();
                let mut len = 0u32;
                for token in tokens(text) {
                    len += 1;
                    let n = tf.entry(token).or_insert(0);
                    *n = n.saturating_add(1);
                }
                lens.push(len);
                for (term, n) in tf.drain() {
                    postings.entry(term).or_default().push(Posting {
                        doc,
                        field: u8::try_from(field).unwrap_or(u8::MAX),
                        tf: n,
                    });
                }
            }
        }
        let avg_lengths = lengths
            .iter()
            .map(|l| {
                if l.is_empty() {
                    1.0
                } else {
                    (l.iter().map(|&n| n as f64).sum::<f64>() / l.len() as f64).max(1.0) as f32
                }
            })
            .collect();
        let mut terms: Vec<(String, u32, Vec<Posting>)> = postings
            .into_iter()
            .map(|(term, list)| {
                let mut df = 0u32;
                let mut last = u32::MAX;
                for p in &list {
                    if p.doc != last {
                        df += 1;
                        last = p.doc;
                    }
                }
                (term, df, list)
            })
            .collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        SearchIndex {
            fields: fields.to_vec(),
            docs: count,
            lengths,
            avg_lengths,
            terms,
        }
    }

    /// Number of documents indexed.
    pub fn len(&self) -> usize {
        self.docs as usize
    }

    /// Whether no document is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    fn lookup(&self, term: &str) -> Option<&(String, u32, Vec<Posting>)> {
        self.terms
            .binary_search_by(|(t, _, _)| t.as_str().cmp(term))
            .ok()
            .and_then(|i| self.terms.get(i))
    }

    fn postings(&self, term: &str) -> &[Posting] {
        self.lookup(term).map_or(&[], |(_, _, p)| p.as_slice())
    }

    /// Inverse document frequency of a (stemmed) term; 0 when absent.
    pub fn idf(&self, term: &str) -> f32 {
        let Some((_, df, _)) = self.lookup(term) else {
            return 0.0;
        };
        let n = self.docs as f32;
        let df = *df as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The `limit` best documents matching at least one query term, best
    /// first, and how many matched in all; `keep` filters documents before
    /// ranking.
    pub fn search(
        &self,
        query: &Query,
        keep: impl Fn(usize) -> bool,
        limit: usize,
    ) -> (Vec<Hit>, usize) {
        let n = self.docs as usize;
        let mut scores = vec![0f32; n];
        let mut tf_norm = vec![0f32; n];
        let mut matched: Vec<u32> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        for term in &query.terms {
            let postings = self.postings(term);
            if postings.is_empty() {
                continue;
            }
            let idf = self.idf(term);
            touched.clear();
            for p in postings {
                let doc = p.doc as usize;
                let field = p.field as usize;
                let (Some(spec), Some(len), Some(slot)) = (
                    self.fields.get(field),
                    self.lengths.get(field).and_then(|l| l.get(doc)),
                    tf_norm.get_mut(doc),
                ) else {
                    continue;
                };
                let avg = self.avg_lengths.get(field).copied().unwrap_or(1.0);
                let norm = 1.0 - spec.b + spec.b * (*len as f32 / avg);
                if *slot == 0.0 {
                    touched.push(p.doc);
                }
                *slot += spec.weight * p.tf as f32 / norm;
            }
            for &doc in &touched {
                let doc = doc as usize;
                let t = tf_norm[doc];
                if scores[doc] == 0.0 {
                    matched.push(doc as u32);
                }
                scores[doc] += idf * t * (K1 + 1.0) / (K1 + t);
                tf_norm[doc] = 0.0;
            }
        }
        let mut hits: Vec<Hit> = matched
            .into_iter()
            .map(|d| d as usize)
            .filter(|&d| keep(d))
            .map(|doc| Hit {
                doc,
                score: scores[doc],
            })
            .collect();
        let total = hits.len();
        let order = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc));
        if limit < hits.len() {
            if limit == 0 {
                hits.clear();
            } else {
                hits.select_nth_unstable_by(limit - 1, order);
                hits.truncate(limit);
            }
        }
        hits.sort_unstable_by(order);
        (hits, total)
    }
}

/// A parsed query: its distinct stemmed terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Stemmed terms, deduplicated, in query order.
    pub terms: Vec<String>,
}

impl Query {
    /// Parses free text.
    pub fn parse(text: &str) -> Query {
        let mut terms: Vec<String> = Vec::new();
        for t in tokens(text) {
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        Query { terms }
    }

    /// Whether no searchable term remains (only stop words or punctuation).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in",
    "is", "it", "of", "on", "or", "so", "that", "the", "this", "to", "was", "what", "when",
    "where", "which", "who", "why", "with",
];

/// Byte spans `(start, end)` of the word runs in `text`.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut iter = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = iter.peek() {
            if c.is_alphanumeric() {
                break;
            }
            iter.next();
        }
        let (start, _) = *iter.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = iter.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = i + c.len_utf8();
            iter.next();
        }
        Some((start, end))
    })
}

fn normalize(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    if STOP_WORDS.binary_search(&lower.as_str()).is_ok() {
        return None;
    }
    Some(stemmer().stem(&lower).into_owned())
}

/// The stemmed tokens of `text`.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    word_spans(text).filter_map(move |(s, e)| normalize(&text[s..e]))
}

/// Whether `word`, lower-cased, starts with `prefix` (already lower-case),
/// without allocating.
fn starts_with_ci(word: &str, prefix: &str) -> bool {
    let mut w = word.chars().flat_map(char::to_lowercase);
    prefix.chars().all(|p| w.next() == Some(p))
}

/// The passage of `text` (at most `max` characters, whitespace collapsed)
/// covering the most distinct query terms, weighted by `weight`; the start of
/// the text when no term occurs.
///
/// Works on byte offsets of the original text and collapses whitespace only
/// in the chosen window, so a long answer costs one scan of its words.
pub fn snippet(text: &str, query: &Query, weight: impl Fn(&str) -> f32, max: usize) -> String {
    // A stem keeps its word's first letters, so a word can only stem to a
    // query term sharing its first two: this skips stemming most words.
    let prefixes: Vec<String> = query
        .terms
        .iter()
        .map(|t| t.chars().take(2).collect())
        .collect();
    let mut hits: Vec<(usize, usize)> = Vec::new(); // (byte offset, term index)
    for (start, end) in word_spans(text) {
        let word = &text[start..end];
        if !prefixes.iter().any(|p| starts_with_ci(word, p)) {
            continue;
        }
        if let Some(term) = normalize(word)
            && let Some(ti) = query.terms.iter().position(|t| *t == term)
        {
            hits.push((start, ti));
        }
    }
    // Window width in bytes of the original text: whitespace runs collapse,
    // so this is an upper bound on the characters shown, refined below.
    let body = max.saturating_sub(2);
    let lead = body / 6;
    let mut best: Option<(f32, usize)> = None;
    let mut seen = vec![false; query.terms.len()];
    for (i, &(pos, _)) in hits.iter().enumerate() {
        let start = pos.saturating_sub(lead);
        let end = start + body;
        seen.iter_mut().for_each(|s| *s = false);
        let mut score = 0.0;
        for &(_, ti) in hits[i..].iter().take_while(|(p, _)| *p < end) {
            if !seen[ti] {
                seen[ti] = true;
                score += weight(&query.terms[ti]).max(0.01);
            } else {
                score += 0.01;
            }
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, start));
        }
    }
    // Back up to the start of a word (whitespace is ASCII, so the cut is on
    // a char boundary).
    let mut from = best.map_or(0, |(_, s)| s).min(text.len());
    while from > 0 && !text.as_bytes()[from - 1].is_ascii_whitespace() {
        from -= 1;
    }
    let leading = !text[..from].trim().is_empty();
    let mut out = String::with_capacity(max + 8);
    if leading {
        out.push('…');
    }
    let budget = max - usize::from(leading) - 1; // keep room for a trailing '…'
    let mut shown = 0;
    let mut cut = false;
    let mut words = text[from..].split_whitespace().peekable();
    while let Some(word) = words.next() {
        let n = word.chars().count();
        let sep = usize::from(shown > 0);
        if shown + sep + n > budget {
            // Without a trailing ellipsis, the whole rest may still fit.
            let rest: usize = words.clone().map(|w| 1 + w.chars().count()).sum();
            if shown + sep + n + rest <= budget + 1 {
                if sep == 1 {
                    out.push(' ');
                }
                out.push_str(word);
                for w in words {
                    out.push(' ');
                    out.push_str(w);
                }
                return out;
            }
            if shown == 0 {
                // A single overlong word: cut it.
                out.extend(word.chars().take(budget));
            }
            cut = true;
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(word);
        shown += sep + n;
        if words.peek().is_none() {
            break;
        }
    }
    if cut {
        // Without the trailing ellipsis the whole rest may have fitted.
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [FieldSpec; 2] = [
        FieldSpec {
            weight: 3.0,
            b: 0.5,
        },
        FieldSpec {
            weight: 1.0,
            b: 0.75,
        },
    ];

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn stems_and_drops_stop_words() {
        let t: Vec<String> = tokens("The Credentials of the vault-keys").collect();
        assert_eq!(t, ["credenti", "vault", "key"]);
        assert!(Query::parse("the of a").is_empty());
    }

    #[test]
    fn title_hits_outrank_body_hits_and_misses_are_absent() {
        let docs = [
            ["vault rotation", "nothing relevant here at all"],
            [
                "unrelated",
                "the vault is mentioned once in a long body of other words",
            ],
            ["other", "no match"],
        ];
        let index = SearchIndex::build(&FIELDS, docs.iter().map(|d| d.iter().copied()));
        let (hits, total) = index.search(&Query::parse("vault"), |_| true, 10);
        assert_eq!(hits.iter().map(|h| h.doc).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(total, 2);
        assert!(hits[0].score > hits[1].score);
        let (filtered, _) = index.search(&Query::parse("vault"), |d| d != 0, 10);
        assert_eq!(filtered.len(), 1);
        assert!(
            index
                .search(&Query::parse("zebra"), |_| true, 10)
                .0
                .is_empty()
        );
        // A limit keeps the best, and still counts every match.
        let (top, total) = index.search(&Query::parse("vault"), |_| true, 1);
        assert_eq!((top.len(), top[0].doc, total), (1, 0, 2));
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let docs = [["a", "common rare"], ["b", "common"], ["c", "common"]];
        let index = SearchIndex::build(&FIELDS, docs.iter().map(|d| d.iter().copied()));
        assert!(index.idf("rare") > index.idf("common"));
        let (hits, _) = index.search(&Query::parse("common rare"), |_| true, 10);
        assert_eq!(hits[0].doc, 0);
    }

    #[test]
    fn snippet_centres_on_the_densest_passage() {
        let filler = "lorem ipsum dolor sit amet ".repeat(40);
        let text = format!("{filler}\n  the SOPS   file is\n decrypted with age keys {filler}");
        let s = snippet(&text, &Query::parse("sops age"), |_| 1.0, 120);
        assert!(s.chars().count() <= 120, "{s}");
        assert!(s.contains("SOPS file is decrypted with age"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        let short = snippet("short  text", &Query::parse("x"), |_| 1.0, 300);
        assert_eq!(short, "short text");
        // Exactly `max` characters fit without an ellipsis; one more does not.
        assert_eq!(
            snippet("abcd efgh", &Query::parse("x"), |_| 1.0, 9),
            "abcd efgh"
        );
        assert_eq!(
            snippet("abcd efghi", &Query::parse("x"), |_| 1.0, 9),
            "abcd…"
        );
    }

    #[test]
    fn serialises_round_trip() {
        let docs = [["a b", "c d"], ["e", "f"]];
        let index = SearchIndex::build(&FIELDS, docs.iter().map(|d| d.iter().copied()));
        let bytes = postcard::to_stdvec(&index).unwrap();
        let back: SearchIndex = postcard::from_bytes(&bytes).unwrap();
        let q = Query::parse("d");
        assert_eq!(back.search(&q, |_| true, 5), index.search(&q, |_| true, 5));
    }
}
