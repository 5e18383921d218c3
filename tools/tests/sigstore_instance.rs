//! Offline attestation verification against a Sigstore instance the tests
//! make themselves: `tests/support/sigstore_instance.py` generates fresh
//! keys each run (a Fulcio-like CA, a Rekor v1 log, a CT log, an RFC 3161
//! TSA), writes their trusted root and signs a DSSE in-toto attestation
//! over an artifact, optionally broken in one place (`--tamper`). Each test
//! runs it into a temporary directory and verifies with
//! `attestation::verify`, asserting the verdict and, on failure, the code
//! and the check named in the detail.
//!
//! Python is `$ONTOREF_PYTHON`, else `<workspace>/target/pyenv/bin/python`,
//! the venv scripts/test.sh makes from tests/python/requirements.txt
//! (`cryptography`, `asn1crypto`). A missing venv fails the test: CI makes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use ontoref_tools::attestation::AttestationError;
use ontoref_tools::attestation::verify::{Policy, Request, SLSA_V1, Subject, load_bundles, verify};
use serde_json::Value;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Artifact;
use sigstore_verify::{VerificationPolicy, VerificationResult, Verifier};

const ARTIFACT: &[u8] = b"ontology index v1.0.0: acme/ontologies\n";
const PUBLIC_GOOD: &str =
    "../../shared/fixtures/sigstore/trusted_roots/production.sigstore-python.json";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ONTOREF_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace().join("target/pyenv/bin/python");
    assert!(
        venv.is_file(),
        "no Python test venv at {}: scripts/test.sh makes it (CI runs it) from \
         tests/python/requirements.txt; or set ONTOREF_PYTHON to a Python with the pinned \
         `cryptography` and `asn1crypto`",
        venv.display()
    );
    venv
}

/// One run of the instance: its bundle, its trusted root, and the artifact.
struct Signed {
    dir: tempfile::TempDir,
    bundle: PathBuf,
    root: PathBuf,
    summary: Value,
}

fn sign(args: &[&str]) -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("ontologies.tar.gz");
    std::fs::write(&artifact, ARTIFACT).unwrap();
    let bundle = dir.path().join("bundle.sigstore.json");
    let root = dir.path().join("trusted_root.json");
    let script = workspace().join("tests/support/sigstore_instance.py");
    let out = Command::new(python())
        .arg(&script)
        .arg("--artifact")
        .arg(&artifact)
        .arg("--out-bundle")
        .arg(&bundle)
        .arg("--out-root")
        .arg(&root)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed (it needs the pinned `cryptography` and `asn1crypto`):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_slice(&out.stdout).unwrap();
    Signed {
        dir,
        bundle,
        root,
        summary,
    }
}

fn provider() {
    // Installed once per process; a second call reports it is already there.
    let _ = sigstore_verify::crypto::install_default_provider(
        &ontoref_tools::attestation::provider::RING_PROVIDER,
    );
}

fn artifact() -> Subject {
    Subject::Bytes(ARTIFACT.to_vec())
}

/// gh's policy for `--owner`, `--repo` or neither, predicate SLSA v1.
fn policy(owner: Option<&str>, repo: Option<&str>) -> Policy {
    Policy {
        owner: owner.map(Into::into),
        repo: repo.map(Into::into),
        predicate_type: Some(SLSA_V1.into()),
        ..Policy::default()
    }
}

fn check_with(
    s: &Signed,
    root: &Path,
    subject: &Subject,
    policy: &Policy,
) -> Result<(), AttestationError> {
    assert_eq!(load_bundles(&s.bundle).unwrap().len(), 1);
    verify(&Request {
        subject: subject.clone(),
        bundle: &s.bundle,
        trusted_root: Some(root),
        key: None,
        policy: policy.clone(),
    })
    .map(|_| ())
}

fn check(s: &Signed, policy: &Policy) -> Result<(), AttestationError> {
    check_with(s, &s.root, &artifact(), policy)
}

/// The failure's code, and its detail containing `detail`.
#[track_caller]
fn fails(result: Result<(), AttestationError>, code: &str, detail: &str) {
    let e = result.expect_err("verification passed");
    assert_eq!(e.code(), code, "{e}");
    assert!(
        e.to_string()
            .to_lowercase()
            .contains(&detail.to_lowercase()),
        "{code}: the detail does not say {detail:?}: {e}"
    );
}

/// sigstore-verify itself, to read what it checked.
fn crate_verify(
    s: &Signed,
    policy: &VerificationPolicy,
) -> sigstore_verify::Result<VerificationResult> {
    provider();
    let root = TrustedRoot::from_json(&std::fs::read_to_string(&s.root).unwrap()).unwrap();
    let bundle = load_bundles(&s.bundle).unwrap().remove(0);
    Verifier::new(&root)?.verify(Artifact::from_blob(ARTIFACT), &bundle, policy)
}

