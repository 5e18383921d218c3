//! Operational modes and the ADR-018 level hierarchy.
//!
//! Levels run from the project's 'Instance up through any 'Domain levels to
//! the implicit 'Base, `ontoref-base`, whose modes ship in the binary. Each
//! level holds mode files in its `modes_dir`. Resolving a mode walks from the
//! Instance toward Base; a level that defines the mode acts by its strategy:
//! 'Override stops the walk with its own steps, 'Delegate (or no strategy,
//! with a Soft warning) passes on, 'Merge accumulates its steps over the
//! parent's resolution (the lower level wins a step id), and 'Compose takes
//! the step ids in `extends` from the parent's resolution and adds its own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{Document, Kind, LoadError, ModelError, Source, decode};

/// Name of the implicit base level.
pub const BASE: &str = "ontoref-base";

/// Where a level sits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum LevelIndex {
    /// The project's own level.
    Instance,
    /// A shared domain level.
    Domain,
    /// ontoref's own level, shipped in the binary.
    Base,
}

/// How a level combines a mode with its parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Strategy {
    /// This level's definition is the mode.
    Override,
    /// Pass to the parent.
    Delegate,
    /// Accumulate with the parent's steps; the lower level wins a step id.
    Merge,
    /// Take `extends` step ids from the parent's resolution, add own steps.
    Compose,
}

fn tag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }))
}

/// One step of a mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModeStep {
    /// Step id.
    pub id: String,
    /// What is done.
    pub action: String,
    /// Who does it, e.g. `Agent`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tag"
    )]
    pub actor: Option<String>,
    /// Command to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// How to verify it worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
    /// Steps that must finish first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// What to do on failure, e.g. `Stop`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tag"
    )]
    pub on_error: Option<String>,
}

/// A mode file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Mode {
    /// Mode id.
    pub id: String,
    /// The level it says it belongs to (name or index).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tag"
    )]
    pub level: Option<String>,
    /// How it combines with the parent level's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// For 'Compose: step ids taken from the parent's resolution.
    #[serde(default)]
    pub extends: Vec<String>,
    /// When it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// What must hold first.
    #[serde(default)]
    pub preconditions: Vec<String>,
    /// Its steps.
    #[serde(default)]
    pub steps: Vec<ModeStep>,
}

impl Document for Mode {
    const KIND: &'static str = "mode";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        if !value.is_object() {
            return Err(ModelError::Invalid {
                kind: Kind::Mode,
                file: source.display.to_owned(),
                line: String::new(),
                field: ".".to_owned(),
                detail: format!(
                    "a mode file must evaluate to a record, not {}",
                    json_kind(&value)
                ),
            });
        }
        decode(value, source, Kind::Mode, "steps")
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "a record",
    }
}

/// One entry of `reflection/workflow.ncl`'s `level_hierarchy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowLevel {
    /// 'Domain or 'Instance.
    pub index: LevelIndex,
    /// Level name.
    pub name: String,
    /// Parent level name.
    pub parent: String,
    /// Modes directory, relative to the project root or absolute.
    pub modes_dir: String,
}

/// `reflection/workflow.ncl`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Workflow {
    /// The levels.
    pub level_hierarchy: Vec<WorkflowLevel>,
}

impl Document for Workflow {
    const KIND: &'static str = "workflow";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            level_hierarchy: Vec<WorkflowLevel>,
        }
        let file: File = decode(value, source, Kind::Mode, "level_hierarchy")?;
        Ok(Workflow {
            level_hierarchy: file.level_hierarchy,
        })
    }
}

/// A level with the modes found in its directory.
#[derive(Debug, Clone)]
pub struct Level {
    /// Index.
    pub index: LevelIndex,
    /// Name.
    pub name: String,
    /// Parent name; `None` for Base.
    pub parent: Option<String>,
    /// Where its modes live (shown form).
    pub modes_dir: String,
    /// Modes by id, with their files.
    pub modes: BTreeMap<String, (String, Arc<Mode>)>,
    /// Mode files that failed to load.
    pub skipped: Vec<(String, Arc<LoadError>)>,
    /// Files defining a mode id already defined at this level.
    pub duplicates: Vec<(String, String)>,
}

/// The loaded hierarchy: every level, the Instance first.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Levels by name.
    pub levels: Vec<Level>,
    /// Problems with the hierarchy itself (missing parents, cycles).
    pub problems: Vec<String>,
    /// Where the hierarchy was declared (`reflection/workflow.ncl` or implicit).
    pub source: String,
}

