//! The ontology extension tools through the binary: a project whose
//! snapshot (`.ontoref/ontologies/`) is made here from the real MIF corpus
//! (v0.4.0, read from ../shared/fixtures/mif/), with its lock and
//! `snapshot.json` written by hand from hashes computed here, driven through
//! the CLI twins (`ontoref ontology list|show`) and a raw MCP stdio
//! session: the list, the resolved and raw views with sections and pages,
//! a tampered file refused (and the server still serving), a project with
//! no snapshot, and the extensions in describe and search.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::{Sandbox, Session, json_out, path_str, stderr, stdout};

const WIDEST: &str = "regenerative-agriculture-research";
/// Its closure, bases first, as the resolver orders it.
const WIDEST_CLOSURE: [&str; 7] = [
    "mif-base",
    "shared-traits",
    "research",
    "agriculture",
    "engineering-base",
    "mif-generic",
    WIDEST,
];

fn corpus() -> PathBuf {
    crate::util::repo().join("../shared/fixtures/mif/corpus-v0.4.0")
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A project in `s` vendoring `ids` of the corpus: the attested index byte
/// for byte, the files, a lock pinning each file's own hash, and
/// `snapshot.json`.
fn vendored(s: &Sandbox, name: &str, ids: &[&str], verified_by: Option<&str>) -> PathBuf {
    let root = s.project(name, &[]);
    let dir = root.join(".ontoref/ontologies");
    std::fs::create_dir_all(&dir).unwrap();
    let index_bytes = std::fs::read(corpus().join("index.json")).unwrap();
    std::fs::write(dir.join("index.json"), &index_bytes).unwrap();
    let index: Value = serde_json::from_slice(&index_bytes).unwrap();
    let mut pins = serde_json::Map::new();
    for id in ids {
        let entry = &index["ontologies"][id];
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        std::fs::write(dir.join(file), &bytes).unwrap();
        pins.insert(
            (*id).to_owned(),
            json!({"sha256": sha256(&bytes), "version": entry["version"]}),
        );
    }
    let source = "https://mif-spec.dev/ontologies/";
    let lock = json!({
        "index_sha256": sha256(&index_bytes),
        "ontologies": pins,
        "schema": "mif-ontology-lock/v1",
        "source": source,
    });
    std::fs::write(
        dir.join("ontologies.lock.json"),
        serde_json::to_string_pretty(&lock).unwrap() + "\n",
    )
    .unwrap();
    let meta = json!({
        "source": source,
        "verified_by": verified_by,
        "vendored_at": "2026-07-24T10:00:00Z",
    });
    std::fs::write(
        dir.join("snapshot.json"),
        serde_json::to_string_pretty(&meta).unwrap() + "\n",
    )
    .unwrap();
    root
}

fn on(s: &Sandbox, root: &Path, args: &[&str]) -> std::process::Output {
    s.cmd()
        .arg("--project")
        .arg(root)
        .args(args)
        .args(["--fmt", "json"])
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    json_out(out)
}

fn failed(out: &std::process::Output, code: &str) -> Value {
    assert_eq!(out.status.code(), Some(1), "{}", stdout(out));
    let v = json_out(out);
    assert_eq!(v["error"]["code"], code, "{v}");
    v["error"].clone()
}

fn entity_names(v: &Value) -> Vec<String> {
    v["content"]["entity_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The entity type names of `id`'s own file, as an independent YAML reader
/// sees them.
fn file_entity_names(id: &str) -> Vec<String> {
    let text = std::fs::read(corpus().join(format!("{id}.ontology.yaml"))).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_slice(&text).unwrap();
    doc["entity_types"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ontology_list_and_show_through_the_cli() {
    let s = Sandbox::new();
    let root = vendored(&s, "p", &WIDEST_CLOSURE, None);

    let list = ok(&on(&s, &root, &["ontology", "list"]));
    assert_eq!(list["total"], 7, "{list}");
    let ids: Vec<&str> = list["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let mut sorted = WIDEST_CLOSURE.to_vec();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let widest = list["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == WIDEST)
        .unwrap();
    assert_eq!(widest["entity_types"], 21);
    assert_eq!(widest["verified"], false);
    assert_eq!(
        widest["sha256"],
        sha256(&std::fs::read(corpus().join(format!("{WIDEST}.ontology.yaml"))).unwrap())
    );
    assert_eq!(list["snapshot"]["vendored_at"], "2026-07-24T10:00:00Z");
    assert!(list["snapshot"].get("verified_by").is_none(), "{list}");
    assert!(
        list["hint"].as_str().unwrap().contains("hash-pinned only"),
        "{list}"
    );
    let found = ok(&on(
        &s,
        &root,
        &[
            "ontology",
            "list",
            "--query",
            "regenerative",
            "--limit",
            "1",
        ],
    ));
    assert_eq!(found["total"], 1);
    assert_eq!(found["extensions"][0]["id"], WIDEST);

    // Resolved (the default), entity types a page at a time, in file order.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["ontology", "show", WIDEST, "--limit", "8"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = ok(&on(&s, &root, &args));
        assert_eq!(page["view"], "resolved");
        assert_eq!(page["content"]["closure"], json!(WIDEST_CLOSURE));
        assert_eq!(page["page"]["offset"], names.len());
        names.extend(entity_names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, file_entity_names(WIDEST));

    // A section of the raw view: the file's own, nothing inherited.
    let raw = ok(&on(
        &s,
        &root,
        &[
            "ontology",
            "show",
            WIDEST,
            "--view",
            "raw",
            "--section",
            "relationships",
        ],
    ));
    let resolved = ok(&on(
        &s,
        &root,
        &["ontology", "show", WIDEST, "--section", "relationships"],
    ));
    let own = raw["content"]["relationships"].as_object().unwrap().len();
    let all = resolved["content"]["relationships"]
        .as_object()
        .unwrap()
        .len();
    assert!(own > 0 && all > own, "{own} own, {all} resolved");
    assert_eq!(resolved["page"]["total"], all);
    assert!(resolved["content"]["provenance"]["relationships"].is_object());

    // For a person: a table.
    let text = s
        .cmd()
        .arg("--project")
        .arg(&root)
        .args(["ontology", "list", "--fmt", "text"])
        .output()
        .unwrap();
    let text = stdout(&text);
    assert!(
        text.contains(WIDEST) && text.contains("hash-pinned only"),
        "{text}"
    );

    // Bad arguments and ids.
    failed(
        &on(&s, &root, &["ontology", "show", WIDEST, "--view", "cooked"]),
        "invalid-params",
    );
    let e = failed(
        &on(
            &s,
            &root,
            &["ontology", "show", "regenerative-agriculture-reserch"],
        ),
        "ontology-not-found",
    );
    assert!(
        e["hint"].as_str().unwrap().contains(WIDEST),
        "the closest id: {e}"
    );
    failed(
        &on(&s, &root, &["ontology", "show", "cosmology"]),
        "ontology-not-enabled",
    );
}

#[test]
fn ontology_show_refuses_tampered_files_through_the_cli() {
    let s = Sandbox::new();
    let root = vendored(&s, "p", &WIDEST_CLOSURE, Some("gh attestation verify"));
    let dir = root.join(".ontoref/ontologies");
    // Warm nothing here: each command is a new process. A parent is edited.
    let parent = dir.join("shared-traits.ontology.yaml");
    let original = std::fs::read(&parent).unwrap();
    let mut edited = original.clone();
    edited.extend_from_slice(b"\n# one more line\n");
    std::fs::write(&parent, &edited).unwrap();
    let e = failed(
        &on(&s, &root, &["ontology", "show", WIDEST]),
        "ontology-tampered",
    );
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("shared-traits.ontology.yaml"), "{msg}");
    assert!(msg.contains(&sha256(&original)), "the pin: {msg}");
    assert!(msg.contains(&sha256(&edited)), "what was found: {msg}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("ontoref ontology check"),
        "{e}"
    );
    // The raw view reads only the id's own file.
    let raw = ok(&on(
        &s,
        &root,
        &["ontology", "show", WIDEST, "--view", "raw"],
    ));
    assert_eq!(raw["verified"], true);
    failed(
        &on(
            &s,
            &root,
            &["ontology", "show", "shared-traits", "--view", "raw"],
        ),
        "ontology-tampered",
    );
    // The lock itself, malformed: nothing is served.
    std::fs::write(&parent, &original).unwrap();
    std::fs::write(dir.join("ontologies.lock.json"), "{\"schema\": 1}").unwrap();
    let e = failed(
        &on(&s, &root, &["ontology", "list"]),
        "ontology-lock-invalid",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("ontologies.lock.json"),
        "{e}"
    );
}

#[test]
fn a_project_without_a_snapshot_is_told_how_to_vendor_one() {
    let s = Sandbox::new();
    let root = s.project("bare", &[]);
    for args in [
        vec!["ontology", "list"],
        vec!["ontology", "show", "fitness"],
    ] {
        let e = failed(&on(&s, &root, &args), "ontology-not-vendored");
        assert!(
            e["hint"]
                .as_str()
                .unwrap()
                .contains("ontoref ontology vendor"),
            "{e}"
        );
    }
    // A failed first vendor attempt is named.
    std::fs::write(
        root.join(".ontoref/ontologies.stale.json"),
        "{\"code\": \"ontology-fetch-failed\", \"message\": \"connection refused\", \
         \"since\": \"2026-07-24T09:00:00Z\"}",
    )
    .unwrap();
    let e = failed(
        &on(&s, &root, &["ontology", "list"]),
        "ontology-not-vendored",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("ontology-fetch-failed: connection refused"),
        "{e}"
    );
}

#[test]
fn describe_counts_and_search_finds_vendored_extensions() {
    let s = Sandbox::new();
    let root = vendored(&s, "p", &["mif-base", "mif-generic"], None);
    let described = ok(&on(&s, &root, &["describe"]));
    let d = &described["description"];
    assert_eq!(d["counts"]["ontology_extensions"], 2, "{described}");
    assert!(
        d["toolsets"]
            .as_array()
            .unwrap()
            .contains(&json!("ontology")),
        "{described}"
    );
    // `organization` is one of mif-generic's entity types.
    let found = ok(&on(
        &s,
        &root,
        &["search", "organization", "--kind", "extension"],
    ));
    assert_eq!(found["results"][0]["kind"], "extension", "{found}");
    assert_eq!(found["results"][0]["id"], "mif-generic", "{found}");
    let anywhere = ok(&on(&s, &root, &["search", "organization"]));
    assert!(
        anywhere["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "extension" && h["id"] == "mif-generic"),
        "{anywhere}"
    );
    // And the search tool's description points at the extension tool.
    let help = stdout(&s.run(&["search", "--help"]));
    assert!(help.contains("ontoref_get_ontology_extension"), "{help}");
}

/// `tools/call` of `name` with `args`: the structured content, and whether
/// it is an error.
fn call(session: &mut Session, name: &str, args: Value) -> (Value, bool) {
    let r = session.request("tools/call", json!({"name": name, "arguments": args}));
    let result = &r["result"];
    assert!(result.is_object(), "{r}");
    let structured = result["structuredContent"].clone();
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        text, structured,
        "the text block repeats the structured content"
    );
    (structured, result["isError"] == true)
}

#[test]
fn ontology_tools_over_an_mcp_stdio_session() {
    let s = Sandbox::new();
    let root = vendored(&s, "p", &WIDEST_CLOSURE, None);
    let mut session = Session::start(&s, &["--project", path_str(&root)], &[]);
    session.initialize();
    let tools = session.request("tools/list", json!({}));
    for name in [
        "ontoref_list_ontology_extensions",
        "ontoref_get_ontology_extension",
    ] {
        let tool = tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(tool["annotations"]["readOnlyHint"], true);
        assert_eq!(tool["outputSchema"]["type"], "object");
    }

    let (list, err) = call(
        &mut session,
        "ontoref_list_ontology_extensions",
        json!({"query": "agriculture", "limit": 1}),
    );
    assert!(!err, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["extensions"][0]["id"], "agriculture");
    let (next, _) = call(
        &mut session,
        "ontoref_list_ontology_extensions",
        json!({"query": "agriculture", "limit": 1, "cursor": list["next_cursor"]}),
    );
    assert_eq!(next["extensions"][0]["id"], WIDEST);
    assert!(next.get("next_cursor").is_none(), "{next}");

    // Resolved traits: every trait of the closure, with where it came from.
    let (traits, err) = call(
        &mut session,
        "ontoref_get_ontology_extension",
        json!({"id": WIDEST, "section": "traits", "limit": 200}),
    );
    assert!(!err, "{traits}");
    let got = traits["content"]["traits"].as_object().unwrap();
    assert!(got.contains_key("lifecycle"), "a shared trait");
    assert_eq!(
        traits["content"]["provenance"]["traits"]["lifecycle"],
        "shared-traits"
    );
    assert_eq!(traits["page"]["total"], got.len());

    // A parent tampered while the server runs (and its views are warm).
    let dir = root.join(".ontoref/ontologies");
    let parent = dir.join("research.ontology.yaml");
    let original = std::fs::read(&parent).unwrap();
    std::fs::write(&parent, [original.as_slice(), b"\n"].concat()).unwrap();
    let (e, err) = call(
        &mut session,
        "ontoref_get_ontology_extension",
        json!({"id": WIDEST, "section": "traits"}),
    );
    assert!(err);
    assert_eq!(e["error"]["code"], "ontology-tampered", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("research.ontology.yaml"),
        "{e}"
    );
    // Restored, it is served again: the server kept serving.
    std::fs::write(&parent, &original).unwrap();
    let (again, err) = call(
        &mut session,
        "ontoref_get_ontology_extension",
        json!({"id": WIDEST, "section": "traits", "limit": 200}),
    );
    assert!(!err, "{again}");
    assert_eq!(again["content"]["traits"], traits["content"]["traits"]);

    // Bad arguments are tool errors, not protocol errors.
    let (e, err) = call(
        &mut session,
        "ontoref_get_ontology_extension",
        json!({"id": WIDEST, "section": "everything"}),
    );
    assert!(err);
    assert_eq!(e["error"]["code"], "invalid-params", "{e}");
    let (stderr, _) = session.finish();
    assert!(!stderr.contains("panicked"), "{stderr}");
}
