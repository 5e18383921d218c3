//! The whole `tools/list` answer is kept in `tests/snapshots/tools_list.json`.
//! Any change of a tool's name, description, annotations or schema fails
//! here until the snapshot is deliberately updated with
//! `ONTOREF_UPDATE_SNAPSHOTS=1`. A mismatch writes `tools_list.actual.json`
//! beside it for a diff; a missing snapshot fails under CI.

use serde_json::json;

use crate::util::{Sandbox, Session, assert_snapshot, fixture, path_str};

#[test]
fn tools_list_matches_the_snapshot() {
    let s = Sandbox::new();
    let mut session = Session::start(&s, &["--project", path_str(&fixture())], &[]);
    session.initialize();
    let r = session.request("tools/list", json!({}));
    let actual = r["result"].clone();
    assert_snapshot("tools_list", "tools/list", &actual);
}