#[test]
fn valid_for_its_owner_repo_and_workflow() {
    let s = sign(&[]);
    assert_eq!(s.summary["tlog"]["kind"], "dsse");
    check(&s, &policy(Some("acme"), None)).unwrap();
    check(&s, &policy(Some("ACME"), None)).unwrap();
    check(&s, &policy(None, Some("acme/ontologies"))).unwrap();
    check(&s, &policy(Some("acme"), Some("acme/ontologies"))).unwrap();
    let workflow = Policy {
        signer_workflow: Some("acme/ontologies/.github/workflows/release.yml".into()),
        ..policy(None, None)
    };
    check(&s, &workflow).unwrap();
    let exact = Policy {
        san: Some(s.summary["san"].as_str().unwrap().into()),
        ..policy(Some("acme"), None)
    };
    check(&s, &exact).unwrap();

    // What sigstore-verify did on the way: chain, SCT, log, one time source.
    let r = crate_verify(&s, &VerificationPolicy::any_identity()).unwrap();
    assert!(r.certificate_verified() && r.sct_verified() && r.tlog_verified());
    let integrated = s.summary["tlog"]["integratedTime"].as_i64().unwrap();
    assert_eq!(r.integrated_time().map(|t| t.as_second()), Some(integrated));
    assert_eq!(r.verified_timestamps().len(), 1);
    assert_eq!(
        r.certificate()
            .unwrap()
            .ci_claims
            .source_repository_uri
            .as_deref(),
        Some("https://github.com/acme/ontologies")
    );
}

#[test]
fn valid_with_an_intoto_entry_and_a_leaf_from_the_root() {
    let s = sign(&["--tlog-kind", "intoto", "--no-intermediate"]);
    assert_eq!(s.summary["tlog"]["kind"], "intoto");
    check(&s, &policy(None, Some("acme/ontologies"))).unwrap();
}

#[test]
fn valid_with_an_rfc3161_timestamp_and_the_log() {
    let s = sign(&["--tsa"]);
    check(&s, &policy(Some("acme"), None)).unwrap();
    let r = crate_verify(&s, &VerificationPolicy::any_identity()).unwrap();
    // The TSA's time and the log's integrated time, both verified.
    assert_eq!(r.verified_timestamps().len(), 2, "{r:?}");
    assert!(r.tlog_verified() && r.sct_verified());
}

#[test]
fn a_timestamp_alone_verifies_under_a_root_that_names_no_log() {
    let s = sign(&["--tsa", "--no-tlog"]);
    // Under a root that lists a log, a bundle without a log entry lacks
    // the evidence that root calls for.
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-tlog-invalid",
        "must have an inclusion proof",
    );
    // An instance whose root names no log (as GitHub's private one) proves
    // signing times with RFC 3161 timestamps: the TSA's time is verified.
    let tsa_only = without_logs(&s);
    check_with(&s, &tsa_only, &artifact(), &policy(Some("acme"), None)).unwrap();
    let skip = VerificationPolicy::any_identity().skip_tlog_unsafe();
    let r = crate_verify(&s, &skip).unwrap();
    assert_eq!(r.verified_timestamps().len(), 1);
    assert!(!r.tlog_verified() && r.sct_verified());
    // A timestamp over other bytes fails,
    let bad = sign(&["--tsa", "--no-tlog", "--tamper", "timestamp"]);
    fails(
        check_with(
            &bad,
            &without_logs(&bad),
            &artifact(),
            &policy(Some("acme"), None),
        ),
        "attestation-tlog-invalid",
        "timestamp",
    );
    // and no time at all fails.
    let none = sign(&["--no-tlog"]);
    fails(
        check_with(
            &none,
            &without_logs(&none),
            &artifact(),
            &policy(Some("acme"), None),
        ),
        "attestation-tlog-invalid",
        "timestamp",
    );
}

/// The run's trusted root with its `tlogs` removed.
fn without_logs(s: &Signed) -> PathBuf {
    let mut root: Value = serde_json::from_str(&std::fs::read_to_string(&s.root).unwrap()).unwrap();
    root["tlogs"] = Value::Array(vec![]);
    let path = s.dir.path().join("trusted_root.tsa-only.json");
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
    path
}

