//! The `portplan` command line: parse arguments, run the command, map its outcome to an exit
//! code. The commands themselves live in the binary-only `cli` module.
//!
//! Exit codes: 0 success; 1 the job ran and found something wrong (lint errors, blocked flows);
//! 2 the input could not be used (bad arguments, unreadable or invalid files).

mod cli;

use clap::Parser;
use cli::Failure;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Findings) => ExitCode::from(1),
        Err(Failure::Input(e)) => {
            if let Some(e) = e {
                eprintln!("portplan: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}