/// A level in a resolution chain.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChainLink {
    /// Index.
    pub index: LevelIndex,
    /// Name.
    pub name: String,
    /// Whether this level defines the mode.
    pub defines: bool,
    /// Its strategy, when it defines the mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// What happened here: `passed`, `delegated`, `resolved`, `merged`, `composed`.
    pub outcome: String,
    /// Why, in words.
    pub reason: String,
}

/// A step of a resolved mode, with the level it comes from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResolvedStep {
    /// The step.
    #[serde(flatten)]
    pub step: ModeStep,
    /// The level that contributed it.
    pub from_level: String,
}

/// A level's identity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LevelRef {
    /// Index.
    pub index: LevelIndex,
    /// Name.
    pub name: String,
}

/// How a mode runs here, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Resolution {
    /// Mode id.
    pub mode: String,
    /// The level whose definition settles the mode.
    pub resolved_level: LevelRef,
    /// Every level consulted, from the Instance up.
    pub chain: Vec<ChainLink>,
    /// The steps to run, in order.
    pub steps: Vec<ResolvedStep>,
    /// Soft problems met on the way.
    pub warnings: Vec<String>,
}

/// A mode could not be resolved.
#[derive(Debug, Clone)]
pub enum ResolveError {
    /// No level defines it.
    NotFound,
    /// Something in the chain is incoherent.
    Incoherent(String),
}

impl Hierarchy {
    /// The level named `name`.
    pub fn level(&self, name: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.name == name)
    }

    /// The Instance level.
    pub fn instance(&self) -> Option<&Level> {
        self.levels.iter().find(|l| l.index == LevelIndex::Instance)
    }

    /// The chain of levels from `start` toward Base, stopping at a missing
    /// parent or a cycle (reported as the error).
    pub fn chain_from(&self, start: &str) -> Result<Vec<&Level>, String> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = Some(start.to_owned());
        while let Some(name) = cur {
            if !seen.insert(name.clone()) {
                return Err(format!("the level hierarchy has a cycle through `{name}`"));
            }
            let Some(level) = self.level(&name) else {
                return Err(format!(
                    "level `{name}` is named as a parent but is not declared"
                ));
            };
            chain.push(level);
            cur = level.parent.clone();
        }
        Ok(chain)
    }

    /// Every mode id defined anywhere.
    pub fn mode_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .levels
            .iter()
            .flat_map(|l| l.modes.keys().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Resolves `id` from the Instance level.
    pub fn resolve(&self, id: &str) -> Result<Resolution, ResolveError> {
        let start = self.instance().map(|l| l.name.clone()).ok_or_else(|| {
            ResolveError::Incoherent("the hierarchy has no 'Instance level".to_owned())
        })?;
        self.resolve_from(id, &start)
    }

    /// Resolves `id` starting at level `start`.
    pub fn resolve_from(&self, id: &str, start: &str) -> Result<Resolution, ResolveError> {
        let chain = self.chain_from(start).map_err(ResolveError::Incoherent)?;
        let mut links = Vec::new();
        let mut warnings = Vec::new();
        let found = walk(&chain, id, &mut links, &mut warnings)?;
        match found {
            Some((level, steps)) => Ok(Resolution {
                mode: id.to_owned(),
                resolved_level: LevelRef {
                    index: level.index,
                    name: level.name.clone(),
                },
                chain: links,
                steps,
                warnings,
            }),
            None if self.levels.iter().any(|l| l.modes.contains_key(id)) => {
                Err(ResolveError::Incoherent(format!(
                    "mode `{id}` is defined only at levels the walk from `{start}` never settles on (every definition on the way delegates)"
                )))
            }
            None => Err(ResolveError::NotFound),
        }
    }
}