#[test]
fn another_owner_repo_or_issuer_is_an_identity_mismatch() {
    let s = sign(&[]);
    fails(
        check(&s, &policy(Some("other"), None)),
        "attestation-identity-mismatch",
        "SourceRepositoryOwnerURI",
    );
    fails(
        check(&s, &policy(None, Some("acme/other"))),
        "attestation-identity-mismatch",
        "SourceRepositoryURI",
    );
    let issuer = Policy {
        issuer: Some("https://issuer.example".into()),
        ..policy(Some("acme"), None)
    };
    fails(
        check(&s, &issuer),
        "attestation-identity-mismatch",
        "Issuer",
    );
    let workflow = Policy {
        signer_workflow: Some("acme/ontologies/.github/workflows/other.yml".into()),
        ..policy(None, None)
    };
    fails(check(&s, &workflow), "attestation-identity-mismatch", "SAN");

    // The certificate says what the flags say.
    let s = sign(&[
        "--repo",
        "other/ontologies",
        "--issuer",
        "https://issuer.example",
    ]);
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-identity-mismatch",
        "Issuer",
    );
    let other = Policy {
        issuer: Some("https://issuer.example".into()),
        ..policy(Some("other"), Some("other/ontologies"))
    };
    // Owner and repo now match; the SAN still names acme's workflow.
    fails(check(&s, &other), "attestation-identity-mismatch", "SAN");
    let san = Policy {
        san_regex: Some("^https://github.com/acme/".into()),
        ..other
    };
    check(&s, &san).unwrap();
}

#[test]
fn other_bytes_are_a_digest_mismatch() {
    let s = sign(&[]);
    let other = Subject::Bytes(b"ontology index v1.0.1: acme/ontologies\n".to_vec());
    fails(
        check_with(&s, &s.root, &other, &policy(Some("acme"), None)),
        "attestation-digest-mismatch",
        "subject",
    );
    let digest = format!(
        "sha256:{}",
        s.summary["subject"]["sha256"].as_str().unwrap()
    );
    check_with(
        &s,
        &s.root,
        &Subject::digest(&digest).unwrap(),
        &policy(Some("acme"), None),
    )
    .unwrap();
}

#[test]
fn another_predicate_type_is_a_predicate_mismatch() {
    let s = sign(&["--predicate-type", "https://example.com/ontology-review/v1"]);
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-predicate-mismatch",
        "https://example.com/ontology-review/v1",
    );
    let review = Policy {
        predicate_type: Some("https://example.com/ontology-review/v1".into()),
        ..policy(Some("acme"), None)
    };
    check(&s, &review).unwrap();
}

#[test]
fn an_altered_envelope_is_an_invalid_signature() {
    // The tlog entry still records the original signature, so SET, proof
    // and checkpoint would verify; the envelope's signature, checked first
    // with the certificate's key, is what fails.
    for tamper in ["signature", "payload"] {
        let s = sign(&["--tamper", tamper]);
        fails(
            check(&s, &policy(Some("acme"), None)),
            "attestation-signature-invalid",
            "DSSE envelope's signature does not verify with the certificate's key",
        );
    }
}

#[test]
fn each_log_proof_is_checked() {
    for (tamper, detail) in [
        ("set", "inclusion promise"),
        ("inclusion-proof", "inclusion proof"),
        ("checkpoint", "checkpoint"),
        ("log-entry", "does not match the bundle"),
    ] {
        let s = sign(&["--tamper", tamper]);
        fails(
            check(&s, &policy(Some("acme"), None)),
            "attestation-tlog-invalid",
            detail,
        );
    }
    let s = sign(&["--tsa", "--tamper", "timestamp"]);
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-tlog-invalid",
        "RFC 3161",
    );
}

#[test]
fn the_sct_is_required_and_checked() {
    let s = sign(&["--tamper", "sct"]);
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-cert-untrusted",
        "signed certificate timestamp",
    );
    let s = sign(&["--no-sct"]);
    fails(
        check(&s, &policy(Some("acme"), None)),
        "attestation-cert-untrusted",
        "SCT",
    );
}

#[test]
fn the_public_good_root_does_not_trust_the_instance() {
    let s = sign(&[]);
    let public_good = Path::new(env!("CARGO_MANIFEST_DIR")).join(PUBLIC_GOOD);
    // The log's SET is checked first (it is what dates the signature), and
    // the public-good root lists no such log.
    fails(
        check_with(&s, &public_good, &artifact(), &policy(Some("acme"), None)),
        "attestation-tlog-invalid",
        "no log key",
    );
    // With the instance's log and CT log but public-good's CAs, the chain
    // is what fails.
    let mut root: Value = serde_json::from_str(&std::fs::read_to_string(&s.root).unwrap()).unwrap();
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(&public_good).unwrap()).unwrap();
    root["certificateAuthorities"] = good["certificateAuthorities"].clone();
    let mixed = s.dir.path().join("mixed_root.json");
    std::fs::write(&mixed, root.to_string()).unwrap();
    fails(
        check_with(&s, &mixed, &artifact(), &policy(Some("acme"), None)),
        "attestation-cert-untrusted",
        "chain",
    );
    // Each run is a new instance: another run's root trusts nothing here.
    let other = sign(&[]);
    assert!(check_with(&s, &other.root, &artifact(), &policy(Some("acme"), None)).is_err());
    assert!(check(&other, &policy(Some("acme"), None)).is_ok());
}
