//! Fuzzes the opaque paging cursors (`ontoref_tools::paging::PageKey`). The input is UTF-8
//! text `query \n generation \n cursor` (missing parts are empty); its first 8 bytes, read
//! little-endian, are also an offset `n`.
//!
//! Checks, beyond "never panics":
//! - `decode` of the fuzzed cursor is refused with a bounded message (the cursor is cut to 64
//!   characters), or accepted only when the cursor is the canonical encoding of the offset
//!   (`encode(decode(c)) == c.trim()`: cursors are unpadded strict base64);
//! - `decode(encode(n)) == Ok(n)`, also with surrounding whitespace;
//! - a cursor of another query (same generation) is `invalid-cursor`, one of the same query
//!   over another generation is `cursor-stale`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ontoref_tools::paging::{CursorError, PageKey};

fn bounded(e: &CursorError) {
    // 64 characters of up to 4 bytes each, the template and "… (N bytes)".
    let message = e.to_string();
    assert!(message.len() <= 512, "an unbounded cursor error: {message}");
    assert!(matches!(e.code(), "invalid-cursor" | "cursor-stale"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut le = [0u8; 8];
    for (i, b) in data.iter().take(8).enumerate() {
        le[i] = *b;
    }
    let n = u64::from_le_bytes(le) as usize;
    let mut parts = text.splitn(3, '\n');
    let query = parts.next().unwrap_or_default();
    let generation = parts.next().unwrap_or_default().as_bytes();
    let cursor = parts.next().unwrap_or_default();
    let key = PageKey::new(query, generation);

    match key.decode(cursor) {
        Ok(offset) => assert_eq!(
            key.encode(offset),
            cursor.trim(),
            "an accepted cursor is not the canonical one"
        ),
        Err(e) => bounded(&e),
    }

    let encoded = key.encode(n);
    assert_eq!(key.decode(&encoded), Ok(n));
    assert_eq!(key.decode(&format!(" \t{encoded}\n")), Ok(n));

    // Another query over the same data: its cursors are not ours.
    let other = PageKey::new(cursor, generation);
    if other != key {
        let refused = key
            .decode(&other.encode(n))
            .expect_err("a cursor of another query is refused");
        assert_eq!(refused.code(), "invalid-cursor", "{refused}");
        bounded(&refused);
    }
    // The same query over changed data (the generation's first 8 bytes differ).
    let mut changed = [0u8; 8];
    for (i, b) in generation.iter().take(8).enumerate() {
        changed[i] = *b;
    }
    changed[0] ^= 0x5a;
    let newer = PageKey::new(query, &changed);
    let stale = key
        .decode(&newer.encode(n))
        .expect_err("a cursor over other data is refused");
    assert_eq!(stale.code(), "cursor-stale", "{stale}");
});
