//! [`AttestationError`]: why an attestation does not verify, one stable code
//! per check that failed (as `gh attestation verify` names them), with the
//! file or value at fault and how to recover.

use crate::codes::{ErrorCodes, variant};

/// An attestation that does not verify, or cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// No in-toto subject (or message digest) is the artifact's digest.
    #[error("{bundle}: {detail}")]
    DigestMismatch {
        /// The bundle.
        bundle: String,
        /// What was compared.
        detail: String,
    },
    /// A signature does not verify with the certificate's or the given key.
    #[error("{bundle}: {detail}")]
    SignatureInvalid {
        /// The bundle.
        bundle: String,
        /// Which signature.
        detail: String,
    },
    /// The certificate does not chain to the trusted root at signing time,
    /// or its SCT does not verify.
    #[error("{bundle}: {detail}")]
    CertUntrusted {
        /// The bundle.
        bundle: String,
        /// Why.
        detail: String,
    },
    /// The transparency-log entry or timestamp does not prove the signing
    /// time (inclusion proof, checkpoint, SET, RFC 3161).
    #[error("{bundle}: {detail}")]
    TlogInvalid {
        /// The bundle.
        bundle: String,
        /// Why.
        detail: String,
    },
    /// The signer is not the one the policy names (issuer, SAN, repository,
    /// owner, workflow).
    #[error("{bundle}: {detail}")]
    IdentityMismatch {
        /// The bundle.
        bundle: String,
        /// Expected against found.
        detail: String,
    },
    /// The statement's type or predicate type is not the one asked for.
    #[error("{bundle}: {detail}")]
    PredicateMismatch {
        /// The bundle.
        bundle: String,
        /// Expected against found.
        detail: String,
    },
    /// The bundle, trusted root or key cannot be read or is malformed.
    #[error("{file}: {detail}")]
    BundleInvalid {
        /// The file.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl AttestationError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            AttestationError::DigestMismatch { .. } => "attestation-digest-mismatch",
            AttestationError::SignatureInvalid { .. } => "attestation-signature-invalid",
            AttestationError::CertUntrusted { .. } => "attestation-cert-untrusted",
            AttestationError::TlogInvalid { .. } => "attestation-tlog-invalid",
            AttestationError::IdentityMismatch { .. } => "attestation-identity-mismatch",
            AttestationError::PredicateMismatch { .. } => "attestation-predicate-mismatch",
            AttestationError::BundleInvalid { .. } => "attestation-bundle-invalid",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            AttestationError::DigestMismatch { .. } => {
                "the attestation is for other bytes: check the artifact (or the digest and its \
                 algorithm, sha256 or sha512) against the release"
            }
            AttestationError::SignatureInvalid { .. } => {
                "the bytes were altered after signing, or another key signed them: fetch the \
                 bundle again from its release, and check --key"
            }
            AttestationError::CertUntrusted { .. } => {
                "pass the trusted root of the Sigstore instance that signed it \
                 (--custom-trusted-root; `gh attestation trusted-root` prints GitHub's)"
            }
            AttestationError::TlogInvalid { .. } => {
                "the log entry or timestamp does not match this trusted root: check that the root \
                 lists the log or TSA, and fetch the bundle again"
            }
            AttestationError::IdentityMismatch { .. } => {
                "the signer is not the one the policy names: check --repo/--owner, \
                 --cert-identity(-regex), --signer-workflow and --cert-oidc-issuer"
            }
            AttestationError::PredicateMismatch { .. } => {
                "pass the predicate type the attestation carries (--predicate-type), or fetch the \
                 attestation of the kind you asked for"
            }
            AttestationError::BundleInvalid { .. } => {
                "pass a Sigstore bundle (JSON, or JSON lines as `gh attestation download` writes), \
                 a trusted_root.json and a PEM public key as the flags say"
            }
        }
        .to_owned()
    }

    /// The code a sigstore-verify failure means for `bundle`.
    pub fn from_verify(bundle: &str, e: &sigstore_verify::Error) -> AttestationError {
        use sigstore_verify::Error as E;
        let bundle = bundle.to_owned();
        let detail = crate::error::clip(&e.to_string());
        match e {
            E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => {
                AttestationError::IdentityMismatch { bundle, detail }
            }
            E::SignatureInvalid(_) => AttestationError::SignatureInvalid { bundle, detail },
            // The one artifact mismatch raised by the log-entry consistency
            // step (the signature verified over this artifact, but the
            // hashedrekord entry names other bytes): the entry is at fault.
            E::ArtifactMismatch(m) if m.contains("entry") => {
                AttestationError::TlogInvalid { bundle, detail }
            }
            // A statement whose subjects name no digest in an algorithm
            // computed here binds nothing: fail closed, as a mismatch.
            E::UnsupportedBundle(m) if m.contains("subject digest") => {
                AttestationError::DigestMismatch { bundle, detail }
            }
            E::ArtifactMismatch(_) | E::UnsupportedArtifact(_) => {
                AttestationError::DigestMismatch { bundle, detail }
            }
            E::Certificate(_) | E::TrustedCertificate(_) => {
                AttestationError::CertUntrusted { bundle, detail }
            }
            E::TransparencyLog(_)
            | E::Timestamp(_)
            | E::Bundle(
                sigstore_verify::bundle::Error::MissingInclusionProof(_)
                | sigstore_verify::bundle::Error::MissingInclusionPromise(_)
                | sigstore_verify::bundle::Error::MissingCheckpoint
                | sigstore_verify::bundle::Error::MissingSigningTimeEvidence
                | sigstore_verify::bundle::Error::MissingTimestamp
                | sigstore_verify::bundle::Error::LogIndexOutOfRange { .. }
                | sigstore_verify::bundle::Error::CheckpointRootMismatch,
            ) => AttestationError::TlogInvalid { bundle, detail },
            _ => AttestationError::BundleInvalid {
                file: bundle,
                detail,
            },
        }
    }
}

impl ErrorCodes for AttestationError {
    const VARIANTS: usize = 7;

    fn examples() -> Vec<Self> {
        let b = || "release.sigstore.json".to_owned();
        vec![
            AttestationError::DigestMismatch {
                bundle: b(),
                detail: "no subject has the artifact's sha256".into(),
            },
            AttestationError::SignatureInvalid {
                bundle: b(),
                detail: "the DSSE signature does not verify".into(),
            },
            AttestationError::CertUntrusted {
                bundle: b(),
                detail: "no trusted certificate authority is valid at the signing time".into(),
            },
            AttestationError::TlogInvalid {
                bundle: b(),
                detail: "the inclusion proof does not match the checkpoint".into(),
            },
            AttestationError::IdentityMismatch {
                bundle: b(),
                detail: "expected SourceRepositoryURI https://github.com/a/b".into(),
            },
            AttestationError::PredicateMismatch {
                bundle: b(),
                detail: "predicateType https://slsa.dev/provenance/v0.2".into(),
            },
            AttestationError::BundleInvalid {
                file: b(),
                detail: "not JSON".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = AttestationError::VARIANTS;
        match self {
            AttestationError::DigestMismatch { .. } => variant::<0, N>(),
            AttestationError::SignatureInvalid { .. } => variant::<1, N>(),
            AttestationError::CertUntrusted { .. } => variant::<2, N>(),
            AttestationError::TlogInvalid { .. } => variant::<3, N>(),
            AttestationError::IdentityMismatch { .. } => variant::<4, N>(),
            AttestationError::PredicateMismatch { .. } => variant::<5, N>(),
            AttestationError::BundleInvalid { .. } => variant::<6, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
