//! ontoref beside its peers over MCP stdio, in one run, on one store and one
//! query mix, reported as ratios (issue 15):
//!
//! - **floor**: an rmcp server with one `echo` tool that returns its
//!   arguments as structured content (and as text, as rmcp's `structured`
//!   does). It is this bench binary re-run with `--floor-server`, so it
//!   links the very rmcp and tokio ontoref links: its round trip is what
//!   the protocol costs over these pipes with nothing else done (on a
//!   current-thread runtime, as `ontoref serve` runs stdio).
//! - **python**: `benches/peer_python.py`, the official Python SDK's
//!   `MCPServer` with an in-memory BM25 `qa_search` and `qa_show` over the
//!   same entries (run with the test venv's Python: `target/pyenv`, or
//!   `ONTOREF_BENCH_PYTHON`).
//! - **ontoref**: `ontoref serve` on the generated store as Nickel, with a
//!   warm disk cache (as a project opened before).
//!
//! Each server gets the same calls in interleaved rounds (a block of
//! searches, then a block of shows, server after server), so a machine that
//! slows down during the run slows every column alike. A call is timed from
//! writing its request line to reading its response line; responses are
//! checked afterwards.
//!
//! `cargo bench --bench peers` (10,000 entries, 8 rounds of 250 calls per
//! server and tool); `-- --quick` is CI's smoke run (1,000 entries, figures
//! not meaningful); `-- --entries N` and `-- --rounds N` change the size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

mod common;
#[path = "stdio_client.rs"]
mod stdio_client;
#[path = "store.rs"]
mod store;

use common::{fmt, percentile};
use stdio_client::Client;

/// One server under test and how to ask it.
struct Peer {
    name: &'static str,
    search_tool: &'static str,
    show_tool: &'static str,
    /// Arguments of a search for a query.
    search_args: fn(&str) -> Value,
    /// Arguments of a show for an id.
    show_args: fn(&str) -> Value,
    client: Client,
    search: Vec<Duration>,
    show: Vec<Duration>,
}

/// The floor server: one `echo` tool, nothing else.
mod floor {
    use std::sync::Arc;

    use rmcp::ServiceExt;
    use rmcp::handler::server::ServerHandler;
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ErrorData, ListToolsResult,
        PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    };
    use rmcp::service::{RequestContext, RoleServer};

    struct Floor {
        tool: Tool,
    }

    impl ServerHandler for Floor {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }

        async fn list_tools(
            &self,
            _request: Option<PaginatedRequestParams>,
            _context: RequestContext<RoleServer>,
        ) -> Result<ListToolsResult, ErrorData> {
            Ok(ListToolsResult {
                tools: vec![self.tool.clone()],
                ..ListToolsResult::default()
            })
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            let echo = serde_json::Value::Object(request.arguments.unwrap_or_default());
            Ok(CallToolResponse::Complete(CallToolResult::structured(echo)))
        }
    }

    /// Serves the floor on stdin/stdout until the client closes stdin.
    pub fn serve() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        });
        let serde_json::Value::Object(schema) = schema else {
            unreachable!("a JSON object literal")
        };
        let tool = Tool::new("echo", "Return the input unchanged.", Arc::new(schema));
        // The runtime `ontoref serve` uses on stdio alone.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let service = Floor { tool }
                .serve(rmcp::transport::stdio_pipes())
                .await
                .expect("floor: initialize");
            let _ = service.waiting().await;
        });
    }
}

fn python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    std::env::var_os("ONTOREF_BENCH_PYTHON")
        .map(PathBuf::from)
        .or_else(|| venv.exists().then_some(venv))
}

fn ontoref_bin() -> PathBuf {
    std::env::var_os("ONTOREF_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ontoref")))
}

