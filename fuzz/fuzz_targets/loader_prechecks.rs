//! Fuzzes what the Nickel loader does with untrusted text before anything is evaluated
//! (`ontoref_tools::nickel`): `sandbox::gather`, which scans a source and every file it
//! imports (`scan::scan`, with its `MAX_DEPTH`/`MAX_CHAIN` pre-checks), resolves each import as
//! Nickel would, admits it through the `Sandbox` (roots, denied directories, links resolved,
//! age keys refused) and reads it within `Limits`; and `cache::contracted`, which quotes a file
//! name into the synthetic source that applies a schema contract.
//!
//! The input is UTF-8 text: a file name (for `contracted`) up to the first NUL, or else the
//! first line, then a main source. One temporary project per process (under `$TMPDIR`) holds files to import: Nickel,
//! JSON, YAML and text files, chains and loops of imports, a link and a linked directory
//! leading outside the project, a denied directory inside it, a file holding an age secret
//! key, an oversized file, a socket and a directory. `fuzzed.ncl` in it is rewritten with the
//! main source for each input. Nothing is evaluated (evaluation is what these checks protect,
//! and slow).
//!
//! Checks, beyond "never panics":
//! - a source the pre-checks refuse is refused by `gather` as `ncl-eval-failed`; a source with
//!   no imports gathers to a bundle of no files;
//! - a gathered bundle holds only admitted files: embedded protocol files (never from disk), or
//!   files whose real path lies under the project root and outside every denied directory,
//!   never one with the secret marker or an age key; no file twice; within `max_files`, and
//!   the disk files within `max_total`;
//! - a refusal has one of the loader's codes and shows neither the secret marker nor the key
//!   (the marker checks are skipped for a source that holds the marker itself);
//! - the synthetic main of `contracted` imports exactly the schema and the file, by the
//!   file's exact name, whatever the name holds (no import injected, none lost).

#![no_main]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ontoref_tools::nickel::cache::contracted;
use ontoref_tools::nickel::sandbox::{
    self, BundleFile, EMBEDDED_ROOT, Format, Limits, Sandbox, embedded_file, holds_secret_key,
    is_embedded,
};
use ontoref_tools::nickel::scan::scan;

/// Content of every file the sandbox must never admit.
const MARKER: &str = "TOP-SECRET-MARKER-8c1d";

const LIMITS: Limits = Limits {
    max_file: 64 * 1024,
    max_total: 256 * 1024,
    max_files: 64,
};

struct Project {
    /// Kept so the directory lives as long as the process.
    _dir: tempfile::TempDir,
    root: PathBuf,
    denied: Vec<PathBuf>,
    sandbox: Sandbox,
    /// The bech32 body of the planted age key, lower-case.
    key_body: String,
    /// Keeps the socket file a socket.
    _socket: std::os::unix::net::UnixListener,
}

static PROJECT: LazyLock<Project> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = std::fs::canonicalize(dir.path()).expect("the temporary directory resolves");
    let root = base.join("proj");
    let inside_keys = root.join(".config/keys");
    let outside_keys = base.join("home/keys");
    let write = |path: PathBuf, text: &[u8]| {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(&path, text).expect("a project file");
    };
    write(
        root.join("lib/a.ncl"),
        b"{ a = import \"b.json\", c = import \"../sub/c.ncl\", y = import \"../data.yaml\" }",
    );
    write(root.join("lib/b.json"), b"{\"b\": 1}");
    write(
        root.join("sub/c.ncl"),
        b"{ t = import \"../data.txt\" as 'Text, s = import \"schemas/vault.ncl\" }",
    );
    write(root.join("data.txt"), b"plain data");
    write(root.join("data.yaml"), b"a: 1\n");
    write(root.join("conf.toml"), b"a = 1\n");
    write(
        root.join("loop.ncl"),
        b"[import \"loop.ncl\", import \"lib/a.ncl\"]",
    );
    write(
        root.join("escape.ncl"),
        b"[import \"../secret.txt\" as 'Text, import \"link.txt\"]",
    );
    write(root.join("deep.ncl"), "[".repeat(300).as_bytes());
    write(root.join("big.txt"), &vec![b'x'; 80 * 1024]);
    write(base.join("secret.txt"), MARKER.as_bytes());
    write(base.join("outside/x.ncl"), MARKER.as_bytes());
    write(inside_keys.join("k.key"), MARKER.as_bytes());
    write(outside_keys.join("k.key"), MARKER.as_bytes());
    let (_, key) = ontoref_tools::vault::key::generate("fuzz");
    write(root.join("key.txt"), key.to_ascii_lowercase().as_bytes());
    let key_body = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("a secret key line")[15..]
        .to_ascii_lowercase();
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt"))
        .expect("a link out of the project");
    std::os::unix::fs::symlink(base.join("outside"), root.join("linkdir"))
        .expect("a linked directory out of the project");
    std::os::unix::fs::symlink(inside_keys.join("k.key"), root.join("keylink.ncl"))
        .expect("a link into the denied directory");
    std::fs::create_dir_all(root.join("dir.ncl")).expect("a directory named like a file");
    let socket = std::os::unix::net::UnixListener::bind(root.join("sock.ncl")).expect("a socket");
    let denied = vec![inside_keys, outside_keys];
    let sandbox = Sandbox::new(
        "the project",
        std::slice::from_ref(&root),
        &denied,
        vec![root.join("lib"), PathBuf::from(EMBEDDED_ROOT)],
    );
    Project {
        _dir: dir,
        root,
        denied,
        sandbox,
        key_body,
        _socket: socket,
    }
});

