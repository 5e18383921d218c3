//! Cosign key-pair signatures in the legacy "simple signing" layout: an
//! ECDSA P-256 signature (ASN.1 DER, base64 in the layer annotation
//! `dev.cosignproject.cosign/signature`) over the exact bytes of a payload
//! `{"critical":{"identity":{"docker-reference"},"image":{"docker-manifest-digest"},
//! "type":"cosign container image signature"},"optional":…}`.
//!
//! Verification is what `cosign verify --key K --insecure-ignore-tlog`
//! does: the signature must verify over the payload bytes as stored (never
//! re-serialised), the payload must be a cosign container image signature,
//! and it must name the digest the caller resolved (a tag is resolved once;
//! everything after is fetched by digest). Written here rather than with
//! the `sigstore` crate, whose `cosign` feature pulls a second oci-client
//! and a TLS stack for what is ~100 lines over `p256`.
//!
//! Signing (private keys, the payload, the signature) is
//! [`signing`](super::signing); both report [`CosignError`].

use base64::Engine as _;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::codes::{ErrorCodes, variant};

/// The media type of a simple-signing layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The layer annotation holding the base64 DER signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The payload's `critical.type`.
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// Why a signature does not vouch for an artifact, or a key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// No public key to verify with.
    #[error("no cosign public key is configured: {detail}")]
    KeyMissing {
        /// Where one was looked for.
        detail: String,
    },
    /// A public or private key does not parse, is not P-256, or its
    /// encrypted envelope is malformed or asks too much of scrypt.
    #[error("{path} is not a usable P-256 key: {detail}")]
    KeyInvalid {
        /// The key file.
        path: String,
        /// What is wrong (never key material).
        detail: String,
    },
    /// An encrypted private key does not open with the password given.
    #[error(
        "the password for {path} is wrong (the key does not open with it, or the file was altered)"
    )]
    PasswordWrong {
        /// The key file.
        path: String,
    },
    /// An encrypted private key and no password.
    #[error("{path} is encrypted and no password was given")]
    PasswordMissing {
        /// The key file.
        path: String,
    },
    /// The artifact has no signature.
    #[error("{reference} has no cosign signature")]
    SignatureMissing {
        /// The artifact.
        reference: String,
    },
    /// No signature verifies with the key, or the payload is not a cosign
    /// image signature.
    #[error("the signature of {reference} is invalid: {detail}")]
    SignatureInvalid {
        /// The artifact.
        reference: String,
        /// What failed.
        detail: String,
    },
    /// A valid signature over another manifest.
    #[error("the signature of {reference} is for {signed}, not for {resolved}")]
    DigestMismatch {
        /// The artifact.
        reference: String,
        /// The digest the tag resolved to.
        resolved: String,
        /// The digest the signed payload names.
        signed: String,
    },
}

impl CosignError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            CosignError::KeyMissing { .. } => "cosign-key-missing",
            CosignError::KeyInvalid { .. } => "cosign-key-invalid",
            CosignError::PasswordWrong { .. } => "cosign-password-wrong",
            CosignError::PasswordMissing { .. } => "cosign-password-missing",
            CosignError::SignatureMissing { .. } => "signature-missing",
            CosignError::SignatureInvalid { .. } => "signature-invalid",
            CosignError::DigestMismatch { .. } => "signature-digest-mismatch",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> &'static str {
        match self {
            CosignError::KeyMissing { .. } => {
                "set vault.cosign.pub_path in config.ncl (or cosign_pub on the manifest's registry \
                 entry) to the PEM public key artifacts are signed with"
            }
            CosignError::KeyInvalid { .. } => {
                "a public key must be a `-----BEGIN PUBLIC KEY-----` P-256 key (cosign.pub); a \
                 private key an `ENCRYPTED SIGSTORE PRIVATE KEY` as `cosign generate-key-pair` \
                 writes cosign.key, or a plain P-256 `PRIVATE KEY` or `EC PRIVATE KEY` PEM"
            }
            CosignError::PasswordWrong { .. } => {
                "check cosign_password in the vault's access.sops.yaml: it must be the password the \
                 key was generated with (COSIGN_PASSWORD for `cosign generate-key-pair`)"
            }
            CosignError::PasswordMissing { .. } => {
                "set cosign_password in the vault's access.sops.yaml to the private key's password \
                 (an empty string for a key generated with an empty one)"
            }
            CosignError::SignatureMissing { .. } => {
                "the publisher must sign the artifact with its cosign key; nothing unsigned is used"
            }
            CosignError::SignatureInvalid { .. } => {
                "the artifact was signed with another key or tampered with; check the configured \
                 public key with the publisher"
            }
            CosignError::DigestMismatch { .. } => {
                "the tag was moved to a manifest its signature does not cover; ask the publisher \
                 to sign the current manifest"
            }
        }
    }
}

