//! `secrets sync`: the team's vault from the registry, verified, or a
//! named refusal with the local vault exactly as it was.
//!
//! The artifact is `<sops.registry_endpoint>/src-vault/<vault_id>:latest`.
//! Its tag is resolved to a digest once; the cosign signature over that
//! digest is verified with `vault.cosign.pub_path` (no key, no signature,
//! a bad one, or one naming another digest: each a named error); the
//! manifest and its one layer are fetched by digest; the layer is unpacked
//! by [`archive::unpack`] (no absolute paths, `..`, links or devices; a
//! size limit) into a staging directory beside the vault; the staged files
//! are checked (`access.sops.yaml` present, every `*.sops.yaml` parses as
//! SOPS, every `scopes/*.ncl` passes the Scope contract); and only then are
//! `src-vault/` and `access.sops.yaml` swapped in, `src-vault/` by an atomic
//! exchange of the two directories. The audit log and other local files of
//! the vault directory are never touched. Registry credentials come from
//! the current `access.sops.yaml` when there is one (decrypted in memory),
//! else the pull is anonymous.
//!
//! [`archive::unpack`]: crate::registry::archive::unpack

use std::path::{Path, PathBuf};

use oci_client::manifest::OciDescriptor;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::ToolError;
use crate::fswrite::FileLock;
use crate::nickel::sandbox::{EMBEDDED_ROOT, Sandbox};
use crate::registry::RegistryError;
use crate::registry::archive::{self, Limits, VAULT_LAYER_MEDIA_TYPE};
use crate::registry::client::{Auth, Pinned, Remote};
use crate::registry::config::{self, RegistryConfig};
use crate::registry::cosign::PublicKey;
use crate::vault::VaultError;
use crate::vault::fetch::{audited, decrypt_file};
use crate::vault::gate::{self, Known};
use crate::vault::settings::{Scope, SopsSettings, VaultPaths, is_safe_component};
use crate::vault::sops::SopsFile;

/// A vault artifact's `artifactType`.
pub const VAULT_ARTIFACT_TYPE: &str = "application/vnd.ontoref.src-vault.v1";
/// The repository of vault `id`: `src-vault/<id>`.
pub fn repository(id: &str) -> String {
    format!("src-vault/{id}")
}

pub use crate::registry::client::Progress;

/// What to sync.
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// The vault id [default: the project's].
    pub vault_id: Option<String>,
    /// Called as the layer downloads (a terminal's progress bar).
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("vault_id", &self.vault_id)
            .finish_non_exhaustive()
    }
}

/// What the last sync installed (`<vault>/sync.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncState {
    /// The artifact, `<endpoint>/src-vault/<id>:latest`.
    pub reference: String,
    /// Its manifest digest.
    pub digest: String,
    /// When it was installed (RFC 3339, UTC).
    pub synced_at: String,
    /// The fingerprint of the key its signature verified with.
    pub signed_by: String,
}

/// The result of a sync.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Synced {
    /// The vault.
    pub vault_id: String,
    /// Its directory.
    pub vault_dir: String,
    /// What is installed now.
    pub state: SyncState,
    /// Whether the installed vault was already this digest (nothing moved).
    pub unchanged: bool,
    /// The digest installed before, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The files installed, relative to the vault directory.
    pub files: Vec<String>,
}

/// Where a sync reads from: the vault, its registry and the key.
pub(crate) struct Source {
    pub(crate) vault: VaultPaths,
    pub(crate) sops: Option<SopsSettings>,
    pub(crate) endpoint: String,
    pub(crate) cfg: RegistryConfig,
}

impl Source {
    /// `<endpoint>/src-vault/<id>:<tag>`.
    pub(crate) fn reference(&self, tag: &str) -> String {
        format!("{}/{}:{tag}", self.endpoint, repository(&self.vault.id))
    }
}

