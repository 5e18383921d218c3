//! The trust boundary through the built binary: project files are untrusted
//! input. Each test reproduces a failure found by a hostile-input review:
//! a file importing the master key or `/etc/passwd`, a link out of the
//! project, a file nested 60,000 deep, runaway and allocating evaluations
//! (four at once, with the server's memory read from `/proc`), `/dev/zero`,
//! FIFOs and sparse giants, planted directories in the shared temporary
//! directory and a cache directory of another user, and the smaller flag and
//! file-handling defects.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Sandbox, Session, json_out, path_str, stderr, stdout};

/// A generated age identity file's text and its secret key line.
fn age_key() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let secret = id.to_string().expose_secret().to_owned();
    (
        format!("# public key: {}\n{secret}\n", id.to_public()),
        secret,
    )
}

/// A Q&A store whose one entry's answer is `answer` (Nickel source).
fn qa_with_answer(answer: &str) -> String {
    format!(
        "let s = import \"schemas/qa.ncl\" in\n{{ entries = [ {{ id = \"e\", question = \"q\", \
         answer = {answer}, actor = \"a\", created_at = \"2026-01-01\", tags = [], related = [], \
         verified = true }} ] }} | s.QaStore\n"
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The structured content of a `tools/call` response.
fn content(response: &Value) -> &Value {
    &response["result"]["structuredContent"]
}

/// A sandbox with a config home holding `keys/k.key` (a real age key).
struct Hostile {
    sb: Sandbox,
    home: PathBuf,
    key_path: PathBuf,
    secret: String,
}

impl Hostile {
    fn new() -> Hostile {
        let sb = Sandbox::new();
        let home = sb.dir.path().join("home");
        std::fs::create_dir_all(home.join("keys")).unwrap();
        let (text, secret) = age_key();
        let key_path = home.join("keys/k.key");
        std::fs::write(&key_path, text).unwrap();
        Hostile {
            sb,
            home,
            key_path,
            secret,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = self.sb.cmd();
        c.env("ONTOREF_CONFIG_HOME", &self.home);
        c
    }

    fn project(&self, files: &[(&str, &str)]) -> PathBuf {
        self.sb.project("proj", files)
    }
}

/// Every byte a process wrote, as text.
fn all_output(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn a_project_file_cannot_import_the_master_key_over_cli_stdio_or_http() {
    let h = Hostile::new();
    let answer = format!("import \"{}\" as 'Text", path_str(&h.key_path));
    let root = h.project(&[("reflection/qa.ncl", &qa_with_answer(&answer))]);
    // The key's distinctive part: long enough never to occur by chance.
    let needle = &h.secret[20..60];

    // CLI.
    let out = h
        .cmd()
        .arg("--project")
        .arg(&root)
        .args(["qa", "show", "e", "--fmt", "json"])
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(!text.contains(needle), "the key leaked: {text}");
    let v = json_out(&out);
    assert_eq!(code(&v), "ncl-import-denied", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("reflection/qa.ncl:2"), "{message}");
    assert!(message.contains("keys"), "{message}");

    // stdio, at trace level so that every log line is searched too.
    let mut s = Session::start(
        &h.sb,
        &["--project", path_str(&root), "--log-level", "trace"],
        &[("ONTOREF_CONFIG_HOME", path_str(&h.home))],
    );
    s.initialize();
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "e"}}),
    );
    assert_eq!(code(content(&r)), "ncl-import-denied", "{r}");
    let search = s.request(
        "tools/call",
        json!({"name": "ontoref_search", "arguments": {"query": "q"}}),
    );
    let (log, lines) = s.finish();
    assert!(!log.contains(needle), "the key reached the log");
    assert!(!lines.concat().contains(needle), "the key reached stdout");
    assert!(!search.to_string().contains(needle));

    // Streamable HTTP without tokens (read-only tools only, which used to be
    // called safe).
    let mut child = h
        .cmd()
        .args(["serve", "--http", "127.0.0.1:0", "--log-level", "debug"])
        .arg("--project")
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (port, log) = http_port(&mut child);
    let init = http_post(
        port,
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
    );
    let session = init
        .0
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("mcp-session-id: ")
                .map(|v| v.trim().to_owned())
        })
        .expect("a session id");
    http_post(
        port,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    let (_, body) = http_post(
        port,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "ontoref_qa_show", "arguments": {"id": "e"}}}),
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = log.join().unwrap_or_default();
    assert!(body.contains("ncl-import-denied"), "{body}");
    assert!(!body.contains(needle), "the key went out over HTTP");
    assert!(
        !log.contains(needle),
        "the key reached the HTTP server's log"
    );
}

