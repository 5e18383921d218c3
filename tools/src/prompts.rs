//! The prompts ontoref offers, in domain terms: their definitions as data
//! ([`PROMPTS`]: name, title, description, arguments and what completes
//! each) and the builders that turn a project into the text of each
//! ([`get`]), every section cut to a bound so no prompt grows with the
//! project:
//!
//! - `ondaod {question}`: the project's named tensions (the `'Tension`
//!   nodes of `.ontology/core.ncl`, with what they pull between and what
//!   eases them), then the procedure of its `ontoref-dao-discipline` Q&A
//!   entry, or ours when it has none;
//! - `adr-draft {title}`: the ADRs related to the title, the tensions, and
//!   the five-criterion ADR test;
//! - `run-mode {id}`: the mode as it resolves here (ADR-018), as a numbered
//!   runbook (the same Markdown as the `ontoref://mode/{id}` resource);
//! - `explain-path {path}`: what `ontoref_explain_path` answers (nodes,
//!   binding Hard and Soft constraints, Q&A mentions), as Markdown, and
//!   what to do with it before an edit.
//!
//! [`complete_argument`] ranks the values of an argument. A prompt is
//! offered when the server serves its toolset ([`served_prompts`]).
//! Nothing here knows MCP: the server turns [`PromptText`] and
//! [`PromptError`] into protocol messages.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::codes::{ErrorCodes, variant};
use crate::command::render;
use crate::complete::{Completion, rank};
use crate::echo::{clip, clip_to};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::model::ModelError;
use crate::modes::{Hierarchy, Resolution};
use crate::ontology::{Core, NodeLevel};
use crate::resources::ResourceKind;
use crate::suggest::{closest, quote_list};
use crate::text::{Style, bounded};
use crate::toolsets::modes::ModeResolveTool;
use crate::toolsets::ontology::{ExplainPathTool, explain_path, project_path};

/// The Q&A entry whose answer is the project's own ondaod procedure.
pub const DAO_ENTRY: &str = "ontoref-dao-discipline";
/// The tool the explain-path prompt asks the model to call.
pub const EXPLAIN_PATH_TOOL: &str = "ontoref_explain_path";

/// The most bytes of one section of a prompt (a procedure, a runbook).
pub const MAX_SECTION: usize = 12 * 1024;
/// The most characters of an argument a prompt quotes.
pub const MAX_ARGUMENT_CHARS: usize = 2000;
/// The most tensions a prompt lists.
const MAX_TENSIONS: usize = 24;
/// The most characters of one tension's description.
const TENSION_CHARS: usize = 600;
/// The most related ADRs `adr-draft` lists.
const MAX_RELATED_ADRS: usize = 10;
/// The most nodes `explain-path` lists.
const MAX_PATH_NODES: usize = 30;

/// Where an argument's completions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completes {
    /// Free text (a question, a title): no completion.
    FreeText,
    /// The ids of a resource kind.
    Ids(ResourceKind),
    /// The ontology's artifact paths.
    ArtifactPaths,
}

/// One argument of a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptArg {
    /// Its name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What to pass.
    pub description: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// Where its completions come from.
    pub completes: Completes,
}

/// One prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptDef {
    /// Its name, e.g. `run-mode`.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it does, for a person picking it.
    pub description: &'static str,
    /// The toolset it is served with.
    pub toolset: &'static str,
    /// Its arguments.
    pub arguments: &'static [PromptArg],
}

