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
use crate::fsread::{self, Links, ReadError};
use crate::hex::encode as hex;
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
    /// 4 KiB per entry (its header, padding and a pax or long-name record)
    /// and 64 KiB for the end of the archive. It also bounds the memory the
    /// tar reader uses for pax and long-name records.
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
            what: "the content of the unpacked files".to_owned(),
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
                what: "the content of the files to pack".to_owned(),
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::process::Command;

    const REF: &str = "127.0.0.1:5000/vaults/acme:latest";

    /// Runs an inline Python script (the independent tar writer and reader)
    /// with `args`, and gives its standard output.
    fn python(script: &str, args: &[&str]) -> String {
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("python3 prints UTF-8")
    }

    fn s(p: &Path) -> &str {
        p.to_str().expect("a UTF-8 temporary path")
    }

    /// A fresh empty destination directory under `tmp`.
    fn fresh_dest(tmp: &Path) -> PathBuf {
        let dest = tmp.join("dest");
        std::fs::create_dir(&dest).expect("create dest");
        dest
    }

    /// Everything under `dir`: relative path → content (`None` for a
    /// directory).
    fn tree(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
            for child in std::fs::read_dir(dir).expect("read_dir") {
                let path = child.expect("entry").path();
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_str()
                    .expect("UTF-8")
                    .to_owned();
                let meta = std::fs::symlink_metadata(&path).expect("metadata");
                if meta.is_dir() {
                    out.insert(rel, None);
                    walk(root, &path, out);
                } else {
                    assert!(meta.is_file(), "{rel} is not a plain file");
                    out.insert(rel, Some(std::fs::read(&path).expect("read")));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// The bytes of all the files under `dir`.
    fn bytes_on_disk(dir: &Path) -> u64 {
        tree(dir).values().flatten().map(|d| d.len() as u64).sum()
    }

    fn sha(data: &[u8]) -> String {
        hex(&Sha256::digest(data))
    }

    /// Writes a vault tree as an admin has it, plus a file that is not
    /// packed.
    fn make_vault(root: &Path) {
        let files: [(&str, &[u8]); 5] = [
            (
                "access.sops.yaml",
                b"registry: acme\nsops: ENC[AES256_GCM,data:x]\n",
            ),
            ("src-vault/scope.ncl", b"{ scope = 'dev }\n"),
            (
                "src-vault/registry/a.sops.yaml",
                b"password: ENC[AES256_GCM,data:y]\n",
            ),
            (
                LONG,
                b"a path over the 100 bytes of a tar header's name field\n",
            ),
            ("other.txt", b"not in the vault\n"),
        ];
        for (name, data) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, data).expect("write");
        }
        std::fs::create_dir(root.join("src-vault/empty")).expect("mkdir empty");
    }

    /// A path longer than a tar header's 100-byte name field.
    const LONG: &str = "src-vault/long-directory-name/long-directory-name/long-directory-name/\
                        long-directory-name/long-directory-name/deep.sops.yaml";

    const INCLUDE: [&str; 2] = ["access.sops.yaml", "src-vault"];

    /// Builds a vault tree under `argv[1]/<format>` and archives it with
    /// Python's `tarfile` (`add`, so with the real modes, owners and times)
    /// as `argv[2]/<format>.tar.gz`, in the pax (with a global header) and
    /// the GNU formats (long names as `././@LongLink`); prints
    /// `{path: [size, sha256]}` of its files.
    const PY_NORMAL: &str = r#"
import hashlib, json, os, sys, tarfile
srcs, outs = sys.argv[1], sys.argv[2]
long = "src-vault/" + "long-directory-name/" * 6 + "deep.sops.yaml"
files = {
    "access.sops.yaml": b"registry: acme\n",
    "src-vault/scope.ncl": b"{ scope = 'dev }\n",
    "src-vault/registry/a.sops.yaml": b"password: ENC[AES256_GCM,data:y]\n" * 50,
    "src-vault/caf\u00e9.ncl": b"{}\n",
    "src-vault/empty.ncl": b"",
    long: bytes(range(256)) * 40,
}
for fmt, format in [("pax", tarfile.PAX_FORMAT), ("gnu", tarfile.GNU_FORMAT)]:
    src = os.path.join(srcs, fmt)
    os.makedirs(os.path.join(src, "src-vault", "empty-dir"))
    for name, data in files.items():
        path = os.path.join(src, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    os.chmod(os.path.join(src, "src-vault", "scope.ncl"), 0o4755)
    os.chmod(os.path.join(src, "src-vault", "registry"), 0o777)
    # The pax one starts with a global header, as `git archive` writes.
    extra = {"pax_headers": {"comment": "a commit id"}} if fmt == "pax" else {}
    with tarfile.open(os.path.join(outs, fmt + ".tar.gz"), "w:gz", format=format, **extra) as t:
        t.add(os.path.join(src, "access.sops.yaml"), arcname="access.sops.yaml")
        t.add(os.path.join(src, "src-vault"), arcname="src-vault")
print(json.dumps({n: [len(d), hashlib.sha256(d).hexdigest()] for n, d in files.items()}))
"#;

    #[test]
    fn a_python_archive_unpacks_with_its_contents() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (srcs, outs) = (tmp.path().join("src"), tmp.path().join("layers"));
        std::fs::create_dir(&outs).expect("mkdir");
        let printed = python(PY_NORMAL, &[s(&srcs), s(&outs)]);
        let expected: BTreeMap<String, (u64, String)> =
            serde_json::from_str(&printed).expect("JSON");
        for fmt in ["pax", "gnu"] {
            let src = srcs.join(fmt);
            let layer = std::fs::read(outs.join(format!("{fmt}.tar.gz"))).expect("read layer");
            let dest = tmp.path().join(format!("dest-{fmt}"));
            std::fs::create_dir(&dest).expect("mkdir");

            let entries = unpack(&layer, &dest, REF, &Limits::default()).expect("unpacks");

            let want: Vec<Entry> = expected
                .iter()
                .map(|(path, (size, sha256))| Entry {
                    path: path.clone(),
                    size: *size,
                    sha256: sha256.clone(),
                })
                .collect();
            assert_eq!(
                entries, want,
                "{fmt}: the entries, sorted, with Python's sha256"
            );
            let on_disk = tree(&dest);
            for (path, content) in &on_disk {
                let meta = std::fs::symlink_metadata(dest.join(path)).expect("metadata");
                let mode = meta.permissions().mode() & 0o7777;
                match content {
                    Some(data) => {
                        assert_eq!(data, &std::fs::read(src.join(path)).expect("source"));
                        assert_eq!(
                            mode, 0o600,
                            "{fmt}: {path} is 0600 whatever the archive said"
                        );
                    }
                    None => assert_eq!(mode, 0o700, "{fmt}: {path} is 0700"),
                }
            }
            let files: BTreeSet<&String> = on_disk
                .iter()
                .filter(|(_, c)| c.is_some())
                .map(|(p, _)| p)
                .collect();
            assert_eq!(files, expected.keys().collect(), "{fmt}: no other file");
            assert_eq!(
                on_disk.get("src-vault/empty-dir"),
                Some(&None),
                "{fmt}: an empty directory survives"
            );
        }
    }

    /// Writes `argv[1]/<case>.tar.gz` for each case: `ok.txt`, then one
    /// hostile entry.
    const PY_HOSTILE: &str = r#"
import io, os, sys, tarfile
def file(t, name, data=b"x", pax=None):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    if pax:
        i.pax_headers = pax
    t.addfile(i, io.BytesIO(data))
def special(t, name, kind, **fields):
    i = tarfile.TarInfo(name)
    i.type = kind
    for k, v in fields.items():
        setattr(i, k, v)
    t.addfile(i)
cases = {
    "dotdot": lambda t: file(t, "../escaped"),
    "dotdot-deep": lambda t: file(t, "a/../../escaped"),
    "absolute": lambda t: file(t, "/tmp/ontoref-archive-test-absolute"),
    "backslash": lambda t: file(t, "..\\escaped"),
    "nul": lambda t: file(t, "nul", pax={"path": "a\x00b"}),
    "empty": lambda t: file(t, ""),
    "dot": lambda t: file(t, "./x"),
    "symlink": lambda t: special(t, "link", tarfile.SYMTYPE, linkname="/etc/passwd"),
    "hardlink": lambda t: special(t, "hard", tarfile.LNKTYPE, linkname="ok.txt"),
    "chardev": lambda t: special(t, "null", tarfile.CHRTYPE, devmajor=1, devminor=3),
    "blockdev": lambda t: special(t, "sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
    "fifo": lambda t: special(t, "fifo", tarfile.FIFOTYPE),
    "duplicate": lambda t: file(t, "ok.txt", b"overwritten"),
    "under-a-file": lambda t: file(t, "ok.txt/x"),
}
for case, add in cases.items():
    with tarfile.open(os.path.join(sys.argv[1], case + ".tar.gz"), "w:gz",
                      format=tarfile.PAX_FORMAT) as t:
        file(t, "ok.txt")
        add(t)
"#;

    #[test]
    fn hostile_entries_are_refused() {
        let cases = [
            ("dotdot", "artifact-unsafe-path"),
            ("dotdot-deep", "artifact-unsafe-path"),
            ("absolute", "artifact-unsafe-path"),
            ("backslash", "artifact-unsafe-path"),
            ("nul", "artifact-unsafe-path"),
            ("empty", "artifact-unsafe-path"),
            ("dot", "artifact-unsafe-path"),
            ("symlink", "artifact-unsafe-path"),
            ("hardlink", "artifact-unsafe-path"),
            ("chardev", "artifact-unsafe-path"),
            ("blockdev", "artifact-unsafe-path"),
            ("fifo", "artifact-unsafe-path"),
            ("duplicate", "artifact-invalid"),
            ("under-a-file", "artifact-invalid"),
        ];
        let layers = tempfile::tempdir().expect("tempdir");
        python(PY_HOSTILE, &[s(layers.path())]);
        for (case, code) in cases {
            let layer =
                std::fs::read(layers.path().join(format!("{case}.tar.gz"))).expect("read layer");
            let tmp = tempfile::tempdir().expect("tempdir");
            let dest = fresh_dest(tmp.path());

            let err = unpack(&layer, &dest, REF, &Limits::default()).expect_err(case);

            assert_eq!(err.code(), code, "{case}: {err}");
            let shown = match case {
                "dotdot" => "`../escaped`",
                "nul" => "`a\\u{0}b`",
                "symlink" => "`link`",
                _ => "",
            };
            assert!(err.to_string().contains(shown), "{case}: {err}");
            assert!(
                err.to_string().starts_with(REF),
                "{case}: names the artifact: {err}"
            );
            let outside: Vec<String> = std::fs::read_dir(tmp.path())
                .expect("read tmp")
                .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
                .collect();
            assert_eq!(outside, ["dest"], "{case}: nothing escaped");
            assert!(!Path::new("/tmp/ontoref-archive-test-absolute").exists());
            let inside = tree(&dest);
            assert_eq!(
                inside.get("ok.txt"),
                Some(&Some(b"x".to_vec())),
                "{case}: the earlier file is kept as it was"
            );
            assert_eq!(
                inside.len(),
                1,
                "{case}: nothing of the hostile entry: {inside:?}"
            );
        }
    }

    /// Writes `argv[1]/<case>.tar.gz` for each gzip bomb, each a few KiB
    /// compressed (gzip level 9, the zeros streamed).
    const PY_BOMB: &str = r#"
import gzip, io, os, sys, tarfile
MiB = 1 << 20
class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n
def zeros(t, name, n):
    i = tarfile.TarInfo(name)
    i.size = n
    t.addfile(i, io.BufferedReader(Zeros(n)))
def out(case):
    return os.path.join(sys.argv[1], case + ".tar.gz")
with gzip.open(out("trailing"), "wb", compresslevel=9) as g:
    with tarfile.open(fileobj=g, mode="w") as t:
        zeros(t, "ok.txt", 1)
    for _ in range(8):
        g.write(bytes(MiB))
with tarfile.open(out("one-file"), "w:gz", compresslevel=9) as t:
    zeros(t, "zeros", 8 * MiB)
with tarfile.open(out("many-files"), "w:gz", compresslevel=9) as t:
    for n in range(3):
        zeros(t, f"zeros-{n}", MiB // 2)
with tarfile.open(out("pax-record"), "w:gz", compresslevel=9, format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("p")
    i.pax_headers = {"comment": "0" * (8 * MiB)}
    t.addfile(i, io.BytesIO())
"#;

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_entries: 16,
            max_depth: 16,
        };
        let layers = tempfile::tempdir().expect("tempdir");
        python(PY_BOMB, &[s(layers.path())]);
        for (case, what, limit) in [
            (
                "one-file",
                "the content of the unpacked files",
                limits.max_bytes,
            ),
            (
                "many-files",
                "the content of the unpacked files",
                limits.max_bytes,
            ),
            (
                "pax-record",
                "the decompressed layer",
                limits.stream_bytes(),
            ),
            ("trailing", "the decompressed layer", limits.stream_bytes()),
        ] {
            let layer =
                std::fs::read(layers.path().join(format!("{case}.tar.gz"))).expect("read layer");
            assert!(
                layer.len() < 64 << 10,
                "{case}: a bomb ({} bytes)",
                layer.len()
            );
            let tmp = tempfile::tempdir().expect("tempdir");
            let dest = fresh_dest(tmp.path());

            let err = unpack(&layer, &dest, REF, &limits).expect_err(case);

            assert_eq!(err.code(), "artifact-too-large", "{case}: {err}");
            match &err {
                RegistryError::TooLarge {
                    what: w, limit: l, ..
                } => assert_eq!((w.as_str(), *l), (what, limit), "{case}"),
                other => panic!("{case}: {other:?}"),
            }
            let written = bytes_on_disk(&dest);
            assert!(
                written <= limits.max_bytes,
                "{case}: {written} bytes written"
            );
        }
    }

    /// Writes `argv[1]/entries-N.tar.gz` (N one-byte files) and
    /// `argv[1]/depth-N.tar.gz` (one file N components deep).
    const PY_COUNT: &str = r#"
import io, os, sys, tarfile
for kind, n in [("entries", 5), ("entries", 6), ("depth", 3), ("depth", 4)]:
    if kind == "entries":
        names = [f"f{k}" for k in range(n)]
    else:
        names = ["/".join(["d"] * (n - 1) + ["f"])]
    with tarfile.open(os.path.join(sys.argv[1], f"{kind}-{n}.tar.gz"), "w:gz") as t:
        for name in names:
            i = tarfile.TarInfo(name)
            i.size = 1
            t.addfile(i, io.BytesIO(b"x"))
"#;

    #[test]
    fn too_many_entries_or_too_deep_is_too_large() {
        let limits = Limits {
            max_entries: 5,
            max_depth: 3,
            ..Limits::default()
        };
        let layers = tempfile::tempdir().expect("tempdir");
        python(PY_COUNT, &[s(layers.path())]);
        for (case, unpacked) in [
            ("entries-5", Some(5)),
            ("entries-6", None),
            ("depth-3", Some(1)),
            ("depth-4", None),
        ] {
            let layer =
                std::fs::read(layers.path().join(format!("{case}.tar.gz"))).expect("read layer");
            let tmp = tempfile::tempdir().expect("tempdir");

            let result = unpack(&layer, &fresh_dest(tmp.path()), REF, &limits);

            match (result, unpacked) {
                (Ok(entries), Some(n)) => assert_eq!(entries.len(), n, "{case}"),
                (Err(e), None) => assert_eq!(e.code(), "artifact-too-large", "{case}: {e}"),
                (Ok(_), None) => panic!("{case}: over the limit yet unpacked"),
                (Err(e), Some(_)) => panic!("{case}: at the limit yet refused: {e}"),
            }
        }
    }

    /// Writes `argv[1]/<case>.tar.gz` for each malformed layer, and `whole`,
    /// the archive they are cut from.
    const PY_MALFORMED: &str = r#"
import gzip, io, os, sys, tarfile
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w") as t:
    i = tarfile.TarInfo("f")
    data = os.urandom(4000)
    i.size = len(data)
    t.addfile(i, io.BytesIO(data))
tar = b.getvalue()
whole = gzip.compress(tar)
cases = {
    "whole": whole,
    "not-a-tar": gzip.compress(b"hello, not a tar\n" * 100),
    "tar-cut-inside-a-file": gzip.compress(tar[:2048]),
    "gzip-cut": whole[: len(whole) // 2],
    "bad-crc": whole[:-8] + bytes([whole[-8] ^ 0xFF]) + whole[-7:],
}
for case, data in cases.items():
    with open(os.path.join(sys.argv[1], case + ".tar.gz"), "wb") as f:
        f.write(data)
"#;

    #[test]
    fn malformed_layers_are_invalid() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = unpack(
            b"PK\x03\x04 a zip",
            &fresh_dest(tmp.path()),
            REF,
            &Limits::default(),
        )
        .expect_err("not gzip");
        assert_eq!(err.code(), "artifact-invalid", "{err}");
        assert!(err.to_string().contains("not gzip"), "{err}");

        let layers = tempfile::tempdir().expect("tempdir");
        python(PY_MALFORMED, &[s(layers.path())]);
        let read = |case: &str| {
            std::fs::read(layers.path().join(format!("{case}.tar.gz"))).expect("read layer")
        };
        for case in ["not-a-tar", "tar-cut-inside-a-file", "gzip-cut", "bad-crc"] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let err = unpack(
                &read(case),
                &fresh_dest(tmp.path()),
                REF,
                &Limits::default(),
            )
            .expect_err(case);
            assert_eq!(err.code(), "artifact-invalid", "{case}: {err}");
        }
        // The control: the archive they are cut from unpacks.
        let tmp = tempfile::tempdir().expect("tempdir");
        let entries = unpack(
            &read("whole"),
            &fresh_dest(tmp.path()),
            REF,
            &Limits::default(),
        )
        .expect("the whole archive unpacks");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].size, 4000);
    }

    #[test]
    fn unpack_wants_an_empty_destination() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("vault");
        make_vault(&root);
        let (layer, _) = pack(&root, &INCLUDE, REF).expect("packs");
        let dest = fresh_dest(tmp.path());
        std::fs::write(dest.join("access.sops.yaml"), b"already here").expect("write");

        let err = unpack(&layer, &dest, REF, &Limits::default()).expect_err("not empty");

        assert_eq!(err.code(), "registry-io-failed", "{err}");
        assert_eq!(
            std::fs::read(dest.join("access.sops.yaml")).expect("read"),
            b"already here"
        );
    }

    /// The digest of `pack` over [`make_vault`]'s tree. It changes only if
    /// the layout or the compressor changes, which changes every vault's
    /// digest: a new value here must be a decision, not an accident.
    const PINNED_DIGEST: &str = "adefc2f064fdc6f8114a3e5b4074d72c76b9258ac6b158ba8ffcdcee4e7d5c2f";

    #[test]
    fn pack_gives_the_same_bytes_for_the_same_tree() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("vault");
        make_vault(&root);
        let (first, entries) = pack(&root, &INCLUDE, REF).expect("packs");
        assert_eq!(sha(&first), PINNED_DIGEST, "the layer of a known tree");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "access.sops.yaml",
                "src-vault/long-directory-name/long-directory-name/long-directory-name/\
                 long-directory-name/long-directory-name/deep.sops.yaml",
                "src-vault/registry/a.sops.yaml",
                "src-vault/scope.ncl",
            ],
            "files only, sorted, other.txt not included"
        );
        for e in &entries {
            let data = std::fs::read(root.join(&e.path)).expect("read");
            assert_eq!(
                (e.size, e.sha256.as_str()),
                (data.len() as u64, sha(&data).as_str())
            );
        }
        assert_eq!(
            pack(&root, &INCLUDE, REF).expect("packs").0,
            first,
            "a second run"
        );
        let reversed = ["src-vault", "access.sops.yaml"];
        assert_eq!(
            pack(&root, &reversed, REF).expect("packs").0,
            first,
            "include order"
        );

        // New times and modes on every file and directory change nothing.
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(978_307_200);
        for (path, content) in tree(&root) {
            let path = root.join(path);
            let (mode, file) = match content {
                Some(_) => (0o755, std::fs::OpenOptions::new().write(true).open(&path)),
                None => (0o700, std::fs::File::open(&path)),
            };
            file.expect("open").set_modified(when).expect("set mtime");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        assert_eq!(
            pack(&root, &INCLUDE, REF).expect("packs").0,
            first,
            "after touch and chmod"
        );

        // The same tree elsewhere (another machine's path) gives the same bytes.
        let elsewhere = tmp.path().join("another/place");
        make_vault(&elsewhere);
        assert_eq!(
            pack(&elsewhere, &INCLUDE, REF).expect("packs").0,
            first,
            "another root"
        );

        // A changed file or a removed empty directory does not.
        std::fs::write(
            elsewhere.join("src-vault/scope.ncl"),
            b"{ scope = 'prod }\n",
        )
        .expect("write");
        let changed = pack(&elsewhere, &INCLUDE, REF).expect("packs").0;
        assert_ne!(changed, first, "a changed file");
        std::fs::remove_dir(root.join("src-vault/empty")).expect("rmdir");
        let no_empty = pack(&root, &INCLUDE, REF).expect("packs").0;
        assert_ne!(no_empty, first, "an empty directory is an entry");
        assert_ne!(no_empty, changed);
    }

    /// Reads a layer with Python's `tarfile` and prints its members and
    /// the gzip header's fields.
    const PY_READ: &str = r#"
