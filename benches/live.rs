//! Live knowledge (issue 14), in process through `ontoref_tools::Engine`
//! configured as the binary is (Nickel in worker processes). Run with
//! `cargo bench --bench live` (`-- --quick` for a smoke run, as CI does).
//!
//! - A write (`ontoref_qa_add`: lock, re-read, edit, contract check,
//!   durable rename) on the seed's qa.ncl and on a 10,000-entry store, and
//!   an update and a delete on the seed. Beside each, its floor: one
//!   evaluation of the file's new text against its contract, which every
//!   write must make.

#[path = "common.rs"]
mod common;
#[path = "store.rs"]
mod store;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ontoref_tools::qa::QaStore;
use ontoref_tools::write::qa::{EntryChange, NewEntry};
use ontoref_tools::{Engine, EngineConfig};

use common::{fmt, percentile};

fn engine(project: &Path, t: &Path) -> Engine {
    Engine::new(EngineConfig {
        project: Some(project.to_path_buf()),
        cache_dir: Some(t.join("cache")),
        config_home: Some(t.join("home")),
        runtime_dir: Some(t.join("run")),
        isolation: ontoref_tools::nickel::Isolation::Worker {
            program: PathBuf::from(env!("CARGO_BIN_EXE_ontoref")),
            memory_mb: 4096,
        },
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn p50(samples: &mut [Duration]) -> Duration {
    samples.sort();
    percentile(samples, 0.5)
}

fn entry(i: usize) -> NewEntry {
    NewEntry {
        question: format!("How does bench write {i} land?"),
        answer: format!("In place, under the lock.\nChecked against the contract ({i})."),
        tags: vec!["bench".into()],
        ..NewEntry::default()
    }
}

/// p50 of `rounds` adds (each followed by the delete of what it added, so
/// the store keeps its size), of the deletes, and of the floor: one
/// contract check of the text an add writes.
fn writes(rt: &tokio::runtime::Runtime, e: &Engine, rounds: usize) -> [Duration; 3] {
    let path = e.project().root().join("reflection/qa.ncl");
    rt.block_on(e.qa()).expect("store loads");
    let (mut adds, mut deletes, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let t = Instant::now();
        let w = rt
            .block_on(ontoref_tools::write::qa::add(e, entry(i), "bench"))
            .expect("add");
        adds.push(t.elapsed());
        let written = std::fs::read_to_string(&path).expect("read");
        let t = Instant::now();
        rt.block_on(e.loader().check_text::<QaStore>(&path, written))
            .expect("floor");
        floor.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(ontoref_tools::write::qa::delete(e, &w.id, "bench"))
            .expect("delete");
        deletes.push(t.elapsed());
    }
    [p50(&mut adds), p50(&mut deletes), p50(&mut floor)]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, big_rounds, entries) = if quick {
        (5, 2, 1_000)
    } else {
        (100, 20, 10_000)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    println!(
        "live knowledge benchmark{}; {} cores",
        if quick { " (quick)" } else { "" },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // The seed's qa.ncl (12 entries, 48 KB).
    let seed = t.join("seed");
    std::fs::create_dir_all(seed.join(".ontoref")).expect("mkdir");
    std::fs::create_dir_all(seed.join("reflection")).expect("mkdir");
    std::fs::copy(
        repo.join("tests/fixtures/seed/reflection/qa.ncl"),
        seed.join("reflection/qa.ncl"),
    )
    .expect("seed");
    let e = engine(&seed, &t.join("seed-run"));
    let [add, delete, floor] = writes(&rt, &e, rounds);
    let mut updates = Vec::new();
    for i in 0..rounds {
        let t0 = Instant::now();
        rt.block_on(ontoref_tools::write::qa::update(
            &e,
            EntryChange {
                id: "credential-vault-templates".into(),
                verified: Some(i % 2 == 0),
                ..EntryChange::default()
            },
            "bench",
        ))
        .expect("update");
        updates.push(t0.elapsed());
    }
    let update = p50(&mut updates);
    println!(
        "{:<58} {:>10}   target ≤ 50 ms",
        "qa_add on the seed (p50)",
        fmt(add)
    );
    println!("{:<58} {:>10}", "qa_update on the seed (p50)", fmt(update));
    println!("{:<58} {:>10}", "qa_delete on the seed (p50)", fmt(delete));
    println!(
        "{:<58} {:>10}",
        "  floor: one contract check of the new text (p50)",
        fmt(floor)
    );

    // The generated store.
    let big = t.join("big");
    store::generate_store(&big, entries);
    let e = engine(&big, &t.join("big-run"));
    let [add, delete, floor] = writes(&rt, &e, big_rounds);
    println!(
        "{:<58} {:>10}",
        format!("qa_add on {entries} entries (p50)"),
        fmt(add)
    );
    println!(
        "{:<58} {:>10}",
        format!("qa_delete on {entries} entries (p50)"),
        fmt(delete)
    );
    println!(
        "{:<58} {:>10}",
        "  floor: one contract check of the new text (p50)",
        fmt(floor)
    );
}
