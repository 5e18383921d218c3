//! Startup and latency benchmark. Run with `cargo bench --bench ontoref`
//! (`-- --quick` for a smoke run with few iterations, as CI does).
//!
//! Over stdio, against the release binary, as a client sees it:
//! - spawn → first `tools/list` answer (initialize handshake included);
//! - spawn → first `ontoref_qa_search` answer on a generated 10,000-entry
//!   store, with a cold and with a warm disk cache;
//! - `ontoref_qa_search` latency (p50, p99) on the seed's qa.ncl and on the
//!   10,000-entry store, one request at a time.
//!
//! In-process, through `ontoref_tools::Engine`:
//! - the same evaluation in a worker process, as the binary runs it (first,
//!   with the worker's start, and with a reused worker);
//! - first evaluation of qa.ncl vs a cached re-read (memory hit, stat checks
//!   included), and a fresh engine answering from the disk cache;
//! - the cold evaluation of the 10,000-entry store beside what the same
//!   nickel-lang-core needs for the bare file (`nickel export` as a
//!   library call), interleaved, as a ratio;
//! - a generated project (2,000 nodes, 500 ADRs, 10,000 Q&A) loaded cold
//!   and warm, its 500 ADRs alone cold, and `ontoref_search` over it.

#[path = "common.rs"]
mod common;
#[path = "store.rs"]
mod store;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use ontoref_tools::{Engine, EngineConfig};
use serde_json::{Value, json};

use common::{fmt, percentile};
use store::{Rng, WORDS, generate_store};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
}

