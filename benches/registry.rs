//! The OCI layer over loopback, against a private Debian `docker-registry`
//! (started here, stopped at the end). Run with `cargo bench --bench
//! registry` (`-- --quick` for a smoke run, as CI does).
//!
//! In process, through `ontoref_tools::Engine` configured as the binary is
//! (Nickel in worker processes):
//! - `secrets sync` of a vault with 50 credential files: resolve, signature
//!   lookup and verification, manifest, layer, safe unpack, checks (every
//!   SOPS file parsed, every scope through its contract), atomic swap,
//!   audit;
//! - `ontoref_artifact_pull` of a 100 KiB domain artifact (gate, credential
//!   decrypted, resolve, signature, manifest, layers, contract typechecked,
//!   files written, audit), the cache emptied before each;
//! - the cached re-pull by tag (resolve, files re-hashed, audit) and by
//!   digest (no request at all: the sealed record and the files re-hashed).

#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ontoref_tools::registry::archive;
use ontoref_tools::registry::client::{Auth, Layer, Remote, Settings};
use ontoref_tools::registry::signing::{self, SigningKey};
use ontoref_tools::vault::fetch::decrypt_file;
use ontoref_tools::vault::key::{Identities, KeySource};
use ontoref_tools::vault::sops::{EncryptOptions, Rule, encrypt};
use ontoref_tools::vault::sync::{self, SyncOptions};
use ontoref_tools::{Engine, EngineConfig};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

use common::{fmt, percentile};

/// A private registry, killed when dropped.
struct Registry {
    child: Child,
    endpoint: String,
}

impl Registry {
    /// With htpasswd auth for `user` (bcrypt at the lowest cost, 4), as a
    /// team registry is run.
    fn start(dir: &Path, user: &str, password: &str) -> Registry {
        std::fs::create_dir_all(dir).expect("registry dir");
        let htpasswd = dir.join("htpasswd");
        let made = Command::new("htpasswd")
            .args(["-B", "-C", "4", "-b", "-c"])
            .arg(&htpasswd)
            .args([user, password])
            .output()
            .expect("htpasswd (Debian apache2-utils; scripts/test.sh installs it)");
        assert!(made.status.success(), "htpasswd failed");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:0\n  secret: bench\nauth:\n  htpasswd:\n    realm: bench\n    path: {}\n",
                dir.join("data").display(),
                htpasswd.display()
            ),
        )
        .expect("registry config");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-registry (the Debian package; scripts/test.sh installs it)");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let ep: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(ep);
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("docker-registry did not start listening");
        Registry { child, endpoint }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (percentile(samples, 0.5), percentile(samples, 0.99))
}

fn row(what: &str, value: String, target: &str) {
    println!("{what:<62} {value:>20}   {target}");
}

