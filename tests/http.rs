//! `ontoref serve --http`: raw HTTP against the built binary. Health,
//! Host and Origin allow-lists (403), an unknown MCP session (404), the
//! tool list without a token file (read-only tools, never the vault), the
//! legacy SSE transport, session limits, bearer tokens (401) and a token's
//! actor at the vault gate (no token in trace logs), stdio and HTTP in one
//! process on one cache, and a clean exit on SIGTERM (streams closed,
//! credential directories removed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Sandbox, fixture, path_str};
use crate::vault::{Demo, TARGET};

/// An HTTP client of the server on `port`: raw HTTP/1.1 over TcpStream.
pub(crate) struct Http {
    pub(crate) port: u16,
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) http: Http,
    /// Everything the server wrote on stderr so far.
    pub(crate) stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub(crate) fn start(sb: &Sandbox, extra: &[&str]) -> Server {
        Server::spawn(sb.cmd(), &fixture(), extra)
    }

    pub(crate) fn spawn(mut cmd: Command, project: &Path, extra: &[&str]) -> Server {
        let mut child = cmd
            .args(["serve", "--http", "127.0.0.1:0", "--project"])
            .arg(project)
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn ontoref serve --http");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server announces its address")
                .expect("stderr line");
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        };
        // Keep draining stderr so the server never blocks on it.
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.by_ref().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        Server {
            child,
            http: Http { port },
            stderr,
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Http {
    /// The status of a GET, or `None` when nothing listens.
    pub(crate) fn try_status(&self, path: &str) -> Option<u16> {
        TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        Some(self.request("GET", path, &[], "").0)
    }

    /// Sends one HTTP/1.1 request and returns (status, headers, body).
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, head.to_owned(), body.to_owned())
    }

    /// Opens `GET /sse` and reads its `endpoint` event.
    pub(crate) fn sse(&self, headers: &[(&str, &str)]) -> (SseStream, String) {
        let mut stream = self.sse_raw(headers);
        assert_eq!(stream.status, 200, "{}", stream.head);
        let (event, data) = stream.next().expect("the endpoint event");
        assert_eq!(event, "endpoint");
        assert!(data.starts_with("/message?sessionId="), "{data}");
        (stream, data)
    }

    pub(crate) fn sse_raw(&self, headers: &[(&str, &str)]) -> SseStream {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!(
            "GET /sse HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n",
            self.port
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut reader = BufReader::new(s);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        SseStream {
            reader,
            status,
            head,
        }
    }

    /// A JSON-RPC POST to a legacy SSE session's endpoint.
    pub(crate) fn post_message(
        &self,
        endpoint: &str,
        msg: &Value,
        extra: &[(&str, &str)],
    ) -> (u16, String) {
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend_from_slice(extra);
        let (status, _, body) = self.request("POST", endpoint, &headers, &msg.to_string());
        (status, body)
    }

    /// A JSON-RPC POST to /mcp.
    pub(crate) fn rpc(&self, msg: &Value, extra: &[(&str, &str)]) -> (u16, String, String) {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        headers.extend_from_slice(extra);
        self.request("POST", "/mcp", &headers, &msg.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `GET /sse` event stream, read event by event.
pub(crate) struct SseStream {
    pub(crate) reader: BufReader<TcpStream>,
    pub(crate) status: u16,
    pub(crate) head: String,
}

impl SseStream {
    /// The next event as (event name, data); keep-alive comments come as
    /// (":", ""). `None` when the stream ends or nothing comes for 10 s.
    pub(crate) fn next(&mut self) -> Option<(String, String)> {
        let mut event = String::from("message");
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            // Chunked framing: a lone `0` ends the body; other hex lines are sizes.
            if line == "0" {
                return None;
            }
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                return Some((event, data.trim().to_owned()));
            } else if line.starts_with(':') {
                return Some((":".into(), String::new()));
            }
        }
    }

    /// The next `message` event's JSON, skipping keep-alives.
    pub(crate) fn message(&mut self) -> Value {
        loop {
            let (event, data) = self.next().expect("an SSE message");
            if event == "message" {
                return serde_json::from_str(&data).expect("JSON data");
            }
        }
    }
}

/// The JSON-RPC messages in a response body (plain JSON or SSE `data:` lines,
/// possibly chunked).
pub(crate) fn messages(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(body))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .filter(|v| v.get("jsonrpc").is_some())
        .collect()
}

