//! Output rules, the same for every command that returns data.
//!
//! JSON (exactly the tool's structured content) when `--fmt json`, when the
//! actor is an agent, or when stdout is not a terminal; readable text for a
//! person at a terminal; Markdown on request. Errors are `{"error": {...}}` on
//! stdout in JSON mode, and a short message with its hint on stderr otherwise.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use ontoref_tools::ToolError;
use serde_json::Value;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The tool's structured content.
    Json,
    /// Markdown.
    Md,
    /// Plain text for a terminal.
    Text,
}

/// The format to use: the flag, else JSON for agents and pipes, else text.
pub fn choose(flag: Option<Format>, actor: Option<&str>, stdout_is_terminal: bool) -> Format {
    flag.unwrap_or(if actor == Some("agent") || !stdout_is_terminal {
        Format::Json
    } else {
        Format::Text
    })
}

/// Prints a command's result.
pub fn print(kind: &str, value: &Value, format: Format) {
    let text = match format {
        Format::Json => json(value),
        Format::Text => render(kind, value, false),
        Format::Md => render(kind, value, true),
    };
    write_stdout(&text);
}

/// Prints a tool error.
pub fn print_error(err: &ToolError, format: Format) {
    match format {
        Format::Json => write_stdout(&json(&err.to_json())),
        Format::Text | Format::Md => {
            eprintln!("error[{}]: {}", err.code(), err);
            eprintln!("  hint: {}", err.hint());
        }
    }
}

fn json(value: &Value) -> String {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.unwrap_or_else(|e| {
        format!("{{\"error\":{{\"code\":\"internal-error\",\"message\":\"{e}\",\"hint\":\"\"}}}}")
    })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.trim_end_matches('\n'));
    let _ = out.flush();
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn next_page(out: &mut String, v: &Value) {
    if let Some(c) = v.get("next_cursor").and_then(Value::as_str) {
        let _ = writeln!(out, "\nmore: --cursor {c}");
    }
}

