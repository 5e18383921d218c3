//! The vault's audit log: one JSON line per credential attempt, allowed or
//! refused, in `<vault dir>/audit.jsonl`, hash-chained and keyed.
//!
//! **Lines.** `{ts, actor, role, op, target, target_sha256?, registry_id,
//! outcome, reveal, cut?, prev, mac}`. `prev` is the sha256 (hex) of the
//! previous line's bytes (without its newline; 64 zeros for the first line
//! of the log). `mac` is the hex HMAC-SHA256, under the log's line key, of
//! the line's bytes with its last member `,"mac":…` removed: exactly the
//! bytes from the opening `{` through the `prev` value, closed by `}`. The
//! writer always puts `mac` last; a line whose `mac` is anywhere else is
//! reported as malformed. A line written when the key is not available
//! carries `"mac":null` (unkeyed); lines of the format before keys have no
//! `mac` at all and are unkeyed too. A record never holds a secret. Every
//! free-form field is cut to a bound ([`TARGET_CHARS`], …, listed in `cut`),
//! a cut target also carries `target_sha256` of the whole target, and a line
//! is never longer than [`MAX_LINE`] bytes.
//!
//! **The key.** [`AuditKey::derive`]: HKDF-SHA256 from the master key (the
//! first identity of the age identity file the gate resolves: the project's
//! `sops.master_key_path`, else the config home's `vault.master_key_path`),
//! salt [`PURPOSE`], info `PURPOSE \0 line \0 <vault id>` for the line key and
//! `PURPOSE \0 head \0 <vault id>` for the head key. So the log is keyed by
//! whoever holds that identity file on this machine: every actor served by
//! this config home and project shares it, and a log cannot be replayed into
//! another vault.
//!
//! **The head**, `<vault dir>/audit.head`, one line: `{v, kid, segments:
//! [{n, lines}], lines, last_mac, mac}`: which segments the log has and how
//! many lines each, the MAC of the last line, and its own `mac` (HMAC-SHA256
//! under the head key, same trailing-member rule). `kid` names the key (the
//! first 8 bytes of HMAC(head key, "key id"), hex) so that a log keyed by
//! another master key is reported as such. After each keyed append it is
//! rewritten atomically (temporary file, rename) under the append's lock,
//! after the line is written, so after a crash of any process the head is
//! never ahead of the log. Appends are not fsync'd by default (a journal
//! commit per append cost ~4-12 ms on ext4, twenty times the rest of a
//! credential fetch): what a killed process wrote is in the page cache and
//! survives it, but a power loss may lose the last lines and show the log as
//! truncated. `ONTOREF_AUDIT_FSYNC=1` fdatasyncs the line, then the head,
//! so the ordering holds on disk too. It makes truncation (fewer lines than it counts,
//! or another line where its last one was) and deletion (head without log)
//! visible. The appender never rewrites a head that disagrees with the log
//! (it is evidence): it only extends one whose last line is still in place,
//! and only creates one for a log without keyed lines.
//!
//! **Segments.** When a line would take `audit.jsonl` past the segment size
//! ([`SEGMENT_BYTES`], lowered by `ONTOREF_AUDIT_SEGMENT_BYTES`), the file is
//! renamed `audit.<n>.jsonl` (`n` = its segment number, from 1) and a new
//! `audit.jsonl` begins; its first line's `prev` is the hash of the last line
//! of segment `n`, so the chain runs through every segment. A keyed append
//! keeps the newest [`KEEP_SEGMENTS`] segments and deletes older ones, after
//! recording in the head where the log now starts. Every read is bounded
//! (`fsread`): a segment, the head, and the tail read that finds the last
//! line.
//!
//! **Verification** ([`verify`]) walks the segments in order and checks
//! each line parses, links to the one before, and (with the key) carries a
//! valid MAC; then compares the log with the head. Unkeyed lines before the
//! first keyed one (a log from before keys) are covered by the chain the
//! keyed lines seal, and are only counted; an unkeyed line after a keyed one
//! could have been appended by anyone, so it breaks `ok`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsread::{self, Links, ReadError};
use crate::vault::VaultError;
use crate::vault::key::Identities;

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The HKDF salt, and the start of its info: what the derived keys are for.
pub const PURPOSE: &str = "ontoref audit-log v1";
/// No line is longer than this (bytes, newline included).
pub const MAX_LINE: usize = 4096;
/// A segment is rotated before a line would take it past this size.
pub const SEGMENT_BYTES: u64 = 8 << 20;
/// Lowers the segment size (bytes, at least [`MAX_LINE`]); for tests and
/// small disks.
pub const SEGMENT_BYTES_ENV: &str = "ONTOREF_AUDIT_SEGMENT_BYTES";

/// The environment variable that makes every append durable: `1` fdatasyncs
/// the line, then the head's temporary file, before the rename.
pub const FSYNC_ENV: &str = "ONTOREF_AUDIT_FSYNC";

/// Whether appends are fdatasync'd ([`FSYNC_ENV`] is `1`, `true` or `yes`).
pub fn durable() -> bool {
    static DURABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DURABLE.get_or_init(|| {
        std::env::var(FSYNC_ENV)
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    })
}
/// Segments a keyed append keeps (the current one included).
pub const KEEP_SEGMENTS: usize = 8;
/// Bounds of the free-form fields, in characters.
pub const TARGET_CHARS: usize = 256;
/// See [`TARGET_CHARS`].
pub const ACTOR_CHARS: usize = 64;
/// See [`TARGET_CHARS`].
pub const ROLE_CHARS: usize = 64;
/// See [`TARGET_CHARS`].
pub const OP_CHARS: usize = 16;
/// See [`TARGET_CHARS`].
pub const REGISTRY_CHARS: usize = 64;
/// See [`TARGET_CHARS`].
pub const OUTCOME_CHARS: usize = 64;
/// See [`TARGET_CHARS`] (`sha256:` and 64 hex digits fit).
pub const DIGEST_CHARS: usize = 80;
const TS_CHARS: usize = 40;
const HEAD_MAX: u64 = 64 << 10;
const TAIL_WINDOW: u64 = 8 << 10;
/// `,"mac":"` + 64 hex + `"}`.
const MAC_SUFFIX: usize = 8 + 64 + 2;
const NULL_MAC_SUFFIX: &[u8] = b",\"mac\":null}";

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// When (RFC 3339, UTC, milliseconds).
    pub ts: String,
    /// Who asked; `null` when no actor was given.
    pub actor: Option<String>,
    /// The actor's role, once known.
    pub role: Option<String>,
    /// The op asked for, as given.
    pub op: String,
    /// The target, as given (its first [`TARGET_CHARS`] characters).
    pub target: String,
    /// sha256 (hex) of the whole target, when it was cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_sha256: Option<String>,
    /// The registry id asked for (`null`: the default).
    pub registry_id: Option<String>,
    /// `ok`, or the error code that refused it.
    pub outcome: String,
    /// Whether the secret values were asked for.
    pub reveal: bool,
    /// The manifest digest a registry operation (sync, push, lock, artifact
    /// pull) worked on, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The fields cut to their bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<String>,
    /// sha256 (hex) of the previous line.
    pub prev: String,
    /// HMAC-SHA256 (hex) of the line without this member; absent or `null`
    /// on an unkeyed line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Record {
    /// The record with every free-form field cut to its bound.
    fn bounded(mut self) -> Record {
        let mut cut = Vec::new();
        let mut bound = |name: &str, value: &mut String, max: usize| {
            if let Some((i, _)) = value.char_indices().nth(max) {
                value.truncate(i);
                cut.push(name.to_owned());
                true
            } else {
                false
            }
        };
        bound("ts", &mut self.ts, TS_CHARS);
        if let Some(a) = self.actor.as_mut() {
            bound("actor", a, ACTOR_CHARS);
        }
        if let Some(r) = self.role.as_mut() {
            bound("role", r, ROLE_CHARS);
        }
        bound("op", &mut self.op, OP_CHARS);
        let whole = Sha256::digest(self.target.as_bytes());
        if bound("target", &mut self.target, TARGET_CHARS) {
            self.target_sha256 = Some(crate::hex::encode(&whole));
        } else {
            self.target_sha256 = None;
        }
        if let Some(r) = self.registry_id.as_mut() {
            bound("registry_id", r, REGISTRY_CHARS);
        }
        bound("outcome", &mut self.outcome, OUTCOME_CHARS);
        // A digest is `algorithm:hex`; anything else is dropped, so it never
        // costs more than its bound in bytes.
        if let Some(d) = self.digest.as_mut() {
            if d.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
                bound("digest", d, DIGEST_CHARS);
            } else {
                self.digest = None;
                cut.push("digest".to_owned());
            }
        }
        self.cut = cut;
        self.mac = None;
        self
    }
}