/// Every prompt, by name.
pub const PROMPTS: [PromptDef; 4] = [
    PromptDef {
        name: "adr-draft",
        title: "Draft an architecture decision",
        description: "Prepare an ADR draft: the ADRs related to its title, the project's named tensions, and the five-criterion test a decision must pass before it is written down.",
        toolset: "adr",
        arguments: &[PromptArg {
            name: "title",
            title: "Title",
            description: "The decision's title, e.g. \"Serve MCP over HTTP with per-client tokens\".",
            required: true,
            completes: Completes::FreeText,
        }],
    },
    PromptDef {
        name: "explain-path",
        title: "Explain a path",
        description: "Explain what a file or directory is for in this project: the ontology nodes that name it and what binds them.",
        toolset: "ontology",
        arguments: &[PromptArg {
            name: "path",
            title: "Path",
            description: "A file or directory, relative to the project root, e.g. \"adrs/\".",
            required: true,
            completes: Completes::ArtifactPaths,
        }],
    },
    PromptDef {
        name: "ondaod",
        title: "Analyse with the named tensions (ondaod)",
        description: "Answer an architectural question the ondaod way: read the project's named tensions first, name those the question engages, describe their synthesis state and recommend the move that keeps the flow.",
        toolset: "ontology",
        arguments: &[PromptArg {
            name: "question",
            title: "Question",
            description: "The architectural question to analyse.",
            required: true,
            completes: Completes::FreeText,
        }],
    },
    PromptDef {
        name: "run-mode",
        title: "Run an operational mode",
        description: "Run one of the project's operational modes (such as release) as it resolves here: a numbered runbook with each step's command, verification and what to do on error.",
        toolset: "modes",
        arguments: &[PromptArg {
            name: "id",
            title: "Mode",
            description: "The mode's id, e.g. \"release\".",
            required: true,
            completes: Completes::Ids(ResourceKind::Mode),
        }],
    },
];

/// The prompts offered by a server serving tools of `toolsets` (ids,
/// repeats allowed), by name.
pub fn served_prompts<'a>(toolsets: impl IntoIterator<Item = &'a str>) -> Vec<&'static PromptDef> {
    let served: Vec<&str> = toolsets.into_iter().collect();
    PROMPTS
        .iter()
        .filter(|p| served.contains(&p.toolset))
        .collect()
}

