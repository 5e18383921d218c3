//! How `ontoref_qa_search` grows with the store (issue 15): for 1,000,
//! 10,000 and 100,000 generated entries, `ontoref serve` started on a warm
//! disk cache answers the `ontoref` bench's query mix over stdio; the table
//! gives the spawn → first answer time, search p50 / p99, the documents the
//! queries match (the work a ranked search cannot avoid), the p50 per
//! thousand matches, and the resident memory of the server and its workers
//! after the searches.
//!
//! `cargo bench --profile release --bench scaling`; `-- --quick` is CI's
//! smoke run (1,000 and 5,000 entries); `-- --sizes 1000,10000` picks sizes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

mod common;
#[path = "stdio_client.rs"]
mod stdio_client;
#[path = "store.rs"]
mod store;

use common::{fmt, percentile};
use stdio_client::Client;

fn spawn(project: &Path, cache: &Path) -> Client {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ontoref"));
    command
        .args([
            "--eval-timeout",
            "1200",
            "--eval-memory",
            "16384",
            "serve",
            "--project",
        ])
        .arg(project)
        .env("ONTOREF_CACHE_DIR", cache);
    Client::spawn(command)
}

/// One search: its time and how many entries matched.
fn search(server: &mut Client, query: &str) -> (Duration, u64) {
    let (found, took) = server.call("ontoref_qa_search", json!({"query": query}));
    assert!(
        found["results"].as_array().is_some_and(|h| !h.is_empty()),
        "{found}"
    );
    (
        took,
        found["total_matches"].as_u64().expect("total_matches"),
    )
}

fn sizes() -> Vec<usize> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(list) = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
    {
        return list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
    }
    if args.iter().any(|a| a == "--quick") {
        vec![1_000, 5_000]
    } else {
        vec![1_000, 10_000, 100_000]
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 20 } else { 250 };
    println!(
        "scaling benchmark: ontoref_qa_search over stdio, warm disk cache, {} searches per size; {} cores",
        rounds * store::QUERIES.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "\n{:>8} {:>12} {:>22} {:>14} {:>18} {:>10}",
        "entries", "first answer", "search p50 / p99", "matches (avg)", "p50 / 1k matches", "RSS"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    for n in sizes() {
        let project: PathBuf = tmp.path().join(format!("store-{n}"));
        store::generate_store(&project, n);
        let cache = tmp.path().join(format!("cache-{n}"));
        {
            // A first server evaluates the store and writes the disk cache.
            let mut prime = spawn(&project, &cache);
            search(&mut prime, "vault");
        }
        let started = Instant::now();
        let mut server = spawn(&project, &cache);
        search(&mut server, store::QUERIES[0]);
        let first = started.elapsed();
        let mut samples = Vec::with_capacity(rounds * store::QUERIES.len());
        let mut matches = 0u64;
        for _ in 0..rounds {
            for q in store::QUERIES {
                let (took, found) = search(&mut server, q);
                samples.push(took);
                matches += found;
            }
        }
        samples.sort();
        let p50 = percentile(&samples, 0.5);
        let p99 = percentile(&samples, 0.99);
        let avg = matches as f64 / samples.len() as f64;
        let per_k = Duration::from_secs_f64(p50.as_secs_f64() * 1000.0 / avg.max(1.0));
        println!(
            "{n:>8} {:>12} {:>22} {avg:>14.0} {:>18} {:>7.1} MB",
            fmt(first),
            format!("{} / {}", fmt(p50), fmt(p99)),
            fmt(per_k),
            server.rss_kib() as f64 / 1024.0
        );
        drop(server);
        let _ = std::fs::remove_dir_all(&project);
    }
}
