//! SOPS YAML files whose data key is wrapped with age (X25519): parsing, decryption,
//! rewrapping the data key for a new set of recipients (`sops updatekeys`, for
//! `ontoref secrets rekey`) and, for demos and tests, encryption.
//!
//! This module owns the SOPS format as the `sops` tool writes it for YAML: the tree of
//! `ENC[AES256_GCM,…]` values (AES-256-GCM with a 32-byte nonce and the key path as
//! additional data), the `sops` metadata mapping, the encryption rules, the SHA-512 MAC and
//! the age-wrapped 32-byte data key (one armored age file per recipient). Decryption checks
//! every value's authentication tag and the MAC before any plaintext is returned, and wipes
//! the data key and the decrypted strings when they are dropped.
//!
//! Refused by design ([`SopsError::is_unsupported`]): Shamir key groups, files whose only
//! keys are post-quantum age recipients or other backends (KMS, PGP, …), the comment-based
//! rules, YAML tags and the `bytes`/`time` value types.
//!
//! Properties of the format worth knowing: the MAC is keyed by the data key only, so anyone
//! holding a recipient's *public* key can write a file that verifies (it is not a signature);
//! and the `type:` of an `ENC[…]` value is not authenticated, so it can be changed without the
//! key as long as the value's canonical form stays the same (a `str` `"1234"` retyped `int`
//! still verifies, exactly as in sops).
//!
//! Known differences from Go `sops`, all on inputs `sops` itself does not write: rule regexes
//! use the Rust `regex` crate (`\d`, `\w`, `\s` are Unicode-aware there, ASCII in Go RE2); and
//! numbers written in non-canonical YAML forms in *unencrypted* leaves (`1_000`, `017`) may be
//! read differently by serde_yaml and go-yaml, which changes the MAC.
//!
//! serde_yaml 0.9 is deprecated upstream, but it is already in the dependency tree through
//! nickel-lang-core and its `Mapping` keeps insertion order, which the MAC depends on.

use std::fmt;
use std::io::Read;
use std::sync::LazyLock;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use regex::Regex;
use serde::Deserialize as _;
use serde_yaml::{Mapping, Value};
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::memo::Memo;

/// AES-256-GCM with the 32-byte nonce SOPS uses (Go `cipher.NewGCMWithNonceSize(…, 32)`).
type SopsGcm = AesGcm<Aes256, U32>;

/// The version written into `sops.version` by [`encrypt`].
const SOPS_VERSION: &str = "3.9.0";

/// Fed to the MAC first when `mac_only_encrypted` is set: SHA-256 of `"sops"`
/// (sops `MACOnlyEncryptedInitialization`).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// The regex sops (`aes/cipher.go`) matches encrypted values with; greedy and not anchored at
/// the end, like Go's.
const ENC_PATTERN: &str = r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]";

/// Compiled [`ENC_PATTERN`]; `None` is impossible for this constant pattern (a unit test
/// checks it) but is handled as an error rather than a panic.
static ENC_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(ENC_PATTERN).ok());

/// Standard base64 with padding that, like Go's `base64.StdEncoding`, accepts non-zero
/// trailing bits.
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The rule keys of the `sops` metadata, in the order sops declares them.
const RULE_KEYS: [&str; 4] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
];

/// Metadata keys of key backends other than age.
const OTHER_BACKENDS: [&str; 6] = ["kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "pgp"];

/// Why a SOPS file could not be read (or written). Messages are lower-case, name the key
/// path (`db:password:`, the form SOPS authenticates) or the metadata field at fault, and
/// never contain a secret value, plaintext or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SopsError {
    /// The text is not YAML.
    #[error("not valid yaml{}: {reason}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Yaml {
        /// One-based line of the error, when known.
        line: Option<usize>,
        /// The parser's message.
        reason: String,
    },
    /// The root is not a mapping with a `sops` mapping in it.
    #[error("not a sops file: no top-level `sops` mapping")]
    NotSops,
    /// The text holds more than one non-empty YAML document.
    #[error("more than one yaml document: only single-document sops files are supported")]
    MultiDocument,
    /// A required metadata field is absent or empty.
    #[error("sops metadata is missing `{field}`")]
    MissingMetadata {
        /// The field, e.g. `sops.mac`.
        field: &'static str,
    },
    /// A metadata field (or an encryption option) has the wrong type or an invalid value.
    #[error("sops metadata `{field}` is invalid: {reason}")]
    BadMetadata {
        /// The field, e.g. `sops.age[0]` or `encrypted_regex`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A feature this implementation refuses by design.
    #[error("unsupported sops file: {what}")]
    Unsupported {
        /// The feature and, where it applies, the key path.
        what: String,
    },
    /// None of the identities opens any of the file's age data-key entries.
    #[error("none of the given age identities is a recipient of this file (its recipients: {})", recipients.join(", "))]
    NotARecipient {
        /// The file's age recipients (public keys).
        recipients: Vec<String>,
    },
    /// An age data-key entry is corrupt: bad armor or header, failed payload, or not 32 bytes.
    #[error("cannot unwrap the data key of age recipient {recipient}: {reason}")]
    DataKey {
        /// The entry's recipient.
        recipient: String,
        /// What went wrong.
        reason: String,
    },
    /// A value is malformed: not an `ENC[…]` string where the rule says encrypted, bad base64,
    /// wrong nonce or tag length, unknown type, or a decrypted value that does not fit its type.
    #[error("malformed value at `{path}`: {reason}")]
    BadValue {
        /// The key path (`a:b:`; sequence items use their parent's path).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// AES-GCM authentication failed for the value at `path` (`sops.mac` for the MAC itself):
    /// the file was altered.
    #[error("value at `{path}` failed authentication: the file was altered")]
    Tampered {
        /// The key path, or `sops.mac`.
        path: String,
    },
    /// The recomputed MAC differs from the stored one: values, keys or their order changed.
    #[error("mac mismatch: the file's values or their order were altered")]
    MacMismatch,
    /// `sops.mac` is not a well-formed encrypted string.
    #[error("sops mac unreadable: {reason}")]
    MacUnreadable {
        /// What is wrong with it.
        reason: String,
    },
    /// Encryption failed: no recipients, the random generator or age failed.
    #[error("cannot encrypt: {reason}")]
    Encrypt {
        /// What went wrong.
        reason: String,
    },
}

impl SopsError {
    /// True for files this implementation refuses by design (key groups/Shamir,
    /// post-quantum-only, other backends, comment rules, YAML tags, `bytes`/`time` values), as
    /// opposed to corrupt, tampered or not-a-recipient files.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, SopsError::Unsupported { .. })
    }

    /// True when none of the identities is a recipient of the file.
    pub fn is_not_recipient(&self) -> bool {
        matches!(self, SopsError::NotARecipient { .. })
    }
}

/// Which values are encrypted (SOPS's rules; exactly one per file). Each is tested against
/// every component of a value's key path, ancestors included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Values under a key ending with this suffix stay in clear; all others are encrypted.
    UnencryptedSuffix(String),
    /// Only values under a key ending with this suffix are encrypted.
    EncryptedSuffix(String),
    /// Values under a key matching this regex stay in clear; all others are encrypted.
    UnencryptedRegex(String),
    /// Only values under a key matching this regex are encrypted.
    EncryptedRegex(String),
}

impl Default for Rule {
    /// `UnencryptedSuffix("_unencrypted")`, what sops assumes when a file names no rule.
    fn default() -> Self {
        Rule::UnencryptedSuffix("_unencrypted".to_owned())
    }
}

impl Rule {
    /// The metadata key and value this rule is written as.
    fn key_and_value(&self) -> (&'static str, &str) {
        match self {
            Rule::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            Rule::EncryptedSuffix(s) => ("encrypted_suffix", s),
            Rule::UnencryptedRegex(s) => ("unencrypted_regex", s),
            Rule::EncryptedRegex(s) => ("encrypted_regex", s),
        }
    }
}

/// How to encrypt.
#[derive(Debug, Clone)]
pub struct EncryptOptions {
    /// Which values to encrypt.
    pub rule: Rule,
    /// Hash only the values that end up encrypted into the MAC (sops `--mac-only-encrypted`).
    pub mac_only_encrypted: bool,
    /// RFC3339 UTC, e.g. `"2026-11-21T10:00:00Z"`; written as `sops.lastmodified` (in the
    /// canonical form sops would reformat it to) and authenticates the MAC.
    pub lastmodified: String,
}

/// A [`Rule`] ready to test paths.
#[derive(Debug, Clone)]
enum Matcher {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
}

impl Matcher {
    /// Compiles `rule`; an empty suffix or regex is refused (sops would read it as no rule).
    fn new(rule: &Rule) -> Result<Matcher, SopsError> {
        let (field, value) = rule.key_and_value();
        if value.is_empty() {
            return Err(SopsError::BadMetadata {
                field: field.to_owned(),
                reason: "empty (sops would read it as no rule at all)".to_owned(),
            });
        }
        static COMPILED: LazyLock<Memo<Regex>> = LazyLock::new(|| Memo::new(256));
        let regex = || {
            COMPILED.get_or_try(value, || {
                Regex::new(value).map_err(|e| SopsError::BadMetadata {
                    field: field.to_owned(),
                    reason: format!("not a valid regex: {e}"),
                })
            })
        };
        Ok(match rule {
            Rule::UnencryptedSuffix(s) => Matcher::UnencryptedSuffix(s.clone()),
            Rule::EncryptedSuffix(s) => Matcher::EncryptedSuffix(s.clone()),
            Rule::UnencryptedRegex(_) => Matcher::UnencryptedRegex(regex()?),
            Rule::EncryptedRegex(_) => Matcher::EncryptedRegex(regex()?),
        })
    }