/// Renders a known result shape as text or Markdown; anything else as
/// indented JSON.
fn render(kind: &str, v: &Value, md: bool) -> String {
    let mut out = String::new();
    match kind {
        "ontoref_qa_list" => {
            let entries = v
                .get("entries")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if md {
                out.push_str("| id | question | tags | verified |\n|---|---|---|---|\n");
                for e in &entries {
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {} | {} |",
                        s(e, "id"),
                        s(e, "question").replace('|', "\\|"),
                        strings(e, "tags").join(", "),
                        if e.get("verified") == Some(&Value::Bool(true)) {
                            "yes"
                        } else {
                            "no"
                        }
                    );
                }
            } else {
                for e in &entries {
                    let mark = if e.get("verified") == Some(&Value::Bool(true)) {
                        "✓"
                    } else {
                        " "
                    };
                    let _ = writeln!(out, "{mark} {}\n    {}", s(e, "id"), s(e, "question"));
                    let tags = strings(e, "tags");
                    if !tags.is_empty() {
                        let _ = writeln!(out, "    [{}]", tags.join(", "));
                    }
                }
            }
            let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
            let _ = writeln!(out, "\n{} of {} entries", entries.len(), total);
            next_page(&mut out, v);
        }
        "ontoref_qa_search" | "ontoref_search" => hits(&mut out, v, md),
        "ontoref_qa_show" => {
            let e = v.get("entry").unwrap_or(&Value::Null);
            let verified = if e.get("verified") == Some(&Value::Bool(true)) {
                "verified"
            } else {
                "not verified"
            };
            if md {
                let _ = writeln!(
                    out,
                    "## {}\n\n`{}` · {} · {} · {}\n",
                    s(e, "question"),
                    s(e, "id"),
                    s(e, "actor"),
                    s(e, "created_at"),
                    verified
                );
                let _ = writeln!(out, "{}\n", s(e, "answer").trim_end());
            } else {
                let _ = writeln!(out, "{}\n{}\n", s(e, "id"), s(e, "question"));
                let _ = writeln!(out, "{}\n", s(e, "answer").trim_end());
                let _ = writeln!(
                    out,
                    "by {} on {}, {}",
                    s(e, "actor"),
                    s(e, "created_at"),
                    verified
                );
            }
            let tags = strings(e, "tags");
            if !tags.is_empty() {
                let _ = writeln!(out, "tags: {}", tags.join(", "));
            }
            let related = strings(e, "related");
            if !related.is_empty() {
                let _ = writeln!(out, "related: {}", related.join(", "));
            }
        }
        "tools" => {
            let tools = v
                .get("tools")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if md {
                out.push_str("| tool | toolset | read-only | what it does |\n|---|---|---|---|\n");
                for t in &tools {
                    let ro = if t.get("read_only") == Some(&Value::Bool(true)) {
                        "yes"
                    } else {
                        "no"
                    };
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {ro} | {} |",
                        s(t, "name"),
                        s(t, "toolset"),
                        s(t, "summary").replace('|', "\\|")
                    );
                }
            } else {
                let width = tools.iter().map(|t| s(t, "name").len()).max().unwrap_or(4);
                for t in &tools {
                    let ro = if t.get("read_only") == Some(&Value::Bool(true)) {
                        "read-only"
                    } else {
                        "writes"
                    };
                    let _ = writeln!(
                        out,
                        "{:width$}  {:10} {:9}  {}",
                        s(t, "name"),
                        s(t, "toolset"),
                        ro,
                        s(t, "title")
                    );
                }
            }
        }
        "ontoref_mode_resolve" => {
            let level = v.get("resolved_level").unwrap_or(&Value::Null);
            let _ = writeln!(
                out,
                "{} resolves at {} ({})\n\nwhy:",
                s(v, "mode"),
                s(level, "name"),
                s(level, "index")
            );
            for (i, link) in v
                .get("chain")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let _ = writeln!(
                    out,
                    "  {}. [{}] {}: {}",
                    i + 1,
                    s(link, "index"),
                    s(link, "outcome"),
                    s(link, "reason")
                );
            }
            let _ = writeln!(out, "\nsteps:");
            for step in v
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let deps = strings(step, "depends_on");
                let _ = writeln!(
                    out,
                    "  - {:<20} {}  ({}{}{})",
                    s(step, "id"),
                    s(step, "action"),
                    s(step, "from_level"),
                    step.get("actor")
                        .and_then(Value::as_str)
                        .map(|a| format!(", {a}"))
                        .unwrap_or_default(),
                    if deps.is_empty() {
                        String::new()
                    } else {
                        format!(", after {}", deps.join(", "))
                    }
                );
                if let Some(cmd) = step.get("cmd").and_then(Value::as_str) {
                    let _ = writeln!(out, "      $ {cmd}");
                }
            }
            for w in strings(v, "warnings") {
                let _ = writeln!(out, "\nwarning: {w}");
            }
        }
        "ontoref_validate_modes" => {
            let findings = v
                .get("findings")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for f in &findings {
                let _ = writeln!(
                    out,
                    "{} [{}] {}{}: {}\n    {}",
                    s(f, "severity"),
                    s(f, "check"),
                    s(f, "level"),
                    if s(f, "mode").is_empty() {
                        String::new()
                    } else {
                        format!("/{}", s(f, "mode"))
                    },
                    s(f, "message"),
                    s(f, "file")
                );
            }
            let _ = writeln!(
                out,
                "{} Hard, {} Soft over {} mode definitions in {} levels",
                v.get("hard").and_then(Value::as_u64).unwrap_or(0),
                v.get("soft").and_then(Value::as_u64).unwrap_or(0),
                v.get("modes").and_then(Value::as_u64).unwrap_or(0),
                v.get("levels").and_then(Value::as_u64).unwrap_or(0)
            );
        }
        "ontoref_secrets_audit" => {
            for c in v
                .get("checks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mark = if c.get("ok") == Some(&Value::Bool(true)) {
                    "ok  "
                } else {
                    "FAIL"
                };
                let _ = writeln!(out, "{mark} {:<28} {}", s(c, "id"), s(c, "detail"));
            }
        }
        "ontoref_credential_fetch" => {
            let _ = writeln!(
                out,
                "export DOCKER_CONFIG={}
# {} ({} for `{}`, role {}); removed at {}",
                s(v, "docker_config_dir"),
                s(v, "registry"),
                s(v, "op"),
                s(v, "target"),
                s(v, "role"),
                s(v, "expires_at")
            );
            if v.get("password").is_some() {
                let _ = writeln!(
                    out,
                    "username: {}\npassword: {}",
                    s(v, "username"),
                    s(v, "password")
                );
            }
        }
        "self-test" => {
            for c in v
                .get("cases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mark = if c.get("passed") == Some(&Value::Bool(true)) {
                    "ok  "
                } else {
                    "FAIL"
                };
                let _ = writeln!(
                    out,
                    "{mark} {:<26} expects {}",
                    s(c, "name"),
                    s(c, "expect")
                );
            }
            let ok = v.get("ok") == Some(&Value::Bool(true));
            let _ = writeln!(out, "\nself-test {}", if ok { "passed" } else { "FAILED" });
        }
        "ontoref_node_list" | "ontoref_adr_list" | "ontoref_backlog_list" => {
            let (list, cols): (&str, &[&str]) = match kind {
                "ontoref_node_list" => ("nodes", &["id", "level", "pole", "name"]),
                "ontoref_adr_list" => ("adrs", &["id", "status", "date", "title"]),
                _ => ("items", &["id", "status", "priority", "kind", "title"]),
            };
            let rows = v
                .get(list)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            rows_table(&mut out, &rows, cols, md);
            let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
            let _ = writeln!(out, "\n{} of {total}", rows.len());
            for extra in ["skipped", "findings"] {
                if let Some(items) = v
                    .get(extra)
                    .and_then(Value::as_array)
                    .filter(|a| !a.is_empty())
                {
                    let _ = writeln!(out, "\n{extra}:");
                    tree(&mut out, &Value::Array(items.clone()), 1);
                }
            }
            next_page(&mut out, v);
        }
        _ => {
            if md {
                let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
                let _ = writeln!(out, "```json\n{pretty}\n```");
            } else {
                tree(&mut out, v, 0);
            }
        }
    }
    out
}

