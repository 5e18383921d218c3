//! Helpers: a sandbox per test (private working directory and cache), the
//! fixture project, CLI runs, and a raw JSON-RPC stdio session.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// The binary under test: the one cargo built, or `ONTOREF_TEST_BIN` (to
/// watch a new test fail against an older build).
pub fn bin() -> String {
    std::env::var("ONTOREF_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ontoref").to_owned())
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture project (5 Q&A entries).
pub fn fixture() -> PathBuf {
    repo().join("tests/fixtures/project")
}

/// A private working directory and cache directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn cwd(&self) -> PathBuf {
        let cwd = self.dir.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("cwd");
        cwd
    }

    /// `ontoref` with a clean environment: no actor, no project, no log filter.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.cwd())
            .env("ONTOREF_CACHE_DIR", self.cache())
            .env_remove("ONTOREF_ACTOR")
            .env_remove("ONTOREF_PROJECT_ROOT")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `ontoref ARGS` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run ontoref")
    }

    /// Runs `ontoref --project <fixture> ARGS`.
    pub fn on_fixture(&self, args: &[&str]) -> Output {
        self.cmd()
            .arg("--project")
            .arg(fixture())
            .args(args)
            .output()
            .expect("run ontoref")
    }

    /// Writes a project with the given files and returns its root.
    pub fn project(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = self.dir.path().join(name);
        std::fs::create_dir_all(root.join(".ontoref")).expect("project");
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(path, text).expect("write");
        }
        root
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses stdout as one JSON value.
pub fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

/// Runs a shell command line under a pseudo-terminal (util-linux `script`),
/// so the program sees a terminal on stdin, stdout and stderr.
pub fn run_in_tty(sandbox: &Sandbox, line: &str, env: &[(&str, &str)]) -> String {
    let mut c = Command::new("script");
    c.args(["-qec", line, "/dev/null"])
        .current_dir(sandbox.cwd())
        .env("ONTOREF_CACHE_DIR", sandbox.cache())
        .env_remove("ONTOREF_ACTOR")
        .env_remove("ONTOREF_PROJECT_ROOT")
        .env("TERM", "dumb")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script(1) from util-linux");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

/// A raw MCP session over the child's stdio: JSON-RPC lines in and out.
pub struct Session {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<std::thread::JoinHandle<String>>,
    lines: Receiver<String>,
    pub stdout_lines: Vec<String>,
    next_id: u64,
}

impl Session {
    pub fn start(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Session {
        Session::start_with(sandbox.cmd(), args, env)
    }

    /// `serve ARGS` from a prepared command (its environment kept).
    pub fn start_with(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> Session {
        cmd.arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ontoref serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Drain stderr as it comes: a full pipe would block the server.
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            text
        });
        let stdin = child.stdin.take();
        Session {
            child,
            stdin,
            stderr: Some(stderr),
            lines: rx,
            stdout_lines: Vec::new(),
            next_id: 1,
        }
    }

    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_raw(&msg.to_string());
    }

    /// Sends a request and waits for the response with its id.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&msg.to_string());
        self.response(id)
    }

    /// Waits for the responses to all of `ids`, whatever their order;
    /// returns them in the order of `ids`.
    pub fn responses(&mut self, ids: &[u64]) -> Vec<Value> {
        let mut got: Vec<Option<Value>> = vec![None; ids.len()];
        while got.iter().any(Option::is_none) {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("a response within 30 s");
            self.stdout_lines.push(line.clone());
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("non-JSON line on stdout ({e}): {line}"));
            if let Some(i) = ids.iter().position(|id| v.get("id") == Some(&json!(id))) {
                got[i] = Some(v);
            }
        }
        got.into_iter().flatten().collect()
    }

    pub fn response(&mut self, id: u64) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("a response within 30 s");
            self.stdout_lines.push(line.clone());
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("non-JSON line on stdout ({e}): {line}"));
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
        }
    }

    /// The next message on stdout, whatever its id.
    pub fn next_message(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a message within 30 s");
        self.stdout_lines.push(line.clone());
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("non-JSON line on stdout ({e}): {line}"))
    }

    /// The raw next line on stdout.
    pub fn next_line(&mut self) -> String {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a line within 30 s");
        self.stdout_lines.push(line.clone());
        line
    }

    /// Writes `bytes` to the server's stdin from another thread, so a server
    /// that stops reading fails the test (its next read times out) instead
    /// of hanging it on a full pipe.
    pub fn send_in_background(&mut self, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
        use std::os::fd::AsFd;
        let stdin = self.stdin.as_ref().expect("stdin open");
        let fd = stdin.as_fd().try_clone_to_owned().expect("dup stdin");
        let mut pipe = std::fs::File::from(fd);
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    }

    /// `initialize` with a 2025-11-25 client, then `notifications/initialized`.
    pub fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "ontoref-tests", "version": "0"}
            }),
        );
        self.notify("notifications/initialized", json!({}));
        r
    }

    /// Closes stdin, waits for exit, and returns stderr plus the remaining
    /// stdout lines.
    pub fn finish(mut self) -> (String, Vec<String>) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.stdout_lines.push(line);
        }
        (stderr, std::mem::take(&mut self.stdout_lines))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM to `child` and waits up to 20 s for it to exit.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every tool name in the catalog, as `ontoref tools` prints it.
pub fn catalog_names() -> Vec<String> {
    let out = Sandbox::new().run(&["tools", "--fmt", "json"]);
    json_out(&out)["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// `_meta` of a stateless 2026-07-28 request.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "ontoref-tests", "version": "0"}
    })
}

/// Whether the tests run as root (CI does): some tests make files of
/// another uid.
pub fn is_root() -> bool {
    euid() == 0
}

/// This process's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Compares `actual` with the snapshot `tests/snapshots/<name>.json`, `what`
/// naming it in the failure. `ONTOREF_UPDATE_SNAPSHOTS=1` rewrites it; a
/// mismatch writes `<name>.actual.json` beside it for a diff; a missing
/// snapshot fails under CI and is created otherwise.
pub fn assert_snapshot(name: &str, what: &str, actual: &Value) {
    let path = repo().join(format!("tests/snapshots/{name}.json"));
    let actual_path = path.with_file_name(format!("{name}.actual.json"));
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    let update = std::env::var_os("ONTOREF_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(_) if update => std::fs::write(&path, pretty).unwrap(),
        Ok(text) => {
            let expected: Value = serde_json::from_str(&text).unwrap();
            if expected != *actual {
                std::fs::write(&actual_path, pretty).unwrap();
                panic!(
                    "{what} changed; compare {} with {}. If the change is deliberate, rerun with ONTOREF_UPDATE_SNAPSHOTS=1",
                    path.display(),
                    actual_path.display()
                );
            }
            let _ = std::fs::remove_file(&actual_path);
        }
        Err(_) if std::env::var_os("CI").is_some() && !update => {
            panic!(
                "{} is missing; create it with ONTOREF_UPDATE_SNAPSHOTS=1 and commit it",
                path.display()
            )
        }
        Err(_) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, pretty).unwrap();
        }
    }
}
