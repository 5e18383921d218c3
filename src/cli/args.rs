//! The hand-written part of the command line: global flags, the commands
//! that are not catalog tools (`serve`, `tools`, `call`, the people-only
//! `secrets` commands, `setup`), their argument types and checks, and how a
//! run can fail. The knowledge commands are derived from the catalog
//! (`derived.rs`) and added to this at start-up.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ontoref::failure::CliError;
use ontoref_tools::catalog::Selection;

use crate::output::Format;

/// How a run failed.
#[derive(Debug)]
pub enum Failure {
    /// A tool error, already printed in the chosen format (exit 1).
    Reported,
    /// A failure outside any tool, with its code and hint (exit 2 for a
    /// usage error, else 1).
    Cli(CliError),
    /// Exit with this status (`secrets exec` passes on its command's).
    Exit(i32),
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure::Cli(e)
    }
}

/// The hand-written commands and the global flags.
#[derive(Debug, Parser)]
#[command(
    name = "ontoref",
    version,
    about = "Typed, queryable access to a project's self-knowledge, for agents and people",
    long_about = "ontoref serves a project's Q&A, ontology, decisions and modes (Nickel files) \
                  to AI agents over MCP, and to people and scripts on the command line. \
                  Output is JSON when an agent asks (--actor agent, ONTOREF_ACTOR=agent, or \
                  stdout is not a terminal) and readable text otherwise. Every MCP tool is a \
                  command here; `ontoref call TOOL [JSON]` runs any of them by name."
)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Args)]
pub struct Global {
    /// Project root [default: $ONTOREF_PROJECT_ROOT, else the nearest
    /// ancestor holding .ontoref/ or reflection/qa.ncl, else the embedded template]
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Who is asking: `agent` makes output JSON
    #[arg(long, global = true, env = "ONTOREF_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,
    /// Output format [default: json for agents and pipes, text at a terminal]
    #[arg(short = 'f', long, global = true, value_enum)]
    pub fmt: Option<Format>,
    /// Log filter for stderr, e.g. `debug` or `ontoref_tools=trace` [default: $RUST_LOG, else warn]
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Seconds one Nickel evaluation may take (at most 86400)
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10.0)]
    pub eval_timeout: f64,
    /// MiB of memory one Nickel evaluation may use (its worker is stopped beyond)
    #[arg(long, global = true, value_name = "MIB", default_value_t = 1024)]
    pub eval_memory: u64,
    /// A directory knowledge files may import from besides the project
    /// (repeatable; also ONTOREF_IMPORT_PATH, `:`-separated)
    #[arg(long = "import-path", global = true, value_name = "DIR")]
    pub import_paths: Vec<PathBuf>,
    /// Do not read or write the on-disk evaluation cache
    #[arg(long, global = true)]
    pub no_disk_cache: bool,
    /// Seconds an issued credential directory lives before it is removed
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 300)]
    pub credential_ttl: u64,
}

/// The commands that are not catalog tools.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the MCP server (stdio by default)
    Serve(ServeArgs),
    /// List the tools this binary serves (the catalog) and their toolsets
    Tools(SelectionArgs),
    /// Run any tool by name with a JSON argument object; prints its structured content
    Call {
        /// The tool's name, as `ontoref tools` lists it
        tool: String,
        /// The arguments as a JSON object, or `-` to read them from stdin [default: {}]
        #[arg(value_name = "JSON|-")]
        args: Option<String>,
    },
    /// The credential vault: status, inventory, checks, scope-gated fetch
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Set things up: a demo vault with generated keys
    #[command(subcommand)]
    Setup(SetupCommand),
    /// MIF ontology extensions: vendor them from an attested release, check the snapshot
    /// against its lock, write a corpus's index
    #[command(subcommand)]
    Ontology(OntologyCommand),
    /// Sigstore attestations, verified offline as `gh attestation verify` does
    #[command(subcommand)]
    Attestation(AttestationCommand),
}

