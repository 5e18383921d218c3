//! Fuzzes the HTTP token file (`ontoref::transport::guard::TokenTable::parse`): one
//! `<actor> <sha256 hex of the token>` per line, `#` comments and blank lines allowed.
//!
//! Tokens are secrets and a misconfigured file may hold one where its hash belongs, so the
//! input is parsed three ways:
//! 1. as is: never panics; a table is never empty, an error has a stable code and names the
//!    file;
//! 2. with the second field of every two-field line replaced by a marker token (not hex): the
//!    file is refused, and neither the error nor its hint contains the token;
//! 3. with that field replaced by the sha256 of a per-line token: when the table parses, each
//!    token names its line's actor (`actor_of`), and neither the table's `Debug` nor any error
//!    contains a token.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ontoref::transport::guard::{TokenFileError, TokenTable};
use sha2::{Digest, Sha256};

const PATH: &str = "/etc/ontoref/tokens";
const MARKER: &str = "s3cret-token-0f1e2d3c";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_error(e: &TokenFileError) -> String {
    let message = e.to_string();
    assert!(
        matches!(
            e.code(),
            "token-file-unreadable"
                | "token-file-bad-line"
                | "token-file-duplicate"
                | "token-file-empty"
        ),
        "{message}"
    );
    assert!(
        message.contains(PATH),
        "the error names the file: {message}"
    );
    format!("{message} {}", e.hint())
}

/// Rewrites every two-field line as `actor <field(line number, actor)>`, keeping line numbers.
fn rewrite(text: &str, field: impl Fn(usize) -> String) -> (String, Vec<(String, usize)>) {
    let mut out = Vec::new();
    let mut rewritten = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = raw.trim();
        let fields: Vec<&str> = content.split_whitespace().collect();
        if content.starts_with('#') || fields.len() != 2 {
            out.push(raw.to_owned());
            continue;
        }
        out.push(format!("{} {}", fields[0], field(index)));
        rewritten.push((fields[0].to_owned(), index));
    }
    (out.join("\n"), rewritten)
}

fn token(line: usize) -> String {
    format!("{MARKER}-{line}")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(PATH);

    match TokenTable::parse(path, text) {
        Ok(table) => assert!(!table.is_empty(), "a parsed table lists a token"),
        Err(e) => {
            check_error(&e);
        }
    }
    if text.contains(MARKER) {
        // The marker could then be an actor, which errors may quote.
        return;
    }

    let (planted, lines) = rewrite(text, |_| MARKER.to_owned());
    match TokenTable::parse(path, &planted) {
        Ok(_) if !lines.is_empty() => panic!("a token where its hash belongs was accepted"),
        Ok(_) => {}
        Err(e) => {
            let shown = check_error(&e);
            assert!(!shown.contains(MARKER), "an error echoes a token: {shown}");
        }
    }

    let (hashed, lines) = rewrite(text, |line| hex(&Sha256::digest(token(line).as_bytes())));
    match TokenTable::parse(path, &hashed) {
        Ok(table) => {
            // Every other non-comment line would have been refused.
            assert_eq!(table.len(), lines.len());
            for (actor, line) in &lines {
                assert_eq!(
                    table.actor_of(&token(*line)),
                    Some(actor.as_str()),
                    "line {line}'s token does not name its actor"
                );
            }
            let debug = format!("{table:?}");
            assert!(!debug.contains(MARKER), "the table's Debug shows a token");
        }
        Err(e) => {
            let shown = check_error(&e);
            assert!(!shown.contains(MARKER), "an error echoes a token: {shown}");
        }
    }
});
