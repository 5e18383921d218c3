//! Text for a person: what the CLI prints at a terminal (plain) or with
//! `--fmt md` (Markdown), rendered from a tool's output value.
//!
//! [`Text`] is the small vocabulary renderers write with (headings, lines,
//! multi-line passages, labelled fields, lists, tables, the next-page hint),
//! so one renderer serves both styles. [`Text::value`] renders any JSON value
//! readably; it is what a tool without its own renderer gets, and what
//! renderers use for the parts they do not shape themselves.

use std::fmt::Write as _;

use serde_json::Value;

/// Plain text or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain text for a terminal.
    Plain,
    /// Markdown.
    Markdown,
}

/// A text being written for a person.
#[derive(Debug)]
pub struct Text {
    style: Style,
    out: String,
}

impl Text {
    /// An empty text in `style`.
    pub fn new(style: Style) -> Self {
        Text {
            style,
            out: String::new(),
        }
    }

    /// Whether this text is Markdown.
    pub fn is_markdown(&self) -> bool {
        self.style == Style::Markdown
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// A heading: `## title` in Markdown, the title itself in plain text.
    pub fn heading(&mut self, title: &str) {
        if self.is_markdown() {
            let _ = writeln!(self.out, "## {title}\n");
        } else {
            let _ = writeln!(self.out, "{title}");
        }
    }

    /// A heading below [`Text::heading`]: `### title` in Markdown, the
    /// title and a colon in plain text; both followed by an empty line.
    pub fn subheading(&mut self, title: &str) {
        if self.is_markdown() {
            let _ = writeln!(self.out, "### {title}\n");
        } else {
            let _ = writeln!(self.out, "{title}:\n");
        }
    }

    /// A list item, `- text`; continuation lines are indented under it.
    pub fn item(&mut self, text: &str) {
        let mut lines = text.trim_end().lines();
        let _ = writeln!(self.out, "- {}", lines.next().unwrap_or_default());
        for line in lines {
            let _ = writeln!(self.out, "  {line}");
        }
    }

    /// Labelled facts, the empty ones left out, then an empty line: a
    /// Markdown list (`- **label:** value`) or `label: value` lines.
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        let mut any = false;
        for (label, value) in facts.iter().filter(|(_, v)| !v.is_empty()) {
            any = true;
            if self.is_markdown() {
                let _ = writeln!(self.out, "- **{label}:** {value}");
            } else {
                let _ = writeln!(self.out, "{label}: {value}");
            }
        }
        if any {
            self.blank();
        }
    }

    /// `text` as inline code in Markdown (fenced with enough backticks),
    /// as itself in plain text.
    pub fn code(&self, text: &str) -> String {
        if !self.is_markdown() {
            return text.to_owned();
        }
        let mut fence = String::from("`");
        while text.contains(fence.as_str()) {
            fence.push('`');
        }
        let pad = if text.starts_with('`') || text.ends_with('`') {
            " "
        } else {
            ""
        };
        format!("{fence}{pad}{text}{pad}{fence}")
    }

    /// One line, as written.
    pub fn line(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    /// An empty line.
    pub fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A passage whose line breaks are kept, followed by an empty line.
    pub fn passage(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}\n", text.trim_end());
    }

    /// `label: value`, left out when the value is empty.
    pub fn field(&mut self, label: &str, value: &str) {
        if !value.is_empty() {
            let _ = writeln!(self.out, "{label}: {value}");
        }
    }

    /// `label: a, b, c`, left out when `items` is empty.
    pub fn list_field(&mut self, label: &str, items: &[String]) {
        self.field(label, &items.join(", "));
    }

