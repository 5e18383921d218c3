//! Integration artifact pulls (domain and mode artifacts) for an actor who
//! never holds a registry credential: the vault's gate with op `pull`
//! (every refusal before any network call), the registry credential
//! decrypted in memory only, the tag resolved to a digest once, the cosign
//! signature verified over that digest, the manifest and its layers
//! fetched by digest and checked, and the files written under
//! `<project>/.ontoref/cache/oci/sha256-<hex>/`, named by each layer's
//! `org.opencontainers.image.title` as oras names them. The signature and
//! the layers are fetched concurrently; nothing is used unless the
//! signature verifies. A second pull of the same digest re-hashes the
//! cached files instead of downloading; its record is sealed (HMAC) with a
//! key derived from the vault's master key, so a record planted in the
//! project's directory is not trusted, and a target pinned by digest is
//! then served without the credential or the registry. A verify always
//! asks the registry. A
//! domain artifact's `contract.ncl` must typecheck (in process, confined
//! to the artifact) before anything lands in the cache.
//! Every attempt is audited like a credential fetch.

use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::ToolError;
use crate::hex::encode as hex;
use crate::nickel::sandbox::{EMBEDDED_ROOT, Sandbox};
use crate::registry::RegistryError;
use crate::registry::client::{Auth, Pinned, Remote};
use crate::registry::config::{self, RegistryConfig};
use crate::registry::cosign::PublicKey;
use crate::vault::fetch::{Attempt, decrypt_credential, record};
use crate::vault::gate::{self, Grant, Known, Request};
use crate::vault::target::Target;

/// A domain artifact's `artifactType`.
pub const DOMAIN_MEDIA_TYPE: &str = "application/vnd.ontoref.domain.v1";
/// A mode artifact's `artifactType`.
pub const MODE_MEDIA_TYPE: &str = "application/vnd.ontoref.mode.v1";
/// The layer annotation oras names files by.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The largest layer.
pub const MAX_LAYER: u64 = 64 << 20;
/// The most bytes of layers in one artifact.
pub const MAX_ARTIFACT: u64 = 128 << 20;
/// The most layers.
pub const MAX_LAYERS: usize = 256;

/// One file of a pulled artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PulledFile {
    /// Where it is, relative to the project root.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its content (hex).
    pub sha256: String,
}

/// A verified artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pulled {
    /// The target, as asked for.
    pub target: String,
    /// The manifest's digest.
    pub digest: String,
    /// The manifest's `artifactType` (else its config's media type).
    pub media_type: String,
    /// The files, by layer order.
    pub files: Vec<PulledFile>,
    /// The fingerprint (`sha256:` of the DER public key) of the key its
    /// signature verified with.
    pub signed_by: String,
    /// Whether the files came from the cache (re-hashed) rather than the
    /// registry.
    pub cached: bool,
}

/// The record kept beside a cached artifact directory.
#[derive(Debug, Serialize, Deserialize)]
struct CacheRecord {
    digest: String,
    media_type: String,
    signed_by: String,
    files: Vec<PulledFile>,
}

/// A [`CacheRecord`] as written: its JSON and their [`Seal`] tag.
#[derive(Debug, Serialize, Deserialize)]
struct SealedRecord {
    record: String,
    mac: String,
}

/// Pulls `target` for the engine's caller, writing its files to the
/// project's cache (`write`), or only checking them (`!write`: nothing is
/// written). The attempt is audited.
pub async fn pull(
    engine: &Engine,
    target: &str,
    registry_id: Option<&str>,
    write: bool,
) -> Result<Pulled, ToolError> {
    let actor = engine.actor();
    let mut known = Known::default();
    let mut digest = None;
    let result = run(
        engine,
        actor.as_deref(),
        target,
        registry_id,
        write,
        &mut known,
        &mut digest,
    )
    .await;
    let attempt = Attempt {
        actor: actor.as_deref(),
        op: if write {
            "artifact-pull"
        } else {
            "artifact-verify"
        },
        target,
        registry_id,
        reveal: false,
        digest: digest.as_deref(),
    };
    record(engine, &mut known, &attempt, result.as_ref().err()).await?;
    match &result {
        Ok(p) => tracing::info!(digest = %p.digest, cached = p.cached, "artifact verified"),
        Err(e) => tracing::info!(code = e.code(), "artifact pull refused"),
    }
    result
}

