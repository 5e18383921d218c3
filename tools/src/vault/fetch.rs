//! A credential fetch from start to end: the gate, then decryption of the
//! one credential file the gate chose, then an isolated Docker config
//! directory, and always one audit record, keyed with the master key when
//! it can be read (also for refusals), unkeyed otherwise. If the record
//! cannot be written the fetch fails and its directory is removed: no
//! unaudited credential.

use schemars::JsonSchema;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::ToolError;
use crate::vault::VaultError;
use crate::vault::audit::{self, Record};
use crate::vault::creds::rfc3339;
use crate::vault::gate::{self, Grant, Known, Request};
use crate::vault::sops::SopsFile;

/// Who removes the credential directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// This process: at expiry, and when it exits (a server).
    Owned,
    /// The caller (a one-shot CLI leaving a reaper, or `secrets exec`).
    Caller,
}

/// The result of an allowed fetch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Fetched {
    /// The registry endpoint the credential is for.
    pub registry: String,
    /// The manifest's id of that registry.
    pub registry_id: String,
    /// The target, as asked for.
    pub target: String,
    /// The op granted.
    pub op: String,
    /// The actor's role.
    pub role: String,
    /// Use as `DOCKER_CONFIG` (oras, skopeo, docker read `config.json` there).
    pub docker_config_dir: String,
    /// When the directory is removed (RFC 3339, UTC).
    pub expires_at: String,
    /// The username, only when `reveal` was asked for and allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, only when `reveal` was asked for and allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The username and password of a decrypted credential file.
pub struct Credential {
    /// The username.
    pub username: Zeroizing<String>,
    /// The password.
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential { .. }")
    }
}

/// The largest SOPS file read (credential files are a few kilobytes).
pub const MAX_SOPS_FILE: u64 = 4 * 1024 * 1024;

/// Decrypts the SOPS file at `path` (shown as `shown` in messages).
pub fn decrypt_file(
    path: &std::path::Path,
    shown: &str,
    identities: &crate::vault::key::Identities,
) -> Result<crate::vault::sops::Plaintext, VaultError> {
    let failed = |source| VaultError::SopsDecryptFailed {
        file: shown.to_owned(),
        source,
    };
    let text = crate::fsread::read_text(path, MAX_SOPS_FILE, crate::fsread::Links::Follow)
        .map_err(|e| VaultError::Io {
            what: "read",
            path: shown.to_owned(),
            reason: e.to_string(),
        })?;
    SopsFile::parse(&text)
        .and_then(|f| f.decrypt(identities.as_slice()))
        .map_err(failed)
}

/// Decrypts the granted credential file.
pub fn decrypt_credential(engine: &Engine, grant: &Grant) -> Result<Credential, VaultError> {
    engine.vault().count_decryption();
    tracing::debug!(file = %grant.credential_shown, role = %grant.role, "decrypting a credential file");
    let plain = decrypt_file(
        &grant.credential,
        &grant.credential_shown,
        &grant.identities,
    )?;
    let field = |names: [&str; 2], label| {
        names
            .iter()
            .find_map(|n| plain.get_str(n))
            .filter(|v| !v.is_empty())
            .ok_or(VaultError::CredentialInvalid {
                file: grant.credential_shown.clone(),
                field: label,
            })
    };
    Ok(Credential {
        username: field(["username", "zot_username"], "username")?,
        password: field(["password", "zot_password"], "password")?,
    })
}

/// A fetch for the engine's caller: the actor of the request (or the
/// configured one); the directory is the engine's to remove when it owns
/// credential directories, else the caller's.
pub async fn fetch_for_caller(engine: &Engine, req: &Request) -> Result<Fetched, ToolError> {
    let lifetime = if engine.owns_credential_dirs() {
        Lifetime::Owned
    } else {
        Lifetime::Caller
    };
    fetch(engine, engine.actor().as_deref(), req, lifetime).await
}

/// Runs a fetch for `actor` and records it in the vault's audit log.
pub async fn fetch(
    engine: &Engine,
    actor: Option<&str>,
    req: &Request,
    lifetime: Lifetime,
) -> Result<Fetched, ToolError> {
    let mut known = Known::default();
    let result = grant_and_issue(engine, actor, req, lifetime, &mut known).await;
    let attempt = Attempt {
        actor,
        op: &req.op,
        target: &req.target,
        registry_id: req.registry_id.as_deref(),
        reveal: req.reveal,
        digest: None,
    };
    if let Err(e) = record(engine, &mut known, &attempt, result.as_ref().err()).await {
        if let Ok(f) = &result {
            crate::vault::creds::remove(std::path::Path::new(&f.docker_config_dir));
        }
        return Err(e);
    }
    match &result {
        Ok(f) => {
            tracing::info!(role = %f.role, op = %f.op, target = %f.target, "credential directory issued")
        }
        Err(e) => {
            tracing::info!(code = e.code(), op = %crate::error::clip(&req.op), target = %crate::error::clip(&req.target), "credential fetch refused")
        }
    }
    result
}

