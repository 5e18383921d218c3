//! Ranked full-text search: a BM25F index over documents with weighted fields,
//! and snippet extraction.
//!
//! Written here rather than taken from a crate: tantivy does this well but
//! adds minutes of build and an on-disk index directory of its own, while the
//! small BM25 crates have no per-field weights. The index is a few flat
//! arrays ([`SearchIndex`] owns them, [`IndexView`] borrows them, from a
//! [`SearchIndex`] or from a packed cache entry), so it is persisted inside
//! the evaluation cache next to the documents it indexes and a fresh process
//! answers from it without rebuilding or decoding it.
//!
//! Tokens are lower-cased alphanumeric runs, English stop words dropped, and
//! stemmed with Snowball's English stemmer, so `credentials` finds
//! `credential`. Scores follow BM25F: each field's term frequency is
//! normalised by that field's length, weighted, summed, then saturated.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

use crate::packed::{PackWriter, Packed};
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

/// An inverted index over `docs` documents with the same fields, owned.
///
/// Laid out for the query loop: each term's postings are one run of
/// `post_docs` (ascending) beside `post_tf`, the term's BM25F frequency in
/// that document (each field's count weighted and normalised by the field's
/// length, summed over fields), computed once at build time; a query only
/// saturates and adds. One field's tokens are also kept per document with
/// their byte offsets, so a snippet finds the query's words without
/// re-reading and stemming the text.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    docs: u32,
    /// Distinct stemmed terms, sorted, end to end; term `t` ends at
    /// `term_ends[t]`.
    term_text: Vec<u8>,
    term_ends: Vec<u32>,
    /// Per term, the number of documents holding it.
    df: Vec<u32>,
    /// Per term `t`, its postings are `starts[t]..starts[t + 1]`.
    starts: Vec<u32>,
    post_docs: Vec<u32>,
    post_tf: Vec<f32>,
    /// Per document `d`, its snippet-field tokens are
    /// `tok_starts[d]..tok_starts[d + 1]` of `tok_terms` / `tok_at`.
    tok_starts: Vec<u32>,
    tok_terms: Vec<u32>,
    /// Byte offset of each token's word in the snippet field's text.
    tok_at: Vec<u32>,
}

/// A [`SearchIndex`]'s arrays, borrowed: from an owned index or from the
/// sections of a packed document. Every query runs on a view.
#[derive(Debug, Clone, Copy)]
pub struct IndexView<'a> {
    docs: u32,
    term_text: &'a [u8],
    term_ends: &'a [u32],
    df: &'a [u32],
    starts: &'a [u32],
    post_docs: &'a [u32],
    post_tf: &'a [f32],
    tok_starts: &'a [u32],
    tok_terms: &'a [u32],
    tok_at: &'a [u32],
}

/// Sections an index takes in a packed document.
pub const PACKED_SECTIONS: usize = 10;

