//! The OCI layer's named errors: the registry's answers (unreachable, wrong
//! credentials, no such artifact), what an artifact may not be (another
//! media type, an unsafe path, too large, malformed), the vault's registry
//! lock, and a domain contract that does not typecheck. Signature failures
//! are [`CosignError`]'s own codes. No variant carries a secret: they hold
//! references, digests, paths and limits.

use crate::codes::{ErrorCodes, variant};
use crate::registry::cosign::CosignError;

/// A failure of a registry operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No answer: connection refused, DNS, TLS, or the timeout.
    #[error("registry {registry} is unreachable: {detail}")]
    Unreachable {
        /// The registry endpoint.
        registry: String,
        /// What happened (never a credential).
        detail: String,
    },
    /// The registry refused the credentials (or wants some).
    #[error("registry {registry} refused the credentials for {reference}: {detail}")]
    AuthFailed {
        /// The registry endpoint.
        registry: String,
        /// The reference asked for.
        reference: String,
        /// Where the credentials came from (never their values).
        detail: String,
    },
    /// No manifest at the reference.
    #[error("{reference} does not exist in the registry")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// A signature failure.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// The artifact or one of its layers is of a media type not accepted.
    #[error("{reference}: {what} has media type `{found}`, expected {expected}")]
    MediaType {
        /// The artifact.
        reference: String,
        /// What had the type (`the manifest`, `layer sha256:…`).
        what: String,
        /// The media type found.
        found: String,
        /// The types accepted.
        expected: String,
    },
    /// A file name in the artifact would land outside its directory, or an
    /// archive entry is a link, a device or otherwise not a plain file.
    #[error("{reference}: entry `{path}` is unsafe: {why}")]
    UnsafePath {
        /// The artifact.
        reference: String,
        /// The entry's name, as given (cut).
        path: String,
        /// Why it is refused.
        why: String,
    },
    /// A manifest, layer or unpacked archive over its limit.
    #[error("{reference}: {what} is over the limit of {limit} bytes{}", size.map(|s| format!(" ({s} bytes)")).unwrap_or_default())]
    TooLarge {
        /// The artifact.
        reference: String,
        /// What is too large.
        what: String,
        /// Its size, when known.
        size: Option<u64>,
        /// The limit.
        limit: u64,
    },
    /// The artifact is not what it must be: a manifest that does not
    /// parse, a layer that is not a gzip tar, a vault missing a file.
    #[error("{reference} is not a valid artifact: {detail}")]
    Invalid {
        /// The artifact.
        reference: String,
        /// What is wrong, naming the file or field.
        detail: String,
    },
    /// Another actor holds the vault's registry lock.
    #[error("vault `{vault_id}` is locked by {holder} on {host} until {expires_at}")]
    VaultLocked {
        /// The vault.
        vault_id: String,
        /// The actor holding the lock.
        holder: String,
        /// The host it was taken on.
        host: String,
        /// When the lock expires (RFC 3339).
        expires_at: String,
    },
    /// An operation needs the lock this actor does not hold.
    #[error("vault `{vault_id}`: {detail}")]
    LockNotHeld {
        /// The vault.
        vault_id: String,
        /// Whose lock there is, or that there is none.
        detail: String,
    },
    /// A domain artifact's `contract.ncl` does not typecheck.
    #[error("{reference}: {file} does not typecheck: {detail}")]
    ContractTypecheck {
        /// The artifact.
        reference: String,
        /// The file.
        file: String,
        /// Nickel's diagnostic.
        detail: String,
    },
    /// The registry answered in a way the protocol does not allow.
    #[error("registry {registry}: {detail}")]
    Protocol {
        /// The registry endpoint.
        registry: String,
        /// What it answered.
        detail: String,
    },
    /// A setting the operation needs is absent.
    #[error("{file}: `{setting}` is not set, so {why}")]
    NotConfigured {
        /// The file it belongs in.
        file: String,
        /// The setting.
        setting: String,
        /// What cannot be done without it.
        why: String,
    },
    /// A local file could not be read or written.
    #[error("cannot {what} {path}: {reason}")]
    Io {
        /// `read`, `write`, `create`, `rename`, …
        what: &'static str,
        /// The path.
        path: String,
        /// The system's reason.
        reason: String,
    },
}

