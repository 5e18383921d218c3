//! The OCI test harness: a private Debian `docker-registry` (distribution
//! 2.8.2) per test, with or without htpasswd auth, whose access log the test
//! can read; the independent writer/reader `tests/support/oci.py` (artifacts,
//! cosign simple-signing signatures, vault tarballs) run with the test venv's
//! Python; and the smoke tests proving both, with `skopeo` as a second
//! independent reader.
//!
//! Nothing here is skipped when a tool is missing: `docker-registry`,
//! `skopeo` and `htpasswd` come from Debian packages that `scripts/test.sh`
//! installs (as CI does), and a test without them fails saying so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{path_str, repo, stderr, stdout};

/// How long the registry may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `requests()` waits for its sync request to reach the access log.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// The query of the harness's own sync requests, left out of `requests()`.
const SYNC_QUERY: &str = "ontoref-harness-sync=";

/// One line of the registry's access log (Apache combined format on its
/// stdout, e.g. `127.0.0.1 - - [30/Nov/2026:20:10:59 +0000] "GET /v2/
/// HTTP/1.1" 200 2 "" "curl/7.88.1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) method: String,
    /// The request URI as sent (path and query).
    pub(crate) path: String,
    pub(crate) status: u16,
}

impl Access {
    fn parse(line: &str) -> Option<Access> {
        let (_, rest) = line.split_once(" \"")?;
        let (request, rest) = rest.split_once("\" ")?;
        let mut words = request.split(' ');
        let method = words.next()?.to_owned();
        let path = words.next()?.to_owned();
        let status = rest.split(' ').next()?.parse().ok()?;
        Some(Access {
            method,
            path,
            status,
        })
    }
}

/// A private `docker-registry serve` on 127.0.0.1 with its own storage,
/// killed and reaped when dropped (so also when a test panics).
pub(crate) struct Registry {
    child: Option<Child>,
    endpoint: String,
    dir: tempfile::TempDir,
    credentials: Option<(String, String)>,
    /// The access log (the child's stdout), a line each.
    access: Arc<Mutex<Vec<String>>>,
    /// The server log (the child's stderr, logrus text format).
    log: Arc<Mutex<Vec<String>>>,
    syncs: AtomicU64,
}

impl Registry {
    /// A registry without authentication.
    pub(crate) fn start() -> Registry {
        Registry::spawn(None)
    }

