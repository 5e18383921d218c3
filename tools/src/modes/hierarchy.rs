//! The hierarchy's model: levels (Instance, Domain, Base), their mode
//! files and the workflow that declares them, as loaded and checked.

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
