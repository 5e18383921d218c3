//! Live updates over stdio, as raw JSON-RPC: the capabilities declared, a
//! legacy subscription hearing of an external edit and of a write by
//! another process, the list changing when an id appears, and the watched
//! server not `stat`ing a knowledge file per call (seen by `strace`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Sandbox, Session, fixture, json_out, path_str};

/// A writable copy of the fixture project.
fn project(s: &Sandbox) -> PathBuf {
    let root = s.dir.path().join("project");
    std::fs::create_dir_all(root.join("reflection")).unwrap();
    for name in ["qa.ncl", "common.ncl"] {
        std::fs::copy(
            fixture().join("reflection").join(name),
            root.join("reflection").join(name),
        )
        .unwrap();
    }
    root
}

fn first_qa_id(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("reflection/qa.ncl")).unwrap();
    let at = text.find("id = \"").expect("an id in qa.ncl") + 6;
    text[at..text[at..].find('"').unwrap() + at].to_owned()
}

/// Rewrites the first `from` in qa.ncl as an editor would (write in place).
fn edit_qa(root: &Path, from: &str, to: &str) {
    let path = root.join("reflection/qa.ncl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{from}` is not in qa.ncl");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Messages until one with `method` arrives, within `within`.
fn wait_for(session: &mut Session, method: &str, within: Duration) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < within, "no {method} within {within:?}");
        let m = session.next_message();
        if m["method"] == method {
            return (m, started.elapsed());
        }
    }
}

