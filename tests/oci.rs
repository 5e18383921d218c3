//! The OCI layer through the built binary against a private Debian
//! `docker-registry` on loopback: `ontoref artifact pull/verify` and
//! `ontoref secrets sync`, with every artifact and signature made by the
//! independent writer `tests/support/oci.py` (Python's standard library and
//! `cryptography`), and every refusal checked to leave local state byte for
//! byte as it was (and, for gate refusals, to send nothing to the
//! registry, as its access log shows).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::registry::{Registry, ok_json, sha256_digest};
use crate::util::{json_out, path_str, stderr, stdout};
use crate::vault::{Demo, PLANTED, error_code, public_key, sops_file};

/// The demo's agent and the namespace its scope grants.
const AGENT: &str = "agent-bot";
const DOMAIN_TYPE: &str = "application/vnd.ontoref.domain.v1";
const VAULT_TYPE: &str = "application/vnd.ontoref.src-vault.v1";
const VAULT_LAYER: &str = "application/vnd.ontoref.src-vault.v1.tar+gzip";
const CONTRACT: &str = "{ Endpoint = { host | String, port | Number } }\n";
const EXAMPLE: &str = "{\"host\": \"zot.acme\", \"port\": 5000}\n";

/// A demo project whose manifest and vault point at a private registry,
/// with a cosign key pair made by the independent writer.
struct World {
    d: Demo,
    reg: Registry,
    keys: PathBuf,
    work: PathBuf,
    /// The endpoint the project's files name now.
    at: std::sync::Mutex<String>,
}

impl World {
    /// With `auth`, the registry wants the planted agent credential.
    fn new(auth: bool) -> World {
        let d = Demo::new();
        d.plant();
        let reg = if auth {
            Registry::start_with_auth("robot-agent", PLANTED)
        } else {
            Registry::start()
        };
        let work = d.sb.dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let keys = work.join("keys");
        ok_json(&crate::registry::oci("keygen", &["--out", path_str(&keys)]));
        let w = World {
            d,
            reg,
            keys,
            work,
            at: std::sync::Mutex::new("registry.acme.internal:5000".to_owned()),
        };
        w.point_at(w.reg.endpoint());
        w.configure(Some(&w.keys.join("cosign.pub")));
        w
    }

    /// Points the manifest's registries and the vault's endpoint at `endpoint`.
    fn point_at(&self, endpoint: &str) {
        let manifest = self.d.project.join(".ontology/manifest.ncl");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let current = std::mem::replace(&mut *self.at.lock().unwrap(), endpoint.to_owned());
        assert!(text.contains(&current), "the demo manifest names {current}");
        let replaced = text.replace(&current, endpoint);
        std::fs::write(&manifest, replaced).unwrap();
        let project = self.d.project.join(".ontoref/project.ncl");
        let text = std::fs::read_to_string(&project).unwrap();
        let text = match text.find("    registry_endpoint = ") {
            Some(start) => {
                let end = start + text[start..].find('\n').unwrap();
                format!(
                    "{}    registry_endpoint = \"{endpoint}\",{}",
                    &text[..start],
                    &text[end..]
                )
            }
            None => text.replacen(
                "    enabled = true,\n",
                &format!("    enabled = true,\n    registry_endpoint = \"{endpoint}\",\n"),
                1,
            ),
        };
        assert!(text.contains(&format!("registry_endpoint = \"{endpoint}\"")));
        std::fs::write(&project, text).unwrap();
    }

    /// Writes config.ncl with `vault.cosign.pub_path` (or without it).
    fn configure(&self, pub_path: Option<&Path>) {
        let cosign = match pub_path {
            Some(p) => format!("cosign = {{ pub_path = \"{}\" }},", p.display()),
            None => String::new(),
        };
        std::fs::write(
            self.d.home.join("config.ncl"),
            format!("{{ vault = {{ {cosign} registry_timeout_secs = 5 }} }}\n"),
        )
        .unwrap();
    }

    fn ontoref(&self, actor: Option<&str>, args: &[&str]) -> Output {
        self.d.run(actor, args)
    }