/// One vault operation, as its audit record names it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// Who asked.
    pub actor: Option<&'a str>,
    /// `pull`, `push`, `sync`, `lock`, …
    pub op: &'a str,
    /// The target or vault reference.
    pub target: &'a str,
    /// The registry id asked for.
    pub registry_id: Option<&'a str>,
    /// Whether values were asked for.
    pub reveal: bool,
    /// The manifest digest worked on, once known.
    pub digest: Option<&'a str>,
}

/// Appends the audit record of `attempt` (outcome `ok` or `error`'s code)
/// to the log of the vault `known` names (else the config home's), keyed
/// with the master key when it can be read. Fails when the line cannot be
/// written: the caller then undoes what it did.
pub async fn record(
    engine: &Engine,
    known: &mut Known,
    attempt: &Attempt<'_>,
    error: Option<&ToolError>,
) -> Result<(), ToolError> {
    let record = Record {
        ts: audit::now(),
        actor: attempt.actor.map(str::to_owned),
        role: known.role.clone(),
        op: attempt.op.to_owned(),
        target: attempt.target.to_owned(),
        registry_id: attempt.registry_id.map(str::to_owned),
        outcome: match error {
            None => "ok".to_owned(),
            Some(e) => e.code().to_owned(),
        },
        reveal: attempt.reveal,
        digest: attempt.digest.map(str::to_owned),
        target_sha256: None,
        cut: Vec::new(),
        prev: String::new(),
        mac: None,
    };
    let log = match &known.vault {
        Some(v) => v.audit_log(),
        None => engine.config_home().join("audit.jsonl"),
    };
    // The gate keyed it when it read the master key; for an earlier refusal
    // the key is read now. Without one the line is written unkeyed.
    let key = match (known.audit_key.take(), &known.vault) {
        (Some(k), _) => Some(k),
        (None, Some(v)) => match gate::audit_key(engine, &v.id).await {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::info!(
                    code = e.code(),
                    "no audit key: this attempt is recorded unkeyed"
                );
                None
            }
        },
        (None, None) => None,
    };
    // Off the async workers: the append waits for the log's lock and two
    // fsyncs.
    tokio::task::spawn_blocking(move || audit::append(&log, record, key.as_ref()))
        .await
        .map_err(|e| ToolError::Internal(format!("the audit append did not finish: {e}")))
        .and_then(|r| r.map(|_| ()).map_err(ToolError::from))
}

/// Runs `f` and audits it as `op` on `target` (which `f` may refine as it
/// learns the reference), with its outcome and the digest `f` records.
pub(crate) async fn audited<T, F>(
    engine: &Engine,
    op: &str,
    mut target: String,
    f: F,
) -> Result<T, ToolError>
where
    F: AsyncFnOnce(&mut Known, &mut Option<String>, &mut String) -> Result<T, ToolError>,
{
    let actor = engine.actor();
    let mut known = Known::default();
    let mut digest = None;
    let result = f(&mut known, &mut digest, &mut target).await;
    let attempt = Attempt {
        actor: actor.as_deref(),
        op,
        target: &target,
        registry_id: None,
        reveal: false,
        digest: digest.as_deref(),
    };
    record(engine, &mut known, &attempt, result.as_ref().err()).await?;
    result
}

async fn grant_and_issue(
    engine: &Engine,
    actor: Option<&str>,
    req: &Request,
    lifetime: Lifetime,
    known: &mut Known,
) -> Result<Fetched, ToolError> {
    let grant = gate::check(engine, actor, req, known).await?;
    let cred = decrypt_credential(engine, &grant)?;
    let issued = engine.vault().dirs().issue(
        &grant.registry.endpoint,
        &cred.username,
        &cred.password,
        lifetime == Lifetime::Owned,
    )?;
    Ok(Fetched {
        registry: grant.registry.endpoint.clone(),
        registry_id: grant.registry.id.clone(),
        target: req.target.clone(),
        op: req.op.clone(),
        role: grant.role.clone(),
        docker_config_dir: issued.dir.display().to_string(),
        expires_at: rfc3339(issued.expires),
        username: req.reveal.then(|| revealed(engine, &cred.username)),
        password: req.reveal.then(|| revealed(engine, &cred.password)),
    })
}

/// What a reveal puts in the result: with an escrow (a server), a
/// placeholder the transport writer swaps for the value as bytes go out, so
/// the secret never enters a value rmcp or ontoref could log; without one
/// (the CLI, which prints it itself), the value.
fn revealed(engine: &Engine, value: &str) -> String {
    match engine.escrow().get() {
        Some(escrow) => escrow.hold(value),
        None => value.to_owned(),
    }
}
