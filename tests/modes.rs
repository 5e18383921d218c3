//! ADR-018 mode resolution and validation on the template's three levels and
//! on broken hierarchies; the validator's self-test.

use serde_json::{Value, json};

use crate::util::{Sandbox, json_out, path_str, repo, stderr};

fn template() -> String {
    path_str(&repo().join("agent-first-template")).to_owned()
}

fn resolve(s: &Sandbox, project: &str, id: &str) -> Value {
    let out = s.run(&["--project", project, "mode", "resolve", id]);
    assert!(
        out.status.success(),
        "{id}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    json_out(&out)
}

fn step_ids(r: &Value) -> Vec<(String, String)> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["from_level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn outcomes(r: &Value) -> Vec<(String, String)> {
    r["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn each_strategy_resolves_as_adr_018_says() {
    let s = Sandbox::new();
    let t = template();
    // Compose at the Instance over the Domain's Override.
    let r = resolve(&s, &t, "release");
    assert_eq!(
        r["resolved_level"],
        json!({"index": "Instance", "name": "agent-first"})
    );
    assert_eq!(
        outcomes(&r),
        [
            ("agent-first".into(), "composed".into()),
            ("acme-platform".into(), "resolved".into())
        ]
    );
    let steps = step_ids(&r);
    assert_eq!(
        &steps[..2],
        [
            ("changelog".into(), "acme-platform".into()),
            ("tag".into(), "acme-platform".into())
        ]
    );
    assert!(
        steps[2..].iter().all(|(_, level)| level == "agent-first"),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|(id, _)| id == "sign"),
        "steps not extended stay out"
    );

    // Merge at both levels over Base: the lower level wins a step id.
    let r = resolve(&s, &t, "sync-ontology");
    let steps = step_ids(&r);
    assert!(
        steps.contains(&("verify".into(), "agent-first".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("diff".into(), "ontoref-base".into())),
        "{steps:?}"
    );
    assert!(steps.iter().any(|(_, l)| l == "acme-platform"), "{steps:?}");
    assert_eq!(steps.iter().filter(|(id, _)| id == "verify").count(), 1);

    // Delegate passes through to Base.
    let r = resolve(&s, &t, "onboard");
    assert_eq!(r["resolved_level"]["name"], "ontoref-base");
    assert_eq!(outcomes(&r)[0], ("agent-first".into(), "delegated".into()));
    assert_eq!(outcomes(&r)[1], ("acme-platform".into(), "passed".into()));

    // Defined only at the Domain: the Instance passes on.
    let r = resolve(&s, &t, "triage");
    assert_eq!(r["resolved_level"]["name"], "acme-platform");
    assert_eq!(outcomes(&r)[0].1, "passed");

    // Override at the Instance of a mode the Domain defines too: the walk
    // stops at the Instance.
    let r = resolve(&s, &t, "deploy-docs");
    assert_eq!(r["resolved_level"]["name"], "agent-first");
    assert_eq!(outcomes(&r), [("agent-first".into(), "resolved".into())]);
    assert!(step_ids(&r).iter().all(|(_, level)| level == "agent-first"));

    // No strategy: treated as Delegate, with a Soft warning.
    let r = resolve(&s, &t, "weekly-report");
    assert_eq!(r["resolved_level"]["name"], "acme-platform");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("without a strategy"),
        "{r}"
    );
}

#[test]
fn an_unknown_mode_names_the_closest() {
    let s = Sandbox::new();
    let out = s.run(&["--project", &template(), "mode", "resolve", "relase"]);
    assert_eq!(out.status.code(), Some(1));
    let e = &json_out(&out)["error"];
    assert_eq!(e["code"], "mode-not-found");
    assert!(e["hint"].as_str().unwrap().contains("`release`"), "{e}");
}

#[test]
fn listing_and_showing_modes() {
    let s = Sandbox::new();
    let v = json_out(&s.run(&["--project", &template(), "mode", "list"]));
    let levels: Vec<&str> = v["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels,
        ["agent-first", "acme-platform", "ontoref-base"],
        "from the Instance to Base"
    );
    let docs = v["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "deploy-docs")
        .unwrap();
    assert_eq!(docs["defined_at"].as_array().unwrap().len(), 2, "{docs}");
    let release = v["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "release")
        .unwrap();
    assert_eq!(release["defined_at"].as_array().unwrap().len(), 3);
    assert_eq!(release["resolves_at"], "agent-first");
    let shown = json_out(&s.run(&[
        "--project",
        &template(),
        "mode",
        "show",
        "release",
        "--level",
        "acme-platform",
    ]));
    assert_eq!(shown["mode"]["strategy"], "Override");
    assert_eq!(shown["file"], "domain/modes/release.ncl");
    let base = json_out(&s.run(&[
        "--project",
        &template(),
        "mode",
        "show",
        "release",
        "--level",
        "ontoref-base",
    ]));
    assert_eq!(base["level"]["index"], "Base");
}

#[test]
fn the_template_validates_with_one_soft_finding() {
    let s = Sandbox::new();
    let out = s.run(&["--project", &template(), "validate", "modes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["hard"], 0);
    assert_eq!(v["soft"], 1);
    assert_eq!(v["findings"][0]["check"], "strategy-declared");
    assert_eq!(
        v["findings"][0]["file"],
        "reflection/modes/weekly-report.ncl"
    );
    let only = json_out(&s.run(&[
        "--project",
        &template(),
        "validate",
        "modes",
        "--check",
        "level-declared",
    ]));
    assert_eq!(only["findings"], json!([]));
    let bad = s.run(&[
        "--project",
        &template(),
        "validate",
        "modes",
        "--check",
        "spelling",
    ]);
    assert_eq!(json_out(&bad)["error"]["code"], "invalid-params");
}

const WORKFLOW: &str = r#"{ level_hierarchy = [
  { index = 'Domain, name = "dom", parent = "ontoref-base", modes_dir = "domain/modes" },
  { index = 'Instance, name = "inst", parent = "dom", modes_dir = "reflection/modes" },
] }"#;

#[test]
fn hard_findings_fail_the_command_and_name_file_and_mode() {
    let s = Sandbox::new();
    let p = s.project("broken-modes", &[
        ("reflection/workflow.ncl", WORKFLOW),
        ("domain/modes/ship.ncl", r#"{ id = "ship", level = "dom", strategy = 'Override, steps = [ { id = "build", action = "b" } ] }"#),
        ("reflection/modes/ship.ncl", r#"{ id = "ship", level = "inst", strategy = 'Compose, extends = ["sign"], steps = [] }"#),
        ("reflection/modes/orphan.ncl", r#"{ id = "orphan", level = "dom", strategy = 'Delegate }"#),
        ("reflection/modes/list.ncl", r#"[1, 2, 3]"#),
    ]);
    let out = s.run(&["--project", path_str(&p), "validate", "modes"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    let checks: Vec<(&str, &str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["mode"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        checks.contains(&("compose-extends-valid", "ship", "reflection/modes/ship.ncl")),
        "{checks:?}"
    );
    assert!(
        checks.contains(&("level-declared", "orphan", "reflection/modes/orphan.ncl")),
        "{checks:?}"
    );
    assert!(
        checks.contains(&(
            "delegate-chain-coherent",
            "orphan",
            "reflection/modes/orphan.ncl"
        )),
        "{checks:?}"
    );
    let not_record = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "reflection/modes/list.ncl")
        .expect("the non-record file is a finding");
    assert!(
        not_record["message"]
            .as_str()
            .unwrap()
            .contains("must evaluate to a record"),
        "{not_record}"
    );
    // Resolving the broken Compose is a clear error; other modes still resolve.
    let e =
        json_out(&s.run(&["--project", path_str(&p), "mode", "resolve", "ship"]))["error"].clone();
    assert_eq!(e["code"], "mode-unresolvable");
    assert!(e["message"].as_str().unwrap().contains("`sign`"), "{e}");
    assert_eq!(
        resolve(&s, path_str(&p), "onboard")["resolved_level"]["name"],
        "ontoref-base"
    );
}

#[test]
fn a_parent_cycle_is_found() {
    let s = Sandbox::new();
    let p = s.project(
        "cycle",
        &[(
            "reflection/workflow.ncl",
            r#"{ level_hierarchy = [
  { index = 'Domain, name = "a", parent = "b", modes_dir = "a" },
  { index = 'Domain, name = "b", parent = "a", modes_dir = "b" },
  { index = 'Instance, name = "i", parent = "a", modes_dir = "i" },
] }"#,
        )],
    );
    let out = s.run(&["--project", path_str(&p), "validate", "modes"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "delegate-chain-coherent"
                && f["message"].as_str().unwrap().contains("cycle")),
        "{v}"
    );
    let e = json_out(&s.run(&["--project", path_str(&p), "mode", "resolve", "onboard"]))["error"]
        .clone();
    assert_eq!(e["code"], "mode-unresolvable");
}

#[test]
fn without_workflow_the_project_is_one_instance_level_over_base() {
    let s = Sandbox::new();
    let p = s.project(
        "single",
        &[(
            "reflection/modes/release.ncl",
            r#"{ id = "release", strategy = 'Merge, steps = [ { id = "smoke", action = "s" } ] }"#,
        )],
    );
    let r = resolve(&s, path_str(&p), "release");
    assert_eq!(r["chain"].as_array().unwrap().len(), 2);
    assert_eq!(r["chain"][1]["name"], "ontoref-base");
    assert!(step_ids(&r).contains(&("smoke".into(), "single".into())));
    assert!(step_ids(&r).contains(&("tag".into(), "ontoref-base".into())));
}

#[test]
fn the_self_test_catches_every_violation() {
    let s = Sandbox::new();
    let out = s.run(&["validate", "modes", "--self-test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json_out(&out);
    assert_eq!(v["ok"], true);
    let expects: Vec<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["expect"].as_str().unwrap())
        .collect();
    for check in [
        "none",
        "level-declared",
        "strategy-declared",
        "delegate-chain-coherent",
        "compose-extends-valid",
    ] {
        assert!(expects.contains(&check), "{check}");
    }
}

#[test]
fn a_person_reads_why_a_mode_resolves_where_it_does() {
    let s = Sandbox::new();
    let out = s.run(&[
        "--project",
        &template(),
        "mode",
        "resolve",
        "release",
        "--fmt",
        "text",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("release resolves at agent-first (Instance)\n\nwhy:\n"),
        "{text}"
    );
    assert!(
        text.contains("  1. [Instance] composed: `agent-first` composes `release`"),
        "{text}"
    );
    assert!(
        text.contains("  2. [Domain] resolved: `acme-platform` defines `release` with 'Override"),
        "{text}"
    );
    assert!(text.contains("\nsteps:\n  - changelog"), "{text}");
}
