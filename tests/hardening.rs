//! Issue 10, "Hold the trust boundary", transport items, through the built
//! binary with real sockets: HTTP connection timeouts (slowloris, silent,
//! lying Content-Length, idle keep-alive vs open streams), every `/mcp`
//! refusal in the JSON shape, Streamable HTTP sessions bound to their
//! token's actor, our own message framing on stdio and legacy SSE (parse
//! errors, invalid requests, malformed params, unknown methods, long ids,
//! over-long lines, duplicate ids in flight, also on Streamable HTTP),
//! unknown tools and bounded echoes, and revealed secrets that reach the
//! client but no log, at debug and trace, over stdio, Streamable HTTP and SSE.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{
    AGENT_TOKEN, Http, MALLORY_TOKEN, Server, error_code, header, initialize, messages,
    sse_session, token_file,
};
use crate::util::{Sandbox, Session, fixture, path_str};
use crate::vault::{Demo, PLANTED, PLANTED_MARK, TARGET};

/// Bound of every wait on the server in this module.
const WITHIN: Duration = Duration::from_secs(15);

/// A raw connection whose reads give up after 200 ms.
fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    s
}

/// Reads until the server closes `s`; `false` if it is still open after
/// `within`. What was read is appended to `seen`.
fn closed_within(s: &mut TcpStream, within: Duration, seen: &mut Vec<u8>) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Whether `s` is still open: a read either times out or returns data.
fn still_open(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn slow_silent_and_lying_connections_are_closed() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &["--header-timeout", "1", "--body-timeout", "1"]);
    let port = server.port;

    // Connects and says nothing.
    let mut silent = connect(port);
    assert!(
        closed_within(&mut silent, WITHIN, &mut Vec::new()),
        "a silent connection stayed open"
    );

    // Slowloris: a header line every 200 ms, never the blank line.
    let mut slow = connect(port);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    let deadline = Instant::now() + WITHIN;
    let mut closed = false;
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        if slow.write_all(b"X-Slow: a\r\n").is_err() {
            closed = true;
            break;
        }
        match slow.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a client trickling header bytes was never closed");

    // A body that announces 1000 bytes and sends 10: 408 body-timeout, closed.
    let mut lying = connect(port);
    lying
        .write_all(
            format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n\
                 {{\"jsonrpc\""
            )
            .as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    assert!(
        closed_within(&mut lying, WITHIN, &mut answer),
        "a lying Content-Length kept the connection open"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    assert_eq!(error_code(body), "body-timeout", "{answer}");

    // The server still serves.
    assert_eq!(server.try_status("/healthz"), Some(200));
}

#[test]
fn idle_connections_close_but_open_streams_stay() {
    let sb = Sandbox::new();
    let server = Server::start(
        &sb,
        &[
            "--idle-connection-timeout",
            "1",
            "--header-timeout",
            "60",
            "--sse-keep-alive",
            "60",
        ],
    );
    let port = server.port;

    // A legacy SSE stream and a Streamable HTTP GET stream, both quiet.
    let (mut sse, endpoint) = sse_session(&server, &[]);
    let (status, head, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let mut get = connect(port);
    get.write_all(
        format!(
            "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\
             Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut head = Vec::new();
    let deadline = Instant::now() + WITHIN;
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && Instant::now() < deadline {
        if let Ok(n) = get.read(&mut buf) {
            head.extend_from_slice(&buf[..n]);
        }
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // A keep-alive connection that asked once and then went quiet.
    let mut keep = connect(port);
    keep.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .unwrap();
    let mut seen = Vec::new();
    assert!(
        closed_within(&mut keep, WITHIN, &mut seen),
        "an idle keep-alive connection stayed open"
    );
    assert!(
        String::from_utf8_lossy(&seen).contains("200 OK"),
        "it was answered first"
    );

    // Well past the idle timeout, both streams are open and working.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        still_open(&mut get),
        "the GET /mcp stream was closed as idle"
    );
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[],
    );
    assert_eq!(status, 202);
    assert_eq!(sse.message()["id"], 2, "the SSE stream was closed as idle");
}

#[test]
fn connection_timeout_flags_are_checked() {
    let sb = Sandbox::new();
    for flag in [
        "--header-timeout",
        "--body-timeout",
        "--idle-connection-timeout",
    ] {
        for bad in ["0", "-1", "NaN", "1e12", "inf"] {
            let out = sb
                .cmd()
                .args(["serve", "--http", "127.0.0.1:0", &format!("{flag}={bad}")])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag}={bad}: {err}");
            assert!(
                err.contains(&format!("{flag} must be a positive number of seconds")),
                "{flag}={bad}: {err}"
            );
            assert!(!err.contains("serving MCP"), "{err}");
        }
    }
    // Good values serve.
    let server = Server::start(
        &sb,
        &[
            "--header-timeout",
            "2.5",
            "--body-timeout",
            "0.5",
            "--idle-connection-timeout",
            "86400",
        ],
    );
    assert_eq!(server.try_status("/healthz"), Some(200));
}

/// Asserts a JSON refusal `{"error": {code, message, hint}}` with `code`.
fn assert_refusal(status: u16, head: &str, body: &str, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{head}\n{body}");
    assert!(
        header(head, "content-type").is_some_and(|v| v.starts_with("application/json")),
        "{head}"
    );
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["error"]["code"], want_code, "{body}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        v["error"]["hint"].as_str().is_some_and(|h| !h.is_empty()),
        "{body}"
    );
}

#[test]
fn every_mcp_refusal_is_json() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let post = |body: &str, extra: &[(&str, &str)]| {
        let mut headers = json_headers.to_vec();
        headers.extend_from_slice(extra);
        server.request("POST", "/mcp", &headers, body)
    };

    let (status, head, body) = post("{not json", &[]);
    assert_refusal(status, &head, &body, 400, "parse-error");
    let (status, head, body) = post("", &[]);
    assert_refusal(status, &head, &body, 400, "parse-error");
    let (status, head, body) = post("[1, 2]", &[]);
    assert_refusal(status, &head, &body, 400, "invalid-message");
    let long_id = json!({"jsonrpc": "2.0", "id": "i".repeat(300), "method": "ping"});
    let (status, head, body) = post(&long_id.to_string(), &[]);
    assert_refusal(status, &head, &body, 400, "request-id-too-long");
    assert!(!body.contains(&"i".repeat(300)));

    let init = initialize().to_string();
    let (status, head, body) = server.request(
        "POST",
        "/mcp",
        &[
            ("Content-Type", "text/plain"),
            ("Accept", "application/json, text/event-stream"),
        ],
        &init,
    );
    assert_refusal(status, &head, &body, 415, "unsupported-media-type");
    let (status, head, body) = server.request(
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/html"),
        ],
        &init,
    );
    assert_refusal(status, &head, &body, 406, "not-acceptable");
    let (status, head, body) = server.request("PUT", "/mcp", &json_headers, &init);
    assert_refusal(status, &head, &body, 405, "method-not-allowed");
    assert!(header(&head, "allow").is_some(), "{head}");

    // Outside /mcp too.
    let (status, head, body) = server.request("GET", "/nothing-here", &[], "");
    assert_refusal(status, &head, &body, 404, "path-not-found");
    let (status, head, body) = server.request("POST", "/sse", &json_headers, "{}");
    assert_refusal(status, &head, &body, 405, "method-not-allowed");

    // Sessions: a missing id, an unknown one, a bad protocol version.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let (status, head, body) = post(&list, &[]);
    assert_refusal(status, &head, &body, 400, "session-id-missing");
    let (status, head, body) = post(
        &list,
        &[
            ("Mcp-Session-Id", "no-such-session"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    );
    assert_refusal(status, &head, &body, 404, "session-not-found");
    assert!(body.contains("no-such-session"), "{body}");
    let (status, head, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let (status, head, body) = post(
        &list,
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "1999-01-01"),
        ],
    );
    assert_refusal(status, &head, &body, 400, "bad-request");
    let (status, head, body) = server.request(
        "GET",
        "/mcp",
        &[
            ("Accept", "application/json"),
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        "",
    );
    assert_refusal(status, &head, &body, 406, "not-acceptable");
    let (status, head, body) = server.request(
        "GET",
        "/mcp",
        &[
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", "gone"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        "",
    );
    assert_refusal(status, &head, &body, 404, "session-not-found");

    // A request with an id and malformed params is answered in JSON-RPC.
    let in_session = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let bad = json!({"jsonrpc": "2.0", "id": "p", "method": "tools/call", "params": 5});
    let (status, head, body) = server.rpc(&bad, &in_session);
    assert_eq!(status, 200, "{head}");
    let answer = messages(&body)
        .into_iter()
        .find(|m| m["id"] == "p")
        .unwrap();
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    // An unknown method goes to rmcp, and its name is cut.
    let unknown = json!({"jsonrpc": "2.0", "id": "u", "method": "m".repeat(100_000)});
    let (_, _, body) = server.rpc(&unknown, &in_session);
    let answer = messages(&body)
        .into_iter()
        .find(|m| m["id"] == "u")
        .unwrap();
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    assert!(body.len() < 4096, "{}", body.len());
}

#[test]
fn streamable_http_sessions_belong_to_their_tokens_actor() {
    let sb = Sandbox::new();
    let tokens = token_file(sb.dir.path());
    let server = Server::start(&sb, &["--token-file", path_str(&tokens)]);
    let agent = format!("Bearer {AGENT_TOKEN}");
    let mallory = format!("Bearer {MALLORY_TOKEN}");
    let (status, head, _) = server.rpc(&initialize(), &[("Authorization", &agent)]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let h = [
        ("Authorization", mallory.as_str()),
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, head, body) = server.rpc(&list, &h);
    assert_refusal(status, &head, &body, 403, "session-actor-mismatch");
    let mut get = h.to_vec();
    get.push(("Accept", "text/event-stream"));
    let (status, head, body) = server.request("GET", "/mcp", &get, "");
    assert_refusal(status, &head, &body, 403, "session-actor-mismatch");
    let (status, head, body) = server.request("DELETE", "/mcp", &h, "");
    assert_refusal(status, &head, &body, 403, "session-actor-mismatch");

    // The owner's session is untouched, and the owner may end it.
    let a = [
        ("Authorization", agent.as_str()),
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let (status, _, body) = server.rpc(&list, &a);
    assert_eq!(status, 200);
    assert!(messages(&body).iter().any(|m| m["id"] == 2), "{body}");
    let (status, _, _) = server.request("DELETE", "/mcp", &a, "");
    assert!(status == 200 || status == 202 || status == 204, "{status}");
    // Ended: the binding is gone, so anyone gets 404.
    let (status, head, body) = server.rpc(&list, &h);
    assert_refusal(status, &head, &body, 404, "session-not-found");
}

/// A project whose Q&A file never finishes evaluating: a `tools/call`
/// on it stays in flight until `--eval-timeout`.
fn looping(sb: &Sandbox) -> std::path::PathBuf {
    sb.project(
        "looping",
        &[(
            "reflection/qa.ncl",
            "let rec f = fun x => f x in { entries = f 0 }",
        )],
    )
}

fn slow_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "ontoref_qa_list", "arguments": {}}})
}

fn assert_duplicate(answer: &Value, id: u64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(
        answer["error"]["data"]["code"], "duplicate-request-id",
        "{answer}"
    );
}

fn assert_timed_out(answer: &Value, id: u64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(
        answer["result"]["structuredContent"]["error"]["code"], "ncl-eval-timeout",
        "{answer}"
    );
}

#[test]
fn a_duplicate_request_id_in_flight_is_refused_on_every_transport() {
    let sb = Sandbox::new();
    let project = looping(&sb);
    let args = [
        "--project",
        path_str(&project),
        "--eval-timeout",
        "3",
        "--eval-memory",
        "8192",
    ];

    // stdio: the second is refused at once, the first answered normally.
    let mut stdio = Session::start(&sb, &args, &[]);
    stdio.initialize();
    stdio.send_raw(&slow_call(7).to_string());
    stdio.send_raw(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string());
    assert_duplicate(&stdio.next_message(), 7);
    assert_timed_out(&stdio.next_message(), 7);
    // Answered: the id may be used again.
    let again = stdio.request("tools/list", json!({}));
    assert!(again["result"]["tools"].is_array(), "{again}");

    // Streamable HTTP, in one session.
    let server = Server::spawn(
        sb.cmd(),
        &project,
        &["--eval-timeout", "3", "--eval-memory", "8192"],
    );
    let (status, head, _) = server.rpc(&initialize(), &[]);
    assert_eq!(status, 200);
    let session = header(&head, "mcp-session-id").unwrap().to_owned();
    let port = server.port;
    let first_session = session.clone();
    let first = std::thread::spawn(move || {
        Http { port }.rpc(
            &slow_call(7),
            &[
                ("Mcp-Session-Id", &first_session),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    let in_session = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let (status, _, body) = server.rpc(
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
        &in_session,
    );
    assert_eq!(status, 200, "{body}");
    assert_duplicate(&messages(&body)[0], 7);
    let (status, _, body) = first.join().unwrap();
    assert_eq!(status, 200);
    let answer = messages(&body).into_iter().find(|m| m["id"] == 7).unwrap();
    assert_timed_out(&answer, 7);

    // Legacy SSE, on a fresh server (the first remembers the timeout).
    let server = Server::spawn(
        sb.cmd(),
        &project,
        &["--eval-timeout", "3", "--eval-memory", "8192"],
    );
    let (mut stream, endpoint) = sse_session(&server, &[]);
    let (status, _) = server.post_message(&endpoint, &slow_call(8), &[]);
    assert_eq!(status, 202);
    let (status, _) = server.post_message(
        &endpoint,
        &json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}),
        &[],
    );
    assert_eq!(status, 202);
    assert_duplicate(&stream.message(), 8);
    assert_timed_out(&stream.message(), 8);
}

#[test]
fn stdio_answers_every_bad_line_and_keeps_serving() {
    let sb = Sandbox::new();
    let mut s = Session::start(&sb, &["--project", path_str(&fixture())], &[]);
    s.initialize();
    let long_id = "i".repeat(300);
    let cases: Vec<(String, Value, i64, &str)> = vec![
        (
            "this is not json".into(),
            Value::Null,
            -32700,
            "parse-error",
        ),
        ("[]".into(), Value::Null, -32600, "invalid-message"),
        (
            r#"{"jsonrpc":"2.0","id":5}"#.into(),
            json!(5),
            -32600,
            "invalid-message",
        ),
        (
            r#"{"jsonrpc":"2.0","id":"p","method":"tools/call","params":5}"#.into(),
            json!("p"),
            -32602,
            "invalid-request-params",
        ),
        (
            r#"{"jsonrpc":"2.0","id":"q","method":"tools/call","params":{"arguments":{}}}"#.into(),
            json!("q"),
            -32602,
            "invalid-request-params",
        ),
        (
            r#"{"jsonrpc":"2.0","id":"u","method":"tools/frobnicate"}"#.into(),
            json!("u"),
            -32601,
            "method-not-found",
        ),
        (
            format!(r#"{{"jsonrpc":"2.0","id":"{long_id}","method":"ping"}}"#),
            Value::Null,
            -32600,
            "request-id-too-long",
        ),
    ];
    for (line, id, code, kebab) in &cases {
        s.send_raw(line);
        let answer = s.next_message();
        assert_eq!(&answer["id"], id, "{line}: {answer}");
        assert_eq!(answer["error"]["code"], *code, "{line}: {answer}");
        assert_eq!(answer["error"]["data"]["code"], *kebab, "{line}: {answer}");
    }
    // A 5 MiB line is discarded as it streams in, and answered.
    let mut big = br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 5 << 20));
    big.extend_from_slice(b"\"}}\n");
    let writer = s.send_in_background(big);
    let answer = s.next_message();
    writer.join().unwrap();
    assert_eq!(answer["id"], Value::Null, "{answer}");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer["error"]["data"]["code"], "message-too-long");
    // A malformed notification is dropped without an answer; the next
    // request is answered normally.
    s.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":5}"#);
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["entry"]["id"], "deploy-staging",
        "{r}"
    );
    let (_, lines) = s.finish();
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("only JSON-RPC on stdout");
        assert_eq!(v["jsonrpc"], "2.0");
    }
    assert_eq!(
        lines.len(),
        cases.len() + 3,
        "one answer per line: {lines:#?}"
    );
}

