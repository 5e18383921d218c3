//! The vault gate, in process: one test per named error, each on a fixture
//! that passes every earlier step and breaks exactly one thing, proving the
//! error fires, that nothing was decrypted and no credential directory
//! issued before it, and that the attempt was audited with that code. Then
//! the allowed fetch, reveal rules, registry choice and credential aliases.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ontoref_tools::vault::audit;
use ontoref_tools::vault::fetch::{Lifetime, fetch};
use ontoref_tools::vault::gate::Request;
use ontoref_tools::vault::key::generate;
use ontoref_tools::vault::sops::{EncryptOptions, Rule, encrypt};
use ontoref_tools::{Engine, EngineConfig};

const PASSWORD: &str = "pw-7f3a9c1e-never-leak";

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    run: PathBuf,
    cache: PathBuf,
    vault: PathBuf,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn recipient(key_text: &str) -> age::x25519::Recipient {
    key_text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .parse()
        .unwrap()
}

fn sops_file(fields: &[(&str, &str)], to: &[age::x25519::Recipient]) -> String {
    let mut m = serde_yaml::Mapping::new();
    for (k, v) in fields {
        m.insert((*k).into(), (*v).into());
    }
    encrypt(
        &serde_yaml::Value::Mapping(m),
        to,
        &EncryptOptions {
            rule: Rule::default(),
            mac_only_encrypted: false,
            lastmodified: "2026-11-21T10:00:00Z".into(),
        },
    )
    .unwrap()
}

impl Fixture {
    /// A project whose actor `bot` (role `agent`, 'RO pull on
    /// `domains/acme/**`) may pull from registry `default`.
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let home = tmp.path().join("home");
        let run = tmp.path().join("run");
        let cache = tmp.path().join("cache");
        std::fs::create_dir_all(&run).unwrap();
        let vault = home.join("vaults/acme");
        let f = Fixture {
            _tmp: tmp,
            root,
            home,
            run,
            cache,
            vault,
        };
        f.project("allow_reveal = false,");
        f.manifest(
            r#"{ id = "default", endpoint = "registry.acme.test:5000", credential_sops = "registry/ro.sops.yaml", credential_sops_rw = "registry/rw.sops.yaml" },
               { id = "mirror", endpoint = "mirror.acme.test", credential_sops = "registry/ro.sops.yaml" },"#,
        );
        f.scope("'RO", r#"["bot"]"#, r#"["pull"]"#);
        let (_, agent) = generate("now");
        let (_, admin) = generate("now");
        write(&f.home.join("keys/agent.key"), &agent);
        write(
            &f.home.join("config.ncl"),
            r#"{ vault = { master_key_path = "keys/agent.key" } }"#,
        );
        let to = [recipient(&agent), recipient(&admin)];
        write(
            &f.vault.join("src-vault/registry/ro.sops.yaml"),
            &sops_file(&[("username", "robot-ro"), ("password", PASSWORD)], &to),
        );
        f
    }

    fn project(&self, extra: &str) {
        write(
            &self.root.join(".ontoref/project.ncl"),
            &format!(
                r#"{{ slug = "acme", sops = {{ enabled = true, actor_key_bindings = {{ bot = "agent" }}, {extra} }} }}"#
            ),
        );
    }

    fn manifest(&self, registries: &str) {
        write(
            &self.root.join(".ontology/manifest.ncl"),
            &format!(
                r#"{{ project = "acme", registry_provides = {{ participant = "acme", registries = [ {registries} ] }} }}"#
            ),
        );
    }

    fn scope(&self, access: &str, bound: &str, ops: &str) {
        write(
            &self.vault.join("src-vault/scopes/agent.ncl"),
            &format!(
                r#"{{ access = {access}, bound_actor = {bound}, namespaces = ["domains/acme/**"], ops = {ops} }}"#
            ),
        );
    }

    fn engine(&self, actor: Option<&str>) -> Engine {
        Engine::new(EngineConfig {
            project: Some(self.root.clone()),
            cache_dir: Some(self.cache.clone()),
            disk_cache: false,
            actor: actor.map(str::to_owned),
            config_home: Some(self.home.clone()),
            runtime_dir: Some(self.run.clone()),
            credential_ttl: Duration::from_secs(60),
            ..EngineConfig::default()
        })
        .unwrap()
    }

    fn issued_dirs(&self) -> usize {
        std::fs::read_dir(&self.run).unwrap().count()
    }

    fn last_audit(&self) -> audit::Record {
        self.last_audit_in(&self.vault)
    }

