//! The `ontoref` binary: a thin layer over `ontoref-tools`.
//!
//! `main` only maps [`cli::run`]'s outcome to an exit status: 0 on success,
//! 1 when a tool or command failed (the error was already printed), 2 on a
//! usage error. The transports come from the `ontoref` library
//! (`src/lib.rs`).

mod cli;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    // `ontoref __eval-worker`: an evaluation worker the server started
    // (see ontoref_tools::nickel::worker); not a command for people.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(ontoref_tools::nickel::worker::SUBCOMMAND) {
        let code = ontoref_tools::nickel::worker::main(&args[1..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(cli::Failure::Reported) => ExitCode::from(1),
        Err(cli::Failure::Cli(e)) => {
            eprintln!("error[{}]: {e}", e.code());
            eprintln!("  hint: {}", e.hint());
            ExitCode::from(e.exit_status())
        }
        Err(cli::Failure::Exit(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    }
}
