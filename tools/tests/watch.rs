//! A watching engine (what `ontoref serve` runs): a hit costs no `stat`
//! while the watch generation holds, and a change to a file re-evaluates
//! exactly the documents that read it (the file itself, or an import), on
//! a real project evaluated by Nickel and real inotify events.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ontoref_tools::{Engine, EngineConfig};

const QA: &str = r#"let s = import "schemas/qa.ncl" in
let shared = import "shared.ncl" in
{
  entries = [
    { id = "one", question = "Q1?", answer = shared.answer, actor = "agent", created_at = "2026-01-01", tags = [], related = [], verified = false },
  ],
} | s.QaStore
"#;

const BACKLOG: &str = r#"let s = import "schemas/backlog.ncl" in
{ items = [] } | s.Backlog
"#;

fn project() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(root.join("reflection")).unwrap();
    std::fs::create_dir_all(root.join("adrs")).unwrap();
    std::fs::write(root.join("reflection/qa.ncl"), QA).unwrap();
    std::fs::write(
        root.join("reflection/shared.ncl"),
        r#"{ answer = "first" }"#,
    )
    .unwrap();
    std::fs::write(root.join("reflection/backlog.ncl"), BACKLOG).unwrap();
    let engine = Engine::new(EngineConfig {
        project: Some(root),
        disk_cache: false,
        ..EngineConfig::default()
    })
    .unwrap();
    engine.watch().unwrap();
    (dir, engine)
}

fn evaluations(engine: &Engine) -> u64 {
    engine.loader().stats().evaluations.load(Ordering::Relaxed)
}

/// Waits until the watch has seen a change after `generation`.
fn settle(engine: &Engine, generation: u64) {
    let watch = engine.loader().watch().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while watch.generation() == generation {
        assert!(Instant::now() < deadline, "no watch event within 5 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

async fn answer(engine: &Engine) -> String {
    engine.qa().await.unwrap().entries()[0].answer.clone()
}

#[tokio::test]
async fn a_change_to_an_import_re_evaluates_its_importers_only() {
    let (_dir, engine) = project();
    let root = engine.project().root().to_path_buf();
    assert_eq!(answer(&engine).await, "first");
    engine.backlog().await.unwrap();
    assert_eq!(evaluations(&engine), 2);
    // Hits while nothing changed.
    for _ in 0..3 {
        assert_eq!(answer(&engine).await, "first");
        engine.backlog().await.unwrap();
    }
    assert_eq!(evaluations(&engine), 2);

    let generation = engine.loader().watch().unwrap().generation();
    std::fs::write(
        root.join("reflection/shared.ncl"),
        r#"{ answer = "second" }"#,
    )
    .unwrap();
    settle(&engine, generation);
    assert_eq!(answer(&engine).await, "second");
    engine.backlog().await.unwrap();
    assert_eq!(
        evaluations(&engine),
        3,
        "only qa.ncl, which imports shared.ncl, is evaluated again"
    );
    assert_eq!(answer(&engine).await, "second");
    assert_eq!(evaluations(&engine), 3);
}

#[tokio::test]
async fn a_new_adr_and_a_replaced_directory_are_seen() {
    let (_dir, engine) = project();
    let root = engine.project().root().to_path_buf();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent-first-template/adrs");
    assert!(engine.adrs().await.unwrap().adrs.is_empty());

    let generation = engine.loader().watch().unwrap().generation();
    let name = "adr-001-knowledge-as-typed-nickel.ncl";
    std::fs::copy(template.join(name), root.join("adrs").join(name)).unwrap();
    settle(&engine, generation);
    assert_eq!(engine.adrs().await.unwrap().adrs.len(), 1);

    // The whole directory replaced (a checkout of another branch does this).
    let generation = engine.loader().watch().unwrap().generation();
    let fresh = root.join("reflection.new");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join("qa.ncl"), QA).unwrap();
    std::fs::write(fresh.join("shared.ncl"), r#"{ answer = "replaced" }"#).unwrap();
    std::fs::write(fresh.join("backlog.ncl"), BACKLOG).unwrap();
    std::fs::rename(root.join("reflection"), root.join("reflection.old")).unwrap();
    std::fs::rename(&fresh, root.join("reflection")).unwrap();
    settle(&engine, generation);
    assert_eq!(answer(&engine).await, "replaced");

    // The new directory is watched in turn.
    let generation = engine.loader().watch().unwrap().generation();
    std::fs::write(
        root.join("reflection/shared.ncl"),
        r#"{ answer = "again" }"#,
    )
    .unwrap();
    settle(&engine, generation);
    assert_eq!(answer(&engine).await, "again");
}
