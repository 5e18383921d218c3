//! Who may talk to the HTTP server: the `Host` and `Origin` allow-lists
//! (DNS-rebinding and cross-site protection, 403) and bearer tokens (401).
//!
//! The token file holds one `<actor> <sha256 hex of the token>` per line
//! (`#` comments and blank lines allowed), so the file itself reveals no
//! token. A presented token is hashed and compared in constant time with
//! every line; the actor of the matching line is put in the request's
//! extensions as [`RequestActor`], which the MCP server finds through
//! [`caller`] to run the request as that actor; the `Authorization` header is then removed, so
//! nothing past the guard holds the token. A request may not name another actor (the
//! `Ontoref-Actor` header must match the token's actor, 403 otherwise).
//!
//! The same middleware guards `/mcp`, `/sse` and `/message`; rmcp checks
//! `Host` and `Origin` again on `/mcp` with the same lists. Its refusals are
//! [`Refusal`]s (`host-not-allowed`, `origin-not-allowed`, `token-missing`,
//! `token-invalid`, `actor-mismatch`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use ontoref_tools::actor::RequestActor;
use ontoref_tools::codes::{ErrorCodes, variant};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::refusal::Refusal;

/// A header a client might use to pick an actor; only the token's actor is
/// accepted in it.
pub const ACTOR_HEADER: &str = "ontoref-actor";

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("cannot read the token file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `<actor> <64 hex digits>`.
    #[error("{}:{line}: {reason}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The same token hash appears twice: one token would name two actors.
    #[error("{}:{line}: the same token hash as line {first}", path.display())]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The repeated line.
        line: usize,
        /// Where it first appears.
        first: usize,
    },
    /// No token at all: every request would be refused.
    #[error("the token file {} lists no token", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl TokenFileError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenFileError::Unreadable { .. } => "token-file-unreadable",
            TokenFileError::BadLine { .. } => "token-file-bad-line",
            TokenFileError::Duplicate { .. } => "token-file-duplicate",
            TokenFileError::Empty { .. } => "token-file-empty",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> &'static str {
        match self {
            TokenFileError::Unreadable { .. } => "check the path given to --token-file",
            TokenFileError::BadLine { .. }
            | TokenFileError::Duplicate { .. }
            | TokenFileError::Empty { .. } => {
                "each line is `<actor> <sha256 hex of the token>`, e.g. \
                 `echo \"agent-bot $(printf %s \"$TOKEN\" | sha256sum | cut -d' ' -f1)\"`; \
                 give every actor its own token"
            }
        }
    }
}

impl ErrorCodes for TokenFileError {
    const VARIANTS: usize = 4;

