//! A generated Q&A store of any size, the same every run: what the
//! benchmarks that need a large `reflection/qa.ncl` share.

// Each benchmark uses a part of it.
#![allow(dead_code)]

use std::path::Path;

/// Deterministic generator (xorshift), so every run measures the same store.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

pub const WORDS: &[&str] = &[
    "vault",
    "credential",
    "registry",
    "deploy",
    "staging",
    "rollback",
    "migration",
    "schema",
    "contract",
    "nickel",
    "ontology",
    "decision",
    "constraint",
    "backlog",
    "mode",
    "level",
    "delegate",
    "override",
    "merge",
    "compose",
    "agent",
    "developer",
    "pipeline",
    "cache",
    "index",
    "search",
    "cursor",
    "token",
    "session",
    "transport",
    "stdio",
    "http",
    "server",
    "client",
    "recipient",
    "scope",
    "namespace",
    "artifact",
    "signature",
    "attestation",
    "release",
    "version",
    "workspace",
    "project",
    "template",
    "error",
    "recovery",
    "timeout",
    "evaluation",
    "import",
    "module",
    "crate",
    "binary",
    "test",
    "benchmark",
    "latency",
    "throughput",
    "memory",
    "disk",
    "file",
    "directory",
    "permission",
    "audit",
];

/// Writes a qa.ncl of `n` entries (about 600 bytes each) under `root`.
pub fn generate_store(root: &Path, n: usize) {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut text = String::from("let s = import \"schemas/qa.ncl\" in\n{\n  entries = [\n");
    for i in 0..n {
        let w: Vec<&str> = (0..6).map(|_| rng.pick(WORDS)).collect();
        let id = format!("{}-{}-{i}", w[0], w[1]);
        let question = format!("How does the {} {} handle {} {}?", w[2], w[3], w[4], w[5]);
        let mut answer = String::new();
        for _ in 0..6 {
            let line: Vec<&str> = (0..12).map(|_| rng.pick(WORDS)).collect();
            answer.push_str("        ");
            answer.push_str(&line.join(" "));
            answer.push_str(".\n");
        }
        let tags: Vec<String> = (0..3).map(|_| format!("\"{}\"", rng.pick(WORDS))).collect();
        text.push_str(&format!(
            "    {{\n      id = \"{id}\",\n      question = \"{question}\",\n      answer = m%\"\n{answer}      \"%,\n      actor = \"agent\",\n      created_at = \"2026-{:02}-{:02}\",\n      tags = [{}],\n      related = [],\n      verified = {},\n    }},\n",
            i % 12 + 1,
            i % 28 + 1,
            tags.join(", "),
            i % 3 == 0
        ));
    }
    text.push_str("  ],\n} | s.QaStore\n");
    std::fs::create_dir_all(root.join("reflection")).expect("mkdir");
    std::fs::create_dir_all(root.join(".ontoref")).expect("mkdir");
    std::fs::write(root.join("reflection/qa.ncl"), text).expect("write store");
}