async fn run(
    engine: &Engine,
    actor: Option<&str>,
    target: &str,
    registry_id: Option<&str>,
    write: bool,
    known: &mut Known,
    digest_out: &mut Option<String>,
) -> Result<Pulled, ToolError> {
    let req = Request {
        target: target.to_owned(),
        op: "pull".to_owned(),
        registry_id: registry_id.map(str::to_owned),
        reveal: false,
    };
    let grant = gate::check(engine, actor, &req, known).await?;
    let cfg = config::load(engine).await?;
    let key = signing_key(engine, &grant, &cfg)?;
    let parsed = Target::parse(target).map_err(|why| {
        ToolError::Internal(format!(
            "the gate admitted a target that does not parse: {why}"
        ))
    })?;
    let root = engine.project().root();
    let cache = cache_dir(root);
    let seal = Seal::derive(&grant)?;
    // A target pinned by digest that is cached (its record sealed by this
    // vault's key, its files unchanged) needs neither the credential nor
    // the registry.
    if let Some(d) = parsed.digest.as_ref().filter(|_| write) {
        *digest_out = Some(d.clone());
        if let Some(hit) = cached(&cache, d, key.fingerprint(), root, &seal) {
            return Ok(Pulled {
                target: target.to_owned(),
                ..hit
            });
        }
    }
    let cred = decrypt_credential(engine, &grant)?;
    let auth = Auth::Basic {
        username: cred.username,
        password: cred.password,
        source: grant.credential_shown.clone(),
    };
    let remote = Remote::new(&grant.registry.endpoint, auth, &cfg.settings);
    let repository = &grant.repository;
    // The tag is resolved once, by fetching its manifest (one request):
    // its digest is that of the bytes served, and everything after is
    // fetched by that digest.
    let pinned = match &parsed.digest {
        Some(d) => remote.manifest(repository, d).await?,
        None => {
            remote
                .manifest_at_tag(repository, parsed.tag.as_deref().unwrap_or("latest"))
                .await?
        }
    };
    let digest = pinned.digest.clone();
    *digest_out = Some(digest.clone());
    if parsed.digest.is_none()
        && write
        && let Some(hit) = cached(&cache, &digest, key.fingerprint(), root, &seal)
    {
        return Ok(Pulled {
            target: target.to_owned(),
            ..hit
        });
    }
    let shown = format!("{}/{repository}@{digest}", remote.endpoint());
    let media_type = pinned.artifact_type().to_owned();
    let names = match check_shape(&pinned, &media_type, &shown) {
        Ok(names) => names,
        Err(e) => {
            // The signature's verdict comes first, as when all is well.
            remote.verify(repository, &digest, &key).await?;
            return Err(e.into());
        }
    };
    // The signature and the layers are fetched at once (the registry's
    // round trips overlap); nothing fetched is used unless the signature
    // verifies, and its refusal is the one reported.
    let (verified, contents) = tokio::join!(
        remote.verify(repository, &digest, &key),
        fetch_layers(&remote, repository, &pinned, &shown)
    );
    let verified = verified?;
    let contents = contents?;
    let final_dir = cache.join(digest.replace(':', "-"));
    let files: Vec<PulledFile> = names
        .iter()
        .zip(&contents)
        .map(|(name, data)| PulledFile {
            path: relative(root, &final_dir.join(name)),
            size: data.len() as u64,
            sha256: hex(&Sha256::digest(data)),
        })
        .collect();
    let pulled = Pulled {
        target: target.to_owned(),
        digest: verified.digest,
        media_type,
        files,
        signed_by: verified.signed_by,
        cached: false,
    };
    // Staged beside the cache (a pull) or in the system's temporary
    // directory (a verify, which leaves the project untouched).
    let parent = if write {
        std::fs::create_dir_all(&cache).map_err(|e| RegistryError::io("create", &cache, &e))?;
        cache.clone()
    } else {
        std::env::temp_dir()
    };
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&parent)
        .map_err(|e| RegistryError::io("create", &parent, &e))?;
    stage(staging.path(), &names, &contents)?;
    if pulled.media_type == DOMAIN_MEDIA_TYPE && !typechecked::contains(&pulled.digest) {
        typecheck_contract(engine, staging.path(), &names, &shown).await?;
        typechecked::insert(&pulled.digest);
    }
    if write {
        store(&cache, &final_dir, staging, &pulled, &seal)?;
    }
    Ok(pulled)
}

