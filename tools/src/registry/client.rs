//! One registry, as the OCI layer talks to it: [`Remote`] wraps an
//! `oci-client` client for one endpoint and one set of credentials, picks
//! plain HTTP for loopback and the user's insecure registries, bounds every
//! call by a timeout, bounds what it reads (manifests, blobs), and turns the
//! client's errors into named [`RegistryError`]s. Signatures are looked up
//! here (the cosign legacy `sha256-<hex>.sig` tag) and checked by
//! [`cosign`](crate::registry::cosign).
//!
//! Credentials live in the client's memory for the life of one [`Remote`]
//! only; oci-client keeps them as plain `String`s, so they are not wiped on
//! drop (the crate offers no zeroizing store). They are never logged: the
//! client is only ever asked for `Debug` of [`Auth`], which hides them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Once;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::hex::encode as hex;
use crate::registry::RegistryError;

mod bounded;
use crate::registry::cosign::{self, CosignError, PublicKey, Verified};

/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker's schema 2 manifest, which some producers still push.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The empty config descriptor's media type (OCI 1.1 artifacts).
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The default time a registry may take to answer one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest manifest read.
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The largest signature payload read.
const MAX_SIGNATURE_PAYLOAD: u64 = 64 << 10;
/// The most signature layers looked at.
const MAX_SIGNATURES: usize = 16;

/// How to authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    Anonymous,
    /// HTTP Basic (or the token exchange it starts), from a decrypted file.
    Basic {
        /// The username.
        username: Zeroizing<String>,
        /// The password.
        password: Zeroizing<String>,
        /// Where they came from, for messages (a file name, never a value).
        source: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Basic { source, .. } => write!(f, "Basic(from {source})"),
        }
    }
}

impl Auth {
    fn describe(&self) -> String {
        match self {
            Auth::Anonymous => "no credentials were sent (anonymous)".to_owned(),
            Auth::Basic { source, .. } => format!("credentials from {source}"),
        }
    }

    fn to_client(&self) -> RegistryAuth {
        match self {
            Auth::Anonymous => RegistryAuth::Anonymous,
            Auth::Basic {
                username, password, ..
            } => RegistryAuth::Basic(username.to_string(), password.to_string()),
        }
    }
}

/// Transport and verification settings from `config.ncl`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Registries reached over plain HTTP besides loopback.
    pub insecure: Vec<String>,
    /// How long one call may take.
    pub timeout: Duration,
    /// `vault.cosign.rekor_pub_path`: when set, a signature counts only if
    /// it is logged in this transparency log (its Rekor entry and signed
    /// entry timestamp verify, [`cosign::verify_set`]).
    pub rekor: Option<PublicKey>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            insecure: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            rekor: None,
        }
    }
}

/// Whether `endpoint` (`host[:port]`) is reached over plain HTTP: a
/// loopback host (`localhost`, 127.0.0.0/8, `::1`) or one listed.
pub fn plain_http(endpoint: &str, insecure: &[String]) -> bool {
    if insecure.iter().any(|i| i.eq_ignore_ascii_case(endpoint)) {
        return true;
    }
    let host = host_of(endpoint);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || insecure.iter().any(|i| i.eq_ignore_ascii_case(host))
}

/// The host of `host[:port]` (brackets of an IPv6 literal removed).
fn host_of(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match endpoint.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => endpoint,
    }
}