    /// Whether the value at `path` is encrypted (sops `shouldBeEncrypted`).
    fn encrypts(&self, path: &[String]) -> bool {
        match self {
            Matcher::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Matcher::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Matcher::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
            Matcher::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
        }
    }
}

/// One `sops.age` entry.
#[derive(Clone)]
struct AgeEntry {
    recipient: String,
    enc: String,
}

/// A parsed SOPS file, not yet decrypted. Holds the YAML tree and the `sops` metadata.
#[derive(Clone)]
pub struct SopsFile {
    /// The data tree, `sops` key removed, file order kept.
    data: Mapping,
    age: Vec<AgeEntry>,
    lastmodified: String,
    mac: String,
    matcher: Matcher,
    mac_only_encrypted: bool,
    /// The `sops` mapping as read, in file order: [`SopsFile::rewrap`] writes it back with
    /// only `age` replaced.
    meta: Mapping,
}

impl fmt::Debug for SopsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SopsFile")
            .field("recipients", &self.recipients())
            .field("lastmodified", &self.lastmodified)
            .field("rule", &self.matcher)
            .field("mac_only_encrypted", &self.mac_only_encrypted)
            .finish_non_exhaustive()
    }
}

impl SopsFile {
    /// Parses SOPS YAML text. Rejects: not YAML, more than one YAML document, no top-level
    /// `sops` mapping, missing `mac` or `lastmodified`, no `age` entries, more than one
    /// encryption rule, `key_groups`/`shamir_threshold` (Shamir-split data keys: unsupported),
    /// only post-quantum age recipients (`age1pq…`; unsupported by the age crate), entries
    /// with other backends only (kms, pgp, …).
    pub fn parse(text: &str) -> Result<SopsFile, SopsError> {
        let mut root = None;
        for document in serde_yaml::Deserializer::from_str(text) {
            let value = Value::deserialize(document).map_err(yaml_error)?;
            if root.is_none() {
                root = Some(value);
            } else if !value.is_null() {
                // An empty document (a trailing `---`) adds nothing; anything else would need
                // its own walk, which sops does but our callers never want.
                return Err(SopsError::MultiDocument);
            }
        }
        let Some(Value::Mapping(mut data)) = root else {
            return Err(SopsError::NotSops);
        };
        let Some(Value::Mapping(meta)) = data.shift_remove("sops") else {
            return Err(SopsError::NotSops);
        };

        if present(&meta, "key_groups") || present(&meta, "shamir_threshold") {
            return Err(SopsError::Unsupported {
                what: "key groups (a shamir-split data key)".to_owned(),
            });
        }
        let age = parse_age_entries(&meta)?;
        if age.is_empty() {
            let others: Vec<&str> = OTHER_BACKENDS
                .into_iter()
                .filter(|k| matches!(meta.get(*k), Some(Value::Sequence(s)) if !s.is_empty()))
                .collect();
            if others.is_empty() {
                return Err(SopsError::MissingMetadata { field: "sops.age" });
            }
            return Err(SopsError::Unsupported {
                what: format!("no age recipient, only {} keys", others.join(", ")),
            });
        }
        if age.iter().all(|e| e.recipient.starts_with("age1pq1")) {
            return Err(SopsError::Unsupported {
                what: "only post-quantum (age1pq) age recipients".to_owned(),
            });
        }

        let lastmodified = required_string(&meta, "lastmodified", "sops.lastmodified")?;
        let mac = required_string(&meta, "mac", "sops.mac")?;
        let matcher = Matcher::new(&parse_rule(&meta)?)?;
        let mac_only_encrypted = match meta.get("mac_only_encrypted") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(SopsError::BadMetadata {
                    field: "sops.mac_only_encrypted".to_owned(),
                    reason: "not a boolean".to_owned(),
                });
            }
        };
        Ok(SopsFile {
            data,
            age,
            lastmodified,
            mac,
            matcher,
            mac_only_encrypted,
            meta,
        })
    }

    /// The age recipients (`sops.age[].recipient`) in file order — read without decrypting.
    pub fn recipients(&self) -> Vec<String> {
        self.age.iter().map(|e| e.recipient.clone()).collect()
    }

    /// `sops.lastmodified` as written.
    pub fn lastmodified(&self) -> &str {
        &self.lastmodified
    }

    /// Decrypts: unwraps the 32-byte data key with the first `sops.age` entry one of
    /// `identities` opens (entries are tried in file order: an `age::Identity` trait object
    /// cannot name its public key), decrypts every value that the file's rule says is
    /// encrypted, verifies the SHA-512 MAC (constant-time compare) and only then returns the
    /// plaintext. Zeroizes the data key and all intermediate plaintext buffers.
    pub fn decrypt(
        &self,
        identities: &[Box<dyn age::Identity + Send + Sync>],
    ) -> Result<Plaintext, SopsError> {
        let key = self.unwrap_data_key(identities)?;
        self.open_with(&key)
    }

    /// Decrypts every value with `key` and checks the MAC (see [`SopsFile::decrypt`]).
    fn open_with(&self, key: &[u8; 32]) -> Result<Plaintext, SopsError> {
        let cipher = new_cipher(key)?;
        let mut walk = Walk::new(&cipher, &self.matcher, self.mac_only_encrypted);
        let tree = Plaintext {
            tree: walk.open_mapping(&self.data, &mut Vec::new())?,
        };
        let computed = walk.mac_hex();
        let stored = self.open_mac(&cipher)?;
        if !ct_eq_hex(computed.as_bytes(), stored.as_bytes()) {
            return Err(SopsError::MacMismatch);
        }
        Ok(tree)
    }

    /// Wraps this file's data key for exactly `recipients` (in that order, duplicates
    /// dropped), as `sops updatekeys` does, and returns the file's new text.
    ///
    /// The data key is unwrapped with `identities` ([`SopsError::NotARecipient`] when none of
    /// them is a current recipient) and the whole file is decrypted and its MAC checked before
    /// anything is wrapped, so a corrupt or altered file is refused, never re-issued. Every
    /// stanza is wrapped afresh (a stanza already in the file is not trusted for a recipient
    /// whose key this process cannot check). Only `sops.age` changes: the values (every
    /// `ENC[…]` string), `mac`, `lastmodified`, the rule and every other metadata field are
    /// written back as they were, the `sops` mapping last, as sops writes it; the new text is
    /// read back and checked to be the same file (same values, same MAC under the same key)
    /// before it is returned. Comments and non-canonical YAML spellings of the original are not
    /// kept (the text is re-emitted, as sops does). Files that also carry keys of another
    /// backend (pgp, kms, …) are refused as unsupported: those keys would keep opening the file.
    pub fn rewrap(
        &self,
        identities: &[Box<dyn age::Identity + Send + Sync>],
        recipients: &[age::x25519::Recipient],
    ) -> Result<String, SopsError> {
        let others: Vec<&str> = OTHER_BACKENDS
            .into_iter()
            .filter(|k| match self.meta.get(*k) {
                None | Some(Value::Null) => false,
                Some(Value::Sequence(s)) => !s.is_empty(),
                Some(_) => true,
            })
            .collect();
        if !others.is_empty() {
            return Err(SopsError::Unsupported {
                what: format!(
                    "{} keys beside age (rewrapping for age recipients would leave them able to open the file)",
                    others.join(", ")
                ),
            });
        }
        let mut wanted: Vec<String> = Vec::with_capacity(recipients.len());
        let mut unique = Vec::with_capacity(recipients.len());
        for r in recipients {
            let name = r.to_string();
            if !wanted.contains(&name) {
                wanted.push(name);
                unique.push(r);
            }
        }
        if unique.is_empty() {
            return Err(SopsError::Encrypt {
                reason: "no recipients".to_owned(),
            });
        }
        let key = self.unwrap_data_key(identities)?;
        drop(self.open_with(&key)?);
        let mut age = Vec::with_capacity(unique.len());
        for (r, name) in unique.into_iter().zip(&wanted) {
            let armored = age::encrypt_and_armor(r, &key[..]).map_err(|e| SopsError::Encrypt {
                reason: format!("age: {}", e.to_string().to_lowercase()),
            })?;
            let mut entry = Mapping::new();
            entry.insert("recipient".into(), name.as_str().into());
            // Rendered as a `|` block scalar, like sops does.
            entry.insert("enc".into(), armored.into());
            age.push(Value::Mapping(entry));
        }
        let mut meta = self.meta.clone();
        // An existing key keeps its place in the mapping.
        meta.insert("age".into(), Value::Sequence(age));
        let mut root = self.data.clone();
        root.insert("sops".into(), Value::Mapping(meta));
        let text = serde_yaml::to_string(&Value::Mapping(root)).map_err(yaml_error)?;
        let back = SopsFile::parse(&text)?;
        if back.data != self.data
            || back.mac != self.mac
            || back.lastmodified != self.lastmodified
            || back.mac_only_encrypted != self.mac_only_encrypted
            || back.recipients() != wanted
        {
            return Err(SopsError::Encrypt {
                reason: "internal: the rewrapped file does not read back as the same file"
                    .to_owned(),
            });
        }
        drop(back.open_with(&key)?);
        Ok(text)
    }

    /// Opens the data key with the first entry any identity unwraps.
    fn unwrap_data_key(
        &self,
        identities: &[Box<dyn age::Identity + Send + Sync>],
    ) -> Result<Zeroizing<[u8; 32]>, SopsError> {
        let mut first_error = None;
        for entry in &self.age {
            match unwrap_entry(entry, identities) {
                Ok(Some(key)) => return Ok(key),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // A corrupt entry may be the one meant for us, so it wins over "not a recipient".
        Err(first_error.unwrap_or_else(|| SopsError::NotARecipient {
            recipients: self.recipients(),
        }))
    }

    /// Decrypts `sops.mac` (AAD: `lastmodified` as sops re-formats it).
    fn open_mac(&self, cipher: &SopsGcm) -> Result<Zeroizing<String>, SopsError> {
        let enc = parse_enc(&self.mac).map_err(|reason| SopsError::MacUnreadable { reason })?;
        if enc.kind != "str" {
            return Err(SopsError::MacUnreadable {
                reason: format!("type `{}`, expected `str`", enc.kind),
            });
        }
        let aad =
            rfc3339_canonical(&self.lastmodified).unwrap_or_else(|| self.lastmodified.clone());
        let plain = open(cipher, enc, &aad).map_err(|()| SopsError::Tampered {
            path: "sops.mac".to_owned(),
        })?;
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SopsError::MacUnreadable {
                reason: "not utf-8 once decrypted".to_owned(),
            })
    }
}