/// The prompt named `name` among `served`.
pub fn find(served: &[&'static PromptDef], name: &str) -> Result<&'static PromptDef, PromptError> {
    served
        .iter()
        .copied()
        .find(|p| p.name == name)
        .ok_or_else(|| PromptError::Unknown {
            name: clip(name),
            closest: closest(name, served.iter().map(|p| p.name), 2),
            served: served.iter().map(|p| p.name.to_owned()).collect(),
        })
}

/// A prompt's text: its description and the user messages it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptText {
    /// What this instance of the prompt is.
    pub description: String,
    /// The messages, each from the user, in order.
    pub messages: Vec<String>,
}

/// Builds prompt `name` (one of `served`) with `arguments`: a required one
/// missing (or blank) or one the prompt does not take is an error naming
/// it.
pub async fn get(
    engine: &Engine,
    served: &[&'static PromptDef],
    name: &str,
    arguments: &BTreeMap<String, String>,
) -> Result<PromptText, PromptError> {
    let def = find(served, name)?;
    if let Some(extra) = arguments
        .keys()
        .find(|k| !def.arguments.iter().any(|a| a.name == k.as_str()))
    {
        return Err(unknown_argument(def, extra));
    }
    for arg in def.arguments.iter().filter(|a| a.required) {
        if arguments.get(arg.name).is_none_or(|v| v.trim().is_empty()) {
            return Err(PromptError::MissingArgument {
                prompt: def.name,
                argument: arg.name,
            });
        }
    }
    let arg = |name: &str| {
        arguments
            .get(name)
            .map(|v| clip_to(v.trim(), MAX_ARGUMENT_CHARS))
            .unwrap_or_default()
    };
    let text = match def.name {
        "ondaod" => ondaod(engine, &arg("question")).await?,
        "adr-draft" => adr_draft(engine, &arg("title")).await?,
        "run-mode" => run_mode(engine, &arg("id")).await?,
        "explain-path" => explain_path_text(engine, &arg("path")).await?,
        other => {
            return Err(PromptError::Tool(ToolError::Internal(format!(
                "prompt `{other}` has no builder"
            ))));
        }
    };
    Ok(text)
}

/// Completes argument `argument` of prompt `prompt` (one of `served`) for
/// the text `typed`: mode ids, artifact paths, or nothing for free text.
pub async fn complete_argument(
    engine: &Engine,
    served: &[&'static PromptDef],
    prompt: &str,
    argument: &str,
    typed: &str,
) -> Result<Completion, PromptError> {
    let def = find(served, prompt)?;
    let arg = def
        .arguments
        .iter()
        .find(|a| a.name == argument)
        .ok_or_else(|| unknown_argument(def, argument))?;
    Ok(match arg.completes {
        Completes::FreeText => Completion::empty(),
        Completes::Ids(kind) => {
            let ids = crate::resources::ids(engine, kind).await?;
            rank(ids.iter().map(String::as_str), typed)
        }
        Completes::ArtifactPaths => {
            let core = engine.core().await?;
            let mut paths: Vec<&str> = core
                .nodes()
                .iter()
                .flat_map(|n| n.artifact_paths.iter().map(String::as_str))
                .collect();
            paths.sort_unstable();
            rank(paths, typed)
        }
    })
}

fn unknown_argument(def: &PromptDef, argument: &str) -> PromptError {
    PromptError::UnknownArgument {
        prompt: def.name,
        argument: clip(argument),
        known: def.arguments.iter().map(|a| a.name.to_owned()).collect(),
    }
}

/// The `ondaod` prompt: the tensions, then the procedure, then the form of
/// the answer.
async fn ondaod(engine: &Engine, question: &str) -> Result<PromptText, ToolError> {
    let core = engine.core().await?;
    let qa = engine.qa().await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Answer this architectural question with ondaod, the discipline of reading the \
         project's named tensions before recommending anything:\n\n{}\n",
        quoted(question)
    );
    out.push_str(&tensions_section(&core));
    match qa.entries().iter().find(|e| e.id == DAO_ENTRY) {
        Some(entry) => {
            let _ = writeln!(
                out,
                "## Procedure (the project's Q&A entry `{DAO_ENTRY}`)\n\n{}\n",
                bounded(
                    entry.answer.trim().to_owned(),
                    MAX_SECTION,
                    &format!("`ontoref qa show {DAO_ENTRY}` has it whole")
                )
            );
        }
        None => {
            let _ = writeln!(
                out,
                "## Procedure (built in: the project has no `{DAO_ENTRY}` Q&A entry)\n\n{BUILT_IN_PROCEDURE}"
            );
        }
    }
    out.push_str(ANSWER_FORM);
    Ok(PromptText {
        description: format!("ondaod: {}", clip_to(question, 120)),
        messages: vec![out],
    })
}

/// Our ondaod procedure, for projects without their own entry.
const BUILT_IN_PROCEDURE: &str = "\
1. Read the named tensions above before forming a view: each is a continuous pull between two \
sides, not a choice to be made once.
2. Name the tensions the question engages. None is a valid answer, but say so explicitly \
(`tensions_engaged: []`) and why.
3. For each engaged tension, characterize its synthesis state: how much of each side the \
project has realized today, and which way it is moving.
4. Recommend the move that keeps the flow between both sides going. A recommendation that \
settles the question by choosing one side collapses the tension: if that is really what you \
propose, say which side it gives up and why.
5. Cite the engaged tensions by id wherever your answer relies on them.
";

/// How an ondaod answer is laid out.
const ANSWER_FORM: &str = "\
## Answer with

1. `tensions_engaged`: the ids of the tensions above that the question engages, or `[]` with \
the reason.
2. For each engaged tension, its synthesis state: where the project is between its sides, and \
which way it is moving.
3. The recommendation that keeps the flow, not one that collapses a tension to a single side.
4. The engaged tensions cited by id in the prose.
";

/// The project's `'Tension` nodes: id, name, description, the nodes they
/// pull between (`tensions` edges) and the practices easing them
/// (`mitigates` edges). At most [`MAX_TENSIONS`], each description cut.
pub fn tensions_section(core: &Core) -> String {
    let tensions: Vec<_> = core
        .nodes()
        .iter()
        .filter(|n| n.level == NodeLevel::Tension)
        .collect();
    let mut out = String::from("## The project's named tensions (`.ontology/core.ncl`)\n\n");
    if tensions.is_empty() {
        out.push_str(
            "The ontology names no `'Tension` node. Say so in the answer \
             (`tensions_engaged: []`, no named tensions in this project) and still check whether \
             the question pulls two of the project's axioms or practices against each other.\n\n",
        );
        return out;
    }
    let name_of = |id: &str| {
        core.nodes()
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| format!("`{id}`"), |n| format!("`{id}` ({})", n.name))
    };
    for t in tensions.iter().take(MAX_TENSIONS) {
        let _ = writeln!(
            out,
            "- **{}** (`{}`): {}",
            t.name,
            t.id,
            clip_to(t.description.trim(), TENSION_CHARS)
        );
        let sides: Vec<String> = core
            .edges()
            .iter()
            .filter(|e| e.from == t.id && e.kind == "tensions")
            .map(|e| name_of(&e.to))
            .collect();
        if !sides.is_empty() {
            let _ = writeln!(out, "  - pulls between: {}", sides.join(" and "));
        }
        let eased: Vec<String> = core
            .edges()
            .iter()
            .filter(|e| e.to == t.id && e.kind == "mitigates")
            .map(|e| name_of(&e.from))
            .collect();
        if !eased.is_empty() {
            let _ = writeln!(out, "  - eased by: {}", eased.join(", "));
        }
        if !t.adrs.is_empty() {
            let _ = writeln!(out, "  - ADRs: {}", t.adrs.join(", "));
        }
    }
    if tensions.len() > MAX_TENSIONS {
        let _ = writeln!(
            out,
            "- … and {} more (`ontoref node list --level Tension` lists them all)",
            tensions.len() - MAX_TENSIONS
        );
    }
    out.push('\n');
    out
}

/// The five-criterion ADR test.
pub const ADR_TEST: &str = "\
## The five-criterion ADR test

A decision becomes an ADR only when all five hold:

1. **Alternative rejected**: a real alternative was considered and consciously rejected; name it \
and why it lost.
2. **Lasting constraint**: it imposes a constraint future contributors must follow; write it as a \
Hard or Soft constraint with a check a machine can run.
3. **Multi-component reversal**: undoing it would take coordinated change across several \
components, not one local edit.
4. **Not duplicating an existing ADR**: no ADR listed above already records it as a constraint; \
if one does, amend or supersede that ADR instead.
5. **ondaod applied**: the tensions it engages are named with their synthesis state, or \
`tensions_engaged: []` is stated with the reason.

If any criterion fails, say which and why, and stop before drafting.
";

/// The `adr-draft` prompt.
async fn adr_draft(engine: &Engine, title: &str) -> Result<PromptText, ToolError> {
    let adrs = engine.adrs().await?;
    let core = engine.core().await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Prepare an architecture decision record titled:\n\n{}\n",
        quoted(title)
    );
    out.push_str("## Related ADRs\n\n");
    let related = crate::overview::search(engine, title, &["adr".to_owned()], MAX_RELATED_ADRS)
        .await
        .map(|found| found.results)
        .unwrap_or_default();
    if related.is_empty() {
        out.push_str("No ADR shares a word with the title; still check `ontoref adr list`.\n\n");
    } else {
        out.push_str("| id | status | title |\n|---|---|---|\n");
        for hit in &related {
            let status = adrs
                .get(&hit.id)
                .map(|(_, a)| crate::text::cell_of(&a.status))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {status} | {} |",
                hit.id,
                hit.title.replace('|', "\\|")
            );
        }
        out.push_str(
            "\nRead each with `ontoref_adr_get` (or the resource `ontoref://adr/<id>`) before \
             deciding whether this decision is new.\n\n",
        );
    }
    out.push_str(&tensions_section(&core));
    out.push_str("Name the tensions this decision engages, with their synthesis state.\n\n");
    out.push_str(ADR_TEST);
    let next = adrs
        .adrs
        .iter()
        .filter_map(|(_, a)| a.id.strip_prefix("adr-")?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1);
    let _ = write!(
        out,
        "\n## Then\n\nWrite `adrs/adr-{next:03}-<slug>.ncl` with status 'Proposed (a person gives \
         the verdict): id `adr-{next:03}`, title, date, context, decision, rationale \
         (claim and detail each), constraints (id, severity, claim, check) and `supersedes` when \
         it replaces an ADR.\n"
    );
    Ok(PromptText {
        description: format!("ADR draft: {}", clip_to(title, 120)),
        messages: vec![out],
    })
}

