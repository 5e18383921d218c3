//! The Q&A store (`reflection/qa.ncl`): typed entries, validation beyond the
//! Nickel contract (unique ids, with the line of each occurrence), and the
//! list, search and show operations the `qa` tools expose.
//!
//! The store is packed (see [`crate::packed`]): the entries' text, a table of
//! where each entry's fields lie in it, the ids in sorted order and the search
//! index, as flat sections. The disk cache keeps those bytes, so a fresh
//! process answers a search or a show from them without decoding the store;
//! the typed entries are built only when a caller asks for all of them.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Document, Source};
use crate::model::{Kind, ModelError, decode, unique_ids};
use crate::packed::{Backing, PackWriter, Packed};
use crate::paging::{PageKey, RESPONSE_BUDGET, page_within};
use crate::search::{FieldSpec, IndexView, PACKED_SECTIONS, Query, SNIPPET_CHARS, SearchIndex};

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

/// The loaded store: its packed sections and, once asked for, its entries.
#[derive(Debug)]
pub struct QaStore {
    packed: Packed,
    count: usize,
    generation: [u8; 8],
    entries: OnceLock<Vec<QaEntry>>,
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

/// The field snippets come from: the answer.
const ANSWER: usize = 3;

/// The packed sections: `[layout, count, generation (2 words)]`, the text
/// of every field end to end, per entry [`ENTRY_WORDS`] words (offset and
/// length of id, question, answer, actor and date; first item and count of
/// its tags and of its related ids; verified), the items of those lists
/// (offset and length), the entry numbers in id order, then the index.
const S_META: usize = 0;
const S_TEXT: usize = 1;
const S_ENTRIES: usize = 2;
const S_LISTS: usize = 3;
const S_BY_ID: usize = 4;
const S_INDEX: usize = 5;
const LAYOUT: u32 = 1;
const ENTRY_WORDS: usize = 15;

#[derive(Deserialize)]
struct QaFile {
    entries: Vec<QaEntry>,
}

impl Document for QaStore {
    const KIND: &'static str = "qa";
    const VERSION: u32 = 4;
    const COMPACT: bool = true;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        let file: QaFile = decode(value, source, Kind::Qa, "entries")?;
        unique_ids(file.entries.iter().map(|e| e.id.as_str()), source, Kind::Qa)?;
        Ok(QaStore::new(file.entries, source.key))
    }

    fn to_payload(&self) -> Option<Vec<u8>> {
        Some(self.packed.doc_bytes().to_vec())
    }

    fn from_payload(backing: &Backing, range: std::ops::Range<usize>) -> Option<Self> {
        QaStore::open(Packed::open(backing.clone(), range).ok()?)
    }
}

// The disk cache persists the packed bytes (`to_payload`); serde sees the
// same bytes, so the two never disagree.
impl Serialize for QaStore {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.packed.doc_bytes())
    }
}

impl<'de> Deserialize<'de> for QaStore {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = Vec::<u8>::deserialize(deserializer)?;
        let backing = Backing::copy_of(&bytes);
        Packed::open(backing, 0..bytes.len())
            .ok()
            .and_then(QaStore::open)
            .ok_or_else(|| serde::de::Error::custom("not a packed Q&A store"))
    }
}

impl Default for QaStore {
    fn default() -> QaStore {
        QaStore::new(Vec::new(), [0; 32])
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

fn tags_size<'a>(tags: impl IntoIterator<Item = &'a str>) -> usize {
    tags.into_iter().map(|t| t.len() + 3).sum()
}

/// One entry where it lies in the packed store.
#[derive(Debug, Clone, Copy)]
struct EntryRef<'a> {
    store: &'a QaStore,
    words: &'a [u32],
}

