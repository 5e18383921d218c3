//! Writes to the Q&A store and the backlog, on real files (copies of the
//! agent-first template and of the seed's qa.ncl) evaluated by Nickel:
//! values read back exactly, untouched bytes stay, a refused write leaves
//! the file as it was, a stale reader writes onto the current text, and
//! concurrent writers lose nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ontoref_tools::write::backlog::{ItemChange, NewItem};
use ontoref_tools::write::qa::{EntryChange, NewEntry};
use ontoref_tools::{Engine, EngineConfig, ToolError};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A writable copy of the template, and an engine on it.
fn template() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    copy_dir(&repo().join("agent-first-template"), &root);
    let engine = engine(&root, &dir.path().join("cache"));
    (dir, engine)
}

fn engine(root: &Path, cache: &Path) -> Engine {
    Engine::new(EngineConfig {
        project: Some(root.to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        ..EngineConfig::default()
    })
    .unwrap()
}

fn qa_path(e: &Engine) -> PathBuf {
    e.project().root().join("reflection/qa.ncl")
}

fn entry(question: &str, answer: &str) -> NewEntry {
    NewEntry {
        question: question.to_owned(),
        answer: answer.to_owned(),
        tags: vec!["t".into()],
        ..NewEntry::default()
    }
}

#[tokio::test]
async fn an_add_then_its_delete_gives_back_the_file_byte_for_byte() {
    let (_d, e) = template();
    let original = std::fs::read(qa_path(&e)).unwrap();
    let written =
        ontoref_tools::write::qa::add(&e, entry("How?", "Like this.\nThen that."), "agent")
            .await
            .unwrap();
    assert_eq!(written.id, "qa-001");
    assert_eq!(written.file, "reflection/qa.ncl");
    let after = std::fs::read_to_string(qa_path(&e)).unwrap();
    assert!(after.contains("id = \"qa-001\""), "{after}");
    // Everything before the closing `]` of the array is kept as it was.
    let orig = String::from_utf8(original.clone()).unwrap();
    let close = orig.rfind("\n  ],").unwrap();
    assert!(after.starts_with(&orig[..close]));
    assert!(after.ends_with(&orig[close..]));
    let qa = e.qa().await.unwrap();
    let got = qa.get("qa-001").unwrap();
    assert_eq!(got.answer, "Like this.\nThen that.");
    assert_eq!(got.actor, "agent");
    assert!(!got.verified);
    assert_eq!(got.created_at.len(), 10);
    ontoref_tools::write::qa::delete(&e, "qa-001", "agent")
        .await
        .unwrap();
    assert_eq!(std::fs::read(qa_path(&e)).unwrap(), original);
    assert!(e.qa().await.unwrap().get("qa-001").is_err());
}

#[tokio::test]
async fn awkward_answers_read_back_exactly() {
    let (_d, e) = template();
    let answers = [
        "a \"quoted\" %{not interpolated} and \\ backslashes \\n",
        "line one\n\"% closes nothing\n%{ x } %%{ y } \"%%%\nend",
        "ünïcödé ✓ 😀\n  indented second line\n\ttabbed\n\nafter a blank line\n",
        "  leading spaces on every line\n  second",
        "crlf\r\nlines\r\n",
        "blank-only line\n   \nbelow",
        "\nstarts with a line break",
        "ends with two\n\n",
        "one line, 100% done",
    ];
    for (i, answer) in answers.iter().enumerate() {
        let id = format!("awkward-{i}");
        ontoref_tools::write::qa::add(
            &e,
            NewEntry {
                id: Some(id.clone()),
                ..entry(&format!("Awkward {i} \"q\" %{{}}?"), answer)
            },
            "agent",
        )
        .await
        .unwrap_or_else(|err| panic!("{id}: {err}"));
        let qa = e.qa().await.unwrap();
        let got = qa.get(&id).unwrap();
        assert_eq!(got.answer, *answer, "{id}");
        assert_eq!(got.question, format!("Awkward {i} \"q\" %{{}}?"));
    }
    // The multi-line answers are written as blocks where that is exact.
    let text = std::fs::read_to_string(qa_path(&e)).unwrap();
    assert!(
        text.contains("m%%%%\""),
        "the `\"%%%` answer needs four `%`"
    );
    // And an update replaces one answer with another, exactly.
    ontoref_tools::write::qa::update(
        &e,
        EntryChange {
            id: "awkward-1".into(),
            answer: Some("now\nshorter %{ }".into()),
            verified: Some(true),
            ..EntryChange::default()
        },
        "human",
    )
    .await
    .unwrap();
    let qa = e.qa().await.unwrap();
    let got = qa.get("awkward-1").unwrap();
    assert_eq!(got.answer, "now\nshorter %{ }");
    assert!(got.verified);
    assert_eq!(qa.get("awkward-2").unwrap().answer, answers[2]);
}

#[tokio::test]
async fn a_write_the_contract_refuses_leaves_the_file_unchanged() {
    let (_d, e) = template();
    let path = qa_path(&e);
    let original = std::fs::read(&path).unwrap();
    let code = |r: Result<_, ToolError>| r.map(|_: ontoref_tools::write::Written| ()).unwrap_err();
    let err = code(ontoref_tools::write::qa::add(&e, entry("   ", "an answer"), "agent").await);
    assert_eq!(err.code(), "qa-invalid-entry", "{err}");
    assert!(err.to_string().contains("non-empty"), "{err}");
    let err = code(
        ontoref_tools::write::qa::add(
            &e,
            NewEntry {
                id: Some("Not Kebab".into()),
                ..entry("Q?", "A.")
            },
            "agent",
        )
        .await,
    );
    assert_eq!(err.code(), "qa-invalid-entry", "{err}");
    assert!(err.to_string().contains("kebab"), "{err}");
    let err = code(
        ontoref_tools::write::qa::add(
            &e,
            NewEntry {
                id: Some("what-is-ontoref".into()),
                ..entry("Q?", "A.")
            },
            "agent",
        )
        .await,
    );
    assert_eq!(err.code(), "qa-duplicate-id", "{err}");
    let err = code(
        ontoref_tools::write::qa::update(
            &e,
            EntryChange {
                id: "what-is-ontorf".into(),
                verified: Some(true),
                ..EntryChange::default()
            },
            "agent",
        )
        .await,
    );
    assert_eq!(err.code(), "qa-not-found");
    assert!(err.hint().contains("what-is-ontoref"), "{}", err.hint());
    assert_eq!(std::fs::read(&path).unwrap(), original);
    let leftovers: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ontoref-write-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_store_of_another_shape_is_refused_untouched() {
    let (_d, e) = template();
    let path = qa_path(&e);
    let text = "let s = import \"schemas/qa.ncl\" in\nlet base = [] in\n{ entries = base @ [] } | s.QaStore\n";
    std::fs::write(&path, text).unwrap();
    let err = ontoref_tools::write::qa::add(&e, entry("Q?", "A."), "agent")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "knowledge-not-editable", "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[tokio::test]
async fn the_embedded_template_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::new(EngineConfig {
        cwd: Some(dir.path().to_path_buf()),
        cache_dir: Some(dir.path().join("cache")),
        config_home: Some(dir.path().join("home")),
        ..EngineConfig::default()
    })
    .unwrap();
    assert_eq!(
        e.project().origin(),
        ontoref_tools::project::ProjectOrigin::Embedded
    );
    let err = ontoref_tools::write::qa::add(&e, entry("Q?", "A."), "agent")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "knowledge-read-only");
}

#[tokio::test]
async fn a_stale_reader_writes_onto_the_current_text() {
    let (d, a) = template();
    let b = engine(a.project().root(), &d.path().join("cache-b"));
    // Both have read the store; then `b` adds an entry.
    let before = a.qa().await.unwrap().entries().len();
    b.qa().await.unwrap();
    ontoref_tools::write::qa::add(&b, entry("From b?", "b."), "b")
        .await
        .unwrap();
    // `a` adds without having seen it: both entries end up in the file.
    ontoref_tools::write::qa::add(&a, entry("From a?", "a."), "a")
        .await
        .unwrap();
    let qa = a.qa().await.unwrap();
    assert_eq!(qa.entries().len(), before + 2);
    assert_eq!(qa.get("qa-001").unwrap().question, "From b?");
    assert_eq!(qa.get("qa-002").unwrap().question, "From a?");
}

#[tokio::test]
async fn concurrent_writers_lose_nothing() {
    let (d, a) = template();
    let b = engine(a.project().root(), &d.path().join("cache-b"));
    let original = std::fs::read_to_string(qa_path(&a)).unwrap();
    let before = a.qa().await.unwrap().entries().len();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let e = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            ontoref_tools::write::qa::add(&e, entry(&format!("Q{i}?"), &format!("A{i}.")), "agent")
                .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let qa = a.qa().await.unwrap();
    assert_eq!(qa.entries().len(), before + 20);
    // The original text is still there, up to the array's end.
    let text = std::fs::read_to_string(qa_path(&a)).unwrap();
    let close = original.rfind("\n  ],").unwrap();
    assert!(text.starts_with(&original[..close]));
    assert!(text.ends_with(&original[close..]));
}

#[tokio::test]
async fn the_seed_store_takes_an_entry_and_gives_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seed");
    copy_dir(&repo().join("tests/fixtures/seed"), &root);
    std::fs::create_dir_all(root.join(".ontoref")).unwrap();
    let e = engine(&root, &dir.path().join("cache"));
    let original = std::fs::read(qa_path(&e)).unwrap();
    ontoref_tools::write::qa::add(&e, entry("Seed?", "Yes.\nTwo lines."), "agent")
        .await
        .unwrap();
    assert_eq!(e.qa().await.unwrap().entries().len(), 13);
    ontoref_tools::write::qa::delete(&e, "qa-001", "agent")
        .await
        .unwrap();
    assert_eq!(std::fs::read(qa_path(&e)).unwrap(), original);
}