/// The `run-mode` prompt. An unknown mode is
/// [`PromptError::ArgumentNotFound`] with the closest mode ids.
async fn run_mode(engine: &Engine, id: &str) -> Result<PromptText, PromptError> {
    let hierarchy = engine.hierarchy().await?;
    let resolution = hierarchy.resolution(id).map_err(|e| match e {
        ToolError::Model(ModelError::NotFound { closest, .. }) => PromptError::ArgumentNotFound {
            prompt: "run-mode",
            argument: "id",
            value: clip(id),
            closest,
        },
        other => PromptError::Tool(other),
    })?;
    Ok(PromptText {
        description: format!("Run the mode `{id}`"),
        messages: vec![mode_runbook(&hierarchy, &resolution)],
    })
}

/// A mode as it resolves here (`resolution`, from `hierarchy`), as a
/// numbered runbook for a model: when it runs and its preconditions (from
/// the resolved level's definition), where it resolves and why (the chain
/// of levels), every step with its command, verification and on-error, and
/// how to run it. The `run-mode` prompt's text and the body of a mode's
/// skill ([`crate::skills`]); the rendered resolution is cut at
/// [`MAX_SECTION`] bytes.
pub fn mode_runbook(hierarchy: &Hierarchy, resolution: &Resolution) -> String {
    let id = &resolution.mode;
    let definition = hierarchy
        .definition(id, Some(&resolution.resolved_level.name))
        .ok();
    let mut out = format!(
        "Run the operational mode `{id}` of this project, step by step, as it resolves here.\n\n"
    );
    if let Some(d) = &definition {
        if let Some(trigger) = &d.mode.trigger {
            let _ = writeln!(out, "It runs when {}.\n", clip_to(trigger, TENSION_CHARS));
        }
        if !d.mode.preconditions.is_empty() {
            out.push_str("## Preconditions\n\n");
            for p in d.mode.preconditions.iter().take(MAX_TENSIONS) {
                let _ = writeln!(out, "- {}", clip_to(p, TENSION_CHARS));
            }
            out.push('\n');
        }
    }
    out.push_str(&bounded(
        render::<ModeResolveTool>(resolution, Style::Markdown),
        MAX_SECTION,
        &format!("`ontoref mode resolve {id}` has every step"),
    ));
    out.push_str(HOW_TO_RUN);
    out
}