impl<'a> EntryRef<'a> {
    fn text(&self, at: usize) -> &'a str {
        let (Some(&offset), Some(&len)) = (self.words.get(at), self.words.get(at + 1)) else {
            return "";
        };
        self.store.text(offset, len)
    }

    fn id(&self) -> &'a str {
        self.text(0)
    }

    fn question(&self) -> &'a str {
        self.text(2)
    }

    fn answer(&self) -> &'a str {
        self.text(4)
    }

    fn actor(&self) -> &'a str {
        self.text(6)
    }

    fn created_at(&self) -> &'a str {
        self.text(8)
    }

    fn verified(&self) -> bool {
        self.words.get(14).is_some_and(|&v| v != 0)
    }

    fn list(&self, at: usize) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        let store = self.store;
        let first = self.words.get(at).copied().unwrap_or(0) as usize;
        let count = self.words.get(at + 1).copied().unwrap_or(0) as usize;
        let items = store
            .packed
            .u32s(S_LISTS)
            .and_then(|l| l.get(first * 2..(first + count) * 2))
            .unwrap_or(&[]);
        items.chunks_exact(2).map(move |p| store.text(p[0], p[1]))
    }

    fn tags(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        self.list(10)
    }

    fn has_tags(&self, tags: &[String]) -> bool {
        tags.iter()
            .all(|t| self.tags().any(|e| e.eq_ignore_ascii_case(t)))
    }

    fn owned(&self) -> QaEntry {
        QaEntry {
            id: self.id().to_owned(),
            question: self.question().to_owned(),
            answer: self.answer().to_owned(),
            actor: self.actor().to_owned(),
            created_at: self.created_at().to_owned(),
            tags: self.tags().map(str::to_owned).collect(),
            related: self.list(12).map(str::to_owned).collect(),
            verified: self.verified(),
        }
    }
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

/// Appends `s` to the text, returning its offset and length.
fn put(text: &mut Vec<u8>, s: &str) -> [u32; 2] {
    let at = u32::try_from(text.len()).unwrap_or(u32::MAX);
    text.extend_from_slice(s.as_bytes());
    [at, u32::try_from(s.len()).unwrap_or(u32::MAX)]
}

/// Stores this large build their search index on a second thread.
const PARALLEL_BUILD: usize = 2_000;

/// The packed text, entry table, tag/related lists and id order of
/// `entries` (see [`QaStore::new`]).
fn entry_table(entries: &[QaEntry]) -> (Vec<u8>, Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut text = Vec::new();
    let mut table = Vec::with_capacity(entries.len() * ENTRY_WORDS);
    let mut lists: Vec<u32> = Vec::new();
    for e in entries {
        for s in [&e.id, &e.question, &e.answer, &e.actor, &e.created_at] {
            table.extend(put(&mut text, s));
        }
        for list in [&e.tags, &e.related] {
            table.push(u32::try_from(lists.len() / 2).unwrap_or(u32::MAX));
            table.push(u32::try_from(list.len()).unwrap_or(u32::MAX));
            for item in list {
                lists.extend(put(&mut text, item));
            }
        }
        table.push(u32::from(e.verified));
    }
    let mut by_id: Vec<u32> = (0..u32::try_from(entries.len()).unwrap_or(u32::MAX)).collect();
    by_id.sort_by(|&a, &b| entries[a as usize].id.cmp(&entries[b as usize].id));
    (text, table, lists, by_id)
}