#[test]
fn legacy_sse_posts_follow_the_same_rules() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let (mut stream, endpoint) = sse_session(&server, &[]);
    // Answerable in JSON-RPC: 202, the error on the stream.
    for (msg, id, code) in [
        (
            json!({"jsonrpc": "2.0", "id": "p", "method": "tools/call", "params": 5}),
            "p",
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": "u", "method": "tools/frobnicate"}),
            "u",
            -32601,
        ),
        (
            json!({"jsonrpc": "1.0", "id": "v", "method": "ping"}),
            "v",
            -32600,
        ),
    ] {
        let (status, _) = server.post_message(&endpoint, &msg, &[]);
        assert_eq!(status, 202, "{msg}");
        let answer = stream.message();
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    // Not answerable (no usable id): refused in the POST's own response.
    for (body, status, code) in [
        ("", 400, "parse-error"),
        ("{not json", 400, "parse-error"),
        ("[]", 400, "invalid-message"),
    ] {
        let (got, head, text) = server.request(
            "POST",
            &endpoint,
            &[("Content-Type", "application/json")],
            body,
        );
        assert_refusal(got, &head, &text, status, code);
    }
    let long_id = json!({"jsonrpc": "2.0", "id": "i".repeat(300), "method": "ping"});
    let (got, head, text) = server.request(
        "POST",
        &endpoint,
        &[("Content-Type", "application/json")],
        &long_id.to_string(),
    );
    assert_refusal(got, &head, &text, 400, "request-id-too-long");
}