pub(crate) fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "ontoref-tests", "version": "0"}}})
}

pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn health_and_the_host_and_origin_allow_lists() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let (status, _, body) = server.request("GET", "/healthz", &[], "");
    assert_eq!((status, body.trim()), (200, "ok"));

    let (status, _, _) = server.rpc(&initialize(), &[("Origin", "http://evil.example")]);
    assert_eq!(status, 403, "a foreign Origin");
    let (status, _, _) = server.rpc(&initialize(), &[("Host", "evil.example")]);
    assert_eq!(status, 403, "a foreign Host (DNS rebinding)");
    let (status, head, _) = server.rpc(&initialize(), &[("Origin", "http://localhost:3000")]);
    assert_eq!(status, 200, "a localhost Origin: {head}");
    // Bodies are limited (1 MiB).
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x".repeat(2 << 20)});
    let (status, _, _) = server.rpc(&big, &[]);
    assert_eq!(status, 413);

    // Explicit lists replace the defaults.
    let server = Server::start(
        &sb,
        &[
            "--allowed-host",
            "ontoref.test",
            "--allowed-origin",
            "https://ide.example",
        ],
    );
    let (status, _, _) = server.rpc(&initialize(), &[("Host", "ontoref.test")]);
    assert_eq!(status, 200);
    let (status, _, _) = server.rpc(
        &initialize(),
        &[
            ("Host", "ontoref.test"),
            ("Origin", "http://localhost:3000"),
        ],
    );
    assert_eq!(status, 403);
    let (status, _, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 403, "127.0.0.1 is no longer allowed");
}

#[test]
fn sessions_list_read_only_tools_and_an_unknown_session_is_404() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let (status, head, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id")
        .expect("a session id")
        .to_owned();
    let (status, _, _) = server.rpc(
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 202);
    let (status, _, body) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 200);
    let list = messages(&body)
        .into_iter()
        .find(|m| m["id"] == 2)
        .expect("tools/list answer");
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"ontoref_qa_search"), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with("ontoref_secrets") && *n != "ontoref_credential_fetch"),
        "the vault over HTTP without a token file: {names:?}"
    );
    // Nor any write: anyone who can reach the port could otherwise edit the store.
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("_add") || n.ends_with("_update") || n.ends_with("_delete")),
        "knowledge writes over HTTP without a token file: {names:?}"
    );
    let (status, _, body) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}}),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 200);
    let call = messages(&body)
        .into_iter()
        .find(|m| m["id"] == 3)
        .expect("tools/call answer");
    assert_eq!(
        call["result"]["structuredContent"]["entry"]["id"],
        "deploy-staging"
    );

    let (status, _, _) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
        &[
            ("Mcp-Session-Id", "no-such-session"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 404);
    // DELETE ends the session; it is unknown afterwards.
    let (status, _, _) = server.request("DELETE", "/mcp", &[("Mcp-Session-Id", &session)], "");
    assert!(status == 200 || status == 202 || status == 204, "{status}");
    let (status, _, _) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 404);
}

#[test]
fn sigterm_stops_the_http_server_cleanly() {
    let sb = Sandbox::new();
    let mut server = Server::start(&sb, &[]);
    let status = crate::util::terminate(&mut server.child);
    assert!(status.success(), "{status:?}");
}

pub(crate) fn legacy_initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "ontoref-tests", "version": "0"}}})
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .expect("a tool list")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body).expect("a JSON error body")["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Opens an SSE session and completes the 2024-11-05 handshake.
pub(crate) fn sse_session(server: &Server, auth: &[(&str, &str)]) -> (SseStream, String) {
    let (mut stream, endpoint) = server.sse(auth);
    let (status, body) = server.post_message(&endpoint, &legacy_initialize(), auth);
    assert_eq!((status, body.as_str()), (202, "Accepted"));
    let init = stream.message();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        auth,
    );
    assert_eq!(status, 202);
    (stream, endpoint)
}