fn show(path: &Path) -> String {
    path.display().to_string()
}

fn gather_checks(project: &Project, source: &str) {
    std::fs::write(project.root.join("fuzzed.ncl"), source).expect("rewrite fuzzed.ncl");
    let main = BundleFile {
        name: project.root.join("main.ncl"),
        format: Format::Nickel,
        text: source.to_owned(),
        on_disk: true,
    };
    let prechecked = scan(source);
    // The fuzzer may write the marker itself (into fuzzed.ncl, or into an import path a
    // refusal quotes): then seeing it proves nothing.
    let marker_planted = source
        .to_ascii_lowercase()
        .contains(&MARKER.to_ascii_lowercase());
    let result = sandbox::gather(main, &project.sandbox, &LIMITS, &show);
    let bundle = match result {
        Ok(bundle) => bundle,
        Err(e) => {
            let shown = format!("{e} {}", e.hint()).to_ascii_lowercase();
            assert!(
                marker_planted || !shown.contains(&MARKER.to_ascii_lowercase()),
                "a refusal shows a secret: {shown}"
            );
            assert!(
                !shown.contains(&project.key_body),
                "a refusal shows the key"
            );
            assert!(
                matches!(
                    e.code(),
                    "ncl-import-denied"
                        | "ncl-eval-failed"
                        | "ncl-file-too-large"
                        | "ncl-read-failed"
                        | "ncl-not-regular-file"
                ),
                "unexpected refusal {}: {e}",
                e.code()
            );
            if prechecked.is_err() {
                assert_eq!(e.code(), "ncl-eval-failed", "{e}");
            }
            if let Ok(s) = &prechecked
                && s.imports.is_empty()
            {
                assert!(holds_secret_key(source.as_bytes()), "{e}");
            }
            return;
        }
    };
    assert!(
        prechecked.is_ok(),
        "a source the pre-checks refuse was gathered"
    );
    if prechecked.as_ref().is_ok_and(|s| s.imports.is_empty()) {
        assert!(bundle.files.is_empty(), "files gathered for no import");
    }
    assert!(bundle.files.len() <= LIMITS.max_files);
    let mut seen = HashSet::new();
    seen.insert((bundle.main.name.clone(), bundle.main.format));
    let (mut disk, mut embedded) = (source.len() as u64, 0u64);
    for f in &bundle.files {
        assert!(
            seen.insert((f.name.clone(), f.format)),
            "{} gathered twice",
            f.name.display()
        );
        assert!(f.name.is_absolute(), "{}", f.name.display());
        assert_eq!(f.name, sandbox::normalize(&f.name), "names are normalised");
        if f.on_disk {
            disk += f.text.len() as u64;
            let real = std::fs::canonicalize(&f.name).expect("a gathered file exists");
            assert!(
                real.starts_with(&project.root),
                "{} is outside the project",
                real.display()
            );
            assert!(
                !project.denied.iter().any(|d| real.starts_with(d)),
                "{} is in a denied directory",
                real.display()
            );
            assert!(
                marker_planted || !f.text.contains(MARKER),
                "{} was admitted",
                f.name.display()
            );
            assert!(!holds_secret_key(f.text.as_bytes()), "a key was admitted");
        } else {
            embedded += f.text.len() as u64;
            assert!(is_embedded(&f.name), "{}", f.name.display());
            assert!(embedded_file(&f.name).is_some(), "{}", f.name.display());
        }
    }
    assert!(
        disk <= LIMITS.max_total + embedded,
        "{disk} bytes read from disk"
    );
}

fn contracted_checks(name: &str) {
    let file = BundleFile {
        name: PathBuf::from(name),
        format: Format::Nickel,
        text: String::new(),
        on_disk: true,
    };
    let synthetic = contracted(file, "schemas/vault.ncl", "Scope");
    assert!(!synthetic.on_disk);
    assert_eq!(
        synthetic.name.as_os_str().as_encoded_bytes(),
        format!("{name}#Scope").as_bytes()
    );
    let scanned = scan(&synthetic.text).expect("a synthetic main passes the pre-checks");
    assert_eq!(scanned.lexical_error, None, "{:?}", synthetic.text);
    let imports: Vec<(&str, Option<&str>)> = scanned
        .imports
        .iter()
        .map(|i| (i.path.as_str(), i.format.as_deref()))
        .collect();
    assert_eq!(
        imports,
        [
            (format!("{EMBEDDED_ROOT}/schemas/vault.ncl").as_str(), None),
            (name, None)
        ],
        "the synthetic main: {:?}",
        synthetic.text
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A NUL ends the name when there is one, so names may hold newlines; else the first line.
    let (name, source) = text
        .split_once('\0')
        .or_else(|| text.split_once('\n'))
        .unwrap_or((text, ""));
    contracted_checks(name);
    gather_checks(&PROJECT, source);
});