/// Finds the vault and its registry from the project file and config.ncl.
pub(crate) async fn source(engine: &Engine, vault_id: Option<&str>) -> Result<Source, ToolError> {
    let project = engine.project_file().await?;
    let sops = project.as_ref().and_then(|p| p.sops.clone());
    let id = match vault_id {
        Some(id) if is_safe_component(id) => id.to_owned(),
        Some(id) => {
            return Err(VaultError::Invalid(format!(
                "vault id `{}` is not a plain name (letters, digits, `-`, `_`, `.`)",
                crate::error::clip(id)
            ))
            .into());
        }
        None => gate::vault_id(engine, project.as_deref())?,
    };
    let vault = VaultPaths::new(engine.config_home(), &id);
    let Some(endpoint) = sops.as_ref().and_then(|s| s.registry_endpoint.clone()) else {
        return Err(RegistryError::NotConfigured {
            file: ".ontoref/project.ncl".into(),
            setting: "sops.registry_endpoint".into(),
            why: "there is no registry to sync the vault with".into(),
        }
        .into());
    };
    let cfg = config::load(engine).await?;
    Ok(Source {
        vault,
        sops,
        endpoint,
        cfg,
    })
}

/// The registry credentials for the vault's registry: `access.sops.yaml`'s
/// `zot_username` / `zot_password` (or `username` / `password`); when that
/// file is absent (a first sync, or the file lost), the credential file of
/// the manifest's registry entry with the same endpoint, if the local vault
/// has it; else anonymous. Decrypted in memory with the master key.
pub(crate) async fn registry_auth(engine: &Engine, src: &Source) -> Result<Auth, ToolError> {
    let access = src.vault.access();
    let file = if access.is_file() {
        Some(access)
    } else {
        let manifest = engine.manifest().await.ok().flatten();
        manifest
            .as_ref()
            .and_then(|m| m.registry_provides.as_ref())
            .and_then(|p| {
                p.registries
                    .iter()
                    .find(|r| r.endpoint.eq_ignore_ascii_case(&src.endpoint))
            })
            .and_then(|r| r.credential_sops.as_deref())
            .and_then(|rel| crate::vault::settings::inside(&src.vault.src(), rel))
            .filter(|p| p.is_file())
    };
    let Some(file) = file else {
        return Ok(Auth::Anonymous);
    };
    let identities = gate::master_key(engine, src.sops.as_ref()).await?;
    engine.vault().count_decryption();
    let shown = file.display().to_string();
    let plain = decrypt_file(&file, &shown, &identities)?;
    let field = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| plain.get_str(n))
            .filter(|v| !v.is_empty())
    };
    match (
        field(["zot_username", "username"]),
        field(["zot_password", "password"]),
    ) {
        (Some(username), Some(password)) => Ok(Auth::Basic {
            username,
            password,
            source: shown,
        }),
        _ => Ok(Auth::Anonymous),
    }
}

/// The public key vault artifacts must be signed with.
pub(crate) fn vault_key(cfg: &RegistryConfig) -> Result<PublicKey, RegistryError> {
    Ok(config::public_key(
        cfg.cosign_pub.as_deref(),
        "vault.cosign.pub_path in config.ncl",
    )?)
}

/// Syncs the vault and records the attempt in its audit log.
pub async fn sync(engine: &Engine, opts: &SyncOptions) -> Result<Synced, ToolError> {
    audited(
        engine,
        "sync",
        String::new(),
        async |known, digest, shown| run(engine, opts, known, digest, shown).await,
    )
    .await
}

async fn run(
    engine: &Engine,
    opts: &SyncOptions,
    known: &mut Known,
    digest_out: &mut Option<String>,
    shown: &mut String,
) -> Result<Synced, ToolError> {
    let src = source(engine, opts.vault_id.as_deref()).await?;
    known.vault = Some(src.vault.clone());
    *shown = src.reference("latest");
    let key = vault_key(&src.cfg)?;
    let auth = registry_auth(engine, &src).await?;
    let remote = Remote::new(&src.endpoint, auth, &src.cfg.settings);
    let repo = repository(&src.vault.id);
    let pinned = remote.manifest_at_tag(&repo, "latest").await?;
    let digest = pinned.digest.clone();
    *digest_out = Some(digest.clone());
    let fetched = fetch_verified(&remote, &repo, &pinned, &key, opts.progress.clone()).await?;
    let previous = read_state(&src.vault).map(|s| s.digest);
    let state = SyncState {
        reference: shown.clone(),
        digest: digest.clone(),
        synced_at: crate::vault::audit::now(),
        signed_by: fetched.signed_by.clone(),
    };
    let files = install(engine, &src.vault, &fetched.layer, shown, &state).await?;
    Ok(Synced {
        vault_id: src.vault.id.clone(),
        vault_dir: src.vault.dir.display().to_string(),
        unchanged: previous.as_deref() == Some(digest.as_str()),
        previous,
        state,
        files,
    })
}