/// A scored document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the document, in the order given to [`SearchIndex::build`].
    pub doc: usize,
    /// BM25F score; larger is better.
    pub score: f32,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl SearchIndex {
    /// Indexes documents given as one text per field, in `fields` order; the
    /// tokens of field `snippet_field` are kept for [`SearchIndex::snippet`].
    pub fn build<'a, I, D>(fields: &[FieldSpec], snippet_field: usize, docs: I) -> SearchIndex
    where
        I: IntoIterator<Item = D>,
        D: IntoIterator<Item = &'a str>,
    {
        // Pass 1: every document's (term, field, count), each field's
        // length, and the snippet field's tokens, with provisional term ids.
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut counts: Vec<(u32, u8, u16)> = Vec::new();
        let mut count_starts: Vec<usize> = vec![0];
        let mut lengths: Vec<Vec<u32>> = vec![Vec::new(); fields.len()];
        let mut tok_starts: Vec<u32> = vec![0];
        let mut tok_terms: Vec<u32> = Vec::new();
        let mut tok_at: Vec<u32> = Vec::new();
        let mut tf: HashMap<u32, u16> = HashMap::new();
        for texts in docs {
            let mut texts = texts.into_iter();
            for (field, lens) in lengths.iter_mut().enumerate() {
                let text = texts.next().unwrap_or("");
                tf.clear();
                let mut len = 0u32;
                for (start, end) in word_spans(text) {
                    let Some(term) = normalize(&text[start..end]) else {
                        continue;
                    };
                    let next = to_u32(ids.len());
                    let id = *ids.entry(term).or_insert(next);
                    len += 1;
                    let n = tf.entry(id).or_insert(0);
                    *n = n.saturating_add(1);
                    if field == snippet_field {
                        tok_terms.push(id);
                        tok_at.push(to_u32(start));
                    }
                }
                lens.push(len);
                let field = u8::try_from(field).unwrap_or(u8::MAX);
                counts.extend(tf.drain().map(|(id, n)| (id, field, n)));
            }
            count_starts.push(counts.len());
            tok_starts.push(to_u32(tok_terms.len()));
        }
        let docs = count_starts.len() - 1;
        let avg_lengths: Vec<f32> = lengths
            .iter()
            .map(|l| {
                if l.is_empty() {
                    1.0
                } else {
                    (l.iter().map(|&n| n as f64).sum::<f64>() / l.len() as f64).max(1.0) as f32
                }
            })
            .collect();
        // Terms sorted; provisional ids mapped to their rank.
        let mut terms: Vec<(String, u32)> = ids.into_iter().collect();
        terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut rank = vec![0u32; terms.len()];
        for (r, (_, id)) in terms.iter().enumerate() {
            rank[*id as usize] = to_u32(r);
        }
        for t in &mut tok_terms {
            *t = rank[*t as usize];
        }
        // Pass 2: per document, each term's frequency summed over fields in
        // field order, then the postings grouped by term (documents stay
        // ascending within each term).
        let mut df = vec![0u32; terms.len()];
        let mut per_doc: Vec<(u32, f32)> = Vec::with_capacity(counts.len());
        let mut per_doc_starts: Vec<usize> = Vec::with_capacity(docs + 1);
        per_doc_starts.push(0);
        let mut doc_counts: Vec<(u32, u8, u16)> = Vec::new();
        for (doc, w) in count_starts.windows(2).enumerate() {
            doc_counts.clear();
            doc_counts.extend(
                counts[w[0]..w[1]]
                    .iter()
                    .map(|&(id, field, n)| (rank[id as usize], field, n)),
            );
            doc_counts.sort_unstable_by_key(|&(term, field, _)| (term, field));
            let mut i = 0;
            while i < doc_counts.len() {
                let term = doc_counts[i].0;
                let mut t = 0f32;
                while let Some(&(_, field, n)) = doc_counts.get(i).filter(|c| c.0 == term) {
                    let field = field as usize;
                    let (Some(spec), Some(len)) = (
                        fields.get(field),
                        lengths.get(field).and_then(|l| l.get(doc)),
                    ) else {
                        i += 1;
                        continue;
                    };
                    let avg = avg_lengths.get(field).copied().unwrap_or(1.0);
                    let norm = 1.0 - spec.b + spec.b * (*len as f32 / avg);
                    t += spec.weight * n as f32 / norm;
                    i += 1;
                }
                df[term as usize] += 1;
                per_doc.push((term, t));
            }
            per_doc_starts.push(per_doc.len());
        }
        let mut starts = Vec::with_capacity(terms.len() + 1);
        let mut at = 0u32;
        starts.push(0);
        for &n in &df {
            at += n;
            starts.push(at);
        }
        let mut fill: Vec<u32> = starts[..terms.len()].to_vec();
        let mut post_docs = vec![0u32; per_doc.len()];
        let mut post_tf = vec![0f32; per_doc.len()];
        for (doc, w) in per_doc_starts.windows(2).enumerate() {
            for &(term, t) in &per_doc[w[0]..w[1]] {
                let slot = &mut fill[term as usize];
                post_docs[*slot as usize] = to_u32(doc);
                post_tf[*slot as usize] = t;
                *slot += 1;
            }
        }
        let mut term_text = Vec::new();
        let mut term_ends = Vec::with_capacity(terms.len());
        for (t, _) in &terms {
            term_text.extend_from_slice(t.as_bytes());
            term_ends.push(to_u32(term_text.len()));
        }
        SearchIndex {
            docs: to_u32(docs),
            term_text,
            term_ends,
            df,
            starts,
            post_docs,
            post_tf,
            tok_starts,
            tok_terms,
            tok_at,
        }
    }

    /// The index's arrays, borrowed, for queries.
    pub fn view(&self) -> IndexView<'_> {
        IndexView {
            docs: self.docs,
            term_text: &self.term_text,
            term_ends: &self.term_ends,
            df: &self.df,
            starts: &self.starts,
            post_docs: &self.post_docs,
            post_tf: &self.post_tf,
            tok_starts: &self.tok_starts,
            tok_terms: &self.tok_terms,
            tok_at: &self.tok_at,
        }
    }

    /// Adds the index to `w` as [`PACKED_SECTIONS`] consecutive sections;
    /// returns the first one's number, for [`IndexView::unpack`].
    pub fn pack(&self, w: &mut PackWriter) -> usize {
        let first = w.u32s(&[self.docs]);
        w.bytes(&self.term_text);
        w.u32s(&self.term_ends);
        w.u32s(&self.df);
        w.u32s(&self.starts);
        w.u32s(&self.post_docs);
        w.f32s(&self.post_tf);
        w.u32s(&self.tok_starts);
        w.u32s(&self.tok_terms);
        w.u32s(&self.tok_at);
        first
    }

    /// Number of documents indexed.
    pub fn len(&self) -> usize {
        self.docs as usize
    }

    /// Whether no document is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// See [`IndexView::idf`].
    pub fn idf(&self, term: &str) -> f32 {
        self.view().idf(term)
    }

    /// See [`IndexView::search`].
    pub fn search(
        &self,
        query: &Query,
        keep: impl Fn(usize) -> bool,
        limit: usize,
    ) -> (Vec<Hit>, usize) {
        self.view().search(query, keep, limit)
    }

    /// See [`IndexView::snippet`].
    pub fn snippet(&self, doc: usize, text: &str, query: &Query, max: usize) -> String {
        self.view().snippet(doc, text, query, max)
    }
}

