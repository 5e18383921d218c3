//! The signing half of [`cosign`](super::cosign): cosign private keys and
//! key-pair ("simple signing") signatures, as `cosign sign --key K` makes
//! them for the legacy `.sig` layout.
//!
//! This module owns reading a private key ([`SigningKey::from_pem`]: plain
//! PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` PEM, and cosign's own
//! `ENCRYPTED SIGSTORE PRIVATE KEY` / older `ENCRYPTED COSIGN PRIVATE KEY`,
//! whose PEM body is go-securesystemslib's `encrypted` JSON envelope: scrypt
//! from the password, then NaCl secretbox over the key's PKCS#8 DER), the
//! payload cosign signs ([`payload`]), and the signature that goes in the
//! layer annotation ([`SigningKey::sign`]). Only P-256, the key type of
//! `cosign generate-key-pair`. Key material lives in zeroized buffers and is
//! never formatted: errors name the file and what is wrong, never a password
//! or key bytes.

use std::fmt;

use base64::Engine as _;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Key, Nonce, Tag, XSalsa20Poly1305};
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Signer;
use p256::pkcs8::DecodePrivateKey;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::registry::cosign::{CosignError, PublicKey};

/// The PEM labels of cosign's encrypted private keys: the current one, and
/// the one cosign wrote before (still read by cosign).
const ENCRYPTED_LABELS: [&str; 2] = [
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];

/// The envelope's only KDF and cipher (go-securesystemslib `encrypted`).
const KDF_SCRYPT: &str = "scrypt";
const CIPHER_SECRETBOX: &str = "nacl/secretbox";

/// Bounds on the scrypt parameters a key file may ask for, so that a hostile
/// file cannot cost minutes or GiBs. cosign writes N = 2^15, 2^16 or 2^17
/// with r = 8, p = 1 (128 MiB and 2^20 block mixes at most); we allow twice
/// that memory and four times that work.
const MAX_LOG_N: u32 = 20;
const MAX_R: u64 = 32;
const MAX_P: u64 = 16;
/// scrypt's memory, 128·N·r bytes.
const MAX_MEMORY: u64 = 256 << 20;
/// scrypt's work, N·r·p.
const MAX_WORK: u64 = 1 << 22;

/// The Poly1305 tag before the secretbox ciphertext.
const TAG_LEN: usize = 16;
/// The XSalsa20 nonce.
const NONCE_LEN: usize = 24;
/// Below this many plaintext bytes there is no P-256 PKCS#8 key (the
/// smallest is 67 bytes; this leaves a margin). Secretbox is a stream
/// cipher, so the plaintext is as long as the ciphertext less the tag: a
/// shorter ciphertext is a cut or damaged file, told apart from a wrong
/// password without deriving anything.
const MIN_KEY_LEN: usize = 48;

