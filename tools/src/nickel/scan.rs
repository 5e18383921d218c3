//! The import scanner and the pre-checks every Nickel source passes before
//! it is evaluated.
//!
//! Nickel imports are static (`import "path"` with a literal string, then
//! optionally `as 'Format`), so a lexical scan finds every file a source can
//! read. The sandbox ([`super::sandbox`]) resolves and vets each one before
//! anything is read; the evaluator is then given those files and nothing
//! else.
//!
//! Written by hand rather than on `nickel_lang_parser::lexer`: that lexer
//! skips comments by recursing once per comment (a file of a million comment
//! lines needs a million stack frames unless the optimiser removes them),
//! and this scan runs in the server process on untrusted text. This one is a
//! loop over bytes with an explicit mode stack; its tokenisation follows
//! nickel-lang-parser 0.4's regexes for everything that can hide or reveal
//! an `import` (comments, the three string kinds and their interpolations,
//! enum tags, identifiers, numbers), and the `import_scanner` fuzz target
//! (`fuzz/`) checks the imports it finds against nickel-lang-core's parser.
//!
//! The same pass measures nesting (brackets, and chains of `let`, `fun`,
//! infix operators and the like between two commas), because Nickel's
//! parser and evaluator recurse over it: a source nested deeper than
//! [`MAX_DEPTH`] or chained longer than [`MAX_CHAIN`] is refused with its
//! line before Nickel sees it.

/// Deepest bracket nesting accepted (`{`, `[`, `(`, `[|`, string
/// interpolation). Nickel needs a few kilobytes of stack per level.
pub const MAX_DEPTH: usize = 256;
/// Longest chain of nesting constructs (`let`, `fun`, `if`, `match` and
/// infix operators) between two separators at one bracket level.
pub const MAX_CHAIN: usize = 1_000;

/// One `import` found in a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The path as written, escapes decoded.
    pub path: String,
    /// The tag of `as 'Tag`, when given.
    pub format: Option<String>,
    /// 1-based line of the `import` keyword.
    pub line: usize,
}

/// What the scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every static import, in source order.
    pub imports: Vec<Import>,
    /// A lexical error that stops the scan (Nickel rejects the file too):
    /// its 1-based line and what is wrong. Imports after it are not listed.
    pub lexical_error: Option<(usize, &'static str)>,
}

/// What a top-level token is, for [`tokens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// `{`, `[`, `[|` (as `[`) or `(`: the byte opening it.
    Open(u8),
    /// `}`, `]`, `|]` or `)`.
    Close,
    /// `,`.
    Comma,
    /// An identifier or keyword.
    Word,
    /// A whole string literal, delimiters and interpolations included.
    Str,
    /// An operator (`=`, `|`, `->`, `..`, …).
    Op,
    /// Anything else: numbers, enum tags, `;`, `.`.
    Other,
}

/// A token of the source outside any string, with its byte span;
/// comments and whitespace are not tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: TokKind,
    /// First byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// Why a source is refused before evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrecheckError {
    /// Brackets nest deeper than [`MAX_DEPTH`].
    #[error("line {line}: brackets nest deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Where the limit was crossed.
        line: usize,
    },
    /// A chain of nesting constructs is longer than [`MAX_CHAIN`].
    #[error(
        "line {line}: more than {MAX_CHAIN} nested `let`/`fun`/`if`/operators in one expression"
    )]
    TooLong {
        /// Where the limit was crossed.
        line: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Code, with the count of `{` opened at this level (a `}` beyond them
    /// ends the interpolation that entered this mode).
    Normal { braces: usize },
    /// A `"…"` string.
    Str,
    /// A multiline or symbolic string opened with `n` percent signs.
    Multi { n: usize },
}

/// What the scanner expects next after an `import` keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    None,
    /// `import` seen; a `"` starts the path.
    Path {
        line: usize,
    },
    /// Inside the path string.
    InPath {
        line: usize,
        path: String,
    },
    /// Path read; `as` may follow.
    As {
        import: Import,
    },
    /// `as` read; a tag must follow.
    Tag {
        import: Import,
    },
    /// Inside a `'"…"` tag.
    InTag {
        import: Import,
        tag: String,
    },
}

/// Scans `text` for imports and checks its nesting.
pub fn scan(text: &str) -> Result<Scan, PrecheckError> {
    Scanner::new(text).run()
}

