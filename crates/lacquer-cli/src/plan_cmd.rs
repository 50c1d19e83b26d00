//! `lacquer plan`: measure, classify and plan, then print the plan with a
//! reason for every decision, without processing or writing anything (a dry
//! run of `lacquer master` with the same knobs).

use crate::exit::Code;
use crate::master::{Knobs, chain};
use anyhow::Result;
use clap::Args;
use lacquer_core::{Analysis, GenreScores, Plan};
use lacquer_engine::pipeline::Planned;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    lacquer plan mix.wav\n  \
    lacquer plan mix.wav --reference ref.flac --json\n  \
    lacquer plan mix.wav --platform apple_music --genre metal_rock --intensity 40\n\n\
Takes the same knobs as `lacquer master`; nothing is written and the input is never modified.")]
pub struct PlanArgs {
    /// Audio files to plan.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,

    #[command(flatten)]
    knobs: Knobs,

    /// Print one JSON array (an entry per file) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Planned {
        file: PathBuf,
        genre: Option<GenreScores>,
        deltas: Option<Box<lacquer_core::Deltas>>,
        plan: Box<Plan>,
        input_analysis: Box<Analysis>,
    },
    Failed {
        file: PathBuf,
        error: ErrorEntry,
    },
}

#[derive(Debug, Serialize)]
struct ErrorEntry {
    kind: &'static str,
    message: String,
}

pub fn run(args: &PlanArgs) -> Result<Code> {
    let options = args.knobs.plan_options()?;
    let engine = args.knobs.engine(&options)?;
    let reference = match args.knobs.reference_track(&engine) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            return Ok(if e.is_invalid_input() {
                Code::InvalidInput
            } else {
                Code::Failure
            });
        }
    };
    let mut status = Code::Success;
    let mut entries = Vec::new();
    for (index, file) in args.inputs.iter().enumerate() {
        match engine.plan_file(file, reference.as_ref(), &options) {
            Ok(planned) => {
                if !args.json {
                    if index > 0 {
                        println!();
                    }
                    print!("{}", render(file, &planned));
                }
                entries.push(Entry::Planned {
                    file: file.clone(),
                    genre: planned.steering.genre,
                    deltas: planned.steering.deltas.map(Box::new),
                    plan: Box::new(planned.steering.plan),
                    input_analysis: Box::new(planned.analysis),
                });
            }
            Err(e) => {
                let invalid = e.is_invalid_input();
                let message = chain(&e);
                eprintln!("error: {message}");
                status = status.max(if invalid {
                    Code::InvalidInput
                } else {
                    Code::Failure
                });
                entries.push(Entry::Failed {
                    file: file.clone(),
                    error: ErrorEntry {
                        kind: if invalid { "invalid_input" } else { "failure" },
                        message,
                    },
                });
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    }
    Ok(status)
}

fn render(file: &std::path::Path, planned: &Planned) -> String {
    let mut out = String::new();
    let plan = &planned.steering.plan;
    let measured = planned
        .analysis
        .loudness
        .integrated_lufs
        .map_or("n/a".into(), |l| format!("{:.1} LUFS", l.0));
    let _ = writeln!(out, "{}", file.display());
    let _ = writeln!(
        out,
        "  {:<10} {measured} now → {:.1} LUFS, true peak ≤ {:.1} dBTP",
        "loudness", plan.target.integrated_lufs.0, plan.target.ceiling_dbtp.0
    );
    if let Some(g) = &planned.steering.genre {
        let top: Vec<String> = g
            .scores
            .iter()
            .take(3)
            .map(|s| format!("{} {:.0} %", s.label, s.probability * 100.0))
            .collect();
        let _ = writeln!(
            out,
            "  {:<10} {} ({})",
            "genre",
            top.join(", "),
            g.model_version
        );
    }
    if !plan.profile_blend.is_empty() {
        let blend: Vec<String> = plan
            .profile_blend
            .iter()
            .map(|(n, w)| format!("{n} {:.0} %", w * 100.0))
            .collect();
        let _ = writeln!(out, "  {:<10} {}", "profile", blend.join(", "));
    }
    if plan.decisions.is_empty() {
        let _ = writeln!(out, "  {:<10} none (a neutral chain)", "decisions");
    }
    for (i, d) in plan.decisions.iter().enumerate() {
        let stage = serde_json::to_value(d.stage)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<10} [{stage}] {}",
            if i == 0 { "decisions" } else { "" },
            d.reason
        );
    }
    out
}
