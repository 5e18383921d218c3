//! Listing modes and levels, and reading one level's own definition of a
//! mode.

use schemars::JsonSchema;
use serde::Serialize;

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Kind, ModelError};
use crate::modes::hierarchy::{Hierarchy, Level, LevelIndex, Mode, Strategy};
use crate::modes::resolve::LevelRef;

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

impl Hierarchy {
    /// Every mode with where it is defined and where it resolves, and
    /// every level from the Instance up its chain (then any level off it).
    pub fn list(&self) -> ModeList {
        let modes = self
            .mode_ids()
            .into_iter()
            .map(|id| ModeSummary {
                defined_at: self
                    .lowest_first()
                    .into_iter()
                    .filter_map(|l| {
                        l.modes.get(&id).map(|(_, m)| Definition {
                            level: l.name.clone(),
                            index: l.index,
                            strategy: m.strategy,
                        })
                    })
                    .collect(),
                resolves_at: self.resolve(&id).ok().map(|r| r.resolved_level.name),
                id,
            })
            .collect();
        let levels = self
            .lowest_first()
            .into_iter()
            .map(|l| LevelSummary {
                index: l.index,
                name: l.name.clone(),
                parent: l.parent.clone(),
                modes_dir: l.modes_dir.clone(),
                modes: l.modes.len(),
            })
            .collect();
        let skipped = self
            .levels
            .iter()
            .flat_map(|l| {
                l.skipped.iter().map(|(file, error)| crate::model::Skipped {
                    file: file.clone(),
                    error: error.clone(),
                })
            })
            .collect();
        ModeList {
            levels,
            modes,
            skipped,
        }
    }

    /// Level `level`'s own definition of mode `id`, or the lowest level's
    /// that defines it. `Err(None)` when `level` names no level (the
    /// caller's argument is wrong); `Err(Some(_))` when the mode is missing.
    pub fn definition(&self, id: &str, level: Option<&str>) -> Result<ModeGet, Option<ToolError>> {
        let level = match level {
            Some(name) => self.level(name).ok_or(None)?,
            None => self
                .lowest_first()
                .into_iter()
                .find(|l| l.modes.contains_key(id))
                .ok_or_else(|| {
                    Some(
                        ModelError::not_found(
                            Kind::Mode,
                            id,
                            self.mode_ids().iter().map(String::as_str),
                        )
                        .into(),
                    )
                })?,
        };
        let (file, mode) = level.modes.get(id).ok_or_else(|| {
            Some(
                ModelError::not_found(Kind::Mode, id, level.modes.keys().map(String::as_str))
                    .into(),
            )
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

    /// Every level, lowest first: the Instance up its chain toward Base,
    /// then any level off the chain in declaration order.
    pub fn lowest_first(&self) -> Vec<&Level> {
        let mut ordered: Vec<&Level> = self
            .instance()
            .and_then(|i| self.chain_from(&i.name).ok())
            .unwrap_or_default();
        for l in &self.levels {
            if !ordered.iter().any(|o| o.name == l.name) {
                ordered.push(l);
            }
        }
        ordered
    }

    /// Every mode as a record of the cross-kind search: titled by the
    /// lowest definition's trigger, labelled with the levels defining it,
    /// its steps' actions as the body.
    pub fn records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        for id in self.mode_ids() {
            let defs: Vec<_> = self
                .levels
                .iter()
                .filter_map(|l| l.modes.get(&id).map(|(_, m)| (l, m)))
                .collect();
            let Some((_, first)) = defs.first() else {
                continue;
            };
            let body = defs
                .iter()
                .flat_map(|(_, m)| m.steps.iter().map(|s| s.action.clone()))
                .collect::<Vec<_>>()
                .join("\n");
            records.push(Record {
                kind: "mode",
                title: first.trigger.clone().unwrap_or_else(|| id.clone()),
                labels: defs
                    .iter()
                    .map(|(l, _)| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                id,
                body,
            });
        }
        records
    }

    /// The names of every level, for a message.
    pub fn level_names(&self) -> String {
        self.levels
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
