//! OCI targets and scope namespaces: splitting a reference such as
//! `registry.acme.internal:5000/domains/acme/contract:1.2@sha256:…` into host,
//! repository path and tag/digest, and matching the repository path against
//! a scope's globs (`*` within one segment, `**` across segments, via
//! `globset` with `literal_separator`).

use std::sync::LazyLock;

use globset::{GlobBuilder, GlobMatcher};

use crate::memo::Memo;

/// A parsed target reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The registry host (and port) when the reference names one.
    pub host: Option<String>,
    /// The repository path: what namespaces are matched against.
    pub repository: String,
    /// The tag, when the reference names one.
    pub tag: Option<String>,
    /// The digest (`algorithm:hex`), when the reference names one.
    pub digest: Option<String>,
}

impl Target {
    /// Parses `[host[:port]/]path[:tag][@digest]`. The reason on failure
    /// says what is malformed.
    pub fn parse(reference: &str) -> Result<Target, String> {
        if reference.is_empty() {
            return Err("is empty".to_owned());
        }
        if reference.len() > 1024 {
            return Err("is longer than 1024 characters".to_owned());
        }
        if reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("contains whitespace".to_owned());
        }
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        if let Some(d) = digest {
            let ok = d.split_once(':').is_some_and(|(alg, hex)| {
                !alg.is_empty()
                    && alg.chars().all(|c| {
                        c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '_' || c == '-'
                    })
                    && hex.len() >= 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            });
            if !ok {
                return Err(format!("has a malformed digest `@{d}`"));
            }
        }
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), rest)
            }
            _ => (None, name),
        };
        // A tag is a `:` in the last path segment.
        let (path, tag) = match path.rsplit_once('/') {
            Some((dir, last)) => match last.split_once(':') {
                Some((repo, tag)) => (&path[..dir.len() + 1 + repo.len()], Some(tag)),
                None => (path, None),
            },
            None => match path.split_once(':') {
                Some((repo, tag)) => (repo, Some(tag)),
                None => (path, None),
            },
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(format!("has a malformed tag `:{t}`"));
            }
        }
        for segment in path.split('/') {
            let ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && segment.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && segment.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                });
            if !ok {
                return Err(format!(
                    "has an invalid repository segment `{segment}` (lower-case letters, digits, `.`, `_`, `-`)"
                ));
            }
        }
        Ok(Target {
            host,
            repository: path.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }
}

/// Whether `repository` matches the namespace glob `pattern`. An invalid
/// pattern matches nothing.
pub fn namespace_matches(pattern: &str, repository: &str) -> bool {
    static GLOBS: LazyLock<Memo<Option<GlobMatcher>>> = LazyLock::new(|| Memo::new(1024));
    let compiled = GLOBS.get_or_try(pattern, || {
        Ok::<_, std::convert::Infallible>(
            GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher()),
        )
    });
    matches!(compiled, Ok(Some(m)) if m.is_match(repository))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (Option<String>, String) {
        let t = Target::parse(s).unwrap();
        (t.host, t.repository)
    }

    #[test]
    fn splits_host_path_tag_and_digest() {
        assert_eq!(
            parse("domains/acme/contract"),
            (None, "domains/acme/contract".into())
        );
        assert_eq!(
            parse("domains/acme/contract:1.2.0"),
            (None, "domains/acme/contract".into())
        );
        assert_eq!(
            parse(
                "registry.acme.internal:5000/modes/acme/build:v1@sha256:0123456789abcdef0123456789abcdef"
            ),
            (
                Some("registry.acme.internal:5000".into()),
                "modes/acme/build".into()
            )
        );
        assert_eq!(
            parse("localhost/a/b"),
            (Some("localhost".into()), "a/b".into())
        );
        assert_eq!(
            parse("127.0.0.1:5000/a:latest"),
            (Some("127.0.0.1:5000".into()), "a".into())
        );
        assert_eq!(parse("single"), (None, "single".into()));
    }

    #[test]
    fn rejects_malformed_references() {
        for (bad, why) in [
            ("", "empty"),
            ("domains/../secret", "segment `..`"),
            ("domains//x", "segment ``"),
            ("Domains/x", "segment `Domains`"),
            ("a b", "whitespace"),
            ("a/b:", "tag"),
            ("a/b@sha256:zz", "digest"),
            ("a/b:-x", "tag"),
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn globs_respect_segments() {
        assert!(namespace_matches(
            "domains/acme/**",
            "domains/acme/contract"
        ));
        assert!(namespace_matches("domains/acme/**", "domains/acme/a/b/c"));
        assert!(!namespace_matches(
            "domains/acme/**",
            "domains/acme-evil/contract"
        ));
        assert!(!namespace_matches("domains/acme/**", "modes/acme/x"));
        assert!(namespace_matches(
            "domains/*/contract",
            "domains/acme/contract"
        ));
        assert!(!namespace_matches(
            "domains/*/contract",
            "domains/a/b/contract"
        ));
        assert!(namespace_matches(
            "domains/acme/build-*",
            "domains/acme/build-x"
        ));
        assert!(!namespace_matches(
            "domains/acme/build-*",
            "domains/acme/build-x/y"
        ));
        assert!(namespace_matches("**", "any/thing"));
        assert!(!namespace_matches("domains/[", "domains/["));
    }
}
