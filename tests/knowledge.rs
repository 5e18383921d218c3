//! The ontology, ADR and backlog tools on the agent-first template and on
//! broken projects, through the CLI (which runs the same catalog tools and
//! prints their structured content) and over MCP.

use serde_json::{Value, json};

use crate::util::{Sandbox, Session, json_out, path_str, repo, stderr};

fn template() -> std::path::PathBuf {
    repo().join("agent-first-template")
}

fn on_template(s: &Sandbox, args: &[&str]) -> Value {
    let root = template();
    let mut all = vec!["--project", path_str(&root)];
    all.extend(args);
    let out = s.run(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
    json_out(&out)
}

fn ids(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_template_has_a_real_ontology() {
    let s = Sandbox::new();
    let count = |level: &str| {
        on_template(&s, &["node", "list", "--level", level])["total"]
            .as_u64()
            .unwrap()
    };
    assert!(count("Axiom") >= 3 && count("Tension") >= 2 && count("Practice") >= 5);
    let spiral = on_template(&s, &["node", "list", "--pole", "Spiral"]);
    assert!(
        spiral["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["pole"] == "Spiral" && n["level"] == "Tension")
    );

    let all = on_template(&s, &["node", "list", "--limit", "3"]);
    assert_eq!(all["nodes"].as_array().unwrap().len(), 3);
    let next = all["next_cursor"].as_str().unwrap();
    let page2 = on_template(&s, &["node", "list", "--limit", "3", "--cursor", next]);
    assert_ne!(ids(&all, "nodes")[0], ids(&page2, "nodes")[0]);

    let node = on_template(&s, &["node", "show", "agents-never-hold-secrets"]);
    assert_eq!(node["node"]["level"], "Axiom");
    assert!(
        node["incoming"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "realizes"),
        "{node}"
    );
}

#[test]
fn graph_impact_finds_the_practices_and_adrs_hanging_on_an_axiom() {
    let s = Sandbox::new();
    let v = on_template(
        &s,
        &[
            "graph",
            "impact",
            "agents-never-hold-secrets",
            "--depth",
            "3",
        ],
    );
    let nodes = v["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .any(|n| n["level"] == "Practice" && n["distance"] == 1),
        "{v}"
    );
    assert!(
        nodes
            .windows(2)
            .all(|w| w[0]["distance"].as_u64() <= w[1]["distance"].as_u64()),
        "nearest first"
    );
    assert!(
        v["adrs"].as_array().unwrap().contains(&json!("adr-002")),
        "{v}"
    );
    let shallow = on_template(
        &s,
        &[
            "graph",
            "impact",
            "agents-never-hold-secrets",
            "--depth",
            "1",
        ],
    );
    assert!(shallow["nodes"].as_array().unwrap().len() < nodes.len());
    let out = s.run(&[
        "--project",
        path_str(&template()),
        "graph",
        "impact",
        "agents-never",
        "--depth",
        "9",
    ]);
    assert_eq!(json_out(&out)["error"]["code"], "invalid-params");
    let out = s.run(&[
        "--project",
        path_str(&template()),
        "graph",
        "impact",
        "agents-never-hold-secret",
    ]);
    let e = &json_out(&out)["error"];
    assert_eq!(e["code"], "node-not-found");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("agents-never-hold-secrets"),
        "{e}"
    );
}

#[test]
fn state_shows_the_way_to_the_desired_state_and_its_gates() {
    let s = Sandbox::new();
    let v = on_template(&s, &["state"]);
    let dims = v["dimensions"].as_array().unwrap();
    assert!(dims.len() >= 2);
    let behind: Vec<&Value> = dims.iter().filter(|d| d["at_desired"] == false).collect();
    assert!(!behind.is_empty());
    for d in &behind {
        assert_eq!(d["reachable"], true, "{d}");
        let path = d["path"].as_array().unwrap();
        assert_eq!(path.first().unwrap()["from"], d["current"]);
        assert_eq!(path.last().unwrap()["to"], d["desired"]);
    }
    assert!(
        dims.iter()
            .flat_map(|d| d["path"].as_array().unwrap())
            .any(|t| t["blocked_by"]["guards"]
                .as_array()
                .is_some_and(|g| !g.is_empty())),
        "some transition is gated by a membrane with guards: {v}"
    );
}

#[test]
fn adrs_list_filter_and_show_supersession() {
    let s = Sandbox::new();
    let all = on_template(&s, &["adr", "list"]);
    assert!(all["total"].as_u64().unwrap() >= 3);
    assert!(
        all.get("skipped").is_none() && all.get("findings").is_none(),
        "{all}"
    );
    let accepted = on_template(&s, &["adr", "list", "--status", "Accepted"]);
    assert!(
        accepted["adrs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "Accepted")
    );
    for a in all["adrs"].as_array().unwrap() {
        assert!(
            a["hard_constraints"].as_u64().unwrap() >= 1,
            "every ADR has a Hard constraint: {a}"
        );
    }
    let old = all["adrs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "Superseded")
        .expect("a superseded ADR");
    let id = old["id"].as_str().unwrap();
    let newer = old["superseded_by"][0].as_str().unwrap();
    let shown = on_template(&s, &["adr", "show", id]);
    assert_eq!(shown["chain"], json!([id, newer]));
    assert!(
        shown["file"]
            .as_str()
            .unwrap()
            .starts_with(&format!("adrs/{id}-"))
    );
    assert!(shown["adr"]["constraints"][0]["severity"].is_string());
}

#[test]
fn backlog_filters_case_insensitively() {
    let s = Sandbox::new();
    let open = on_template(&s, &["backlog", "list", "--status", "open"]);
    assert!(open["total"].as_u64().unwrap() >= 1);
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "Open")
    );
    let high = on_template(
        &s,
        &["backlog", "list", "--status", "OPEN", "--priority", "high"],
    );
    assert!(high["total"].as_u64() <= open["total"].as_u64());
    let first = ids(&open, "items")[0].clone();
    let item = on_template(&s, &["backlog", "show", &first]);
    assert_eq!(item["item"]["id"], first);
    assert!(item["item"]["detail"].is_string());
}

#[test]
fn the_cli_and_mcp_give_the_same_json() {
    let s = Sandbox::new();
    let mut session = Session::start(&s, &["--project", path_str(&template())], &[]);
    session.initialize();
    for (tool, args, argv) in [
        (
            "ontoref_node_get",
            json!({"id": "context-is-scarce"}),
            vec!["node", "show", "context-is-scarce"],
        ),
        (
            "ontoref_graph_impact",
            json!({"id": "context-is-scarce", "direction": "both", "depth": 2}),
            vec![
                "graph",
                "impact",
                "context-is-scarce",
                "--direction",
                "both",
            ],
        ),
        ("ontoref_state", json!({}), vec!["state"]),
        (
            "ontoref_explain_path",
            json!({"path": "src/output.rs"}),
            vec!["explain", "src/output.rs"],
        ),
        (
            "ontoref_adr_list",
            json!({"status": "Accepted"}),
            vec!["adr", "list", "--status", "Accepted"],
        ),
        (
            "ontoref_backlog_list",
            json!({"kind": "Bug"}),
            vec!["backlog", "list", "--kind", "Bug"],
        ),
    ] {
        let r = session.request("tools/call", json!({"name": tool, "arguments": args}));
        assert_eq!(
            on_template(&s, &argv),
            r["result"]["structuredContent"],
            "{tool}"
        );
    }
}

fn explain(s: &Sandbox, root: &std::path::Path, path: &str) -> std::process::Output {
    s.run(&[
        "--project",
        path_str(root),
        "explain",
        path,
        "--fmt",
        "json",
    ])
}

#[test]
fn explain_names_the_nodes_constraints_and_qa_binding_a_path() {
    let s = Sandbox::new();
    let ok = |path: &str| {
        let out = explain(&s, &template(), path);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        json_out(&out)
    };
    let got = ok("src/output.rs");
    assert_eq!(
        ids(&got, "nodes"),
        ["context-is-scarce", "bound-tool-output"]
    );
    let adr = &got["adrs"][0];
    assert_eq!(adr["id"], "adr-005");
    assert_eq!(adr["hard"][0]["id"], "shared-budget-constant");
    assert_eq!(adr["hard"][0]["check"]["tag"], "Grep");
    assert_eq!(adr["hard"][0]["check"]["paths"], json!(["src/output.rs"]));
    assert_eq!(adr["soft"][0]["id"], "no-per-tool-budgets");
    assert_eq!(ids(&got, "qa"), ["what-binds-this-file"]);

    // A glob of the template covers a sops file anywhere.
    let got = ok("deploy/prod.sops.yaml");
    assert_eq!(got["nodes"][0]["matched"], json!(["**/*.sops.yaml"]));
    assert_eq!(ids(&got, "adrs"), ["adr-002", "adr-004"]);

    // Unmatched: empty, exit 0, the nearest artifact paths.
    let got = ok("src/vault/gate.rs");
    assert_eq!(got["total_nodes"], 0);
    assert_eq!(got["nodes"], json!([]));
    assert_eq!(got["nearest"], json!(["src/output.rs", "src/transport/"]));
    assert!(got["hint"].is_string());

    // Leaving the project is refused, as a named error.
    for bad in ["../outside.rs", "/etc/passwd"] {
        let out = explain(&s, &template(), bad);
        assert!(!out.status.success(), "{bad}");
        assert_eq!(json_out(&out)["error"]["code"], "invalid-params", "{bad}");
    }
}

#[test]
fn explain_answers_the_issue_example_and_survives_a_broken_qa_store() {
    // `ontoref explain src/vault/gate.rs` in a project whose vault code is
    // a glob of one node, bound by an Accepted ADR with Hard and Soft
    // constraints and by one that fails to load; its Q&A store is broken.
    let s = Sandbox::new();
    let root = s.project(
        "vaulted",
        &[
            (
                ".ontology/core.ncl",
                r#"{ nodes = [
                    { id = "gate-first", name = "The gate decides before decryption", pole = 'Yin, level = 'Axiom, description = "d", invariant = true, artifact_paths = ["src/vault/**/*.rs"], adrs = ["adr-001", "adr-002"] },
                    { id = "docs", name = "Docs", pole = 'Yang, level = 'Practice, description = "d", artifact_paths = ["docs/"] },
                  ], edges = [] }"#,
            ),
            (
                "adrs/adr-001-gate.ncl",
                r#"let a = import "schemas/adr.ncl" in a.make_adr { id = "adr-001", title = "Gate before decrypt", status = 'Accepted, date = "2026-01-01", context = "c", decision = "d", constraints = [
                    { id = "no-decrypt-before-grant", severity = 'Hard, claim = "Nothing is decrypted before the gate returns a Grant", check = { tag = "Grep", paths = ["src/vault/"], pattern = "decrypt\\(", must_be_empty = false } },
                    { id = "checks-in-order", severity = 'Soft, claim = "The gate runs its checks in the protocol's order" },
                  ] }"#,
            ),
            ("adrs/adr-002-broken.ncl", "{ id = "),
            ("reflection/qa.ncl", "{ entries = [ { id = 1 } ] }"),
        ],
    );
    let out = explain(&s, &root, "src/vault/gate.rs");
    assert!(out.status.success(), "{}", stderr(&out));
    let got = json_out(&out);
    assert_eq!(ids(&got, "nodes"), ["gate-first"]);
    assert_eq!(got["nodes"][0]["invariant"], true);
    let adr = &got["adrs"][0];
    assert_eq!(
        adr["hard"][0]["claim"],
        "Nothing is decrypted before the gate returns a Grant"
    );
    assert_eq!(adr["hard"][0]["check"]["pattern"], "decrypt\\(");
    assert_eq!(adr["soft"][0]["id"], "checks-in-order");
    assert!(adr["soft"][0].get("check").is_none(), "{got}");
    assert_eq!(got["missing_adrs"], json!(["adr-002"]));
    assert_eq!(got["problems"][0]["code"], "qa-invalid-entry", "{got}");
    // The directory, and an absolute path inside the project.
    let got = json_out(&explain(&s, &root, "src/vault/"));
    assert_eq!(ids(&got, "nodes"), ["gate-first"]);
    let abs = root.join("src/vault/keys/age.rs");
    let got = json_out(&explain(&s, &root, path_str(&abs)));
    assert_eq!(got["path"], "src/vault/keys/age.rs");
    assert_eq!(ids(&got, "nodes"), ["gate-first"]);
    // A sibling the glob does not reach.
    let got = json_out(&explain(&s, &root, "src/vault.rs"));
    assert_eq!(got["total_nodes"], 0);
    assert_eq!(got["nearest"], json!(["src/vault/**/*.rs"]));
}

