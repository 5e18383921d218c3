//! `ontoref_explain_path`, warm, in process through `ontoref_tools::Engine`
//! (Nickel evaluated in process; every document already loaded, so a call
//! costs the stat checks of its files plus the answer). Run with
//! `cargo bench --bench explain_path` (`-- --quick` for a smoke run).
//!
//! - The agent-first template through the catalog's tool: a file named by
//!   two nodes, a glob match, a directory, and an unmatched path (the
//!   nearest artifact paths).
//! - A generated project (10,000 nodes with a file, a directory and a glob
//!   each, 500 ADRs, 5,000 Q&A entries of which one in ten names a file):
//!   building the reverse index once, then `PathIndex::explain` alone and
//!   through the tool, for the same kinds of path; and through the tool on
//!   a watching engine, as `ontoref serve` runs it (no `stat` per file).

#[path = "common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ontoref_tools::explain::{PathIndex, ProjectPath};
use ontoref_tools::{Engine, EngineConfig};
use serde_json::{Value, json};

use common::{fmt, percentile};

/// p50 and p99 of `samples`.
fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (percentile(samples, 0.5), percentile(samples, 0.99))
}

fn row(what: &str, samples: &mut [Duration]) {
    let (p50, p99) = stats(samples);
    println!("{what:<66} {:>10} / {:>10}", fmt(p50), fmt(p99));
}

