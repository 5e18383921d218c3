//! The whole `tools/list` answer is kept in `tests/snapshots/tools_list.json`.
//! Any change of a tool's name, description, annotations or schema fails
//! here until the snapshot is deliberately updated with
//! `ONTOREF_UPDATE_SNAPSHOTS=1`. A mismatch writes `tools_list.actual.json`
//! beside it for a diff; a missing snapshot fails under CI.

use serde_json::{Value, json};

use crate::util::{Sandbox, Session, fixture, path_str, repo};

#[test]
fn tools_list_matches_the_snapshot() {
    let s = Sandbox::new();
    let mut session = Session::start(&s, &["--project", path_str(&fixture())], &[]);
    session.initialize();
    let r = session.request("tools/list", json!({}));
    let actual = r["result"].clone();
    let path = repo().join("tests/snapshots/tools_list.json");
    let actual_path = path.with_file_name("tools_list.actual.json");
    let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
    let update = std::env::var_os("ONTOREF_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(_) if update => std::fs::write(&path, pretty).unwrap(),
        Ok(text) => {
            let expected: Value = serde_json::from_str(&text).unwrap();
            if expected != actual {
                std::fs::write(&actual_path, pretty).unwrap();
                panic!(
                    "tools/list changed; compare {} with {}. If the change is deliberate, rerun with ONTOREF_UPDATE_SNAPSHOTS=1",
                    path.display(),
                    actual_path.display()
                );
            }
            let _ = std::fs::remove_file(&actual_path);
        }
        Err(_) if std::env::var_os("CI").is_some() && !update => {
            panic!(
                "{} is missing; create it with ONTOREF_UPDATE_SNAPSHOTS=1 and commit it",
                path.display()
            )
        }
        Err(_) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, pretty).unwrap();
        }
    }
}
