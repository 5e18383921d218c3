//! Opaque paging cursors.
//!
//! A cursor records the offset of the next page, a digest of the query it
//! continues and the generation of the data it pages over. A cursor replayed
//! against another query is `invalid-cursor`; one whose data changed since
//! is `cursor-stale`, so a client never silently skips or repeats entries.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::codes::{ErrorCodes, variant};

/// A cursor could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorError {
    /// Not a cursor this server issued, or issued for another query.
    #[error("cursor `{cursor}` was not issued for this query")]
    Invalid {
        /// The cursor received (cut to 64 characters).
        cursor: String,
    },
    /// The data changed since the cursor was issued.
    #[error("cursor `{cursor}` belongs to an earlier version of the data, which has changed since")]
    Stale {
        /// The cursor received.
        cursor: String,
    },
}

impl CursorError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            CursorError::Invalid { .. } => "invalid-cursor",
            CursorError::Stale { .. } => "cursor-stale",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            CursorError::Invalid { .. } => "pass back `next_cursor` unchanged, with the same filters as the call that returned it; omit `cursor` to start from the first page".to_owned(),
            CursorError::Stale { .. } => "the underlying file changed; start again without `cursor`".to_owned(),
        }
    }
}

impl ErrorCodes for CursorError {
    const VARIANTS: usize = 2;

    fn examples() -> Vec<Self> {
        vec![
            CursorError::Invalid {
                cursor: "abc".into(),
            },
            CursorError::Stale {
                cursor: "abc".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = CursorError::VARIANTS;
        match self {
            CursorError::Invalid { .. } => variant::<0, N>(),
            CursorError::Stale { .. } => variant::<1, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}

/// Identifies a query (its filters) and a data generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    query: [u8; 8],
    generation: [u8; 8],
}

impl PageKey {
    /// A key for the query described by `query` (a canonical string of its
    /// filters) over data of `generation` (a digest of its source).
    pub fn new(query: &str, generation: &[u8]) -> PageKey {
        let q: [u8; 32] = Sha256::digest(query.as_bytes()).into();
        let mut g = [0u8; 8];
        for (i, b) in generation.iter().take(8).enumerate() {
            g[i] = *b;
        }
        let mut query = [0u8; 8];
        query.copy_from_slice(&q[..8]);
        PageKey {
            query,
            generation: g,
        }
    }

    /// The cursor for the page starting at `offset`.
    pub fn encode(&self, offset: usize) -> String {
        let mut raw = Vec::with_capacity(24);
        raw.push(1u8); // format
        raw.extend_from_slice(&self.query);
        raw.extend_from_slice(&self.generation);
        raw.extend_from_slice(&(offset as u64).to_le_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The offset a cursor points at, if it was issued for this key.
    pub fn decode(&self, cursor: &str) -> Result<usize, CursorError> {
        let shown = crate::echo::clip_to(cursor, 64);
        let invalid = || CursorError::Invalid {
            cursor: shown.clone(),
        };
        let raw = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| invalid())?;
        if raw.len() != 25 || raw[0] != 1 || raw[1..9] != self.query {
            return Err(invalid());
        }
        if raw[9..17] != self.generation {
            return Err(CursorError::Stale { cursor: shown });
        }
        let mut off = [0u8; 8];
        off.copy_from_slice(&raw[17..25]);
        usize::try_from(u64::from_le_bytes(off)).map_err(|_| invalid())
    }
}

/// The most a single tool response should carry, in bytes of JSON: about
/// 8,000 tokens, far below the 25,000 that MCP hosts such as Claude Code
/// accept by default, even though the JSON travels twice (structured and as
/// text).
pub const RESPONSE_BUDGET: usize = 32 * 1024;

/// Like [`page`], but the page also ends before its items' estimated sizes
/// (`size(i)`, in bytes of JSON) exceed `budget`; it always holds at least one
/// item, and the next cursor continues where it stopped.
pub fn page_within(
    key: &PageKey,
    cursor: Option<&str>,
    limit: usize,
    total: usize,
    budget: usize,
    size: impl Fn(usize) -> usize,
) -> Result<(std::ops::Range<usize>, Option<String>), CursorError> {
    let (range, _) = page(key, cursor, limit, total)?;
    let mut used = 0;
    let mut end = range.start;
    for i in range.clone() {
        used += size(i);
        if used > budget && end > range.start {
            break;
        }
        end = i + 1;
    }
    let next = (end < total).then(|| key.encode(end));
    Ok((range.start..end, next))
}

/// One page of `rows` within the response budget: the page's rows, the
/// total, and the next cursor.
pub fn page_rows<T: serde::Serialize + Clone>(
    rows: &[T],
    key: &PageKey,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, usize, Option<String>), CursorError> {
    let (range, next) = page_within(key, cursor, limit, rows.len(), RESPONSE_BUDGET, |i| {
        rows.get(i).map_or(0, crate::model::json_size)
    })?;
    Ok((rows[range].to_vec(), rows.len(), next))
}

/// One page of `total` items: the range to return and the next cursor.
pub fn page(
    key: &PageKey,
    cursor: Option<&str>,
    limit: usize,
    total: usize,
) -> Result<(std::ops::Range<usize>, Option<String>), CursorError> {
    let start = match cursor {
        Some(c) if !c.is_empty() => key.decode(c)?,
        _ => 0,
    };
    let start = start.min(total);
    let end = start.saturating_add(limit).min(total);
    let next = (end < total).then(|| key.encode(end));
    Ok((start..end, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_range_once() {
        let key = PageKey::new("tags=a", b"gen-1234");
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let (range, next) = page(&key, cursor.as_deref(), 3, 10).unwrap();
            seen.extend(range);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_budget_shortens_pages_without_losing_items() {
        let key = PageKey::new("q", b"g");
        let sizes = [10, 10, 50, 10, 10];
        let (r, next) = page_within(&key, None, 5, 5, 30, |i| sizes[i]).unwrap();
        assert_eq!(r, 0..2);
        // An item larger than the budget still comes alone.
        let (r, next) = page_within(&key, next.as_deref(), 5, 5, 30, |i| sizes[i]).unwrap();
        assert_eq!(r, 2..3);
        let (r, next) = page_within(&key, next.as_deref(), 5, 5, 30, |i| sizes[i]).unwrap();
        assert_eq!((r, next), (3..5, None));
    }

    #[test]
    fn foreign_and_stale_cursors_are_refused() {
        let key = PageKey::new("tags=a", b"gen-1234");
        let cursor = key.encode(5);
        let other_query = PageKey::new("tags=b", b"gen-1234");
        assert_eq!(
            other_query.decode(&cursor).unwrap_err().code(),
            "invalid-cursor"
        );
        let newer = PageKey::new("tags=a", b"gen-9999");
        assert_eq!(newer.decode(&cursor).unwrap_err().code(), "cursor-stale");
        assert_eq!(
            key.decode("not a cursor!").unwrap_err().code(),
            "invalid-cursor"
        );
        assert_eq!(key.decode(&cursor).unwrap(), 5);
    }
}
