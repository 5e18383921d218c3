//! Directories that must belong to the user running ontoref: the cache
//! directory, the runtime directory credential directories live in, and
//! their fallback under the shared temporary directory.
//!
//! Anything another local user can create or write is hostile: a planted
//! `/tmp/ontoref-cache-$USER` would feed ontoref forged evaluation results,
//! and a planted credential directory a symbolic link to write through. So a
//! directory is used only when it is a real directory (not a link), owned
//! by this user, and writable by no one else.

use std::io;
use std::path::{Path, PathBuf};

/// The effective user id of this process.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` and any missing parents; the directories it creates get
/// mode 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// How strict [`check`] is about the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No write bit for group or others (a cache directory made with the
    /// usual umask, 0755, qualifies).
    NoForeignWrites,
    /// Exactly 0700: nobody else may even look inside.
    Private,
}

/// Why `dir` is not ours, or `Ok` when it is a directory (not a link) owned
/// by this user whose mode satisfies `mode`.
pub fn check(dir: &Path, mode: Mode) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", dir.display()));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    owned(&meta, dir, mode)
}

/// Why the file or directory `path`, whose metadata is `meta`, is not this
/// user's with a mode satisfying `mode`; `Ok` when it is.
pub fn owned(meta: &std::fs::Metadata, path: &Path, mode: Mode) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != euid() {
            return Err(format!(
                "{} belongs to uid {}, not to this user (uid {})",
                path.display(),
                meta.uid(),
                euid()
            ));
        }
        let bits = meta.mode() & 0o777;
        let bad = match mode {
            Mode::NoForeignWrites => bits & 0o022 != 0,
            Mode::Private => bits & 0o077 != 0,
        };
        if bad {
            return Err(format!(
                "{} has mode {bits:o}, {}",
                path.display(),
                match mode {
                    Mode::NoForeignWrites => "writable by other users",
                    Mode::Private => "open to other users (0700 expected)",
                }
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, path, mode);
    Ok(())
}

/// `dir`, created (0700) if missing, when it is ours by [`check`].
pub fn ensure(dir: &Path, mode: Mode) -> Result<PathBuf, String> {
    if std::fs::symlink_metadata(dir).is_err() {
        create_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    check(dir, mode)?;
    Ok(dir.to_path_buf())
}

/// The system temporary directory: `$TMPDIR`, else `/tmp`.
pub fn temp_root() -> PathBuf {
    std::env::var_os("TMPDIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// The per-user private directory under the system temporary directory:
/// `<tmp>/ontoref-<uid>`, created 0700 and checked (owner, exactly 0700,
/// not a link) every time it is used.
pub fn temp_dir() -> Result<PathBuf, String> {
    #[cfg(unix)]
    let name = format!("ontoref-{}", euid());
    #[cfg(not(unix))]
    let name = "ontoref".to_owned();
    let dir = temp_root().join(name);
    ensure(&dir, Mode::Private)
        .map_err(|why| format!("{why}; set ONTOREF_RUNTIME_DIR to a directory only you can write"))
}

/// Where credential directories live: `ONTOREF_RUNTIME_DIR`, else
/// `XDG_RUNTIME_DIR` (a per-user tmpfs), else [`temp_dir`]. The first two
/// are the user's own choice, but must still be directories of theirs that
/// nobody else can write.
pub fn runtime_dir() -> Result<PathBuf, String> {
    for var in ["ONTOREF_RUNTIME_DIR", "XDG_RUNTIME_DIR"] {
        if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            return check(&dir, Mode::NoForeignWrites)
                .map(|()| dir)
                .map_err(|why| format!("{var}: {why}"));
        }
    }
    temp_dir()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_our_own_unshared_directories_pass() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        assert_eq!(ensure(&dir, Mode::Private).unwrap(), dir);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check(&dir, Mode::NoForeignWrites).is_ok());
        assert!(check(&dir, Mode::Private).unwrap_err().contains("0700"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            check(&dir, Mode::NoForeignWrites)
                .unwrap_err()
                .contains("writable")
        );
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(
            check(&link, Mode::NoForeignWrites)
                .unwrap_err()
                .contains("symbolic link")
        );
        if euid() == 0 {
            // Root can make a directory that belongs to someone else.
            let theirs = tmp.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(4242), None).unwrap();
            assert!(
                check(&theirs, Mode::NoForeignWrites)
                    .unwrap_err()
                    .contains("uid 4242")
            );
        }
    }
}
