//! `ontoref secrets …` and `ontoref setup vault-demo`: the vault on the
//! command line. `status`, `describe`, `audit` and `fetch` are the vault
//! toolset's catalog commands; `fetch` runs here so that a detached reaper
//! removes the directory it issues once this process has exited. The rest
//! are for people only and never MCP tools: `exec` runs a command with a
//! fresh credential directory, `decrypt` prints a sops file's plaintext as
//! `sops -d` does, `audit-log` reads the keyed, hash-chained log,
//! `gen-sops-config` writes the vault's `.sops.yaml`, `rekey` rewraps every
//! credential file for the recipients its rule names, `sync` gets the vault
//! from its registry with a progress bar on a terminal, `open`/`close`/
//! `force-unlock` edit it under the registry lock.

use std::path::{Path, PathBuf};

use ontoref_tools::catalog::CatalogTool;
use ontoref_tools::paging::{PageKey, page_rows};
use ontoref_tools::text::Text;
use ontoref_tools::vault::fetch::{self as vault_fetch, Lifetime, decrypt_file};
use ontoref_tools::vault::gate::Request;
use ontoref_tools::vault::lock;
use ontoref_tools::vault::rekey::RekeyReport;
use ontoref_tools::vault::sync::{self, SyncOptions};
use ontoref_tools::vault::{VaultError, audit, creds, inspect, rekey};
use ontoref_tools::{Engine, ToolError};
use serde_json::{Value, json};

use ontoref::failure::CliError;

use crate::cli::args::{Failure, GateArgs, Global, SecretsCommand, SetupCommand};
use crate::cli::run::{engine_config, on_engine, run_tool, runtime, with_engine};
use crate::output::{self, Format};

