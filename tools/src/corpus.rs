//! One search index across every kind of record a project holds (Q&A,
//! nodes, ADRs, backlog items, modes, vendored ontology extensions), for
//! `ontoref_search`. It is rebuilt
//! only when one of the documents it was built from changes: the engine
//! keeps it keyed by the identity of those (cached, shared) documents.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

use crate::search::{FieldSpec, Query, SearchIndex};

/// The kinds `ontoref_search` covers.
pub const KINDS: &[&str] = &["qa", "node", "adr", "backlog", "mode", "extension"];

/// One searchable record.
#[derive(Debug, Clone)]
pub struct Record {
    /// `qa`, `node`, `adr`, `backlog`, `mode` or `extension`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Question, name or title.
    pub title: String,
    /// Tags, level, status: short descriptive words.
    pub labels: String,
    /// Answer, description, context and decision, steps.
    pub body: String,
}

/// Field weights: id and title above labels, labels above body text.
const FIELDS: [FieldSpec; 4] = [
    FieldSpec {
        weight: 3.0,
        b: 0.3,
    }, // id
    FieldSpec {
        weight: 2.5,
        b: 0.5,
    }, // title
    FieldSpec {
        weight: 1.5,
        b: 0.3,
    }, // labels
    FieldSpec {
        weight: 1.0,
        b: 0.75,
    }, // body
];

/// The field snippets come from: the body.
const BODY: usize = 3;

/// The records and their index.
#[derive(Debug, Default)]
pub struct Corpus {
    records: Vec<Record>,
    index: SearchIndex,
}

/// A hit across kinds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CorpusHit {
    /// `qa`, `node`, `adr`, `backlog`, `mode` or `extension`.
    pub kind: String,
    /// Id, for the kind's own get/show tool.
    pub id: String,
    /// Question, name or title.
    pub title: String,
    /// Relevance; comparable within one query.
    pub score: f64,
    /// The best-matching passage, at most 300 characters.
    pub snippet: String,
}

impl Corpus {
    /// Indexes `records`.
    pub fn new(records: Vec<Record>) -> Corpus {
        let index = SearchIndex::build(
            &FIELDS,
            BODY,
            records.iter().map(|r| {
                [
                    r.id.as_str(),
                    r.title.as_str(),
                    r.labels.as_str(),
                    r.body.as_str(),
                ]
            }),
        );
        Corpus { records, index }
    }

    /// Records indexed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The `limit` best records of the given kinds (all when empty), and how
    /// many matched.
    pub fn search(
        &self,
        query: &str,
        kinds: &[String],
        limit: usize,
        budget: usize,
    ) -> (Vec<CorpusHit>, usize) {
        let parsed = Query::parse(query);
        let keep = |d: usize| {
            self.records
                .get(d)
                .is_some_and(|r| kinds.is_empty() || kinds.iter().any(|k| k == r.kind))
        };
        let filter: Option<&dyn Fn(usize) -> bool> =
            if kinds.is_empty() { None } else { Some(&keep) };
        let (hits, total) = self.index.search(&parsed, filter, limit);
        let resolved = self.index.resolve(&parsed);
        let mut used = 0;
        let hits = hits
            .into_iter()
            .filter_map(|h| {
                let r = self.records.get(h.doc)?;
                Some(CorpusHit {
                    kind: r.kind.to_owned(),
                    id: r.id.clone(),
                    title: r.title.clone(),
                    score: (f64::from(h.score) * 1000.0).round() / 1000.0,
                    snippet: self.index.snippet_of(
                        h.doc,
                        &r.body,
                        &resolved,
                        crate::search::SNIPPET_CHARS,
                    ),
                })
            })
            .take_while(|h| {
                used += h.id.len() + h.title.len() + h.snippet.len() + 60;
                used <= budget
            })
            .collect();
        (hits, total)
    }
}

/// The identity of the documents a corpus was built from.
pub type Fingerprint = Vec<usize>;

/// Address of a shared document, as part of a fingerprint.
pub fn identity<T>(doc: &Arc<T>) -> usize {
    Arc::as_ptr(doc) as *const () as usize
}
