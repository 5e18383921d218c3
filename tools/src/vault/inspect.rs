//! Looking at a vault without opening it: its status, an inventory of
//! groups, rules, files (with the recipients their sops metadata names) and
//! scopes, the protocol's audit checks, and the `.sops.yaml` the sops tool
//! needs, generated from the project's `recipient_rules`. Nothing here
//! decrypts; only public keys and names are shown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::ToolError;
use crate::paging::{PageKey, page_rows};
use crate::vault::VaultError;
use crate::vault::audit::{self, AuditKey, Keying, Verification};
use crate::vault::gate::{key_candidates, vault_id};
use crate::vault::key::{Identities, KeySource};
use crate::vault::settings::{Access, RecipientRule, Scope, SopsSettings, VaultPaths};
use crate::vault::sops::SopsFile;

/// The project's vault settings and paths, whether or not it declares one.
pub async fn locate(engine: &Engine) -> Result<(Option<SopsSettings>, VaultPaths), ToolError> {
    let project = engine.project_file().await?;
    let id = vault_id(engine, project.as_deref())?;
    let sops = project.as_ref().and_then(|p| p.sops.clone());
    Ok((sops, VaultPaths::new(engine.config_home(), &id)))
}

/// The master key's state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MasterKeyState {
    /// `project`, `global` or `none`.
    pub source: KeySource,
    /// The identity file used (or the first one configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether it reads as an age identity file.
    pub readable: bool,
    /// Its public keys, to compare with files' recipients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Why it is not usable, or a warning (e.g. readable by others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `ontoref_secrets_status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Status {
    /// The vault's id.
    pub vault_id: String,
    /// Its directory.
    pub vault_dir: String,
    /// Whether the project declares a `sops` record.
    pub declared: bool,
    /// Whether the vault is enabled.
    pub enabled: bool,
    /// Whether `src-vault/` is present locally.
    pub synced: bool,
    /// The master key.
    pub master_key: MasterKeyState,
    /// The actor asking (`--actor`, `ONTOREF_ACTOR`, or the HTTP token's).
    pub actor: Option<String>,
    /// The actor's role, when bound.
    pub role: Option<String>,
    /// Scope files in the vault.
    pub scopes: usize,
    /// Credential files (`*.sops.yaml`) in the vault.
    pub credential_files: usize,
    /// Whether `allow_reveal` is set.
    pub allow_reveal: bool,
    /// `sops.registry_endpoint`: where the vault syncs from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_endpoint: Option<String>,
    /// What the last `secrets sync` installed: digest and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<crate::vault::sync::SyncState>,
    /// The audit log, verified with the master key (as `secrets audit-log
    /// --verify` does): keyed or not, lines, MACs, head, truncation.
    pub audit_log: Verification,
}

/// The vault's state; never a secret.
pub async fn status(engine: &Engine) -> Result<Status, ToolError> {
    let (sops, vault) = locate(engine).await?;
    let candidates = key_candidates(engine, sops.as_ref()).await?;
    let resolved = crate::vault::key::resolve(&candidates);
    let audit_key = match &resolved {
        Ok(ids) => AuditKey::derive(ids, &vault.id),
        Err(tried) => Err(tried.join("; ")),
    };
    let audit_log = verify_off_workers(vault.audit_log(), audit_key).await?;
    let master_key = match candidates.first() {
        None => MasterKeyState {
            source: KeySource::None,
            path: None,
            readable: false,
            recipients: Vec::new(),
            problem: Some("no master_key_path is configured".to_owned()),
        },
        Some(first) => match resolved {
            Ok(ids) => MasterKeyState {
                source: ids.source,
                path: Some(ids.path.display().to_string()),
                readable: true,
                problem: loose_permissions(&ids.path),
                recipients: ids.recipients.clone(),
            },
            Err(tried) => MasterKeyState {
                source: first.source,
                path: Some(first.path.display().to_string()),
                readable: false,
                recipients: Vec::new(),
                problem: Some(tried.join("; ")),
            },
        },
    };
    let actor = engine.actor();
    let role = actor.as_ref().and_then(|a| {
        sops.as_ref()
            .and_then(|s| s.actor_key_bindings.as_ref())
            .and_then(|b| b.get(a).cloned())
    });
    Ok(Status {
        vault_id: vault.id.clone(),
        vault_dir: vault.dir.display().to_string(),
        declared: sops.is_some(),
        enabled: sops.as_ref().is_some_and(|s| s.enabled),
        synced: vault.synced(),
        master_key,
        actor,
        role,
        scopes: vault.roles().len(),
        credential_files: vault.sops_files().len(),
        allow_reveal: sops.as_ref().is_some_and(|s| s.allow_reveal),
        registry_endpoint: sops.as_ref().and_then(|s| s.registry_endpoint.clone()),
        last_sync: crate::vault::sync::read_state(&vault),
        audit_log,
    })
}