/// How a model runs a mode's runbook.
const HOW_TO_RUN: &str = "\n## How to run it\n\n\
     1. Check every precondition first; if one does not hold, stop and say which.\n\
     2. Take the steps in their numbered order, never before the steps a step comes after.\n\
     3. Run a step's command yourself only when its actor is Agent (or none is given); for a \
     Human or Ci step, say what the person or CI must do and wait for them to confirm it is done.\n\
     4. After each step, check its verification; when a step declares none, confirm its \
     outcome from the command's result before going on.\n\
     5. When a step fails, follow its on-error: 'Stop means stop the run and report; without \
     one, report the failure and ask before going on.\n\
     6. Report each step as done, skipped or failed, with what you checked.\n";

/// The `explain-path` prompt for `path`: what `ontoref_explain_path`
/// answers (the nodes covering it, the Hard and Soft constraints of the
/// ADRs binding them, the Q&A that mention it), as Markdown, then how to
/// use it before an edit.
async fn explain_path_text(engine: &Engine, path: &str) -> Result<PromptText, PromptError> {
    let parsed = project_path(engine, path).map_err(|detail| {
        PromptError::Tool(ToolError::InvalidParams {
            tool: "explain-path (prompt)".to_owned(),
            detail: format!("path: {detail}"),
        })
    })?;
    let explained = explain_path(engine, &parsed, MAX_PATH_NODES, None)
        .await
        .map_err(PromptError::Tool)?;
    let mut out = format!(
        "Explain what `{}` is for in this project before it is changed: which parts of the \
         ontology it embodies, which decisions bind it and what the team already knows about \
         it. This is what the project says (from `{EXPLAIN_PATH_TOOL}`):\n\n",
        parsed.as_str()
    );
    out.push_str(&bounded(
        render::<ExplainPathTool>(&explained, Style::Markdown),
        MAX_SECTION,
        &format!("call `{EXPLAIN_PATH_TOOL}` with a cursor for the rest"),
    ));
    out.push_str(if explained.total_nodes == 0 {
        "\n\nNo ontology node covers this path: say so, name the nearest paths above that one \
         does, and suggest whether a node's `artifact_paths` should include it.\n"
    } else {
        "\n\nThen: state each Hard constraint that binds this path and how the change will keep \
         it (its check is how to verify); name any Soft constraint the change would bend, and \
         why; point to the Q&A entries that explain how the team works here.\n"
    });
    Ok(PromptText {
        description: format!("Explain `{}`", parsed.as_str()),
        messages: vec![out],
    })
}

