//! The gate: the protocol's fail-closed checks, in order, before any
//! decryption. Each refusal is a named [`VaultError`]. The gate reads only
//! declarative files (project file, scope, manifest) and checks that the
//! credential file and the master key exist and can be read; decrypting is
//! the caller's next step, with the [`Grant`] the gate returns.

use std::path::PathBuf;

use crate::engine::Engine;
use crate::error::{ToolError, clip};
use crate::manifest::Registry;
use crate::project::ProjectFile;
use crate::vault::VaultError;
use crate::vault::audit::AuditKey;
use crate::vault::key::{Identities, KeyCandidate, KeySource, resolve};
use crate::vault::settings::{
    Access, GlobalConfig, Scope, SopsSettings, VaultPaths, expand, inside, is_safe_component,
};
use crate::vault::target::{Target, namespace_matches};

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// A repository reference, e.g. `domains/acme/contract:1.0`.
    pub target: String,
    /// `pull` or `push` (anything else is refused by the gate).
    pub op: String,
    /// The registry entry; `default` when absent.
    pub registry_id: Option<String>,
    /// Whether the secret values are wanted in the result.
    pub reveal: bool,
}

/// What the audit record needs, filled in as the gate learns it.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The actor's role, once found.
    pub role: Option<String>,
    /// The vault, once known.
    pub vault: Option<VaultPaths>,
    /// The audit log's key, when the gate read the master key (step 14).
    pub audit_key: Option<AuditKey>,
}

/// Everything the gate allowed, ready for decryption.
#[derive(Debug)]
pub struct Grant {
    /// The actor.
    pub actor: String,
    /// The actor's role.
    pub role: String,
    /// The role's access.
    pub access: Access,
    /// The registry entry.
    pub registry: Registry,
    /// The target's repository path.
    pub repository: String,
    /// The credential file.
    pub credential: PathBuf,
    /// The credential file as shown in messages.
    pub credential_shown: String,
    /// The actor's identities.
    pub identities: Identities,
    /// The vault.
    pub vault: VaultPaths,
}