/// The log's keys, derived from the master key; the HMAC states are wiped
/// when it is dropped, and it prints only its id.
#[derive(Clone)]
pub struct AuditKey {
    line: Hmac<Sha256>,
    head: Hmac<Sha256>,
    kid: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl AuditKey {
    /// The keys of vault `vault_id`'s log from the master key `ids` (see the
    /// module's documentation for the derivation). Loading an identity file
    /// decrypts nothing, so a refused attempt can be keyed too.
    pub fn derive(ids: &Identities, vault_id: &str) -> Result<AuditKey, String> {
        let info = |what: &str| {
            let mut v = Vec::with_capacity(PURPOSE.len() + what.len() + vault_id.len() + 2);
            v.extend_from_slice(PURPOSE.as_bytes());
            v.push(0);
            v.extend_from_slice(what.as_bytes());
            v.push(0);
            v.extend_from_slice(vault_id.as_bytes());
            v
        };
        let mac = |what: &str| -> Result<Hmac<Sha256>, String> {
            let key = ids.derive_key(PURPOSE.as_bytes(), &info(what))?;
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice())
                .map_err(|e| format!("cannot key HMAC-SHA256: {e}"))
        };
        let line = mac("line")?;
        let head = mac("head")?;
        let mut id = head.clone();
        id.update(b"key id");
        let kid = crate::hex::encode(&id.finalize().into_bytes()[..8]);
        Ok(AuditKey { line, head, kid })
    }

    /// The key's id, as recorded in the head.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn sign(mac: &Hmac<Sha256>, bytes: &[u8]) -> String {
        let mut m = mac.clone();
        m.update(bytes);
        crate::hex::encode(&m.finalize().into_bytes())
    }

    fn check(mac: &Hmac<Sha256>, bytes: &[u8], hex_tag: &str) -> bool {
        let Some(tag) = crate::hex::decode(hex_tag) else {
            return false;
        };
        let mut m = mac.clone();
        m.update(bytes);
        m.verify_slice(&tag).is_ok()
    }
}

/// What a keyed file's trailing `mac` member holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag<'a> {
    /// `,"mac":"<64 hex>"}` ends the line.
    Hex(&'a str),
    /// `,"mac":null}` ends it, or there is no `mac` (the format before keys).
    Unkeyed,
}

/// The line's MACed bytes and its tag, by the trailing-member rule. `parsed`
/// is the line's `mac` as JSON read it, to tell a misplaced `mac` (malformed)
/// from none.
fn split_tag<'a>(line: &'a [u8], parsed: Option<&str>) -> Result<(Vec<u8>, Tag<'a>), ()> {
    if line.len() >= MAC_SUFFIX {
        let (body, tail) = line.split_at(line.len() - MAC_SUFFIX);
        if let Some(hex) = tail
            .strip_prefix(b",\"mac\":\"")
            .and_then(|t| t.strip_suffix(b"\"}"))
            && hex.len() == 64
            && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && let Ok(hex) = std::str::from_utf8(hex)
        {
            let mut signed = body.to_vec();
            signed.push(b'}');
            return Ok((signed, Tag::Hex(hex)));
        }
    }
    match parsed {
        Some(_) => Err(()),
        None => Ok((Vec::new(), Tag::Unkeyed)),
    }
}

/// `canonical` (a JSON object) with `,"mac":<tag>` as its last member.
fn seal(mut canonical: Vec<u8>, mac: Option<&str>) -> Result<Vec<u8>, VaultError> {
    if canonical.pop() != Some(b'}') {
        return Err(VaultError::Invalid(
            "an audit record did not serialise as a JSON object".to_owned(),
        ));
    }
    match mac {
        Some(m) => {
            canonical.extend_from_slice(b",\"mac\":\"");
            canonical.extend_from_slice(m.as_bytes());
            canonical.extend_from_slice(b"\"}");
        }
        None => canonical.extend_from_slice(NULL_MAC_SUFFIX),
    }
    Ok(canonical)
}

fn line_hash(line: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(line))
}

/// One segment's count in the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SegmentCount {
    /// The segment number.
    n: u64,
    /// Its lines.
    lines: u64,
}

/// `audit.head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    v: u32,
    kid: String,
    segments: Vec<SegmentCount>,
    lines: u64,
    last_mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

/// The files of one log, named after its current segment `<stem>.jsonl`.
#[derive(Debug, Clone)]
struct Files {
    dir: PathBuf,
    stem: String,
    current: PathBuf,
}

