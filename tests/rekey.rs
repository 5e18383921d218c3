//! `ontoref secrets rekey` on the demo vault, checked with Debian's `age`:
//! after a rule changes, the new recipient's key opens the rewrapped data key
//! (the same 32 bytes the old recipients opened), the removed recipient's
//! opens nothing, every encrypted value and the MAC are byte-identical, and
//! `secrets audit` passes; a master key that is not a recipient of a file
//! that must change is a named error that changes no file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{json_out, path_str, stderr, stdout};
use crate::vault::{Demo, error_code, public_key, sops_file};

const AGENT_RULE: &str = r#"groups = ["admin", "agent"]"#;
const TEAM_RULE: &str = r#"groups = ["admin", "developer"]"#;

/// Replaces `from` (which must be there) in the demo project's file `rel`.
fn edit(d: &Demo, rel: &str, from: &str, to: &str) {
    let path = d.project.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} lacks {from:?}:\n{text}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// A new identity made by Debian's age-keygen, with its public key.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.key"));
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("Debian's `age` package (age-keygen) must be installed: apt-get install age");
    assert!(out.status.success(), "{}", stderr(&out));
    let public = public_key(&path);
    (path, public)
}

/// Declares group `name` holding `key` in the demo's recipients.ncl.
fn add_group(d: &Demo, name: &str, key: &str) {
    edit(
        d,
        ".ontoref/recipients.ncl",
        "\n}",
        &format!("\n  {name} = [\"{key}\"],\n}}"),
    );
}

/// The `sops.age` stanzas of a sops file: (recipient, armored age file).
fn stanzas(text: &str) -> Vec<(String, String)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    doc["sops"]["age"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["recipient"].as_str().unwrap().to_owned(),
                s["enc"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What Debian's `age -d -i key` makes of an armored stanza: the bytes it
/// decrypts to, or `None` when the key does not open it.
fn age_open(dir: &Path, key: &Path, armored: &str) -> Option<Vec<u8>> {
    let file = tempfile::NamedTempFile::new_in(dir).unwrap();
    std::fs::write(file.path(), armored).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file.path())
        .output()
        .expect("Debian's `age` package must be installed: apt-get install age");
    out.status.success().then_some(out.stdout)
}

/// Every stanza's contents `key` opens.
fn opened(dir: &Path, key: &Path, text: &str) -> Vec<Vec<u8>> {
    stanzas(text)
        .iter()
        .filter_map(|(_, enc)| age_open(dir, key, enc))
        .collect()
}

/// The lines holding an encrypted value (the MAC's included).
fn enc_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains("ENC[")).collect()
}

