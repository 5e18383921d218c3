//! How a command-line run fails outside any tool: [`CliError`], each
//! variant with a stable code, a message naming the flag, file or value at
//! fault, a hint, and the exit status it means (2 for a usage error, 1
//! otherwise). Tool errors are the tool's own (`ToolError`), printed by the
//! output rules; these are what is left: flags, arguments, the process's
//! environment, the server's transports.

use ontoref_tools::codes::{ErrorCodes, variant};

use crate::transport::guard::TokenFileError;

/// A command-line failure outside any tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A flag's value is out of range or malformed.
    #[error("{0}")]
    BadFlag(String),
    /// The command's other arguments are wrong (`call`'s JSON, a missing
    /// command after `--`).
    #[error("{0}")]
    BadArguments(String),
    /// `--toolsets`, `--tools` or `--exclude-tools` names nothing known.
    #[error("{0}")]
    UnknownSelection(String),
    /// The process's environment failed it (no async runtime, no temporary
    /// or working directory, its own executable not found).
    #[error("{0}")]
    Environment(String),
    /// The engine could not start on the project.
    #[error("{message}")]
    EngineStart {
        /// What failed.
        message: String,
        /// The engine error's own hint.
        hint: String,
    },
    /// The token file given to `--token-file` is wrong.
    #[error(transparent)]
    TokenFile(#[from] TokenFileError),
    /// `secrets exec` could not start its command.
    #[error("cannot run `{program}`: {detail}")]
    Exec {
        /// The command.
        program: String,
        /// Why.
        detail: String,
    },
    /// `secrets reap` could not remove a credential directory.
    #[error("{0}")]
    Reap(String),
    /// A transport of `serve` failed.
    #[error("{0}")]
    Transport(String),
}

impl CliError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::BadFlag(_) => "cli-bad-flag",
            CliError::BadArguments(_) => "cli-bad-arguments",
            CliError::UnknownSelection(_) => "cli-unknown-selection",
            CliError::Environment(_) => "cli-environment",
            CliError::EngineStart { .. } => "cli-engine-start-failed",
            CliError::TokenFile(e) => e.code(),
            CliError::Exec { .. } => "cli-exec-failed",
            CliError::Reap(_) => "cli-reap-failed",
            CliError::Transport(_) => "cli-transport-failed",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> String {
        match self {
            CliError::BadFlag(_) => "see `ontoref <command> --help` for the flag's values".into(),
            CliError::BadArguments(_) => "see `ontoref <command> --help`".into(),
            CliError::UnknownSelection(_) => {
                "`ontoref tools` lists the toolsets and tools this binary has".into()
            }
            CliError::Environment(_) => {
                "check the temporary directory, the working directory and that the executable \
                 is still in place"
                    .into()
            }
            CliError::EngineStart { hint, .. } => hint.clone(),
            CliError::TokenFile(e) => e.hint().to_owned(),
            CliError::Exec { .. } => "check the command after `--` is on PATH".into(),
            CliError::Reap(_) => {
                "the directory carries its expiry; the next ontoref run removes it".into()
            }
            CliError::Transport(_) => {
                "run with --log-level debug to see why the transport stopped".into()
            }
        }
    }

    /// The exit status: 2 for a usage error, 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            CliError::BadFlag(_) | CliError::BadArguments(_) | CliError::UnknownSelection(_) => 2,
            _ => 1,
        }
    }
}

impl ErrorCodes for CliError {
    const VARIANTS: usize = 9;

    fn examples() -> Vec<Self> {
        vec![
            CliError::BadFlag("--eval-memory must be 64 to 1048576 MiB, got 5".into()),
            CliError::BadArguments("the arguments must be a JSON object".into()),
            CliError::UnknownSelection("unknown toolset `qq`; known toolsets: qa".into()),
            CliError::Environment("cannot start the async runtime: out of threads".into()),
            CliError::EngineStart {
                message: "no project at /nowhere".into(),
                hint: "pass --project DIR".into(),
            },
            CliError::TokenFile(TokenFileError::Empty {
                path: "/etc/ontoref/tokens".into(),
            }),
            CliError::Exec {
                program: "docker".into(),
                detail: "not found".into(),
            },
            CliError::Reap("cannot remove /run/ontoref/c-1: busy".into()),
            CliError::Transport("http: address in use".into()),
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = CliError::VARIANTS;
        match self {
            CliError::BadFlag(_) => variant::<0, N>(),
            CliError::BadArguments(_) => variant::<1, N>(),
            CliError::UnknownSelection(_) => variant::<2, N>(),
            CliError::Environment(_) => variant::<3, N>(),
            CliError::EngineStart { .. } => variant::<4, N>(),
            CliError::TokenFile(_) => variant::<5, N>(),
            CliError::Exec { .. } => variant::<6, N>(),
            CliError::Reap(_) => variant::<7, N>(),
            CliError::Transport(_) => variant::<8, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint()
    }

    fn delegates(&self) -> bool {
        matches!(self, CliError::TokenFile(_))
    }
}