impl Files {
    fn of(path: &Path) -> Files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "audit.jsonl".to_owned());
        let stem = name.strip_suffix(".jsonl").unwrap_or(&name).to_owned();
        Files {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            stem,
            current: path.to_path_buf(),
        }
    }

    fn segment(&self, n: u64) -> PathBuf {
        self.dir.join(format!("{}.{n}.jsonl", self.stem))
    }

    fn head(&self) -> PathBuf {
        self.dir.join(format!("{}.head", self.stem))
    }

    fn lock(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.stem))
    }

    /// The rotated segments' numbers, ascending.
    fn rotated(&self) -> std::io::Result<Vec<u64>> {
        let prefix = format!("{}.", self.stem);
        let mut out: Vec<u64> = match std::fs::read_dir(&self.dir) {
            Ok(d) => d
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name();
                    let n = name
                        .to_str()?
                        .strip_prefix(&prefix)?
                        .strip_suffix(".jsonl")?;
                    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
                        .then(|| n.parse().ok())
                        .flatten()
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        out.sort_unstable();
        Ok(out)
    }

    /// The file of segment `n`, the current one being `current_no`.
    fn file_of(&self, n: u64, current_no: u64) -> PathBuf {
        if n == current_no {
            self.current.clone()
        } else {
            self.segment(n)
        }
    }
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> VaultError + 'a {
    move |e| VaultError::Io {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn read_err(path: &Path, e: ReadError) -> VaultError {
    match e {
        ReadError::Io(e) => VaultError::Io {
            what: "read",
            path: path.display().to_string(),
            reason: e.to_string(),
        },
        other => VaultError::AuditLogUnusable {
            path: path.display().to_string(),
            problem: other.to_string(),
        },
    }
}

/// The segment size in force: [`SEGMENT_BYTES`], or the lower
/// `ONTOREF_AUDIT_SEGMENT_BYTES`.
pub fn segment_limit() -> u64 {
    std::env::var(SEGMENT_BYTES_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(SEGMENT_BYTES, |v| v.clamp(MAX_LINE as u64, SEGMENT_BYTES))
}

/// How appends rotate and prune.
#[derive(Debug, Clone, Copy)]
struct Limits {
    segment_bytes: u64,
    keep: usize,
}

/// Opens (creating) and locks the log's lock file: exclusive for appends,
/// shared for reads. `None` for a read when there is no log directory yet.
fn lock(files: &Files, exclusive: bool) -> Result<Option<File>, VaultError> {
    let path = files.lock();
    let mut options = OpenOptions::new();
    options.read(true);
    if exclusive {
        options.write(true).create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(&path) {
        Ok(f) => f,
        Err(e) if !exclusive && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if not_regular(&e) => {
            return Err(VaultError::AuditLogUnusable {
                path: path.display().to_string(),
                problem: "is not a regular file".to_owned(),
            });
        }
        Err(e) => return Err(io_err("open", &path)(e)),
    };
    if exclusive {
        file.lock().map_err(io_err("lock", &path))?;
    } else {
        file.lock_shared().map_err(io_err("lock", &path))?;
    }
    Ok(Some(file))
}

/// The last line of `path` (without its newline) and whether the file ends
/// without one (a torn write); `None` for an empty or missing file. Reads
/// the tail only, [`TAIL_WINDOW`] bytes and then at most a segment.
fn last_line(path: &Path) -> Result<Option<(Vec<u8>, bool)>, VaultError> {
    let (mut file, meta) = match fsread::open_regular(path, u64::MAX, Links::Refuse) {
        Ok(f) => f,
        Err(ReadError::NotFound) => return Ok(None),
        Err(e) => return Err(read_err(path, e)),
    };
    let len = meta.len();
    if len == 0 {
        return Ok(None);
    }
    let io = io_err("read", path);
    for window in [TAIL_WINDOW, SEGMENT_BYTES + MAX_LINE as u64] {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start)).map_err(&io)?;
        let mut buf = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
        (&mut file)
            .take(len - start)
            .read_to_end(&mut buf)
            .map_err(&io)?;
        let torn = !buf.ends_with(b"\n");
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Some(pos) = body.iter().rposition(|b| *b == b'\n') {
            return Ok(Some((body[pos + 1..].to_vec(), torn)));
        }
        if start == 0 {
            return Ok(Some((body.to_vec(), torn)));
        }
    }
    Err(VaultError::AuditLogUnusable {
        path: path.display().to_string(),
        problem: format!(
            "its last line is longer than the {} bytes read to find it",
            SEGMENT_BYTES + MAX_LINE as u64
        ),
    })
}

/// Appends `record` to the log at `path` (normally `<vault>/audit.jsonl`),
/// creating it (0600) and its directory (0700) if needed: fields bounded,
/// `prev` and `mac` set here (`mac: null` without a key), the line written
/// (fdatasync'd when [`durable`]), then (keyed) the head rewritten. Rotates at [`segment_limit`]. Returns
/// the record as written.
pub fn append(path: &Path, record: Record, key: Option<&AuditKey>) -> Result<Record, VaultError> {
    append_with(
        path,
        record,
        key,
        Limits {
            segment_bytes: segment_limit(),
            keep: KEEP_SEGMENTS,
        },
    )
}

fn append_with(
    path: &Path,
    record: Record,
    key: Option<&AuditKey>,
    limits: Limits,
) -> Result<Record, VaultError> {
    let files = Files::of(path);
    create_private_dir(&files.dir).map_err(io_err("create the directory of", path))?;
    let _lock = lock(&files, true)?;
    let rotated = files.rotated().map_err(io_err("list", &files.dir))?;
    let current_no = rotated.last().map_or(1, |n| n + 1);
    let size = match std::fs::symlink_metadata(&files.current) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io_err("read", &files.current)(e)),
    };
    // The line the new one follows: the current segment's last, else the
    // last rotated segment's.
    let (tail, tail_no) = match last_line(&files.current)? {
        Some(t) => (Some(t), current_no),
        None => match rotated.last() {
            Some(&n) => (last_line(&files.segment(n))?, n),
            None => (None, current_no),
        },
    };
    let mut record = record.bounded();
    record.prev = tail
        .as_ref()
        .map_or_else(|| GENESIS.to_owned(), |(l, _)| line_hash(l));
    let canonical = serde_json::to_vec(&record)
        .map_err(|e| VaultError::Invalid(format!("cannot serialise an audit record: {e}")))?;
    let mac = key.map(|k| AuditKey::sign(&k.line, &canonical));
    let mut line = seal(canonical, mac.as_deref())?;
    line.push(b'\n');
    if line.len() > MAX_LINE {
        return Err(VaultError::AuditLogUnusable {
            path: path.display().to_string(),
            problem: format!(
                "a record came to {} bytes, over the {MAX_LINE}-byte bound",
                line.len()
            ),
        });
    }
    let rotate = size > 0 && size + line.len() as u64 > limits.segment_bytes;
    let write_no = if rotate {
        let to = files.segment(current_no);
        std::fs::rename(&files.current, &to).map_err(io_err("rotate", &files.current))?;
        sync_dir(&files.dir);
        current_no + 1
    } else {
        current_no
    };
    let torn = !rotate && tail_no == current_no && tail.as_ref().is_some_and(|(_, t)| *t);
    if torn {
        // Keep the new line whole after a torn one (which verify reports).
        line.insert(0, b'\n');
    }
    write_line(&files.current, &line)?;
    record.mac = mac.clone();
    if let (Some(key), Some(mac)) = (key, mac) {
        let tail_tag = tail.as_ref().and_then(|(l, _)| match split_tag(l, None) {
            Ok((_, Tag::Hex(h))) => Some(h.to_owned()),
            _ => None,
        });
        let ctx = HeadUpdate {
            tail_no,
            tail_keyed: tail_tag.is_some(),
            tail_mac: tail_tag,
            write_no,
            mac,
        };
        if let Err(e) = update_head(&files, key, &ctx, limits) {
            // The line is written; a head that lags is reported
            // as `behind` and caught up by the next append.
            tracing::warn!(code = e.code(), error = %e, "the audit head was not updated");
        }
    }
    Ok(record)
}

fn write_line(path: &Path, line: &[u8]) -> Result<(), VaultError> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = options.open(path).map_err(|e| {
        if not_regular(&e) {
            VaultError::AuditLogUnusable {
                path: path.display().to_string(),
                problem: "is not a regular file".to_owned(),
            }
        } else {
            io_err("open", path)(e)
        }
    })?;
    let meta = file.metadata().map_err(io_err("read", path))?;
    if !meta.is_file() {
        return Err(VaultError::AuditLogUnusable {
            path: path.display().to_string(),
            problem: format!("is {}, not a regular file", fsread::kind_of(&meta)),
        });
    }
    file.write_all(line).map_err(io_err("append to", path))?;
    if durable() {
        file.sync_data().map_err(io_err("sync", path))?;
    }
    Ok(())
}

/// Whether opening failed because the path is a link (`O_NOFOLLOW`) or a
/// FIFO without a reader (`O_NONBLOCK`).
#[cfg(unix)]
fn not_regular(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENXIO))
}

#[cfg(not(unix))]
fn not_regular(_: &std::io::Error) -> bool {
    false
}

/// Makes a rename in `dir` durable; best effort (the head tolerates a lost
/// rename as `behind`).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

struct HeadUpdate {
    /// The segment of the line the new one follows.
    tail_no: u64,
    /// Whether that line is keyed, and its MAC.
    tail_keyed: bool,
    tail_mac: Option<String>,
    /// The segment the new line went to.
    write_no: u64,
    /// The new line's MAC.
    mac: String,
}

/// The head as read.
enum HeadRead {
    Absent,
    /// Unreadable, unparseable, or not version 1.
    Invalid(String),
    /// Keyed by another key.
    OtherKey(String),
    MacMismatch,
    Valid(Head),
}

fn read_head(files: &Files, key: Option<&AuditKey>) -> HeadRead {
    let path = files.head();
    let bytes = match fsread::read(&path, HEAD_MAX, Links::Refuse) {
        Ok(b) => b,
        Err(ReadError::NotFound) => return HeadRead::Absent,
        Err(e) => return HeadRead::Invalid(e.to_string()),
    };
    let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let head: Head = match serde_json::from_slice(text) {
        Ok(h) => h,
        Err(e) => return HeadRead::Invalid(format!("not an audit head: {e}")),
    };
    if head.v != 1 {
        return HeadRead::Invalid(format!("version {} (this build reads 1)", head.v));
    }
    let Some(key) = key else {
        return HeadRead::Valid(head);
    };
    if head.kid != key.kid {
        return HeadRead::OtherKey(head.kid);
    }
    let Ok((signed, Tag::Hex(tag))) = split_tag(text, head.mac.as_deref()) else {
        return HeadRead::MacMismatch;
    };
    if !AuditKey::check(&key.head, &signed, tag) {
        return HeadRead::MacMismatch;
    }
    let contiguous = head.segments.windows(2).all(|w| w[1].n == w[0].n + 1);
    let sum: u64 = head.segments.iter().map(|s| s.lines).sum();
    if head.segments.is_empty() || !contiguous || sum != head.lines {
        return HeadRead::Invalid(
            "its segments are not contiguous or do not add up to its `lines`".to_owned(),
        );
    }
    HeadRead::Valid(head)
}

