//! `lacquer classify`: which genre the model hears in each file, and how
//! sure it is.
//!
//! The model is loaded once and shared by every file. Each file is decoded
//! (into a spool: see `spooled`) and classified on its own: a bad file is
//! reported by name and decides the exit status, but does not stop the
//! others.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use lacquer_core::GenreScores;
use lacquer_engine::pipeline::MAX_INPUT_SECONDS;
use lacquer_genre::GenreModel;
use lacquer_io::DecodeOptions;
use rayon::prelude::*;
use serde::Serialize;

use crate::exit::{Code, error_chain};
use crate::spooled::decode_to_spool;

#[derive(Debug, Args)]
#[command(after_help = "\
The model listens to up to --max-patches 3-second excerpts spread over the whole
file and averages their probabilities. Confidence is the top genre's averaged
probability: below about 0.5 the track sits between genres, and `lacquer master`
blends the profiles of the top genres instead of picking one.

--model PATH reads PATH (an .onnx file) and the model card beside it
(genre-v2.onnx -> genre-v2.card.json); a card whose feature parameters differ
from this build's is refused. Without --model the built-in genre-v1 is used.

Exit status: 0 when every file was classified, 2 when a file or the model is
invalid, 1 on any other failure.

Examples:
  lacquer classify mix.wav
  lacquer classify --top 3 album/*.flac
  lacquer classify --json mix.wav > genre.json
  lacquer classify --model models/genre-v2.onnx mix.wav")]
pub struct ClassifyArgs {
    /// Audio files to classify (WAV, AIFF, FLAC, MP3, OGG Vorbis, M4A/AAC).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// An ONNX genre model with its .card.json beside it, instead of the
    /// built-in one.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,

    /// Print one JSON array (an entry per file) instead of tables.
    #[arg(long)]
    json: bool,

    /// Show only the N most probable genres (default: all). The JSON always
    /// holds the full distribution.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    top: Option<u32>,

    /// Most excerpts to average per file; more is slower but samples long
    /// files more densely.
    #[arg(long, value_name = "N", default_value_t = lacquer_genre::DEFAULT_MAX_PATCHES as u32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_patches: u32,

    /// Refuse inputs longer than this many seconds (memory does not grow
    /// with length: long files are read from a temporary file).
    #[arg(long, value_name = "SECONDS", default_value_t = MAX_INPUT_SECONDS)]
    max_duration: f64,
}

/// What `--json` prints per file.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Classified {
        file: PathBuf,
        /// The most probable genre and its probability.
        genre: String,
        confidence: f64,
        #[serde(flatten)]
        scores: GenreScores,
        backend: &'static str,
    },
    Failed {
        file: PathBuf,
        error: ErrorEntry,
    },
}

#[derive(Debug, Serialize)]
struct ErrorEntry {
    /// `invalid_input` (exit 2) or `failure` (exit 1).
    kind: &'static str,
    message: String,
}

impl ErrorEntry {
    fn new(invalid_input: bool, message: String) -> Self {
        Self {
            kind: if invalid_input {
                "invalid_input"
            } else {
                "failure"
            },
            message,
        }
    }

    fn code(&self) -> Code {
        if self.kind == "invalid_input" {
            Code::InvalidInput
        } else {
            Code::Failure
        }
    }
}

pub fn run(args: &ClassifyArgs) -> Result<Code> {
    let options = crate::spooled::decode_options(args.max_duration)?;
    let loaded = match &args.model {
        Some(path) => GenreModel::load(path),
        None => GenreModel::builtin(),
    };
    let model = match loaded {
        Ok(m) => m.with_max_patches(args.max_patches as usize),
        Err(e) => {
            let entry = ErrorEntry::new(e.is_invalid_input(), error_chain(&e));
            eprintln!("error: {}", entry.message);
            return Ok(entry.code());
        }
    };
    let backend = model.backend()?.name();

    // Files in parallel, results in argument order: the output does not
    // depend on scheduling.
    let entries: Vec<Entry> = args
        .files
        .par_iter()
        .map(|file| classify_file(&model, file, &options, backend))
        .collect();

    let mut status = Code::Success;
    let mut printed = 0;
    for entry in &entries {
        match entry {
            Entry::Failed { error, .. } => {
                eprintln!("error: {}", error.message);
                status = status.max(error.code());
            }
            Entry::Classified { .. } if !args.json => {
                if printed > 0 {
                    println!();
                }
                print!("{}", render_table(entry, args.top));
                printed += 1;
            }
            Entry::Classified { .. } => {}
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    }
    Ok(status)
}

fn classify_file(
    model: &GenreModel,
    file: &Path,
    options: &DecodeOptions,
    backend: &'static str,
) -> Entry {
    let failed = |error: ErrorEntry| Entry::Failed {
        file: file.to_path_buf(),
        error,
    };
    let spool = match decode_to_spool(file, options) {
        Ok((spool, _)) => spool,
        Err(e) => return failed(ErrorEntry::new(e.is_invalid_input(), error_chain(&e))),
    };
    match model.classify(&spool) {
        Ok(scores) => {
            let (genre, confidence) = scores
                .top()
                .map(|s| (s.label.clone(), s.probability))
                .unwrap_or_default();
            Entry::Classified {
                file: file.to_path_buf(),
                genre,
                confidence,
                scores,
                backend,
            }
        }
        // The decoder validated the audio, so this is not the file's fault.
        Err(e) => failed(ErrorEntry::new(
            false,
            format!(
                "{}: classification failed: {}",
                file.display(),
                error_chain(&e)
            ),
        )),
    }
}

/// Width of the bar drawn for probability 1.
const BAR_WIDTH: usize = 30;

fn render_table(entry: &Entry, top: Option<u32>) -> String {
    let Entry::Classified {
        file,
        genre,
        confidence,
        scores,
        ..
    } = entry
    else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", file.display());
    let _ = writeln!(
        out,
        "  genre  {genre}   confidence {:.0} %   ({} excerpts, model {})",
        confidence * 100.0,
        scores.patches,
        scores.model_version
    );
    let shown = top.map_or(scores.scores.len(), |n| n as usize);
    let width = scores
        .scores
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    for s in scores.scores.iter().take(shown) {
        let bar = "#".repeat((s.probability * BAR_WIDTH as f64).round() as usize);
        let _ = writeln!(
            out,
            "  {:<width$}  {:>5.1} %  {bar}",
            s.label,
            s.probability * 100.0
        );
    }
    out
}
