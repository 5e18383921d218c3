//! Live knowledge (issue 14), in process through `ontoref_tools::Engine`
//! configured as the binary is (Nickel in worker processes). Run with
//! `cargo bench --bench live` (`-- --quick` for a smoke run, as CI does).
//!
//! - A write (`ontoref_qa_add`: lock, re-read, edit, contract check,
//!   durable rename) on the seed's qa.ncl and on a 10,000-entry store, and
//!   an update and a delete on the seed. Beside each, its floor: one
//!   evaluation of the file's new text against its contract, which every
//!   write must make.
//! - The time from an external edit of qa.ncl to the subscribed client's
//!   `notifications/resources/updated`, through the built binary over
//!   stdio (raw JSON-RPC, legacy `resources/subscribe`). Beside it, its
//!   floor: one evaluation of the edited file, which the server must make
//!   to tell whether the subscribed record changed.
//! - A warm load of the store (a cache hit) on a watching engine, which
//!   trusts the watch instead of `stat`ing the file, and on one that
//!   `stat`s it.

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

/// A served binary on `project` with a subscription to `uri`: its stdin,
/// and its stdout lines.
struct Served {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Served {
    fn start(project: &Path, t: &Path) -> Served {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ontoref"))
            .args(["serve", "--project"])
            .arg(project)
            .env("ONTOREF_CACHE_DIR", t.join("serve-cache"))
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn ontoref serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Served {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, message: &str) {
        use std::io::Write;
        writeln!(self.stdin, "{message}").expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Waits for a line containing `needle`.
    fn until(&mut self, needle: &str) {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no `{needle}` within 10 s"));
            if line.contains(needle) {
                return;
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// p50 and p95 of the time from an edit of qa.ncl (the question of entry
/// `id`, on the seed) to the subscribed client's notification.
fn notification_latency(project: &Path, t: &Path, id: &str, rounds: usize) -> (Duration, Duration) {
    let path = project.join("reflection/qa.ncl");
    let original = std::fs::read_to_string(&path).expect("read");
    let mut served = Served::start(project, t);
    served.send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#,
    );
    served.until(r#""id":1"#);
    served.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    served.send(&format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{{"uri":"ontoref://qa/{id}"}}}}"#
    ));
    served.until(r#""id":2"#);
    let question = "How do I bootstrap the credential vault";
    assert!(
        original.contains(question),
        "{id}'s question is not in qa.ncl"
    );
    let mut samples = Vec::new();
    for i in 0..rounds {
        // The subscribed entry's question changes: its rendering does.
        let edited = original.replacen(question, &format!("{question} ({i})"), 1);
        let t0 = Instant::now();
        std::fs::write(&path, &edited).expect("edit");
        served.until("notifications/resources/updated");
        samples.push(t0.elapsed());
        // Let the server settle before the next edit.
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&path, &original).expect("restore");
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.95))
}

/// p50 of a warm `Engine::qa` (a cache hit), on `e`.
fn warm_hit(rt: &tokio::runtime::Runtime, e: &Engine, rounds: usize) -> Duration {
    rt.block_on(e.qa()).expect("store loads");
    // Past the racy window, so a stat'ing engine trusts its stamps.
    std::thread::sleep(ontoref_tools::nickel::cache::RACY_WINDOW);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t0 = Instant::now();
        rt.block_on(e.qa()).expect("hit");
        samples.push(t0.elapsed());
    }
    p50(&mut samples)
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

    // Live updates: edit → notification, beside one evaluation of the file.
    let (n50, n95) = notification_latency(&seed, t, "credential-vault-templates", rounds.min(40));
    let path = seed.join("reflection/qa.ncl");
    let mut evals = Vec::new();
    for _ in 0..rounds {
        let text = std::fs::read_to_string(&path).expect("read");
        let t0 = Instant::now();
        rt.block_on(e.loader().check_text::<QaStore>(&path, text))
            .expect("floor");
        evals.push(t0.elapsed());
    }
    println!(
        "{:<58} {:>10}   target ≤ 200 ms",
        "edit of the seed's qa.ncl → resources/updated (p50)",
        fmt(n50)
    );
    println!("{:<58} {:>10}", "  the same (p95)", fmt(n95));
    println!(
        "{:<58} {:>10}",
        "  floor: one evaluation of the edited file (p50)",
        fmt(p50(&mut evals))
    );
    let hits = if quick { 200 } else { 20_000 };
    let watched = engine(&seed, &t.join("seed-watched"));
    watched.watch().expect("watch");
    let stat = warm_hit(&rt, &e, hits);
    let trusted = warm_hit(&rt, &watched, hits);
    println!(
        "{:<58} {:>10}",
        "warm load of the seed's store, stat'ing its files (p50)",
        fmt(stat)
    );
    println!(
        "{:<58} {:>10}   {:.1}× faster",
        "warm load of the seed's store, watched (p50)",
        fmt(trusted),
        stat.as_secs_f64() / trusted.as_secs_f64().max(1e-12)
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