/// Rewrites the head after a keyed append, unless it disagrees with the
/// log (then it is left as evidence).
fn update_head(
    files: &Files,
    key: &AuditKey,
    ctx: &HeadUpdate,
    limits: Limits,
) -> Result<(), VaultError> {
    let segments = match read_head(files, Some(key)) {
        HeadRead::Valid(h)
            if h.segments.last().map(|s| s.n) == Some(ctx.tail_no)
                && ctx.tail_mac.as_deref() == Some(h.last_mac.as_str()) =>
        {
            // In step: count the new line.
            let mut segs = h.segments;
            match segs.last_mut() {
                Some(last) if last.n == ctx.write_no => last.lines += 1,
                _ => segs.push(SegmentCount {
                    n: ctx.write_no,
                    lines: 1,
                }),
            }
            Some(segs)
        }
        HeadRead::Valid(h) => {
            // Behind (an append whose head write was lost, or unkeyed
            // appends since): extend it if its last line is still in place.
            let first = h.segments.first().map_or(1, |s| s.n);
            let scan = scan(
                files,
                first,
                ctx.write_no,
                h.segments.last().map(|s| (s.n, s.lines)),
            )?;
            let intact = !scan.gap
                && h.segments.iter().enumerate().all(|(i, s)| {
                    let have = scan.count(s.n);
                    if i + 1 == h.segments.len() {
                        have >= s.lines && scan.wanted_mac.as_deref() == Some(h.last_mac.as_str())
                    } else {
                        have == s.lines
                    }
                });
            if intact {
                Some(scan.counts)
            } else {
                tracing::warn!(head = %files.head().display(), "the audit head names lines the log no longer has; left as it is");
                None
            }
        }
        HeadRead::Absent if !ctx.tail_keyed => {
            // A log without keyed lines (from before keys): adopt it.
            let scan = scan(files, 1, ctx.write_no, None)?;
            if !scan.gap && scan.keyed == 1 {
                Some(scan.counts)
            } else {
                tracing::warn!(head = %files.head().display(), "the audit log has keyed lines but no head; not recreated");
                None
            }
        }
        _ => {
            tracing::warn!(head = %files.head().display(), "the audit head is missing, invalid or keyed by another key; left as it is");
            None
        }
    };
    let Some(mut segments) = segments else {
        return Ok(());
    };
    let mut pruned = Vec::new();
    while segments.len() > limits.keep.max(1) {
        pruned.push(segments.remove(0).n);
    }
    let head = Head {
        v: 1,
        kid: key.kid.clone(),
        lines: segments.iter().map(|s| s.lines).sum(),
        segments,
        last_mac: ctx.mac.clone(),
        mac: None,
    };
    write_head(files, key, &head)?;
    for n in pruned {
        if n != ctx.write_no {
            let _ = std::fs::remove_file(files.segment(n));
        }
    }
    Ok(())
}

fn write_head(files: &Files, key: &AuditKey, head: &Head) -> Result<(), VaultError> {
    let path = files.head();
    let canonical = serde_json::to_vec(head)
        .map_err(|e| VaultError::Invalid(format!("cannot serialise the audit head: {e}")))?;
    let mac = AuditKey::sign(&key.head, &canonical);
    let mut bytes = seal(canonical, Some(&mac))?;
    bytes.push(b'\n');
    let tmp = files.dir.join(format!("{}.head.tmp", files.stem));
    let io = io_err("write", &tmp);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(&io)?;
    file.write_all(&bytes).map_err(&io)?;
    if durable() {
        file.sync_data().map_err(&io)?;
    }
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io_err("replace", &path))
}

/// Line counts of segments `from..=last`.
struct Scan {
    counts: Vec<SegmentCount>,
    /// A segment in the range is missing or unreadable.
    gap: bool,
    /// Keyed lines seen.
    keyed: usize,
    /// The MAC of the wanted line, when asked for.
    wanted_mac: Option<String>,
}

impl Scan {
    fn count(&self, n: u64) -> u64 {
        self.counts.iter().find(|s| s.n == n).map_or(0, |s| s.lines)
    }
}

fn scan(files: &Files, from: u64, last: u64, want: Option<(u64, u64)>) -> Result<Scan, VaultError> {
    let mut out = Scan {
        counts: Vec::new(),
        gap: false,
        keyed: 0,
        wanted_mac: None,
    };
    for n in from..=last {
        let path = files.file_of(n, last);
        let bytes = match fsread::read(&path, SEGMENT_BYTES + MAX_LINE as u64, Links::Refuse) {
            Ok(b) => b,
            Err(ReadError::NotFound) if n == last => Vec::new(),
            Err(_) => {
                out.gap = true;
                continue;
            }
        };
        let mut lines = 0u64;
        for line in split_lines(&bytes) {
            lines += 1;
            let tag = match split_tag(line, None) {
                Ok((_, Tag::Hex(h))) => Some(h),
                _ => None,
            };
            if tag.is_some() {
                out.keyed += 1;
            }
            if want == Some((n, lines)) {
                out.wanted_mac = tag.map(str::to_owned);
            }
        }
        out.counts.push(SegmentCount { n, lines });
    }
    Ok(out)
}

/// The lines of a segment's bytes (a torn last line included).
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n')
        .filter(move |_| !bytes.is_empty())
}

/// Whether the log is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Keyed {
    /// Every line carries a MAC (or the log is empty and has a head).
    Yes,
    /// Some lines are unkeyed.
    Partly,
    /// No line carries a MAC and there is no head (a log from before keys,
    /// or one never written with the key available).
    No,
    /// The log has MACs or a head, but the key to check them is not
    /// available: nothing keyed was checked.
    Unknown,
}

/// The head's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HeadState {
    /// It matches the log.
    Ok,
    /// The log has keyed lines past it (a head write lost in a crash, or a
    /// rotation since); the next keyed append catches it up.
    Behind,
    /// It counts lines the log no longer has, or its last line is not there.
    Ahead,
    /// No head, and none expected: the log has no keyed line.
    None,
    /// No head, but the log has keyed lines: it was deleted.
    Missing,
    /// Not a head this build can read.
    Invalid,
    /// Its MAC does not verify.
    MacMismatch,
    /// Written with another master key.
    OtherKey,
    /// Not checked: the key is not available.
    Unchecked,
}

/// The result of checking the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Verification {
    /// Whether the log is intact: every line parses, links to the one
    /// before and (keyed) carries a valid MAC, no unkeyed line follows a
    /// keyed one, and it agrees with its head. Never true for a keyed log
    /// whose MACs could not be checked.
    pub ok: bool,
    /// Whether the log is keyed.
    pub keyed: Keyed,
    /// Lines checked, over every segment.
    pub lines: usize,
    /// Segment files walked.
    pub segments: usize,
    /// Lines whose MAC verified.
    pub macs_ok: usize,
    /// Lines without a MAC (before keys, or written without the key).
    pub unkeyed: usize,
    /// The head's state.
    pub head: HeadState,
    /// Lines the head counts that the log no longer has.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated: u64,
    /// The head is there but every segment of the log is gone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The first line whose MAC does not verify (altered or forged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged: Option<usize>,
    /// The first problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_break: Option<Break>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A problem with the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Break {
    /// 1-based line number over all segments in order; for a missing line,
    /// where it would be; 0 for the head itself.
    pub line: usize,
    /// The segment file, when the problem is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// What is wrong, a stable code: `not-a-record`, `torn-line`,
    /// `prev-mismatch`, `mac-mismatch`, `mac-malformed`, `unkeyed-line`,
    /// `key-unavailable`, `key-mismatch`, `segment-missing`,
    /// `segment-unreadable`, `truncated`, `log-deleted`, `head-missing`,
    /// `head-invalid`, `head-mac-mismatch` or `head-mismatch`.
    pub problem: &'static str,
    /// The detail, for people.
    pub detail: String,
}

/// The key for [`verify`]: the log's key, or why it is not available.
#[derive(Debug, Clone, Copy)]
pub enum Keying<'a> {
    /// Check MACs with this key.
    Key(&'a AuditKey),
    /// The key is not available, for this reason.
    Unavailable(&'a str),
}

/// What verification accumulates while walking.
struct Walk<'a> {
    key: Option<&'a AuditKey>,
    /// False when the head says another key wrote the log.
    check_macs: bool,
    /// Lines walked so far (the current line's number).
    line: usize,
    /// The hash the next line's `prev` must be; `None`: not checkable (the
    /// first line after pruned or missing segments).
    prev: Option<String>,
    seen_keyed: bool,
    first_keyed: Option<usize>,
    macs_ok: usize,
    unkeyed: usize,
    forged: Option<usize>,
    problems: Vec<Break>,
    /// Per walked segment: (number, lines).
    counts: Vec<(u64, u64)>,
    /// The line the head names last (segment, line in it), its MAC when
    /// walked, and its number over all segments.
    wanted: Option<(u64, u64)>,
    wanted_mac: Option<Option<String>>,
    wanted_line: usize,
}

