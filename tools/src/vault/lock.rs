//! Editing the team's vault under a registry lock: `secrets open` takes the
//! lock and syncs, `secrets close` shows what changed, packs the vault
//! deterministically, pushes it, signs it and releases the lock, and
//! `secrets force-unlock` breaks a lock ('RW roles only).
//!
//! The lock is a small artifact at `<endpoint>/src-vault/<id>:lock` naming
//! its holder (actor and host), when it was taken and `expires_at` (TTL 60
//! minutes). A released lock is the same record with `released` set, pushed
//! over it (the distribution API has no delete that every registry allows).
//!
//! The registry has no compare-and-swap, so the race between two openers is
//! detected rather than prevented: each pushes its own record (it carries a
//! random nonce, so two records never share a digest), then reads the tag
//! back, and holds the lock only if the tag still names its own record. Of
//! two openers whose pushes interleave, the later push wins the tag and the
//! earlier one sees the other's record on its read-back and is refused
//! with `vault-locked`. Should both read back before either push lands on
//! the other's read (a window of one round trip), `close` re-reads the tag
//! before pushing and refuses with `vault-lock-not-held` whoever no longer
//! holds it, so at most one edit is ever published.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::engine::Engine;
use crate::error::ToolError;
use crate::hex::encode as hex;
use crate::registry::RegistryError;
use crate::registry::archive;
use crate::registry::client::{Layer, Remote, artifact_manifest, sha256_digest};
use crate::registry::cosign::CosignError;
use crate::registry::signing::{self, SigningKey};
use crate::vault::VaultError;
use crate::vault::fetch::{audited, decrypt_file};
use crate::vault::gate::{self, Known};
use crate::vault::settings::{Access, Scope, VaultPaths};
use crate::vault::sops::SopsFile;
use crate::vault::sync::{self, Source, SyncOptions, SyncState, Synced, VAULT_ARTIFACT_TYPE};
use crate::vault::target::namespace_matches;

/// The lock artifact's `artifactType`.
pub const LOCK_ARTIFACT_TYPE: &str = "application/vnd.ontoref.src-vault.lock.v1";
/// The lock record layer's media type.
pub const LOCK_MEDIA_TYPE: &str = "application/vnd.ontoref.src-vault.lock.v1+json";
/// How long a lock lives.
pub const LOCK_TTL: chrono::Duration = chrono::Duration::minutes(60);
/// The largest lock record read.
const MAX_LOCK: u64 = 16 << 10;

/// The lock record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LockRecord {
    /// The actor holding it.
    pub holder: String,
    /// The host it was taken on.
    pub host: String,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// Random, so no two records share a digest.
    pub nonce: String,
    /// Who released it and how (`close`, `force-unlock by <actor>`), once
    /// released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
}

impl LockRecord {
    fn live(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.released.is_none()
            && chrono::DateTime::parse_from_rfc3339(&self.expires_at)
                .map(|t| t.with_timezone(&chrono::Utc) > now)
                .unwrap_or(false)
    }
}

/// What `open` leaves in the vault directory (`lock.json`): the lock this
/// machine holds and the vault as it was synced, to diff at close.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    lock_digest: String,
    record: LockRecord,
    base_digest: String,
    base: BTreeMap<String, FileState>,
}

/// One file's state, for the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileState {
    /// SHA-256 of the bytes (hex).
    pub sha256: String,
    /// For a SOPS file, its age recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

/// The result of `open`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Opened {
    /// The lock taken.
    pub lock: LockRecord,
    /// The lock artifact's digest.
    pub lock_digest: String,
    /// The sync that followed.
    pub synced: Synced,
}

/// One changed file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Change {
    /// Relative to the vault directory.
    pub path: String,
    /// `added`, `removed`, `re-encrypted` (a SOPS file) or `changed`.
    pub change: String,
    /// Its recipients now (SOPS files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Recipients added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients_added: Vec<String>,
    /// Recipients removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients_removed: Vec<String>,
}

/// What `close` would publish.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClosePlan {
    /// The vault.
    pub vault_id: String,
    /// The changes since `open` (never a value).
    pub changes: Vec<Change>,
    /// The manifest digest the pushed vault will have (the same vault always
    /// packs to the same bytes).
    pub digest: String,
    #[serde(skip)]
    packed: Vec<u8>,
}

