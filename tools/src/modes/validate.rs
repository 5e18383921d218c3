//! Validating every mode of every level (ADR-018's checks): levels and
//! strategies declared, delegate chains coherent, composed steps existing
//! in the parent's resolution.

use schemars::JsonSchema;
use serde::Serialize;

use crate::modes::hierarchy::{Hierarchy, LevelIndex, Strategy};
use crate::modes::resolve::ResolveError;

/// One validation finding.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Finding {
    /// Mode id (empty for a finding about the hierarchy).
    pub mode: String,
    /// Level name.
    pub level: String,
    /// Which check: `level-declared`, `strategy-declared`,
    /// `delegate-chain-coherent`, `compose-extends-valid`, or `mode-loads`.
    pub check: String,
    /// `Hard` or `Soft`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The file concerned.
    pub file: String,
}

/// The checks `validate modes` runs.
pub const CHECKS: &[&str] = &[
    "level-declared",
    "strategy-declared",
    "delegate-chain-coherent",
    "compose-extends-valid",
];

/// Runs the checks named in `checks` (all when empty) over every mode of
/// every level.
pub fn validate(h: &Hierarchy, checks: &[String]) -> Vec<Finding> {
    let on = |c: &str| checks.is_empty() || checks.iter().any(|x| x == c);
    let mut out = Vec::new();
    let finding =
        |mode: &str, level: &str, check: &str, hard: bool, message: String, file: &str| Finding {
            mode: mode.to_owned(),
            level: level.to_owned(),
            check: check.to_owned(),
            severity: if hard { "Hard" } else { "Soft" }.to_owned(),
            message,
            file: file.to_owned(),
        };
    if on("delegate-chain-coherent") {
        for p in &h.problems {
            out.push(finding(
                "",
                "",
                "delegate-chain-coherent",
                true,
                p.clone(),
                &h.source,
            ));
        }
        for level in &h.levels {
            if let Err(e) = h.chain_from(&level.name) {
                out.push(finding(
                    "",
                    &level.name,
                    "delegate-chain-coherent",
                    true,
                    e,
                    &h.source,
                ));
            }
        }
    }
    for level in &h.levels {
        for (file, err) in &level.skipped {
            out.push(finding(
                "",
                &level.name,
                "mode-loads",
                true,
                format!("{}: {err}", err.code()),
                file,
            ));
        }
        for (id, file) in &level.duplicates {
            out.push(finding(
                id,
                &level.name,
                "mode-loads",
                true,
                format!("mode `{id}` is defined twice at level `{}`", level.name),
                file,
            ));
        }
        for (id, (file, mode)) in &level.modes {
            if on("level-declared")
                && let Some(declared) = &mode.level
                && declared != &level.name
                && !declared.eq_ignore_ascii_case(&format!("{:?}", level.index))
            {
                out.push(finding(
                    id,
                    &level.name,
                    "level-declared",
                    true,
                    format!(
                        "mode `{id}` declares level `{declared}` but lives in `{}` ({})",
                        level.name, level.modes_dir
                    ),
                    file,
                ));
            }
            if on("strategy-declared") && level.index != LevelIndex::Base && mode.strategy.is_none()
            {
                out.push(finding(
                    id,
                    &level.name,
                    "strategy-declared",
                    false,
                    format!(
                        "mode `{id}` at `{}` has no strategy; it is treated as 'Delegate",
                        level.name
                    ),
                    file,
                ));
            }
            let resolution = h.resolve_from(id, &level.name);
            match (&resolution, mode.strategy) {
                (Err(ResolveError::Incoherent(msg)), Some(Strategy::Compose))
                    if on("compose-extends-valid") && msg.contains("extends step") =>
                {
                    out.push(finding(
                        id,
                        &level.name,
                        "compose-extends-valid",
                        true,
                        msg.clone(),
                        file,
                    ));
                }
                (Err(ResolveError::Incoherent(msg)), _)
                    if on("delegate-chain-coherent") && !msg.contains("extends step") =>
                {
                    out.push(finding(
                        id,
                        &level.name,
                        "delegate-chain-coherent",
                        true,
                        msg.clone(),
                        file,
                    ));
                }
                (Err(ResolveError::NotFound), _) if on("delegate-chain-coherent") => {
                    out.push(finding(
                        id,
                        &level.name,
                        "delegate-chain-coherent",
                        true,
                        format!(
                            "mode `{id}` delegates from `{}` but no level above defines it",
                            level.name
                        ),
                        file,
                    ));
                }
                _ => {}
            }
            if on("compose-extends-valid")
                && mode.strategy == Some(Strategy::Compose)
                && mode.extends.is_empty()
            {
                out.push(finding(id, &level.name, "compose-extends-valid", false, format!("mode `{id}` composes but extends no parent step; 'Override says that more plainly"), file));
            }
        }
    }
    out
}

/// Validation findings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Validation {
    /// Every finding, by level then mode.
    pub findings: Vec<Finding>,
    /// Hard findings: the hierarchy is wrong.
    pub hard: usize,
    /// Soft findings: worth fixing.
    pub soft: usize,
    /// Levels checked.
    pub levels: usize,
    /// Mode definitions checked.
    pub modes: usize,
}

/// Runs the checks named in `checks` (all when empty) and counts the
/// findings by severity.
pub fn report(h: &Hierarchy, checks: &[String]) -> Validation {
    let findings = validate(h, checks);
    Validation {
        hard: findings.iter().filter(|f| f.severity == "Hard").count(),
        soft: findings.iter().filter(|f| f.severity == "Soft").count(),
        levels: h.levels.len(),
        modes: h.levels.iter().map(|l| l.modes.len()).sum(),
        findings,
    }
}
