//! Directory trees compiled into the binary (the protocol's Nickel schemas and
//! the agent-first template) and their materialisation on disk, where Nickel's
//! import resolution can see them.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, DirEntry, include_dir};
use sha2::{Digest, Sha256};

/// A tree of files embedded in the binary.
#[derive(Debug)]
pub struct EmbeddedTree {
    name: &'static str,
    dir: &'static Dir<'static>,
    hash: OnceLock<[u8; 32]>,
}

static SCHEMAS_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/protocol");
static TEMPLATE_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../agent-first-template");

/// The protocol's Nickel schemas: `schemas/qa.ncl`, …
pub static SCHEMAS: EmbeddedTree = EmbeddedTree::new("schemas", &SCHEMAS_DIR);
/// The agent-first adoption template, the default project.
pub static TEMPLATE: EmbeddedTree = EmbeddedTree::new("template", &TEMPLATE_DIR);

/// Marker written last, so a half-written tree is never used.
const COMPLETE: &str = ".ontoref-complete";

impl EmbeddedTree {
    const fn new(name: &'static str, dir: &'static Dir<'static>) -> Self {
        EmbeddedTree {
            name,
            dir,
            hash: OnceLock::new(),
        }
    }

    /// sha256 over every path and content, in path order.
    pub fn hash(&self) -> [u8; 32] {
        *self.hash.get_or_init(|| {
            let mut files = Vec::new();
            walk(self.dir, &mut files);
            files.sort_by_key(|(path, _)| *path);
            let mut h = Sha256::new();
            for (path, contents) in files {
                h.update(path.to_string_lossy().as_bytes());
                h.update([0]);
                h.update((contents.len() as u64).to_le_bytes());
                h.update(contents);
            }
            h.finalize().into()
        })
    }

    /// The files, as `(relative path, contents)`.
    pub fn files(&self) -> Vec<(&'static Path, &'static [u8])> {
        let mut files = Vec::new();
        walk(self.dir, &mut files);
        files.sort_by_key(|(path, _)| *path);
        files
    }

    /// Writes the tree under `base/<name>-<hash>/` unless it is already there,
    /// and returns that directory. Concurrent processes are safe: each writes
    /// a private temporary directory and renames it into place.
    pub fn materialize(&self, base: &Path) -> io::Result<PathBuf> {
        let hex = hex(&self.hash());
        let target = base.join(format!("{}-{}", self.name, &hex[..16]));
        if target.join(COMPLETE).is_file() {
            return Ok(target);
        }
        std::fs::create_dir_all(base)?;
        let tmp = base.join(format!(
            ".tmp-{}-{}-{}",
            self.name,
            std::process::id(),
            &hex[..8]
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        for (path, contents) in self.files() {
            let dest = tmp.join(path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(dest, contents)?;
        }
        std::fs::create_dir_all(&tmp)?;
        std::fs::write(tmp.join(COMPLETE), hex.as_bytes())?;
        match std::fs::rename(&tmp, &target) {
            Ok(()) => Ok(target),
            Err(_) if target.join(COMPLETE).is_file() => {
                // Another process won the race; its copy is identical.
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(target)
            }
            Err(_) => {
                // A stale, incomplete target: replace it.
                let _ = std::fs::remove_dir_all(&target);
                std::fs::rename(&tmp, &target)?;
                Ok(target)
            }
        }
    }
}

fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static Path, &'static [u8])>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => walk(d, out),
            DirEntry::File(f) => out.push((f.path(), f.contents())),
        }
    }
}

/// Lower-case hex of a byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_and_template_are_embedded() {
        let schemas: Vec<_> = SCHEMAS
            .files()
            .into_iter()
            .map(|(p, _)| p.to_owned())
            .collect();
        assert!(
            schemas.contains(&PathBuf::from("schemas/qa.ncl")),
            "{schemas:?}"
        );
        let template: Vec<_> = TEMPLATE
            .files()
            .into_iter()
            .map(|(p, _)| p.to_owned())
            .collect();
        assert!(
            template.contains(&PathBuf::from(".ontoref/project.ncl")),
            "{template:?}"
        );
        assert!(
            template.contains(&PathBuf::from("reflection/qa.ncl")),
            "{template:?}"
        );
    }

    #[test]
    fn materialize_is_idempotent_and_complete() {
        let base = tempfile::tempdir().unwrap();
        let a = SCHEMAS.materialize(base.path()).unwrap();
        let b = SCHEMAS.materialize(base.path()).unwrap();
        assert_eq!(a, b);
        let on_disk = std::fs::read(a.join("schemas/qa.ncl")).unwrap();
        assert!(String::from_utf8(on_disk).unwrap().contains("QaStore"));
        // A target without its completion marker is rebuilt, not trusted.
        std::fs::remove_file(a.join(COMPLETE)).unwrap();
        std::fs::remove_file(a.join("schemas/qa.ncl")).unwrap();
        let c = SCHEMAS.materialize(base.path()).unwrap();
        assert!(c.join("schemas/qa.ncl").is_file());
    }
}
