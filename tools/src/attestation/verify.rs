//! `attestation verify`: Sigstore bundles (one JSON, or JSON lines as `gh
//! attestation download` writes) verified offline by sigstore-verify against
//! a trusted root, then the policy `gh attestation verify` applies on top
//! (hand-written: the crate checks an exact SAN and issuer only): issuer,
//! `--owner`/`--repo` against the certificate's source-repository
//! extensions, the SAN rule they imply, `--signer-workflow`, the in-toto
//! statement's type and predicate type, and gh's floor of bundle v0.2.

use std::path::Path;

use regex::Regex;
use serde::Serialize;
use sigstore_verify::crypto::KeyAlgorithm;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle, DerPublicKey, DsseEnvelope, HashAlgorithm, SignatureContent,
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
/// The older statement `_type` (npm's attestations still carry it).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// A DSSE envelope holding an in-toto statement.
pub const IN_TOTO_PAYLOAD: &str = "application/vnd.in-toto+json";
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
    /// `--predicate-type`; `None` is gh's default, [`SLSA_V1`], for a DSSE
    /// statement, and no check for a message signature (which has none).
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

    /// The artifact's digest in `alg`, hex, when it can be had.
    fn hex(&self, alg: HashAlgorithm) -> Option<String> {
        use sha2::Digest as _;
        match (self, alg) {
            (Subject::Bytes(b), HashAlgorithm::Sha2256) => {
                Some(crate::hex::encode(&sha2::Sha256::digest(b)))
            }
            (Subject::Bytes(b), HashAlgorithm::Sha2512) => {
                Some(crate::hex::encode(&sha2::Sha512::digest(b)))
            }
            (Subject::Digest(d), _) if d.algorithm() == alg => {
                Some(crate::hex::encode(d.as_bytes()))
            }
            _ => None,
        }
    }

    /// `alg:hex` of the artifact, preferring `alg`.
    fn display(&self, alg: HashAlgorithm) -> String {
        match (self.hex(alg), self) {
            (Some(h), _) => format!("{}:{h}", alg_name(alg)),
            (None, Subject::Digest(d)) => {
                format!(
                    "{}:{}",
                    alg_name(d.algorithm()),
                    crate::hex::encode(d.as_bytes())
                )
            }
            (None, Subject::Bytes(_)) => String::new(),
        }
    }

    fn artifact(&self) -> Artifact<'_> {
        match self {
            Subject::Bytes(b) => Artifact::from_blob(b),
            Subject::Digest(d) => Artifact::from_digest(d.clone()),
        }
    }
}

fn alg_name(alg: HashAlgorithm) -> &'static str {
    match alg {
        HashAlgorithm::Sha2256 => "sha256",
        HashAlgorithm::Sha2384 => "sha384",
        HashAlgorithm::Sha2512 => "sha512",
        _ => "unknown",
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
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        // One bundle: its own parse error is the one to report.
        return parse_bundle(value).map(|b| vec![b]).map_err(invalid);
    }
    let bundles: Vec<Bundle> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<serde_json::Value>(l)
                .map_err(|e| e.to_string())
                .and_then(parse_bundle)
                .map_err(|e| invalid(format!("line {}: {e}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    if bundles.is_empty() {
        return Err(invalid("holds no bundle".into()));
    }
    Ok(bundles)
}

/// A bundle from its JSON, after undoing MIME line breaks in base64 values
/// (protobuf JSON parsers in Go and Python skip them, sigstore-types does
/// not), and with the certificate chain's shape checked: a v0.1 chain that
/// is empty, or that carries a self-signed root before the certificates it
/// signs, is refused here, before any log entry is looked at.
fn parse_bundle(mut value: serde_json::Value) -> Result<Bundle, String> {
    unwrap_base64(&mut value);
    let bundle: Bundle =
        serde_json::from_value(value).map_err(|e| crate::error::clip(&e.to_string()))?;
    if let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    {
        if certificates.is_empty() {
            return Err("the certificate chain is empty".into());
        }
        let last = certificates.len() - 1;
        for (i, cert) in certificates.iter().enumerate() {
            use x509_cert::der::Decode as _;
            let parsed = x509_cert::Certificate::from_der(cert.raw_bytes.as_bytes())
                .map_err(|e| format!("certificate {} of the chain does not parse: {e}", i + 1))?;
            let tbs = &parsed.tbs_certificate;
            // A chain may end with its root (sigstore-go's v0.1 bundles do;
            // it is not an anchor: anchors come from the trusted root only),
            // but a root anywhere before the certificates it signs is a
            // malformed chain.
            if i < last && tbs.issuer == tbs.subject {
                return Err(format!(
                    "certificate {} of the chain is a self-signed root ({}) placed before the \
                     certificates it would sign; a bundle carries the leaf, then its issuers",
                    i + 1,
                    crate::error::clip(&tbs.subject.to_string())
                ));
            }
        }
    }
    Ok(bundle)
}

/// Removes `\n`/`\r` from every string that is otherwise pure base64.
fn unwrap_base64(value: &mut serde_json::Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) if s.contains('\n') => {
                let base64ish = s.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'\n' | b'\r')
                });
                if base64ish {
                    s.retain(|c| c != '\n' && c != '\r');
                }
            }
            serde_json::Value::Array(a) => stack.extend(a.iter_mut()),
            serde_json::Value::Object(o) => stack.extend(o.values_mut()),
            _ => {}
        }
    }
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

