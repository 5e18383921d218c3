//! `ontoref attestation verify`: gh's offline verification, flag for flag.
//! This module turns flags into an `ontoref_tools::attestation::verify`
//! request and prints its result; the checks are all in the domain.

use std::path::Path;

use crate::output::{self, Format};
use ontoref::failure::CliError;
use ontoref_tools::ToolError;
use ontoref_tools::attestation::verify::{self, Policy, Request, Subject, Verified};

use super::Failure;
use super::args::{AttestationCommand, AttestationVerifyArgs};

/// The largest artifact file read (a digest stands in for larger ones).
const MAX_ARTIFACT: u64 = 1 << 30;

/// Runs an `attestation` subcommand.
pub fn attestation(cmd: &AttestationCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        AttestationCommand::Verify(args) => verify_cmd(args, format),
    }
}

fn verify_cmd(args: &AttestationVerifyArgs, format: Format) -> Result<(), Failure> {
    let subject = subject(&args.artifact)?;
    let request = Request {
        subject,
        bundle: &args.bundle,
        trusted_root: args.custom_trusted_root.as_deref(),
        key: args.key.as_deref(),
        policy: Policy {
            issuer: args.cert_oidc_issuer.clone(),
            owner: args.owner.clone(),
            repo: args.repo.clone(),
            san: args.cert_identity.clone(),
            san_regex: args.cert_identity_regex.clone(),
            signer_workflow: args.signer_workflow.clone(),
            predicate_type: args.predicate_type.clone(),
        },
    };
    match verify::verify(&request) {
        Ok(v) => {
            let value = serde_json::to_value(&v)
                .map_err(|e| CliError::Environment(format!("cannot render the result: {e}")))?;
            output::print(&value, Some(&text(&v)), format);
            Ok(())
        }
        Err(e) => {
            output::print_error(&ToolError::from(e), format);
            Err(Failure::Reported)
        }
    }
}

/// The artifact argument: `sha256:<hex>` / `sha512:<hex>`, else a file.
fn subject(arg: &str) -> Result<Subject, Failure> {
    if let Some(s) = Subject::digest(arg) {
        return Ok(s);
    }
    let looks_like_digest = arg.starts_with("sha256:") || arg.starts_with("sha512:");
    if looks_like_digest && !Path::new(arg).exists() {
        return Err(CliError::BadFlag(format!(
            "the artifact {arg:?} is neither a file nor a digest (sha256:<64 hex> or sha512:<128 hex>)"
        ))
        .into());
    }
    ontoref_tools::fsread::read(
        Path::new(arg),
        MAX_ARTIFACT,
        ontoref_tools::fsread::Links::Follow,
    )
    .map(Subject::Bytes)
    .map_err(|e| {
        CliError::BadFlag(format!(
            "the artifact {arg:?} cannot be read ({e}); pass a file, or its digest as sha256:<hex>"
        ))
        .into()
    })
}

fn text(v: &Verified) -> String {
    let mut out = format!("verified {}", v.subject_digest);
    if let Some(p) = &v.predicate_type {
        out += &format!("\n  predicate  {p}");
    }
    match &v.identity {
        Some(id) => {
            if let Some(san) = &id.san {
                out += &format!("\n  signer     {san}");
            }
            if let Some(repo) = &id.repo {
                out += &format!("\n  repository {repo}");
            }
            if let Some(iss) = &id.issuer {
                out += &format!("\n  issuer     {iss}");
            }
        }
        None => out += "\n  signer     the --key given",
    }
    if let Some(t) = &v.signed_at {
        out += &format!("\n  signed at  {t}");
    }
    out += &format!(
        "\n  log entry  {}\n  bundles    {} of {} verified\n",
        if v.transparency_log {
            "verified"
        } else {
            "none"
        },
        v.verified_bundles,
        v.bundles
    );
    out
}
