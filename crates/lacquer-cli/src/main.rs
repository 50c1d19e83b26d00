//! `lacquer`: automatic mastering from the command line.
//!
//! The binary is a thin shell over the library crates: it parses arguments,
//! maps errors to exit codes people can script against, and renders results
//! as tables for humans or JSON for machines.

// Argument docs are `--help` text, where `<stem><suffix>.<ext>` is a
// placeholder for people, not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod analyze;
mod classify;
mod eval;
mod exit;
mod features;
mod master;
mod matching;
mod plan_cmd;
mod profile;
mod spooled;

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

    /// Classify the genre of audio files with the ONNX model.
    Classify(classify::ClassifyArgs),

    /// Export the genre model's input features for training.
    Features(features::FeaturesArgs),

    /// Evaluate genre models on a labelled manifest.
    Eval(eval::EvalArgs),

    /// Measure how a mix differs from a reference track or a genre profile.
    Match(matching::MatchArgs),

    /// Build and list genre profiles.
    Profile(profile::ProfileArgs),

    /// Master audio files: plan, process, check and export.
    Master(master::MasterArgs),

    /// Print the mastering plan for a file without processing it.
    Plan(plan_cmd::PlanArgs),
}

/// glibc gives each thread that allocates its own arena, and a freed
/// multi-megabyte plane stays cached in the arena of the thread that freed
/// it, where the thread allocating the next plane cannot reuse it: the
/// engine allocates few, large, short-lived planes from worker threads, so
/// resident memory overshoots what is live. Measured with
/// `benches/master-e2e.sh` on a 3-minute track: 205–236 MB peak by
/// default, 158 MB with two arenas (the same as one arena, 156 MB, without
/// serialising every thread's small allocations on one lock).
///
/// The mmap threshold is fixed too: glibc raises it (up to 32 MB) each time
/// a large block is freed, after which multi-megabyte planes come from the
/// arenas and their memory is kept after use, how much depending on which
/// thread freed what. Since the input is decoded on a thread of its own,
/// reference-mode masters of the bench suite peaked at 188–236 MB from run
/// to run (orchestral pair); with planes of 4 MB and more always mapped and
/// unmapped, 176–179 MB (dense-loud pair: 179–182 -> 155 MB; bass-heavy,
/// genre-auto: 202 -> 207 MB; the 3-minute e2e track: unchanged, 158 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    const ARENAS: libc::c_int = 2;
    const MMAP_THRESHOLD_BYTES: libc::c_int = 4 << 20;
    // SAFETY: mallopt only sets an allocator parameter; it is called first
    // thing in main, before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Match(args) => matching::run(&args),
        Command::Profile(args) => profile::run(&args),
        Command::Master(args) => master::run(&args),
        Command::Plan(args) => plan_cmd::run(&args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            exit::Code::Failure.into()
        }
    }
}
