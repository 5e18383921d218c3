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

/// The layer annotation holding the Rekor entry and its signed entry
/// timestamp, when the signature was logged.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

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
    /// The signature's Rekor entry (`dev.sigstore.cosign/bundle`) is
    /// missing, malformed, not signed by the log's key, or about another
    /// signature.
    #[error("the transparency-log entry of {reference}'s signature is invalid: {detail}")]
    SetInvalid {
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
            CosignError::SetInvalid { .. } => "signature-set-invalid",
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
            CosignError::SetInvalid { .. } => {
                "the signature must be logged in the transparency log whose public key is \
                 configured: sign with the log upload on, or check the configured Rekor key"
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

    /// The key's DER (SubjectPublicKeyInfo) encoding.
    fn der(&self) -> Vec<u8> {
        self.key
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
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

/// A logged signature: when the log integrated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The log's integration time (Unix seconds).
    pub integrated_time: i64,
    /// The entry's index in the log.
    pub log_index: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
}

/// Verifies a simple signature's Rekor entry, as `cosign verify --key K`
/// with a log does offline: the annotation `bundle_json`'s signed entry
/// timestamp verifies with the log's key `rekor` over the canonical JSON of
/// the entry, the entry is the log's (`logID` is the key's SHA-256), and its
/// hashedrekord body records this signature: the payload's SHA-256, the
/// signature `signature_b64`, and the signing key `key`. Written by hand
/// for the same reason as [`verify`]: it is one ECDSA check and a few
/// comparisons over `p256`.
pub fn verify_set(
    bundle_json: Option<&str>,
    rekor: &PublicKey,
    key: &PublicKey,
    payload: &[u8],
    signature_b64: &str,
    reference: &str,
) -> Result<Logged, CosignError> {
    let invalid = |detail: String| CosignError::SetInvalid {
        reference: reference.to_owned(),
        detail,
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let bundle_json = bundle_json.ok_or_else(|| {
        invalid(format!(
            "the signature has no `{BUNDLE_ANNOTATION}` annotation"
        ))
    })?;
    let bundle: RekorBundle = serde_json::from_str(bundle_json).map_err(|e| {
        invalid(format!(
            "the `{BUNDLE_ANNOTATION}` annotation is malformed: {e}"
        ))
    })?;
    let log_id = crate::hex::encode(&Sha256::digest(rekor.der()));
    if !bundle.payload.log_id.eq_ignore_ascii_case(&log_id) {
        return Err(invalid(format!(
            "the entry is from log {}, not the configured log {log_id}",
            crate::echo::clip(&bundle.payload.log_id)
        )));
    }
    // RFC 8785 for this record: its keys in order, no whitespace; serde
    // writes the fields in declaration order, which is the sorted one.
    let canonical = serde_json::to_vec(&bundle.payload)
        .map_err(|e| invalid(format!("the entry cannot be encoded: {e}")))?;
    let set = b64
        .decode(bundle.signed_entry_timestamp.trim())
        .ok()
        .and_then(|der| Signature::from_der(&der).ok())
        .ok_or_else(|| {
            invalid("the signed entry timestamp is not a base64 DER signature".into())
        })?;
    rekor.key.verify(&canonical, &set).map_err(|_| {
        invalid("the signed entry timestamp does not verify with the log's key".into())
    })?;
    let body: serde_json::Value = b64
        .decode(&bundle.payload.body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("the entry's body is not base64 JSON".into()))?;
    if body["kind"] != "hashedrekord" {
        return Err(invalid(format!(
            "the entry is a {}, not a hashedrekord",
            body["kind"]
        )));
    }
    let spec = &body["spec"];
    let payload_hash = crate::hex::encode(&Sha256::digest(payload));
    if spec["data"]["hash"]["algorithm"] != "sha256"
        || !spec["data"]["hash"]["value"]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(&payload_hash))
    {
        return Err(invalid("the entry records another payload".into()));
    }
    if spec["signature"]["content"].as_str().map(str::trim) != Some(signature_b64.trim()) {
        return Err(invalid("the entry records another signature".into()));
    }
    let logged_key = spec["signature"]["publicKey"]["content"]
        .as_str()
        .and_then(|c| b64.decode(c).ok())
        .and_then(|pem| String::from_utf8(pem).ok())
        .and_then(|pem| PublicKey::from_pem(&pem, "the entry's key").ok());
    if logged_key.as_ref().map(PublicKey::fingerprint) != Some(key.fingerprint()) {
        return Err(invalid("the entry records another signing key".into()));
    }
    Ok(Logged {
        integrated_time: bundle.payload.integrated_time,
        log_index: bundle.payload.log_index,
    })
}

impl ErrorCodes for CosignError {
    const VARIANTS: usize = 8;

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
            CosignError::SetInvalid {
                reference: reference(),
                detail: "the signed entry timestamp does not verify with the log's key".into(),
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
            CosignError::SetInvalid { .. } => variant::<7, N>(),
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

    /// A `signature-1` file: `\0sigstore-json\n` then the layer as JSON;
    /// its payload and its annotations.
    fn layer_annotated(name: &str) -> (Vec<u8>, serde_json::Value) {
        let bytes = fixture(name);
        let json = bytes.strip_prefix(b"\x00sigstore-json\n").unwrap();
        let v: serde_json::Value = serde_json::from_slice(json).unwrap();
        let payload = base64::engine::general_purpose::STANDARD
            .decode(v["payload"].as_str().unwrap())
            .unwrap();
        (payload, v["annotations"].clone())
    }

    /// A `signature-1` file's payload and signature.
    fn layer(name: &str) -> (Vec<u8>, String) {
        let (payload, annotations) = layer_annotated(name);
        let sig = annotations[SIGNATURE_ANNOTATION]
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

    /// E4's layer: payload, signature and the Rekor bundle annotation.
    fn e4() -> (Vec<u8>, String, String) {
        let (payload, annotations) = layer_annotated("dir-img-cosign-key-rekor-valid/signature-1");
        let sig = annotations[SIGNATURE_ANNOTATION]
            .as_str()
            .unwrap()
            .to_owned();
        let bundle = annotations[BUNDLE_ANNOTATION].as_str().unwrap().to_owned();
        (payload, sig, bundle)
    }

    #[test]
    fn e4_a_logged_signature_verifies_with_its_key_and_the_log_s_and_fails_without_them() {
        let (payload, sig, bundle) = e4();
        let (k2, rekor) = (key("cosign2.pub"), key("rekor.pub"));
        let manifest = format!(
            "sha256:{}",
            crate::hex::encode(&Sha256::digest(fixture(
                "dir-img-cosign-key-rekor-valid/manifest.json"
            )))
        );
        verify(&k2, &payload, &sig, &manifest, "r").unwrap();
        let logged = verify_set(Some(&bundle), &rekor, &k2, &payload, &sig, "r").unwrap();
        assert_eq!(
            logged,
            Logged {
                integrated_time: 1674251859,
                log_index: 11608800
            }
        );
        // Another log key, no annotation, a corrupt timestamp: refused.
        let set_err = |r: Result<Logged, CosignError>| {
            let e = r.unwrap_err();
            assert_eq!(e.code(), "signature-set-invalid", "{e}");
            e.to_string()
        };
        let e = set_err(verify_set(
            Some(&bundle),
            &key("cosign.pub"),
            &k2,
            &payload,
            &sig,
            "r",
        ));
        assert!(e.contains("not the configured log"), "{e}");
        set_err(verify_set(None, &rekor, &k2, &payload, &sig, "r"));
        let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
        v["SignedEntryTimestamp"] = "MEUCIQD/AAAA".into();
        set_err(verify_set(
            Some(&v.to_string()),
            &rekor,
            &k2,
            &payload,
            &sig,
            "r",
        ));
        let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
        v["Payload"]["integratedTime"] = 1674251860.into();
        let e = set_err(verify_set(
            Some(&v.to_string()),
            &rekor,
            &k2,
            &payload,
            &sig,
            "r",
        ));
        assert!(e.contains("does not verify with the log's key"), "{e}");
        // The entry must be this signature's: another key, another payload.
        let e = set_err(verify_set(
            Some(&bundle),
            &rekor,
            &key("cosign.pub"),
            &payload,
            &sig,
            "r",
        ));
        assert!(e.contains("another signing key"), "{e}");
        let e = set_err(verify_set(Some(&bundle), &rekor, &k2, b"other", &sig, "r"));
        assert!(e.contains("another payload"), "{e}");
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