impl QaStore {
    /// A store over `entries`, indexed for search; `key` identifies the
    /// source content (cursors from another version are refused).
    pub fn new(entries: Vec<QaEntry>, key: [u8; 32]) -> QaStore {
        // The search index is built beside the entry table (on another
        // core for a large store: a cold load waits for both).
        let build = || {
            // Tags are joined so each tag's words are searchable.
            let tags: Vec<String> = entries.iter().map(|e| e.tags.join(" ")).collect();
            SearchIndex::build(
                &FIELDS,
                ANSWER,
                entries.iter().zip(&tags).map(|(e, t)| {
                    [
                        e.id.as_str(),
                        e.question.as_str(),
                        t.as_str(),
                        e.answer.as_str(),
                    ]
                }),
            )
        };
        let (index, (text, table, lists, by_id)) = if entries.len() >= PARALLEL_BUILD {
            std::thread::scope(|scope| {
                let index = scope.spawn(build);
                let table = entry_table(&entries);
                let index = index
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (index, table)
            })
        } else {
            (build(), entry_table(&entries))
        };
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&key[..8]);
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let mut w = PackWriter::new();
        w.u32s(&[
            LAYOUT,
            count,
            u32::from_le_bytes([generation[0], generation[1], generation[2], generation[3]]),
            u32::from_le_bytes([generation[4], generation[5], generation[6], generation[7]]),
        ]);
        w.bytes(&text);
        w.u32s(&table);
        w.u32s(&lists);
        w.u32s(&by_id);
        index.pack(&mut w);
        let bytes = w.finish();
        let packed = Packed::open(Backing::copy_of(&bytes), 0..bytes.len());
        match packed.ok().and_then(QaStore::open) {
            Some(store) => {
                let _ = store.entries.set(entries);
                store
            }
            // What was just packed always reads back; an empty store
            // rather than a panic all the same.
            None => QaStore::empty(),
        }
    }

    fn empty() -> QaStore {
        let mut w = PackWriter::new();
        w.u32s(&[LAYOUT, 0, 0, 0]);
        w.bytes(&[]);
        w.u32s(&[]);
        w.u32s(&[]);
        w.u32s(&[]);
        SearchIndex::default().pack(&mut w);
        let bytes = w.finish();
        QaStore {
            packed: Packed::open(Backing::copy_of(&bytes), 0..bytes.len())
                .unwrap_or_else(|_| unreachable!("an empty pack reads back")),
            count: 0,
            generation: [0; 8],
            entries: OnceLock::new(),
        }
    }

    /// A store from packed sections, checked: every entry's fields lie in the
    /// text, its lists in the list table, and the index is consistent.
    fn open(packed: Packed) -> Option<QaStore> {
        let meta = packed.u32s(S_META)?;
        let [LAYOUT, count, g0, g1] = *meta else {
            return None;
        };
        let count = count as usize;
        let text = packed.bytes(S_TEXT).len();
        let table = packed.u32s(S_ENTRIES)?;
        let lists = packed.u32s(S_LISTS)?;
        let by_id = packed.u32s(S_BY_ID)?;
        let fits = |offset: u32, len: u32| {
            (offset as usize)
                .checked_add(len as usize)
                .is_some_and(|end| end <= text)
        };
        let sound = table.len() == count * ENTRY_WORDS
            && by_id.len() == count
            && by_id.iter().all(|&i| (i as usize) < count)
            && lists.len() % 2 == 0
            && lists.chunks_exact(2).all(|p| fits(p[0], p[1]))
            && table.chunks_exact(ENTRY_WORDS).all(|w| {
                (0..5).all(|f| fits(w[2 * f], w[2 * f + 1]))
                    && [10, 12].iter().all(|&l| {
                        (w[l] as usize)
                            .checked_add(w[l + 1] as usize)
                            .is_some_and(|end| end * 2 <= lists.len())
                    })
            })
            && IndexView::unpack(&packed, S_INDEX).is_some_and(|v| v.len() == count);
        if !sound || packed.len() != S_INDEX + PACKED_SECTIONS {
            return None;
        }
        let mut generation = [0u8; 8];
        generation[..4].copy_from_slice(&g0.to_le_bytes());
        generation[4..].copy_from_slice(&g1.to_le_bytes());
        Some(QaStore {
            packed,
            count,
            generation,
            entries: OnceLock::new(),
        })
    }

    /// Text at `offset`, `len` bytes; empty where it is not UTF-8 (which a
    /// checked, checksummed pack never holds).
    fn text(&self, offset: u32, len: u32) -> &str {
        let from = offset as usize;
        self.packed
            .bytes(S_TEXT)
            .get(from..from.saturating_add(len as usize))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    fn entry_at(&self, i: usize) -> EntryRef<'_> {
        let words = self
            .packed
            .u32s(S_ENTRIES)
            .and_then(|t| t.get(i * ENTRY_WORDS..(i + 1) * ENTRY_WORDS))
            .unwrap_or(&[]);
        EntryRef { store: self, words }
    }

    fn index(&self) -> IndexView<'_> {
        IndexView::trusted(&self.packed, S_INDEX)
    }

    /// The number of the entry with this id.
    fn find(&self, id: &str) -> Option<usize> {
        let by_id = self.packed.u32s(S_BY_ID)?;
        let at = by_id
            .binary_search_by(|&i| self.entry_at(i as usize).id().cmp(id))
            .ok()?;
        by_id.get(at).map(|&i| i as usize)
    }

    fn ids(&self) -> impl Iterator<Item = &str> {
        (0..self.count).map(|i| self.entry_at(i).id())
    }

    /// All entries, in file order (built from the packed store on first use).
    pub fn entries(&self) -> &[QaEntry] {
        self.entries
            .get_or_init(|| (0..self.count).map(|i| self.entry_at(i).owned()).collect())
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
        let matching: Vec<EntryRef<'_>> = (0..self.count)
            .map(|i| self.entry_at(i))
            .filter(|e| e.has_tags(tags) && verified.is_none_or(|v| e.verified() == v))
            .collect();
        let key = PageKey::new(
            &format!("qa_list tags={tags:?} verified={verified:?}"),
            &self.generation,
        );
        let size = |e: &EntryRef<'_>| {
            e.id().len() + e.question().len() + e.created_at().len() + tags_size(e.tags()) + 80
        };
        let (range, next_cursor) =
            page_within(&key, cursor, limit, matching.len(), RESPONSE_BUDGET, |i| {
                matching.get(i).map_or(0, size)
            })?;
        Ok(QaList {
            entries: matching[range]
                .iter()
                .map(|e| QaSummary {
                    id: e.id().to_owned(),
                    question: e.question().to_owned(),
                    tags: e.tags().map(str::to_owned).collect(),
                    verified: e.verified(),
                    created_at: e.created_at().to_owned(),
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
            .find(&wanted_id)
            .filter(|&i| self.entry_at(i).has_tags(tags));
        let keep = |d: usize| d < self.count && self.entry_at(d).has_tags(tags);
        let filter: Option<&dyn Fn(usize) -> bool> =
            if tags.is_empty() { None } else { Some(&keep) };
        let index = self.index();
        let (mut hits, mut total_matches) = index.search(&parsed, filter, limit + 1);
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
        let resolved = index.resolve(&parsed);
        let mut used = 0;
        let results: Vec<QaHit> = hits
            .into_iter()
            .take(limit)
            .filter(|h| h.doc < self.count)
            .map(|h| {
                let e = self.entry_at(h.doc);
                QaHit {
                    id: e.id().to_owned(),
                    question: e.question().to_owned(),
                    score: (f64::from(h.score) * 1000.0).round() / 1000.0,
                    snippet: index.snippet_of(h.doc, e.answer(), &resolved, SNIPPET_CHARS),
                    tags: e.tags().map(str::to_owned).collect(),
                }
            })
            // Stay within the response budget; the best results come first.
            .take_while(|hit| {
                used += hit.id.len()
                    + hit.question.len()
                    + hit.snippet.len()
                    + tags_size(hit.tags.iter().map(String::as_str))
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
        let mut entry = self.entry(id)?;
        let others = entry.id.len()
            + entry.question.len()
            + entry.actor.len()
            + entry.created_at.len()
            + tags_size(entry.tags.iter().map(String::as_str))
            + tags_size(entry.related.iter().map(String::as_str))
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

    /// A copy of the entry with this id, read where it lies.
    pub fn entry(&self, id: &str) -> Result<QaEntry, ModelError> {
        self.find(id)
            .map(|i| self.entry_at(i).owned())
            .ok_or_else(|| ModelError::not_found(Kind::Qa, id, self.ids()))
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Result<&QaEntry, ModelError> {
        self.find(id)
            .and_then(|i| self.entries().get(i))
            .ok_or_else(|| ModelError::not_found(Kind::Qa, id, self.ids()))
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