/// Tries one `sops.age` entry: `Ok(None)` when no identity matches it.
fn unwrap_entry(
    entry: &AgeEntry,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<Option<Zeroizing<[u8; 32]>>, SopsError> {
    let fail = |reason: String| SopsError::DataKey {
        recipient: entry.recipient.clone(),
        reason,
    };
    let decryptor = armored_decryptor(&entry.enc).map_err(fail)?;
    let mut reader = match decryptor.decrypt(identities.iter().map(|i| i.as_ref() as _)) {
        Ok(reader) => reader,
        Err(age::DecryptError::NoMatchingKeys) => return Ok(None),
        Err(e) => return Err(fail(age_reason(&e))),
    };
    let mut key = Zeroizing::new([0u8; 32]);
    reader.read_exact(&mut key[..]).map_err(|e| {
        fail(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "the age payload is shorter than a 32-byte data key".to_owned()
        } else {
            "the age payload failed to decrypt (truncated or altered)".to_owned()
        })
    })?;
    let mut extra = Zeroizing::new([0u8; 1]);
    match reader.read(&mut extra[..]) {
        Ok(0) => Ok(Some(key)),
        Ok(_) => Err(fail(
            "the age payload is longer than a 32-byte data key".to_owned(),
        )),
        Err(_) => Err(fail(
            "the age payload failed to decrypt (truncated or altered)".to_owned(),
        )),
    }
}

/// Parses the header of an armored age file (leading whitespace allowed, as Go age does).
fn armored_decryptor(
    armored: &str,
) -> Result<age::Decryptor<age::armor::ArmoredReader<std::io::BufReader<&[u8]>>>, String> {
    let armored = armored.trim_start();
    if !armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
        return Err("`enc` is not an armored age file".to_owned());
    }
    age::Decryptor::new_buffered(age::armor::ArmoredReader::new(armored.as_bytes()))
        .map_err(|e| age_reason(&e))
}

/// A short lower-case reason for an age error (no key material in any of them).
fn age_reason(e: &age::DecryptError) -> String {
    match e {
        age::DecryptError::InvalidHeader => "the age header is malformed".to_owned(),
        age::DecryptError::InvalidMac => "the age header mac is invalid (altered)".to_owned(),
        age::DecryptError::DecryptionFailed => {
            "the age payload failed to decrypt (truncated or altered)".to_owned()
        }
        age::DecryptError::UnknownFormat => "not an age v1 file".to_owned(),
        age::DecryptError::KeyDecryptionFailed => "the identity failed to decrypt".to_owned(),
        age::DecryptError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the armored age file is truncated".to_owned()
        }
        age::DecryptError::Io(io) => io.to_string().to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

/// A decrypted tree (the `sops` key removed). Its strings are zeroized on drop; numbers and
/// booleans cannot be (serde_yaml keeps them inline), nor can the AES key schedule inside
/// `aes-gcm` (its `zeroize` feature is off).
pub struct Plaintext {
    tree: Value,
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plaintext { .. }")
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.tree.wipe();
    }
}

impl Plaintext {
    /// The decrypted tree, a mapping in file order.
    pub fn tree(&self) -> &serde_yaml::Value {
        &self.tree
    }

    /// A top-level string (or number/bool rendered as a string) by key; `None` when absent
    /// (or when the value is null, a sequence or a mapping).
    pub fn get_str(&self, key: &str) -> Option<zeroize::Zeroizing<String>> {
        match self.tree.get(key)? {
            Value::String(s) => Some(Zeroizing::new(s.clone())),
            Value::Bool(b) => Some(Zeroizing::new(b.to_string())),
            Value::Number(n) => Some(Zeroizing::new(number_text(n))),
            _ => None,
        }
    }

    /// The plaintext as YAML, as `sops -d` prints it (serde_yaml's rendering; mapping order
    /// kept, comments lost).
    pub fn to_yaml(&self) -> Result<zeroize::Zeroizing<String>, SopsError> {
        serde_yaml::to_string(&self.tree)
            .map(Zeroizing::new)
            .map_err(yaml_error)
    }
}

/// Encrypts a YAML mapping for `recipients` (one armored age file per recipient holding a
/// fresh random 32-byte data key), producing SOPS YAML text the `sops` tool can read.
pub fn encrypt(
    plain: &serde_yaml::Value,
    recipients: &[age::x25519::Recipient],
    opts: &EncryptOptions,
) -> Result<String, SopsError> {
    if recipients.is_empty() {
        return Err(SopsError::Encrypt {
            reason: "no recipients".to_owned(),
        });
    }
    let mut key = Zeroizing::new([0u8; 32]);
    random(&mut key[..])?;
    let mut wrapped = Vec::with_capacity(recipients.len());
    for r in recipients {
        let armored = age::encrypt_and_armor(r, &key[..]).map_err(|e| SopsError::Encrypt {
            reason: format!("age: {}", e.to_string().to_lowercase()),
        })?;
        wrapped.push((r.to_string(), armored));
    }
    encrypt_with_data_key(plain, &key, &wrapped, opts)
}

/// Like [`encrypt`], with a caller-chosen data key and data-key stanzas wrapped elsewhere
/// (`(recipient, armored age file)` pairs, e.g. made by the `age` CLI). For tests and interop.
pub fn encrypt_with_data_key(
    plain: &serde_yaml::Value,
    data_key: &[u8; 32],
    wrapped: &[(String, String)],
    opts: &EncryptOptions,
) -> Result<String, SopsError> {
    let Value::Mapping(root) = plain else {
        return Err(SopsError::BadValue {
            path: String::new(),
            reason: "the plaintext root must be a mapping".to_owned(),
        });
    };
    if root.contains_key("sops") {
        return Err(SopsError::BadValue {
            path: "sops:".to_owned(),
            reason: "the top-level key `sops` is reserved for the metadata".to_owned(),
        });
    }
    if wrapped.is_empty() {
        return Err(SopsError::Encrypt {
            reason: "no recipients".to_owned(),
        });
    }
    for (recipient, armored) in wrapped {
        if recipient.is_empty() || recipient.contains(char::is_whitespace) {
            return Err(SopsError::BadMetadata {
                field: "sops.age[].recipient".to_owned(),
                reason: "empty or contains whitespace".to_owned(),
            });
        }
        armored_decryptor(armored).map_err(|reason| SopsError::DataKey {
            recipient: recipient.clone(),
            reason,
        })?;
    }
    let matcher = Matcher::new(&opts.rule)?;
    let lastmodified =
        rfc3339_canonical(&opts.lastmodified).ok_or_else(|| SopsError::BadMetadata {
            field: "lastmodified".to_owned(),
            reason: "not an rfc3339 timestamp such as 2026-11-21T10:00:00Z".to_owned(),
        })?;

    let cipher = new_cipher(data_key)?;
    let mut walk = Walk::new(&cipher, &matcher, opts.mac_only_encrypted);
    let Value::Mapping(mut out) = walk.seal_mapping(root, &mut Vec::new())? else {
        return Err(SopsError::Encrypt {
            reason: "internal: the sealed root is not a mapping".to_owned(),
        });
    };
    let mac = walk.mac_hex();
    let mac = seal(&cipher, mac.as_bytes(), &lastmodified, "str")?;

    let age: Vec<Value> = wrapped
        .iter()
        .map(|(recipient, armored)| {
            let mut entry = Mapping::new();
            entry.insert("recipient".into(), recipient.as_str().into());
            // Rendered as a `|` block scalar, like sops does.
            entry.insert("enc".into(), armored.as_str().into());
            Value::Mapping(entry)
        })
        .collect();
    let mut meta = Mapping::new();
    meta.insert("age".into(), Value::Sequence(age));
    meta.insert("lastmodified".into(), lastmodified.into());
    meta.insert("mac".into(), mac.into());
    let (rule_key, rule_value) = opts.rule.key_and_value();
    meta.insert(rule_key.into(), rule_value.into());
    if opts.mac_only_encrypted {
        meta.insert("mac_only_encrypted".into(), true.into());
    }
    // The sops tool reads `version`: `sops filestatus` reports a file without one as not
    // encrypted, and `sops edit` fails on one it cannot parse. Write the version whose layout
    // this file follows.
    meta.insert("version".into(), SOPS_VERSION.into());
    out.insert("sops".into(), Value::Mapping(meta));
    serde_yaml::to_string(&Value::Mapping(out)).map_err(yaml_error)
}

