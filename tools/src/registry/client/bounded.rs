//! Registry GETs whose bodies are read with a bound: manifests, blobs and
//! the body of any error response. Hand-written because oci-client 0.18
//! reads a manifest, and any error response, whole before anything can
//! check its size, so a registry (whose address comes from project files)
//! could make the server hold gigabytes; and it follows a layer's `urls`.
//! oci-client keeps what it does well: the bearer token exchange (called
//! here when a registry asks for one), tag resolution by HEAD, and pushes.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oci_client::{Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};

use super::{Auth, Remote, clients, error_chain};
use crate::registry::RegistryError;

/// The most of an error response's body that is read (for its message).
const MAX_ERROR_BODY: usize = 16 << 10;
/// How long the authorization a repository asked for is reused.
const AUTH_TTL: Duration = Duration::from_secs(50);
/// The most remembered authorizations.
const MAX_AUTH: usize = 64;

type AuthKey = (String, String, [u8; 32]);

/// Authorization headers by endpoint, repository and (salted) credentials,
/// so a process asks the registry's challenge once a minute, not per GET.
static AUTHORIZED: LazyLock<Mutex<HashMap<AuthKey, (HeaderValue, Instant)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// HTTP clients by timeout (building one loads the root certificates).
static CLIENTS: LazyLock<Mutex<HashMap<u128, reqwest::Client>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let mut map = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = map.get(&timeout.as_nanos()) {
        return Ok(c.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build()
        .map_err(|e| error_chain(&e))?;
    map.insert(timeout.as_nanos(), client.clone());
    Ok(client)
}

impl Remote {
    /// GETs `url` (of `reference`), passing the body to `sink` chunk by
    /// chunk and refusing it once it passes `limit` bytes (`what` names it
    /// in that error); answers a 401 once with the authorization the
    /// registry's challenge asks for. The whole exchange is under the
    /// timeout. Returns the response's headers.
    pub(super) async fn get_bounded(
        &self,
        reference: &Reference,
        url: &str,
        accept: &str,
        limit: u64,
        what: &str,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<HeaderMap, RegistryError> {
        match tokio::time::timeout(
            self.timeout,
            self.get_bounded_untimed(reference, url, accept, limit, what, sink),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(RegistryError::Unreachable {
                registry: self.endpoint.clone(),
                detail: format!(
                    "no answer within {} s (the timeout)",
                    self.timeout.as_secs_f64()
                ),
            }),
        }
    }

    async fn get_bounded_untimed(
        &self,
        reference: &Reference,
        url: &str,
        accept: &str,
        limit: u64,
        what: &str,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<HeaderMap, RegistryError> {
        let http = http_client(self.timeout).map_err(|detail| RegistryError::Protocol {
            registry: self.endpoint.clone(),
            detail,
        })?;
        let key: AuthKey = (
            self.endpoint.clone(),
            reference.repository().to_owned(),
            clients::identity(&self.auth),
        );
        let mut header = remembered(&key);
        for attempt in 0..2 {
            let mut request = http.get(url).header(ACCEPT, accept);
            if let Some(h) = &header {
                request = request.header(AUTHORIZATION, h.clone());
            }
            let mut response = request.send().await.map_err(|e| self.request_error(&e))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                drop(response);
                forget(&key);
                header = Some(self.authorize(reference, challenge.as_deref()).await?);
                if let Some(h) = &header {
                    remember(key.clone(), h.clone());
                }
                continue;
            }
            if !status.is_success() {
                return Err(self.status_error(reference, response).await);
            }
            let headers = response.headers().clone();
            let mut total = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(&e))? {
                total += chunk.len() as u64;
                if total > limit {
                    return Err(RegistryError::TooLarge {
                        reference: reference.whole(),
                        what: what.to_owned(),
                        size: None,
                        limit,
                    });
                }
                sink(&chunk);
            }
            return Ok(headers);
        }
        Err(self.auth_failed(reference))
    }

    /// The authorization the registry's challenge asks for: a bearer token
    /// (oci-client's exchange) or HTTP Basic with the credentials.
    async fn authorize(
        &self,
        reference: &Reference,
        challenge: Option<&str>,
    ) -> Result<HeaderValue, RegistryError> {
        let bearer = challenge.is_some_and(|c| {
            c.trim_start()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
        });
        let value = if bearer {
            match self
                .client
                .auth(reference, &self.auth.to_client(), RegistryOperation::Pull)
                .await
            {
                Ok(Some(token)) => format!("Bearer {token}"),
                Ok(None) => self.basic().ok_or_else(|| self.auth_failed(reference))?,
                Err(e) => return Err(self.map_error(reference, e)),
            }
        } else {
            self.basic().ok_or_else(|| self.auth_failed(reference))?
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| RegistryError::Protocol {
            registry: self.endpoint.clone(),
            detail: "the registry's token is not a valid header value".into(),
        })?;
        header.set_sensitive(true);
        Ok(header)
    }

    fn basic(&self) -> Option<String> {
        match &self.auth {
            Auth::Basic {
                username, password, ..
            } => {
                let pair = zeroize::Zeroizing::new(format!("{}:{}", &**username, &**password));
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
                ))
            }
            Auth::Anonymous => None,
        }
    }

    fn auth_failed(&self, reference: &Reference) -> RegistryError {
        RegistryError::AuthFailed {
            registry: self.endpoint.clone(),
            reference: reference.whole(),
            detail: self.auth.describe(),
        }
    }

    fn request_error(&self, err: &reqwest::Error) -> RegistryError {
        if err.is_timeout() {
            RegistryError::Unreachable {
                registry: self.endpoint.clone(),
                detail: format!(
                    "no answer within {} s (the timeout)",
                    self.timeout.as_secs_f64()
                ),
            }
        } else if err.is_connect() || err.is_request() {
            RegistryError::Unreachable {
                registry: self.endpoint.clone(),
                detail: crate::error::clip(&error_chain(err)),
            }
        } else {
            RegistryError::Protocol {
                registry: self.endpoint.clone(),
                detail: crate::error::clip(&error_chain(err)),
            }
        }
    }

    /// The error a non-success answer means, from its status and the OCI
    /// error codes in (at most [`MAX_ERROR_BODY`] bytes of) its body.
    async fn status_error(
        &self,
        reference: &Reference,
        mut response: reqwest::Response,
    ) -> RegistryError {
        let status = response.status();
        let mut body = Vec::new();
        while body.len() < MAX_ERROR_BODY {
            match response.chunk().await {
                Ok(Some(c)) => {
                    body.extend_from_slice(&c[..c.len().min(MAX_ERROR_BODY - body.len())])
                }
                _ => break,
            }
        }
        drop(response);
        let codes: Vec<String> = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("errors")?.as_array().map(|errors| {
                    errors
                        .iter()
                        .filter_map(|e| e.get("code")?.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .unwrap_or_default();
        let has = |names: &[&str]| codes.iter().any(|c| names.contains(&c.as_str()));
        if status == StatusCode::NOT_FOUND
            || has(&["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"])
        {
            RegistryError::NotFound {
                reference: reference.whole(),
            }
        } else if status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
            || has(&["UNAUTHORIZED", "DENIED"])
        {
            self.auth_failed(reference)
        } else {
            RegistryError::Protocol {
                registry: self.endpoint.clone(),
                detail: crate::error::clip(&format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                )),
            }
        }
    }
}

fn remembered(key: &AuthKey) -> Option<HeaderValue> {
    let map = AUTHORIZED.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(_, at)| at.elapsed() < AUTH_TTL)
        .map(|(h, _)| h.clone())
}

fn remember(key: AuthKey, header: HeaderValue) {
    let mut map = AUTHORIZED.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, (_, at)| at.elapsed() < AUTH_TTL);
    if map.len() >= MAX_AUTH {
        map.clear();
    }
    map.insert(key, (header, Instant::now()));
}

fn forget(key: &AuthKey) {
    AUTHORIZED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(key);
}
