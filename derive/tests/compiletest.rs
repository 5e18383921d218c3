//! Misuse of `#[onto_mcp_tool]` fails to compile with our message on the
//! right tokens. Each case is `ui/<mistake>.rs` with its expected `.stderr`;
//! regenerate them with `TRYBUILD=overwrite` after a deliberate change.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
