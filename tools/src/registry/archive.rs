//! The vault artifact's single layer, a gzip'd tar
//! ([`VAULT_LAYER_MEDIA_TYPE`]) holding `access.sops.yaml` and `src-vault/`:
//! unpacking it safely and packing it deterministically.
//!
//! [`unpack`] treats the layer as hostile. Only regular files and
//! directories with plain relative names are written (no links, devices,
//! FIFOs, absolute names, `..`, `.` or empty components, backslashes, NUL
//! bytes, duplicates), each created by this module with `create_new` or a
//! single `mkdir` so nothing already in the destination is followed or
//! overwritten. Content is counted as it is read, and the decompressor
//! itself is bounded, so a gzip bomb stops at the limit instead of filling
//! the disk or memory. Modes, owners and times in the archive are ignored:
//! files are written 0600 and directories 0700.
//!
//! [`pack`] gives the same bytes for the same tree on any machine and any
//! run: entries sorted by path bytes, GNU headers with mtime 0, uid/gid 0,
//! no user or group names, mode 0644 for files and 0755 for directories,
//! gzip at a fixed level with mtime 0, no file name and the OS byte 255.
//! The compressed bytes also depend on the deflate implementation, which is
//! flate2's pure-Rust backend (miniz_oxide) at the version in Cargo.lock; a
//! test pins the digest of a known tree so that a change of either shows.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::echo::clip;
use crate::embedded::hex;
use crate::fsread::{self, Links, ReadError};
use crate::registry::RegistryError;

/// The media type of a vault artifact's layer.
pub const VAULT_LAYER_MEDIA_TYPE: &str = "application/vnd.ontoref.src-vault.v1.tar+gzip";

/// Decompressed bytes allowed per entry beyond its content: its 512-byte
/// header, up to 511 bytes of padding and a pax or GNU long-name record.
const ENTRY_OVERHEAD: u64 = 4096;

/// Decompressed bytes allowed beyond the entries: the end-of-archive blocks
/// and the padding of the last record (10 KiB for GNU tar and Python).
const STREAM_SLACK: u64 = 64 * 1024;

/// The longest file name component (Linux's `NAME_MAX`).
const MAX_COMPONENT: usize = 255;

/// Bounds on what an unpack may produce (and on what [`pack`] packs, with
/// the defaults, so that a packed vault always unpacks).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The total size of the files' content, in bytes.
    pub max_bytes: u64,
    /// The number of entries: files, directories and pax global headers.
    pub max_entries: usize,
    /// The number of components of a path (`src-vault/a.ncl` is 2).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 64 MiB of file content, 10 000 entries, 16 components deep.
    fn default() -> Limits {
        Limits {
            max_bytes: 64 << 20,
            max_entries: 10_000,
            max_depth: 16,
        }
    }
}

impl Limits {
    /// The most decompressed bytes an unpack reads: the content limit plus
    /// [`ENTRY_OVERHEAD`] per entry and [`STREAM_SLACK`]. It also bounds the
    /// memory the tar reader uses for pax and long-name records.
    pub fn stream_bytes(&self) -> u64 {
        let entries = u64::try_from(self.max_entries).unwrap_or(u64::MAX);
        self.max_bytes
            .saturating_add(entries.saturating_mul(ENTRY_OVERHEAD))
            .saturating_add(STREAM_SLACK)
    }
}

/// One unpacked (or packed) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path relative to the unpacked (or packed) root, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its content, lowercase hex.
    pub sha256: String,
}