/// Installs rustls' ring provider once per process (oci-client is built
/// without one, so no C compiler is needed for aws-lc-rs).
pub(crate) fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Built clients, reused for a minute: building one loads the system's
/// root certificates (several milliseconds), and a reused one keeps its
/// connections and tokens. A client is shared only by calls with the same
/// endpoint, timeout and credentials (compared by a keyed hash, never
/// stored), so no caller's requests ever carry another's credentials; an
/// idle client is dropped with the credentials it holds.
mod clients {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};

    use oci_client::Client;
    use sha2::{Digest as _, Sha256};

    use super::Auth;

    const IDLE: Duration = Duration::from_secs(60);
    const MAX: usize = 32;

    type Key = (String, u128, [u8; 32]);

    static CLIENTS: LazyLock<Mutex<HashMap<Key, (Client, Instant)>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    /// A per-process salt, so the hash of a password is useless elsewhere.
    static SALT: LazyLock<[u8; 16]> = LazyLock::new(|| {
        use aes_gcm::aead::rand_core::RngCore as _;
        let mut b = [0u8; 16];
        aes_gcm::aead::OsRng.fill_bytes(&mut b);
        b
    });

    pub(super) fn identity(auth: &Auth) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(*SALT);
        if let Auth::Basic {
            username, password, ..
        } = auth
        {
            h.update(username.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
        }
        h.finalize().into()
    }

    /// The client for this endpoint, timeout and credentials, built by
    /// `build` when there is none.
    pub(super) fn get(
        endpoint: &str,
        auth: &Auth,
        timeout: Duration,
        build: impl FnOnce() -> Client,
    ) -> Client {
        let key = (endpoint.to_owned(), timeout.as_nanos(), identity(auth));
        let now = Instant::now();
        let mut map = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, used)| now.duration_since(*used) < IDLE);
        if let Some((client, used)) = map.get_mut(&key) {
            *used = now;
            return client.clone();
        }
        let client = build();
        if map.len() >= MAX
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(key, (client.clone(), now));
        client
    }
}

/// An artifact's manifest, pinned by digest.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// The manifest's digest (`sha256:…`).
    pub digest: String,
    /// The parsed manifest.
    pub manifest: OciImageManifest,
    /// Its bytes as served (their SHA-256 is `digest`).
    pub raw: Vec<u8>,
}

impl Pinned {
    /// The manifest's `artifactType`, else its config's media type.
    pub fn artifact_type(&self) -> &str {
        self.manifest
            .artifact_type
            .as_deref()
            .unwrap_or(&self.manifest.config.media_type)
    }
}

/// One registry endpoint with one set of credentials.
pub struct Remote {
    client: Client,
    endpoint: String,
    auth: Auth,
    timeout: Duration,
    /// `http` for loopback and listed registries, else `https`.
    scheme: &'static str,
    /// The transparency log signatures must be logged in, if any.
    rekor: Option<PublicKey>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .finish()
    }
}

