//! The vault's named errors: the protocol's fifteen gate errors, in gate
//! order, plus the few failures that can only happen after the gate (a
//! credential file without `username`, a temporary directory that cannot be
//! written), and those of the maintenance commands (`secrets rekey`). No variant carries a secret: they hold paths, names, public keys
//! and the values a caller passed in.

use crate::codes::{ErrorCodes, variant};
use crate::suggest::quote_list;
use crate::vault::sops::SopsError;

/// A refusal or failure of the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// 1. The op is neither `pull` nor `push`.
    #[error("op `{op}` is not an operation the vault grants; it must be `pull` or `push`")]
    InvalidOp {
        /// The op given.
        op: String,
    },
    /// 2. No `.ontoref/project.ncl` at the project root.
    #[error("no project file at {path}: the vault is configured in its `sops` record")]
    ProjectNclMissing {
        /// The path looked at.
        path: String,
    },
    /// 2b. `sops.enabled = false` in the project file.
    #[error("{file}: `sops.enabled` is false, so this project's vault is switched off")]
    VaultDisabled {
        /// The project file.
        file: String,
    },
    /// 3. `sops.actor_key_bindings` absent or empty.
    #[error("{file}: `sops.actor_key_bindings` is {state}, so no actor has a role")]
    ActorBindingsMissing {
        /// The project file.
        file: String,
        /// `absent` or `empty`.
        state: &'static str,
    },
    /// 4. The actor is unset or has no binding.
    #[error("{}", actor_not_bound(.actor.as_deref(), .file))]
    ActorNotBound {
        /// The actor, when one was given.
        actor: Option<String>,
        /// The project file.
        file: String,
        /// The actors that are bound.
        known: Vec<String>,
    },
    /// 5. The role's scope file is not in the local vault.
    #[error("no scope file for role `{role}` at {path} (vault `{vault_id}`)")]
    ScopeNotLoaded {
        /// The role.
        role: String,
        /// The path looked at.
        path: String,
        /// The vault.
        vault_id: String,
    },
    /// 6. The scope's `bound_actor` excludes the actor.
    #[error("{file}: `bound_actor` of role `{role}` does not list actor `{actor}` (it lists {})", list_or_none(.bound))]
    ActorNotInBoundActor {
        /// The actor.
        actor: String,
        /// The role.
        role: String,
        /// The scope file.
        file: String,
        /// The actors the scope binds.
        bound: Vec<String>,
    },
    /// 7. The scope's `ops` lacks the op.
    #[error("{file}: role `{role}` may {} but not `{op}`", list_or_none(.ops))]
    OpNotInScope {
        /// The op asked for.
        op: String,
        /// The role.
        role: String,
        /// The scope file.
        file: String,
        /// The ops the scope grants.
        ops: Vec<String>,
    },
    /// 8. The target matches none of the scope's namespaces.
    #[error("target `{target}` {reason}; role `{role}` ({file}) may reach {}", list_or_none(.namespaces))]
    TargetNotInScope {
        /// The target as given.
        target: String,
        /// Why it does not match: the repository path compared, or why the
        /// target is not a repository reference.
        reason: String,
        /// The role.
        role: String,
        /// The scope file.
        file: String,
        /// The scope's namespace globs.
        namespaces: Vec<String>,
    },
    /// 8b. `reveal` was asked for but is not allowed.
    #[error("reveal refused: {reason}")]
    RevealNotAllowed {
        /// Which condition failed.
        reason: String,
    },
    /// 9. No `.ontology/manifest.ncl`.
    #[error("no manifest at {path}: it declares the registries (`registry_provides`)")]
    ManifestNclMissing {
        /// The path looked at.
        path: String,
    },
    /// 10. The manifest has no `registry_provides`.
    #[error("{file} has no `registry_provides` record")]
    RegistryProvidesMissing {
        /// The manifest.
        file: String,
    },
    /// 11. No registry entry has the requested id (or `default`).
    #[error("{file}: `registry_provides.registries` has no entry with id `{wanted}` (declared: {})", list_or_none(.known))]
    RegistryIdUnknown {
        /// The id looked for (`default` when none was requested).
        wanted: String,
        /// The manifest.
        file: String,
        /// The declared ids.
        known: Vec<String>,
    },
    /// 11b. The target names a registry host other than the chosen entry's.
    #[error(
        "target `{target}` names registry host `{host}`, but registry `{registry}` is `{endpoint}`"
    )]
    TargetRegistryMismatch {
        /// The target.
        target: String,
        /// The host in the target.
        host: String,
        /// The chosen registry id.
        registry: String,
        /// Its endpoint.
        endpoint: String,
    },
    /// 12. The entry lacks the credential field for the op.
    #[error("{file}: registry `{registry}` {problem}")]
    CredentialSopsMissing {
        /// The registry id.
        registry: String,
        /// `credential_sops` or `credential_sops_rw`.
        field: &'static str,
        /// The manifest.
        file: String,
        /// What is wrong with the field.
        problem: String,
    },
    /// 13. The credential file is not in the local vault.
    #[error("credential file {path} does not exist (vault `{vault_id}`)")]
    SopsFileNotFound {
        /// The path looked at.
        path: String,
        /// The vault.
        vault_id: String,
    },
    /// 14. No readable age identity file.
    #[error("no usable master key: {}", .tried.join("; "))]
    KageNotResolvable {
        /// Each place looked at and why it failed.
        tried: Vec<String>,
    },
    /// 15. The credential file does not decrypt.
    #[error("cannot decrypt {file}: {source}")]
    SopsDecryptFailed {
        /// The file.
        file: String,
        /// Why.
        source: SopsError,
    },
    /// The decrypted credential has no usable `username`/`password`.
    #[error(
        "{file} decrypts, but has no {field} (expected `username`/`password`, or `zot_username`/`zot_password`)"
    )]
    CredentialInvalid {
        /// The file.
        file: String,
        /// The missing field.
        field: &'static str,
    },
    /// The audit log cannot take a record: one of its files is not what
    /// ontoref writes (a link, a FIFO, a last line longer than any record).
    #[error("cannot append to the audit log {path}: {problem}")]
    AuditLogUnusable {
        /// The file at fault.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Writing the vault's own files (credential directory, audit log) failed.
    #[error("cannot {what} {path}: {reason}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A file or argument given to a vault command is wrong.
    #[error("{0}")]
    Invalid(String),
    /// `secrets rekey`: the master key cannot open a file's data key, so it
    /// cannot be rewrapped.
    #[error("{file}: the master key ({}) is not a recipient of this file (its recipients: {}), so rekey cannot open its data key", list_or_none(.master), list_or_none(.recipients))]
    RekeyNotRecipient {
        /// The file.
        file: String,
        /// The file's current age recipients.
        recipients: Vec<String>,
        /// The master key's public keys.
        master: Vec<String>,
    },
}

