//! Where a store's records sit in its Nickel text: the byte spans of the
//! top-level `entries = [ … ]` (or `items = [ … ]`) array, of each element,
//! and of each field of an element that is a record literal.
//!
//! Built on the import scanner's tokens ([`crate::nickel::scan::tokens`]),
//! so strings, comments and interpolations are skipped exactly as the
//! loader's pre-checks skip them and nesting is bounded the same way. Only
//! the shape ontoref writes and the protocol's files use is editable: one
//! field `list = [ … ]` of a record literal at the top level whose value is
//! the array literal alone. Anything else is refused with what is in the
//! way, never guessed at.

use crate::nickel::scan::{self, TokKind, Token};

/// The array of records and its elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Byte of the array's `[`.
    pub open: usize,
    /// Byte of the array's `]`.
    pub close: usize,
    /// The indentation of the line the list field is on.
    pub indent: String,
    /// The elements, in order.
    pub elements: Vec<Element>,
}

/// One element of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Byte of the comma after it, if any.
    pub comma: Option<usize>,
    /// Its fields, when it is a record literal (`None` otherwise).
    pub fields: Option<Vec<Field>>,
}

/// A field `name = value` of a record literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// First byte of the name.
    pub start: usize,
    /// First byte of the value.
    pub value_start: usize,
    /// One past the value's last byte.
    pub value_end: usize,
    /// Byte of the comma after it, if any.
    pub comma: Option<usize>,
}

impl Element {
    /// The field `name`, if this is a record literal that defines it.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.as_ref()?.iter().find(|f| f.name == name)
    }
}

/// The indentation (spaces and tabs) of the line holding byte `at`.
pub fn indent_at(text: &str, at: usize) -> &str {
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let rest = &text[line_start..];
    let n = rest
        .bytes()
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count();
    &rest[..n]
}

/// Locates the array `list` in `text`; `Err` says why the text is not
/// editable.
pub fn locate(text: &str, list: &str) -> Result<Layout, String> {
    let (found, toks) =
        scan::tokens(text).map_err(|e| format!("the file is refused before evaluation: {e}"))?;
    if let Some((line, what)) = found.lexical_error {
        return Err(format!("line {line}: {what}"));
    }
    let matching = match_brackets(&toks)?;
    let spelled = |t: &Token| &text[t.start..t.end];
    // Open brackets enclosing each token, innermost last.
    let mut stack: Vec<u8> = Vec::new();
    let mut candidates = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind == TokKind::Word
            && spelled(t) == list
            && stack == [b'{']
            && (i == 0 || matches!(toks[i - 1].kind, TokKind::Open(b'{') | TokKind::Comma))
            && toks.get(i + 1).is_some_and(|n| n.kind == TokKind::Op)
        {
            candidates.push(i);
        }
        match t.kind {
            TokKind::Open(b) => stack.push(b),
            TokKind::Close => {
                stack.pop();
            }
            _ => {}
        }
    }
    let at = match candidates.as_slice() {
        [one] => *one,
        [] => return Err(format!("no top-level field `{list} = [ … ]`")),
        many => {
            return Err(format!(
                "`{list}` is defined {} times at the top level",
                many.len()
            ));
        }
    };
    if spelled(&toks[at + 1]) != "="
        || toks.get(at + 2).map(|t| t.kind) != Some(TokKind::Open(b'['))
    {
        return Err(format!(
            "`{list}` is not defined as an array literal (`{list} = [ … ]`)"
        ));
    }
    let open = at + 2;
    let close = matching[open].ok_or("an unclosed `[`")?;
    if text.as_bytes()[toks[open].start..toks[open].end].len() != 1 {
        return Err(format!(
            "`{list}` is an array literal of another kind (`[| … |]`)"
        ));
    }
    match toks.get(close + 1).map(|t| t.kind) {
        Some(TokKind::Comma | TokKind::Close) => {}
        _ => {
            return Err(format!(
                "`{list}` is more than an array literal (something follows its `]`)"
            ));
        }
    }
    let mut elements = Vec::new();
    for (first, last, comma) in items(&toks, &matching, open + 1, close) {
        let fields = match toks[first].kind {
            TokKind::Open(b'{') if matching[first] == Some(last) => {
                Some(fields(text, &toks, &matching, first + 1, last))
            }
            _ => None,
        };
        elements.push(Element {
            start: toks[first].start,
            end: toks[last].end,
            comma: comma.map(|c| toks[c].start),
            fields,
        });
    }
    Ok(Layout {
        open: toks[open].start,
        close: toks[close].start,
        indent: indent_at(text, toks[at].start).to_owned(),
        elements,
    })
}

/// For each opening token, the index of its closing one.
fn match_brackets(toks: &[Token]) -> Result<Vec<Option<usize>>, String> {
    let mut matching = vec![None; toks.len()];
    let mut open = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokKind::Open(_) => open.push(i),
            TokKind::Close => {
                let o = open.pop().ok_or("an unmatched closing bracket")?;
                matching[o] = Some(i);
            }
            _ => {}
        }
    }
    if open.is_empty() {
        Ok(matching)
    } else {
        Err("an unclosed bracket".to_owned())
    }
}