/// Ranked search hits (Q&A or cross-kind): id, question or title, score,
/// snippet, and the kind or tags when present.
fn hits(out: &mut String, v: &Value, md: bool) {
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if results.is_empty() {
        out.push_str("no match\n");
    }
    for (i, r) in results.iter().enumerate() {
        let score = r.get("score").and_then(Value::as_f64).unwrap_or(0.0);
        let kind = r
            .get("kind")
            .and_then(Value::as_str)
            .map(|k| format!("[{k}] "))
            .unwrap_or_default();
        let title = r
            .get("question")
            .and_then(Value::as_str)
            .unwrap_or_else(|| s(r, "title"));
        if md {
            let _ = writeln!(
                out,
                "{}. {kind}**{title}** — `{}` ({score:.2})\n\n   > {}\n",
                i + 1,
                s(r, "id"),
                s(r, "snippet")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{}. {kind}{}  ({score:.2})\n   {title}\n   {}",
            i + 1,
            s(r, "id"),
            s(r, "snippet")
        );
        let tags = strings(r, "tags");
        if !tags.is_empty() {
            let _ = writeln!(out, "   [{}]", tags.join(", "));
        }
        out.push('\n');
    }
    let total = v.get("total_matches").and_then(Value::as_u64).unwrap_or(0);
    let _ = writeln!(out, "{} of {} matches", results.len(), total);
}

/// Rows as aligned text columns, or a Markdown table.
fn rows_table(out: &mut String, rows: &[Value], cols: &[&str], md: bool) {
    let cell = |r: &Value, c: &str| match r.get(c) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    if md {
        let _ = writeln!(out, "| {} |", cols.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(cols.len()));
        for r in rows {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| cell(r, c).replace('|', "\\|"))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        return;
    }
    let widths: Vec<usize> = cols
        .iter()
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, c) in cols.iter().enumerate() {
            let text = cell(r, c);
            if i + 1 == cols.len() {
                line.push_str(&text);
            } else {
                let _ = write!(line, "{text:<w$}  ", w = widths[i]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Any JSON value as indented `key: value` lines; multi-line strings keep
/// their line breaks.
fn tree(out: &mut String, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Object(m) if m.is_empty() => {}
                    Value::Array(a) if a.is_empty() => {}
                    Value::Object(_) | Value::Array(_) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        tree(out, val, depth + 1);
                    }
                    Value::String(s) if s.contains('\n') => {
                        let _ = writeln!(out, "{pad}{k}:");
                        for line in s.trim_end().lines() {
                            let _ = writeln!(out, "{pad}  {line}");
                        }
                    }
                    other => {
                        let _ = writeln!(out, "{pad}{k}: {}", scalar(other));
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        let mut inner = String::new();
                        tree(&mut inner, item, depth + 1);
                        // The first line of an item carries the dash.
                        let body = inner.trim_start_matches(' ');
                        let _ = write!(out, "{pad}- {body}");
                    }
                    other => {
                        let _ = writeln!(out, "{pad}- {}", scalar(other));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_and_pipes_get_json_people_get_text() {
        assert_eq!(choose(None, Some("agent"), true), Format::Json);
        assert_eq!(choose(None, None, false), Format::Json);
        assert_eq!(choose(None, Some("developer"), true), Format::Text);
        assert_eq!(choose(Some(Format::Md), Some("agent"), false), Format::Md);
    }

    #[test]
    fn tree_renders_nested_values_readably() {
        let v = serde_json::json!({
            "adr": {"id": "adr-001", "context": "line one\nline two", "tags": ["a", "b"]},
            "chain": [{"id": "x", "n": 1}]
        });
        let mut out = String::new();
        tree(&mut out, &v, 0);
        assert_eq!(
            out,
            "adr:\n  context:\n    line one\n    line two\n  id: adr-001\n  tags:\n    - a\n    - b\nchain:\n  - id: x\n    n: 1\n"
        );
    }
}