fn actor_not_bound(actor: Option<&str>, file: &str) -> String {
    match actor {
        None => format!("no actor given, and {file} grants roles to named actors only"),
        Some(a) => format!("{file}: actor `{a}` has no entry in `sops.actor_key_bindings`"),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        quote_list(items).replace(" or ", ", ")
    }
}

impl VaultError {
    /// The stable kebab-case code (the protocol's name for the gate errors).
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::InvalidOp { .. } => "invalid-op",
            VaultError::ProjectNclMissing { .. } => "project-ncl-missing",
            VaultError::VaultDisabled { .. } => "vault-disabled",
            VaultError::ActorBindingsMissing { .. } => "actor-bindings-missing",
            VaultError::ActorNotBound { .. } => "actor-not-bound",
            VaultError::ScopeNotLoaded { .. } => "scope-not-loaded",
            VaultError::ActorNotInBoundActor { .. } => "actor-not-in-bound-actor",
            VaultError::OpNotInScope { .. } => "op-not-in-scope",
            VaultError::TargetNotInScope { .. } => "target-not-in-scope",
            VaultError::RevealNotAllowed { .. } => "reveal-not-allowed",
            VaultError::ManifestNclMissing { .. } => "manifest-ncl-missing",
            VaultError::RegistryProvidesMissing { .. } => "registry-provides-missing",
            VaultError::RegistryIdUnknown { .. } => "registry-id-unknown",
            VaultError::TargetRegistryMismatch { .. } => "target-registry-mismatch",
            VaultError::CredentialSopsMissing { .. } => "credential-sops-missing",
            VaultError::SopsFileNotFound { .. } => "sops-file-not-found",
            VaultError::KageNotResolvable { .. } => "kage-not-resolvable",
            VaultError::SopsDecryptFailed { .. } => "sops-decrypt-failed",
            VaultError::CredentialInvalid { .. } => "credential-invalid",
            VaultError::AuditLogUnusable { .. } => "audit-log-unusable",
            VaultError::Io { .. } => "vault-io-failed",
            VaultError::Invalid(_) => "vault-invalid-input",
            VaultError::RekeyNotRecipient { .. } => "rekey-not-recipient",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            VaultError::InvalidOp { .. } => {
                "pass op `pull` (read) or `push` (write); the vault grants nothing else".to_owned()
            }
            VaultError::ProjectNclMissing { .. } => {
                "run from a project holding .ontoref/project.ncl, or pass --project / set ONTOREF_PROJECT_ROOT to its root".to_owned()
            }
            VaultError::VaultDisabled { .. } => {
                "set `sops.enabled = true` in .ontoref/project.ncl to use the vault".to_owned()
            }
            VaultError::ActorBindingsMissing { .. } => {
                "map at least the actors used in this project to roles: `sops.actor_key_bindings = { \"<actor>\" = \"<role>\" }` in .ontoref/project.ncl".to_owned()
            }
            VaultError::ActorNotBound { actor, known, .. } => match actor {
                None => format!(
                    "say who is asking with --actor NAME or ONTOREF_ACTOR (bound actors: {})",
                    list_or_none(known)
                ),
                Some(_) => format!(
                    "act as a bound actor ({}), or add this actor to `sops.actor_key_bindings`",
                    list_or_none(known)
                ),
            },
            VaultError::ScopeNotLoaded { vault_id, .. } => format!(
                "the local vault is not synced or the role has no scope yet: sync vault `{vault_id}` (its src-vault/scopes/), or create the scope file"
            ),
            VaultError::ActorNotInBoundActor { .. } => {
                "act as an actor the scope lists, or add this actor to the scope's `bound_actor`"
                    .to_owned()
            }
            VaultError::OpNotInScope { .. } => {
                "use a role whose scope grants this op, or extend the scope's `ops`".to_owned()
            }
            VaultError::TargetNotInScope { .. } => {
                "operate on a repository the scope's namespaces cover (e.g. `domains/<participant>/<name>:<tag>`), or extend the scope".to_owned()
            }
            VaultError::RevealNotAllowed { .. } => {
                "call without `reveal` and use the returned docker_config_dir (DOCKER_CONFIG=<dir>); only an 'RO scope in a project with `sops.allow_reveal = true` may reveal".to_owned()
            }
            VaultError::ManifestNclMissing { .. } | VaultError::RegistryProvidesMissing { .. } => {
                "declare `registry_provides = { participant, registries = [{ id = \"default\", endpoint, credential_sops }] }` in .ontology/manifest.ncl".to_owned()
            }
            VaultError::RegistryIdUnknown { known, .. } => format!(
                "pass a registry_id the manifest declares ({}), or declare an entry with id `default`",
                list_or_none(known)
            ),
            VaultError::TargetRegistryMismatch { .. } => {
                "drop the host from the target, or pass the registry_id whose endpoint it names"
                    .to_owned()
            }
            VaultError::CredentialSopsMissing { field, .. } => format!(
                "set `{field}` on that registry entry to a path inside the vault's src-vault/, e.g. \"registry/<name>.sops.yaml\""
            ),
            VaultError::SopsFileNotFound { vault_id, .. } => format!(
                "the local vault is not synced: sync vault `{vault_id}`, or check the manifest's credential path"
            ),
            VaultError::KageNotResolvable { .. } => {
                "point `sops.master_key_path` (.ontoref/project.ncl) or `vault.master_key_path` (config.ncl in the config home) at your age identity file (age-keygen -o <file>)".to_owned()
            }
            VaultError::SopsDecryptFailed { source, .. } => {
                if source.is_not_recipient() {
                    "your master key is not a recipient of this file: compare `ontoref secrets describe` with your public key (age-keygen -y), and ask an admin to re-encrypt".to_owned()
                } else if source.is_unsupported() {
                    "re-encrypt the file with sops using X25519 age recipients only, without key groups".to_owned()
                } else {
                    "the file is corrupt or was altered: restore it by syncing the vault; never edit a sops file by hand".to_owned()
                }
            }
            VaultError::CredentialInvalid { .. } => {
                "re-encrypt the file with `username` and `password` keys (sops edit)".to_owned()
            }
            VaultError::AuditLogUnusable { .. } => {
                "run `ontoref secrets audit-log --verify` to see the log's state; to start a new log, move the vault's audit.* files aside (keep them as evidence)".to_owned()
            }
            VaultError::Io { .. } => {
                "check the permissions and free space of that directory".to_owned()
            }
            VaultError::Invalid(_) => "check the command's arguments (--help)".to_owned(),
            VaultError::RekeyNotRecipient { .. } => {
                "rekey rewraps the data key the master key opens: run it with a master key that is a current recipient of every file it must change (an admin's: `sops.master_key_path` in .ontoref/project.ncl or `vault.master_key_path` in config.ncl), or re-encrypt that file from its plaintext; nothing was changed".to_owned()
            }
        }
    }
}

