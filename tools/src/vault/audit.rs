//! The vault's audit log, `<vault dir>/audit.jsonl`: one JSON line per
//! credential attempt, allowed or refused, chained by `prev`, the sha256 of
//! the previous line (64 zeros for the first). Appends hold an exclusive
//! file lock, so concurrent processes cannot interleave or fork the chain.
//! A record never holds a secret: who, which role, what op on which target,
//! the outcome code and whether reveal was asked for.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::vault::VaultError;

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
    /// The target, as given.
    pub target: String,
    /// The registry id asked for (`null`: the default).
    pub registry_id: Option<String>,
    /// `ok`, or the error code that refused it.
    pub outcome: String,
    /// Whether the secret values were asked for.
    pub reveal: bool,
    /// sha256 (hex) of the previous line.
    pub prev: String,
}

fn line_hash(line: &[u8]) -> String {
    crate::embedded::hex(&Sha256::digest(line))
}

/// Appends `record` (its `prev` is set here) to the log at `path`, creating
/// it (0600) and its directory (0700) if needed.
pub fn append(path: &Path, mut record: Record) -> Result<Record, VaultError> {
    let io = |what: &'static str, e: std::io::Error| VaultError::Io {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|e| io("create the directory of", e))?;
    }
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io("open", e))?;
    file.lock().map_err(|e| io("lock", e))?;
    let last = last_line(&mut file).map_err(|e| io("read", e))?;
    record.prev = match last {
        Some(line) => line_hash(&line),
        None => GENESIS.to_owned(),
    };
    let mut line = serde_json::to_vec(&record)
        .map_err(|e| VaultError::Invalid(format!("cannot serialise an audit record: {e}")))?;
    line.push(b'\n');
    file.write_all(&line).map_err(|e| io("append to", e))?;
    file.flush().map_err(|e| io("append to", e))?;
    Ok(record)
}

/// The last complete line of the file (without its newline), reading only
/// its tail.
fn last_line(file: &mut std::fs::File) -> std::io::Result<Option<Vec<u8>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut window: u64 = 4096;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
        file.read_to_end(&mut buf)?;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Some(pos) = body.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(body[pos + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(body.to_vec()));
        }
        window = window.saturating_mul(4);
    }
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Verification {
    /// Whether every line parses and links to the one before.
    pub ok: bool,
    /// Lines checked.
    pub lines: usize,
    /// The first problem: `{line, problem}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_break: Option<Break>,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Break {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// The log's bytes; none when it does not exist yet.
fn read_log(path: &Path) -> Result<Vec<u8>, VaultError> {
    match std::fs::read(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(VaultError::Io {
            what: "read",
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Reads every record; lines that do not parse are reported by
/// [`verify`], and skipped here.
pub fn read(path: &Path) -> Result<Vec<Record>, VaultError> {
    let text = read_log(path)?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect())
}

/// Checks that each line parses and that its `prev` is the hash of the line
/// before it. Removing the newest lines cannot be detected by a chain alone.
pub fn verify(path: &Path) -> Result<Verification, VaultError> {
    let text = read_log(path)?;
    let mut prev = GENESIS.to_owned();
    let mut lines = 0;
    let body = text.strip_suffix(b"\n").unwrap_or(&text);
    let broken = |line, problem: String| {
        Ok(Verification {
            ok: false,
            lines: line,
            first_break: Some(Break { line, problem }),
        })
    };
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if body.is_empty() {
            break;
        }
        let n = i + 1;
        lines = n;
        let record: Record = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => return broken(n, format!("not an audit record: {e}")),
        };
        if record.prev != prev {
            return broken(
                n,
                format!(
                    "`prev` is {}, but the line before hashes to {prev}: a line was changed, inserted or removed",
                    record.prev
                ),
            );
        }
        prev = line_hash(line);
    }
    if !text.is_empty() && !text.ends_with(b"\n") {
        return broken(
            lines,
            "the last line is incomplete (a torn write)".to_owned(),
        );
    }
    Ok(Verification {
        ok: true,
        lines,
        first_break: None,
    })
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

    fn rec(outcome: &str) -> Record {
        Record {
            ts: now(),
            actor: Some("a".into()),
            role: None,
            op: "pull".into(),
            target: "t".into(),
            registry_id: None,
            outcome: outcome.into(),
            reveal: false,
            prev: String::new(),
        }
    }

    #[test]
    fn chain_links_and_detects_edits() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("v/audit.jsonl");
        assert!(verify(&log).unwrap().ok);
        let first = append(&log, rec("ok")).unwrap();
        assert_eq!(first.prev, GENESIS);
        append(&log, rec("actor-not-bound")).unwrap();
        append(&log, rec("ok")).unwrap();
        let v = verify(&log).unwrap();
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
        let v = verify(&log).unwrap();
        assert_eq!(v.first_break.as_ref().map(|b| b.line), Some(3), "{v:?}");

        // Removing a middle line breaks the chain too.
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert_eq!(verify(&log).unwrap().first_break.unwrap().line, 2);

        // A torn last write is reported.
        std::fs::write(&log, format!("{}\n{{\"ts\":", lines[0])).unwrap();
        assert!(!verify(&log).unwrap().ok);
    }

    #[test]
    fn concurrent_appends_keep_one_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("audit.jsonl");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..25 {
                        append(&log, rec("ok")).unwrap();
                    }
                });
            }
        });
        let v = verify(&log).unwrap();
        assert!(v.ok && v.lines == 200, "{v:?}");
    }
}