/// The artifact's type and its layers' names, checked before anything is
/// fetched.
fn check_shape(
    pinned: &Pinned,
    media_type: &str,
    shown: &str,
) -> Result<Vec<String>, RegistryError> {
    if media_type != DOMAIN_MEDIA_TYPE && media_type != MODE_MEDIA_TYPE {
        return Err(RegistryError::MediaType {
            reference: shown.to_owned(),
            what: "the manifest's artifactType".into(),
            found: crate::error::clip(media_type),
            expected: format!("`{DOMAIN_MEDIA_TYPE}` or `{MODE_MEDIA_TYPE}`"),
        });
    }
    layer_names(pinned, shown)
}

/// How many layers are fetched at once.
const PARALLEL_LAYERS: usize = 4;

/// The layers of `pinned`, in order, a few at a time; their declared sizes
/// together are checked against [`MAX_ARTIFACT`] before any is fetched.
async fn fetch_layers(
    remote: &Remote,
    repository: &str,
    pinned: &Pinned,
    shown: &str,
) -> Result<Vec<Vec<u8>>, RegistryError> {
    use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
    let declared = pinned
        .manifest
        .layers
        .iter()
        .map(|l| u64::try_from(l.size).unwrap_or(u64::MAX))
        .fold(0u64, u64::saturating_add);
    if declared > MAX_ARTIFACT {
        return Err(RegistryError::TooLarge {
            reference: shown.to_owned(),
            what: "the artifact's layers together".into(),
            size: Some(declared),
            limit: MAX_ARTIFACT,
        });
    }
    let layers = &pinned.manifest.layers;
    // By index: a closure over `&OciDescriptor` would not be general
    // enough for the `Send` bound the tool futures carry.
    stream::iter(0..layers.len())
        .map(|i| remote.blob(repository, &layers[i], MAX_LAYER))
        .buffered(PARALLEL_LAYERS)
        .try_collect()
        .await
}

/// The key that seals cache records: derived from the vault's master key
/// (which the agent never holds), so a record planted or edited in the
/// project's cache directory is not taken for a verified pull.
struct Seal(Zeroizing<[u8; 32]>);

/// What the cache key is derived for.
const SEAL_PURPOSE: &[u8] = b"ontoref artifact cache record v1";

impl Seal {
    fn derive(grant: &Grant) -> Result<Seal, ToolError> {
        grant
            .identities
            .derive_key(SEAL_PURPOSE, grant.vault.id.as_bytes())
            .map(Seal)
            .map_err(|reason| {
                ToolError::Internal(format!("cannot derive the artifact cache key: {reason}"))
            })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; a 32-byte one cannot be refused.
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC-SHA256 accepts 32-byte keys"))
    }

    /// The hex tag of `bytes`.
    fn sign(&self, bytes: &[u8]) -> String {
        let mut m = self.mac();
        m.update(bytes);
        hex(&m.finalize().into_bytes())
    }

    /// Whether `tag` (hex) is the tag of `bytes` (compared in constant time).
    fn verify(&self, bytes: &[u8], tag: &str) -> bool {
        let Some(raw) = crate::hex::decode(tag) else {
            return false;
        };
        let mut m = self.mac();
        m.update(bytes);
        m.verify_slice(&raw).is_ok()
    }
}

/// The domain artifacts (by manifest digest, which pins every file) whose
/// contract this process has typechecked: the check is a pure function of
/// the content, so it is not repeated for the same digest.
mod typechecked {
    use std::collections::HashSet;
    use std::sync::{LazyLock, Mutex};

