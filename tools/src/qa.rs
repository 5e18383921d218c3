//! The Q&A store (`reflection/qa.ncl`): typed entries, validation beyond the
//! Nickel contract (unique ids, with the line of each occurrence), and the
//! list, search and show operations the `qa` tools expose.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Document, Source};
use crate::model::{Kind, ModelError, decode, unique_ids};
use crate::paging::{PageKey, RESPONSE_BUDGET, page_within};
use crate::search::{FieldSpec, Query, SNIPPET_CHARS, SearchIndex, snippet};

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QaEntry {
    /// Stable kebab-case id.
    pub id: String,
    /// The question.
    pub question: String,
    /// The answer, line breaks kept.
    pub answer: String,
    /// Who wrote it.
    pub actor: String,
    /// Date written, `YYYY-MM-DD`.
    pub created_at: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ids of related ADRs or entries.
    #[serde(default)]
    pub related: Vec<String>,
    /// Checked against the code by a person.
    #[serde(default)]
    pub verified: bool,
}

/// The loaded store with its search index.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct QaStore {
    entries: Vec<QaEntry>,
    index: SearchIndex,
    generation: [u8; 8],
}

/// Field weights: id, question and tag hits count above body text.
const FIELDS: [FieldSpec; 4] = [
    FieldSpec {
        weight: 3.0,
        b: 0.3,
    }, // id
    FieldSpec {
        weight: 2.5,
        b: 0.5,
    }, // question
    FieldSpec {
        weight: 2.0,
        b: 0.3,
    }, // tags
    FieldSpec {
        weight: 1.0,
        b: 0.75,
    }, // answer
];

#[derive(Deserialize)]
struct QaFile {
    entries: Vec<QaEntry>,
}

impl Document for QaStore {
    const KIND: &'static str = "qa";
    const VERSION: u32 = 2;
    const COMPACT: bool = true;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        let file: QaFile = decode(value, source, Kind::Qa, "entries")?;
        unique_ids(file.entries.iter().map(|e| e.id.as_str()), source, Kind::Qa)?;
        Ok(QaStore::new(file.entries, source.key))
    }
}

/// A list row: no answer, to keep pages small.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaSummary {
    /// Entry id.
    pub id: String,
    /// The question.
    pub question: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Checked by a person.
    pub verified: bool,
    /// Date written.
    pub created_at: String,
}

/// One page of entries.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaList {
    /// The entries of this page, in file order.
    pub entries: Vec<QaSummary>,
    /// Entries matching the filters, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A search hit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaHit {
    /// Entry id.
    pub id: String,
    /// The question.
    pub question: String,
    /// Relevance; larger is better, comparable within one query only.
    pub score: f64,
    /// The best-matching passage of the answer, at most 300 characters.
    pub snippet: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// Ranked search results.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaSearch {
    /// Best first.
    pub results: Vec<QaHit>,
    /// Entries matching the query and tags, before the limit.
    pub total_matches: usize,
}

/// One whole entry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QaShow {
    /// The entry, answer included.
    pub entry: QaEntry,
    /// Present and true when the answer was cut to keep the response small.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

fn tags_size(tags: &[String]) -> usize {
    tags.iter().map(|t| t.len() + 3).sum()
}

/// Estimated JSON size of a list row, in bytes.
fn summary_size(e: &QaEntry) -> usize {
    e.id.len() + e.question.len() + e.created_at.len() + tags_size(&e.tags) + 80
}

impl QaEntry {
    /// The entry as a record of the cross-kind search.
    pub fn record(&self) -> Record {
        Record {
            kind: "qa",
            id: self.id.clone(),
            title: self.question.clone(),
            labels: self.tags.join(" "),
            body: self.answer.clone(),
        }
    }
}

fn has_tags(entry: &QaEntry, tags: &[String]) -> bool {
    tags.iter()
        .all(|t| entry.tags.iter().any(|e| e.eq_ignore_ascii_case(t)))
}

impl QaStore {
    /// A store over `entries`, indexed for search; `key` identifies the
    /// source content (cursors from another version are refused).
    pub fn new(entries: Vec<QaEntry>, key: [u8; 32]) -> QaStore {
        // Tags are joined so each tag's words are searchable.
        let tags: Vec<String> = entries.iter().map(|e| e.tags.join(" ")).collect();
        let index = SearchIndex::build(
            &FIELDS,
            entries.iter().zip(&tags).map(|(e, t)| {
                [
                    e.id.as_str(),
                    e.question.as_str(),
                    t.as_str(),
                    e.answer.as_str(),
                ]
            }),
        );
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&key[..8]);
        QaStore {
            entries,
            index,
            generation,
        }
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[QaEntry] {
        &self.entries
    }