/// Unpacks the gzip'd tar `layer` into `dest`, an existing, empty directory
/// (a fresh staging directory), within `limits`. `reference` names the
/// artifact in errors. Returns the files written, sorted by path.
///
/// Errors: [`RegistryError::UnsafePath`] for an entry that is not a plain
/// file or directory with a safe relative name,
/// [`RegistryError::TooLarge`] past a limit, [`RegistryError::Invalid`]
/// for data that is not a gzip'd tar (or is truncated, or names a path
/// twice), [`RegistryError::Io`] when `dest` cannot be written (or is not
/// empty).
///
/// On an error, `dest` may hold part of the layer (never more than the
/// limits, and never anything outside `dest`): the caller removes its
/// staging directory. `dest` must be private to the caller, as a staging
/// directory is: the files are created inside the directories this call
/// made, which another process able to write there could swap.
pub fn unpack(
    layer: &[u8],
    dest: &Path,
    reference: &str,
    limits: &Limits,
) -> Result<Vec<Entry>, RegistryError> {
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return Err(invalid(
            reference,
            "the layer is not gzip data (it does not start with the bytes 1f 8b)".to_owned(),
        ));
    }
    let mut listing = std::fs::read_dir(dest).map_err(|e| RegistryError::io("read", dest, &e))?;
    if listing.next().is_some() {
        return Err(RegistryError::Io {
            what: "unpack into",
            path: dest.display().to_string(),
            reason: "the directory is not empty".to_owned(),
        });
    }

    let over = Cell::new(false);
    let stream_limit = limits.stream_bytes();
    let stream_err = |e: io::Error| {
        if over.get() {
            RegistryError::TooLarge {
                reference: reference.to_owned(),
                what: "the decompressed layer".to_owned(),
                size: None,
                limit: stream_limit,
            }
        } else {
            invalid(
                reference,
                format!("the layer is not a valid gzip'd tar: {e}"),
            )
        }
    };
    let mut archive = tar::Archive::new(Bounded {
        inner: GzDecoder::new(layer),
        left: stream_limit,
        over: &over,
    });
    let mut unpacker = Unpacker {
        dest,
        reference,
        limits,
        seen: HashMap::new(),
        files: Vec::new(),
        bytes: 0,
        entries: 0,
    };
    for entry in archive.entries().map_err(stream_err)? {
        let mut entry = entry.map_err(stream_err)?;
        unpacker.entry(&mut entry, &stream_err)?;
    }
    // Read the rest of the stream (the end-of-archive padding), bounded
    // like the rest, so that gzip's length and CRC-32 are checked.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(stream_err)?;

    let mut files = unpacker.files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Packs the named top-level entries of `root` (e.g. `["access.sops.yaml",
/// "src-vault"]`, each one plain name) into a gzip'd tar, the same bytes
/// for the same tree whatever the files' times, modes and owners. Returns
/// the bytes and the files packed, sorted by path. `reference` names the
/// artifact in errors.
///
/// Errors: [`RegistryError::UnsafePath`] for a symbolic link, a special
/// file or a name that [`unpack`] would refuse; [`RegistryError::TooLarge`]
/// past [`Limits::default`] (which [`unpack`] would refuse too);
/// [`RegistryError::Io`] for an entry that cannot be read.
pub fn pack(
    root: &Path,
    include: &[&str],
    reference: &str,
) -> Result<(Vec<u8>, Vec<Entry>), RegistryError> {
    let mut walk = Walk {
        root,
        reference,
        limits: Limits::default(),
        items: BTreeMap::new(),
        bytes: 0,
    };
    let names: BTreeSet<&str> = include.iter().copied().collect();
    for name in names {
        if let Err(why) = check_component(name.as_bytes()) {
            return Err(unsafe_path(reference, name.as_bytes(), why));
        }
        walk.visit(name.to_owned(), 1)?;
    }

    let pack_err = |e: io::Error| invalid(reference, format!("cannot build the tar: {e}"));
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = Vec::new();
    for (path, item) in &walk.items {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match item {
            Item::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, io::empty())
                    .map_err(pack_err)?;
            }
            Item::File(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, data.as_slice())
                    .map_err(pack_err)?;
                files.push(Entry {
                    path: path.clone(),
                    size: data.len() as u64,
                    sha256: hex(&Sha256::digest(data)),
                });
            }
        }
    }
    let tar = builder.into_inner().map_err(pack_err)?;

    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(9));
    gz.write_all(&tar).map_err(pack_err)?;
    let bytes = gz.finish().map_err(pack_err)?;
    Ok((bytes, files))
}