/// Scans `text` as [`scan`] does and also returns its tokens outside
/// strings, in order: what an in-place edit locates records and fields by
/// (`crate::write::layout`), with the same tokenisation the import scan
/// trusts.
pub fn tokens(text: &str) -> Result<(Scan, Vec<Token>), PrecheckError> {
    let mut scanner = Scanner::new(text);
    scanner.tokens = Some(Vec::new());
    let found = scanner.run_keep()?;
    Ok((found, scanner.tokens.take().unwrap_or_default()))
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
    line: usize,
    modes: Vec<Mode>,
    /// One chain counter per open bracket level.
    chains: Vec<usize>,
    pending: Pending,
    out: Scan,
    /// Tokens outside strings, when asked for ([`tokens`]).
    tokens: Option<Vec<Token>>,
    /// Where the top-level string being read began.
    str_start: Option<usize>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident_rest(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'\''
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            b: text.as_bytes(),
            text,
            i: 0,
            line: 1,
            modes: vec![Mode::Normal { braces: 0 }],
            chains: vec![0],
            pending: Pending::None,
            out: Scan::default(),
            tokens: None,
            str_start: None,
        }
    }

    /// Records a token from `start` to the cursor, if tokens are asked for
    /// and the scan is outside every string.
    fn tok(&mut self, kind: TokKind, start: usize) {
        if self.modes.len() == 1
            && let Some(tokens) = self.tokens.as_mut()
        {
            tokens.push(Token {
                kind,
                start,
                end: self.i,
            });
        }
    }

    /// A string opens at `start`: remembered when it is a top-level one.
    fn string_opens(&mut self, start: usize) {
        if self.modes.len() == 1 {
            self.str_start = Some(start);
        }
    }

    /// A string closed: recorded when that brought the scan back to the top.
    fn string_closed(&mut self) {
        if self.modes.len() == 1
            && let Some(start) = self.str_start.take()
        {
            self.tok(TokKind::Str, start);
        }
    }

    fn peek(&self, at: usize) -> Option<u8> {
        self.b.get(self.i + at).copied()
    }

    /// Advances `n` bytes, counting newlines.
    fn bump(&mut self, n: usize) {
        let end = (self.i + n).min(self.b.len());
        self.line += self.b[self.i..end].iter().filter(|c| **c == b'\n').count();
        self.i = end;
    }

    fn depth(&self) -> usize {
        self.chains.len() - 1
    }

    fn open(&mut self) -> Result<(), PrecheckError> {
        self.chains.push(0);
        if self.depth() > MAX_DEPTH {
            return Err(PrecheckError::TooDeep { line: self.line });
        }
        Ok(())
    }

    fn close(&mut self) {
        if self.chains.len() > 1 {
            self.chains.pop();
        }
    }

    fn chain(&mut self) -> Result<(), PrecheckError> {
        if let Some(c) = self.chains.last_mut() {
            *c += 1;
            if *c > MAX_CHAIN {
                return Err(PrecheckError::TooLong { line: self.line });
            }
        }
        Ok(())
    }

    fn separator(&mut self) {
        if let Some(c) = self.chains.last_mut() {
            *c = 0;
        }
    }

    fn error(&mut self, what: &'static str) {
        self.out.lexical_error = Some((self.line, what));
    }

    fn run(mut self) -> Result<Scan, PrecheckError> {
        self.run_keep()
    }

    fn run_keep(&mut self) -> Result<Scan, PrecheckError> {
        while self.i < self.b.len() && self.out.lexical_error.is_none() {
            match self.modes.last().copied() {
                Some(Mode::Normal { .. }) | None => self.normal()?,
                Some(Mode::Str) => self.string()?,
                Some(Mode::Multi { n }) => self.multi(n)?,
            }
        }
        if self.out.lexical_error.is_none() && self.modes.len() > 1 {
            self.error("unterminated string or interpolation");
        }
        self.settle();
        Ok(std::mem::take(&mut self.out))
    }

    /// A token that cannot continue a pending import ends it: a complete
    /// one (path read) is recorded, an incomplete one dropped.
    fn settle(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::As { import } | Pending::Tag { import } => self.out.imports.push(import),
            _ => {}
        }
    }

    fn normal(&mut self) -> Result<(), PrecheckError> {
        let c = self.b[self.i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => self.bump(1),
            b'#' => {
                let end = self.b[self.i..]
                    .iter()
                    .position(|c| *c == b'\n')
                    .map_or(self.b.len(), |p| self.i + p);
                self.bump(end - self.i);
            }
            b'"' => {
                self.string_opens(self.i);
                self.bump(1);
                self.pending = match std::mem::replace(&mut self.pending, Pending::None) {
                    Pending::Path { line } => Pending::InPath {
                        line,
                        path: String::new(),
                    },
                    other => {
                        self.pending = other;
                        self.settle();
                        Pending::None
                    }
                };
                self.modes.push(Mode::Str);
                self.open()?;
            }
            b'\'' => self.quote()?,
            b'0'..=b'9' => {
                self.settle();
                let n = self.number();
                let start = self.i;
                self.bump(n);
                self.tok(TokKind::Other, start);
            }
            b'.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                self.settle();
                let n = self.number();
                let start = self.i;
                self.bump(n);
                self.tok(TokKind::Other, start);
            }
            c if is_ident_start(c) || c == b'_' => self.word()?,
            b'{' => {
                self.settle();
                if let Some(Mode::Normal { braces }) = self.modes.last_mut() {
                    *braces += 1;
                }
                let start = self.i;
                self.bump(1);
                self.tok(TokKind::Open(b'{'), start);
                self.open()?;
            }
            b'}' => {
                self.settle();
                let start = self.i;
                self.bump(1);
                let nested = self.modes.len() > 1;
                match self.modes.last_mut() {
                    Some(Mode::Normal { braces }) if *braces > 0 => {
                        *braces -= 1;
                        self.close();
                        self.tok(TokKind::Close, start);
                    }
                    _ if nested => {
                        // The end of an interpolation: back to its string.
                        self.modes.pop();
                        self.close();
                    }
                    _ => self.error("unmatched `}`"),
                }
            }
            b'[' => {
                self.settle();
                let n = if self.peek(1) == Some(b'|') { 2 } else { 1 };
                let start = self.i;
                self.bump(n);
                self.tok(TokKind::Open(b'['), start);
                self.open()?;
            }
            b'(' => {
                self.settle();
                let start = self.i;
                self.bump(1);
                self.tok(TokKind::Open(b'('), start);
                self.open()?;
            }
            b']' | b')' => {
                self.settle();
                let start = self.i;
                self.bump(1);
                self.close();
                self.tok(TokKind::Close, start);
            }
            b'|' if self.peek(1) == Some(b']') => {
                self.settle();
                let start = self.i;
                self.bump(2);
                self.close();
                self.tok(TokKind::Close, start);
            }
            b',' | b';' => {
                self.settle();
                self.separator();
                let start = self.i;
                self.bump(1);
                let kind = if c == b',' {
                    TokKind::Comma
                } else {
                    TokKind::Other
                };
                self.tok(kind, start);
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'<' | b'>' | b'=' | b'!' => {
                self.settle();
                // One operator, however many characters it has.
                let len = self.b[self.i..]
                    .iter()
                    .take_while(|c| b"+-*/%@&|<>=!".contains(c))
                    .count();
                let start = self.i;
                self.bump(len.max(1));
                self.tok(TokKind::Op, start);
                self.chain()?;
            }
            _ => {
                self.settle();
                let len = self.text[self.i..].chars().next().map_or(1, char::len_utf8);
                let start = self.i;
                self.bump(len);
                self.tok(TokKind::Other, start);
            }
        }
        Ok(())
    }

    /// `[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?`, `0x…`, `0o…`, `0b…`: the length
    /// of the longest number literal at the cursor (at least 1).
    fn number(&self) -> usize {
        let s = &self.b[self.i..];
        let run =
            |from: usize, ok: fn(u8) -> bool| s[from..].iter().take_while(|c| ok(**c)).count();
        let mut best = 0;
        if s.first() == Some(&b'0') {
            for (p, ok) in [
                (b'x', (|c: u8| c.is_ascii_hexdigit()) as fn(u8) -> bool),
                (b'o', |c: u8| (b'0'..=b'7').contains(&c)),
                (b'b', |c: u8| c == b'0' || c == b'1'),
            ] {
                if s.get(1) == Some(&p) {
                    let n = run(2, ok);
                    if n > 0 {
                        best = best.max(2 + n);
                    }
                }
            }
        }
        // Decimal: digits, an optional fraction, an optional exponent.
        let int = run(0, |c| c.is_ascii_digit());
        let mut end = int;
        if s.get(int) == Some(&b'.') {
            let frac = run(int + 1, |c| c.is_ascii_digit());
            if frac > 0 {
                end = int + 1 + frac;
            }
        }
        if end > 0 && matches!(s.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
            let exp = run(end + 1 + sign, |c| c.is_ascii_digit());
            if exp > 0 {
                end += 1 + sign + exp;
            }
        }
        best.max(end).max(1)
    }

    /// An identifier, keyword, or the start of a multiline or symbolic string.
    fn word(&mut self) -> Result<(), PrecheckError> {
        let s = &self.b[self.i..];
        let underscores = s.iter().take_while(|c| **c == b'_').count();
        if !s.get(underscores).copied().is_some_and(is_ident_start) {
            // `_` alone is a token of its own.
            self.settle();
            let start = self.i;
            self.bump(underscores.max(1));
            self.tok(TokKind::Other, start);
            return Ok(());
        }
        // `m%"`: a multiline string (longer than the identifier `m`).
        if underscores == 0 && s[0] == b'm' {
            let percents = s[1..].iter().take_while(|c| **c == b'%').count();
            if percents > 0 && s.get(1 + percents) == Some(&b'"') {
                self.settle();
                self.string_opens(self.i);
                self.bump(2 + percents);
                self.modes.push(Mode::Multi { n: percents });
                return self.open();
            }
        }
        let len = underscores
            + 1
            + s[underscores + 1..]
                .iter()
                .take_while(|c| is_ident_rest(**c))
                .count();
        let word = &self.text[self.i..self.i + len];
        // `prefix-s%"`: a symbolic string.
        if underscores == 0 && word.ends_with("-s") && word.len() > 2 {
            let percents = s[len..].iter().take_while(|c| **c == b'%').count();
            if percents > 0 && s.get(len + percents) == Some(&b'"') {
                self.settle();
                self.string_opens(self.i);
                self.bump(len + percents + 1);
                self.modes.push(Mode::Multi { n: percents });
                return self.open();
            }
        }
        let line = self.line;
        match (word, std::mem::replace(&mut self.pending, Pending::None)) {
            ("as", Pending::As { import }) => self.pending = Pending::Tag { import },
            (_, pending) => {
                self.pending = pending;
                self.settle();
                match word {
                    "import" => self.pending = Pending::Path { line },
                    "let" | "fun" | "if" | "match" => self.chain()?,
                    _ => {}
                }
            }
        }
        let start = self.i;
        self.bump(len);
        self.tok(TokKind::Word, start);
        Ok(())
    }

    /// `'tag`, `'"tag"`, or a stray quote.
    fn quote(&mut self) -> Result<(), PrecheckError> {
        let s = &self.b[self.i..];
        if s.get(1) == Some(&b'"') {
            self.string_opens(self.i);
            self.bump(2);
            self.pending = match std::mem::replace(&mut self.pending, Pending::None) {
                Pending::Tag { import } => Pending::InTag {
                    import,
                    tag: String::new(),
                },
                other => {
                    self.pending = other;
                    self.settle();
                    Pending::None
                }
            };
            self.modes.push(Mode::Str);
            return self.open();
        }
        let underscores = s[1..].iter().take_while(|c| **c == b'_').count();
        if s.get(1 + underscores).copied().is_some_and(is_ident_start) {
            let len = 2
                + underscores
                + s[2 + underscores..]
                    .iter()
                    .take_while(|c| is_ident_rest(**c))
                    .count();
            let tag = self.text[self.i + 1..self.i + len].to_owned();
            match std::mem::replace(&mut self.pending, Pending::None) {
                Pending::Tag { mut import } => {
                    import.format = Some(tag);
                    self.out.imports.push(import);
                }
                other => {
                    self.pending = other;
                    self.settle();
                }
            }
            let start = self.i;
            self.bump(len);
            self.tok(TokKind::Other, start);
            return Ok(());
        }
        self.settle();
        let start = self.i;
        self.bump(1);
        self.tok(TokKind::Other, start);
        Ok(())
    }

    fn push_char(&mut self, c: char) {
        match &mut self.pending {
            Pending::InPath { path, .. } => path.push(c),
            Pending::InTag { tag, .. } => tag.push(c),
            _ => {}
        }
    }

    /// Inside `"…"`.
    fn string(&mut self) -> Result<(), PrecheckError> {
        let c = self.b[self.i];
        match c {
            b'"' => {
                self.bump(1);
                self.modes.pop();
                self.close();
                self.string_closed();
                self.pending = match std::mem::replace(&mut self.pending, Pending::None) {
                    Pending::InPath { line, path } => Pending::As {
                        import: Import {
                            path,
                            format: None,
                            line,
                        },
                    },
                    Pending::InTag { mut import, tag } => {
                        import.format = Some(tag);
                        self.out.imports.push(import);
                        Pending::None
                    }
                    other => other,
                };
            }
            b'\\' => self.escape(),
            b'%' if self.peek(1) == Some(b'{') => {
                // An interpolated string is not a static path or tag.
                if matches!(self.pending, Pending::InPath { .. } | Pending::InTag { .. }) {
                    self.pending = Pending::None;
                }
                self.bump(2);
                self.modes.push(Mode::Normal { braces: 0 });
                self.open()?;
            }
            _ => {
                let run = self.b[self.i..]
                    .iter()
                    .take_while(|c| !matches!(c, b'"' | b'\\' | b'%'))
                    .count()
                    .max(1);
                let piece = &self.text[self.i..self.i + run];
                // No lexical error for a lone carriage return: Nickel's lexer accepts one
                // inside a literal run (only its debug builds assert against it), so stopping
                // here would hide every import after it. Like Nickel, CRLF becomes LF.
                if matches!(self.pending, Pending::InPath { .. } | Pending::InTag { .. }) {
                    let normalized = piece.replace("\r\n", "\n");
                    for ch in normalized.chars() {
                        self.push_char(ch);
                    }
                }
                self.bump(run);
            }
        }
        Ok(())
    }

    /// A backslash escape inside `"…"`.
    fn escape(&mut self) {
        let s = &self.b[self.i..];
        let hex = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        let decoded = match s.get(1) {
            Some(b'x') if s.len() >= 4 && s[2].is_ascii_hexdigit() && s[3].is_ascii_hexdigit() => {
                match hex(&s[2..4])
                    .filter(|v| *v <= 0x7f)
                    .and_then(char::from_u32)
                {
                    Some(c) => Some((c, 4)),
                    None => {
                        self.error("an invalid \\x escape");
                        return;
                    }
                }
            }
            Some(b'u') if s.get(2) == Some(&b'{') => {
                let digits = s[3..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
                if (1..=6).contains(&digits) && s.get(3 + digits) == Some(&b'}') {
                    match hex(&s[3..3 + digits]).and_then(char::from_u32) {
                        Some(c) => Some((c, 4 + digits)),
                        None => {
                            self.error("an invalid \\u escape");
                            return;
                        }
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        let (c, len) = match decoded {
            Some(d) => d,
            None => {
                let next = self.text[self.i + 1..].chars().next();
                let c = match next {
                    Some('\'') => '\'',
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('%') => '%',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    _ => {
                        self.error("an invalid escape sequence");
                        return;
                    }
                };
                (c, 2)
            }
        };
        self.push_char(c);
        self.bump(len);
    }

    /// Inside `m%"…"%` or `prefix-s%"…"%`, opened with `n` percent signs.
    fn multi(&mut self, n: usize) -> Result<(), PrecheckError> {
        let s = &self.b[self.i..];
        match s[0] {
            b'"' => {
                let k = s[1..].iter().take_while(|c| **c == b'%').count();
                if k >= n && s.get(1 + k) == Some(&b'{') {
                    // `"` and surplus `%` are text; the last `n` open an interpolation.
                    self.bump(2 + k);
                    self.modes.push(Mode::Normal { braces: 0 });
                    return self.open();
                }
                if k == n {
                    self.bump(1 + k);
                    self.modes.pop();
                    self.close();
                    self.string_closed();
                } else if k > n {
                    self.error("a multiline string closed with more `%` than it opened with");
                } else {
                    self.bump(1 + k);
                }
            }
            b'%' => {
                let k = s.iter().take_while(|c| **c == b'%').count();
                if k >= n && s.get(k) == Some(&b'{') {
                    self.bump(k + 1);
                    self.modes.push(Mode::Normal { braces: 0 });
                    return self.open();
                }
                self.bump(k);
            }
            _ => {
                // Up to the next ASCII delimiter: always a char boundary.
                let run = s
                    .iter()
                    .take_while(|c| !matches!(c, b'"' | b'%'))
                    .count()
                    .max(1);
                self.bump(run);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str) -> Vec<(String, Option<String>, usize)> {
        scan(src)
            .unwrap()
            .imports
            .into_iter()
            .map(|i| (i.path, i.format, i.line))
            .collect()
    }

    fn paths(src: &str) -> Vec<String> {
        imports(src).into_iter().map(|i| i.0).collect()
    }

    #[test]
    fn finds_static_imports_with_formats_and_lines() {
        let src = "let s = import \"schemas/qa.ncl\" in\n{ a = import \"x.txt\" as 'Text,\n  b = import \"y\" as '\"Json\" }";
        assert_eq!(
            imports(src),
            vec![
                ("schemas/qa.ncl".into(), None, 1),
                ("x.txt".into(), Some("Text".into()), 2),
                ("y".into(), Some("Json".into()), 3),
            ]
        );
    }

    #[test]
    fn imports_hidden_in_comments_and_strings_are_not_imports() {
        let src = r#"# import "a"
{ s = "import \"b\"", m = m%"import "c" %{ import "d" } "%, t = 'import, u = important "e" }"#;
        assert_eq!(paths(src), ["d"]);
    }

    #[test]
    fn decodes_escapes_in_paths() {
        assert_eq!(
            paths(r#"import "a\"b\\c\x41\u{1F600}""#),
            ["a\"b\\cA\u{1F600}"]
        );
        assert_eq!(paths(r#"import "a%{x}b""#), Vec::<String>::new());
    }

    #[test]
    fn multiline_strings_count_their_percent_signs() {
        let src = r#"m%%" "% import "no" %{ import "no2" } %%{ import "yes" } "%% import "after""#;
        assert_eq!(paths(src), ["yes", "after"]);
        let sym = r#"nix-s%" %{ import "in-sym" } "% import "z""#;
        assert_eq!(paths(sym), ["in-sym", "z"]);
    }

    #[test]
    fn numbers_end_before_a_keyword() {
        assert_eq!(paths("0b1import \"p\""), ["p"]);
        assert_eq!(paths("1e5import \"q\""), ["q"]);
        assert_eq!(paths("x'import \"r\""), Vec::<String>::new());
    }

    #[test]
    fn a_lone_carriage_return_in_a_string_hides_no_import() {
        // Found by the import_scanner fuzz target: the scan stopped at the lone CR (as a
        // lexical error) although release builds of Nickel accept the file and import
        // "after-cr.ncl", which the sandbox then never vetted.
        let src = "{ a = \"x\ry\", b = import \"after-cr.ncl\" }";
        let scanned = scan(src).unwrap();
        assert_eq!(scanned.lexical_error, None);
        assert_eq!(paths(src), ["after-cr.ncl"]);
        // In a path, a lone CR stays and CRLF becomes LF, as Nickel reads the literal.
        assert_eq!(paths("import \"a\rb\" import \"c\r\nd\""), ["a\rb", "c\nd"]);
    }

    #[test]
    fn deep_nesting_and_long_chains_are_refused_with_a_line() {
        let deep = "[".repeat(60_000);
        assert_eq!(scan(&deep), Err(PrecheckError::TooDeep { line: 1 }));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(scan(&ok).is_ok());
        let chain = format!("\n{}1", "let a = 1 in ".repeat(MAX_CHAIN + 1));
        assert!(matches!(
            scan(&chain),
            Err(PrecheckError::TooLong { line: 2 })
        ));
        let plus = "1 + ".repeat(MAX_CHAIN + 1) + "1";
        assert!(matches!(scan(&plus), Err(PrecheckError::TooLong { .. })));
        // Separate fields do not add up.
        let fields: String = (0..5_000)
            .map(|i| format!("f{i} = let x = 1 in x + 1,"))
            .collect();
        assert!(scan(&format!("{{ {fields} }}")).is_ok());
    }

    #[test]
    fn a_million_comment_lines_scan_in_a_loop() {
        let src = "# c\n".repeat(1_000_000) + "import \"x\"";
        assert_eq!(paths(&src), ["x"]);
    }
}
