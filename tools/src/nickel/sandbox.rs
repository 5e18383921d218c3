//! The import sandbox: which files an evaluation may read, and the bundle
//! of sources it is given.
//!
//! Nickel itself has no sandbox (absolute paths, `..` and symbolic links
//! all resolve), and a project file is untrusted input: `import
//! "~/.config/ontoref/keys/k.key" as 'Text` would hand the master key to
//! whoever reads the answer. So Nickel never opens a file. Before an
//! evaluation, [`gather`] scans the main source for imports
//! ([`super::scan`]), resolves each exactly as Nickel would (the importing
//! file's directory first, then the import path in order), and admits a
//! file only when
//!
//! - it is one of the protocol files embedded in the binary, served from
//!   memory under the virtual directory [`EMBEDDED_ROOT`], or
//! - its real path (every symbolic link resolved, checked again on the open
//!   descriptor) lies under one of the sandbox's roots and under none of its
//!   denied directories (the config home's `keys/` and `vaults/` for
//!   knowledge files), and it holds no age secret key.
//!
//! Admitted files are read with [`crate::fsread`] limits and scanned in
//! turn. The evaluator receives the main source and these files and
//! nothing else; a refusal is `ncl-import-denied`, naming the importing
//! file, its line and the path, never any content.

use std::collections::{HashSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::NclError;
use super::scan::{self, PrecheckError};
use crate::embedded::SCHEMAS;
use crate::fsread::{self, Links, ReadError};

/// The virtual directory holding the protocol's embedded files
/// (`schemas/*.ncl`, `modes/*.ncl`). Nothing on disk is read under it.
pub const EMBEDDED_ROOT: &str = "/<ontoref>";

/// The bytes of an embedded protocol file, when `path` names one.
pub fn embedded_file(path: &Path) -> Option<&'static [u8]> {
    let rest = path.strip_prefix(EMBEDDED_ROOT).ok()?;
    SCHEMAS.file(rest)
}

/// Whether `path` lies under [`EMBEDDED_ROOT`].
pub fn is_embedded(path: &Path) -> bool {
    path.starts_with(EMBEDDED_ROOT)
}

/// A source format, as `import … as 'Format` or the file's extension says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Nickel (the default).
    Nickel,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// TOML.
    Toml,
    /// Plain text, imported as a string.
    Text,
}

impl Format {
    /// The format of an explicit `as 'Tag`.
    pub fn from_tag(tag: &str) -> Option<Format> {
        Some(match tag {
            "Nickel" => Format::Nickel,
            "Json" => Format::Json,
            "Yaml" => Format::Yaml,
            "Toml" => Format::Toml,
            "Text" => Format::Text,
            _ => return None,
        })
    }

    /// The format Nickel infers from a path's extension (Nickel when unknown).
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            Some("toml") => Format::Toml,
            Some("txt") => Format::Text,
            _ => Format::Nickel,
        }
    }
}

/// One source handed to the evaluator.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BundleFile {
    /// The path Nickel knows it by (absolute and normalised, as Nickel's
    /// import resolution computes it).
    pub name: PathBuf,
    /// How Nickel reads it.
    pub format: Format,
    /// Its text.
    pub text: String,
    /// Whether it was read from disk (else embedded or synthetic).
    pub on_disk: bool,
}

/// A main source and every file it may import.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bundle {
    /// The source evaluated.
    pub main: BundleFile,
    /// Everything it imports, transitively.
    pub files: Vec<BundleFile>,
    /// The import path Nickel searches after the importing file's directory
    /// (Nickel resolves imports itself, finding these files in memory).
    pub import_paths: Vec<PathBuf>,
    /// Only parse and typecheck the main source (as `nickel typecheck`
    /// does); the result is `null`.
    #[serde(default)]
    pub typecheck_only: bool,
}

impl Bundle {
    /// Every file on disk the result depends on, main first.
    pub fn disk_files(&self) -> impl Iterator<Item = &BundleFile> {
        std::iter::once(&self.main)
            .chain(&self.files)
            .filter(|f| f.on_disk)
    }

    /// Whether Nickel was given a file of this name.
    pub fn contains(&self, name: &Path) -> bool {
        self.main.name == name || self.files.iter().any(|f| f.name == name)
    }
}

/// What a sandbox admits.
#[derive(Debug, Clone)]
pub struct Sandbox {
    label: String,
    roots: Vec<PathBuf>,
    denied: Vec<PathBuf>,
    import_paths: Vec<PathBuf>,
}