/// Free text as a Markdown block quote.
fn quoted(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A prompt could not be found, built or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// No prompt of this name is served.
    #[error("no prompt named `{name}` is served here")]
    Unknown {
        /// The name asked for (cut).
        name: String,
        /// The closest served names.
        closest: Vec<String>,
        /// Every served name.
        served: Vec<String>,
    },
    /// A required argument is missing or blank.
    #[error("prompt `{prompt}` needs the argument `{argument}`")]
    MissingArgument {
        /// The prompt.
        prompt: &'static str,
        /// The argument.
        argument: &'static str,
    },
    /// The prompt takes no argument of this name.
    #[error("prompt `{prompt}` has no argument `{argument}`")]
    UnknownArgument {
        /// The prompt.
        prompt: &'static str,
        /// The argument given (cut).
        argument: String,
        /// The arguments it takes.
        known: Vec<String>,
    },
    /// An argument names a record that does not exist.
    #[error("prompt `{prompt}`: no record has the {argument} `{value}`")]
    ArgumentNotFound {
        /// The prompt.
        prompt: &'static str,
        /// The argument.
        argument: &'static str,
        /// Its value (cut).
        value: String,
        /// The closest existing values.
        closest: Vec<String>,
    },
    /// Loading the project failed: the tool error, with its own code.
    #[error(transparent)]
    Tool(#[from] ToolError),
}

impl PromptError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            PromptError::Unknown { .. } => "prompt-unknown",
            PromptError::MissingArgument { .. } => "prompt-argument-missing",
            PromptError::UnknownArgument { .. } => "prompt-argument-unknown",
            PromptError::ArgumentNotFound { .. } => "prompt-argument-not-found",
            PromptError::Tool(e) => e.code(),
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            PromptError::Unknown { closest, .. } if !closest.is_empty() => {
                format!(
                    "did you mean {}? `prompts/list` lists the prompts",
                    quote_list(closest)
                )
            }
            PromptError::Unknown { served, .. } if served.is_empty() => {
                "this server serves no prompts".to_owned()
            }
            PromptError::Unknown { served, .. } => {
                format!("the prompts served are {}", quote_list(served))
            }
            PromptError::MissingArgument { argument, .. } => {
                format!("pass `{argument}`; `prompts/list` describes each argument")
            }
            PromptError::UnknownArgument { known, .. } => {
                format!("its arguments are {}", quote_list(known))
            }
            PromptError::ArgumentNotFound { closest, .. } if !closest.is_empty() => {
                format!(
                    "did you mean {}? completing the argument offers every value",
                    quote_list(closest)
                )
            }
            PromptError::ArgumentNotFound { .. } => {
                "completing the argument offers every value".to_owned()
            }
            PromptError::Tool(e) => e.hint(),
        }
    }

    /// Whether the request was wrong (a name or argument) rather than the
    /// project failing to load.
    pub fn is_invalid_request(&self) -> bool {
        match self {
            PromptError::Unknown { .. }
            | PromptError::MissingArgument { .. }
            | PromptError::UnknownArgument { .. }
            | PromptError::ArgumentNotFound { .. } => true,
            PromptError::Tool(_) => false,
        }
    }

    /// The closest existing names or values, when the error has them.
    pub fn closest(&self) -> &[String] {
        match self {
            PromptError::Unknown { closest, .. }
            | PromptError::ArgumentNotFound { closest, .. } => closest,
            _ => &[],
        }
    }
}

impl ErrorCodes for PromptError {
    const VARIANTS: usize = 5;