#[test]
fn legacy_sse_transport_answers_on_the_session_stream() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &["--sse-keep-alive", "0.2"]);
    let (mut stream, endpoint) = sse_session(&server, &[]);
    assert!(
        header(&stream.head, "content-type").is_some_and(|v| v.starts_with("text/event-stream")),
        "{}",
        stream.head
    );

    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[],
    );
    assert_eq!(status, 202);
    let list = stream.message();
    assert_eq!(list["id"], 2);
    let names = tool_names(&list);
    assert!(names.iter().any(|n| n == "ontoref_qa_show"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("ontoref_secrets") || n == "ontoref_credential_fetch"),
        "no vault over HTTP without a token file: {names:?}"
    );
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}}),
        &[],
    );
    assert_eq!(status, 202);
    let call = stream.message();
    assert_eq!(call["id"], 3);
    assert_eq!(
        call["result"]["structuredContent"]["entry"]["id"],
        "deploy-staging"
    );

    // Keep-alive comments flow while the session is quiet.
    let started = Instant::now();
    let (event, _) = stream.next().expect("a keep-alive");
    assert_eq!(event, ":");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Bad posts get clear errors and leave the session working.
    let (status, _, body) = server.request("POST", &endpoint, &[], "{not json");
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "parse-error"),
        "{body}"
    );
    let (status, _, body) = server.request("POST", "/message", &[], "{}");
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "session-id-missing")
    );
    let (status, body) = server.post_message(
        "/message?sessionId=0123456789abcdef",
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
        &[],
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (404, "session-not-found")
    );
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, _, _) = server.request("POST", &endpoint, &[], &big);
    assert_eq!(status, 413);
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "ontoref_qa_show", "arguments": {"id": "no-such-entry"}}}),
        &[],
    );
    assert_eq!(status, 202);
    let call = stream.message();
    assert_eq!(call["id"], 4);
    assert_eq!(call["result"]["isError"], true);
    assert_eq!(
        call["result"]["structuredContent"]["error"]["code"],
        "qa-not-found"
    );

    // Closing the stream ends the session.
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = server.post_message(
            &endpoint,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            &[],
        );
        if status == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "the session outlived its stream");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn session_limits_idle_timeout_and_a_clear_503() {
    let sb = Sandbox::new();
    let server = Server::start(
        &sb,
        &["--max-sessions", "2", "--session-idle-timeout", "1.5"],
    );
    let (mut sse, endpoint) = sse_session(&server, &[]);
    let (status, head, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200, "{head}");
    let mcp_session = header(&head, "mcp-session-id").unwrap().to_owned();

    // Both transports count against the one limit.
    let refused = server.sse_raw(&[]);
    assert_eq!(refused.status, 503, "{}", refused.head);
    assert_eq!(header(&refused.head, "retry-after"), Some("5"));
    let (status, _, body) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 503);
    assert_eq!(error_code(&body), "too-many-sessions");
    assert!(body.contains("--max-sessions 2"), "{body}");
    // Open sessions keep working at the limit.
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[],
    );
    assert_eq!(status, 202);
    assert_eq!(sse.message()["id"], 2);

    // Idle sessions close after the timeout: the SSE stream ends, the
    // Streamable HTTP session is unknown (404), and room frees up.
    let started = Instant::now();
    while sse.next().is_some() {}
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = server.rpc(
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
            &[
                ("Mcp-Session-Id", &mcp_session),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
        );
        if status == 404 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the idle MCP session stayed open"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200, "room for a new session");
    let (_stream, _) = server.sse(&[]);
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) const AGENT_TOKEN: &str = "tok-agent-7f3e9a0c";
pub(crate) const MALLORY_TOKEN: &str = "tok-mallory-51d2b8";

pub(crate) fn token_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("tokens");
    std::fs::write(
        &path,
        format!(
            "# actor  sha256(token)\nagent-bot {}\nmallory {}\n",
            sha256_hex(AGENT_TOKEN),
            sha256_hex(MALLORY_TOKEN)
        ),
    )
    .unwrap();
    path
}