    /// One page of entries having every tag in `tags` (case-insensitive) and,
    /// when given, the `verified` flag.
    pub fn list(
        &self,
        tags: &[String],
        verified: Option<bool>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<QaList, ToolError> {
        let matching: Vec<&QaEntry> = self
            .entries
            .iter()
            .filter(|e| has_tags(e, tags) && verified.is_none_or(|v| e.verified == v))
            .collect();
        let key = PageKey::new(
            &format!("qa_list tags={tags:?} verified={verified:?}"),
            &self.generation,
        );
        let (range, next_cursor) =
            page_within(&key, cursor, limit, matching.len(), RESPONSE_BUDGET, |i| {
                matching.get(i).map_or(0, |e| summary_size(e))
            })?;
        Ok(QaList {
            entries: matching[range]
                .iter()
                .map(|e| QaSummary {
                    id: e.id.clone(),
                    question: e.question.clone(),
                    tags: e.tags.clone(),
                    verified: e.verified,
                    created_at: e.created_at.clone(),
                })
                .collect(),
            total: matching.len(),
            next_cursor,
        })
    }

    /// Ranked search over id, question, tags and answer.
    pub fn search(&self, query: &str, tags: &[String], limit: usize) -> QaSearch {
        let parsed = Query::parse(query);
        let wanted_id = query.trim().to_lowercase();
        let exact = self
            .entries
            .iter()
            .position(|e| e.id == wanted_id && has_tags(e, tags));
        let keep = |d: usize| self.entries.get(d).is_some_and(|e| has_tags(e, tags));
        let (mut hits, mut total_matches) = self.index.search(&parsed, keep, limit + 1);
        // An exact id is what the caller means: put it first.
        if let Some(pos) = exact {
            let top = hits.first().map_or(0.0, |h| h.score);
            let before = hits.len();
            hits.retain(|h| h.doc != pos);
            if hits.len() == before {
                total_matches += 1;
            }
            hits.insert(
                0,
                crate::search::Hit {
                    doc: pos,
                    score: top + 1.0,
                },
            );
        }
        let mut used = 0;
        let results: Vec<QaHit> = hits
            .into_iter()
            .take(limit)
            .filter_map(|h| {
                let e = self.entries.get(h.doc)?;
                Some(QaHit {
                    id: e.id.clone(),
                    question: e.question.clone(),
                    score: (f64::from(h.score) * 1000.0).round() / 1000.0,
                    snippet: snippet(&e.answer, &parsed, |t| self.index.idf(t), SNIPPET_CHARS),
                    tags: e.tags.clone(),
                })
            })
            // Stay within the response budget; the best results come first.
            .take_while(|hit| {
                used += hit.id.len()
                    + hit.question.len()
                    + hit.snippet.len()
                    + tags_size(&hit.tags)
                    + 60;
                used <= RESPONSE_BUDGET
            })
            .collect();
        QaSearch {
            results,
            total_matches,
        }
    }

    /// The entry with this id, its answer cut if the whole entry would not fit
    /// the response budget.
    pub fn show(&self, id: &str) -> Result<QaShow, ModelError> {
        let mut entry = self.get(id)?.clone();
        let others = entry.id.len()
            + entry.question.len()
            + entry.actor.len()
            + entry.created_at.len()
            + tags_size(&entry.tags)
            + tags_size(&entry.related)
            + 200;
        let room = RESPONSE_BUDGET.saturating_sub(others).max(1024);
        let truncated = entry.answer.len() > room;
        if truncated {
            let full = entry.answer.len();
            let mut cut = room;
            while !entry.answer.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.answer.truncate(cut);
            entry.answer.push_str(&format!(
                "\n… (answer cut at {cut} of {full} bytes to keep the response small; read the rest in the store file)"
            ));
        }
        Ok(QaShow { entry, truncated })
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Result<&QaEntry, ModelError> {
        self.entries.iter().find(|e| e.id == id).ok_or_else(|| {
            ModelError::not_found(Kind::Qa, id, self.entries.iter().map(|e| e.id.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, question: &str, answer: &str, tags: &[&str]) -> QaEntry {
        QaEntry {
            id: id.into(),
            question: question.into(),
            answer: answer.into(),
            actor: "human".into(),
            created_at: "2026-05-03".into(),
            tags: tags.iter().map(|t| (*t).into()).collect(),
            related: vec![],
            verified: false,
        }
    }

    fn store() -> QaStore {
        QaStore::new(
            vec![
                entry(
                    "nats-setup",
                    "How do I set up NATS?",
                    "Run the server and point ontoref at it.",
                    &["nats", "ops"],
                ),
                entry(
                    "vault-errors",
                    "What do vault errors mean?",
                    "Each named error maps to a recovery; NATS is unrelated.",
                    &["vault"],
                ),
                entry(
                    "vault-keys",
                    "Where do keys live?",
                    "Keys live in the vault directory.",
                    &["vault", "ops"],
                ),
            ],
            [7; 32],
        )
    }

    #[test]
    fn question_and_id_hits_rank_above_body_hits() {
        let s = store();
        let r = s.search("nats", &[], 10);
        assert_eq!(r.total_matches, 2);
        assert_eq!(r.results[0].id, "nats-setup");
        assert_eq!(r.results[1].id, "vault-errors");
        assert!(r.results[0].score > r.results[1].score);
    }

    #[test]
    fn tags_filter_all_must_match() {
        let s = store();
        let r = s.search("keys vault", &["ops".into(), "vault".into()], 10);
        assert_eq!(
            r.results.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            ["vault-keys"]
        );
        let l = s.list(&["OPS".into()], None, 50, None).unwrap();
        assert_eq!(l.total, 2);
    }

    #[test]
    fn exact_id_comes_first() {
        let s = store();
        let r = s.search("vault-keys", &[], 10);
        assert_eq!(r.results[0].id, "vault-keys");
    }

    #[test]
    fn no_match_is_empty_not_error() {
        let r = store().search("kubernetes", &[], 10);
        assert!(r.results.is_empty());
        assert_eq!(r.total_matches, 0);
    }

    #[test]
    fn unknown_id_suggests_closest() {
        let err = store().get("vault-key").unwrap_err();
        assert_eq!(err.code(), "qa-not-found");
        assert!(err.hint().contains("`vault-keys`"), "{}", err.hint());
    }

    #[test]
    fn list_pages_with_cursor() {
        let s = store();
        let p1 = s.list(&[], None, 2, None).unwrap();
        assert_eq!((p1.entries.len(), p1.total), (2, 3));
        let p2 = s.list(&[], None, 2, p1.next_cursor.as_deref()).unwrap();
        assert_eq!(p2.entries[0].id, "vault-keys");
        assert!(p2.next_cursor.is_none());
        // The cursor of one filter does not fit another.
        let err = s
            .list(&["vault".into()], None, 2, p1.next_cursor.as_deref())
            .unwrap_err();
        assert_eq!(err.code(), "invalid-cursor");
    }

    #[test]
    fn responses_stay_within_the_budget() {
        let long_q = "reason ".repeat(60);
        let entries: Vec<QaEntry> = (0..500)
            .map(|i| {
                entry(
                    &format!("e-{i}"),
                    &format!("{long_q} {i}?"),
                    &"reason answer ".repeat(40),
                    &["t"],
                )
            })
            .collect();
        let s = QaStore::new(entries, [1; 32]);
        let mut seen = 0;
        let mut cursor = None;
        loop {
            let page = s.list(&[], None, 500, cursor.as_deref()).unwrap();
            let bytes = serde_json::to_vec(&page).unwrap().len();
            assert!(bytes <= RESPONSE_BUDGET + 1024, "{bytes}");
            assert!(!page.entries.is_empty());
            seen += page.entries.len();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, 500, "the budget shortens pages, it loses nothing");
        let r = s.search("reason", &[], 100);
        assert_eq!(r.total_matches, 500);
        assert!(serde_json::to_vec(&r).unwrap().len() <= RESPONSE_BUDGET + 1024);
        assert!(!r.results.is_empty());

        let huge = QaStore::new(vec![entry("big", "q?", &"x".repeat(200_000), &[])], [2; 32]);
        let shown = huge.show("big").unwrap();
        assert!(shown.truncated);
        assert!(serde_json::to_vec(&shown).unwrap().len() <= RESPONSE_BUDGET + 1024);
        assert!(
            shown
                .entry
                .answer
                .ends_with("read the rest in the store file)")
        );
        assert!(!store().show("vault-keys").unwrap().truncated);
    }
}