/// The result of `close`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Closed {
    /// The vault.
    pub vault_id: String,
    /// The pushed vault's digest.
    pub digest: String,
    /// The signing key's fingerprint.
    pub signed_by: String,
    /// What changed.
    pub changes: Vec<Change>,
}

/// The result of `force-unlock`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Unlocked {
    /// The lock that was broken, if there was one.
    pub broken: Option<LockRecord>,
    /// The released record's digest.
    pub lock_digest: String,
}

/// This machine's name.
fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes a
    // NUL-terminated name (truncated if longer).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    // getrandom through age's dependency tree is not exposed; OsRng is.
    use aes_gcm::aead::rand_core::RngCore as _;
    aes_gcm::aead::OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// The actor, checked to hold an 'RW role whose scope allows `push` to
/// the vault's own repository (`src-vault/<id>`).
async fn rw_actor(engine: &Engine, src: &Source, known: &mut Known) -> Result<String, ToolError> {
    let file = ".ontoref/project.ncl".to_owned();
    let sops = src.sops.as_ref();
    let bindings = sops
        .and_then(|s| s.actor_key_bindings.clone())
        .unwrap_or_default();
    let actor = engine.actor().filter(|a| !a.is_empty());
    let Some((actor, role)) = actor.and_then(|a| bindings.get(&a).cloned().map(|r| (a, r))) else {
        return Err(VaultError::ActorNotBound {
            actor: engine.actor(),
            file,
            known: bindings.keys().cloned().collect(),
        }
        .into());
    };
    known.role = Some(role.clone());
    let scope_path = src.vault.scope(&role);
    let scope = engine
        .loader()
        .load_in::<Scope>(&scope_path, &engine.vault_sandbox(&src.vault))
        .await?
        .ok_or_else(|| VaultError::ScopeNotLoaded {
            role: role.clone(),
            path: scope_path.display().to_string(),
            vault_id: src.vault.id.clone(),
        })?;
    let shown = scope_path.display().to_string();
    if !scope.bound_actor.contains(&actor) {
        return Err(VaultError::ActorNotInBoundActor {
            actor,
            role,
            file: shown,
            bound: scope.bound_actor.clone(),
        }
        .into());
    }
    if scope.access != Access::Rw || !scope.ops.iter().any(|o| o == "push") {
        return Err(VaultError::OpNotInScope {
            op: "push".into(),
            role,
            file: shown,
            ops: scope.ops.clone(),
        }
        .into());
    }
    let repo = sync::repository(&src.vault.id);
    if !scope
        .namespaces
        .iter()
        .any(|ns| namespace_matches(ns, &repo))
    {
        return Err(VaultError::TargetNotInScope {
            target: repo.clone(),
            reason: format!("(repository `{repo}`) matches none of the scope's namespaces"),
            role,
            file: shown,
            namespaces: scope.namespaces.clone(),
        }
        .into());
    }
    Ok(actor)
}

