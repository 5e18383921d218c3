//! Every error code the program reports, over every error enum that has
//! codes (the tools' errors and the HTTP transport's): each code is
//! kebab-case, no two variants share one, and every hint says something.
//!
//! Each enum lists one example of every variant and numbers its variants by
//! exhaustive match ([`ErrorCodes`]), so a new variant cannot compile
//! without a number and this test then wants its example. A wrapper variant
//! whose code is its inner error's (`ToolError::Ncl`, `Refusal::Framing`)
//! counts as that inner code, which must be some listed enum's own. Adding
//! an enum is one line in [`every_error`].

use std::collections::{BTreeMap, BTreeSet};

use ontoref::failure::CliError;
use ontoref::transport::framing::FramingError;
use ontoref::transport::guard::TokenFileError;
use ontoref::transport::refusal::Refusal;
use ontoref_tools::attestation::AttestationError;
use ontoref_tools::codes::ErrorCodes;
use ontoref_tools::error::ToolError;
use ontoref_tools::model::{LoadError, ModelError};
use ontoref_tools::nickel::NclError;
use ontoref_tools::ontologies::OntologyError;
use ontoref_tools::paging::CursorError;
use ontoref_tools::project::ProjectError;
use ontoref_tools::prompts::PromptError;
use ontoref_tools::registry::cosign::CosignError;
use ontoref_tools::registry::error::RegistryError;
use ontoref_tools::resources::ResourceError;
use ontoref_tools::skills::SkillError;
use ontoref_tools::vault::VaultError;
use ontoref_tools::write::WriteError;

/// One example error, as the checks see it.
struct Example {
    /// `Enum#variant`, for messages.
    at: String,
    code: &'static str,
    hint: String,
    message: String,
    /// Its code is the inner error's.
    delegates: bool,
}

/// The examples of `E`, after checking they hold one value of every variant.
fn examples_of<E: ErrorCodes>(name: &str) -> Vec<Example> {
    let list = E::examples();
    let indices: Vec<usize> = list.iter().map(ErrorCodes::variant_index).collect();
    let distinct: BTreeSet<usize> = indices.iter().copied().collect();
    assert_eq!(
        distinct,
        (0..E::VARIANTS).collect::<BTreeSet<_>>(),
        "{name}: the examples must cover every variant 0..{} (they cover {indices:?})",
        E::VARIANTS
    );
    assert_eq!(
        list.len(),
        E::VARIANTS,
        "{name}: one example per variant (variants {indices:?})"
    );
    list.iter()
        .map(|e| Example {
            at: format!("{name}#{}", e.variant_index()),
            code: e.error_code(),
            hint: e.error_hint(),
            message: e.to_string(),
            delegates: e.delegates(),
        })
        .collect()
}

/// Every error enum with codes, one line each.
fn every_error() -> Vec<Example> {
    [
        examples_of::<ToolError>("ToolError"),
        examples_of::<NclError>("NclError"),
        examples_of::<ModelError>("ModelError"),
        examples_of::<LoadError>("LoadError"),
        examples_of::<ProjectError>("ProjectError"),
        examples_of::<CursorError>("CursorError"),
        examples_of::<VaultError>("VaultError"),
        examples_of::<RegistryError>("RegistryError"),
        examples_of::<OntologyError>("OntologyError"),
        examples_of::<AttestationError>("AttestationError"),
        examples_of::<WriteError>("WriteError"),
        examples_of::<Refusal>("Refusal"),
        examples_of::<FramingError>("FramingError"),
        examples_of::<TokenFileError>("TokenFileError"),
        examples_of::<CliError>("CliError"),
        examples_of::<CosignError>("CosignError"),
        examples_of::<ResourceError>("ResourceError"),
        examples_of::<PromptError>("PromptError"),
        examples_of::<SkillError>("SkillError"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`.
fn is_kebab_case(code: &str) -> bool {
    code.split('-').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

#[test]
fn every_error_code_is_kebab_case_unique_and_hinted() {
    let all = every_error();
    let mut problems = Vec::new();
    let mut owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &all {
        if !is_kebab_case(e.code) {
            problems.push(format!("{}: code `{}` is not kebab-case", e.at, e.code));
        }
        if e.hint.trim().is_empty() {
            problems.push(format!("{} (`{}`): empty hint", e.at, e.code));
        }
        if e.message.trim().is_empty() {
            problems.push(format!("{} (`{}`): empty message", e.at, e.code));
        }
        if !e.delegates {
            owners.entry(e.code).or_default().push(&e.at);
        }
    }
    for (code, at) in &owners {
        if at.len() > 1 {
            problems.push(format!("code `{code}` is used by {}", at.join(", ")));
        }
    }
    for e in all.iter().filter(|e| e.delegates) {
        if !owners.contains_key(e.code) {
            problems.push(format!(
                "{} delegates to `{}`, which no listed enum reports as its own: list the \
                 wrapped enum in every_error()",
                e.at, e.code
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Guards against an empty or truncated registry.
    assert!(owners.len() >= 80, "only {} codes", owners.len());
}
