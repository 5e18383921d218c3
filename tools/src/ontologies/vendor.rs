//! `ontoref ontology vendor`: MIF ontologies vendored fail-closed from an
//! attested release (ADR-0004). fetch → verify (the project's `trust`) →
//! safe untar → check the index against the files → lock (trust on first
//! use of the index; a known (id, version) never changes bytes) → build the
//! snapshot in a staging directory and swap it in atomically. On any
//! failure the previous snapshot stays byte for byte, and a stale marker
//! beside it says since when and why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::attestation::verify::{self as attest, Policy, Request, Subject};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::fsread::{self, Links};
use crate::ontologies::index::{self, INDEX_FILE, Index};
use crate::ontologies::lock::{self, LOCK_FILE, LOCK_SCHEMA, Lock, Pinned};
use crate::ontologies::settings::{OntologiesSettings, Trust};
use crate::ontologies::snapshot::{META_FILE, SNAPSHOT_DIR, STALE_FILE, SnapshotMeta, Stale};
use crate::ontologies::{OntologyError, graph};
use crate::registry::archive::{self, Limits};
use crate::registry::client::{Auth, Remote};

/// The largest tarball fetched.
pub const MAX_TARBALL: u64 = 64 << 20;
/// The largest index, bundle or ontology file fetched.
pub const MAX_FILE: u64 = 16 << 20;
const STAGING_DIR: &str = ".ontoref/.ontologies.staging";
const WORK_DIR: &str = ".ontoref/.ontologies.work";

/// Called as a vendor run advances: `(stage, done, total)`; `total` is 0
/// when unknown. A terminal draws it as a progress bar.
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// What `vendor` is asked to do.
#[derive(Clone, Default)]
pub struct VendorOptions {
    /// `--source`: overrides `ontologies.source`.
    pub source: Option<String>,
    /// `--refresh`: accept a changed index at the pinned source.
    pub refresh: bool,
    /// Progress reports.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for VendorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorOptions")
            .field("source", &self.source)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

/// A vendored snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Vendored {
    /// The snapshot directory.
    pub snapshot: String,
    /// The source it came from.
    pub source: String,
    /// What vouched for it (`None`: hash pinning only).
    pub verified_by: Option<String>,
    /// Whether an attestation was verified.
    pub verified: bool,
    /// SHA-256 of the attested index.
    pub index_sha256: String,
    /// The index pinned before, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_index_sha256: Option<String>,
    /// The ontologies vendored (the enabled ids and their closures).
    pub ontologies: Vec<VendoredOntology>,
    /// Whether the snapshot's bytes changed.
    pub changed: bool,
    /// When.
    pub vendored_at: String,
}

/// One vendored ontology.
#[derive(Debug, Clone, Serialize)]
pub struct VendoredOntology {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its file.
    pub sha256: String,
    /// Whether it is listed in `enable` (else a parent brought it).
    pub enabled: bool,
}

/// Where a source's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A directory holding `index.json` and the files.
    Dir(PathBuf),
    /// A local gzip'd tarball.
    Tarball(PathBuf),
    /// A tarball over HTTP(S).
    HttpTarball(String),
    /// An `index.json` over HTTP(S), the files beside it.
    HttpIndex(String),
    /// An OCI artifact whose one layer is the tarball.
    Oci {
        endpoint: String,
        repository: String,
        reference: String,
    },
}

impl Source {
    fn parse(text: &str, root: &Path) -> Result<Source, OntologyError> {
        let invalid = |detail: String| OntologyError::SourceInvalid {
            source_ref: text.to_owned(),
            detail,
        };
        if text.trim().is_empty() {
            return Err(invalid("the source is empty".into()));
        }
        if let Some(rest) = text.strip_prefix("oci://") {
            let (endpoint, path) = rest.split_once('/').ok_or_else(|| {
                invalid("an oci source is oci://host[:port]/repository:tag".into())
            })?;
            let (repository, reference) = match path.rsplit_once('@') {
                Some((r, d)) => (r, d),
                None => match path.rsplit_once(':') {
                    Some((r, t)) if !t.contains('/') => (r, t),
                    _ => (path, "latest"),
                },
            };
            if endpoint.is_empty() || repository.is_empty() {
                return Err(invalid(
                    "an oci source is oci://host[:port]/repository:tag".into(),
                ));
            }
            return Ok(Source::Oci {
                endpoint: endpoint.to_owned(),
                repository: repository.to_owned(),
                reference: reference.to_owned(),
            });
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            let path = text.split(['?', '#']).next().unwrap_or(text);
            return Ok(if path.ends_with(".json") {
                Source::HttpIndex(text.to_owned())
            } else {
                Source::HttpTarball(text.to_owned())
            });
        }
        if let Some((scheme, _)) = text.split_once("://")
            && scheme != "file"
        {
            return Err(invalid(format!(
                "unknown scheme `{}` (a directory, file://, http(s):// or oci://)",
                crate::error::clip(scheme)
            )));
        }
        let local = text.strip_prefix("file://").unwrap_or(text);
        let path = root.join(local);
        let meta = std::fs::metadata(&path)
            .map_err(|e| invalid(format!("{} cannot be read: {e}", path.display())))?;
        Ok(if meta.is_dir() {
            Source::Dir(path)
        } else {
            Source::Tarball(path)
        })
    }
}

