//! Fuzzes OCI target references and scope namespaces (`ontoref_tools::vault::target`):
//! `Target::parse` and `namespace_matches`, the check that decides which credentials a scope
//! may fetch. The input is UTF-8 text `pattern \n reference`.
//!
//! Checks, beyond "never panics" (`namespace_matches` on the raw pattern against both the raw
//! reference and a parsed repository):
//! - a parsed target has a valid repository (non-empty `/`-separated segments of lower-case
//!   letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit, never `.` or
//!   `..`), and re-parses to itself from `[host/]repository[:tag][@digest]`;
//! - a repository is glob-free, so it matches itself and `**`, and each of its proper
//!   segment prefixes `p` matches it as `p/**` (and as `p/*` for the parent only);
//! - no escape from a namespace: when the pattern is itself a valid repository `p`,
//!   `p/**` matches a repository exactly when it starts with `p/`, and `p` matches only itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ontoref_tools::vault::target::{Target, namespace_matches};

fn valid_segment(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.starts_with(edge)
        && s.ends_with(edge)
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn valid_repository(s: &str) -> bool {
    s.split('/').all(valid_segment)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, reference) = text.split_once('\n').unwrap_or((text, ""));
    namespace_matches(pattern, reference);

    let Ok(target) = Target::parse(reference) else {
        return;
    };
    let repo = target.repository.as_str();
    assert!(valid_repository(repo), "{target:?}");
    let mut rendered = match &target.host {
        Some(host) => format!("{host}/{repo}"),
        None => repo.to_owned(),
    };
    if let Some(tag) = &target.tag {
        rendered.push(':');
        rendered.push_str(tag);
    }
    if let Some(digest) = &target.digest {
        rendered.push('@');
        rendered.push_str(digest);
    }
    assert_eq!(
        Target::parse(&rendered).as_ref(),
        Ok(&target),
        "{rendered:?} does not re-parse to the target"
    );

    namespace_matches(pattern, repo);
    assert!(
        namespace_matches(repo, repo),
        "{repo:?} does not match itself"
    );
    assert!(namespace_matches("**", repo), "** does not match {repo:?}");
    let segments: Vec<&str> = repo.split('/').collect();
    for k in 1..segments.len() {
        let prefix = segments[..k].join("/");
        assert!(
            namespace_matches(&format!("{prefix}/**"), repo),
            "{prefix}/** does not match {repo:?}"
        );
        assert_eq!(
            namespace_matches(&format!("{prefix}/*"), repo),
            k + 1 == segments.len(),
            "{prefix}/* against {repo:?}"
        );
    }

    if valid_repository(pattern) {
        assert_eq!(
            namespace_matches(&format!("{pattern}/**"), repo),
            repo.starts_with(&format!("{pattern}/")),
            "{pattern}/** against {repo:?}"
        );
        assert_eq!(
            namespace_matches(pattern, repo),
            pattern == repo,
            "{pattern:?} against {repo:?}"
        );
    }
});