impl Client {
    fn spawn(project: &Path, cache: &Path) -> Client {
        let mut child = Command::new(bench_bin())
            .args(["serve", "--project"])
            .arg(project)
            .env("ONTOREF_CACHE_DIR", cache)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ontoref serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Client {
            child,
            stdin,
            stdout,
            id: 0,
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}").expect("write");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).expect("read") > 0,
                "server closed stdout"
            );
            let v: Value = serde_json::from_str(&line).expect("json line");
            if v.get("id") == Some(&json!(self.id)) {
                return v;
            }
        }
    }

    fn initialize(&mut self) {
        let r = self.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        );
        assert!(r.get("result").is_some(), "{r}");
        writeln!(
            self.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .expect("write");
    }

    fn search(&mut self, query: &str) -> Value {
        let r = self.request(
            "tools/call",
            json!({"name": "ontoref_qa_search", "arguments": {"query": query}}),
        );
        assert_eq!(r["result"]["isError"], false, "{r}");
        r
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Report {
    rows: Vec<(String, String, String)>,
}

impl Report {
    fn row(&mut self, what: &str, value: String, target: &str) {
        println!("{what:<62} {value:>12}   {target}");
        self.rows.push((what.to_owned(), value, target.to_owned()));
    }
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (percentile(samples, 0.5), percentile(samples, 0.99))
}

/// The binary the stdio rows spawn: this build's, or `ONTOREF_BENCH_BIN`
/// (to compare another build in the same session).
fn bench_bin() -> PathBuf {
    std::env::var_os("ONTOREF_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ontoref")))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (spawns, searches, entries) = if quick {
        (3, 50, 1_000)
    } else {
        (20, 2_000, 10_000)
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = repo.join("tests/fixtures/seed");
    let big = tmp.path().join("big");
    generate_store(&big, entries);
    let size = std::fs::metadata(big.join("reflection/qa.ncl"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "ontoref benchmark{} — generated store: {entries} entries, {:.1} MB; {} cores",
        if quick { " (quick)" } else { "" },
        size as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut report = Report { rows: Vec::new() };
    let label = |s: &str| s.replace("10,000", &format!("{entries}"));

    // Spawn → first tools/list.
    let cache = tmp.path().join("cache-list");
    let mut samples = Vec::new();
    for _ in 0..spawns {
        let t = Instant::now();
        let mut c = Client::spawn(&seed, &cache);
        c.initialize();
        let r = c.request("tools/list", json!({}));
        samples.push(t.elapsed());
        let served = r["result"]["tools"].as_array().map_or(0, Vec::len);
        // Another build (ONTOREF_BENCH_BIN) may have another catalog.
        if std::env::var_os("ONTOREF_BENCH_BIN").is_some() {
            assert!(served > 0, "{r}");
        } else {
            assert_eq!(served, ontoref_tools::catalog().len());
        }
    }
    let (p50, _) = stats(&mut samples);
    report.row("spawn → first tools/list (p50)", fmt(p50), "≤ 30 ms");

    // Spawn → first qa_search on the big store, cold disk cache.
    let mut cold = Vec::new();
    for i in 0..spawns.min(5) {
        let cache = tmp.path().join(format!("cache-cold-{i}"));
        let t = Instant::now();
        let mut c = Client::spawn(&big, &cache);
        c.initialize();
        c.search("vault credential");
        cold.push(t.elapsed());
    }
    let (p50, _) = stats(&mut cold);
    report.row(
        &label("spawn → first qa_search, 10,000 entries, cold disk cache (p50)"),
        fmt(p50),
        "(reference)",
    );

    // The same with a warm disk cache (primed by the last cold run's directory).
    let warm_cache = tmp.path().join("cache-warm");
    {
        let mut c = Client::spawn(&big, &warm_cache);
        c.initialize();
        c.search("vault credential");
    }
    let mut warm = Vec::new();
    for _ in 0..spawns {
        let t = Instant::now();
        let mut c = Client::spawn(&big, &warm_cache);
        c.initialize();
        c.search("vault credential");
        warm.push(t.elapsed());
    }
    let (p50, _) = stats(&mut warm);
    report.row(
        &label("spawn → first qa_search, 10,000 entries, warm disk cache (p50)"),
        fmt(p50),
        "≤ 50 ms",
    );

    // qa_search latency over stdio.
    for (name, project) in [
        ("seed qa.ncl (12 entries)", &seed),
        (&*label("generated store (10,000 entries)"), &big),
    ] {
        let mut c = Client::spawn(project, &warm_cache);
        c.initialize();
        c.search("warm up");
        let mut samples = Vec::with_capacity(searches);
        for i in 0..searches {
            let q = store::QUERIES[i % store::QUERIES.len()];
            let t = Instant::now();
            c.search(q);
            samples.push(t.elapsed());
        }
        let (p50, p99) = stats(&mut samples);
        let target = if name.contains("generated") {
            "p50 ≤ 1 ms"
        } else {
            "(reference)"
        };
        report.row(
            &format!("qa_search over stdio, {name}: p50 / p99"),
            format!("{} / {}", fmt(p50), fmt(p99)),
            target,
        );
    }

    // In-process: first evaluation vs cached re-read.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (name, project) in [("seed qa.ncl", &seed), (&*label("10,000 entries"), &big)] {
        let engine = Engine::new(EngineConfig {
            project: Some(project.to_path_buf()),
            cache_dir: Some(tmp.path().join("cache-inproc")),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .expect("engine");
        let t = Instant::now();
        rt.block_on(engine.qa()).expect("qa");
        let first = t.elapsed();
        let mut samples = Vec::new();
        for _ in 0..searches {
            let t = Instant::now();
            rt.block_on(engine.qa()).expect("qa");
            samples.push(t.elapsed());
        }
        let (reread_p50, _) = stats(&mut samples);
        report.row(
            &format!("{name}: first evaluation"),
            fmt(first),
            "(reference)",
        );
        let store = rt.block_on(engine.qa()).expect("qa");
        let mut samples = Vec::new();
        for i in 0..searches {
            let q = store::QUERIES[i % store::QUERIES.len()];
            let t = Instant::now();
            let r = store.search(q, &[], 10);
            samples.push(t.elapsed());
            assert!(r.total_matches > 0 || name.contains("seed"));
        }
        let (search_p50, search_p99) = stats(&mut samples);
        report.row(
            &format!("{name}: search in process, limit 10: p50 / p99"),
            format!("{} / {}", fmt(search_p50), fmt(search_p99)),
            "(reference)",
        );
        // An unknown id: the error's "did you mean" ranks the store's ids.
        let mut samples = Vec::new();
        for i in 0..searches.min(500) {
            let id = format!("no-such-entry-{i}");
            let t = Instant::now();
            let r = store.show(&id);
            samples.push(t.elapsed());
            assert!(r.is_err());
        }
        let (p50, _) = stats(&mut samples);
        report.row(
            &format!("{name}: show of an unknown id (with suggestions), p50"),
            fmt(p50),
            "(reference)",
        );
        report.row(
            &format!("{name}: cached re-read (p50)"),
            fmt(reread_p50),
            "≤ 100 µs",
        );

        // A fresh engine with a warm disk cache.
        let disk = tmp.path().join("cache-disk");
        let prime = Engine::new(EngineConfig {
            project: Some(project.to_path_buf()),
            cache_dir: Some(disk.clone()),
            ..EngineConfig::default()
        })
        .expect("engine");
        rt.block_on(prime.qa()).expect("qa");
        let mut samples = Vec::new();
        for _ in 0..spawns {
            let fresh = Engine::new(EngineConfig {
                project: Some(project.to_path_buf()),
                cache_dir: Some(disk.clone()),
                ..EngineConfig::default()
            })
            .expect("engine");
            let t = Instant::now();
            rt.block_on(fresh.qa()).expect("qa");
            samples.push(t.elapsed());
        }
        let (p50, _) = stats(&mut samples);
        report.row(
            &format!("{name}: load from disk cache in a fresh engine (p50)"),
            fmt(p50),
            "(reference)",
        );

        // The same evaluation as the binary runs it: in a worker process
        // (sandboxed, memory-capped, killable). The first includes starting
        // the worker; later ones reuse it (an engine sharing the evaluator,
        // with its own empty memory cache and no disk cache).
        let isolated = Engine::new(EngineConfig {
            project: Some(project.to_path_buf()),
            disk_cache: false,
            isolation: ontoref_tools::nickel::Isolation::Worker {
                program: bench_bin(),
                memory_mb: 4096,
            },
            ..EngineConfig::default()
        })
        .expect("engine");
        let t = Instant::now();
        rt.block_on(isolated.qa()).expect("qa in a worker");
        let first = t.elapsed();
        let mut samples = Vec::new();
        for _ in 0..spawns.min(5) {
            let again = isolated
                .for_other_project(project)
                .expect("engine sharing the evaluator");
            let t = Instant::now();
            rt.block_on(again.qa()).expect("qa in a worker");
            samples.push(t.elapsed());
        }
        let (p50, _) = stats(&mut samples);
        report.row(
            &format!("{name}: evaluation in a worker process, first (spawn) / reused (p50)"),
            format!("{} / {}", fmt(first), fmt(p50)),
            "(reference)",
        );
    }
    cold_ratio(&mut report, &big, &rt, &label);
    project_bench(&mut report, tmp.path(), quick, searches, &rt);
    vault_bench(&mut report, tmp.path(), searches, &rt);
    let _ = report.rows.len();
}

/// `nickel export` of the bare store file, as a library call: parse,
/// typecheck and evaluate it with its schema read from disk, and write the
/// JSON. Nickel's heap is freed after the clock stops, as the CLI leaves
/// it to the process's exit.
fn bare_nickel(file: &Path) -> (Duration, usize) {
    use nickel_lang_core::eval::cache::CacheImpl;
    use nickel_lang_core::program::{Program, ProgramBuilder};
    use nickel_lang_core::serialize::{ExportFormat, to_string};
    let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/protocol");
    let t = Instant::now();
    let mut program: Program<CacheImpl> = ProgramBuilder::new()
        .add_path(file)
        .add_import_paths([schemas])
        .build()
        .expect("nickel program");
    let value = program.eval_full_for_export().expect("nickel evaluation");
    let json = to_string(ExportFormat::Json, &value).expect("nickel export");
    let took = t.elapsed();
    (took, json.len())
}

/// The engine's first evaluation of the generated store (in process, no
/// disk cache: Nickel, the typed conversion and the search index) against
/// [`bare_nickel`] on the same file, in interleaved rounds.
fn cold_ratio(
    report: &mut Report,
    project: &Path,
    rt: &tokio::runtime::Runtime,
    label: &dyn Fn(&str) -> String,
) {
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (took, json) = bare_nickel(&project.join("reflection/qa.ncl"));
        assert!(json > 1000, "the bare evaluation exported {json} bytes");
        bare.push(took);
        let engine = Engine::new(EngineConfig {
            project: Some(project.to_path_buf()),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .expect("engine");
        let t = Instant::now();
        let store = rt.block_on(engine.qa()).expect("qa");
        ours.push(t.elapsed());
        assert!(!store.search("vault", &[], 1).results.is_empty());
    }
    let (ours, _) = stats(&mut ours);
    let (bare, _) = stats(&mut bare);
    report.row(
        &label("10,000 entries, cold: ontoref (evaluate, convert, index) / nickel-lang-core on the bare file (p50 of 3)"),
        format!(
            "{} / {} = {:.2}×",
            fmt(ours),
            fmt(bare),
            ours.as_secs_f64() / bare.as_secs_f64()
        ),
        "≤ 1.2×",
    );
}

/// A generated project: `nodes` ontology nodes (2 edges each), `adrs` ADR
/// files, the store already at `root`, a backlog, and the template's mode
/// hierarchy.
fn generate_project(root: &Path, nodes: usize, adrs: usize) {
    let mut rng = Rng(0xadd5_0011_2233_4455);
    let levels = ["'Axiom", "'Tension", "'Practice", "'Practice"];
    let mut core = String::from("{\n  nodes = [\n");
    for i in 0..nodes {
        let w: Vec<&str> = (0..10).map(|_| rng.pick(WORDS)).collect();
        core.push_str(&format!(
            "    {{ id = \"n-{i}\", name = \"{} {} {}\", pole = 'Yang, level = {}, description = \"{}\", adrs = [\"adr-{:03}\"] }},\n",
            w[0], w[1], w[2], levels[i % 4], w[3..].join(" "), i % adrs.max(1) + 1
        ));
    }
    core.push_str("  ],\n  edges = [\n");
    for i in 1..nodes {
        for k in [i / 2, i.saturating_sub(3)] {
            core.push_str(&format!(
                "    {{ from = \"n-{i}\", to = \"n-{k}\", kind = \"realizes\" }},\n"
            ));
        }
    }
    core.push_str("  ],\n}\n");
    std::fs::create_dir_all(root.join(".ontology")).expect("mkdir");
    std::fs::write(root.join(".ontology/core.ncl"), core).expect("write core");
    std::fs::create_dir_all(root.join("adrs")).expect("mkdir");
    for i in 1..=adrs {
        let w: Vec<&str> = (0..30).map(|_| rng.pick(WORDS)).collect();
        std::fs::write(
            root.join(format!("adrs/adr-{i:03}-{}.ncl", w[0])),
            format!(
                "let a = import \"schemas/adr.ncl\" in a.make_adr {{ id = \"adr-{i:03}\", title = \"{} {} {}\", status = 'Accepted, date = \"2026-01-01\", context = \"{}\", decision = \"{}\", constraints = [ {{ id = \"c1\", severity = 'Hard, claim = \"{}\" }} ] }}",
                w[0], w[1], w[2], w[3..15].join(" "), w[15..25].join(" "), w[25..].join(" ")
            ),
        )
        .expect("write adr");
    }
    let mut backlog = String::from("{ items = [\n");
    for i in 0..200 {
        let w: Vec<&str> = (0..12).map(|_| rng.pick(WORDS)).collect();
        backlog.push_str(&format!(
            "  {{ id = \"bl-{i}\", title = \"{}\", kind = 'Todo, priority = 'High, status = 'Open, detail = \"{}\", created = \"2026-01-01\" }},\n",
            w[..4].join(" "), w[4..].join(" ")
        ));
    }
    backlog.push_str("] }\n");
    std::fs::write(root.join("reflection/backlog.ncl"), backlog).expect("write backlog");
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("agent-first-template");
    for dir in ["domain/modes", "reflection/modes"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        for e in std::fs::read_dir(template.join(dir))
            .expect("template modes")
            .flatten()
        {
            std::fs::copy(e.path(), root.join(dir).join(e.file_name())).expect("copy mode");
        }
    }
    std::fs::copy(
        template.join("reflection/workflow.ncl"),
        root.join("reflection/workflow.ncl"),
    )
    .expect("copy workflow");
}

fn project_bench(
    report: &mut Report,
    tmp: &Path,
    quick: bool,
    searches: usize,
    rt: &tokio::runtime::Runtime,
) {
    let (nodes, adrs, entries) = if quick {
        (200, 50, 1_000)
    } else {
        (2_000, 500, 10_000)
    };
    let root = tmp.join("project");
    generate_store(&root, entries);
    generate_project(&root, nodes, adrs);
    let label = format!("project ({nodes} nodes, {adrs} ADRs, {entries} Q&A)");
    let engine_at = |cache: &Path| {
        Engine::new(EngineConfig {
            project: Some(root.clone()),
            cache_dir: Some(cache.to_path_buf()),
            ..EngineConfig::default()
        })
        .expect("engine")
    };
    let call = |engine: &Engine, tool: &str, args: Value| {
        rt.block_on(async {
            ontoref_tools::catalog::find(tool)
                .expect("tool")
                .call(engine, args)
                .await
                .expect("tool call")
        })
    };
    // Whole project, cold: a fresh cache directory, every file evaluated.
    let cache = tmp.join("cache-project");
    let cold_engine = engine_at(&cache);
    let t = Instant::now();
    let d = call(&cold_engine, "ontoref_describe", json!({}));
    let cold = t.elapsed();
    assert_eq!(d["description"]["counts"]["adrs"], adrs, "{d}");
    report.row(
        &format!("{label}: load everything, cold"),
        fmt(cold),
        "(reference)",
    );
    // The ADRs alone, cold, as the binary evaluates them (worker
    // processes): one Nickel program per core instead of one per file.
    let adr_engine = Engine::new(EngineConfig {
        project: Some(root.clone()),
        disk_cache: false,
        isolation: ontoref_tools::nickel::Isolation::Worker {
            program: bench_bin(),
            memory_mb: 4096,
        },
        ..EngineConfig::default()
    })
    .expect("engine");
    let t = Instant::now();
    let set = rt.block_on(adr_engine.adrs()).expect("adrs");
    let took = t.elapsed();
    assert_eq!(set.adrs.len(), adrs);
    assert!(set.skipped.is_empty());
    report.row(
        &format!(
            "{adrs} ADRs alone, cold, in worker processes ({} programs)",
            adr_engine.loader().evaluator().programs()
        ),
        fmt(took),
        "(reference)",
    );
    // Warm disk cache, fresh engine (as a newly spawned server).
    let mut samples = Vec::new();
    for _ in 0..if quick { 2 } else { 5 } {
        let e = engine_at(&cache);
        let t = Instant::now();
        call(&e, "ontoref_describe", json!({}));
        samples.push(t.elapsed());
    }
    let (p50, _) = stats(&mut samples);
    report.row(
        &format!("{label}: load everything, warm disk cache (p50)"),
        fmt(p50),
        "(reference)",
    );

    // p50 / p99 of `ontoref_search` over the query mix on `engine`.
    let searched = |engine: &Engine| {
        call(engine, "ontoref_search", json!({"query": "warm up"}));
        let mut samples = Vec::new();
        for i in 0..searches {
            let q = store::QUERIES[i % store::QUERIES.len()];
            let t = Instant::now();
            let r = call(engine, "ontoref_search", json!({"query": q}));
            samples.push(t.elapsed());
            assert!(r["total_matches"].as_u64().unwrap_or(0) > 0);
        }
        stats(&mut samples)
    };
    let engine = engine_at(&cache);
    let (p50, p99) = searched(&engine);
    report.row(
        &format!("ontoref_search, {label}, warm, stat'ed engine (CLI): p50 / p99"),
        format!("{} / {}", fmt(p50), fmt(p99)),
        "(reference)",
    );

    // A watching engine, as `ontoref serve` runs it: freshness is the
    // watch's generation, not one stat per file per call.
    let watched = engine_at(&cache);
    watched.watch().expect("watch");
    let (p50, p99) = searched(&watched);
    report.row(
        &format!("ontoref_search, {label}, warm, watched engine (serve): p50 / p99"),
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 0.3 ms",
    );

    let mut samples = Vec::new();
    for i in 0..searches {
        let id = ["release", "sync-ontology", "onboard", "weekly-report"][i % 4];
        let t = Instant::now();
        let r = call(&engine, "ontoref_mode_resolve", json!({"id": id}));
        samples.push(t.elapsed());
        assert!(r["steps"].as_array().is_some_and(|s| !s.is_empty()));
    }
    let (p50, p99) = stats(&mut samples);
    report.row(
        "ontoref_mode_resolve, three-level hierarchy, warm: p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 200 µs",
    );
}

/// The vault's hot path in process: the gate, decryption of one credential
/// file (X25519 identity) and the Docker config directory write, plus the
/// audit append, through `ontoref_credential_fetch` on the demo vault
/// (`ontoref setup vault-demo`). Warm Nickel cache, as in a running server.
fn vault_bench(report: &mut Report, tmp: &Path, fetches: usize, rt: &tokio::runtime::Runtime) {
    let home = tmp.join("vault-home");
    let run = tmp.join("vault-run");
    std::fs::create_dir_all(&run).expect("run dir");
    let project = tmp.join("vault-demo");
    let base = EngineConfig {
        cache_dir: Some(tmp.join("cache-vault")),
        config_home: Some(home.clone()),
        runtime_dir: Some(run.clone()),
        ..EngineConfig::default()
    };
    rt.block_on(ontoref_tools::vault::demo::setup(
        &project, &home, &base, false,
    ))
    .expect("demo vault");
    let engine = Engine::new(EngineConfig {
        project: Some(project),
        actor: Some("agent-bot".into()),
        ..base
    })
    .expect("engine");
    let fetch = || {
        rt.block_on(async {
            ontoref_tools::catalog::find("ontoref_credential_fetch")
                .expect("tool")
                .call(
                    &engine,
                    json!({"target": "domains/agent-first/contracts:1.0"}),
                )
                .await
                .expect("fetch")
        })
    };
    fetch();
    let mut samples = Vec::new();
    for _ in 0..fetches {
        let t = Instant::now();
        let r = fetch();
        samples.push(t.elapsed());
        assert!(r["docker_config_dir"].is_string());
        // Keep the runtime directory small, as expiry would.
        engine.shutdown();
    }
    assert_eq!(engine.vault().decryptions(), fetches as u64 + 1);
    let (p50, p99) = stats(&mut samples);
    report.row(
        "credential fetch: gate + decrypt + docker config + audit: p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 2 ms",
    );

    // The keyed audit append alone: bounding, HMAC, the line written, the
    // head rewritten (temporary file, rename), under the log's lock; no
    // fsync unless ONTOREF_AUDIT_FSYNC=1 (then the row says so).
    use ontoref_tools::vault::audit::{self, AuditKey, Keying, Record};
    use ontoref_tools::vault::key::{Identities, KeySource};
    let ids =
        Identities::read(&home.join("keys/demo-agent.key"), KeySource::Project).expect("demo key");
    let key = AuditKey::derive(&ids, "bench").expect("audit key");
    let log = tmp.join("audit-bench/audit.jsonl");
    let record = || Record {
        ts: audit::now(),
        actor: Some("agent-bot".into()),
        role: Some("agent".into()),
        op: "pull".into(),
        target: "domains/agent-first/contracts:1.0".into(),
        target_sha256: None,
        registry_id: None,
        outcome: "ok".into(),
        reveal: false,
        digest: None,
        cut: Vec::new(),
        prev: String::new(),
        mac: None,
    };
    let mut samples = Vec::new();
    for _ in 0..fetches {
        let t = Instant::now();
        audit::append(&log, record(), Some(&key)).expect("append");
        samples.push(t.elapsed());
    }
    let (p50, p99) = stats(&mut samples);
    report.row(
        if audit::durable() {
            "audit append, keyed (MAC, line, head rewrite), ONTOREF_AUDIT_FSYNC=1: p50 / p99"
        } else {
            "audit append, keyed (MAC, line, head rewrite): p50 / p99"
        },
        format!("{} / {}", fmt(p50), fmt(p99)),
        "—",
    );
    let t = Instant::now();
    let v = audit::verify(&log, Keying::Key(&key));
    let took = t.elapsed();
    assert!(v.ok && v.lines == fetches, "{v:?}");
    report.row(
        &format!("audit-log verify, {fetches} keyed lines (chain + MACs + head)"),
        fmt(took),
        "—",
    );
}
