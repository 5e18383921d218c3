//! Toolset `modes`: operational modes across the ADR-018 level hierarchy:
//! list, show a level's definition, resolve (which level handles a mode and
//! why) and validate. Also the validator's self-test.

use std::borrow::Cow;
use std::path::Path;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::{Engine, EngineConfig};
use crate::error::{ToolError, clip};
use crate::model::{Kind, ModelError};
use crate::modes::{
    CHECKS, Finding, LevelIndex, LevelRef, Mode, Resolution, ResolveError, Strategy, validate,
};
use crate::onto_mcp_tool;
use crate::text::{Text, cell_of};

crate::declare_toolset! {
    id: "modes",
    title: "Operational modes",
    when: "to run one of its procedures, such as a release, step by step",
    description: "Operational modes (step DAGs such as release) across the ADR-018 level hierarchy: list, read a level's definition, resolve the exact steps that run here, validate every level.",
    needs_caller: false,
}

/// Arguments of `ontoref_mode_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeListParams {}

/// Where a mode is defined.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Definition {
    /// Level name.
    pub level: String,
    /// Level index.
    pub index: LevelIndex,
    /// Its strategy there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

/// A mode in the listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModeSummary {
    /// Mode id.
    pub id: String,
    /// Every level defining it, lowest first.
    pub defined_at: Vec<Definition>,
    /// The level that settles it from the Instance; absent when it cannot
    /// be resolved (see `ontoref_mode_resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolves_at: Option<String>,
}

/// A level of the hierarchy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LevelSummary {
    /// Index.
    pub index: LevelIndex,
    /// Name.
    pub name: String,
    /// Parent level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where its modes live.
    pub modes_dir: String,
    /// How many modes it defines.
    pub modes: usize,
}

/// Modes and levels.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModeList {
    /// Levels, from the Instance to Base.
    pub levels: Vec<LevelSummary>,
    /// Every mode id, sorted.
    pub modes: Vec<ModeSummary>,
    /// Mode files that failed to load, with their error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::model::Skipped>,
}

/// Lists modes and levels.
#[onto_mcp_tool(toolset = "modes")]
pub struct ModeListTool;

impl ToolBase for ModeListTool {
    type Parameter = ModeListParams;
    type Output = ModeList;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_mode_list")
    }

    fn title() -> Option<String> {
        Some("List operational modes".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "List the project's operational modes (DAGs of steps such as release or \
             sync-ontology) and the level hierarchy they live in: the Instance (this project), \
             any Domain levels, and ontoref-base shipped in the binary. For each mode id: every \
             level defining it with its strategy (Override, Delegate, Merge, Compose) and the \
             level that settles it. Mode files that fail to load are listed under `skipped`. \
             Then use ontoref_mode_resolve to get the steps to run.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("List operational modes"))
    }
}

impl AsyncTool<Engine> for ModeListTool {
    async fn invoke(engine: &Engine, _p: ModeListParams) -> Result<ModeList, ToolError> {
        let h = engine.hierarchy().await?;
        let modes = h
            .mode_ids()
            .into_iter()
            .map(|id| ModeSummary {
                defined_at: h
                    .levels
                    .iter()
                    .filter_map(|l| {
                        l.modes.get(&id).map(|(_, m)| Definition {
                            level: l.name.clone(),
                            index: l.index,
                            strategy: m.strategy,
                        })
                    })
                    .collect(),
                resolves_at: h.resolve(&id).ok().map(|r| r.resolved_level.name),
                id,
            })
            .collect();
        // From the Instance up its chain, then any level off the chain.
        let mut ordered: Vec<&crate::modes::Level> = h
            .instance()
            .and_then(|i| h.chain_from(&i.name).ok())
            .unwrap_or_default();
        for l in &h.levels {
            if !ordered.iter().any(|o| o.name == l.name) {
                ordered.push(l);
            }
        }
        let levels = ordered
            .into_iter()
            .map(|l| LevelSummary {
                index: l.index,
                name: l.name.clone(),
                parent: l.parent.clone(),
                modes_dir: l.modes_dir.clone(),
                modes: l.modes.len(),
            })
            .collect();
        let skipped = h
            .levels
            .iter()
            .flat_map(|l| {
                l.skipped.iter().map(|(file, error)| crate::model::Skipped {
                    file: file.clone(),
                    error: error.clone(),
                })
            })
            .collect();
        Ok(ModeList {
            levels,
            modes,
            skipped,
        })
    }
}

/// Arguments of `ontoref_mode_get`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeGetParams {
    /// The mode's id.
    pub id: String,
    /// The level whose definition to show; the lowest defining level when absent.
    #[serde(default)]
    pub level: Option<String>,
}