/// `ontoref serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve MCP on stdin/stdout (the default without --http; with it, both run)
    #[arg(long)]
    pub stdio: bool,
    /// Serve MCP over HTTP on ADDR (IP:PORT, or PORT for loopback): Streamable HTTP at /mcp,
    /// legacy SSE at /sse, /healthz
    #[arg(long, value_name = "ADDR", value_parser = parse_http_addr)]
    pub http: Option<std::net::SocketAddr>,
    /// A Host header HTTP accepts (repeatable) [default: the localhost forms]
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// An Origin HTTP accepts, e.g. http://localhost:* (repeatable) [default: the localhost forms]
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Require bearer tokens over HTTP: one `<actor> <sha256 hex of token>` per line. Each request
    /// then acts as its token's actor, and the vault and writing tools are served
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Open MCP sessions over HTTP (Streamable HTTP and SSE together) at most
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_sessions: usize,
    /// Close an HTTP session after this many seconds without a request
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub session_idle_timeout: f64,
    /// Seconds between keep-alive comments on HTTP event streams
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    pub sse_keep_alive: f64,
    /// Seconds an HTTP connection has to send a whole request head, from connecting or from its
    /// previous response (slow or silent clients are closed)
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Seconds a request body has to arrive completely (408 otherwise)
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub body_timeout: f64,
    /// Close an HTTP connection with no request in flight for this many seconds (an open event
    /// stream is a request in flight)
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub idle_connection_timeout: f64,
    /// Which tools to serve.
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// `--toolsets`, `--tools`, `--exclude-tools`, `--read-only`.
#[derive(Debug, Args, Clone)]
pub struct SelectionArgs {
    /// Toolsets to enable, comma-separated [default: all]
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub toolsets: Option<Vec<String>>,
    /// Single tools to add on top of the toolsets, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub tools: Vec<String>,
    /// Tools to remove, whatever enabled them, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub exclude_tools: Vec<String>,
    /// Keep only read-only tools
    #[arg(long)]
    pub read_only: bool,
}

impl SelectionArgs {
    /// The catalog selection these flags make.
    pub fn selection(&self) -> Selection {
        Selection {
            // `--toolsets ""` means no toolset (only what --tools adds).
            toolsets: self
                .toolsets
                .as_ref()
                .map(|sets| sets.iter().filter(|s| !s.is_empty()).cloned().collect()),
            tools: self.tools.clone(),
            exclude: self.exclude_tools.clone(),
            read_only: self.read_only,
        }
    }
}

/// `ontoref secrets …` commands for people only, never MCP tools. The
/// vault toolset's tools (`status`, `describe`, `audit`, `fetch`) join them
/// from the catalog.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// The audit log of credential attempts, newest first
    AuditLog {
        /// Check the chain, the MACs (with the master key) and the head; exits 1 on any problem
        #[arg(long)]
        verify: bool,
        /// Records per page (1-500)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// next_cursor of the previous page
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Run a command with DOCKER_CONFIG set to a fresh credential directory, removed when it exits
    Exec {
        /// `[registry/]path[:tag]`, e.g. domains/acme/contract:1.0
        target: String,
        /// `--op` and `--registry-id`.
        #[command(flatten)]
        gate: GateArgs,
        /// The command and its arguments, after `--`
        #[arg(last = true, required = true, num_args = 1..)]
        command: Vec<String>,
    },
    /// Print a sops file's plaintext YAML (like `sops -d`); never offered over MCP
    Decrypt {
        /// The sops file
        file: PathBuf,
        /// The age identity file [default: the project's, else the config home's master key]
        #[arg(long, value_name = "KEY_FILE")]
        identity: Option<PathBuf>,
    },
    /// Write <vault dir>/.sops.yaml with creation_rules from the project's recipient_rules
    GenSopsConfig,
    /// Get the team's vault from its registry (sops.registry_endpoint), signature-verified; on any
    /// failure the local vault stays exactly as it was
    Sync {
        /// The vault to sync [default: the project's]
        #[arg(long, value_name = "ID")]
        vault_id: Option<String>,
    },
    /// Restore access.sops.yaml alone from the signature-verified vault artifact (when it is lost)
    Recover {
        /// Take it from the registry (sops.registry_endpoint); the only source there is
        #[arg(long, required = true)]
        from_registry: bool,
        /// The vault [default: the project's]
        #[arg(long, value_name = "ID")]
        vault_id: Option<String>,
    },
    /// Take the vault's registry lock (60 min) and sync, to edit it ('RW roles)
    Open {
        /// The vault [default: the project's]
        #[arg(long, value_name = "ID")]
        vault_id: Option<String>,
    },
    /// Show what changed since `open`, then push the vault signed and release the lock (asks on a
    /// terminal; ONTOREF_SECRETS_YES=1 skips)
    Close {
        /// The vault [default: the project's]
        #[arg(long, value_name = "ID")]
        vault_id: Option<String>,
    },
    /// Break the vault's registry lock, whoever holds it ('RW roles; audited)
    ForceUnlock {
        /// The vault [default: the project's]
        #[arg(long, value_name = "ID")]
        vault_id: Option<String>,
    },
    /// Rewrap every credential file's data key for exactly the recipients its recipient_rules
    /// entry names (as `sops updatekeys` does; values and MAC unchanged), with the master key,
    /// which must be a current recipient of each file that changes; then regenerate .sops.yaml
    Rekey,
    /// Remove a credential directory when it expires (started by `fetch`)
    #[command(hide = true)]
    Reap {
        /// The credential directory
        dir: PathBuf,
    },
}