    fn examples() -> Vec<Self> {
        let path = || PathBuf::from("/etc/ontoref/tokens");
        vec![
            TokenFileError::Unreadable {
                path: path(),
                source: std::io::ErrorKind::NotFound.into(),
            },
            TokenFileError::BadLine {
                path: path(),
                line: 2,
                reason: "expected 2 fields, found 3".into(),
            },
            TokenFileError::Duplicate {
                path: path(),
                line: 3,
                first: 1,
            },
            TokenFileError::Empty { path: path() },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = TokenFileError::VARIANTS;
        match self {
            TokenFileError::Unreadable { .. } => variant::<0, N>(),
            TokenFileError::BadLine { .. } => variant::<1, N>(),
            TokenFileError::Duplicate { .. } => variant::<2, N>(),
            TokenFileError::Empty { .. } => variant::<3, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint().to_owned()
    }
}

/// The largest token file read: a line per actor, ~100 bytes each.
const MAX_TOKEN_FILE: u64 = 1024 * 1024;

/// The tokens a server accepts: (actor, sha256 of the token).
#[derive(Debug, Clone)]
pub struct TokenTable {
    entries: Vec<(String, [u8; 32])>,
}

impl TokenTable {
    /// Reads and checks a token file.
    pub fn load(path: &Path) -> Result<TokenTable, TokenFileError> {
        use ontoref_tools::fsread::{self, Links, ReadError};
        let text = fsread::read_text(path, MAX_TOKEN_FILE, Links::Follow).map_err(|e| {
            TokenFileError::Unreadable {
                path: path.to_path_buf(),
                source: match e {
                    ReadError::Io(e) => e,
                    ReadError::NotFound => std::io::ErrorKind::NotFound.into(),
                    other => std::io::Error::other(other.to_string()),
                },
            }
        })?;
        TokenTable::parse(path, &text)
    }

    /// Parses token-file text (`path` is only for messages).
    pub fn parse(path: &Path, text: &str) -> Result<TokenTable, TokenFileError> {
        let mut entries: Vec<(String, [u8; 32])> = Vec::new();
        let mut lines_of = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let bad = |reason: String| TokenFileError::BadLine {
                path: path.to_path_buf(),
                line,
                reason,
            };
            let fields: Vec<&str> = content.split_whitespace().collect();
            let [actor, hash] = fields.as_slice() else {
                return Err(bad(format!(
                    "expected `<actor> <sha256 hex>`, found {} field(s)",
                    fields.len()
                )));
            };
            if !actor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
            {
                return Err(bad(format!(
                    "actor `{actor}` may use only letters, digits and - _ . @"
                )));
            }
            let digest = parse_hex32(hash).ok_or_else(|| {
                bad(format!(
                    "the hash for `{actor}` is not 64 hex digits (a sha256 of the token, \
                     never the token itself)"
                ))
            })?;
            if let Some(first) = entries.iter().position(|(_, d)| *d == digest) {
                return Err(TokenFileError::Duplicate {
                    path: path.to_path_buf(),
                    line,
                    first: lines_of[first],
                });
            }
            entries.push((actor.to_string(), digest));
            lines_of.push(line);
        }
        if entries.is_empty() {
            return Err(TokenFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(TokenTable { entries })
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is accepted (a loaded table never is).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The actor whose token this is. Every entry is compared, in constant
    /// time, whatever matches.
    pub fn actor_of(&self, token: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (actor, expected) in &self.entries {
            if bool::from(expected.ct_eq(&digest)) {
                found = Some(actor.as_str());
            }
        }
        found
    }
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// What the guard checks, shared by every request.
#[derive(Debug)]
pub struct Guard {
    allowed_hosts: Vec<Authority>,
    allowed_origins: Vec<OriginPattern>,
    tokens: Option<TokenTable>,
}

impl Guard {
    /// A guard over these allow-lists; `tokens` makes bearer tokens
    /// required. Entries that cannot be parsed are usage errors.
    pub fn new(
        hosts: &[String],
        origins: &[String],
        tokens: Option<TokenTable>,
    ) -> Result<Guard, String> {
        let allowed_hosts = hosts
            .iter()
            .map(|h| {
                Authority::parse(h).ok_or_else(|| {
                    format!("--allowed-host `{h}` is not a host or host:port (e.g. localhost:7337)")
                })
            })
            .collect::<Result<_, _>>()?;
        let allowed_origins = origins
            .iter()
            .map(|o| {
                OriginPattern::parse(o).ok_or_else(|| {
                    format!(
                        "--allowed-origin `{o}` is not scheme://host[:port|:*] \
                         (e.g. http://localhost:*)"
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Guard {
            allowed_hosts,
            allowed_origins,
            tokens,
        })
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(Authority::parse)
        else {
            return false;
        };
        self.allowed_hosts
            .iter()
            .any(|a| a.host == host.host && (a.port.is_none() || a.port == host.port))
    }

    /// An absent Origin is allowed (non-browser clients send none).
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Some(origin) = value.to_str().ok().and_then(Origin::parse) else {
            return false;
        };
        self.allowed_origins.iter().any(|p| p.matches(&origin))
    }

    /// Checks one request; on success returns the token's actor (if tokens
    /// are required).
    pub fn check(&self, headers: &HeaderMap) -> Result<Option<String>, Refusal> {
        if !self.host_allowed(headers) {
            tracing::warn!(host = ?headers.get(header::HOST), "refused: Host not allowed");
            return Err(Refusal::HostNotAllowed);
        }
        if !self.origin_allowed(headers) {
            tracing::warn!(origin = ?headers.get(header::ORIGIN), "refused: Origin not allowed");
            return Err(Refusal::OriginNotAllowed);
        }
        let Some(tokens) = &self.tokens else {
            return Ok(None);
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim())
                    .filter(|t| !t.is_empty())
            });
        let Some(token) = presented else {
            return Err(Refusal::TokenMissing);
        };
        let Some(actor) = tokens.actor_of(token) else {
            tracing::warn!("refused: unknown bearer token");
            return Err(Refusal::TokenInvalid);
        };
        if let Some(named) = headers.get(ACTOR_HEADER)
            && named.as_bytes() != actor.as_bytes()
        {
            tracing::warn!(actor, "refused: request names another actor");
            return Err(Refusal::ActorMismatch {
                actor: actor.to_owned(),
                header: ACTOR_HEADER,
            });
        }
        Ok(Some(actor.to_string()))
    }
}

/// The axum middleware: refuses what [`Guard::check`] refuses, and puts the
/// token's actor in the request's extensions.
pub async fn middleware(State(guard): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    match guard.check(req.headers()) {
        Ok(actor) => {
            if let Some(actor) = actor {
                req.extensions_mut().insert(RequestActor(actor));
                // The token has done its job: nothing further in (rmcp's
                // request parts, tool contexts, logs) gets to see it.
                req.headers_mut().remove(header::AUTHORIZATION);
            }
            next.run(req).await
        }
        Err(refused) => refused.response(),
    }
}

/// The caller of an MCP request over HTTP, as [`OntorefServer::with_caller`]
/// wants it: the [`RequestActor`] this middleware put in the HTTP request's
/// extensions, found in the `http::request::Parts` that rmcp's Streamable
/// HTTP (and our SSE transport) put in the rmcp request's extensions. Always
/// `Some`: a request over HTTP runs as its token's actor or as none
/// (`Some(None)`), never as the server's configured actor.
///
/// [`OntorefServer::with_caller`]: ontoref_tools::OntorefServer::with_caller
pub fn caller(extensions: &rmcp::model::Extensions) -> Option<Option<String>> {
    Some(
        extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestActor>())
            .map(|a| a.0.clone()),
    )
}

/// A host with an optional port, lower-cased, IPv6 without brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

impl Authority {
    fn parse(text: &str) -> Option<Authority> {
        let text = text.trim();
        if text.is_empty() || text.contains(['/', '@', ' ']) {
            return None;
        }
        // A bare IPv6 address (`::1`) has no brackets and no port.
        if text.parse::<std::net::Ipv6Addr>().is_ok() {
            return Some(Authority {
                host: text.to_ascii_lowercase(),
                port: None,
            });
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?.parse().ok()?),
            };
            (host, port)
        } else {
            match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(port.parse().ok()?)),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Authority {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// An `Origin` value: scheme, host, port (the scheme's default if absent).
#[derive(Debug)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = Authority::parse(rest.trim_end_matches('/'))?;
        let port = authority.port.or(default_port(&scheme));
        Some(Origin {
            scheme,
            host: authority.host,
            port,
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// An allowed origin: `scheme://host[:port]` or `scheme://host:*`.
#[derive(Debug)]
struct OriginPattern {
    scheme: String,
    host: String,
    /// `None` for `:*`.
    port: Option<u16>,
}

impl OriginPattern {
    fn parse(text: &str) -> Option<OriginPattern> {
        let text = text.trim();
        if let Some(base) = text.strip_suffix(":*") {
            let origin = Origin::parse(base)?;
            return Some(OriginPattern {
                scheme: origin.scheme,
                host: origin.host,
                port: None,
            });
        }
        let origin = Origin::parse(text)?;
        Some(OriginPattern {
            scheme: origin.scheme,
            host: origin.host,
            port: origin.port,
        })
    }

    fn matches(&self, origin: &Origin) -> bool {
        self.scheme == origin.scheme
            && self.host == origin.host
            && (self.port.is_none() || self.port == origin.port)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, StatusCode};

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn sha(token: &str) -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn guard(tokens: Option<TokenTable>) -> Guard {
        Guard::new(
            &["localhost".into(), "127.0.0.1:7337".into(), "::1".into()],
            &["http://localhost:*".into(), "https://ide.example".into()],
            tokens,
        )
        .unwrap()
    }

    #[test]
    fn hosts_match_with_and_without_ports() {
        let g = guard(None);
        for ok in [
            "localhost",
            "LOCALHOST:9",
            "127.0.0.1:7337",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(g.check(&headers(&[("host", ok)])).is_ok(), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:80",
            "evil.example",
            "localhost.evil",
            "",
        ] {
            assert!(g.check(&headers(&[("host", bad)])).is_err(), "{bad}");
        }
        assert!(g.check(&HeaderMap::new()).is_err(), "no Host at all");
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let g = guard(None);
        let with = |o: &str| headers(&[("host", "localhost"), ("origin", o)]);
        for ok in [
            "http://localhost:3000",
            "http://localhost",
            "https://ide.example",
            "https://ide.example:443",
        ] {
            assert!(g.check(&with(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "https://localhost:3000",
            "http://evil.example",
            "https://ide.example:8443",
            "null",
            "localhost",
        ] {
            assert!(g.check(&with(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_file_parses_and_names_actors() {
        let text = format!(
            "# team tokens\n\nagent-bot {}\n  dev.alice@corp {}  \n",
            sha("t-agent"),
            sha("t-alice").to_uppercase()
        );
        let table = TokenTable::parse(Path::new("tokens"), &text).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.actor_of("t-agent"), Some("agent-bot"));
        assert_eq!(table.actor_of("t-alice"), Some("dev.alice@corp"));
        assert_eq!(table.actor_of("t-agent "), None);
        assert_eq!(table.actor_of(""), None);
    }

    #[test]
    fn token_file_errors_name_the_line() {
        let p = Path::new("/etc/ontoref/tokens");
        let cases = [
            ("agent-bot\n", "token-file-bad-line", ":1:"),
            (
                "# c\nagent-bot s3cret-token\n",
                "token-file-bad-line",
                ":2:",
            ),
            ("bad/actor 00\n", "token-file-bad-line", "bad/actor"),
            ("a b c\n", "token-file-bad-line", "3 field"),
            ("# nothing\n\n", "token-file-empty", "lists no token"),
        ];
        for (text, code, needle) in cases {
            let err = TokenTable::parse(p, text).unwrap_err();
            assert_eq!(err.code(), code, "{text:?}");
            let message = err.to_string();
            assert!(message.contains(needle), "{message}");
            assert!(message.contains("/etc/ontoref/tokens"), "{message}");
            assert!(
                !message.contains("s3cret-token"),
                "never echo a token: {message}"
            );
        }
        let dup = format!("a {}\nb {}\n", sha("x"), sha("x"));
        let err = TokenTable::parse(p, &dup).unwrap_err();
        assert_eq!(err.code(), "token-file-duplicate");
        assert!(
            err.to_string()
                .contains(":2: the same token hash as line 1")
        );
    }

    #[test]
    fn bearer_tokens_are_required_and_bound() {
        let table =
            TokenTable::parse(Path::new("t"), &format!("agent-bot {}\n", sha("tok"))).unwrap();
        let g = guard(Some(table));
        let status = |h: HeaderMap| g.check(&h).map_err(|r| r.status());
        assert_eq!(
            status(headers(&[("host", "localhost")])),
            Err(StatusCode::UNAUTHORIZED)
        );
        let missing = g
            .check(&headers(&[("host", "localhost")]))
            .unwrap_err()
            .response();
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="ontoref""#
        );
        let wrong = g
            .check(&headers(&[
                ("host", "localhost"),
                ("authorization", "Bearer nope"),
            ]))
            .unwrap_err()
            .response();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(
            wrong.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        assert_eq!(
            status(headers(&[
                ("host", "localhost"),
                ("authorization", "bearer tok")
            ])),
            Ok(Some("agent-bot".into()))
        );
        assert_eq!(
            status(headers(&[
                ("host", "localhost"),
                ("authorization", "Basic tok")
            ])),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(headers(&[
                ("host", "localhost"),
                ("authorization", "Bearer tok"),
                (ACTOR_HEADER, "admin-root")
            ])),
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(headers(&[
                ("host", "localhost"),
                ("authorization", "Bearer tok"),
                (ACTOR_HEADER, "agent-bot")
            ])),
            Ok(Some("agent-bot".into()))
        );
        // Host and Origin are checked before the token.
        assert_eq!(
            status(headers(&[
                ("host", "evil.example"),
                ("authorization", "Bearer tok")
            ])),
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn bad_allow_list_entries_are_usage_errors() {
        assert!(Guard::new(&["http://x".into()], &[], None).is_err());
        assert!(Guard::new(&[], &["localhost:*".into()], None).is_err());
        assert!(Guard::new(&["x:notaport".into()], &[], None).is_err());
    }
}
