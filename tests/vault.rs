//! The vault through the built binary: `ontoref setup vault-demo`, the
//! `secrets` commands (fetch with its detached reaper, exec, decrypt with
//! keys and files made by Debian's `age` and the real sops tool,
//! gen-sops-config, audit, audit-log --verify), the stdio server removing
//! its credential directories on exit and on SIGTERM, and a full session at
//! trace level that must never print a planted password.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ontoref_tools::vault::sops::{EncryptOptions, Rule, encrypt};
use serde_json::{Value, json};

use crate::util::{Sandbox, Session, json_out, path_str, stderr, stdout};

pub(crate) const TARGET: &str = "domains/agent-first/contracts:1.0";
/// The planted password: `"` and `\` test every escaping on its way out.
pub(crate) const PLANTED: &str = "PLANTED-pw-5e0c\"2b7d\\91a4";
/// Found in every rendering of [`PLANTED`] (raw, JSON, Debug) but base64.
pub(crate) const PLANTED_MARK: &str = "PLANTED-pw-5e0c";

/// A sandbox with the demo vault built in a private config home.
pub(crate) struct Demo {
    pub(crate) sb: Sandbox,
    pub(crate) project: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) run: PathBuf,
    report: Value,
}

impl Demo {
    pub(crate) fn new() -> Demo {
        let sb = Sandbox::new();
        let home = sb.dir.path().join("home");
        let run = sb.dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let project = sb.dir.path().join("demo");
        let mut d = Demo {
            sb,
            project,
            home,
            run,
            report: Value::Null,
        };
        let out = d
            .cmd()
            .args(["setup", "vault-demo", "--dir"])
            .arg(&d.project)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        d.report = json_out(&out);
        d
    }

    /// `ontoref` with the demo's config home and runtime dir.
    pub(crate) fn cmd(&self) -> Command {
        let mut c = self.sb.cmd();
        c.env("ONTOREF_CONFIG_HOME", &self.home)
            .env("ONTOREF_RUNTIME_DIR", &self.run);
        c
    }

    /// `ontoref --project <demo> ARGS` as `actor`.
    pub(crate) fn run(&self, actor: Option<&str>, args: &[&str]) -> Output {
        let mut c = self.cmd();
        c.arg("--project").arg(&self.project);
        if let Some(a) = actor {
            c.env("ONTOREF_ACTOR", a);
        }
        c.args(args).output().unwrap()
    }

    pub(crate) fn vault(&self) -> PathBuf {
        PathBuf::from(self.report["vault_dir"].as_str().unwrap())
    }

    pub(crate) fn key(&self, group: &str) -> PathBuf {
        PathBuf::from(self.report["keys"][group].as_str().unwrap())
    }

    /// Re-encrypts the agent's credential file with a known password.
    pub(crate) fn plant(&self) {
        let keys = ["admin", "agent"].map(|g| public_key(&self.key(g)));
        std::fs::write(
            self.vault()
                .join("src-vault/registry/agent-readonly.sops.yaml"),
            sops_file(&[("username", "robot-agent"), ("password", PLANTED)], &keys),
        )
        .unwrap();
    }
}

/// The `age1…` public key an age-keygen style identity file announces.
pub(crate) fn public_key(key_file: &Path) -> String {
    std::fs::read_to_string(key_file)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap()
}

/// A sops file holding `fields`, encrypted to `keys` by ontoref's encryptor.
pub(crate) fn sops_file(fields: &[(&str, &str)], keys: &[String]) -> String {
    let recipients: Vec<age::x25519::Recipient> = keys.iter().map(|k| k.parse().unwrap()).collect();
    let mut m = serde_yaml::Mapping::new();
    for (k, v) in fields {
        m.insert((*k).into(), (*v).into());
    }
    encrypt(
        &serde_yaml::Value::Mapping(m),
        &recipients,
        &EncryptOptions {
            rule: Rule::default(),
            mac_only_encrypted: false,
            lastmodified: "2026-11-21T10:00:00Z".into(),
        },
    )
    .unwrap()
}

