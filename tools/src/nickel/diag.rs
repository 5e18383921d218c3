//! Renders Nickel's diagnostics as plain text with file:line:col labels.

use nickel_lang_core::error::IntoDiagnostics;
use nickel_lang_core::error::report::{ColorOpt, report_as_str};
use nickel_lang_core::files::Files;

/// Longest diagnostic kept in an error message, in bytes; MCP hosts cut
/// `isError` text at about 11k characters.
pub(crate) const MAX_DIAGNOSTIC: usize = 6_000;

pub(crate) fn render(files: &mut Files, err: impl IntoDiagnostics) -> String {
    report_as_str(files, err, ColorOpt::Never)
}

/// Cuts `text` to at most `max` bytes on a char boundary, saying so.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… (diagnostic cut at {max} bytes)", &text[..end])
}
