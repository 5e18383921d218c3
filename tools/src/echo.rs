//! How errors quote their input: whole when short, else cut to a bounded
//! length with the original size, so no error grows with what a client
//! sent. A leaf module: anything may use it.

/// How many characters of an input an error message quotes ([`clip`]).
pub const ECHO_CHARS: usize = 200;

/// An input as an error message quotes it: whole up to [`ECHO_CHARS`]
/// characters, else its first [`ECHO_CHARS`] characters then
/// `… (N bytes)`, so every error stays small whatever a client sent.
pub fn clip(text: &str) -> String {
    clip_to(text, ECHO_CHARS)
}

/// [`clip`] with another bound.
pub fn clip_to(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_echoed_input() {
        assert_eq!(clip("deploy-staging"), "deploy-staging");
        let exact = "é".repeat(ECHO_CHARS);
        assert_eq!(clip(&exact), exact);
        let huge = "x".repeat(1 << 20);
        let cut = clip(&huge);
        assert!(cut.starts_with(&"x".repeat(ECHO_CHARS)));
        assert!(cut.ends_with("… (1048576 bytes)"), "{cut}");
        assert!(cut.len() < 300);
        // Multi-byte characters are never split.
        let wide = "é".repeat(ECHO_CHARS + 5);
        assert!(clip(&wide).starts_with(&exact));
    }
}
