//! How `ontoref_qa_search` grows with the store (issue 15): for 1,000,
//! 10,000 and 100,000 generated entries, `ontoref serve` started on a warm
//! disk cache answers the `ontoref` bench's query mix over stdio; the table
//! gives the spawn → first answer time, search p50 / p99, the documents the
//! queries match (the work a ranked search cannot avoid), the p50 per
//! thousand matches, and the server's resident memory after the searches.
//!
//! `cargo bench --profile release --bench scaling`; `-- --quick` is CI's
//! smoke run (1,000 and 5,000 entries); `-- --sizes 1000,10000` picks sizes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
#[path = "store.rs"]
mod store;

use common::{fmt, percentile};

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
}

impl Server {
    fn spawn(project: &Path, cache: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ontoref"))
            .args([
                "--eval-timeout",
                "1200",
                "--eval-memory",
                "16384",
                "serve",
                "--project",
            ])
            .arg(project)
            .env("ONTOREF_CACHE_DIR", cache)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ontoref serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
        let mut s = Server {
            child,
            stdin,
            stdout,
            id: 0,
        };
        let r = s.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "ontoref-scaling-bench", "version": "0"}}),
        );
        assert!(r.get("result").is_some(), "{r}");
        writeln!(
            s.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .expect("write");
        s
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
                "the server closed stdout"
            );
            let v: Value = serde_json::from_str(&line).expect("json line");
            if v.get("id") == Some(&json!(self.id)) {
                return v;
            }
        }
    }

    /// One search: its time and how many entries matched.
    fn search(&mut self, query: &str) -> (Duration, u64) {
        let started = Instant::now();
        let r = self.request(
            "tools/call",
            json!({"name": "ontoref_qa_search", "arguments": {"query": query}}),
        );
        let took = started.elapsed();
        let found = &r["result"]["structuredContent"];
        assert!(
            found["results"].as_array().is_some_and(|h| !h.is_empty()),
            "{r}"
        );
        (
            took,
            found["total_matches"].as_u64().expect("total_matches"),
        )
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
            let mut prime = Server::spawn(&project, &cache);
            prime.search("vault");
        }
        let started = Instant::now();
        let mut server = Server::spawn(&project, &cache);
        server.search(store::QUERIES[0]);
        let first = started.elapsed();
        let mut samples = Vec::with_capacity(rounds * store::QUERIES.len());
        let mut matches = 0u64;
        for _ in 0..rounds {
            for q in store::QUERIES {
                let (took, found) = server.search(q);
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