impl Walk<'_> {
    fn problem(
        &mut self,
        line: usize,
        segment: Option<&str>,
        problem: &'static str,
        detail: String,
    ) {
        self.problems.push(Break {
            line,
            segment: segment.map(str::to_owned),
            problem,
            detail,
        });
    }

    fn segment(&mut self, n: u64, name: &str, bytes: &[u8]) {
        let mut lines = 0u64;
        let torn = !bytes.is_empty() && !bytes.ends_with(b"\n");
        for raw in split_lines(bytes) {
            self.line += 1;
            lines += 1;
            let at = self.line;
            let record: Record = match serde_json::from_slice(raw) {
                Ok(r) => r,
                Err(e) => {
                    self.problem(
                        at,
                        Some(name),
                        "not-a-record",
                        format!("not an audit record: {e}"),
                    );
                    self.prev = Some(line_hash(raw));
                    continue;
                }
            };
            if let Some(want) = &self.prev
                && &record.prev != want
            {
                self.problem(
                    at,
                    Some(name),
                    "prev-mismatch",
                    format!(
                        "`prev` is {}, but the line before hashes to {want}: a line was changed, inserted or removed",
                        record.prev
                    ),
                );
            }
            self.prev = Some(line_hash(raw));
            let tag = split_tag(raw, record.mac.as_deref());
            let hex = match &tag {
                Ok((_, Tag::Hex(h))) => Some((*h).to_owned()),
                _ => None,
            };
            if self.wanted == Some((n, lines)) {
                self.wanted_mac = Some(hex.clone());
                self.wanted_line = at;
            }
            match tag {
                Err(()) => {
                    self.seen_keyed = true;
                    self.first_keyed.get_or_insert(at);
                    self.forged.get_or_insert(at);
                    self.problem(
                        at,
                        Some(name),
                        "mac-malformed",
                        "its `mac` is not 64 lower-case hex digits as the line's last member"
                            .to_owned(),
                    );
                }
                Ok((_, Tag::Unkeyed)) => {
                    self.unkeyed += 1;
                    if self.seen_keyed {
                        self.problem(
                            at,
                            Some(name),
                            "unkeyed-line",
                            "an unkeyed line after keyed ones: anyone could have appended it"
                                .to_owned(),
                        );
                    }
                }
                Ok((signed, Tag::Hex(tag))) => {
                    self.seen_keyed = true;
                    self.first_keyed.get_or_insert(at);
                    if let (true, Some(key)) = (self.check_macs, self.key) {
                        if AuditKey::check(&key.line, &signed, tag) {
                            self.macs_ok += 1;
                        } else {
                            self.forged.get_or_insert(at);
                            self.problem(
                                at,
                                Some(name),
                                "mac-mismatch",
                                "its MAC does not verify: the line was altered or forged"
                                    .to_owned(),
                            );
                        }
                    }
                }
            }
        }
        if torn {
            self.problem(
                self.line,
                Some(name),
                "torn-line",
                "the last line is incomplete (a torn write)".to_owned(),
            );
        }
        self.counts.push((n, lines));
    }

    /// Compares the walked segments with a valid head: its state, and how
    /// many of the lines it counts are missing.
    fn against_head(&mut self, h: &Head, files: &Files, current_no: u64) -> (HeadState, u64) {
        let mut state = HeadState::Ok;
        let mut truncated = 0u64;
        let mut before = 0usize;
        let last_index = h.segments.len().saturating_sub(1);
        let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        for (i, s) in h.segments.iter().enumerate() {
            let have = self
                .counts
                .iter()
                .find(|(n, _)| *n == s.n)
                .map_or(0, |(_, c)| *c);
            if have < s.lines {
                truncated += s.lines - have;
                state = HeadState::Ahead;
                let file = files.file_of(s.n, current_no);
                let name = file.file_name().map(|f| f.to_string_lossy().into_owned());
                self.problem(
                    before + as_usize(have) + 1,
                    name.as_deref(),
                    "truncated",
                    format!(
                        "the head counts {} line(s) in segment {}, the log has {have}: {} line(s) were removed",
                        s.lines,
                        s.n,
                        s.lines - have
                    ),
                );
            } else if i == last_index {
                if self.wanted_mac.as_ref().and_then(|m| m.as_deref()) != Some(h.last_mac.as_str())
                {
                    state = HeadState::Ahead;
                    self.problem(
                        self.wanted_line,
                        None,
                        "head-mismatch",
                        format!(
                            "line {} is not the line the head recorded last: lines were removed and others written in their place",
                            self.wanted_line
                        ),
                    );
                } else if have > s.lines {
                    state = HeadState::Behind;
                }
            } else if have > s.lines {
                state = HeadState::Ahead;
                self.problem(
                    before + as_usize(s.lines) + 1,
                    None,
                    "head-mismatch",
                    format!(
                        "segment {} has {have} lines, the head counts {}: lines were added to a closed segment",
                        s.n, s.lines
                    ),
                );
            }
            before += as_usize(have);
        }
        // Segments rotated since the head was written.
        let head_last = h.segments.last().map_or(0, |s| s.n);
        if state == HeadState::Ok && self.counts.iter().any(|(n, c)| *n > head_last && *c > 0) {
            state = HeadState::Behind;
        }
        (state, truncated)
    }
}

