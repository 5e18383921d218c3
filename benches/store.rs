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

/// One generated entry, as the store's evaluation gives it back.
pub struct Generated {
    pub id: String,
    pub question: String,
    /// Six lines of twelve words each, joined by newlines (what the
    /// indented `m%"…"%` string in the file evaluates to).
    pub answer: String,
    pub created_at: String,
    pub tags: Vec<String>,
    pub verified: bool,
}

/// The `n` entries of the generated store, in file order.
pub fn generate_entries(n: usize) -> Vec<Generated> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    (0..n)
        .map(|i| {
            let w: Vec<&str> = (0..6).map(|_| rng.pick(WORDS)).collect();
            let lines: Vec<String> = (0..6)
                .map(|_| {
                    let line: Vec<&str> = (0..12).map(|_| rng.pick(WORDS)).collect();
                    format!("{}.", line.join(" "))
                })
                .collect();
            Generated {
                id: format!("{}-{}-{i}", w[0], w[1]),
                question: format!("How does the {} {} handle {} {}?", w[2], w[3], w[4], w[5]),
                answer: lines.join("\n"),
                created_at: format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                tags: (0..3).map(|_| rng.pick(WORDS).to_string()).collect(),
                verified: i % 3 == 0,
            }
        })
        .collect()
}

/// The Nickel text of a qa.ncl holding `entries`.
pub fn store_text(entries: &[Generated]) -> String {
    let mut text = String::from("let s = import \"schemas/qa.ncl\" in\n{\n  entries = [\n");
    for e in entries {
        let mut answer = String::new();
        for line in e.answer.lines() {
            answer.push_str("        ");
            answer.push_str(line);
            answer.push('\n');
        }
        let tags: Vec<String> = e.tags.iter().map(|t| format!("\"{t}\"")).collect();
        text.push_str(&format!(
            "    {{\n      id = \"{}\",\n      question = \"{}\",\n      answer = m%\"\n{answer}      \"%,\n      actor = \"agent\",\n      created_at = \"{}\",\n      tags = [{}],\n      related = [],\n      verified = {},\n    }},\n",
            e.id,
            e.question,
            e.created_at,
            tags.join(", "),
            e.verified
        ));
    }
    text.push_str("  ],\n} | s.QaStore\n");
    text
}

/// Writes a qa.ncl of `n` entries (about 600 bytes each) under `root`.
pub fn generate_store(root: &Path, n: usize) {
    let text = store_text(&generate_entries(n));
    std::fs::create_dir_all(root.join("reflection")).expect("mkdir");
    std::fs::create_dir_all(root.join(".ontoref")).expect("mkdir");
    std::fs::write(root.join("reflection/qa.ncl"), text).expect("write store");
}

/// The benchmarks' query mix over the generated store: two- and three-word
/// queries of its vocabulary, most matching nearly every entry.
pub const QUERIES: &[&str] = &[
    "vault credential",
    "rollback migration",
    "stdio transport",
    "registry scope namespace",
    "nickel contract schema",
    "agent delegate override",
    "timeout evaluation",
    "cache disk memory",
];