const CORE_OK: &str = r#"{ nodes = [ { id = "a", name = "A", pole = 'Yang, level = 'Axiom, description = "d" } ], edges = [] }"#;

#[test]
fn a_dangling_edge_names_the_file_line_and_missing_node() {
    let s = Sandbox::new();
    let p = s.project("dangling", &[(
        ".ontology/core.ncl",
        "{\n  nodes = [ { id = \"a\", name = \"A\", pole = 'Yang, level = 'Axiom, description = \"d\" } ],\n  edges = [\n    { from = \"a\", to = \"ghost\", kind = \"realizes\" },\n  ],\n}",
    )]);
    let out = s.run(&["--project", path_str(&p), "node", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let e = &json_out(&out)["error"];
    assert_eq!(e["code"], "node-invalid");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.starts_with(".ontology/core.ncl:4: field `edges[0].to`"),
        "{msg}"
    );
    assert!(msg.contains("`ghost`"), "{msg}");
    // Other toolsets keep working on the same project.
    let out = s.run(&["--project", path_str(&p), "adr", "list"]);
    assert!(out.status.success());
    assert_eq!(json_out(&out)["total"], 0);
}

#[test]
fn duplicate_node_ids_and_bad_enum_values_are_named() {
    let s = Sandbox::new();
    let dup = s.project("dup", &[(
        ".ontology/core.ncl",
        "{ nodes = [\n  { id = \"a\", name = \"A\", pole = 'Yang, level = 'Axiom, description = \"d\" },\n  { id = \"a\", name = \"B\", pole = 'Yin, level = 'Practice, description = \"d\" },\n] }",
    )]);
    let e = json_out(&s.run(&["--project", path_str(&dup), "node", "show", "a"]))["error"].clone();
    assert_eq!(e["code"], "node-duplicate-id");
    assert_eq!(
        e["message"],
        ".ontology/core.ncl:3: field `id`: duplicate node id `a` (first defined at line 2)"
    );

    let bad = s.project("bad", &[(
        ".ontology/core.ncl",
        "{ nodes = [\n  { id = \"a\", name = \"A\", pole = 'Up, level = 'Axiom, description = \"d\" },\n] }",
    )]);
    let e = json_out(&s.run(&["--project", path_str(&bad), "node", "list"]))["error"].clone();
    assert_eq!(e["code"], "node-invalid");
    assert!(
        e["message"].as_str().unwrap().contains("nodes[0].pole"),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with(".ontology/core.ncl:2:"),
        "{e}"
    );
}

fn adr_text(id: &str, extra: &str) -> String {
    format!(
        "{{ id = \"{id}\", title = \"T {id}\", status = 'Accepted, date = \"2026-01-01\", context = \"c\", decision = \"d\", constraints = [ {{ id = \"c1\", severity = 'Hard, claim = \"x\" }} ], {extra} }}"
    )
}

#[test]
fn a_broken_adr_is_reported_beside_the_others_and_dangling_supersedes_is_a_finding() {
    let s = Sandbox::new();
    let p = s.project(
        "adrs",
        &[
            ("adrs/adr-001-first.ncl", &adr_text("adr-001", "")),
            (
                "adrs/adr-002-second.ncl",
                &adr_text("adr-002", "supersedes = \"adr-042\","),
            ),
            ("adrs/adr-003-broken.ncl", "{ id = \"adr-003\", title = "),
            ("adrs/adr-004-copy.ncl", &adr_text("adr-001", "")),
            ("adrs/adr-defaults.ncl", "{ not_an_adr = true }"),
            (".ontology/core.ncl", CORE_OK),
        ],
    );
    let v = json_out(&s.run(&["--project", path_str(&p), "adr", "list"]));
    assert_eq!(ids(&v, "adrs"), ["adr-001", "adr-002", "adr-001"]);
    assert_eq!(v["skipped"][0]["file"], "adrs/adr-003-broken.ncl");
    assert_eq!(v["skipped"][0]["error"]["code"], "ncl-eval-failed");
    assert_eq!(v["findings"][0]["id"], "adr-002");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("adr-042")
    );
    // The same id in two files is a finding naming both.
    assert_eq!(v["findings"][1]["file"], "adrs/adr-004-copy.ncl");
    assert!(
        v["findings"][1]["message"]
            .as_str()
            .unwrap()
            .contains("also used by adrs/adr-001-first.ncl"),
        "{v}"
    );
    // Asking for the broken one gives its own error, not "not found".
    let e =
        json_out(&s.run(&["--project", path_str(&p), "adr", "show", "adr-003"]))["error"].clone();
    assert_eq!(e["code"], "ncl-eval-failed", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("adrs/adr-003-broken.ncl:1:"),
        "{e}"
    );
    // The ontology of the same project is unaffected.
    assert_eq!(
        json_out(&s.run(&["--project", path_str(&p), "node", "list"]))["total"],
        1
    );
}

