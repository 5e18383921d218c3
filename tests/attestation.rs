//! `ontoref attestation verify` through the binary: the whole
//! sigstore-conformance `bundle-verify` set (70 cases, each with the verdict
//! and failing check committed in `tests/fixtures/attestation/
//! conformance-expected.tsv`), and gh's flags on the GitHub Actions vectors
//! (all read from ../shared/fixtures/sigstore/). The domain's vector table
//! is in `tools/src/attestation/verify.rs`; key-signed envelopes made by an
//! independent signer are in `tests/python/test_attestation.py`.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{Sandbox, json_out, stderr, stdout};

fn sigstore() -> PathBuf {
    crate::util::repo().join("../shared/fixtures/sigstore")
}

fn verify(s: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--fmt", "json", "attestation", "verify"];
    all.extend_from_slice(args);
    s.run(&all)
}

/// `ok`, or the error's code.
fn outcome(out: &std::process::Output) -> String {
    let v = json_out(out);
    match v.get("error") {
        Some(e) => {
            assert!(!out.status.success(), "an error exits non-zero: {v}");
            e["code"].as_str().unwrap().to_owned()
        }
        None => {
            assert!(out.status.success(), "{v}");
            assert_eq!(v["verified"], true, "{v}");
            "ok".into()
        }
    }
}

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

#[test]
fn every_conformance_case_gets_its_verdict_for_its_stated_reason() {
    let suite = sigstore().join("conformance/bundle-verify");
    let expected_file =
        crate::util::repo().join("tests/fixtures/attestation/conformance-expected.tsv");
    let text = std::fs::read_to_string(&expected_file).unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (case, want) = (cols.next().unwrap(), cols.next().unwrap());
        assert!(
            cols.next().is_some_and(|why| !why.is_empty()),
            "{case}: no reason given"
        );
        assert!(
            !(case.ends_with("_fail") && (want == "ok" || want.starts_with("unsupported"))),
            "{case}: a _fail case may never be expected to pass"
        );
        expected.insert(case.to_owned(), want.to_owned());
    }
    let mut cases: Vec<String> = std::fs::read_dir(&suite)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite's 70 cases are all here");
    assert_eq!(
        cases,
        expected.keys().cloned().collect::<Vec<_>>(),
        "every case has one expectation, and no expectation names a missing case"
    );
    let production = sigstore().join("trusted_roots/production.sigstore-python.json");
    let s = Sandbox::new();
    let mut wrong = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let dir = suite.join(case);
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .map(|t| t.trim().to_owned())
        };
        let artifact = if dir.join("artifact").exists() {
            dir.join("artifact")
        } else {
            suite.join("a.txt")
        };
        let root = if dir.join("trusted_root.json").exists() {
            dir.join("trusted_root.json")
        } else {
            production.clone()
        };
        let identity = read("identity").unwrap_or_else(|| BEACON.into());
        let issuer = read("issuer").unwrap_or_else(|| ACTIONS.into());
        let bundle = dir.join("bundle.sigstore.json");
        let key = dir.join("key.pub");
        let mut args: Vec<String> = vec![
            artifact.display().to_string(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--custom-trusted-root".into(),
            root.display().to_string(),
        ];
        if key.exists() {
            args.extend(["--key".into(), key.display().to_string()]);
        } else {
            args.extend([
                "--cert-identity".into(),
                identity,
                "--cert-oidc-issuer".into(),
                issuer,
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = outcome(&verify(&s, &args));
        if got == "ok" {
            passed += 1;
        } else {
            failed += 1;
        }
        let want = expected[case].trim_start_matches("unsupported:");
        if got != want {
            wrong.push(format!("{case}: expected {want}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let valid = cases.iter().filter(|c| !c.ends_with("_fail")).count();
    assert_eq!((passed, failed), (valid, cases.len() - valid));
    assert_eq!(valid, 21, "21 VALID cases, 49 _fail ones");
}

const TGZ512: &str = "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";

fn gh(p: &str) -> String {
    sigstore().join("gh-cli").join(p).display().to_string()
}

fn gh_root() -> String {
    sigstore()
        .join("trusted_roots/public-good.gh-cli.json")
        .display()
        .to_string()
}

#[test]
fn the_npm_provenance_verifies_with_owner_and_prints_gh_s_fields() {
    let s = Sandbox::new();
    let (bundle, root) = (gh("sigstore-js-2.1.0-bundle.json"), gh_root());
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &bundle,
            "--custom-trusted-root",
            &root,
            "--owner",
            "sigstore",
        ],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["subject_digest"], TGZ512);
    assert_eq!(v["predicate_type"], "https://slsa.dev/provenance/v1");
    assert_eq!(v["identity"]["issuer"], ACTIONS);
    assert_eq!(
        v["identity"]["repo"],
        "https://github.com/sigstore/sigstore-js"
    );
    assert_eq!(
        v["identity"]["san"],
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(v["signed_at"], "2023-08-29T15:40:23Z");

    // JSON lines: both bundles verify.
    let jsonl = gh("sigstore-js-2.1.0_with_2_bundles.jsonl");
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &jsonl,
            "--custom-trusted-root",
            &root,
            "-R",
            "sigstore/sigstore-js",
        ],
    );
    let v = json_out(&out);
    assert_eq!(
        (v["bundles"].clone(), v["verified_bundles"].clone()),
        (Value::from(2), Value::from(2)),
        "{v}"
    );

    // --repo names the repository it expected and the one it found.
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &bundle,
            "--custom-trusted-root",
            &root,
            "--repo",
            "sigstore/fakerepo",
        ],
    );
    assert_eq!(outcome(&out), "attestation-identity-mismatch");
    let msg = json_out(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("expected SourceRepositoryURI to be https://github.com/sigstore/fakerepo, got https://github.com/sigstore/sigstore-js"), "{msg}");

    // Another predicate type, asked for, is refused as such.
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &bundle,
            "--custom-trusted-root",
            &root,
            "--owner",
            "sigstore",
            "--predicate-type",
            "https://cyclonedx.org/bom",
        ],
    );
    assert_eq!(outcome(&out), "attestation-predicate-mismatch");
}

