//! Replacing a file atomically: the bytes go to a temporary file in the
//! same directory, which is then renamed over the target, so a reader sees
//! the old content or the new, never a mix, and a failure leaves the old.
//! [`write_durable`] also keeps the file's permissions and syncs the data
//! and the directory before returning; [`FileLock`] is the advisory lock
//! writers of one file take beside it.

use std::path::Path;
use std::time::Duration;

/// What failed, for the caller's typed error: the operation and the
/// system's error.
pub type Failed = (&'static str, std::io::Error);

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failed> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| ("create a file in", e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| ("write", e))?;
    tmp.persist(path).map_err(|e| ("rename over", e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically and durably: the temporary file
/// gets the permissions of the file it replaces (0644 for a new one, less
/// the umask's effect being ignored), its data is synced before the rename
/// and the directory after it, so a crash leaves the old content or the
/// new.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mode = std::fs::symlink_metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let mut tmp = tempfile::Builder::new()
        .prefix(".ontoref-write-")
        .tempfile_in(dir)
        .map_err(|e| ("create a file in", e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| ("write", e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| ("set the permissions of", e))?;
    tmp.as_file().sync_all().map_err(|e| ("sync", e))?;
    tmp.persist(path).map_err(|e| ("rename over", e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ("sync the directory of", e))?;
    Ok(())
}

/// An exclusive advisory `flock` on a lock file, released when dropped
/// (or when the process dies, so a crashed writer never leaves it held).
#[derive(Debug)]
pub struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    /// Takes the lock on `path` (created 0600 if missing, never through a
    /// symbolic link), waiting at most `wait` for another holder.
    pub async fn acquire(path: &Path, wait: Duration) -> Result<FileLock, Failed> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| ("open", e))?;
        let deadline = std::time::Instant::now() + wait;
        let mut pause = Duration::from_micros(200);
        loop {
            // SAFETY: a valid open descriptor; flock only reads it.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::WouldBlock || std::time::Instant::now() > deadline
            {
                return Err(("lock", err));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_a_failure_leaves_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // A directory cannot be renamed over by a file: the write fails and
        // nothing is left behind.
        let target = dir.path().join("d");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        let (op, _) = write_atomic(&target, b"y").unwrap_err();
        assert_eq!(op, "rename over");
        assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"x");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "a temporary file was left behind");
    }

    #[test]
    fn a_durable_write_keeps_the_mode_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_durable(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = FileLock::acquire(&path, Duration::from_secs(1))
            .await
            .unwrap();
        let (op, _) = FileLock::acquire(&path, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(op, "lock");
        drop(held);
        FileLock::acquire(&path, Duration::from_millis(50))
            .await
            .unwrap();
        // Never through a symbolic link.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(
            FileLock::acquire(&link, Duration::from_millis(50))
                .await
                .unwrap_err()
                .0,
            "open"
        );
    }
}