    fn examples() -> Vec<Self> {
        vec![
            PromptError::Unknown {
                name: "run-mod".into(),
                closest: vec!["run-mode".into()],
                served: vec!["run-mode".into()],
            },
            PromptError::MissingArgument {
                prompt: "run-mode",
                argument: "id",
            },
            PromptError::UnknownArgument {
                prompt: "run-mode",
                argument: "mode".into(),
                known: vec!["id".into()],
            },
            PromptError::ArgumentNotFound {
                prompt: "run-mode",
                argument: "id",
                value: "relase".into(),
                closest: vec!["release".into()],
            },
            PromptError::Tool(ToolError::Internal("x".into())),
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = PromptError::VARIANTS;
        match self {
            PromptError::Unknown { .. } => variant::<0, N>(),
            PromptError::MissingArgument { .. } => variant::<1, N>(),
            PromptError::UnknownArgument { .. } => variant::<2, N>(),
            PromptError::ArgumentNotFound { .. } => variant::<3, N>(),
            PromptError::Tool(_) => variant::<4, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, PromptError::Tool(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolsets::testing::{engine_on, template};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn all() -> Vec<&'static PromptDef> {
        PROMPTS.iter().collect()
    }

    fn text(engine: &Engine, name: &str, pairs: &[(&str, &str)]) -> String {
        let got = block_on(get(engine, &all(), name, &args(pairs))).unwrap();
        assert_eq!(got.messages.len(), 1);
        got.messages.concat()
    }

    /// The tension nodes of the template's `.ontology/core.ncl`.
    const TENSIONS: [&str; 3] = [
        "Agent autonomy against human oversight",
        "Reach of the server against exposure of the project",
        "Complete answers against the context budget",
    ];

    #[test]
    fn prompts_are_data_sorted_by_name_with_described_arguments() {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for p in &PROMPTS {
            assert!(!p.description.is_empty() && !p.title.is_empty());
            assert!(crate::toolset::find(p.toolset).is_some(), "{}", p.toolset);
            assert!(
                p.arguments
                    .iter()
                    .all(|a| a.required && !a.description.is_empty())
            );
        }
        assert_eq!(
            served_prompts(["modes"])
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>(),
            ["run-mode"]
        );
        assert!(served_prompts(["qa"]).is_empty());
    }

    #[test]
    fn ondaod_reads_the_tensions_then_the_projects_procedure() {
        let (e, _d) = template();
        let t = text(
            &e,
            "ondaod",
            &[("question", "Should we add a second server?")],
        );
        assert!(t.contains("> Should we add a second server?"), "{t}");
        for name in TENSIONS {
            assert!(t.contains(name), "{name}: {t}");
        }
        assert!(
            t.contains("pulls between: `agents-never-hold-secrets`"),
            "{t}"
        );
        assert!(t.contains("eased by: `scope-tokens-per-client`"), "{t}");
        let procedure = t.find("## Procedure (the project's Q&A entry `ontoref-dao-discipline`)");
        let tensions = t.find("## The project's named tensions");
        assert!(tensions.unwrap() < procedure.unwrap(), "{t}");
        assert!(t.contains("tensions_engaged"), "{t}");
    }

    #[test]
    fn ondaod_falls_back_to_our_procedure() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/project");
        let (e, _d) = engine_on(&root);
        let t = text(&e, "ondaod", &[("question", "q")]);
        assert!(
            t.contains("built in: the project has no `ontoref-dao-discipline`"),
            "{t}"
        );
        assert!(t.contains("names no `'Tension` node"), "{t}");
        assert!(t.contains("5. Cite the engaged tensions by id"), "{t}");
    }

    #[test]
    fn adr_draft_lists_related_adrs_tensions_and_the_five_criteria() {
        let (e, _d) = template();
        let t = text(
            &e,
            "adr-draft",
            &[("title", "Serve MCP over HTTP with tokens")],
        );
        assert!(t.contains("| adr-004 | Accepted |"), "{t}");
        for name in TENSIONS {
            assert!(t.contains(name), "{name}");
        }
        for criterion in [
            "Alternative rejected",
            "Lasting constraint",
            "Multi-component reversal",
            "Not duplicating an existing ADR",
            "ondaod applied",
        ] {
            assert!(t.contains(criterion), "{criterion}: {t}");
        }
        assert!(t.contains("`adrs/adr-007-<slug>.ncl`"), "{t}");
    }

    #[test]
    fn run_mode_is_a_numbered_runbook_with_commands() {
        let (e, _d) = template();
        let t = text(&e, "run-mode", &[("id", "release")]);
        assert!(t.contains("## Preconditions\n\n- main is green"), "{t}");
        for step in [
            "1. **changelog**",
            "command: `git log --merges --oneline $PREV_TAG..HEAD`",
            "2. **tag**",
            "command: `git tag -s v$VERSION`",
            "3. **validate-knowledge**",
            "verify: every file evaluates and no Hard constraint fails",
            "on error: Stop",
            "5. **notify-agents**",
        ] {
            assert!(t.contains(step), "{step}: {t}");
        }
        match block_on(get(&e, &all(), "run-mode", &args(&[("id", "relase")]))).unwrap_err() {
            PromptError::ArgumentNotFound { closest, .. } => assert_eq!(closest[0], "release"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_requests_are_named() {
        let (e, _d) = template();
        let err = |name: &str, pairs: &[(&str, &str)]| {
            block_on(get(&e, &all(), name, &args(pairs))).unwrap_err()
        };
        let unknown = err("run-mod", &[]);
        assert_eq!(unknown.code(), "prompt-unknown");
        assert!(unknown.hint().contains("`run-mode`"), "{}", unknown.hint());
        assert!(unknown.is_invalid_request());
        assert_eq!(err("run-mode", &[]).code(), "prompt-argument-missing");
        assert_eq!(
            err("run-mode", &[("id", "  ")]).code(),
            "prompt-argument-missing"
        );
        let extra = err("run-mode", &[("id", "release"), ("mode", "x")]);
        assert_eq!(extra.code(), "prompt-argument-unknown");
        assert!(extra.hint().contains("`id`"));
        // Served prompts only.
        let modes_only = served_prompts(["modes"]);
        let hidden = block_on(get(&e, &modes_only, "ondaod", &args(&[("question", "q")])));
        assert_eq!(hidden.unwrap_err().code(), "prompt-unknown");
    }

    #[test]
    fn prompts_stay_bounded_whatever_the_arguments() {
        let (e, _d) = template();
        let huge = "why ".repeat(100_000);
        for (name, arg) in [
            ("ondaod", "question"),
            ("adr-draft", "title"),
            ("explain-path", "path"),
        ] {
            let t = text(&e, name, &[(arg, &huge)]);
            assert!(t.len() < 4 * MAX_SECTION, "{name}: {}", t.len());
        }
    }

    #[test]
    fn arguments_complete_from_modes_and_artifact_paths_and_free_text_not_at_all() {
        let (e, _d) = template();
        let c = |prompt: &str, arg: &str, typed: &str| {
            block_on(complete_argument(&e, &all(), prompt, arg, typed))
        };
        assert_eq!(c("run-mode", "id", "re").unwrap().values[0], "release");
        let paths = c("explain-path", "path", "adr").unwrap();
        // The prefix first, then a path containing it.
        assert_eq!(paths.values, ["adrs/", "reflection/modes/review-adr.ncl"]);
        let all_paths = c("explain-path", "path", "").unwrap();
        assert!(all_paths.values.contains(&".ontology/core.ncl".to_owned()));
        assert_eq!(c("ondaod", "question", "wh").unwrap(), Completion::empty());
        assert_eq!(c("adr-draft", "title", "x").unwrap(), Completion::empty());
        assert_eq!(
            c("run-mode", "mode", "").unwrap_err().code(),
            "prompt-argument-unknown"
        );
        assert_eq!(c("nope", "id", "").unwrap_err().code(), "prompt-unknown");
    }

    #[test]
    fn explain_path_gives_the_nodes_constraints_and_what_to_do() {
        let (e, _d) = template();
        let t = text(
            &e,
            "explain-path",
            &[("path", "./adrs/adr-001-knowledge-as-typed-nickel.ncl")],
        );
        assert!(t.contains(&format!("`{EXPLAIN_PATH_TOOL}`")), "{t}");
        assert!(t.contains("decisions-are-recorded"), "{t}");
        assert!(t.contains("human-verdict-on-adrs"), "{t}");
        assert!(t.contains("Hard constraint"), "{t}");
        assert!(!t.contains("context-is-scarce"), "{t}");
        let none = text(&e, "explain-path", &[("path", "nowhere/at/all")]);
        assert!(none.contains("No ontology node covers this path"), "{none}");
        let escape = block_on(get(
            &e,
            &all(),
            "explain-path",
            &args(&[("path", "../etc")]),
        ));
        assert_eq!(escape.unwrap_err().code(), "invalid-params");
    }
}