    /// Pushes a domain artifact with `files` (name, content, title) and
    /// returns its digest.
    fn push(
        &self,
        repo: &str,
        tag: &str,
        artifact_type: &str,
        files: &[(&str, &str, &str)],
    ) -> String {
        let mut args = vec![
            "--repo".to_owned(),
            repo.to_owned(),
            "--tag".to_owned(),
            tag.to_owned(),
            "--artifact-type".to_owned(),
            artifact_type.to_owned(),
        ];
        for (name, content, title) in files {
            let path = self.work.join(name.replace('/', "_"));
            std::fs::write(&path, content).unwrap();
            args.push("--layer".to_owned());
            if title.is_empty() {
                args.push(format!("{}:text/plain", path.display()));
            } else {
                args.push(format!("{}:text/plain:{title}", path.display()));
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = ok_json(&self.reg.oci("push-artifact", &args));
        v["digest"].as_str().unwrap().to_owned()
    }

    /// Signs `digest` in `repo` with `key_dir`'s key; `extra` adds flags
    /// (`--payload-digest D`, `--corrupt`).
    fn sign_with(&self, key_dir: &Path, repo: &str, digest: &str, extra: &[&str]) {
        let key = key_dir.join("cosign.key");
        let mut args = vec!["--repo", repo, "--digest", digest, "--key", path_str(&key)];
        args.extend_from_slice(extra);
        let out = self.reg.oci("sign", &args);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }

    fn sign(&self, repo: &str, digest: &str) {
        self.sign_with(&self.keys.clone(), repo, digest, &[]);
    }

    fn other_keys(&self) -> PathBuf {
        let dir = self.work.join("other-keys");
        if !dir.join("cosign.key").exists() {
            ok_json(&crate::registry::oci("keygen", &["--out", path_str(&dir)]));
        }
        dir
    }

    fn cache(&self) -> PathBuf {
        self.d.project.join(".ontoref/cache/oci")
    }
}

/// Every file under `dir` with its bytes (links as their target text).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let kind = e.file_type().unwrap();
            if kind.is_symlink() {
                out.insert(
                    format!("{rel} ->"),
                    std::fs::read_link(&p)
                        .unwrap()
                        .display()
                        .to_string()
                        .into_bytes(),
                );
            } else if kind.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(base, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// The vault tree without its audit log (which records every attempt).
fn vault_tree(w: &World) -> BTreeMap<String, Vec<u8>> {
    let mut t = tree(&w.d.vault());
    t.retain(|k, _| !k.starts_with("audit"));
    t
}

fn audit_records(w: &World) -> Vec<Value> {
    let out = w.ontoref(None, &["secrets", "audit-log", "--limit", "500"]);
    json_out(&out)["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn artifact_pull_verifies_writes_caches_and_audits() {
    let w = World::new(true);
    let repo = "domains/agent-first/registry-access";
    let digest = w.push(
        repo,
        "0.1.0",
        DOMAIN_TYPE,
        &[
            ("contract.ncl", CONTRACT, "contract.ncl"),
            ("example.json", EXAMPLE, "example.json"),
        ],
    );
    w.sign(repo, &digest);
    let target = format!("{repo}:0.1.0");

    // Verify writes nothing.
    let v = json_out(&w.ontoref(Some(AGENT), &["artifact", "verify", &target]));
    assert_eq!(v["digest"], digest, "{v}");
    assert!(!w.cache().exists(), "verify wrote to the cache");

    let out = w.ontoref(Some(AGENT), &["artifact", "pull", &target]);
    let p = json_out(&out);
    assert!(out.status.success(), "{p}");
    assert_eq!(p["digest"], digest);
    assert_eq!(p["media_type"], DOMAIN_TYPE);
    assert_eq!(p["cached"], false);
    assert_eq!(p["signed_by"], v["signed_by"]);
    assert!(p["signed_by"].as_str().unwrap().starts_with("sha256:"));
    let files = p["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{p}");
    let hex = digest.strip_prefix("sha256:").unwrap();
    for (f, (name, content)) in files
        .iter()
        .zip([("contract.ncl", CONTRACT), ("example.json", EXAMPLE)])
    {
        let rel = f["path"].as_str().unwrap();
        assert_eq!(rel, format!(".ontoref/cache/oci/sha256-{hex}/{name}"));
        let on_disk = std::fs::read(w.d.project.join(rel)).unwrap();
        assert_eq!(on_disk, content.as_bytes());
        assert_eq!(f["size"], content.len());
        assert_eq!(
            format!("sha256:{}", f["sha256"].as_str().unwrap()),
            sha256_digest(content.as_bytes())
        );
    }
    // No credential anywhere in what came out.
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains("PLANTED-pw"), "{text}");
        assert!(!text.contains("robot-agent"), "{text}");
    }

    // A second pull is served from the cache: no blob is fetched.
    let before = w.reg.requests().len();
    let again = json_out(&w.ontoref(Some(AGENT), &["artifact", "pull", &target]));
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(again["files"], p["files"]);
    let fetched_blobs = w.reg.requests()[before..]
        .iter()
        .filter(|r| r.contains("/blobs/"))
        .count();
    assert_eq!(fetched_blobs, 0, "{:?}", w.reg.requests());

    // A changed cached file is noticed and pulled again.
    let contract = w.d.project.join(files[0]["path"].as_str().unwrap());
    std::fs::write(&contract, "tampered").unwrap();
    let third = json_out(&w.ontoref(Some(AGENT), &["artifact", "pull", &target]));
    assert_eq!(third["cached"], false, "{third}");
    assert_eq!(std::fs::read_to_string(&contract).unwrap(), CONTRACT);

    // Pinned by digest and cached: served without any request at all.
    let pinned = format!("{repo}@{digest}");
    let before = w.reg.requests().len();
    let fourth = json_out(&w.ontoref(Some(AGENT), &["artifact", "pull", &pinned]));
    assert_eq!(fourth["cached"], true, "{fourth}");
    assert_eq!(fourth["files"], p["files"]);
    assert_eq!(fourth["digest"], digest);
    assert_eq!(w.reg.requests()[before..], [] as [String; 0]);

    // A record forged in the project's cache (a planted file and a record
    // that vouches for it, without the vault's seal) is not trusted: the
    // artifact is pulled again and the planted bytes replaced.
    let example = w.d.project.join(files[1]["path"].as_str().unwrap());
    let planted = "{\"planted\": true}\n";
    std::fs::write(&example, planted).unwrap();
    let record_path = w.cache().join(format!("sha256-{hex}.json"));
    let mut sealed: Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    let mut record: Value = serde_json::from_str(sealed["record"].as_str().unwrap()).unwrap();
    record["files"][1]["size"] = planted.len().into();
    record["files"][1]["sha256"] = sha256_digest(planted.as_bytes())
        .strip_prefix("sha256:")
        .unwrap()
        .into();
    sealed["record"] = record.to_string().into();
    std::fs::write(&record_path, sealed.to_string()).unwrap();
    let before = w.reg.requests().len();
    let fifth = json_out(&w.ontoref(Some(AGENT), &["artifact", "pull", &pinned]));
    assert_eq!(
        fifth["cached"], false,
        "a forged record was trusted: {fifth}"
    );
    assert_eq!(std::fs::read_to_string(&example).unwrap(), EXAMPLE);
    assert!(
        w.reg.requests()[before..]
            .iter()
            .any(|r| r.contains("/blobs/")),
        "{:?}",
        w.reg.requests()
    );

    // A verify always asks the registry, cache or not.
    let before = w.reg.requests().len();
    let v2 = json_out(&w.ontoref(Some(AGENT), &["artifact", "verify", &pinned]));
    assert_eq!(v2["cached"], false, "{v2}");
    assert!(
        w.reg.requests().len() > before,
        "verify answered from the cache"
    );

    // Every attempt is in the audit log with its digest.
    let records = audit_records(&w);
    let pulls: Vec<&Value> = records
        .iter()
        .filter(|r| r["op"] == "artifact-pull")
        .collect();
    assert_eq!(pulls.len(), 5, "{records:?}");
    assert!(
        pulls
            .iter()
            .all(|r| r["digest"] == digest && r["outcome"] == "ok")
    );
    assert!(
        records
            .iter()
            .any(|r| r["op"] == "artifact-verify" && r["digest"] == digest)
    );
}

#[test]
fn artifact_refusals_are_named_and_write_nothing() {
    let w = World::new(true);
    let repo = "domains/agent-first/c";
    let files: &[(&str, &str, &str)] = &[("contract.ncl", CONTRACT, "contract.ncl")];

    // Out of scope: refused before any request reaches the registry.
    let before = w.reg.requests().len();
    let out = w.ontoref(Some(AGENT), &["artifact", "pull", "domains/other-team/c:1"]);
    assert_eq!(error_code(&out), "target-not-in-scope", "{}", stdout(&out));
    assert_eq!(w.reg.requests().len(), before, "{:?}", w.reg.requests());

    // Unsigned.
    let d1 = w.push(repo, "unsigned", DOMAIN_TYPE, files);
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", &format!("{repo}:unsigned")],
    );
    assert_eq!(error_code(&out), "signature-missing", "{}", stdout(&out));
    let _ = d1;

    // Signed by another key.
    let d2 = w.push(
        repo,
        "other-key",
        DOMAIN_TYPE,
        &[("contract.ncl", "{ a = 2 }", "contract.ncl")],
    );
    w.sign_with(&w.other_keys(), repo, &d2, &[]);
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", &format!("{repo}:other-key")],
    );
    assert_eq!(error_code(&out), "signature-invalid", "{}", stdout(&out));