/// Checks the log at `path` and every segment before it against its head.
/// Problems are reported in the result, never as an error.
pub fn verify(path: &Path, keying: Keying<'_>) -> Verification {
    let files = Files::of(path);
    let _lock = lock(&files, false);
    let key = match keying {
        Keying::Key(k) => Some(k),
        Keying::Unavailable(_) => None,
    };
    let head = read_head(&files, key);
    let head_present = !matches!(head, HeadRead::Absent);
    let mut walk = Walk {
        key,
        check_macs: key.is_some() && !matches!(head, HeadRead::OtherKey(_)),
        line: 0,
        prev: None,
        seen_keyed: false,
        first_keyed: None,
        macs_ok: 0,
        unkeyed: 0,
        forged: None,
        problems: Vec::new(),
        counts: Vec::new(),
        wanted: None,
        wanted_mac: None,
        wanted_line: 0,
    };
    let rotated = match files.rotated() {
        Ok(r) => r,
        Err(e) => {
            walk.problem(
                0,
                None,
                "segment-unreadable",
                format!("cannot list {}: {e}", files.dir.display()),
            );
            Vec::new()
        }
    };
    let valid = match &head {
        HeadRead::Valid(h) if key.is_some() => Some(h),
        _ => None,
    };
    // The current segment's number: one past the last rotated one, unless
    // the head knows a later one (then the rotated segments before it were
    // removed).
    let current_no = rotated
        .last()
        .map_or(1, |n| n + 1)
        .max(valid.and_then(|h| h.segments.last()).map_or(1, |s| s.n));
    let current_exists = std::fs::symlink_metadata(&files.current).is_ok();
    if let Some(h) = valid {
        walk.wanted = h.segments.last().map(|s| (s.n, s.lines));
    }
    // Where the walk starts: the head's first segment (older ones were
    // pruned), else segment 1.
    let start = match (&valid, &head) {
        (Some(h), _) => h.segments.first().map_or(1, |s| s.n),
        (None, HeadRead::Absent) => 1,
        // An unusable head cannot say what was pruned: start at the oldest file.
        (None, _) => rotated.first().copied().unwrap_or(current_no),
    };
    walk.prev = (start == 1).then(|| GENESIS.to_owned());
    let mut walked = 0;
    for n in start..=current_no {
        let file = files.file_of(n, current_no);
        let name = file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match fsread::read(&file, SEGMENT_BYTES + MAX_LINE as u64, Links::Refuse) {
            Ok(bytes) => {
                walked += 1;
                walk.segment(n, &name, &bytes);
            }
            Err(ReadError::NotFound) if n == current_no => walk.counts.push((n, 0)),
            Err(ReadError::NotFound) => {
                let at = walk.line + 1;
                walk.problem(
                    at,
                    Some(&name),
                    "segment-missing",
                    format!("segment {n} ({name}) is missing"),
                );
                walk.prev = None;
                walk.counts.push((n, 0));
            }
            Err(e) => {
                let at = walk.line + 1;
                walk.problem(at, Some(&name), "segment-unreadable", format!("{name} {e}"));
                walk.prev = None;
                walk.counts.push((n, 0));
            }
        }
    }
    let any_file = !rotated.is_empty() || current_exists;
    let mut truncated = 0u64;
    let head_state = match &head {
        HeadRead::Absent if walk.seen_keyed => {
            walk.problem(0, None, "head-missing", format!(
                "the log has keyed lines but {} is gone: it was deleted, and lines may have been removed with it",
                files.head().display()
            ));
            HeadState::Missing
        }
        HeadRead::Absent => HeadState::None,
        HeadRead::Invalid(why) => {
            walk.problem(
                0,
                None,
                "head-invalid",
                format!("{}: {why}", files.head().display()),
            );
            HeadState::Invalid
        }
        HeadRead::OtherKey(kid) => {
            let at = walk.first_keyed.unwrap_or(0);
            walk.problem(at, None, "key-mismatch", format!(
                "the log was keyed by another master key (key id {kid}, this one is {}): its MACs cannot be checked with this key",
                key.map_or("", |k| k.kid.as_str())
            ));
            HeadState::OtherKey
        }
        HeadRead::MacMismatch => {
            walk.problem(
                0,
                None,
                "head-mac-mismatch",
                format!(
                    "the MAC of {} does not verify: it was altered or forged",
                    files.head().display()
                ),
            );
            HeadState::MacMismatch
        }
        HeadRead::Valid(_) if key.is_none() => HeadState::Unchecked,
        HeadRead::Valid(h) => {
            let (state, missing) = walk.against_head(h, &files, current_no);
            truncated = missing;
            state
        }
    };
    let deleted = head_present && !any_file;
    if deleted {
        walk.problems
            .retain(|p| !matches!(p.problem, "truncated" | "segment-missing"));
        walk.problem(
            1,
            None,
            "log-deleted",
            format!(
                "{} is there but the log is gone: every segment was deleted",
                files.head().display()
            ),
        );
    }
    let keyed_something = walk.seen_keyed || head_present;
    if let Keying::Unavailable(reason) = keying
        && keyed_something
    {
        let at = walk.first_keyed.unwrap_or(0);
        walk.problem(
            at,
            None,
            "key-unavailable",
            format!(
                "the log is keyed but its key is not available, so no MAC was checked: {reason}"
            ),
        );
    }
    let keyed = if key.is_none() && keyed_something {
        Keyed::Unknown
    } else if !keyed_something {
        Keyed::No
    } else if walk.unkeyed > 0 {
        Keyed::Partly
    } else {
        Keyed::Yes
    };
    let first_break = first_problem(&walk.problems);
    Verification {
        ok: first_break.is_none(),
        keyed,
        lines: walk.line,
        segments: walked,
        macs_ok: walk.macs_ok,
        unkeyed: walk.unkeyed,
        head: head_state,
        truncated,
        deleted,
        forged: walk.forged,
        first_break,
    }
}

/// The problem at the lowest line; problems of the head itself (line 0)
/// only when no line has one.
fn first_problem(problems: &[Break]) -> Option<Break> {
    let mut best: Option<&Break> = None;
    for p in problems.iter().filter(|p| p.line > 0) {
        if best.is_none_or(|b| p.line < b.line) {
            best = Some(p);
        }
    }
    best.or_else(|| problems.first()).cloned()
}

/// Reads every record of every segment, oldest first; lines that do not
/// parse are reported by [`verify`], and skipped here.
pub fn read(path: &Path) -> Result<Vec<Record>, VaultError> {
    let files = Files::of(path);
    let _lock = lock(&files, false)?;
    let rotated = files.rotated().map_err(io_err("list", &files.dir))?;
    let current_no = rotated.last().map_or(1, |n| n + 1);
    let mut out = Vec::new();
    for n in rotated.iter().copied().chain([current_no]) {
        let file = files.file_of(n, current_no);
        let bytes = match fsread::read(&file, SEGMENT_BYTES + MAX_LINE as u64, Links::Refuse) {
            Ok(b) => b,
            Err(ReadError::NotFound) => continue,
            Err(e) => return Err(read_err(&file, e)),
        };
        out.extend(split_lines(&bytes).filter_map(|l| serde_json::from_slice(l).ok()));
    }
    Ok(out)
}

