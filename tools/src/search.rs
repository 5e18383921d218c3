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
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 300;

const K1: f32 = 1.2;

thread_local! {
    /// Each thread's search buffers, kept between searches so that a search
    /// neither allocates nor faults in fresh pages for them.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { scores: Vec::new() }) };
}

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
/// `post_docs` (ascending) beside `post_gain`, what the term adds to that
/// document's score: its idf times its saturated BM25F frequency (each
/// field's count weighted and normalised by the field's length, summed over
/// fields), computed once at build time; a query only adds. One field's
/// tokens are also kept per document with their byte offsets, so a snippet
/// finds the query's words without re-reading and stemming the text.
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
    post_gain: Vec<f32>,
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
    post_gain: &'a [f32],
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
        // Each distinct word as written is lowercased and stemmed once:
        // its term id (`NO_TERM` for a stop word), keyed by the word itself.
        const NO_TERM: u32 = u32::MAX;
        let mut seen: HashMap<&'a str, u32> = HashMap::new();
        for texts in docs {
            let mut texts = texts.into_iter();
            for (field, lens) in lengths.iter_mut().enumerate() {
                let text = texts.next().unwrap_or("");
                tf.clear();
                let mut len = 0u32;
                for (start, end) in word_spans(text) {
                    let word = &text[start..end];
                    let id = match seen.get(word) {
                        Some(&id) => id,
                        None => {
                            let id = match normalize(word) {
                                Some(term) => {
                                    let next = to_u32(ids.len());
                                    *ids.entry(term).or_insert(next)
                                }
                                None => NO_TERM,
                            };
                            seen.insert(word, id);
                            id
                        }
                    };
                    if id == NO_TERM {
                        continue;
                    }
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
        let mut post_gain = vec![0f32; per_doc.len()];
        for (doc, w) in per_doc_starts.windows(2).enumerate() {
            for &(term, t) in &per_doc[w[0]..w[1]] {
                let slot = &mut fill[term as usize];
                post_docs[*slot as usize] = to_u32(doc);
                post_gain[*slot as usize] = t;
                *slot += 1;
            }
        }
        // Frequencies become gains: the term's idf times the saturated
        // frequency, the very expression a query would evaluate.
        for (t, &n) in df.iter().enumerate() {
            let idf = idf(docs as f32, n as f32);
            let run = starts[t] as usize..starts[t + 1] as usize;
            if let Some(run) = post_gain.get_mut(run) {
                run.iter_mut().for_each(|tf| *tf = saturate(idf, *tf));
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
            post_gain,
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
            post_gain: &self.post_gain,
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
        w.f32s(&self.post_gain);
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
        keep: Option<&dyn Fn(usize) -> bool>,
        limit: usize,
    ) -> (Vec<Hit>, usize) {
        self.view().search(query, keep, limit)
    }

    /// See [`IndexView::snippet`].
    pub fn snippet(&self, doc: usize, text: &str, query: &Query, max: usize) -> String {
        self.view().snippet(doc, text, query, max)
    }

    /// See [`IndexView::resolve`].
    pub fn resolve(&self, query: &Query) -> Resolved {
        self.view().resolve(query)
    }

    /// See [`IndexView::snippet_of`].
    pub fn snippet_of(&self, doc: usize, text: &str, query: &Resolved, max: usize) -> String {
        self.view().snippet_of(doc, text, query, max)
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
        // Every array section of its element type (which `trusted` would
        // read as empty), a document count, then the arrays consistent.
        let typed = p.u32s(first).is_some_and(|d| !d.is_empty())
            && (2..PACKED_SECTIONS)
                .filter(|&i| i != 6)
                .all(|i| p.u32s(first + i).is_some())
            && p.f32s(first + 6).is_some();
        let v = IndexView::trusted(p, first);
        let terms = v.term_ends.len();
        let consistent = v.df.len() == terms
            && v.starts.len() == terms + 1
            && v.post_docs.len() == v.post_gain.len()
            && v.tok_starts.len() == v.docs as usize + 1
            && v.tok_terms.len() == v.tok_at.len()
            && rising_within(v.term_ends, v.term_text.len())
            && rising_within(v.starts, v.post_docs.len())
            && rising_within(v.tok_starts, v.tok_terms.len());
        (typed && consistent).then_some(v)
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
            post_gain: p.f32s(first + 6).unwrap_or(&[]),
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
        idf(
            self.docs as f32,
            self.df.get(term).copied().unwrap_or(0) as f32,
        )
    }

    /// Inverse document frequency of a (stemmed) term; 0 when absent.
    pub fn idf(&self, term: &str) -> f32 {
        self.term(term).map_or(0.0, |t| self.idf_of(t))
    }

    /// The postings of term `t`: documents and gains.
    fn postings(&self, t: usize) -> (&[u32], &[f32]) {
        let from = self.starts.get(t).copied().unwrap_or(0) as usize;
        let to = self.starts.get(t + 1).copied().unwrap_or(0) as usize;
        match (self.post_docs.get(from..to), self.post_gain.get(from..to)) {
            (Some(docs), Some(tf)) => (docs, tf),
            _ => (&[], &[]),
        }
    }

    /// The `limit` best documents matching at least one query term, best
    /// first, and how many matched in all; `keep`, when given, filters
    /// documents before ranking (and counting).
    pub fn search(
        &self,
        query: &Query,
        keep: Option<&dyn Fn(usize) -> bool>,
        limit: usize,
    ) -> (Vec<Hit>, usize) {
        let n = self.docs as usize;
        SCRATCH.with(|cell| {
            // A buffer left borrowed (a panic in `keep` mid-search) is
            // replaced, not shared.
            let mut fresh = Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let scratch: &mut Scratch = match guard.as_deref_mut() {
                Ok(buffer) => buffer,
                Err(_) => &mut fresh,
            };
            if scratch.scores.len() < n {
                scratch.scores.resize(n, 0.0);
            }
            self.rank(query, keep, limit, &mut scratch.scores[..n])
        })
    }

    /// [`IndexView::search`] over a zeroed score buffer of one slot per
    /// document, which it leaves zeroed.
    fn rank(
        &self,
        query: &Query,
        keep: Option<&dyn Fn(usize) -> bool>,
        limit: usize,
        scores: &mut [f32],
    ) -> (Vec<Hit>, usize) {
        let terms: Vec<(&[u32], &[f32])> = query
            .terms
            .iter()
            .filter_map(|term| self.term(term))
            .map(|t| self.postings(t))
            .collect();
        let postings: usize = terms.iter().map(|(docs, _)| docs.len()).sum();
        // When the postings cover a fair part of the documents, adding
        // without noting first touches and then scanning every slot costs
        // less than tracking the matched ones (a branch per posting that
        // the processor cannot predict); otherwise only matches are visited.
        let dense = postings.saturating_mul(4) >= scores.len();
        let mut touched = Touched {
            scores,
            matched: Vec::new(),
            dense,
        };
        let Touched {
            scores, matched, ..
        } = &mut touched;
        for (docs, gains) in terms {
            if dense {
                scatter(scores, docs, gains);
            } else {
                scatter_noting(scores, docs, gains, matched);
            }
        }
        let mut top = TopK::new(limit);
        let total = match keep {
            None if dense => gather_all(scores, &mut top),
            None => gather(dense, scores, matched, |_| true, &mut top),
            Some(keep) => gather(dense, scores, matched, keep, &mut top),
        };
        (top.hits, total)
    }

    /// The passage of `text`, document `doc`'s snippet field as indexed (at
    /// most `max` characters, whitespace collapsed), covering the most
    /// distinct query terms, each weighted by its idf; the start of the text
    /// when no term occurs.
    pub fn snippet(&self, doc: usize, text: &str, query: &Query, max: usize) -> String {
        self.snippet_of(doc, text, &self.resolve(query), max)
    }

    /// The query's terms looked up once, for the snippets of many hits.
    pub fn resolve(&self, query: &Query) -> Resolved {
        let wanted: Vec<Option<u32>> = query
            .terms
            .iter()
            .map(|t| self.term(t).map(to_u32))
            .collect();
        let weights = wanted
            .iter()
            .map(|t| t.map_or(0.0, |t| self.idf_of(t as usize)))
            .collect();
        Resolved { wanted, weights }
    }

    /// [`IndexView::snippet`] with the query already resolved.
    pub fn snippet_of(&self, doc: usize, text: &str, query: &Resolved, max: usize) -> String {
        let from = self.tok_starts.get(doc).copied().unwrap_or(0) as usize;
        let to = self.tok_starts.get(doc + 1).copied().unwrap_or(0) as usize;
        let mut hits: Vec<(usize, usize)> = Vec::new(); // (byte offset, term index)
        if let (Some(terms), Some(at)) = (self.tok_terms.get(from..to), self.tok_at.get(from..to)) {
            for (&term, &at) in terms.iter().zip(at) {
                if let Some(ti) = query.wanted.iter().position(|w| *w == Some(term))
                    && (at as usize) < text.len()
                {
                    hits.push((at as usize, ti));
                }
            }
        }
        window(text, &hits, &query.weights, max)
    }
}

/// A query's terms as one index knows them: each term's id there (if any)
/// and its idf, for snippets.
#[derive(Debug, Clone)]
pub struct Resolved {
    wanted: Vec<Option<u32>>,
    weights: Vec<f32>,
}

/// Adds each posting's gain to its document's slot. (A function of its own
/// over plain slices, so the slice stays in registers in the loop.)
fn scatter(scores: &mut [f32], docs: &[u32], gains: &[f32]) {
    for (&doc, &gain) in docs.iter().zip(gains) {
        if let Some(score) = scores.get_mut(doc as usize) {
            *score += gain;
        }
    }
}

/// [`scatter`], noting each document the first time it scores.
fn scatter_noting(scores: &mut [f32], docs: &[u32], gains: &[f32], matched: &mut Vec<u32>) {
    for (&doc, &gain) in docs.iter().zip(gains) {
        if let Some(score) = scores.get_mut(doc as usize) {
            if *score == 0.0 {
                matched.push(doc);
            }
            *score += gain;
        }
    }
}

/// [`gather`] over every slot without a filter, a block at a time: the
/// matches of a block are counted, and its slots visited one by one only
/// when its best score could enter `top` (both loops vectorise; most
/// blocks of a common query hold nothing better than the worst kept).
fn gather_all(scores: &mut [f32], top: &mut TopK) -> usize {
    const BLOCK: usize = 32;
    let mut total = 0;
    for (b, block) in scores.chunks(BLOCK).enumerate() {
        total += block.iter().filter(|&&s| s != 0.0).count();
        // Scores are positive, and positive floats order as their bits;
        // anything else (never written by the index) is visited.
        let best = block.iter().map(|s| s.to_bits()).max().unwrap_or(0);
        if top.full() && best < top.floor.to_bits() {
            continue;
        }
        for (i, &score) in block.iter().enumerate() {
            if score != 0.0 {
                top.offer(Hit {
                    doc: b * BLOCK + i,
                    score,
                });
            }
        }
    }
    scores.fill(0.0);
    total
}

/// BM25's inverse document frequency of a term in `df` of `n` documents.
fn idf(n: f32, df: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// What a term of this idf and BM25F frequency adds to a document's score.
fn saturate(idf: f32, tf: f32) -> f32 {
    idf * tf * (K1 + 1.0) / (K1 + tf)
}

/// Offers every scored document that `keep` accepts to `top`, zeroing the
/// slots read; returns how many were accepted. `dense`: every slot may be
/// scored; otherwise only those in `matched`.
#[inline]
fn gather(
    dense: bool,
    scores: &mut [f32],
    matched: &[u32],
    keep: impl Fn(usize) -> bool,
    top: &mut TopK,
) -> usize {
    let mut total = 0;
    if dense {
        for (doc, &score) in scores.iter().enumerate() {
            if score != 0.0 && keep(doc) {
                total += 1;
                top.offer(Hit { doc, score });
            }
        }
        scores.fill(0.0);
    } else {
        for &d in matched {
            let doc = d as usize;
            if let Some(slot) = scores.get_mut(doc) {
                let score = std::mem::take(slot);
                if keep(doc) {
                    total += 1;
                    top.offer(Hit { doc, score });
                }
            }
        }
    }
    total
}

/// A thread's search buffers: a score slot per document, zero between
/// searches.
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
}

/// The score slots a search touched, zeroed as it reads them; should it
/// unwind halfway (a panicking `keep`), dropping this zeroes the rest, so
/// the thread's buffer never carries scores into the next search.
struct Touched<'s> {
    scores: &'s mut [f32],
    /// Documents in the order first touched (unless `dense`).
    matched: Vec<u32>,
    /// Every slot may have been touched.
    dense: bool,
}

impl Drop for Touched<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if self.dense {
            self.scores.fill(0.0);
        }
        for &d in &self.matched {
            if let Some(s) = self.scores.get_mut(d as usize) {
                *s = 0.0;
            }
        }
    }
}

