//! `ontoref serve --http`: raw HTTP against the built binary. Health,
//! Host and Origin allow-lists (403), an unknown MCP session (404), the
//! tool list without a token file (read-only tools, never the vault), and a
//! clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Sandbox, fixture, path_str};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(sb: &Sandbox, extra: &[&str]) -> Server {
        let mut child = sb
            .cmd()
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--project",
                path_str(&fixture()),
            ])
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
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server { child, port }
    }

    /// Sends one HTTP/1.1 request and returns (status, headers, body).
    fn request(
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

    /// A JSON-RPC POST to /mcp.
    fn rpc(&self, msg: &Value, extra: &[(&str, &str)]) -> (u16, String, String) {
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

/// The JSON-RPC messages in a response body (plain JSON or SSE `data:` lines,
/// possibly chunked).
fn messages(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(body))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .filter(|v| v.get("jsonrpc").is_some())
        .collect()
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "ontoref-tests", "version": "0"}}})
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
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