fn arg_value(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn p(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    percentile(samples, q)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--floor-server") {
        floor::serve();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let entries = arg_value("--entries").unwrap_or(if quick { 1_000 } else { 10_000 });
    let rounds = arg_value("--rounds").unwrap_or(if quick { 2 } else { 8 });
    let per_round = if quick { 25 } else { 250 };

    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("project");
    let generated = store::generate_entries(entries);
    store::generate_store(&project, entries);
    let store_json = tmp.path().join("store.json");
    let json_entries: Vec<Value> = generated
        .iter()
        .map(|g| {
            json!({"id": g.id, "question": g.question, "answer": g.answer, "actor": "agent",
                   "created_at": g.created_at, "tags": g.tags, "related": [], "verified": g.verified})
        })
        .collect();
    std::fs::write(
        &store_json,
        serde_json::to_vec(&json!({"entries": json_entries})).expect("json"),
    )
    .expect("write store.json");
    let ids: Vec<&str> = generated.iter().map(|g| g.id.as_str()).collect();

    println!(
        "peers benchmark: {entries} entries, {rounds} rounds × {per_round} calls per server and tool; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // ontoref with a warm disk cache: a first server evaluates and writes it.
    let cache = tmp.path().join("cache");
    let ontoref_command = || {
        let mut c = Command::new(ontoref_bin());
        c.args(["serve", "--project"])
            .arg(&project)
            .env("ONTOREF_CACHE_DIR", &cache);
        c
    };
    {
        let mut prime = Client::spawn(ontoref_command());
        prime.call("ontoref_qa_search", json!({"query": "vault"}));
    }

    let mut peers = vec![
        Peer {
            name: "floor",
            search_tool: "echo",
            show_tool: "echo",
            search_args: |q| json!({"text": q}),
            show_args: |id| json!({"text": id}),
            client: Client::spawn({
                let mut c = Command::new(std::env::current_exe().expect("current exe"));
                c.arg("--floor-server");
                c
            }),
            search: Vec::new(),
            show: Vec::new(),
        },
        Peer {
            name: "ontoref",
            search_tool: "ontoref_qa_search",
            show_tool: "ontoref_qa_show",
            search_args: |q| json!({"query": q}),
            show_args: |id| json!({"id": id}),
            client: Client::spawn(ontoref_command()),
            search: Vec::new(),
            show: Vec::new(),
        },
    ];
    match python() {
        Some(python) => peers.push(Peer {
            name: "python",
            search_tool: "qa_search",
            show_tool: "qa_show",
            search_args: |q| json!({"query": q}),
            show_args: |id| json!({"id": id}),
            client: Client::spawn({
                let mut c = Command::new(python);
                c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer_python.py"))
                    .arg(&store_json);
                c
            }),
            search: Vec::new(),
            show: Vec::new(),
        }),
        None => println!(
            "python peer skipped: no target/pyenv (scripts/test.sh makes it) and no ONTOREF_BENCH_PYTHON"
        ),
    }

    // Warm-up, and a check that every server finds what the others find.
    for peer in &mut peers {
        for q in store::QUERIES {
            let (r, _) = peer.client.call(peer.search_tool, (peer.search_args)(q));
            if peer.name != "floor" {
                let hits = r["results"].as_array().map_or(0, Vec::len);
                assert!(hits > 0, "{}: no hit for {q:?}: {r}", peer.name);
            }
        }
        let (r, _) = peer.client.call(peer.show_tool, (peer.show_args)(ids[0]));
        if peer.name != "floor" {
            assert_eq!(r["entry"]["id"], ids[0], "{}: {r}", peer.name);
        }
    }

    let mut pick = store::Rng(0x0dd_ba11);
    for round in 0..rounds {
        for peer in &mut peers {
            for i in 0..per_round {
                let q = store::QUERIES[(round * per_round + i) % store::QUERIES.len()];
                let (_, took) = peer.client.call(peer.search_tool, (peer.search_args)(q));
                peer.search.push(took);
            }
        }
        let shown: Vec<&str> = (0..per_round)
            .map(|_| ids[(pick.next() % ids.len() as u64) as usize])
            .collect();
        for peer in &mut peers {
            for id in &shown {
                let (_, took) = peer.client.call(peer.show_tool, (peer.show_args)(id));
                peer.show.push(took);
            }
        }
    }

    println!(
        "\n{:<10} {:>22} {:>22} {:>12}",
        "server", "search p50 / p99", "show p50 / p99", "RSS"
    );
    let mut figures = Vec::new();
    for peer in &mut peers {
        let s50 = p(&mut peer.search, 0.5);
        let s99 = p(&mut peer.search, 0.99);
        let h50 = p(&mut peer.show, 0.5);
        let h99 = p(&mut peer.show, 0.99);
        let rss = peer.client.rss_kib();
        println!(
            "{:<10} {:>22} {:>22} {:>9.1} MB",
            peer.name,
            format!("{} / {}", fmt(s50), fmt(s99)),
            format!("{} / {}", fmt(h50), fmt(h99)),
            rss as f64 / 1024.0
        );
        figures.push((peer.name, s50, s99, h50));
    }
    let find = |name: &str| figures.iter().find(|f| f.0 == name).copied();
    let (Some(floor), Some(ours)) = (find("floor"), find("ontoref")) else {
        return;
    };
    println!("\nratios, this run                               measured   target");
    println!(
        "ontoref search p50 / floor's round trip          {:>7.2}×   ≤ 4×",
        ratio(ours.1, floor.1)
    );
    println!(
        "ontoref show p50 / floor's round trip            {:>7.2}×   ≤ 1.5×",
        ratio(ours.3, floor.3)
    );
    println!(
        "ontoref search p99                               {:>8}   ≤ 0.3 ms",
        fmt(ours.2)
    );
    if let Some(py) = find("python") {
        println!(
            "python search p50 / ontoref search p50           {:>7.2}×   ≥ 9×",
            ratio(py.1, ours.1)
        );
        println!(
            "python show p50 / ontoref show p50               {:>7.2}×",
            ratio(py.3, ours.3)
        );
    }
}