#[tokio::test]
async fn backlog_items_are_added_and_moved_along() {
    let (_d, e) = template();
    let before = e.backlog().await.unwrap().items().len();
    let written = ontoref_tools::write::backlog::add(
        &e,
        NewItem {
            title: "Write the release notes".into(),
            kind: "Todo".into(),
            priority: "Medium".into(),
            detail: "Every user-visible change, with its issue.".into(),
            related_adrs: vec!["adr-001".into()],
            graduates_to: Some("PrItem".into()),
            ..NewItem::default()
        },
        "agent",
    )
    .await
    .unwrap();
    assert_eq!(written.id, format!("bl-{:03}", before + 1));
    let backlog = e.backlog().await.unwrap();
    let item = backlog.get(&written.id).unwrap();
    assert_eq!((item.kind.as_str(), item.status.as_str()), ("Todo", "Open"));
    assert_eq!(item.graduates_to.as_deref(), Some("PrItem"));
    let text = std::fs::read_to_string(e.project().root().join("reflection/backlog.ncl")).unwrap();
    assert!(
        text.contains("kind = 'Todo,\n      priority = 'Medium,"),
        "{text}"
    );
    ontoref_tools::write::backlog::update(
        &e,
        ItemChange {
            id: written.id.clone(),
            status: Some("Done".into()),
            ..ItemChange::default()
        },
        "agent",
    )
    .await
    .unwrap();
    let backlog = e.backlog().await.unwrap();
    assert_eq!(backlog.get(&written.id).unwrap().status, "Done");
    assert_eq!(backlog.items().len(), before + 1);
    let err = ontoref_tools::write::backlog::update(
        &e,
        ItemChange {
            id: "bl-999".into(),
            status: Some("Done".into()),
            ..ItemChange::default()
        },
        "agent",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backlog-item-not-found");
}

#[tokio::test]
async fn a_missing_store_is_created_with_its_contract() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    std::fs::create_dir_all(root.join(".ontoref")).unwrap();
    let e = engine(&root, &dir.path().join("cache"));
    ontoref_tools::write::qa::add(&e, entry("First?", "Yes."), "agent")
        .await
        .unwrap();
    let text = std::fs::read_to_string(qa_path(&e)).unwrap();
    assert!(text.contains("| s.QaStore"), "{text}");
    assert_eq!(e.qa().await.unwrap().entries().len(), 1);
}
