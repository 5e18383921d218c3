//! Values written as Nickel literals that evaluate back to exactly the
//! value given: strings (one-line `"…"` with escapes, or a multi-line
//! `m%"…"%` whose delimiter cannot occur in the text), arrays of strings,
//! booleans and enum tags.

/// A value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lit {
    /// A string.
    Str(String),
    /// An array of strings.
    List(Vec<String>),
    /// A boolean.
    Bool(bool),
    /// An enum tag, `'Name`.
    Tag(String),
}

/// `value` as Nickel source for a field on a line indented by `indent`.
/// With `multiline`, a string holding line breaks is written as an
/// indented `m%"…"%` block when that form keeps it exact
/// ([`multiline_safe`]); otherwise, and always without `multiline`, as a
/// one-line `"…"` string.
pub fn render(value: &Lit, indent: &str, multiline: bool) -> String {
    match value {
        Lit::Str(s) if multiline && multiline_safe(s) => block(s, indent),
        Lit::Str(s) => quoted(s),
        Lit::List(items) => {
            let inner: Vec<String> = items.iter().map(|s| quoted(s)).collect();
            format!("[{}]", inner.join(", "))
        }
        Lit::Bool(b) => b.to_string(),
        Lit::Tag(t) => tag(t),
    }
}

/// A one-line Nickel string: `"`, `\` and `%` escaped (so no `%{` can open
/// an interpolation), line breaks, tabs and control characters as escapes.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An enum tag: bare when an identifier, else `'"…"`.
fn tag(t: &str) -> String {
    let mut chars = t.chars();
    let ident = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '\'');
    if ident {
        format!("'{t}")
    } else {
        format!("'{}", quoted(t))
    }
}

/// Whether `s` survives an indented `m%"…"%` block exactly. Nickel strips
/// the block's common indentation and its first and last line breaks, so
/// the text must have a line that starts at its left margin (else its own
/// indentation would be stripped too), no line of only blanks (whose
/// indentation Nickel does not count), and no carriage return (read as a
/// line break).
pub fn multiline_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.contains('\r')
        && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        && s.lines()
            .any(|l| l.chars().next().is_some_and(|c| !c.is_whitespace()))
        && !s
            .split('\n')
            .any(|l| !l.is_empty() && l.chars().all(char::is_whitespace))
}

/// `s` as an `m%"…"%` block whose lines are indented two past `indent`.
/// The delimiter has one `%` more than the longest run of `%` in `s`, so
/// neither its closing `"%…` nor an interpolation `%…{` can occur inside.
fn block(s: &str, indent: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '%' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let percents = "%".repeat(longest + 1);
    let mut out = format!("m{percents}\"\n");
    for line in s.split('\n') {
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str("  ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(indent);
    out.push('"');
    out.push_str(&percents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strings_escape_what_nickel_would_read() {
        assert_eq!(quoted(r#"a "b" \c %{d}"#), r#""a \"b\" \\c \%{d}""#);
        assert_eq!(quoted("x\ny\tz\r\u{1}"), r#""x\ny\tz\r\u{1}""#);
        assert_eq!(quoted("ñ ✓"), "\"ñ ✓\"");
    }

    #[test]
    fn a_block_delimiter_outgrows_every_percent_run() {
        let b = block("50%\n\"%% and %%{x}\nend", "  ");
        assert!(b.starts_with("m%%%\"\n"), "{b}");
        assert!(b.ends_with("\n  \"%%%"), "{b}");
        assert!(b.contains("\n    50%\n"), "{b}");
    }

    #[test]
    fn blocks_only_where_they_round_trip() {
        assert!(multiline_safe("a\n  b\n\nc\n"));
        assert!(!multiline_safe("one line"));
        assert!(!multiline_safe("  all\n  indented"));
        assert!(!multiline_safe("a\r\nb"));
        assert!(!multiline_safe("a\n   \nb"));
        assert_eq!(
            render(&Lit::Str("a\n   \nb".into()), "", true),
            r#""a\n   \nb""#
        );
    }

    #[test]
    fn tags_lists_and_booleans() {
        assert_eq!(render(&Lit::Tag("High".into()), "", true), "'High");
        assert_eq!(
            render(&Lit::Tag("in progress".into()), "", true),
            "'\"in progress\""
        );
        assert_eq!(
            render(&Lit::List(vec!["a".into(), "b\"".into()]), "", true),
            r#"["a", "b\""]"#
        );
        assert_eq!(render(&Lit::Bool(false), "", true), "false");
    }
}