/// Creates `dir` (and parents) with mode 0700 for the directories made.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::key::{KeySource, generate};

    fn rec(outcome: &str) -> Record {
        Record {
            ts: now(),
            actor: Some("a".into()),
            role: None,
            op: "pull".into(),
            target: "t".into(),
            target_sha256: None,
            registry_id: None,
            outcome: outcome.into(),
            reveal: false,
            digest: None,
            cut: Vec::new(),
            prev: String::new(),
            mac: None,
        }
    }

    fn key_for(vault: &str) -> AuditKey {
        let (_, text) = generate("now");
        let ids = Identities::parse(&text, Path::new("k"), KeySource::Global).unwrap();
        AuditKey::derive(&ids, vault).unwrap()
    }

    /// A keyed log of `n` lines in a fresh directory.
    fn keyed_log(n: usize) -> (tempfile::TempDir, PathBuf, AuditKey) {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("v/audit.jsonl");
        let key = key_for("v");
        for i in 0..n {
            append(
                &log,
                rec(if i % 2 == 0 { "ok" } else { "op-not-in-scope" }),
                Some(&key),
            )
            .unwrap();
        }
        (tmp, log, key)
    }

    fn check(log: &Path, key: &AuditKey) -> Verification {
        verify(log, Keying::Key(key))
    }

    fn problem(v: &Verification) -> (&'static str, usize) {
        let b = v
            .first_break
            .as_ref()
            .unwrap_or_else(|| panic!("no break: {v:?}"));
        (b.problem, b.line)
    }

    fn lines_of(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(log: &Path, lines: &[String]) {
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        std::fs::write(log, text).unwrap();
    }

    #[test]
    fn chain_links_and_detects_edits() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("v/audit.jsonl");
        assert!(verify(&log, Keying::Unavailable("none")).ok);
        let first = append(&log, rec("ok"), None).unwrap();
        assert_eq!(first.prev, GENESIS);
        append(&log, rec("actor-not-bound"), None).unwrap();
        append(&log, rec("ok"), None).unwrap();
        let v = verify(&log, Keying::Unavailable("none"));
        assert!(v.ok && v.lines == 3, "{v:?}");
        assert_eq!(read(&log).unwrap().len(), 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }

        // Rewriting an outcome breaks the link of the next line.
        let text = std::fs::read_to_string(&log).unwrap();
        std::fs::write(&log, text.replacen("actor-not-bound", "ok", 1)).unwrap();
        let v = verify(&log, Keying::Unavailable("none"));
        assert_eq!(v.first_break.as_ref().map(|b| b.line), Some(3), "{v:?}");

        // Removing a middle line breaks the chain too.
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        let v = verify(&log, Keying::Unavailable("none"));
        assert_eq!(problem(&v), ("prev-mismatch", 2));

        // A torn last write is reported.
        std::fs::write(&log, format!("{}\n{{\"ts\":", lines[0])).unwrap();
        assert!(!verify(&log, Keying::Unavailable("none")).ok);
    }

    #[test]
    fn concurrent_appends_keep_one_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..25 {
                        append(&log, rec("ok"), None).unwrap();
                    }
                });
            }
        });
        let v = verify(&log, Keying::Unavailable("none"));
        assert!(v.ok && v.lines == 200, "{v:?}");
    }

    #[test]
    fn concurrent_keyed_appends_keep_one_chain_and_one_head() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        let key = key_for("v");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..25 {
                        append(&log, rec("ok"), Some(&key)).unwrap();
                    }
                });
            }
        });
        let v = check(&log, &key);
        assert!(v.ok && v.lines == 200 && v.macs_ok == 200, "{v:?}");
        assert_eq!((v.keyed, v.head), (Keyed::Yes, HeadState::Ok));
    }

    #[test]
    fn keyed_lines_carry_a_mac_over_the_line_without_it() {
        let (_tmp, log, key) = keyed_log(2);
        let v = check(&log, &key);
        assert!(v.ok, "{v:?}");
        assert_eq!((v.lines, v.macs_ok, v.unkeyed), (2, 2, 0));
        assert_eq!(
            (v.keyed, v.head, v.segments),
            (Keyed::Yes, HeadState::Ok, 1)
        );
        // The documented rule: HMAC over the bytes up to `prev`, closed by `}`.
        let line = lines_of(&log).remove(1);
        let (body, tag) = line.split_at(line.len() - MAC_SUFFIX);
        assert!(
            tag.starts_with(",\"mac\":\"") && body.ends_with('"'),
            "{line}"
        );
        let record: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(
            AuditKey::sign(&key.line, format!("{body}}}").as_bytes()),
            record.mac.unwrap()
        );
        // The head: one segment of two lines, ending at that line's MAC.
        let head: Head =
            serde_json::from_slice(&std::fs::read(log.with_file_name("audit.head")).unwrap())
                .unwrap();
        assert_eq!(head.segments, [SegmentCount { n: 1, lines: 2 }]);
        assert_eq!((head.lines, head.kid.as_str()), (2, key.kid()));
        assert_eq!(
            Some(head.last_mac),
            serde_json::from_str::<Record>(&line).unwrap().mac
        );
        // Another master key cannot check it.
        let other = check(&log, &key_for("v"));
        assert_eq!(problem(&other).0, "key-mismatch", "{other:?}");
    }

    #[test]
    fn the_key_is_bound_to_the_vault_and_the_master_key() {
        let (_, text) = generate("now");
        let ids = Identities::parse(&text, Path::new("k"), KeySource::Global).unwrap();
        let a = AuditKey::derive(&ids, "vault-a").unwrap();
        let again = AuditKey::derive(&ids, "vault-a").unwrap();
        let b = AuditKey::derive(&ids, "vault-b").unwrap();
        assert_eq!(a.kid(), again.kid());
        assert_ne!(a.kid(), b.kid());
        // The line and head keys differ from each other.
        assert_ne!(AuditKey::sign(&a.line, b"x"), AuditKey::sign(&a.head, b"x"));
        assert_eq!(
            AuditKey::sign(&a.line, b"x"),
            AuditKey::sign(&again.line, b"x")
        );
        assert_ne!(AuditKey::sign(&a.line, b"x"), AuditKey::sign(&b.line, b"x"));
        // A log copied into another vault does not verify there.
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        append(&log, rec("ok"), Some(&a)).unwrap();
        assert!(check(&log, &again).ok);
        assert!(!check(&log, &b).ok);
        // The key never prints.
        assert_eq!(
            format!("{a:?}"),
            format!("AuditKey {{ kid: {:?}, .. }}", a.kid())
        );
    }

    #[test]
    fn a_forged_line_with_the_right_prev_is_detected() {
        let (_tmp, log, key) = keyed_log(3);
        let mut lines = lines_of(&log);
        let last = lines[2].clone();
        let prev = line_hash(last.as_bytes());
        // Any MAC the forger can make up, or none.
        let forged = last
            .replacen("\"outcome\":\"ok\"", "\"outcome\":\"ok-forged\"", 1)
            .replacen(
                &serde_json::from_str::<Record>(&last).unwrap().prev,
                &prev,
                1,
            );
        lines.push(forged.clone());
        write_lines(&log, &lines);
        let v = check(&log, &key);
        assert!(!v.ok);
        assert_eq!(problem(&v), ("mac-mismatch", 4), "{v:?}");
        assert_eq!((v.forged, v.macs_ok), (Some(4), 3));

        let unkeyed = forged[..forged.len() - MAC_SUFFIX].to_owned() + ",\"mac\":null}";
        lines[3] = unkeyed;
        write_lines(&log, &lines);
        let v = check(&log, &key);
        assert_eq!(problem(&v), ("unkeyed-line", 4), "{v:?}");
        assert_eq!((v.keyed, v.unkeyed), (Keyed::Partly, 1));

        // A `mac` that is not the line's last member is malformed.
        let moved = format!(
            "{{\"mac\":\"{}\",{}}}",
            "0".repeat(64),
            &forged[1..forged.len() - MAC_SUFFIX]
        );
        lines[3] = moved;
        write_lines(&log, &lines);
        assert_eq!(problem(&check(&log, &key)).0, "mac-malformed");
    }

    #[test]
    fn dropping_the_last_lines_is_detected() {
        let (_tmp, log, key) = keyed_log(5);
        let lines = lines_of(&log);
        write_lines(&log, &lines[..3]);
        let v = check(&log, &key);
        assert!(!v.ok);
        assert_eq!(problem(&v), ("truncated", 4), "{v:?}");
        assert_eq!((v.truncated, v.head, v.lines), (2, HeadState::Ahead, 3));
        // Writing lines in their place does not hide it: the head's last
        // line is not there.
        append(&log, rec("ok"), Some(&key)).unwrap();
        append(&log, rec("ok"), Some(&key)).unwrap();
        let v = check(&log, &key);
        assert_eq!(problem(&v), ("head-mismatch", 5), "{v:?}");
        // Nor does emptying the log.
        write_lines(&log, &[]);
        let v = check(&log, &key);
        assert_eq!((problem(&v), v.truncated), (("truncated", 1), 5), "{v:?}");
    }

    #[test]
    fn deleting_the_log_is_detected_while_the_head_remains() {
        let (_tmp, log, key) = keyed_log(3);
        std::fs::remove_file(&log).unwrap();
        let v = check(&log, &key);
        assert!(!v.ok && v.deleted, "{v:?}");
        assert_eq!((problem(&v), v.truncated), (("log-deleted", 1), 3));
        // Deleting the head instead: keyed lines without a head.
        let (_tmp, log, key) = keyed_log(3);
        std::fs::remove_file(log.with_file_name("audit.head")).unwrap();
        let v = check(&log, &key);
        assert_eq!(
            (problem(&v), v.head),
            (("head-missing", 0), HeadState::Missing)
        );
        // ... and the next append does not recreate it.
        append(&log, rec("ok"), Some(&key)).unwrap();
        assert!(!log.with_file_name("audit.head").exists());
        assert_eq!(check(&log, &key).head, HeadState::Missing);
    }

    #[test]
    fn editing_a_middle_line_or_the_head_is_detected() {
        let (_tmp, log, key) = keyed_log(4);
        let lines = lines_of(&log);
        let mut edited = lines.clone();
        edited[1] = edited[1].replacen("op-not-in-scope", "ok", 1);
        write_lines(&log, &edited);
        let v = check(&log, &key);
        assert_eq!(
            (problem(&v), v.forged),
            (("mac-mismatch", 2), Some(2)),
            "{v:?}"
        );
        write_lines(&log, &lines);
        assert!(check(&log, &key).ok);

        let head_path = log.with_file_name("audit.head");
        let head = std::fs::read_to_string(&head_path).unwrap();
        std::fs::write(&head_path, head.replace("\"lines\":4", "\"lines\":5")).unwrap();
        let v = check(&log, &key);
        assert_eq!(
            (problem(&v), v.head),
            (("head-mac-mismatch", 0), HeadState::MacMismatch)
        );
        std::fs::write(&head_path, "not json\n").unwrap();
        assert_eq!(check(&log, &key).head, HeadState::Invalid);
    }

    #[test]
    fn old_unkeyed_logs_are_reported_and_continued_keyed() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        // Today's format: no `mac`.
        let mut prev = GENESIS.to_owned();
        let mut lines = Vec::new();
        for outcome in ["ok", "actor-not-bound", "ok"] {
            let line = format!(
                r#"{{"ts":"2026-11-21T10:00:00.000Z","actor":"a","role":null,"op":"pull","target":"t","registry_id":null,"outcome":"{outcome}","reveal":false,"prev":"{prev}"}}"#
            );
            prev = line_hash(line.as_bytes());
            lines.push(line);
        }
        write_lines(&log, &lines);
        let key = key_for("v");
        let v = check(&log, &key);
        assert!(v.ok, "{v:?}");
        assert_eq!(
            (v.keyed, v.head, v.unkeyed, v.lines),
            (Keyed::No, HeadState::None, 3, 3)
        );
        // Without the key it reads the same: nothing keyed to check.
        assert!(verify(&log, Keying::Unavailable("no key")).ok);
        // The chain is still checked.
        let mut broken = lines.clone();
        broken[1] = broken[1].replacen("actor-not-bound", "ok", 1);
        write_lines(&log, &broken);
        assert_eq!(problem(&check(&log, &key)), ("prev-mismatch", 3));
        write_lines(&log, &lines);

        // Appending continues the chain with keyed lines, and starts a head.
        let r = append(&log, rec("ok"), Some(&key)).unwrap();
        assert_eq!(r.prev, prev);
        let v = check(&log, &key);
        assert!(v.ok, "{v:?}");
        assert_eq!(
            (v.keyed, v.head, v.unkeyed, v.macs_ok),
            (Keyed::Partly, HeadState::Ok, 3, 1)
        );
        // Editing the unkeyed prefix is caught by the chain the keyed line seals.
        let mut now = lines_of(&log);
        now[2] = now[2].replacen("\"ok\"", "\"actor-not-bound\"", 1);
        write_lines(&log, &now);
        assert_eq!(problem(&check(&log, &key)), ("prev-mismatch", 4));
    }

    #[test]
    fn an_unkeyed_line_after_keyed_ones_breaks_ok_and_without_the_key_nothing_is_vouched_for() {
        let (_tmp, log, key) = keyed_log(2);
        append(&log, rec("kage-not-resolvable"), None).unwrap();
        let v = check(&log, &key);
        assert_eq!(problem(&v), ("unkeyed-line", 3), "{v:?}");
        assert_eq!((v.keyed, v.head), (Keyed::Partly, HeadState::Behind));
        // The next keyed append brings the head up to date; the unkeyed line
        // stays reported.
        append(&log, rec("ok"), Some(&key)).unwrap();
        let v = check(&log, &key);
        assert_eq!((problem(&v), v.head), (("unkeyed-line", 3), HeadState::Ok));

        let (_tmp, log, _key) = keyed_log(2);
        let v = verify(&log, Keying::Unavailable("no identity file"));
        assert!(!v.ok);
        assert_eq!(
            (v.keyed, v.head, v.macs_ok),
            (Keyed::Unknown, HeadState::Unchecked, 0)
        );
        let b = v.first_break.unwrap();
        assert_eq!((b.problem, b.line), ("key-unavailable", 1));
        assert!(b.detail.contains("no identity file"), "{}", b.detail);
    }

    #[test]
    fn a_head_lost_in_a_crash_is_behind_and_caught_up() {
        let (_tmp, log, key) = keyed_log(2);
        let head_path = log.with_file_name("audit.head");
        let old = std::fs::read(&head_path).unwrap();
        append(&log, rec("ok"), Some(&key)).unwrap();
        std::fs::write(&head_path, &old).unwrap();
        let v = check(&log, &key);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.head, HeadState::Behind);
        append(&log, rec("ok"), Some(&key)).unwrap();
        let v = check(&log, &key);
        assert_eq!((v.ok, v.head, v.lines), (true, HeadState::Ok, 4), "{v:?}");
    }

    #[test]
    fn rotation_keeps_the_chain_across_segments_and_prunes_old_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        let key = key_for("v");
        let limits = Limits {
            segment_bytes: 4096,
            keep: 3,
        };
        let mut written = Vec::new();
        for i in 0..60 {
            let mut r = rec("ok");
            r.target = format!("domains/x/{i}:{}", "t".repeat(100));
            written.push(append_with(&log, r, Some(&key), limits).unwrap());
        }
        let files = Files::of(&log);
        let rotated = files.rotated().unwrap();
        // At most `keep` segments remain: the oldest were deleted.
        assert_eq!(rotated.len() + 1, 3, "{rotated:?}");
        assert!(rotated[0] > 2, "{rotated:?}");
        assert!(!files.segment(1).exists());
        for n in &rotated {
            assert!(std::fs::metadata(files.segment(*n)).unwrap().len() <= 4096);
        }
        // The first line of each segment follows the last of the one before.
        let last_of_first = lines_of(&files.segment(rotated[0])).pop().unwrap();
        let first_of_next: Record =
            serde_json::from_str(&lines_of(&files.segment(rotated[1]))[0]).unwrap();
        assert_eq!(first_of_next.prev, line_hash(last_of_first.as_bytes()));
        let v = check(&log, &key);
        assert!(v.ok, "{v:?}");
        assert_eq!((v.segments, v.head), (3, HeadState::Ok));
        let kept = read(&log).unwrap();
        assert_eq!(v.lines, kept.len());
        assert_eq!(kept.last(), written.last());
        // Removing a kept segment, or a line at the end of one, is found.
        let middle = files.segment(rotated[1]);
        let text = lines_of(&middle);
        write_lines(&middle, &text[..text.len() - 1]);
        let v = check(&log, &key);
        assert!(!v.ok && v.truncated == 1, "{v:?}");
        std::fs::remove_file(&middle).unwrap();
        let v = check(&log, &key);
        assert_eq!(problem(&v).0, "segment-missing", "{v:?}");
    }

    #[test]
    fn an_unkeyed_log_rotates_and_is_walked_from_segment_one() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        let limits = Limits {
            segment_bytes: 4096,
            keep: 2,
        };
        for _ in 0..40 {
            append_with(&log, rec("ok"), None, limits).unwrap();
        }
        // Unkeyed appends never delete a segment (there is no head to say so).
        assert!(Files::of(&log).segment(1).exists());
        let v = verify(&log, Keying::Unavailable("none"));
        assert!(v.ok && v.segments >= 2 && v.lines == 40, "{v:?}");
        std::fs::remove_file(Files::of(&log).segment(1)).unwrap();
        assert_eq!(
            problem(&verify(&log, Keying::Unavailable("none"))).0,
            "segment-missing"
        );
    }

    #[test]
    fn lines_are_bounded_and_a_cut_target_keeps_its_sha256() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        let key = key_for("v");
        let target = "domains/acme/".to_owned() + &"x".repeat(1 << 20);
        let mut r = rec("target-not-in-scope");
        r.target = target.clone();
        let written = append(&log, r, Some(&key)).unwrap();
        let line = std::fs::read_to_string(&log).unwrap();
        assert!(line.len() <= MAX_LINE, "{}", line.len());
        assert_eq!(written.target.chars().count(), TARGET_CHARS);
        assert_eq!(
            written.target_sha256.as_deref(),
            Some(crate::hex::encode(&Sha256::digest(target.as_bytes())).as_str())
        );
        assert_eq!(written.cut, ["target"]);
        assert!(check(&log, &key).ok);
        // The worst case: every field at its bound in characters JSON
        // escapes to six bytes.
        let worst = |n: usize| "\u{1}".repeat(n * 2);
        let r = Record {
            ts: worst(TS_CHARS),
            actor: Some(worst(ACTOR_CHARS)),
            role: Some(worst(ROLE_CHARS)),
            op: worst(OP_CHARS),
            target: worst(TARGET_CHARS),
            target_sha256: None,
            registry_id: Some(worst(REGISTRY_CHARS)),
            outcome: worst(OUTCOME_CHARS),
            reveal: true,
            digest: Some("f".repeat(DIGEST_CHARS * 2)),
            cut: vec!["x".repeat(1000)],
            prev: String::new(),
            mac: Some("y".repeat(1000)),
        };
        let written = append(&log, r, Some(&key)).unwrap();
        assert_eq!(written.cut.len(), 8);
        let longest = lines_of(&log).iter().map(String::len).max().unwrap();
        assert!(longest < MAX_LINE, "{longest}");
        assert!(check(&log, &key).ok);
    }

    #[cfg(unix)]
    #[test]
    fn a_log_that_is_a_link_or_a_fifo_is_refused_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::write(&elsewhere, "").unwrap();
        let log = tmp.path().join("audit.jsonl");
        std::os::unix::fs::symlink(&elsewhere, &log).unwrap();
        let err = append(&log, rec("ok"), None).unwrap_err();
        assert_eq!(err.code(), "audit-log-unusable", "{err}");
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"");
        std::fs::remove_file(&log).unwrap();
        let c = std::ffi::CString::new(log.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = append(&log, rec("ok"), None).unwrap_err();
        assert_eq!(err.code(), "audit-log-unusable", "{err}");
        let v = verify(&log, Keying::Unavailable("none"));
        assert_eq!(problem(&v).0, "segment-unreadable", "{v:?}");
    }
}
