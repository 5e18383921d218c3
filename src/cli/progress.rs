//! A one-line progress bar on stderr, drawn only on a terminal (an agent
//! reading JSON never sees it): `secrets sync`'s download and `ontology
//! vendor`'s stages.

use std::io::IsTerminal as _;

/// Draws `label [#####.....] 42% done / total KiB` (or the label alone when
/// the total is unknown) over the current line.
pub fn draw(label: &str, done: u64, total: u64) {
    if total == 0 {
        eprint!("\r{label:<40}");
        return;
    }
    let filled = (done.min(total) * 30 / total) as usize;
    eprint!(
        "\r{label} [{}{}] {:>3}% {} / {} KiB",
        "#".repeat(filled),
        ".".repeat(30 - filled),
        done.min(total) * 100 / total,
        done / 1024,
        total / 1024
    );
}

/// Whether a bar is drawn at all.
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Ends the bar's line, if one was drawn.
pub fn finish() {
    if on_terminal() {
        eprintln!();
    }
}