#[test]
fn tokens_are_required_on_every_mcp_route() {
    let sb = Sandbox::new();
    let tokens = token_file(sb.dir.path());
    let server = Server::start(&sb, &["--token-file", path_str(&tokens)]);
    let agent = format!("Bearer {AGENT_TOKEN}");

    let (status, _, _) = server.request("GET", "/healthz", &[], "");
    assert_eq!(status, 200, "health needs no token");
    let (status, head, body) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 401);
    assert_eq!(
        header(&head, "www-authenticate"),
        Some(r#"Bearer realm="ontoref""#)
    );
    assert_eq!(error_code(&body), "token-missing");
    let (status, head, body) = server.rpc(&initialize(), &[("Authorization", "Bearer tok-guess")]);
    assert_eq!(status, 401);
    assert!(
        header(&head, "www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(error_code(&body), "token-invalid");
    assert!(!body.contains("tok-guess"), "the token is never echoed");
    let refused = server.sse_raw(&[]);
    assert_eq!(refused.status, 401);
    assert!(header(&refused.head, "www-authenticate").is_some());
    let (status, _) = server.post_message("/message?sessionId=x", &json!({}), &[]);
    assert_eq!(status, 401);
    // Origin and Host come first: a good token does not excuse a foreign Origin.
    let (status, _, _) = server.rpc(
        &initialize(),
        &[("Authorization", &agent), ("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403);

    // With a token: the whole selection, vault included.
    let (status, head, _) = server.rpc(&initialize(), &[("Authorization", &agent)]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let (status, _, body) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[
            ("Authorization", &agent),
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 200);
    let list = messages(&body).into_iter().find(|m| m["id"] == 2).unwrap();
    let names = tool_names(&list);
    assert_eq!(names.len(), crate::util::catalog_names().len(), "{names:?}");
    assert!(names.iter().any(|n| n == "ontoref_credential_fetch"));
    assert!(names.iter().any(|n| n == "ontoref_qa_add"), "{names:?}");

    // A request may not name another actor.
    let (status, _, body) = server.rpc(
        &initialize(),
        &[("Authorization", &agent), ("Ontoref-Actor", "admin-root")],
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "actor-mismatch")
    );
    // Nor post into another actor's SSE session.
    let (_stream, endpoint) = sse_session(&server, &[("Authorization", &agent)]);
    let (status, body) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
        &[("Authorization", &format!("Bearer {MALLORY_TOKEN}"))],
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "session-actor-mismatch")
    );
}

#[test]
fn a_bad_token_file_stops_the_server_before_it_listens() {
    let sb = Sandbox::new();
    let path = sb.dir.path().join("tokens");
    std::fs::write(&path, "agent-bot my-plain-token\n").unwrap();
    let out = sb
        .cmd()
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--token-file",
            path_str(&path),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:1:", path.display())), "{err}");
    assert!(err.contains("token-file-bad-line"), "{err}");
    assert!(!err.contains("my-plain-token"), "{err}");
    assert!(!err.contains("serving MCP"), "{err}");
}

/// `ontoref_credential_fetch` over HTTP: the gate sees the token's actor,
/// never the server's own ONTOREF_ACTOR (admin-root here).
#[test]
fn the_tokens_actor_reaches_the_vault_gate() {
    let demo = Demo::new();
    let tokens = token_file(&demo.run.join(".."));
    let mut cmd = demo.cmd();
    cmd.env("ONTOREF_ACTOR", "admin-root");
    let server = Server::spawn(
        cmd,
        &demo.project,
        &["--token-file", path_str(&tokens), "--log-level", "trace"],
    );
    let fetch = |auth: &str, id: u64| {
        let auth = format!("Bearer {auth}");
        let (status, head, _) = server.rpc(&initialize(), &[("Authorization", &auth)]);
        assert_eq!(status, 200);
        let session = header(&head, "mcp-session-id").unwrap().to_owned();
        let (status, _, body) = server.rpc(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "ontoref_credential_fetch", "arguments": {"target": TARGET}}}),
            &[
                ("Authorization", &auth),
                ("Mcp-Session-Id", &session),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
        );
        assert_eq!(status, 200);
        messages(&body)
            .into_iter()
            .find(|m| m["id"] == id)
            .expect("a tools/call answer")["result"]
            .clone()
    };
    let allowed = fetch(AGENT_TOKEN, 2);
    assert_ne!(allowed["isError"], true, "{allowed}");
    assert_eq!(allowed["structuredContent"]["role"], "agent");
    let dir = allowed["structuredContent"]["docker_config_dir"]
        .as_str()
        .unwrap();
    assert!(Path::new(dir).join("config.json").is_file());
    let refused = fetch(MALLORY_TOKEN, 3);
    assert_eq!(refused["isError"], true);
    assert_eq!(
        refused["structuredContent"]["error"]["code"],
        "actor-not-bound"
    );

    // The same over the legacy SSE transport.
    let auth = format!("Bearer {AGENT_TOKEN}");
    let (mut stream, endpoint) = sse_session(&server, &[("Authorization", &auth)]);
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "ontoref_credential_fetch", "arguments": {"target": TARGET}}}),
        &[("Authorization", &auth)],
    );
    assert_eq!(status, 202);
    let over_sse = stream.message();
    assert_eq!(
        over_sse["result"]["structuredContent"]["role"], "agent",
        "{over_sse}"
    );

    // The audit log names the tokens' actors, never the server's.
    let log = std::fs::read_to_string(demo.vault().join("audit.jsonl")).unwrap();
    let actors: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["actor"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(actors, ["agent-bot", "mallory", "agent-bot"], "{log}");

    // SIGTERM: the open SSE stream ends, the issued credential directories
    // are removed, and the exit is clean.
    let issued = Path::new(dir).to_path_buf();
    assert!(issued.is_dir());
    let mut server = server;
    assert!(crate::util::terminate(&mut server.child).success());
    while let Some((event, _)) = stream.next() {
        assert_eq!(event, ":", "only keep-alives before the stream closes");
    }
    assert!(!issued.exists(), "credential dir left behind: {issued:?}");

    // Tokens never reach the logs, even at trace level.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stderr.lock().unwrap().contains("shutting down") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = server.stderr.lock().unwrap().clone();
    assert!(
        logs.contains("ontoref_credential_fetch"),
        "trace logs were written"
    );
    for token in [AGENT_TOKEN, MALLORY_TOKEN] {
        assert!(!logs.contains(token), "a token in the logs");
    }
}