pub(crate) fn error_code(out: &Output) -> String {
    json_out(out)["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn wait_gone(dir: &Path, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if !dir.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !dir.exists()
}

#[test]
fn demo_vault_fetch_end_to_end_with_a_detached_reaper() {
    let d = Demo::new();
    let out = d.run(
        Some("agent-bot"),
        &["--credential-ttl", "2", "secrets", "fetch", TARGET],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let got = json_out(&out);
    assert_eq!(got["role"], "agent");
    assert!(got.get("password").is_none());
    let dir = PathBuf::from(got["docker_config_dir"].as_str().unwrap());
    assert!(dir.join("config.json").is_file());
    // The CLI has exited; its reaper removes the directory at expiry.
    assert!(
        wait_gone(&dir, Duration::from_secs(10)),
        "{} outlived its ttl",
        dir.display()
    );

    // Refusals are named errors with exit 1, `--op delete` included (not a usage error).
    for (actor, args, code) in [
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--op", "push"],
            "op-not-in-scope",
        ),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--op", "delete"],
            "invalid-op",
        ),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", "modes/else/x"],
            "target-not-in-scope",
        ),
        (None, vec!["secrets", "fetch", TARGET], "actor-not-bound"),
        // The team's files are not encrypted to this machine's (the agent's) key.
        (
            Some("dev-alice"),
            vec!["secrets", "fetch", TARGET, "--registry-id", "team"],
            "sops-decrypt-failed",
        ),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--reveal"],
            "reveal-not-allowed",
        ),
    ] {
        let out = d.run(actor, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(error_code(&out), code, "{args:?}");
    }
    assert_eq!(std::fs::read_dir(&d.run).unwrap().count(), 0);

    // Every attempt is in the log, newest first, and the chain verifies.
    let out = d.run(None, &["secrets", "audit-log", "--verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let log = json_out(&out);
    assert_eq!(log["total"], 7);
    assert_eq!(log["verification"]["ok"], true);
    let outcomes: Vec<&str> = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "reveal-not-allowed",
            "sops-decrypt-failed",
            "actor-not-bound",
            "target-not-in-scope",
            "invalid-op",
            "op-not-in-scope",
            "ok"
        ]
    );
    let page = json_out(&d.run(None, &["secrets", "audit-log", "--limit", "2"]));
    assert_eq!(page["records"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json_out(&d.run(
        None,
        &["secrets", "audit-log", "--limit", "2", "--cursor", cursor],
    ));
    assert_eq!(next["records"][0]["outcome"], "actor-not-bound");

    // Every line is keyed, refusals included.
    assert_eq!(log["verification"]["keyed"], "yes");
    assert_eq!(log["verification"]["macs_ok"], 7);

    // An edited record fails its MAC: --verify exits 1 and names the line.
    let path = d.vault().join("audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("op-not-in-scope", "ok", 1)).unwrap();
    let out = d.run(None, &["secrets", "audit-log", "--verify"]);
    assert_eq!(out.status.code(), Some(1));
    let broken = &json_out(&out)["verification"]["first_break"];
    assert_eq!(
        (broken["line"].as_u64(), broken["problem"].as_str()),
        (Some(2), Some("mac-mismatch"))
    );
}

/// `secrets audit-log --verify`: its exit code and verification.
fn verify_log(d: &Demo) -> (Option<i32>, Value) {
    let out = d.run(None, &["secrets", "audit-log", "--verify", "--limit", "1"]);
    (out.status.code(), json_out(&out)["verification"].clone())
}

fn problem(v: &Value) -> (&str, u64) {
    (
        v["first_break"]["problem"].as_str().unwrap_or("(none)"),
        v["first_break"]["line"].as_u64().unwrap_or(0),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_log(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Four attempts on the demo vault: allowed, refused, refused, allowed.
fn four_attempts(d: &Demo) {
    for (actor, args) in [
        (Some("agent-bot"), vec!["secrets", "fetch", TARGET]),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--op", "push"],
        ),
        (Some("mallory"), vec!["secrets", "fetch", TARGET]),
        (Some("agent-bot"), vec!["secrets", "fetch", TARGET]),
    ] {
        d.run(actor, &args);
    }
}

#[test]
fn audit_log_forgery_truncation_deletion_and_edits_are_detected() {
    let d = Demo::new();
    four_attempts(&d);
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (
            &v["ok"],
            &v["keyed"],
            &v["lines"],
            &v["macs_ok"],
            &v["head"]
        ),
        (
            &json!(true),
            &json!("yes"),
            &json!(4),
            &json!(4),
            &json!("ok")
        )
    );
    let path = d.vault().join("audit.jsonl");
    assert!(d.vault().join("audit.head").is_file());
    let lines = log_lines(&path);

    // A forged line appended with the right `prev` (the hash of the last
    // line), as the chain alone accepted: its MAC cannot be made without the key.
    let last: Value = serde_json::from_str(&lines[3]).unwrap();
    let forged = lines[3]
        .replacen("\"actor\":\"agent-bot\"", "\"actor\":\"mallory\"", 1)
        .replacen(
            last["prev"].as_str().unwrap(),
            &sha256_hex(lines[3].as_bytes()),
            1,
        );
    let mut with_forged = lines.clone();
    with_forged.push(forged.clone());
    write_log(&path, &with_forged);
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        (problem(&v), &v["forged"]),
        (("mac-mismatch", 5), &json!(5))
    );
    // Appended without a MAC, it is an unkeyed line after keyed ones.
    let mac_at = forged.rfind(",\"mac\":").unwrap();
    with_forged[4] = format!("{},\"mac\":null}}", &forged[..mac_at]);
    write_log(&path, &with_forged);
    let (code, v) = verify_log(&d);
    assert_eq!((code, problem(&v)), (Some(1), ("unkeyed-line", 5)), "{v}");
    assert_eq!(v["keyed"], "partly");

    // Dropping the last line: the head counts one more.
    write_log(&path, &lines[..3]);
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        (problem(&v), &v["truncated"]),
        (("truncated", 4), &json!(1))
    );
    assert_eq!(v["head"], "ahead");

    // Deleting the log while the head remains.
    std::fs::remove_file(&path).unwrap();
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        (problem(&v), &v["deleted"], &v["truncated"]),
        (("log-deleted", 1), &json!(true), &json!(4))
    );

    // Editing a middle line.
    let mut edited = lines.clone();
    edited[1] = edited[1].replacen("op-not-in-scope", "ok", 1);
    write_log(&path, &edited);
    let (code, v) = verify_log(&d);
    assert_eq!((code, problem(&v)), (Some(1), ("mac-mismatch", 2)), "{v}");

    // Put back as it was, the log verifies again.
    write_log(&path, &lines);
    assert_eq!(verify_log(&d).0, Some(0));
}

#[test]
fn an_old_unkeyed_log_is_reported_unkeyed_and_still_verified_as_a_chain() {
    let d = Demo::new();
    let path = d.vault().join("audit.jsonl");
    // The format before keys: no `mac`, no head.
    let mut prev = "0".repeat(64);
    let mut lines = Vec::new();
    for (actor, outcome) in [
        ("agent-bot", "ok"),
        ("mallory", "actor-not-bound"),
        ("agent-bot", "ok"),
    ] {
        let line = format!(
            r#"{{"ts":"2026-11-20T10:00:00.000Z","actor":"{actor}","role":null,"op":"pull","target":"{TARGET}","registry_id":null,"outcome":"{outcome}","reveal":false,"prev":"{prev}"}}"#
        );
        prev = sha256_hex(line.as_bytes());
        lines.push(line);
    }
    write_log(&path, &lines);
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (&v["keyed"], &v["unkeyed"], &v["head"], &v["lines"]),
        (&json!("no"), &json!(3), &json!("none"), &json!(3))
    );
    // Its chain is still checked.
    let mut broken = lines.clone();
    broken[1] = broken[1].replacen("actor-not-bound", "ok", 1);
    write_log(&path, &broken);
    let (code, v) = verify_log(&d);
    assert_eq!((code, problem(&v)), (Some(1), ("prev-mismatch", 3)), "{v}");
    write_log(&path, &lines);
    // The next attempt continues the chain with a keyed line and starts a head.
    d.run(
        Some("agent-bot"),
        &["secrets", "fetch", TARGET, "--op", "push"],
    );
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (
            &v["keyed"],
            &v["unkeyed"],
            &v["macs_ok"],
            &v["head"],
            &v["lines"]
        ),
        (
            &json!("partly"),
            &json!(3),
            &json!(1),
            &json!("ok"),
            &json!(4)
        )
    );
    let now = log_lines(&path);
    let fourth: Value = serde_json::from_str(&now[3]).unwrap();
    assert_eq!(fourth["prev"], json!(prev));
}