/// The current lock record and its digest, if the tag exists.
async fn current_lock(
    remote: &Remote,
    repo: &str,
) -> Result<Option<(String, LockRecord)>, RegistryError> {
    let pinned = match remote.manifest_at_tag(repo, "lock").await {
        Ok(p) => p,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let digest = pinned.digest.clone();
    let shown = format!("{}/{repo}:lock", remote.endpoint());
    let Some(layer) = pinned
        .manifest
        .layers
        .iter()
        .find(|l| l.media_type == LOCK_MEDIA_TYPE)
    else {
        return Err(RegistryError::Invalid {
            reference: shown,
            detail: "the lock artifact has no lock record layer".into(),
        });
    };
    let bytes = remote.blob(repo, layer, MAX_LOCK).await?;
    let rec: LockRecord = serde_json::from_slice(&bytes).map_err(|e| RegistryError::Invalid {
        reference: shown,
        detail: format!("the lock record does not parse: {e}"),
    })?;
    Ok(Some((digest, rec)))
}

async fn push_lock(remote: &Remote, repo: &str, rec: &LockRecord) -> Result<String, RegistryError> {
    let data = serde_json::to_vec(rec).map_err(|e| RegistryError::Invalid {
        reference: format!("{}/{repo}:lock", remote.endpoint()),
        detail: e.to_string(),
    })?;
    remote
        .push_artifact(
            repo,
            "lock",
            LOCK_ARTIFACT_TYPE,
            vec![Layer {
                data,
                media_type: LOCK_MEDIA_TYPE.to_owned(),
                annotations: BTreeMap::new(),
            }],
            BTreeMap::new(),
        )
        .await
}

fn locked(vault_id: &str, rec: &LockRecord) -> RegistryError {
    RegistryError::VaultLocked {
        vault_id: vault_id.to_owned(),
        holder: rec.holder.clone(),
        host: rec.host.clone(),
        expires_at: rec.expires_at.clone(),
    }
}

/// Takes the vault's registry lock, then syncs.
pub async fn open(engine: &Engine, vault_id: Option<&str>) -> Result<Opened, ToolError> {
    audited(
        engine,
        "open",
        format!("src-vault/{}", vault_id.unwrap_or("")),
        async |known, digest, target| {
            let src = sync::source(engine, vault_id).await?;
            known.vault = Some(src.vault.clone());
            *target = src.reference("lock");
            let actor = rw_actor(engine, &src, known).await?;
            let auth = sync::registry_auth(engine, &src).await?;
            let remote = Remote::new(&src.endpoint, auth, &src.cfg.settings);
            let repo = sync::repository(&src.vault.id);
            let now = chrono::Utc::now();
            let me = host();
            if let Some((_, rec)) = current_lock(&remote, &repo).await?
                && rec.live(now)
                && !(rec.holder == actor && rec.host == me)
            {
                return Err(locked(&src.vault.id, &rec).into());
            }
            let rec = LockRecord {
                holder: actor,
                host: me,
                taken_at: crate::vault::audit::now(),
                expires_at: (now + LOCK_TTL).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                nonce: nonce(),
                released: None,
            };
            let pushed = push_lock(&remote, &repo, &rec).await?;
            *digest = Some(pushed.clone());
            // The read-back that detects a racing opener.
            match current_lock(&remote, &repo).await? {
                Some((d, _)) if d == pushed => {}
                Some((_, other)) => return Err(locked(&src.vault.id, &other).into()),
                None => {
                    return Err(RegistryError::LockNotHeld {
                        vault_id: src.vault.id.clone(),
                        detail: "the lock pushed a moment ago is gone from the registry".into(),
                    }
                    .into());
                }
            }
            let synced = sync::sync(
                engine,
                &SyncOptions {
                    vault_id: Some(src.vault.id.clone()),
                    progress: None,
                },
            )
            .await?;
            let held = Held {
                lock_digest: pushed.clone(),
                record: rec.clone(),
                base_digest: synced.state.digest.clone(),
                base: snapshot(&src.vault),
            };
            crate::registry::write_json(&src.vault.dir.join("lock.json"), &held)?;
            Ok(Opened {
                lock: rec,
                lock_digest: pushed,
                synced,
            })
        },
    )
    .await
}

/// The state of the vault's synced files.
fn snapshot(vault: &VaultPaths) -> BTreeMap<String, FileState> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    collect(&vault.dir.join("src-vault"), &mut files);
    files.push(vault.access());
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&vault.dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let recipients = if rel.ends_with(".sops.yaml") {
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| SopsFile::parse(t).ok())
                .map(|f| {
                    let mut r = f.recipients();
                    r.sort();
                    r
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        out.insert(
            rel,
            FileState {
                sha256: hex(&Sha256::digest(&bytes)),
                recipients,
            },
        );
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            collect(&e.path(), out);
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
}

fn diff(base: &BTreeMap<String, FileState>, now: &BTreeMap<String, FileState>) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, state) in now {
        match base.get(path) {
            None => out.push(Change {
                path: path.clone(),
                change: "added".into(),
                recipients: state.recipients.clone(),
                recipients_added: Vec::new(),
                recipients_removed: Vec::new(),
            }),
            Some(old) if old != state => out.push(Change {
                path: path.clone(),
                change: if path.ends_with(".sops.yaml") {
                    "re-encrypted".into()
                } else {
                    "changed".into()
                },
                recipients: state.recipients.clone(),
                recipients_added: state
                    .recipients
                    .iter()
                    .filter(|r| !old.recipients.contains(r))
                    .cloned()
                    .collect(),
                recipients_removed: old
                    .recipients
                    .iter()
                    .filter(|r| !state.recipients.contains(r))
                    .cloned()
                    .collect(),
            }),
            Some(_) => {}
        }
    }
    for (path, old) in base {
        if !now.contains_key(path) {
            out.push(Change {
                path: path.clone(),
                change: "removed".into(),
                recipients: old.recipients.clone(),
                recipients_added: Vec::new(),
                recipients_removed: Vec::new(),
            });
        }
    }
    out
}

