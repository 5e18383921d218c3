//! The three edits a store write makes to its text, each touching only the
//! bytes of one element: append a record after the last one, set fields of
//! one record (replacing a value in place, or adding the field after the
//! record's last one), and remove one record with its comma and its line.
//! New text copies the indentation of its neighbours.

use super::layout::{Element, Layout, indent_at};
use super::render::{Lit, render};

/// `text` with a record of `fields` appended to the array.
pub fn append(text: &str, layout: &Layout, fields: &[(&str, Lit)], multiline: bool) -> String {
    let last = layout.elements.last();
    let elem_indent = match last {
        Some(e) => indent_at(text, e.start).to_owned(),
        None => format!("{}  ", layout.indent),
    };
    let field_indent = last
        .and_then(|e| e.fields.as_ref()?.first())
        .map(|f| indent_at(text, f.start).to_owned())
        .filter(|fi| fi.len() > elem_indent.len())
        .unwrap_or_else(|| format!("{elem_indent}  "));
    let mut record = String::from("{\n");
    for (name, value) in fields {
        record.push_str(&field_indent);
        record.push_str(name);
        record.push_str(" = ");
        record.push_str(&render(value, &field_indent, multiline));
        record.push_str(",\n");
    }
    record.push_str(&elem_indent);
    record.push('}');
    let (at, insert) = match last {
        Some(e) => match e.comma {
            Some(c) => (c + 1, format!("\n{elem_indent}{record},")),
            None => (e.end, format!(",\n{elem_indent}{record}")),
        },
        None => {
            let inner = &text[layout.open + 1..layout.close];
            if inner.trim().is_empty() {
                return format!(
                    "{}\n{elem_indent}{record},\n{}{}",
                    &text[..=layout.open],
                    layout.indent,
                    &text[layout.close..]
                );
            }
            (layout.open + 1, format!("\n{elem_indent}{record},"))
        }
    };
    format!("{}{insert}{}", &text[..at], &text[at..])
}

/// `text` with `fields` of `element` set: a field it defines gets the new
/// value in place of the old, one it lacks is added after its last field.
pub fn update(
    text: &str,
    element: &Element,
    fields: &[(&str, Lit)],
    multiline: bool,
) -> Result<String, String> {
    let defined = element
        .fields
        .as_ref()
        .ok_or("the record to change is not a record literal")?;
    let last = defined
        .last()
        .ok_or("the record to change has no field to place a new one after")?;
    let field_indent = indent_at(text, last.start).to_owned();
    // (start, end, replacement), applied from the end.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut added = String::new();
    for (name, value) in fields {
        match element.field(name) {
            Some(f) => edits.push((
                f.value_start,
                f.value_end,
                render(value, indent_at(text, f.start), multiline),
            )),
            None => {
                added.push_str(&format!(
                    "\n{field_indent}{name} = {},",
                    render(value, &field_indent, multiline)
                ));
            }
        }
    }
    if !added.is_empty() {
        match last.comma {
            Some(c) => edits.push((c + 1, c + 1, added)),
            None => {
                let body = added.trim_end_matches(',');
                edits.push((last.value_end, last.value_end, format!(",{body}")));
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_owned();
    for (start, end, with) in edits {
        out.replace_range(start..end, &with);
    }
    Ok(out)
}

/// `text` without `element`: its comma goes with it, and so does its line
/// when nothing else is on it.
pub fn remove(text: &str, element: &Element) -> String {
    let line_start = text[..element.start].rfind('\n').map_or(0, |p| p + 1);
    let alone = text[line_start..element.start].trim().is_empty();
    let start = if alone { line_start } else { element.start };
    let mut end = element.comma.map_or(element.end, |c| c + 1);
    let rest_of_line = text[end..].find('\n').map(|p| end + p);
    if alone
        && let Some(nl) = rest_of_line
        && text[end..nl].trim().is_empty()
    {
        end = nl + 1;
    }
    format!("{}{}", &text[..start], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::super::layout::locate;
    use super::*;

    const STORE: &str = "let s = import \"schemas/qa.ncl\" in\n{\n  # the entries\n  entries = [\n    {\n      id = \"a\",\n      tags = [],\n    },\n    # b is next\n    {\n      id = \"b\",\n      verified = false\n    },\n  ],\n} | s.QaStore\n";

    #[test]
    fn append_copies_the_neighbours_indentation() {
        let l = locate(STORE, "entries").unwrap();
        let out = append(STORE, &l, &[("id", Lit::Str("c".into()))], true);
        assert!(
            out.contains("      verified = false\n    },\n    {\n      id = \"c\",\n    },\n  ],"),
            "{out}"
        );
        assert!(out.starts_with(&STORE[..l.elements[1].end]));
        let empty = "{\n  entries = [],\n}";
        let l = locate(empty, "entries").unwrap();
        let out = append(empty, &l, &[("id", Lit::Str("c".into()))], true);
        assert_eq!(
            out,
            "{\n  entries = [\n    {\n      id = \"c\",\n    },\n  ],\n}"
        );
    }

    #[test]
    fn update_replaces_in_place_and_adds_after_the_last_field() {
        let l = locate(STORE, "entries").unwrap();
        let out = update(
            STORE,
            &l.elements[1],
            &[
                ("verified", Lit::Bool(true)),
                ("tags", Lit::List(vec!["x".into()])),
            ],
            true,
        )
        .unwrap();
        assert!(
            out.contains("      id = \"b\",\n      verified = true,\n      tags = [\"x\"]\n    },"),
            "{out}"
        );
        let l = locate(STORE, "entries").unwrap();
        let out = update(STORE, &l.elements[0], &[("tags", Lit::List(vec![]))], true).unwrap();
        assert_eq!(out, STORE);
    }

    #[test]
    fn remove_takes_the_element_its_comma_and_its_line_only() {
        let l = locate(STORE, "entries").unwrap();
        let out = remove(STORE, &l.elements[0]);
        assert_eq!(
            out,
            STORE.replace("    {\n      id = \"a\",\n      tags = [],\n    },\n", "")
        );
        let one_line = "{ entries = [ { id = \"a\" }, { id = \"b\" } ] }";
        let l = locate(one_line, "entries").unwrap();
        assert_eq!(
            remove(one_line, &l.elements[0]),
            "{ entries = [  { id = \"b\" } ] }"
        );
        assert_eq!(
            remove(one_line, &l.elements[1]),
            "{ entries = [ { id = \"a\" },  ] }"
        );
    }
}