impl Remote {
    /// A client for `endpoint` (`host[:port]`).
    pub fn new(endpoint: &str, auth: Auth, settings: &Settings) -> Remote {
        install_crypto();
        let plain = plain_http(endpoint, &settings.insecure);
        let protocol = if plain {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let client = clients::get(endpoint, &auth, settings.timeout, || {
            Client::new(ClientConfig {
                protocol,
                connect_timeout: Some(settings.timeout),
                read_timeout: Some(settings.timeout),
                // Artifacts are a few layers; no platform indexes are followed.
                platform_resolver: None,
                ..ClientConfig::default()
            })
        });
        Remote {
            client,
            endpoint: endpoint.to_owned(),
            auth,
            timeout: settings.timeout,
            scheme: if plain { "http" } else { "https" },
            rekor: settings.rekor.clone(),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `<endpoint>/<repository>:<tag>`.
    pub fn tag_ref(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.endpoint.clone(), repository.to_owned(), tag.to_owned())
    }

    /// `<endpoint>/<repository>@<digest>`.
    pub fn digest_ref(&self, repository: &str, digest: &str) -> Reference {
        Reference::with_digest(
            self.endpoint.clone(),
            repository.to_owned(),
            digest.to_owned(),
        )
    }

    /// Runs one registry call under the timeout, with the credentials
    /// registered first, mapping its error.
    async fn call<T, F>(&self, reference: &Reference, fut: F) -> Result<T, RegistryError>
    where
        F: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let run = async {
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.auth.to_client())
                .await;
            fut.await
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.map_error(reference, e)),
            Err(_) => Err(RegistryError::Unreachable {
                registry: self.endpoint.clone(),
                detail: format!(
                    "no answer within {} s (the timeout)",
                    self.timeout.as_secs_f64()
                ),
            }),
        }
    }

    fn map_error(&self, reference: &Reference, e: OciDistributionError) -> RegistryError {
        let registry = self.endpoint.clone();
        let auth_failed = || RegistryError::AuthFailed {
            registry: registry.clone(),
            reference: reference.whole(),
            detail: self.auth.describe(),
        };
        let not_found = || RegistryError::NotFound {
            reference: reference.whole(),
        };
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => auth_failed(),
            OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                    )
                }) {
                    not_found()
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    auth_failed()
                } else {
                    RegistryError::Protocol {
                        registry,
                        detail: crate::error::clip(&envelope.to_string()),
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => not_found(),
                401 | 403 => auth_failed(),
                _ => RegistryError::Protocol {
                    registry,
                    detail: crate::error::clip(&format!("HTTP {code}: {message}")),
                },
            },
            OciDistributionError::RequestError(err) => {
                if err.is_timeout() {
                    RegistryError::Unreachable {
                        registry,
                        detail: format!(
                            "no answer within {} s (the timeout)",
                            self.timeout.as_secs_f64()
                        ),
                    }
                } else if err.is_connect() || err.is_request() {
                    RegistryError::Unreachable {
                        registry,
                        detail: crate::error::clip(&error_chain(&err)),
                    }
                } else {
                    RegistryError::Protocol {
                        registry,
                        detail: crate::error::clip(&error_chain(&err)),
                    }
                }
            }
            OciDistributionError::DigestError(d) => RegistryError::Invalid {
                reference: reference.whole(),
                detail: format!(
                    "content does not match its digest, so it was changed in the registry or on \
                     the way: {d}"
                ),
            },
            other => RegistryError::Protocol {
                registry,
                detail: crate::error::clip(&other.to_string()),
            },
        }
    }

    /// Resolves `repository:tag` to its manifest digest (one HEAD, or a GET
    /// when the registry sends no digest header).
    pub async fn resolve(&self, repository: &str, tag: &str) -> Result<String, RegistryError> {
        let reference = self.tag_ref(repository, tag);
        let auth = self.auth.to_client();
        let digest = self
            .call(
                &reference,
                self.client.fetch_manifest_digest(&reference, &auth),
            )
            .await?;
        check_digest(&digest).map_err(|detail| RegistryError::Protocol {
            registry: self.endpoint.clone(),
            detail: format!(
                "{reference} resolved to `{}`: {detail}",
                crate::error::clip(&digest)
            ),
        })?;
        Ok(digest)
    }

    /// The manifest `digest` of `repository`, checked against its digest
    /// and bounded by [`MAX_MANIFEST`].
    pub async fn manifest(&self, repository: &str, digest: &str) -> Result<Pinned, RegistryError> {
        let reference = self.digest_ref(repository, digest);
        self.fetch_manifest(&reference, Some(digest)).await
    }

    /// The manifest at `repository:tag` in one request, pinned by the
    /// digest of the bytes served (for small records such as signatures
    /// and locks, whose content is checked on its own).
    pub async fn manifest_at_tag(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Pinned, RegistryError> {
        let reference = self.tag_ref(repository, tag);
        self.fetch_manifest(&reference, None).await
    }

    async fn fetch_manifest(
        &self,
        reference: &Reference,
        expected: Option<&str>,
    ) -> Result<Pinned, RegistryError> {
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            self.scheme,
            self.endpoint,
            reference.repository(),
            reference.digest().or(reference.tag()).unwrap_or("latest")
        );
        let mut raw = Vec::new();
        let headers = self
            .get_bounded(
                reference,
                &url,
                &format!("{OCI_MANIFEST}, {DOCKER_MANIFEST}"),
                MAX_MANIFEST,
                "the manifest",
                &mut |chunk| raw.extend_from_slice(chunk),
            )
            .await?;
        let got = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
            .map(str::to_owned);
        let computed = sha256_digest(&raw);
        if let Some(claimed) = expected.or(got.as_deref())
            && claimed != computed
        {
            return Err(RegistryError::Invalid {
                reference: reference.whole(),
                detail: format!("the manifest served has digest {computed}, not {claimed}"),
            });
        }
        let manifest: OciImageManifest =
            serde_json::from_slice(&raw).map_err(|e| RegistryError::Invalid {
                reference: reference.whole(),
                detail: format!("the manifest does not parse as an OCI image manifest: {e}"),
            })?;
        Ok(Pinned {
            digest: computed,
            manifest,
            raw,
        })
    }

    /// The blob `descriptor` of `repository`, refused before any request
    /// when its declared size is over `limit`, and cut off when the bytes
    /// served pass it. Its digest is checked.
    pub async fn blob(
        &self,
        repository: &str,
        descriptor: &OciDescriptor,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        self.blob_with_progress(repository, descriptor, limit, None)
            .await
    }

    /// [`Remote::blob`], calling `progress(bytes so far, bytes in all)` as
    /// the bytes arrive.
    pub async fn blob_with_progress(
        &self,
        repository: &str,
        descriptor: &OciDescriptor,
        limit: u64,
        progress: Option<Progress>,
    ) -> Result<Vec<u8>, RegistryError> {
        let reference = self.digest_ref(repository, &descriptor.digest);
        let what = || format!("layer {}", descriptor.digest);
        if descriptor.size < 0 || descriptor.size as u64 > limit {
            return Err(RegistryError::TooLarge {
                reference: reference.whole(),
                what: what(),
                size: u64::try_from(descriptor.size).ok(),
                limit,
            });
        }
        check_digest(&descriptor.digest).map_err(|detail| RegistryError::Invalid {
            reference: reference.whole(),
            detail: format!(
                "layer digest `{}`: {detail}",
                crate::error::clip(&descriptor.digest)
            ),
        })?;
        let url = format!(
            "{}://{}/v2/{}/blobs/{}",
            self.scheme,
            self.endpoint,
            reference.repository(),
            descriptor.digest
        );
        let total = descriptor.size as u64;
        let mut buf = Vec::with_capacity(descriptor.size as usize);
        let mut hasher = Sha256::new();
        self.get_bounded(&reference, &url, "*/*", limit, &what(), &mut |chunk| {
            buf.extend_from_slice(chunk);
            hasher.update(chunk);
            if let Some(p) = &progress {
                p(buf.len() as u64, total);
            }
        })
        .await?;
        if buf.len() as u64 != total {
            return Err(RegistryError::Invalid {
                reference: reference.whole(),
                detail: format!(
                    "{} is {} bytes, its descriptor says {total}",
                    what(),
                    buf.len()
                ),
            });
        }
        let digest = format!("sha256:{}", hex(&hasher.finalize()));
        if digest != descriptor.digest {
            return Err(RegistryError::Invalid {
                reference: reference.whole(),
                detail: format!(
                    "content does not match its digest, so it was changed in the registry or on \
                     the way: {} has {digest}",
                    what()
                ),
            });
        }
        Ok(buf)
    }

    /// Verifies the cosign key-pair signature of manifest `digest` in
    /// `repository` with `key`: the `sha256-<hex>.sig` tag, each simple
    /// signing layer in turn, until one verifies and names `digest`.
    pub async fn verify(
        &self,
        repository: &str,
        digest: &str,
        key: &PublicKey,
    ) -> Result<Verified, RegistryError> {
        let shown = format!("{}/{repository}@{digest}", self.endpoint);
        let tag = signature_tag(digest).ok_or_else(|| RegistryError::Invalid {
            reference: shown.clone(),
            detail: "only sha256 digests are supported".into(),
        })?;
        // One request: the signature's own manifest needs no pinning (each
        // layer is checked against its digest, and the payload is signed).
        let sig = match self.manifest_at_tag(repository, &tag).await {
            Ok(m) => m,
            Err(RegistryError::NotFound { .. }) => {
                return Err(CosignError::SignatureMissing { reference: shown }.into());
            }
            Err(e) => return Err(e),
        };
        let mut last: Option<CosignError> = None;
        let layers = sig
            .manifest
            .layers
            .iter()
            .filter(|l| l.media_type == cosign::SIMPLE_SIGNING_MEDIA_TYPE)
            .take(MAX_SIGNATURES);
        for layer in layers {
            let Some(signature) = layer
                .annotations
                .as_ref()
                .and_then(|a| a.get(cosign::SIGNATURE_ANNOTATION))
            else {
                continue;
            };
            let payload = self.blob(repository, layer, MAX_SIGNATURE_PAYLOAD).await?;
            let logged = |v: Verified| match &self.rekor {
                None => Ok(v),
                Some(rekor) => {
                    let bundle = layer
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(cosign::BUNDLE_ANNOTATION));
                    cosign::verify_set(
                        bundle.map(String::as_str),
                        rekor,
                        key,
                        &payload,
                        signature,
                        &shown,
                    )
                    .map(|_| v)
                }
            };
            match cosign::verify(key, &payload, signature, digest, &shown).and_then(logged) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // A mismatch says more than an invalid signature.
                    if !matches!(last, Some(CosignError::DigestMismatch { .. })) {
                        last = Some(e);
                    }
                }
            }
        }
        Err(last
            .unwrap_or(CosignError::SignatureMissing { reference: shown })
            .into())
    }

    /// Pushes a blob (skipped by the registry protocol when present).
    pub async fn push_blob(
        &self,
        repository: &str,
        data: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&data);
        let reference = self.digest_ref(repository, &digest);
        self.call(&reference, self.client.push_blob(&reference, data, &digest))
            .await?;
        Ok(digest)
    }

    /// Pushes manifest bytes at `tag`; returns their digest.
    pub async fn push_manifest(
        &self,
        repository: &str,
        tag: &str,
        raw: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&raw);
        let reference = self.tag_ref(repository, tag);
        let content_type = reqwest_header(OCI_MANIFEST);
        self.call(
            &reference,
            self.client.push_manifest_raw(&reference, raw, content_type),
        )
        .await?;
        Ok(digest)
    }

    /// Pushes an artifact: each layer blob, the empty config, and an OCI
    /// manifest with `artifact_type` at `tag`. Returns the manifest digest.
    pub async fn push_artifact(
        &self,
        repository: &str,
        tag: &str,
        artifact_type: &str,
        layers: Vec<Layer>,
        annotations: BTreeMap<String, String>,
    ) -> Result<String, RegistryError> {
        let raw = artifact_manifest(artifact_type, &layers, annotations);
        for layer in layers {
            self.push_blob(repository, layer.data).await?;
        }
        self.push_blob(repository, EMPTY_JSON.to_vec()).await?;
        self.push_manifest(repository, tag, raw).await
    }

    /// Signs manifest `digest` of `repository` with `sign` (payload →
    /// base64 signature) in cosign's legacy layout: a simple-signing layer
    /// at tag `sha256-<hex>.sig`. Returns the signature manifest's digest.
    pub async fn push_signature(
        &self,
        repository: &str,
        digest: &str,
        payload: Vec<u8>,
        signature_b64: String,
    ) -> Result<String, RegistryError> {
        let tag = signature_tag(digest).ok_or_else(|| RegistryError::Invalid {
            reference: format!("{}/{repository}@{digest}", self.endpoint),
            detail: "only sha256 digests are supported".into(),
        })?;
        let size = payload.len() as i64;
        let layer_digest = self.push_blob(repository, payload).await?;
        let config_bytes = br#"{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
        let config_size = config_bytes.len() as i64;
        let config = self.push_blob(repository, config_bytes).await?;
        let manifest = SigManifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.to_owned(),
            config: Descriptor {
                media_type: "application/vnd.oci.image.config.v1+json".to_owned(),
                digest: config,
                size: config_size,
                annotations: BTreeMap::new(),
            },
            layers: vec![Descriptor {
                media_type: cosign::SIMPLE_SIGNING_MEDIA_TYPE.to_owned(),
                digest: layer_digest,
                size,
                annotations: BTreeMap::from([(
                    cosign::SIGNATURE_ANNOTATION.to_owned(),
                    signature_b64,
                )]),
            }],
        };
        let raw = serde_json::to_vec(&manifest).map_err(|e| RegistryError::Protocol {
            registry: self.endpoint.clone(),
            detail: format!("the signature manifest does not serialize: {e}"),
        })?;
        self.push_manifest(repository, &tag, raw).await
    }
}

