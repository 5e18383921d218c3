//! The validator's self-test: synthetic hierarchies (a clean one and one
//! per violation) written to a directory and validated through a fresh
//! engine; it passes only if every violation is caught and the clean
//! hierarchy passes.

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use crate::engine::{Engine, EngineConfig};
use crate::error::ToolError;
use crate::modes::validate::{Finding, validate};
use crate::text::Text;

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