/// The comma-separated items between tokens `from` (inclusive) and `to`
/// (exclusive), nested brackets skipped: (first token, last token, comma).
fn items(
    toks: &[Token],
    matching: &[Option<usize>],
    from: usize,
    to: usize,
) -> Vec<(usize, usize, Option<usize>)> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        let first = i;
        let mut last = i;
        while i < to && toks[i].kind != TokKind::Comma {
            last = match (toks[i].kind, matching[i]) {
                (TokKind::Open(_), Some(m)) => m,
                _ => i,
            };
            i = last + 1;
        }
        if i < to {
            // A comma: `first..last` may be empty only for a stray comma.
            if first < i {
                out.push((first, last, Some(i)));
            }
            i += 1;
        } else if first < to {
            out.push((first, last, None));
        }
    }
    out
}

/// The fields `name = value` of the record literal whose inside runs from
/// token `from` to `to` (exclusive). Items without `=` (`..`, a bare
/// declaration) are not fields with a value and are left out.
fn fields(
    text: &str,
    toks: &[Token],
    matching: &[Option<usize>],
    from: usize,
    to: usize,
) -> Vec<Field> {
    let mut out = Vec::new();
    for (first, last, comma) in items(toks, matching, from, to) {
        let name = match toks[first].kind {
            TokKind::Word => text[toks[first].start..toks[first].end].to_owned(),
            TokKind::Str => {
                let s = &text[toks[first].start..toks[first].end];
                match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Some(inner) if !inner.contains(['\\', '%']) => inner.to_owned(),
                    _ => continue,
                }
            }
            _ => continue,
        };
        // The first `=` at this level, after the name and any annotations.
        let mut eq = None;
        let mut i = first + 1;
        while i <= last {
            let t = &toks[i];
            if t.kind == TokKind::Op && &text[t.start..t.end] == "=" {
                eq = Some(i);
                break;
            }
            i = match (t.kind, matching[i]) {
                (TokKind::Open(_), Some(m)) => m + 1,
                _ => i + 1,
            };
        }
        let Some(eq) = eq.filter(|e| *e < last) else {
            continue;
        };
        out.push(Field {
            name,
            start: toks[first].start,
            value_start: toks[eq + 1].start,
            value_end: toks[last].end,
            comma: comma.map(|c| toks[c].start),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QA: &str = r#"# a comment with entries = [ "not this" ]
let s = import "schemas/qa.ncl" in
{
  entries = [
    {
      id = "a",
      answer = m%"
        ] } , " not the end %{ "x" }
      "%,
      tags = ["x", "y"], # ] not this either
    },
    { id = "b", "quoted" = 'Tag, verified | Bool = true },
  ],
  other = 1,
} | s.QaStore
"#;

    #[test]
    fn finds_each_element_and_field_past_strings_and_comments() {
        let l = locate(QA, "entries").unwrap();
        assert_eq!(&QA[l.open..=l.open], "[");
        assert_eq!(&QA[l.close..=l.close], "]");
        assert_eq!(l.indent, "  ");
        assert_eq!(l.elements.len(), 2);
        let a = &l.elements[0];
        assert!(QA[a.start..a.end].starts_with('{') && QA[a.start..a.end].ends_with('}'));
        assert_eq!(&QA[a.comma.unwrap()..=a.comma.unwrap()], ",");
        let names: Vec<&str> = a
            .fields
            .as_ref()
            .unwrap()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["id", "answer", "tags"]);
        let answer = a.field("answer").unwrap();
        let value = &QA[answer.value_start..answer.value_end];
        assert!(
            value.starts_with("m%\"") && value.ends_with("\"%"),
            "{value}"
        );
        let tags = a.field("tags").unwrap();
        assert_eq!(&QA[tags.value_start..tags.value_end], r#"["x", "y"]"#);
        let b = &l.elements[1];
        assert_eq!(
            &QA[b.field("id").unwrap().value_start..b.field("id").unwrap().value_end],
            "\"b\""
        );
        assert_eq!(
            &QA[b.field("quoted").unwrap().value_start..b.field("quoted").unwrap().value_end],
            "'Tag"
        );
        let v = b.field("verified").unwrap();
        assert_eq!(&QA[v.value_start..v.value_end], "true");
        assert_eq!(v.comma, None);
    }

    #[test]
    fn refuses_shapes_it_cannot_edit_and_says_why() {
        for (text, why) in [
            ("{ entries = std.array.concat [] [] }", "array literal"),
            ("{ entries = [ {} ] @ [ {} ] }", "follows its `]`"),
            ("{ x = { entries = [] } }", "no top-level field"),
            ("{ entries = [], entries = [] }", "2 times"),
            ("{ entries = [ { a = 1 }", "unclosed"),
            ("{ entries = [ \"x ]", "unterminated"),
        ] {
            let err = locate(text, "entries").unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let deep = format!("{{ entries = [ {}{} ] }}", "[".repeat(300), "]".repeat(300));
        assert!(locate(&deep, "entries").unwrap_err().contains("deeper"));
    }

    #[test]
    fn an_empty_array_and_one_without_a_trailing_comma() {
        let l = locate("{ entries = [] }", "entries").unwrap();
        assert!(l.elements.is_empty());
        let text = "{ entries = [ { id = \"a\" }, { id = \"b\" } ] }";
        let l = locate(text, "entries").unwrap();
        assert_eq!(l.elements.len(), 2);
        assert!(l.elements[0].comma.is_some() && l.elements[1].comma.is_none());
    }

    #[test]
    fn the_seed_store_locates_every_entry() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/seed/reflection/qa.ncl"
        ))
        .unwrap();
        let text = text.as_str();
        let l = locate(text, "entries").unwrap();
        assert_eq!(l.elements.len(), 12);
        assert!(l.elements.iter().all(|e| e.field("answer").is_some()));
    }
}