/// The tree walk shared by decryption and encryption: path stack, rule, cipher and MAC.
struct Walk<'a> {
    cipher: &'a SopsGcm,
    matcher: &'a Matcher,
    mac_only_encrypted: bool,
    hasher: Sha512,
}

impl<'a> Walk<'a> {
    fn new(cipher: &'a SopsGcm, matcher: &'a Matcher, mac_only_encrypted: bool) -> Self {
        let mut hasher = Sha512::new();
        if mac_only_encrypted {
            hasher.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Walk {
            cipher,
            matcher,
            mac_only_encrypted,
            hasher,
        }
    }

    /// The MAC so far, as upper-case hex (Go `%X`).
    fn mac_hex(&mut self) -> String {
        let digest = std::mem::take(&mut self.hasher).finalize();
        crate::hex::encode(&digest).to_ascii_uppercase()
    }

    /// Feeds a leaf's byte form to the MAC when the MAC covers it.
    fn hash(&mut self, bytes: &[u8], encrypted: bool) {
        if !self.mac_only_encrypted || encrypted {
            self.hasher.update(bytes);
        }
    }

    fn open_mapping(&mut self, map: &Mapping, path: &mut Vec<String>) -> Result<Value, SopsError> {
        let mut out = Wiped(Mapping::with_capacity(map.len()));
        for (k, v) in map {
            path.push(string_key(k, path)?);
            let child = self.open_value(v, path);
            path.pop();
            out.0.insert(k.clone(), child?);
        }
        Ok(Value::Mapping(out.into_inner()))
    }

    fn open_value(&mut self, value: &Value, path: &mut Vec<String>) -> Result<Value, SopsError> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::Mapping(map) => self.open_mapping(map, path),
            Value::Sequence(items) => {
                let mut out = Wiped(Vec::with_capacity(items.len()));
                for item in items {
                    out.0.push(self.open_value(item, path)?);
                }
                Ok(Value::Sequence(out.into_inner()))
            }
            Value::Tagged(_) => Err(tag_unsupported(path)),
            leaf if self.matcher.encrypts(path) => self.open_leaf(leaf, path),
            leaf => {
                let bytes = leaf_bytes(leaf, path)?;
                self.hash(&bytes, false);
                Ok(leaf.clone())
            }
        }
    }

    /// Decrypts a leaf the rule says is encrypted and feeds its byte form to the MAC.
    fn open_leaf(&mut self, leaf: &Value, path: &[String]) -> Result<Value, SopsError> {
        let aad = aad(path);
        let bad = |reason: &str| SopsError::BadValue {
            path: aad.clone(),
            reason: reason.to_owned(),
        };
        let Value::String(text) = leaf else {
            return Err(bad(&format!(
                "expected an encrypted string, found a {}",
                kind_name(leaf)
            )));
        };
        if text.is_empty() {
            // sops leaves empty strings unencrypted; they add nothing to the MAC.
            return Ok(Value::String(String::new()));
        }
        let enc = parse_enc(text).map_err(|reason| SopsError::BadValue {
            path: aad.clone(),
            reason,
        })?;
        let kind = enc.kind.clone();
        let mut plain =
            open(self.cipher, enc, &aad).map_err(|()| SopsError::Tampered { path: aad.clone() })?;
        let utf8 = |plain: &[u8]| -> Result<String, SopsError> {
            std::str::from_utf8(plain)
                .map(str::to_owned)
                .map_err(|_| bad(&format!("decrypted {kind} value is not utf-8")))
        };
        match kind.as_str() {
            "str" => {
                let s = String::from_utf8(std::mem::take(&mut *plain)).map_err(|e| {
                    e.into_bytes().zeroize();
                    bad("decrypted str value is not utf-8")
                })?;
                self.hash(s.as_bytes(), true);
                Ok(Value::String(s))
            }
            "int" => {
                let text = Zeroizing::new(utf8(&plain)?);
                let n: i64 = text
                    .parse()
                    .map_err(|_| bad("decrypted int value is not a decimal 64-bit integer"))?;
                self.hash(Zeroizing::new(n.to_string()).as_bytes(), true);
                Ok(Value::Number(n.into()))
            }
            "float" => {
                let text = Zeroizing::new(utf8(&plain)?);
                let f: f64 = text
                    .parse()
                    .map_err(|_| bad("decrypted float value is not a number"))?;
                self.hash(Zeroizing::new(go_float(f)).as_bytes(), true);
                Ok(Value::Number(f.into()))
            }
            "bool" => {
                // Go strconv.ParseBool.
                let b = match plain.as_slice() {
                    b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => true,
                    b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => false,
                    _ => return Err(bad("decrypted bool value is not a boolean")),
                };
                self.hash(if b { b"True" } else { b"False" }, true);
                Ok(Value::Bool(b))
            }
            "bytes" | "time" => Err(SopsError::Unsupported {
                what: format!("value type `{kind}` at `{aad}`"),
            }),
            "comment" => Err(bad("an encrypted comment where a value was expected")),
            _ => Err(bad("unknown value type")),
        }
    }

    fn seal_mapping(&mut self, map: &Mapping, path: &mut Vec<String>) -> Result<Value, SopsError> {
        let mut out = Mapping::with_capacity(map.len());
        for (k, v) in map {
            path.push(string_key(k, path)?);
            let child = self.seal_value(v, path);
            path.pop();
            out.insert(k.clone(), child?);
        }
        Ok(Value::Mapping(out))
    }

    fn seal_value(&mut self, value: &Value, path: &mut Vec<String>) -> Result<Value, SopsError> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::Mapping(map) => self.seal_mapping(map, path),
            Value::Sequence(items) => items
                .iter()
                .map(|item| self.seal_value(item, path))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Sequence),
            Value::Tagged(_) => Err(tag_unsupported(path)),
            leaf => {
                let encrypted = self.matcher.encrypts(path);
                let (bytes, kind) = match leaf {
                    Value::String(s) => (Zeroizing::new(s.as_bytes().to_vec()), "str"),
                    Value::Bool(_) => (leaf_bytes(leaf, path)?, "bool"),
                    Value::Number(n) if n.is_f64() => (leaf_bytes(leaf, path)?, "float"),
                    Value::Number(n) if n.as_i64().is_some() => (leaf_bytes(leaf, path)?, "int"),
                    _ => {
                        return Err(SopsError::Unsupported {
                            what: format!(
                                "an integer outside the 64-bit signed range at `{}`",
                                aad(path)
                            ),
                        });
                    }
                };
                self.hash(&bytes, encrypted);
                if !encrypted {
                    return Ok(leaf.clone());
                }
                if bytes.is_empty() {
                    return Ok(Value::String(String::new()));
                }
                seal(self.cipher, &bytes, &aad(path), kind).map(Value::String)
            }
        }
    }
}

/// A container whose strings are wiped if it is dropped before being handed on.
struct Wiped<T: Wipe + Default>(T);

impl<T: Wipe + Default> Wiped<T> {
    fn into_inner(mut self) -> T {
        std::mem::take(&mut self.0)
    }
}

impl<T: Wipe + Default> Drop for Wiped<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

/// Zeroizes the strings a YAML container holds (numbers and booleans cannot be).
trait Wipe {
    fn wipe(&mut self);
}

