//! Toolset `modes`: operational modes across the ADR-018 level hierarchy:
//! list, show a level's definition, resolve (which level handles a mode and
//! why) and validate. Also the validator's self-test.

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::{ToolError, clip};
use crate::modes::validate::{self, CHECKS, Validation};
use crate::modes::{ModeGet, ModeList, Resolution};
use crate::onto_mcp_tool;
use crate::text::{Text, cell_of};

crate::declare_toolset! {
    id: "modes",
    title: "Operational modes",
    when: "to run one of its procedures, such as a release, step by step",
    description: "Operational modes (step DAGs such as release) across the ADR-018 level hierarchy: list, read a level's definition, resolve the steps that run here, validate.",
    needs_caller: false,
}

/// Arguments of `ontoref_mode_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeListParams {}

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
        Ok(engine.hierarchy().await?.list())
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
        h.definition(&p.id, p.level.as_deref()).map_err(|e| {
            e.unwrap_or_else(|| ToolError::InvalidParams {
                tool: Self::name().into_owned(),
                detail: format!(
                    "level: no level is named `{}`; levels: {}",
                    clip(p.level.as_deref().unwrap_or_default()),
                    h.level_names()
                ),
            })
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
        engine.hierarchy().await?.resolution(&p.id)
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
                tool: Self::name().into_owned(),
                detail: format!(
                    "checks: unknown check `{}`; known: {}",
                    clip(bad),
                    CHECKS.join(", ")
                ),
            });
        }
        Ok(validate::report(&engine.hierarchy().await?, &p.checks))
    }
}

impl ToolCommand for ModeResolveTool {
    /// Plain text: where the mode resolves and why, then its steps. In
    /// Markdown, the same as a numbered runbook whose steps carry their
    /// command, verification and on-error (the `ontoref://mode/{id}`
    /// resource and the `run-mode` prompt serve this).
    fn text(r: &Resolution, out: &mut Text) -> bool {
        if out.is_markdown() {
            runbook(r, out);
            return true;
        }
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

/// A resolved mode in Markdown: where it resolves and why, then every step
/// numbered in order with its actor, level, dependencies, command,
/// verification and what to do on error.
fn runbook(r: &Resolution, out: &mut Text) {
    out.heading(&format!("Mode {}", out.code(&r.mode)));
    out.line(&format!(
        "Resolves at **{}** ({}).\n",
        r.resolved_level.name,
        cell_of(&r.resolved_level.index)
    ));
    out.subheading("Why it resolves there");
    for (i, link) in r.chain.iter().enumerate() {
        out.line(&format!(
            "{}. [{}] {}: {}",
            i + 1,
            cell_of(&link.index),
            link.outcome,
            link.reason
        ));
    }
    out.blank();
    out.subheading("Steps");
    for (i, s) in r.steps.iter().enumerate() {
        let step = &s.step;
        out.line(&format!("{}. **{}**: {}", i + 1, step.id, step.action));
        let mut facts = vec![format!("from level: {}", s.from_level)];
        if let Some(actor) = &step.actor {
            facts.push(format!("actor: {actor}"));
        }
        if !step.depends_on.is_empty() {
            facts.push(format!("after: {}", step.depends_on.join(", ")));
        }
        if let Some(cmd) = &step.cmd {
            facts.push(format!("command: {}", out.code(cmd)));
        }
        if let Some(verify) = &step.verify {
            facts.push(format!("verify: {verify}"));
        }
        if let Some(on_error) = &step.on_error {
            facts.push(format!("on error: {on_error}"));
        }
        for fact in facts {
            out.line(&format!("   - {fact}"));
        }
    }
    out.blank();
    if !r.warnings.is_empty() {
        out.subheading("Warnings");
        for w in &r.warnings {
            out.item(w);
        }
        out.blank();
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn mode_list_names_levels_from_the_instance_and_where_modes_resolve() {
        let (e, _d) = template();
        let list = call::<ModeListTool>(&e, json!({})).unwrap();
        let levels: Vec<&str> = list["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["index"].as_str().unwrap())
            .collect();
        assert_eq!(levels.first(), Some(&"Instance"), "{list}");
        assert_eq!(levels.last(), Some(&"Base"), "{list}");
        let release = list["modes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "release")
            .unwrap();
        assert_eq!(release["resolves_at"], "agent-first", "{release}");
        let at: Vec<&str> = release["defined_at"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["index"].as_str().unwrap())
            .collect();
        assert_eq!(at, ["Instance", "Domain", "Base"], "lowest first");
    }

    #[test]
    fn mode_get_reads_one_levels_definition() {
        let (e, _d) = template();
        let lowest = call::<ModeGetTool>(&e, json!({"id": "release"})).unwrap();
        assert_eq!(lowest["level"]["name"], "agent-first");
        let domain =
            call::<ModeGetTool>(&e, json!({"id": "release", "level": "acme-platform"})).unwrap();
        assert_eq!(domain["level"]["index"], "Domain");
        assert_ne!(lowest["file"], domain["file"]);
        assert_eq!(
            code::<ModeGetTool>(&e, json!({"id": "release", "level": "nope"})),
            "invalid-params"
        );
        assert_eq!(
            code::<ModeGetTool>(&e, json!({"id": "relase"})),
            "mode-not-found"
        );
    }

    #[test]
    fn mode_resolve_explains_the_walk_and_lists_the_steps() {
        let (e, _d) = template();
        let r = call::<ModeResolveTool>(&e, json!({"id": "release"})).unwrap();
        assert_eq!(r["chain"][0]["outcome"], "composed", "{r}");
        assert!(!r["steps"].as_array().unwrap().is_empty());
        assert_eq!(
            code::<ModeResolveTool>(&e, json!({"id": "relase"})),
            "mode-not-found"
        );
    }

    #[test]
    fn validate_modes_finds_no_hard_problem_in_the_template_and_runs_only_named_checks() {
        let (e, _d) = template();
        let all = call::<ValidateModesTool>(&e, json!({})).unwrap();
        assert_eq!(all["hard"], 0, "{all}");
        assert!(all["soft"].as_u64().unwrap() >= 1);
        let one = call::<ValidateModesTool>(&e, json!({"checks": ["level-declared"]})).unwrap();
        assert_eq!(one["soft"], 0, "strategy-declared not run: {one}");
        assert_eq!(
            code::<ValidateModesTool>(&e, json!({"checks": ["nope"]})),
            "invalid-params"
        );
    }
}
