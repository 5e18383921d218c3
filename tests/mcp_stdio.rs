//! MCP over stdio with real clients: rmcp's own client over a child process,
//! and raw JSON-RPC for what a client library hides (protocol eras, stdout
//! purity, logs, undeclared capabilities, bad input).

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::util::{Sandbox, Session, bin, catalog_names, fixture, json_out, modern_meta, path_str};

fn args(v: Value) -> rmcp::model::JsonObject {
    match v {
        Value::Object(m) => m,
        _ => panic!("arguments must be an object"),
    }
}

#[tokio::test]
async fn rmcp_client_lists_and_calls_every_tool() {
    let s = Sandbox::new();
    let mut cmd = tokio::process::Command::new(bin());
    cmd.args(["serve", "--project", path_str(&fixture())])
        .env("ONTOREF_CACHE_DIR", s.cache())
        .env_remove("RUST_LOG");
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    let mut expected = catalog_names();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    for t in &tools {
        let a = t.annotations.as_ref().unwrap();
        let reads_only = !matches!(
            t.name.as_ref(),
            "ontoref_credential_fetch"
                | "ontoref_artifact_pull"
                | "ontoref_qa_add"
                | "ontoref_qa_update"
                | "ontoref_qa_delete"
                | "ontoref_backlog_add"
                | "ontoref_backlog_update"
        );
        // Changing or removing knowledge is destructive; adding is not.
        let destructive = t.name.ends_with("_update") || t.name.ends_with("_delete");
        // Only the artifact tools reach outside the project (its registry).
        let open_world = t.name.starts_with("ontoref_artifact_");
        assert_eq!(
            (a.read_only_hint, a.destructive_hint, a.open_world_hint),
            (Some(reads_only), Some(destructive), Some(open_world)),
            "{}",
            t.name
        );
        assert!(t.output_schema.is_some() && t.title.is_some());
    }

    let list = client
        .call_tool(
            CallToolRequestParams::new("ontoref_qa_list")
                .with_arguments(args(json!({"tags": ["ops"]}))),
        )
        .await
        .unwrap();
    assert_eq!(list.is_error, Some(false));
    let v = list.structured_content.clone().unwrap();
    assert_eq!(v["total"], 3);
    assert!(
        v["entries"][0].get("answer").is_none(),
        "no answers in list output"
    );

    let search = client
        .call_tool(
            CallToolRequestParams::new("ontoref_qa_search")
                .with_arguments(args(json!({"query": "roll back"}))),
        )
        .await
        .unwrap();
    let v = search.structured_content.clone().unwrap();
    assert_eq!(v["results"][0]["id"], "rollback-policy", "{v}");

    let show = client
        .call_tool(
            CallToolRequestParams::new("ontoref_qa_show")
                .with_arguments(args(json!({"id": "local-dev-setup"}))),
        )
        .await
        .unwrap();
    let v = show.structured_content.clone().unwrap();
    assert_eq!(v["entry"]["verified"], false);
    assert_eq!(v["entry"]["related"], json!([]));
    // The same JSON travels as text for clients without structured output.
    let text = show.content[0].as_text().map(|t| t.text.clone()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);

    let missing = client
        .call_tool(
            CallToolRequestParams::new("ontoref_qa_show")
                .with_arguments(args(json!({"id": "rollback"}))),
        )
        .await
        .unwrap();
    assert_eq!(missing.is_error, Some(true));
    let e = &missing.structured_content.unwrap()["error"];
    assert_eq!(e["code"], "qa-not-found");
    assert!(e["hint"].as_str().unwrap().contains("rollback-policy"));

    let bad = client
        .call_tool(
            CallToolRequestParams::new("ontoref_qa_search")
                .with_arguments(args(json!({"query": "x", "limit": "ten"}))),
        )
        .await
        .unwrap();
    assert_eq!(bad.is_error, Some(true));
    let e = &bad.structured_content.unwrap()["error"];
    assert_eq!(e["code"], "invalid-params");
    assert!(e["message"].as_str().unwrap().contains("limit"), "{e}");

    let unknown = client
        .call_tool(CallToolRequestParams::new("ontoref_nope"))
        .await;
    assert!(unknown.is_err(), "an unknown tool is a protocol error");
    client.cancel().await.unwrap();
}