    // A corrupted signature.
    let d3 = w.push(
        repo,
        "corrupt",
        DOMAIN_TYPE,
        &[("contract.ncl", "{ a = 3 }", "contract.ncl")],
    );
    w.sign_with(&w.keys.clone(), repo, &d3, &["--corrupt"]);
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", &format!("{repo}:corrupt")],
    );
    assert_eq!(error_code(&out), "signature-invalid", "{}", stdout(&out));

    // A valid signature whose payload names another digest.
    let d4 = w.push(
        repo,
        "moved",
        DOMAIN_TYPE,
        &[("contract.ncl", "{ a = 4 }", "contract.ncl")],
    );
    w.sign_with(&w.keys.clone(), repo, &d4, &["--payload-digest", &d2]);
    let out = w.ontoref(Some(AGENT), &["artifact", "pull", &format!("{repo}:moved")]);
    assert_eq!(
        error_code(&out),
        "signature-digest-mismatch",
        "{}",
        stdout(&out)
    );

    // Another artifact type.
    let d5 = w.push(
        repo,
        "image",
        "application/vnd.example.other",
        &[("contract.ncl", "{ a = 5 }", "contract.ncl")],
    );
    w.sign(repo, &d5);
    let out = w.ontoref(Some(AGENT), &["artifact", "pull", &format!("{repo}:image")]);
    assert_eq!(error_code(&out), "artifact-media-type", "{}", stdout(&out));

    // A title escaping the directory.
    let d6 = w.push(repo, "escape", DOMAIN_TYPE, &[("evil", "x", "../../evil")]);
    w.sign(repo, &d6);
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", &format!("{repo}:escape")],
    );
    assert_eq!(error_code(&out), "artifact-unsafe-path", "{}", stdout(&out));

    // A contract that does not typecheck, one importing outside the
    // artifact, and a domain artifact without contract.ncl.
    for (tag, contract, title, code) in [
        (
            "ill-typed",
            "{ port : Number = \"5000\" }\n",
            "contract.ncl",
            "contract-typecheck-failed",
        ),
        (
            "imports",
            "import \"/etc/hostname\"\n",
            "contract.ncl",
            "contract-typecheck-failed",
        ),
        ("no-contract", "{}\n", "example.json", "artifact-invalid"),
    ] {
        let d = w.push(repo, tag, DOMAIN_TYPE, &[(tag, contract, title)]);
        w.sign(repo, &d);
        let out = w.ontoref(Some(AGENT), &["artifact", "pull", &format!("{repo}:{tag}")]);
        assert_eq!(error_code(&out), code, "{tag}: {}", stdout(&out));
    }

    // No such tag.
    let out = w.ontoref(Some(AGENT), &["artifact", "pull", &format!("{repo}:9.9.9")]);
    assert_eq!(error_code(&out), "artifact-not-found", "{}", stdout(&out));

    assert!(
        !w.cache().exists()
            || tree(&w.cache())
                .keys()
                .all(|k| k.starts_with(".staging") || k.is_empty()),
        "{:?}",
        tree(&w.cache()).keys()
    );
    assert!(!w.d.project.join("evil").exists() && !w.d.project.join(".ontoref/evil").exists());

    // No public key configured: refused before any request.
    w.configure(None);
    let before = w.reg.requests().len();
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", &format!("{repo}:unsigned")],
    );
    assert_eq!(error_code(&out), "cosign-key-missing", "{}", stdout(&out));
    assert_eq!(w.reg.requests().len(), before);
}

#[test]
fn a_wrong_password_and_a_dead_registry_are_named() {
    let w = World::new(false);
    let auth = Registry::start_with_auth("robot-agent", "not-the-planted-one");
    w.point_at(auth.endpoint());
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", "domains/agent-first/c:1"],
    );
    assert_eq!(error_code(&out), "registry-auth-failed", "{}", stdout(&out));
    assert!(!stdout(&out).contains("PLANTED-pw"));

    w.point_at(&Registry::down_endpoint());
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", "domains/agent-first/c:1"],
    );
    assert_eq!(error_code(&out), "registry-unreachable", "{}", stdout(&out));
}

