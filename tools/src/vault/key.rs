//! The master key (`.kage`): which age identity file the actor uses, and
//! reading it. The project's `sops.master_key_path` wins over the config
//! home's `vault.master_key_path`; an unreadable first choice falls through
//! to the second. The file's bytes live in zeroized buffers and its
//! identities never leave this process's memory.

use std::path::{Path, PathBuf};

use age::x25519;
use zeroize::Zeroizing;

/// Largest identity file read (age-keygen files are ~200 bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Where the master key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// `.ontoref/project.ncl` → `sops.master_key_path`.
    Project,
    /// `<config home>/config.ncl` → `vault.master_key_path`.
    Global,
    /// Neither is set.
    None,
}

/// A configured identity file, not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCandidate {
    /// Which setting named it.
    pub source: KeySource,
    /// The setting's file, for messages.
    pub setting: String,
    /// The path, expanded.
    pub path: PathBuf,
}

/// The identities of one age identity file.
pub struct Identities {
    /// The file.
    pub path: PathBuf,
    /// Which setting named it.
    pub source: KeySource,
    /// The public keys (`age1…`), in file order.
    pub recipients: Vec<String>,
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The file's first identity, the one keys are derived from
    /// ([`Identities::derive_key`]); its scalar is wiped on drop.
    first: x25519::Identity,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("path", &self.path)
            .field("source", &self.source)
            .field("recipients", &self.recipients)
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// The identities, for decryption.
    pub fn as_slice(&self) -> &[Box<dyn age::Identity + Send + Sync>] {
        &self.identities
    }

    /// Derives a 32-byte key from the file's first identity with
    /// HKDF-SHA256 (RFC 5869): the input keying material is that identity's
    /// `AGE-SECRET-KEY-1…` encoding (the X25519 scalar, bech32), `salt` and
    /// `info` bind the purpose and context. The secret is never handed out:
    /// the encoding and HKDF's pseudorandom key are wiped before returning,
    /// and the key itself is wiped when the caller drops it. Adding or
    /// removing later identities in the file does not change the key;
    /// replacing the first one does.
    pub fn derive_key(&self, salt: &[u8], info: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
        use age::secrecy::ExposeSecret;
        use zeroize::Zeroize;
        let secret = self.first.to_string();
        let (mut prk, hk) =
            hkdf::Hkdf::<sha2::Sha256>::extract(Some(salt), secret.expose_secret().as_bytes());
        prk.as_mut_slice().zeroize();
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(info, okm.as_mut_slice())
            .map_err(|e| format!("cannot derive a key from {}: {e}", self.path.display()))?;
        Ok(okm)
    }