#[test]
fn a_file_artifact_is_hashed_and_a_custom_issuer_needs_its_flag() {
    let s = Sandbox::new();
    let (artifact, bundle, root) = (
        gh("custom-issuer-artifact"),
        gh("custom-issuer.sigstore.json"),
        gh_root(),
    );
    let base = [
        artifact.as_str(),
        "--bundle",
        &bundle,
        "--custom-trusted-root",
        &root,
        "--owner",
        "too-legit",
    ];
    assert_eq!(outcome(&verify(&s, &base)), "attestation-identity-mismatch");
    let mut with_issuer = base.to_vec();
    with_issuer.extend([
        "--cert-oidc-issuer",
        "https://token.actions.githubusercontent.com/hammer-time",
    ]);
    let out = verify(&s, &with_issuer);
    assert_eq!(outcome(&out), "ok");
    assert!(
        json_out(&out)["subject_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:afa27b44")
    );
    // Other bytes are a digest mismatch.
    let other = s.dir.path().join("other");
    std::fs::write(&other, b"not the artifact").unwrap();
    let mut args = with_issuer.clone();
    let other = other.display().to_string();
    args[0] = &other;
    assert_eq!(outcome(&verify(&s, &args)), "attestation-digest-mismatch");
}

#[test]
fn a_reusable_workflow_is_matched_by_signer_workflow() {
    let s = Sandbox::new();
    let digest = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25";
    let (bundle, root) = (gh("reusable-workflow-attestation.sigstore.json"), gh_root());
    let run = |w: &str| {
        outcome(&verify(
            &s,
            &[
                digest,
                "--bundle",
                &bundle,
                "--custom-trusted-root",
                &root,
                "--owner",
                "malancas",
                "--signer-workflow",
                w,
            ],
        ))
    };
    assert_eq!(
        run("github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"),
        "ok"
    );
    assert_eq!(
        run("github/artifact-attestations-workflows/.github/workflows/attest.yml"),
        "ok"
    );
    assert_eq!(
        run("foo/bar/.github/workflows/attest.yml"),
        "attestation-identity-mismatch"
    );
}