import hashlib, json, sys, tarfile
raw = open(sys.argv[1], "rb").read()
members = []
with tarfile.open(sys.argv[1], "r:gz") as t:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        members.append({
            "name": m.name, "type": m.type.decode(), "mode": m.mode, "mtime": m.mtime,
            "uid": m.uid, "gid": m.gid, "uname": m.uname, "gname": m.gname,
            "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
        })
print(json.dumps({"members": members, "flags": raw[3],
                  "mtime": int.from_bytes(raw[4:8], "little"), "os": raw[9]}))
"#;

    #[test]
    fn python_reads_what_pack_wrote_and_unpack_round_trips() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("vault");
        make_vault(&root);
        std::fs::set_permissions(
            root.join("src-vault/scope.ncl"),
            std::fs::Permissions::from_mode(0o4700),
        )
        .expect("chmod");
        let (layer, entries) = pack(&root, &INCLUDE, REF).expect("packs");
        let out = tmp.path().join("layer.tar.gz");
        std::fs::write(&out, &layer).expect("write layer");

        let read: serde_json::Value =
            serde_json::from_str(&python(PY_READ, &[s(&out)])).expect("JSON");

        assert_eq!(
            read["flags"], 0,
            "no file name or other optional gzip field"
        );
        assert_eq!(read["mtime"], 0, "gzip mtime 0");
        assert_eq!(read["os"], 255, "gzip OS byte fixed");
        let members = read["members"].as_array().expect("members");
        let names: Vec<String> = members
            .iter()
            .map(|m| m["name"].as_str().expect("name").to_owned())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "sorted by path bytes");
        let mut want: Vec<String> = tree(&root)
            .into_keys()
            .filter(|p| p != "other.txt")
            .collect();
        want.sort();
        assert_eq!(
            names, want,
            "every included file and directory, the empty one too"
        );
        for m in members {
            let name = m["name"].as_str().expect("name");
            assert_eq!(
                (&m["mtime"], &m["uid"], &m["gid"], &m["uname"], &m["gname"]),
                (&0.into(), &0.into(), &0.into(), &"".into(), &"".into()),
                "{name}"
            );
            match m["type"].as_str().expect("type") {
                "0" => {
                    assert_eq!(m["mode"], 0o644, "{name}");
                    let e = entries
                        .iter()
                        .find(|e| e.path == name)
                        .expect("a packed file");
                    assert_eq!(m["sha256"], e.sha256.as_str(), "{name}");
                }
                "5" => assert_eq!(m["mode"], 0o755, "{name}"),
                other => panic!("{name}: type {other}"),
            }
        }

        let dest = fresh_dest(tmp.path());
        let unpacked = unpack(&layer, &dest, REF, &Limits::default()).expect("unpacks");
        assert_eq!(unpacked, entries, "the same files, sizes and digests");
        let mut original = tree(&root);
        original.remove("other.txt");
        assert_eq!(
            tree(&dest),
            original,
            "the same tree, the empty directory too"
        );
    }

    #[test]
    fn pack_refuses_links_special_files_and_unsafe_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("vault");
        make_vault(&root);
        std::os::unix::fs::symlink("scope.ncl", root.join("src-vault/link")).expect("symlink");
        let err = pack(&root, &INCLUDE, REF).expect_err("a symlink");
        assert_eq!(err.code(), "artifact-unsafe-path", "{err}");
        assert!(err.to_string().contains("src-vault/link"), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");

        // A symlink named as a top-level entry.
        std::fs::remove_file(root.join("src-vault/link")).expect("rm");
        std::fs::rename(root.join("access.sops.yaml"), root.join("real.yaml")).expect("mv");
        std::os::unix::fs::symlink("real.yaml", root.join("access.sops.yaml")).expect("symlink");
        let err = pack(&root, &INCLUDE, REF).expect_err("a top-level symlink");
        assert_eq!(err.code(), "artifact-unsafe-path", "{err}");
        std::fs::remove_file(root.join("access.sops.yaml")).expect("rm");
        std::fs::rename(root.join("real.yaml"), root.join("access.sops.yaml")).expect("mv");
        pack(&root, &INCLUDE, REF).expect("packs again once the links are gone");

        let fifo = root.join("src-vault/fifo");
        let c_path = std::ffi::CString::new(s(&fifo)).expect("no NUL");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
        let err = pack(&root, &INCLUDE, REF).expect_err("a FIFO");
        assert_eq!(err.code(), "artifact-unsafe-path", "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
        std::fs::remove_file(&fifo).expect("rm");

        for name in ["../vault", "", ".", "src-vault/registry", "/etc"] {
            let err = pack(&root, &[name], REF).expect_err(name);
            assert_eq!(err.code(), "artifact-unsafe-path", "{name:?}: {err}");
        }
    }
}