/// Vendors the project's ontologies (see the module header).
pub async fn vendor(engine: &Engine, opts: &VendorOptions) -> Result<Vendored, ToolError> {
    let root = engine.project().root().to_path_buf();
    let settings = engine
        .project_file()
        .await?
        .and_then(|p| p.ontologies.clone())
        .unwrap_or_default();
    let source = opts
        .source
        .clone()
        .unwrap_or_else(|| settings.source.clone());
    let result = vendor_in(engine, &root, &settings, &source, opts).await;
    // The scratch directory never outlives a run.
    let _ = std::fs::remove_dir_all(root.join(WORK_DIR));
    let _ = std::fs::remove_dir_all(root.join(STAGING_DIR));
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_file(root.join(STALE_FILE));
        }
        Err(e) => mark_stale(&root, e),
    }
    result
}

/// Records why the snapshot could not be refreshed (keeping the first
/// failure's time), when there is a snapshot to be stale.
fn mark_stale(root: &Path, err: &ToolError) {
    if !root.join(SNAPSHOT_DIR).join(LOCK_FILE).is_file() {
        return;
    }
    let path = root.join(STALE_FILE);
    let since = fsread::read(&path, 64 << 10, Links::Refuse)
        .ok()
        .and_then(|b| serde_json::from_slice::<Stale>(&b).ok())
        .map(|s| s.since)
        .unwrap_or_else(now);
    let stale = Stale {
        since,
        code: err.code().to_owned(),
        message: crate::error::clip(&err.to_string()),
    };
    let _ = crate::fswrite::write_atomic(&path, stale.render().as_bytes());
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn vendor_in(
    engine: &Engine,
    root: &Path,
    settings: &OntologiesSettings,
    source_text: &str,
    opts: &VendorOptions,
) -> Result<Vendored, ToolError> {
    let step = |stage: &str| {
        if let Some(p) = &opts.progress {
            p(stage, 0, 0);
        }
    };
    if settings.enable.is_empty() {
        return Err(OntologyError::SourceInvalid {
            source_ref: ".ontoref/project.ncl".into(),
            detail: "`ontologies.enable` lists no ontology id to vendor".into(),
        }
        .into());
    }
    let source = Source::parse(source_text, root)?;
    let work = fresh_dir(&root.join(WORK_DIR))?;

    // 1. Fetch the attested bytes and, with a trust policy, verify them.
    step("fetching");
    let fetched = fetch(engine, &source, source_text, &work, settings, opts).await?;
    step("verifying");
    let verified_by = match (&settings.trust, &fetched.verified_by) {
        (_, Some(by)) => Some(by.clone()),
        (None, None) => None,
        (Some(trust), None) => Some(verify_attestation(root, trust, &fetched)?),
    };

    // 2. The corpus: unpacked safely, or fetched file by file.
    step("unpacking");
    let corpus = match &fetched.body {
        Body::Tarball => unpack_tarball(&fetched.attested, &work, source_text)?,
        Body::Dir(dir) => dir.clone(),
        Body::Index(url) => fetch_index_files(url, &fetched.attested, &work, opts).await?,
    };

    // 3. The index, checked against every file beside it.
    step("checking the index");
    let index_bytes =
        fsread::read(&corpus.join(INDEX_FILE), MAX_FILE, Links::Refuse).map_err(|e| {
            OntologyError::SourceInvalid {
                source_ref: source_text.to_owned(),
                detail: format!("it holds no readable {INDEX_FILE}: {e}"),
            }
        })?;
    let index = index::validate(&corpus, &index_bytes)?;
    let index_sha256 = lock::sha256_hex(&index_bytes);

    // 4. The closure of what is enabled.
    let parents = index.parents();
    let mut wanted: Vec<String> = Vec::new();
    for id in &settings.enable {
        if !index.ontologies.contains_key(id) {
            let known: Vec<String> = index.ontologies.keys().cloned().collect();
            return Err(OntologyError::NotFound {
                id: crate::error::clip(id),
                closest: crate::suggest::closest(id, known.iter().map(String::as_str), 3),
            }
            .into());
        }
        for member in graph::closure(&parents, id)? {
            if !wanted.contains(&member) {
                wanted.push(member);
            }
        }
    }

    // 5. The lock: trust on first use of the index; versions never move.
    let snapshot = root.join(SNAPSHOT_DIR);
    let previous = match snapshot.join(LOCK_FILE).is_file() {
        true => Some(lock::read(&snapshot.join(LOCK_FILE))?),
        false => None,
    };
    let new_lock = Lock {
        schema: LOCK_SCHEMA.to_owned(),
        source: source_text.to_owned(),
        index_sha256: index_sha256.clone(),
        ontologies: wanted
            .iter()
            .map(|id| {
                let e = &index.ontologies[id];
                (
                    id.clone(),
                    Pinned {
                        version: e.version.clone(),
                        sha256: e.sha256.clone(),
                    },
                )
            })
            .collect(),
    };
    check_against(previous.as_ref(), &new_lock, &index, opts.refresh)?;

    // 6. Build the snapshot in staging, then swap it in.
    step("writing the snapshot");
    let vendored_at = now();
    let staging = fresh_dir(&root.join(STAGING_DIR))?;
    write_file(&staging.join(INDEX_FILE), &index_bytes)?;
    for id in &wanted {
        let file = &index.ontologies[id].file;
        let bytes =
            fsread::read(&corpus.join(file), index::MAX_FILE, Links::Refuse).map_err(|e| {
                OntologyError::io(
                    "read",
                    &corpus.join(file),
                    &std::io::Error::other(e.to_string()),
                )
            })?;
        write_file(&staging.join(file), &bytes)?;
    }
    write_file(&staging.join(LOCK_FILE), lock::render(&new_lock).as_bytes())?;
    let meta = SnapshotMeta {
        source: source_text.to_owned(),
        verified_by: verified_by.clone(),
        vendored_at: vendored_at.clone(),
    };
    let meta_text =
        serde_json::to_vec_pretty(&meta).map_err(|e| ToolError::Internal(e.to_string()))?;
    write_file(&staging.join(META_FILE), &meta_text)?;
    let changed = previous.as_ref() != Some(&new_lock);
    make_durable(&staging)?;
    swap_in(&staging, &snapshot)?;

    Ok(Vendored {
        snapshot: snapshot.display().to_string(),
        source: source_text.to_owned(),
        verified: verified_by.is_some(),
        verified_by,
        previous_index_sha256: previous
            .map(|p| p.index_sha256)
            .filter(|p| *p != index_sha256),
        index_sha256,
        ontologies: wanted
            .iter()
            .map(|id| VendoredOntology {
                id: id.clone(),
                version: index.ontologies[id].version.clone(),
                sha256: index.ontologies[id].sha256.clone(),
                enabled: settings.enable.contains(id),
            })
            .collect(),
        changed,
        vendored_at,
    })
}

/// The lock rules against the previous lock: a changed index at the same
/// source needs `refresh`; a known (id, version) with other bytes is
/// refused whatever the flags (checked over the whole new index, so a
/// re-published version is caught even when the project does not enable
/// it yet).
fn check_against(
    previous: Option<&Lock>,
    new: &Lock,
    index: &Index,
    refresh: bool,
) -> Result<(), OntologyError> {
    let Some(prev) = previous else {
        return Ok(());
    };
    for (id, pinned) in &prev.ontologies {
        if let Some(entry) = index.ontologies.get(id)
            && entry.version == pinned.version
            && !entry.sha256.eq_ignore_ascii_case(&pinned.sha256)
        {
            return Err(OntologyError::VersionDiverged {
                id: id.clone(),
                version: pinned.version.clone(),
                pinned: pinned.sha256.clone(),
                found: entry.sha256.clone(),
            });
        }
    }
    if prev.source == new.source && prev.index_sha256 != new.index_sha256 && !refresh {
        return Err(OntologyError::IndexChanged {
            source_ref: new.source.clone(),
            pinned: prev.index_sha256.clone(),
            found: new.index_sha256.clone(),
        });
    }
    Ok(())
}

/// What a source gave.
struct Fetched {
    /// The bytes an attestation binds (the tarball, or the index).
    attested: Vec<u8>,
    /// What they are.
    body: Body,
    /// The attestation bundle found beside them, fetched to a file.
    bundle: Option<PathBuf>,
    /// Where the bundle was looked for (for errors).
    looked_at: Vec<String>,
    /// Set when the source verified itself (an OCI artifact's signature).
    verified_by: Option<String>,
}

/// What the attested bytes are (they are [`Fetched::attested`]).
enum Body {
    /// A gzip'd tarball.
    Tarball,
    /// A local directory's index; the files are beside it.
    Dir(PathBuf),
    /// An index fetched from this URL; the files are beside it.
    Index(String),
}

async fn fetch(
    engine: &Engine,
    source: &Source,
    text: &str,
    work: &Path,
    settings: &OntologiesSettings,
    opts: &VendorOptions,
) -> Result<Fetched, ToolError> {
    let want_bundle = settings.trust.is_some();
    match source {
        Source::Dir(dir) => {
            let bytes = read_local(&dir.join(INDEX_FILE), MAX_FILE)?;
            let (bundle, looked_at) = if want_bundle {
                local_bundle(&dir.join(INDEX_FILE), &bytes)
            } else {
                (None, Vec::new())
            };
            Ok(Fetched {
                attested: bytes,
                body: Body::Dir(dir.clone()),
                bundle,
                looked_at,
                verified_by: None,
            })
        }
        Source::Tarball(path) => {
            let bytes = read_local(path, MAX_TARBALL)?;
            let (bundle, looked_at) = if want_bundle {
                local_bundle(path, &bytes)
            } else {
                (None, Vec::new())
            };
            Ok(Fetched {
                body: Body::Tarball,
                attested: bytes,
                bundle,
                looked_at,
                verified_by: None,
            })
        }
        Source::HttpTarball(url) | Source::HttpIndex(url) => {
            let limit = match source {
                Source::HttpTarball(_) => MAX_TARBALL,
                _ => MAX_FILE,
            };
            let bytes = http_get(url, limit, opts.progress.as_ref())
                .await?
                .ok_or_else(|| OntologyError::FetchFailed {
                    url: url.clone(),
                    detail: "HTTP 404 Not Found".into(),
                })?;
            let (bundle, looked_at) = if want_bundle {
                http_bundle(url, &bytes, work).await?
            } else {
                (None, Vec::new())
            };
            let body = match source {
                Source::HttpTarball(_) => Body::Tarball,
                _ => Body::Index(url.clone()),
            };
            Ok(Fetched {
                attested: bytes,
                body,
                bundle,
                looked_at,
                verified_by: None,
            })
        }
        Source::Oci {
            endpoint,
            repository,
            reference,
        } => {
            fetch_oci(
                engine, text, endpoint, repository, reference, settings, opts,
            )
            .await
        }
    }
}

async fn fetch_oci(
    engine: &Engine,
    text: &str,
    endpoint: &str,
    repository: &str,
    reference: &str,
    settings: &OntologiesSettings,
    opts: &VendorOptions,
) -> Result<Fetched, ToolError> {
    let config = crate::registry::config::load(engine).await?;
    let remote = Remote::new(endpoint, Auth::Anonymous, &config.settings);
    let digest = if reference.starts_with("sha256:") {
        reference.to_owned()
    } else {
        remote.resolve(repository, reference).await?
    };
    // The signature first: nothing unsigned is downloaded past its manifest.
    let verified_by = match &settings.trust {
        None => None,
        Some(trust) => {
            let Some(key) = &trust.key else {
                return Err(OntologyError::SourceInvalid {
                    source_ref: text.to_owned(),
                    detail: "an oci source is vouched for by its cosign signature: \
                             `ontologies.trust.key` must name the public key"
                        .into(),
                }
                .into());
            };
            let path = engine.project().root().join(key);
            let pem = read_local_text(&path)?;
            let key =
                crate::registry::cosign::PublicKey::from_pem(&pem, &path.display().to_string())
                    .map_err(crate::registry::RegistryError::from)?;
            let v = remote.verify(repository, &digest, &key).await?;
            Some(format!("cosign key {}", v.signed_by))
        }
    };
    let pinned = remote.manifest(repository, &digest).await?;
    let [layer] = pinned.manifest.layers.as_slice() else {
        return Err(OntologyError::SourceInvalid {
            source_ref: text.to_owned(),
            detail: format!(
                "the artifact has {} layers; an ontology release is one tar+gzip layer",
                pinned.manifest.layers.len()
            ),
        }
        .into());
    };
    let progress = opts.progress.clone().map(|p| {
        Arc::new(move |done: u64, total: u64| p("downloading", done, total))
            as crate::registry::client::Progress
    });
    let bytes = remote
        .blob_with_progress(repository, layer, MAX_TARBALL, progress)
        .await?;
    Ok(Fetched {
        body: Body::Tarball,
        attested: bytes,
        bundle: None,
        looked_at: Vec::new(),
        verified_by,
    })
}

/// Verifies the fetched bytes under `trust`: every predicate type it
/// names must be attested by a bundle that verifies.
fn verify_attestation(root: &Path, trust: &Trust, fetched: &Fetched) -> Result<String, ToolError> {
    let Some(bundle) = &fetched.bundle else {
        return Err(crate::attestation::AttestationError::BundleInvalid {
            file: fetched.looked_at.join(", "),
            detail: "no attestation was found beside the release (`trust` requires one)".into(),
        }
        .into());
    };
    let key = trust.key.as_ref().map(|k| root.join(k));
    let trusted_root = trust.trusted_root.as_ref().map(|r| root.join(r));
    if key.is_none() && trusted_root.is_none() {
        return Err(OntologyError::SourceInvalid {
            source_ref: ".ontoref/project.ncl".into(),
            detail: "`ontologies.trust` needs `key` (a key-signed attestation) or \
                     `trusted_root` (a keyless Sigstore bundle)"
                .into(),
        }
        .into());
    }
    if key.is_none() && trust.repo.is_none() && trust.owner.is_none() {
        return Err(OntologyError::SourceInvalid {
            source_ref: ".ontoref/project.ncl".into(),
            detail: "a keyless `ontologies.trust` needs `repo` or `owner` (as gh's --repo and \
                     --owner): without them any signer of the trusted root would do"
                .into(),
        }
        .into());
    }
    let predicate_types = if trust.predicate_types.is_empty() {
        vec![attest::SLSA_V1.to_owned()]
    } else {
        trust.predicate_types.clone()
    };
    let mut by = None;
    for predicate in &predicate_types {
        let v = attest::verify(&Request {
            subject: Subject::Bytes(fetched.attested.clone()),
            bundle,
            trusted_root: trusted_root.as_deref(),
            key: key.as_deref(),
            policy: Policy {
                issuer: trust.issuer.clone(),
                owner: trust.owner.clone(),
                repo: trust.repo.clone(),
                san: None,
                san_regex: None,
                signer_workflow: trust.signer_workflow.clone(),
                predicate_type: Some(predicate.clone()),
            },
        })?;
        by.get_or_insert_with(|| match (&v.identity, &key) {
            (Some(id), _) => format!(
                "sigstore {} ({})",
                id.san.as_deref().unwrap_or("?"),
                id.issuer.as_deref().unwrap_or("?")
            ),
            (None, Some(k)) => match attest::load_key(k) {
                Ok(der) => format!("key sha256:{}", lock::sha256_hex(der.as_bytes())),
                Err(_) => format!("key {}", k.display()),
            },
            (None, None) => "attestation".to_owned(),
        });
    }
    Ok(by.unwrap_or_default())
}

/// The bundle beside a local file: `<file>.sigstore.json`, else
/// `sha256:<hex>.jsonl` in its directory (as `gh attestation download`
/// names it).
fn local_bundle(file: &Path, bytes: &[u8]) -> (Option<PathBuf>, Vec<String>) {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".sigstore.json");
    let beside = file.with_file_name(name);
    let jsonl = file.with_file_name(format!("sha256:{}.jsonl", lock::sha256_hex(bytes)));
    let looked_at = vec![beside.display().to_string(), jsonl.display().to_string()];
    let found = [beside, jsonl].into_iter().find(|p| p.is_file());
    (found, looked_at)
}