/// A reader that gives at most `left` bytes and then fails (setting
/// `over`) if its source has more.
struct Bounded<'a, R> {
    inner: R,
    left: u64,
    over: &'a Cell<bool>,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over.set(true);
            return Err(io::Error::other("the decompressed layer is over its limit"));
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a path unpacked so far is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    File,
    /// A directory, `listed` if it had its own entry (else made as a parent).
    Dir {
        listed: bool,
    },
}

/// The state of one unpack.
struct Unpacker<'a> {
    dest: &'a Path,
    reference: &'a str,
    limits: &'a Limits,
    seen: HashMap<String, Seen>,
    files: Vec<Entry>,
    bytes: u64,
    entries: usize,
}

impl Unpacker<'_> {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        stream_err: &dyn Fn(io::Error) -> RegistryError,
    ) -> Result<(), RegistryError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(RegistryError::TooLarge {
                reference: self.reference.to_owned(),
                what: format!(
                    "its number of entries (more than {} entries)",
                    self.limits.max_entries
                ),
                size: None,
                limit: self.limits.max_entries as u64,
            });
        }
        let kind = entry.header().entry_type();
        let raw = entry.path_bytes().into_owned();
        let refuse = |why: &str| Err(unsafe_path(self.reference, &raw, why.to_owned()));
        let is_dir = match kind {
            tar::EntryType::Regular => false,
            tar::EntryType::Directory => true,
            // A pax global header (`git archive` writes one with the
            // commit): metadata for no file, skipped.
            tar::EntryType::XGlobalHeader => return Ok(()),
            tar::EntryType::Symlink => return refuse("it is a symbolic link"),
            tar::EntryType::Link => return refuse("it is a hard link"),
            tar::EntryType::Char => return refuse("it is a character device"),
            tar::EntryType::Block => return refuse("it is a block device"),
            tar::EntryType::Fifo => return refuse("it is a FIFO"),
            tar::EntryType::Continuous => return refuse("it is a contiguous file"),
            tar::EntryType::GNUSparse => return refuse("it is a sparse file"),
            other => {
                return refuse(&format!(
                    "its type `{}` is not a plain file or directory",
                    other.as_byte().escape_ascii()
                ));
            }
        };
        let path = match check_path(&raw, is_dir) {
            Ok(path) => path,
            Err(why) => return refuse(&why),
        };
        let depth = path.split('/').count();
        if depth > self.limits.max_depth {
            return Err(RegistryError::TooLarge {
                reference: self.reference.to_owned(),
                what: format!(
                    "the depth of `{}` ({depth} components, at most {})",
                    clip(&path),
                    self.limits.max_depth
                ),
                size: None,
                limit: self.limits.max_depth as u64,
            });
        }
        self.parents(&path)?;
        if is_dir {
            self.dir(path)
        } else {
            self.file(path, entry, stream_err)
        }
    }

    /// Makes the missing parent directories of `path`.
    fn parents(&mut self, path: &str) -> Result<(), RegistryError> {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            let parent = &path[..end];
            match self.seen.get(parent) {
                Some(Seen::Dir { .. }) => {}
                Some(Seen::File) => {
                    return Err(invalid(
                        self.reference,
                        format!(
                            "`{}` is under `{}`, which is a file",
                            clip(path),
                            clip(parent)
                        ),
                    ));
                }
                None => {
                    self.mkdir(parent)?;
                    self.seen
                        .insert(parent.to_owned(), Seen::Dir { listed: false });
                }
            }
            end += 1;
        }
        Ok(())
    }

    fn dir(&mut self, path: String) -> Result<(), RegistryError> {
        match self.seen.get_mut(&path) {
            Some(Seen::Dir { listed }) if !*listed => {
                *listed = true;
                Ok(())
            }
            Some(_) => Err(twice(self.reference, &path)),
            None => {
                self.mkdir(&path)?;
                self.seen.insert(path, Seen::Dir { listed: true });
                Ok(())
            }
        }
    }

    fn file<R: Read>(
        &mut self,
        path: String,
        entry: &mut tar::Entry<'_, R>,
        stream_err: &dyn Fn(io::Error) -> RegistryError,
    ) -> Result<(), RegistryError> {
        if self.seen.contains_key(&path) {
            return Err(twice(self.reference, &path));
        }
        let claimed = entry.size();
        let too_large = |size: u64| RegistryError::TooLarge {
            reference: self.reference.to_owned(),
            what: "the unpacked files".to_owned(),
            size: Some(size),
            limit: self.limits.max_bytes,
        };
        // The header's claim refuses early; the bytes read are counted too.
        if self.bytes.saturating_add(claimed) > self.limits.max_bytes {
            return Err(too_large(self.bytes.saturating_add(claimed)));
        }
        let target = self.dest.join(&path);
        let mut file =
            create_file(&target).map_err(|e| RegistryError::io("create", &target, &e))?;
        self.seen.insert(path.clone(), Seen::File);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            let n = entry.read(&mut buf).map_err(stream_err)?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if self.bytes.saturating_add(written) > self.limits.max_bytes {
                return Err(too_large(self.bytes.saturating_add(written)));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| RegistryError::io("write", &target, &e))?;
        }
        if written != claimed {
            return Err(invalid(
                self.reference,
                format!(
                    "`{}` is truncated: {written} of its {claimed} bytes",
                    clip(&path)
                ),
            ));
        }
        self.bytes += written;
        self.files.push(Entry {
            path,
            size: written,
            sha256: hex(&hasher.finalize()),
        });
        Ok(())
    }

    /// Makes one directory (never a parent chain, never an existing one).
    fn mkdir(&self, path: &str) -> Result<(), RegistryError> {
        let target = self.dest.join(path);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&target)
            .map_err(|e| RegistryError::io("create", &target, &e))
    }
}

