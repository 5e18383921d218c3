//! `ontoref ontology vendor | check | index`: vendoring the project's MIF
//! ontologies from an attested release, the drift gate over the snapshot,
//! and a directory's index written or compared as the corpus's generator
//! does. The domain work is `ontoref_tools::ontologies::{vendor, lock,
//! index}`; this module turns flags into calls and prints results.

use crate::output::{self, Format};
use ontoref_tools::ToolError;
use ontoref_tools::ontologies::index;
use serde_json::json;

use super::Failure;
use super::args::{Global, OntologyCommand};
use super::run::{engine_config, on_engine};
use ontoref_tools::ontologies::vendor::{self, VendorOptions, Vendored};
use ontoref_tools::ontologies::{SNAPSHOT_DIR, lock};

/// Runs an `ontology` subcommand.
pub fn ontology(global: &Global, cmd: &OntologyCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        OntologyCommand::Vendor { source, refresh } => {
            let opts = VendorOptions {
                source: source.clone(),
                refresh: *refresh,
                progress: super::progress::on_terminal()
                    .then(|| std::sync::Arc::new(super::progress::draw) as vendor::Progress),
            };
            let config = engine_config(global)?;
            let result = on_engine(config, format, |engine| {
                Box::pin(async move {
                    let done = vendor::vendor(engine, &opts).await;
                    if opts.progress.is_some() {
                        super::progress::finish();
                    }
                    done
                })
            })?;
            let value = serde_json::to_value(&result).map_err(|e| {
                ontoref::failure::CliError::Environment(format!("cannot render the result: {e}"))
            })?;
            output::print(&value, Some(&vendored_text(&result)), format);
            Ok(())
        }
        OntologyCommand::Check => {
            let config = engine_config(global)?;
            let drift = on_engine(config, format, |engine| {
                Box::pin(async move {
                    let enabled = engine
                        .project_file()
                        .await?
                        .and_then(|p| p.ontologies.clone())
                        .map(|o| o.enable)
                        .unwrap_or_default();
                    let dir = engine.project().root().join(SNAPSHOT_DIR);
                    Ok(lock::check(&dir, &enabled)?)
                })
            })?;
            let value = serde_json::to_value(&drift).map_err(|e| {
                ontoref::failure::CliError::Environment(format!("cannot render the result: {e}"))
            })?;
            let clean = drift.is_clean();
            let text = if clean {
                "the snapshot matches its lock: every enabled ontology is pinned, every file hashes to its pin\n".to_owned()
            } else {
                format!(
                    "drift in the ontology snapshot: `ontoref ontology vendor` restores it\n{}\n",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                )
            };
            output::print(&value, Some(&text), format);
            if clean { Ok(()) } else { Err(Failure::Exit(1)) }
        }
        OntologyCommand::Index { check: false, dir } => match index::write(dir) {
            Ok((path, generated)) => {
                warn_skipped(&generated.skipped, format);
                let value = json!({
                    "path": path.display().to_string(),
                    "written": true,
                    "ontologies": generated.ontologies,
                    "skipped": generated.skipped,
                });
                let text = format!(
                    "wrote {} ({} ontologies)\n",
                    path.display(),
                    generated.ontologies
                );
                output::print(&value, Some(&text), format);
                Ok(())
            }
            Err(e) => report(e.into(), format),
        },
        OntologyCommand::Index { check: true, dir } => match index::check(dir) {
            Ok(checked) => {
                warn_skipped(&checked.generated.skipped, format);
                let value = json!({
                    "path": checked.path.display().to_string(),
                    "up_to_date": checked.up_to_date,
                    "ontologies": checked.generated.ontologies,
                    "skipped": checked.generated.skipped,
                    "diff": checked.diff,
                });
                let text = if checked.up_to_date {
                    format!(
                        "{} matches a fresh regeneration ({} ontologies)\n",
                        checked.path.display(),
                        checked.generated.ontologies
                    )
                } else {
                    format!(
                        "{} is stale: `ontoref ontology index {}` rewrites it\n{}",
                        checked.path.display(),
                        dir.display(),
                        checked.diff.as_deref().unwrap_or_default()
                    )
                };
                output::print(&value, Some(&text), format);
                if checked.up_to_date {
                    Ok(())
                } else {
                    Err(Failure::Exit(1))
                }
            }
            Err(e) => report(e.into(), format),
        },
    }
}

/// A person sees each skipped file on stderr (an agent has `skipped`).
fn warn_skipped(skipped: &[String], format: Format) {
    if format != Format::Json {
        for name in skipped {
            eprintln!("skipped {name}: it has no ontology.id");
        }
    }
}

fn report(err: ToolError, format: Format) -> Result<(), Failure> {
    output::print_error(&err, format);
    Err(Failure::Reported)
}

fn vendored_text(v: &Vendored) -> String {
    let mut out = format!(
        "vendored {} ontologies from {} into {}\n  index      sha256:{}{}\n  verified   {}\n",
        v.ontologies.len(),
        v.source,
        v.snapshot,
        v.index_sha256,
        v.previous_index_sha256
            .as_ref()
            .map(|p| format!(" (was sha256:{p})"))
            .unwrap_or_default(),
        v.verified_by
            .as_deref()
            .unwrap_or("no: hash pinning only (set ontologies.trust)")
    );
    for o in &v.ontologies {
        out += &format!(
            "  {:<32} {:<10} {}{}\n",
            o.id,
            o.version,
            &o.sha256[..o.sha256.len().min(12)],
            if o.enabled { "" } else { "  (extended)" }
        );
    }
    if !v.changed {
        out += "  unchanged: the snapshot already held these bytes\n";
    }
    out
}