/// Whether `ends` rises (never falls) and stays within `limit`.
fn rising_within(ends: &[u32], limit: usize) -> bool {
    ends.windows(2).all(|w| w[0] <= w[1]) && ends.last().is_none_or(|&e| e as usize <= limit)
}

impl<'a> IndexView<'a> {
    /// The index packed by [`SearchIndex::pack`] from section `first` of
    /// `p`, its arrays checked for consistency (lengths agree, run bounds
    /// rise and stay inside their arrays): `None` when they are not.
    pub fn unpack(p: &'a Packed, first: usize) -> Option<IndexView<'a>> {
        let docs = *p.u32s(first)?.first()?;
        let v = IndexView {
            docs,
            term_text: p.bytes(first + 1),
            term_ends: p.u32s(first + 2)?,
            df: p.u32s(first + 3)?,
            starts: p.u32s(first + 4)?,
            post_docs: p.u32s(first + 5)?,
            post_tf: p.f32s(first + 6)?,
            tok_starts: p.u32s(first + 7)?,
            tok_terms: p.u32s(first + 8)?,
            tok_at: p.u32s(first + 9)?,
        };
        let terms = v.term_ends.len();
        let consistent = v.df.len() == terms
            && v.starts.len() == terms + 1
            && v.post_docs.len() == v.post_tf.len()
            && v.tok_starts.len() == docs as usize + 1
            && v.tok_terms.len() == v.tok_at.len()
            && rising_within(v.term_ends, v.term_text.len())
            && rising_within(v.starts, v.post_docs.len())
            && rising_within(v.tok_starts, v.tok_terms.len());
        consistent.then_some(v)
    }

    /// The index packed from section `first` of `p`, as
    /// [`IndexView::unpack`] without its checks: for a pack that passed them
    /// once already. (A section that does not fit reads as empty; every
    /// access is bounds-checked, so an unchecked view can only answer
    /// wrongly, never read out of bounds.)
    pub fn trusted(p: &'a Packed, first: usize) -> IndexView<'a> {
        IndexView {
            docs: p.u32s(first).and_then(|d| d.first().copied()).unwrap_or(0),
            term_text: p.bytes(first + 1),
            term_ends: p.u32s(first + 2).unwrap_or(&[]),
            df: p.u32s(first + 3).unwrap_or(&[]),
            starts: p.u32s(first + 4).unwrap_or(&[]),
            post_docs: p.u32s(first + 5).unwrap_or(&[]),
            post_tf: p.f32s(first + 6).unwrap_or(&[]),
            tok_starts: p.u32s(first + 7).unwrap_or(&[]),
            tok_terms: p.u32s(first + 8).unwrap_or(&[]),
            tok_at: p.u32s(first + 9).unwrap_or(&[]),
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

    /// The bytes of term `t`.
    fn term_bytes(&self, t: usize) -> &'a [u8] {
        let from = match t {
            0 => 0,
            t => self.term_ends.get(t - 1).copied().unwrap_or(0) as usize,
        };
        let to = self.term_ends.get(t).copied().unwrap_or(0) as usize;
        self.term_text.get(from..to).unwrap_or(&[])
    }

    /// The id of a (stemmed) term.
    fn term(&self, term: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.term_ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.term_bytes(mid).cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn idf_of(&self, term: usize) -> f32 {
        let n = self.docs as f32;
        let df = self.df.get(term).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Inverse document frequency of a (stemmed) term; 0 when absent.
    pub fn idf(&self, term: &str) -> f32 {
        self.term(term).map_or(0.0, |t| self.idf_of(t))
    }

    /// The postings of term `t`: documents and frequencies.
    fn postings(&self, t: usize) -> (&[u32], &[f32]) {
        let from = self.starts.get(t).copied().unwrap_or(0) as usize;
        let to = self.starts.get(t + 1).copied().unwrap_or(0) as usize;
        match (self.post_docs.get(from..to), self.post_tf.get(from..to)) {
            (Some(docs), Some(tf)) => (docs, tf),
            _ => (&[], &[]),
        }
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
        let mut matched: Vec<u32> = Vec::new();
        let mut gains: Vec<f32> = Vec::new();
        for term in &query.terms {
            let Some(t) = self.term(term) else {
                continue;
            };
            let idf = self.idf_of(t);
            let (docs, tf) = self.postings(t);
            // Saturation apart from the scattered adds, so it vectorises.
            gains.clear();
            gains.extend(tf.iter().map(|&t| idf * t * (K1 + 1.0) / (K1 + t)));
            for (&doc, &gain) in docs.iter().zip(&gains) {
                let Some(score) = scores.get_mut(doc as usize) else {
                    continue;
                };
                if *score == 0.0 {
                    matched.push(doc);
                }
                *score += gain;
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

    /// The passage of `text`, document `doc`'s snippet field as indexed (at
    /// most `max` characters, whitespace collapsed), covering the most
    /// distinct query terms, each weighted by its idf; the start of the text
    /// when no term occurs.
    pub fn snippet(&self, doc: usize, text: &str, query: &Query, max: usize) -> String {
        let wanted: Vec<Option<u32>> = query
            .terms
            .iter()
            .map(|t| self.term(t).map(to_u32))
            .collect();
        let weights: Vec<f32> = wanted
            .iter()
            .map(|t| t.map_or(0.0, |t| self.idf_of(t as usize)))
            .collect();
        let from = self.tok_starts.get(doc).copied().unwrap_or(0) as usize;
        let to = self.tok_starts.get(doc + 1).copied().unwrap_or(0) as usize;
        let mut hits: Vec<(usize, usize)> = Vec::new(); // (byte offset, term index)
        if let (Some(terms), Some(at)) = (self.tok_terms.get(from..to), self.tok_at.get(from..to)) {
            for (&term, &at) in terms.iter().zip(at) {
                if let Some(ti) = wanted.iter().position(|w| *w == Some(term))
                    && (at as usize) < text.len()
                {
                    hits.push((at as usize, ti));
                }
            }
        }
        window(text, &hits, &weights, max)
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

/// The passage of `text` around the densest run of `hits` (byte offset of a
/// query word, index of its term), each term counted once per window and
/// weighted by `weights`; at most `max` characters, whitespace collapsed,
/// with `…` where it was cut.
///
/// Works on byte offsets of the original text and collapses whitespace only
/// in the chosen window, so a long text costs no scan beyond its hits.
fn window(text: &str, hits: &[(usize, usize)], weights: &[f32], max: usize) -> String {
    // Window width in bytes of the original text: whitespace runs collapse,
    // so this is an upper bound on the characters shown, refined below.
    let body = max.saturating_sub(2);
    let lead = body / 6;
    let mut best: Option<(f32, usize)> = None;
    let mut seen = vec![false; weights.len()];
    for (i, &(pos, _)) in hits.iter().enumerate() {
        let start = pos.saturating_sub(lead);
        let end = start + body;
        seen.iter_mut().for_each(|s| *s = false);
        let mut score = 0.0;
        for &(_, ti) in hits[i..].iter().take_while(|(p, _)| *p < end) {
            if !seen[ti] {
                seen[ti] = true;
                score += weights.get(ti).copied().unwrap_or(0.0).max(0.01);
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
        let index = SearchIndex::build(&FIELDS, 1, docs.iter().map(|d| d.iter().copied()));
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
        let index = SearchIndex::build(&FIELDS, 1, docs.iter().map(|d| d.iter().copied()));
        assert!(index.idf("rare") > index.idf("common"));
        let (hits, _) = index.search(&Query::parse("common rare"), |_| true, 10);
        assert_eq!(hits[0].doc, 0);
    }

    /// A snippet of `text` as the only document's second field.
    fn snippet_of(text: &str, query: &str, max: usize) -> String {
        let index = SearchIndex::build(&FIELDS, 1, [["", text]].iter().map(|d| d.iter().copied()));
        index.snippet(0, text, &Query::parse(query), max)
    }

    #[test]
    fn snippet_centres_on_the_densest_passage() {
        let filler = "lorem ipsum dolor sit amet ".repeat(40);
        let text = format!("{filler}\n  the SOPS   file is\n decrypted with age keys {filler}");
        let s = snippet_of(&text, "sops age", 120);
        assert!(s.chars().count() <= 120, "{s}");
        assert!(s.contains("SOPS file is decrypted with age"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        let short = snippet_of("short  text", "x", 300);
        assert_eq!(short, "short text");
        // Exactly `max` characters fit without an ellipsis; one more does not.
        assert_eq!(snippet_of("abcd efgh", "x", 9), "abcd efgh");
        assert_eq!(snippet_of("abcd efghi", "x", 9), "abcd…");
    }

    #[test]
    fn snippets_find_stemmed_words_and_stay_on_char_boundaries() {
        let text = format!(
            "{} Ünïcödé wörds, then the Credentials ROTATED here {}",
            "é".repeat(200),
            "ß".repeat(200)
        );
        let s = snippet_of(&text, "credential rotate", 60);
        assert!(s.contains("Credentials ROTATED"), "{s}");
        assert!(s.chars().count() <= 60, "{s}");
        // A document the index does not hold gets the text's start.
        let index = SearchIndex::build(
            &FIELDS,
            1,
            [["", "alpha beta"]].iter().map(|d| d.iter().copied()),
        );
        assert_eq!(
            index.snippet(5, "gamma delta", &Query::parse("alpha"), 300),
            "gamma delta"
        );
    }

    #[test]
    fn a_packed_index_answers_as_the_built_one() {
        let docs = [
            ["a b", "c d credentials"],
            ["e", "f credential d"],
            ["g", "h"],
        ];
        let index = SearchIndex::build(&FIELDS, 1, docs.iter().map(|d| d.iter().copied()));
        let mut w = PackWriter::new();
        let first = w.bytes(b"something before");
        let at = index.pack(&mut w);
        assert_eq!(at, first + 1);
        let bytes = w.finish();
        let packed = Packed::open(crate::packed::Backing::copy_of(&bytes), 0..bytes.len()).unwrap();
        let view = IndexView::unpack(&packed, at).unwrap();
        for q in ["d", "credential", "zebra", "a f"] {
            let q = Query::parse(q);
            assert_eq!(view.search(&q, |_| true, 5), index.search(&q, |_| true, 5));
            assert_eq!(
                view.snippet(1, docs[1][1], &q, 300),
                index.snippet(1, docs[1][1], &q, 300)
            );
        }
        assert_eq!(view.len(), 3);
        // An index whose arrays disagree is refused.
        let mut w = PackWriter::new();
        let at = index.pack(&mut w);
        let mut bytes = w.finish();
        // The document count (the first section's only u32) now exceeds the token table.
        let offset = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
        bytes[offset..offset + 4].copy_from_slice(&9u32.to_le_bytes());
        let packed = Packed::open(crate::packed::Backing::copy_of(&bytes), 0..bytes.len()).unwrap();
        assert!(IndexView::unpack(&packed, at).is_none());
    }
}
