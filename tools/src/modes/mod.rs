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
//!
//! One concept per file: `hierarchy` (the model), `resolve`, `validate`,
//! `list`, `self_test`.

pub mod hierarchy;
pub mod list;
pub mod resolve;
pub mod self_test;
pub mod validate;

pub use hierarchy::{
    BASE, Hierarchy, Level, LevelIndex, Mode, ModeStep, Strategy, Workflow, WorkflowLevel,
    assemble, modes_dir,
};
pub use list::{Definition, LevelSummary, ModeGet, ModeList, ModeSummary};
pub use resolve::{ChainLink, LevelRef, Resolution, ResolveError, ResolvedStep};
pub use validate::{CHECKS, Finding, Validation, validate};