/// Limits on what one evaluation reads.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest single file, in bytes.
    pub max_file: u64,
    /// All files together.
    pub max_total: u64,
    /// How many files at most.
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A 100,000-entry Q&A store is about 95 MB of Nickel.
            max_file: 128 * 1024 * 1024,
            max_total: 256 * 1024 * 1024,
            max_files: 2_000,
        }
    }
}

/// Lexically normalised, as Nickel names files: `.` dropped, `..` applied.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn canonical_or_given(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
}

impl Sandbox {
    /// A sandbox admitting files under `roots` but never under `denied`,
    /// resolving imports through `import_paths` after the importing file's
    /// directory. `label` names the roots in messages ("the project").
    pub fn new(
        label: impl Into<String>,
        roots: &[PathBuf],
        denied: &[PathBuf],
        import_paths: Vec<PathBuf>,
    ) -> Sandbox {
        let mut denied_all = Vec::new();
        for d in denied {
            denied_all.push(normalize(d));
            denied_all.push(canonical_or_given(d));
        }
        denied_all.sort();
        denied_all.dedup();
        Sandbox {
            label: label.into(),
            roots: roots.iter().map(|r| canonical_or_given(r)).collect(),
            denied: denied_all,
            import_paths,
        }
    }

    /// The directories searched after the importing file's directory.
    pub fn import_paths(&self) -> &[PathBuf] {
        &self.import_paths
    }

    /// What the roots are, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A digest of everything that shapes resolution, for cache keys.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for group in [&self.roots, &self.denied, &self.import_paths] {
            for p in group {
                h.update(p.as_os_str().as_encoded_bytes());
                h.update([0]);
            }
            h.update([1]);
        }
        h.finalize().into()
    }

    /// Why `real` (a canonical path) may not be read, if it may not.
    fn refusal(&self, real: &Path) -> Option<String> {
        if let Some(d) = self.denied.iter().find(|d| real.starts_with(d)) {
            return Some(format!(
                "it resolves to {}, inside {}, which ontoref never lets a file read",
                real.display(),
                d.display()
            ));
        }
        if !self.roots.iter().any(|r| real.starts_with(r)) {
            return Some(format!(
                "it resolves to {}, outside {}",
                real.display(),
                self.label
            ));
        }
        None
    }

    /// The real path of `path` if the sandbox admits it.
    pub fn admit(&self, path: &Path) -> Result<PathBuf, String> {
        let real = std::fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            _ => e.to_string(),
        })?;
        match self.refusal(&real) {
            Some(why) => Err(why),
            None => Ok(real),
        }
    }

    /// Reads an admitted file: the real path is checked before opening and
    /// again on the open descriptor, so a link swapped in between is caught.
    fn read(&self, path: &Path, max: u64) -> Result<Result<String, ReadError>, String> {
        let real = self.admit(path)?;
        let (file, _) = match fsread::open_regular(&real, max, Links::Refuse) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(opened) = opened_path(&file)
            && let Some(why) = self.refusal(&opened)
        {
            return Err(why);
        }
        drop(file);
        let bytes = match fsread::read(&real, max, Links::Refuse) {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        if holds_secret_key(&bytes) {
            return Err("it holds an age secret key (AGE-SECRET-KEY-…)".to_owned());
        }
        Ok(String::from_utf8(bytes).map_err(|e| {
            ReadError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ))
        }))
    }
}

/// The path of an open file as the kernel sees it.
#[cfg(target_os = "linux")]
fn opened_path(file: &std::fs::File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(not(target_os = "linux"))]
fn opened_path(_: &std::fs::File) -> Option<PathBuf> {
    None
}

/// Whether the bytes contain an age secret key, in either case:
/// `AGE-SECRET-KEY-1` (or `AGE-SECRET-KEY-PQ-1`) followed by at least 58
/// bech32 characters. A mere mention of the prefix (a grep pattern in an
/// ADR) is not one.
pub fn holds_secret_key(bytes: &[u8]) -> bool {
    const PREFIX: &[u8] = b"AGE-SECRET-KEY-";
    const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let bech = |c: &u8| BECH32.contains(&c.to_ascii_lowercase());
    (0..bytes.len().saturating_sub(PREFIX.len())).any(|i| {
        if !bytes[i..i + PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
            return false;
        }
        let mut rest = &bytes[i + PREFIX.len()..];
        if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"PQ-") {
            rest = &rest[3..];
        }
        rest.first() == Some(&b'1') && rest[1..].iter().take(58).filter(|c| bech(c)).count() == 58
    })
}