impl ErrorCodes for VaultError {
    const VARIANTS: usize = 23;

    fn examples() -> Vec<Self> {
        let file = || ".ontoref/project.ncl".to_owned();
        let manifest = || ".ontology/manifest.ncl".to_owned();
        let scope = || "vaults/main/scopes/ci.ncl".to_owned();
        vec![
            VaultError::InvalidOp {
                op: "delete".into(),
            },
            VaultError::ProjectNclMissing { path: file() },
            VaultError::VaultDisabled { file: file() },
            VaultError::ActorBindingsMissing {
                file: file(),
                state: "empty",
            },
            VaultError::ActorNotBound {
                actor: Some("agent-bot".into()),
                file: file(),
                known: vec!["dev.alice".into()],
            },
            VaultError::ScopeNotLoaded {
                role: "ci".into(),
                path: scope(),
                vault_id: "main".into(),
            },
            VaultError::ActorNotInBoundActor {
                actor: "agent-bot".into(),
                role: "ci".into(),
                file: scope(),
                bound: vec!["dev.alice".into()],
            },
            VaultError::OpNotInScope {
                op: "push".into(),
                role: "ci".into(),
                file: scope(),
                ops: vec!["pull".into()],
            },
            VaultError::TargetNotInScope {
                target: "registry.example/other/app:1".into(),
                reason: "does not match".into(),
                role: "ci".into(),
                file: scope(),
                namespaces: vec!["team/*".into()],
            },
            VaultError::RevealNotAllowed {
                reason: "the project does not allow reveal".into(),
            },
            VaultError::ManifestNclMissing { path: manifest() },
            VaultError::RegistryProvidesMissing { file: manifest() },
            VaultError::RegistryIdUnknown {
                wanted: "default".into(),
                file: manifest(),
                known: vec!["zot".into()],
            },
            VaultError::TargetRegistryMismatch {
                target: "other.example/team/app:1".into(),
                host: "other.example".into(),
                registry: "zot".into(),
                endpoint: "registry.example".into(),
            },
            VaultError::CredentialSopsMissing {
                registry: "zot".into(),
                field: "credential_sops",
                file: manifest(),
                problem: "has no `credential_sops`".into(),
            },
            VaultError::SopsFileNotFound {
                path: "vaults/main/zot.sops.yaml".into(),
                vault_id: "main".into(),
            },
            VaultError::KageNotResolvable {
                tried: vec!["~/.config/ontoref/keys/main.age: not found".into()],
            },
            VaultError::SopsDecryptFailed {
                file: "vaults/main/zot.sops.yaml".into(),
                source: SopsError::MacMismatch,
            },
            VaultError::CredentialInvalid {
                file: "vaults/main/zot.sops.yaml".into(),
                field: "password",
            },
            VaultError::AuditLogUnusable {
                path: "vaults/main/audit.log".into(),
                problem: "it is a symbolic link".into(),
            },
            VaultError::Io {
                what: "create",
                path: "/run/user/1000/ontoref".into(),
                reason: "permission denied".into(),
            },
            VaultError::Invalid("--ttl must be positive".into()),
            VaultError::RekeyNotRecipient {
                file: "vaults/main/src-vault/registry/zot.sops.yaml".into(),
                recipients: vec!["age1admin".into(), "age1developer".into()],
                master: vec!["age1agent".into()],
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = VaultError::VARIANTS;
        match self {
            VaultError::InvalidOp { .. } => variant::<0, N>(),
            VaultError::ProjectNclMissing { .. } => variant::<1, N>(),
            VaultError::VaultDisabled { .. } => variant::<2, N>(),
            VaultError::ActorBindingsMissing { .. } => variant::<3, N>(),
            VaultError::ActorNotBound { .. } => variant::<4, N>(),
            VaultError::ScopeNotLoaded { .. } => variant::<5, N>(),
            VaultError::ActorNotInBoundActor { .. } => variant::<6, N>(),
            VaultError::OpNotInScope { .. } => variant::<7, N>(),
            VaultError::TargetNotInScope { .. } => variant::<8, N>(),
            VaultError::RevealNotAllowed { .. } => variant::<9, N>(),
            VaultError::ManifestNclMissing { .. } => variant::<10, N>(),
            VaultError::RegistryProvidesMissing { .. } => variant::<11, N>(),
            VaultError::RegistryIdUnknown { .. } => variant::<12, N>(),
            VaultError::TargetRegistryMismatch { .. } => variant::<13, N>(),
            VaultError::CredentialSopsMissing { .. } => variant::<14, N>(),
            VaultError::SopsFileNotFound { .. } => variant::<15, N>(),
            VaultError::KageNotResolvable { .. } => variant::<16, N>(),
            VaultError::SopsDecryptFailed { .. } => variant::<17, N>(),
            VaultError::CredentialInvalid { .. } => variant::<18, N>(),
            VaultError::AuditLogUnusable { .. } => variant::<19, N>(),
            VaultError::Io { .. } => variant::<20, N>(),
            VaultError::Invalid(_) => variant::<21, N>(),
            VaultError::RekeyNotRecipient { .. } => variant::<22, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }
}