#[test]
fn a_subscribed_session_hears_of_edits_writes_and_new_ids() {
    let s = Sandbox::new();
    let root = project(&s);
    let mut session = Session::start(&s, &["--project", path_str(&root)], &[]);
    let init = session.initialize();
    let resources = &init["result"]["capabilities"]["resources"];
    assert_eq!(resources["subscribe"], json!(true), "{init}");
    assert_eq!(resources["listChanged"], json!(true), "{init}");

    // A client that listed the resources hears when the list changes.
    let listed = session.request("resources/list", json!({}));
    assert!(
        listed["result"]["resources"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{listed}"
    );
    let id = first_qa_id(&root);
    let uri = format!("ontoref://qa/{id}");
    let r = session.request("resources/subscribe", json!({"uri": uri}));
    assert_eq!(r["result"], json!({}), "{r}");
    let r = session.request(
        "resources/subscribe",
        json!({"uri": "ontoref://qa/learned-later"}),
    );
    assert_eq!(r["result"], json!({}), "{r}");
    // A URI no template serves is refused, naming the templates.
    let r = session.request("resources/subscribe", json!({"uri": "ontoref://nope/x"}));
    assert_eq!(r["error"]["code"], json!(-32602), "{r}");
    assert!(r["error"]["data"]["templates"].is_array(), "{r}");

    // An external edit of the subscribed entry.
    let before = session.request("resources/read", json!({"uri": uri}));
    let text = before["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let question_at = std::fs::read_to_string(root.join("reflection/qa.ncl")).unwrap();
    let q = question_at.find("question = \"").unwrap() + 12;
    let first_word: String = question_at[q..]
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    assert!(!first_word.is_empty());
    edit_qa(
        &root,
        &format!("question = \"{first_word}"),
        "question = \"Edited: ",
    );
    let (m, _) = wait_for(
        &mut session,
        "notifications/resources/updated",
        Duration::from_secs(1),
    );
    assert_eq!(m["params"]["uri"], json!(uri), "{m}");
    let after = session.request("resources/read", json!({"uri": uri}));
    let now = after["result"]["contents"][0]["text"].as_str().unwrap();
    assert_ne!(now, text);
    assert!(now.contains("Edited: "), "{now}");

    // Another process (the CLI) adds the entry subscribed to before it existed.
    let out = s
        .cmd()
        .args(["--project", path_str(&root), "--fmt", "json", "qa", "add"])
        .args([
            "--id",
            "learned-later",
            "--question",
            "Learned?",
            "--answer",
            "Yes.",
        ])
        .output()
        .unwrap();
    let added = json_out(&out);
    assert_eq!(added["id"], json!("learned-later"), "{added}");
    let mut heard = (false, false);
    let started = Instant::now();
    while !(heard.0 && heard.1) {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "heard {heard:?} within 1 s"
        );
        let m = session.next_message();
        match m["method"].as_str() {
            Some("notifications/resources/updated") => {
                assert_eq!(
                    m["params"]["uri"],
                    json!("ontoref://qa/learned-later"),
                    "{m}"
                );
                heard.0 = true;
            }
            Some("notifications/resources/list_changed") => heard.1 = true,
            _ => {}
        }
    }

    // Unsubscribed: an edit of that entry is no longer heard (the listing
    // is unchanged, so nothing at all is sent).
    let r = session.request("resources/unsubscribe", json!({"uri": uri}));
    assert_eq!(r["result"], json!({}), "{r}");
    let mark = session.stdout_lines.len();
    edit_qa(&root, "Edited: ", "Edited again: ");
    let probe = session.request("resources/read", json!({"uri": uri}));
    assert!(
        probe["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Edited again")
    );
    std::thread::sleep(Duration::from_millis(300));
    let (_, lines) = session.finish();
    let late: Vec<&String> = lines[mark..]
        .iter()
        .filter(|l| l.contains("notifications/resources/updated"))
        .collect();
    assert!(
        late.is_empty(),
        "an unsubscribed URI was notified: {late:?}"
    );
}

#[test]
fn a_cli_read_only_server_without_resources_declares_no_subscriptions() {
    let s = Sandbox::new();
    let root = project(&s);
    // No toolset with resources served: nothing to subscribe to.
    let mut session = Session::start(
        &s,
        &["--project", path_str(&root), "--toolsets", "vault"],
        &[],
    );
    let init = session.initialize();
    let resources = &init["result"]["capabilities"]["resources"];
    assert!(resources.get("subscribe").is_none(), "{init}");
    let r = session.request("resources/subscribe", json!({"uri": "ontoref://qa/x"}));
    assert_eq!(r["error"]["code"], json!(-32601), "{r}");
}

/// How many stat-family calls of the traced `serve` named `qa.ncl`, after
/// `calls` reads of a Q&A resource.
fn stats_of_qa(s: &Sandbox, root: &Path, calls: usize) -> usize {
    let trace = s.dir.path().join(format!("strace-{calls}.out"));
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=stat,lstat,newfstatat,statx,fstatat64",
        "-o",
    ])
    .arg(&trace)
    .arg(crate::util::bin())
    .current_dir(s.cwd())
    .env("ONTOREF_CACHE_DIR", s.cache())
    .env_remove("ONTOREF_ACTOR")
    .env_remove("ONTOREF_PROJECT_ROOT")
    .env_remove("RUST_LOG");
    let mut session = Session::start_with(cmd, &["--project", path_str(root)], &[]);
    session.initialize();
    let uri = format!("ontoref://qa/{}", first_qa_id(root));
    for _ in 0..calls {
        let r = session.request("resources/read", json!({"uri": uri}));
        assert!(r["result"]["contents"].is_array(), "{r}");
    }
    session.finish();
    std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("qa.ncl\""))
        .count()
}

#[test]
fn a_watched_server_does_not_stat_knowledge_files_per_call() {
    let s = Sandbox::new();
    let root = project(&s);
    let few = stats_of_qa(&s, &root, 5);
    let many = stats_of_qa(&s, &root, 45);
    // The first load stats the file a few times; further calls add none
    // (without the watch every call stats it: 40 more).
    assert!(few > 0, "strace saw no stat of qa.ncl at all");
    assert!(many <= few + 2, "{few} stats for 5 reads, {many} for 45");
}
