//! Bounded reads of untrusted files: every file ontoref reads (knowledge
//! files, cache entries, SOPS files, keys, the token file, the audit log)
//! goes through here.
//!
//! A read opens the file without blocking (a FIFO would otherwise block the
//! `open` until a writer appears), checks on the open descriptor that it is
//! a regular file and that its size is within the caller's limit, and then
//! reads at most `limit + 1` bytes, so a file that grows while it is read is
//! still refused instead of filling memory. `/dev/zero`, FIFOs, sockets,
//! devices and directories are named errors, never reads.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No such file.
    #[error("no such file")]
    NotFound,
    /// Not a regular file: a directory, FIFO, socket, device or (when links
    /// are refused) a symbolic link.
    #[error("is {kind}, not a regular file")]
    NotRegular {
        /// What it is, with its article: `a FIFO`, `a directory`, …
        kind: &'static str,
    },
    /// Larger than the caller reads.
    #[error("is {size} bytes, more than the {max} bytes ontoref reads")]
    TooLarge {
        /// The size seen (at least `max + 1` when the file grew while read).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The operating system refused.
    #[error("{0}")]
    Io(std::io::Error),
}

impl ReadError {
    fn from_open(e: std::io::Error) -> ReadError {
        match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            _ if is_loop(&e) => ReadError::NotRegular {
                kind: "a symbolic link",
            },
            _ => ReadError::Io(e),
        }
    }
}

#[cfg(unix)]
fn is_loop(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_loop(_: &std::io::Error) -> bool {
    false
}

/// Whether a symbolic link as the last component is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (knowledge files may be links inside the project).
    Follow,
    /// Refuse it (`O_NOFOLLOW`): files in directories ontoref owns.
    Refuse,
}

/// What a non-regular file is, for messages.
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Opens `path` for reading without blocking and checks that it is a
/// regular file of at most `max` bytes.
pub fn open_regular(path: &Path, max: u64, links: Links) -> Result<(File, Metadata), ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if links == Links::Refuse {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = options.open(path).map_err(ReadError::from_open)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(&meta),
        });
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    Ok((file, meta))
}

/// Reads a regular file of at most `max` bytes.
pub fn read(path: &Path, max: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    read_into(path, max, links, &mut buf)?;
    Ok(buf)
}

/// Reads a regular file of at most `max` bytes into `buf` (cleared first),
/// reserving its whole size up front so that secret bytes are never left
/// behind in a buffer that grew and was freed: pass a zeroizing buffer for
/// key material.
pub fn read_into(path: &Path, max: u64, links: Links, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    let (file, meta) = open_regular(path, max, links)?;
    buf.clear();
    // The size was checked against `max`, so it fits in memory as asked.
    let want = usize::try_from(meta.len().min(max)).unwrap_or(0);
    buf.reserve_exact(want.saturating_add(1));
    file.take(max.saturating_add(1))
        .read_to_end(buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > max {
        return Err(ReadError::TooLarge {
            size: buf.len() as u64,
            max,
        });
    }
    Ok(())
}

/// Reads a regular file of at most `max` bytes into 8-aligned memory (for
/// documents read where they lie, see `packed`): the words, zero-padded,
/// and the file's length in bytes. A file whose size changes while it is
/// read is refused.
pub fn read_aligned(path: &Path, max: u64, links: Links) -> Result<(Vec<u64>, usize), ReadError> {
    let (mut file, meta) = open_regular(path, max, links)?;
    // The size was checked against `max`, so it fits in memory as asked.
    let len = usize::try_from(meta.len()).map_err(|_| ReadError::TooLarge {
        size: meta.len(),
        max,
    })?;
    let mut words = vec![0u64; len.div_ceil(8)];
    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len];
    file.read_exact(bytes).map_err(ReadError::Io)?;
    let mut more = [0u8; 1];
    if file.read(&mut more).map_err(ReadError::Io)? != 0 {
        return Err(ReadError::Io(std::io::Error::other(
            "the file grew while it was read",
        )));
    }
    Ok((words, len))
}

/// A regular file mapped read-only: its bytes where the page cache holds
/// them, page-aligned (so 8-aligned for `packed` documents).
#[derive(Debug)]
pub struct Mapped(memmap2::Mmap);

