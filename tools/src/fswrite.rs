//! Replacing a file atomically: the bytes go to a temporary file in the
//! same directory, which is then renamed over the target, so a reader sees
//! the old content or the new, never a mix, and a failure leaves the old.

use std::path::Path;

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
}
