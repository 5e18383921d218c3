//! `ontoref ontology vendor | check` end to end: releases built by an
//! independent packer (`tests/support/mif_release.py`, from the real v0.4.0
//! corpus in ../shared/fixtures/mif/), attested by an independent signer
//! (`tests/support/dsse.py` with a test key, `tests/support/sigstore_instance.py`
//! for the keyless path with the tests' own CA, log and TSA), served from a
//! directory, a file, a loopback HTTP server and a loopback registry. Every
//! refusal names its error and leaves the previous snapshot byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::attestation::dsse_py;
use crate::registry::python;
use crate::util::{Sandbox, json_out, path_str, stderr, stdout};

fn corpus() -> PathBuf {
    crate::util::repo().join("../shared/fixtures/mif/corpus-v0.4.0")
}

/// `mif_release.py pack --corpus <v0.4.0> --out OUT ARGS`.
fn pack(out: &Path, args: &[&str]) -> Value {
    let o = Command::new(python())
        .arg(crate::util::repo().join("tests/support/mif_release.py"))
        .args([
            "pack",
            "--corpus",
            path_str(&corpus()),
            "--out",
            path_str(out),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mif_release.py {args:?}: {}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).unwrap().display().to_string();
        out.insert(rel, std::fs::read(&e).unwrap());
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files
}

/// A project whose `ontologies` record is `record` (Nickel), checked by the
/// protocol's Project contract.
fn project(s: &Sandbox, record: &str) -> PathBuf {
    let ncl = format!(
        "let v = import \"schemas/vault.ncl\" in\n{{ slug = \"p\", ontologies = {record} }} | v.Project\n"
    );
    s.project("proj", &[(".ontoref/project.ncl", &ncl)])
}

fn set_record(root: &Path, record: &str) {
    let ncl = format!(
        "let v = import \"schemas/vault.ncl\" in\n{{ slug = \"p\", ontologies = {record} }} | v.Project\n"
    );
    std::fs::write(root.join(".ontoref/project.ncl"), ncl).unwrap();
}

fn ontoref(s: &Sandbox, root: &Path, args: &[&str]) -> Output {
    s.cmd()
        .arg("--project")
        .arg(root)
        .args(["--fmt", "json"])
        .args(args)
        .output()
        .unwrap()
}

fn vendor(s: &Sandbox, root: &Path, args: &[&str]) -> Output {
    let mut all = vec!["ontology", "vendor"];
    all.extend_from_slice(args);
    ontoref(s, root, &all)
}

#[track_caller]
fn ok(out: &Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    json_out(out)
}

#[track_caller]
fn refused(out: &Output, code: &str) -> Value {
    assert!(!out.status.success(), "expected {code}: {}", stdout(out));
    let v = json_out(out);
    assert_eq!(v["error"]["code"], code, "{v}");
    v
}

fn snapshot(root: &Path) -> PathBuf {
    root.join(".ontoref/ontologies")
}

/// Signs `artifact` with the key in `keys` into `<artifact>.sigstore.json`.
fn attest(keys: &Path, artifact: &Path, extra: &[&str]) {
    let out = format!("{}.sigstore.json", artifact.display());
    let key = keys.join("key.pem");
    let mut args = vec![
        "attest",
        "--artifact",
        path_str(artifact),
        "--key",
        path_str(&key),
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    dsse_py(&args);
}

struct Keyed {
    s: Sandbox,
    root: PathBuf,
    rel: PathBuf,
    keys: PathBuf,
}

/// A project trusting a test key, its release `releases/ontologies.tar.gz`
/// packed from the corpus and attested.
fn keyed(enable: &str) -> Keyed {
    let s = Sandbox::new();
    let keys = s.dir.path().join("keys");
    dsse_py(&["keygen", "--out", path_str(&keys)]);
    let root = project(
        &s,
        &format!(
            "{{ source = \"file://releases/ontologies.tar.gz\", enable = [{enable}], \
             trust = {{ key = \"../keys/key.pub\" }} }}"
        ),
    );
    let rel = root.join("releases/ontologies.tar.gz");
    std::fs::create_dir_all(rel.parent().unwrap()).unwrap();
    pack(&rel, &[]);
    attest(&keys, &rel, &[]);
    Keyed { s, root, rel, keys }
}

#[test]
fn a_key_attested_release_vendors_the_enabled_closure_pinned_in_the_lock() {
    let k = keyed("\"agriculture\"");
    let v = ok(&vendor(&k.s, &k.root, &[]));
    let ids: Vec<&str> = v["ontologies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mif-base", "shared-traits", "agriculture"], "{v}");
    assert_eq!(v["verified"], true);
    assert!(
        v["verified_by"].as_str().unwrap().starts_with("key "),
        "{v}"
    );
    assert_eq!(v["changed"], true);

    let snap = tree(&snapshot(&k.root));
    let names: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "agriculture.ontology.yaml",
            "index.json",
            "mif-base.ontology.yaml",
            "ontologies.lock.json",
            "shared-traits.ontology.yaml",
            "snapshot.json"
        ]
    );
    // The attested index and the files, byte for byte.
    assert_eq!(
        snap["index.json"],
        std::fs::read(corpus().join("index.json")).unwrap()
    );
    for f in [
        "agriculture.ontology.yaml",
        "mif-base.ontology.yaml",
        "shared-traits.ontology.yaml",
    ] {
        assert_eq!(snap[f], std::fs::read(corpus().join(f)).unwrap(), "{f}");
    }
    let lock: Value = serde_json::from_slice(&snap["ontologies.lock.json"]).unwrap();
    assert_eq!(lock["schema"], "mif-ontology-lock/v1");
    assert_eq!(lock["source"], "file://releases/ontologies.tar.gz");
    assert_eq!(lock["index_sha256"], v["index_sha256"]);
    assert_eq!(
        lock["index_sha256"].as_str().unwrap(),
        &crate::registry::sha256_digest(&snap["index.json"])[7..]
    );
    let index: Value = serde_json::from_slice(&snap["index.json"]).unwrap();
    for id in ["mif-base", "shared-traits", "agriculture"] {
        assert_eq!(
            lock["ontologies"][id]["sha256"], index["ontologies"][id]["sha256"],
            "{id}"
        );
        assert_eq!(
            lock["ontologies"][id]["version"], index["ontologies"][id]["version"],
            "{id}"
        );
    }
    assert_eq!(lock["ontologies"].as_object().unwrap().len(), 3);
    let meta: Value = serde_json::from_slice(&snap["snapshot.json"]).unwrap();
    assert_eq!(meta["verified_by"], v["verified_by"]);
    assert!(!k.root.join(".ontoref/ontologies.stale.json").exists());

    // The drift gate passes; vendoring again changes nothing.
    ok(&ontoref(&k.s, &k.root, &["ontology", "check"]));
    let again = ok(&vendor(&k.s, &k.root, &[]));
    assert_eq!(again["changed"], false, "{again}");
    // No scratch directories are left behind.
    let left: Vec<String> = std::fs::read_dir(k.root.join(".ontoref"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn every_refusal_names_its_error_and_keeps_the_previous_snapshot_byte_for_byte() {
    let k = keyed("\"agriculture\", \"fitness\"");
    ok(&vendor(&k.s, &k.root, &[]));
    let before = tree(&snapshot(&k.root));
    let good = std::fs::read(&k.rel).unwrap();
    let good_bundle = std::fs::read(format!("{}.sigstore.json", k.rel.display())).unwrap();
    let other_keys = k.s.dir.path().join("other-keys");
    dsse_py(&["keygen", "--out", path_str(&other_keys)]);
    let bundle = PathBuf::from(format!("{}.sigstore.json", k.rel.display()));

    let restore = || {
        std::fs::write(&k.rel, &good).unwrap();
        std::fs::write(&bundle, &good_bundle).unwrap();
    };
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        // The release's bytes changed after signing.
        (
            "attestation-digest-mismatch",
            Box::new(|| {
                pack(&k.rel, &["--edit", "fitness"]);
            }),
        ),
        // Signed by another key.
        (
            "attestation-signature-invalid",
            Box::new(|| {
                attest(&other_keys, &k.rel, &[]);
            }),
        ),
        // Attested, but not as provenance.
        (
            "attestation-predicate-mismatch",
            Box::new(|| {
                attest(
                    &k.keys,
                    &k.rel,
                    &["--predicate-type", "https://cyclonedx.org/bom"],
                );
            }),
        ),
        // A statement about other bytes.
        (
            "attestation-digest-mismatch",
            Box::new(|| {
                attest(&k.keys, &k.rel, &["--subject-sha256", &"ab".repeat(32)]);
            }),
        ),
        // No attestation at all.
        (
            "attestation-bundle-invalid",
            Box::new(|| {
                std::fs::remove_file(&bundle).unwrap();
            }),
        ),
        // Hostile archives, properly signed.
        (
            "ontology-unsafe-path",
            Box::new(|| {
                pack(&k.rel, &["--evil", "traversal"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        (
            "ontology-unsafe-path",
            Box::new(|| {
                pack(&k.rel, &["--evil", "symlink"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        (
            "ontology-unsafe-path",
            Box::new(|| {
                pack(&k.rel, &["--evil", "absolute"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        (
            "ontology-unsafe-path",
            Box::new(|| {
                pack(&k.rel, &["--evil", "two-tops"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        // A file that is not the one its index pins, signed as is.
        (
            "ontology-hash-mismatch",
            Box::new(|| {
                pack(&k.rel, &["--edit", "fitness", "--stale-index"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        // An index edited on its own (it names another version than the
        // file), signed as is.
        (
            "ontology-index-invalid",
            Box::new(|| {
                pack(&k.rel, &["--tamper-index", "fitness:9.9.9"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        // A new index at the pinned source (a new release), without --refresh.
        (
            "ontology-index-changed",
            Box::new(|| {
                pack(&k.rel, &["--bump", "fitness:0.2.0"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
        // The same (id, version) with other bytes.
        (
            "ontology-version-diverged",
            Box::new(|| {
                pack(&k.rel, &["--edit", "mif-base"]);
                attest(&k.keys, &k.rel, &[]);
            }),
        ),
    ];
    for (code, make) in &cases {
        restore();
        make();
        let flags: &[&str] = if *code == "ontology-version-diverged" {
            &["--refresh"]
        } else {
            &[]
        };
        let v = refused(&vendor(&k.s, &k.root, flags), code);
        assert_eq!(
            tree(&snapshot(&k.root)),
            before,
            "{code}: the snapshot changed: {v}"
        );
        let stale: Value = serde_json::from_slice(
            &std::fs::read(k.root.join(".ontoref/ontologies.stale.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(stale["code"], *code, "{stale}");
        // Nothing escaped the staging area.
        assert!(!k.s.dir.path().join("escaped.txt").exists());
        assert!(!k.root.join("escaped.txt").exists());
    }

    // A new release is accepted with --refresh, and the stale marker goes.
    restore();
    pack(&k.rel, &["--bump", "fitness:0.2.0"]);
    attest(&k.keys, &k.rel, &[]);
    let v = ok(&vendor(&k.s, &k.root, &["--refresh"]));
    assert!(v["previous_index_sha256"].is_string(), "{v}");
    let fitness = v["ontologies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "fitness")
        .unwrap();
    assert_eq!(fitness["version"], "0.2.0");
    assert!(!k.root.join(".ontoref/ontologies.stale.json").exists());
    assert_ne!(tree(&snapshot(&k.root)), before);
}

#[test]
fn check_catches_an_edited_file_a_missing_pin_and_a_malformed_lock() {
    let k = keyed("\"agriculture\"");
    ok(&vendor(&k.s, &k.root, &[]));
    let file = snapshot(&k.root).join("shared-traits.ontology.yaml");
    let original = std::fs::read(&file).unwrap();
    let mut edited = original.clone();
    edited.extend_from_slice(b"# local edit\n");
    std::fs::write(&file, &edited).unwrap();
    let out = ontoref(&k.s, &k.root, &["ontology", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("shared-traits"), "{}", stdout(&out));
    std::fs::write(&file, &original).unwrap();
    ok(&ontoref(&k.s, &k.root, &["ontology", "check"]));

    // An enabled id that the snapshot does not pin.
    set_record(
        &k.root,
        "{ source = \"file://releases/ontologies.tar.gz\", enable = [\"agriculture\", \"fitness\"], \
         trust = { key = \"../keys/key.pub\" } }",
    );
    let out = ontoref(&k.s, &k.root, &["ontology", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("fitness"), "{}", stdout(&out));

    // A malformed lock fails closed.
    let lock = snapshot(&k.root).join("ontologies.lock.json");
    std::fs::write(&lock, "{\"schema\": \"mif-ontology-lock/v1\"").unwrap();
    let out = ontoref(&k.s, &k.root, &["ontology", "check"]);
    assert!(!out.status.success());
    assert_eq!(json_out(&out)["error"]["code"], "ontology-lock-invalid");
}

#[test]
fn settings_are_checked_by_the_project_contract_and_by_vendor() {
    let s = Sandbox::new();
    // An id of the wrong shape is refused by the Nickel contract.
    let root = project(&s, "{ source = \"x\", enable = [\"Not An Id\"] }");
    let out = vendor(&s, &root, &[]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("enable"), "{}", stdout(&out));
    // An unknown enabled id gets the closest ones.
    let dir = s.dir.path().join("corpus");
    pack(
        &s.dir.path().join("r.tar.gz"),
        &["--tree-out", path_str(&dir)],
    );
    set_record(
        &root,
        &format!(
            "{{ source = \"{}\", enable = [\"fitnes\"] }}",
            dir.display()
        ),
    );
    let v = refused(&vendor(&s, &root, &[]), "ontology-not-found");
    assert!(
        v["error"]["hint"].as_str().unwrap().contains("fitness"),
        "{v}"
    );
    // A keyless trust without repo or owner would take any signer.
    set_record(
        &root,
        &format!(
            "{{ source = \"{}\", enable = [\"fitness\"], trust = {{ trusted_root = \"r.json\" }} }}",
            dir.display()
        ),
    );
    std::fs::write(dir.join("index.json.sigstore.json"), "{}").unwrap();
    refused(&vendor(&s, &root, &[]), "ontology-source-invalid");
    // An unknown scheme.
    refused(
        &vendor(&s, &root, &["--source", "ftp://example.org/x.tar.gz"]),
        "ontology-source-invalid",
    );
}

#[test]
fn a_directory_source_without_trust_is_hash_pinned_and_says_so() {
    let s = Sandbox::new();
    let dir = s.dir.path().join("corpus");
    pack(
        &s.dir.path().join("r.tar.gz"),
        &["--tree-out", path_str(&dir)],
    );
    let root = project(
        &s,
        &format!(
            "{{ source = \"{}\", enable = [\"fitness\"] }}",
            dir.display()
        ),
    );
    let v = ok(&vendor(&s, &root, &[]));
    assert_eq!(v["verified"], false);
    assert_eq!(v["verified_by"], Value::Null);
    // A tampered file in the source is refused even so.
    let f = dir.join("mif-base.ontology.yaml");
    let mut b = std::fs::read(&f).unwrap();
    b.extend_from_slice(b"# tampered\n");
    std::fs::write(&f, b).unwrap();
    let before = tree(&snapshot(&root));
    refused(&vendor(&s, &root, &[]), "ontology-hash-mismatch");
    assert_eq!(tree(&snapshot(&root)), before);
}

#[test]
fn a_keyless_release_from_the_tests_own_sigstore_instance() {
    let s = Sandbox::new();
    let root = project(
        &s,
        "{ source = \"file://releases/ontologies.tar.gz\", enable = [\"fitness\"], \
         trust = { trusted_root = \"releases/trusted_root.json\", repo = \"acme/ontologies\" } }",
    );
    let rel = root.join("releases/ontologies.tar.gz");
    std::fs::create_dir_all(rel.parent().unwrap()).unwrap();
    pack(&rel, &[]);
    let sign = |extra: &[&str]| {
        let o = Command::new(python())
            .arg(crate::util::repo().join("tests/support/sigstore_instance.py"))
            .args(["--artifact", path_str(&rel)])
            .args(["--out-bundle", &format!("{}.sigstore.json", rel.display())])
            .args([
                "--out-root",
                path_str(&root.join("releases/trusted_root.json")),
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    sign(&["--repo", "acme/ontologies", "--tsa"]);
    let v = ok(&vendor(&s, &root, &[]));
    let by = v["verified_by"].as_str().unwrap();
    assert!(
        by.starts_with("sigstore https://github.com/acme/ontologies/"),
        "{v}"
    );
    // Signed from another repository: refused, snapshot kept.
    let before = tree(&snapshot(&root));
    sign(&["--repo", "mallory/ontologies"]);
    refused(&vendor(&s, &root, &[]), "attestation-identity-mismatch");
    assert_eq!(tree(&snapshot(&root)), before);
}

/// `python3 -m http.server` on a loopback port, serving `dir`; killed when
/// dropped.
struct Http {
    child: Child,
    port: u16,
}

impl Http {
    fn serve(dir: &Path) -> Http {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut child = Command::new(python())
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Http { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("http.server did not start on {port}");
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http_sources_a_tarball_with_its_bundle_and_an_index_with_its_files() {
    let k = keyed("\"agriculture\"");
    let served = k.s.dir.path().join("served");
    std::fs::create_dir_all(served.join("tree")).unwrap();
    std::fs::copy(&k.rel, served.join("ontologies-0.4.0.tar.gz")).unwrap();
    attest(&k.keys, &served.join("ontologies-0.4.0.tar.gz"), &[]);
    pack(
        &k.s.dir.path().join("x.tar.gz"),
        &["--tree-out", path_str(&served.join("tree"))],
    );
    let http = Http::serve(&served);
    let url = format!("http://127.0.0.1:{}/ontologies-0.4.0.tar.gz", http.port);
    let v = ok(&vendor(&k.s, &k.root, &["--source", &url]));
    assert_eq!(v["source"], url.as_str());
    assert_eq!(v["verified"], true);
    // The index form, hash pinned only (no bundle is served beside it).
    set_record(&k.root, "{ source = \"x\", enable = [\"agriculture\"] }");
    let index_url = format!("http://127.0.0.1:{}/tree/index.json", http.port);
    let v = ok(&vendor(&k.s, &k.root, &["--source", &index_url]));
    assert_eq!(v["verified"], false);
    assert_eq!(v["ontologies"].as_array().unwrap().len(), 3);
    // A missing release is a fetch failure that keeps the snapshot.
    let before = tree(&snapshot(&k.root));
    let gone = format!("http://127.0.0.1:{}/nothing.tar.gz", http.port);
    refused(
        &vendor(&k.s, &k.root, &["--source", &gone]),
        "ontology-fetch-failed",
    );
    assert_eq!(tree(&snapshot(&k.root)), before);
}

#[test]
fn an_oci_source_is_vouched_for_by_its_cosign_signature() {
    let reg = crate::registry::Registry::start();
    let s = Sandbox::new();
    let keys = s.dir.path().join("cosign");
    crate::registry::ok_json(&crate::registry::oci("keygen", &["--out", path_str(&keys)]));
    let rel = s.dir.path().join("ontologies.tar.gz");
    pack(&rel, &[]);
    let layer = format!(
        "{}:application/vnd.oci.image.layer.v1.tar+gzip",
        rel.display()
    );
    let pushed = crate::registry::ok_json(&reg.oci(
        "push-artifact",
        &[
            "--repo",
            "mif/ontologies",
            "--tag",
            "v0.4.0",
            "--artifact-type",
            "application/vnd.mif.ontologies.v1",
            "--layer",
            &layer,
        ],
    ));
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    let source = format!("oci://{}/mif/ontologies:v0.4.0", reg.endpoint());
    let record = format!(
        "{{ source = \"{source}\", enable = [\"fitness\"], trust = {{ key = \"{}\" }} }}",
        keys.join("cosign.pub").display()
    );
    let root = project(&s, &record);
    // Unsigned: refused before the layer is fetched.
    let out = vendor(&s, &root, &[]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(!snapshot(&root).exists());
    let signed = reg.oci(
        "sign",
        &[
            "--repo",
            "mif/ontologies",
            "--digest",
            &digest,
            "--key",
            path_str(&keys.join("cosign.key")),
        ],
    );
    assert!(signed.status.success(), "{}", stderr(&signed));
    let v = ok(&vendor(&s, &root, &[]));
    assert!(
        v["verified_by"]
            .as_str()
            .unwrap()
            .starts_with("cosign key "),
        "{v}"
    );
    assert_eq!(
        v["ontologies"].as_array().unwrap().len(),
        5,
        "fitness and its closure: {v}"
    );
}

#[test]
fn on_a_terminal_vendor_draws_its_progress_and_a_summary() {
    let k = keyed("\"agriculture\"");
    let line = format!(
        "{} --project {} ontology vendor",
        crate::util::bin(),
        k.root.display()
    );
    let screen = crate::util::run_in_tty(&k.s, &line, &[]);
    for stage in [
        "fetching",
        "verifying",
        "unpacking",
        "checking the index",
        "writing the snapshot",
    ] {
        assert!(
            screen.contains(stage),
            "no {stage:?} on the terminal:\n{screen}"
        );
    }
    assert!(
        screen.contains("vendored 3 ontologies from file://releases/ontologies.tar.gz"),
        "{screen}"
    );
    assert!(screen.contains("verified   key "), "{screen}");
}