/// The vault's audit log verified with the key the gate would use, or
/// reported `keyed: unknown` when that key cannot be read.
pub async fn verify_audit_log(
    engine: &Engine,
    vault: &VaultPaths,
) -> Result<Verification, ToolError> {
    let key = crate::vault::gate::audit_key(engine, &vault.id)
        .await
        .map_err(|e| e.to_string());
    verify_off_workers(vault.audit_log(), key).await
}

/// [`audit::verify`] on a blocking thread: it reads up to every segment.
async fn verify_off_workers(
    log: std::path::PathBuf,
    key: Result<AuditKey, String>,
) -> Result<Verification, ToolError> {
    tokio::task::spawn_blocking(move || match &key {
        Ok(k) => audit::verify(&log, Keying::Key(k)),
        Err(why) => audit::verify(&log, Keying::Unavailable(why)),
    })
    .await
    .map_err(|e| ToolError::Internal(format!("the audit log check did not finish: {e}")))
}

fn loose_permissions(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!("the identity file has mode {mode:04o}: others can read it; chmod 0400 it")
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// One credential file in an inventory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileInfo {
    /// Path relative to the vault directory.
    pub path: String,
    /// The age recipients its sops metadata names.
    pub recipients: Vec<String>,
    /// The groups those recipients belong to.
    pub groups: Vec<String>,
    /// The first `recipient_rules` entry matching its path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why its metadata cannot be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One scope in an inventory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScopeInfo {
    /// The role.
    pub role: String,
    /// `RO` or `RW`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The actors bound.
    pub bound_actor: Vec<String>,
    /// Repository globs.
    pub namespaces: Vec<String>,
    /// Ops granted.
    pub ops: Vec<String>,
    /// Why the scope file does not load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Reads every credential file's recipients (metadata only).
pub fn files(vault: &VaultPaths, sops: Option<&SopsSettings>) -> Vec<FileInfo> {
    let groups = sops.map(|s| &s.recipient_groups);
    let rules = sops.map(|s| s.recipient_rules.as_slice()).unwrap_or(&[]);
    vault
        .sops_files()
        .into_iter()
        .map(|path| {
            let parsed = crate::fsread::read_text(
                &vault.dir.join(&path),
                crate::vault::fetch::MAX_SOPS_FILE,
                crate::fsread::Links::Follow,
            )
            .map_err(|e| e.to_string())
            .and_then(|t| SopsFile::parse(&t).map_err(|e| e.to_string()));
            let rule = first_rule(rules, &path).map(|r| r.path.clone());
            match parsed {
                Ok(f) => {
                    let recipients = f.recipients();
                    let in_groups = groups
                        .map(|g| {
                            g.iter()
                                .filter(|(_, keys)| keys.iter().any(|k| recipients.contains(k)))
                                .map(|(name, _)| name.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    FileInfo {
                        path,
                        recipients,
                        groups: in_groups,
                        rule,
                        problem: None,
                    }
                }
                Err(e) => FileInfo {
                    path,
                    recipients: Vec::new(),
                    groups: Vec::new(),
                    rule,
                    problem: Some(e),
                },
            }
        })
        .collect()
}

/// The first rule whose regex matches `path` (sops' creation_rules order).
pub fn first_rule<'a>(rules: &'a [RecipientRule], path: &str) -> Option<&'a RecipientRule> {
    rules.iter().find(|r| {
        regex::Regex::new(&r.path)
            .map(|re| re.is_match(path))
            .unwrap_or(false)
    })
}

/// Every scope of the vault.
pub async fn scopes(engine: &Engine, vault: &VaultPaths) -> Vec<ScopeInfo> {
    let mut out = Vec::new();
    for role in vault.roles() {
        let loaded = engine
            .loader()
            .load_in::<Scope>(&vault.scope(&role), &engine.vault_sandbox(vault))
            .await;
        out.push(match loaded {
            Ok(Some(s)) => ScopeInfo {
                role,
                access: Some(s.access),
                bound_actor: s.bound_actor.clone(),
                namespaces: s.namespaces.clone(),
                ops: s.ops.clone(),
                problem: None,
            },
            Ok(None) => continue,
            Err(e) => ScopeInfo {
                role,
                access: None,
                bound_actor: Vec::new(),
                namespaces: Vec::new(),
                ops: Vec::new(),
                problem: Some(format!("{}: {}", e.code(), e)),
            },
        });
    }
    out
}

/// One audit check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Check {
    /// `min-two-recipients`, `recipient-routing-coherent`,
    /// `recipient-routing-coverage` or `no-multi-vault`.
    pub id: &'static str,
    /// Whether it passes.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// `ontoref_secrets_audit`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditReport {
    /// The vault.
    pub vault_id: String,
    /// Whether every check passes.
    pub ok: bool,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
}

/// The vault's inventory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Inventory {
    /// The vault's id.
    pub vault_id: String,
    /// Group → age public keys.
    pub recipient_groups: BTreeMap<String, Vec<String>>,
    /// Path regex → groups, first match wins.
    pub recipient_rules: Vec<RecipientRule>,
    /// Credential files of this page, with the recipients their metadata names.
    pub files: Vec<FileInfo>,
    /// Credential files over all pages.
    pub total_files: usize,
    /// Every role's scope.
    pub scopes: Vec<ScopeInfo>,
    /// Pass as `cursor` for the next page of files; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The vault's inventory without decrypting anything: recipient groups and
/// rules, one page of credential files with their recipients, every scope.
pub async fn describe(
    engine: &Engine,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Inventory, ToolError> {
    let (sops, vault) = locate(engine).await?;
    let files = files(&vault, sops.as_ref());
    let generation: [u8; 32] = Sha256::digest(
        files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .into();
    let key = PageKey::new("secrets_describe", &generation);
    let (files, total_files, next_cursor) = page_rows(&files, &key, cursor, limit)?;
    let scopes = scopes(engine, &vault).await;
    let (groups, rules) = sops
        .map(|s| (s.recipient_groups, s.recipient_rules))
        .unwrap_or_default();
    Ok(Inventory {
        vault_id: vault.id,
        recipient_groups: groups,
        recipient_rules: rules,
        files,
        total_files,
        scopes,
        next_cursor,
    })
}

/// The protocol's four vault checks.
pub async fn audit(engine: &Engine) -> Result<AuditReport, ToolError> {
    let (sops, vault) = locate(engine).await?;
    let files = files(&vault, sops.as_ref());
    let s = sops.unwrap_or_default();
    let s = &s;
    let checks = vec![
        min_two_recipients(&files),
        routing_coherent(s),
        routing_coverage(s, &files),
        no_multi_vault(engine, &vault, s).await?,
    ];
    Ok(AuditReport {
        vault_id: vault.id.clone(),
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

fn summary(problems: &[String], good: String) -> (bool, String) {
    match problems.len() {
        0 => (true, good),
        n if n <= 5 => (false, problems.join("; ")),
        n => (
            false,
            format!("{}; and {} more", problems[..5].join("; "), n - 5),
        ),
    }
}

fn min_two_recipients(files: &[FileInfo]) -> Check {
    let problems: Vec<String> = files
        .iter()
        .filter_map(|f| match &f.problem {
            Some(p) => Some(format!("{}: unreadable metadata ({p})", f.path)),
            None if f.recipients.len() < 2 => Some(format!(
                "{} has {} recipient{}",
                f.path,
                f.recipients.len(),
                if f.recipients.len() == 1 { "" } else { "s" }
            )),
            None => None,
        })
        .collect();
    let (ok, detail) = summary(
        &problems,
        format!("all {} file(s) have at least 2 recipients", files.len()),
    );
    Check {
        id: "min-two-recipients",
        ok,
        detail,
    }
}

fn routing_coherent(s: &SopsSettings) -> Check {
    let mut problems = Vec::new();
    for (i, rule) in s.recipient_rules.iter().enumerate() {
        if let Err(e) = regex::Regex::new(&rule.path) {
            problems.push(format!(
                "rule {} path `{}` is not a regex: {e}",
                i + 1,
                rule.path
            ));
        }
        if rule.groups.is_empty() {
            problems.push(format!("rule {} (`{}`) names no group", i + 1, rule.path));
        }
        for g in &rule.groups {
            if !s.recipient_groups.contains_key(g) {
                problems.push(format!(
                    "rule {} (`{}`) names undeclared group `{g}`",
                    i + 1,
                    rule.path
                ));
            }
        }
    }
    for (group, keys) in &s.recipient_groups {
        for k in keys {
            if k.parse::<age::x25519::Recipient>().is_err() {
                problems.push(format!(
                    "group `{group}` holds `{k}`, not an X25519 age recipient"
                ));
            }
        }
    }
    let good = if s.recipient_rules.is_empty() && s.recipient_groups.is_empty() {
        "no recipient routing declared (single recipient set)".to_owned()
    } else {
        format!(
            "{} rule(s) name only declared groups; {} group(s) hold valid age recipients",
            s.recipient_rules.len(),
            s.recipient_groups.len()
        )
    };
    let (ok, detail) = summary(&problems, good);
    Check {
        id: "recipient-routing-coherent",
        ok,
        detail,
    }
}

fn routing_coverage(s: &SopsSettings, files: &[FileInfo]) -> Check {
    if s.recipient_rules.is_empty() {
        return Check {
            id: "recipient-routing-coverage",
            ok: true,
            detail: "no recipient_rules: files are not routed per path".to_owned(),
        };
    }
    let mut problems = Vec::new();
    for f in files.iter().filter(|f| f.problem.is_none()) {
        let Some(rule) = first_rule(&s.recipient_rules, &f.path) else {
            problems.push(format!("{} matches no rule", f.path));
            continue;
        };
        let want: BTreeSet<&str> = rule
            .groups
            .iter()
            .filter_map(|g| s.recipient_groups.get(g))
            .flatten()
            .map(String::as_str)
            .collect();
        let have: BTreeSet<&str> = f.recipients.iter().map(String::as_str).collect();
        if want != have {
            let missing: Vec<&str> = want.difference(&have).copied().collect();
            let extra: Vec<&str> = have.difference(&want).copied().collect();
            problems.push(format!(
                "{} (rule `{}`, groups {}): missing {:?}, unexpected {:?}",
                f.path,
                rule.path,
                rule.groups.join("+"),
                missing,
                extra
            ));
        }
    }
    let (ok, detail) = summary(
        &problems,
        format!(
            "all {} file(s) match a rule and carry exactly its groups' recipients",
            files.len()
        ),
    );
    Check {
        id: "recipient-routing-coverage",
        ok,
        detail,
    }
}

async fn no_multi_vault(
    engine: &Engine,
    vault: &VaultPaths,
    _s: &SopsSettings,
) -> Result<Check, ToolError> {
    let mut problems = Vec::new();
    // Per-tenant copies of this vault (`<id>-<tenant>`), the pattern ADR-019
    // replaces with per-file recipient routing.
    let siblings = std::fs::read_dir(engine.config_home().join("vaults"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| {
                    n != &vault.id
                        && (n.starts_with(&format!("{}-", vault.id))
                            || n.starts_with(&format!("{}_", vault.id)))
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for s in siblings {
        problems.push(format!(
            "vault `{s}` looks like a second vault of this project; route files with recipient_rules instead"
        ));
    }
    // Every credential the manifest names must live in this vault.
    if let Some(m) = engine.manifest().await.ok().flatten()
        && let Some(rp) = &m.registry_provides
    {
        for r in &rp.registries {
            for p in [&r.credential_sops, &r.credential_sops_rw]
                .into_iter()
                .flatten()
            {
                if crate::vault::settings::inside(&vault.src(), p).is_none() {
                    problems.push(format!(
                        "registry `{}` names `{p}`, outside this vault's src-vault/",
                        r.id
                    ));
                }
            }
        }
    }
    let (ok, detail) = summary(
        &problems,
        format!("one vault (`{}`) serves this project", vault.id),
    );
    Ok(Check {
        id: "no-multi-vault",
        ok,
        detail,
    })
}

/// `sops.recipient_rules` as a sops `.sops.yaml`: one creation rule per
/// recipient rule, in order, with the union of its groups' keys.
pub fn sops_config(s: &SopsSettings) -> Result<String, VaultError> {
    if s.recipient_rules.is_empty() {
        return Err(VaultError::Invalid(
            ".ontoref/project.ncl declares no `sops.recipient_rules`, so there is nothing to generate".to_owned(),
        ));
    }
    let mut out = String::from(
        "# Generated by `ontoref secrets gen-sops-config` from .ontoref/project.ncl\n\
         # (sops.recipient_groups and sops.recipient_rules). Do not edit: regenerate.\n\
         creation_rules:\n",
    );
    for rule in &s.recipient_rules {
        regex::Regex::new(&rule.path).map_err(|e| {
            VaultError::Invalid(format!(
                "recipient rule path `{}` is not a regex: {e}",
                rule.path
            ))
        })?;
        let mut keys: Vec<&str> = Vec::new();
        for g in &rule.groups {
            let members = s.recipient_groups.get(g).ok_or_else(|| {
                VaultError::Invalid(format!(
                    "recipient rule `{}` names undeclared group `{g}`",
                    rule.path
                ))
            })?;
            for k in members {
                if !keys.contains(&k.as_str()) {
                    keys.push(k);
                }
            }
        }
        let quote = |v: &str| serde_json::Value::from(v).to_string();
        out.push_str(&format!(
            "  - path_regex: {}\n    age: {}\n",
            quote(&rule.path),
            quote(&keys.join(","))
        ));
    }
    Ok(out)
}

/// Writes [`sops_config`] to `<vault dir>/.sops.yaml` (atomically).
pub fn write_sops_config(s: &SopsSettings, vault: &VaultPaths) -> Result<String, VaultError> {
    let text = sops_config(s)?;
    let path = vault.dir.join(".sops.yaml");
    let io = |e: std::io::Error| VaultError::Io {
        what: "write",
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    crate::vault::audit::create_private_dir(&vault.dir).map_err(io)?;
    let tmp = vault.dir.join(".sops.yaml.tmp");
    std::fs::write(&tmp, &text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path.display().to_string())
}

/// Reads an identity file given on the command line.
pub fn identity_from(path: &Path) -> Result<Identities, VaultError> {
    Identities::read(path, KeySource::None).map_err(|reason| VaultError::KageNotResolvable {
        tried: vec![format!("{} (--identity): {reason}", path.display())],
    })
}