    fn last_audit_in(&self, vault: &Path) -> audit::Record {
        let log = vault.join("audit.jsonl");
        audit::read(&log).unwrap().pop().expect("an audit record")
    }
}

fn pull(target: &str) -> Request {
    Request {
        target: target.into(),
        op: "pull".into(),
        registry_id: None,
        reveal: false,
    }
}

/// Runs `req` as `actor` and checks the refusal: its code, no decryption
/// (unless the failing step is decryption itself), no directory, audited.
async fn refused(f: &Fixture, actor: Option<&str>, req: Request, code: &str) -> String {
    let engine = f.engine(actor);
    let err = fetch(&engine, actor, &req, Lifetime::Owned)
        .await
        .expect_err("the gate must refuse");
    assert_eq!(err.code(), code, "{err}");
    let decrypted = u64::from(code == "sops-decrypt-failed");
    assert_eq!(engine.vault().decryptions(), decrypted, "{code}");
    assert_eq!(
        f.issued_dirs(),
        0,
        "{code}: a credential directory was issued"
    );
    let body = err.body();
    assert!(!body.hint.is_empty());
    assert!(!body.message.contains(PASSWORD) && !body.hint.contains(PASSWORD));
    {
        // Without a project file, the vault is named after the root directory.
        let rec = if code == "project-ncl-missing" {
            f.last_audit_in(&f.home.join("vaults/project"))
        } else {
            f.last_audit()
        };
        assert_eq!(rec.outcome, code);
        assert_eq!(rec.actor.as_deref(), actor);
        assert_eq!(rec.op, req.op);
        assert_eq!(rec.target, req.target);
        // Refusals are keyed too (the master key is read for the audit line
        // even when the gate refused before reading it); only a master key
        // that cannot be read leaves the line unkeyed.
        assert_eq!(rec.mac.is_some(), code != "kage-not-resolvable", "{code}");
    }
    body.message
}

#[tokio::test]
async fn g01_invalid_op() {
    let f = Fixture::new();
    let mut req = pull("domains/acme/x");
    req.op = "delete".into();
    let msg = refused(&f, Some("bot"), req, "invalid-op").await;
    assert!(msg.contains("`delete`"), "{msg}");
}

#[tokio::test]
async fn g02_project_ncl_missing() {
    let f = Fixture::new();
    std::fs::remove_file(f.root.join(".ontoref/project.ncl")).unwrap();
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "project-ncl-missing",
    )
    .await;
    assert!(msg.contains(".ontoref/project.ncl"), "{msg}");
}

#[tokio::test]
async fn g03_actor_bindings_missing() {
    let f = Fixture::new();
    write(
        &f.root.join(".ontoref/project.ncl"),
        r#"{ slug = "acme", sops = { enabled = true } }"#,
    );
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "actor-bindings-missing",
    )
    .await;
    assert!(msg.contains("absent"), "{msg}");
    write(
        &f.root.join(".ontoref/project.ncl"),
        r#"{ slug = "acme", sops = { actor_key_bindings = {} } }"#,
    );
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "actor-bindings-missing",
    )
    .await;
    assert!(msg.contains("empty"), "{msg}");
}

#[tokio::test]
async fn g04_actor_not_bound() {
    let f = Fixture::new();
    let msg = refused(
        &f,
        Some("mallory"),
        pull("domains/acme/x"),
        "actor-not-bound",
    )
    .await;
    assert!(msg.contains("`mallory`"), "{msg}");
    let msg = refused(&f, None, pull("domains/acme/x"), "actor-not-bound").await;
    assert!(msg.contains("no actor"), "{msg}");
}

#[tokio::test]
async fn g05_scope_not_loaded() {
    let f = Fixture::new();
    std::fs::remove_file(f.vault.join("src-vault/scopes/agent.ncl")).unwrap();
    let msg = refused(&f, Some("bot"), pull("domains/acme/x"), "scope-not-loaded").await;
    assert!(msg.contains("scopes/agent.ncl"), "{msg}");
}

#[tokio::test]
async fn g06_actor_not_in_bound_actor() {
    let f = Fixture::new();
    f.scope("'RO", r#"["someone-else"]"#, r#"["pull"]"#);
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "actor-not-in-bound-actor",
    )
    .await;
    assert!(msg.contains("`someone-else`"), "{msg}");
}

#[tokio::test]
async fn g07_op_not_in_scope() {
    let f = Fixture::new();
    let mut req = pull("domains/acme/x");
    req.op = "push".into();
    let msg = refused(&f, Some("bot"), req, "op-not-in-scope").await;
    assert!(msg.contains("not `push`"), "{msg}");
}

