//! `lacquer`: automatic mastering from the command line.
//!
//! The binary is a thin shell over the library crates: it parses arguments,
//! maps errors to exit codes people can script against, and renders results
//! as tables for humans or JSON for machines.

mod analyze;
mod exit;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Automatic mastering: a mix goes in, a release-ready master and a report
/// come out.
#[derive(Debug, Parser)]
#[command(
    name = "lacquer",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 on success, 2 when an input file is invalid \
                  (unreadable, unsupported, too short or long, NaN samples…), \
                  1 on any other failure.\n\n\
                  Examples:\n  lacquer analyze mix.wav\n  lacquer analyze *.flac --json > analysis.json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure loudness, true peak, tonal balance, dynamics and stereo image.
    ///
    /// Prints a table per file by default, or one JSON array with --json.
    /// Nothing is written to disk and the input files are never modified.
    Analyze(analyze::AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(&args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            exit::Code::Failure.into()
        }
    }
}