/// A P-256 private key to sign with. The scalar is zeroized on drop
/// (p256's `SigningKey` does it); `Debug` shows only the fingerprint.
pub struct SigningKey {
    key: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`
    /// (an `EC PARAMETERS` block before it is skipped), or cosign's
    /// `ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE KEY`,
    /// opened with `password` (`Some(b"")` for a key made with an empty
    /// one). `path` names the file in errors.
    ///
    /// Errors: [`CosignError::KeyInvalid`] for anything malformed, not P-256,
    /// or asking scrypt for more than the bounds allow;
    /// [`CosignError::PasswordMissing`] for an encrypted key and no password;
    /// [`CosignError::PasswordWrong`] when it does not open.
    pub fn from_pem(
        text: &str,
        path: &str,
        password: Option<&[u8]>,
    ) -> Result<SigningKey, CosignError> {
        let invalid = |detail: String| CosignError::KeyInvalid {
            path: path.to_owned(),
            detail,
        };
        let (label, der) = p256::pkcs8::der::pem::decode_vec(key_block(text).as_bytes())
            .map_err(|e| invalid(format!("not a PEM private key: {e}")))?;
        let der = Zeroizing::new(der);
        let key = match label {
            "PRIVATE KEY" => from_pkcs8(&der, path)?,
            "EC PRIVATE KEY" => {
                let secret = p256::SecretKey::from_sec1_der(&der)
                    .map_err(|_| invalid("not a P-256 SEC1 `EC PRIVATE KEY`".to_owned()))?;
                p256::ecdsa::SigningKey::from(&secret)
            }
            label if ENCRYPTED_LABELS.contains(&label) => {
                let plaintext = open_envelope(&der, path, password)?;
                from_pkcs8(&plaintext, path)?
            }
            label => {
                return Err(invalid(format!(
                    "a `{}` PEM block is not a private key cosign signs with (expected `{}`, \
                     `PRIVATE KEY` or `EC PRIVATE KEY`)",
                    crate::echo::clip(label),
                    ENCRYPTED_LABELS[0]
                )));
            }
        };
        let public = PublicKey::from_verifying_key(*key.verifying_key(), path)?;
        Ok(SigningKey { key, public })
    }

    /// The public key (what `cosign.pub` holds), to verify with.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The public key's fingerprint, `sha256:<hex>` of its DER
    /// (SubjectPublicKeyInfo) encoding, as [`PublicKey::fingerprint`].
    pub fn fingerprint(&self) -> &str {
        self.public.fingerprint()
    }

    /// Signs `payload` (the exact bytes pushed as the layer): ECDSA P-256
    /// over its SHA-256, deterministic (RFC 6979), ASN.1 DER, base64 — the
    /// value of the `dev.cosignproject.cosign/signature` annotation.
    pub fn sign(&self, payload: &[u8]) -> String {
        let signature: Signature = self.key.sign(payload);
        base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes())
    }
}

/// The simple-signing payload cosign signs for a manifest, byte for byte as
/// cosign's `payload.Cosign` marshals it (Go's `encoding/json`, no
/// annotations): `{"critical":{"identity":{"docker-reference":…},"image":
/// {"docker-manifest-digest":…},"type":"cosign container image
/// signature"},"optional":null}`. cosign puts the repository (no tag, no
/// digest) in `docker_reference`; `digest` is `sha256:<hex>`.
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    let mut out = String::with_capacity(200 + docker_reference.len() + digest.len());
    out.push_str(r#"{"critical":{"identity":{"docker-reference":"#);
    push_go_json_string(&mut out, docker_reference);
    out.push_str(r#"},"image":{"docker-manifest-digest":"#);
    push_go_json_string(&mut out, digest);
    out.push_str(r#"},"type":"cosign container image signature"},"optional":null}"#);
    out.into_bytes()
}

/// A JSON string as Go's `json.Marshal` writes it: `"` and `\` escaped,
/// `\b \f \n \r \t` short, other controls and (HTML escaping, on by
/// default) `<`, `>`, `&` as `\u00xx`, and U+2028/U+2029 as `\u2028`/`\u2029`.
fn push_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The first PEM block of `text` that is not `EC PARAMETERS` (which
/// `openssl ecparam -genkey` writes before the key); what follows it is
/// ignored, as Go's `pem.Decode` does. An unterminated block is returned
/// as is, for the decoder to name what is wrong.
fn key_block(text: &str) -> &str {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    const DASHES: &str = "-----";
    let mut rest = text;
    loop {
        let Some(begin) = rest.find(BEGIN) else {
            return rest.trim();
        };
        let from_begin = &rest[begin..];
        let Some(end) = from_begin.find(END) else {
            return from_begin.trim_end();
        };
        let after_end = end + END.len();
        let Some(close) = from_begin[after_end..].find(DASHES) else {
            return from_begin.trim_end();
        };
        let block = &from_begin[..after_end + close + DASHES.len()];
        if !block.starts_with("-----BEGIN EC PARAMETERS-----") {
            return block;
        }
        rest = &from_begin[block.len()..];
    }
}

/// A P-256 key from PKCS#8 DER.
fn from_pkcs8(der: &[u8], path: &str) -> Result<p256::ecdsa::SigningKey, CosignError> {
    p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| CosignError::KeyInvalid {
        path: path.to_owned(),
        detail: format!("not a P-256 PKCS#8 private key: {e}"),
    })
}

/// Opens go-securesystemslib's `encrypted` envelope (the PEM body of an
/// encrypted cosign key): `{"kdf":{"name":"scrypt","params":{"N","r","p"},
/// "salt"},"cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}`, byte
/// strings in padded standard base64. The whole envelope is checked before
/// the password is asked for, and the scrypt bounds before any work.
fn open_envelope(
    json: &[u8],
    path: &str,
    password: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, CosignError> {
    let invalid = |detail: String| CosignError::KeyInvalid {
        path: path.to_owned(),
        detail,
    };
    // Parsed as a Value, so that no serde message can quote a field's value.
    let envelope: Value = serde_json::from_slice(json).map_err(|e| {
        invalid(format!(
            "the encrypted key's JSON does not parse (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let kdf = text_at(&envelope, &["kdf", "name"]).map_err(&invalid)?;
    if kdf != KDF_SCRYPT {
        return Err(invalid(format!(
            "unknown key derivation `{}` (cosign writes `{KDF_SCRYPT}`)",
            crate::echo::clip(kdf)
        )));
    }
    let cipher = text_at(&envelope, &["cipher", "name"]).map_err(&invalid)?;
    if cipher != CIPHER_SECRETBOX {
        return Err(invalid(format!(
            "unknown cipher `{}` (cosign writes `{CIPHER_SECRETBOX}`)",
            crate::echo::clip(cipher)
        )));
    }
    let n = number_at(&envelope, &["kdf", "params", "N"]).map_err(&invalid)?;
    let r = number_at(&envelope, &["kdf", "params", "r"]).map_err(&invalid)?;
    let p = number_at(&envelope, &["kdf", "params", "p"]).map_err(&invalid)?;
    let params = scrypt_params(n, r, p).map_err(&invalid)?;
    let salt = bytes_at(&envelope, &["kdf", "salt"]).map_err(&invalid)?;
    let nonce = bytes_at(&envelope, &["cipher", "nonce"]).map_err(&invalid)?;
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce.as_slice()).map_err(|_| {
        invalid(format!(
            "the nonce is {} bytes, not {NONCE_LEN}",
            nonce.len()
        ))
    })?;
    let ciphertext = bytes_at(&envelope, &["ciphertext"]).map_err(&invalid)?;
    if ciphertext.len() < TAG_LEN + MIN_KEY_LEN {
        return Err(invalid(format!(
            "the ciphertext is {} bytes, too short to hold a P-256 private key (the file is cut \
             or damaged)",
            ciphertext.len()
        )));
    }
    let password = password.ok_or_else(|| CosignError::PasswordMissing {
        path: path.to_owned(),
    })?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, &salt, &params, key.as_mut_slice())
        .map_err(|e| invalid(format!("scrypt: {e}")))?;
    let (tag, sealed) = ciphertext.split_at(TAG_LEN);
    let mut plaintext = Zeroizing::new(sealed.to_vec());
    XSalsa20Poly1305::new(Key::from_slice(key.as_slice()))
        .decrypt_in_place_detached(
            &Nonce::from(nonce),
            b"",
            plaintext.as_mut_slice(),
            Tag::from_slice(tag),
        )
        .map_err(|_| CosignError::PasswordWrong {
            path: path.to_owned(),
        })?;
    Ok(plaintext)
}

/// scrypt's parameters, refused outside the bounds (before any work).
fn scrypt_params(n: u64, r: u64, p: u64) -> Result<scrypt::Params, String> {
    let refuse = |why: &str| {
        Err(format!(
            "its scrypt parameters N={n}, r={r}, p={p} are refused: {why} (accepted: N a power of \
             two up to 2^{MAX_LOG_N}, r up to {MAX_R}, p up to {MAX_P}, 128·N·r up to {} MiB, \
             N·r·p up to 2^{}; cosign writes N=32768 to 131072, r=8, p=1)",
            MAX_MEMORY >> 20,
            MAX_WORK.trailing_zeros()
        ))
    };
    if n < 2 || !n.is_power_of_two() {
        return refuse("N is not a power of two above 1");
    }
    let log_n = n.trailing_zeros();
    if log_n > MAX_LOG_N || r == 0 || r > MAX_R || p == 0 || p > MAX_P {
        return refuse("out of bounds");
    }
    // No overflow: N ≤ 2^20, r ≤ 32, p ≤ 16.
    if 128 * n * r > MAX_MEMORY {
        return refuse("too much memory");
    }
    if n * r * p > MAX_WORK {
        return refuse("too much work");
    }
    // In bounds, these fit; scrypt checks the rest (N < 2^(16·r)).
    let (log_n, r, p) = (log_n as u8, r as u32, p as u32);
    scrypt::Params::new(log_n, r, p, 32).or_else(|e| refuse(&e.to_string()))
}

/// The value at `path` in the envelope, or why not.
fn field_at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v Value, String> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .ok_or_else(|| format!("the encrypted key has no `{}`", path.join(".")))
}

fn text_at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v str, String> {
    field_at(value, path)?
        .as_str()
        .ok_or_else(|| format!("the encrypted key's `{}` is not a string", path.join(".")))
}

fn number_at(value: &Value, path: &[&str]) -> Result<u64, String> {
    field_at(value, path)?.as_u64().ok_or_else(|| {
        format!(
            "the encrypted key's `{}` is not a non-negative integer",
            path.join(".")
        )
    })
}

fn bytes_at(value: &Value, path: &[&str]) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text_at(value, path)?)
        .map_err(|e| {
            format!(
                "the encrypted key's `{}` is not base64: {e}",
                path.join(".")
            )
        })
}

#[cfg(test)]
mod tests {
    //! Keys, encrypted keys and verification come from an independent
    //! implementation: Python's `cryptography` (P-256 keys in PKCS#8 and SEC1,
    //! ECDSA verification), `hashlib.scrypt` and PyNaCl's `SecretBox` (the
    //! encrypted envelope, written as go-securesystemslib writes it). Python
    //! is `target/pyenv` (scripts/test.sh makes it from
    //! tests/python/requirements.txt), else `python3`. Generated keys use a
    //! small scrypt N to keep the tests fast.
    use std::io::Write as _;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use p256::pkcs8::der::pem::{self, LineEnding};
    use serde_json::json;

    use super::*;
    use crate::registry::cosign::{self, SIGNATURE_ANNOTATION};

    /// The reference: `make` (a fresh P-256 key as PKCS#8, SEC1 and SPKI
    /// PEM, its scalar, a P-384 key, and the key encrypted as asked) and
    /// `verify` (ECDSA P-256 SHA-256 DER signatures).
    const REFERENCE: &str = r#"
import base64, hashlib, json, os, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
import nacl.secret

def b64(b):
    return base64.b64encode(b).decode()

def pem(label, der):
    body = b64(der)
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, lines, label)

def encrypt(plaintext, password, n, r, p, label):
    salt = os.urandom(32)
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 << 20, dklen=32)
    nonce = os.urandom(24)
    sealed = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext  # tag || box
    envelope = {"kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b64(salt)},
                "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
                "ciphertext": b64(sealed)}
    return pem(label, json.dumps(envelope, separators=(",", ":")).encode())

req = json.load(sys.stdin)
if req["op"] == "make":
    k = ec.generate_private_key(ec.SECP256R1())
    der = {"pkcs8": k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()),
           "sec1": k.private_bytes(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL,
                                   s.NoEncryption())}
    out = {
        "pkcs8": k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode(),
        "sec1": k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL,
                                s.NoEncryption()).decode(),
        "public": k.public_key().public_bytes(s.Encoding.PEM,
                                              s.PublicFormat.SubjectPublicKeyInfo).decode(),
        "scalar": "%064x" % k.private_numbers().private_value,
        "p384": ec.generate_private_key(ec.SECP384R1()).private_bytes(
            s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode(),
        "encrypted": [encrypt(der[e.get("inner", "pkcs8")], e["password"].encode(), e["N"], e["r"],
                              e["p"], e["label"]) for e in req.get("encrypt", [])],
    }
elif req["op"] == "verify":
    public = s.load_pem_public_key(req["public"].encode())
    out = []
    for item in req["items"]:
        try:
            public.verify(base64.b64decode(item["sig"]), base64.b64decode(item["payload"]),
                          ec.ECDSA(hashes.SHA256()))
            out.append(True)
        except InvalidSignature:
            out.append(False)
json.dump(out, sys.stdout)
"#;

    const SIGSTORE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
    const COSIGN: &str = "ENCRYPTED COSIGN PRIVATE KEY";
    const PASSWORD: &str = "correct horse ☃ battery staple";
    const DIGEST: &str = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";
    const REFERENCE_NAME: &str = "127.0.0.1:5000/src-vault/acme";

    fn python() -> PathBuf {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python");
        if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        }
    }

    fn reference(request: Value) -> Value {
        let mut child = Command::new(python())
            .args(["-c", REFERENCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the Python reference failed; it needs `cryptography` and `PyNaCl` \
             (tests/python/requirements.txt, installed in target/pyenv by scripts/test.sh):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A fresh key, and the key encrypted as each of `encrypt` asks.
    fn make(encrypt: Value) -> Value {
        reference(json!({"op": "make", "encrypt": encrypt}))
    }

    fn encrypted(label: &str, password: &str) -> Value {
        json!({"label": label, "password": password, "N": 1024, "r": 8, "p": 1})
    }

    /// Whether Python verifies each (payload, signature) with `public`.
    fn python_verifies(public: &str, items: &[(&[u8], &str)]) -> Vec<bool> {
        let items: Vec<Value> = items
            .iter()
            .map(|(payload, sig)| {
                json!({"payload": base64::engine::general_purpose::STANDARD.encode(payload), "sig": sig})
            })
            .collect();
        let out = reference(json!({"op": "verify", "public": public, "items": items}));
        serde_json::from_value(out).unwrap()
    }

    fn text(v: &Value) -> &str {
        v.as_str().unwrap()
    }

    /// The PEM `text` with its envelope JSON changed by `edit`.
    fn edited(text: &str, edit: impl FnOnce(&mut Value)) -> String {
        let (label, body) = pem::decode_vec(text.trim().as_bytes()).unwrap();
        let mut envelope: Value = serde_json::from_slice(&body).unwrap();
        edit(&mut envelope);
        pem::encode_string(label, LineEnding::LF, envelope.to_string().as_bytes()).unwrap()
    }

    /// An envelope made here, with placeholder bytes of the right lengths.
    fn envelope(n: u64, r: u64, p: u64) -> String {
        let b64 = |len: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; len]);
        let json = json!({
            "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b64(32)},
            "cipher": {"name": "nacl/secretbox", "nonce": b64(NONCE_LEN)},
            "ciphertext": b64(154),
        });
        pem::encode_string(SIGSTORE, LineEnding::LF, json.to_string().as_bytes()).unwrap()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/sigstore/cosign-simple-signing")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; the tests read ../shared/fixtures beside the checkout",
                path.display()
            )
        })
    }

    #[test]
    fn pkcs8_and_sec1_keys_from_python_sign_what_python_and_cosign_verify() {
        let made = make(json!([]));
        let public = PublicKey::from_pem(text(&made["public"]), "cosign.pub").unwrap();
        let payload = payload(REFERENCE_NAME, DIGEST);
        let mut signatures = Vec::new();
        for format in ["pkcs8", "sec1"] {
            let key = SigningKey::from_pem(text(&made[format]), "cosign.key", None).unwrap();
            assert_eq!(key.fingerprint(), public.fingerprint(), "{format}");
            assert_eq!(key.public_key().fingerprint(), public.fingerprint());
            let sig = key.sign(&payload);
            // RFC 6979: the same key and payload, the same signature.
            assert_eq!(sig, key.sign(&payload));
            let der = base64::engine::general_purpose::STANDARD
                .decode(&sig)
                .unwrap();
            assert!(Signature::from_der(&der).is_ok(), "{format}: DER");
            let verified = cosign::verify(&public, &payload, &sig, DIGEST, "r").unwrap();
            assert_eq!(verified.docker_reference, REFERENCE_NAME);
            assert_eq!(verified.signed_by, public.fingerprint());
            signatures.push(sig);
        }
        let mut tampered = payload.clone();
        tampered.insert(1, b' ');
        assert_eq!(
            python_verifies(
                text(&made["public"]),
                &[
                    (&payload, &signatures[0]),
                    (&payload, &signatures[1]),
                    (&tampered, &signatures[0]),
                ]
            ),
            [true, true, false],
            "Python verifies our signatures, and not over other bytes"
        );
    }

    #[test]
    fn encrypted_keys_from_an_independent_writer_open_with_their_password() {
        let made = make(json!([
            encrypted(SIGSTORE, PASSWORD),
            encrypted(COSIGN, PASSWORD),
            encrypted(SIGSTORE, ""),
        ]));
        let public = PublicKey::from_pem(text(&made["public"]), "cosign.pub").unwrap();
        let payload = payload(REFERENCE_NAME, DIGEST);
        let passwords = [PASSWORD, PASSWORD, ""];
        let mut signatures = Vec::new();
        for (pem, password) in made["encrypted"].as_array().unwrap().iter().zip(passwords) {
            let key =
                SigningKey::from_pem(text(pem), "cosign.key", Some(password.as_bytes())).unwrap();
            assert_eq!(key.fingerprint(), public.fingerprint());
            let sig = key.sign(&payload);
            assert!(cosign::verify(&public, &payload, &sig, DIGEST, "r").is_ok());
            signatures.push(sig);
        }
        let items: Vec<(&[u8], &str)> = signatures
            .iter()
            .map(|s| (payload.as_slice(), s.as_str()))
            .collect();
        assert_eq!(
            python_verifies(text(&made["public"]), &items),
            [true, true, true]
        );
    }

    #[test]
    fn a_wrong_password_and_no_password_are_told_apart() {
        let made = make(json!([
            encrypted(SIGSTORE, PASSWORD),
            encrypted(SIGSTORE, "")
        ]));
        let [key, empty] = [&made["encrypted"][0], &made["encrypted"][1]].map(text);
        for (pem, wrong) in [
            (key, "correct horse ☃ battery stapler"),
            (key, ""),
            (empty, " "),
        ] {
            let err =
                SigningKey::from_pem(pem, "keys/cosign.key", Some(wrong.as_bytes())).unwrap_err();
            assert_eq!(err.code(), "cosign-password-wrong", "{err}");
            assert!(err.to_string().contains("keys/cosign.key"), "{err}");
            assert!(err.hint().contains("cosign_password"));
        }
        for pem in [key, empty] {
            let err = SigningKey::from_pem(pem, "keys/cosign.key", None).unwrap_err();
            assert_eq!(err.code(), "cosign-password-missing", "{err}");
            assert!(err.hint().contains("cosign_password"));
        }
    }

    #[test]
    fn scrypt_parameters_beyond_the_bounds_are_refused_before_any_work() {
        let started = Instant::now();
        for password in [Some(PASSWORD.as_bytes()), None] {
            let err = SigningKey::from_pem(&envelope(1 << 30, 8, 1), "k", password).unwrap_err();
            assert_eq!(err.code(), "cosign-key-invalid", "{err}");
            assert!(err.to_string().contains("N=1073741824"), "{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        // cosign's three parameter sets, and the corners of the bounds.
        for (n, r, p) in [
            (1 << 15, 8, 1),
            (1 << 16, 8, 1),
            (1 << 17, 8, 1),
            (1 << 20, 2, 2),
            (1 << 17, 16, 2),
            (1 << 10, 32, 16),
        ] {
            assert!(scrypt_params(n, r, p).is_ok(), "N={n} r={r} p={p}");
        }
        for (n, r, p) in [
            (1 << 21, 1, 1),  // N
            (1 << 20, 1, 1),  // scrypt: N < 2^(16·r)
            (1 << 20, 8, 1),  // 1 GiB
            (1 << 17, 8, 8),  // 2^23 mixes
            (1 << 10, 33, 1), // r
            (1 << 10, 8, 17), // p
            (1 << 10, 0, 1),  // r = 0
            (1 << 10, 8, 0),  // p = 0
            (1000, 8, 1),     // not a power of two
            (1, 8, 1),        // N = 1
            (0, 8, 1),        // N = 0
            (u64::MAX, 8, 1), // no overflow
            (1 << 10, u64::MAX, u64::MAX),
        ] {
            assert!(scrypt_params(n, r, p).is_err(), "N={n} r={r} p={p}");
        }
    }

    #[test]
    fn a_cut_or_malformed_encrypted_key_is_invalid_whatever_the_password() {
        let made = make(json!([encrypted(SIGSTORE, PASSWORD), {
            "label": SIGSTORE, "password": PASSWORD, "N": 1024, "r": 8, "p": 1, "inner": "sec1"
        }]));
        let good = text(&made["encrypted"][0]);
        let b64 = |len: usize| base64::engine::general_purpose::STANDARD.encode(vec![1u8; len]);
        let cases: Vec<(String, &str)> = vec![
            (
                edited(good, |e| {
                    let ct = e["ciphertext"].as_str().unwrap();
                    let cut = base64::engine::general_purpose::STANDARD
                        .decode(ct)
                        .unwrap()[..40]
                        .to_vec();
                    e["ciphertext"] = base64::engine::general_purpose::STANDARD.encode(cut).into();
                }),
                "too short",
            ),
            (edited(good, |e| e["ciphertext"] = "".into()), "too short"),
            (
                edited(good, |e| e["cipher"]["nonce"] = b64(12).into()),
                "nonce",
            ),
            (
                edited(good, |e| e["kdf"]["name"] = "pbkdf2".into()),
                "pbkdf2",
            ),
            (
                edited(good, |e| e["cipher"]["name"] = "aes-gcm".into()),
                "aes-gcm",
            ),
            (
                edited(good, |e| e["kdf"]["params"]["N"] = "32768".into()),
                "kdf.params.N",
            ),
            (
                edited(good, |e| e["kdf"]["params"]["r"] = (-8).into()),
                "kdf.params.r",
            ),
            (
                edited(good, |e| e["kdf"]["salt"] = "not base64!".into()),
                "kdf.salt",
            ),
            (
                edited(good, |e| {
                    e.as_object_mut().unwrap().remove("ciphertext");
                }),
                "no `ciphertext`",
            ),
            (
                pem::encode_string(SIGSTORE, LineEnding::LF, b"{\"kdf\": ").unwrap(),
                "does not parse",
            ),
            (good.replacen("KEY-----\n", "KEY-----\n!", 1), "PEM"),
            (good[..good.len() / 2].to_owned(), "PEM"),
        ];
        for (pem, says) in &cases {
            for password in [Some(PASSWORD.as_bytes()), None] {
                let err = SigningKey::from_pem(pem, "cosign.key", password).unwrap_err();
                assert_eq!(err.code(), "cosign-key-invalid", "{says}: {err}");
                assert!(err.to_string().contains(says), "{says}: {err}");
            }
        }
        // A SEC1 key inside the envelope is refused, as cosign refuses it.
        let err = SigningKey::from_pem(text(&made["encrypted"][1]), "k", Some(PASSWORD.as_bytes()))
            .unwrap_err();
        assert_eq!(err.code(), "cosign-key-invalid", "{err}");
        assert!(err.to_string().contains("PKCS#8"), "{err}");
    }

    #[test]
    fn keys_that_are_not_p256_private_keys_are_invalid() {
        let made = make(json!([]));
        for (pem, says) in [
            (text(&made["p384"]), "PKCS#8"),
            (text(&made["public"]), "`PUBLIC KEY`"),
            ("", "PEM"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "PKCS#8",
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                "SEC1",
            ),
        ] {
            let err = SigningKey::from_pem(pem, "cosign.key", None).unwrap_err();
            assert_eq!(err.code(), "cosign-key-invalid", "{err}");
            assert!(err.to_string().contains(says), "{says}: {err}");
            assert!(err.to_string().contains("cosign.key"), "{err}");
        }
    }

    #[test]
    fn ec_parameters_before_the_key_and_blocks_after_it_are_skipped() {
        let made = make(json!([]));
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}{}",
            text(&made["sec1"]),
            text(&made["public"])
        )
        .replace('\n', "\r\n");
        let key = SigningKey::from_pem(&with_params, "k", None).unwrap();
        let public = PublicKey::from_pem(text(&made["public"]), "cosign.pub").unwrap();
        assert_eq!(key.fingerprint(), public.fingerprint());
        assert_eq!(key_block("no pem at all"), "no pem at all");
        assert_eq!(
            key_block("x -----BEGIN A-----\nAA\n"),
            "-----BEGIN A-----\nAA"
        );
    }

    #[test]
    fn nothing_printed_holds_the_password_or_the_private_key() {
        let made = make(json!([encrypted(SIGSTORE, PASSWORD)]));
        let scalar = text(&made["scalar"]).to_owned();
        let scalar_bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&scalar[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&scalar_bytes);
        let pkcs8_body: Vec<&str> = text(&made["pkcs8"])
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let mut secrets = vec![
            PASSWORD.to_owned(),
            scalar.clone(),
            scalar.to_uppercase(),
            b64[..20].to_owned(),
            format!("{:?}", &scalar_bytes[..8]),
        ];
        secrets.extend(pkcs8_body.iter().map(|l| l.to_string()));

        let good = text(&made["encrypted"][0]);
        let key = SigningKey::from_pem(good, "k", Some(PASSWORD.as_bytes())).unwrap();
        let mut printed = vec![format!("{key:?}"), format!("{key:#?}")];
        assert!(printed[0].contains(key.fingerprint()), "{}", printed[0]);
        let errors = [
            SigningKey::from_pem(good, "k", Some(format!("{PASSWORD}!").as_bytes())),
            SigningKey::from_pem(good, "k", None),
            SigningKey::from_pem(
                &edited(good, |e| e["kdf"]["params"]["N"] = (1u64 << 30).into()),
                "k",
                Some(PASSWORD.as_bytes()),
            ),
            SigningKey::from_pem(
                &text(&made["pkcs8"]).replace("-----END", "AAAA\n-----END"),
                "k",
                Some(PASSWORD.as_bytes()),
            ),
            SigningKey::from_pem(&text(&made["sec1"])[..150], "k", None),
        ];
        for result in errors {
            let err = result.unwrap_err();
            printed.extend([err.to_string(), format!("{err:?}"), err.hint().to_owned()]);
        }
        for shown in &printed {
            for secret in &secrets {
                assert!(!shown.contains(secret.as_str()), "{shown:?} shows a secret");
            }
        }
    }

    #[test]
    fn the_payload_is_byte_for_byte_what_cosign_wrote() {
        let written = fixture("extracted/dir-img-cosign-valid.payload.json");
        // And the same bytes as the layer of the signature-1 file.
        let layer = fixture("dir-img-cosign-valid/signature-1");
        let layer: Value =
            serde_json::from_slice(layer.strip_prefix(b"\x00sigstore-json\n").unwrap()).unwrap();
        let stored = base64::engine::general_purpose::STANDARD
            .decode(text(&layer["payload"]))
            .unwrap();
        assert_eq!(stored, written);
        assert!(layer["annotations"][SIGNATURE_ANNOTATION].is_string());
        let ours = payload(
            "192.168.64.2:5000/cosign-signed-single-sample",
            "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00",
        );
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(written).unwrap()
        );
    }

    #[test]
    fn payload_strings_are_escaped_as_go_escapes_them() {
        let odd = "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}<>&\u{7f}é\u{2028}\u{2029}😀/";
        let bytes = payload(odd, "sha256:00");
        let written = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            written
                .contains(r#""docker-reference":"a\"b\\c\b\f\n\r\t\u0001\u001f\u003c\u003e\u0026"#),
            "{written}"
        );
        assert!(written.contains("\u{7f}é\\u2028\\u2029😀/\""), "{written}");
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["critical"]["identity"]["docker-reference"], odd);
        assert_eq!(
            parsed["critical"]["image"]["docker-manifest-digest"],
            "sha256:00"
        );
        assert_eq!(parsed["optional"], Value::Null);
    }
}
