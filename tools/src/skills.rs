//! The skills ontoref serves (the MCP Skills extension, SEP-2640), in
//! domain terms: every mode, as it resolves in this project (ADR-018), is a
//! skill at `skill://ontoref/modes/<id>/SKILL.md`, and one more,
//! `skill://ontoref/using-ontoref/SKILL.md`, says how to ask the project
//! through ontoref, naming only the tools served.
//!
//! A skill is one file, its `SKILL.md`: YAML front matter (`name`, the last
//! path segment of its URI, and a one-line `description`), then Markdown.
//! A mode's body is the `run-mode` prompt's runbook
//! ([`crate::prompts::mode_runbook`]): trigger and preconditions, where the
//! mode resolves and the chain of levels it was looked up through with the
//! reason at each, every step with its command, verification and on-error,
//! and how to run it. Nothing is cached here: each call renders from the
//! engine, whose loader re-evaluates a mode file when it changes, so an edit
//! changes the served bytes and their digest.
//!
//! Skills are served with the `modes` toolset ([`Served::new`]). A mode
//! whose id is not a valid skill name (lower-case letters, digits and single
//! hyphens, at most 64 characters) or that does not resolve is left out.
//! Nothing here knows MCP: the server turns [`Skill`] and [`SkillError`]
//! into protocol values.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::catalog::{self, CatalogTool};
use crate::codes::{ErrorCodes, variant};
use crate::echo::clip;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::model::ModelError;
use crate::modes::{Hierarchy, Resolution};
use crate::paging::{PageKey, RESPONSE_BUDGET, page_within};
use crate::resources::ResourceKind;
use crate::suggest::{closest, quote_list};
use crate::toolsets::adr::{AdrGetTool, AdrListTool};
use crate::toolsets::backlog::{BacklogAddTool, BacklogUpdateTool};
use crate::toolsets::modes::{ModeListTool, ModeResolveTool};
use crate::toolsets::ontology::ExplainPathTool;
use crate::toolsets::project::SearchTool;
use crate::toolsets::qa::{QaAddTool, QaSearchTool, QaShowTool, QaUpdateTool};

/// The toolset skills are served with.
pub const TOOLSET: &str = "modes";
/// Every skill URI starts with this.
pub const ROOT: &str = "skill://ontoref/";
/// The file every skill is.
pub const SKILL_MD: &str = "SKILL.md";
/// The name of the skill on using ontoref.
pub const GUIDE: &str = "using-ontoref";
/// The MIME type of a `SKILL.md`.
pub const MIME_TYPE: &str = "text/markdown";
/// The most skills one `skills/list` page holds.
pub const PAGE_SIZE: usize = 50;
/// The longest skill name (Agent Skills).
pub const MAX_NAME: usize = 64;
/// The most characters of a description (Agent Skills).
pub const MAX_DESCRIPTION: usize = 1024;

/// What a server serves skills for: the tools it serves, whose names the
/// guide mentions.
#[derive(Debug, Clone)]
pub struct Served {
    tools: Vec<&'static CatalogTool>,
}

impl Served {
    /// Skills for a server serving `tools`, or `None` when none of them is
    /// of the [`TOOLSET`] toolset (then no skill is served).
    pub fn new(tools: &[&'static CatalogTool]) -> Option<Served> {
        tools.iter().any(|t| t.toolset == TOOLSET).then(|| {
            let mut tools = tools.to_vec();
            tools.sort_by(|a, b| (a.toolset, a.name()).cmp(&(b.toolset, b.name())));
            Served { tools }
        })
    }

    /// `tool`'s name in backquotes, when it is served.
    fn name(&self, tool: Option<&'static CatalogTool>) -> Option<String> {
        let tool = tool?;
        self.tools
            .iter()
            .any(|t| t.name() == tool.name())
            .then(|| format!("`{}`", tool.name()))
    }
}

/// One skill: its `SKILL.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// The URI of its `SKILL.md`.
    pub uri: String,
    /// Its name (front matter `name`, the URI's segment before `SKILL.md`).
    pub name: String,
    /// Its one-line description (front matter `description`).
    pub description: String,
    /// The whole `SKILL.md`, front matter included.
    pub markdown: String,
    /// `sha256:` and the 64 lower-case hex digits of `markdown`'s bytes.
    pub digest: String,
}