/// What `attestation verify` is asked to check.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The artifact.
    pub subject: Subject,
    /// The bundle file: a Sigstore bundle, JSON lines of them, or (with
    /// `key`) a bare DSSE envelope.
    pub bundle: &'a Path,
    /// `--custom-trusted-root`.
    pub trusted_root: Option<&'a Path>,
    /// `--key`: a PEM public key that signed the envelope.
    pub key: Option<&'a Path>,
    /// The identity and predicate policy (unused with `key` but for the
    /// predicate type).
    pub policy: Policy,
}

/// A verified attestation: the first bundle that verified, and how many did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Always `true` (a failure is an [`AttestationError`]).
    pub verified: bool,
    /// The artifact digest the signature binds, `sha256:<hex>` or `sha512:<hex>`.
    pub subject_digest: String,
    /// The in-toto predicate type (`None` for a message signature).
    pub predicate_type: Option<String>,
    /// The signer's certificate identity (`None` when a key signed).
    pub identity: Option<Identity>,
    /// The verified signing time (log integration or RFC 3161), RFC 3339.
    pub signed_at: Option<String>,
    /// Whether a transparency-log entry was verified.
    pub transparency_log: bool,
    /// How many bundles the file held.
    pub bundles: usize,
    /// How many of them verified.
    pub verified_bundles: usize,
}

/// Who signed, from the Fulcio certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The OIDC issuer.
    pub issuer: Option<String>,
    /// The subject alternative name (a workflow URI or an email).
    pub san: Option<String>,
    /// The source repository URI (GitHub Actions).
    pub repo: Option<String>,
}

/// Installs the ring crypto provider for sigstore-verify, once per process.
fn ensure_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed: that one serves.
        let _ = sigstore_verify::crypto::install_default_provider(
            &crate::attestation::provider::RING_PROVIDER,
        );
    });
}