    const MAX: usize = 4096;
    static SEEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

    pub(super) fn contains(digest: &str) -> bool {
        SEEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(digest)
    }

    pub(super) fn insert(digest: &str) {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX {
            seen.clear();
        }
        seen.insert(digest.to_owned());
    }
}

/// The file of a domain artifact that must typecheck.
pub const CONTRACT_FILE: &str = "contract.ncl";

/// Typechecks a staged domain artifact's `contract.ncl` in process (as
/// `nickel typecheck` does), its imports confined to the artifact and the
/// protocol's schemas.
async fn typecheck_contract(
    engine: &Engine,
    staged: &Path,
    names: &[String],
    shown: &str,
) -> Result<(), ToolError> {
    if !names.iter().any(|n| n == CONTRACT_FILE) {
        return Err(RegistryError::Invalid {
            reference: shown.to_owned(),
            detail: format!("a domain artifact holds `{CONTRACT_FILE}`; no layer is titled so"),
        }
        .into());
    }
    let sandbox = Sandbox::new(
        "the pulled artifact",
        &[staged.to_path_buf()],
        &[engine.config_home().join("keys")],
        vec![PathBuf::from(EMBEDDED_ROOT)],
    );
    engine
        .loader()
        .typecheck(&staged.join(CONTRACT_FILE), &sandbox)
        .await
        .map_err(|e| {
            RegistryError::ContractTypecheck {
                reference: shown.to_owned(),
                file: CONTRACT_FILE.to_owned(),
                detail: crate::error::clip(&e.to_string()),
            }
            .into()
        })
}

/// The key the artifact must be signed with: the registry entry's
/// `cosign_pub` (relative to the project), else `vault.cosign.pub_path`.
fn signing_key(
    engine: &Engine,
    grant: &Grant,
    cfg: &RegistryConfig,
) -> Result<PublicKey, RegistryError> {
    let key = match &grant.registry.cosign_pub {
        Some(p) => config::public_key(
            Some(&engine.project().root().join(p)),
            &format!(
                "`cosign_pub` of registry `{}` in .ontology/manifest.ncl",
                grant.registry.id
            ),
        ),
        None => config::public_key(
            cfg.cosign_pub.as_deref(),
            "vault.cosign.pub_path in config.ncl",
        ),
    };
    Ok(key?)
}

/// `<project>/.ontoref/cache/oci`.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join(".ontoref").join("cache").join("oci")
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Each layer's file name: its title when it has one (a safe relative
/// path), else its digest with `:` as `-`. Two layers may not share one.
fn layer_names(pinned: &Pinned, shown: &str) -> Result<Vec<String>, RegistryError> {
    let layers = &pinned.manifest.layers;
    if layers.is_empty() {
        return Err(RegistryError::Invalid {
            reference: shown.to_owned(),
            detail: "the manifest has no layers".into(),
        });
    }
    if layers.len() > MAX_LAYERS {
        return Err(RegistryError::TooLarge {
            reference: shown.to_owned(),
            what: format!("the layer count ({})", layers.len()),
            size: None,
            limit: MAX_LAYERS as u64,
        });
    }
    let mut names: Vec<String> = Vec::new();
    for layer in layers {
        let name = match layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(TITLE_ANNOTATION))
        {
            Some(title) => {
                safe_title(title).map_err(|why| RegistryError::UnsafePath {
                    reference: shown.to_owned(),
                    path: crate::error::clip(title),
                    why,
                })?;
                title.clone()
            }
            None => layer.digest.replace(':', "-"),
        };
        let clash = names.iter().any(|n| {
            n == &name || n.starts_with(&format!("{name}/")) || name.starts_with(&format!("{n}/"))
        });
        if clash {
            return Err(RegistryError::Invalid {
                reference: shown.to_owned(),
                detail: format!("two layers are both named `{}`", crate::error::clip(&name)),
            });
        }
        names.push(name);
    }
    Ok(names)
}