fn engine_at(root: &Path, cache: &Path) -> Engine {
    Engine::new(EngineConfig {
        project: Some(root.to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        disk_cache: false,
        eval_timeout: Duration::from_secs(120),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn call(rt: &tokio::runtime::Runtime, engine: &Engine, args: Value) -> Value {
    rt.block_on(async {
        ontoref_tools::catalog::find("ontoref_explain_path")
            .expect("tool")
            .call(engine, args)
            .await
            .expect("tool call")
    })
}

/// A project of `nodes` nodes (a file, a directory and a glob each, in 50
/// crates), `adrs` ADRs (two Hard constraints and a Soft one each, with
/// checks) and `entries` Q&A entries, one in ten naming a node's file.
fn generate(root: &Path, nodes: usize, adrs: usize, entries: usize) {
    let mut core = String::from("{\n  nodes = [\n");
    for i in 0..nodes {
        let c = i % 50;
        core.push_str(&format!(
            "    {{ id = \"n-{i}\", name = \"node {i}\", pole = 'Yang, level = 'Practice, description = \"d\", artifact_paths = [\"crates/c{c}/src/m{i}.rs\", \"crates/c{c}/src/m{i}/\", \"crates/c{c}/tests/**/t{i}_*.rs\"], adrs = [\"adr-{:04}\"] }},\n",
            i % adrs + 1
        ));
    }
    core.push_str("  ],\n  edges = [],\n}\n");
    std::fs::create_dir_all(root.join(".ontology")).expect("mkdir");
    std::fs::create_dir_all(root.join(".ontoref")).expect("mkdir");
    std::fs::write(root.join(".ontology/core.ncl"), core).expect("write core");
    std::fs::create_dir_all(root.join("adrs")).expect("mkdir");
    for i in 1..=adrs {
        std::fs::write(
            root.join(format!("adrs/adr-{i:04}-generated.ncl")),
            format!(
                "let a = import \"schemas/adr.ncl\" in a.make_adr {{ id = \"adr-{i:04}\", title = \"decision {i}\", status = 'Accepted, date = \"2026-01-01\", context = \"c\", decision = \"d\", constraints = [
                  {{ id = \"h1\", severity = 'Hard, claim = \"the first thing that must hold for decision {i}\", check = {{ tag = \"Grep\", paths = [\"crates/\"], pattern = \"unsafe\", must_be_empty = true }} }},
                  {{ id = \"h2\", severity = 'Hard, claim = \"the second thing that must hold for decision {i}\", check = {{ tag = \"NuCmd\", cmd = \"cargo test -p c{i}\" }} }},
                  {{ id = \"s1\", severity = 'Soft, claim = \"what should hold for decision {i}\" }},
                ] }}"
            ),
        )
        .expect("write adr");
    }
    let mut qa = String::from("let s = import \"schemas/qa.ncl\" in\n{\n  entries = [\n");
    for i in 0..entries {
        let named = if i % 10 == 0 {
            format!(" See crates/c{}/src/m{i}.rs.", i % 50)
        } else {
            String::new()
        };
        qa.push_str(&format!(
            "    {{ id = \"q-{i}\", question = \"How does part {i} work?\", answer = \"It works as the code says, with the usual care about caching, paging and errors.{named}\", actor = \"agent\", created_at = \"2026-01-01\" }},\n"
        ));
    }
    qa.push_str("  ],\n} | s.QaStore\n");
    std::fs::create_dir_all(root.join("reflection")).expect("mkdir");
    std::fs::write(root.join("reflection/qa.ncl"), qa).expect("write qa");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, nodes, adrs, entries) = if quick {
        (200, 1_000, 50, 500)
    } else {
        (2_000, 10_000, 500, 5_000)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    println!(
        "explain_path benchmark{} — {rounds} rounds each; p50 / p99; {} cores",
        if quick { " (quick)" } else { "" },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // The template, through the tool.
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("agent-first-template");
    let engine = engine_at(&template, &tmp.path().join("cache-template"));
    for (label, path, nodes) in [
        (
            "file named by two nodes (src/output.rs)",
            "src/output.rs",
            2,
        ),
        ("glob (deploy/prod.sops.yaml)", "deploy/prod.sops.yaml", 1),
        ("directory (src/)", "src/", 3),
        (
            "unmatched, nearest (src/vault/gate.rs)",
            "src/vault/gate.rs",
            0,
        ),
    ] {
        let got = call(&rt, &engine, json!({"path": path}));
        assert_eq!(got["total_nodes"], nodes, "{got}");
        let mut samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                call(&rt, &engine, json!({"path": path}));
                t.elapsed()
            })
            .collect();
        row(&format!("template, tool: {label}"), &mut samples);
    }

    // The generated project.
    let root = tmp.path().join("big");
    generate(&root, nodes, adrs, entries);
    // Files written a moment ago have racy stamps, which the loader does
    // not trust (it re-reads them on every call): wait, as a running
    // server's files would be.
    std::thread::sleep(Duration::from_millis(2_100));
    let engine = engine_at(&root, &tmp.path().join("cache-big"));
    let t = Instant::now();
    let first = call(&rt, &engine, json!({"path": "crates/c7/src/m7.rs"}));
    println!(
        "{:<66} {:>10}",
        format!("{nodes} nodes, {adrs} ADRs, {entries} Q&A: first call (evaluates all)"),
        fmt(t.elapsed())
    );
    assert_eq!(first["total_nodes"], 1, "{first}");
    let core = rt.block_on(engine.core()).expect("core");
    let mut builds: Vec<Duration> = (0..if quick { 3 } else { 10 })
        .map(|_| {
            let t = Instant::now();
            let index = PathIndex::new(core.clone());
            let took = t.elapsed();
            drop(index);
            took
        })
        .collect();
    row(
        &format!(
            "{nodes} nodes: build the reverse index ({} paths)",
            nodes * 3
        ),
        &mut builds,
    );
    // A watching engine, as `ontoref serve` runs: no stat per file per call.
    let watched = engine_at(&root, &tmp.path().join("cache-big"));
    watched.watch().expect("watch");
    call(&rt, &watched, json!({"path": "crates/c7/src/m7.rs"}));
    let index = rt.block_on(engine.path_index()).expect("index");
    let adr_set = rt.block_on(engine.adrs()).expect("adrs");
    let qa = rt.block_on(engine.qa()).expect("qa");
    let root_ref: &Path = &root;
    let cases = [
        ("file (exact)", "crates/c7/src/m7.rs", 1),
        ("glob", "crates/c7/tests/unit/t7_a.rs", 1),
        ("directory, first page of 20", "crates/c7/src/", nodes / 50),
        ("unmatched, nearest", "crates/c7/lib/x.rs", 0),
        ("unmatched, no directory shared", "vendor/x.rs", 0),
    ];
    for (label, path, total) in cases {
        let p = ProjectPath::parse(path, &[root_ref]).expect("path");
        let got = index.explain(&adr_set, &qa, &p, 20, None).expect("explain");
        assert_eq!(got.total_nodes, total, "{path}");
        let mut samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let _ = index.explain(&adr_set, &qa, &p, 20, None);
                t.elapsed()
            })
            .collect();
        row(
            &format!("{nodes} nodes, PathIndex::explain: {label}"),
            &mut samples,
        );
        let mut samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                call(&rt, &engine, json!({"path": path}));
                t.elapsed()
            })
            .collect();
        row(&format!("{nodes} nodes, tool: {label}"), &mut samples);
        let mut samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                call(&rt, &watched, json!({"path": path}));
                t.elapsed()
            })
            .collect();
        row(
            &format!("{nodes} nodes, tool, watched engine (serve): {label}"),
            &mut samples,
        );
    }
}