/// One level's definition of a mode.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModeGet {
    /// The mode as that level writes it.
    pub mode: Mode,
    /// The level.
    pub level: LevelRef,
    /// Its file.
    pub file: String,
}

/// Shows one level's definition of a mode.
#[onto_mcp_tool(toolset = "modes")]
pub struct ModeGetTool;

impl ToolBase for ModeGetTool {
    type Parameter = ModeGetParams;
    type Output = ModeGet;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_mode_get")
    }

    fn title() -> Option<String> {
        Some("Show a mode's definition".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Return one level's own definition of a mode, as its file writes it: strategy, \
             extends, trigger, preconditions and steps (id, action, actor, cmd, verify, \
             depends_on, on_error), with the level and file. Without `level`, the lowest level \
             defining the mode. This is not what runs: use ontoref_mode_resolve for the steps \
             after the hierarchy is applied. An unknown id is `mode-not-found`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Show a mode's definition"))
    }
}

impl AsyncTool<Engine> for ModeGetTool {
    async fn invoke(engine: &Engine, p: ModeGetParams) -> Result<ModeGet, ToolError> {
        let h = engine.hierarchy().await?;
        let ids = h.mode_ids();
        let level = match &p.level {
            Some(name) => h.level(name).ok_or_else(|| ToolError::InvalidParams {
                tool: "ontoref_mode_get".to_owned(),
                detail: format!(
                    "level: no level is named `{}`; levels: {}",
                    clip(name),
                    h.levels
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?,
            None => h
                .levels
                .iter()
                .find(|l| l.modes.contains_key(&p.id))
                .ok_or_else(|| {
                    ModelError::not_found(Kind::Mode, &p.id, ids.iter().map(String::as_str))
                })?,
        };
        let (file, mode) = level.modes.get(&p.id).ok_or_else(|| {
            ModelError::not_found(Kind::Mode, &p.id, level.modes.keys().map(String::as_str))
        })?;
        Ok(ModeGet {
            mode: mode.as_ref().clone(),
            level: LevelRef {
                index: level.index,
                name: level.name.clone(),
            },
            file: file.clone(),
        })
    }
}

/// Arguments of `ontoref_mode_resolve`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeResolveParams {
    /// The mode's id.
    pub id: String,
}

/// Resolves a mode across the hierarchy.
#[onto_mcp_tool(toolset = "modes", custom_cli)]
pub struct ModeResolveTool;

impl ToolBase for ModeResolveTool {
    type Parameter = ModeResolveParams;
    type Output = Resolution;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_mode_resolve")
    }

    fn title() -> Option<String> {
        Some("Resolve an operational mode".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Work out how a mode runs in this project (ADR-018): walk from the Instance level \
             toward ontoref-base; a level without the mode passes on, 'Override settles it, \
             'Delegate passes on, 'Merge accumulates steps (the lower level wins a step id), \
             'Compose takes the `extends` step ids from the parent's resolution plus its own. \
             Returns the settling level, the chain of levels with each one's strategy, outcome \
             and reason (the why), the steps to run with the level each comes from, and \
             warnings. Errors: `mode-not-found` (hint: closest ids), `mode-unresolvable`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Resolve an operational mode"))
    }
}

impl AsyncTool<Engine> for ModeResolveTool {
    async fn invoke(engine: &Engine, p: ModeResolveParams) -> Result<Resolution, ToolError> {
        let h = engine.hierarchy().await?;
        h.resolve(&p.id).map_err(|e| match e {
            ResolveError::NotFound => {
                ModelError::not_found(Kind::Mode, &p.id, h.mode_ids().iter().map(String::as_str))
                    .into()
            }
            ResolveError::Incoherent(reason) => ToolError::Unresolvable {
                mode: p.id.clone(),
                reason,
            },
        })
    }
}

/// Arguments of `ontoref_validate_modes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateParams {
    /// Checks to run (all when empty): `level-declared`, `strategy-declared`,
    /// `delegate-chain-coherent`, `compose-extends-valid`.
    #[serde(default)]
    pub checks: Vec<String>,
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

/// Validates every mode of every level.
#[onto_mcp_tool(toolset = "modes", custom_cli)]
pub struct ValidateModesTool;

impl ToolBase for ValidateModesTool {
    type Parameter = ValidateParams;
    type Output = Validation;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_validate_modes")
    }

    fn title() -> Option<String> {
        Some("Validate the mode hierarchy".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Check every mode of every level (ADR-018): `level-declared` (a mode's `level` \
             matches where it lives), `strategy-declared` (Soft: Domain and Instance modes name a \
             strategy), `delegate-chain-coherent` (parents exist, no cycle, a delegating mode \
             reaches a level that defines it), `compose-extends-valid` (extended step ids exist \
             in the parent's resolution). Returns findings {mode, level, check, severity, \
             message, file} with counts of Hard and Soft; `checks` limits which run.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Validate the mode hierarchy"))
    }
}

impl AsyncTool<Engine> for ValidateModesTool {
    async fn invoke(engine: &Engine, p: ValidateParams) -> Result<Validation, ToolError> {
        if let Some(bad) = p.checks.iter().find(|c| !CHECKS.contains(&c.as_str())) {
            return Err(ToolError::InvalidParams {
                tool: "ontoref_validate_modes".to_owned(),
                detail: format!(
                    "checks: unknown check `{}`; known: {}",
                    clip(bad),
                    CHECKS.join(", ")
                ),
            });
        }
        let h = engine.hierarchy().await?;
        Ok(summarize(&h, validate(&h, &p.checks)))
    }
}

fn summarize(h: &crate::modes::Hierarchy, findings: Vec<Finding>) -> Validation {
    Validation {
        hard: findings.iter().filter(|f| f.severity == "Hard").count(),
        soft: findings.iter().filter(|f| f.severity == "Soft").count(),
        levels: h.levels.len(),
        modes: h.levels.iter().map(|l| l.modes.len()).sum(),
        findings,
    }
}

/// One case of the self-test.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SelfTestCase {
    /// Case name.
    pub name: String,
    /// The check expected to fire (`none` for the clean hierarchy).
    pub expect: String,
    /// Whether the validator did what was expected.
    pub passed: bool,
    /// What it found.
    pub findings: Vec<Finding>,
}

/// The self-test's outcome.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SelfTest {
    /// Every case.
    pub cases: Vec<SelfTestCase>,
    /// Whether every violation was caught and the clean hierarchy passed.
    pub ok: bool,
}

