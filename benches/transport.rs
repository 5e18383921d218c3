//! Transport benchmark. Run with `cargo bench --bench transport`
//! (`-- --quick` for a smoke run, as CI does).
//!
//! Against the release binary serving the seed project, on loopback:
//! - `tools/call ontoref_qa_show` throughput and latency over Streamable
//!   HTTP (2025-11-25 sessions, each client its own keep-alive connection
//!   and `Mcp-Session-Id`, one call at a time per client) with 1, 16 and 64
//!   concurrent clients;
//! - the same over stdio, with 1, 16 and 64 requests in flight on one
//!   connection (a stdio server has exactly one client);
//! - the server's resident memory idle and with 100 open legacy SSE
//!   sessions (each initialized and answering one call), on a fresh server,
//!   and after the HTTP runs (whose sessions stay open until idle).
//!
//! The client is hyper on a current-thread runtime of its own thread, so
//! the server gets the machine's other core; on 2 cores the client's work
//! is part of what is measured.

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use common::{fmt, percentile};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const SHOW_ID: &str = "credential-vault-best-practice";

fn row(what: &str, value: String, target: &str) {
    println!("{what:<64} {value:>24}   {target}");
}

/// Calls per second and latency percentiles of one run.
struct Run {
    calls: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn report(mut self, what: &str, target: &str) {
        self.latencies.sort();
        let rate = self.calls as f64 / self.elapsed.as_secs_f64();
        row(
            what,
            format!(
                "{:>7.0}/s  p50 {} p99 {}",
                rate,
                fmt(percentile(&self.latencies, 0.5)),
                fmt(percentile(&self.latencies, 0.99))
            ),
            target,
        );
    }
}

/// `ontoref serve --http 127.0.0.1:0` on the seed project.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(project: &Path, cache: &Path) -> HttpServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ontoref"))
            .args(["serve", "--http", "127.0.0.1:0", "--max-sessions", "256"])
            .arg("--project")
            .arg(project)
            .env("ONTOREF_CACHE_DIR", cache)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ontoref serve --http");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port = loop {
            let line = lines.next().expect("an address line").expect("stderr");
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        };
        std::thread::spawn(move || for _ in lines.by_ref() {});
        HttpServer { child, port }
    }

    /// Resident memory of the server process.
    fn rss(&self) -> String {
        rss_of(self.child.id())
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_of(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    format!("{:.1} MB", kb / 1024.0)
}

/// One Streamable HTTP client: a keep-alive connection and a session.
struct HttpClient {
    port: u16,
    sender: SendRequest<Full<Bytes>>,
    session: Option<String>,
}

impl HttpClient {
    async fn connect(port: u16) -> HttpClient {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut client = HttpClient {
            port,
            sender,
            session: None,
        };
        let (status, session, _) = client
            .post(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"}}}),
            )
            .await;
        assert_eq!(status, 200);
        client.session = Some(session.expect("a session id"));
        let (status, _, _) = client
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(status, 202);
        client
    }

    async fn post(&mut self, body: Value) -> (u16, Option<String>, Bytes) {
        self.post_bytes(Bytes::from(body.to_string())).await
    }

    async fn post_bytes(&mut self, body: Bytes) -> (u16, Option<String>, Bytes) {
        let mut req = hyper::Request::post("/mcp")
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = &self.session {
            req = req
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let req = req.body(Full::new(body)).expect("request");
        let response = self.sender.send_request(req).await.expect("send");
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, session, body)
    }
}

fn show_call(id: u64) -> Bytes {
    Bytes::from(
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "ontoref_qa_show", "arguments": {"id": SHOW_ID}}})
        .to_string(),
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `clients` concurrent clients calling `ontoref_qa_show` for `duration`.
fn http_run(port: u16, clients: usize, duration: Duration) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(HttpClient::connect(port).await);
        }
        // Check one answer whole before timing.
        let (status, _, body) = conns[0].post_bytes(show_call(1)).await;
        assert_eq!(status, 200);
        assert!(
            contains(&body, b"structuredContent") && contains(&body, SHOW_ID.as_bytes()),
            "{}",
            String::from_utf8_lossy(&body)
        );
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut id = 2;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let (status, _, body) = c.post_bytes(show_call(id)).await;
                        latencies.push(t.elapsed());
                        assert!(status == 200 && contains(&body, b"structuredContent"));
                        id += 1;
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.expect("client task"));
        }
        Run {
            calls: latencies.len(),
            elapsed: started.elapsed(),
            latencies,
        }
    })
}