#[test]
fn rotation_keeps_the_chain_across_segments_and_verify_walks_them() {
    let d = Demo::new();
    // A long target makes each line ~520 bytes: seven per 4 KiB segment.
    let long = format!("modes/else/{}:1.0", "x".repeat(200));
    let attempts = 17;
    for _ in 0..attempts {
        let out = d
            .cmd()
            .env("ONTOREF_AUDIT_SEGMENT_BYTES", "4096")
            .env("ONTOREF_ACTOR", "agent-bot")
            .arg("--project")
            .arg(&d.project)
            .args(["secrets", "fetch", &long])
            .output()
            .unwrap();
        assert_eq!(error_code(&out), "target-not-in-scope");
    }
    let vault = d.vault();
    let one = vault.join("audit.1.jsonl");
    let two = vault.join("audit.2.jsonl");
    assert!(one.is_file() && two.is_file(), "no rotation");
    for seg in [&one, &two, &vault.join("audit.jsonl")] {
        assert!(std::fs::metadata(seg).unwrap().len() <= 4096);
    }
    // The chain runs on from one segment into the next.
    let first_of_two: Value = serde_json::from_str(&log_lines(&two)[0]).unwrap();
    let last_of_one = log_lines(&one).pop().unwrap();
    assert_eq!(
        first_of_two["prev"],
        json!(sha256_hex(last_of_one.as_bytes()))
    );
    // The listing and --verify walk every segment.
    let listed = json_out(&d.run(None, &["secrets", "audit-log", "--limit", "500"]));
    assert_eq!(listed["total"], attempts);
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (&v["lines"], &v["macs_ok"], &v["head"]),
        (&json!(attempts), &json!(attempts), &json!("ok"))
    );
    assert!(v["segments"].as_u64().unwrap() >= 3, "{v}");
    // A segment removed from the middle is found.
    std::fs::remove_file(&two).unwrap();
    let (code, v) = verify_log(&d);
    assert_eq!((code, problem(&v).0), (Some(1), "segment-missing"), "{v}");
}