/// Cuts an echoed path for a message.
fn shown(path: &str) -> String {
    crate::echo::clip(path)
}

/// Scans `main` and every file it imports, admitting each through
/// `sandbox`. `display` shortens paths for messages.
pub fn gather(
    main: BundleFile,
    sandbox: &Sandbox,
    limits: &Limits,
    display: &dyn Fn(&Path) -> String,
) -> Result<Bundle, NclError> {
    if holds_secret_key(main.text.as_bytes()) {
        return Err(NclError::ImportDenied {
            file: display(&main.name),
            line: None,
            import: display(&main.name),
            reason: "it holds an age secret key (AGE-SECRET-KEY-…)".to_owned(),
        });
    }
    let mut total = main.text.len() as u64;
    let mut seen: HashSet<(PathBuf, Format)> = HashSet::new();
    seen.insert((main.name.clone(), main.format));
    let mut files: Vec<BundleFile> = Vec::new();
    // Indexes into `files`; usize::MAX is the main source.
    let mut queue: VecDeque<usize> = VecDeque::from([usize::MAX]);
    while let Some(index) = queue.pop_front() {
        let file = if index == usize::MAX {
            &main
        } else {
            &files[index]
        };
        if file.format != Format::Nickel {
            continue;
        }
        let importer = file.name.clone();
        let found = scan::scan(&file.text).map_err(|e| precheck(display(&importer), &e))?;
        let base = importer.parent().map(Path::to_path_buf).unwrap_or_default();
        for import in found.imports {
            let format = match &import.format {
                Some(tag) => match Format::from_tag(tag) {
                    Some(f) => f,
                    // Nickel rejects the tag; nothing to read.
                    None => continue,
                },
                None => Format::from_path(Path::new(&import.path)),
            };
            let denied = |reason: String| NclError::ImportDenied {
                file: display(&importer),
                line: Some(import.line),
                import: shown(&import.path),
                reason,
            };
            // Nickel's order: the importing file's directory, then the
            // import path; the first candidate that exists is read.
            let Some(candidate) = std::iter::once(&base)
                .chain(sandbox.import_paths.iter())
                .map(|dir| normalize(&dir.join(&import.path)))
                .find(|c| {
                    if is_embedded(c) {
                        embedded_file(c).is_some()
                    } else {
                        std::fs::metadata(c).is_ok()
                    }
                })
            else {
                // Nickel reports the missing import with its own diagnostic.
                continue;
            };
            if !seen.insert((candidate.clone(), format)) {
                continue;
            }
            if files.len() >= limits.max_files {
                return Err(NclError::TooLarge {
                    file: display(&main.name),
                    size: files.len() as u64 + 1,
                    max: limits.max_files as u64,
                });
            }
            let (text, on_disk) = if is_embedded(&candidate) {
                let bytes = embedded_file(&candidate).unwrap_or_default();
                (String::from_utf8_lossy(bytes).into_owned(), false)
            } else {
                let remaining = limits.max_total.saturating_sub(total);
                match sandbox.read(&candidate, limits.max_file.min(remaining)) {
                    Err(why) => return Err(denied(why)),
                    Ok(Ok(text)) => (text, true),
                    Ok(Err(e)) => {
                        return Err(NclError::from_read(display(&candidate), e));
                    }
                }
            };
            total += text.len() as u64;
            files.push(BundleFile {
                name: candidate,
                format,
                text,
                on_disk,
            });
            queue.push_back(files.len() - 1);
        }
    }
    Ok(Bundle {
        main,
        files,
        import_paths: sandbox.import_paths.clone(),
        typecheck_only: false,
    })
}