/// Walks `chain` (lowest level first) and returns the settling level and
/// steps, or `None` when no level on the chain settles the mode.
fn walk<'h>(
    chain: &[&'h Level],
    id: &str,
    links: &mut Vec<ChainLink>,
    warnings: &mut Vec<String>,
) -> Result<Option<(&'h Level, Vec<ResolvedStep>)>, ResolveError> {
    let Some((level, rest)) = chain.split_first() else {
        return Ok(None);
    };
    let own = |mode: &Mode| -> Vec<ResolvedStep> {
        mode.steps
            .iter()
            .map(|s| ResolvedStep {
                step: s.clone(),
                from_level: level.name.clone(),
            })
            .collect()
    };
    let Some((_, mode)) = level.modes.get(id) else {
        links.push(ChainLink {
            index: level.index,
            name: level.name.clone(),
            defines: false,
            strategy: None,
            outcome: "passed".to_owned(),
            reason: match rest.first() {
                Some(p) => format!(
                    "`{}` does not define `{id}`; passing to its parent `{}`",
                    level.name, p.name
                ),
                None => format!("`{}` does not define `{id}` and has no parent", level.name),
            },
        });
        return walk(rest, id, links, warnings);
    };
    // Base is where a walk ends: its modes need no strategy.
    let strategy = match (mode.strategy, level.index) {
        (Some(s), _) => s,
        (None, LevelIndex::Base) => Strategy::Override,
        (None, _) => {
            warnings.push(format!(
                "`{}` defines `{id}` without a strategy; treated as 'Delegate (Soft: strategy-declared)",
                level.name
            ));
            Strategy::Delegate
        }
    };
    let link = |outcome: &str, reason: String| ChainLink {
        index: level.index,
        name: level.name.clone(),
        defines: true,
        strategy: mode.strategy,
        outcome: outcome.to_owned(),
        reason,
    };
    match strategy {
        Strategy::Override => {
            links.push(link(
                "resolved",
                format!(
                    "`{}` defines `{id}` with 'Override: its {} step(s) are the mode",
                    level.name,
                    mode.steps.len()
                ),
            ));
            Ok(Some((level, own(mode))))
        }
        Strategy::Delegate => {
            let reason = match rest.first() {
                Some(p) => format!(
                    "`{}` delegates `{id}` to its parent `{}`",
                    level.name, p.name
                ),
                None => format!("`{}` delegates `{id}` but has no parent", level.name),
            };
            links.push(link("delegated", reason));
            walk(rest, id, links, warnings)
        }
        Strategy::Merge => {
            links.push(link("merged", format!("`{}` merges its {} step(s) over its parent's; on the same step id this level wins", level.name, mode.steps.len())));
            let parent = walk(rest, id, links, warnings)?;
            let mut steps = parent.map(|(_, s)| s).unwrap_or_default();
            for s in own(mode) {
                match steps.iter_mut().find(|p| p.step.id == s.step.id) {
                    Some(slot) => *slot = s,
                    None => steps.push(s),
                }
            }
            Ok(Some((level, steps)))
        }
        Strategy::Compose => {
            links.push(link(
                "composed",
                format!(
                    "`{}` composes `{id}`: step(s) {} from its parent's resolution, {} of its own",
                    level.name,
                    if mode.extends.is_empty() {
                        "none".to_owned()
                    } else {
                        mode.extends.join(", ")
                    },
                    mode.steps.len()
                ),
            ));
            let Some((_, parent)) = walk(rest, id, links, warnings)? else {
                return Err(ResolveError::Incoherent(format!(
                    "`{}` composes `{id}` but no parent level resolves it",
                    level.name
                )));
            };
            let mut steps = Vec::new();
            for want in &mode.extends {
                match parent.iter().find(|p| &p.step.id == want) {
                    Some(p) => steps.push(p.clone()),
                    None => {
                        return Err(ResolveError::Incoherent(format!(
                            "`{}` extends step `{want}` of `{id}`, which its parent's resolution does not have (it has: {})",
                            level.name,
                            parent
                                .iter()
                                .map(|p| p.step.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
            for s in own(mode) {
                match steps.iter_mut().find(|p| p.step.id == s.step.id) {
                    Some(slot) => *slot = s,
                    None => steps.push(s),
                }
            }
            Ok(Some((level, steps)))
        }
    }
}

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

/// Builds a hierarchy from already-loaded parts: the declared levels (or
/// none, for the implicit single Instance), plus Base.
pub fn assemble(levels: Vec<Level>, source: String) -> Hierarchy {
    let mut problems = Vec::new();
    let instances = levels
        .iter()
        .filter(|l| l.index == LevelIndex::Instance)
        .count();
    if instances != 1 {
        problems.push(format!(
            "the hierarchy must have exactly one 'Instance level, it has {instances}"
        ));
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for l in &levels {
        *names.entry(l.name.as_str()).or_default() += 1;
    }
    for (name, n) in names {
        if n > 1 {
            problems.push(format!("level `{name}` is declared {n} times"));
        }
    }
    Hierarchy {
        levels,
        problems,
        source,
    }
}

/// Where a level's modes live, for a `modes_dir` value.
pub fn modes_dir(root: &std::path::Path, dir: &str) -> PathBuf {
    let p = PathBuf::from(dir);
    if p.is_absolute() { p } else { root.join(p) }
}