/// Verifies the attestation `req` names, offline: with a trusted root (and
/// no key) each bundle's certificate, log or timestamp and signature, then
/// gh's identity policy and predicate type; with a key, the key's signature
/// (and any log entry, against the trusted root). Succeeds when at least one
/// bundle of the file verifies, as gh does; otherwise the most telling
/// failure (a bundle of another predicate type only when no bundle had the
/// one asked for).
pub fn verify(req: &Request<'_>) -> Result<Verified, AttestationError> {
    ensure_provider();
    let shown = req.bundle.display().to_string();
    let key = req.key.map(load_key).transpose()?;
    if let Some(key) = &key
        && let Some(envelope) = bare_envelope(req.bundle)?
    {
        return verify_bare(&shown, &envelope, &req.subject, key, &req.policy);
    }
    let bundles = load_bundles(req.bundle)?;
    let root = match (req.trusted_root, &key) {
        (Some(path), _) => load_root(path)?,
        (None, Some(_)) => empty_root()?,
        (None, None) => {
            return Err(AttestationError::BundleInvalid {
                file: "--custom-trusted-root".into(),
                detail: "verification is offline: a trusted root is required to check a \
                         certificate-signed bundle (or pass --key for a key-signed one)"
                    .into(),
            });
        }
    };
    let verifier = Verifier::new(&root).map_err(|e| AttestationError::from_verify(&shown, &e))?;
    // A root that names no transparency log is an instance that proves
    // signing times with RFC 3161 timestamps alone (GitHub's private one):
    // its bundles carry no log entry, and a verified timestamp is required.
    let tsa_only = root.tlogs.is_empty();
    let total = bundles.len();
    let mut first: Option<Verified> = None;
    let mut count = 0;
    let mut failure: Option<AttestationError> = None;
    let mut other_predicate: Option<AttestationError> = None;
    for (i, bundle) in bundles.iter().enumerate() {
        let label = if total > 1 {
            format!("{shown} (bundle {} of {total})", i + 1)
        } else {
            shown.clone()
        };
        let outcome = match &key {
            Some(key) => verify_with_key(&label, &verifier, bundle, &req.subject, key, &req.policy),
            None => verify_keyless(
                &label,
                &verifier,
                tsa_only,
                bundle,
                &req.subject,
                &req.policy,
            ),
        };
        match outcome {
            Ok(v) => {
                count += 1;
                first.get_or_insert(v);
            }
            Err(e @ AttestationError::PredicateMismatch { .. }) => {
                other_predicate.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match first {
        Some(mut v) => {
            v.bundles = total;
            v.verified_bundles = count;
            Ok(v)
        }
        None => {
            Err(failure
                .or(other_predicate)
                .unwrap_or_else(|| AttestationError::BundleInvalid {
                    file: shown,
                    detail: "holds no bundle".into(),
                }))
        }
    }
}

/// Verifies one certificate-signed `bundle` over `subject` with `verifier`
/// and `policy`; `tsa_only` when the verifier's root names no log (the
/// signing time then comes from a verified RFC 3161 timestamp). The
/// predicate type is checked first, so a bundle of another kind (a `.jsonl`
/// holds provenance and SBOM alike) says so.
pub fn verify_keyless(
    shown: &str,
    verifier: &Verifier,
    tsa_only: bool,
    bundle: &Bundle,
    subject: &Subject,
    policy: &Policy,
) -> Result<Verified, AttestationError> {
    if let (SignatureContent::DsseEnvelope(env), Some(cert)) =
        (&bundle.content, bundle.signing_certificate())
    {
        let info = sigstore_verify::crypto::parse_certificate_info(cert).map_err(|e| {
            AttestationError::CertUntrusted {
                bundle: shown.to_owned(),
                detail: format!("the signing certificate does not parse: {e}"),
            }
        })?;
        envelope_signature(shown, env, &info.public_key, "the certificate's key")?;
    }
    let predicate_type = statement(shown, bundle, policy.predicate_type.as_deref())?;
    let mut cert_policy = VerificationPolicy::any_identity();
    if tsa_only {
        cert_policy = cert_policy.skip_tlog_unsafe();
    }
    let result = verifier
        .verify(subject.artifact(), bundle, &cert_policy)
        .map_err(|e| AttestationError::from_verify(shown, &e))?;
    let cert = result
        .certificate()
        .ok_or_else(|| AttestationError::CertUntrusted {
            bundle: shown.to_owned(),
            detail: "the bundle is not signed with a certificate (pass --key for a key-signed one)"
                .into(),
        })?;
    identity(shown, cert, policy)?;
    Ok(Verified {
        verified: true,
        subject_digest: bound_digest(bundle, subject),
        predicate_type,
        identity: Some(Identity {
            issuer: cert.issuer.clone(),
            san: cert.identity.as_ref().map(|s| s.as_str().to_owned()),
            repo: cert.ci_claims.source_repository_uri.clone(),
        }),
        signed_at: signed_at(&result),
        transparency_log: result.tlog_verified(),
        bundles: 1,
        verified_bundles: 1,
    })
}

/// Verifies a key-signed `bundle` (a public-key hint) with `key`. A bundle
/// with log entries has them checked against the verifier's trusted root;
/// one without is trusted on the key alone, as the key's holder vouches.
pub fn verify_with_key(
    shown: &str,
    verifier: &Verifier,
    bundle: &Bundle,
    subject: &Subject,
    key: &DerPublicKey,
    policy: &Policy,
) -> Result<Verified, AttestationError> {
    if let SignatureContent::DsseEnvelope(env) = &bundle.content {
        let material = &bundle.verification_material;
        if material.tlog_entries.is_empty()
            && material
                .timestamp_verification_data
                .rfc3161_timestamps
                .is_empty()
        {
            // No log entry and no timestamp (`cosign attest-blob --key
            // --new-bundle-format --tlog-upload=false`): sigstore-verify
            // wants signing-time evidence, which a key signature does not
            // need, so the envelope is checked as a bare one.
            return verify_bare(shown, env, subject, key, policy);
        }
        envelope_signature(shown, env, key, "--key")?;
    }
    let predicate_type = statement(shown, bundle, policy.predicate_type.as_deref())?;
    let logged = !bundle.verification_material.tlog_entries.is_empty();
    let mut key_policy = PublicKeyVerificationPolicy::new(key.clone());
    if !logged {
        key_policy = key_policy.skip_tlog_unsafe();
    }
    let result = verifier
        .verify(subject.artifact(), bundle, &key_policy)
        .map_err(|e| AttestationError::from_verify(shown, &e))?;
    Ok(Verified {
        verified: true,
        subject_digest: bound_digest(bundle, subject),
        predicate_type,
        identity: None,
        signed_at: signed_at(&result),
        transparency_log: logged && result.tlog_verified(),
        bundles: 1,
        verified_bundles: 1,
    })
}

/// A bare DSSE envelope (`cosign attest --key` without a bundle), checked by
/// hand: sigstore-verify only takes envelopes inside bundles, and this is
/// the whole check — one signature by `key` over the pre-authentication
/// encoding, then the statement's subject and predicate type.
fn verify_bare(
    shown: &str,
    envelope: &DsseEnvelope,
    subject: &Subject,
    key: &DerPublicKey,
    policy: &Policy,
) -> Result<Verified, AttestationError> {
    let content = SignatureContent::DsseEnvelope(envelope.clone());
    let predicate_type = statement_of(shown, &content, policy.predicate_type.as_deref())?;
    envelope_signature(shown, envelope, key, "--key")?;
    let digest =
        subject_match(&content, subject).ok_or_else(|| AttestationError::DigestMismatch {
            bundle: shown.to_owned(),
            detail: "no in-toto subject has the artifact's digest in an algorithm ontoref \
                     computes (sha256, sha512)"
                .into(),
        })?;
    Ok(Verified {
        verified: true,
        subject_digest: digest,
        predicate_type,
        identity: None,
        signed_at: None,
        transparency_log: false,
        bundles: 1,
        verified_bundles: 1,
    })
}

/// Checks the envelope's one signature over its pre-authentication encoding
/// with `key` (`whose` names it). sigstore-verify makes the same check
/// later; made first, a bad signature is reported as such before the
/// payload is read for its predicate type.
fn envelope_signature(
    shown: &str,
    envelope: &DsseEnvelope,
    key: &DerPublicKey,
    whose: &str,
) -> Result<(), AttestationError> {
    let algorithm = KeyAlgorithm::from_spki(key).map_err(|e| AttestationError::BundleInvalid {
        file: shown.to_owned(),
        detail: format!("{whose} is not a usable public key: {e}"),
    })?;
    sigstore_verify::crypto::verify_signature(
        key,
        &envelope.pae(),
        &envelope.signature.sig,
        algorithm.default_signing_scheme(),
    )
    .map_err(|e| AttestationError::SignatureInvalid {
        bundle: shown.to_owned(),
        detail: format!("the DSSE envelope's signature does not verify with {whose}: {e}"),
    })
}

/// The envelope in `path` when it is a bare DSSE envelope, not a bundle.
fn bare_envelope(path: &Path) -> Result<Option<DsseEnvelope>, AttestationError> {
    let invalid = |detail: String| AttestationError::BundleInvalid {
        file: path.display().to_string(),
        detail,
    };
    let text = fsread::read_text(path, MAX_FILE, Links::Follow)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(None);
    };
    if value.get("mediaType").is_some() || value.get("payloadType").is_none() {
        return Ok(None);
    }
    serde_json::from_value(value).map(Some).map_err(|e| {
        invalid(format!(
            "not a DSSE envelope: {}",
            crate::error::clip(&e.to_string())
        ))
    })
}

/// Reads a PEM public key (`--key`).
pub fn load_key(path: &Path) -> Result<DerPublicKey, AttestationError> {
    let invalid = |detail: String| AttestationError::BundleInvalid {
        file: path.display().to_string(),
        detail,
    };
    let text = fsread::read_text(path, MAX_FILE, Links::Follow)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let key =
        DerPublicKey::from_pem(&text).map_err(|e| invalid(format!("not a PEM public key: {e}")))?;
    KeyAlgorithm::from_spki(&key).map_err(|e| invalid(format!("not a usable public key: {e}")))?;
    Ok(key)
}

/// A trusted root that trusts nothing: key-signed bundles without
/// `--custom-trusted-root` (a log entry or timestamp in them then fails).
fn empty_root() -> Result<TrustedRoot, AttestationError> {
    TrustedRoot::from_json(
        r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}"#,
    )
    .map_err(|e| AttestationError::BundleInvalid {
        file: "(empty trusted root)".into(),
        detail: e.to_string(),
    })
}

/// The earliest verified signing time, RFC 3339.
fn signed_at(result: &sigstore_verify::VerificationResult) -> Option<String> {
    result
        .integrated_time()
        .into_iter()
        .chain(result.verified_timestamps().iter().copied())
        .min()
        .map(|t| t.to_string())
}

/// The digest the bundle binds, as verified: the in-toto subject's (sha256
/// preferred) or the message's sha256.
fn bound_digest(bundle: &Bundle, subject: &Subject) -> String {
    subject_match(&bundle.content, subject)
        .unwrap_or_else(|| subject.display(HashAlgorithm::Sha2256))
}

/// `alg:hex` of the statement subject digest equal to the artifact's.
fn subject_match(content: &SignatureContent, subject: &Subject) -> Option<String> {
    let SignatureContent::DsseEnvelope(env) = content else {
        return None;
    };
    let st: serde_json::Value = serde_json::from_slice(env.payload.as_bytes()).ok()?;
    let subjects = st.get("subject")?.as_array()?;
    for (alg, name) in [
        (HashAlgorithm::Sha2256, "sha256"),
        (HashAlgorithm::Sha2512, "sha512"),
    ] {
        let Some(mine) = subject.hex(alg) else {
            continue;
        };
        if subjects.iter().any(|s| {
            s.pointer(&format!("/digest/{name}"))
                .and_then(|d| d.as_str())
                .is_some_and(|d| d.eq_ignore_ascii_case(&mine))
        }) {
            return Some(format!("{name}:{mine}"));
        }
    }
    None
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

/// The statement's predicate type, checked against `want` (gh's default,
/// [`SLSA_V1`], when `None`); `None` for a message signature, which carries
/// no statement (and fails when a predicate type was asked for).
fn statement(
    shown: &str,
    bundle: &Bundle,
    want: Option<&str>,
) -> Result<Option<String>, AttestationError> {
    statement_of(shown, &bundle.content, want)
}

fn statement_of(
    shown: &str,
    content: &SignatureContent,
    want: Option<&str>,
) -> Result<Option<String>, AttestationError> {
    let mismatch = |detail: String| AttestationError::PredicateMismatch {
        bundle: shown.to_owned(),
        detail,
    };
    let SignatureContent::DsseEnvelope(env) = content else {
        return match want {
            Some(want) => Err(mismatch(format!(
                "a message signature carries no statement, so no predicate type {want}"
            ))),
            None => Ok(None),
        };
    };
    let want = want.unwrap_or(SLSA_V1);
    if env.payload_type != IN_TOTO_PAYLOAD {
        return Err(mismatch(format!(
            "the envelope's payload type is {:?}, not an in-toto statement ({IN_TOTO_PAYLOAD})",
            crate::error::clip(&env.payload_type)
        )));
    }
    let st: serde_json::Value = serde_json::from_slice(env.payload.as_bytes())
        .map_err(|e| mismatch(format!("the payload is not an in-toto statement: {e}")))?;
    let kind = st["_type"].as_str().unwrap_or_default();
    if kind != STATEMENT_V1 && kind != STATEMENT_V01 {
        return Err(mismatch(format!(
            "the statement's _type is {:?}, not {STATEMENT_V1}",
            crate::error::clip(kind)
        )));
    }
    let found = st["predicateType"].as_str().unwrap_or_default();
    if found != want {
        return Err(mismatch(format!(
            "the predicate type is {:?}, not {want} (--predicate-type)",
            crate::error::clip(found)
        )));
    }
    Ok(Some(found.to_owned()))
}

#[cfg(test)]
mod tests {
    //! The real vectors of `shared/fixtures/sigstore/VECTORS.md` §A–§C,
    //! each with its verdict and, for a failure, the check that fails.

    use super::*;
    use std::path::PathBuf;

    fn fx(p: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/sigstore")
            .join(p)
    }

    const TGZ512: &str = "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";
    const B1_512: &str = "sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c";
    const B3_512: &str = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751";
    const GH_ROOT: &str = "trusted_roots/public-good.gh-cli.json";
    const GO_ROOT: &str = "trusted_roots/public-good.sigstore-go.json";
    const PY_ROOT: &str = "trusted_roots/production.sigstore-python.json";

    fn bytes(p: &str) -> Subject {
        Subject::Bytes(std::fs::read(fx(p)).unwrap())
    }

    fn run(
        subject: Subject,
        bundle: &str,
        root: Option<&str>,
        key: Option<&str>,
        policy: Policy,
    ) -> Result<Verified, AttestationError> {
        let bundle = fx(bundle);
        let root = root.map(fx);
        let key = key.map(fx);
        verify(&Request {
            subject,
            bundle: &bundle,
            trusted_root: root.as_deref(),
            key: key.as_deref(),
            policy,
        })
    }

    fn owner(o: &str) -> Policy {
        Policy {
            owner: Some(o.into()),
            ..Policy::default()
        }
    }

    fn repo(r: &str) -> Policy {
        Policy {
            repo: Some(r.into()),
            ..Policy::default()
        }
    }

    fn fails(r: Result<Verified, AttestationError>, code: &str) -> AttestationError {
        let e = r.expect_err(code);
        assert_eq!(e.code(), code, "{e}");
        e
    }

    #[test]
    fn a1_a2_a3_the_npm_provenance_verifies_for_its_owner_and_repo_by_sha512() {
        for bundle in [
            "gh-cli/sigstore-js-2.1.0-bundle.json",
            "gh-cli/sigstore-js-2.1.0_with_2_bundles.jsonl",
            // v0.1: gh refuses it by policy; the crypto is valid and the
            // issue accepts v0.1 to v0.3.
            "gh-cli/sigstore-js-2.1.0-bundle-v0.1.json",
        ] {
            for policy in [owner("sigstore"), repo("sigstore/sigstore-js")] {
                let v = run(
                    Subject::digest(TGZ512).unwrap(),
                    bundle,
                    Some(GH_ROOT),
                    None,
                    policy,
                )
                .unwrap_or_else(|e| panic!("{bundle}: {e}"));
                assert_eq!(v.subject_digest, TGZ512);
                assert_eq!(v.predicate_type.as_deref(), Some(SLSA_V1));
                let id = v.identity.unwrap();
                assert_eq!(
                    id.repo.as_deref(),
                    Some("https://github.com/sigstore/sigstore-js")
                );
                assert_eq!(id.issuer.as_deref(), Some(ACTIONS_ISSUER));
                assert_eq!(
                    id.san.as_deref(),
                    Some(
                        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
                    )
                );
                assert_eq!(v.signed_at.as_deref(), Some("2023-08-29T15:40:23Z"));
                assert!(v.transparency_log);
                let n = if bundle.ends_with(".jsonl") { 2 } else { 1 };
                assert_eq!((v.bundles, v.verified_bundles), (n, n));
            }
        }
    }

    #[test]
    fn a1_fails_for_another_repo_owner_or_artifact() {
        let b = "gh-cli/sigstore-js-2.1.0-bundle.json";
        let e = fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                b,
                Some(GH_ROOT),
                None,
                repo("sigstore/fakerepo"),
            ),
            "attestation-identity-mismatch",
        );
        assert!(e.to_string().contains("expected SourceRepositoryURI to be https://github.com/sigstore/fakerepo, got https://github.com/sigstore/sigstore-js"), "{e}");
        fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                b,
                Some(GH_ROOT),
                None,
                owner("fakeowner"),
            ),
            "attestation-identity-mismatch",
        );
        fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                b,
                Some(GH_ROOT),
                None,
                repo("fakeowner/fakerepo"),
            ),
            "attestation-identity-mismatch",
        );
        fails(
            run(
                bytes("gh-cli/custom-issuer-artifact"),
                b,
                Some(GH_ROOT),
                None,
                owner("sigstore"),
            ),
            "attestation-digest-mismatch",
        );
        // The subject is sha512 only: the tarball's sha256 must not pass.
        let sha256 = "sha256:f0c641fce0310cb43208f4272dc1423153630e44ba8cdc0b5ce8466f724e0eed";
        fails(
            run(
                Subject::digest(sha256).unwrap(),
                b,
                Some(GH_ROOT),
                None,
                owner("sigstore"),
            ),
            "attestation-digest-mismatch",
        );
        // Another predicate type is named as such.
        fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                b,
                Some(GH_ROOT),
                None,
                Policy {
                    predicate_type: Some("https://cyclonedx.org/bom".into()),
                    ..owner("sigstore")
                },
            ),
            "attestation-predicate-mismatch",
        );
        // Offline needs a root.
        fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                b,
                None,
                None,
                owner("sigstore"),
            ),
            "attestation-bundle-invalid",
        );
    }

    #[test]
    fn a4_a_reusable_workflow_verifies_by_signer_workflow_and_fails_for_another() {
        let b = "gh-cli/reusable-workflow-attestation.sigstore.json";
        let a = || {
            Subject::digest(
                "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25",
            )
            .unwrap()
        };
        for w in [
            "github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml",
            "github/artifact-attestations-workflows/.github/workflows/attest.yml",
        ] {
            let policy = Policy {
                signer_workflow: Some(w.into()),
                ..owner("malancas")
            };
            run(a(), b, Some(GH_ROOT), None, policy).unwrap_or_else(|e| panic!("{w}: {e}"));
        }
        run(a(), b, Some(GH_ROOT), None, repo("malancas/attest-demo")).unwrap_err();
        let policy = Policy {
            signer_workflow: Some("foo/bar/.github/workflows/attest.yml".into()),
            ..owner("malancas")
        };
        fails(
            run(a(), b, Some(GH_ROOT), None, policy),
            "attestation-identity-mismatch",
        );
        let policy = Policy {
            san_regex: Some("^https://github.com/github/artifact-attestations-workflows/".into()),
            ..repo("malancas/attest-demo")
        };
        let v = run(a(), b, Some(GH_ROOT), None, policy).unwrap();
        assert!(
            v.subject_digest.starts_with("sha256:49a3aa60"),
            "{}",
            v.subject_digest
        );
    }

    #[test]
    fn a5_a_custom_issuer_needs_its_flag() {
        let b = "gh-cli/custom-issuer.sigstore.json";
        let a = || bytes("gh-cli/custom-issuer-artifact");
        let e = fails(
            run(a(), b, Some(GH_ROOT), None, owner("too-legit")),
            "attestation-identity-mismatch",
        );
        assert!(
            e.to_string()
                .contains("expected Issuer to be https://token.actions.githubusercontent.com"),
            "{e}"
        );
        let policy = Policy {
            issuer: Some("https://token.actions.githubusercontent.com/hammer-time".into()),
            ..repo("too-legit/attest")
        };
        run(a(), b, Some(GH_ROOT), None, policy).unwrap();
    }

    #[test]
    fn a6_a7_a8_bad_signature_foreign_instance_and_truncated_bundles_fail() {
        // A6: the envelope's signature is not the certificate key's (nor the
        // one logged).
        let e = fails(
            run(
                Subject::digest(TGZ512).unwrap(),
                "gh-cli/sigstoreBundle-invalid-signature.json",
                Some(GH_ROOT),
                None,
                Policy {
                    san_regex: Some(".*".into()),
                    issuer: Some("https://github.com/login/oauth".into()),
                    ..Policy::default()
                },
            ),
            "attestation-signature-invalid",
        );
        assert!(
            e.to_string()
                .contains("does not verify with the certificate's key"),
            "{e}"
        );
        let whl = "gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl";
        for root in [GH_ROOT, GO_ROOT, PY_ROOT] {
            let e = run(
                Subject::digest(
                    "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b",
                )
                .unwrap(),
                whl,
                Some(root),
                None,
                repo("actions/attest-demo"),
            )
            .unwrap_err();
            assert!(
                ["attestation-cert-untrusted", "attestation-tlog-invalid"].contains(&e.code()),
                "{root}: {e}"
            );
        }
        for b in [
            "gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl",
            "gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl",
        ] {
            fails(
                run(
                    Subject::digest(TGZ512).unwrap(),
                    b,
                    Some(GH_ROOT),
                    None,
                    repo("actions/attest-demo"),
                ),
                "attestation-bundle-invalid",
            );
        }
    }

    #[test]
    fn b_sigstore_go_vectors() {
        let sigjs = Policy {
            san_regex: Some("^https://github.com/sigstore/sigstore-js/".into()),
            ..Policy::default()
        };
        let b1 = "sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json";
        let v = run(
            Subject::digest(B1_512).unwrap(),
            b1,
            Some(GO_ROOT),
            None,
            sigjs.clone(),
        )
        .unwrap();
        assert_eq!(v.subject_digest, B1_512);
        let bad = Policy {
            san: Some("BadSANValue".into()),
            ..Policy::default()
        };
        fails(
            run(
                Subject::digest(B1_512).unwrap(),
                b1,
                Some(GO_ROOT),
                None,
                bad,
            ),
            "attestation-identity-mismatch",
        );
        let flipped = B1_512.replacen("sha512:4", "sha512:5", 1);
        fails(
            run(
                Subject::digest(&flipped).unwrap(),
                b1,
                Some(GO_ROOT),
                None,
                sigjs.clone(),
            ),
            "attestation-digest-mismatch",
        );
        // B2: two DSSE signatures is a malformed bundle.
        fails(
            run(
                Subject::digest(B3_512).unwrap(),
                "sigstore-go/dsse-2sigs.sigstore.json",
                Some(GO_ROOT),
                None,
                Policy::default(),
            ),
            "attestation-bundle-invalid",
        );
        // B3: SLSA v0.2 in a v0.1 statement.
        let v02 = Policy {
            predicate_type: Some("https://slsa.dev/provenance/v0.2".into()),
            san: Some("https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main".into()),
            ..Policy::default()
        };
        run(
            Subject::digest(B3_512).unwrap(),
            "sigstore-go/bundle-provenance.json",
            Some(GO_ROOT),
            None,
            v02.clone(),
        )
        .unwrap();
        fails(
            run(
                Subject::digest(B3_512).unwrap(),
                "sigstore-go/bundle-provenance.json",
                Some(GO_ROOT),
                None,
                sigjs,
            ),
            "attestation-predicate-mismatch",
        );
        // B4: a key-signed npm publish attestation, logged.
        let publish = Policy {
            predicate_type: Some(
                "https://github.com/npm/attestation/tree/main/specs/publish/v0.1".into(),
            ),
            ..Policy::default()
        };
        let v = run(
            Subject::digest(B3_512).unwrap(),
            "sigstore-go/bundle-publish.json",
            Some(GO_ROOT),
            Some("sigstore-go/publish_key.pub"),
            publish.clone(),
        )
        .unwrap();
        assert!(v.transparency_log && v.identity.is_none());
        fails(
            run(
                Subject::digest(B3_512).unwrap(),
                "sigstore-go/bundle-publish.json",
                Some(GO_ROOT),
                Some("cosign-simple-signing/cosign.pub"),
                publish,
            ),
            "attestation-signature-invalid",
        );
    }

    #[test]
    fn c1_a_message_signature_verifies_by_repo_and_fails_for_another() {
        let b = "sigstore-python/bundle_v3_github.whl.sigstore";
        let a = || {
            Subject::digest(
                "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
            )
            .unwrap()
        };
        for root in [GH_ROOT, GO_ROOT, PY_ROOT] {
            let v = run(a(), b, Some(root), None, repo("trailofbits/rfc8785.py")).unwrap();
            assert_eq!(v.predicate_type, None);
            assert!(
                v.subject_digest.starts_with("sha256:c4e92e9e"),
                "{}",
                v.subject_digest
            );
        }
        fails(
            run(a(), b, Some(PY_ROOT), None, repo("trailofbits/other")),
            "attestation-identity-mismatch",
        );
        let slsa = Policy {
            predicate_type: Some(SLSA_V1.into()),
            ..repo("trailofbits/rfc8785.py")
        };
        fails(
            run(a(), b, Some(PY_ROOT), None, slsa),
            "attestation-predicate-mismatch",
        );
    }
}