/// `--op` and `--registry-id`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// pull or push (anything else is refused by the gate as invalid-op)
    #[arg(long, default_value = "pull")]
    pub op: String,
    /// The manifest's registry entry [default: the target's host's, else `default`]
    #[arg(long)]
    pub registry_id: Option<String>,
}

/// `ontoref setup …`.
#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Copy the agent-first template to DIR with generated demo age keys and a working vault
    VaultDemo {
        /// The new project directory
        #[arg(long, default_value = "ontoref-vault-demo")]
        dir: PathBuf,
        /// Replace existing demo keys and the demo vault
        #[arg(long)]
        force: bool,
    },
}

/// `ontoref ontology …`.
#[derive(Debug, Subcommand)]
pub enum OntologyCommand {
    /// Vendor the ontologies .ontoref/project.ncl enables (`ontologies = { source, enable,
    /// trust }`) into .ontoref/ontologies/: fetch, verify the attestation (fail-closed), untar
    /// safely, check the index against every file, pin it in ontologies.lock.json, swap the
    /// snapshot in atomically. Any failure keeps the previous snapshot byte for byte
    Vendor {
        /// The source, instead of `ontologies.source`: a directory, file://….tar.gz,
        /// http(s)://….tar.gz or …/index.json, oci://host/repository:tag
        #[arg(long, value_name = "SOURCE")]
        source: Option<String>,
        /// Accept a new index at the pinned source (a new release); a known (id, version)
        /// with other bytes is refused even so
        #[arg(long)]
        refresh: bool,
    },
    /// The drift gate: every enabled id is pinned and every pinned file on disk hashes to its
    /// pin (exit 1 on drift; a malformed lock fails closed)
    Check,
    /// Write DIR/index.json from DIR's *.ontology.yaml exactly as the corpus's
    /// gen-ontology-index.sh does (sorted keys, two-space indent, sha256 over raw bytes)
    Index {
        /// Compare DIR/index.json with a fresh generation instead, write nothing, and exit 1
        /// with a unified diff when they differ (a drift gate)
        #[arg(long)]
        check: bool,
        /// The directory holding the *.ontology.yaml files (a corpus's ontologies/)
        dir: PathBuf,
    },
}

/// A day, in seconds: the bound of every duration flag.
pub const DAY: f64 = 86_400.0;

/// A flag's positive, finite number of seconds, at most `max`.
pub fn seconds_flag(flag: &str, value: f64, max: f64) -> Result<Duration, Failure> {
    if value.is_finite()
        && value > 0.0
        && value <= max
        && let Ok(d) = Duration::try_from_secs_f64(value)
    {
        Ok(d)
    } else if max.is_finite() {
        Err(CliError::BadFlag(format!(
            "{flag} must be a positive number of seconds up to {max}, got {value}"
        ))
        .into())
    } else {
        Err(CliError::BadFlag(format!(
            "{flag} must be a positive number of seconds, got {value}"
        ))
        .into())
    }
}

