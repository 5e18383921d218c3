//! Gives the crate a build id: a hash of its sources, its embedded protocol
//! schemas and the embedded template. The disk cache is keyed by it, so a
//! binary built from different code never trusts another build's cache.
//! Also makes cargo rebuild when an embedded file changes (`include_dir!`
//! does not track files on stable).

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let roots = [
        manifest.join("src"),
        manifest.join("protocol"),
        manifest.join("../agent-first-template"),
        manifest.join("Cargo.toml"),
    ];
    // FNV-1a, 64 bits: stable across builds, and a build script dependency is
    // not worth it for an id that only has to change when the inputs do.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(
        std::env::var("CARGO_PKG_VERSION")
            .unwrap_or_default()
            .as_bytes(),
    );
    for root in &roots {
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        collect(root, &mut files);
        files.sort();
        for file in files {
            feed(
                file.strip_prefix(&manifest)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .as_bytes(),
            );
            feed(&fs::read(&file).unwrap_or_default());
        }
    }
    println!("cargo:rustc-env=ONTOREF_BUILD_ID={hash:016x}");
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            collect(&entry.path(), out);
        }
    }
}