/// A public key artifacts must be signed with.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    fingerprint: String,
}

impl PublicKey {
    /// Parses a PEM (PKIX `PUBLIC KEY`) P-256 key; `path` names it in errors.
    pub fn from_pem(text: &str, path: &str) -> Result<PublicKey, CosignError> {
        let key = VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
            CosignError::KeyInvalid {
                path: path.to_owned(),
                detail: format!("not a PEM public key: {e}"),
            }
        })?;
        PublicKey::from_verifying_key(key, path)
    }

    /// The key as given (the public half of a private key); `path` names it
    /// in errors.
    pub(crate) fn from_verifying_key(
        key: VerifyingKey,
        path: &str,
    ) -> Result<PublicKey, CosignError> {
        let der = key
            .to_public_key_der()
            .map_err(|e| CosignError::KeyInvalid {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        let fingerprint = format!(
            "sha256:{}",
            crate::hex::encode(&Sha256::digest(der.as_bytes()))
        );
        Ok(PublicKey { key, fingerprint })
    }

    /// `sha256:<hex>` of the key's DER (SubjectPublicKeyInfo) encoding.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// What a verified signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The manifest digest the payload names (the one resolved).
    pub digest: String,
    /// The payload's `docker-reference`.
    pub docker_reference: String,
    /// The fingerprint of the key that verified it.
    pub signed_by: String,
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Verifies one simple-signing layer: `signature_b64` (the annotation's
/// value) over `payload` (the layer's bytes as stored) with `key`, and that
/// the payload names `resolved`, the manifest digest the caller pinned.
/// `reference` names the artifact in errors.
pub fn verify(
    key: &PublicKey,
    payload: &[u8],
    signature_b64: &str,
    resolved: &str,
    reference: &str,
) -> Result<Verified, CosignError> {
    let invalid = |detail: String| CosignError::SignatureInvalid {
        reference: reference.to_owned(),
        detail,
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|e| invalid(format!("the signature is not base64: {e}")))?;
    let signature = Signature::from_der(&der)
        .map_err(|e| invalid(format!("not a DER ECDSA signature: {e}")))?;
    key.key
        .verify(payload, &signature)
        .map_err(|_| invalid(format!("it does not verify with key {}", key.fingerprint)))?;
    let payload: Payload = serde_json::from_slice(payload)
        .map_err(|e| invalid(format!("the signed payload is not a cosign payload: {e}")))?;
    if payload.critical.kind != PAYLOAD_TYPE {
        return Err(invalid(format!(
            "the signed payload's type is `{}`, not `{PAYLOAD_TYPE}`",
            crate::echo::clip(&payload.critical.kind)
        )));
    }
    let signed = payload.critical.image.docker_manifest_digest;
    if signed != resolved {
        return Err(CosignError::DigestMismatch {
            reference: reference.to_owned(),
            resolved: resolved.to_owned(),
            signed: crate::echo::clip(&signed),
        });
    }
    Ok(Verified {
        digest: signed,
        docker_reference: payload.critical.identity.docker_reference,
        signed_by: key.fingerprint.clone(),
    })
}

impl ErrorCodes for CosignError {
    const VARIANTS: usize = 7;

    fn examples() -> Vec<Self> {
        let reference = || "127.0.0.1:5000/src-vault/acme:latest".to_owned();
        vec![
            CosignError::KeyMissing {
                detail: "vault.cosign.pub_path is not set".into(),
            },
            CosignError::KeyInvalid {
                path: "keys/cosign.pub".into(),
                detail: "unexpected PEM label".into(),
            },
            CosignError::PasswordWrong {
                path: "keys/cosign.key".into(),
            },
            CosignError::PasswordMissing {
                path: "keys/cosign.key".into(),
            },
            CosignError::SignatureMissing {
                reference: reference(),
            },
            CosignError::SignatureInvalid {
                reference: reference(),
                detail: "it does not verify".into(),
            },
            CosignError::DigestMismatch {
                reference: reference(),
                resolved: "sha256:aa".into(),
                signed: "sha256:bb".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = CosignError::VARIANTS;
        match self {
            CosignError::KeyMissing { .. } => variant::<0, N>(),
            CosignError::KeyInvalid { .. } => variant::<1, N>(),
            CosignError::SignatureMissing { .. } => variant::<2, N>(),
            CosignError::SignatureInvalid { .. } => variant::<3, N>(),
            CosignError::DigestMismatch { .. } => variant::<4, N>(),
            CosignError::PasswordWrong { .. } => variant::<5, N>(),
            CosignError::PasswordMissing { .. } => variant::<6, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint().to_owned()
    }
}

#[cfg(test)]
mod tests {
    //! Against containers/image's cosign fixtures (made by real cosign), read
    //! from ../shared/fixtures/sigstore/cosign-simple-signing (VECTORS.md §E).
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/sigstore/cosign-simple-signing")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; the tests read ../shared/fixtures beside the checkout",
                path.display()
            )
        })
    }

    fn key(name: &str) -> PublicKey {
        PublicKey::from_pem(&String::from_utf8(fixture(name)).unwrap(), name).unwrap()
    }

    /// A `signature-1` file: `\0sigstore-json\n` then the layer as JSON.
    fn layer(name: &str) -> (Vec<u8>, String) {
        let bytes = fixture(name);
        let json = bytes.strip_prefix(b"\x00sigstore-json\n").unwrap();
        let v: serde_json::Value = serde_json::from_slice(json).unwrap();
        let payload = base64::engine::general_purpose::STANDARD
            .decode(v["payload"].as_str().unwrap())
            .unwrap();
        let sig = v["annotations"][SIGNATURE_ANNOTATION]
            .as_str()
            .unwrap()
            .to_owned();
        (payload, sig)
    }

    fn digest_of(name: &str) -> String {
        format!(
            "sha256:{}",
            crate::hex::encode(&Sha256::digest(fixture(name)))
        )
    }

    #[test]
    fn e1_a_cosign_signature_verifies_with_its_key_and_names_the_manifest() {
        let (payload, sig) = layer("dir-img-cosign-valid/signature-1");
        let manifest = digest_of("dir-img-cosign-valid/manifest.json");
        assert_eq!(
            manifest,
            "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
        );
        let k = key("cosign.pub");
        let v = verify(&k, &payload, &sig, &manifest, "r").unwrap();
        assert_eq!(v.digest, manifest);
        assert_eq!(
            v.docker_reference,
            "192.168.64.2:5000/cosign-signed-single-sample"
        );
        assert_eq!(v.signed_by, k.fingerprint());
        assert!(k.fingerprint().starts_with("sha256:") && k.fingerprint().len() == 71);
        // The extracted pair is the same primitive.
        let payload2 = fixture("extracted/dir-img-cosign-valid.payload.json");
        let sig2 = String::from_utf8(fixture("extracted/dir-img-cosign-valid.sig")).unwrap();
        assert_eq!(payload2, payload);
        assert!(verify(&k, &payload2, &sig2, &manifest, "r").is_ok());
    }

    #[test]
    fn e2_another_key_fails_as_an_invalid_signature() {
        let (payload, sig) = layer("dir-img-cosign-valid/signature-1");
        let manifest = digest_of("dir-img-cosign-valid/manifest.json");
        let err = verify(&key("cosign2.pub"), &payload, &sig, &manifest, "r").unwrap_err();
        assert_eq!(err.code(), "signature-invalid", "{err}");
        let (payload, sig) = layer("unknown-cosign-key.signature");
        let err = verify(&key("cosign.pub"), &payload, &sig, &manifest, "r").unwrap_err();
        assert_eq!(err.code(), "signature-invalid", "{err}");
    }

    #[test]
    fn e3_a_valid_signature_over_another_manifest_is_a_digest_mismatch() {
        let (payload, sig) = layer("dir-img-cosign-modified-manifest/signature-1");
        let manifest = digest_of("dir-img-cosign-modified-manifest/manifest.json");
        let err = verify(&key("cosign.pub"), &payload, &sig, &manifest, "r").unwrap_err();
        assert_eq!(err.code(), "signature-digest-mismatch", "{err}");
        assert!(err.to_string().contains(&manifest), "{err}");
    }

    #[test]
    fn a_tampered_payload_or_a_mangled_signature_never_verifies() {
        let (mut payload, sig) = layer("dir-img-cosign-valid/signature-1");
        let manifest = digest_of("dir-img-cosign-valid/manifest.json");
        let k = key("cosign.pub");
        // One space more: the same JSON, different bytes.
        payload.insert(1, b' ');
        assert_eq!(
            verify(&k, &payload, &sig, &manifest, "r")
                .unwrap_err()
                .code(),
            "signature-invalid"
        );
        let (payload, _) = layer("dir-img-cosign-valid/signature-1");
        for bad in ["", "not base64!", "AAAA"] {
            assert_eq!(
                verify(&k, &payload, bad, &manifest, "r")
                    .unwrap_err()
                    .code(),
                "signature-invalid"
            );
        }
        let err = PublicKey::from_pem(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "k.pub",
        )
        .unwrap_err();
        assert_eq!(err.code(), "cosign-key-invalid");
        assert!(err.to_string().contains("k.pub"));
    }
}