/// Every file under the vault directory but the audit log's, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if !e.file_name().to_string_lossy().starts_with("audit.") {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The newest audit record.
fn last_record(d: &Demo) -> Value {
    let out = d.run(None, &["secrets", "audit-log", "--limit", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    json_out(&out)["records"][0].clone()
}

#[test]
fn rekey_rewraps_for_a_changed_rule_and_debian_age_agrees() {
    let d = Demo::new();
    let tmp = d.sb.dir.path();
    let reg = d.vault().join("src-vault/registry");
    let file = reg.join("agent-readonly.sops.yaml");
    let (admin, agent) = (d.key("admin"), d.key("agent"));
    // The admin's key is a recipient of every file: make it the master key.
    edit(
        &d,
        ".ontoref/project.ncl",
        "demo-agent.key",
        "demo-admin.key",
    );

    let before = std::fs::read_to_string(&file).unwrap();
    let data_key = opened(tmp, &admin, &before);
    assert_eq!(data_key.len(), 1, "the admin opens one stanza");
    let data_key = data_key[0].clone();
    assert_eq!(data_key.len(), 32);
    assert_eq!(opened(tmp, &agent, &before), vec![data_key.clone()]);
    let plain_before = d.run(
        None,
        &[
            "secrets",
            "decrypt",
            path_str(&file),
            "--identity",
            path_str(&admin),
        ],
    );
    assert!(plain_before.status.success(), "{}", stderr(&plain_before));
    let team_before = snapshot(&reg)
        .into_iter()
        .filter(|(p, _)| p != &file)
        .collect::<BTreeMap<_, _>>();

    // The agent's file now goes to the admins and a new auditor group, no
    // longer to the agents.
    let (auditor, auditor_pub) = keygen(tmp, "auditor");
    add_group(&d, "auditor", &auditor_pub);
    edit(
        &d,
        ".ontoref/project.ncl",
        AGENT_RULE,
        r#"groups = ["admin", "auditor"]"#,
    );
    let out = d.run(None, &["secrets", "rekey"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report = json_out(&out);
    let (admin_pub, agent_pub) = (public_key(&admin), public_key(&agent));
    assert_eq!(report["vault_id"], "agent-first");
    assert_eq!(report["changed"], 1, "{report}");
    assert_eq!(report["unrouted"], 0);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let f = &files[0];
    assert_eq!(f["path"], "src-vault/registry/agent-readonly.sops.yaml");
    assert_eq!(f["rule"], r"registry/agent-readonly\.sops\.yaml$");
    assert_eq!(f["changed"], true);
    assert_eq!(
        f["recipients_before"],
        serde_json::json!([admin_pub, agent_pub])
    );
    assert_eq!(
        f["recipients_after"],
        serde_json::json!([admin_pub, auditor_pub])
    );
    assert_eq!(f["added"], serde_json::json!([auditor_pub]));
    assert_eq!(f["removed"], serde_json::json!([agent_pub]));
    for team in &files[1..] {
        assert_eq!(team["changed"], false, "{team}");
        assert_eq!(team["added"], serde_json::json!([]));
    }
    assert!(
        report["sops_config"]
            .as_str()
            .unwrap()
            .ends_with(".sops.yaml")
    );

    // Debian's age: the new recipient opens the same data key, the removed one nothing.
    let after = std::fs::read_to_string(&file).unwrap();
    let recipients: Vec<String> = stanzas(&after).into_iter().map(|(r, _)| r).collect();
    assert_eq!(recipients, [admin_pub.clone(), auditor_pub.clone()]);
    assert_eq!(opened(tmp, &auditor, &after), vec![data_key.clone()]);
    assert_eq!(opened(tmp, &admin, &after), vec![data_key.clone()]);
    assert!(opened(tmp, &agent, &after).is_empty());
    // Values, MAC and lastmodified byte-identical; the file stays private.
    assert_eq!(enc_lines(&after), enc_lines(&before));
    assert_eq!(enc_lines(&after).len(), 3);
    let (old, new): (serde_yaml::Value, serde_yaml::Value) = (
        serde_yaml::from_str(&before).unwrap(),
        serde_yaml::from_str(&after).unwrap(),
    );
    for key in ["mac", "lastmodified", "unencrypted_suffix", "version"] {
        assert_eq!(old["sops"][key], new["sops"][key], "{key}");
    }
    for key in ["username", "password"] {
        assert_eq!(old[key], new[key], "{key}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The team's files were not touched, and no temporary file is left.
    let team_after = snapshot(&reg)
        .into_iter()
        .filter(|(p, _)| p != &file)
        .collect::<BTreeMap<_, _>>();
    assert_eq!(team_after, team_before);
    // The new key decrypts it to the same plaintext.
    let plain = d.run(
        None,
        &[
            "secrets",
            "decrypt",
            path_str(&file),
            "--identity",
            path_str(&auditor),
        ],
    );
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(plain.stdout, plain_before.stdout);
    let refused = d.run(
        None,
        &[
            "secrets",
            "decrypt",
            path_str(&file),
            "--identity",
            path_str(&agent),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));

    // The vault passes its audit, .sops.yaml follows the new rule, and the
    // rekey is in the verified log.
    let out = d.run(None, &["secrets", "audit"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(json_out(&out)["ok"], true);
    let config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(d.vault().join(".sops.yaml")).unwrap())
            .unwrap();
    assert_eq!(
        config["creation_rules"][0]["age"].as_str().unwrap(),
        format!("{admin_pub},{auditor_pub}")
    );
    let record = last_record(&d);
    assert_eq!(
        (record["op"].as_str(), record["outcome"].as_str()),
        (Some("rekey"), Some("ok"))
    );
    assert!(
        record["target"]
            .as_str()
            .unwrap()
            .contains("agent-readonly.sops.yaml"),
        "{record}"
    );
    assert!(record["mac"].is_string(), "keyed: {record}");
    let out = d.run(None, &["secrets", "audit-log", "--verify"]);
    assert!(out.status.success(), "{}", stdout(&out));

    // Again: nothing to do, nothing written; a person gets a table.
    let out = d.run(None, &["secrets", "rekey", "--fmt", "text"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("0 of 3 file(s) rewrapped"), "{text}");
    assert!(text.contains("unchanged"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);

    // A file no rule matches is reported and left as it is.
    let stray = d.vault().join("src-vault/other/stray.sops.yaml");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    let stray_text = sops_file(&[("username", "u"), ("password", "p")], &[agent_pub]);
    std::fs::write(&stray, &stray_text).unwrap();
    let out = d.run(None, &["secrets", "rekey"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(
        (report["changed"].as_u64(), report["unrouted"].as_u64()),
        (Some(0), Some(1))
    );
    let stray_row = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src-vault/other/stray.sops.yaml")
        .unwrap()
        .clone();
    assert_eq!(stray_row["rule"], Value::Null);
    assert_eq!(stray_row["changed"], false);
    assert_eq!(std::fs::read_to_string(&stray).unwrap(), stray_text);
}

#[test]
fn rekey_refuses_a_file_the_master_key_cannot_open_and_changes_nothing() {
    // The demo's master key is the agent's, a recipient of the agent's file
    // but not of the team's.
    let d = Demo::new();
    let (_, auditor_pub) = keygen(d.sb.dir.path(), "auditor");
    add_group(&d, "auditor", &auditor_pub);
    edit(
        &d,
        ".ontoref/project.ncl",
        AGENT_RULE,
        r#"groups = ["admin", "agent", "auditor"]"#,
    );
    edit(
        &d,
        ".ontoref/project.ncl",
        TEAM_RULE,
        r#"groups = ["admin", "developer", "auditor"]"#,
    );
    let before = snapshot(&d.vault());
    let sops_files = before
        .keys()
        .filter(|p| p.to_string_lossy().ends_with(".sops.yaml"))
        .count();
    assert_eq!(
        sops_files,
        4,
        "three credential files and .sops.yaml: {:?}",
        before.keys()
    );
    assert!(before.contains_key(&d.vault().join(".sops.yaml")));
    let out = d.run(None, &["secrets", "rekey"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(error_code(&out), "rekey-not-recipient");
    let err = json_out(&out)["error"].clone();
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("team-ro.sops.yaml"), "{message}");
    assert!(message.contains(&public_key(&d.key("agent"))), "{message}");
    assert!(!err["hint"].as_str().unwrap().is_empty());
    // The agent's file, which it could have rewrapped, is untouched too.
    assert_eq!(snapshot(&d.vault()), before);
    let record = last_record(&d);
    assert_eq!(
        (record["op"].as_str(), record["outcome"].as_str()),
        (Some("rekey"), Some("rekey-not-recipient"))
    );
    // At a terminal the code and hint go to stderr.
    let out = d.run(None, &["secrets", "rekey", "--fmt", "text"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[rekey-not-recipient]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&d.vault()), before);
}