/// A verified vault layer.
pub(crate) struct Fetched {
    pub(crate) layer: Vec<u8>,
    pub(crate) signed_by: String,
}

/// Checks the media types of the manifest `pinned` (the tag resolved once,
/// by fetching it), then verifies its signature while fetching its one
/// vault layer by digest.
pub(crate) async fn fetch_verified(
    remote: &Remote,
    repo: &str,
    pinned: &Pinned,
    key: &PublicKey,
    progress: Option<Progress>,
) -> Result<Fetched, RegistryError> {
    let digest = pinned.digest.as_str();
    let layer = match vault_layer(pinned, remote.endpoint(), repo) {
        Ok(layer) => layer,
        Err(e) => {
            // The signature's verdict comes first, as when all is well.
            remote.verify(repo, digest, key).await?;
            return Err(e);
        }
    };
    let limit = Limits::default().max_bytes;
    // The signature and the layer are fetched at once (their round trips
    // overlap); the layer is used only once the signature verifies, and the
    // signature's refusal is the one reported.
    let (verified, data) = tokio::join!(
        remote.verify(repo, digest, key),
        remote.blob_with_progress(repo, layer, limit, progress)
    );
    let verified = verified?;
    Ok(Fetched {
        layer: data?,
        signed_by: verified.signed_by,
    })
}

/// The one vault layer of `pinned`, once its artifact type and media type
/// are those of a vault.
fn vault_layer<'a>(
    pinned: &'a Pinned,
    endpoint: &str,
    repo: &str,
) -> Result<&'a OciDescriptor, RegistryError> {
    let shown = format!("{endpoint}/{repo}@{}", pinned.digest);
    if pinned.artifact_type() != VAULT_ARTIFACT_TYPE {
        return Err(RegistryError::MediaType {
            reference: shown,
            what: "the manifest's artifactType".into(),
            found: crate::error::clip(pinned.artifact_type()),
            expected: format!("`{VAULT_ARTIFACT_TYPE}`"),
        });
    }
    let [layer] = pinned.manifest.layers.as_slice() else {
        return Err(RegistryError::Invalid {
            reference: shown,
            detail: format!(
                "a vault artifact has exactly one layer; this one has {}",
                pinned.manifest.layers.len()
            ),
        });
    };
    if layer.media_type != VAULT_LAYER_MEDIA_TYPE {
        return Err(RegistryError::MediaType {
            reference: shown,
            what: format!("layer {}", layer.digest),
            found: crate::error::clip(&layer.media_type),
            expected: format!("`{VAULT_LAYER_MEDIA_TYPE}`"),
        });
    }
    Ok(layer)
}

/// The result of `secrets recover --from-registry`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Recovered {
    /// The vault.
    pub vault_id: String,
    /// The restored file.
    pub path: String,
    /// The verified artifact it came from.
    pub digest: String,
    /// The fingerprint of the key its signature verified with.
    pub signed_by: String,
}

/// Restores `access.sops.yaml` alone from the verified vault artifact
/// (disaster recovery: the file lost or damaged); nothing else changes.
/// Audited.
pub async fn recover(engine: &Engine, vault_id: Option<&str>) -> Result<Recovered, ToolError> {
    audited(
        engine,
        "recover",
        String::new(),
        async |known, digest, shown| recover_run(engine, vault_id, known, digest, shown).await,
    )
    .await
}