#[tokio::test]
async fn g08_target_not_in_scope() {
    let f = Fixture::new();
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme-evil/x:1"),
        "target-not-in-scope",
    )
    .await;
    assert!(msg.contains("domains/acme-evil/x"), "{msg}");
    // A path that tries to climb out of the namespace is not a reference.
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/../other/x"),
        "target-not-in-scope",
    )
    .await;
    assert!(msg.contains("segment `..`"), "{msg}");
}

#[tokio::test]
async fn g09_manifest_ncl_missing() {
    let f = Fixture::new();
    std::fs::remove_file(f.root.join(".ontology/manifest.ncl")).unwrap();
    refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "manifest-ncl-missing",
    )
    .await;
}

#[tokio::test]
async fn g10_registry_provides_missing() {
    let f = Fixture::new();
    write(
        &f.root.join(".ontology/manifest.ncl"),
        r#"{ project = "acme" }"#,
    );
    refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "registry-provides-missing",
    )
    .await;
}

#[tokio::test]
async fn g11_registry_id_unknown() {
    let f = Fixture::new();
    let mut req = pull("domains/acme/x");
    req.registry_id = Some("nope".into());
    let msg = refused(&f, Some("bot"), req, "registry-id-unknown").await;
    assert!(msg.contains("`nope`") && msg.contains("`default`"), "{msg}");
    // Without a `default` entry, asking for none is unknown too.
    f.manifest(r#"{ id = "other", endpoint = "r", credential_sops = "registry/ro.sops.yaml" }"#);
    refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "registry-id-unknown",
    )
    .await;
}

#[tokio::test]
async fn g12_credential_sops_missing() {
    let f = Fixture::new();
    f.manifest(r#"{ id = "default", endpoint = "r" }"#);
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "credential-sops-missing",
    )
    .await;
    assert!(msg.contains("credential_sops"), "{msg}");
    // A path leaving src-vault/ is refused the same way.
    f.manifest(r#"{ id = "default", endpoint = "r", credential_sops = "../../../etc/passwd" }"#);
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "credential-sops-missing",
    )
    .await;
    assert!(msg.contains("inside src-vault"), "{msg}");
}

#[tokio::test]
async fn g13_sops_file_not_found() {
    let f = Fixture::new();
    std::fs::remove_file(f.vault.join("src-vault/registry/ro.sops.yaml")).unwrap();
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "sops-file-not-found",
    )
    .await;
    assert!(msg.contains("ro.sops.yaml"), "{msg}");
}

#[tokio::test]
async fn g14_kage_not_resolvable() {
    let f = Fixture::new();
    std::fs::remove_file(f.home.join("keys/agent.key")).unwrap();
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "kage-not-resolvable",
    )
    .await;
    assert!(
        msg.contains("agent.key") && msg.contains("no such file"),
        "{msg}"
    );
    std::fs::remove_file(f.home.join("config.ncl")).unwrap();
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "kage-not-resolvable",
    )
    .await;
    assert!(msg.contains("neither"), "{msg}");
}

#[tokio::test]
async fn g15_sops_decrypt_failed() {
    let f = Fixture::new();
    // Encrypted to two keys, neither of them ours.
    let (_, a) = generate("now");
    let (_, b) = generate("now");
    write(
        &f.vault.join("src-vault/registry/ro.sops.yaml"),
        &sops_file(
            &[("username", "u"), ("password", PASSWORD)],
            &[recipient(&a), recipient(&b)],
        ),
    );
    let msg = refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "sops-decrypt-failed",
    )
    .await;
    assert!(msg.contains("ro.sops.yaml"), "{msg}");
    // A tampered file fails the same way, naming no value.
    let f = Fixture::new();
    let path = f.vault.join("src-vault/registry/ro.sops.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let tampered = text.replacen("data:", "data:AAAA", 1);
    write(&path, &tampered);
    refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "sops-decrypt-failed",
    )
    .await;
}

