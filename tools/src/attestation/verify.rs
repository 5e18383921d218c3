//! `attestation verify`: Sigstore bundles (one JSON, or JSON lines as `gh
//! attestation download` writes) verified offline by sigstore-verify against
//! a trusted root, then the policy `gh attestation verify` applies on top
//! (hand-written: the crate checks an exact SAN and issuer only): issuer,
//! `--owner`/`--repo` against the certificate's source-repository
//! extensions, the SAN rule they imply, `--signer-workflow`, the in-toto
//! statement's type and predicate type, and gh's floor of bundle v0.2.

use std::path::Path;

use regex::Regex;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::bundle::MediaType;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm, SignatureContent,
};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use crate::attestation::AttestationError;
use crate::fsread::{self, Links};

/// GitHub Actions' OIDC issuer, gh's default.
pub const ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// gh's default predicate type.
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
/// An in-toto statement v1's `_type`.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The largest bundle, root or key file read.
pub const MAX_FILE: u64 = 16 << 20;

/// What the signer must be, as gh's flags say it.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--cert-oidc-issuer` (gh's default: [`ACTIONS_ISSUER`]).
    pub issuer: Option<String>,
    /// `--owner`.
    pub owner: Option<String>,
    /// `--repo OWNER/REPO`.
    pub repo: Option<String>,
    /// `--cert-identity`.
    pub san: Option<String>,
    /// `--cert-identity-regex`.
    pub san_regex: Option<String>,
    /// `--signer-workflow`.
    pub signer_workflow: Option<String>,
    /// `--predicate-type` (gh's default: [`SLSA_V1`]); `None` checks none
    /// (a message signature has no statement).
    pub predicate_type: Option<String>,
}

/// The artifact: its bytes, or a digest when only that is at hand.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The artifact's bytes.
    Bytes(Vec<u8>),
    /// `sha256:<hex>` or `sha512:<hex>`.
    Digest(ArtifactDigest),
}

impl Subject {
    /// Parses `sha256:<hex>` / `sha512:<hex>`.
    pub fn digest(text: &str) -> Option<Subject> {
        let (alg, hex) = text.split_once(':')?;
        let alg = match alg {
            "sha256" => HashAlgorithm::Sha2256,
            "sha512" => HashAlgorithm::Sha2512,
            _ => return None,
        };
        ArtifactDigest::new(alg, crate::hex::decode(hex)?)
            .ok()
            .map(Subject::Digest)
    }

    fn artifact(&self) -> Artifact<'_> {
        match self {
            Subject::Bytes(b) => Artifact::from_blob(b),
            Subject::Digest(d) => Artifact::from_digest(d.clone()),
        }
    }
}