    /// Reads an age identity file: `AGE-SECRET-KEY-1…` lines (X25519), with
    /// `#` comment lines and blank lines ignored, as age-keygen writes them.
    /// The reason on failure names the line, never its content.
    pub fn read(path: &Path, source: KeySource) -> Result<Identities, String> {
        use crate::fsread::{self, Links, ReadError};
        let mut bytes = Zeroizing::new(Vec::new());
        fsread::read_into(path, MAX_KEY_FILE, Links::Follow, &mut bytes).map_err(|e| match e {
            ReadError::NotFound => "no such file".to_owned(),
            ReadError::TooLarge { .. } => {
                format!("larger than {MAX_KEY_FILE} bytes, not an identity file")
            }
            ReadError::Io(e) => io_reason(&e),
            other => other.to_string(),
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| "not UTF-8 text, not an identity file".to_owned())?;
        Identities::parse(text, path, source)
    }

    /// Parses identity-file text (see [`Identities::read`]).
    pub fn parse(text: &str, path: &Path, source: KeySource) -> Result<Identities, String> {
        let mut identities: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
        let mut recipients = Vec::new();
        let mut first: Option<x25519::Identity> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("AGE-SECRET-KEY-PQ-") {
                return Err(format!(
                    "line {} is a post-quantum identity, which this build cannot use; use an X25519 key (age-keygen without -pq)",
                    n + 1
                ));
            }
            if upper.starts_with("AGE-PLUGIN-") {
                return Err(format!(
                    "line {} is a plugin identity (e.g. a YubiKey), which needs interactive prompts a server cannot show",
                    n + 1
                ));
            }
            let id: x25519::Identity = line
                .parse()
                .map_err(|_| format!("line {} is not an age X25519 identity", n + 1))?;
            recipients.push(id.to_public().to_string());
            if first.is_none() {
                first = Some(id.clone());
            }
            identities.push(Box::new(id));
        }
        let Some(first) = first else {
            return Err("holds no identity (no AGE-SECRET-KEY-1… line)".to_owned());
        };
        Ok(Identities {
            path: path.to_path_buf(),
            source,
            recipients,
            identities,
            first,
        })
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Reads the first candidate that is a readable identity file. On failure,
/// returns one line per candidate saying why it was not usable.
pub fn resolve(candidates: &[KeyCandidate]) -> Result<Identities, Vec<String>> {
    let mut tried = Vec::new();
    for c in candidates {
        match Identities::read(&c.path, c.source) {
            Ok(ids) => return Ok(ids),
            Err(reason) => tried.push(format!(
                "{} (master_key_path in {}): {reason}",
                c.path.display(),
                c.setting
            )),
        }
    }
    if tried.is_empty() {
        tried.push(
            "neither `sops.master_key_path` in .ontoref/project.ncl nor `vault.master_key_path` in the config home's config.ncl is set".to_owned(),
        );
    }
    Err(tried)
}

/// An age-keygen style identity file for a new X25519 key: the public key
/// and the file text (zeroized on drop).
pub fn generate(created: &str) -> (String, Zeroizing<String>) {
    use age::secrecy::ExposeSecret;
    let id = x25519::Identity::generate();
    let public = id.to_public().to_string();
    let secret = id.to_string();
    let text = Zeroizing::new(format!(
        "# created: {created}\n# public key: {public}\n{}\n",
        secret.expose_secret()
    ));
    (public, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_age_keygen_files_with_comments_and_refuses_others() {
        let (public, text) = generate("2026-11-21T10:00:00Z");
        let ids = Identities::parse(&text, Path::new("k"), KeySource::Global).unwrap();
        assert_eq!(ids.recipients, [public]);
        assert_eq!(ids.as_slice().len(), 1);

        for (bad, why) in [
            ("", "no identity"),
            ("# only a comment\n", "no identity"),
            ("AGE-SECRET-KEY-1NOTBECH32\n", "line 1"),
            ("#x\nAGE-SECRET-KEY-PQ-1ABC\n", "post-quantum"),
            ("AGE-PLUGIN-YUBIKEY-1ABC\n", "plugin"),
        ] {
            let err = Identities::parse(bad, Path::new("k"), KeySource::Global).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(!err.contains("ABC") && !err.contains("NOTBECH32"), "{err}");
        }
    }

    #[test]
    fn derived_keys_depend_on_the_first_identity_salt_and_info_only() {
        let (_, a) = generate("now");
        let (_, b) = generate("now");
        let ids = |t: &str| Identities::parse(t, Path::new("k"), KeySource::Global).unwrap();
        let k = |ids: &Identities, info: &[u8]| *ids.derive_key(b"salt", info).unwrap();
        let one = ids(&a);
        assert_eq!(k(&one, b"x"), k(&ids(&a), b"x"), "deterministic");
        assert_ne!(k(&one, b"x"), k(&one, b"y"), "bound to info");
        assert_ne!(
            *one.derive_key(b"salt", b"x").unwrap(),
            *one.derive_key(b"other", b"x").unwrap(),
            "bound to salt"
        );
        assert_ne!(k(&one, b"x"), k(&ids(&b), b"x"), "bound to the key");
        // A second identity in the file does not change it.
        let both = ids(&format!("{}{}", a.as_str(), b.as_str()));
        assert_eq!(k(&one, b"x"), k(&both, b"x"));
        // RFC 5869 HKDF-SHA256 over the identity's encoding, nothing else.
        let secret = a
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .unwrap();
        let mut want = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"salt"), secret.as_bytes())
            .expand(b"x", &mut want)
            .unwrap();
        assert_eq!(k(&one, b"x"), want);
    }

    #[test]
    fn falls_through_to_the_next_candidate() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("good.key");
        let (_, text) = generate("now");
        std::fs::write(&good, text.as_bytes()).unwrap();
        let cands = [
            KeyCandidate {
                source: KeySource::Project,
                setting: "p".into(),
                path: tmp.path().join("missing.key"),
            },
            KeyCandidate {
                source: KeySource::Global,
                setting: "g".into(),
                path: good.clone(),
            },
        ];
        let ids = resolve(&cands).unwrap();
        assert_eq!(ids.source, KeySource::Global);
        let err = resolve(&cands[..1]).unwrap_err();
        assert!(err[0].contains("no such file"), "{err:?}");
        assert!(resolve(&[]).unwrap_err()[0].contains("neither"));
    }
}