#[test]
fn a_project_without_these_files_has_empty_sections() {
    let s = Sandbox::new();
    let p = s.project("bare", &[]);
    for (args, list) in [
        (vec!["node", "list"], "nodes"),
        (vec!["adr", "list"], "adrs"),
        (vec!["backlog", "list"], "items"),
    ] {
        let mut all = vec!["--project", path_str(&p)];
        all.extend(args);
        let v = json_out(&s.run(&all));
        assert_eq!(v["total"], 0, "{v}");
        assert_eq!(v[list], json!([]));
    }
    assert_eq!(
        json_out(&s.run(&["--project", path_str(&p), "state"]))["dimensions"],
        json!([])
    );
}

#[test]
fn describe_gives_identity_counts_and_declarative_registry_state() {
    let s = Sandbox::new();
    let v = on_template(&s, &["describe"]);
    let d = &v["description"];
    assert_eq!(v["subject"], "capabilities");
    assert_eq!(d["project"]["slug"], "agent-first");
    assert_eq!(d["level"]["index"], "Instance");
    for kind in ["qa", "nodes", "adrs", "backlog", "modes"] {
        assert!(d["counts"][kind].as_u64().unwrap() > 0, "{kind}: {d}");
    }
    assert!(d["toolsets"].as_array().unwrap().contains(&json!("modes")));
    assert_eq!(d["registry_topology"]["registries"][0]["pull"], true);
    assert!(d["vault_state"]["declared"].is_boolean());
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        !text.contains("sops.yaml"),
        "credential file paths stay out of describe: {text}"
    );
    let deps = on_template(&s, &["describe", "deps"]);
    assert!(
        !deps["description"]["critical_deps"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = s.run(&["--project", path_str(&template()), "describe", "everything"]);
    assert_eq!(json_out(&out)["error"]["code"], "invalid-params");
}

#[test]
fn one_search_ranks_every_kind() {
    let s = Sandbox::new();
    let v = on_template(&s, &["search", "secrets", "vault"]);
    let kinds: std::collections::HashSet<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.len() >= 3, "hits from several kinds: {kinds:?}");
    let scores: Vec<f64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    assert!(v["total_matches"].as_u64().unwrap() >= scores.len() as u64);
    let only = on_template(
        &s,
        &["search", "release", "--kind", "mode", "--kind", "adr"],
    );
    assert!(
        only["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "mode" || r["kind"] == "adr"),
        "{only}"
    );
    assert_eq!(only["results"][0]["id"], "release");
    let none = on_template(&s, &["search", "xylophone"]);
    assert_eq!(none["results"], json!([]));
    let out = s.run(&[
        "--project",
        path_str(&template()),
        "search",
        "x",
        "--kind",
        "wiki",
    ]);
    assert_eq!(json_out(&out)["error"]["code"], "invalid-params");
}

#[test]
fn search_skips_a_broken_kind_and_keeps_the_others() {
    let s = Sandbox::new();
    let p = s.project("half-broken", &[
        (".ontology/core.ncl", "{ nodes = [ { id = \"zebra-node\", name = \"Zebra\", pole = 'Yang, level = 'Axiom, description = \"stripes\" } ] }"),
        ("reflection/qa.ncl", "{ entries = [ { id = \"x\" } ] }"),
    ]);
    let v = json_out(&s.run(&["--project", path_str(&p), "search", "zebra"]));
    assert_eq!(v["results"][0]["id"], "zebra-node");
    assert_eq!(v["skipped"][0]["code"], "qa-invalid-entry", "{v}");
}

#[test]
fn registered_projects_are_listed_with_badges() {
    let s = Sandbox::new();
    let home = s.dir.path().join("config");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("projects.ncl"),
        format!(
            "{{ projects = [ {{ slug = \"tpl\", root = \"{}\" }}, {{ slug = \"fix\", root = \"{}\" }}, {{ slug = \"gone\", root = \"/nonexistent/gone\" }} ] }}",
            path_str(&template()),
            path_str(&crate::util::fixture())
        ),
    )
    .unwrap();
    let out = s
        .cmd()
        .args(["--project", path_str(&crate::util::fixture()), "projects"])
        .env("ONTOREF_CONFIG_HOME", &home)
        .output()
        .unwrap();
    let v = json_out(&out);
    let cards = v["projects"].as_array().unwrap();
    assert_eq!(cards.len(), 3);
    assert_eq!(cards[0]["slug"], "tpl");
    assert_eq!(cards[0]["registry"]["participant"], "agent-first");
    assert_eq!(
        cards[0]["counts"]["nodes"].as_u64().map(|n| n > 0),
        Some(true)
    );
    assert_eq!(cards[1]["current"], true);
    assert_eq!(cards[1]["counts"]["qa"], 5);
    assert_eq!(cards[2]["error"]["code"], "project-not-found");
    // Without a registry: the current project alone.
    let out = s
        .cmd()
        .args(["--project", path_str(&crate::util::fixture()), "projects"])
        .env("ONTOREF_CONFIG_HOME", s.dir.path().join("empty-config"))
        .output()
        .unwrap();
    let v = json_out(&out);
    assert_eq!(v["projects"].as_array().unwrap().len(), 1);
    assert_eq!(v["projects"][0]["current"], true);
}

#[test]
fn a_malformed_manifest_is_reported_as_configuration_not_as_a_node() {
    let s = Sandbox::new();
    let p = s.project(
        "bad-manifest",
        &[(".ontology/manifest.ncl", "{ project = 42 }")],
    );
    let v = json_out(&s.run(&["--project", path_str(&p), "describe", "deps"]));
    let problem = &v["problems"][0];
    assert_eq!(problem["code"], "config-invalid", "{v}");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .starts_with(".ontology/manifest.ncl"),
        "{v}"
    );
    assert!(
        problem["message"].as_str().unwrap().contains("`project`"),
        "{v}"
    );
}