/// A refused pre-check as Nickel would report a bad file.
pub(crate) fn precheck(file: String, e: &PrecheckError) -> NclError {
    NclError::EvalFailed {
        file,
        diagnostic: format!(
            "{e}; ontoref refuses such nesting before evaluating (Nickel recurses over it, and \
             deeper input exhausts its stack)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_file(dir: &Path, text: &str) -> BundleFile {
        BundleFile {
            name: dir.join("main.ncl"),
            format: Format::Nickel,
            text: text.to_owned(),
            on_disk: true,
        }
    }

    fn show(p: &Path) -> String {
        p.display().to_string()
    }

    fn sandbox(root: &Path, denied: &[PathBuf]) -> Sandbox {
        Sandbox::new(
            "the project",
            &[root.to_path_buf()],
            denied,
            vec![root.join("lib"), PathBuf::from(EMBEDDED_ROOT)],
        )
    }

    #[test]
    fn admits_project_files_and_embedded_schemas_in_nickels_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/a.ncl"), "import \"b.json\"").unwrap();
        std::fs::write(root.join("lib/b.json"), "{}").unwrap();
        let main = main_file(&root, "[import \"a.ncl\", import \"schemas/qa.ncl\"]");
        let b = gather(main, &sandbox(&root, &[]), &Limits::default(), &show).unwrap();
        let names: Vec<_> = b
            .files
            .iter()
            .map(|f| (f.name.clone(), f.on_disk))
            .collect();
        assert_eq!(
            names,
            vec![
                (root.join("lib/a.ncl"), true),
                (PathBuf::from("/<ontoref>/schemas/qa.ncl"), false),
                (root.join("lib/b.json"), true),
            ]
        );
        assert_eq!(b.files[2].format, Format::Json);
        assert!(b.files[1].text.contains("QaStore"));
    }

    #[test]
    fn refuses_paths_outside_the_roots_links_and_denied_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let root = base.join("proj");
        let keys = base.join("home/keys");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(base.join("secret.txt"), "TOP SECRET CONTENT").unwrap();
        std::fs::write(keys.join("k.key"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();
        let sb = sandbox(&root, std::slice::from_ref(&keys));
        for (src, line) in [
            ("\n\nimport \"../secret.txt\" as 'Text".to_owned(), 3),
            (
                format!("import \"{}\"", base.join("secret.txt").display()),
                1,
            ),
            ("import \"link.txt\"".to_owned(), 1),
        ] {
            let err = gather(main_file(&root, &src), &sb, &Limits::default(), &show).unwrap_err();
            assert_eq!(err.code(), "ncl-import-denied", "{src}");
            let text = format!("{err} {}", err.hint());
            assert!(text.contains(&format!("main.ncl:{line}")), "{text}");
            assert!(text.contains("outside the project"), "{text}");
            assert!(!text.contains("TOP SECRET"), "{text}");
        }
        // A root that contains the denied directory still refuses it.
        let wide = Sandbox::new(
            "the project",
            std::slice::from_ref(&base),
            std::slice::from_ref(&keys),
            vec![],
        );
        let src = format!("import \"{}\"", keys.join("k.key").display());
        let err = gather(main_file(&base, &src), &wide, &Limits::default(), &show).unwrap_err();
        assert!(err.to_string().contains("never lets"), "{err}");
    }

    #[test]
    fn a_key_is_a_key_and_a_mention_is_not() {
        let (_, key) = crate::vault::key::generate("now");
        assert!(holds_secret_key(key.as_bytes()));
        assert!(holds_secret_key(key.to_ascii_lowercase().as_bytes()));
        assert!(!holds_secret_key(
            b"pattern = \"AGE-SECRET-KEY-1[0-9A-Z]{58}\""
        ));
        assert!(!holds_secret_key(b"AGE-SECRET-KEY-"));
    }

    #[test]
    fn refuses_files_holding_an_age_key_wherever_they_are() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let (_, key) = crate::vault::key::generate("now");
        std::fs::write(root.join("k.txt"), key.to_ascii_lowercase()).unwrap();
        let src = "import \"k.txt\" as 'Text";
        let err = gather(
            main_file(&root, src),
            &sandbox(&root, &[]),
            &Limits::default(),
            &show,
        )
        .unwrap_err();
        assert_eq!(err.code(), "ncl-import-denied");
        let secret = key.lines().last().unwrap().to_ascii_lowercase();
        assert!(
            !err.to_string().to_ascii_lowercase().contains(&secret[20..]),
            "{err}"
        );
    }

    #[test]
    fn fifos_and_oversized_imports_are_named_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::write(root.join("big.txt"), vec![b'a'; 2048]).unwrap();
        let limits = Limits {
            max_file: 1024,
            ..Limits::default()
        };
        let src = "import \"big.txt\"";
        let err = gather(main_file(&root, src), &sandbox(&root, &[]), &limits, &show).unwrap_err();
        assert_eq!(err.code(), "ncl-file-too-large");
        #[cfg(unix)]
        {
            let fifo = root.join("fifo.ncl");
            let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let src = "import \"fifo.ncl\"";
            let err = gather(
                main_file(&root, src),
                &sandbox(&root, &[]),
                &Limits::default(),
                &show,
            )
            .unwrap_err();
            assert_eq!(err.code(), "ncl-not-regular-file");
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
    }
}