#[test]
fn unknown_tools_and_huge_inputs_get_small_clear_errors() {
    let sb = Sandbox::new();
    let mut s = Session::start(&sb, &["--project", path_str(&fixture())], &[]);
    s.initialize();
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_qa_shw", "arguments": {}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("`ontoref_qa_shw`"), "{message}");
    assert!(
        message.contains("did you mean `ontoref_qa_show`"),
        "{message}"
    );
    assert_eq!(r["error"]["data"]["name"], "ontoref_qa_shw");
    assert!(
        r["error"]["data"]["closest"]
            .as_array()
            .unwrap()
            .contains(&json!("ontoref_qa_show")),
        "{r}"
    );

    let huge = "x".repeat(1 << 20);
    let small = |line: &str| {
        assert!(line.len() < 32 * 1024, "a {} byte answer", line.len());
        serde_json::from_str::<Value>(line).unwrap()
    };
    // A 1 MiB tool name.
    s.send_raw(
        &json!({"jsonrpc": "2.0", "id": 90, "method": "tools/call",
                "params": {"name": huge, "arguments": {}}})
        .to_string(),
    );
    let r = small(&s.next_line());
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no tool named")
    );
    assert!(
        r["error"]["data"]["name"]
            .as_str()
            .unwrap()
            .ends_with("(1048576 bytes)"),
        "{r}"
    );
    // A 1 MiB id, cursor, unknown field and wrongly typed value.
    for (id, tool, arguments, code) in [
        (91, "ontoref_qa_show", json!({"id": huge}), "qa-not-found"),
        (
            92,
            "ontoref_qa_list",
            json!({"cursor": huge}),
            "invalid-cursor",
        ),
        (
            93,
            "ontoref_qa_show",
            json!({"id": "x", huge.clone(): 1}),
            "invalid-params",
        ),
        (
            94,
            "ontoref_qa_search",
            json!({"query": "x", "limit": huge}),
            "invalid-params",
        ),
    ] {
        s.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": tool, "arguments": arguments}})
            .to_string(),
        );
        let r = small(&s.next_line());
        assert_eq!(r["id"], id, "{r}");
        assert_eq!(r["result"]["isError"], true, "{r}");
        let e = &r["result"]["structuredContent"]["error"];
        assert_eq!(e["code"], code, "{r}");
        assert!(e["message"].as_str().unwrap().contains("bytes)"), "{e}");
    }

    // A 1 MiB target to the vault.
    let demo = Demo::new();
    let mut v = crate::vault::start(&demo, "agent-bot", "warn");
    v.initialize();
    v.send_raw(
        &json!({"jsonrpc": "2.0", "id": 95, "method": "tools/call",
                "params": {"name": "ontoref_credential_fetch", "arguments": {"target": huge}}})
        .to_string(),
    );
    let r = small(&v.next_line());
    let e = &r["result"]["structuredContent"]["error"];
    assert_eq!(e["code"], "target-not-in-scope", "{r}");
    assert!(
        e["message"].as_str().unwrap().contains("(1048576 bytes)"),
        "{e}"
    );
}