/// A publisher's copy of the demo vault with an `access.sops.yaml` holding
/// `user`/`password`, packed by the independent writer and pushed and
/// signed as `src-vault/<id>:latest`. Returns the manifest digest.
fn publish_vault(w: &World, src: &Path, evil: Option<&str>, sign: bool) -> String {
    let tar = w.work.join("vault.tar.gz");
    let mut args = vec!["--src", path_str(src), "--out", path_str(&tar)];
    if let Some(e) = evil {
        args.extend(["--evil", e]);
    }
    let out = crate::registry::oci("make-vault-tar", &args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let repo = "src-vault/agent-first";
    let layer = format!("{}:{VAULT_LAYER}", tar.display());
    let v = ok_json(&w.reg.oci(
        "push-artifact",
        &[
            "--repo",
            repo,
            "--tag",
            "latest",
            "--artifact-type",
            VAULT_TYPE,
            "--layer",
            &layer,
        ],
    ));
    let digest = v["digest"].as_str().unwrap().to_owned();
    if sign {
        w.sign(repo, &digest);
    }
    digest
}

/// The demo vault as a publisher has it: moved out of the config home
/// (so this machine starts empty), plus an access file.
fn publisher_copy(w: &World) -> PathBuf {
    let src = w.work.join("publisher");
    std::fs::rename(w.d.vault(), &src).unwrap();
    let keys = ["admin", "agent"].map(|g| public_key(&w.d.key(g)));
    std::fs::write(
        src.join("access.sops.yaml"),
        sops_file(
            &[
                ("zot_username", "robot-agent"),
                ("zot_password", PLANTED),
                ("vault_key", "vk"),
                ("cosign_password", "cp"),
            ],
            &keys,
        ),
    )
    .unwrap();
    src
}

fn synced_files(w: &World) -> BTreeMap<String, Vec<u8>> {
    let mut t = tree(&w.d.vault());
    t.retain(|k, _| k.starts_with("src-vault") || k == "access.sops.yaml");
    t
}

fn published_files(src: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut t = tree(src);
    t.retain(|k, _| k.starts_with("src-vault") || k == "access.sops.yaml");
    t
}

#[test]
fn sync_installs_a_verified_vault_and_updates_it() {
    let w = World::new(false);
    let src = publisher_copy(&w);
    assert!(!w.d.vault().join("src-vault").exists());
    let digest = publish_vault(&w, &src, None, true);

    // First sync on an empty machine: anonymous (no access file yet).
    let out = w.ontoref(None, &["secrets", "sync"]);
    let v = json_out(&out);
    assert!(out.status.success(), "{v}{}", stderr(&out));
    assert_eq!(v["state"]["digest"], digest, "{v}");
    assert_eq!(v["unchanged"], false);
    assert_eq!(synced_files(&w), published_files(&src));
    let status = json_out(&w.ontoref(None, &["secrets", "status"]));
    assert_eq!(status["last_sync"]["digest"], digest, "{status}");
    assert_eq!(status["synced"], true);

    // The synced vault works: the agent fetches a credential from it.
    let fetched = w.ontoref(
        Some(AGENT),
        &["secrets", "fetch", "domains/agent-first/x:1"],
    );
    assert!(fetched.status.success(), "{}", stdout(&fetched));

    // A changed artifact: a new scope file; the second sync installs it.
    std::fs::write(
        src.join("src-vault/scopes/auditor.ncl"),
        "{ access = 'RO, bound_actor = [\"eve\"], namespaces = [\"domains/**\"], ops = [\"pull\"] }\n",
    )
    .unwrap();
    let digest2 = publish_vault(&w, &src, None, true);
    assert_ne!(digest, digest2);
    let v = json_out(&w.ontoref(None, &["secrets", "sync"]));
    assert_eq!(v["state"]["digest"], digest2, "{v}");
    assert_eq!(v["previous"], digest);
    assert_eq!(synced_files(&w), published_files(&src));

    let records = audit_records(&w);
    let syncs: Vec<&Value> = records.iter().filter(|r| r["op"] == "sync").collect();
    assert_eq!(syncs.len(), 2, "{records:?}");
    assert!(
        syncs
            .iter()
            .any(|r| r["digest"] == digest2 && r["outcome"] == "ok")
    );
}

#[test]
fn every_failed_sync_leaves_the_vault_byte_for_byte() {
    let w = World::new(false);
    let src = publisher_copy(&w);
    publish_vault(&w, &src, None, true);
    let out = w.ontoref(None, &["secrets", "sync"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let good = vault_tree(&w);
    assert!(good.contains_key("access.sops.yaml") && good.contains_key("sync.json"));

    type Breaker = Box<dyn Fn(&World)>;
    let mut failures: Vec<(&str, Breaker)> = Vec::new();
    let s = src.clone();
    failures.push((
        "signature-missing",
        Box::new(move |w| {
            std::fs::write(s.join("src-vault/new.txt"), "x").unwrap();
            publish_vault(w, &s, None, false);
        }),
    ));
    let s = src.clone();
    failures.push((
        "signature-invalid",
        Box::new(move |w| {
            let d = publish_vault(w, &s, None, false);
            w.sign_with(&w.other_keys(), "src-vault/agent-first", &d, &[]);
        }),
    ));
    let s = src.clone();
    failures.push((
        "signature-digest-mismatch",
        Box::new(move |w| {
            let old = publish_vault(w, &s, Some("dotdot"), true);
            std::fs::write(s.join("src-vault/other.txt"), "y").unwrap();
            let d = publish_vault(w, &s, None, false);
            w.sign_with(
                &w.keys.clone(),
                "src-vault/agent-first",
                &d,
                &["--payload-digest", &old],
            );
        }),
    ));
    for evil in ["dotdot", "symlink", "absolute", "hardlink", "device"] {
        let s = src.clone();
        failures.push((
            "artifact-unsafe-path",
            Box::new(move |w| {
                publish_vault(w, &s, Some(evil), true);
            }),
        ));
    }
    let s = src.clone();
    failures.push((
        "artifact-too-large",
        Box::new(move |w| {
            // 80 MiB of zeros compress to about 80 KiB: a bomb the unpack limit stops.
            let f = std::fs::File::create(s.join("src-vault/zeros.bin")).unwrap();
            f.set_len(80 << 20).unwrap();
            publish_vault(w, &s, None, true);
            std::fs::remove_file(s.join("src-vault/zeros.bin")).unwrap();
        }),
    ));
    let s = src.clone();
    failures.push((
        "artifact-invalid",
        Box::new(move |w| {
            // A tampered layer: its bytes changed in the registry's storage.
            publish_vault(w, &s, None, true);
            let blobs = w.reg.storage().join("docker/registry/v2/blobs/sha256");
            let mut tampered = false;
            for (path, bytes) in tree(&blobs) {
                if bytes.len() > 100 && bytes.starts_with(&[0x1f, 0x8b]) {
                    let p = blobs.join(&path);
                    let mut b = std::fs::read(&p).unwrap();
                    let n = b.len();
                    b[n / 2] ^= 0xff;
                    std::fs::write(&p, b).unwrap();
                    tampered = true;
                }
            }
            assert!(tampered, "no gzip blob found to tamper with");
        }),
    ));
    let s = src.clone();
    failures.push((
        "artifact-invalid",
        Box::new(move |w| {
            // A vault without its access file.
            let bare = w.work.join("bare");
            let _ = std::fs::remove_dir_all(&bare);
            std::fs::create_dir_all(&bare).unwrap();
            copy_dir(&s.join("src-vault"), &bare.join("src-vault"));
            publish_vault(w, &bare, None, true);
        }),
    ));

    for (code, break_it) in &failures {
        break_it(&w);
        let out = w.ontoref(None, &["secrets", "sync"]);
        assert_eq!(&error_code(&out), code, "{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            vault_tree(&w),
            good,
            "a failed sync ({code}) changed the vault"
        );
        assert!(!stdout(&out).contains("PLANTED-pw"));
        // Nothing left beside the vault either.
        let stray: Vec<String> = std::fs::read_dir(w.d.vault().parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("staging"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }

    // The registry down.
    w.point_at(&Registry::down_endpoint());
    let out = w.ontoref(None, &["secrets", "sync"]);
    assert_eq!(error_code(&out), "registry-unreachable", "{}", stdout(&out));
    assert_eq!(vault_tree(&w), good);
}

#[test]
fn sync_uses_the_access_file_credentials_and_names_a_wrong_password() {
    let w = World::new(false);
    let src = publisher_copy(&w);
    // Publish to an anonymous registry, sync once (no access file yet).
    publish_vault(&w, &src, None, true);
    assert!(w.ontoref(None, &["secrets", "sync"]).status.success());
    let good = vault_tree(&w);

    // Now a registry that wants the access file's credentials.
    let auth = Registry::start_with_auth("robot-agent", PLANTED);
    let moved = World {
        d: Demo::new(),
        reg: auth,
        keys: w.keys.clone(),
        work: w.work.clone(),
        at: std::sync::Mutex::new(String::new()),
    };
    // Publish the same vault there, then point this project at it.
    let digest = publish_vault(&moved, &src, None, true);
    w.point_at(moved.reg.endpoint());
    let out = w.ontoref(None, &["secrets", "sync"]);
    let v = json_out(&out);
    assert!(out.status.success(), "{v}");
    assert_eq!(v["state"]["digest"], digest);
    assert!(
        moved
            .reg
            .access_log()
            .iter()
            .any(|a| a.status == 200 && a.path.contains("/manifests/"))
    );
    assert!(!stdout(&out).contains("PLANTED-pw") && !stderr(&out).contains("PLANTED-pw"));

    // A registry with another password: named, and the vault unchanged.
    let after = vault_tree(&w);
    let other = Registry::start_with_auth("robot-agent", "another-password");
    w.point_at(other.endpoint());
    let out = w.ontoref(None, &["secrets", "sync"]);
    assert_eq!(error_code(&out), "registry-auth-failed", "{}", stdout(&out));
    assert_eq!(vault_tree(&w), after);
    let _ = good;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A published and synced vault whose admin role binds two admins, with
/// the signing key configured: the starting point of the lock tests.
fn editable(w: &World) -> PathBuf {
    let src = publisher_copy(w);
    let admin = src.join("src-vault/scopes/admin.ncl");
    let text = std::fs::read_to_string(&admin).unwrap();
    std::fs::write(
        &admin,
        text.replace("[\"admin-root\"]", "[\"admin-root\", \"admin-bob\"]"),
    )
    .unwrap();
    let project = w.d.project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&project).unwrap();
    let bound = text.replacen(
        "\"admin-root\" = \"admin\",",
        "\"admin-root\" = \"admin\",\n      \"admin-bob\" = \"admin\",",
        1,
    );
    assert_ne!(text, bound);
    std::fs::write(&project, bound).unwrap();
    std::fs::write(
        w.d.home.join("config.ncl"),
        format!(
            "{{ vault = {{ cosign = {{ pub_path = \"{}\", key_path = \"{}\" }}, registry_timeout_secs = 5 }} }}\n",
            w.keys.join("cosign.pub").display(),
            w.keys.join("cosign.key").display()
        ),
    )
    .unwrap();
    publish_vault(w, &src, None, true);
    let out = w.ontoref(None, &["secrets", "sync"]);
    assert!(out.status.success(), "{}", stdout(&out));
    src
}

/// `ontoref` as `actor` with another config home (another machine).
fn elsewhere(w: &World, home: &Path, actor: &str, args: &[&str]) -> Output {
    let mut c = w.d.cmd();
    c.env("ONTOREF_CONFIG_HOME", home)
        .env("ONTOREF_ACTOR", actor)
        .arg("--project")
        .arg(&w.d.project)
        .args(args);
    c.output().unwrap()
}

fn copy_home(w: &World, name: &str) -> PathBuf {
    let home = w.work.join(name);
    copy_dir(&w.d.home, &home);
    home
}

#[test]
fn open_edit_close_publishes_a_signed_reproducible_vault() {
    let w = World::new(false);
    editable(&w);
    let vault = w.d.vault();

    // An 'RO role may not open.
    let out = w.ontoref(Some(AGENT), &["secrets", "open"]);
    assert_eq!(error_code(&out), "op-not-in-scope", "{}", stdout(&out));
    // A developer ('RW, but not on src-vault/) may not either.
    let out = w.ontoref(Some("dev-alice"), &["secrets", "open"]);
    assert_eq!(error_code(&out), "target-not-in-scope", "{}", stdout(&out));
    // Close without the lock is refused.
    let out = w.ontoref(Some("admin-root"), &["secrets", "close"]);
    assert_eq!(error_code(&out), "vault-lock-not-held", "{}", stdout(&out));

    let out = w.ontoref(Some("admin-root"), &["secrets", "open"]);
    let opened = json_out(&out);
    assert!(out.status.success(), "{opened}");
    assert_eq!(opened["lock"]["holder"], "admin-root");
    let lock = ok_json(&w.reg.oci(
        "pull-artifact",
        &[
            "--repo",
            "src-vault/agent-first",
            "--ref",
            "lock",
            "--out",
            path_str(&w.work.join("lock")),
        ],
    ));
    assert_eq!(lock["digest"], opened["lock_digest"], "{lock}");

    // Edit: add a credential file, remove one.
    let keys = ["admin", "agent"].map(|g| public_key(&w.d.key(g)));
    std::fs::write(
        vault.join("src-vault/registry/new.sops.yaml"),
        sops_file(&[("username", "u"), ("password", "p")], &keys),
    )
    .unwrap();
    std::fs::remove_file(vault.join("src-vault/registry/team-ro.sops.yaml")).unwrap();

    let out =
        w.d.cmd()
            .env("ONTOREF_ACTOR", "admin-root")
            .env("ONTOREF_SECRETS_YES", "1")
            .arg("--project")
            .arg(&w.d.project)
            .args(["secrets", "close"])
            .output()
            .unwrap();
    let closed = json_out(&out);
    assert!(out.status.success(), "{closed}{}", stderr(&out));
    let changes: Vec<(String, String)> = closed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_owned(),
                c["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("src-vault/registry/new.sops.yaml".into(), "added".into())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&(
            "src-vault/registry/team-ro.sops.yaml".into(),
            "removed".into()
        )),
        "{changes:?}"
    );
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(!stdout(&out).contains("\"p\"") && !stdout(&out).contains("PLANTED-pw"));
    let digest = closed["digest"].as_str().unwrap().to_owned();

    // The independent side reads our push back and verifies our signature.
    let v = ok_json(&w.reg.oci(
        "verify",
        &[
            "--repo",
            "src-vault/agent-first",
            "--ref",
            "latest",
            "--pub",
            path_str(&w.keys.join("cosign.pub")),
        ],
    ));
    assert_eq!(v["digest"], digest, "{v}");
    let pulled = w.work.join("pulled");
    let p = ok_json(&w.reg.oci(
        "pull-artifact",
        &[
            "--repo",
            "src-vault/agent-first",
            "--ref",
            "latest",
            "--out",
            path_str(&pulled),
        ],
    ));
    assert_eq!(p["artifactType"], VAULT_TYPE);
    // The lock is released: another admin may open now, and a re-close of
    // the same vault pushes the same digest.
    let out = w.ontoref(Some("admin-bob"), &["secrets", "open"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let again = json_out(&w.ontoref(Some("admin-bob"), &["secrets", "close"]));
    assert_eq!(
        again["digest"], digest,
        "the same vault packs to the same digest: {again}"
    );
    assert_eq!(again["changes"].as_array().unwrap().len(), 0, "{again}");

    // Another machine syncs what was published.
    let other = copy_home(&w, "home-b");
    std::fs::remove_dir_all(other.join("vaults")).unwrap();
    let out = elsewhere(&w, &other, "admin-root", &["secrets", "sync"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        other
            .join("vaults/agent-first/src-vault/registry/new.sops.yaml")
            .is_file()
    );
    assert!(
        !other
            .join("vaults/agent-first/src-vault/registry/team-ro.sops.yaml")
            .exists()
    );

    let records = audit_records(&w);
    for op in ["open", "close"] {
        assert!(
            records
                .iter()
                .any(|r| r["op"] == op && r["outcome"] == "ok" && r["digest"].is_string()),
            "{op}: {records:?}"
        );
    }
}

#[test]
fn the_lock_is_exclusive_expires_and_can_be_broken() {
    let w = World::new(false);
    editable(&w);
    let b_home = copy_home(&w, "home-b");

    let out = w.ontoref(Some("admin-root"), &["secrets", "open"]);
    assert!(out.status.success(), "{}", stdout(&out));
    // Another admin on another machine is refused, told who holds it.
    let out = elsewhere(&w, &b_home, "admin-bob", &["secrets", "open"]);
    assert_eq!(error_code(&out), "vault-locked", "{}", stdout(&out));
    let message = json_out(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("admin-root") && message.contains("until"),
        "{message}"
    );
    // And may not close it.
    let out = elsewhere(&w, &b_home, "admin-bob", &["secrets", "close"]);
    assert_eq!(error_code(&out), "vault-lock-not-held", "{}", stdout(&out));

    // force-unlock: not for an 'RO role; an admin may, and it is audited.
    let out = w.ontoref(Some(AGENT), &["secrets", "force-unlock"]);
    assert_eq!(error_code(&out), "op-not-in-scope", "{}", stdout(&out));
    let out = elsewhere(&w, &b_home, "admin-bob", &["secrets", "force-unlock"]);
    let v = json_out(&out);
    assert!(out.status.success(), "{v}");
    assert_eq!(v["broken"]["holder"], "admin-root");
    // The broken holder can no longer close.
    let out = w.ontoref(Some("admin-root"), &["secrets", "close"]);
    assert_eq!(error_code(&out), "vault-lock-not-held", "{}", stdout(&out));

    // An expired lock (pushed by the independent writer) is taken over.
    let expired = w.work.join("expired.json");
    std::fs::write(
        &expired,
        r#"{"holder":"someone","host":"gone","taken_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T01:00:00Z","nonce":"00"}"#,
    )
    .unwrap();
    ok_json(&w.reg.oci(
        "push-artifact",
        &[
            "--repo",
            "src-vault/agent-first",
            "--tag",
            "lock",
            "--artifact-type",
            "application/vnd.ontoref.src-vault.lock.v1",
            "--layer",
            &format!(
                "{}:application/vnd.ontoref.src-vault.lock.v1+json",
                expired.display()
            ),
        ],
    ));
    let out = elsewhere(&w, &b_home, "admin-bob", &["secrets", "open"]);
    assert!(out.status.success(), "{}", stdout(&out));

    let b_log = elsewhere(
        &w,
        &b_home,
        "admin-bob",
        &["secrets", "audit-log", "--limit", "500"],
    );
    let records = json_out(&b_log)["records"].as_array().cloned().unwrap();
    assert!(
        records.iter().any(|r| r["op"] == "force-unlock"
            && r["outcome"] == "ok"
            && r["actor"] == "admin-bob"),
        "{records:?}"
    );
}

#[test]
fn two_openers_racing_publish_at_most_once() {
    let w = World::new(false);
    editable(&w);
    let homes = [copy_home(&w, "home-a"), copy_home(&w, "home-b")];
    let actors = ["admin-root", "admin-bob"];
    let opens: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = homes
            .iter()
            .zip(actors)
            .map(|(h, a)| s.spawn(|| elsewhere(&w, h, a, &["secrets", "open"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<bool> = opens.iter().map(|o| o.status.success()).collect();
    assert!(won.iter().any(|w| *w), "neither open succeeded");
    for (o, ok) in opens.iter().zip(&won) {
        if !ok {
            assert_eq!(error_code(o), "vault-locked", "{}", stdout(o));
        }
    }
    // Whoever believes they hold it tries to publish: at most one push lands.
    let closes: Vec<Output> = homes
        .iter()
        .zip(actors)
        .map(|(h, a)| elsewhere(&w, h, a, &["secrets", "close"]))
        .collect();
    let published = closes.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        published,
        1,
        "{:?}",
        closes.iter().map(stdout).collect::<Vec<_>>()
    );
    for o in closes.iter().filter(|o| !o.status.success()) {
        assert_eq!(error_code(o), "vault-lock-not-held", "{}", stdout(o));
    }
}

#[test]
fn recover_restores_the_access_file_alone() {
    let w = World::new(false);
    editable(&w);
    let vault = w.d.vault();
    let access = std::fs::read(vault.join("access.sops.yaml")).unwrap();
    std::fs::remove_file(vault.join("access.sops.yaml")).unwrap();
    let before = vault_tree(&w);
    let out = w.ontoref(None, &["secrets", "recover", "--from-registry"]);
    let v = json_out(&out);
    assert!(out.status.success(), "{v}");
    assert_eq!(
        std::fs::read(vault.join("access.sops.yaml")).unwrap(),
        access
    );
    let mut after = vault_tree(&w);
    after.remove("access.sops.yaml");
    assert_eq!(after, before, "recover changed more than access.sops.yaml");
    // Unsigned: refused, nothing restored.
    std::fs::remove_file(vault.join("access.sops.yaml")).unwrap();
    let src = w.work.join("publisher");
    std::fs::write(src.join("src-vault/x.txt"), "x").unwrap();
    publish_vault(&w, &src, None, false);
    let out = w.ontoref(None, &["secrets", "recover", "--from-registry"]);
    assert_eq!(error_code(&out), "signature-missing", "{}", stdout(&out));
    assert!(!vault.join("access.sops.yaml").exists());
}

#[test]
fn sync_draws_a_progress_bar_on_a_terminal_only() {
    let w = World::new(false);
    let src = publisher_copy(&w);
    publish_vault(&w, &src, None, true);
    let line = format!(
        "{} --project {} secrets sync",
        crate::util::bin(),
        w.d.project.display()
    );
    let home = w.d.home.display().to_string();
    let run = w.d.run.display().to_string();
    let text = crate::util::run_in_tty(
        &w.d.sb,
        &line,
        &[
            ("ONTOREF_CONFIG_HOME", &home),
            ("ONTOREF_RUNTIME_DIR", &run),
        ],
    );
    assert!(
        text.contains("downloading [") && text.contains("100%"),
        "{text}"
    );
    // Piped (an agent): JSON only, no bar.
    let out = w.ontoref(None, &["secrets", "sync"]);
    assert!(!stderr(&out).contains("downloading"), "{}", stderr(&out));
    assert!(json_out(&out)["state"]["digest"].is_string());
}

#[test]
fn a_registry_that_never_answers_is_cut_off_by_the_configured_timeout() {
    let w = World::new(false);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = silent.local_addr().unwrap().to_string();
    // Accept connections and say nothing.
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().take(8) {
            held.push(s);
        }
    });
    w.point_at(&endpoint);
    std::fs::write(
        w.d.home.join("config.ncl"),
        format!(
            "{{ vault = {{ cosign = {{ pub_path = \"{}\" }}, registry_timeout_secs = 1 }} }}\n",
            w.keys.join("cosign.pub").display()
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = w.ontoref(
        Some(AGENT),
        &["artifact", "pull", "domains/agent-first/c:1"],
    );
    let took = started.elapsed();
    assert_eq!(error_code(&out), "registry-unreachable", "{}", stdout(&out));
    let message = json_out(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("1 s"), "{message}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    drop(hold);
}

#[test]
fn a_layer_without_a_title_is_written_under_its_digest() {
    let w = World::new(true);
    let repo = "modes/agent-first/release";
    let digest = w.push(
        repo,
        "2.0.0",
        "application/vnd.ontoref.mode.v1",
        &[
            ("provisioning.ncl", "{ steps = [] }\n", "provisioning.ncl"),
            ("untitled", "raw bytes\n", ""),
        ],
    );
    w.sign(repo, &digest);
    let p = json_out(&w.ontoref(Some(AGENT), &["artifact", "pull", &format!("{repo}:2.0.0")]));
    assert_eq!(p["media_type"], "application/vnd.ontoref.mode.v1", "{p}");
    let paths: Vec<&str> = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let layer = sha256_digest(b"raw bytes\n").replace(':', "-");
    assert!(paths[0].ends_with("/provisioning.ncl"), "{paths:?}");
    assert!(paths[1].ends_with(&format!("/{layer}")), "{paths:?}");
    assert_eq!(
        std::fs::read(w.d.project.join(paths[1])).unwrap(),
        b"raw bytes\n"
    );
}

#[test]
fn close_signs_with_an_encrypted_cosign_key_unlocked_by_the_access_file() {
    let w = World::new(false);
    editable(&w);
    // An encrypted cosign key whose password is the access file's cosign_password ("cp").
    let enc = w.work.join("enc-keys");
    ok_json(&crate::registry::oci(
        "keygen",
        &["--out", path_str(&enc), "--password", "cp"],
    ));
    assert!(
        std::fs::read_to_string(enc.join("cosign.key"))
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    );
    // Vault artifacts are verified with `pub_dir`'s key and pushed with `key_dir`'s.
    let config = |pub_dir: &Path, key_dir: &Path| {
        std::fs::write(
            w.d.home.join("config.ncl"),
            format!(
                "{{ vault = {{ cosign = {{ pub_path = \"{}\", key_path = \"{}\" }} }} }}\n",
                pub_dir.join("cosign.pub").display(),
                key_dir.join("cosign.key").display()
            ),
        )
        .unwrap();
    };
    let keys = w.keys.clone();
    config(&keys, &enc);
    let out = w.ontoref(Some("admin-root"), &["secrets", "open"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let out = w.ontoref(Some("admin-root"), &["secrets", "close"]);
    let closed = json_out(&out);
    assert!(out.status.success(), "{closed}");
    // Signed with the encrypted key: the independent side verifies it with that key's public half.
    let v = ok_json(&w.reg.oci(
        "verify",
        &[
            "--repo",
            "src-vault/agent-first",
            "--ref",
            "latest",
            "--pub",
            path_str(&enc.join("cosign.pub")),
        ],
    ));
    assert_eq!(v["digest"], closed["digest"]);
    assert!(!stdout(&out).contains("\"cp\""));

    // A key whose password is not the access file's: named, and nothing pushed.
    let other = w.work.join("other-enc");
    ok_json(&crate::registry::oci(
        "keygen",
        &["--out", path_str(&other), "--password", "not-cp"],
    ));
    config(&enc, &other);
    let out = w.ontoref(Some("admin-root"), &["secrets", "open"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let before = w.reg.oci(
        "get-tag",
        &["--repo", "src-vault/agent-first", "--tag", "latest"],
    );
    let out = w.ontoref(Some("admin-root"), &["secrets", "close"]);
    assert_eq!(
        error_code(&out),
        "cosign-password-wrong",
        "{}",
        stdout(&out)
    );
    let after = w.reg.oci(
        "get-tag",
        &["--repo", "src-vault/agent-first", "--tag", "latest"],
    );
    assert_eq!(
        before.stdout, after.stdout,
        "a close that could not sign pushed something"
    );
}

#[test]
fn with_a_rekor_key_configured_only_logged_signatures_count() {
    let w = World::new(false);
    let repo = "domains/agent-first/logged";
    let digest = w.push(
        repo,
        "1.0",
        DOMAIN_TYPE,
        &[("contract.ncl", CONTRACT, "contract.ncl")],
    );
    let target = format!("{repo}:1.0");
    // Two test transparency logs (P-256 key pairs, as cosign keys are).
    let log = w.work.join("log");
    let other_log = w.work.join("other-log");
    for d in [&log, &other_log] {
        ok_json(&crate::registry::oci("keygen", &["--out", path_str(d)]));
    }
    std::fs::write(
        w.d.home.join("config.ncl"),
        format!(
            "{{ vault = {{ cosign = {{ pub_path = \"{}\", rekor_pub_path = \"{}\" }}, \
             registry_timeout_secs = 5 }} }}\n",
            w.keys.join("cosign.pub").display(),
            log.join("cosign.pub").display()
        ),
    )
    .unwrap();
    let key = w.keys.join("cosign.key");
    let sign = |extra: &[&str]| {
        let mut args = vec!["--repo", repo, "--digest", &digest, "--key", path_str(&key)];
        args.extend_from_slice(extra);
        let out = w.reg.oci("sign", &args);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    };
    // Signed but not logged; logged in another log: refused.
    sign(&[]);
    let out = w.ontoref(Some(AGENT), &["artifact", "verify", &target]);
    assert_eq!(
        error_code(&out),
        "signature-set-invalid",
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("no `dev.sigstore.cosign/bundle` annotation"),
        "{}",
        stdout(&out)
    );
    sign(&["--rekor-key", path_str(&other_log.join("cosign.key"))]);
    let out = w.ontoref(Some(AGENT), &["artifact", "verify", &target]);
    assert_eq!(
        error_code(&out),
        "signature-set-invalid",
        "{}",
        stdout(&out)
    );
    // Logged in the configured log: it verifies, and the pull goes through.
    sign(&["--rekor-key", path_str(&log.join("cosign.key"))]);
    let v = json_out(&w.ontoref(Some(AGENT), &["artifact", "verify", &target]));
    assert_eq!(v["digest"], digest, "{v}");
    let out = w.ontoref(Some(AGENT), &["artifact", "pull", &target]);
    assert!(out.status.success(), "{}", stdout(&out));
}