#[tokio::test]
async fn an_allowed_fetch_writes_an_isolated_docker_config() {
    use base64::Engine as _;
    let f = Fixture::new();
    let engine = f.engine(Some("bot"));
    let got = fetch(
        &engine,
        Some("bot"),
        &pull("registry.acme.test:5000/domains/acme/contract:1.0"),
        Lifetime::Owned,
    )
    .await
    .unwrap();
    assert_eq!(engine.vault().decryptions(), 1);
    assert_eq!(got.registry, "registry.acme.test:5000");
    assert_eq!(got.role, "agent");
    assert!(got.username.is_none() && got.password.is_none());
    let text = serde_json::to_string(&got).unwrap();
    assert!(
        !text.contains(PASSWORD) && !text.contains("robot-ro"),
        "{text}"
    );
    let dir = PathBuf::from(&got.docker_config_dir);
    assert!(dir.starts_with(&f.run));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let auth = config["auths"]["registry.acme.test:5000"]["auth"]
        .as_str()
        .unwrap();
    let pair = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    assert_eq!(pair, format!("robot-ro:{PASSWORD}").as_bytes());
    let rec = f.last_audit();
    assert_eq!(rec.outcome, "ok");
    assert_eq!(rec.role.as_deref(), Some("agent"));
    assert!(
        !std::fs::read_to_string(f.vault.join("audit.jsonl"))
            .unwrap()
            .contains(PASSWORD)
    );
    // The server's shutdown removes what it issued.
    engine.shutdown();
    assert!(!dir.exists());
}

#[tokio::test]
async fn the_target_host_chooses_the_registry_and_must_agree_with_it() {
    let f = Fixture::new();
    let engine = f.engine(Some("bot"));
    let got = fetch(
        &engine,
        Some("bot"),
        &pull("mirror.acme.test/domains/acme/x"),
        Lifetime::Owned,
    )
    .await
    .unwrap();
    assert_eq!(got.registry_id, "mirror");
    let mut req = pull("mirror.acme.test/domains/acme/x");
    req.registry_id = Some("default".into());
    let err = fetch(&engine, Some("bot"), &req, Lifetime::Owned)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "target-registry-mismatch");
}

#[tokio::test]
async fn reveal_needs_an_ro_scope_and_allow_reveal() {
    let f = Fixture::new();
    let mut req = pull("domains/acme/x");
    req.reveal = true;
    let msg = refused(&f, Some("bot"), req.clone(), "reveal-not-allowed").await;
    assert!(msg.contains("allow_reveal"), "{msg}");

    f.project("allow_reveal = true,");
    f.scope("'RW", r#"["bot"]"#, r#"["pull"]"#);
    let msg = refused(&f, Some("bot"), req.clone(), "reveal-not-allowed").await;
    assert!(msg.contains("'RW"), "{msg}");

    f.scope("'RO", r#"["bot"]"#, r#"["pull"]"#);
    let engine = f.engine(Some("bot"));
    let got = fetch(&engine, Some("bot"), &req, Lifetime::Owned)
        .await
        .unwrap();
    assert_eq!(got.username.as_deref(), Some("robot-ro"));
    assert_eq!(got.password.as_deref(), Some(PASSWORD));
    assert!(f.last_audit().reveal);
}

#[tokio::test]
async fn zot_aliases_are_accepted_and_a_credential_needs_both_fields() {
    let f = Fixture::new();
    let key = std::fs::read_to_string(f.home.join("keys/agent.key")).unwrap();
    let (_, other) = generate("now");
    let to = [recipient(&key), recipient(&other)];
    let path = f.vault.join("src-vault/registry/ro.sops.yaml");
    write(
        &path,
        &sops_file(&[("zot_username", "z"), ("zot_password", "zp")], &to),
    );
    let engine = f.engine(Some("bot"));
    fetch(
        &engine,
        Some("bot"),
        &pull("domains/acme/x"),
        Lifetime::Owned,
    )
    .await
    .unwrap();
    write(&path, &sops_file(&[("username", "only")], &to));
    let err = fetch(
        &engine,
        Some("bot"),
        &pull("domains/acme/x"),
        Lifetime::Owned,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "credential-invalid");
}

#[tokio::test]
async fn the_project_key_wins_over_the_global_one() {
    let f = Fixture::new();
    // The project names a key that is not a recipient: it is used (and fails).
    let (_, stranger) = generate("now");
    write(&f.root.join("stranger.key"), &stranger);
    f.project(r#"master_key_path = "stranger.key","#);
    refused(
        &f,
        Some("bot"),
        pull("domains/acme/x"),
        "sops-decrypt-failed",
    )
    .await;
    // An unreadable project key falls through to the config home's.
    f.project(r#"master_key_path = "missing.key","#);
    let engine = f.engine(Some("bot"));
    fetch(
        &engine,
        Some("bot"),
        &pull("domains/acme/x"),
        Lifetime::Owned,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_request_actor_overrides_the_configured_one() {
    let f = Fixture::new();
    let engine = f.engine(Some("bot"));
    let seen =
        ontoref_tools::actor::as_actor(Some("mallory".into()), async { engine.actor() }).await;
    assert_eq!(seen.as_deref(), Some("mallory"));
    assert_eq!(engine.actor().as_deref(), Some("bot"));
}