/// Why a layer title is not a safe relative path, if it is not.
fn safe_title(title: &str) -> Result<(), String> {
    if title.is_empty() || title.len() > 255 {
        return Err("a title must be 1 to 255 bytes".into());
    }
    if title.starts_with('/') || title.contains('\\') || title.contains('\0') {
        return Err("it is an absolute path or holds `\\` or NUL".into());
    }
    for part in title.split('/') {
        if part.is_empty() || part == "." {
            return Err("it has an empty or `.` component".into());
        }
        if part == ".." {
            return Err("it climbs out of the artifact's directory".into());
        }
        if part.chars().any(char::is_control) {
            return Err("it holds a control character".into());
        }
    }
    Ok(())
}

/// The cached artifact `digest`, when its record names `signed_by` and
/// every file still has its size and hash.
fn cached(cache: &Path, digest: &str, signed_by: &str, root: &Path, seal: &Seal) -> Option<Pulled> {
    let record_path = cache.join(format!("{}.json", digest.replace(':', "-")));
    let text =
        crate::fsread::read_text(&record_path, 1 << 20, crate::fsread::Links::Refuse).ok()?;
    let sealed: SealedRecord = serde_json::from_str(&text).ok()?;
    if !seal.verify(sealed.record.as_bytes(), &sealed.mac) {
        tracing::info!(record = %record_path.display(), "a cache record is not sealed by this vault's key; pulling again");
        return None;
    }
    let rec: CacheRecord = serde_json::from_str(&sealed.record).ok()?;
    if rec.digest != digest || rec.signed_by != signed_by {
        return None;
    }
    for f in &rec.files {
        let data =
            crate::fsread::read(&root.join(&f.path), MAX_LAYER, crate::fsread::Links::Refuse)
                .ok()?;
        if data.len() as u64 != f.size || hex(&Sha256::digest(&data)) != f.sha256 {
            tracing::info!(file = %f.path, "a cached artifact file changed; pulling again");
            return None;
        }
    }
    Some(Pulled {
        target: String::new(),
        digest: rec.digest,
        media_type: rec.media_type,
        files: rec.files,
        signed_by: rec.signed_by,
        cached: true,
    })
}

/// Writes each layer under its name in `dir`.
fn stage(dir: &Path, names: &[String], contents: &[Vec<u8>]) -> Result<(), RegistryError> {
    for (name, data) in names.iter().zip(contents) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RegistryError::io("create", parent, &e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| RegistryError::io("create", &path, &e))?;
        std::io::Write::write_all(&mut file, data)
            .map_err(|e| RegistryError::io("write", &path, &e))?;
    }
    Ok(())
}

/// Swaps the staged directory in for `final_dir`, then writes the record
/// (last, so a crash leaves an unrecorded directory that the next pull
/// replaces).
fn store(
    cache: &Path,
    final_dir: &Path,
    staging: tempfile::TempDir,
    pulled: &Pulled,
    seal: &Seal,
) -> Result<(), RegistryError> {
    let record_path = cache.join(format!("{}.json", pulled.digest.replace(':', "-")));
    let _ = std::fs::remove_file(&record_path);
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir)
            .map_err(|e| RegistryError::io("remove", final_dir, &e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, final_dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        RegistryError::io("rename", final_dir, &e)
    })?;
    let rec = CacheRecord {
        digest: pulled.digest.clone(),
        media_type: pulled.media_type.clone(),
        signed_by: pulled.signed_by.clone(),
        files: pulled.files.clone(),
    };
    let record = serde_json::to_string(&rec).map_err(|e| RegistryError::Invalid {
        reference: pulled.digest.clone(),
        detail: format!("cannot serialise the cache record: {e}"),
    })?;
    let mac = seal.sign(record.as_bytes());
    crate::registry::write_json(&record_path, &SealedRecord { record, mac })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_must_stay_inside_the_directory() {
        for ok in ["contract.ncl", "a/b.json", "x..y"] {
            assert!(safe_title(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "a\0b",
        ] {
            assert!(safe_title(bad).is_err(), "{bad:?}");
        }
    }
}