/// Lets the demo project reveal credentials (its agent role is 'RO).
fn allow_reveal(demo: &Demo) {
    let path = demo.project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("allow_reveal = false"), "{text}");
    std::fs::write(
        &path,
        text.replace("allow_reveal = false", "allow_reveal = true"),
    )
    .unwrap();
}

/// The docker auth of the planted credential, as config.json holds it.
fn planted_auth() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("robot-agent:{PLANTED}"))
}

/// A revealed credential as the client got it: the password, and the text
/// content agrees with the structured content.
fn assert_revealed(result: &Value) {
    let structured = &result["structuredContent"];
    assert_eq!(structured["password"], PLANTED, "{result}");
    assert_eq!(structured["username"], "robot-agent", "{result}");
    let text = result["content"][0]["text"].as_str().expect("text content");
    assert_eq!(
        &serde_json::from_str::<Value>(text).expect("the text is JSON"),
        structured
    );
}

/// Logs of a whole session: they were written, carry the placeholders
/// (rmcp logged the results), and never the secret.
fn assert_no_secret_in(logs: &str, level: &str) {
    assert!(
        logs.contains("ontoref_credential_fetch") && logs.len() > 2_000,
        "{level} logs were written: {logs}"
    );
    assert!(
        !logs.contains(PLANTED_MARK),
        "the password is in the {level} logs"
    );
    assert!(
        !logs.contains("robot-agent"),
        "the username is in the {level} logs"
    );
    assert!(
        !logs.contains(&planted_auth()),
        "the docker auth is in the {level} logs"
    );
    assert!(
        logs.contains("ontoref-secret:"),
        "rmcp logged the result, with placeholders ({level})"
    );
}