fn read_held(vault: &VaultPaths) -> Result<Held, RegistryError> {
    let path = vault.dir.join("lock.json");
    let not_held = |detail: String| RegistryError::LockNotHeld {
        vault_id: vault.id.clone(),
        detail,
    };
    let text =
        crate::fsread::read_text(&path, 4 << 20, crate::fsread::Links::Refuse).map_err(|_| {
            not_held(
                "this machine did not open it (no lock.json); run `ontoref secrets open` first"
                    .into(),
            )
        })?;
    serde_json::from_str(&text)
        .map_err(|e| not_held(format!("{} does not parse: {e}", path.display())))
}

/// What `close` would publish: the changes since `open` and the packed
/// vault's digest. Checks that this machine still holds the lock.
pub async fn close_plan(engine: &Engine, vault_id: Option<&str>) -> Result<ClosePlan, ToolError> {
    let src = sync::source(engine, vault_id).await?;
    let held = read_held(&src.vault)?;
    let changes = diff(&held.base, &snapshot(&src.vault));
    let reference = src.reference("latest");
    let (packed, _) = archive::pack(
        &src.vault.dir,
        &["access.sops.yaml", "src-vault"],
        &reference,
    )?;
    let digest = sha256_digest(&artifact_manifest(
        VAULT_ARTIFACT_TYPE,
        &[vault_layer(packed.clone())],
        BTreeMap::new(),
    ));
    Ok(ClosePlan {
        vault_id: src.vault.id.clone(),
        changes,
        digest,
        packed,
    })
}

fn vault_layer(packed: Vec<u8>) -> Layer {
    Layer {
        data: packed,
        media_type: archive::VAULT_LAYER_MEDIA_TYPE.to_owned(),
        annotations: BTreeMap::new(),
    }
}

/// Publishes the vault of `plan`: re-checks the lock, pushes the packed
/// vault at `:latest`, signs it with `vault.cosign.key_path`, releases the
/// lock.
pub async fn close(
    engine: &Engine,
    vault_id: Option<&str>,
    plan: ClosePlan,
) -> Result<Closed, ToolError> {
    audited(engine, "close", format!("src-vault/{}", vault_id.unwrap_or("")), async |known, digest, target| {
        let src = sync::source(engine, vault_id).await?;
        known.vault = Some(src.vault.clone());
        *target = src.reference("latest");
        let actor = rw_actor(engine, &src, known).await?;
        let held = read_held(&src.vault)?;
        if held.record.holder != actor {
            return Err(RegistryError::LockNotHeld {
                vault_id: src.vault.id.clone(),
                detail: format!(
                    "it was opened here by {}, not by {actor}",
                    held.record.holder
                ),
            }
            .into());
        }
        let auth = sync::registry_auth(engine, &src).await?;
        let remote = Remote::new(&src.endpoint, auth, &src.cfg.settings);
        let repo = sync::repository(&src.vault.id);
        match current_lock(&remote, &repo).await? {
            Some((d, rec)) if d == held.lock_digest && rec.live(chrono::Utc::now()) => {}
            Some((_, rec)) if rec.live(chrono::Utc::now()) => {
                return Err(RegistryError::LockNotHeld {
                    vault_id: src.vault.id.clone(),
                    detail: format!("the lock is {}'s on {} now (until {})", rec.holder, rec.host, rec.expires_at),
                }
                .into());
            }
            _ => {
                return Err(RegistryError::LockNotHeld {
                    vault_id: src.vault.id.clone(),
                    detail: "the lock expired or was released; open again, which syncs (edits since are kept only if you copy them first)".into(),
                }
                .into());
            }
        }
        let key = signing_key(engine, &src).await?;
        let pushed = remote
            .push_artifact(&repo, "latest", VAULT_ARTIFACT_TYPE, vec![vault_layer(plan.packed)], BTreeMap::new())
            .await?;
        *digest = Some(pushed.clone());
        let reference = format!("{}/{repo}", src.endpoint);
        let payload = signing::payload(&reference, &pushed);
        let signature = key.sign(&payload);
        remote.push_signature(&repo, &pushed, payload, signature).await?;
        let released = LockRecord {
            released: Some(format!("close by {actor}")),
            nonce: nonce(),
            ..held.record.clone()
        };
        push_lock(&remote, &repo, &released).await?;
        let state = SyncState {
            reference: src.reference("latest"),
            digest: pushed.clone(),
            synced_at: crate::vault::audit::now(),
            signed_by: key.fingerprint().to_owned(),
        };
        crate::registry::write_json(&src.vault.sync_state(), &state)?;
        let _ = std::fs::remove_file(src.vault.dir.join("lock.json"));
        Ok(Closed {
            vault_id: src.vault.id.clone(),
            digest: pushed,
            signed_by: key.fingerprint().to_owned(),
            changes: plan.changes,
        })
    })
    .await
}