impl Skill {
    /// The skill `name` at `uri`: front matter, then `body`.
    fn new(uri: String, name: String, description: String, body: &str) -> Skill {
        let markdown = format!(
            "---\nname: {name}\ndescription: {}\n---\n\n{body}",
            yaml_string(&description)
        );
        let digest = digest(markdown.as_bytes());
        Skill {
            uri,
            name,
            description,
            markdown,
            digest,
        }
    }

    /// The size of `markdown` in bytes.
    pub fn size(&self) -> u64 {
        self.markdown.len() as u64
    }
}

/// The `sha256:` digest of `bytes`, as skill manifests write it.
pub fn digest(bytes: &[u8]) -> String {
    let mut out = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The URI of mode `id`'s skill.
pub fn mode_uri(id: &str) -> String {
    format!("{ROOT}modes/{id}/{SKILL_MD}")
}

/// The URI of the skill on using ontoref.
pub fn guide_uri() -> String {
    format!("{ROOT}{GUIDE}/{SKILL_MD}")
}

/// Whether `uri` is one the skills answer for (`skill://…`), so a
/// `resources/read` of it goes to [`get`].
pub fn is_skill_uri(uri: &str) -> bool {
    uri.starts_with("skill://")
}

/// Whether `name` is a valid skill name: 1 to [`MAX_NAME`] lower-case
/// letters, digits and hyphens, no hyphen first, last or twice in a row.
pub fn is_skill_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// One page of skills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillPage {
    /// The page, by URI.
    pub skills: Vec<Skill>,
    /// Pass back for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Every skill served, by URI: one per mode that resolves (and has a valid
/// skill name), and the guide.
pub async fn all(engine: &Engine, served: &Served) -> Result<Vec<Skill>, SkillError> {
    let hierarchy = engine.hierarchy().await?;
    let mut skills = vec![guide(served)];
    for id in hierarchy.mode_ids() {
        if !is_skill_name(&id) {
            tracing::debug!(mode = %id, "mode left out of the skills: not a valid skill name");
            continue;
        }
        match hierarchy.resolution(&id) {
            Ok(resolution) => skills.push(mode_skill(&hierarchy, &resolution)),
            Err(e) => tracing::warn!(
                mode = %id,
                code = e.code(),
                "mode left out of the skills: {e}"
            ),
        }
    }
    skills.sort_by(|a, b| a.uri.cmp(&b.uri));
    Ok(skills)
}

/// One page (at most [`PAGE_SIZE`], within the response budget) of
/// [`all`], from `cursor`. A cursor from another listing is
/// `invalid-cursor`; one issued before the set of skills changed is
/// `cursor-stale`.
pub async fn list(
    engine: &Engine,
    served: &Served,
    cursor: Option<&str>,
) -> Result<SkillPage, SkillError> {
    list_pages_of(engine, served, cursor, PAGE_SIZE).await
}

/// [`list`] with pages of at most `page_size`.
async fn list_pages_of(
    engine: &Engine,
    served: &Served,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<SkillPage, SkillError> {
    let skills = all(engine, served).await?;
    let mut generation = Sha256::new();
    for s in &skills {
        generation.update(s.uri.as_bytes());
        generation.update([0]);
    }
    let key = PageKey::new("skills/list", &generation.finalize());
    let (range, next_cursor) = page_within(
        &key,
        cursor,
        page_size,
        skills.len(),
        RESPONSE_BUDGET,
        |i| {
            skills.get(i).map_or(0, |s| {
                2 * s.uri.len() + s.name.len() + s.description.len() + 160
            })
        },
    )
    .map_err(ToolError::from)?;
    Ok(SkillPage {
        skills: skills[range].to_vec(),
        next_cursor,
    })
}

/// The skill whose `SKILL.md` is at `uri`, rendered now. A URI that names
/// no served skill is [`SkillError::NotFound`] with the closest skill URIs.
pub async fn get(engine: &Engine, served: &Served, uri: &str) -> Result<Skill, SkillError> {
    if uri == guide_uri() {
        return Ok(guide(served));
    }
    let hierarchy = engine.hierarchy().await?;
    // Suggestions compare what tells skills apart (`modes/<id>`,
    // `using-ontoref`), not the prefix and file name they share.
    let key = |uri: &str| -> String {
        let rest = uri.strip_prefix(ROOT).unwrap_or(uri);
        rest.strip_suffix(SKILL_MD)
            .map_or(rest, |r| r.trim_end_matches('/'))
            .to_owned()
    };
    let not_found = |hierarchy: &Hierarchy| {
        let mut uris: Vec<String> = hierarchy
            .mode_ids()
            .iter()
            .filter(|id| is_skill_name(id))
            .map(|id| mode_uri(id))
            .collect();
        uris.push(guide_uri());
        let keys: Vec<String> = uris.iter().map(|u| key(u)).collect();
        let near = closest(&key(uri), keys.iter().map(String::as_str), 3);
        SkillError::NotFound {
            uri: clip(uri),
            closest: near
                .iter()
                .map(|k| format!("{ROOT}{k}/{SKILL_MD}"))
                .collect(),
        }
    };
    let Some(id) = uri
        .strip_prefix(ROOT)
        .and_then(|rest| rest.strip_prefix("modes/"))
        .and_then(|rest| rest.strip_suffix(SKILL_MD))
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|id| is_skill_name(id))
    else {
        return Err(not_found(&hierarchy));
    };
    match hierarchy.resolution(id) {
        Ok(resolution) => Ok(mode_skill(&hierarchy, &resolution)),
        Err(ToolError::Model(ModelError::NotFound { .. })) => Err(not_found(&hierarchy)),
        Err(other) => Err(other.into()),
    }
}

/// The skill of a resolved mode.
fn mode_skill(hierarchy: &Hierarchy, resolution: &Resolution) -> Skill {
    let id = &resolution.mode;
    let level = &resolution.resolved_level.name;
    let defined = hierarchy.level(level).and_then(|l| l.modes.get(id));
    let trigger = defined.and_then(|(_, m)| m.trigger.as_deref());
    let mut description = format!(
        "Run this project's operational mode `{id}` as it resolves here (level {level}): \
         {} step(s) in order, each with its command, verification and on-error.",
        resolution.steps.len()
    );
    if let Some(trigger) = trigger {
        let _ = write!(
            description,
            " Use it when {}.",
            trigger.trim_end_matches('.')
        );
    }
    let mut body = format!("# Operational mode `{id}`\n\n");
    body.push_str(&crate::prompts::mode_runbook(hierarchy, resolution));
    body.push_str("\n## Where this comes from\n\n");
    if let Some((file, _)) = defined {
        let _ = writeln!(
            body,
            "The definition that settles it is `{file}`, at level `{level}` (level hierarchy: \
             {}).",
            hierarchy.source
        );
    }
    let _ = writeln!(
        body,
        "ontoref renders this skill from the mode files on every request, so an edit to one \
         changes it and its digest. The same runbook is the prompt `run-mode` and the resource \
         `{}`.",
        ResourceKind::Mode.uri(id)
    );
    Skill::new(
        mode_uri(id),
        id.clone(),
        one_line(&description, MAX_DESCRIPTION),
        &body,
    )
}

/// The skill on using ontoref: what to ask it for, naming the tools
/// `served` serves (a section whose tools are not served is left out), then
/// every served tool with its toolset and first sentence.
fn guide(served: &Served) -> Skill {
    let name = |t| served.name(t);
    let mut body = String::from(
        "# Using ontoref in this project\n\n\
         This project keeps its self-knowledge as typed Nickel files in the repository: Q&A \
         entries, an ontology of what the parts are and how they pull against each other, \
         architecture decisions (ADRs) with checkable constraints, a backlog and operational \
         modes. ontoref serves them. Ask it before guessing how things work here, and before \
         changing something the team has decided. Results are bounded: pass `next_cursor` back \
         as `cursor` for more; an error's hint says how to recover.\n\n",
    );
    let sections: [(&str, Option<String>); 6] = [
        (
            "Search first",
            name(catalog::of::<SearchTool>()).map(|search| {
                format!(
                    "Call {search} with a few words of the question. It searches every kind \
                     of record at once (Q&A, ADRs, ontology nodes, backlog, modes) and says \
                     which record to read next."
                )
            }),
        ),
        (
            "Questions the team has answered",
            name(catalog::of::<QaSearchTool>())
                .zip(name(catalog::of::<QaShowTool>()))
                .map(|(search, show)| {
                    format!(
                        "{search} finds Q&A entries by their words; {show} reads one whole. \
                         An answer here is how the team works: follow it, or say why not."
                    )
                }),
        ),
        (
            "Why things are the way they are: ADRs",
            name(catalog::of::<AdrListTool>())
                .zip(name(catalog::of::<AdrGetTool>()))
                .map(|(list, get)| {
                    format!(
                        "{list} lists the decisions with their status; {get} reads one: \
                         context, decision, rationale and its constraints. A Hard constraint \
                         is a rule the change must keep (its check says how to verify it); a \
                         Soft one may bend, with a reason."
                    )
                }),
        ),
        (
            "Before editing a file",
            name(catalog::of::<ExplainPathTool>()).map(|explain| {
                format!(
                    "Call {explain} on the file or directory first: the ontology nodes it \
                     embodies, the ADR constraints that bind it and the Q&A entries that \
                     mention it. State how the change keeps each Hard constraint."
                )
            }),
        ),
        (
            "Operational modes",
            name(catalog::of::<ModeListTool>())
                .zip(name(catalog::of::<ModeResolveTool>()))
                .map(|(list, resolve)| {
                    format!(
                        "A mode is a named procedure (release, onboarding, a review) as it \
                         resolves through the project's levels. {list} lists them; {resolve} \
                         gives one with its steps and why it resolves where it does. Each is \
                         also a skill, `{ROOT}modes/<id>/{SKILL_MD}`, whose steps carry their \
                         command, verification and on-error."
                    )
                }),
        ),
        ("Recording what you learn", writes(served)),
    ];
    let mut n = 0;
    for (title, text) in sections {
        if let Some(text) = text {
            n += 1;
            let _ = write!(body, "## {n}. {title}\n\n{text}\n\n");
        }
    }
    body.push_str("## Every tool served\n\n| tool | toolset | reads only | what it is for |\n|---|---|---|---|\n");
    for t in &served.tools {
        let _ = writeln!(
            body,
            "| `{}` | {} | {} | {} |",
            t.name(),
            t.toolset,
            if t.read_only() { "yes" } else { "no" },
            t.summary().replace('|', "\\|").replace('\n', " ")
        );
    }
    Skill::new(
        guide_uri(),
        GUIDE.to_owned(),
        one_line(
            "How to ask this project's own typed knowledge (Q&A, ADRs, ontology, backlog, \
             modes) through ontoref: search first, read the team's answers and decisions, \
             explain a path before editing it, run modes, record what you learn.",
            MAX_DESCRIPTION,
        ),
        &body,
    )
}

/// The guide's section on writes: the write tools served, or why there
/// are none.
fn writes(served: &Served) -> Option<String> {
    let tools: Vec<String> = [
        catalog::of::<QaAddTool>(),
        catalog::of::<QaUpdateTool>(),
        catalog::of::<BacklogAddTool>(),
        catalog::of::<BacklogUpdateTool>(),
    ]
    .into_iter()
    .filter_map(|t| served.name(t))
    .collect();
    Some(if tools.is_empty() {
        "This server serves no write tool (it runs read-only). To record an answer or a piece \
         of work, tell the person you work with what to add."
            .to_owned()
    } else {
        format!(
            "When you learn something the next session should know, record it with {}. Each \
             write is checked against the file's contract before it lands, and ADRs are never \
             written by a tool: a person gives the verdict.",
            tools.join(", ")
        )
    })
}

/// `text` on one line: whitespace runs as one space, control characters
/// dropped, at most `max` characters (the last one `…` when cut).
fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let flat: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}'))
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` (one line, no control characters) as a YAML double-quoted
/// scalar, which reads back as exactly `text`.
fn yaml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A skill could not be found or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SkillError {
    /// No served skill has this URI.
    #[error("no skill `{uri}` is served here")]
    NotFound {
        /// The URI asked for (cut).
        uri: String,
        /// The closest served skill URIs.
        closest: Vec<String>,
    },
    /// Loading the modes failed (or a cursor was wrong): the tool error,
    /// with its own code.
    #[error(transparent)]
    Tool(#[from] ToolError),
}

impl SkillError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            SkillError::NotFound { .. } => "skill-not-found",
            SkillError::Tool(e) => e.code(),
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            SkillError::NotFound { closest, .. } if !closest.is_empty() => format!(
                "did you mean {}? `skills/list` lists every skill",
                quote_list(closest)
            ),
            SkillError::NotFound { .. } => format!(
                "`skills/list` lists every skill; a mode's is `{ROOT}modes/<id>/{SKILL_MD}`"
            ),
            SkillError::Tool(e) => e.hint(),
        }
    }

    /// Whether the URI names no skill (rather than the project failing to
    /// load).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SkillError::NotFound { .. })
    }

    /// Whether the request was at fault: a URI that names no skill, or a
    /// cursor not issued for this listing.
    pub fn is_caller_fault(&self) -> bool {
        self.is_not_found() || matches!(self, SkillError::Tool(ToolError::Cursor(_)))
    }

    /// The closest served skill URIs, when the URI names none.
    pub fn closest(&self) -> &[String] {
        match self {
            SkillError::NotFound { closest, .. } => closest,
            SkillError::Tool(_) => &[],
        }
    }
}

impl ErrorCodes for SkillError {
    const VARIANTS: usize = 2;

    fn examples() -> Vec<Self> {
        vec![
            SkillError::NotFound {
                uri: "skill://ontoref/modes/relase/SKILL.md".into(),
                closest: vec!["skill://ontoref/modes/release/SKILL.md".into()],
            },
            SkillError::Tool(ToolError::Internal("x".into())),
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = SkillError::VARIANTS;
        match self {
            SkillError::NotFound { .. } => variant::<0, N>(),
            SkillError::Tool(_) => variant::<1, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, SkillError::Tool(_))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rmcp::model::{SkillFrontmatter, SkillResource, SkillResources};

    use super::*;
    use crate::toolsets::testing::{engine_on, template};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    fn every_tool() -> Served {
        let tools: Vec<&'static CatalogTool> = catalog::catalog().iter().collect();
        Served::new(&tools).expect("the modes toolset is in the catalog")
    }

    /// The front matter of `markdown`, parsed as YAML.
    fn front_matter(markdown: &str) -> serde_json::Value {
        let rest = markdown.strip_prefix("---\n").expect("front matter first");
        let end = rest.find("\n---\n").expect("front matter closed");
        serde_yaml::from_str(&rest[..end]).expect("front matter is YAML")
    }

    /// The skill as rmcp's type, as the server serves it.
    fn wire(s: &Skill) -> rmcp::model::Skill {
        rmcp::model::Skill::new(
            s.uri.clone(),
            SkillFrontmatter::new(s.name.clone(), s.description.clone()),
            SkillResources::Files(vec![SkillResource::new(
                s.uri.clone(),
                s.digest.clone(),
                s.size(),
            )]),
        )
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn every_mode_of_the_template_is_a_skill_with_its_steps_and_level_chain() {
        let (e, _d) = template();
        let skills = block_on(all(&e, &every_tool())).unwrap();
        let hierarchy = block_on(e.hierarchy()).unwrap();
        let mut expected: Vec<String> =
            hierarchy.mode_ids().iter().map(|id| mode_uri(id)).collect();
        expected.push(guide_uri());
        expected.sort();
        let uris: Vec<&str> = skills.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(uris, expected);
        assert!(uris.contains(&"skill://ontoref/modes/release/SKILL.md"));
        assert!(uris.contains(&"skill://ontoref/modes/weekly-report/SKILL.md"));

        let release = skills.iter().find(|s| s.name == "release").unwrap();
        assert!(
            release
                .markdown
                .starts_with("---\nname: release\ndescription: \"")
        );
        assert!(!release.description.contains('\n'));
        assert!(
            release
                .description
                .contains("Use it when a maintainer decides the knowledge on main is ready"),
            "{}",
            release.description
        );
        let md = &release.markdown;
        // The steps in order, with their commands, verification and on-error.
        let order: Vec<usize> = [
            "1. **changelog**",
            "command: `git log --merges --oneline $PREV_TAG..HEAD`",
            "2. **tag**",
            "command: `git tag -s v$VERSION`",
            "3. **validate-knowledge**",
            "command: `ontoref adr check --severity Hard`",
            "verify: every file evaluates and no Hard constraint fails",
            "on error: Stop",
            "5. **notify-agents**",
        ]
        .iter()
        .map(|needle| md.find(needle).unwrap_or_else(|| panic!("{needle}: {md}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{md}");
        // The level chain: where it resolved, through which levels and why.
        assert!(
            md.contains("Resolves at **agent-first** (Instance)"),
            "{md}"
        );
        assert!(md.contains("### Why it resolves there"), "{md}");
        assert!(
            md.contains("composed: `agent-first` composes `release`"),
            "{md}"
        );
        assert!(md.contains("`acme-platform`"), "{md}");
        assert!(md.contains("## Preconditions\n\n- main is green"), "{md}");
        assert!(
            md.contains("The definition that settles it is `reflection/modes/release.ncl`"),
            "{md}"
        );
        // The same runbook as the run-mode prompt.
        assert!(md.contains(&crate::prompts::mode_runbook(
            &hierarchy,
            &hierarchy.resolution("release").unwrap()
        )));
    }

    #[test]
    fn digests_match_the_bytes_and_rmcp_validates_what_is_served() {
        let (e, _d) = template();
        let skills = block_on(all(&e, &every_tool())).unwrap();
        for s in &skills {
            let file = SkillResource::from_bytes(s.uri.clone(), s.markdown.as_bytes());
            assert_eq!(file.digest, s.digest, "{}", s.uri);
            assert_eq!(file.size, s.size(), "{}", s.uri);
            assert_eq!(file.verify(s.markdown.as_bytes()), Ok(()));
            // The front matter reads back as exactly the listed name and description.
            assert_eq!(
                front_matter(&s.markdown),
                serde_json::json!({"name": s.name, "description": s.description}),
                "{}",
                s.uri
            );
            assert!(s.description.chars().count() <= MAX_DESCRIPTION);
            assert!(is_skill_name(&s.name), "{}", s.name);
        }
        let served: Vec<rmcp::model::Skill> = skills.iter().map(wire).collect();
        assert_eq!(rmcp::model::validate_skills(&served), Ok(()));
        // And each one got by its URI is the listed one, byte for byte.
        for s in &skills {
            assert_eq!(&block_on(get(&e, &every_tool(), &s.uri)).unwrap(), s);
        }
    }

    #[test]
    fn an_edit_to_a_mode_file_changes_the_skill_and_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent-first-template"),
            &root,
        );
        let (e, _d) = engine_on(&root);
        let served = every_tool();
        let uri = mode_uri("release");
        let before = block_on(get(&e, &served, &uri)).unwrap();
        assert!(
            before
                .markdown
                .contains("`ontoref adr check --severity Hard`")
        );
        let file = root.join("reflection/modes/release.ncl");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replace(
                "ontoref adr check --severity Hard",
                "ontoref adr check --severity Hard --all-files",
            ),
        )
        .unwrap();
        let after = block_on(get(&e, &served, &uri)).unwrap();
        assert!(
            after
                .markdown
                .contains("`ontoref adr check --severity Hard --all-files`"),
            "{}",
            after.markdown
        );
        assert_ne!(after.digest, before.digest);
        assert_eq!(after.digest, digest(after.markdown.as_bytes()));
        let listed = block_on(all(&e, &served)).unwrap();
        assert_eq!(listed.iter().find(|s| s.uri == uri), Some(&after));
    }

    #[test]
    fn an_unknown_uri_is_not_found_with_the_closest_skills() {
        let (e, _d) = template();
        let served = every_tool();
        let err = block_on(get(&e, &served, "skill://ontoref/modes/relase/SKILL.md")).unwrap_err();
        assert_eq!(err.code(), "skill-not-found");
        assert!(err.is_not_found() && err.is_caller_fault());
        assert_eq!(err.closest()[0], mode_uri("release"));
        assert!(err.hint().contains(&mode_uri("release")), "{}", err.hint());
        assert!(err.to_string().contains("relase"), "{err}");
        for uri in [
            "skill://ontoref/using-ontoref/README.md",
            "skill://ontoref/modes/Release/SKILL.md",
            "skill://other/release/SKILL.md",
            "ontoref://mode/release",
        ] {
            let err = block_on(get(&e, &served, uri)).unwrap_err();
            assert_eq!(err.code(), "skill-not-found", "{uri}");
        }
        let typo = block_on(get(&e, &served, "skill://ontoref/using-ontoraf/SKILL.md"));
        assert_eq!(typo.unwrap_err().closest(), [guide_uri()]);
    }

    #[test]
    fn the_guide_names_only_the_tools_served() {
        let name = |t: Option<&'static CatalogTool>| t.unwrap().name().to_owned();
        let all_tools = every_tool();
        let full = guide(&all_tools);
        for tool in [
            name(catalog::of::<SearchTool>()),
            name(catalog::of::<QaSearchTool>()),
            name(catalog::of::<AdrGetTool>()),
            name(catalog::of::<ExplainPathTool>()),
            name(catalog::of::<ModeResolveTool>()),
            name(catalog::of::<QaAddTool>()),
        ] {
            assert!(full.markdown.contains(&format!("`{tool}`")), "{tool}");
        }
        for t in catalog::catalog() {
            assert!(full.markdown.contains(&format!("| `{}` |", t.name())));
        }
        // Only the modes toolset, read-only: no other tool is named.
        let modes: Vec<&'static CatalogTool> = catalog::catalog()
            .iter()
            .filter(|t| t.toolset == TOOLSET && t.read_only())
            .collect();
        let small = guide(&Served::new(&modes).unwrap());
        for t in catalog::catalog()
            .iter()
            .filter(|t| !modes.iter().any(|m| m.name() == t.name()))
        {
            assert!(!small.markdown.contains(t.name()), "{}", t.name());
        }
        assert!(
            small.markdown.contains("## 1. Operational modes"),
            "{}",
            small.markdown
        );
        assert!(small.markdown.contains("serves no write tool"));
        // Without the modes toolset, no skill at all.
        let qa: Vec<&'static CatalogTool> = catalog::catalog()
            .iter()
            .filter(|t| t.toolset == "qa")
            .collect();
        assert!(Served::new(&qa).is_none());
    }

    #[test]
    fn the_listing_pages_through_every_skill_once() {
        let (e, _d) = template();
        let served = every_tool();
        let every = block_on(all(&e, &served)).unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = block_on(list_pages_of(&e, &served, cursor.as_deref(), 2)).unwrap();
            assert!(page.skills.len() <= 2);
            seen.extend(page.skills);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, every);
        assert_eq!(block_on(list(&e, &served, None)).unwrap().skills, every);
        let bad = block_on(list(&e, &served, Some("nonsense"))).unwrap_err();
        assert_eq!(bad.code(), "invalid-cursor");
        assert!(bad.is_caller_fault());
    }

    #[test]
    fn the_fixture_project_serves_the_base_modes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/project");
        let (e, _d) = engine_on(&root);
        let skills = block_on(all(&e, &every_tool())).unwrap();
        let names: Vec<&str> = skills.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "onboard",
                "release",
                "review-adr",
                "sync-ontology",
                "using-ontoref"
            ]
        );
        let release = &skills[1];
        assert!(
            release
                .markdown
                .contains("Resolves at **ontoref-base** (Base)"),
            "{}",
            release.markdown
        );
        assert!(
            release
                .markdown
                .contains("passed: `project` does not define `release`"),
            "{}",
            release.markdown
        );
    }

    #[test]
    fn names_and_front_matter_text_follow_the_rules() {
        for good in ["release", "a", "review-adr", "v2-deploy"] {
            assert!(is_skill_name(good), "{good}");
        }
        for bad in [
            "",
            "Release",
            "snake_case",
            "-x",
            "x-",
            "a--b",
            &"a".repeat(65),
            "dé",
        ] {
            assert!(!is_skill_name(bad), "{bad}");
        }
        assert_eq!(one_line("a\n  b\tc\u{7}", 100), "a b c");
        assert_eq!(one_line("abcdef", 4), "abc…");
        let tricky = "say \"hi\" \\ then: # not a comment";
        let yaml = format!("d: {}", yaml_string(tricky));
        let back: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(back["d"], tricky);
    }
}