/// `window` requests in flight on one stdio connection for `duration`.
fn stdio_run(project: &Path, cache: &Path, window: usize, duration: Duration) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ontoref"))
            .args(["serve", "--project"])
            .arg(project)
            .env("ONTOREF_CACHE_DIR", cache)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn ontoref serve");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}});
        stdin
            .write_all(format!("{init}\n").as_bytes())
            .await
            .expect("write");
        let first = lines.next_line().await.expect("read").expect("a line");
        assert!(first.contains("\"protocolVersion\""), "{first}");
        stdin
            .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .await
            .expect("write");
        let mut sent: std::collections::HashMap<u64, Instant> = Default::default();
        let mut next_id = 1u64;
        let started = Instant::now();
        let deadline = started + duration;
        let mut latencies = Vec::new();
        for _ in 0..window {
            let mut line = show_call(next_id).to_vec();
            line.push(b'\n');
            stdin.write_all(&line).await.expect("write");
            sent.insert(next_id, Instant::now());
            next_id += 1;
        }
        stdin.flush().await.expect("flush");
        while !sent.is_empty() {
            let line = lines.next_line().await.expect("read").expect("a line");
            let reply: Value = serde_json::from_str(&line).expect("JSON");
            let id = reply["id"].as_u64().expect("an id");
            let t = sent.remove(&id).expect("a request of ours");
            latencies.push(t.elapsed());
            assert!(reply["result"]["structuredContent"].is_object(), "{line}");
            if Instant::now() < deadline {
                let mut line = show_call(next_id).to_vec();
                line.push(b'\n');
                stdin.write_all(&line).await.expect("write");
                stdin.flush().await.expect("flush");
                sent.insert(next_id, Instant::now());
                next_id += 1;
            }
        }
        let elapsed = started.elapsed();
        drop(stdin);
        let _ = child.wait().await;
        Run {
            calls: latencies.len(),
            elapsed,
            latencies,
        }
    })
}

/// Opens `n` legacy SSE sessions, each initialized and answering one call,
/// and keeps them open until the returned runtime is dropped.
fn open_sse_sessions(port: u16, n: usize) -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        for _ in 0..n {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let req = hyper::Request::get("/sse")
                .header("host", format!("127.0.0.1:{port}"))
                .header("accept", "text/event-stream")
                .body(Full::new(Bytes::new()))
                .expect("request");
            let response = sender.send_request(req).await.expect("GET /sse");
            assert_eq!(response.status(), 200);
            let mut body = response.into_body();
            let mut buffer = String::new();
            let mut next_event = async || -> String {
                loop {
                    if let Some(end) = buffer.find("\n\n") {
                        let event: String = buffer.drain(..end + 2).collect();
                        if !event.starts_with(':') {
                            return event;
                        }
                        continue;
                    }
                    let frame = body.frame().await.expect("an event").expect("a frame");
                    if let Ok(data) = frame.into_data() {
                        buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            };
            let endpoint = next_event().await;
            let path = endpoint
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("an endpoint")
                .to_owned();
            let post = |body: Value| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .expect("connect");
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .expect("handshake");
                    tokio::spawn(conn);
                    let req = hyper::Request::post(path)
                        .header("host", format!("127.0.0.1:{port}"))
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body.to_string())))
                        .expect("request");
                    let status = sender.send_request(req).await.expect("POST").status();
                    assert_eq!(status, 202);
                }
            };
            post(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2024-11-05", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"}}}),
            )
            .await;
            assert!(next_event().await.contains("protocolVersion"));
            post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
            post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "ontoref_qa_show", "arguments": {"id": SHOW_ID}}}))
            .await;
            assert!(next_event().await.contains("structuredContent"));
            // Keep draining the stream (keep-alives) so the session stays open.
            tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
        }
    });
    rt
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = if quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(5)
    };
    let sse_sessions = if quick { 10 } else { 100 };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = repo.join("tests/fixtures/seed");
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    println!(
        "ontoref transport benchmark{} — {} s per row; {} cores",
        if quick { " (quick)" } else { "" },
        duration.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Memory on a fresh server: idle, then with SSE sessions open (each
    // initialized and answering one call, so the project is loaded).
    let server = HttpServer::start(&seed, &cache);
    std::thread::sleep(Duration::from_millis(200));
    row(
        "HTTP server resident memory, idle (fresh)",
        server.rss(),
        "≤ 50 MB",
    );
    let sessions = open_sse_sessions(server.port, sse_sessions);
    row(
        &format!("HTTP server resident memory, {sse_sessions} open SSE sessions"),
        server.rss(),
        "≤ 50 MB",
    );
    drop(sessions);
    drop(server);

    let server = HttpServer::start(&seed, &cache);
    // Warm up: the project evaluated and cached, connections set up once.
    let _ = http_run(server.port, 4, duration / 5);
    for clients in [1, 16, 64] {
        http_run(server.port, clients, duration).report(
            &format!("tools/call qa_show, Streamable HTTP, {clients} clients"),
            if clients == 64 {
                "≥ 10,000/s, p99 ≤ 10 ms"
            } else {
                ""
            },
        );
    }
    row(
        "HTTP server resident memory, after these runs (85 sessions open)",
        server.rss(),
        "",
    );
    drop(server);

    for window in [1, 16, 64] {
        stdio_run(&seed, &cache, window, duration).report(
            &format!("tools/call qa_show, stdio, {window} in flight"),
            "",
        );
    }
}