impl SelfTest {
    /// The report for a person: one line per case, then the verdict.
    pub fn text(&self, out: &mut Text) {
        for c in &self.cases {
            let mark = if c.passed { "ok  " } else { "FAIL" };
            out.line(&format!("{mark} {:<26} expects {}", c.name, c.expect));
        }
        out.line(&format!(
            "\nself-test {}",
            if self.ok { "passed" } else { "FAILED" }
        ));
    }
}

/// A self-test case: name, expected check, files replacing the clean
/// hierarchy's, and the workflow.ncl to use.
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
);

const WORKFLOW: &str = r#"{ level_hierarchy = [
  { index = 'Domain, name = "dom", parent = "ontoref-base", modes_dir = "domain/modes" },
  { index = 'Instance, name = "inst", parent = "dom", modes_dir = "reflection/modes" },
] }"#;

fn mode(id: &str, level: &str, body: &str) -> String {
    format!("{{ id = \"{id}\", level = \"{level}\", {body} }}")
}

/// Writes synthetic hierarchies under `dir` — a clean one and one per
/// violation kind — validates each, and reports whether every violation was
/// caught and the clean one passed.
pub async fn self_test(dir: &Path, base: &EngineConfig) -> Result<SelfTest, ToolError> {
    let clean: Vec<(&str, String)> = vec![
        (
            "domain/modes/ship.ncl",
            mode(
                "ship",
                "dom",
                "strategy = 'Override, steps = [ { id = \"build\", action = \"b\" }, { id = \"tag\", action = \"t\", depends_on = [\"build\"] } ]",
            ),
        ),
        (
            "reflection/modes/ship.ncl",
            mode(
                "ship",
                "inst",
                "strategy = 'Compose, extends = [\"build\"], steps = [ { id = \"announce\", action = \"a\", depends_on = [\"build\"] } ]",
            ),
        ),
        (
            "reflection/modes/sync-ontology.ncl",
            mode(
                "sync-ontology",
                "inst",
                "strategy = 'Merge, steps = [ { id = \"lint\", action = \"l\" } ]",
            ),
        ),
        (
            "reflection/modes/onboard.ncl",
            mode("onboard", "inst", "strategy = 'Delegate"),
        ),
    ];
    let cases: Vec<Case> = vec![
        ("clean", "none", vec![], WORKFLOW),
        (
            "level-declared",
            "level-declared",
            vec![(
                "reflection/modes/deploy.ncl",
                mode(
                    "deploy",
                    "somewhere-else",
                    "strategy = 'Override, steps = [ { id = \"x\", action = \"x\" } ]",
                ),
            )],
            WORKFLOW,
        ),
        (
            "strategy-declared",
            "strategy-declared",
            vec![
                (
                    "reflection/modes/review.ncl",
                    "{ id = \"review\", level = \"inst\", steps = [] }".to_owned(),
                ),
                (
                    "domain/modes/review.ncl",
                    mode(
                        "review",
                        "dom",
                        "strategy = 'Override, steps = [ { id = \"r\", action = \"r\" } ]",
                    ),
                ),
            ],
            WORKFLOW,
        ),
        (
            "delegate-to-nowhere",
            "delegate-chain-coherent",
            vec![(
                "reflection/modes/orphan.ncl",
                mode("orphan", "inst", "strategy = 'Delegate"),
            )],
            WORKFLOW,
        ),
        (
            "parent-cycle",
            "delegate-chain-coherent",
            vec![],
            r#"{ level_hierarchy = [
  { index = 'Domain, name = "dom", parent = "inst", modes_dir = "domain/modes" },
  { index = 'Instance, name = "inst", parent = "dom", modes_dir = "reflection/modes" },
] }"#,
        ),
        (
            "compose-extends-missing",
            "compose-extends-valid",
            vec![(
                "reflection/modes/ship.ncl",
                mode(
                    "ship",
                    "inst",
                    "strategy = 'Compose, extends = [\"sign\"], steps = [ { id = \"announce\", action = \"a\" } ]",
                ),
            )],
            WORKFLOW,
        ),
    ];
    let mut out = Vec::new();
    for (name, expect, overrides, workflow) in cases {
        let root = dir.join(name);
        let mut files: Vec<(&str, String)> = clean.clone();
        for (path, text) in overrides {
            files.retain(|(p, _)| *p != path);
            files.push((path, text));
        }
        files.push(("reflection/workflow.ncl", workflow.to_owned()));
        for (path, text) in &files {
            let full = root.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    ToolError::Internal(format!("self-test cannot write {}: {e}", full.display()))
                })?;
            }
            std::fs::write(&full, text).map_err(|e| {
                ToolError::Internal(format!("self-test cannot write {}: {e}", full.display()))
            })?;
        }
        std::fs::create_dir_all(root.join(".ontoref"))
            .map_err(|e| ToolError::Internal(e.to_string()))?;
        let engine = Engine::new(EngineConfig {
            project: Some(root.clone()),
            disk_cache: false,
            ..base.clone()
        })?;
        let h = engine.hierarchy().await?;
        let findings = validate(&h, &[]);
        let passed = if expect == "none" {
            findings.iter().all(|f| f.severity != "Hard") && findings.is_empty()
        } else {
            findings.iter().any(|f| f.check == expect)
        };
        out.push(SelfTestCase {
            name: name.to_owned(),
            expect: expect.to_owned(),
            passed,
            findings,
        });
    }
    let ok = out.iter().all(|c| c.passed);
    Ok(SelfTest { cases: out, ok })
}

