//! `ontoref secrets …` and `ontoref setup vault-demo`: the vault on the
//! command line. `status`, `describe`, `audit` and `fetch` run the vault
//! toolset's catalog tools, so they print the tools' JSON. The rest are
//! for people only and never MCP tools: `exec` runs a command with a fresh
//! credential directory, `decrypt` prints a sops file's plaintext as
//! `sops -d` does, `audit-log` reads the keyed, hash-chained log,
//! `gen-sops-config` writes the vault's `.sops.yaml`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use ontoref_tools::paging::{PageKey, page_rows};
use ontoref_tools::vault::fetch::{Lifetime, decrypt_file, fetch};
use ontoref_tools::vault::gate::Request;
use ontoref_tools::vault::{VaultError, audit, creds, inspect};
use ontoref_tools::{Engine, ToolError};
use serde_json::{Value, json};

use crate::cli::{Failure, Global, call, call_value, engine_config, runtime, with_engine};
use crate::output::{self, Format};

/// `ontoref secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// The vault's state: synced, master key source, actor and role
    Status,
    /// Recipient groups and rules, credential files and their recipients, scopes
    Describe {
        /// Credential files per page (1-500)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// next_cursor of the previous page
        #[arg(long)]
        cursor: Option<String>,
    },
    /// The vault checks (min-two-recipients, routing, no-multi-vault); exits 1 if one fails
    Audit,
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
    /// Get an expiring DOCKER_CONFIG directory for a target (the secret stays in it)
    Fetch {
        /// `[registry/]path[:tag]`, e.g. domains/acme/contract:1.0
        target: String,
        #[command(flatten)]
        gate: GateArgs,
        /// Also print the username and password (only where the scope and project allow)
        #[arg(long)]
        reveal: bool,
    },
    /// Run a command with DOCKER_CONFIG set to a fresh credential directory, removed when it exits
    Exec {
        /// `[registry/]path[:tag]`, e.g. domains/acme/contract:1.0
        target: String,
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
    op: String,
    /// The manifest's registry entry [default: the target's host's, else `default`]
    #[arg(long)]
    registry_id: Option<String>,
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

/// Runs `ontoref secrets …`.
pub fn secrets(global: &Global, cmd: &SecretsCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        SecretsCommand::Status => call(global, "ontoref_secrets_status", json!({}), format),
        SecretsCommand::Describe { limit, cursor } => {
            let mut args = json!({ "limit": limit });
            if let Some(c) = cursor {
                args["cursor"] = json!(c);
            }
            call(global, "ontoref_secrets_describe", args, format)
        }
        SecretsCommand::Audit => {
            let v = call_value(global, "ontoref_secrets_audit", json!({}), format)?;
            if v["ok"] == true {
                Ok(())
            } else {
                Err(Failure::Reported)
            }
        }
        SecretsCommand::Fetch {
            target,
            gate,
            reveal,
        } => {
            let mut config = engine_config(global)?;
            // This process exits now: a detached reaper removes the directory.
            config.own_credential_dirs = false;
            let args = with_registry(
                json!({ "target": target, "op": gate.op, "reveal": reveal }),
                gate,
            );
            let value = with_engine(config, format, "ontoref_credential_fetch", |engine| {
                Box::pin(async move {
                    ontoref_tools::catalog::find("ontoref_credential_fetch")?
                        .call(engine, args)
                        .await
                })
            })?;
            if let Some(dir) = value["docker_config_dir"].as_str() {
                spawn_reaper(Path::new(dir));
            }
            Ok(())
        }
        SecretsCommand::Exec {
            target,
            gate,
            command,
        } => exec(global, target, gate, command, format),
        SecretsCommand::Decrypt { file, identity } => decrypt(global, file, identity.as_deref()),
        SecretsCommand::GenSopsConfig => {
            let config = engine_config(global)?;
            with_engine(config, format, "gen-sops-config", |engine| {
                Box::pin(async move {
                    let (sops, vault) = inspect::locate(engine).await?;
                    let sops = sops.ok_or_else(|| {
                        VaultError::Invalid(
                            ".ontoref/project.ncl has no `sops` record to generate from".to_owned(),
                        )
                    })?;
                    let path = inspect::write_sops_config(&sops, &vault)?;
                    Ok(json!({ "path": path, "rules": sops.recipient_rules.len() }))
                })
            })
            .map(|_| ())
        }
        SecretsCommand::AuditLog {
            verify,
            limit,
            cursor,
        } => audit_log(global, *verify, *limit, cursor.clone(), format),
        SecretsCommand::Reap { dir } => {
            creds::reap_at_expiry(dir).map_err(|e| Failure::Fatal(e.to_string()))
        }
    }
}

fn with_registry(mut args: Value, gate: &GateArgs) -> Value {
    if let Some(r) = &gate.registry_id {
        args["registry_id"] = json!(r);
    }
    args
}

