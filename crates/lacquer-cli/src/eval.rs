//! `lacquer eval`: score one or more genre model versions on the same
//! labelled clips and show them side by side.
//!
//! Everything that can be wrong with the input (manifest, missing clips,
//! model files) is checked before the first inference, so a typo costs a
//! second, not a full run. Nothing is written unless `--out-dir` is given,
//! and then no existing file is replaced without `--force`.

use crate::exit::Code;
use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lacquer_core::{AudioBuffer, GenreScores};
use lacquer_eval::report::{self, EvalReport, RunInfo};
use lacquer_eval::tables::{self, Precision};
use lacquer_eval::{
    Classifier, ClassifierError, EvalError, ModelResult, Split, default_cache_dir, evaluate,
    load_clip, read_manifest,
};
use lacquer_genre::GenreModel;
use lacquer_io::{DecodeOptions, Overwrite};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SplitArg {
    Train,
    Val,
    Test,
    All,
}

impl From<SplitArg> for Split {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Train => Split::Train,
            SplitArg::Val => Split::Val,
            SplitArg::Test => Split::Test,
            SplitArg::All => Split::All,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Metrics: accuracy, macro-F1 (over every genre that is true or predicted at least \
once), precision/recall/F1 per genre, the confusion matrix (rows = truth), expected \
calibration error over 10 equal-width confidence bins, and the mean and median wall \
time of one classify call (features + inference) per clip. With two or more models \
the summary shows each later model's difference from the first. Genres in the \
manifest that a model does not know are reported and count as errors.

Clips: package rows are read from <CACHE>/clips/<clip_id>.wav, cut by \
training-data-manifest/fetch; local rows (empty package) from their path, relative \
to the manifest's folder, stems joined by ' + ' summed, then cut at start_s for \
duration_s.

With --out-dir DIR it writes summary.csv, per_genre.csv, calibration.csv, \
predictions.csv, confusion_<model>.csv, confusion_<model>.png and summary.md.

Examples:
  lacquer eval --manifest training-data-manifest/clips.csv --model models/genre-v1.onnx
  lacquer eval --manifest training-data-manifest/clips.csv \\
      --model models/genre-v1.onnx --model models/genre-v2.onnx --out-dir eval-v2
  lacquer eval --manifest my-corpus.csv --model models/genre-v1.onnx --split all --json")]
pub struct EvalArgs {
    /// Clip manifest (CSV in the training-data-manifest format).
    #[arg(long, value_name = "CSV")]
    manifest: PathBuf,

    /// ONNX model to evaluate (its .card.json beside it); repeat to compare versions.
    #[arg(long = "model", value_name = "ONNX", required = true)]
    models: Vec<PathBuf>,

    /// Which clips of the manifest to use.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,

    /// Where training-data-manifest/fetch put the clips
    /// [default: ${XDG_CACHE_HOME:-~/.cache}/lacquer/corpus].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// Write the CSV tables, Markdown summary and PNG charts into DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,

    /// Replace files that already exist in --out-dir.
    #[arg(long, requires = "out_dir")]
    force: bool,

