//! MIF ontology extensions, in process through `ontoref_tools::Engine`
//! configured as the binary is (Nickel in worker processes). Run with
//! `cargo bench --bench ontologies` (`-- --quick` for a smoke run, as CI
//! does).
//!
//! - `ontology vendor` of the real v0.4.0 corpus (29 ontologies, 492 KB of
//!   YAML) packed as its release is (`ontologies-0.4.0/ontologies/…`,
//!   gzip'd tar), attested by a key-signed DSSE envelope: read, verify,
//!   safe unpack, the index checked against all 29 files (every file hashed
//!   and parsed, the index regenerated), the lock, the staged snapshot
//!   swapped in. Beside it the floor: hashing and gunzipping the tarball.
//! - `ontoref_list_ontology_extensions` and `ontoref_get_ontology_extension
//!   … resolved` of the widest closure, warm, through the catalog's tools.

#[path = "common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::Engine as _;
use ontoref_tools::ontologies::vendor::{self, VendorOptions};
use ontoref_tools::{Engine, EngineConfig};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

use common::{fmt, percentile};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/mif/corpus-v0.4.0")
}

/// The release tarball: `ontologies-0.4.0/ontologies/{index.json, *.yaml}`
/// beside the rest of the repository a `git archive` release carries (here
/// 380 KiB of incompressible assets, so the tarball is the ~500 KB of the
/// real v0.4.0 release).
fn release(dir: &Path) -> Vec<u8> {
    let tree = dir.join("tree");
    let ont = tree.join("ontologies-0.4.0/ontologies");
    std::fs::create_dir_all(&ont).expect("tree");
    for e in std::fs::read_dir(corpus()).expect("corpus").flatten() {
        std::fs::copy(e.path(), ont.join(e.file_name())).expect("copy");
    }
    let assets = tree.join("ontologies-0.4.0/docs/assets");
    std::fs::create_dir_all(&assets).expect("assets");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..4 {
        let bytes: Vec<u8> = (0..95_000)
            .map(|_| {
                // xorshift: incompressible filler, the same every run.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(assets.join(format!("figure-{i}.png")), bytes).expect("asset");
    }
    let (bytes, _) = ontoref_tools::registry::archive::pack(&tree, &["ontologies-0.4.0"], "bench")
        .expect("pack");
    bytes
}

/// A bare DSSE envelope over an in-toto statement naming `artifact`.
fn envelope(key: &p256::ecdsa::SigningKey, artifact: &[u8]) -> String {
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ontologies-0.4.0.tar.gz",
                     "digest": {"sha256": hex(&Sha256::digest(artifact))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    })
    .to_string();
    let ty = "application/vnd.in-toto+json";
    let pae = format!("DSSEv1 {} {ty} {} {statement}", ty.len(), statement.len());
    let sig: p256::ecdsa::Signature = key.sign(pae.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    serde_json::json!({
        "payloadType": ty,
        "payload": b64.encode(statement),
        "signatures": [{"sig": b64.encode(sig.to_der().as_bytes())}],
    })
    .to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 5 } else { 200 };
    let t = tempfile::tempdir().expect("tempdir");
    let t = t.path();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The project, its release and the release's attestation.
    let project = t.join("project");
    let releases = project.join("releases");
    std::fs::create_dir_all(project.join(".ontoref")).expect("project");
    std::fs::create_dir_all(&releases).expect("releases");
    let tarball = release(t);
    let tar_path = releases.join("ontologies-0.4.0.tar.gz");
    std::fs::write(&tar_path, &tarball).expect("tarball");
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
    std::fs::write(
        releases.join("ontologies-0.4.0.tar.gz.sigstore.json"),
        envelope(&key, &tarball),
    )
    .expect("bundle");
    std::fs::write(
        project.join("release.pub"),
        key.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
    )
    .expect("pub");
    let ids: Vec<String> = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(corpus().join("index.json")).expect("index"),
    )
    .expect("index json")["ontologies"]
        .as_object()
        .expect("ontologies")
        .keys()
        .map(|k| format!("{k:?}"))
        .collect();
    std::fs::write(
        project.join(".ontoref/project.ncl"),
        format!(
            "{{ slug = \"bench\", ontologies = {{ source = \"file://releases/ontologies-0.4.0.tar.gz\", \
             enable = [{}], trust = {{ key = \"release.pub\" }} }} }}\n",
            ids.join(", ")
        ),
    )
    .expect("project.ncl");

    let engine = Engine::new(EngineConfig {
        project: Some(project.clone()),
        cache_dir: Some(t.join("cache")),
        config_home: Some(t.join("home")),
        runtime_dir: Some(t.join("run")),
        isolation: ontoref_tools::nickel::Isolation::Worker {
            program: PathBuf::from(env!("CARGO_BIN_EXE_ontoref")),
            memory_mb: 4096,
        },
        ..EngineConfig::default()
    })
    .expect("engine");
    let opts = VendorOptions::default();
    let first = rt
        .block_on(vendor::vendor(&engine, &opts))
        .expect("first vendor");
    assert!(first.verified && first.ontologies.len() == 29, "{first:?}");

    let mut vendor_samples = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        let v = rt.block_on(vendor::vendor(&engine, &opts)).expect("vendor");
        vendor_samples.push(t0.elapsed());
        assert_eq!(v.ontologies.len(), 29);
    }
    // The floor: what any verifier must do with these bytes (hash the
    // tarball, gunzip and read every entry).
    let mut floor = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        let _ = Sha256::digest(&tarball);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball.as_slice()));
        for e in archive.entries().expect("entries") {
            let mut e = e.expect("entry");
            std::io::copy(&mut e, &mut std::io::sink()).expect("read");
        }
        floor.push(t0.elapsed());
    }

    // The tools, warm, on the snapshot just vendored. Files written a
    // moment ago have racy stamps (not trusted for caching yet): wait, as a
    // server that has run a while would have.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let call = |tool: &str, args: &serde_json::Value| {
        rt.block_on(async {
            ontoref_tools::catalog::find(tool)
                .expect("tool")
                .call(&engine, args.clone())
                .await
                .expect("tool call")
        })
    };
    // The widest closure: regenerative-agriculture-research, 7 files, 98.6
    // KB of YAML, every one re-hashed against the lock on each call.
    let widest = serde_json::json!({"id": "regenerative-agriculture-research"});
    let first = call("ontoref_get_ontology_extension", &widest);
    assert_eq!(
        first["content"]["closure"].as_array().map_or(0, Vec::len),
        7,
        "{first}"
    );
    let mut get_samples = Vec::new();
    for _ in 0..rounds * 10 {
        let t0 = Instant::now();
        let r = call("ontoref_get_ontology_extension", &widest);
        get_samples.push(t0.elapsed());
        assert_eq!(r["page"]["part"], "entity_types");
    }
    let all = serde_json::json!({});
    assert_eq!(call("ontoref_list_ontology_extensions", &all)["total"], 29);
    let mut list_samples = Vec::new();
    for _ in 0..rounds * 10 {
        let t0 = Instant::now();
        call("ontoref_list_ontology_extensions", &all);
        list_samples.push(t0.elapsed());
    }

    vendor_samples.sort();
    floor.sort();
    get_samples.sort();
    list_samples.sort();
    println!(
        "ontology extensions, {rounds} rounds{}; tarball {} KiB",
        if quick { " (quick)" } else { "" },
        tarball.len() / 1024
    );
    println!("| what | p50 | p99 |");
    println!("|---|---|---|");
    for (what, s) in [
        (
            "`ontology vendor` + verify, 29 ontologies (the whole pipeline)",
            &vendor_samples,
        ),
        (
            "floor: sha256 + gunzip + read every entry of the tarball",
            &floor,
        ),
        (
            "`ontoref_get_ontology_extension` resolved, widest closure (7 files re-hashed), warm",
            &get_samples,
        ),
        (
            "`ontoref_list_ontology_extensions`, 29 extensions, warm",
            &list_samples,
        ),
    ] {
        println!(
            "| {what} | {} | {} |",
            fmt(percentile(s, 0.5)),
            fmt(percentile(s, 0.99))
        );
    }
}