#[test]
fn flags_are_checked_as_gh_checks_them() {
    let s = Sandbox::new();
    let (bundle, root) = (gh("sigstore-js-2.1.0-bundle.json"), gh_root());
    // No signer policy at all: a usage error naming the flags.
    let out = verify(
        &s,
        &[TGZ512, "--bundle", &bundle, "--custom-trusted-root", &root],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--owner"), "{}", stderr(&out));
    // --repo and --owner exclude each other.
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &bundle,
            "--custom-trusted-root",
            &root,
            "--owner",
            "a",
            "--repo",
            "a/b",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A malformed digest that is no file either.
    let out = verify(
        &s,
        &[
            "sha256:abc",
            "--bundle",
            &bundle,
            "--custom-trusted-root",
            &root,
            "--owner",
            "sigstore",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("neither a file nor a digest"),
        "{}",
        stderr(&out)
    );
    // Offline: without a trusted root a certificate-signed bundle is refused.
    let out = verify(&s, &[TGZ512, "--bundle", &bundle, "--owner", "sigstore"]);
    assert_eq!(outcome(&out), "attestation-bundle-invalid");
    assert!(
        stdout(&out).contains("--custom-trusted-root"),
        "{}",
        stdout(&out)
    );
    // A bundle that is not JSON.
    let junk = s.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"mediaType\": ").unwrap();
    let junk = junk.display().to_string();
    let out = verify(
        &s,
        &[
            TGZ512,
            "--bundle",
            &junk,
            "--custom-trusted-root",
            &root,
            "--owner",
            "sigstore",
        ],
    );
    assert_eq!(outcome(&out), "attestation-bundle-invalid");
}

/// `tests/support/dsse.py ARGS` with the test venv's Python.
pub(crate) fn dsse_py(args: &[&str]) {
    let out = std::process::Command::new(crate::registry::python())
        .arg(crate::util::repo().join("tests/support/dsse.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dsse.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn key_signed_envelopes_from_an_independent_signer_verify_with_key_only() {
    let s = Sandbox::new();
    let d = s.dir.path();
    let p = |n: &str| d.join(n).display().to_string();
    dsse_py(&["keygen", "--out", &p("k1")]);
    dsse_py(&["keygen", "--out", &p("k2")]);
    std::fs::write(d.join("release.tar.gz"), b"the release's bytes").unwrap();
    let (artifact, key, other_key) = (p("release.tar.gz"), p("k1/key.pub"), p("k2/key.pub"));
    let attest = |out: &str, extra: &[&str]| {
        let signer = p("k1/key.pem");
        let mut args = vec!["attest", "--artifact", &artifact, "--key", &signer];
        let out = p(out);
        args.extend(["--out", &out]);
        args.extend_from_slice(extra);
        dsse_py(&args);
        out
    };
    for form in ["bare", "bundle"] {
        let good = attest(&format!("{form}.json"), &["--form", form]);
        let out = verify(&s, &[&artifact, "--bundle", &good, "--key", &key]);
        assert_eq!(outcome(&out), "ok", "{form}: {}", stdout(&out));
        let v = json_out(&out);
        assert_eq!(v["identity"], Value::Null, "{v}");
        assert_eq!(v["transparency_log"], false, "{v}");
        assert_eq!(v["predicate_type"], "https://slsa.dev/provenance/v1");
        let sha = crate::registry::sha256_digest(b"the release's bytes");
        assert_eq!(v["subject_digest"], sha.as_str());
        // By digest too.
        assert_eq!(
            outcome(&verify(&s, &[&sha, "--bundle", &good, "--key", &key])),
            "ok"
        );

        // Another key, a changed payload, a changed signature.
        let why = |o: &std::process::Output| outcome(o);
        assert_eq!(
            why(&verify(
                &s,
                &[&artifact, "--bundle", &good, "--key", &other_key]
            )),
            "attestation-signature-invalid",
            "{form}"
        );
        for tamper in ["payload", "signature"] {
            let bad = attest(
                &format!("{form}-{tamper}.json"),
                &["--form", form, "--tamper", tamper],
            );
            assert_eq!(
                why(&verify(&s, &[&artifact, "--bundle", &bad, "--key", &key])),
                "attestation-signature-invalid",
                "{form} {tamper}"
            );
        }
        // A statement about other bytes; another predicate type.
        let elsewhere = attest(
            &format!("{form}-other.json"),
            &["--form", form, "--subject-sha256", &"ab".repeat(32)],
        );
        assert_eq!(
            why(&verify(
                &s,
                &[&artifact, "--bundle", &elsewhere, "--key", &key]
            )),
            "attestation-digest-mismatch",
            "{form}"
        );
        let sbom = attest(
            &format!("{form}-sbom.json"),
            &[
                "--form",
                form,
                "--predicate-type",
                "https://cyclonedx.org/bom",
            ],
        );
        assert_eq!(
            why(&verify(&s, &[&artifact, "--bundle", &sbom, "--key", &key])),
            "attestation-predicate-mismatch",
            "{form}"
        );
        assert_eq!(
            why(&verify(
                &s,
                &[
                    &artifact,
                    "--bundle",
                    &sbom,
                    "--key",
                    &key,
                    "--predicate-type",
                    "https://cyclonedx.org/bom"
                ]
            )),
            "ok",
            "{form}"
        );
    }
    // A statement naming the artifact in an algorithm not computed here
    // (sha1) binds nothing: it fails closed.
    for form in ["bare", "bundle"] {
        let sha1 = attest(
            &format!("{form}-sha1.json"),
            &["--form", form, "--subject-alg", "sha1"],
        );
        let out = verify(&s, &[&artifact, "--bundle", &sha1, "--key", &key]);
        assert_eq!(outcome(&out), "attestation-digest-mismatch", "{form}");
        assert!(stdout(&out).contains("sha256, sha512"), "{}", stdout(&out));
    }
    // A key that is no PEM public key.
    let not_key = p("k1/key.pem");
    let good = p("bundle.json");
    assert_eq!(
        outcome(&verify(
            &s,
            &[&artifact, "--bundle", &good, "--key", &not_key]
        )),
        "attestation-bundle-invalid"
    );
}