/// Creates a new file, 0600, failing if anything (a link included) is
/// already there.
fn create_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        options.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    options.open(path)
}

/// Checks an entry's name and gives it without a directory's trailing `/`.
fn check_path(raw: &[u8], is_dir: bool) -> Result<String, String> {
    if raw.is_empty() {
        return Err("its name is empty".to_owned());
    }
    if raw.starts_with(b"/") {
        return Err("it is an absolute path".to_owned());
    }
    let trimmed = match raw.strip_suffix(b"/") {
        Some(rest) if is_dir => rest,
        Some(_) => return Err("a file's name ends with `/`".to_owned()),
        None => raw,
    };
    for component in trimmed.split(|b| *b == b'/') {
        check_component(component)?;
    }
    // Checked component by component above, so this is UTF-8.
    String::from_utf8(trimmed.to_vec()).map_err(|_| "its name is not UTF-8".to_owned())
}

/// Checks one path component: a plain name that stays where it is.
fn check_component(c: &[u8]) -> Result<(), String> {
    if c == b".." {
        return Err("it climbs out of the directory (`..`)".to_owned());
    }
    if c.is_empty() || c == b"." {
        return Err("it has an empty or `.` component".to_owned());
    }
    if c.contains(&0) {
        return Err("it contains a NUL byte".to_owned());
    }
    if c.contains(&b'\\') {
        return Err("it contains a backslash".to_owned());
    }
    if c.contains(&b'/') {
        return Err("it is not a single name".to_owned());
    }
    if c.len() > MAX_COMPONENT {
        return Err(format!("a component is longer than {MAX_COMPONENT} bytes"));
    }
    if std::str::from_utf8(c).is_err() {
        return Err("its name is not UTF-8".to_owned());
    }
    Ok(())
}

