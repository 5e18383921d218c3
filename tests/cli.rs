//! The CLI: global flags anywhere, output format rules, errors and exit
//! codes, project discovery and the embedded default project.

use serde_json::{Value, json};

use crate::util::{Sandbox, fixture, json_out, path_str, run_in_tty, stderr, stdout};

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let s = Sandbox::new();
    let p = fixture();
    let before = s.run(&[
        "--project",
        path_str(&p),
        "-f",
        "json",
        "qa",
        "list",
        "--limit",
        "2",
    ]);
    let after = s.run(&[
        "qa",
        "list",
        "--limit",
        "2",
        "--project",
        path_str(&p),
        "--fmt",
        "json",
    ]);
    let middle = s.run(&["qa", "--project", path_str(&p), "list", "--limit", "2"]);
    assert!(before.status.success(), "{}", stderr(&before));
    assert_eq!(stdout(&before), stdout(&after));
    assert_eq!(stdout(&before), stdout(&middle));
    assert_eq!(
        json_out(&before)["entries"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn piped_output_is_json_and_matches_the_tool() {
    let s = Sandbox::new();
    let out = s.on_fixture(&["qa", "show", "deploy-staging"]);
    assert!(out.status.success());
    let v = json_out(&out);
    assert_eq!(v["entry"]["id"], "deploy-staging");
    assert!(
        v["entry"]["answer"]
            .as_str()
            .unwrap()
            .contains("Rollback: `just rollback staging`.")
    );
    assert_eq!(v["entry"]["related"], json!(["rollback-policy"]));
}

#[test]
fn a_person_at_a_terminal_reads_text_an_agent_gets_json() {
    let s = Sandbox::new();
    let line = format!(
        "{} --project {} qa show deploy-staging",
        crate::util::bin(),
        path_str(&fixture())
    );
    let text = run_in_tty(&s, &line, &[]);
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "text expected: {text}"
    );
    assert!(text.contains("How do we deploy to staging?"), "{text}");
    assert!(
        text.contains("Run `just deploy staging` from the repository root.\nThe pipeline"),
        "line breaks kept: {text}"
    );
    assert!(text.contains("tags: deploy, staging, ops"), "{text}");
    assert!(text.contains("related: rollback-policy"), "{text}");

    for (line, env) in [
        (line.clone(), vec![("ONTOREF_ACTOR", "agent")]),
        (format!("{line} --actor agent"), vec![]),
        (format!("{line} -f json"), vec![]),
    ] {
        let out = run_in_tty(&s, &line, &env);
        let v: Value =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{line}: {e}: {out}"));
        assert_eq!(v["entry"]["id"], "deploy-staging");
    }
}

#[test]
fn text_and_markdown_on_request() {
    let s = Sandbox::new();
    let out = s.on_fixture(&["qa", "search", "rollback", "--fmt", "text"]);
    let text = stdout(&out);
    assert!(text.starts_with("1. rollback-policy"), "{text}");
    assert!(text.contains("matches"), "{text}");
    let md = stdout(&s.on_fixture(&["qa", "list", "-f", "md"]));
    assert!(
        md.starts_with("| id | question | tags | verified |"),
        "{md}"
    );
    assert!(md.contains("| `deploy-staging` |"), "{md}");
}

#[test]
fn tool_errors_are_json_on_stdout_with_status_1() {
    let s = Sandbox::new();
    let out = s.on_fixture(&["qa", "show", "deploy-stagin"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!(v["error"]["code"], "qa-not-found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deploy-stagin")
    );
    assert!(
        v["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("`deploy-staging`"),
        "{v}"
    );

    let out = s.on_fixture(&["qa", "list", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["error"]["code"], "invalid-params");
}

#[test]
fn tool_errors_in_text_mode_go_to_stderr() {
    let s = Sandbox::new();
    let out = s.on_fixture(&["--fmt", "text", "qa", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("error[qa-not-found]: no Q&A entry has id `nope`"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let s = Sandbox::new();
    for args in [
        vec!["qa", "show"],
        vec!["qa", "list", "--limit", "many"],
        vec!["--fmt", "xml", "qa", "list"],
        vec!["nonsense"],
        vec!["tools", "--toolsets", "nope"],
        vec!["serve", "--tools", "ontoref_qa_shw"],
        vec!["--eval-timeout", "-1", "qa", "list"],
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    let out = s.run(&["serve", "--tools", "ontoref_qa_shw"]);
    assert!(
        stderr(&out).contains("did you mean `ontoref_qa_show`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_project_is_a_clear_error() {
    let s = Sandbox::new();
    let out = s.run(&["--project", "/nonexistent/project", "qa", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!(v["error"]["code"], "project-not-found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/project")
    );
}

#[test]
fn the_embedded_template_is_the_default_project() {
    let s = Sandbox::new();
    let out = s.run(&["qa", "search", "stdio"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_out(&out);
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(ids.contains(&"connect-claude-code-stdio"), "{ids:?}");
    assert!(
        stderr(&out).is_empty(),
        "no note when a program reads the output: {}",
        stderr(&out)
    );
    let list = json_out(&s.run(&["qa", "list"]));
    assert!(list["total"].as_u64().unwrap() >= 8);

    // A person at a terminal is told where the answers come from.
    let tty = run_in_tty(&s, &format!("{} qa search stdio", crate::util::bin()), &[]);
    assert!(tty.contains("embedded agent-first template"), "{tty}");
}

#[test]
fn the_project_is_found_from_env_then_from_the_working_directory() {
    let s = Sandbox::new();
    let other = s.project("other", &[(
        "reflection/qa.ncl",
        r#"{ entries = [ { id = "only-here", question = "q", answer = "a", actor = "h", created_at = "2026-01-01" } ] }"#,
    )]);
    let out = s
        .cmd()
        .args(["qa", "list"])
        .env("ONTOREF_PROJECT_ROOT", &other)
        .output()
        .unwrap();
    assert_eq!(json_out(&out)["entries"][0]["id"], "only-here");
    // --project wins over the environment.
    let out = s
        .cmd()
        .args(["qa", "list", "--project"])
        .arg(fixture())
        .env("ONTOREF_PROJECT_ROOT", &other)
        .output()
        .unwrap();
    assert_eq!(json_out(&out)["total"], 5);
    // Discovery walks up from a nested directory.
    let nested = other.join("src/deep");
    std::fs::create_dir_all(&nested).unwrap();
    let out = s
        .cmd()
        .args(["qa", "list"])
        .current_dir(&nested)
        .output()
        .unwrap();
    assert_eq!(json_out(&out)["entries"][0]["id"], "only-here");
}

#[test]
fn paging_through_the_cli() {
    let s = Sandbox::new();
    let p = fixture();
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--project", path_str(&p), "qa", "list", "--limit", "2"];
        if let Some(c) = cursor.as_deref() {
            args.extend(["--cursor", c]);
        }
        let v = json_out(&s.run(&args));
        ids.extend(
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match v.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5);
    let filtered = json_out(&s.on_fixture(&[
        "qa",
        "list",
        "--tag",
        "ops",
        "--tag",
        "policy",
        "--verified",
        "true",
    ]));
    assert_eq!(filtered["entries"][0]["id"], "rollback-policy");
    assert_eq!(filtered["total"], 1);
}

#[test]
fn the_tools_listing_reflects_the_catalog_and_filters() {
    let s = Sandbox::new();
    let v = json_out(&s.run(&["tools"]));
    let tools = v["tools"].as_array().unwrap();
    let keys: Vec<(&str, &str)> = tools
        .iter()
        .map(|t| (t["toolset"].as_str().unwrap(), t["name"].as_str().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by toolset, then name");
    for name in ["ontoref_qa_list", "ontoref_qa_search", "ontoref_qa_show"] {
        assert!(keys.contains(&("qa", name)), "{name}");
    }
    // Every tool reads, except the ones that write a credential directory
    // or an artifact into the project's cache, and the knowledge writes.
    let writers = [
        "ontoref_credential_fetch",
        "ontoref_artifact_pull",
        "ontoref_qa_add",
        "ontoref_qa_update",
        "ontoref_qa_delete",
        "ontoref_backlog_add",
        "ontoref_backlog_update",
    ];
    for t in tools {
        let writes = writers.iter().any(|w| t["name"] == *w);
        assert_eq!(t["read_only"], !writes, "{t}");
        assert!(t["title"].is_string() && t["summary"].is_string(), "{t}");
    }
    let ro = json_out(&s.run(&["tools", "--read-only"]));
    assert_eq!(ro["total"], tools.len() - writers.len());
    assert_eq!(v["total"], tools.len());
    let v = json_out(&s.run(&[
        "tools",
        "--toolsets",
        "qa",
        "--exclude-tools",
        "ontoref_qa_list",
    ]));
    // show and search, and the three writes.
    assert_eq!(v["total"], 5);
}

#[test]
fn call_runs_any_tool_with_json_arguments_from_the_line_or_stdin() {
    let s = Sandbox::new();
    let show = crate::util::catalog_names()
        .into_iter()
        .find(|n| n.ends_with("_qa_show"))
        .unwrap();
    let direct = s.on_fixture(&["qa", "show", "deploy-staging"]);
    let called = s.on_fixture(&["call", &show, r#"{"id": "deploy-staging"}"#]);
    assert!(called.status.success(), "{}", stderr(&called));
    assert_eq!(json_out(&called), json_out(&direct));

    let mut child = s
        .cmd()
        .args(["--project", path_str(&fixture()), "call", &show, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"id": "deploy-staging"}"#).unwrap();
    }
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(json_out(&piped), json_out(&direct));

    // A tool error is the tool's, as over MCP; bad JSON is a usage error.
    let missing = s.on_fixture(&["call", &show, r#"{"id": "nope"}"#]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(json_out(&missing)["error"]["code"], "qa-not-found");
    let wrong = s.on_fixture(&["call", &show, r#"{"ident": "x"}"#]);
    assert_eq!(json_out(&wrong)["error"]["code"], "invalid-params");
    for bad in ["{not json", "[1, 2]"] {
        let out = s.on_fixture(&["call", &show, bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("JSON"), "{bad}: {}", stderr(&out));
    }
    let unknown = s.on_fixture(&["call", "ontoref_qa_shw", "{}"]);
    assert_eq!(unknown.status.code(), Some(1));
    let v = json_out(&unknown);
    assert_eq!(v["error"]["code"], "unknown-tool");
    assert!(v["error"]["hint"].as_str().unwrap().contains(&show), "{v}");
}

#[test]
fn every_tool_has_a_derived_command_whose_help_is_its_description() {
    let s = Sandbox::new();
    let listed = json_out(&s.run(&["tools", "--fmt", "json"]));
    let tools = listed["tools"].as_array().unwrap();
    assert_eq!(tools.len(), crate::util::catalog_names().len());
    let snapshot: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::util::repo().join("tests/snapshots/tools_list.json"))
            .unwrap(),
    )
    .unwrap();
    for t in tools {
        let command: Vec<&str> = t["command"].as_str().unwrap().split(' ').collect();
        let mut args = command.clone();
        args.push("--help");
        let out = s.run(&args);
        assert!(out.status.success(), "{command:?}: {}", stderr(&out));
        let help = stdout(&out);
        let name = t["name"].as_str().unwrap();
        let description = snapshot["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .and_then(|d| d["description"].as_str())
            .unwrap();
        let first = description.split(". ").next().unwrap();
        assert!(
            help.contains(first),
            "{command:?} help lacks {first:?}:\n{help}"
        );
        assert!(help.contains(&format!("MCP tool: {name}")), "{help}");
    }
    // Flags carry the schema's range, values and default.
    let help = stdout(&s.run(&["node", "list", "--help"]));
    assert!(
        help.contains("--limit <N>") && help.contains("(1-500)"),
        "{help}"
    );
    assert!(
        help.contains("[values: Axiom, Tension, Practice]"),
        "{help}"
    );
    assert!(help.contains("[default: 50]"), "{help}");
}

#[test]
fn enum_flags_take_any_case_and_bad_values_are_the_tools_invalid_params() {
    let s = Sandbox::new();
    let template = crate::util::repo().join("agent-first-template");
    let on = |args: &[&str]| {
        let mut all = vec!["--project", path_str(&template)];
        all.extend_from_slice(args);
        json_out(&s.run(&all))
    };
    let lower = on(&["node", "list", "--level", "axiom"]);
    let exact = on(&["node", "list", "--level", "Axiom"]);
    assert!(lower["total"].as_u64().unwrap() > 0, "{lower}");
    assert_eq!(lower, exact);
    assert!(on(&["node", "list"])["total"].as_u64() > lower["total"].as_u64());
    let out = s.on_fixture(&["node", "list", "--level", "Gadget"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["error"]["code"], "invalid-params");
    let out = s.on_fixture(&["qa", "list", "--limit", "many"]);
    assert_eq!(out.status.code(), Some(2), "not an integer: a usage error");
}

#[test]
fn failures_outside_tools_carry_a_code_a_hint_and_their_exit_status() {
    let s = Sandbox::new();
    for (args, code, status) in [
        (vec!["--eval-memory", "5", "qa", "list"], "cli-bad-flag", 2),
        (
            vec!["tools", "--toolsets", "qq"],
            "cli-unknown-selection",
            2,
        ),
        (vec!["call", "x", "{"], "cli-bad-arguments", 2),
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(status), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("error[{code}]: ")), "{args:?}: {err}");
        assert!(err.contains("\n  hint: "), "{args:?}: {err}");
    }
    let tokens = s.cwd().join("tokens");
    std::fs::write(&tokens, "").unwrap();
    let out = s.run(&["serve", "--http", "0", "--token-file", path_str(&tokens)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[token-file-empty]: "),
        "{}",
        stderr(&out)
    );
}

/// The commands of the README's CLI section: each line's command words
/// (alternatives after ` | ` share the line's group) with the flags that
/// line names.
fn readme_commands() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(crate::util::repo().join("README.md")).unwrap();
    let section = &readme[readme.find("## The CLI").expect("a CLI section")..];
    let block = &section[section.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    let mut commands = Vec::new();
    let mut last: Option<usize> = None;
    for line in block.lines() {
        let line = line.split(" #").next().unwrap();
        let Some(rest) = line.strip_prefix("ontoref ") else {
            // A continuation line: its flags belong to the command above.
            if let Some(i) = last {
                let flags = flags_in(line);
                let entry: &mut (Vec<String>, Vec<String>) = &mut commands[i];
                entry.1.extend(flags);
            }
            continue;
        };
        let mut group: Vec<String> = Vec::new();
        for (n, alt) in rest.split(" | ").enumerate() {
            let words: Vec<String> = alt
                .split_whitespace()
                .take_while(|w| {
                    w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
                })
                .map(str::to_owned)
                .collect();
            let full = if n == 0 {
                group = words[..words.len().saturating_sub(1)].to_vec();
                words
            } else if words.len() == 1 && !group.is_empty() {
                [group.clone(), words].concat()
            } else {
                words
            };
            commands.push((full, flags_in(alt)));
            last = Some(commands.len() - 1);
        }
    }
    commands
}

fn flags_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches("...").to_owned())
        .collect()
}

#[test]
fn every_command_and_flag_of_the_readme_cli_section_exists() {
    let s = Sandbox::new();
    let commands = readme_commands();
    assert!(commands.len() >= 25, "{commands:?}");
    for expected in [
        &["qa", "search"][..],
        &["mode", "resolve"],
        &["secrets", "audit"],
        &["call"],
        &["projects"],
    ] {
        assert!(
            commands.iter().any(|(w, _)| w == expected),
            "{expected:?} not found in {commands:?}"
        );
    }
    for (words, flags) in commands {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let out = s.run(&args);
        assert!(
            out.status.success(),
            "ontoref {}: {}",
            words.join(" "),
            stderr(&out)
        );
        let help = stdout(&out);
        for flag in flags {
            assert!(
                help.contains(&flag),
                "ontoref {} --help lacks {flag}",
                words.join(" ")
            );
        }
    }
}

#[test]
fn src_spells_no_tool_name() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&crate::util::repo().join("src"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    let names = crate::util::catalog_names();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("\"ontoref_"),
            "{} spells a tool name",
            file.display()
        );
        for name in &names {
            assert!(
                !text.contains(name.as_str()),
                "{} names {name}",
                file.display()
            );
        }
    }
}