/// The private key of `vault.cosign.key_path`, unlocked with the access
/// file's `cosign_password` when it is encrypted.
async fn signing_key(engine: &Engine, src: &Source) -> Result<SigningKey, ToolError> {
    let Some(path) = src.cfg.cosign_key.as_deref() else {
        return Err(RegistryError::from(CosignError::KeyMissing {
            detail: "vault.cosign.key_path in config.ncl is not set (pushes are signed with it)"
                .into(),
        })
        .into());
    };
    let shown = path.display().to_string();
    let text = zeroize::Zeroizing::new(
        crate::fsread::read_text(path, 64 << 10, crate::fsread::Links::Follow).map_err(|e| {
            RegistryError::from(CosignError::KeyMissing {
                detail: format!("vault.cosign.key_path names {shown}, which cannot be read: {e}"),
            })
        })?,
    );
    let password = if text.contains("ENCRYPTED") && src.vault.access().is_file() {
        let identities = gate::master_key(engine, src.sops.as_ref()).await?;
        engine.vault().count_decryption();
        let access = src.vault.access();
        let plain = decrypt_file(&access, &access.display().to_string(), &identities)?;
        plain.get_str("cosign_password")
    } else {
        None
    };
    Ok(
        SigningKey::from_pem(&text, &shown, password.as_ref().map(|p| p.as_bytes()))
            .map_err(RegistryError::from)?,
    )
}

/// Breaks the vault's lock ('RW roles only); audited.
pub async fn force_unlock(engine: &Engine, vault_id: Option<&str>) -> Result<Unlocked, ToolError> {
    audited(
        engine,
        "force-unlock",
        format!("src-vault/{}", vault_id.unwrap_or("")),
        async |known, digest, target| {
            let src = sync::source(engine, vault_id).await?;
            known.vault = Some(src.vault.clone());
            *target = src.reference("lock");
            let actor = rw_actor(engine, &src, known).await?;
            let auth = sync::registry_auth(engine, &src).await?;
            let remote = Remote::new(&src.endpoint, auth, &src.cfg.settings);
            let repo = sync::repository(&src.vault.id);
            let current = current_lock(&remote, &repo).await?.map(|(_, r)| r);
            let now = crate::vault::audit::now();
            let released = LockRecord {
                holder: current
                    .as_ref()
                    .map(|r| r.holder.clone())
                    .unwrap_or_default(),
                host: current.as_ref().map(|r| r.host.clone()).unwrap_or_default(),
                taken_at: current
                    .as_ref()
                    .map(|r| r.taken_at.clone())
                    .unwrap_or_else(|| now.clone()),
                expires_at: now,
                nonce: nonce(),
                released: Some(format!("force-unlock by {actor} on {}", host())),
            };
            let pushed = push_lock(&remote, &repo, &released).await?;
            *digest = Some(pushed.clone());
            Ok(Unlocked {
                broken: current.filter(|r| r.released.is_none()),
                lock_digest: pushed,
            })
        },
    )
    .await
}