/// The best hits offered so far, at most `limit`, best first (higher score,
/// then lower document number). After the first few, an offer is rarely
/// better than the worst kept and costs one comparison: no sort of every
/// match.
struct TopK {
    limit: usize,
    hits: Vec<Hit>,
    /// The worst kept score once `limit` are kept (below it, an offer is
    /// refused at once); minus infinity before.
    floor: f32,
}

impl TopK {
    fn new(limit: usize) -> TopK {
        TopK {
            limit,
            hits: Vec::with_capacity(limit.min(1024) + 1),
            floor: f32::NEG_INFINITY,
        }
    }

    /// Whether `limit` hits are kept (and `floor` is the worst's score).
    fn full(&self) -> bool {
        self.hits.len() == self.limit && self.floor >= 0.0
    }

    #[inline]
    fn offer(&mut self, hit: Hit) {
        if hit.score < self.floor {
            return;
        }
        if self.hits.len() == self.limit {
            let Some(worst) = self.hits.last() else {
                return; // limit 0
            };
            match hit.score.total_cmp(&worst.score) {
                std::cmp::Ordering::Less => return,
                std::cmp::Ordering::Equal if hit.doc > worst.doc => return,
                _ => {}
            }
        }
        self.insert(hit);
    }

    #[cold]
    fn insert(&mut self, hit: Hit) {
        let before = |a: &Hit, b: &Hit| {
            b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)) == std::cmp::Ordering::Less
        };
        let at = self.hits.partition_point(|h| before(h, &hit));
        self.hits.insert(at, hit);
        self.hits.truncate(self.limit);
        if self.hits.len() == self.limit
            && let Some(worst) = self.hits.last()
        {
            self.floor = worst.score;
        }
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
    let mut words = Words(&text[from..]).peekable();
    while let Some((word, n)) = words.next() {
        let sep = usize::from(shown > 0);
        if shown + sep + n > budget {
            // Without a trailing ellipsis, the whole rest may still fit.
            // Count the rest only as far as it could still fit.
            let fits = match (budget + 1).checked_sub(shown + sep + n) {
                Some(room) => {
                    let mut rest = 0;
                    for (_, chars) in words.clone() {
                        rest += 1 + chars;
                        if rest > room {
                            break;
                        }
                    }
                    rest <= room
                }
                None => false,
            };
            if fits {
                if sep == 1 {
                    out.push(' ');
                }
                out.push_str(word);
                for (w, _) in words {
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

/// The words of a text and their lengths in characters: what
/// `split_whitespace` gives, with `chars().count()`, in one pass that tests
/// ASCII bytes directly (std's generic pattern searcher decodes every
/// character, and was most of a snippet's cost).
#[derive(Clone)]
struct Words<'t>(&'t str);

impl<'t> Words<'t> {
    /// Whether the character at byte `i` is whitespace, and its length.
    #[inline(always)]
    fn space_at(&self, i: usize) -> (bool, usize) {
        match self.0.as_bytes().get(i) {
            Some(&b) if b.is_ascii() => (matches!(b, b'\t'..=b'\r' | b' '), 1),
            _ => self
                .0
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .map_or((false, 1), |c| (c.is_whitespace(), c.len_utf8())),
        }
    }
}

impl<'t> Iterator for Words<'t> {
    type Item = (&'t str, usize);

    fn next(&mut self) -> Option<(&'t str, usize)> {
        let len = self.0.len();
        let mut i = 0;
        while i < len {
            let (space, n) = self.space_at(i);
            if !space {
                break;
            }
            i += n;
        }
        let start = i;
        let mut chars = 0;
        while i < len {
            let (space, n) = self.space_at(i);
            if space {
                break;
            }
            i += n;
            chars += 1;
        }
        let word = self.0.get(start..i)?;
        self.0 = self.0.get(i..).unwrap_or("");
        (!word.is_empty()).then_some((word, chars))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_split_whitespace_does() {
        for text in [
            "",
            "   ",
            "one",
            " two  words ",
            "tab\tnew\nline\x0bvt\x0cff\rcr",
            "nbsp\u{a0}em\u{2003}ideo\u{3000}nel\u{85}end",
            "héllo wörld — ünïcode ✓ 日本語 テキスト",
            "\u{2028}\u{2029}x\u{202f}y\u{205f}z\u{1680}",
        ] {
            let ours: Vec<(&str, usize)> = Words(text).collect();
            let std: Vec<(&str, usize)> = text
                .split_whitespace()
                .map(|w| (w, w.chars().count()))
                .collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

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
        let (hits, total) = index.search(&Query::parse("vault"), None, 10);
        assert_eq!(hits.iter().map(|h| h.doc).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(total, 2);
        assert!(hits[0].score > hits[1].score);
        let (filtered, _) = index.search(&Query::parse("vault"), Some(&|d| d != 0), 10);
        assert_eq!(filtered.len(), 1);
        assert!(index.search(&Query::parse("zebra"), None, 10).0.is_empty());
        // A limit keeps the best, and still counts every match.
        let (top, total) = index.search(&Query::parse("vault"), None, 1);
        assert_eq!((top.len(), top[0].doc, total), (1, 0, 2));
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let docs = [["a", "common rare"], ["b", "common"], ["c", "common"]];
        let index = SearchIndex::build(&FIELDS, 1, docs.iter().map(|d| d.iter().copied()));
        assert!(index.idf("rare") > index.idf("common"));
        let (hits, _) = index.search(&Query::parse("common rare"), None, 10);
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
            assert_eq!(view.search(&q, None, 5), index.search(&q, None, 5));
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