#[test]
fn cli_json_is_the_tools_structured_content() {
    let s = Sandbox::new();
    let p = fixture();
    let mut session = Session::start(&s, &["--project", path_str(&p)], &[]);
    session.initialize();
    let cases: [(&str, Value, Vec<&str>); 4] = [
        (
            "ontoref_qa_list",
            json!({"limit": 2}),
            vec!["qa", "list", "--limit", "2"],
        ),
        (
            "ontoref_qa_search",
            json!({"query": "deploy staging", "tags": ["ops"]}),
            vec!["qa", "search", "deploy", "staging", "--tag", "ops"],
        ),
        (
            "ontoref_qa_show",
            json!({"id": "database-migrations"}),
            vec!["qa", "show", "database-migrations"],
        ),
        (
            "ontoref_qa_show",
            json!({"id": "no-such"}),
            vec!["qa", "show", "no-such"],
        ),
    ];
    for (tool, arguments, argv) in cases {
        let r = session.request("tools/call", json!({"name": tool, "arguments": arguments}));
        let structured = r["result"]["structuredContent"].clone();
        let mut cli = vec!["--project", path_str(&p)];
        cli.extend(argv);
        let out = s.run(&cli);
        assert_eq!(json_out(&out), structured, "{tool}");
        assert_eq!(
            out.status.success(),
            r["result"]["isError"] == false,
            "{tool}"
        );
    }
}