    /// A registry requiring HTTP Basic auth for `user`/`password` (an
    /// htpasswd file made by `htpasswd -B`: the registry takes bcrypt only).
    pub(crate) fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::spawn(Some((user.to_owned(), password.to_owned())))
    }

    fn spawn(credentials: Option<(String, String)>) -> Registry {
        let binary = require_tool("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().expect("registry tempdir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("registry storage");
        let quote = |p: &Path| serde_json::to_string(path_str(p)).expect("quote path");
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n  formatter: text\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:0\n  secret: ontoref-test-harness\n",
            quote(&storage)
        );
        if let Some((user, password)) = &credentials {
            let htpasswd = dir.path().join("htpasswd");
            let tool = require_tool("htpasswd", "apache2-utils");
            let out = Command::new(tool)
                .args(["-B", "-b", "-c"])
                .arg(&htpasswd)
                .args([user, password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd: {}", stderr(&out));
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: ontoref-test\n    path: {}\n",
                quote(&htpasswd)
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("registry config");

        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // REGISTRY_* variables override the config file: none may leak in.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(name);
            }
        }
        let mut child = cmd.spawn().expect("spawn docker-registry");
        let access = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().expect("stdout"), access.clone(), None);
        let (tx, rx) = channel();
        collect(child.stderr.take().expect("stderr"), log.clone(), Some(tx));
        let mut registry = Registry {
            child: Some(child),
            endpoint: String::new(),
            dir,
            credentials,
            access,
            log,
            syncs: AtomicU64::new(0),
        };
        registry.endpoint = registry.wait_listening(&rx);
        registry
    }

    /// Reads the server log until `listening on 127.0.0.1:PORT`.
    fn wait_listening(&mut self, lines: &Receiver<String>) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(endpoint) = listening_on(&line) {
                        return endpoint;
                    }
                }
                Err(e) => {
                    self.stop();
                    panic!(
                        "docker-registry did not start listening within {START_TIMEOUT:?} ({e}); \
                         its log:\n{}",
                        self.log()
                    );
                }
            }
        }
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The user and password of a registry started with auth.
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The registry's storage root (`docker/registry/v2/...` under it), for
    /// tests that tamper with stored blobs.
    pub(crate) fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The server log so far (stderr: start-up, errors, auth failures).
    pub(crate) fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Every request the registry has answered, in order, as `METHOD URI`
    /// (e.g. `GET /v2/acme/manifests/v1`). While the registry runs, this
    /// first sends a request of its own and waits for it in the access log,
    /// so everything answered before the call is in the result (the registry
    /// logs a request as it finishes it); those sync requests are left out.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.access_log()
            .into_iter()
            .map(|a| format!("{} {}", a.method, a.path))
            .collect()
    }

    /// [`Registry::requests`] with each response's status.
    pub(crate) fn access_log(&self) -> Vec<Access> {
        if self.child.is_some() {
            self.sync();
        }
        self.access
            .lock()
            .expect("access lock")
            .iter()
            .filter_map(|l| Access::parse(l))
            .filter(|a| !a.path.contains(SYNC_QUERY))
            .collect()
    }

    /// Sends `GET /v2/?ontoref-harness-sync=N` and waits until the access log
    /// shows it.
    fn sync(&self) {
        let n = self.syncs.fetch_add(1, Ordering::Relaxed);
        let uri = format!("/v2/?{SYNC_QUERY}{n}");
        let mut stream = TcpStream::connect(&self.endpoint).unwrap_or_else(|e| {
            panic!(
                "the registry at {} is not answering ({e}); its log:\n{}",
                self.endpoint,
                self.log()
            )
        });
        stream
            .set_read_timeout(Some(SYNC_TIMEOUT))
            .expect("read timeout");
        write!(
            stream,
            "GET {uri} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.endpoint
        )
        .expect("send sync request");
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        let deadline = Instant::now() + SYNC_TIMEOUT;
        let needle = format!("\"GET {uri} ");
        while Instant::now() < deadline {
            if self
                .access
                .lock()
                .expect("access lock")
                .iter()
                .any(|l| l.contains(&needle))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the registry never logged {uri}; its log:\n{}", self.log());
    }

    /// Kills the registry and waits for it; the logs stay readable.
    /// Stopping twice is harmless.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A loopback `HOST:PORT` where nothing listens (a port the kernel just
    /// handed out and that was released again).
    pub(crate) fn down_endpoint() -> String {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind :0");
        let port = listener.local_addr().expect("local addr").port();
        drop(listener);
        format!("127.0.0.1:{port}")
    }

    /// `oci.py SUBCOMMAND --registry ENDPOINT [--user U --password P] ARGS`,
    /// with this registry's credentials when it has some.
    pub(crate) fn oci(&self, subcommand: &str, args: &[&str]) -> Output {
        let mut all = vec!["--registry", self.endpoint()];
        if let Some((user, password)) = self.credentials() {
            all.extend(["--user", user, "--password", password]);
        }
        all.extend_from_slice(args);
        oci(subcommand, &all)
    }

    /// `oci.py SUBCOMMAND --registry ENDPOINT ARGS`, without credentials.
    pub(crate) fn oci_anonymous(&self, subcommand: &str, args: &[&str]) -> Output {
        let mut all = vec!["--registry", self.endpoint()];
        all.extend_from_slice(args);
        oci(subcommand, &all)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Appends each line of `pipe` to `into` on a thread; with `tx`, also sends
/// it there (while someone listens).
fn collect(
    pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
    tx: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            into.lock().expect("log lock").push(line.clone());
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

/// The `127.0.0.1:PORT` of a `msg="listening on 127.0.0.1:PORT"` line.
fn listening_on(line: &str) -> Option<String> {
    let rest = line.split_once("listening on ")?.1;
    let endpoint: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    endpoint.contains(':').then_some(endpoint)
}

/// A tool from a Debian package the tests need, found on PATH; fails the
/// test (never skips it) when missing.
pub(crate) fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: run scripts/test.sh, which installs the Debian package \
                 `{package}` (CI does)"
            )
        })
}