/// Reads the port a `serve --http 127.0.0.1:0` announces, then keeps
/// collecting its stderr.
fn http_port(child: &mut std::process::Child) -> (u16, std::thread::JoinHandle<String>) {
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        let mut sent = false;
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
            if !sent
                && let Some(rest) = all.split("http://127.0.0.1:").nth(1)
                && let Some(port) = rest.split('/').next().and_then(|p| p.parse::<u16>().ok())
            {
                let _ = tx.send(port);
                sent = true;
            }
        }
        all
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server announces its port");
    (port, handle)
}

/// POSTs one JSON-RPC message to `/mcp`; returns (head, body).
fn http_post(port: u16, session: Option<&str>, msg: &Value) -> (String, String) {
    let body = msg.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if let Some(id) = session {
        req.push_str(&format!(
            "Mcp-Session-Id: {id}\r\nMcp-Protocol-Version: 2025-11-25\r\n"
        ));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

#[test]
fn files_outside_the_project_leak_nothing_through_diagnostics_or_links() {
    let h = Hostile::new();
    let outside = h.sb.dir.path().join("outside.txt");
    std::fs::write(&outside, "OUTSIDE-FIRST-LINE-8c1d\nmore\n").unwrap();
    let root = h.project(&[(
        "reflection/qa.ncl",
        &qa_with_answer(&format!("import \"{}\"", path_str(&outside))),
    )]);
    let run = |args: &[&str]| {
        h.cmd()
            .arg("--project")
            .arg(&root)
            .args(args)
            .args(["--fmt", "json"])
            .output()
            .unwrap()
    };
    // Imported as Nickel, the file would fail to parse and Nickel would
    // quote its first line in the diagnostic.
    let out = run(&["qa", "list"]);
    assert!(
        !all_output(&out).contains("OUTSIDE-FIRST-LINE"),
        "{}",
        all_output(&out)
    );
    assert_eq!(code(&json_out(&out)), "ncl-import-denied");
    // /etc/passwd by absolute path, and through `..`.
    for path in ["/etc/passwd", "../../../../../../../../etc/passwd"] {
        std::fs::write(
            root.join("reflection/qa.ncl"),
            qa_with_answer(&format!("import \"{path}\" as 'Text")),
        )
        .unwrap();
        let out = run(&["qa", "list"]);
        assert!(!all_output(&out).contains("root:"), "{}", all_output(&out));
        assert_eq!(code(&json_out(&out)), "ncl-import-denied");
    }
    // An ADR that is a link to a foreign file is skipped, its content unseen.
    std::fs::create_dir_all(root.join("adrs")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("adrs/adr-001-linked.ncl")).unwrap();
    let out = run(&["adr", "list"]);
    let v = json_out(&out);
    assert!(!all_output(&out).contains("OUTSIDE-FIRST-LINE"), "{v}");
    assert_eq!(v["skipped"][0]["error"]["code"], "ncl-import-denied", "{v}");
    // A link inside the project to a file inside it is fine.
    std::fs::write(root.join("reflection/real.ncl"), qa_with_answer("\"ok\"")).unwrap();
    std::fs::remove_file(root.join("reflection/qa.ncl")).unwrap();
    std::os::unix::fs::symlink(
        root.join("reflection/real.ncl"),
        root.join("reflection/qa.ncl"),
    )
    .unwrap();
    let v = json_out(&run(&["qa", "show", "e"]));
    assert_eq!(v["entry"]["answer"], "ok", "{v}");
}

#[test]
fn import_path_directories_are_admitted_only_when_named() {
    let h = Hostile::new();
    let lib = h.sb.dir.path().join("shared-lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("answer.ncl"), "\"from the shared lib\"").unwrap();
    let root = h.project(&[(
        "reflection/qa.ncl",
        &qa_with_answer("import \"answer.ncl\""),
    )]);
    let show = |cmd: &mut Command| {
        json_out(
            &cmd.arg("--project")
                .arg(&root)
                .args(["qa", "show", "e", "--fmt", "json", "--no-disk-cache"])
                .output()
                .unwrap(),
        )
    };
    // Not named: Nickel cannot even find it.
    assert_eq!(code(&show(&mut h.cmd())), "ncl-eval-failed");
    let v = show(h.cmd().arg("--import-path").arg(&lib));
    assert_eq!(v["entry"]["answer"], "from the shared lib", "{v}");
    let v = show(h.cmd().env("ONTOREF_IMPORT_PATH", &lib));
    assert_eq!(v["entry"]["answer"], "from the shared lib", "{v}");
    // Naming the config home does not open its keys.
    std::fs::write(
        root.join("reflection/qa.ncl"),
        qa_with_answer("import \"keys/k.key\" as 'Text"),
    )
    .unwrap();
    let v = show(h.cmd().arg("--import-path").arg(&h.home));
    assert_eq!(code(&v), "ncl-import-denied", "{v}");
    assert!(!v.to_string().contains(&h.secret[20..60]));
    let out = h
        .cmd()
        .args(["--import-path", "/nonexistent-dir", "qa", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
}

/// The resident and peak memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The processes whose parent is `pid`, with their resident memory (KiB).
fn children(pid: u32) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // `pid (comm) state ppid …`: comm may hold spaces, so split after it.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push((child, memory_kib(child).0));
        }
    }
    out
}

#[test]
fn deep_nesting_is_refused_and_a_stack_overflow_stays_in_its_worker() {
    let sb = Sandbox::new();
    let nested = format!("{}{}", "[".repeat(60_000), "]".repeat(60_000));
    let root = sb.project(
        "deep",
        &[
            ("reflection/qa.ncl", &nested),
            // Field accesses are not brackets: this one overflows Nickel's
            // stack, inside the worker.
            (
                "reflection/backlog.ncl",
                &format!("{{ items = [], x = a{} }}", ".b".repeat(200_000)),
            ),
            (
                ".ontology/core.ncl",
                "{ nodes = [ { id = \"n\", name = \"N\", level = 'Axiom, pole = 'Yang, description = \"d\" } ], edges = [] }",
            ),
        ],
    );
    let mut s = Session::start(&sb, &["--project", path_str(&root)], &[]);
    s.initialize();
    let call = |s: &mut Session, tool: &str| {
        s.request("tools/call", json!({"name": tool, "arguments": {}}))
    };
    let r = call(&mut s, "ontoref_qa_list");
    let err = &content(&r)["error"];
    assert_eq!(err["code"], "ncl-eval-failed", "{r}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("line 1: brackets nest deeper than"),
        "{r}"
    );
    let r = call(&mut s, "ontoref_backlog_list");
    let err = &content(&r)["error"];
    assert_eq!(err["code"], "ncl-eval-failed", "{r}");
    assert!(err["message"].as_str().unwrap().contains("stack"), "{r}");
    // Same process, still serving.
    let r = call(&mut s, "ontoref_node_list");
    assert_eq!(content(&r)["nodes"][0]["id"], "n", "{r}");
    assert!(s.child.try_wait().unwrap().is_none(), "the server died");
}

#[test]
fn runaway_evaluations_are_killed_their_memory_returned_and_slots_freed() {
    let sb = Sandbox::new();
    // Each of these grows without end; four at once used to hold every
    // evaluation slot (and ~1 GB per 5 s each) until a restart.
    let runaway = "let rec f = fun x => [x, x, x, x] @ f (x + 1) in f 1";
    let root = sb.project(
        "runaway",
        &[
            ("reflection/qa.ncl", &format!("{{ entries = {runaway} }}")),
            (
                ".ontology/core.ncl",
                &format!("{{ nodes = {runaway}, edges = [] }}"),
            ),
            (
                "reflection/backlog.ncl",
                &format!("{{ items = {runaway} }}"),
            ),
            (
                ".ontology/state.ncl",
                &format!("{{ dimensions = {runaway} }}"),
            ),
        ],
    );
    let mut s = Session::start(
        &sb,
        &[
            "--project",
            path_str(&root),
            "--eval-timeout",
            "3",
            "--eval-memory",
            "8192",
            "--no-disk-cache",
        ],
        &[],
    );
    s.initialize();
    let pid = s.child.id();
    // A healthy evaluation first (the base modes), so the baseline includes
    // a warm worker pool.
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_mode_list", "arguments": {}}),
    );
    assert!(
        content(&r)["modes"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{r}"
    );
    let (rss_before, _) = memory_kib(pid);

    let started = Instant::now();
    let tools = [
        "ontoref_qa_list",
        "ontoref_node_list",
        "ontoref_backlog_list",
        "ontoref_state",
    ];
    for (i, tool) in tools.iter().enumerate() {
        let msg = json!({"jsonrpc": "2.0", "id": 100 + i, "method": "tools/call",
                         "params": {"name": tool, "arguments": {}}});
        s.send_raw(&msg.to_string());
    }
    for r in s.responses(&[100, 101, 102, 103]) {
        assert_eq!(content(&r)["error"]["code"], "ncl-eval-timeout", "{r}");
    }
    // All four ran at once: about one timeout, not four in a row.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // The killed workers are gone, and no worker holds a runaway's memory.
    std::thread::sleep(Duration::from_millis(300));
    let kids = children(pid);
    assert!(kids.iter().all(|(_, rss)| *rss < 200 * 1024), "{kids:?}");
    let (rss_after, _) = memory_kib(pid);
    assert!(
        rss_after < rss_before + 32 * 1024,
        "the server grew from {rss_before} KiB to {rss_after} KiB"
    );
    // Every slot is free: a healthy file evaluates at once.
    std::fs::write(root.join(".ontology/gate.ncl"), "{ membranes = [] }").unwrap();
    let t = Instant::now();
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_mode_list", "arguments": {}}),
    );
    assert!(content(&r)["modes"].is_array(), "{r}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(s.child.try_wait().unwrap().is_none());
}

#[test]
fn an_allocation_storm_stops_at_the_memory_limit() {
    let sb = Sandbox::new();
    let root = sb.project(
        "storm",
        &[(
            "reflection/qa.ncl",
            "let rec f = fun x => [x, x, x, x, x, x, x, x] @ f (x + 1) in { entries = f 1 }",
        )],
    );
    let out = sb
        .cmd()
        .args([
            "--project",
            path_str(&root),
            "--eval-memory",
            "128",
            "--eval-timeout",
            "60",
        ])
        .args(["qa", "list", "--fmt", "json"])
        .output()
        .unwrap();
    let v = json_out(&out);
    assert_eq!(code(&v), "ncl-eval-out-of-memory", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("128 MiB"),
        "{v}"
    );
    let out = sb.run(&["--eval-memory", "1", "qa", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
}

#[test]
fn dev_zero_fifos_and_sparse_giants_are_named_errors_in_bounded_time_and_memory() {
    let sb = Sandbox::new();
    let root = sb.project("odd", &[("reflection/backlog.ncl", "{ items = [] }")]);
    let qa = root.join("reflection/qa.ncl");
    let mut s = Session::start(&sb, &["--project", path_str(&root)], &[]);
    s.initialize();
    let pid = s.child.id();
    let call = |s: &mut Session| {
        let t = Instant::now();
        let r = s.request(
            "tools/call",
            json!({"name": "ontoref_qa_list", "arguments": {}}),
        );
        (content(&r)["error"].clone(), t.elapsed())
    };

    // A link to /dev/zero leads out of the project; with /dev named as an
    // import directory it is admitted, and then refused as a device.
    std::os::unix::fs::symlink("/dev/zero", &qa).unwrap();
    let (err, took) = call(&mut s);
    assert_eq!(err["code"], "ncl-import-denied", "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let t = Instant::now();
    let out = sb
        .cmd()
        .args(["--project", path_str(&root), "--import-path", "/dev"])
        .args(["qa", "list", "--fmt", "json"])
        .output()
        .unwrap();
    let v = json_out(&out);
    assert_eq!(code(&v), "ncl-not-regular-file", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("character device"), "{v}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    std::fs::remove_file(&qa).unwrap();
    let c = std::ffi::CString::new(qa.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (err, took) = call(&mut s);
    assert_eq!(err["code"], "ncl-not-regular-file", "{err}");
    assert!(err["message"].as_str().unwrap().contains("FIFO"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    std::fs::remove_file(&qa).unwrap();
    let sparse = std::fs::File::create(&qa).unwrap();
    sparse.set_len(2 << 30).unwrap();
    let (err, took) = call(&mut s);
    assert_eq!(err["code"], "ncl-file-too-large", "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An import of one of them is refused the same way.
    std::fs::remove_file(&qa).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("reflection/zero.txt")).unwrap();
    std::fs::write(&qa, qa_with_answer("import \"zero.txt\" as 'Text")).unwrap();
    let (err, took) = call(&mut s);
    assert!(
        err["code"].as_str().is_some_and(|c| c.starts_with("ncl-")),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Nothing was read whole: the server never held hundreds of MB.
    let (_, peak) = memory_kib(pid);
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_backlog_list", "arguments": {}}),
    );
    assert_eq!(content(&r)["total"], 0, "{r}");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_sops_file_that_is_a_fifo_or_a_sparse_giant_is_refused_not_read() {
    let d = crate::vault::Demo::new();
    let file = d
        .vault()
        .join("src-vault/registry/agent-readonly.sops.yaml");
    std::fs::remove_file(&file).unwrap();
    mkfifo(&file);
    let fetch = || {
        let t = Instant::now();
        let out = d.run(
            Some("agent-bot"),
            &["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"],
        );
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        json_out(&out)
    };
    let v = fetch();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("FIFO"),
        "{v}"
    );
    std::fs::remove_file(&file).unwrap();
    std::fs::File::create(&file)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let v = fetch();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("bytes"),
        "{v}"
    );
}

#[test]
fn cache_entries_that_are_fifos_or_devices_are_skipped_not_read() {
    let h = Hostile::new();
    let root = h.project(&[("reflection/qa.ncl", &qa_with_answer("\"honest\""))]);
    let ask = || {
        let t = Instant::now();
        let out = h
            .cmd()
            .arg("--project")
            .arg(&root)
            .args(["qa", "show", "e", "--fmt", "json"])
            .output()
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        json_out(&out)
    };
    assert_eq!(
        ask()["entry"]["answer"],
        "honest",
        "served despite the planted entries"
    );
    // Every cache entry written becomes a FIFO, then a link to /dev/zero.
    let entries: Vec<PathBuf> = walk_files(&h.sb.cache());
    assert!(!entries.is_empty(), "the first call wrote cache entries");
    for e in &entries {
        std::fs::remove_file(e).unwrap();
        mkfifo(e);
    }
    assert_eq!(
        ask()["entry"]["answer"],
        "honest",
        "served despite the planted entries"
    );
    for e in &entries {
        let _ = std::fs::remove_file(e);
        std::os::unix::fs::symlink("/dev/zero", e).unwrap();
    }
    assert_eq!(
        ask()["entry"]["answer"],
        "honest",
        "served despite the planted entries"
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn a_key_file_that_is_a_device_or_fifo_is_refused_not_read() {
    let h = Hostile::new();
    let root = h.project(&[(
        ".ontoref/project.ncl",
        "{ slug = \"p\", sops = { master_key_path = \"/dev/zero\" } }",
    )]);
    let t = Instant::now();
    let out = h
        .cmd()
        .arg("--project")
        .arg(&root)
        .args(["secrets", "status", "--fmt", "json"])
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    let v = json_out(&out);
    assert_eq!(v["master_key"]["readable"], false, "{v}");
    assert!(v.to_string().contains("character device"), "{v}");
}

#[test]
fn credential_dirs_live_in_a_private_dir_and_planted_ones_are_left_alone() {
    let d = crate::vault::Demo::new();
    let tmp = d.run.join("shared-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // A victim file, and a planted expired "credential directory" in the
    // shared temporary directory whose config.json links to it.
    let victim = d.run.join("victim.json");
    std::fs::write(&victim, "precious").unwrap();
    let planted = tmp.join("ontoref-cred-planted");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join(".ontoref-expires"), "1").unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("config.json")).unwrap();
    let fetch = || {
        let mut c = d.cmd();
        c.env_remove("ONTOREF_RUNTIME_DIR")
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", &tmp)
            .arg("--project")
            .arg(&d.project)
            .env("ONTOREF_ACTOR", "agent-bot")
            .args(["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"]);
        c.output().unwrap()
    };
    let out = fetch();
    let v = json_out(&out);
    let dir = PathBuf::from(v["docker_config_dir"].as_str().expect("a directory"));
    let private = dir.parent().unwrap();
    assert_eq!(private.parent().unwrap(), tmp, "{v}");
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(private), 0o700);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(planted.join("config.json").is_symlink());

    // A private directory someone else made first is refused by name.
    if crate::util::is_root() {
        let tmp2 = d.run.join("shared-tmp2");
        std::fs::create_dir_all(&tmp2).unwrap();
        let theirs = tmp2.join(format!("ontoref-{}", crate::util::euid()));
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
        let out = d
            .cmd()
            .env_remove("ONTOREF_RUNTIME_DIR")
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", &tmp2)
            .env("ONTOREF_ACTOR", "agent-bot")
            .arg("--project")
            .arg(&d.project)
            .args(["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"])
            .output()
            .unwrap();
        let text = all_output(&out);
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("uid 4242"), "{text}");
        assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
    }
}

#[test]
fn serve_sweeps_the_credential_dirs_a_killed_server_left() {
    let d = crate::vault::Demo::new();
    let mut s = Session::start_with(
        d.cmd(),
        &["--project", path_str(&d.project), "--credential-ttl", "1"],
        &[("ONTOREF_ACTOR", "agent-bot")],
    );
    s.initialize();
    let r = s.request(
        "tools/call",
        json!({"name": "ontoref_credential_fetch", "arguments": {"target": crate::vault::TARGET}}),
    );
    let dir = PathBuf::from(content(&r)["docker_config_dir"].as_str().expect("issued"));
    assert!(dir.join("config.json").is_file());
    let _ = s.child.kill();
    let _ = s.child.wait();
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(dir.exists(), "SIGKILL leaves the directory behind");
    // The next server sweeps it at start.
    let mut next = d.cmd();
    next.args(["--project", path_str(&d.project), "serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = next.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(child.stdin.take());
    let _ = child.wait();
    assert!(
        !dir.exists(),
        "the expired directory survived a server start"
    );
}

#[test]
fn a_cache_dir_of_another_user_is_never_used() {
    if !crate::util::is_root() {
        eprintln!("needs root to make a directory of another uid; CI runs as root");
        return;
    }
    let sb = Sandbox::new();
    let root = sb.project("p", &[("reflection/qa.ncl", &qa_with_answer("\"honest\""))]);
    // The attack the review found: another user pre-creates the fallback
    // cache directory and plants a schema that rewrites every answer.
    let theirs = sb.dir.path().join("their-cache");
    let hash = ontoref_tools::embedded::SCHEMAS.hash();
    let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let planted = theirs.join(format!("schemas-{name}"));
    std::fs::create_dir_all(planted.join("schemas")).unwrap();
    std::fs::write(planted.join(".ontoref-complete"), "x").unwrap();
    std::fs::write(
        planted.join("schemas/qa.ncl"),
        "{ QaStore = std.contract.from_predicate (fun x => true) | { entries | Array { answer | String = \"curl … | sudo sh\", .. } } }",
    )
    .unwrap();
    let chown = Command::new("chown")
        .args(["-R", "4242:4242"])
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(&theirs, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = sb
        .cmd()
        .env("ONTOREF_CACHE_DIR", &theirs)
        .arg("--project")
        .arg(&root)
        .args(["qa", "show", "e", "--fmt", "json"])
        .output()
        .unwrap();
    let v = json_out(&out);
    assert_eq!(v["entry"]["answer"], "honest", "{v}");
    assert!(
        stderr(&out).contains("not using the cache directory"),
        "{}",
        stderr(&out)
    );
    assert!(!theirs.join("docs").exists(), "ontoref wrote into it");
}

#[test]
fn a_damaged_template_copy_is_repaired_before_use() {
    let sb = Sandbox::new();
    let ask = || json_out(&sb.run(&["qa", "list", "--limit", "100", "--fmt", "json"]));
    let before = ask();
    assert!(before["total"].as_u64().is_some_and(|n| n > 0), "{before}");
    let copy = std::fs::read_dir(sb.cache())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("template-"))
        })
        .expect("the template's copy");
    std::fs::write(copy.join("reflection/qa.ncl"), "{ entries = [] }").unwrap();
    std::fs::write(copy.join("adrs/adr-999-planted.ncl"), "{}").unwrap();
    assert_eq!(ask(), before);
    assert!(!copy.join("adrs/adr-999-planted.ncl").exists());
}

#[test]
fn absurd_flag_values_are_usage_errors_not_panics() {
    let sb = Sandbox::new();
    for args in [
        &["--eval-timeout", "99999999999999999999", "qa", "list"][..],
        &["--eval-timeout", "0", "qa", "list"],
        &["--eval-memory", "0", "qa", "list"],
        &["--log-level", "verbose", "qa", "list"],
        &["--log-level", "ontoref=loud", "qa", "list"],
    ] {
        let out = sb.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
        assert!(stderr(&out).contains(args[0]), "{args:?}: {}", stderr(&out));
    }
    let out = sb.run(&["--log-level", "ontoref_tools=debug,warn", "qa", "list"]);
    assert!(out.status.success(), "{}", all_output(&out));
}

#[test]
fn a_bad_allowed_origin_or_host_is_a_usage_error() {
    let sb = Sandbox::new();
    for args in [
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--allowed-origin",
            "not a url",
        ][..],
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--allowed-host",
            "bad host/x",
        ],
    ] {
        let out = sb.cmd().args(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
        assert!(stderr(&out).contains(args[3]), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("serving MCP"), "{}", stderr(&out));
    }
}

#[test]
fn a_token_file_that_is_a_device_or_fifo_is_refused_not_read() {
    let sb = Sandbox::new();
    let fifo = sb.dir.path().join("tokens.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let big = sb.dir.path().join("tokens.big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    for (path, what) in [
        (Path::new("/dev/zero"), "character device"),
        (fifo.as_path(), "FIFO"),
        (big.as_path(), "token-file-unreadable"),
    ] {
        let t = Instant::now();
        let out = sb
            .cmd()
            .args(["serve", "--http", "127.0.0.1:0", "--token-file"])
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{path:?}: {:?}",
            t.elapsed()
        );
        assert!(!out.status.success(), "{path:?}");
        let err = stderr(&out);
        assert!(err.contains("token-file-unreadable"), "{path:?}: {err}");
        assert!(err.contains(what), "{path:?}: {err}");
        assert!(!err.contains("serving MCP"), "{err}");
    }
}

#[test]
fn graph_impact_range_errors_name_depth() {
    let sb = Sandbox::new();
    let out = sb.run(&["graph", "impact", "x", "--depth", "9", "--fmt", "json"]);
    let v = json_out(&out);
    assert_eq!(code(&v), "invalid-params", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("depth: 9"), "{message}");
    assert!(!message.contains("limit"), "{message}");
}

#[test]
fn a_registry_file_linked_outside_src_vault_is_refused() {
    let d = crate::vault::Demo::new();
    let file = d
        .vault()
        .join("src-vault/registry/agent-readonly.sops.yaml");
    let elsewhere = d.run.join("elsewhere.sops.yaml");
    std::fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let out = d.run(
        Some("agent-bot"),
        &["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"],
    );
    let v = json_out(&out);
    assert_eq!(code(&v), "credential-sops-missing", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("outside"),
        "{v}"
    );
}

#[test]
fn a_scope_that_leaves_its_contract_out_is_still_checked() {
    let d = crate::vault::Demo::new();
    let scope = d.vault().join("src-vault/scopes/agent.ncl");
    std::fs::write(
        &scope,
        "{ access = 'RO, bound_actor = [\"agent-bot\"], namespaces = [\"**\"], ops = [\"pull\", \"delete\"] }",
    )
    .unwrap();
    let out = d.run(
        Some("agent-bot"),
        &["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"],
    );
    let v = json_out(&out);
    assert_eq!(code(&v), "ncl-eval-failed", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agent.ncl"),
        "{v}"
    );
}

/// The vault's own files are evaluated in their own sandboxes: a scope may
/// import only from the vault's `src-vault/`, `config.ncl` only from the
/// config home outside `keys/`. Neither can read a key.
#[test]
fn vault_files_cannot_import_the_keys_either() {
    let d = crate::vault::Demo::new();
    let key = std::fs::read_to_string(d.home.join("keys/demo-agent.key")).unwrap();
    let secret = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    let fetch = || {
        d.run(
            Some("agent-bot"),
            &["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"],
        )
    };
    let scope = d.vault().join("src-vault/scopes/agent.ncl");
    let original = std::fs::read_to_string(&scope).unwrap();
    for path in ["../../../../keys/demo-agent.key", "/etc/passwd"] {
        std::fs::write(
            &scope,
            original.replace(
                "bound_actor = [\"agent-bot\"]",
                &format!("bound_actor = [\"agent-bot\", import \"{path}\" as 'Text]"),
            ),
        )
        .unwrap();
        let out = fetch();
        let all = all_output(&out);
        assert!(!all.contains(&secret[..30]), "{all}");
        assert!(!all.contains("root:x:0"), "{all}");
        let v = json_out(&out);
        assert_eq!(code(&v), "ncl-import-denied", "{path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("agent.ncl"),
            "{v}"
        );
    }
    std::fs::write(&scope, &original).unwrap();
    assert!(fetch().status.success());

    // config.ncl in the config home: may not read keys/ (its own sibling).
    let project_ncl = d.project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&project_ncl).unwrap();
    // Make the gate read the config home's config.ncl for the master key.
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("master_key_path"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&project_ncl, without).unwrap();
    std::fs::write(
        d.home.join("config.ncl"),
        "{ vault = { master_key_path = \"keys/demo-agent.key\", note = import \"keys/demo-agent.key\" as 'Text } }",
    )
    .unwrap();
    for args in [
        &["secrets", "fetch", crate::vault::TARGET, "--fmt", "json"][..],
        &["secrets", "status", "--fmt", "json"],
    ] {
        let out = d.run(Some("agent-bot"), args);
        let all = all_output(&out);
        assert!(!all.contains(&secret[..30]), "{all}");
        assert!(all.contains("ncl-import-denied"), "{args:?}: {all}");
        assert!(all.contains("config.ncl"), "{args:?}: {all}");
    }
}

#[test]
fn a_failed_vault_demo_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let home = sb.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // `vaults` is a file: building the vault fails after the project and
    // keys were generated.
    std::fs::write(home.join("vaults"), "not a directory").unwrap();
    let dir = sb.dir.path().join("demo");
    let out = sb
        .cmd()
        .env("ONTOREF_CONFIG_HOME", &home)
        .args(["setup", "vault-demo", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", all_output(&out));
    assert!(!dir.exists(), "a half-written project was left");
    let keys: Vec<_> = std::fs::read_dir(home.join("keys"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(keys.is_empty(), "{keys:?}");
    let leftovers: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ontoref-demo"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_unusable_cache_dir_is_not_fatal() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for extra in [&[][..], &["--no-disk-cache"]] {
        let out = sb
            .cmd()
            .env("ONTOREF_CACHE_DIR", file.join("cache"))
            .env("TMPDIR", file.join("tmp"))
            .arg("--project")
            .arg(crate::util::fixture())
            .args(extra)
            .args(["qa", "list", "--fmt", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra:?}: {}", all_output(&out));
        assert!(json_out(&out)["total"].as_u64().is_some_and(|n| n > 0));
    }
}