#[test]
fn a_reveal_reaches_the_client_and_no_log_over_stdio() {
    for level in ["debug", "trace"] {
        let demo = Demo::new();
        demo.plant();
        allow_reveal(&demo);
        let mut s = crate::vault::start(&demo, "agent-bot", level);
        s.initialize();
        let r = s.request(
            "tools/call",
            json!({"name": "ontoref_credential_fetch",
                   "arguments": {"target": TARGET, "reveal": true}}),
        );
        assert_revealed(&r["result"]);
        let (logs, _) = s.finish();
        assert_no_secret_in(&logs, level);
    }
}

#[test]
fn a_reveal_reaches_the_client_and_no_log_over_http() {
    for level in ["debug", "trace"] {
        let demo = Demo::new();
        demo.plant();
        allow_reveal(&demo);
        let tokens = token_file(&demo.run.join(".."));
        let mut server = Server::spawn(
            demo.cmd(),
            &demo.project,
            &["--token-file", path_str(&tokens), "--log-level", level],
        );
        let auth = format!("Bearer {AGENT_TOKEN}");
        let fetch = json!({"name": "ontoref_credential_fetch",
                           "arguments": {"target": TARGET, "reveal": true}});

        // Streamable HTTP.
        let (status, head, _) = server.rpc(&initialize(), &[("Authorization", &auth)]);
        assert_eq!(status, 200);
        let session = header(&head, "mcp-session-id").unwrap().to_owned();
        let (status, _, body) = server.rpc(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": fetch}),
            &[
                ("Authorization", &auth),
                ("Mcp-Session-Id", &session),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
        );
        assert_eq!(status, 200, "{body}");
        let answer = messages(&body).into_iter().find(|m| m["id"] == 2).unwrap();
        assert_revealed(&answer["result"]);

        // Legacy SSE.
        let (mut stream, endpoint) = sse_session(&server, &[("Authorization", &auth)]);
        let (status, _) = server.post_message(
            &endpoint,
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": fetch}),
            &[("Authorization", &auth)],
        );
        assert_eq!(status, 202);
        assert_revealed(&stream.message()["result"]);

        assert!(crate::util::terminate(&mut server.child).success());
        let deadline = Instant::now() + WITHIN;
        while !server.stderr.lock().unwrap().contains("shutting down") && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        let logs = server.stderr.lock().unwrap().clone();
        assert_no_secret_in(&logs, level);
    }
}