#[test]
fn both_protocol_eras_are_served() {
    let s = Sandbox::new();
    let mut legacy = Session::start(&s, &["--project", path_str(&fixture())], &[]);
    let init = legacy.initialize();
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(init["result"]["serverInfo"]["name"], "ontoref");
    assert_eq!(
        init["result"]["capabilities"],
        json!({
            "tools": {},
            "prompts": {},
            "resources": {"subscribe": true, "listChanged": true},
            "completions": {},
            "extensions": {"io.modelcontextprotocol/skills": {}}
        })
    );
    let served = catalog_names().len();
    let r = legacy.request("tools/list", json!({}));
    assert_eq!(r["result"]["tools"].as_array().unwrap().len(), served);
    assert!(
        r["result"].get("ttlMs").is_none(),
        "no 2026 cache hints for a 2025 client"
    );

    // A stateless 2026-07-28 client: no initialize, _meta on every request.
    let mut modern = Session::start(&s, &["--project", path_str(&fixture())], &[]);
    let d = modern.request("server/discover", json!({"_meta": modern_meta()}));
    let versions = d["result"]["supportedVersions"].as_array().unwrap();
    assert!(
        versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25")),
        "{d}"
    );
    let r = modern.request("tools/list", json!({"_meta": modern_meta()}));
    assert_eq!(
        r["result"]["tools"].as_array().unwrap().len(),
        served,
        "{r}"
    );
    assert_eq!(r["result"]["ttlMs"], 0);
    let r = modern.request(
        "tools/call",
        json!({"_meta": modern_meta(), "name": "ontoref_qa_show", "arguments": {"id": "stdio-transport"}}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["entry"]["id"], "stdio-transport",
        "{r}"
    );
    assert_eq!(r["result"]["resultType"], "complete");
}

/// `params` with the 2026-07-28 `_meta` when `modern`, else as they are.
fn with_meta(params: Value, modern: bool) -> Value {
    let Value::Object(mut map) = params else {
        return params;
    };
    if modern {
        map.insert("_meta".to_owned(), modern_meta());
    }
    Value::Object(map)
}

#[test]
fn resources_prompts_and_completions_on_the_wire_in_both_eras() {
    let s = Sandbox::new();
    let mut session = Session::start(&s, &["--project", path_str(&fixture())], &[]);
    let init = session.initialize();
    let caps = &init["result"]["capabilities"];
    assert!(
        caps["prompts"].is_object() && caps["resources"].is_object(),
        "{init}"
    );
    assert!(caps["completions"].is_object(), "{init}");
    for modern in [false, true] {
        let with = |params: Value| with_meta(params, modern);
        let templates = session.request("resources/templates/list", with(json!({})));
        let listed = templates["result"]["resourceTemplates"].as_array().unwrap();
        let uris: Vec<&str> = listed
            .iter()
            .map(|t| t["uriTemplate"].as_str().unwrap())
            .collect();
        // Nothing is vendored: no ontology extension template.
        assert_eq!(
            uris,
            [
                "ontoref://qa/{id}",
                "ontoref://adr/{id}",
                "ontoref://node/{id}",
                "ontoref://backlog/{id}",
                "ontoref://mode/{id}"
            ],
            "{templates}"
        );
        assert!(listed.iter().all(|t| t["mimeType"] == "text/markdown"
            && t["title"].is_string()
            && t["description"].is_string()));
        let r = session.request("resources/list", with(json!({})));
        let resources = r["result"]["resources"].as_array().unwrap();
        let staging = resources
            .iter()
            .find(|x| x["uri"] == "ontoref://qa/deploy-staging")
            .unwrap_or_else(|| panic!("{r}"));
        assert_eq!(staging["name"], "deploy-staging");
        assert_eq!(staging["title"], "How do we deploy to staging?");
        assert_eq!(staging["mimeType"], "text/markdown");
        assert!(
            staging["annotations"]["lastModified"].is_string(),
            "{staging}"
        );
        // Modes come from ontoref-base too, embedded: no file time for them.
        assert!(
            resources
                .iter()
                .any(|x| x["uri"] == "ontoref://mode/release")
        );
        assert_eq!(r["result"].get("ttlMs").is_some(), modern, "{r}");
        let r = session.request(
            "resources/read",
            with(json!({"uri": "ontoref://qa/deploy-staging"})),
        );
        let contents = &r["result"]["contents"][0];
        assert_eq!(contents["mimeType"], "text/markdown", "{r}");
        assert!(
            contents["text"]
                .as_str()
                .unwrap()
                .starts_with("## How do we deploy to staging?")
        );
        assert!(contents["_meta"]["lastModified"].is_string(), "{r}");
        assert_eq!(r["result"]["cacheScope"].is_string(), modern, "{r}");
        // Unknown: -32002 before 2026-07-28, -32602 from it on; the closest ids.
        let r = session.request(
            "resources/read",
            with(json!({"uri": "ontoref://qa/deploy-stagin"})),
        );
        assert_eq!(
            r["error"]["code"],
            if modern { -32602 } else { -32002 },
            "{r}"
        );
        assert_eq!(r["error"]["data"]["uri"], "ontoref://qa/deploy-stagin");
        assert_eq!(r["error"]["data"]["closest"][0], "deploy-staging", "{r}");
        assert_eq!(r["error"]["data"]["code"], "resource-not-found", "{r}");
        let r = session.request("resources/read", with(json!({"uri": "ontoref://nothing"})));
        assert_eq!(r["error"]["data"]["uri"], "ontoref://nothing", "{r}");
        assert!(
            r["error"]["data"]["templates"]
                .as_array()
                .unwrap()
                .contains(&json!("ontoref://adr/{id}")),
            "{r}"
        );
        let r = session.request(
            "completion/complete",
            with(
                json!({"ref": {"type": "ref/resource", "uri": "ontoref://qa/{id}"},
                        "argument": {"name": "id", "value": "d"}}),
            ),
        );
        assert_eq!(
            r["result"]["completion"],
            json!({
                "values": ["deploy-staging", "database-migrations", "local-dev-setup", "stdio-transport"],
                "total": 4,
                "hasMore": false
            }),
            "{r}"
        );
        let r = session.request(
            "completion/complete",
            with(json!({"ref": {"type": "ref/prompt", "name": "ondaod"},
                        "argument": {"name": "question", "value": "wh"}})),
        );
        assert_eq!(r["result"]["completion"]["values"], json!([]), "{r}");
        let r = session.request("prompts/list", with(json!({})));
        let names: Vec<&str> = r["result"]["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["adr-draft", "explain-path", "ondaod", "run-mode"],
            "{r}"
        );
        let r = session.request(
            "prompts/get",
            with(json!({"name": "run-mode", "arguments": {"id": "release"}})),
        );
        let text = r["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap();
        assert!(text.contains("1. **"), "{text}");
        assert_eq!(r["result"]["messages"][0]["role"], "user");
        let r = session.request("prompts/get", with(json!({"name": "run-mode"})));
        assert_eq!(r["error"]["code"], -32602, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains("`id`"),
            "{r}"
        );
        let r = session.request("prompts/get", with(json!({"name": "nothing"})));
        assert_eq!(r["error"]["code"], -32602, "{r}");
    }
}

#[test]
fn resources_and_prompts_follow_the_toolsets_served() {
    let s = Sandbox::new();
    let mut session = Session::start(
        &s,
        &["--project", path_str(&fixture()), "--toolsets", "qa"],
        &[],
    );
    session.initialize();
    let r = session.request("resources/templates/list", json!({}));
    assert_eq!(
        r["result"]["resourceTemplates"][0]["uriTemplate"], "ontoref://qa/{id}",
        "{r}"
    );
    assert_eq!(
        r["result"]["resourceTemplates"].as_array().unwrap().len(),
        1
    );
    let r = session.request("resources/list", json!({}));
    assert!(
        r["result"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["uri"].as_str().unwrap().starts_with("ontoref://qa/")),
        "{r}"
    );
    let r = session.request("resources/read", json!({"uri": "ontoref://mode/release"}));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    let r = session.request("prompts/list", json!({}));
    assert_eq!(r["result"]["prompts"], json!([]), "{r}");
}

#[test]
fn skills_follow_the_toolsets_served() {
    let s = Sandbox::new();
    let mut qa = Session::start(
        &s,
        &["--project", path_str(&fixture()), "--toolsets", "qa"],
        &[],
    );
    let init = qa.initialize();
    assert!(
        init["result"]["capabilities"].get("extensions").is_none(),
        "{init}"
    );
    let r = qa.request("skills/list", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = qa.request(
        "resources/read",
        json!({"uri": "skill://ontoref/modes/release/SKILL.md"}),
    );
    assert_eq!(r["error"]["code"], -32002, "{r}");

    let mut modes = Session::start(
        &s,
        &["--project", path_str(&fixture()), "--toolsets", "modes"],
        &[],
    );
    let init = modes.initialize();
    assert_eq!(
        init["result"]["capabilities"]["extensions"],
        json!({"io.modelcontextprotocol/skills": {}}),
        "{init}"
    );
    let r = modes.request("skills/list", json!({}));
    let uris: Vec<&str> = r["result"]["skills"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|x| x["uri"].as_str().unwrap())
        .collect();
    assert!(
        uris.contains(&"skill://ontoref/modes/release/SKILL.md")
            && uris.contains(&"skill://ontoref/using-ontoref/SKILL.md"),
        "{r}"
    );
    let r = modes.request(
        "skills/get",
        json!({"uri": "skill://ontoref/modes/relase/SKILL.md"}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(
        r["error"]["data"]["closest"][0], "skill://ontoref/modes/release/SKILL.md",
        "{r}"
    );
}

#[test]
fn stdout_carries_only_protocol_and_logs_go_to_stderr() {
    let s = Sandbox::new();
    let mut session = Session::start(
        &s,
        &["--project", path_str(&fixture()), "--log-level", "trace"],
        &[],
    );
    session.initialize();
    session.request("tools/list", json!({}));
    session.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}),
    );
    session.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "missing"}}),
    );
    // Garbage does not stop the server.
    session.send_raw("this is not json");
    session.send_raw(
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{\"name\":42}}",
    );
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_search", "arguments": {"query": "rollback"}}),
    );
    assert_eq!(r["result"]["isError"], false);
    let (stderr, lines) = session.finish();
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("non-protocol stdout line ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
    }
    assert!(
        stderr.contains("tools/call{tool=ontoref_qa_show}"),
        "a span per call names the tool: {stderr}"
    );
    assert!(stderr.contains("duration_us="), "{stderr}");
    assert!(stderr.contains("tools/list"), "{stderr}");
}

