//! `ontoref ontology index [--check] <dir>`: a directory's MIF ontology
//! index, written or compared as the corpus's generator does; the domain
//! work is `ontoref_tools::ontologies::index`.

use crate::output::{self, Format};
use ontoref_tools::ToolError;
use ontoref_tools::ontologies::index;
use serde_json::json;

use super::Failure;
use super::args::OntologyCommand;

/// Runs an `ontology` subcommand.
pub fn ontology(cmd: &OntologyCommand, format: Format) -> Result<(), Failure> {
    match cmd {
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