/// `--http`: `IP:PORT`, `localhost:PORT`, or a bare `PORT` / `:PORT`,
/// which bind loopback (127.0.0.1).
pub fn parse_http_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let loopback = std::net::Ipv4Addr::LOCALHOST;
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok((loopback, port).into());
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{port}` is not a port number"))?;
        return Ok((loopback, port).into());
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not IP:PORT or PORT (e.g. 127.0.0.1:7337, [::1]:7337, 7337)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_addresses_default_to_loopback() {
        for (text, want) in [
            ("7337", "127.0.0.1:7337"),
            (":7337", "127.0.0.1:7337"),
            ("localhost:7337", "127.0.0.1:7337"),
            ("0.0.0.0:80", "0.0.0.0:80"),
            ("[::1]:7337", "[::1]:7337"),
        ] {
            assert_eq!(parse_http_addr(text).unwrap().to_string(), want, "{text}");
        }
        for bad in ["", "localhost", "host:1", "70000", "localhost:x", "1.2.3.4"] {
            let err = parse_http_addr(bad).unwrap_err();
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }

    #[test]
    fn seconds_flags_take_positive_finite_values_up_to_their_bound() {
        assert_eq!(
            seconds_flag("--x", 1.5, DAY).unwrap(),
            Duration::from_millis(1500)
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, DAY + 1.0] {
            assert!(
                matches!(seconds_flag("--x", bad, DAY), Err(Failure::Cli(CliError::BadFlag(m))) if m.contains("--x"))
            );
        }
    }
}

/// `ontoref attestation …`.
#[derive(Debug, Subcommand)]
pub enum AttestationCommand {
    /// Verify an artifact's attestation offline, with gh's checks and flag names: the bundle's
    /// certificate chains to the trusted root's Fulcio CA at the signing time (SCT, Rekor entry
    /// or RFC 3161 timestamp), the signature, the in-toto subject and predicate type, and the
    /// signer's identity; or, with --key, a key-signed envelope
    Verify(AttestationVerifyArgs),
}

/// `ontoref attestation verify` flags (gh's names).
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("signer")
        .required(true)
        .multiple(true)
        .args(["repo", "owner", "cert_identity", "cert_identity_regex", "key"])
))]
pub struct AttestationVerifyArgs {
    /// The artifact: a file, or its digest written sha256:<hex> or sha512:<hex>
    #[arg(value_name = "FILE|DIGEST")]
    pub artifact: String,
    /// The attestation: a Sigstore bundle (v0.1–v0.3), JSON lines of them as `gh attestation
    /// download` writes, or with --key a bare DSSE envelope
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The trusted_root.json to verify against (`gh attestation trusted-root` prints GitHub's);
    /// required for a certificate-signed bundle, since verification is offline
    #[arg(long, value_name = "FILE")]
    pub custom_trusted_root: Option<PathBuf>,
    /// The repository the artifact was built from (the certificate's SourceRepositoryURI; also
    /// the SAN pattern unless another is given)
    #[arg(long, short = 'R', value_name = "OWNER/REPO", conflicts_with = "owner")]
    pub repo: Option<String>,
    /// The organisation or user the source repository belongs to (SourceRepositoryOwnerURI)
    #[arg(long, short = 'o', value_name = "OWNER")]
    pub owner: Option<String>,
    /// The workflow that signed, [host/]owner/repo/path/to/workflow (the SAN must start with it)
    #[arg(long, value_name = "WORKFLOW")]
    pub signer_workflow: Option<String>,
    /// The predicate type the attestation must carry [default: https://slsa.dev/provenance/v1]
    #[arg(long, value_name = "URI")]
    pub predicate_type: Option<String>,
    /// The exact subject alternative name of the signing certificate
    #[arg(long, value_name = "SAN", conflicts_with = "cert_identity_regex")]
    pub cert_identity: Option<String>,
    /// A regular expression the certificate's subject alternative name must match
    #[arg(long, value_name = "REGEX")]
    pub cert_identity_regex: Option<String>,
    /// The OIDC issuer of the signing certificate
    /// [default: https://token.actions.githubusercontent.com]
    #[arg(long, value_name = "URL")]
    pub cert_oidc_issuer: Option<String>,
    /// A PEM public key: verify a key-signed envelope (a bundle with a public-key hint, or a
    /// bare DSSE envelope) instead of a certificate identity
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
}