impl Wipe for Value {
    fn wipe(&mut self) {
        match self {
            Value::String(s) => s.zeroize(),
            Value::Sequence(items) => items.wipe(),
            Value::Mapping(map) => map.wipe(),
            Value::Tagged(tagged) => tagged.value.wipe(),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

impl Wipe for Vec<Value> {
    fn wipe(&mut self) {
        self.iter_mut().for_each(Wipe::wipe);
    }
}

impl Wipe for Mapping {
    fn wipe(&mut self) {
        self.values_mut().for_each(Wipe::wipe);
    }
}

/// A parsed `ENC[AES256_GCM,…]` value.
struct Enc {
    data: Vec<u8>,
    iv: [u8; 32],
    tag: [u8; 16],
    kind: String,
}

/// Parses an `ENC[…]` string; the error never quotes the input.
fn parse_enc(text: &str) -> Result<Enc, String> {
    let re = ENC_RE
        .as_ref()
        .ok_or_else(|| "internal: the ENC pattern does not compile".to_owned())?;
    let caps = re
        .captures(text)
        .ok_or_else(|| "not an ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] value".to_owned())?;
    let field = |i: usize, name: &str| {
        caps.get(i)
            .map(|m| m.as_str())
            .ok_or_else(|| format!("no {name}"))
    };
    let decode = |i: usize, name: &str| {
        B64.decode(field(i, name)?)
            .map_err(|_| format!("{name} is not valid base64"))
    };
    let data = decode(1, "data")?;
    let iv: [u8; 32] = decode(2, "iv")?
        .try_into()
        .map_err(|v: Vec<u8>| format!("iv is {} bytes, expected 32", v.len()))?;
    let tag: [u8; 16] = decode(3, "tag")?
        .try_into()
        .map_err(|v: Vec<u8>| format!("tag is {} bytes, expected 16", v.len()))?;
    let kind = field(4, "type")?.to_owned();
    Ok(Enc {
        data,
        iv,
        tag,
        kind,
    })
}

/// AES-GCM-opens `enc` with `aad`; `Err(())` when authentication fails.
fn open(cipher: &SopsGcm, enc: Enc, aad: &str) -> Result<Zeroizing<Vec<u8>>, ()> {
    let mut buf = Zeroizing::new(enc.data);
    cipher
        .decrypt_in_place_detached(&enc.iv.into(), aad.as_bytes(), &mut buf, &enc.tag.into())
        .map_err(|_| ())?;
    Ok(buf)
}

/// AES-GCM-seals `plain` with a fresh random nonce into an `ENC[…]` string.
fn seal(cipher: &SopsGcm, plain: &[u8], aad: &str, kind: &str) -> Result<String, SopsError> {
    let mut iv = [0u8; 32];
    random(&mut iv)?;
    let mut buf = Zeroizing::new(plain.to_vec());
    let tag = cipher
        .encrypt_in_place_detached(&iv.into(), aad.as_bytes(), &mut buf)
        .map_err(|_| SopsError::Encrypt {
            reason: format!("aes-gcm failed at `{aad}`"),
        })?;
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        B64.encode(&buf[..]),
        B64.encode(iv),
        B64.encode(tag),
    ))
}

fn new_cipher(key: &[u8; 32]) -> Result<SopsGcm, SopsError> {
    SopsGcm::new_from_slice(key).map_err(|_| SopsError::Encrypt {
        reason: "internal: bad aes key length".to_owned(),
    })
}

fn random(buf: &mut [u8]) -> Result<(), SopsError> {
    OsRng.try_fill_bytes(buf).map_err(|_| SopsError::Encrypt {
        reason: "the operating system's random generator failed".to_owned(),
    })
}

/// The additional data SOPS authenticates a value with: its key path joined with `:`, plus a
/// trailing `:`.
fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

/// Where a path is, for messages: `` `a:b:` `` or "the top level".
fn location(path: &[String]) -> String {
    if path.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{}`", aad(path))
    }
}

/// A mapping key as a path component; sops supports string keys only.
fn string_key(key: &Value, path: &[String]) -> Result<String, SopsError> {
    match key {
        Value::String(s) => Ok(s.clone()),
        other => Err(SopsError::Unsupported {
            what: format!(
                "a {} mapping key at {} (sops supports string keys only)",
                kind_name(other),
                location(path)
            ),
        }),
    }
}

fn tag_unsupported(path: &[String]) -> SopsError {
    SopsError::Unsupported {
        what: format!("a yaml tag at {}", location(path)),
    }
}

/// The byte form sops hashes into the MAC for a scalar (Go `sops.ToBytes`).
fn leaf_bytes(leaf: &Value, path: &[String]) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    Ok(Zeroizing::new(match leaf {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Number(n) => number_text(n).into_bytes(),
        other => {
            return Err(SopsError::Unsupported {
                what: format!("a {} at `{}`", kind_name(other), aad(path)),
            });
        }
    }))
}

/// A number as sops writes it: integers in decimal, floats as Go `FormatFloat(f, 'f', -1, 64)`.
fn number_text(n: &serde_yaml::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        go_float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: Rust's `{}` is also the shortest round-trip form
/// without an exponent; only the non-finite spellings differ.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{f}")
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "sequence",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// Compares two hex MACs case-insensitively without data-dependent branches.
fn ct_eq_hex(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_uppercase() ^ y.to_ascii_uppercase())
    });
    std::hint::black_box(diff) == 0
}

fn yaml_error(e: serde_yaml::Error) -> SopsError {
    let mut reason = e.to_string();
    let line = e.location().map(|l| {
        // The line is reported separately; serde_yaml puts the location mid-message.
        reason = reason.replacen(
            &format!(" at line {} column {}", l.line(), l.column()),
            "",
            1,
        );
        l.line()
    });
    SopsError::Yaml { line, reason }
}

/// Whether `key` is in `meta` with a non-null value.
fn present(meta: &Mapping, key: &str) -> bool {
    !matches!(meta.get(key), None | Some(Value::Null))
}

fn required_string(meta: &Mapping, key: &str, field: &'static str) -> Result<String, SopsError> {
    match meta.get(key) {
        None | Some(Value::Null) => Err(SopsError::MissingMetadata { field }),
        Some(Value::String(s)) if s.is_empty() => Err(SopsError::MissingMetadata { field }),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(SopsError::BadMetadata {
            field: field.to_owned(),
            reason: "not a string".to_owned(),
        }),
    }
}

fn parse_age_entries(meta: &Mapping) -> Result<Vec<AgeEntry>, SopsError> {
    let items = match meta.get("age") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            return Err(SopsError::BadMetadata {
                field: "sops.age".to_owned(),
                reason: "not a list".to_owned(),
            });
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = |reason: &str| SopsError::BadMetadata {
                field: format!("sops.age[{i}]"),
                reason: reason.to_owned(),
            };
            let text = |key: &str| match item.get(key) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(bad(&format!("no `{key}` string"))),
            };
            if !item.is_mapping() {
                return Err(bad("not a mapping"));
            }
            Ok(AgeEntry {
                recipient: text("recipient")?,
                enc: text("enc")?,
            })
        })
        .collect()
}

/// The file's one rule; none means the default `_unencrypted` suffix (sops `ToInternal`).
fn parse_rule(meta: &Mapping) -> Result<Rule, SopsError> {
    for key in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
        if matches!(meta.get(key), Some(Value::String(s)) if !s.is_empty()) {
            return Err(SopsError::Unsupported {
                what: format!("the comment-based rule `{key}`"),
            });
        }
    }
    let mut found = Vec::new();
    for key in RULE_KEYS {
        match meta.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => found.push((key, s.clone())),
            Some(_) => {
                return Err(SopsError::BadMetadata {
                    field: format!("sops.{key}"),
                    reason: "not a string".to_owned(),
                });
            }
        }
    }
    if found.len() > 1 {
        return Err(SopsError::BadMetadata {
            field: "sops".to_owned(),
            reason: format!(
                "more than one encryption rule ({})",
                found.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(match found.pop() {
        None => Rule::default(),
        Some(("unencrypted_suffix", s)) => Rule::UnencryptedSuffix(s),
        Some(("encrypted_suffix", s)) => Rule::EncryptedSuffix(s),
        Some(("unencrypted_regex", s)) => Rule::UnencryptedRegex(s),
        Some((_, s)) => Rule::EncryptedRegex(s),
    })
}

/// Parses an RFC3339 timestamp and re-formats it as Go's `time.Format(time.RFC3339)` would:
/// fractional seconds dropped, a zero offset written `Z`. `None` if it does not parse.
fn rfc3339_canonical(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let zone = match b.get(i..)? {
        b"Z" => "Z".to_owned(),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            if oh == 0 && om == 0 {
                "Z".to_owned()
            } else {
                format!("{}{oh:02}:{om:02}", char::from(*sign))
            }
        }
        _ => return None,
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{zone}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published test identity of the rops fixtures (see
    /// ../shared/fixtures/sops/SOURCES.md, beside the repository).
    const TEST_KEY: &str =
        "AGE-SECRET-KEY-1EQUCGFZH8UZKSZ0Z5N5T234YRNDT4U9H7QNYXWRRNJYDDVXE6FWSCPGNJ7";
    const TEST_RECIPIENT: &str = "age1se5ghfycr4n8kcwc3qwf234ymvmr2lex2a99wh8gpfx97glwt9hqch4569";
    const PASSWORD: &str = "Pl4nted-Passw0rd-9f3e";

    /// A SOPS fixture of the rops project, read from `../shared/fixtures/sops`
    /// (kept beside the repository, never copied into it); a missing
    /// directory fails the test naming it.
    fn fixture(name: &str) -> String {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sops");
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
            panic!(
                "cannot read the SOPS fixture {}: {e}; the tests read ../shared/fixtures/sops \
                 beside the checkout",
                dir.join(name).display()
            )
        })
    }

    /// The three encrypted fixtures with their plaintexts.
    fn cases() -> &'static [(String, String); 3] {
        static CASES: std::sync::OnceLock<[(String, String); 3]> = std::sync::OnceLock::new();
        CASES.get_or_init(|| {
            ["example", "encrypted_suffix", "unencrypted_regex"].map(|case| {
                (
                    fixture(&format!("age_{case}.yaml")),
                    fixture(&format!("age_{case}_plaintext.yaml")),
                )
            })
        })
    }

    type Ids = Vec<Box<dyn age::Identity + Send + Sync>>;

    fn boxed(id: age::x25519::Identity) -> Ids {
        vec![Box::new(id)]
    }

    fn test_ids() -> Ids {
        boxed(TEST_KEY.parse().expect("test key"))
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).expect("yaml")
    }

    fn decrypt_text(text: &str, ids: &Ids) -> Result<Plaintext, SopsError> {
        SopsFile::parse(text)?.decrypt(ids)
    }

    fn opts(rule: Rule, mac_only_encrypted: bool) -> EncryptOptions {
        EncryptOptions {
            rule,
            mac_only_encrypted,
            lastmodified: "2026-11-21T10:00:00Z".to_owned(),
        }
    }

    /// Replaces the first occurrence of `from` (which must exist).
    fn edit(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text.replacen(from, to, 1)
    }

    #[test]
    fn constants_are_what_they_claim() {
        assert!(ENC_RE.is_some());
        assert_eq!(
            sha2::Sha256::digest(b"sops").as_slice(),
            &MAC_ONLY_ENCRYPTED_INIT[..]
        );
        assert_eq!(
            Rule::default(),
            Rule::UnencryptedSuffix("_unencrypted".into())
        );
    }

    #[test]
    fn real_sops_fixtures_decrypt_to_their_plaintext() {
        for (encrypted, plaintext) in cases() {
            let file = SopsFile::parse(encrypted).expect("parse");
            assert_eq!(file.recipients(), vec![TEST_RECIPIENT.to_owned()]);
            let plain = file.decrypt(&test_ids()).expect("decrypt");
            assert_eq!(plain.tree(), &yaml(plaintext));
            assert_eq!(yaml(&plain.to_yaml().expect("render")), yaml(plaintext));
        }
        let file = SopsFile::parse(&cases()[0].0).expect("parse");
        assert_eq!(file.lastmodified(), "2023-12-25T10:31:01Z");
        let plain = file.decrypt(&test_ids()).expect("decrypt");
        assert_eq!(
            plain.get_str("example_key").as_deref().map(String::as_str),
            Some("example_value")
        );
        assert_eq!(
            plain
                .get_str("example_number")
                .as_deref()
                .map(String::as_str),
            Some("1234.56789")
        );
        assert!(plain.get_str("example_array").is_none());
        assert!(plain.get_str("absent").is_none());
        assert_eq!(format!("{plain:?}"), "Plaintext { .. }");
    }

    #[test]
    fn identities_are_tried_until_one_matches() {
        let mut ids = boxed(age::x25519::Identity::generate());
        ids.extend(test_ids());
        assert!(decrypt_text(&cases()[0].0, &ids).is_ok());
    }

    #[test]
    fn tampered_value_names_its_path() {
        let text = edit(&cases()[0].0, "data:dlBJhoPbBr", "data:elBJhoPbBr");
        match decrypt_text(&text, &test_ids()) {
            Err(SopsError::Tampered { path }) => assert_eq!(path, "example_key:"),
            other => panic!("expected Tampered, got {other:?}"),
        }
        // A sequence item is authenticated with its parent's path.
        let text = edit(&cases()[0].0, "data:X3v+", "data:X3v/");
        match decrypt_text(&text, &test_ids()) {
            Err(SopsError::Tampered { path }) => assert_eq!(path, "example_array:"),
            other => panic!("expected Tampered, got {other:?}"),
        }
        // Moving a value to another key breaks its authentication too.
        let text = edit(&cases()[1].0, "b_encrypted:", "c_encrypted:");
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::Tampered { path }) if path == "c_encrypted:"
        ));
    }

    #[test]
    fn tampered_mac_or_lastmodified_fails() {
        let text = edit(
            &cases()[0].0,
            "mac: ENC[AES256_GCM,data:71P4",
            "mac: ENC[AES256_GCM,data:81P4",
        );
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::Tampered { path }) if path == "sops.mac"
        ));
        let text = edit(
            &cases()[0].0,
            "2023-12-25T10:31:01Z",
            "2023-12-25T10:31:02Z",
        );
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::Tampered { .. })
        ));
        // Re-formatting the timestamp the way sops does (quoting, a +00:00 offset) is harmless.
        let text = edit(
            &cases()[0].0,
            "lastmodified: 2023-12-25T10:31:01Z",
            "lastmodified: '2023-12-25T10:31:01+00:00'",
        );
        assert!(decrypt_text(&text, &test_ids()).is_ok());
    }

    #[test]
    fn mac_covers_unencrypted_values() {
        let text = edit(&cases()[2].0, "    a: aaa", "    a: aab");
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::MacMismatch)
        ));
        let text = edit(&cases()[2].0, "- 123", "- 124");
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::MacMismatch)
        ));
        // A dropped sequence item (order and presence are covered too).
        let text = edit(&cases()[2].0, "    - 456\n", "");
        assert!(matches!(
            decrypt_text(&text, &test_ids()),
            Err(SopsError::MacMismatch)
        ));
    }

    #[test]
    fn wrong_key_is_not_a_recipient() {
        let err = decrypt_text(&cases()[0].0, &boxed(age::x25519::Identity::generate()))
            .expect_err("wrong key");
        assert!(err.is_not_recipient(), "{err:?}");
        assert!(!err.is_unsupported());
        assert!(err.to_string().contains(TEST_RECIPIENT), "{err}");
        let err = decrypt_text(&cases()[0].0, &Vec::new()).expect_err("no key");
        assert!(err.is_not_recipient());
    }

    #[test]
    fn truncated_or_corrupt_armor_is_a_data_key_error() {
        let text = &cases()[0].0;
        let start = text.find("-----BEGIN").expect("begin");
        let end = text
            .find("-----END AGE ENCRYPTED FILE-----\n")
            .expect("end")
            + 33;
        let block = &text[start..end];
        let lines: Vec<&str> = block.lines().collect();
        // Cut in half: the END marker and the second half of the lines are gone.
        let half = lines[..lines.len() / 2].join("\n      ");
        // Middle lines removed, END marker kept.
        let gap = [lines[0], lines[1], lines[lines.len() - 1]].join("\n      ");
        // The header's base64 altered.
        let flipped = block.replacen(
            "YWdlLWVuY3J5cHRpb24ub3JnL3Yx",
            "YWdlLWVuY3J5cHRpb24ub3JnL3Yy",
            1,
        );
        for bad in [half, gap, flipped, "not armor".to_owned()] {
            let corrupt = format!("{}{}\n{}", &text[..start], bad, &text[end..]);
            match decrypt_text(&corrupt, &test_ids()) {
                Err(SopsError::DataKey { recipient, reason }) => {
                    assert_eq!(recipient, TEST_RECIPIENT);
                    assert!(!reason.is_empty());
                }
                other => panic!("expected DataKey, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_files_are_refused() {
        let key_groups = "a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n  key_groups:\n  - age:\n    - recipient: age1x\n      enc: x\n  shamir_threshold: 2\n  lastmodified: '2026-01-01T00:00:00Z'\n  mac: ENC[x]\n";
        let pq = cases()[0]
            .0
            .replace(TEST_RECIPIENT, "age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq");
        let pgp = "a: b\nsops:\n  pgp:\n  - fp: ABCD\n    enc: x\n  age: []\n  lastmodified: '2026-01-01T00:00:00Z'\n  mac: ENC[x]\n";
        let comment_rule = edit(
            &cases()[0].0,
            "  lastmodified:",
            "  encrypted_comment_regex: sops\n  lastmodified:",
        );
        for text in [key_groups, &pq, pgp, &comment_rule] {
            let err = SopsFile::parse(text).expect_err("unsupported");
            assert!(err.is_unsupported(), "{err:?}");
            assert!(!err.is_not_recipient());
        }
        // A `bytes` value is refused after authentication, as unsupported.
        let key = [7u8; 32];
        let cipher = new_cipher(&key).expect("cipher");
        let value = seal(&cipher, b"raw", "blob:", "bytes").expect("seal");
        let text = encrypt_with_key_for_test(&key, &format!("blob: {value}\n"));
        let err = decrypt_text(&text, &test_ids()).expect_err("bytes");
        assert!(err.is_unsupported(), "{err:?}");
    }

    /// Wraps `key` for the fixtures' recipient and appends metadata with a correct MAC, keeping
    /// the already-encrypted body as is (for values our encryptor would never write).
    fn encrypt_with_key_for_test(key: &[u8; 32], body: &str) -> String {
        let recipient: age::x25519::Recipient = TEST_RECIPIENT.parse().expect("recipient");
        let armored = age::encrypt_and_armor(&recipient, key).expect("wrap");
        let cipher = new_cipher(key).expect("cipher");
        // Decrypting `bytes` fails before the MAC is checked, so any MAC will do.
        let mac = seal(&cipher, b"00", "2026-11-21T10:00:00Z", "str").expect("mac");
        let mut meta = Mapping::new();
        let mut entry = Mapping::new();
        entry.insert("recipient".into(), TEST_RECIPIENT.into());
        entry.insert("enc".into(), armored.into());
        meta.insert("age".into(), Value::Sequence(vec![Value::Mapping(entry)]));
        meta.insert("lastmodified".into(), "2026-11-21T10:00:00Z".into());
        meta.insert("mac".into(), mac.into());
        let mut root = Mapping::new();
        root.insert("sops".into(), Value::Mapping(meta));
        format!("{body}{}", serde_yaml::to_string(&root).expect("yaml"))
    }

    #[test]
    fn malformed_metadata_is_refused() {
        let no_mac = edit(&cases()[0].0, "  mac: ENC", "  not_mac: ENC");
        assert!(matches!(
            SopsFile::parse(&no_mac),
            Err(SopsError::MissingMetadata { field: "sops.mac" })
        ));
        let no_lm = edit(&cases()[0].0, "  lastmodified:", "  not_lastmodified:");
        assert!(matches!(
            SopsFile::parse(&no_lm),
            Err(SopsError::MissingMetadata {
                field: "sops.lastmodified"
            })
        ));
        let two_rules = edit(
            &cases()[1].0,
            "  encrypted_suffix:",
            "  encrypted_regex: x\n  encrypted_suffix:",
        );
        assert!(matches!(
            SopsFile::parse(&two_rules),
            Err(SopsError::BadMetadata { .. })
        ));
        let no_age = "a: b\nsops:\n  lastmodified: x\n  mac: y\n";
        assert!(matches!(
            SopsFile::parse(no_age),
            Err(SopsError::MissingMetadata { field: "sops.age" })
        ));
        let two_docs = format!("{}---\nb: c\n", &cases()[0].0);
        assert!(matches!(
            SopsFile::parse(&two_docs),
            Err(SopsError::MultiDocument)
        ));
        // A trailing empty document is harmless.
        let trailing = format!("{}---\n", &cases()[0].0);
        assert!(decrypt_text(&trailing, &test_ids()).is_ok());
        let bad_mac = edit(
            &cases()[0].0,
            "mac: ENC[AES256_GCM,",
            "mac: ENC[AES128_GCM,",
        );
        assert!(matches!(
            decrypt_text(&bad_mac, &test_ids()),
            Err(SopsError::MacUnreadable { .. })
        ));
        // A value that is not ENC where the rule says encrypted, and one with a short nonce.
        let plain_value = edit(&cases()[1].0, "2_plain: aaa", "2_encrypted: aaa");
        assert!(matches!(
            decrypt_text(&plain_value, &test_ids()),
            Err(SopsError::BadValue { path, .. }) if path == "a:2_encrypted:"
        ));
        let short_iv = edit(
            &cases()[0].0,
            "iv:NHLG+AGcXdkoUHqG1bnOr6jy+rCu9Dwnqgm78+69W4M=",
            "iv:AAAA",
        );
        assert!(matches!(
            decrypt_text(&short_iv, &test_ids()),
            Err(SopsError::BadValue { path, .. }) if path == "example_key:"
        ));
        let number = edit(
            &cases()[1].0,
            "b_encrypted: ENC",
            "b_encrypted: 5\nx_encrypted: ENC",
        );
        assert!(matches!(
            decrypt_text(&number, &test_ids()),
            Err(SopsError::BadValue { path, .. }) if path == "b_encrypted:"
        ));
    }

    fn sample() -> Value {
        yaml(&format!(
            r#"
db:
  host: db.internal
  port: 5432
  password: "{PASSWORD}"
  ratio: 0.25
  whole: 2.0
  negative: -12
  enabled: true
  disabled: false
  empty: ""
  nothing: null
  tags: [a, b, 3, [nested, list]]
  nested:
    deep:
      value: x
api_token_unencrypted: visible
group_unencrypted:
  inner: also-visible
list_of_maps:
  - name: one
    secret: uno
  - name: two
    secret: dos
"#
        ))
    }

    #[test]
    fn round_trip_two_recipients() {
        let (a, b) = (
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        );
        let plain = sample();
        for mac_only in [false, true] {
            let text = encrypt(
                &plain,
                &[a.to_public(), b.to_public()],
                &opts(Rule::default(), mac_only),
            )
            .expect("encrypt");
            assert!(!text.contains(PASSWORD));
            assert!(!text.contains("db.internal"));
            assert!(text.contains("api_token_unencrypted: visible"), "{text}");
            assert!(text.contains("inner: also-visible"), "{text}");
            assert!(text.contains("empty: ''"), "{text}");
            assert!(text.contains("enc: |"), "{text}");
            let file = SopsFile::parse(&text).expect("parse");
            assert_eq!(
                file.recipients(),
                vec![a.to_public().to_string(), b.to_public().to_string()]
            );
            assert_eq!(file.lastmodified(), "2026-11-21T10:00:00Z");
            let doc = yaml(&text);
            assert_eq!(doc["sops"]["version"], Value::from(SOPS_VERSION));
            assert_eq!(
                doc["sops"]["unencrypted_suffix"],
                Value::from("_unencrypted")
            );
            assert_eq!(
                doc["sops"]["mac_only_encrypted"].as_bool(),
                mac_only.then_some(true)
            );
            for id in [a.clone(), b.clone()] {
                let out = file.decrypt(&boxed(id)).expect("decrypt");
                assert_eq!(out.tree(), &plain);
                assert_eq!(
                    out.get_str("api_token_unencrypted")
                        .as_deref()
                        .map(String::as_str),
                    Some("visible")
                );
            }
            // With mac_only_encrypted the clear values are outside the MAC; without, inside.
            let changed = edit(&text, "visible", "changed");
            let result = decrypt_text(&changed, &boxed(a.clone()));
            if mac_only {
                assert!(result.is_ok());
            } else {
                assert!(matches!(result, Err(SopsError::MacMismatch)));
            }
        }
    }

    #[test]
    fn each_rule_round_trips_and_encrypts_the_right_values() {
        let id = age::x25519::Identity::generate();
        let plain = yaml(
            "password: p1\ntoken_secret: t1\npublic_name: n1\ngroup_secret:\n  inner: i1\nplain: x1\n",
        );
        let cases = [
            (Rule::EncryptedSuffix("_secret".into()), vec!["t1", "i1"]),
            (
                Rule::UnencryptedSuffix("_name".into()),
                vec!["p1", "t1", "i1", "x1"],
            ),
            (
                Rule::UnencryptedRegex("^public".into()),
                vec!["p1", "t1", "i1", "x1"],
            ),
            (
                Rule::EncryptedRegex("^(password|group)".into()),
                vec!["p1", "i1"],
            ),
        ];
        for (rule, hidden) in cases {
            for mac_only in [false, true] {
                let text = encrypt(&plain, &[id.to_public()], &opts(rule.clone(), mac_only))
                    .expect("encrypt");
                for v in ["p1", "t1", "n1", "i1", "x1"] {
                    assert_eq!(
                        !text.contains(&format!(": {v}\n")),
                        hidden.contains(&v),
                        "{rule:?} {v}: {text}"
                    );
                }
                let out = decrypt_text(&text, &boxed(id.clone())).expect("decrypt");
                assert_eq!(out.tree(), &plain, "{rule:?}");
            }
        }
    }

    #[test]
    fn encrypt_rejects_bad_input() {
        let r = [age::x25519::Identity::generate().to_public()];
        let o = opts(Rule::default(), false);
        assert!(encrypt(&yaml("[1, 2]"), &r, &o).is_err());
        assert!(encrypt(&yaml("sops: 1"), &r, &o).is_err());
        assert!(encrypt(&yaml("a: 1"), &[], &o).is_err());
        assert!(
            encrypt(&yaml("1: a"), &r, &o)
                .expect_err("int key")
                .is_unsupported()
        );
        assert!(
            encrypt(&yaml("a: !custom x"), &r, &o)
                .expect_err("tag")
                .is_unsupported()
        );
        assert!(encrypt(&yaml("a: 18446744073709551615"), &r, &o).is_err());
        let bad_time = EncryptOptions {
            lastmodified: "yesterday".into(),
            ..o.clone()
        };
        assert!(encrypt(&yaml("a: 1"), &r, &bad_time).is_err());
        let bad_regex = opts(Rule::EncryptedRegex("(".into()), false);
        assert!(encrypt(&yaml("a: 1"), &r, &bad_regex).is_err());
        let empty_rule = opts(Rule::EncryptedSuffix(String::new()), false);
        assert!(encrypt(&yaml("a: 1"), &r, &empty_rule).is_err());
        let wrapped = [("age1x".to_owned(), "not armor".to_owned())];
        assert!(matches!(
            encrypt_with_data_key(&yaml("a: 1"), &[0; 32], &wrapped, &o),
            Err(SopsError::DataKey { .. })
        ));
    }

    #[test]
    fn errors_never_contain_plaintext() {
        let id = age::x25519::Identity::generate();
        let plain = yaml(&format!("password: {PASSWORD}\nnote_unencrypted: hello\n"));
        let text =
            encrypt(&plain, &[id.to_public()], &opts(Rule::default(), false)).expect("encrypt");
        let enc_line = text
            .lines()
            .find(|l| l.starts_with("password: "))
            .expect("line");
        let data_at = enc_line.find("data:").expect("data") + 5;
        let mut flipped = enc_line.to_owned();
        let c = if &flipped[data_at..=data_at] == "A" {
            "B"
        } else {
            "A"
        };
        flipped.replace_range(data_at..=data_at, c);
        let tampered = text.replacen(enc_line, &flipped, 1);
        let mac_mismatch = edit(&text, "hello", "hullo");
        // The type is not authenticated: str → int decrypts, then fails to convert.
        let retyped = text.replacen(enc_line, &enc_line.replace("type:str", "type:int"), 1);
        let ids = boxed(id);
        let errors = [
            decrypt_text(&tampered, &ids).expect_err("tampered"),
            decrypt_text(&mac_mismatch, &ids).expect_err("mac"),
            decrypt_text(&retyped, &ids).expect_err("retyped"),
            decrypt_text(&text, &boxed(age::x25519::Identity::generate()))
                .expect_err("not recipient"),
        ];
        assert!(matches!(errors[0], SopsError::Tampered { .. }));
        assert!(matches!(errors[1], SopsError::MacMismatch));
        assert!(matches!(errors[2], SopsError::BadValue { .. }));
        assert!(errors[3].is_not_recipient());
        for e in &errors {
            for shown in [e.to_string(), format!("{e:?}")] {
                assert!(!shown.contains(PASSWORD), "{shown}");
                assert!(!shown.contains("AGE-SECRET-KEY"), "{shown}");
            }
        }
    }

    #[test]
    fn type_field_is_not_authenticated_as_in_sops() {
        let id = age::x25519::Identity::generate();
        let plain = yaml("pin: '1234'\n");
        let text =
            encrypt(&plain, &[id.to_public()], &opts(Rule::default(), false)).expect("encrypt");
        let retyped = edit(&text, "type:str]", "type:int]");
        let out = decrypt_text(&retyped, &boxed(id)).expect("same canonical bytes, same mac");
        assert_eq!(out.tree(), &yaml("pin: 1234\n"));
        assert_eq!(
            out.get_str("pin").as_deref().map(String::as_str),
            Some("1234")
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut inputs: Vec<String> = [
            "",
            "sops: 1",
            "- a\n- b\n",
            "just a string",
            "sops:\n  age: 1\n",
            "sops:\n  age: [1]\n  lastmodified: x\n  mac: y\n",
            "sops: {age: [{recipient: r, enc: e}], lastmodified: 1, mac: y}",
            "a: [\n",
            "{{{{",
            "a: &x [*x]",
            "a: b\nsops: []\n",
            "\u{feff}\u{0}\u{1}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Deterministic pseudo-random bytes, read as lossy UTF-8.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in [1usize, 7, 64, 300, 2048] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        // Nesting far deeper than serde_yaml's recursion limit.
        inputs.push("[".repeat(5_000));
        inputs.push(format!("a: {}", "{b: ".repeat(2_000)));
        inputs.push(format!("{}x", "- ".repeat(2_000)));
        // Every prefix of a real file (truncation at any point).
        let real = &cases()[0].0;
        inputs.extend(
            (0..real.len())
                .step_by(13)
                .filter(|i| real.is_char_boundary(*i))
                .map(|i| real[..i].to_owned()),
        );
        for input in &inputs {
            let result = SopsFile::parse(input).and_then(|f| f.decrypt(&test_ids()));
            assert!(result.is_err(), "accepted {input:?}");
        }
    }

    #[test]
    fn helpers_match_go() {
        assert_eq!(go_float(1234.56789), "1234.56789");
        assert_eq!(go_float(2.0), "2");
        assert_eq!(go_float(1e21), "1000000000000000000000");
        assert_eq!(go_float(1e-7), "0.0000001");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(
            rfc3339_canonical("2023-12-25T10:31:01Z").as_deref(),
            Some("2023-12-25T10:31:01Z")
        );
        assert_eq!(
            rfc3339_canonical("2023-12-25T10:31:01.123456Z").as_deref(),
            Some("2023-12-25T10:31:01Z")
        );
        assert_eq!(
            rfc3339_canonical("2023-12-25T10:31:01+00:00").as_deref(),
            Some("2023-12-25T10:31:01Z")
        );
        assert_eq!(
            rfc3339_canonical("2023-12-25T10:31:01-05:30").as_deref(),
            Some("2023-12-25T10:31:01-05:30")
        );
        for bad in [
            "",
            "2023-02-30T00:00:00Z",
            "2023-12-25 10:31:01Z",
            "2023-12-25T10:31:01",
            "2023-12-25T24:00:00Z",
            "2023-12-25T10:31:01Zx",
            "２０２３-12-25T10:31:01Z",
        ] {
            assert_eq!(rfc3339_canonical(bad), None, "{bad}");
        }
        assert!(ct_eq_hex(b"ABCDEF", b"abcdef"));
        assert!(!ct_eq_hex(b"ABCDEF", b"ABCDEE"));
        assert!(!ct_eq_hex(b"ABCDEF", b"ABCDE"));
    }

    /// The lines holding an encrypted value (`ENC[…]`, the MAC's included), in file order.
    fn enc_lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| l.contains("ENC[")).collect()
    }

    #[test]
    fn rewrap_changes_only_the_recipients() {
        let (a, b, c) = (
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        );
        let plain = sample();
        for mac_only in [false, true] {
            let text = encrypt(
                &plain,
                &[a.to_public(), b.to_public()],
                &opts(Rule::default(), mac_only),
            )
            .expect("encrypt");
            let file = SopsFile::parse(&text).expect("parse");
            let new = file
                .rewrap(
                    &boxed(a.clone()),
                    &[a.to_public(), c.to_public(), c.to_public()],
                )
                .expect("rewrap");
            let rewrapped = SopsFile::parse(&new).expect("parse rewrapped");
            assert_eq!(
                rewrapped.recipients(),
                vec![a.to_public().to_string(), c.to_public().to_string()]
            );
            // Values, MAC, lastmodified and the rest of the metadata are as they were.
            assert_eq!(enc_lines(&new), enc_lines(&text));
            assert!(!enc_lines(&text).is_empty());
            assert_eq!(rewrapped.lastmodified(), file.lastmodified());
            let (old_doc, new_doc) = (yaml(&text), yaml(&new));
            for key in ["mac", "lastmodified", "unencrypted_suffix", "version"] {
                assert_eq!(old_doc["sops"][key], new_doc["sops"][key], "{key}");
            }
            assert_eq!(
                old_doc["sops"]["mac_only_encrypted"],
                new_doc["sops"]["mac_only_encrypted"]
            );
            // Everything but the age stanzas is byte-identical (both are serde_yaml's text).
            let before_age = |t: &str| t[..t.find("  age:").expect("age")].to_owned();
            let after_age = |t: &str| t[t.find("  lastmodified:").expect("lm")..].to_owned();
            assert_eq!(before_age(&new), before_age(&text));
            assert_eq!(after_age(&new), after_age(&text));
            // The new recipient opens it, the removed one no longer does.
            for id in [a.clone(), c.clone()] {
                assert_eq!(
                    rewrapped.decrypt(&boxed(id)).expect("decrypt").tree(),
                    &plain
                );
            }
            let err = rewrapped.decrypt(&boxed(b.clone())).expect_err("removed");
            assert!(err.is_not_recipient(), "{err:?}");
        }
    }

    #[test]
    fn rewrap_keeps_the_data_key_and_reads_real_sops_files() {
        let new = age::x25519::Identity::generate();
        for (encrypted, plaintext) in cases() {
            let file = SopsFile::parse(encrypted).expect("parse");
            let key = file.unwrap_data_key(&test_ids()).expect("key");
            let text = file
                .rewrap(&test_ids(), &[new.to_public()])
                .expect("rewrap");
            let rewrapped = SopsFile::parse(&text).expect("parse rewrapped");
            assert_eq!(rewrapped.recipients(), vec![new.to_public().to_string()]);
            let ids = boxed(new.clone());
            assert_eq!(*rewrapped.unwrap_data_key(&ids).expect("new key"), *key);
            let plain = rewrapped.decrypt(&ids).expect("decrypt");
            assert_eq!(plain.tree(), &yaml(plaintext));
            assert!(
                rewrapped
                    .decrypt(&test_ids())
                    .expect_err("gone")
                    .is_not_recipient()
            );
            // sops re-emits the file too; the values themselves are untouched.
            let values = |t: &str| {
                let mut doc = yaml(t);
                let mac = doc["sops"]["mac"].clone();
                if let Value::Mapping(m) = &mut doc {
                    m.shift_remove("sops");
                }
                (doc, mac)
            };
            assert_eq!(values(&text), values(encrypted));
        }
    }

    #[test]
    fn rewrap_refuses_a_non_recipient_an_altered_file_and_other_backends() {
        let (a, b) = (
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        );
        let text =
            encrypt(&sample(), &[a.to_public()], &opts(Rule::default(), false)).expect("encrypt");
        let file = SopsFile::parse(&text).expect("parse");
        let err = file
            .rewrap(&boxed(b.clone()), &[b.to_public()])
            .expect_err("not a recipient");
        assert!(err.is_not_recipient(), "{err:?}");
        assert!(
            file.rewrap(&boxed(a.clone()), &[])
                .is_err_and(|e| matches!(e, SopsError::Encrypt { .. }))
        );
        // An altered value: the MAC fails before anything is wrapped.
        let altered = edit(&text, "visible", "changed");
        let err = SopsFile::parse(&altered)
            .expect("parse")
            .rewrap(&boxed(a.clone()), &[b.to_public()])
            .expect_err("altered");
        assert!(matches!(err, SopsError::MacMismatch), "{err:?}");
        let pgp = edit(
            &text,
            "  lastmodified:",
            "  pgp:\n  - fp: ABCD\n    enc: x\n  lastmodified:",
        );
        let err = SopsFile::parse(&pgp)
            .expect("parse")
            .rewrap(&boxed(a), &[b.to_public()])
            .expect_err("pgp");
        assert!(err.is_unsupported(), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
        }
    }
}
