//! Search results kept in `tests/snapshots/search_identity.json`: for a fixed
//! mix of queries, the ids, scores and snippets `QaStore::search` returns on
//! the seed's qa.ncl and on the benchmarks' generated 10,000-entry store, and
//! what the cross-kind index (`Corpus`, behind `ontoref_search`) returns over
//! the same records.
//! Making search faster must not change what it finds: any change of a
//! ranking, a score or a snippet fails here until the snapshot is
//! deliberately updated with `ONTOREF_UPDATE_SNAPSHOTS=1` (a mismatch writes
//! `search_identity.actual.json` beside it for a diff).

use ontoref_tools::corpus::Corpus;
use ontoref_tools::qa::{QaEntry, QaStore};
use ontoref_tools::{Engine, EngineConfig};
use serde_json::{Value, json};

use crate::util::{assert_snapshot, repo};

#[path = "../benches/store.rs"]
mod store;

/// Queries over the seed: its own vocabulary, a stop-word-only query, an
/// exact id, a miss, and words that stem together.
const SEED_QUERIES: &[&str] = &[
    "vault credential",
    "credentials vaults",
    "nats jetstream setup",
    "ontoref three layer model",
    "mode hierarchy delegation",
    "disaster recovery master key",
    "integration troubleshooting",
    "ontoref-dao-discipline",
    "what is the",
    "zebra quokka",
    "sops age recipients rotate",
    "OCI registry token",
];

/// Queries over the generated store (its vocabulary is the 88 words of
/// `benches/store.rs`) besides the benchmarks' mix (`store::QUERIES`).
const MORE_GENERATED_QUERIES: &[&str] = &[
    "audit",
    "permission directory file binary crate",
    "vault-credential-0",
    "unknownword",
];
/// One query's answer as the snapshot keeps it.
fn answer(store: &QaStore, query: &str, tags: &[String], limit: usize) -> Value {
    let r = store.search(query, tags, limit);
    json!({
        "query": query,
        "tags": tags,
        "limit": limit,
        "total_matches": r.total_matches,
        "results": r.results.iter().map(|h| json!([h.id, h.score, h.snippet])).collect::<Vec<_>>(),
    })
}

fn answers(store: &QaStore, queries: &[&str], tag: &str) -> Vec<Value> {
    let mut out: Vec<Value> = queries.iter().map(|q| answer(store, q, &[], 10)).collect();
    // A tag filter, and a limit that cuts inside the matches.
    out.push(answer(store, queries[0], &[tag.to_string()], 10));
    out.push(answer(store, queries[1], &[], 3));
    out
}

/// The cross-kind index over a store's entries, asked the same mix.
fn corpus_answers(store: &QaStore, queries: &[&str]) -> Vec<Value> {
    let corpus = Corpus::new(store.entries().iter().map(QaEntry::record).collect());
    queries
        .iter()
        .map(|q| {
            let (hits, total) = corpus.search(q, &[], 10, 64 * 1024);
            json!({
                "query": q,
                "total_matches": total,
                "results": hits.iter().map(|h| json!([h.kind, h.id, h.score, h.snippet])).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The Q&A store of the project at `root`, evaluated (no disk cache).
fn load_qa(root: &std::path::Path, cache: &std::path::Path) -> std::sync::Arc<QaStore> {
    let engine = Engine::new(EngineConfig {
        project: Some(root.to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        disk_cache: false,
        ..EngineConfig::default()
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(engine.qa()).unwrap()
}

fn seed_store() -> std::sync::Arc<QaStore> {
    let cache = tempfile::tempdir().unwrap();
    load_qa(&repo().join("tests/fixtures/seed"), cache.path())
}

fn generated_store(n: usize) -> QaStore {
    let entries = store::generate_entries(n)
        .into_iter()
        .map(|g| QaEntry {
            id: g.id,
            question: g.question,
            answer: g.answer,
            actor: "agent".into(),
            created_at: g.created_at,
            tags: g.tags,
            related: Vec::new(),
            verified: g.verified,
        })
        .collect();
    QaStore::new(entries, [7; 32])
}

#[test]
fn search_results_match_the_snapshot() {
    let seed = seed_store();
    assert!(seed.entries().len() >= 10, "the seed store lost entries");
    let generated = generated_store(10_000);
    let generated_queries: Vec<&str> = store::QUERIES
        .iter()
        .chain(MORE_GENERATED_QUERIES)
        .copied()
        .collect();
    let actual = json!({
        "seed": answers(&seed, SEED_QUERIES, "nats"),
        "generated_10000": answers(&generated, &generated_queries, "vault"),
        "corpus_seed": corpus_answers(&seed, SEED_QUERIES),
        "corpus_generated_10000": corpus_answers(&generated, &generated_queries),
    });
    // The mix must exercise something: hits in both stores, a cut limit.
    for (store, list) in actual.as_object().unwrap() {
        let hits: usize = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["results"].as_array().unwrap().len())
            .sum();
        assert!(hits > 50, "{store}: only {hits} results over the mix");
    }
    assert_snapshot("search_identity", "search results", &actual);
}

#[test]
fn the_generated_entries_are_what_the_benchmarks_store_evaluates_to() {
    // The generated store built in memory above stands for the file the
    // benchmarks write: evaluate a small one and compare.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("reflection")).unwrap();
    std::fs::create_dir_all(dir.path().join(".ontoref")).unwrap();
    let entries = store::generate_entries(40);
    std::fs::write(
        dir.path().join("reflection/qa.ncl"),
        store::store_text(&entries),
    )
    .unwrap();
    let loaded = load_qa(dir.path(), &dir.path().join("cache"));
    let built = generated_store(40);
    assert_eq!(loaded.entries().len(), 40);
    assert_eq!(loaded.entries(), built.entries());
}
