//! A benchmark's MCP client over a server's stdin/stdout: spawn and
//! initialize, one request at a time timed from writing it to reading its
//! answer, and the resident memory of the server with its children. Shared
//! by the `peers` and `scaling` benches.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A spawned server and its pipes.
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
    line: Vec<u8>,
}

impl Client {
    /// Spawns `command` and initializes the session.
    pub fn spawn(mut command: Command) -> Client {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
        let mut client = Client {
            child,
            stdin,
            stdout,
            id: 0,
            line: Vec::new(),
        };
        let (r, _) = client.request(
            "initialize",
            &json!({"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "ontoref-bench", "version": "0"}}),
        );
        assert!(r.get("result").is_some(), "initialize: {r}");
        writeln!(
            client.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .expect("write");
        client
    }

    /// Sends a request and reads lines until its response; returns the
    /// response and the time from writing to reading it.
    pub fn request(&mut self, method: &str, params: &Value) -> (Value, Duration) {
        self.id += 1;
        let mut msg = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params}),
        )
        .expect("json");
        msg.push(b'\n');
        let started = Instant::now();
        self.stdin.write_all(&msg).expect("write");
        self.stdin.flush().expect("flush");
        loop {
            self.line.clear();
            let n = self.stdout.read_until(b'\n', &mut self.line).expect("read");
            let took = started.elapsed();
            assert!(n > 0, "the server closed its stdout");
            let v: Value = serde_json::from_slice(&self.line).expect("a JSON line");
            if v.get("id") == Some(&json!(self.id)) {
                return (v, took);
            }
        }
    }

    /// Calls a tool; its structured content and the round trip.
    pub fn call(&mut self, tool: &str, arguments: Value) -> (Value, Duration) {
        let (r, took) = self.request("tools/call", &json!({"name": tool, "arguments": arguments}));
        let result = &r["result"];
        assert!(
            result.get("structuredContent").is_some() && result["isError"] != json!(true),
            "{tool}: {r}"
        );
        (result["structuredContent"].clone(), took)
    }

    /// Resident memory of the server and its child processes, in KiB.
    pub fn rss_kib(&self) -> u64 {
        tree_rss_kib(self.child.id())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tree_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let own: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    own + children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .map(tree_rss_kib)
        .sum::<u64>()
}
