//! The `ontoref` binary: a thin layer over `ontoref-tools`.
//!
//! `main` only maps [`cli::run`]'s outcome to an exit status: 0 on success,
//! 1 when a tool or command failed (the error was already printed), 2 on a
//! usage error. The transports come from the `ontoref` library
//! (`src/lib.rs`).

mod cli;
mod output;
mod secrets;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(cli::Failure::Reported) => ExitCode::from(1),
        Err(cli::Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(cli::Failure::Fatal(msg)) => {
            eprintln!("ontoref: {msg}");
            ExitCode::from(1)
        }
        Err(cli::Failure::Exit(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    }
}
