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
        "ontoref_qa_search" => {
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
                if md {
                    let _ = writeln!(
                        out,
                        "{}. **{}** — `{}` ({score:.2})\n\n   > {}\n",
                        i + 1,
                        s(r, "question"),
                        s(r, "id"),
                        s(r, "snippet")
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{}. {}  ({score:.2})\n   {}\n   {}",
                        i + 1,
                        s(r, "id"),
                        s(r, "question"),
                        s(r, "snippet")
                    );
                    let tags = strings(r, "tags");
                    if !tags.is_empty() {
                        let _ = writeln!(out, "   [{}]", tags.join(", "));
                    }
                    out.push('\n');
                }
            }
            let total = v.get("total_matches").and_then(Value::as_u64).unwrap_or(0);
            let _ = writeln!(out, "{} of {} matches", results.len(), total);
        }
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
        _ => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
            if md {
                let _ = writeln!(out, "```json\n{pretty}\n```");
            } else {
                out.push_str(&pretty);
            }
        }
    }
    out
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
}
