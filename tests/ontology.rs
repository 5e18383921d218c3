//! `ontoref ontology index [--check] <dir>` against the real MIF corpus
//! (v0.4.0, 29 ontologies, read from ../shared/fixtures/mif/): the index
//! it generates is the attested `index.json` byte for byte, drift is caught
//! with a diff and exit 1, and bad input is a named error that leaves the
//! previous index as it was.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Sandbox, json_out, stdout};

fn mif() -> PathBuf {
    crate::util::repo().join("../shared/fixtures/mif")
}

fn corpus() -> PathBuf {
    mif().join("corpus-v0.4.0")
}

/// A writable copy of the corpus's ontology files, without its index.
fn corpus_copy(into: &Path) -> PathBuf {
    let dir = into.join("ontologies");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(corpus()).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        if name.ends_with(".ontology.yaml") {
            std::fs::copy(e.path(), dir.join(&name)).unwrap();
        }
    }
    dir
}

fn index(s: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut all = vec!["ontology", "index", "--fmt", "json"];
    all.extend_from_slice(args);
    s.run(&all)
}

#[test]
fn the_real_corpus_checks_clean_and_regenerates_byte_for_byte() {
    let s = Sandbox::new();
    let out = index(&s, &["--check", corpus().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(v["up_to_date"], true, "{v}");
    assert_eq!(v["ontologies"], 29);
    assert_eq!(v["diff"], Value::Null);

    // Written from the YAML alone, it is the attested index.
    let dir = corpus_copy(s.dir.path());
    let out = index(&s, &[dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(json_out(&out)["ontologies"], 29);
    assert_eq!(
        std::fs::read(dir.join("index.json")).unwrap(),
        std::fs::read(corpus().join("index.json")).unwrap()
    );

    // The three-file subset gives the derived subset index.
    let sub = s.dir.path().join("subset");
    std::fs::create_dir_all(&sub).unwrap();
    for f in [
        "mif-base.ontology.yaml",
        "shared-traits.ontology.yaml",
        "agriculture.ontology.yaml",
    ] {
        std::fs::copy(mif().join(f), sub.join(f)).unwrap();
    }
    assert!(index(&s, &[sub.to_str().unwrap()]).status.success());
    assert_eq!(
        std::fs::read(sub.join("index.json")).unwrap(),
        std::fs::read(mif().join("index.subset.json")).unwrap()
    );
}

#[test]
fn drift_is_a_diff_and_exit_1_and_check_writes_nothing() {
    let s = Sandbox::new();
    let dir = corpus_copy(s.dir.path());
    std::fs::copy(corpus().join("index.json"), dir.join("index.json")).unwrap();
    let before = std::fs::read(dir.join("index.json")).unwrap();
    // One comment added to one file changes its hash and nothing else.
    let file = dir.join("fitness.ontology.yaml");
    let mut text = std::fs::read(&file).unwrap();
    text.extend_from_slice(b"# edited\n");
    std::fs::write(&file, &text).unwrap();

    let out = index(&s, &["--check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(v["up_to_date"], false);
    let diff = v["diff"].as_str().unwrap();
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(changed.len(), 2, "{diff}");
    assert!(changed.iter().all(|l| l.contains("\"sha256\"")), "{diff}");
    assert_eq!(std::fs::read(dir.join("index.json")).unwrap(), before);

    // A person gets the diff as text, with the same exit status.
    let out = s.run(&[
        "ontology",
        "index",
        "--check",
        "--fmt",
        "text",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("is stale"), "{}", stdout(&out));
    assert!(stdout(&out).contains("@@"), "{}", stdout(&out));

    // Writing brings it up to date.
    assert!(index(&s, &[dir.to_str().unwrap()]).status.success());
    let v = json_out(&index(&s, &["--check", dir.to_str().unwrap()]));
    assert_eq!(v["up_to_date"], true, "{v}");
}

#[test]
fn the_generator_rules_for_ids_versions_and_extends() {
    let s = Sandbox::new();
    let dir = s.dir.path().join("o");
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "a.ontology.yaml",
            "---\n# comment\nontology:\n  id: alpha\n  version: \"2.1.0\"\n  extends: beta\n",
        ),
        (
            "b.ontology.yaml",
            "ontology:\n  id: beta\n  extends: [[gamma], delta]\n",
        ),
        (
            "c.ontology.yaml",
            "ontology:\n  version: 1.0.0\nentity_types: []\n",
        ),
        (
            "d.ontology.yaml",
            "ontology:\n  id: delta\n  version: null\n  extends: null\n",
        ),
        (".hidden.ontology.yaml", "ontology:\n  id: hidden\n"),
        ("notes.yaml", "ontology:\n  id: notes\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = index(&s, &[dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(v["ontologies"], 3);
    assert_eq!(v["skipped"], serde_json::json!(["c.ontology.yaml"]));
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(written["schema"], "mif-ontology-index/v1");
    assert_eq!(written["source"], "https://mif-spec.dev/ontologies/");
    let o = &written["ontologies"];
    assert_eq!(
        o.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alpha", "beta", "delta"]
    );
    assert_eq!(o["alpha"]["version"], "2.1.0");
    assert_eq!(o["alpha"]["extends"], serde_json::json!(["beta"]));
    assert_eq!(o["beta"]["version"], "0.0.0");
    assert_eq!(o["beta"]["extends"], serde_json::json!(["gamma", "delta"]));
    assert_eq!(o["delta"]["version"], "0.0.0");
    assert_eq!(o["delta"]["extends"], serde_json::json!([]));
    assert_eq!(o["alpha"]["file"], "a.ontology.yaml");
    // The hash is over the raw bytes, comments and `---` included.
    let raw = std::fs::read(dir.join("a.ontology.yaml")).unwrap();
    let expected = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&raw)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(o["alpha"]["sha256"], expected.as_str());
}

#[test]
fn bad_input_is_named_and_the_previous_index_stays() {
    let s = Sandbox::new();
    let dir = corpus_copy(s.dir.path());
    std::fs::copy(corpus().join("index.json"), dir.join("index.json")).unwrap();
    let before = std::fs::read(dir.join("index.json")).unwrap();

    // The same id twice.
    std::fs::copy(
        dir.join("fitness.ontology.yaml"),
        dir.join("zz-copy.ontology.yaml"),
    )
    .unwrap();
    let out = index(&s, &[dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!(v["error"]["code"], "ontology-index-invalid", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("zz-copy.ontology.yaml"), "{message}");
    assert!(
        message.contains("duplicate ontology id `fitness`"),
        "{message}"
    );
    assert!(!v["error"]["hint"].as_str().unwrap().is_empty());
    assert_eq!(std::fs::read(dir.join("index.json")).unwrap(), before);
    std::fs::remove_file(dir.join("zz-copy.ontology.yaml")).unwrap();

    // A file that is not YAML.
    std::fs::write(dir.join("broken.ontology.yaml"), "ontology: [unclosed\n").unwrap();
    let v = json_out(&index(&s, &[dir.to_str().unwrap()]));
    assert_eq!(v["error"]["code"], "ontology-index-invalid", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("broken.ontology.yaml")
    );
    assert_eq!(std::fs::read(dir.join("index.json")).unwrap(), before);

    // A directory that does not exist.
    let v = json_out(&index(
        &s,
        &[s.dir.path().join("nowhere").to_str().unwrap()],
    ));
    assert_eq!(v["error"]["code"], "ontology-io-failed", "{v}");
}