/// The bundle beside a URL, fetched into `work`.
async fn http_bundle(
    url: &str,
    bytes: &[u8],
    work: &Path,
) -> Result<(Option<PathBuf>, Vec<String>), ToolError> {
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    let candidates = [
        format!("{url}.sigstore.json"),
        format!("{base}/sha256:{}.jsonl", lock::sha256_hex(bytes)),
    ];
    for candidate in &candidates {
        if let Some(body) = http_get(candidate, MAX_FILE, None).await? {
            let path = work.join("attestation.bundle");
            write_file(&path, &body)?;
            return Ok((Some(path), candidates.to_vec()));
        }
    }
    Ok((None, candidates.to_vec()))
}

/// GETs `url` into memory, refusing it past `limit` bytes; `None` on 404.
async fn http_get(
    url: &str,
    limit: u64,
    progress: Option<&Progress>,
) -> Result<Option<Vec<u8>>, OntologyError> {
    let failed = |detail: String| OntologyError::FetchFailed {
        url: crate::error::clip(url),
        detail,
    };
    let client = http_client().map_err(failed)?;
    let mut response = client.get(url).send().await.map_err(|e| {
        failed(crate::error::clip(&crate::registry::client::error_chain(
            &e,
        )))
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    let total = response.content_length().unwrap_or(0);
    if total > limit {
        return Err(failed(format!(
            "the response is {total} bytes, over the limit of {limit}"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        failed(crate::error::clip(&crate::registry::client::error_chain(
            &e,
        )))
    })? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(failed(format!(
                "the response passes the limit of {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
        if let Some(p) = progress {
            p("downloading", body.len() as u64, total);
        }
    }
    Ok(Some(body))
}

/// One HTTP client per process (building one loads the root certificates).
fn http_client() -> Result<reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<Result<reqwest::Client, String>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            crate::registry::client::install_crypto();
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(30))
                .timeout(Duration::from_secs(120))
                .build()
                .map_err(|e| crate::registry::client::error_chain(&e))
        })
        .clone()
}

/// The files an HTTP index lists, fetched beside it into `work`.
async fn fetch_index_files(
    url: &str,
    bytes: &[u8],
    work: &Path,
    opts: &VendorOptions,
) -> Result<PathBuf, ToolError> {
    let dir = work.join("corpus");
    std::fs::create_dir_all(&dir).map_err(|e| OntologyError::io("create", &dir, &e))?;
    write_file(&dir.join(INDEX_FILE), bytes)?;
    let parsed: Index = serde_json::from_slice(bytes).map_err(|e| OntologyError::IndexInvalid {
        path: crate::error::clip(url),
        detail: format!("not an ontology index: {e}"),
    })?;
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    let total = parsed.ontologies.len() as u64;
    for (n, (id, entry)) in parsed.ontologies.iter().enumerate() {
        // Attacker-controlled names: only bare file names are fetched.
        if !index::is_bare_file(&entry.file) {
            return Err(OntologyError::IndexInvalid {
                path: crate::error::clip(url),
                detail: format!(
                    "`{id}`.file {:?} is not a bare file name",
                    crate::error::clip(&entry.file)
                ),
            }
            .into());
        }
        let file_url = format!("{base}/{}", entry.file);
        let body = http_get(&file_url, index::MAX_FILE, None)
            .await?
            .ok_or_else(|| OntologyError::FetchFailed {
                url: file_url.clone(),
                detail: "HTTP 404 Not Found".into(),
            })?;
        write_file(&dir.join(&entry.file), &body)?;
        if let Some(p) = &opts.progress {
            p("fetching files", n as u64 + 1, total);
        }
    }
    Ok(dir)
}

/// Unpacks `bytes` into `work/tree`, safely, and finds the corpus in it:
/// exactly one top-level directory, whose `ontologies/` (or itself) holds
/// the index.
fn unpack_tarball(bytes: &[u8], work: &Path, source: &str) -> Result<PathBuf, ToolError> {
    let tree = work.join("tree");
    std::fs::create_dir_all(&tree).map_err(|e| OntologyError::io("create", &tree, &e))?;
    archive::unpack(bytes, &tree, source, &Limits::default()).map_err(|e| match e {
        crate::registry::RegistryError::UnsafePath { .. } => OntologyError::UnsafePath {
            source_ref: source.to_owned(),
            detail: crate::error::clip(&e.to_string()),
        },
        crate::registry::RegistryError::TooLarge { .. } => OntologyError::UnsafePath {
            source_ref: source.to_owned(),
            detail: format!(
                "past the size limits: {}",
                crate::error::clip(&e.to_string())
            ),
        },
        other => OntologyError::SourceInvalid {
            source_ref: source.to_owned(),
            detail: crate::error::clip(&other.to_string()),
        },
    })?;
    let top: Vec<PathBuf> = std::fs::read_dir(&tree)
        .map_err(|e| OntologyError::io("read", &tree, &e))?
        .flatten()
        .map(|e| e.path())
        .collect();
    let [top] = top.as_slice() else {
        let names: Vec<String> = top
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        return Err(OntologyError::UnsafePath {
            source_ref: source.to_owned(),
            detail: format!(
                "a release holds exactly one top-level directory; this one holds {} entries ({})",
                names.len(),
                crate::error::clip(&names.join(", "))
            ),
        }
        .into());
    };
    if !top.is_dir() {
        return Err(OntologyError::UnsafePath {
            source_ref: source.to_owned(),
            detail: "its one top-level entry is not a directory".into(),
        }
        .into());
    }
    let nested = top.join("ontologies");
    if nested.join(INDEX_FILE).is_file() {
        Ok(nested)
    } else if top.join(INDEX_FILE).is_file() {
        Ok(top.clone())
    } else {
        Err(OntologyError::SourceInvalid {
            source_ref: source.to_owned(),
            detail: format!("the tarball holds no ontologies/{INDEX_FILE}"),
        }
        .into())
    }
}

/// Swaps `staging` in as `snapshot`: one atomic exchange where the system
/// has it (Linux `renameat2(RENAME_EXCHANGE)`), else two renames with the
/// old snapshot put back if the second fails.
fn swap_in(staging: &Path, snapshot: &Path) -> Result<(), OntologyError> {
    if let Some(parent) = snapshot.parent() {
        std::fs::create_dir_all(parent).map_err(|e| OntologyError::io("create", parent, &e))?;
    }
    if !snapshot.exists() {
        return std::fs::rename(staging, snapshot)
            .map_err(|e| OntologyError::io("rename into place", snapshot, &e));
    }
    #[cfg(target_os = "linux")]
    {
        if exchange(staging, snapshot).is_ok() {
            // `staging` now holds the previous snapshot.
            let _ = std::fs::remove_dir_all(staging);
            return Ok(());
        }
    }
    let old = snapshot.with_extension("previous");
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(snapshot, &old).map_err(|e| OntologyError::io("rename aside", snapshot, &e))?;
    if let Err(e) = std::fs::rename(staging, snapshot) {
        let _ = std::fs::rename(&old, snapshot);
        return Err(OntologyError::io("rename into place", snapshot, &e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: no libc wrapper is stable across
/// the C libraries Rust targets, so the raw syscall.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt as _;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated C strings that outlive the
    // call; the syscall reads them only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn fresh_dir(dir: &Path) -> Result<PathBuf, OntologyError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| OntologyError::io("remove", dir, &e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| OntologyError::io("create", dir, &e))?;
    Ok(dir.to_path_buf())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OntologyError> {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).map_err(|e| OntologyError::io("create", path, &e))?;
    f.write_all(bytes)
        .map_err(|e| OntologyError::io("write", path, &e))
}

/// Makes everything written under `dir` durable before it is swapped in:
/// one `syncfs` for the whole staging tree on Linux (an fsync per file cost
/// 20 ms of a 50 ms vendor), else an fsync per file.
fn make_durable(dir: &Path) -> Result<(), OntologyError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let d = std::fs::File::open(dir).map_err(|e| OntologyError::io("open", dir, &e))?;
        // SAFETY: `d` is an open descriptor for the call's duration.
        if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    for entry in std::fs::read_dir(dir).map_err(|e| OntologyError::io("read", dir, &e))? {
        let path = entry
            .map_err(|e| OntologyError::io("read", dir, &e))?
            .path();
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| OntologyError::io("sync", &path, &e))?;
    }
    Ok(())
}

fn read_local(path: &Path, limit: u64) -> Result<Vec<u8>, OntologyError> {
    fsread::read(path, limit, Links::Follow).map_err(|e| OntologyError::SourceInvalid {
        source_ref: path.display().to_string(),
        detail: format!("cannot be read: {e}"),
    })
}

fn read_local_text(path: &Path) -> Result<String, OntologyError> {
    fsread::read_text(path, 64 << 10, Links::Follow).map_err(|e| OntologyError::SourceInvalid {
        source_ref: path.display().to_string(),
        detail: format!("cannot be read: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_by_scheme_and_shape() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("dir")).unwrap();
        std::fs::write(root.path().join("r.tar.gz"), b"x").unwrap();
        let p = |t: &str| Source::parse(t, root.path());
        assert_eq!(p("dir").unwrap(), Source::Dir(root.path().join("dir")));
        assert_eq!(
            p("file://r.tar.gz").unwrap(),
            Source::Tarball(root.path().join("r.tar.gz"))
        );
        assert_eq!(
            p("https://h/x/index.json").unwrap(),
            Source::HttpIndex("https://h/x/index.json".into())
        );
        assert_eq!(
            p("http://h/r.tar.gz").unwrap(),
            Source::HttpTarball("http://h/r.tar.gz".into())
        );
        assert_eq!(
            p("oci://127.0.0.1:5000/mif/ontologies:v0.4.0").unwrap(),
            Source::Oci {
                endpoint: "127.0.0.1:5000".into(),
                repository: "mif/ontologies".into(),
                reference: "v0.4.0".into()
            }
        );
        assert_eq!(
            p("oci://r.example/a/b@sha256:00").unwrap(),
            Source::Oci {
                endpoint: "r.example".into(),
                repository: "a/b".into(),
                reference: "sha256:00".into()
            }
        );
        for bad in ["", "ftp://x", "missing", "oci://host"] {
            assert_eq!(
                p(bad).unwrap_err().code(),
                "ontology-source-invalid",
                "{bad}"
            );
        }
    }

    fn lock(source: &str, index: &str, pins: &[(&str, &str, &str)]) -> Lock {
        Lock {
            schema: LOCK_SCHEMA.into(),
            source: source.into(),
            index_sha256: index.into(),
            ontologies: pins
                .iter()
                .map(|(id, v, h)| {
                    (
                        (*id).to_owned(),
                        Pinned {
                            version: (*v).into(),
                            sha256: (*h).into(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn index_of(pins: &[(&str, &str, &str)]) -> Index {
        Index {
            schema: index::SCHEMA.into(),
            source: index::SOURCE.into(),
            ontologies: pins
                .iter()
                .map(|(id, v, h)| {
                    (
                        (*id).to_owned(),
                        index::Entry {
                            extends: vec![],
                            file: format!("{id}.ontology.yaml"),
                            sha256: (*h).into(),
                            version: (*v).into(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn the_lock_pins_the_index_per_source_and_versions_forever() {
        let prev = lock("s", "i1", &[("a", "1.0.0", "aa")]);
        // The same index: fine. A new index at the same source: refused
        // without --refresh, accepted with it.
        let same = lock("s", "i1", &[("a", "1.0.0", "aa")]);
        check_against(
            Some(&prev),
            &same,
            &index_of(&[("a", "1.0.0", "aa")]),
            false,
        )
        .unwrap();
        let moved = lock("s", "i2", &[("a", "1.1.0", "bb")]);
        let idx = index_of(&[("a", "1.1.0", "bb")]);
        assert_eq!(
            check_against(Some(&prev), &moved, &idx, false)
                .unwrap_err()
                .code(),
            "ontology-index-changed"
        );
        check_against(Some(&prev), &moved, &idx, true).unwrap();
        // Another source is trusted on first use.
        let elsewhere = lock("t", "i2", &[("a", "1.1.0", "bb")]);
        check_against(Some(&prev), &elsewhere, &idx, false).unwrap();
        // The same (id, version) with other bytes: refused, even with
        // --refresh and from another source.
        let diverged = index_of(&[("a", "1.0.0", "cc")]);
        for (l, refresh) in [(&moved, true), (&elsewhere, true), (&moved, false)] {
            assert_eq!(
                check_against(Some(&prev), l, &diverged, refresh)
                    .unwrap_err()
                    .code(),
                "ontology-version-diverged"
            );
        }
        check_against(None, &moved, &diverged, false).unwrap();
    }
}
