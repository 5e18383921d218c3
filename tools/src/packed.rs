//! Packed documents: a document laid out as sections of bytes, `u32`s and
//! `f32`s that a reader uses where they lie, without decoding them.
//!
//! What the disk cache keeps for a large document (the Q&A store with its
//! search index): a fresh process reads the entry and answers its first call
//! from those bytes, instead of decoding megabytes into owned values first.
//!
//! Layout, little-endian, every section 8-aligned from the start:
//!
//! ```text
//! "ONTPACK1"  u32 section count  u32 0
//! count × (u64 offset, u64 length)     offsets from the start, in bytes
//! sections…
//! ```
//!
//! Written here rather than with rkyv or zerocopy's derives: the store is a
//! handful of flat arrays, and a reader that checks the section table once
//! and then only takes bounds-checked slices of it needs neither unsafe code
//! nor a validation pass over every value.

use std::ops::Range;
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"ONTPACK1";

/// Builds a packed document, section after section.
#[derive(Debug, Default)]
pub struct PackWriter {
    data: Vec<u8>,
    sections: Vec<(u64, u64)>,
}

impl PackWriter {
    /// An empty writer.
    pub fn new() -> PackWriter {
        PackWriter::default()
    }

    fn push(&mut self, bytes: impl IntoIterator<Item = u8>) -> usize {
        while !self.data.len().is_multiple_of(8) {
            self.data.push(0);
        }
        let start = self.data.len();
        self.data.extend(bytes);
        self.sections
            .push((start as u64, (self.data.len() - start) as u64));
        self.sections.len() - 1
    }

    /// Adds a section of bytes; returns its number.
    pub fn bytes(&mut self, data: &[u8]) -> usize {
        self.push(data.iter().copied())
    }

    /// Adds a section of `u32`s; returns its number.
    pub fn u32s(&mut self, data: &[u32]) -> usize {
        self.push(data.iter().flat_map(|v| v.to_le_bytes()))
    }

    /// Adds a section of `f32`s; returns its number.
    pub fn f32s(&mut self, data: &[f32]) -> usize {
        self.push(data.iter().flat_map(|v| v.to_le_bytes()))
    }