impl RegistryError {
    /// An [`RegistryError::Io`] from a system error.
    pub fn io(what: &'static str, path: &std::path::Path, err: &std::io::Error) -> RegistryError {
        RegistryError::Io {
            what,
            path: path.display().to_string(),
            reason: err.to_string(),
        }
    }

    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Unreachable { .. } => "registry-unreachable",
            RegistryError::AuthFailed { .. } => "registry-auth-failed",
            RegistryError::NotFound { .. } => "artifact-not-found",
            RegistryError::Cosign(e) => e.code(),
            RegistryError::MediaType { .. } => "artifact-media-type",
            RegistryError::UnsafePath { .. } => "artifact-unsafe-path",
            RegistryError::TooLarge { .. } => "artifact-too-large",
            RegistryError::Invalid { .. } => "artifact-invalid",
            RegistryError::VaultLocked { .. } => "vault-locked",
            RegistryError::LockNotHeld { .. } => "vault-lock-not-held",
            RegistryError::ContractTypecheck { .. } => "contract-typecheck-failed",
            RegistryError::Protocol { .. } => "registry-protocol-error",
            RegistryError::Io { .. } => "registry-io-failed",
            RegistryError::NotConfigured { .. } => "registry-not-configured",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            RegistryError::Unreachable { .. } => {
                "check that the registry is running and the endpoint (`sops.registry_endpoint`, the \
                 manifest's registry entry) is right; a slow registry can be given more time with \
                 vault.registry_timeout_secs in config.ncl"
                    .to_owned()
            }
            RegistryError::AuthFailed { .. } => {
                "check the registry username and password in the vault's access.sops.yaml (or the \
                 registry's credential file); `ontoref secrets status` shows which file is used"
                    .to_owned()
            }
            RegistryError::NotFound { .. } => {
                "check the repository and tag; for a vault, an admin publishes it with `ontoref \
                 secrets open` then `ontoref secrets close`"
                    .to_owned()
            }
            RegistryError::Cosign(e) => e.hint().to_owned(),
            RegistryError::MediaType { .. } => {
                "the publisher pushed another kind of artifact to this reference; check the target"
                    .to_owned()
            }
            RegistryError::UnsafePath { .. } => {
                "the artifact is refused as a whole; ask its publisher to remove the entry (only \
                 plain files and directories with relative names are accepted)"
                    .to_owned()
            }
            RegistryError::TooLarge { .. } => {
                "the artifact is refused as a whole; check that the reference is the one meant"
                    .to_owned()
            }
            RegistryError::Invalid { .. } => {
                "the artifact is refused as a whole and nothing local changed; ask its publisher to \
                 fix the file named"
                    .to_owned()
            }
            RegistryError::VaultLocked { .. } => {
                "wait for the holder to run `ontoref secrets close`, or for the lock to expire; an \
                 'RW role can break it with `ontoref secrets force-unlock`"
                    .to_owned()
            }
            RegistryError::LockNotHeld { .. } => {
                "take the lock first with `ontoref secrets open`".to_owned()
            }
            RegistryError::ContractTypecheck { .. } => {
                "the domain's publisher must fix contract.ncl (`nickel typecheck contract.ncl` shows \
                 the same diagnostic)"
                    .to_owned()
            }
            RegistryError::Protocol { .. } => {
                "the registry is not a conforming OCI distribution registry, or an intermediary \
                 changed its answer; retry, and check the registry's logs"
                    .to_owned()
            }
            RegistryError::Io { .. } => {
                "check the path's permissions and free space; nothing was half-written".to_owned()
            }
            RegistryError::NotConfigured { setting, .. } => {
                format!("set `{setting}` (see the vault section of the README)")
            }
        }
    }
}

impl ErrorCodes for RegistryError {
    const VARIANTS: usize = 14;

    fn examples() -> Vec<Self> {
        let registry = || "127.0.0.1:5000".to_owned();
        let reference = || "127.0.0.1:5000/domains/acme/contract:1.0".to_owned();
        vec![
            RegistryError::Unreachable {
                registry: registry(),
                detail: "connection refused".into(),
            },
            RegistryError::AuthFailed {
                registry: registry(),
                reference: reference(),
                detail: "credentials from access.sops.yaml".into(),
            },
            RegistryError::NotFound {
                reference: reference(),
            },
            RegistryError::Cosign(CosignError::SignatureMissing {
                reference: reference(),
            }),
            RegistryError::MediaType {
                reference: reference(),
                what: "the manifest".into(),
                found: "application/x-other".into(),
                expected: "`application/vnd.ontoref.domain.v1`".into(),
            },
            RegistryError::UnsafePath {
                reference: reference(),
                path: "../etc/passwd".into(),
                why: "it climbs out of the directory".into(),
            },
            RegistryError::TooLarge {
                reference: reference(),
                what: "layer sha256:aa".into(),
                size: Some(1 << 30),
                limit: 64 << 20,
            },
            RegistryError::Invalid {
                reference: reference(),
                detail: "access.sops.yaml is missing".into(),
            },
            RegistryError::VaultLocked {
                vault_id: "acme".into(),
                holder: "alice".into(),
                host: "laptop".into(),
                expires_at: "2026-11-30T21:00:00Z".into(),
            },
            RegistryError::LockNotHeld {
                vault_id: "acme".into(),
                detail: "there is no lock".into(),
            },
            RegistryError::ContractTypecheck {
                reference: reference(),
                file: "contract.ncl".into(),
                detail: "incompatible types".into(),
            },
            RegistryError::Protocol {
                registry: registry(),
                detail: "the manifest has no layers".into(),
            },
            RegistryError::Io {
                what: "write",
                path: "/tmp/x".into(),
                reason: "no space left on device".into(),
            },
            RegistryError::NotConfigured {
                file: ".ontoref/project.ncl".into(),
                setting: "sops.registry_endpoint".into(),
                why: "there is no registry to sync the vault from".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = RegistryError::VARIANTS;
        match self {
            RegistryError::Unreachable { .. } => variant::<0, N>(),
            RegistryError::AuthFailed { .. } => variant::<1, N>(),
            RegistryError::NotFound { .. } => variant::<2, N>(),
            RegistryError::Cosign(_) => variant::<3, N>(),
            RegistryError::MediaType { .. } => variant::<4, N>(),
            RegistryError::UnsafePath { .. } => variant::<5, N>(),
            RegistryError::TooLarge { .. } => variant::<6, N>(),
            RegistryError::Invalid { .. } => variant::<7, N>(),
            RegistryError::VaultLocked { .. } => variant::<8, N>(),
            RegistryError::LockNotHeld { .. } => variant::<9, N>(),
            RegistryError::ContractTypecheck { .. } => variant::<10, N>(),
            RegistryError::Protocol { .. } => variant::<11, N>(),
            RegistryError::Io { .. } => variant::<12, N>(),
            RegistryError::NotConfigured { .. } => variant::<13, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, RegistryError::Cosign(_))
    }
}