/// Reads the bundles in `path`: one JSON value, else JSON lines.
pub fn load_bundles(path: &Path) -> Result<Vec<Bundle>, AttestationError> {
    let shown = path.display().to_string();
    let invalid = |detail: String| AttestationError::BundleInvalid {
        file: shown.clone(),
        detail,
    };
    let text = fsread::read_text(path, MAX_FILE, Links::Follow)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
        // One bundle: its own parse error is the one to report.
        return Bundle::from_json(&text)
            .map(|b| vec![b])
            .map_err(|e| invalid(crate::error::clip(&e.to_string())));
    }
    let bundles: Vec<Bundle> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Bundle::from_json(l).map_err(|e| {
                invalid(format!(
                    "line {}: {}",
                    i + 1,
                    crate::error::clip(&e.to_string())
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if bundles.is_empty() {
        return Err(invalid("holds no bundle".into()));
    }
    Ok(bundles)
}

/// Reads a trusted root (`trusted_root.json`).
pub fn load_root(path: &Path) -> Result<TrustedRoot, AttestationError> {
    let invalid = |detail: String| AttestationError::BundleInvalid {
        file: path.display().to_string(),
        detail,
    };
    let text = fsread::read_text(path, MAX_FILE, Links::Follow)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    TrustedRoot::from_json(&text).map_err(|e| invalid(crate::error::clip(&e.to_string())))
}

/// Verifies one certificate-signed `bundle` over `subject` under `root`
/// and `policy`; `min_v02` is gh's refusal of v0.1 bundles.
pub fn verify_keyless(
    shown: &str,
    bundle: &Bundle,
    subject: &Subject,
    root: &TrustedRoot,
    policy: &Policy,
    min_v02: bool,
) -> Result<(), AttestationError> {
    if min_v02 && bundle.media_type() == MediaType::Bundle0_1 {
        return Err(AttestationError::BundleInvalid {
            file: shown.to_owned(),
            detail: "unsupported bundle version (v0.1; gh verifies v0.2 and later)".into(),
        });
    }
    let verifier = Verifier::new(root).map_err(|e| AttestationError::from_verify(shown, &e))?;
    let result = verifier
        .verify(
            subject.artifact(),
            bundle,
            &VerificationPolicy::any_identity(),
        )
        .map_err(|e| AttestationError::from_verify(shown, &e))?;
    let cert = result
        .certificate()
        .ok_or_else(|| AttestationError::CertUntrusted {
            bundle: shown.to_owned(),
            detail: "the bundle is not signed with a certificate".into(),
        })?;
    identity(shown, cert, policy)?;
    if let Some(want) = &policy.predicate_type {
        statement(shown, bundle, want)?;
    }
    Ok(())
}

/// Verifies a key-signed `bundle` (a public-key hint) with `key`.
pub fn verify_with_key(
    shown: &str,
    bundle: &Bundle,
    subject: &Subject,
    root: &TrustedRoot,
    key: &DerPublicKey,
) -> Result<(), AttestationError> {
    let verifier = Verifier::new(root).map_err(|e| AttestationError::from_verify(shown, &e))?;
    verifier
        .verify(
            subject.artifact(),
            bundle,
            &PublicKeyVerificationPolicy::new(key.clone()),
        )
        .map_err(|e| AttestationError::from_verify(shown, &e))?;
    Ok(())
}

fn identity(
    shown: &str,
    cert: &sigstore_verify::crypto::CertificateInfo,
    policy: &Policy,
) -> Result<(), AttestationError> {
    let mismatch = |detail: String| AttestationError::IdentityMismatch {
        bundle: shown.to_owned(),
        detail,
    };
    let issuer = policy.issuer.as_deref().unwrap_or(ACTIONS_ISSUER);
    if cert.issuer.as_deref() != Some(issuer) {
        return Err(mismatch(format!(
            "expected Issuer to be {issuer}, got {} (--cert-oidc-issuer sets another)",
            cert.issuer.as_deref().unwrap_or("none")
        )));
    }
    let claims = &cert.ci_claims;
    if let Some(owner) = &policy.owner {
        let want = format!("https://github.com/{owner}");
        if !claims
            .source_repository_owner_uri
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(&want))
        {
            return Err(mismatch(format!(
                "expected SourceRepositoryOwnerURI to be {want}, got {}",
                claims
                    .source_repository_owner_uri
                    .as_deref()
                    .unwrap_or("none")
            )));
        }
    }
    if let Some(repo) = &policy.repo {
        let want = format!("https://github.com/{repo}");
        if !claims
            .source_repository_uri
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(&want))
        {
            return Err(mismatch(format!(
                "expected SourceRepositoryURI to be {want}, got {}",
                claims.source_repository_uri.as_deref().unwrap_or("none")
            )));
        }
    }
    let san = cert
        .identity
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let pattern = if let Some(exact) = &policy.san {
        Some(format!("^{}$", regex::escape(exact)))
    } else if let Some(re) = &policy.san_regex {
        Some(re.clone())
    } else if let Some(w) = &policy.signer_workflow {
        let hosted = w.split('/').next().is_some_and(|h| h.contains('.'));
        Some(if hosted {
            format!("^https://{w}")
        } else {
            format!("^https://github.com/{w}")
        })
    } else if let Some(repo) = &policy.repo {
        Some(format!("(?i)^https://github.com/{}/", regex::escape(repo)))
    } else {
        policy
            .owner
            .as_ref()
            .map(|o| format!("(?i)^https://github.com/{}/", regex::escape(o)))
    };
    if let Some(pattern) = pattern {
        let re = Regex::new(&pattern).map_err(|e| AttestationError::BundleInvalid {
            file: "--cert-identity-regex".into(),
            detail: crate::error::clip(&e.to_string()),
        })?;
        if !re.is_match(&san) {
            return Err(mismatch(format!(
                "the certificate's SAN {san} does not match {pattern}"
            )));
        }
    }
    Ok(())
}

fn statement(shown: &str, bundle: &Bundle, want: &str) -> Result<(), AttestationError> {
    let mismatch = |detail: String| AttestationError::PredicateMismatch {
        bundle: shown.to_owned(),
        detail,
    };
    let SignatureContent::DsseEnvelope(env) = &bundle.content else {
        return Err(mismatch(
            "a message signature carries no statement; no predicate type to check".into(),
        ));
    };
    let st: serde_json::Value = serde_json::from_slice(env.payload.as_bytes())
        .map_err(|e| mismatch(format!("the payload is not an in-toto statement: {e}")))?;
    if st["_type"] != STATEMENT_V1 {
        return Err(mismatch(format!(
            "the statement's _type is {}, not {STATEMENT_V1}",
            st["_type"]
        )));
    }
    if st["predicateType"] != want {
        return Err(mismatch(format!(
            "the predicate type is {}, not {want}",
            st["predicateType"]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(p: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/sigstore")
            .join(p)
    }

    const TGZ512: &str = "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";

    #[test]
    fn a1_verifies_for_its_owner_and_names_a_fake_one() {
        let _ = sigstore_verify::crypto::install_default_provider(
            &crate::attestation::provider::RING_PROVIDER,
        );
        let root = load_root(&fixture("trusted_roots/public-good.gh-cli.json")).unwrap();
        let bundles = load_bundles(&fixture("gh-cli/sigstore-js-2.1.0-bundle.json")).unwrap();
        let subject = Subject::digest(TGZ512).unwrap();
        let policy = |owner: &str| Policy {
            owner: Some(owner.into()),
            predicate_type: Some(SLSA_V1.into()),
            ..Policy::default()
        };
        verify_keyless(
            "A1",
            &bundles[0],
            &subject,
            &root,
            &policy("sigstore"),
            true,
        )
        .unwrap();
        let e = verify_keyless(
            "A1",
            &bundles[0],
            &subject,
            &root,
            &policy("fakeowner"),
            true,
        )
        .unwrap_err();
        assert_eq!(e.code(), "attestation-identity-mismatch", "{e}");
        let wrong = Subject::digest(&TGZ512.replace("sha512:90", "sha512:91")).unwrap();
        let e = verify_keyless("A1", &bundles[0], &wrong, &root, &policy("sigstore"), true)
            .unwrap_err();
        assert_eq!(e.code(), "attestation-digest-mismatch", "{e}");
    }
}
