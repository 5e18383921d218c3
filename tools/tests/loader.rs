//! The Nickel loader and its caches, on real files: the seed's qa.ncl, the
//! contract's rejections, import resolution order, invalidation on change,
//! the disk cache across processes (engines), corrupt and foreign cache
//! files, and the evaluation time limit.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ontoref_tools::{Engine, EngineConfig, ToolError};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A project holding `qa.ncl` (and optional extra files) under reflection/.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".ontoref")).unwrap();
    std::fs::create_dir_all(dir.path().join("reflection")).unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn engine(root: &Path, cache: &Path) -> Engine {
    engine_with(root, cache, Duration::from_secs(10))
}

fn engine_with(root: &Path, cache: &Path, timeout: Duration) -> Engine {
    Engine::new(EngineConfig {
        project: Some(root.to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        eval_timeout: timeout,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn evaluations(e: &Engine) -> u64 {
    e.loader().stats().evaluations.load(Ordering::Relaxed)
}

fn entry(id: &str, extra: &str) -> String {
    format!(
        "{{ id = \"{id}\", question = \"Q {id}?\", answer = \"A {id}.\", actor = \"human\", created_at = \"2026-01-0{}\", {extra} }}",
        id.len() % 9 + 1
    )
}

fn store(entries: &[String]) -> String {
    format!(
        "let s = import \"schemas/qa.ncl\" in\n{{\n  entries = [\n    {}\n  ],\n}} | s.QaStore\n",
        entries.join(",\n    ")
    )
}

fn err_of(r: Result<impl std::fmt::Debug, ToolError>) -> ToolError {
    r.expect_err("expected an error")
}

#[tokio::test]
async fn the_seed_qa_file_evaluates_unchanged() {
    let seed = repo().join("../shared/seeds/000_b96b6777f9ee36b0.txt");
    let vendored = repo().join("tests/fixtures/seed/reflection/qa.ncl");
    if let Ok(text) = std::fs::read_to_string(&seed) {
        // The vendored copy is exactly the Nickel part of the seed.
        let start = text
            .find("let s = import \"schemas/qa.ncl\" in")
            .expect("seed has the qa.ncl text");
        assert_eq!(std::fs::read_to_string(&vendored).unwrap(), &text[start..]);
    } else {
        eprintln!(
            "note: {} absent; checking the vendored copy only",
            seed.display()
        );
    }
    let cache = tempfile::tempdir().unwrap();
    let e = engine(&repo().join("tests/fixtures/seed"), cache.path());
    let qa = e.qa().await.unwrap();
    let entries = qa.entries();
    assert_eq!(entries.len(), 12);
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids[0], "credential-vault-best-practice");
    assert_eq!(ids[11], "credential-vault-disaster-recovery");
    for e in entries {
        assert!(
            !e.question.is_empty() && e.answer.lines().count() > 3,
            "{}",
            e.id
        );
        assert_eq!(e.actor, "human");
        assert!(e.created_at.starts_with("2026-"), "{}", e.created_at);
        assert!(!e.tags.is_empty() && e.verified, "{}", e.id);
    }
    assert_eq!(entries[0].related, ["adr-017", "adr-015"]);
    // The 15 named errors are in the troubleshooting answer, line breaks kept.
    let trouble = qa.get("credential-vault-troubleshooting").unwrap();
    assert!(
        trouble.answer.contains("[target-not-in-scope]\n")
            || trouble.answer.contains("[target-not-in-scope]")
    );
    assert!(trouble.answer.lines().count() > 20);
}

#[tokio::test]
async fn contract_rejects_a_missing_field_naming_file_line_and_field() {
    let text = store(&[
        entry("a", ""),
        "{ id = \"b\", question = \"Q?\", actor = \"human\", created_at = \"2026-01-01\" }".into(),
    ]);
    let p = project(&[("reflection/qa.ncl", &text)]);
    let cache = tempfile::tempdir().unwrap();
    let err = err_of(engine(p.path(), cache.path()).qa().await);
    assert_eq!(err.code(), "ncl-eval-failed");
    let msg = err.to_string();
    assert!(msg.contains("answer"), "{msg}");
    assert!(msg.contains("reflection/qa.ncl:"), "{msg}");
    assert!(
        !msg.contains(&p.path().display().to_string()),
        "paths are shown relative to the project: {msg}"
    );
}

#[tokio::test]
async fn contract_rejects_a_wrong_type_with_its_line() {
    let text = store(&[entry("a", ""), entry("b", "verified = \"yes\",")]);
    let p = project(&[("reflection/qa.ncl", &text)]);
    let cache = tempfile::tempdir().unwrap();
    let err = err_of(engine(p.path(), cache.path()).qa().await);
    assert_eq!(err.code(), "ncl-eval-failed");
    let msg = err.to_string();
    assert!(msg.contains("`verified`"), "{msg}");
    assert!(
        msg.contains("reflection/qa.ncl:5:"),
        "line 5 holds entry b: {msg}"
    );
    assert!(
        msg.contains("<ontoref>/schemas/qa.ncl"),
        "the embedded schema is named: {msg}"
    );
}

#[tokio::test]
async fn duplicate_ids_name_both_lines() {
    let text = store(&[entry("a", ""), entry("b", ""), entry("a", "")]);
    let p = project(&[("reflection/qa.ncl", &text)]);
    let cache = tempfile::tempdir().unwrap();
    let err = err_of(engine(p.path(), cache.path()).qa().await);
    assert_eq!(err.code(), "qa-duplicate-id");
    assert_eq!(
        err.to_string(),
        "reflection/qa.ncl:6: field `id`: duplicate Q&A entry id `a` (first defined at line 4)"
    );
}

#[tokio::test]
async fn syntax_errors_carry_file_line_col() {
    let p = project(&[("reflection/qa.ncl", "{ entries = [ { id = \"a\" , ] }")]);
    let cache = tempfile::tempdir().unwrap();
    let err = err_of(engine(p.path(), cache.path()).qa().await);
    assert_eq!(err.code(), "ncl-eval-failed");
    assert!(err.to_string().contains("reflection/qa.ncl:1:"), "{err}");
    assert!(!err.hint().is_empty());
}

#[tokio::test]
async fn a_project_schema_comes_before_the_embedded_one() {
    // The project's own schemas/qa.ncl requires an extra field.
    let own = "{ QaStore = { entries | Array { id | String, owner | String, .. } } }";
    let text = store(&[entry("a", "")]);
    let p = project(&[
        ("reflection/qa.ncl", &text),
        ("reflection/schemas/qa.ncl", own),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let err = err_of(engine(p.path(), cache.path()).qa().await);
    assert!(err.to_string().contains("owner"), "{err}");
    // Without it, the embedded schema applies and the file loads.
    std::fs::remove_file(p.path().join("reflection/schemas/qa.ncl")).unwrap();
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries().len(), 1);
}

#[tokio::test]
async fn a_missing_store_is_empty() {
    let p = project(&[]);
    let cache = tempfile::tempdir().unwrap();
    assert!(
        engine(p.path(), cache.path())
            .qa()
            .await
            .unwrap()
            .entries()
            .is_empty()
    );
}

#[tokio::test]
async fn memory_cache_serves_unchanged_files_and_sees_changed_imports() {
    let text = "let s = import \"schemas/qa.ncl\" in\nlet c = import \"common.ncl\" in\n{ entries = [ { id = \"a\", question = c.q, answer = \"x\", actor = \"h\", created_at = \"2026-01-01\" } ] } | s.QaStore";
    let p = project(&[
        ("reflection/qa.ncl", text),
        ("reflection/common.ncl", "{ q = \"first?\" }"),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries()[0].question, "first?");
    assert_eq!(e.qa().await.unwrap().entries()[0].question, "first?");
    assert_eq!(evaluations(&e), 1, "the second call is served from memory");
    assert!(e.loader().stats().memory_hits.load(Ordering::Relaxed) >= 1);

    // Same length, written right away: only the racy re-hash can see it.
    std::fs::write(p.path().join("reflection/common.ncl"), "{ q = \"other?\" }").unwrap();
    assert_eq!(e.qa().await.unwrap().entries()[0].question, "other?");
    assert_eq!(evaluations(&e), 2);

    // Editing the main file is seen too.
    std::fs::write(
        p.path().join("reflection/qa.ncl"),
        text.replace("answer = \"x\"", "answer = \"y\""),
    )
    .unwrap();
    assert_eq!(e.qa().await.unwrap().entries()[0].answer, "y");
    assert_eq!(evaluations(&e), 3);
}

#[tokio::test]
async fn a_fresh_engine_answers_from_the_disk_cache() {
    let text = store(&[entry("a", ""), entry("bb", "")]);
    let p = project(&[("reflection/qa.ncl", &text)]);
    let cache = tempfile::tempdir().unwrap();
    let first = engine(p.path(), cache.path());
    first.qa().await.unwrap();
    assert_eq!(evaluations(&first), 1);

    let second = engine(p.path(), cache.path());
    assert_eq!(second.qa().await.unwrap().entries().len(), 2);
    assert_eq!(evaluations(&second), 0, "served from disk");
    assert_eq!(second.loader().stats().disk_hits.load(Ordering::Relaxed), 1);
    let hits = second.qa().await.unwrap().search("bb", &[], 5);
    assert_eq!(hits.results[0].id, "bb", "the persisted search index works");

    // A cache without --disk-cache does not read it.
    let off = Engine::new(EngineConfig {
        project: Some(p.path().to_path_buf()),
        cache_dir: Some(cache.path().to_path_buf()),
        disk_cache: false,
        ..EngineConfig::default()
    })
    .unwrap();
    off.qa().await.unwrap();
    assert_eq!(evaluations(&off), 1);
}

fn cache_files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache.join("docs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn corrupt_cache_files_are_ignored_and_rebuilt() {
    let p = project(&[("reflection/qa.ncl", &store(&[entry("a", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    engine(p.path(), cache.path()).qa().await.unwrap();
    let [file] = cache_files(cache.path()).try_into().unwrap();
    let good = std::fs::read(&file).unwrap();

    for corrupt in [
        {
            let mut b = good.clone();
            let last = b.len() - 3;
            b[last] ^= 0xff; // payload flipped: checksum fails
            b
        },
        good[..good.len() / 2].to_vec(), // truncated
        b"garbage".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&file, &corrupt).unwrap();
        let e = engine(p.path(), cache.path());
        assert_eq!(e.qa().await.unwrap().entries()[0].id, "a");
        assert_eq!(evaluations(&e), 1, "a corrupt entry is never trusted");
        // It was rewritten: the next fresh engine is served from disk.
        let next = engine(p.path(), cache.path());
        next.qa().await.unwrap();
        assert_eq!(evaluations(&next), 0, "the entry was rewritten");
    }
}

#[tokio::test]
async fn a_large_entry_is_mapped_and_still_checked_whole() {
    // Long answers: the entry is larger than the size from which entries
    // are mapped rather than read.
    let long = "word ".repeat(150);
    let entries: Vec<String> = (0..500)
        .map(|i| entry(&format!("e{i}"), "").replace("A e", &format!("{long} e")))
        .collect();
    let p = project(&[("reflection/qa.ncl", &store(&entries))]);
    let cache = tempfile::tempdir().unwrap();
    engine(p.path(), cache.path()).qa().await.unwrap();
    let [file] = cache_files(cache.path()).try_into().unwrap();
    let good = std::fs::read(&file).unwrap();
    assert!(good.len() > 512 * 1024, "{} bytes", good.len());

    let fresh = engine(p.path(), cache.path());
    let store_read = fresh.qa().await.unwrap();
    assert_eq!(store_read.entries().len(), 500);
    assert_eq!(evaluations(&fresh), 0);
    assert_eq!(fresh.loader().stats().mapped.load(Ordering::Relaxed), 1);
    // ontoref never writes an entry in place; this test does, so nothing
    // may still map it.
    drop(store_read);
    drop(fresh);

    // One byte flipped anywhere in the payload (here in its middle, where
    // a lazily read page would be) is still found: the entry is rebuilt.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&file, &flipped).unwrap();
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries().len(), 500);
    assert_eq!(
        evaluations(&e),
        1,
        "a corrupt mapped entry is never trusted"
    );
    assert_eq!(std::fs::read(&file).unwrap().len(), good.len());

    // Small entries are read, not mapped.
    let small = project(&[("reflection/qa.ncl", &store(&[entry("a", "")]))]);
    let small_cache = tempfile::tempdir().unwrap();
    engine(small.path(), small_cache.path()).qa().await.unwrap();
    let again = engine(small.path(), small_cache.path());
    again.qa().await.unwrap();
    assert_eq!(evaluations(&again), 0);
    assert_eq!(again.loader().stats().mapped.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn warming_loads_the_store_a_first_call_then_finds() {
    let p = project(&[("reflection/qa.ncl", &store(&[entry("a", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    let e = engine(p.path(), cache.path());
    e.warm().await;
    assert_eq!(evaluations(&e), 1);
    assert_eq!(e.qa().await.unwrap().entries()[0].id, "a");
    assert_eq!(evaluations(&e), 1, "the call found the warmed store");
    assert_eq!(e.loader().stats().memory_hits.load(Ordering::Relaxed), 1);
    // A broken store is left for the call to report.
    let broken = project(&[("reflection/qa.ncl", "{ entries = [ oops ] }")]);
    let b = engine(broken.path(), cache.path());
    b.warm().await;
    assert!(b.qa().await.is_err());
}

#[tokio::test]
async fn a_foreign_cache_file_is_not_trusted() {
    let a = project(&[("reflection/qa.ncl", &store(&[entry("from-a", "")]))]);
    let b = project(&[("reflection/qa.ncl", &store(&[entry("from-b", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    engine(a.path(), cache.path()).qa().await.unwrap();
    let [a_file] = cache_files(cache.path()).try_into().unwrap();
    engine(b.path(), cache.path()).qa().await.unwrap();
    let b_file = cache_files(cache.path())
        .into_iter()
        .find(|f| *f != a_file)
        .unwrap();
    // Plant A's entry where B's belongs.
    std::fs::copy(&a_file, &b_file).unwrap();
    let e = engine(b.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries()[0].id, "from-b");
    assert_eq!(evaluations(&e), 1);
}

#[tokio::test]
async fn a_changed_import_invalidates_the_disk_entry() {
    let text = "let c = import \"common.ncl\" in { entries = [ { id = c.id, question = \"q\", answer = \"a\", actor = \"h\", created_at = \"2026-01-01\" } ] }";
    let p = project(&[
        ("reflection/qa.ncl", text),
        ("reflection/common.ncl", "{ id = \"one\" }"),
    ]);
    let cache = tempfile::tempdir().unwrap();
    engine(p.path(), cache.path()).qa().await.unwrap();
    std::fs::write(p.path().join("reflection/common.ncl"), "{ id = \"two\" }").unwrap();
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries()[0].id, "two");
    assert_eq!(evaluations(&e), 1);
}

#[tokio::test]
async fn a_runaway_file_times_out_and_others_keep_working() {
    let looping = "let rec f = fun x => f (x + 1) in { entries = f 0 }";
    let bad = project(&[("reflection/qa.ncl", looping)]);
    let good = project(&[("reflection/qa.ncl", &store(&[entry("ok", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    let e = engine_with(bad.path(), cache.path(), Duration::from_millis(300));
    let started = Instant::now();
    let err = err_of(e.qa().await);
    assert_eq!(err.code(), "ncl-eval-timeout");
    assert!(err.to_string().contains("300 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Asked again, the same content is answered from memory at once.
    let again = Instant::now();
    assert_eq!(err_of(e.qa().await).code(), "ncl-eval-timeout");
    assert!(
        again.elapsed() < Duration::from_millis(250),
        "{:?}",
        again.elapsed()
    );
    assert!(err_of(e.qa().await).hint().contains("still running"));
    // Another project evaluates normally meanwhile.
    let ok = engine_with(good.path(), cache.path(), Duration::from_secs(10));
    assert_eq!(ok.qa().await.unwrap().entries()[0].id, "ok");
}

#[tokio::test]
async fn concurrent_loads_evaluate_once() {
    let p = project(&[("reflection/qa.ncl", &store(&[entry("a", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    let e = std::sync::Arc::new(
        Engine::new(EngineConfig {
            project: Some(p.path().to_path_buf()),
            cache_dir: Some(cache.path().to_path_buf()),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.qa().await.map(|q| q.entries().len()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 1);
    }
    assert_eq!(evaluations(&e), 1);
}

#[tokio::test]
async fn stat_stamps_are_trusted_only_while_they_match() {
    let p = project(&[("reflection/qa.ncl", &store(&[entry("aaa", "")]))]);
    let qa = p.path().join("reflection/qa.ncl");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let set_mtime = |t| {
        std::fs::File::options()
            .write(true)
            .open(&qa)
            .unwrap()
            .set_modified(t)
            .unwrap()
    };
    set_mtime(old);
    let cache = tempfile::tempdir().unwrap();
    engine(p.path(), cache.path()).qa().await.unwrap();

    // Touched but unchanged: the stamp differs, the sha256 still matches.
    set_mtime(old + Duration::from_secs(60));
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries()[0].id, "aaa");
    assert_eq!(evaluations(&e), 0);

    // Same size, same mtime, other content: the ctime gives it away.
    std::fs::write(&qa, store(&[entry("bbb", "")])).unwrap();
    set_mtime(old + Duration::from_secs(60));
    let e = engine(p.path(), cache.path());
    assert_eq!(e.qa().await.unwrap().entries()[0].id, "bbb");
    assert_eq!(evaluations(&e), 1);
}

#[tokio::test]
async fn every_kind_of_document_is_served_from_disk_by_a_fresh_engine() {
    // Every file of the template: Q&A, ontology, manifest, ADRs, backlog,
    // workflow, modes at three levels, the project file.
    let template = repo().join("agent-first-template");
    let cache = tempfile::tempdir().unwrap();
    let load_all = |e: Engine| async move {
        e.qa().await.unwrap();
        e.core().await.unwrap();
        e.state().await.unwrap();
        e.gates().await.unwrap();
        e.backlog().await.unwrap();
        assert!(e.manifest().await.unwrap().is_some());
        assert!(e.project_file().await.unwrap().is_some());
        let adrs = e.adrs().await.unwrap();
        assert!(adrs.skipped.is_empty() && adrs.adrs.len() >= 3);
        let h = e.hierarchy().await.unwrap();
        assert!(h.levels.iter().all(|l| l.skipped.is_empty()));
        (
            evaluations(&e),
            e.loader().stats().disk_hits.load(Ordering::Relaxed),
        )
    };
    let (first, _) = load_all(engine(&template, cache.path())).await;
    assert!(first > 15, "{first}");
    let (second, hits) = load_all(engine(&template, cache.path())).await;
    assert_eq!(
        second, 0,
        "every kind must round-trip through the disk cache"
    );
    assert_eq!(hits, first);
}

#[tokio::test]
async fn the_adr_set_sees_edits_additions_and_removals() {
    let adr = |id: &str, title: &str| {
        format!(
            "{{ id = \"{id}\", title = \"{title}\", status = 'Accepted, date = \"2026-01-01\", context = \"c\", decision = \"d\" }}"
        )
    };
    let p = project(&[
        ("adrs/adr-001-a.ncl", &adr("adr-001", "one")),
        ("adrs/adr-002-b.ncl", &adr("adr-002", "two")),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let e = engine(p.path(), cache.path());
    let titles = |set: &ontoref_tools::adr::AdrSet| {
        set.adrs
            .iter()
            .map(|(_, a)| a.title.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(&e.adrs().await.unwrap()), ["one", "two"]);
    std::fs::write(p.path().join("adrs/adr-002-b.ncl"), adr("adr-002", "TWO")).unwrap();
    assert_eq!(titles(&e.adrs().await.unwrap()), ["one", "TWO"]);
    std::fs::write(p.path().join("adrs/adr-003-c.ncl"), adr("adr-003", "three")).unwrap();
    assert_eq!(titles(&e.adrs().await.unwrap()), ["one", "TWO", "three"]);
    std::fs::remove_file(p.path().join("adrs/adr-001-a.ncl")).unwrap();
    assert_eq!(titles(&e.adrs().await.unwrap()), ["TWO", "three"]);
}

fn adr_text(id: &str, title: &str) -> String {
    format!(
        "let a = import \"schemas/adr.ncl\" in a.make_adr {{ id = \"{id}\", title = \"{title}\", status = 'Accepted, date = \"2026-01-01\", context = \"c\", decision = \"d\", constraints = [ {{ id = \"c1\", severity = 'Hard, claim = \"k\" }} ] }}"
    )
}

/// `n` valid ADR files: `adrs/adr-00i-x.ncl`, titled `title i`.
fn adr_files(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            (
                format!("adrs/adr-{i:03}-x.ncl"),
                adr_text(&format!("adr-{i:03}"), &format!("title {i}")),
            )
        })
        .collect()
}

#[tokio::test]
async fn adrs_are_evaluated_together_one_program_per_core() {
    let files = adr_files(12);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let p = project(&refs);
    let cache = tempfile::tempdir().unwrap();
    let e = engine(p.path(), cache.path());
    let set = e.adrs().await.unwrap();
    let ids: Vec<&str> = set.adrs.iter().map(|(_, a)| a.id.as_str()).collect();
    let want: Vec<String> = (1..=12).map(|i| format!("adr-{i:03}")).collect();
    assert_eq!(ids, want);
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert_eq!(set.adrs[4].1.title, "title 5");
    assert_eq!(
        evaluations(&e),
        12,
        "each file is evaluated (and cached) as itself"
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert_eq!(
        e.loader().evaluator().programs(),
        cores.min(12),
        "one Nickel program per core, not one per file"
    );
    // Each file has its own disk entry: a fresh engine evaluates nothing.
    let again = engine(p.path(), cache.path());
    assert_eq!(again.adrs().await.unwrap().adrs.len(), 12);
    assert_eq!(evaluations(&again), 0);
    assert_eq!(again.loader().stats().disk_hits.load(Ordering::Relaxed), 12);
}

#[tokio::test]
async fn a_failing_adr_in_a_batch_is_reported_as_its_own_load_reports_it() {
    let mut files = adr_files(6);
    // A contract violation (a status that is not one), an evaluation error.
    files[1].1 = files[1].1.replace("'Accepted", "'Maybe");
    files[4].1 = "let a = import \"schemas/adr.ncl\" in a.make_adr { id = 1 + \"x\" }".to_owned();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let p = project(&refs);
    let cache = tempfile::tempdir().unwrap();
    let e = engine(p.path(), cache.path());
    let set = e.adrs().await.unwrap();
    let ids: Vec<&str> = set.adrs.iter().map(|(_, a)| a.id.as_str()).collect();
    assert_eq!(ids, ["adr-001", "adr-003", "adr-004", "adr-006"]);
    let skipped: Vec<&str> = set.skipped.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(skipped, ["adrs/adr-002-x.ncl", "adrs/adr-005-x.ncl"]);
    // Exactly what loading each file alone says.
    for s in &set.skipped {
        let alone = engine(p.path(), tempfile::tempdir().unwrap().path());
        let err = alone
            .loader()
            .load::<ontoref_tools::adr::Adr>(&p.path().join(&s.file))
            .await
            .expect_err("fails alone too");
        assert_eq!(err.to_string(), s.error.to_string());
        assert!(!err.to_string().is_empty());
    }
    assert!(
        set.skipped[0].error.to_string().contains("adr-002"),
        "{}",
        set.skipped[0].error
    );
    // The good files were kept: only the two failing ones are tried again.
    let before = evaluations(&e);
    assert_eq!(e.adrs().await.unwrap().adrs.len(), 4);
    assert_eq!(evaluations(&e), before + 2);
}

#[tokio::test]
async fn an_entry_written_while_its_file_was_racy_is_refreshed_once_the_file_ages() {
    let p = project(&[("reflection/qa.ncl", &store(&[entry("a-1", "")]))]);
    let cache = tempfile::tempdir().unwrap();
    let stat =
        |e: &Engine,
         which: fn(&ontoref_tools::nickel::cache::Stats) -> &std::sync::atomic::AtomicU64| {
            which(e.loader().stats()).load(Ordering::Relaxed)
        };
    // Evaluated and written within the racy window of the file's mtime:
    // the entry cannot vouch for the file by its stamp alone.
    let first = engine(p.path(), cache.path());
    assert_eq!(first.qa().await.unwrap().entries().len(), 1);
    assert_eq!(evaluations(&first), 1);
    std::thread::sleep(ontoref_tools::nickel::cache::RACY_WINDOW + Duration::from_millis(200));
    // The next start re-reads the file once, finds it unchanged, and writes
    // the entry again with stamps it can trust.
    let second = engine(p.path(), cache.path());
    assert_eq!(second.qa().await.unwrap().entries().len(), 1);
    assert_eq!(stat(&second, |s| &s.disk_hits), 1);
    assert_eq!(stat(&second, |s| &s.rehashed), 1);
    // From then on a start reads only the entry.
    for _ in 0..2 {
        let later = engine(p.path(), cache.path());
        assert_eq!(later.qa().await.unwrap().entries().len(), 1);
        assert_eq!(stat(&later, |s| &s.disk_hits), 1);
        assert_eq!(stat(&later, |s| &s.rehashed), 0);
        assert_eq!(evaluations(&later), 0);
    }
    // A change is still seen: the stamp moved, the file is read again.
    std::fs::write(
        p.path().join("reflection/qa.ncl"),
        store(&[entry("a-1", ""), entry("b-2", "")]),
    )
    .unwrap();
    let changed = engine(p.path(), cache.path());
    assert_eq!(changed.qa().await.unwrap().entries().len(), 2);
    assert_eq!(evaluations(&changed), 1);
}
