//! Output rules, the same for every command that returns data.
//!
//! JSON (exactly the tool's structured content) when `--fmt json`, when the
//! actor is an agent, or when stdout is not a terminal; readable text for a
//! person at a terminal; Markdown on request. The text itself comes from
//! the tool (its `ToolCommand::text`, else the generic rendering of its
//! output in `ontoref_tools::text`): nothing here knows a tool. Errors are
//! `{"error": {...}}` on stdout in JSON mode, and a short message with its
//! hint on stderr otherwise.

use std::io::{IsTerminal, Write};

use ontoref_tools::ToolError;
use ontoref_tools::text::{Style, render_value};
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

/// The text style of a format; `None` for JSON.
pub fn style(format: Format) -> Option<Style> {
    match format {
        Format::Json => None,
        Format::Md => Some(Style::Markdown),
        Format::Text => Some(Style::Plain),
    }
}

/// Prints a command's result: `value` as JSON, else `text` (or the generic
/// rendering of `value`).
pub fn print(value: &Value, text: Option<&str>, format: Format) {
    let out = match style(format) {
        None => json(value),
        Some(style) => text.map_or_else(|| render_value(value, style), str::to_owned),
    };
    write_stdout(&out);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_and_pipes_get_json_people_get_text() {
        assert_eq!(choose(None, Some("agent"), true), Format::Json);
        assert_eq!(choose(None, None, false), Format::Json);
        assert_eq!(choose(None, None, true), Format::Text);
        assert_eq!(choose(Some(Format::Md), Some("agent"), false), Format::Md);
        assert_eq!(style(Format::Json), None);
        assert_eq!(style(Format::Md), Some(Style::Markdown));
    }
}