#[test]
fn concurrent_processes_keep_one_keyed_chain_and_head() {
    let d = Demo::new();
    // Four shells, each running five refused fetches one after another.
    let (procs, each) = (4, 5);
    let children: Vec<_> = (0..procs)
        .map(|_| {
            let mut script = String::new();
            for _ in 0..each {
                script.push_str(&format!(
                    "{} --project {} secrets fetch {TARGET} --op push >/dev/null\n",
                    crate::util::bin(),
                    path_str(&d.project)
                ));
            }
            let mut c = Command::new("sh");
            c.args(["-c", &script])
                .env("ONTOREF_CONFIG_HOME", &d.home)
                .env("ONTOREF_RUNTIME_DIR", &d.run)
                .env("ONTOREF_ACTOR", "agent-bot")
                .env("ONTOREF_CACHE_DIR", d.sb.cache());
            c.spawn().unwrap()
        })
        .collect();
    for mut c in children {
        c.wait().unwrap();
    }
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (&v["lines"], &v["macs_ok"], &v["head"]),
        (&json!(procs * each), &json!(procs * each), &json!("ok"))
    );
}

#[test]
fn a_1mib_target_yields_a_bounded_line_carrying_its_sha256() {
    let d = Demo::new();
    let target = format!("modes/else/{}:1.0", "y".repeat(1 << 20));
    let mut s = start(&d, "agent-bot", "warn");
    s.initialize();
    let r = fetch_over_stdio(&mut s, &target);
    assert_eq!(r["result"]["isError"], true, "refused");
    s.finish();
    let path = d.vault().join("audit.jsonl");
    let line = log_lines(&path).pop().unwrap();
    assert!(line.len() < 4096, "{} bytes", line.len());
    let rec: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(rec["target_sha256"], json!(sha256_hex(target.as_bytes())));
    assert_eq!(rec["target"].as_str().unwrap().chars().count(), 256);
    assert!(target.starts_with(rec["target"].as_str().unwrap()));
    assert_eq!(rec["cut"], json!(["target"]));
    assert_eq!(rec["outcome"], "target-not-in-scope");
    assert_eq!(verify_log(&d).0, Some(0));
}