async fn recover_run(
    engine: &Engine,
    vault_id: Option<&str>,
    known: &mut Known,
    digest_out: &mut Option<String>,
    shown: &mut String,
) -> Result<Recovered, ToolError> {
    let src = source(engine, vault_id).await?;
    known.vault = Some(src.vault.clone());
    *shown = src.reference("latest");
    let key = vault_key(&src.cfg)?;
    let auth = registry_auth(engine, &src).await?;
    let remote = Remote::new(&src.endpoint, auth, &src.cfg.settings);
    let repo = repository(&src.vault.id);
    let pinned = remote.manifest_at_tag(&repo, "latest").await?;
    let digest = pinned.digest.clone();
    *digest_out = Some(digest.clone());
    let fetched = fetch_verified(&remote, &repo, &pinned, &key, None).await?;
    let parent = src
        .vault
        .dir
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            ToolError::Internal(format!(
                "vault directory {} has no parent",
                src.vault.dir.display()
            ))
        })?;
    std::fs::create_dir_all(&src.vault.dir)
        .map_err(|e| RegistryError::io("create", &src.vault.dir, &e))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.staging-", src.vault.id))
        .tempdir_in(&parent)
        .map_err(|e| RegistryError::io("create", &parent, &e))?;
    archive::unpack(&fetched.layer, staging.path(), shown, &Limits::default())?;
    let staged = staging.path().join("access.sops.yaml");
    let text = crate::fsread::read_text(
        &staged,
        crate::vault::fetch::MAX_SOPS_FILE,
        crate::fsread::Links::Refuse,
    )
    .map_err(|e| RegistryError::Invalid {
        reference: shown.clone(),
        detail: format!("access.sops.yaml cannot be read from the artifact: {e}"),
    })?;
    SopsFile::parse(&text).map_err(|e| RegistryError::Invalid {
        reference: shown.clone(),
        detail: format!("access.sops.yaml is not a SOPS file: {e}"),
    })?;
    let access = src.vault.access();
    std::fs::rename(&staged, &access).map_err(|e| RegistryError::io("rename", &access, &e))?;
    Ok(Recovered {
        vault_id: src.vault.id.clone(),
        path: access.display().to_string(),
        digest,
        signed_by: fetched.signed_by,
    })
}

/// The last sync's state, if one was recorded.
pub fn read_state(vault: &VaultPaths) -> Option<SyncState> {
    let text =
        crate::fsread::read_text(&vault.sync_state(), 64 << 10, crate::fsread::Links::Refuse)
            .ok()?;
    serde_json::from_str(&text).ok()
}

/// Unpacks `layer` into a staging directory beside the vault, checks it,
/// and swaps it in. Any failure leaves the vault as it was.
pub(crate) async fn install(
    engine: &Engine,
    vault: &VaultPaths,
    layer: &[u8],
    reference: &str,
    state: &SyncState,
) -> Result<Vec<String>, ToolError> {
    let parent = vault.dir.parent().map(Path::to_path_buf).ok_or_else(|| {
        ToolError::Internal(format!(
            "vault directory {} has no parent",
            vault.dir.display()
        ))
    })?;
    crate::vault::audit::create_private_dir(&parent).map_err(|e| RegistryError::Io {
        what: "create",
        path: parent.display().to_string(),
        reason: e.to_string(),
    })?;
    // One sync of a vault at a time (two would race for the swap), in a
    // staging directory of a fixed name: a vault that did not change is
    // staged at the same paths, so its scope checks are answered by the
    // loader's disk cache.
    let lock_path = parent.join(format!(".{}.sync.lock", vault.id));
    let _lock = FileLock::acquire(&lock_path, std::time::Duration::from_secs(60))
        .await
        .map_err(|(op, e)| RegistryError::io(op, &lock_path, &e))?;
    let staging = Staging::create(parent.join(format!(".{}.staging", vault.id)))?;
    let entries = archive::unpack(layer, &staging.0, reference, &Limits::default())?;
    check_staged(engine, &staging.0, reference).await?;
    std::fs::create_dir_all(&vault.dir).map_err(|e| RegistryError::io("create", &vault.dir, &e))?;
    swap_in(&staging.0, vault)?;
    crate::registry::write_json(&vault.sync_state(), state)?;
    Ok(entries.into_iter().map(|e| e.path).collect())
}

/// A staging directory, removed (with whatever it holds) when dropped.
struct Staging(PathBuf);