    /// The packed bytes.
    pub fn finish(self) -> Vec<u8> {
        let table = 16 + 16 * self.sections.len();
        let table = table.next_multiple_of(8);
        let mut out = Vec::with_capacity(table + self.data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for (offset, len) in &self.sections {
            out.extend_from_slice(&(offset + table as u64).to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        out.resize(table, 0);
        out.extend_from_slice(&self.data);
        out
    }
}

/// Bytes that stay put while a packed document is read: a shared buffer of
/// 8-aligned words, or a mapped file.
#[derive(Debug, Clone)]
pub enum Backing {
    /// Read into memory (the words as read: sharing them copies nothing).
    Heap(Arc<Vec<u64>>),
    /// A file mapped where the page cache holds it (see `fsread::map_own`).
    Mapped(Arc<crate::fsread::Mapped>),
}

impl Backing {
    /// Every byte.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Backing::Heap(words) => bytemuck::cast_slice(words),
            Backing::Mapped(map) => map.bytes(),
        }
    }

    /// A heap backing holding a copy of `bytes`.
    pub fn copy_of(bytes: &[u8]) -> Backing {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Backing::from_words(words)
    }

    /// A heap backing over words already read (see `fsread::read_aligned`),
    /// without copying them.
    pub fn from_words(words: Vec<u64>) -> Backing {
        Backing::Heap(Arc::new(words))
    }
}

/// A packed document: its backing, where it starts in it, and its section
/// table, checked once.
#[derive(Debug, Clone)]
pub struct Packed {
    backing: Backing,
    range: Range<usize>,
    sections: Vec<Range<usize>>,
}

/// Why bytes are not a packed document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a packed document: {0}")]
pub struct NotPacked(&'static str);

impl Packed {
    /// Reads the section table of the document at `range` of `backing`;
    /// every section must lie inside that range, 8-aligned.
    pub fn open(backing: Backing, range: Range<usize>) -> Result<Packed, NotPacked> {
        if cfg!(target_endian = "big") {
            return Err(NotPacked(
                "written little-endian, read on a big-endian host",
            ));
        }
        let all = backing.bytes();
        let doc = all.get(range.clone()).ok_or(NotPacked("out of its file"))?;
        if doc.as_ptr().align_offset(8) != 0 {
            return Err(NotPacked("not 8-aligned in memory"));
        }
        let rest = doc.strip_prefix(MAGIC).ok_or(NotPacked("no magic"))?;
        let count = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(NotPacked("no section count"))? as usize;
        let table = rest.get(8..).ok_or(NotPacked("no section table"))?;
        if count > table.len() / 16 {
            return Err(NotPacked("section table cut"));
        }
        let mut sections = Vec::with_capacity(count);
        for entry in table.chunks_exact(16).take(count) {
            let (offset, len) = entry.split_at(8);
            let offset = u64::from_le_bytes(offset.try_into().map_err(|_| NotPacked("entry"))?);
            let len = u64::from_le_bytes(len.try_into().map_err(|_| NotPacked("entry"))?);
            let start = usize::try_from(offset).map_err(|_| NotPacked("offset"))?;
            let end =
                usize::try_from(offset.saturating_add(len)).map_err(|_| NotPacked("length"))?;
            if start % 8 != 0 || end > doc.len() || start > end {
                return Err(NotPacked("a section lies outside the document"));
            }
            sections.push(range.start + start..range.start + end);
        }
        Ok(Packed {
            backing,
            range,
            sections,
        })
    }

    /// The whole document's bytes, as [`PackWriter::finish`] gave them.
    pub fn doc_bytes(&self) -> &[u8] {
        self.backing.bytes().get(self.range.clone()).unwrap_or(&[])
    }

    /// Number of sections.
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// Whether it has no section.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Section `i` as bytes; empty when absent.
    pub fn bytes(&self, i: usize) -> &[u8] {
        self.sections
            .get(i)
            .and_then(|r| self.backing.bytes().get(r.clone()))
            .unwrap_or(&[])
    }

    /// Section `i` as `u32`s; `None` when absent or not a whole number of them.
    pub fn u32s(&self, i: usize) -> Option<&[u32]> {
        bytemuck::try_cast_slice(self.bytes(i)).ok()
    }

    /// Section `i` as `f32`s; `None` when absent or not a whole number of them.
    pub fn f32s(&self, i: usize) -> Option<&[f32]> {
        bytemuck::try_cast_slice(self.bytes(i)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_back_where_they_lie() {
        let mut w = PackWriter::new();
        let a = w.bytes(b"hello");
        let b = w.u32s(&[1, 2, u32::MAX]);
        let c = w.f32s(&[0.5, -1.25]);
        let d = w.bytes(b"");
        let bytes = w.finish();
        let p = Packed::open(Backing::copy_of(&bytes), 0..bytes.len()).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.bytes(a), b"hello");
        assert_eq!(p.u32s(b), Some(&[1, 2, u32::MAX][..]));
        assert_eq!(p.f32s(c), Some(&[0.5, -1.25][..]));
        assert_eq!(p.bytes(d), b"");
        assert_eq!(p.bytes(9), b"");
        // Five bytes are not a whole number of u32s.
        assert_eq!(p.u32s(a), None);
    }

    #[test]
    fn a_document_inside_a_larger_buffer_is_read_at_its_offset() {
        let mut w = PackWriter::new();
        let s = w.u32s(&[7, 8]);
        let doc = w.finish();
        let mut file = vec![0xAAu8; 24];
        file.extend_from_slice(&doc);
        file.extend_from_slice(b"trailing");
        let p = Packed::open(Backing::copy_of(&file), 24..24 + doc.len()).unwrap();
        assert_eq!(p.u32s(s), Some(&[7, 8][..]));
    }

    #[test]
    fn damaged_tables_are_refused_not_read() {
        let mut w = PackWriter::new();
        w.u32s(&[1, 2, 3]);
        let good = w.finish();
        let open = |bytes: &[u8]| Packed::open(Backing::copy_of(bytes), 0..bytes.len());
        assert!(open(&good).is_ok());
        assert!(open(b"ONTPACK").is_err());
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert!(open(&bad_magic).is_err());
        // A section length running past the end.
        let mut long = good.clone();
        long[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(open(&long).is_err());
        // A misaligned section offset.
        let mut skew = good.clone();
        let offset = u64::from_le_bytes(skew[16..24].try_into().unwrap()) + 1;
        skew[16..24].copy_from_slice(&offset.to_le_bytes());
        assert!(open(&skew).is_err());
        // More sections announced than the table holds.
        let mut many = good.clone();
        many[8..12].copy_from_slice(&1000u32.to_le_bytes());
        assert!(open(&many).is_err());
        // Cut short.
        assert!(open(&good[..good.len() - 1]).is_err());
        // Out of the backing.
        assert!(Packed::open(Backing::copy_of(&good), 0..good.len() + 8).is_err());
    }
}
