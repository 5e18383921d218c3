//! Directory trees compiled into the binary: the protocol's Nickel schemas
//! and base modes (served to Nickel from memory, see
//! [`crate::nickel::sandbox`]) and the agent-first template, which is written
//! to disk to serve as the default project and checked against the binary
//! every time it is used.

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

    /// The contents of the file at `relative`, if the tree has one.
    pub fn file(&self, relative: &Path) -> Option<&'static [u8]> {
        self.dir.get_file(relative).map(|f| f.contents())
    }

    /// The files directly inside the directory `relative`, sorted.
    pub fn dir_files(&self, relative: &Path) -> Vec<&'static Path> {
        let Some(dir) = self.dir.get_dir(relative) else {
            return Vec::new();
        };
        let mut files: Vec<&'static Path> = dir.files().map(|f| f.path()).collect();
        files.sort();
        files
    }

    /// The tree on disk under `base/<name>-<hash>/`, written there unless an
    /// exact copy already is. An existing copy is verified file by file
    /// against the binary (content, nothing missing, nothing extra, no
    /// symbolic links) and rebuilt if it differs in any way: nothing read
    /// from it is trusted because of a marker. Concurrent processes are
    /// safe: each builds a private directory and renames it into place.
    pub fn materialize(&self, base: &Path) -> io::Result<PathBuf> {
        let hex = crate::hex::encode(&self.hash());
        let target = base.join(format!("{}-{}", self.name, &hex[..16]));
        if self.matches(&target) {
            return Ok(target);
        }
        crate::private::create_dir(base)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{}-", self.name))
            .tempdir_in(base)?;
        for (path, contents) in self.files() {
            let dest = tmp.path().join(path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(dest, contents)?;
        }
        let tmp = tmp.keep();
        for _ in 0..3 {
            match std::fs::rename(&tmp, &target) {
                Ok(()) => return Ok(target),
                Err(_) if self.matches(&target) => {
                    // Another process won the race with an identical copy.
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Ok(target);
                }
                Err(_) => {
                    // A damaged or foreign copy: move it aside, then retry.
                    let aside = base.join(format!(".stale-{}-{}", self.name, std::process::id()));
                    let _ = std::fs::remove_dir_all(&aside);
                    if std::fs::rename(&target, &aside).is_ok() {
                        let _ = std::fs::remove_dir_all(&aside);
                    } else if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                        let _ = std::fs::remove_file(&target);
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
        Err(io::Error::other(format!(
            "{} holds a copy that differs from the binary's and cannot be replaced",
            target.display()
        )))
    }

    /// Whether `dir` holds exactly this tree: every file with its content,
    /// no other entry, no symbolic link.
    pub fn matches(&self, dir: &Path) -> bool {
        let expected = self.files();
        let mut seen = 0;
        let ok = check_dir(dir, Path::new(""), &mut |rel, bytes| {
            seen += 1;
            expected
                .binary_search_by_key(&rel, |(p, _)| *p)
                .is_ok_and(|i| expected[i].1 == bytes)
        });
        ok && seen == expected.len()
    }
}

/// Walks `dir` without following links; `file` judges each regular file.
fn check_dir(dir: &Path, rel: &Path, file: &mut dyn FnMut(&Path, &[u8]) -> bool) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        let path = entry.path();
        let rel = rel.join(entry.file_name());
        if kind.is_dir() {
            if !check_dir(&path, &rel, file) {
                return false;
            }
        } else if kind.is_file() {
            let Ok(bytes) =
                crate::fsread::read(&path, 16 * 1024 * 1024, crate::fsread::Links::Refuse)
            else {
                return false;
            };
            if !file(&rel, &bytes) {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static Path, &'static [u8])>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => walk(d, out),
            DirEntry::File(f) => out.push((f.path(), f.contents())),
        }
    }
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
    fn a_materialized_tree_is_verified_not_trusted() {
        let base = tempfile::tempdir().unwrap();
        let a = TEMPLATE.materialize(base.path()).unwrap();
        let b = TEMPLATE.materialize(base.path()).unwrap();
        assert_eq!(a, b);
        assert!(TEMPLATE.matches(&a));
        let qa = a.join("reflection/qa.ncl");
        let original = std::fs::read(&qa).unwrap();
        // A changed file, an extra file and a link are each noticed and
        // repaired on the next use.
        std::fs::write(&qa, b"{ entries = [] }").unwrap();
        assert!(!TEMPLATE.matches(&a));
        TEMPLATE.materialize(base.path()).unwrap();
        assert_eq!(std::fs::read(&qa).unwrap(), original);
        std::fs::write(a.join("adrs/adr-999-planted.ncl"), b"{}").unwrap();
        assert!(!TEMPLATE.matches(&a));
        TEMPLATE.materialize(base.path()).unwrap();
        assert!(!a.join("adrs/adr-999-planted.ncl").exists());
        #[cfg(unix)]
        {
            std::fs::remove_file(&qa).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", &qa).unwrap();
            assert!(!TEMPLATE.matches(&a));
            TEMPLATE.materialize(base.path()).unwrap();
            assert_eq!(std::fs::read(&qa).unwrap(), original);
        }
    }

    #[test]
    fn embedded_files_are_served_by_path() {
        assert!(SCHEMAS.file(Path::new("schemas/qa.ncl")).is_some());
        assert!(SCHEMAS.file(Path::new("schemas/nope.ncl")).is_none());
        let modes = SCHEMAS.dir_files(Path::new("modes"));
        assert!(modes.contains(&Path::new("modes/release.ncl")), "{modes:?}");
    }
}