impl Staging {
    fn create(path: PathBuf) -> Result<Staging, RegistryError> {
        if path.exists() {
            // Left by a sync that was killed; the lock says none is running.
            std::fs::remove_dir_all(&path).map_err(|e| RegistryError::io("remove", &path, &e))?;
        }
        crate::vault::audit::create_private_dir(&path).map_err(|e| RegistryError::Io {
            what: "create",
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Staging(path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks a staged vault: `access.sops.yaml` present, every `*.sops.yaml`
/// a SOPS file, every `src-vault/scopes/*.ncl` a Scope.
async fn check_staged(engine: &Engine, staged: &Path, reference: &str) -> Result<(), ToolError> {
    let invalid = |detail: String| RegistryError::Invalid {
        reference: reference.to_owned(),
        detail,
    };
    if !staged.join("access.sops.yaml").is_file() {
        return Err(invalid("access.sops.yaml is missing".into()).into());
    }
    if !staged.join("src-vault").is_dir() {
        return Err(invalid("src-vault/ is missing".into()).into());
    }
    let paths = VaultPaths {
        id: String::new(),
        dir: staged.to_path_buf(),
    };
    for rel in paths.sops_files() {
        let path = staged.join(&rel);
        let text = crate::fsread::read_text(
            &path,
            crate::vault::fetch::MAX_SOPS_FILE,
            crate::fsread::Links::Refuse,
        )
        .map_err(|e| invalid(format!("{rel} cannot be read: {e}")))?;
        SopsFile::parse(&text).map_err(|e| invalid(format!("{rel} is not a SOPS file: {e}")))?;
    }
    let scopes = staged.join("src-vault").join("scopes");
    let sandbox = Sandbox::new(
        "the staged vault",
        std::slice::from_ref(&staged.join("src-vault")),
        &[engine.config_home().join("keys")],
        vec![PathBuf::from(EMBEDDED_ROOT)],
    );
    if let Ok(dir) = std::fs::read_dir(&scopes) {
        let mut names: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            if path.extension().and_then(|e| e.to_str()) != Some("ncl") {
                continue;
            }
            let rel = format!(
                "src-vault/scopes/{}",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            match engine.loader().load_in::<Scope>(&path, &sandbox).await {
                Ok(Some(_)) => {}
                Ok(None) => return Err(invalid(format!("{rel} did not load")).into()),
                Err(e) => {
                    return Err(
                        invalid(format!("{rel} does not pass the Scope contract: {e}")).into(),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Moves the staged `src-vault/` and `access.sops.yaml` into the vault:
/// `src-vault/` by an atomic exchange (the old one then removed), the
/// access file by a rename. If the second step fails the first is undone.
fn swap_in(staged: &Path, vault: &VaultPaths) -> Result<(), RegistryError> {
    let new_src = staged.join("src-vault");
    let src = vault.src();
    let had_src = src.exists();
    if had_src {
        exchange(&new_src, &src)?;
    } else {
        std::fs::rename(&new_src, &src).map_err(|e| RegistryError::io("rename", &src, &e))?;
    }
    let access = vault.access();
    if let Err(e) = std::fs::rename(staged.join("access.sops.yaml"), &access) {
        // Undo: put the old src-vault back (or remove the new one).
        if had_src {
            let _ = exchange(&new_src, &src);
        } else {
            let _ = std::fs::rename(&src, &new_src);
        }
        return Err(RegistryError::io("rename", &access, &e));
    }
    // `new_src` now holds the old src-vault; the staging directory's drop
    // removes it.
    Ok(())
}

/// Atomically exchanges two paths (Linux `renameat2(RENAME_EXCHANGE)`).
/// Written by hand: no maintained crate wraps this one system call.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<(), RegistryError> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| RegistryError::Io {
            what: "rename",
            path: p.display().to_string(),
            reason: e.to_string(),
        })
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them
    // relative to the working directory (they are absolute here).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(RegistryError::io(
            "exchange",
            b,
            &std::io::Error::last_os_error(),
        ))
    }
}

/// Elsewhere: move the old one aside, then the new one in (two renames).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> Result<(), RegistryError> {
    let aside = a.with_extension("swap");
    std::fs::rename(b, &aside).map_err(|e| RegistryError::io("rename", b, &e))?;
    std::fs::rename(a, b).map_err(|e| RegistryError::io("rename", b, &e))?;
    std::fs::rename(&aside, a).map_err(|e| RegistryError::io("rename", a, &e))
}