#[test]
fn tool_selection_flags_shape_the_served_catalog() {
    let s = Sandbox::new();
    let mut session = Session::start(
        &s,
        &[
            "--project",
            path_str(&fixture()),
            "--toolsets",
            "qa",
            "--exclude-tools",
            "ontoref_qa_show",
        ],
        &[],
    );
    session.initialize();
    let r = session.request("tools/list", json!({}));
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ontoref_qa_add",
            "ontoref_qa_delete",
            "ontoref_qa_list",
            "ontoref_qa_search",
            "ontoref_qa_update"
        ]
    );
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_show", "arguments": {"id": "deploy-staging"}}),
    );
    assert!(
        r.get("error").is_some(),
        "an excluded tool cannot be called: {r}"
    );

    let mut only = Session::start(
        &s,
        &[
            "--project",
            path_str(&fixture()),
            "--toolsets",
            "",
            "--tools",
            "ontoref_qa_show",
        ],
        &[],
    );
    only.initialize();
    let r = only.request("tools/list", json!({}));
    assert_eq!(r["result"]["tools"].as_array().unwrap().len(), 1, "{r}");

    // `--read-only` drops the writes, even from an explicit selection.
    let mut reader = Session::start(
        &s,
        &[
            "--project",
            path_str(&fixture()),
            "--toolsets",
            "qa",
            "--tools",
            "ontoref_qa_add",
            "--read-only",
        ],
        &[],
    );
    reader.initialize();
    let r = reader.request("tools/list", json!({}));
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ontoref_qa_list", "ontoref_qa_search", "ontoref_qa_show"]
    );
    let r = reader.request(
        "tools/call",
        json!({"name": "ontoref_qa_add", "arguments": {"question": "Q?", "answer": "A."}}),
    );
    assert!(
        r.get("error").is_some(),
        "a dropped write cannot be called: {r}"
    );
}

