//! Resolving a mode (ADR-018): the walk from a level toward Base, each
//! level acting by its strategy, and the chain of reasons that explains the
//! outcome.

use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ToolError;
use crate::model::{Kind, ModelError};
use crate::modes::hierarchy::{Hierarchy, Level, LevelIndex, Mode, ModeStep, Strategy};

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

    /// Resolves `id` from the Instance level, as a tool error: an unknown
    /// mode is `mode-not-found` (with the closest ids), an incoherent
    /// hierarchy `mode-unresolvable`.
    pub fn resolution(&self, id: &str) -> Result<Resolution, ToolError> {
        self.resolve(id).map_err(|e| match e {
            ResolveError::NotFound => {
                ModelError::not_found(Kind::Mode, id, self.mode_ids().iter().map(String::as_str))
                    .into()
            }
            ResolveError::Incoherent(reason) => ToolError::Unresolvable {
                mode: id.to_owned(),
                reason,
            },
        })
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