/// Appends are written, not fdatasync'd, unless `ONTOREF_AUDIT_FSYNC=1`
/// asks for durability, which syncs the line and then the head (seen by
/// `strace`, which prints the path behind each synced descriptor).
#[test]
fn audit_appends_are_fdatasynced_only_when_asked() {
    let d = Demo::new();
    let synced = |fsync: Option<&str>| -> Vec<String> {
        let trace = d.run.join("strace.out");
        let inner = d.cmd();
        let mut c = Command::new("strace");
        // `-f` follows the detached reaper too, so the credential lives 1 s.
        c.args(["-f", "-qq", "-y", "-e", "trace=fdatasync,fsync", "-o"])
            .arg(&trace)
            .arg(inner.get_program())
            .args(inner.get_args())
            .arg("--project")
            .arg(&d.project)
            .args(["--credential-ttl", "1", "secrets", "fetch", TARGET]);
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.env("ONTOREF_ACTOR", "agent-bot")
            .env_remove("ONTOREF_AUDIT_FSYNC");
        if let Some(v) = fsync {
            c.env("ONTOREF_AUDIT_FSYNC", v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
        let text = std::fs::read_to_string(&trace).unwrap();
        text.lines()
            .filter(|l| l.contains("sync(") && l.contains("audit"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(synced(None), Vec::<String>::new());
    let lines_before = log_lines(&d.vault().join("audit.jsonl")).len();
    let on = synced(Some("1"));
    assert_eq!(on.len(), 2, "{on:?}");
    assert!(on[0].contains("audit.jsonl>"), "the line first: {on:?}");
    assert!(on[1].contains("audit.head.tmp>"), "then the head: {on:?}");
    assert_eq!(
        log_lines(&d.vault().join("audit.jsonl")).len(),
        lines_before + 1
    );
    assert_eq!(verify_log(&d).0, Some(0));
}

#[test]
fn secrets_status_shows_the_audit_state() {
    let d = Demo::new();
    four_attempts(&d);
    let status = json_out(&d.run(Some("agent-bot"), &["secrets", "status"]));
    let audit = &status["audit_log"];
    assert_eq!(
        (
            &audit["ok"],
            &audit["keyed"],
            &audit["lines"],
            &audit["macs_ok"],
            &audit["head"]
        ),
        (
            &json!(true),
            &json!("yes"),
            &json!(4),
            &json!(4),
            &json!("ok")
        ),
        "{status}"
    );
    // A truncated log shows there.
    let path = d.vault().join("audit.jsonl");
    let lines = log_lines(&path);
    write_log(&path, &lines[..2]);
    let status = json_out(&d.run(None, &["secrets", "status"]));
    assert_eq!(
        (
            &status["audit_log"]["ok"],
            &status["audit_log"]["truncated"]
        ),
        (&json!(false), &json!(2))
    );
    write_log(&path, &lines);
    // Without the master key the log cannot be vouched for.
    let project_ncl = d.project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&project_ncl).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("master_key_path"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&project_ncl, without).unwrap();
    let status = json_out(&d.run(None, &["secrets", "status"]));
    let audit = &status["audit_log"];
    assert_eq!(
        (&audit["ok"], &audit["keyed"], &audit["head"]),
        (&json!(false), &json!("unknown"), &json!("unchecked")),
        "{status}"
    );
    assert_eq!(problem(audit).0, "key-unavailable");
    let (code, v) = verify_log(&d);
    assert_eq!((code, problem(&v).0), (Some(1), "key-unavailable"), "{v}");
    // An attempt made meanwhile is still recorded, unkeyed.
    d.run(Some("agent-bot"), &["secrets", "fetch", TARGET]);
    std::fs::write(&project_ncl, text).unwrap();
    let (code, v) = verify_log(&d);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        (problem(&v), &v["unkeyed"]),
        (("unkeyed-line", 5), &json!(1))
    );
}

#[test]
fn demo_vault_passes_its_audit_and_describes_itself() {
    let d = Demo::new();
    let out = d.run(None, &["secrets", "audit"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let report = json_out(&out);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "min-two-recipients",
            "recipient-routing-coherent",
            "recipient-routing-coverage",
            "no-multi-vault"
        ]
    );

    let status = json_out(&d.run(Some("agent-bot"), &["secrets", "status"]));
    assert_eq!(status["master_key"]["source"], "project", "{status}");
    assert_eq!(status["master_key"]["readable"], true);
    assert_eq!(status["master_key"]["path"], d.report["master_key"]);
    assert_eq!(
        status["master_key"]["recipients"],
        json!([public_key(&d.key("agent"))])
    );
    assert_eq!(
        (
            status["scopes"].as_u64(),
            status["credential_files"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        (status["synced"].as_bool(), status["role"].as_str()),
        (Some(true), Some("agent"))
    );
    // Without the project's key setting, the config home's applies.
    let project_ncl = d.project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&project_ncl).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("master_key_path"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&project_ncl, without).unwrap();
    let status = json_out(&d.run(None, &["secrets", "status"]));
    assert_eq!(status["master_key"]["source"], "none", "{status}");
    std::fs::write(
        d.home.join("config.ncl"),
        format!(
            "{{ vault = {{ master_key_path = \"{}\" }} }}",
            path_str(&d.key("agent"))
        ),
    )
    .unwrap();
    let status = json_out(&d.run(None, &["secrets", "status"]));
    assert_eq!(status["master_key"]["source"], "global", "{status}");
    assert_eq!(status["master_key"]["readable"], true);
    std::fs::write(&project_ncl, text).unwrap();

    let inv = json_out(&d.run(None, &["secrets", "describe"]));
    assert_eq!(inv["total_files"], 3);
    let file = &inv["files"][0];
    assert_eq!(file["path"], "src-vault/registry/agent-readonly.sops.yaml");
    assert_eq!(file["groups"], json!(["admin", "agent"]));
    let scopes = inv["scopes"].as_array().unwrap();
    let agent = scopes.iter().find(|s| s["role"] == "agent").unwrap();
    assert_eq!(agent["access"], "RO");
    assert_eq!(agent["ops"], json!(["pull"]));
    assert_eq!(
        agent["namespaces"],
        json!(["domains/agent-first/**", "modes/agent-first/**"])
    );
    let page = json_out(&d.run(None, &["secrets", "describe", "--limit", "1"]));
    assert_eq!(page["files"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());

    // A file encrypted to one key only, and one routed to the wrong groups.
    let reg = d.vault().join("src-vault/registry");
    let agent_only = sops_file(
        &[("username", "u"), ("password", "p")],
        &[public_key(&d.key("agent"))],
    );
    std::fs::write(reg.join("team-ro.sops.yaml"), agent_only).unwrap();
    let out = d.run(None, &["secrets", "audit"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_out(&out);
    let check = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(check("min-two-recipients")["ok"], false);
    assert!(
        check("min-two-recipients")["detail"]
            .as_str()
            .unwrap()
            .contains("team-ro")
    );
    assert_eq!(check("recipient-routing-coverage")["ok"], false);
    assert_eq!(check("recipient-routing-coherent")["ok"], true);
    // A second vault for the same project is flagged.
    std::fs::create_dir_all(d.home.join("vaults/agent-first-clienta")).unwrap();
    let report = json_out(&d.run(None, &["secrets", "audit"]));
    let multi = report["checks"][3].clone();
    assert_eq!(multi["ok"], false, "{multi}");
}

#[test]
fn exec_runs_with_docker_config_and_removes_it() {
    let d = Demo::new();
    let probe = d.sb.dir.path().join("probe");
    let script = format!(
        "test -f \"$DOCKER_CONFIG/config.json\" && echo \"$DOCKER_CONFIG\" > {} && exit 7",
        path_str(&probe)
    );
    let out = d.run(
        Some("agent-bot"),
        &["secrets", "exec", TARGET, "--", "sh", "-c", &script],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let dir = std::fs::read_to_string(&probe).unwrap();
    assert!(!Path::new(dir.trim()).exists(), "exec left {dir}");
    // Ctrl-C at the terminal reaches ontoref too: it outlives the command and cleans up.
    std::fs::remove_file(&probe).unwrap();
    let interrupted = format!(
        "echo \"$DOCKER_CONFIG\" > {} && kill -INT $PPID && sleep 0.3 && exit 3",
        path_str(&probe)
    );
    let out = d.run(
        Some("agent-bot"),
        &["secrets", "exec", TARGET, "--", "sh", "-c", &interrupted],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let dir = std::fs::read_to_string(&probe).unwrap();
    assert!(
        !Path::new(dir.trim()).exists(),
        "exec left {dir} after SIGINT"
    );
    // A refusal runs nothing.
    std::fs::remove_file(&probe).unwrap();
    let out = d.run(
        Some("agent-bot"),
        &[
            "secrets", "exec", TARGET, "--op", "push", "--", "sh", "-c", &script,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(error_code(&out), "op-not-in-scope");
    assert!(!probe.exists());
}

#[test]
fn decrypt_reads_real_sops_files_and_age_cli_keys() {
    let sb = Sandbox::new();
    // The published test key of the sops fixtures, with age-keygen's comment lines.
    let key = sb.dir.path().join("fixture.key");
    std::fs::write(
        &key,
        "# created: 2023-12-25T10:30:00Z\n# public key: age1se5ghfycr4n8kcwc3qwf234ymvmr2lex2a99wh8gpfx97glwt9hqch4569\nAGE-SECRET-KEY-1EQUCGFZH8UZKSZ0Z5N5T234YRNDT4U9H7QNYXWRRNJYDDVXE6FWSCPGNJ7\n",
    )
    .unwrap();
    let fixtures = crate::util::repo().join("../shared/fixtures/sops");
    for case in ["example", "encrypted_suffix", "unencrypted_regex"] {
        let file = fixtures.join(format!("age_{case}.yaml"));
        let out = sb
            .cmd()
            .args(["secrets", "decrypt"])
            .arg(&file)
            .arg("--identity")
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        let got: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
        let want: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(fixtures.join(format!("age_{case}_plaintext.yaml"))).unwrap(),
        )
        .unwrap();
        assert_eq!(got, want, "{case}");
    }
    // A key made by Debian's age-keygen is not a recipient: a named error, exit 1.
    let other = sb.dir.path().join("other.key");
    let st = Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .expect("Debian's `age` package (age-keygen) must be installed: apt-get install age");
    assert!(st.status.success());
    let out = sb
        .cmd()
        .args(["secrets", "decrypt"])
        .arg(fixtures.join("age_example.yaml"))
        .arg("--identity")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("sops-decrypt-failed"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn decrypt_uses_the_master_key_and_gen_sops_config_follows_the_rules() {
    let d = Demo::new();
    let file = d
        .vault()
        .join("src-vault/registry/agent-readonly.sops.yaml");
    let out = d.run(None, &["secrets", "decrypt", path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plain: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(plain["username"], "demo-agent-ro");
    // The agent's key does not open the team's files.
    let team = d.vault().join("src-vault/registry/team-rw.sops.yaml");
    let out = d.run(None, &["secrets", "decrypt", path_str(&team)]);
    assert_eq!(out.status.code(), Some(1));
    let out = d.run(
        None,
        &[
            "secrets",
            "decrypt",
            path_str(&team),
            "--identity",
            path_str(&d.key("developer")),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    std::fs::remove_file(d.vault().join(".sops.yaml")).unwrap();
    let out = d.run(None, &["secrets", "gen-sops-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_out(&out)["rules"], 2);
    let config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(d.vault().join(".sops.yaml")).unwrap())
            .unwrap();
    let rules = config["creation_rules"].as_sequence().unwrap();
    assert_eq!(
        rules[0]["path_regex"],
        "registry/agent-readonly\\.sops\\.yaml$"
    );
    assert_eq!(rules[1]["path_regex"], "registry/.*\\.sops\\.yaml$");
    let pubkey = |g: &str| public_key(&d.key(g));
    assert_eq!(
        rules[0]["age"].as_str().unwrap(),
        format!("{},{}", pubkey("admin"), pubkey("agent"))
    );
    assert_eq!(
        rules[1]["age"].as_str().unwrap(),
        format!("{},{}", pubkey("admin"), pubkey("developer"))
    );
}

#[test]
fn decryption_is_never_offered_over_mcp() {
    let names = crate::util::catalog_names();
    assert!(names.contains(&"ontoref_credential_fetch".to_owned()));
    assert!(
        names
            .iter()
            .all(|n| !n.contains("decrypt") && !n.contains("reveal")),
        "{names:?}"
    );
}

#[test]
fn setup_refuses_to_overwrite() {
    let d = Demo::new();
    let again = d.sb.dir.path().join("again");
    let out = d
        .cmd()
        .args(["setup", "vault-demo", "--dir"])
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("--force"), "{}", stdout(&out));
    let out = d
        .cmd()
        .args(["setup", "vault-demo", "--dir"])
        .arg(&d.project)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("not empty"), "{}", stdout(&out));
}

/// The credential directory of a successful `tools/call` response.
fn issued_dir(response: &Value) -> PathBuf {
    let dir = response["result"]["structuredContent"]["docker_config_dir"].as_str();
    PathBuf::from(dir.unwrap_or_else(|| panic!("no directory issued: {response}")))
}

fn fetch_over_stdio(session: &mut Session, target: &str) -> Value {
    session.request(
        "tools/call",
        json!({"name": "ontoref_credential_fetch", "arguments": {"target": target}}),
    )
}

pub(crate) fn start(d: &Demo, actor: &str, log: &str) -> Session {
    Session::start(
        &d.sb,
        &["--project", path_str(&d.project), "--log-level", log],
        &[
            ("ONTOREF_ACTOR", actor),
            ("ONTOREF_CONFIG_HOME", path_str(&d.home)),
            ("ONTOREF_RUNTIME_DIR", path_str(&d.run)),
        ],
    )
}

#[test]
fn the_server_removes_its_credential_dirs_on_exit_and_on_sigterm() {
    let d = Demo::new();
    let mut s = start(&d, "agent-bot", "warn");
    s.initialize();
    let r = fetch_over_stdio(&mut s, TARGET);
    let dir = issued_dir(&r);
    assert!(dir.is_dir(), "{r}");
    s.finish();
    assert!(!dir.exists(), "left after stdin closed");

    let mut s = start(&d, "agent-bot", "warn");
    s.initialize();
    let r = fetch_over_stdio(&mut s, TARGET);
    let dir = issued_dir(&r);
    let status = crate::util::terminate(&mut s.child);
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "left after SIGTERM");
}

#[test]
fn no_secret_in_any_output_at_trace_level() {
    let d = Demo::new();
    d.plant();
    let mut seen = String::new();
    let mut collect = |out: &Output| {
        seen.push_str(&stdout(out));
        seen.push_str(&stderr(out));
    };
    let trace = ["--log-level", "trace"];
    for (actor, args) in [
        (Some("agent-bot"), vec!["secrets", "fetch", TARGET]),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--op", "push"],
        ),
        (
            Some("agent-bot"),
            vec!["secrets", "fetch", TARGET, "--reveal"],
        ),
        (Some("mallory"), vec!["secrets", "fetch", TARGET]),
        (
            Some("dev-alice"),
            vec!["secrets", "fetch", TARGET, "--registry-id", "team"],
        ),
        (Some("agent-bot"), vec!["secrets", "status"]),
        (None, vec!["secrets", "describe"]),
        (None, vec!["secrets", "audit"]),
        (None, vec!["secrets", "audit-log", "--verify"]),
        (
            Some("agent-bot"),
            vec!["secrets", "exec", TARGET, "--", "true"],
        ),
    ] {
        let mut full: Vec<&str> = trace.to_vec();
        full.extend(args);
        collect(&d.run(actor, &full));
    }
    // A tampered copy fails to decrypt without echoing anything.
    let file = d
        .vault()
        .join("src-vault/registry/agent-readonly.sops.yaml");
    let tampered = d.sb.dir.path().join("tampered.sops.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&tampered, text.replacen("data:", "data:AAAA", 1)).unwrap();
    let out = d.run(
        None,
        &[
            "--log-level",
            "trace",
            "secrets",
            "decrypt",
            path_str(&tampered),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    collect(&out);

    // A whole MCP session at trace level, allowed and refused calls.
    let mut s = start(&d, "agent-bot", "trace");
    s.initialize();
    s.request("tools/list", json!({}));
    let ok = fetch_over_stdio(&mut s, TARGET);
    assert!(ok["result"]["isError"] != true, "{ok}");
    fetch_over_stdio(&mut s, "modes/else/x");
    s.request(
        "tools/call",
        json!({"name": "ontoref_credential_fetch", "arguments": {"target": TARGET, "reveal": true}}),
    );
    s.request(
        "tools/call",
        json!({"name": "ontoref_secrets_status", "arguments": {}}),
    );
    let (err, lines) = s.finish();
    assert!(
        err.contains("TRACE") || err.contains("trace"),
        "trace logging was not on"
    );
    seen.push_str(&err);
    seen.push_str(&lines.join("\n"));
    seen.push_str(&std::fs::read_to_string(d.vault().join("audit.jsonl")).unwrap());

    assert!(
        seen.len() > 10_000,
        "too little output to mean anything: {}",
        seen.len()
    );
    assert!(!seen.contains(PLANTED_MARK), "the planted password leaked");
    assert!(!seen.contains("robot-agent"), "the planted username leaked");
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("robot-agent:{PLANTED}"));
    assert!(!seen.contains(&auth), "the docker auth leaked");

    // Sanity: the secret is really there to be leaked (decrypt is the one
    // command that prints it, on request).
    let out = d.run(None, &["secrets", "decrypt", path_str(&file)]);
    assert!(stdout(&out).contains(PLANTED_MARK));
}

#[test]
fn the_embedded_template_carries_the_agent_first_vault_shape() {
    let sb = Sandbox::new();
    let home = sb.dir.path().join("home");
    let run = |actor: Option<&str>, args: &[&str]| {
        let mut c = sb.cmd();
        c.env("ONTOREF_CONFIG_HOME", &home);
        if let Some(a) = actor {
            c.env("ONTOREF_ACTOR", a);
        }
        c.args(args).output().unwrap()
    };
    let inv = json_out(&run(None, &["secrets", "describe"]));
    assert_eq!(inv["vault_id"], "agent-first");
    let groups: Vec<&String> = inv["recipient_groups"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(groups, ["admin", "agent", "developer"]);
    assert_eq!(
        inv["recipient_rules"],
        json!([
            {"path": "registry/agent-readonly\\.sops\\.yaml$", "groups": ["admin", "agent"]},
            {"path": "registry/.*\\.sops\\.yaml$", "groups": ["admin", "developer"]},
        ])
    );
    let audit = json_out(&run(None, &["secrets", "audit"]));
    assert_eq!(audit["checks"][1]["ok"], true, "{audit}");
    // The bindings: agent-bot is bound (the vault is simply not synced here).
    let out = run(Some("agent-bot"), &["secrets", "fetch", TARGET]);
    assert_eq!(error_code(&out), "scope-not-loaded");
    let out = run(Some("mallory"), &["secrets", "fetch", TARGET]);
    assert_eq!(error_code(&out), "actor-not-bound");
    let hint = json_out(&out)["error"]["hint"].as_str().unwrap().to_owned();
    for actor in ["agent-bot", "dev-alice", "admin-root"] {
        assert!(hint.contains(actor), "{hint}");
    }
    let status = json_out(&run(Some("agent-bot"), &["secrets", "status"]));
    assert_eq!(status["declared"], true);
    assert_eq!(status["synced"], false);
    assert_eq!(status["role"], "agent");
    assert_eq!(status["master_key"]["source"], "none");
    // The manifest's registries: the agent's RO file for pulls, the team's RW file for pushes.
    let d = json_out(&run(None, &["describe"]));
    let topology = &d["description"]["registry_topology"];
    assert_eq!(topology["participant"], "agent-first");
    assert_eq!(topology["registries"][0]["id"], "default");
    assert_eq!(topology["registries"][0]["pull"], true);
    assert_eq!(topology["registries"][0]["push"], true);
    // The scope files the template ships for the vault.
    let scopes = crate::util::repo().join("agent-first-template/vault/src-vault/scopes");
    let agent = std::fs::read_to_string(scopes.join("agent.ncl")).unwrap();
    assert!(
        agent.contains("'RO") && agent.contains(r#"ops = ["pull"]"#),
        "{agent}"
    );
    assert!(agent.contains(r#""domains/agent-first/**", "modes/agent-first/**""#));
    // No private key anywhere in the template.
    for entry in walk(&crate::util::repo().join("agent-first-template")) {
        let text = std::fs::read_to_string(&entry)
            .unwrap_or_default()
            .to_uppercase();
        let holds_key = text.match_indices("AGE-SECRET-KEY-1").any(|(i, m)| {
            let rest = &text[i + m.len()..];
            rest.len() >= 58 && rest[..58].chars().all(|c| c.is_ascii_alphanumeric())
        });
        assert!(!holds_key, "{}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn people_at_a_terminal_get_readable_text() {
    let d = Demo::new();
    let env = [
        ("ONTOREF_CONFIG_HOME", path_str(&d.home)),
        ("ONTOREF_RUNTIME_DIR", path_str(&d.run)),
        ("ONTOREF_ACTOR", "agent-bot"),
    ];
    let bin = crate::util::bin();
    let project = path_str(&d.project);
    let text = crate::util::run_in_tty(
        &d.sb,
        &format!("{bin} --project {project} secrets fetch {TARGET}"),
        &env,
    );
    let line = text.lines().next().unwrap_or_default();
    let dir = line
        .strip_prefix("export DOCKER_CONFIG=")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        Path::new(dir.trim()).join("config.json").is_file(),
        "{text}"
    );
    assert!(text.contains("role agent"), "{text}");
    let text = crate::util::run_in_tty(
        &d.sb,
        &format!("{bin} --project {project} secrets audit"),
        &env,
    );
    assert!(text.contains("ok   min-two-recipients"), "{text}");
    assert!(text.contains("ok   no-multi-vault"), "{text}");
}