/// The test venv's Python (`target/pyenv`, made by scripts/test.sh from
/// tests/python/requirements.txt), else `python3` from PATH.
pub(crate) fn python() -> PathBuf {
    let venv = repo().join("target/pyenv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `tests/support/oci.py`.
pub(crate) fn oci_py() -> PathBuf {
    repo().join("tests/support/oci.py")
}

/// Runs `oci.py SUBCOMMAND ARGS` as given.
pub(crate) fn oci(subcommand: &str, args: &[&str]) -> Output {
    Command::new(python())
        .arg(oci_py())
        .arg(subcommand)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/support/oci.py")
}

/// Asserts `out` succeeded and parses its stdout as JSON.
pub(crate) fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed ({}): {}{}",
        out.status,
        stdout(out),
        stderr(out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// `skopeo inspect --raw` of `REGISTRY/REF` (plain HTTP), optionally with `--creds`.
fn skopeo_raw(endpoint: &str, reference: &str, creds: Option<&str>) -> Output {
    let mut cmd = Command::new(require_tool("skopeo", "skopeo"));
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    cmd.arg(format!("docker://{endpoint}/{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("run skopeo")
}

/// Pushes a two-layer artifact (one titled) as `repo:tag`, its files
/// written in `dir`; returns oci.py's output.
fn push_sample(r: &Registry, dir: &Path, repo: &str, tag: &str) -> Value {
    std::fs::write(dir.join("notes.txt"), "independent bytes\n").unwrap();
    std::fs::write(dir.join("blob.bin"), [0u8, 1, 2, 255]).unwrap();
    let notes = format!("{}:text/plain:notes.txt", path_str(&dir.join("notes.txt")));
    let blob = format!(
        "{}:application/octet-stream",
        path_str(&dir.join("blob.bin"))
    );
    let version = format!("org.opencontainers.image.version={tag}");
    ok_json(&r.oci(
        "push-artifact",
        &[
            "--repo",
            repo,
            "--tag",
            tag,
            "--artifact-type",
            "application/vnd.ontoref.test.v1",
            "--layer",
            &notes,
            "--layer",
            &blob,
            "--annotation",
            &version,
        ],
    ))
}

#[test]
fn registry_harness_push_and_pull_back_with_two_independent_readers() {
    let r = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let pushed = push_sample(&r, tmp.path(), "harness/sample", "v1");
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    assert_eq!(
        pushed["manifest"]["artifactType"],
        "application/vnd.ontoref.test.v1"
    );
    assert_eq!(
        pushed["manifest"]["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );

    let out = tmp.path().join("pulled");
    let pulled = ok_json(&r.oci(
        "pull-artifact",
        &[
            "--repo",
            "harness/sample",
            "--ref",
            "v1",
            "--out",
            path_str(&out),
        ],
    ));
    assert_eq!(pulled["digest"], digest.as_str());
    assert_eq!(pulled["artifactType"], "application/vnd.ontoref.test.v1");
    let layers = pulled["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["title"], "notes.txt");
    assert_eq!(layers[0]["mediaType"], "text/plain");
    assert_eq!(layers[1]["title"], Value::Null);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "independent bytes\n"
    );
    let untitled = layers[1]["digest"].as_str().unwrap().replace(':', "-");
    assert_eq!(std::fs::read(out.join(untitled)).unwrap(), [0u8, 1, 2, 255]);

    // By digest too, and the stored bytes hash to the digest.
    let by_digest = ok_json(&r.oci(
        "pull-artifact",
        &[
            "--repo",
            "harness/sample",
            "--ref",
            &digest,
            "--out",
            path_str(&tmp.path().join("by-digest")),
        ],
    ));
    assert_eq!(by_digest["digest"], digest.as_str());
    let raw = r.oci("get-tag", &["--repo", "harness/sample", "--tag", "v1"]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert_eq!(sha256_digest(&raw.stdout), digest);

    // skopeo, the second independent reader, sees the same manifest.
    let sk = skopeo_raw(r.endpoint(), "harness/sample:v1", None);
    assert!(sk.status.success(), "skopeo: {}", stderr(&sk));
    assert_eq!(sha256_digest(&sk.stdout), digest);
    let manifest: Value = serde_json::from_slice(&sk.stdout).unwrap();
    assert_eq!(manifest, pushed["manifest"]);

    // A missing tag is exit 3.
    let missing = r.oci("get-tag", &["--repo", "harness/sample", "--tag", "nope"]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));

    // A blob changed in the registry's storage is served as is and refused
    // by the reader (exit 1): how tests make a registry lie.
    let hex = &layers[0]["digest"].as_str().unwrap()["sha256:".len()..];
    let data = r.storage().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    assert_eq!(std::fs::read(&data).unwrap(), b"independent bytes\n");
    std::fs::write(&data, b"INDEPENDENT BYTES\n").unwrap();
    let tampered = r.oci(
        "pull-artifact",
        &[
            "--repo",
            "harness/sample",
            "--ref",
            "v1",
            "--out",
            path_str(&tmp.path().join("t")),
        ],
    );
    assert_eq!(tampered.status.code(), Some(1), "{}", stderr(&tampered));
    assert!(
        stderr(&tampered).contains("has sha256"),
        "{}",
        stderr(&tampered)
    );
}

#[test]
fn registry_harness_auth_refuses_anonymous_and_accepts_the_user() {
    let r = Registry::start_with_auth("robot", "test-password-1");
    assert_eq!(r.credentials(), Some(("robot", "test-password-1")));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "a").unwrap();
    let layer = format!("{}:text/plain:a.txt", path_str(&tmp.path().join("a.txt")));
    let args = [
        "--repo",
        "harness/private",
        "--tag",
        "v1",
        "--artifact-type",
        "application/vnd.ontoref.test.v1",
        "--layer",
        &layer,
    ];

    let refused = r.oci_anonymous("push-artifact", &args);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("HTTP 401"),
        "{}",
        stderr(&refused)
    );
    assert!(
        r.access_log().iter().all(|a| a.status == 401),
        "{:?}",
        r.access_log()
    );

    let wrong = oci(
        "push-artifact",
        &[
            &["--registry", r.endpoint(), "--user", "robot"],
            &["--password", "not-it"][..],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr(&wrong));

    let pushed = ok_json(&r.oci("push-artifact", &args));
    let digest = pushed["digest"].as_str().unwrap();
    assert!(r.access_log().iter().any(|a| a.method == "PUT"
        && a.path == "/v2/harness/private/manifests/v1"
        && a.status == 201));

    let anon = skopeo_raw(r.endpoint(), "harness/private:v1", None);
    assert!(!anon.status.success(), "skopeo without creds read it");
    let sk = skopeo_raw(
        r.endpoint(),
        "harness/private:v1",
        Some("robot:test-password-1"),
    );
    assert!(sk.status.success(), "skopeo --creds: {}", stderr(&sk));
    assert_eq!(sha256_digest(&sk.stdout), digest);
}

#[test]
fn registry_harness_cosign_sign_and_verify_round_trip() {
    let r = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let other = tmp.path().join("other");
    ok_json(&oci("keygen", &["--out", path_str(&keys)]));
    ok_json(&oci("keygen", &["--out", path_str(&other)]));
    let key = keys.join("cosign.key");
    let public = keys.join("cosign.pub");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    let repo = "harness/signed";
    let digest = push_sample(&r, tmp.path(), repo, "v1")["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_digest = push_sample(&r, tmp.path(), repo, "v2")["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify = |reference: &str, public: &Path| {
        r.oci(
            "verify",
            &[
                "--repo",
                repo,
                "--ref",
                reference,
                "--pub",
                path_str(public),
            ],
        )
    };
    let sign = |extra: &[&str]| {
        let mut args = vec!["--repo", repo, "--digest", &digest, "--key", path_str(&key)];
        args.extend_from_slice(extra);
        let out = r.oci("sign", &args);
        assert!(out.status.success(), "sign: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    };

    let unsigned = verify("v1", &public);
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(
        stderr(&unsigned).contains("no signature"),
        "{}",
        stderr(&unsigned)
    );

    let sig_digest = sign(&[]);
    let verified = ok_json(&verify("v1", &public));
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(verified["signature"], sig_digest.as_str());
    ok_json(&verify(&digest, &public));
    assert_eq!(
        verify("v1", &other.join("cosign.pub")).status.code(),
        Some(1)
    );
    // v2 has no signature of its own.
    assert_eq!(verify("v2", &public).status.code(), Some(1));

    // The layout cosign writes, read back raw.
    let tag = format!("sha256-{}.sig", &digest["sha256:".len()..]);
    let raw = r.oci("get-tag", &["--repo", repo, "--tag", &tag]);
    assert_eq!(sha256_digest(&raw.stdout), sig_digest);
    let manifest: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        ontoref_tools::registry::cosign::SIMPLE_SIGNING_MEDIA_TYPE
    );
    let signature = layer["annotations"][ontoref_tools::registry::cosign::SIGNATURE_ANNOTATION]
        .as_str()
        .unwrap();

    // ontoref's own verifier accepts what the independent signer wrote.
    let payload_dir = tmp.path().join("sig");
    ok_json(&r.oci(
        "pull-artifact",
        &[
            "--repo",
            repo,
            "--ref",
            &tag,
            "--out",
            path_str(&payload_dir),
        ],
    ));
    let payload_name = layer["digest"].as_str().unwrap().replace(':', "-");
    let payload = std::fs::read(payload_dir.join(payload_name)).unwrap();
    let payload_json: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload_json["critical"]["identity"]["docker-reference"],
        format!("{}/{repo}", r.endpoint())
    );
    assert_eq!(payload_json["optional"], Value::Null);
    let pem = std::fs::read_to_string(&public).unwrap();
    let key_obj = ontoref_tools::registry::cosign::PublicKey::from_pem(&pem, "cosign.pub").unwrap();
    let ok = ontoref_tools::registry::cosign::verify(&key_obj, &payload, signature, &digest, repo)
        .expect("ontoref verifies oci.py's signature");
    assert_eq!(ok.digest, digest);

    // A flipped bit, and a payload naming another manifest, fail.
    sign(&["--corrupt"]);
    let corrupt = verify("v1", &public);
    assert_eq!(corrupt.status.code(), Some(1), "{}", stderr(&corrupt));
    assert!(
        stderr(&corrupt).contains("does not verify"),
        "{}",
        stderr(&corrupt)
    );
    sign(&["--payload-digest", &other_digest]);
    let elsewhere = verify("v1", &public);
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(
        stderr(&elsewhere).contains("names"),
        "{}",
        stderr(&elsewhere)
    );

    // One valid layer among bad ones verifies, as cosign's rule has it.
    sign(&["--append"]);
    assert_eq!(ok_json(&verify("v1", &public))["valid"], 1);
}

#[test]
fn registry_harness_requests_are_read_from_the_access_log() {
    let mut r = Registry::start();
    assert_eq!(r.requests(), Vec::<String>::new());
    let missing = r.oci("get-tag", &["--repo", "harness/log", "--tag", "v9"]);
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(r.requests(), ["GET /v2/harness/log/manifests/v9"]);
    assert_eq!(
        r.access_log(),
        [Access {
            method: "GET".into(),
            path: "/v2/harness/log/manifests/v9".into(),
            status: 404,
        }]
    );

    let tmp = tempfile::tempdir().unwrap();
    push_sample(&r, tmp.path(), "harness/log", "v1");
    let requests = r.requests();
    assert!(requests.contains(&"POST /v2/harness/log/blobs/uploads/".to_owned()));
    assert!(requests.contains(&"PUT /v2/harness/log/manifests/v1".to_owned()));
    assert!(
        requests
            .iter()
            .any(|q| q.starts_with("HEAD /v2/harness/log/blobs/sha256:"))
    );

    let endpoint = r.endpoint().to_owned();
    r.stop();
    assert!(TcpStream::connect(&endpoint).is_err(), "still listening");
    assert_eq!(r.requests(), requests, "the log outlives the registry");
    assert!(r.log().contains("listening on"), "{}", r.log());
}

#[test]
fn registry_harness_down_endpoint_refuses_connections() {
    let down = Registry::down_endpoint();
    assert!(down.starts_with("127.0.0.1:"));
    let err = TcpStream::connect(&down).expect_err("something listens");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let out = oci(
        "get-tag",
        &["--registry", &down, "--repo", "a", "--tag", "b"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

/// `[name, type, linkname]` of each member of a tar.gz, as Python's tarfile
/// reads it (GNU tar's listing drops a leading `/`).
fn tar_members(path: &Path) -> Vec<(String, String, String)> {
    let script = "import json, sys, tarfile\n\
                  print(json.dumps([[m.name, m.type.decode(), m.linkname] \
                  for m in tarfile.open(sys.argv[1])]))";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python");
    serde_json::from_value(ok_json(&out)).expect("members")
}

#[test]
fn registry_harness_vault_tarballs_plain_and_hostile() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("src-vault/registry")).unwrap();
    std::fs::write(src.join("access.sops.yaml"), "access: {}\n").unwrap();
    std::fs::write(src.join("src-vault/registry/a.sops.yaml"), "a: 1\n").unwrap();
    let make = |evil: Option<&str>| {
        let out = tmp
            .path()
            .join(format!("{}.tar.gz", evil.unwrap_or("plain")));
        let mut args = vec!["--src", path_str(&src), "--out", path_str(&out)];
        if let Some(e) = evil {
            args.extend(["--evil", e]);
        }
        let made = ok_json(&oci("make-vault-tar", &args));
        // GNU tar reads it too.
        let listing = Command::new("tar")
            .arg("-tzf")
            .arg(&out)
            .output()
            .expect("tar");
        assert!(listing.status.success(), "{}", stderr(&listing));
        (made, std::fs::read(&out).unwrap(), tar_members(&out))
    };
    let member =
        |name: &str, kind: &str, link: &str| (name.to_owned(), kind.to_owned(), link.to_owned());

    let (plain, bytes, members) = make(None);
    assert_eq!(
        members,
        [
            member("access.sops.yaml", "0", ""),
            member("src-vault", "5", ""),
            member("src-vault/registry", "5", ""),
            member("src-vault/registry/a.sops.yaml", "0", ""),
        ]
    );
    assert_eq!(plain["evil"], serde_json::json!([]));
    assert_eq!(make(None).1, bytes, "the same tree makes the same bytes");

    let hostile = |kind: &str| make(Some(kind)).2[members.len()..].to_vec();
    assert_eq!(
        hostile("dotdot"),
        [member("src-vault/../../evil-dotdot.txt", "0", "")]
    );
    assert_eq!(
        hostile("absolute"),
        [member("/tmp/ontoref-evil-absolute.txt", "0", "")]
    );
    assert_eq!(
        hostile("symlink"),
        [
            member("src-vault/evil-link", "2", "../../.."),
            member("src-vault/evil-link/evil-symlink.txt", "0", ""),
        ]
    );
    assert_eq!(
        hostile("hardlink"),
        [member("src-vault/evil-hardlink", "1", "/etc/passwd")]
    );
    assert_eq!(
        hostile("device"),
        [member("src-vault/evil-device", "3", "")]
    );
}

#[test]
#[should_panic(
    expected = "run scripts/test.sh, which installs the Debian package `no-such-package`"
)]
fn registry_harness_a_missing_tool_fails_the_test_and_says_how_to_get_it() {
    require_tool("ontoref-no-such-tool", "no-such-package");
}