/// The project's vault id: `sops.vault_id`, else the slug, else the root
/// directory's name.
pub fn vault_id(engine: &Engine, project: Option<&ProjectFile>) -> Result<String, VaultError> {
    let declared = project.and_then(|p| p.sops.as_ref().and_then(|s| s.vault_id.clone()));
    let id = declared
        .clone()
        .or_else(|| project.and_then(|p| p.slug.clone()))
        .or_else(|| {
            engine
                .project()
                .root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "project".to_owned());
    if is_safe_component(&id) {
        Ok(id)
    } else {
        Err(VaultError::Invalid(format!(
            ".ontoref/project.ncl: vault id `{id}` (from {}) is not a plain name (letters, digits, `-`, `_`, `.`)",
            if declared.is_some() {
                "`sops.vault_id`"
            } else {
                "`slug`"
            }
        )))
    }
}

/// The master key candidates: the project's, then the config home's.
pub async fn key_candidates(
    engine: &Engine,
    sops: Option<&SopsSettings>,
) -> Result<Vec<KeyCandidate>, ToolError> {
    let mut out = Vec::new();
    if let Some(p) = sops.and_then(|s| s.master_key_path.as_deref()) {
        out.push(KeyCandidate {
            source: KeySource::Project,
            setting: ".ontoref/project.ncl".to_owned(),
            path: expand(p, engine.project().root()),
        });
    }
    let config_file = engine.config_home().join("config.ncl");
    if let Some(config) = engine
        .loader()
        .load_in::<GlobalConfig>(&config_file, &engine.config_sandbox())
        .await?
        && let Some(p) = config
            .vault
            .as_ref()
            .and_then(|v| v.master_key_path.as_deref())
    {
        out.push(KeyCandidate {
            source: KeySource::Global,
            setting: config_file.display().to_string(),
            path: expand(p, engine.config_home()),
        });
    }
    Ok(out)
}

/// Reads the master key: the first configured identity file that is
/// readable, else `kage-not-resolvable` naming each one tried.
pub async fn master_key(
    engine: &Engine,
    sops: Option<&SopsSettings>,
) -> Result<Identities, ToolError> {
    let candidates = key_candidates(engine, sops).await?;
    Ok(resolve(&candidates).map_err(|tried| VaultError::KageNotResolvable { tried })?)
}

/// The audit log key of vault `vault_id`, from the master key the gate
/// uses: the project's `sops.master_key_path`, else the config home's
/// `vault.master_key_path`. Reading the identity file decrypts nothing, so
/// refused attempts are keyed too. Fails with `kage-not-resolvable` when no
/// identity file is readable, and with the project file's own error when it
/// does not load (its key setting is then unknown: guessing could key the
/// line with another key).
pub async fn audit_key(engine: &Engine, vault_id: &str) -> Result<AuditKey, ToolError> {
    let project = engine.project_file().await?;
    let sops = project.as_deref().and_then(|p| p.sops.as_ref());
    let identities = master_key(engine, sops).await?;
    Ok(derive_audit_key(&identities, vault_id)?)
}

fn derive_audit_key(identities: &Identities, vault_id: &str) -> Result<AuditKey, VaultError> {
    AuditKey::derive(identities, vault_id).map_err(|reason| VaultError::KageNotResolvable {
        tried: vec![format!("{}: {reason}", identities.path.display())],
    })
}

/// Runs the gate for `actor`. `known` collects the role and vault as they
/// are found, for the audit record, whatever the outcome.
pub async fn check(
    engine: &Engine,
    actor: Option<&str>,
    req: &Request,
    known: &mut Known,
) -> Result<Grant, ToolError> {
    let shown = |p: &std::path::Path| engine.loader().evaluator().display(p);
    let project_path = engine.project().file(".ontoref/project.ncl");
    // Loaded once, before the first check, so that even the earliest
    // refusal is audited in the project's own vault log.
    let loaded = if project_path.is_file() {
        Some(engine.project_file().await)
    } else {
        None
    };
    let early = loaded
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .and_then(|p| p.as_deref());
    known.vault = vault_id(engine, early)
        .or_else(|_| vault_id(engine, None))
        .ok()
        .map(|id| VaultPaths::new(engine.config_home(), &id));
    // 1. The op.
    if req.op != "pull" && req.op != "push" {
        return Err(VaultError::InvalidOp { op: clip(&req.op) }.into());
    }
    // 2. The project file.
    let Some(project_file) = loaded else {
        return Err(VaultError::ProjectNclMissing {
            path: shown(&project_path),
        }
        .into());
    };
    let project_file = project_file?;
    let project = project_file.as_deref();
    let vault = VaultPaths::new(engine.config_home(), &vault_id(engine, project)?);
    known.vault = Some(vault.clone());
    let file = shown(&project_path);
    let sops = project.and_then(|p| p.sops.as_ref());
    if sops.is_some_and(|s| !s.enabled) {
        return Err(VaultError::VaultDisabled { file }.into());
    }
    // 3. Actor bindings.
    let bindings = match sops.and_then(|s| s.actor_key_bindings.as_ref()) {
        None => {
            return Err(VaultError::ActorBindingsMissing {
                file,
                state: "absent",
            }
            .into());
        }
        Some(b) if b.is_empty() => {
            return Err(VaultError::ActorBindingsMissing {
                file,
                state: "empty",
            }
            .into());
        }
        Some(b) => b,
    };
    // 4. The actor's binding.
    let actor = actor.filter(|a| !a.is_empty());
    let Some((actor, role)) = actor.and_then(|a| bindings.get(a).map(|r| (a, r))) else {
        return Err(VaultError::ActorNotBound {
            actor: actor.map(str::to_owned),
            file,
            known: bindings.keys().cloned().collect(),
        }
        .into());
    };
    known.role = Some(role.clone());
    // 5. The role's scope.
    let scope_path = vault.scope(role);
    if !is_safe_component(role) || !scope_path.is_file() {
        return Err(VaultError::ScopeNotLoaded {
            role: role.clone(),
            path: if is_safe_component(role) {
                scope_path.display().to_string()
            } else {
                format!("(role `{role}` is not a plain file name)")
            },
            vault_id: vault.id.clone(),
        }
        .into());
    }
    let scope: std::sync::Arc<Scope> = engine
        .loader()
        .load_in::<Scope>(&scope_path, &engine.vault_sandbox(&vault))
        .await?
        .ok_or_else(|| VaultError::ScopeNotLoaded {
            role: role.clone(),
            path: scope_path.display().to_string(),
            vault_id: vault.id.clone(),
        })?;
    let scope_file = shown(&scope_path);
    // 6. bound_actor.
    if !scope.bound_actor.iter().any(|a| a == actor) {
        return Err(VaultError::ActorNotInBoundActor {
            actor: actor.to_owned(),
            role: role.clone(),
            file: scope_file,
            bound: scope.bound_actor.clone(),
        }
        .into());
    }
    // 7. ops.
    if !scope.ops.contains(&req.op) {
        return Err(VaultError::OpNotInScope {
            op: req.op.clone(),
            role: role.clone(),
            file: scope_file,
            ops: scope.ops.clone(),
        }
        .into());
    }
    // 8. namespaces.
    let not_in_scope = |reason: String| VaultError::TargetNotInScope {
        target: clip(&req.target),
        reason: clip(&reason),
        role: role.clone(),
        file: scope_file.clone(),
        namespaces: scope.namespaces.clone(),
    };
    let target = Target::parse(&req.target)
        .map_err(|why| not_in_scope(format!("is not a repository reference: it {why}")))?;
    if !scope
        .namespaces
        .iter()
        .any(|ns| namespace_matches(ns, &target.repository))
    {
        return Err(not_in_scope(format!(
            "(repository `{}`) matches none of the scope's namespaces",
            target.repository
        ))
        .into());
    }
    // 8b. reveal.
    if req.reveal {
        let allow = sops.is_some_and(|s| s.allow_reveal);
        let reason = match (scope.access, allow) {
            (Access::Ro, true) => None,
            (Access::Rw, _) => Some(format!(
                "role `{role}` has 'RW access, and only 'RO scopes may reveal"
            )),
            (Access::Ro, false) => Some(format!("{file} does not set `sops.allow_reveal = true`")),
        };
        if let Some(reason) = reason {
            return Err(VaultError::RevealNotAllowed { reason }.into());
        }
    }
    // 9. The manifest.
    let manifest_path = engine.project().file(".ontology/manifest.ncl");
    if !manifest_path.is_file() {
        return Err(VaultError::ManifestNclMissing {
            path: shown(&manifest_path),
        }
        .into());
    }
    let manifest_file = shown(&manifest_path);
    let manifest = engine.manifest().await?;
    // 10. registry_provides.
    let Some(provides) = manifest.as_ref().and_then(|m| m.registry_provides.as_ref()) else {
        return Err(VaultError::RegistryProvidesMissing {
            file: manifest_file,
        }
        .into());
    };
    // 11. The registry entry: the one asked for, else the one whose endpoint
    // the target names, else `default`.
    let by_host = target.host.as_deref().and_then(|h| {
        provides
            .registries
            .iter()
            .find(|r| r.endpoint.eq_ignore_ascii_case(h))
    });
    let wanted = req
        .registry_id
        .clone()
        .or_else(|| by_host.map(|r| r.id.clone()))
        .unwrap_or_else(|| "default".to_owned());
    let Some(registry) = provides.registries.iter().find(|r| r.id == wanted) else {
        return Err(VaultError::RegistryIdUnknown {
            wanted: clip(&wanted),
            file: manifest_file,
            known: provides.registries.iter().map(|r| r.id.clone()).collect(),
        }
        .into());
    };
    if let Some(host) = &target.host
        && !registry.endpoint.eq_ignore_ascii_case(host)
    {
        return Err(VaultError::TargetRegistryMismatch {
            target: clip(&req.target),
            host: clip(host),
            registry: registry.id.clone(),
            endpoint: registry.endpoint.clone(),
        }
        .into());
    }
    // 12. The credential field for the op.
    let (field, relative) = if req.op == "push" {
        ("credential_sops_rw", registry.credential_sops_rw.as_deref())
    } else {
        ("credential_sops", registry.credential_sops.as_deref())
    };
    let Some(relative) = relative else {
        return Err(VaultError::CredentialSopsMissing {
            registry: registry.id.clone(),
            field,
            file: manifest_file,
            problem: format!("has no `{field}` (needed for {})", req.op),
        }
        .into());
    };
    let Some(credential) = inside(&vault.src(), relative) else {
        return Err(VaultError::CredentialSopsMissing {
            registry: registry.id.clone(),
            field,
            file: manifest_file,
            problem: format!("`{field}` = `{relative}` is not a relative path inside src-vault/"),
        }
        .into());
    };
    // 12b. Links may not lead out of src-vault/.
    let src_real = std::fs::canonicalize(vault.src()).unwrap_or_else(|_| vault.src());
    if let Ok(real) = std::fs::canonicalize(&credential)
        && !real.starts_with(&src_real)
    {
        return Err(VaultError::CredentialSopsMissing {
            registry: registry.id.clone(),
            field,
            file: manifest_file,
            problem: format!(
                "`{field}` = `{relative}` links to {}, outside src-vault/",
                real.display()
            ),
        }
        .into());
    }
    // 13. The credential file. One that exists but is not a regular file
    // (a FIFO, a device) is named as such by the bounded read that follows.
    if std::fs::metadata(&credential).is_err() {
        return Err(VaultError::SopsFileNotFound {
            path: credential.display().to_string(),
            vault_id: vault.id.clone(),
        }
        .into());
    }
    // 14. The master key.
    let identities = master_key(engine, sops).await?;
    known.audit_key = derive_audit_key(&identities, &vault.id).ok();
    Ok(Grant {
        actor: actor.to_owned(),
        role: role.clone(),
        access: scope.access,
        registry: registry.clone(),
        repository: target.repository,
        credential_shown: credential.display().to_string(),
        credential,
        identities,
        vault,
    })
}