/// `--stdio` and `--http` in one process: both answer, from one engine (the
/// Q&A file is evaluated once, with the disk cache off), and closing stdin
/// stops the HTTP side too.
#[test]
fn stdio_and_http_share_one_process_and_cache() {
    let sb = Sandbox::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut stdio = crate::util::Session::start(
        &sb,
        &[
            "--stdio",
            "--http",
            &addr,
            "--project",
            path_str(&fixture()),
            "--no-disk-cache",
            "--log-level",
            "debug",
        ],
        &[],
    );
    let http = Http { port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.try_status("/healthz") != Some(200) {
        assert!(Instant::now() < deadline, "the HTTP side never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    stdio.initialize();
    let r = stdio.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["entry"]["id"],
        "deploy-staging"
    );

    let (status, head, _) = http.rpc(&initialize(), &[]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let (status, _, body) = http.rpc(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "ontoref_qa_show", "arguments": {"id": "rollback-policy"}}}),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_eq!(status, 200);
    let call = messages(&body).into_iter().find(|m| m["id"] == 2).unwrap();
    assert_eq!(
        call["result"]["structuredContent"]["entry"]["id"],
        "rollback-policy"
    );

    let (stderr, _) = stdio.finish();
    let evaluations = stderr
        .lines()
        .filter(|l| l.contains("evaluating with nickel") && l.contains("qa.ncl"))
        .count();
    assert_eq!(
        evaluations, 1,
        "one shared engine evaluates qa.ncl once:\n{stderr}"
    );
    assert_eq!(
        http.try_status("/healthz"),
        None,
        "closing stdin stopped HTTP too"
    );
}