/// A layer to push.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The bytes.
    pub data: Vec<u8>,
    /// The media type.
    pub media_type: String,
    /// Its annotations (`org.opencontainers.image.title`, …).
    pub annotations: BTreeMap<String, String>,
}

/// The empty config's bytes.
const EMPTY_JSON: &[u8] = b"{}";

/// The OCI manifest [`Remote::push_artifact`] writes for `layers`: the
/// same inputs always give the same bytes (fields in a fixed order, no
/// timestamps), so the digest of a pushed artifact can be known before the
/// push.
pub fn artifact_manifest(
    artifact_type: &str,
    layers: &[Layer],
    annotations: BTreeMap<String, String>,
) -> Vec<u8> {
    let manifest = Manifest {
        schema_version: 2,
        media_type: OCI_MANIFEST.to_owned(),
        artifact_type: artifact_type.to_owned(),
        config: Descriptor {
            media_type: EMPTY_CONFIG.to_owned(),
            digest: sha256_digest(EMPTY_JSON),
            size: EMPTY_JSON.len() as i64,
            annotations: BTreeMap::new(),
        },
        layers: layers
            .iter()
            .map(|l| Descriptor {
                media_type: l.media_type.clone(),
                digest: sha256_digest(&l.data),
                size: l.data.len() as i64,
                annotations: l.annotations.clone(),
            })
            .collect(),
        annotations,
    };
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// A descriptor as we write it (field order fixed: the same artifact gives
/// the same manifest bytes, so the same digest).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: i64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u8,
    media_type: String,
    artifact_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SigManifest {
    schema_version: u8,
    media_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

fn reqwest_header(value: &'static str) -> http::HeaderValue {
    http::HeaderValue::from_static(value)
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

/// The cosign legacy signature tag of a `sha256:` digest.
pub fn signature_tag(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:")?;
    Some(format!("sha256-{hex}.sig"))
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits.
pub fn check_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(h)
            if h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(())
        }
        _ => Err("not a sha256 digest".to_owned()),
    }
}

/// The chain of an error's sources, `: `-joined (reqwest hides the cause).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Reports download progress: bytes so far, bytes in all.
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_use_plain_http() {
        for e in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.8.9.1",
            "[::1]:5000",
        ] {
            assert!(plain_http(e, &[]), "{e}");
        }
        for e in [
            "registry.example.com",
            "10.0.0.1:5000",
            "localhost.evil.com:5000",
            "128.0.0.1",
        ] {
            assert!(!plain_http(e, &[]), "{e}");
        }
        let listed = vec!["zot.lan:5000".to_owned(), "build-host".to_owned()];
        assert!(plain_http("zot.lan:5000", &listed));
        assert!(plain_http("build-host:443", &listed));
        assert!(!plain_http("zot.lan:5001", &listed));
    }

    #[test]
    fn digests_and_signature_tags() {
        let d = sha256_digest(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(check_digest(&d).is_ok());
        assert!(check_digest("sha256:E3B0").is_err());
        assert!(check_digest("sha512:00").is_err());
        assert_eq!(
            signature_tag(&d).as_deref(),
            Some("sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.sig")
        );
    }

    #[test]
    fn auth_debug_hides_the_values() {
        let a = Auth::Basic {
            username: Zeroizing::new("u-SECRET".into()),
            password: Zeroizing::new("p-SECRET".into()),
            source: "access.sops.yaml".into(),
        };
        let shown = format!("{a:?} {}", a.describe());
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("access.sops.yaml"));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_a_silent_one_times_out() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let remote = Remote::new(
            &format!("127.0.0.1:{port}"),
            Auth::Anonymous,
            &Settings::default(),
        );
        let err = remote.resolve("a/b", "latest").await.unwrap_err();
        assert_eq!(err.code(), "registry-unreachable", "{err}");

        // Accepts connections and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let settings = Settings {
            timeout: Duration::from_millis(300),
            ..Settings::default()
        };
        let remote = Remote::new(&addr.to_string(), Auth::Anonymous, &settings);
        let started = std::time::Instant::now();
        let err = remote.resolve("a/b", "latest").await.unwrap_err();
        assert_eq!(err.code(), "registry-unreachable", "{err}");
        assert!(err.to_string().contains("timeout"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        hold.abort();
    }

    /// A registry that answers every request `404 BLOB_UNKNOWN` on one
    /// connection after another; returns its address and how many
    /// connections it took.
    async fn refusing_server() -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        tokio::task::JoinHandle<()>,
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    // One request per read is enough for these small GETs.
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let body =
                            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#;
                        let reply = format!(
                            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (addr, hits, task)
    }

    #[tokio::test]
    async fn a_layers_urls_are_never_followed() {
        use std::sync::atomic::Ordering;
        let (registry, registry_hits, r) = refusing_server().await;
        let (foreign, foreign_hits, f) = refusing_server().await;
        let remote = Remote::new(&registry.to_string(), Auth::Anonymous, &Settings::default());
        let data = b"layer";
        let descriptor = OciDescriptor {
            media_type: "application/octet-stream".into(),
            digest: sha256_digest(data),
            size: data.len() as i64,
            urls: Some(vec![format!("http://{foreign}/blob")]),
            annotations: None,
            artifact_type: None,
        };
        let err = remote.blob("a/b", &descriptor, 1024).await.unwrap_err();
        assert_eq!(err.code(), "artifact-not-found", "{err}");
        assert!(
            registry_hits.load(Ordering::SeqCst) > 0,
            "the registry was asked"
        );
        assert_eq!(
            foreign_hits.load(Ordering::SeqCst),
            0,
            "a layer's urls sent the client elsewhere"
        );
        r.abort();
        f.abort();
    }

    /// What the hand-made registry answers a request with.
    enum Reply {
        /// Status line, extra headers, body.
        Fixed(&'static str, Vec<String>, Vec<u8>),
        /// Status line and extra headers, then a chunked body that never
        /// ends (until the client goes away).
        Endless(&'static str, Vec<String>),
    }

    /// A hand-made HTTP/1.1 server on loopback answering each request
    /// (its request line and `authorization` header) with `answer`; for
    /// the hostile and token-auth registries docker-registry cannot play.
    async fn serve(
        answer: impl Fn(&str, Option<&str>) -> Reply + Send + Sync + 'static,
    ) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = std::sync::Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut auth = None;
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if h == "\r\n" {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':')
                                && k.eq_ignore_ascii_case("authorization")
                            {
                                auth = Some(v.trim().to_owned());
                            }
                        }
                        match answer(line.trim(), auth.as_deref()) {
                            Reply::Fixed(status, headers, body) => {
                                let mut head = format!("HTTP/1.1 {status}\r\n");
                                for h in headers {
                                    head.push_str(&h);
                                    head.push_str("\r\n");
                                }
                                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                                if w.write_all(head.as_bytes()).await.is_err()
                                    || w.write_all(&body).await.is_err()
                                {
                                    return;
                                }
                            }
                            Reply::Endless(status, headers) => {
                                let mut head = format!("HTTP/1.1 {status}\r\n");
                                for h in headers {
                                    head.push_str(&h);
                                    head.push_str("\r\n");
                                }
                                head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                                if w.write_all(head.as_bytes()).await.is_err() {
                                    return;
                                }
                                let chunk =
                                    format!("{:x}\r\n{}\r\n", 64 << 10, "x".repeat(64 << 10));
                                while w.write_all(chunk.as_bytes()).await.is_ok() {}
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn an_endless_manifest_or_error_body_is_cut_off_at_its_bound() {
        let (addr, task) = serve(|line, _| {
            if line.contains("/manifests/") {
                Reply::Endless("200 OK", vec![format!("Content-Type: {OCI_MANIFEST}")])
            } else {
                Reply::Endless("500 Internal Server Error", vec![])
            }
        })
        .await;
        let remote = Remote::new(&addr.to_string(), Auth::Anonymous, &Settings::default());
        let started = std::time::Instant::now();
        let err = remote.manifest_at_tag("a/b", "latest").await.unwrap_err();
        assert_eq!(err.code(), "artifact-too-large", "{err}");
        let data = b"layer";
        let descriptor = OciDescriptor {
            media_type: "application/octet-stream".into(),
            digest: sha256_digest(data),
            size: data.len() as i64,
            urls: None,
            annotations: None,
            artifact_type: None,
        };
        let err = remote.blob("a/b", &descriptor, 1024).await.unwrap_err();
        assert_eq!(err.code(), "registry-protocol-error", "{err}");
        assert!(err.to_string().contains("500"), "{err}");
        // Both well before the 30 s timeout: the bound stopped them.
        assert!(started.elapsed() < Duration::from_secs(10));
        task.abort();
    }

    #[tokio::test]
    async fn a_bearer_challenge_is_answered_with_the_token_exchange() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let manifest = artifact_manifest("application/x-test", &[], BTreeMap::new());
        let served = manifest.clone();
        let tokens = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = tokens.clone();
        let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
        let p = port.clone();
        let (addr, task) = serve(move |line, auth| {
            let port = *p.get().unwrap();
            let challenge = format!(
                "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"test\""
            );
            if line.starts_with("GET /token") {
                counted.fetch_add(1, Ordering::SeqCst);
                // The token endpoint gets the user's credentials (Basic).
                assert!(auth.is_some_and(|a| a.starts_with("Basic ")), "{auth:?}");
                return Reply::Fixed(
                    "200 OK",
                    vec!["Content-Type: application/json".into()],
                    br#"{"token":"tok-123"}"#.to_vec(),
                );
            }
            if auth != Some("Bearer tok-123") {
                return Reply::Fixed("401 Unauthorized", vec![challenge], Vec::new());
            }
            if line.starts_with("GET /v2/a/b/manifests/latest") {
                return Reply::Fixed(
                    "200 OK",
                    vec![format!("Content-Type: {OCI_MANIFEST}")],
                    served.clone(),
                );
            }
            Reply::Fixed("404 Not Found", vec![], Vec::new())
        })
        .await;
        port.set(addr.port()).unwrap();
        let remote = Remote::new(
            &addr.to_string(),
            Auth::Basic {
                username: Zeroizing::new("u".into()),
                password: Zeroizing::new("p".into()),
                source: "test".into(),
            },
            &Settings::default(),
        );
        let pinned = remote.manifest_at_tag("a/b", "latest").await.unwrap();
        assert_eq!(pinned.digest, sha256_digest(&manifest));
        assert_eq!(pinned.raw, manifest);
        // A second GET reuses the token.
        remote.manifest_at_tag("a/b", "latest").await.unwrap();
        assert_eq!(tokens.load(Ordering::SeqCst), 1);
        task.abort();
    }
}