/// Starts `ontoref secrets reap DIR`, detached from this process and its
/// terminal, to remove the directory at its expiry.
fn spawn_reaper(dir: &Path) {
    let Ok(exe) = std::env::current_exe() else {
        tracing::warn!(
            "cannot find this executable; the credential directory is removed by the next ontoref run after it expires"
        );
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["secrets", "reap"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    if let Err(e) = cmd.spawn() {
        tracing::warn!(error = %e, "cannot start the credential reaper; the directory is removed by the next ontoref run after it expires");
    }
}

/// `secrets exec`: fetch, run, remove.
fn exec(
    global: &Global,
    target: &str,
    gate: &GateArgs,
    command: &[String],
    format: Format,
) -> Result<(), Failure> {
    let config = engine_config(global)?;
    let actor = config.actor.clone();
    let req = Request {
        target: target.to_owned(),
        op: gate.op.clone(),
        registry_id: gate.registry_id.clone(),
        reveal: false,
    };
    let rt = runtime(false)?;
    let fetched = rt.block_on(async {
        let engine = Engine::new(config)?;
        fetch(&engine, actor.as_deref(), &req, Lifetime::Caller).await
    });
    let fetched = match fetched {
        Ok(f) => f,
        Err(err) => {
            output::print_error(&err, format);
            return Err(Failure::Reported);
        }
    };
    let dir = PathBuf::from(&fetched.docker_config_dir);
    // Removed however the command ends (also if this process is interrupted
    // before: the directory carries its expiry, and the next run sweeps it).
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            creds::remove(self.0);
        }
    }
    let _guard = Remove(&dir);
    // Should this process be killed outright, a reaper still removes it at expiry.
    spawn_reaper(&dir);
    // Ctrl-C reaches the whole foreground group: let the command handle it,
    // and stay alive to remove the directory after it exits.
    #[cfg(unix)]
    let _sigint = rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    });
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Failure::Usage("a command is required after --".to_owned()))?;
    let status = std::process::Command::new(program)
        .args(args)
        .env("DOCKER_CONFIG", &dir)
        .status()
        .map_err(|e| Failure::Fatal(format!("cannot run `{program}`: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::Exit(code)),
        None => Err(Failure::Exit(1)),
    }
}

/// `secrets decrypt`: the plaintext YAML on stdout.
fn decrypt(global: &Global, file: &Path, identity: Option<&Path>) -> Result<(), Failure> {
    let config = engine_config(global)?;
    let shown = file.display().to_string();
    let rt = runtime(false)?;
    let result: Result<zeroize::Zeroizing<String>, ToolError> = rt.block_on(async {
        let ids = match identity {
            Some(p) => inspect::identity_from(p)?,
            None => {
                let engine = Engine::new(config)?;
                let project = engine.project_file().await?;
                let sops = project.as_ref().and_then(|p| p.sops.as_ref());
                ontoref_tools::vault::gate::master_key(&engine, sops).await?
            }
        };
        let plain = decrypt_file(file, &shown, &ids)?;
        Ok(plain
            .to_yaml()
            .map_err(|source| VaultError::SopsDecryptFailed {
                file: shown.clone(),
                source,
            })?)
    });
    match result {
        Ok(yaml) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(yaml.as_bytes());
            let _ = out.flush();
            Ok(())
        }
        Err(err) => {
            output::print_error(&err, Format::Text);
            Err(Failure::Reported)
        }
    }
}

/// `secrets audit-log`: every segment's records, newest first, paged;
/// `--verify` checks the chain, the MACs and the head (with the master key).
fn audit_log(
    global: &Global,
    verify: bool,
    limit: u32,
    cursor: Option<String>,
    format: Format,
) -> Result<(), Failure> {
    if limit == 0 || limit > 500 {
        return Err(Failure::Usage(format!(
            "--limit {limit} is outside 1..=500"
        )));
    }
    let config = engine_config(global)?;
    let value = with_engine(config, format, "audit-log", |engine| {
        Box::pin(async move {
            let (_, vault) = inspect::locate(engine).await?;
            let log = vault.audit_log();
            let mut records = audit::read(&log)?;
            records.reverse();
            let generation = records.len().to_le_bytes();
            let key = PageKey::new("audit-log", &generation);
            let (page, total, next_cursor) =
                page_rows(&records, &key, cursor.as_deref(), limit as usize)?;
            let mut v = json!({
                "log": log.display().to_string(),
                "records": page,
                "total": total,
            });
            if let Some(c) = next_cursor {
                v["next_cursor"] = json!(c);
            }
            if verify {
                let verification = inspect::verify_audit_log(engine, &vault).await?;
                v["verification"] = serde_json::to_value(verification)
                    .map_err(|e| ToolError::Internal(e.to_string()))?;
            }
            Ok(v)
        })
    })?;
    if verify && value["verification"]["ok"] != true {
        return Err(Failure::Reported);
    }
    Ok(())
}

/// Runs `ontoref setup …`.
pub fn setup(global: &Global, cmd: &SetupCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        SetupCommand::VaultDemo { dir, force } => {
            let config = engine_config(global)?;
            let home = config
                .config_home
                .clone()
                .unwrap_or_else(ontoref_tools::project::config_home);
            let dir = if dir.is_absolute() {
                dir.clone()
            } else {
                std::env::current_dir()
                    .map_err(|e| Failure::Fatal(format!("no working directory: {e}")))?
                    .join(dir)
            };
            let force = *force;
            with_engine(config.clone(), format, "vault-demo", move |_| {
                Box::pin(async move {
                    let report =
                        ontoref_tools::vault::demo::setup(&dir, &home, &config, force).await?;
                    serde_json::to_value(report).map_err(|e| ToolError::Internal(e.to_string()))
                })
            })
            .map(|_| ())
        }
    }
}
