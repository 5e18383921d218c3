//! Fuzzes the import scanner and nesting pre-checks every Nickel source passes before it is
//! evaluated (`ontoref_tools::nickel::scan::scan`), and checks it against Nickel's own parser.
//!
//! The scanner is the sandbox's only view of what a source imports: an import it misses is a
//! file Nickel would read without the sandbox vetting it. It promises every static import, in
//! source order, with its `as 'Format` tag, and a lexical error only where Nickel rejects the
//! file too.
//!
//! Checks, beyond "never panics" (any input):
//! - imports come in source order, on lines that exist; a lexical error names a line that
//!   exists.
//!
//! Differential, on inputs of at most 4 KiB that pass the pre-checks (deeper input is refused
//! before Nickel sees it): when nickel-lang-core 0.19's parser (`TermParser`, as Nickel parses
//! every file) accepts the source, its AST's path imports, walked with Nickel's own traversal,
//! equal the scanner's imports as a multiset of (path, format), the format being what the
//! sandbox derives (`Format::from_tag`, else `Format::from_path`); and the scanner reports no
//! lexical error. Equality, not a superset: the scanner is exact, not an over-approximation.
//! Package imports (`import some_pkg`) are not files and are left out of both sides. Sources
//! with a decimal exponent of 5 digits or more are left out too (Nickel's lexer takes minutes
//! over `1e555555555`; the evaluation deadline bounds that in ontoref).
//!
//! The fuzz crate builds nickel-lang-parser without debug assertions (see `Cargo.toml`): its
//! lexer debug-asserts an invariant (no lone carriage return in a string literal) that release
//! builds, the ones ontoref ships, do not enforce, and the differential must see what the
//! shipped parser sees.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nickel_lang_core::ast::{Ast, AstAlloc, Import, InputFormat, Node};
use nickel_lang_core::files::Files;
use nickel_lang_core::parser::{ErrorTolerantParser, grammar::TermParser, lexer::Lexer};
use nickel_lang_core::traverse::{TraverseAlloc, TraverseControl};
use ontoref_tools::nickel::sandbox::Format;
use ontoref_tools::nickel::scan::scan;

/// Largest input the differential runs on.
const DIFFERENTIAL_MAX: usize = 4 * 1024;

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Nickel => "Nickel",
        Format::Json => "Json",
        Format::Yaml => "Yaml",
        Format::Toml => "Toml",
        Format::Text => "Text",
    }
}

/// Whether the text holds a decimal exponent of 5 digits or more: Nickel's lexer computes such
/// a number exactly (`1e555555555` takes minutes and hundreds of MiB; ontoref's evaluation
/// deadline is what bounds it), so the differential skips these inputs.
fn huge_exponent(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        if !matches!(c, b'e' | b'E') {
            return false;
        }
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        b[j.min(b.len())..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count()
            >= 5
    })
}

/// The path imports Nickel's parser sees, or `None` when it rejects the source.
fn nickel_imports(text: &str) -> Option<Vec<(String, String)>> {
    let alloc = AstAlloc::new();
    let mut files = Files::empty();
    let file_id = files.add("fuzz.ncl", text);
    let ast: Ast<'_> = TermParser::new()
        .parse_strict(&alloc, file_id, Lexer::new(text))
        .ok()?;
    let mut found = Vec::new();
    ast.traverse_ref(
        &mut |node: &Ast<'_>, _: &()| {
            if let Node::Import(Import::Path { path, format }) = &node.node {
                let format: &InputFormat = format;
                found.push((
                    path.to_str()
                        .expect("a path parsed from UTF-8 is UTF-8")
                        .to_owned(),
                    format.to_str().to_owned(),
                ));
            }
            TraverseControl::<(), ()>::Continue
        },
        &(),
    );
    Some(found)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scanned) = scan(text) else {
        // Refused before evaluation: too deep or too long a chain.
        return;
    };
    let lines = text.bytes().filter(|b| *b == b'\n').count() + 1;
    let mut previous = 1;
    for import in &scanned.imports {
        assert!(
            (previous..=lines).contains(&import.line),
            "{import:?} after line {previous}"
        );
        previous = import.line;
    }
    if let Some((line, _)) = scanned.lexical_error {
        assert!((1..=lines).contains(&line), "{:?}", scanned.lexical_error);
    }

    if text.len() > DIFFERENTIAL_MAX || huge_exponent(text) {
        return;
    }
    let Some(mut nickel) = nickel_imports(text) else {
        return;
    };
    assert_eq!(
        scanned.lexical_error, None,
        "the scanner reports a lexical error in a source Nickel parses"
    );
    let mut ours: Vec<(String, String)> = scanned
        .imports
        .iter()
        .filter_map(|i| {
            let format = match &i.format {
                Some(tag) => Format::from_tag(tag)?,
                None => Format::from_path(Path::new(&i.path)),
            };
            Some((i.path.clone(), format_name(format).to_owned()))
        })
        .collect();
    ours.sort();
    nickel.sort();
    assert_eq!(
        ours, nickel,
        "the scanner's imports (left) differ from Nickel's (right)"
    );
});