/// An entry's name as an error shows it: lossy UTF-8, control characters
/// escaped, cut by [`clip`].
fn shown(raw: &[u8]) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(raw).chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    clip(&out)
}

fn unsafe_path(reference: &str, raw: &[u8], why: String) -> RegistryError {
    RegistryError::UnsafePath {
        reference: reference.to_owned(),
        path: shown(raw),
        why,
    }
}

fn invalid(reference: &str, detail: String) -> RegistryError {
    RegistryError::Invalid {
        reference: reference.to_owned(),
        detail,
    }
}

fn twice(reference: &str, path: &str) -> RegistryError {
    invalid(
        reference,
        format!("`{}` appears twice in the layer", clip(path)),
    )
}

/// What [`pack`] packs under a path.
enum Item {
    Dir,
    File(Vec<u8>),
}

/// The state of one pack: the items found so far, sorted by path.
struct Walk<'a> {
    root: &'a Path,
    reference: &'a str,
    limits: Limits,
    items: BTreeMap<String, Item>,
    bytes: u64,
}

impl Walk<'_> {
    fn visit(&mut self, rel: String, depth: usize) -> Result<(), RegistryError> {
        if depth > self.limits.max_depth {
            return Err(RegistryError::TooLarge {
                reference: self.reference.to_owned(),
                what: format!(
                    "the depth of `{}` ({depth} components, at most {})",
                    clip(&rel),
                    self.limits.max_depth
                ),
                size: None,
                limit: self.limits.max_depth as u64,
            });
        }
        if self.items.len() >= self.limits.max_entries {
            return Err(RegistryError::TooLarge {
                reference: self.reference.to_owned(),
                what: format!(
                    "its number of entries (more than {} entries)",
                    self.limits.max_entries
                ),
                size: None,
                limit: self.limits.max_entries as u64,
            });
        }
        let path = self.root.join(&rel);
        let meta =
            std::fs::symlink_metadata(&path).map_err(|e| RegistryError::io("read", &path, &e))?;
        if meta.is_dir() {
            self.items.insert(rel.clone(), Item::Dir);
            let listing =
                std::fs::read_dir(&path).map_err(|e| RegistryError::io("read", &path, &e))?;
            for child in listing {
                let child = child.map_err(|e| RegistryError::io("read", &path, &e))?;
                let name = child.file_name();
                let name = name.as_encoded_bytes();
                if let Err(why) = check_component(name) {
                    return Err(unsafe_path(
                        self.reference,
                        format!("{rel}/{}", String::from_utf8_lossy(name)).as_bytes(),
                        why,
                    ));
                }
                let child_rel = format!("{rel}/{}", String::from_utf8_lossy(name));
                self.visit(child_rel, depth + 1)?;
            }
            return Ok(());
        }
        if !meta.is_file() {
            return Err(unsafe_path(
                self.reference,
                rel.as_bytes(),
                format!(
                    "it is {}; only plain files and directories are packed",
                    fsread::kind_of(&meta)
                ),
            ));
        }
        let left = self.limits.max_bytes - self.bytes;
        let data = fsread::read(&path, left, Links::Refuse).map_err(|e| match e {
            ReadError::NotRegular { kind } => unsafe_path(
                self.reference,
                rel.as_bytes(),
                format!("it is {kind}; only plain files and directories are packed"),
            ),
            ReadError::TooLarge { size, .. } => RegistryError::TooLarge {
                reference: self.reference.to_owned(),
                what: "the files to pack".to_owned(),
                size: Some(self.bytes.saturating_add(size)),
                limit: self.limits.max_bytes,
            },
            ReadError::NotFound => RegistryError::Io {
                what: "read",
                path: path.display().to_string(),
                reason: "no such file".to_owned(),
            },
            ReadError::Io(e) => RegistryError::io("read", &path, &e),
        })?;
        self.bytes += data.len() as u64;
        self.items.insert(rel, Item::File(data));
        Ok(())
    }
}