/// Runs `ontoref secrets …`.
pub fn secrets(global: &Global, cmd: &SecretsCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        SecretsCommand::Exec {
            target,
            gate,
            command,
        } => exec(global, target, gate, command, format),
        SecretsCommand::Decrypt { file, identity } => decrypt(global, file, identity.as_deref()),
        SecretsCommand::GenSopsConfig => {
            let config = engine_config(global)?;
            with_engine(config, format, |engine| {
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
        SecretsCommand::Rekey => rekey(global, format),
        SecretsCommand::AuditLog {
            verify,
            limit,
            cursor,
        } => audit_log(global, *verify, *limit, cursor.clone(), format),
        SecretsCommand::Sync { vault_id } => {
            let config = engine_config(global)?;
            let opts = SyncOptions {
                vault_id: vault_id.clone(),
                progress: progress_bar(),
            };
            with_engine(config, format, |engine| {
                Box::pin(async move {
                    let synced = sync::sync(engine, &opts).await;
                    super::progress::finish();
                    to_value(synced?)
                })
            })
            .map(|_| ())
        }
        SecretsCommand::Open { vault_id } => {
            let config = engine_config(global)?;
            let vault_id = vault_id.clone();
            with_engine(config, format, |engine| {
                Box::pin(async move { to_value(lock::open(engine, vault_id.as_deref()).await?) })
            })
            .map(|_| ())
        }
        SecretsCommand::Recover { vault_id, .. } => {
            let config = engine_config(global)?;
            let vault_id = vault_id.clone();
            with_engine(config, format, |engine| {
                Box::pin(async move { to_value(sync::recover(engine, vault_id.as_deref()).await?) })
            })
            .map(|_| ())
        }
        SecretsCommand::Close { vault_id } => close(global, vault_id.as_deref(), format),
        SecretsCommand::ForceUnlock { vault_id } => {
            let config = engine_config(global)?;
            let vault_id = vault_id.clone();
            with_engine(config, format, |engine| {
                Box::pin(
                    async move { to_value(lock::force_unlock(engine, vault_id.as_deref()).await?) },
                )
            })
            .map(|_| ())
        }
        SecretsCommand::Reap { dir } => {
            creds::reap_at_expiry(dir).map_err(|e| CliError::Reap(e.to_string()).into())
        }
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, ToolError> {
    serde_json::to_value(v).map_err(|e| ToolError::Internal(e.to_string()))
}

/// `secrets close`: the changes since `open`, a confirmation on a terminal
/// (`ONTOREF_SECRETS_YES=1` skips it), then the push.
fn close(global: &Global, vault_id: Option<&str>, format: Format) -> Result<(), Failure> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    let config = engine_config(global)?;
    let skip = std::env::var("ONTOREF_SECRETS_YES").is_ok_and(|v| v == "1");
    let ask = !skip && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let vault_id = vault_id.map(str::to_owned);
    with_engine(config, format, |engine| {
        Box::pin(async move {
            let vault_id = vault_id.as_deref();
            let plan = lock::close_plan(engine, vault_id).await?;
            if ask {
                let mut err = std::io::stderr();
                let _ = writeln!(
                    err,
                    "vault `{}`: {} change(s) since open",
                    plan.vault_id,
                    plan.changes.len()
                );
                for c in &plan.changes {
                    let mut line = format!("  {:<13} {}", c.change, c.path);
                    if !c.recipients_added.is_empty() {
                        line.push_str(&format!("  +{}", c.recipients_added.join(" +")));
                    }
                    if !c.recipients_removed.is_empty() {
                        line.push_str(&format!("  -{}", c.recipients_removed.join(" -")));
                    }
                    let _ = writeln!(err, "{line}");
                }
                let _ = write!(err, "push {} and release the lock? [y/N] ", plan.digest);
                let _ = err.flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    return Err(VaultError::Invalid(
                        "close cancelled: nothing was pushed and the lock is still held".into(),
                    )
                    .into());
                }
            }
            to_value(lock::close(engine, vault_id, plan).await?)
        })
    })
    .map(|_| ())
}

/// A download progress bar on stderr when it is a terminal.
fn progress_bar() -> Option<sync::Progress> {
    if !super::progress::on_terminal() {
        return None;
    }
    Some(std::sync::Arc::new(|done: u64, total: u64| {
        super::progress::draw("downloading", done, total.max(1));
    }))
}

/// `ontoref secrets fetch` (and `ontoref call` of the fetch tool): the
/// directory outlives this process, so a detached reaper removes it when it
/// expires.
pub fn fetch(
    global: &Global,
    tool: &'static CatalogTool,
    args: Value,
    format: Format,
) -> Result<(), Failure> {
    let mut config = engine_config(global)?;
    // This process exits now: the reaper, not the engine, removes the directory.
    config.own_credential_dirs = false;
    let value = run_tool(config, tool, args, format)?;
    if let Some(dir) = value["docker_config_dir"].as_str() {
        spawn_reaper(Path::new(dir));
    }
    Ok(())
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
        vault_fetch::fetch(&engine, actor.as_deref(), &req, Lifetime::Caller).await
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
        .ok_or_else(|| CliError::BadArguments("a command is required after --".to_owned()))?;
    let status = std::process::Command::new(program)
        .args(args)
        .env("DOCKER_CONFIG", &dir)
        .status()
        .map_err(|e| CliError::Exec {
            program: program.clone(),
            detail: e.to_string(),
        })?;
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
        return Err(Failure::Cli(CliError::BadFlag(format!(
            "--limit {limit} is outside 1..=500"
        ))));
    }
    let config = engine_config(global)?;
    let value = with_engine(config, format, |engine| {
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

/// `secrets rekey`: the report as JSON, or a table of the files and the
/// recipients each gained (+) and lost (-) for a person.
fn rekey(global: &Global, format: Format) -> Result<(), Failure> {
    let config = engine_config(global)?;
    let report = on_engine(config, format, |engine| Box::pin(rekey::rekey(engine)))?;
    let value = serde_json::to_value(&report).unwrap_or_default();
    let text = output::style(format).map(|style| {
        let mut out = Text::new(style);
        rekey_text(&report, &mut out);
        out.finish()
    });
    output::print(&value, text.as_deref(), format);
    Ok(())
}

/// The rekey report for a person: one row per file, keys shortened.
fn rekey_text(report: &RekeyReport, out: &mut Text) {
    let short = |sign: char, keys: &[String]| {
        keys.iter()
            .map(|k| match k.char_indices().nth(16) {
                Some((i, _)) => format!("{sign}{}…", &k[..i]),
                None => format!("{sign}{k}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rows: Vec<Vec<String>> = report
        .files
        .iter()
        .map(|f| {
            let what = match (&f.rule, f.changed) {
                (None, _) => "no rule: unchanged",
                (Some(_), true) => "rewrapped",
                (Some(_), false) => "unchanged",
            };
            vec![
                f.path.clone(),
                what.to_owned(),
                short('+', &f.added),
                short('-', &f.removed),
            ]
        })
        .collect();
    out.table(&["file", "status", "added", "removed"], &rows);
    out.blank();
    out.line(&format!(
        "{} of {} file(s) rewrapped; {} regenerated",
        report.changed,
        report.files.len(),
        report.sops_config
    ));
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
                    .map_err(|e| CliError::Environment(format!("no working directory: {e}")))?
                    .join(dir)
            };
            let force = *force;
            with_engine(config.clone(), format, move |_| {
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