/// A fresh P-256 key pair as PEM (random bytes from the OS via uuid v4).
fn keypair(dir: &Path) -> (PathBuf, PathBuf) {
    let secret = loop {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let key = dir.join("cosign.key");
    let public = dir.join("cosign.pub");
    std::fs::write(
        &key,
        secret.to_pkcs8_pem(LineEnding::LF).expect("pem").as_bytes(),
    )
    .expect("key");
    std::fs::write(
        &public,
        secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
    )
    .expect("pub");
    (key, public)
}

fn sops(fields: &[(&str, &str)], keys: &[age::x25519::Recipient]) -> String {
    let mut m = serde_yaml::Mapping::new();
    for (k, v) in fields {
        m.insert((*k).into(), (*v).into());
    }
    encrypt(
        &serde_yaml::Value::Mapping(m),
        keys,
        &EncryptOptions {
            rule: Rule::default(),
            mac_only_encrypted: false,
            lastmodified: "2026-11-30T10:00:00Z".into(),
        },
    )
    .expect("sops encrypt")
}

fn public_key(identity_file: &Path) -> age::x25519::Recipient {
    std::fs::read_to_string(identity_file)
        .expect("identity")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .expect("public key line")
        .parse()
        .expect("recipient")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 5 } else { 200 };
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The demo project and vault; its agent's registry credential is the
    // registry's user.
    let home = t.join("home");
    let run = t.join("run");
    std::fs::create_dir_all(&run).expect("run");
    let project = t.join("demo");
    let base = EngineConfig {
        cache_dir: Some(t.join("cache")),
        config_home: Some(home.clone()),
        runtime_dir: Some(run.clone()),
        isolation: ontoref_tools::nickel::Isolation::Worker {
            program: PathBuf::from(env!("CARGO_BIN_EXE_ontoref")),
            memory_mb: 4096,
        },
        ..EngineConfig::default()
    };
    let demo = rt
        .block_on(ontoref_tools::vault::demo::setup(
            &project, &home, &base, false,
        ))
        .expect("demo vault");
    let vault_dir = PathBuf::from(demo.vault_dir.clone());
    let ids =
        Identities::read(Path::new(&demo.keys["agent"]), KeySource::Project).expect("agent key");
    let agent_file = vault_dir.join("src-vault/registry/agent-readonly.sops.yaml");
    let plain = decrypt_file(&agent_file, "agent-readonly.sops.yaml", &ids).expect("decrypt");
    let (user, password) = (
        plain.get_str("username").expect("username"),
        plain.get_str("password").expect("password"),
    );
    let reg = Registry::start(&t.join("registry"), &user, &password);
    println!(
        "ontoref registry benchmark{} — docker-registry on {}; {} cores",
        if quick { " (quick)" } else { "" },
        reg.endpoint,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let manifest = project.join(".ontology/manifest.ncl");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace("registry.acme.internal:5000", &reg.endpoint),
    )
    .expect("manifest");
    let project_file = project.join(".ontoref/project.ncl");
    let text = std::fs::read_to_string(&project_file).expect("project");
    std::fs::write(
        &project_file,
        text.replacen(
            "    enabled = true,\n",
            &format!(
                "    enabled = true,\n    registry_endpoint = \"{}\",\n",
                reg.endpoint
            ),
            1,
        ),
    )
    .expect("project");
    let (key_path, pub_path) = keypair(t);
    std::fs::write(
        home.join("config.ncl"),
        format!(
            "{{ vault = {{ cosign = {{ pub_path = \"{}\", key_path = \"{}\" }} }} }}\n",
            pub_path.display(),
            key_path.display()
        ),
    )
    .expect("config.ncl");
    let signer = SigningKey::from_pem(
        &std::fs::read_to_string(&key_path).expect("key"),
        "cosign.key",
        None,
    )
    .expect("signing key");
    let remote = Remote::new(
        &reg.endpoint,
        Auth::Basic {
            username: user.clone(),
            password: password.clone(),
            source: "bench".into(),
        },
        &Settings::default(),
    );
    let publish = |repo: &str, tag: &str, artifact_type: &str, layers: Vec<Layer>| -> String {
        rt.block_on(async {
            let digest = remote
                .push_artifact(repo, tag, artifact_type, layers, BTreeMap::new())
                .await
                .expect("push");
            let payload = signing::payload(&format!("{}/{repo}", reg.endpoint), &digest);
            let sig = signer.sign(&payload);
            remote
                .push_signature(repo, &digest, payload, sig)
                .await
                .expect("sign");
            digest
        })
    };

    // A vault with 50 credential files, published signed.
    let keys: Vec<age::x25519::Recipient> = ["admin", "agent"]
        .iter()
        .map(|g| public_key(Path::new(&demo.keys[*g])))
        .collect();
    let publisher = t.join("publisher");
    copy_dir(&vault_dir.join("src-vault"), &publisher.join("src-vault"));
    std::fs::create_dir_all(publisher.join("src-vault/registry")).expect("registry dir");
    for i in 0..50 {
        std::fs::write(
            publisher.join(format!("src-vault/registry/cred-{i:02}.sops.yaml")),
            sops(
                &[
                    ("username", &format!("robot-{i}")),
                    ("password", "bench-password"),
                ],
                &keys,
            ),
        )
        .expect("credential");
    }
    std::fs::write(
        publisher.join("access.sops.yaml"),
        sops(
            &[("zot_username", &user), ("zot_password", &password)],
            &keys,
        ),
    )
    .expect("access");
    let (packed, files) =
        archive::pack(&publisher, &["access.sops.yaml", "src-vault"], "bench").expect("pack");
    let vault_digest = publish(
        "src-vault/agent-first",
        "latest",
        sync::VAULT_ARTIFACT_TYPE,
        vec![Layer {
            data: packed.clone(),
            media_type: archive::VAULT_LAYER_MEDIA_TYPE.into(),
            annotations: BTreeMap::new(),
        }],
    );
    println!(
        "vault artifact: {} files, layer {:.1} KiB, {vault_digest}",
        files.len(),
        packed.len() as f64 / 1024.0
    );

    let admin = Engine::new(EngineConfig {
        project: Some(project.clone()),
        actor: Some("admin-root".into()),
        ..base.clone()
    })
    .expect("engine");
    let opts = SyncOptions::default();
    let synced = rt.block_on(sync::sync(&admin, &opts)).expect("first sync");
    assert_eq!(synced.state.digest, vault_digest);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        let s = rt.block_on(sync::sync(&admin, &opts)).expect("sync");
        samples.push(t0.elapsed());
        assert_eq!(s.files.len(), files.len());
    }
    // The first and last tenth apart: a cost that grew with repetition (a
    // log, a cache) would show as a gap between them.
    let tenth = (samples.len() / 10).max(1);
    let (early, _) = stats(&mut samples[..tenth].to_vec());
    let (late, _) = stats(&mut samples[samples.len() - tenth..].to_vec());
    let (p50, p99) = stats(&mut samples);
    row(
        "secrets sync: p50 of the first / last tenth of the rounds",
        format!("{} / {}", fmt(early), fmt(late)),
        "(flat when nothing grows)",
    );
    row(
        "secrets sync, 50 credential files: p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 50 ms",
    );

    // A 100 KiB domain artifact: contract.ncl and a 100 KiB data file.
    let contract =
        b"{ Access = { host | String, port | Number, paths | Array String } }\n".to_vec();
    let mut data = String::from("{\"paths\": [");
    let mut i = 0;
    while data.len() < 100 * 1024 {
        data.push_str(&format!("\"/srv/data/{i:06}\","));
        i += 1;
    }
    data.push_str("\"/end\"]}\n");
    let title =
        |t: &str| BTreeMap::from([(String::from("org.opencontainers.image.title"), t.to_owned())]);
    let domain_digest = publish(
        "domains/agent-first/bench",
        "1.0.0",
        ontoref_tools::registry::artifact::DOMAIN_MEDIA_TYPE,
        vec![
            Layer {
                data: contract,
                media_type: "text/x-nickel".into(),
                annotations: title("contract.ncl"),
            },
            Layer {
                data: data.into_bytes(),
                media_type: "application/json".into(),
                annotations: title("example.json"),
            },
        ],
    );
    let agent = Engine::new(EngineConfig {
        project: Some(project.clone()),
        actor: Some("agent-bot".into()),
        ..base.clone()
    })
    .expect("engine");
    let cache = project.join(".ontoref/cache/oci");
    let pull = || {
        rt.block_on(ontoref_tools::registry::artifact::pull(
            &agent,
            "domains/agent-first/bench:1.0.0",
            None,
            true,
        ))
        .expect("pull")
    };
    let first = pull();
    assert_eq!(first.digest, domain_digest);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(&cache);
        let t0 = Instant::now();
        let p = pull();
        samples.push(t0.elapsed());
        assert!(!p.cached);
    }
    let (p50, p99) = stats(&mut samples);
    row(
        "artifact pull + verify, 100 KiB domain artifact: p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 20 ms",
    );
    let repull = |target: &str| {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let t0 = Instant::now();
            let p = rt
                .block_on(ontoref_tools::registry::artifact::pull(
                    &agent, target, None, true,
                ))
                .expect("pull");
            samples.push(t0.elapsed());
            assert!(p.cached);
        }
        stats(&mut samples)
    };
    let (p50, p99) = repull("domains/agent-first/bench:1.0.0");
    row(
        "cached re-pull by tag (one manifest GET + re-hash): p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "(the floor's request + ours)",
    );
    let (p50, p99) = repull(&format!("domains/agent-first/bench@{domain_digest}"));
    row(
        "cached re-pull by digest (no request; re-hash): p50 / p99",
        format!("{} / {}", fmt(p50), fmt(p99)),
        "p50 ≤ 2 ms",
    );

    // The floor: the same registry requests through the bare client (a
    // reused connection, no gate, no checks, nothing written), so the rows
    // above can be read as floor + ontoref's own work.
    let bare = &remote;
    let floor = |f: &dyn Fn() -> usize| {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let t0 = Instant::now();
            f();
            samples.push(t0.elapsed());
        }
        stats(&mut samples)
    };
    let (h50, h99) = floor(&|| {
        rt.block_on(bare.manifest_at_tag("domains/agent-first/bench", "1.0.0"))
            .expect("manifest")
            .raw
            .len()
    });
    row(
        "floor: one manifest GET (the cached re-pull's request): p50 / p99",
        format!("{} / {}", fmt(h50), fmt(h99)),
        "(reference)",
    );
    let requests = |repo: &str, tag: &str| {
        rt.block_on(async {
            let m = bare.manifest_at_tag(repo, tag).await.expect("manifest");
            let d = m.digest.clone();
            let sig = bare
                .manifest_at_tag(
                    repo,
                    &ontoref_tools::registry::client::signature_tag(&d).expect("tag"),
                )
                .await
                .expect("sig");
            let mut n = 0;
            for l in &sig.manifest.layers {
                n += bare.blob(repo, l, 1 << 20).await.expect("sig blob").len();
            }
            for l in &m.manifest.layers {
                n += bare.blob(repo, l, 64 << 20).await.expect("layer").len();
            }
            n
        })
    };
    let (f50, f99) = floor(&|| requests("domains/agent-first/bench", "1.0.0"));
    row(
        "floor: a pull's requests (manifest, signature + payload, 2 layers)",
        format!("{} / {}", fmt(f50), fmt(f99)),
        "(reference)",
    );
    // The same requests overlapped as a pull overlaps them: the manifest,
    // then the signature chain beside the layers.
    let overlapped = |repo: &str, tag: &str| {
        rt.block_on(async {
            let m = bare.manifest_at_tag(repo, tag).await.expect("manifest");
            let sig_tag = ontoref_tools::registry::client::signature_tag(&m.digest).expect("tag");
            let sig_chain = async {
                let sig = bare.manifest_at_tag(repo, &sig_tag).await.expect("sig");
                let mut n = 0;
                for l in &sig.manifest.layers {
                    n += bare.blob(repo, l, 1 << 20).await.expect("sig blob").len();
                }
                n
            };
            let layers = futures_util::future::join_all(
                m.manifest
                    .layers
                    .iter()
                    .map(|l| bare.blob(repo, l, 64 << 20)),
            );
            let (n, blobs) = tokio::join!(sig_chain, layers);
            n + blobs
                .into_iter()
                .map(|b| b.expect("layer").len())
                .sum::<usize>()
        })
    };
    let (o50, o99) = floor(&|| overlapped("domains/agent-first/bench", "1.0.0"));
    row(
        "floor: the same requests overlapped as a pull overlaps them",
        format!("{} / {}", fmt(o50), fmt(o99)),
        "(reference)",
    );
    let (b50, b99) = rt.block_on(async {
        let m = bare
            .manifest_at_tag("domains/agent-first/bench", "1.0.0")
            .await
            .expect("manifest");
        let big = m.manifest.layers.last().expect("a layer").clone();
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let t0 = Instant::now();
            bare.blob("domains/agent-first/bench", &big, 64 << 20)
                .await
                .expect("blob");
            samples.push(t0.elapsed());
        }
        stats(&mut samples)
    });
    row(
        "floor: one blob GET (the 100 KiB layer)",
        format!("{} / {}", fmt(b50), fmt(b99)),
        "(reference)",
    );
    let (v50, v99) = floor(&|| requests("src-vault/agent-first", "latest"));
    row(
        "floor: a sync's requests (manifest, signature + payload, layer)",
        format!("{} / {}", fmt(v50), fmt(v99)),
        "(reference)",
    );
    drop(reg);
}