#[test]
fn a_runaway_file_times_out_and_the_server_keeps_serving() {
    let s = Sandbox::new();
    let p = s.project(
        "looping",
        &[(
            "reflection/qa.ncl",
            "let rec f = fun x => f (x + 1) in { entries = f 0 }",
        )],
    );
    let mut session = Session::start(
        &s,
        &["--project", path_str(&p), "--eval-timeout", "0.5"],
        &[],
    );
    session.initialize();
    let started = Instant::now();
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_list", "arguments": {}}),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert_eq!(
        r["result"]["structuredContent"]["error"]["code"],
        "ncl-eval-timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let r = session.request("tools/list", json!({}));
    assert_eq!(
        r["result"]["tools"].as_array().unwrap().len(),
        catalog_names().len()
    );
    let again = Instant::now();
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_search", "arguments": {"query": "x"}}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["error"]["code"],
        "ncl-eval-timeout"
    );
    assert!(
        again.elapsed() < Duration::from_millis(400),
        "remembered: {:?}",
        again.elapsed()
    );
}

#[test]
fn a_broken_file_is_an_error_result_naming_its_location() {
    let s = Sandbox::new();
    let p = s.project(
        "broken",
        &[("reflection/qa.ncl", "{ entries = [ { id = \"a\" }, ] ")],
    );
    let mut session = Session::start(&s, &["--project", path_str(&p)], &[]);
    session.initialize();
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_search", "arguments": {"query": "a"}}),
    );
    let e = &r["result"]["structuredContent"]["error"];
    assert_eq!(e["code"], "ncl-eval-failed", "{r}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("reflection/qa.ncl:1:"),
        "{e}"
    );
    // Fixing the file is picked up by the running server.
    std::fs::write(
        p.join("reflection/qa.ncl"),
        r#"{ entries = [ { id = "a", question = "q", answer = "alpha", actor = "h", created_at = "2026-01-01" } ] }"#,
    )
    .unwrap();
    let r = session.request(
        "tools/call",
        json!({"name": "ontoref_qa_search", "arguments": {"query": "alpha"}}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["results"][0]["id"], "a",
        "{r}"
    );
}

#[test]
fn a_fresh_server_answers_from_the_disk_cache_without_evaluating() {
    let s = Sandbox::new();
    let run = || {
        let mut session = Session::start(
            &s,
            &[
                "--project",
                path_str(&fixture()),
                "--log-level",
                "ontoref_tools=debug",
            ],
            &[],
        );
        session.initialize();
        let r = session.request(
            "tools/call",
            json!({"name": "ontoref_qa_search", "arguments": {"query": "rollback"}}),
        );
        assert_eq!(
            r["result"]["structuredContent"]["results"][0]["id"],
            "rollback-policy"
        );
        session.finish().0
    };
    let first = run();
    assert!(first.contains("evaluating with nickel"), "{first}");
    let second = run();
    assert!(second.contains("served from the disk cache"), "{second}");
    assert!(!second.contains("evaluating with nickel"), "{second}");
}

#[test]
fn instructions_name_the_served_toolsets_only_and_fit_2048_characters() {
    let s = Sandbox::new();
    let text_of = |args: &[&str]| {
        let mut session = Session::start(&s, args, &[]);
        let init = session.initialize();
        init["result"]["instructions"]
            .as_str()
            .unwrap_or_else(|| panic!("no instructions: {init}"))
            .to_owned()
    };
    let all = text_of(&["--project", path_str(&fixture())]);
    assert!(all.chars().count() <= 2048, "{} chars", all.chars().count());
    assert!(all.starts_with("Reach for ontoref"), "{all}");
    for id in [
        "adr", "backlog", "modes", "ontology", "project", "qa", "vault",
    ] {
        assert!(all.contains(&format!("({id}): ")), "{id} missing: {all}");
    }
    let qa_only = text_of(&["--project", path_str(&fixture()), "--toolsets", "qa"]);
    assert!(qa_only.contains("(qa): "), "{qa_only}");
    for gone in [
        "(vault)",
        "(adr)",
        "registry credentials",
        "DOCKER_CONFIG",
        "decision",
    ] {
        assert!(!qa_only.contains(gone), "{gone} mentioned: {qa_only}");
    }
}