    /// A table: Markdown pipes, or columns padded to their widest cell.
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        if self.is_markdown() {
            let _ = writeln!(self.out, "| {} |", headers.join(" | "));
            let _ = writeln!(self.out, "|{}", "---|".repeat(headers.len()));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(self.out, "| {} |", cells.join(" | "));
            }
            return;
        }
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, cell) in cells.enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                let _ = write!(text, "{cell:<width$}  ");
            }
            text.trim_end().to_owned()
        };
        let head = line(&mut headers.iter().copied());
        let _ = writeln!(self.out, "{head}");
        for row in rows {
            let text = line(&mut row.iter().map(String::as_str));
            let _ = writeln!(self.out, "{text}");
        }
    }

    /// `more: --cursor C` when there is a next page.
    pub fn next_page(&mut self, cursor: Option<&str>) {
        if let Some(c) = cursor {
            let _ = writeln!(self.out, "\nmore: --cursor {c}");
        }
    }

    /// Any value, readably: objects as `key: value` lines (nested ones
    /// indented), arrays of flat records as tables, other arrays as lists,
    /// multi-line strings kept whole; empty values are left out.
    pub fn value(&mut self, value: &Value) {
        self.tree(value, 0);
    }

    fn tree(&mut self, value: &Value, depth: usize) {
        let pad = "  ".repeat(depth);
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match v {
                        Value::Null => {}
                        Value::Object(m) if m.is_empty() => {}
                        Value::Array(a) if a.is_empty() => {}
                        Value::Array(items) if depth == 0 && flat_records(items) => {
                            let _ = writeln!(self.out, "{pad}{key}:");
                            let (headers, rows) = records(items);
                            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                            self.table(&headers, &rows);
                        }
                        Value::Object(_) | Value::Array(_) => {
                            let _ = writeln!(self.out, "{pad}{key}:");
                            self.tree(v, depth + 1);
                        }
                        Value::String(s) if s.contains('\n') => {
                            let _ = writeln!(self.out, "{pad}{key}:");
                            for line in s.lines() {
                                let _ = writeln!(self.out, "{pad}  {line}");
                            }
                        }
                        other => {
                            let _ = writeln!(self.out, "{pad}{key}: {}", scalar(other));
                        }
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) | Value::Array(_) => {
                            let _ = writeln!(self.out, "{pad}-");
                            self.tree(item, depth + 1);
                        }
                        other => {
                            let _ = writeln!(self.out, "{pad}- {}", scalar(other));
                        }
                    }
                }
            }
            other => {
                let _ = writeln!(self.out, "{pad}{}", scalar(other));
            }
        }
    }
}

/// One ranked search hit, as [`Text::hits`] shows it.
#[derive(Debug)]
pub struct Hit<'a> {
    /// The record kind, for a search across kinds.
    pub kind: Option<&'a str>,
    /// The record's id.
    pub id: &'a str,
    /// Its question or title.
    pub title: &'a str,
    /// Its score.
    pub score: f64,
    /// The best-matching passage.
    pub snippet: &'a str,
    /// Its tags.
    pub tags: &'a [String],
}

impl Text {
    /// Ranked hits, best first, then `N of M matches` (or `no match`).
    pub fn hits(&mut self, hits: &[Hit<'_>], total: usize) {
        if hits.is_empty() {
            self.out.push_str("no match\n");
        }
        for (i, h) in hits.iter().enumerate() {
            let kind = h.kind.map(|k| format!("[{k}] ")).unwrap_or_default();
            let n = i + 1;
            if self.is_markdown() {
                let _ = writeln!(
                    self.out,
                    "{n}. {kind}**{}** — `{}` ({:.2})\n\n   > {}\n",
                    h.title, h.id, h.score, h.snippet
                );
                continue;
            }
            let _ = writeln!(
                self.out,
                "{n}. {kind}{}  ({:.2})\n   {}\n   {}",
                h.id, h.score, h.title, h.snippet
            );
            if !h.tags.is_empty() {
                let _ = writeln!(self.out, "   [{}]", h.tags.join(", "));
            }
            self.out.push('\n');
        }
        let _ = writeln!(self.out, "{} of {total} matches", hits.len());
    }
}

/// A serialisable value as one cell of text: a string as itself, anything
/// else as its JSON (an enum as its name).
pub fn cell_of<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_value(value).map_or_else(|_| String::new(), |v| cell(&v))
}

/// Whether `items` are records whose fields are all scalars or lists of
/// scalars, so a table shows them whole.
fn flat_records(items: &[Value]) -> bool {
    items.iter().all(|item| {
        item.as_object().is_some_and(|m| {
            m.values().all(|v| match v {
                Value::Object(_) => false,
                Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
                Value::String(s) => !s.contains('\n'),
                _ => true,
            })
        })
    })
}