impl ToolCommand for ModeResolveTool {
    fn text(r: &Resolution, out: &mut Text) -> bool {
        out.line(&format!(
            "{} resolves at {} ({})\n\nwhy:",
            r.mode,
            r.resolved_level.name,
            cell_of(&r.resolved_level.index)
        ));
        for (i, link) in r.chain.iter().enumerate() {
            out.line(&format!(
                "  {}. [{}] {}: {}",
                i + 1,
                cell_of(&link.index),
                link.outcome,
                link.reason
            ));
        }
        out.line("\nsteps:");
        for s in &r.steps {
            let step = &s.step;
            let actor = step
                .actor
                .as_deref()
                .map(|a| format!(", {a}"))
                .unwrap_or_default();
            let after = if step.depends_on.is_empty() {
                String::new()
            } else {
                format!(", after {}", step.depends_on.join(", "))
            };
            out.line(&format!(
                "  - {:<20} {}  ({}{actor}{after})",
                step.id, step.action, s.from_level
            ));
            if let Some(cmd) = &step.cmd {
                out.line(&format!("      $ {cmd}"));
            }
        }
        for w in &r.warnings {
            out.line(&format!("\nwarning: {w}"));
        }
        true
    }
}

impl ToolCommand for ValidateModesTool {
    fn text(v: &Validation, out: &mut Text) -> bool {
        for f in &v.findings {
            let mode = if f.mode.is_empty() {
                String::new()
            } else {
                format!("/{}", f.mode)
            };
            out.line(&format!(
                "{} [{}] {}{mode}: {}\n    {}",
                f.severity, f.check, f.level, f.message, f.file
            ));
        }
        out.line(&format!(
            "{} Hard, {} Soft over {} mode definitions in {} levels",
            v.hard, v.soft, v.modes, v.levels
        ));
        true
    }

    fn failed(v: &Validation) -> bool {
        v.hard > 0
    }
}