impl Mapped {
    /// Every byte of the file as mapped.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Maps a regular file of `min` to `max` bytes (a symbolic link refused),
/// when nothing but this process's user could shorten it while it is
/// mapped: the file is owned by this user and writable by no one else.
/// `Ok(None)` when it is not such a file, or smaller than `min` (read it
/// instead).
///
/// For files ontoref writes itself and only ever replaces by renaming a
/// new file over them (the disk cache): a mapping keeps the inode it was
/// made from, so a replacement does not touch it, and only a truncation of
/// that very inode, by this user outside ontoref, could make a read of it
/// fail (with `SIGBUS`).
#[cfg(unix)]
pub fn map_own(path: &Path, min: u64, max: u64) -> Result<Option<Mapped>, ReadError> {
    use crate::private::{Mode, owned};
    let (file, meta) = open_regular(path, max, Links::Refuse)?;
    if owned(&meta, path, Mode::NoForeignWrites).is_err() || meta.len() < min.max(1) {
        return Ok(None);
    }
    // SAFETY: the mapping is read-only; the file is regular, owned by this
    // user and writable by no one else, and the files this is used for are
    // never written in place (see above), so its length does not change
    // under the mapping.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(ReadError::Io)?;
    if map.len() as u64 != meta.len() {
        return Err(ReadError::Io(std::io::Error::other(
            "the file changed size while it was mapped",
        )));
    }
    Ok(Some(Mapped(map)))
}

/// Elsewhere than on Unix, files are read (see [`read_aligned`]).
#[cfg(not(unix))]
pub fn map_own(_path: &Path, _min: u64, _max: u64) -> Result<Option<Mapped>, ReadError> {
    Ok(None)
}

/// Reads a regular UTF-8 text file of at most `max` bytes.
pub fn read_text(path: &Path, max: u64, links: Links) -> Result<String, ReadError> {
    let bytes = read(path, max, links)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_within_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read(&f, 5, Links::Follow).unwrap(), b"hello");
        assert!(matches!(
            read(&f, 4, Links::Follow),
            Err(ReadError::TooLarge { size: 5, max: 4 })
        ));
        assert!(matches!(
            read(&tmp.path().join("missing"), 4, Links::Follow),
            Err(ReadError::NotFound)
        ));
    }

    #[test]
    fn aligned_reads_hold_the_bytes_and_their_length() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, b"0123456789").unwrap();
        let (words, len) = read_aligned(&f, 10, Links::Refuse).unwrap();
        assert_eq!(len, 10);
        assert_eq!(words.len(), 2);
        assert_eq!(
            &bytemuck::cast_slice::<u64, u8>(&words)[..len],
            b"0123456789"
        );
        assert!(matches!(
            read_aligned(&f, 9, Links::Refuse),
            Err(ReadError::TooLarge { size: 10, max: 9 })
        ));
        let err = read_aligned(tmp.path(), 1 << 20, Links::Follow).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[test]
    fn directories_devices_and_fifos_are_named_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let err = read(tmp.path(), 1 << 20, Links::Follow).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        #[cfg(unix)]
        {
            let err = read(Path::new("/dev/zero"), 1 << 20, Links::Follow).unwrap_err();
            assert!(err.to_string().contains("a character device"), "{err}");
            let fifo = tmp.path().join("fifo");
            let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            // Opening a FIFO with no writer would block without O_NONBLOCK.
            let err = read(&fifo, 1 << 20, Links::Follow).unwrap_err();
            assert!(err.to_string().contains("a FIFO"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_when_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read(&link, 10, Links::Follow).unwrap(), b"x");
        let err = read(&link, 10, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn only_own_files_no_one_else_can_write_are_mapped() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("entry");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&f, &bytes).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let map = map_own(&f, 1, 1 << 20).unwrap().expect("mapped");
        assert_eq!(map.bytes(), &bytes[..]);
        assert_eq!(map.bytes().as_ptr().align_offset(8), 0);
        // Smaller than asked, or larger than allowed.
        assert!(map_own(&f, 100_001, 1 << 20).unwrap().is_none());
        assert!(matches!(
            map_own(&f, 1, 99_999),
            Err(ReadError::TooLarge { .. })
        ));
        // Writable by the group or others: read it instead.
        for mode in [0o620, 0o602] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(map_own(&f, 1, 1 << 20).unwrap().is_none(), "{mode:o}");
        }
        // Someone else's file (checked when the tests run as root, who can
        // give one away).
        if crate::private::euid() == 0 {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::os::unix::fs::chown(&f, Some(54_321), None).unwrap();
            assert!(map_own(&f, 1, 1 << 20).unwrap().is_none());
        }
        // Empty: nothing to map.
        let empty = tmp.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(map_own(&empty, 0, 1 << 20).unwrap().is_none());
        // A link is refused, as for every file in a directory ontoref owns.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let err = map_own(&link, 1, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