/// The union of the records' keys, in first-seen order, and one row each.
fn records(items: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers: Vec<String> = Vec::new();
    for item in items {
        if let Some(m) = item.as_object() {
            for key in m.keys() {
                if !headers.contains(key) {
                    headers.push(key.clone());
                }
            }
        }
    }
    let rows = items
        .iter()
        .map(|item| {
            headers
                .iter()
                .map(|h| item.get(h).map_or_else(String::new, cell))
                .collect()
        })
        .collect();
    (headers, rows)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => scalar(other),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` cut to at most `max_bytes` (on a character boundary) followed by
/// a line saying how much was left out and `rest` (where to read it);
/// unchanged when it fits.
pub fn bounded(mut text: String, max_bytes: usize, rest: &str) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let full = text.len();
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    let _ = write!(
        text,
        "\n\n… (cut at {cut} of {full} bytes to keep the answer small; {rest})\n"
    );
    text
}

/// Renders `value` in `style` with the generic rendering.
pub fn render_value(value: &Value, style: Style) -> String {
    let mut text = Text::new(style);
    text.value(value);
    text.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_read_as_indented_fields_and_multiline_text_is_kept() {
        let v = json!({
            "id": "x",
            "empty": [],
            "none": null,
            "body": "one\ntwo",
            "nested": {"a": 1, "list": ["p", "q"]},
        });
        let text = render_value(&v, Style::Plain);
        assert!(text.contains("id: x\n"), "{text}");
        assert!(text.contains("body:\n  one\n  two\n"), "{text}");
        assert!(
            text.contains("nested:\n  a: 1\n  list:\n    - p\n    - q\n"),
            "{text}"
        );
        assert!(!text.contains("empty") && !text.contains("none"), "{text}");
    }

    #[test]
    fn arrays_of_flat_records_become_tables_in_both_styles() {
        let v = json!({"rows": [{"id": "a", "n": 1, "tags": ["x", "y"]}, {"id": "bb", "n": 22}]});
        let plain = render_value(&v, Style::Plain);
        assert!(
            plain.contains("id  n   tags\na   1   x, y\nbb  22\n"),
            "{plain}"
        );
        let md = render_value(&v, Style::Markdown);
        assert!(
            md.contains("| id | n | tags |\n|---|---|---|\n| a | 1 | x, y |\n| bb | 22 |  |\n"),
            "{md}"
        );
    }

    #[test]
    fn facts_items_and_code_adapt_to_the_style() {
        let mut md = Text::new(Style::Markdown);
        md.subheading("Steps");
        md.facts(&[("status", "Open".into()), ("empty", String::new())]);
        md.item("one\ntwo");
        assert_eq!(md.code("a`b"), "``a`b``");
        assert_eq!(md.code("`x"), "`` `x ``");
        assert_eq!(
            md.finish(),
            "### Steps\n\n- **status:** Open\n\n- one\n  two\n"
        );
        let mut plain = Text::new(Style::Plain);
        plain.facts(&[("status", "Open".into())]);
        assert_eq!(plain.code("a`b"), "a`b");
        assert_eq!(plain.finish(), "status: Open\n\n");
    }

    #[test]
    fn bounded_cuts_on_a_character_boundary_and_says_so() {
        assert_eq!(bounded("short".into(), 10, "x"), "short");
        let cut = bounded("é".repeat(100), 51, "read the file");
        assert!(cut.starts_with(&"é".repeat(25)), "{cut}");
        assert!(
            cut.ends_with("(cut at 50 of 200 bytes to keep the answer small; read the file)\n"),
            "{cut}"
        );
    }

    #[test]
    fn markdown_cells_escape_pipes_and_headings_differ_by_style() {
        let mut md = Text::new(Style::Markdown);
        md.heading("T");
        md.table(&["a"], &[vec!["x|y".into()]]);
        assert_eq!(md.finish(), "## T\n\n| a |\n|---|\n| x\\|y |\n");
        let mut plain = Text::new(Style::Plain);
        plain.heading("T");
        plain.field("empty", "");
        plain.next_page(Some("c1"));
        assert_eq!(plain.finish(), "T\n\nmore: --cursor c1\n");
    }
}