    /// Print one JSON object (metrics, predictions, files written) instead of tables.
    #[arg(long)]
    json: bool,
}

/// A `genre-vN.onnx` (+ card) as lacquer-eval sees it: named by its card
/// version unless renamed (two files of one version need distinct names).
struct OnnxClassifier {
    model: GenreModel,
    name: String,
}

impl OnnxClassifier {
    fn load(path: &std::path::Path) -> Result<Self, EvalError> {
        let model = GenreModel::load(path).map_err(|source| EvalError::ModelLoad {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let name = model.version().to_string();
        Ok(Self { model, name })
    }

    fn version(&self) -> &str {
        self.model.version()
    }
}

impl Classifier for OnnxClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn labels(&self) -> &[String] {
        self.model.labels()
    }

    fn classify(&mut self, audio: &AudioBuffer) -> Result<GenreScores, ClassifierError> {
        self.model
            .classify(audio)
            .map_err(|e| Box::new(e) as ClassifierError)
    }
}

#[derive(Debug, Serialize)]
struct ModelFile {
    name: String,
    version: String,
    path: PathBuf,
}

#[derive(Debug, Serialize)]
struct JsonOutput<'a> {
    #[serde(flatten)]
    report: EvalReport<'a>,
    model_files: Vec<ModelFile>,
    files_written: Vec<PathBuf>,
    warnings: Vec<String>,
}

pub fn run(args: &EvalArgs) -> Result<Code> {
    match evaluate_and_report(args) {
        Ok(()) => Ok(Code::Success),
        Err(err) => {
            let invalid = err
                .downcast_ref::<EvalError>()
                .is_some_and(EvalError::is_invalid_input);
            eprintln!("error: {err:#}");
            Ok(if invalid {
                Code::InvalidInput
            } else {
                Code::Failure
            })
        }
    }
}

fn evaluate_and_report(args: &EvalArgs) -> Result<()> {
    let split = Split::from(args.split);
    let cache = match &args.cache {
        Some(c) => c.clone(),
        None => default_cache_dir()
            .context("neither XDG_CACHE_HOME nor HOME is set; pass --cache DIR")?,
    };
    let manifest = read_manifest(&args.manifest)?;
    let chosen = manifest.select(split)?;
    let clips = manifest.resolve(&chosen, &cache, split)?;

    let mut files = Vec::with_capacity(args.models.len());
    let mut models: Vec<Box<dyn Classifier>> = Vec::with_capacity(args.models.len());
    let loaded: Vec<OnnxClassifier> = args
        .models
        .iter()
        .map(|p| OnnxClassifier::load(p))
        .collect::<Result<_, _>>()?;
    let names = distinct_names(&loaded, &args.models);
    for ((mut model, name), path) in loaded.into_iter().zip(names).zip(&args.models) {
        files.push(ModelFile {
            name: name.clone(),
            version: model.version().to_string(),
            path: path.clone(),
        });
        model.name = name;
        models.push(Box::new(model));
    }
    let mut warnings = unknown_label_warnings(&models, &clips);
    for w in &warnings {
        eprintln!("warning: {w}");
    }

    let bar = ProgressBar::new(clips.len() as u64).with_style(
        ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} clips, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("evaluating");
    // Clips are decoded at their own length; the decoder's default limits
    // (1 s … 30 min) are the right ones for 10-s clips and whole stems alike.
    let options = DecodeOptions::default();
    let results = evaluate(
        &clips,
        &mut models,
        |c| load_clip(c, &options),
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();

    let run = RunInfo {
        manifest: args.manifest.clone(),
        split: split.as_str(),
        clips: clips.len(),
    };
    let mut written = Vec::new();
    if let Some(dir) = &args.out_dir {
        let rendered = report::render(&run, &results)?;
        for w in &rendered.warnings {
            eprintln!("warning: {w}");
        }
        warnings.extend(rendered.warnings);
        let overwrite = if args.force {
            Overwrite::Allow
        } else {
            Overwrite::Refuse
        };
        written = report::write(dir, &rendered.files, overwrite).map_err(|e| match e {
            EvalError::OutputExists { .. } => anyhow::Error::new(e)
                .context("pass --force to replace them, or choose another --out-dir"),
            e => e.into(),
        })?;
    }

    if args.json {
        let out = JsonOutput {
            report: EvalReport {
                run: &run,
                ece_bins: lacquer_eval::ECE_BINS,
                models: &results,
            },
            model_files: files,
            files_written: written,
            warnings,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(&run, &results)?;
        if let Some(dir) = &args.out_dir {
            println!("\nwrote {} files to {}", written.len(), dir.display());
        }
    }
    Ok(())
}

/// Card versions, unless two models share one: then the file stems (and a
/// counter if those collide too), so tables and file names stay distinct.
fn distinct_names(models: &[OnnxClassifier], paths: &[PathBuf]) -> Vec<String> {
    let versions: Vec<String> = models.iter().map(|m| m.version().to_string()).collect();
    let mut names: Vec<String> = versions
        .iter()
        .zip(paths)
        .map(|(v, p)| {
            if versions.iter().filter(|w| *w == v).count() > 1 {
                p.file_stem()
                    .map_or_else(|| v.clone(), |s| s.to_string_lossy().into_owned())
            } else {
                v.clone()
            }
        })
        .collect();
    for i in 0..names.len() {
        let earlier = names[..i].iter().filter(|n| **n == names[i]).count();
        if earlier > 0 {
            names[i] = format!("{}#{}", names[i], earlier + 1);
        }
    }
    names
}

fn unknown_label_warnings(
    models: &[Box<dyn Classifier>],
    clips: &[lacquer_eval::ResolvedClip],
) -> Vec<String> {
    let mut genres: Vec<&str> = clips.iter().map(|c| c.genre.as_str()).collect();
    genres.sort_unstable();
    let mut warnings = Vec::new();
    for m in models {
        let mut unknown: Vec<(&str, usize)> = Vec::new();
        for g in &genres {
            if m.labels().iter().any(|l| l == g) {
                continue;
            }
            match unknown.last_mut() {
                Some((last, n)) if last == g => *n += 1,
                _ => unknown.push((g, 1)),
            }
        }
        if !unknown.is_empty() {
            let listing: Vec<String> = unknown
                .iter()
                .map(|(g, n)| format!("{g} ({n} clips)"))
                .collect();
            warnings.push(format!(
                "model {} does not know the genre(s) {}; those clips count as errors",
                m.name(),
                listing.join(", ")
            ));
        }
    }
    warnings
}

fn print_tables(run: &RunInfo, results: &[ModelResult]) -> Result<()> {
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    println!(
        "{} clips (split {}) of {}, models: {}\n",
        run.clips,
        run.split,
        run.manifest.display(),
        names.join(", ")
    );
    println!(
        "Summary (ECE over {} bins; latency per clip)",
        lacquer_eval::ECE_BINS
    );
    println!("{}", tables::summary(results, Precision::Display)?);
    if results.len() > 1 {
        println!("\nF1 per genre, side by side");
        println!("{}", tables::f1_comparison(results, Precision::Display)?);
    }
    for r in results {
        println!("\n{}: per genre", r.name);
        println!("{}", tables::per_label(r, Precision::Display)?);
        println!(
            "{}: confusion matrix (rows = truth, columns = prediction)",
            r.name
        );
        println!("{}", tables::confusion(r)?);
    }
    truncation_note(results);
    Ok(())
}

/// Polars shows at most 10 rows and 8 columns of a table; say where the rest is.
fn truncation_note(results: &[ModelResult]) {
    const POLARS_ROWS: usize = 10;
    const POLARS_COLUMNS: usize = 8;
    let widest = results
        .iter()
        .map(|r| r.metrics.confusion.labels.len())
        .max()
        .unwrap_or(0);
    if widest > POLARS_ROWS || widest + 1 > POLARS_COLUMNS {
        println!(
            "\n(large tables are shortened on screen; --out-dir writes them in full, or use --json)"
        );
    }
}
