//! `lacquer master`: master files, write each master beside its input with
//! a report, and exit non-zero when a file is bad or a master fails its
//! quality gate.
//!
//! Files are independent, so several inputs run in parallel (`--jobs`);
//! inside a file, independent meters and the loudness model share a pool of
//! `--threads` workers. A file's bytes do not depend on either number. A
//! `--reference` track is measured on a thread of its own while the files
//! decode, and each file waits for it only when it comes to planning.
//! Every output path is worked out and checked (never an input, never an
//! existing file without `--force`, never two inputs onto one output)
//! before any processing starts.

use crate::exit::Code;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lacquer_core::{GenreChoice, Intent, PlanOptions};
use lacquer_engine::pipeline::{
    Engine, EngineConfig, MAX_INPUT_SECONDS, MasterJob, ReferenceTrack, SharedReference,
};
use lacquer_engine::report::Device;
use lacquer_engine::{EngineError, ExportOptions, MasterReport, Status};
use lacquer_io::{FlacDepth, OutputFormat, Overwrite, WavEncoding};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Extensions picked up when a folder is given.
const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "wave", "aif", "aiff", "flac", "mp3", "ogg", "m4a", "aac",
];

/// The mastering intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Platform loudness target with the genre's tone and dynamics.
    Streaming,
    /// Dense and loud, punch kept (no normalisation target).
    Loud,
    /// Match the --reference track's tone (MID and SIDE curves), dynamics
    /// and loudness.
    Reference,
}

/// The knobs `lacquer master` and `lacquer plan` share.
#[derive(Debug, Args)]
pub struct Knobs {
    /// Reference track to match (implies --preset reference).
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,

    /// What the master is for.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,

    /// Delivery platform: sets the loudness target and true-peak ceiling
    /// (spotify, apple_music, youtube, amazon_music, tidal, deezer,
    /// soundcloud, ebu_r128, atsc_a85, cd).
    #[arg(long, default_value = "spotify", value_name = "ID")]
    pub platform: String,

    /// Genre profile to steer toward: `auto` (the classifier decides) or a
    /// profile name.
    #[arg(long, default_value = "auto", value_name = "auto|NAME")]
    pub genre: String,

    /// How far tonal and dynamic moves go toward the target, 0–100 %.
    #[arg(long, default_value_t = PlanOptions::default().intensity_percent, value_name = "PERCENT")]
    pub intensity: f64,

    /// Stereo width, percent (100 = unchanged).
    #[arg(long, value_name = "PERCENT")]
    pub width: Option<f64>,

    /// Integrated loudness target, LUFS (overrides the platform's).
    #[arg(long, value_name = "LUFS", allow_negative_numbers = true)]
    pub target_lufs: Option<f64>,

    /// True-peak ceiling, dBTP (overrides the platform's).
    #[arg(long, value_name = "DBTP", allow_negative_numbers = true)]
    pub true_peak: Option<f64>,

    /// Keep the polarity as it is. By default a channel that is upside down
    /// (left and right correlated at -0.5 or below, in the lows as well) is
    /// flipped back before anything else; use this for a mix that is
    /// anti-phase on purpose.
    #[arg(long)]
    pub keep_polarity: bool,

    /// Extra genre profiles (*.toml) on top of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,

    /// Genre model (.onnx with its .card.json beside it) instead of the
    /// built-in one.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,

    /// Refuse inputs longer than this many seconds. Long inputs are worked
    /// on from temporary files (in TMPDIR), so memory stays bounded; the
    /// default is what a 24-bit stereo WAV master can hold at 48 kHz.
    #[arg(long, value_name = "SECONDS", default_value_t = MAX_INPUT_SECONDS)]
    pub max_duration: f64,
}

impl Knobs {
    pub fn plan_options(&self) -> Result<PlanOptions> {
        let intent = match (self.preset, &self.reference) {
            (None | Some(Preset::Reference), Some(_)) => Intent::Reference,
            (Some(Preset::Reference), None) => {
                bail!("--preset reference needs a reference track: add --reference FILE")
            }
            (Some(_), Some(_)) => {
                bail!("--reference goes with --preset reference (or no --preset)")
            }
            (None | Some(Preset::Streaming), None) => Intent::Streaming,
            (Some(Preset::Loud), None) => Intent::Loud,
        };
        if !(0.0..=100.0).contains(&self.intensity) {
            bail!(
                "--intensity must be between 0 and 100 (got {})",
                self.intensity
            );
        }
        crate::spooled::decode_options(self.max_duration)?;
        let genre = if self.genre.eq_ignore_ascii_case("auto") {
            GenreChoice::Auto
        } else {
            GenreChoice::Named(self.genre.clone())
        };
        Ok(PlanOptions {
            intent,
            intensity_percent: self.intensity,
            width_percent: self.width,
            target_lufs: self.target_lufs,
            true_peak_dbtp: self.true_peak,
            platform: self.platform.clone(),
            genre,
            fix_polarity: !self.keep_polarity,
        })
    }

    /// The engine for these knobs (the model is loaded only when the genre
    /// will be classified).
    pub fn engine(&self, options: &PlanOptions) -> Result<Engine> {
        let config = EngineConfig {
            profiles_dir: self.profiles_dir.clone(),
            model_path: self.model.clone(),
            load_model: options.intent != Intent::Reference && options.genre == GenreChoice::Auto,
            decode: crate::spooled::decode_options(self.max_duration)?,
            spill_frames: None,
        };
        let engine = Engine::new(&config)?;
        engine.check_options(options)?;
        Ok(engine)
    }

    pub fn reference_track(&self, engine: &Engine) -> Result<Option<ReferenceTrack>, EngineError> {
        self.reference
            .as_deref()
            .map(|p| engine.load_reference(p))
            .transpose()
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    lacquer master mix.wav                          # genre auto, Spotify (-14 LUFS, -1 dBTP) -> mix.master.wav\n  \
    lacquer master mix.wav --reference ref.flac     # match a reference track's tone, dynamics and loudness\n  \
    lacquer master mix.wav --platform apple_music --format flac --bit-depth 16 --report mix.json\n  \
    lacquer master album/ -o masters/ --jobs 4      # every audio file in album/, in parallel\n  \
    lacquer master mix.wav --preset loud --genre electronic --format mp3\n\n\
Each master is checked by a quality gate (loudness within 0.1 LU of the target, true peak \
under the ceiling, clipping, phase, low-end mono, tonal balance, dynamics, ...). A master \
that fails is still written, the report says why, and the exit status is 1 unless \
--allow-gate-fail. Exit status 2 means an input file was invalid. Inputs are never modified \
and existing files are never replaced without --force.")]
pub struct MasterArgs {
    /// Audio files or folders to master (WAV, AIFF, FLAC, MP3, OGG Vorbis,
    /// M4A/AAC). A folder contributes the audio files directly inside it.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,

    /// Output file (one input) or existing folder (any number of inputs).
    /// Default: beside each input, named <stem><suffix>.<ext>.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,

    #[command(flatten)]
    knobs: Knobs,

    /// Output format: wav, flac, mp3, or an exact name (wav16, wav24,
    /// wav32f, flac16, flac24, mp3-320, mp3-v0).
    #[arg(long, default_value = "wav", value_name = "FORMAT")]
    format: String,

    /// Delivery sample rate (44100 or 48000). Default: the input's when it
    /// is one of those, otherwise the nearest family.
    #[arg(long, value_name = "HZ")]
    sample_rate: Option<u32>,

    /// Word length for WAV (16, 24, 32 = float) or FLAC (16, 24).
    #[arg(long, value_name = "BITS")]
    bit_depth: Option<u32>,

    /// Write the JSON report here (one input) or into this existing folder
    /// as <stem><suffix>.json (several inputs). A PNG chart goes beside it.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,

    /// Write the PNG chart here (one input only).
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,

    /// Print the reports as one JSON array on stdout (no progress bar).
    #[arg(long)]
    json: bool,

    /// Exit 0 even when a master fails the quality gate (it is written
    /// either way).
    #[arg(long)]
    allow_gate_fail: bool,

    /// Replace existing output files.
    #[arg(long)]
    force: bool,

    /// Inserted before the extension of default output names.
    #[arg(long, default_value = ".master", value_name = "TEXT")]
    suffix: String,

    /// Files mastered in parallel (default: available cores, at most the
    /// number of files).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,

    /// Worker threads shared by the files' own parallel work (meters side
    /// by side, the loudness model beside the chain). Default: available
    /// cores. The output does not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Also take audio files from sub-folders of a folder input.
    #[arg(long)]
    recursive: bool,
}

/// The output format from `--format` and `--bit-depth`.
pub fn output_format(format: &str, bit_depth: Option<u32>) -> Result<OutputFormat> {
    let family = format.trim().to_ascii_lowercase();
    let exact: OutputFormat = family
        .parse()
        .with_context(|| format!("--format {format}"))?;
    let Some(bits) = bit_depth else {
        return Ok(exact);
    };
    let is_family = matches!(family.as_str(), "wav" | "flac" | "mp3");
    let chosen = match (exact, bits) {
        (OutputFormat::Wav(_), 16) => OutputFormat::Wav(WavEncoding::Pcm16),
        (OutputFormat::Wav(_), 24) => OutputFormat::Wav(WavEncoding::Pcm24),
        (OutputFormat::Wav(_), 32) => OutputFormat::Wav(WavEncoding::Float32),
        (OutputFormat::Flac(_), 16) => OutputFormat::Flac(FlacDepth::Bits16),
        (OutputFormat::Flac(_), 24) => OutputFormat::Flac(FlacDepth::Bits24),
        (OutputFormat::Mp3(_), _) => bail!("--bit-depth does not apply to MP3"),
        (f, b) => bail!("--bit-depth {b} is not available for {}", f.extension()),
    };
    if !is_family && chosen != exact {
        bail!("--format {format} and --bit-depth {bits} disagree");
    }
    Ok(chosen)
}

/// The audio files an input stands for (itself, or a folder's contents
/// sorted by name).
fn expand_inputs(inputs: &[PathBuf], recursive: bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            collect_audio(input, recursive, &mut found)?;
            if found.is_empty() {
                bail!("{}: no audio files in this folder", input.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn collect_audio(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .path();
        if path.is_dir() {
            if recursive {
                collect_audio(&path, recursive, out)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Where one input's files go.
#[derive(Debug, Clone)]
struct Destinations {
    input: PathBuf,
    output: PathBuf,
    report: Option<PathBuf>,
    png: Option<PathBuf>,
}

fn named(dir: &Path, input: &Path, suffix: &str, ext: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "master".into(), |s| s.to_string_lossy().into_owned());
    dir.join(format!("{stem}{suffix}.{ext}"))
}

fn parent_of(input: &Path) -> PathBuf {
    match input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn destinations(args: &MasterArgs, files: &[PathBuf], ext: &str) -> Result<Vec<Destinations>> {
    let many = files.len() > 1;
    if args.suffix.is_empty() && args.output.is_none() {
        bail!(
            "--suffix may not be empty when outputs go beside the inputs (it would name the input)"
        );
    }
    if many {
        if let Some(o) = &args.output
            && !o.is_dir()
        {
            bail!(
                "{}: with several inputs, -o must be an existing folder",
                o.display()
            );
        }
        if let Some(r) = &args.report
            && !r.is_dir()
        {
            bail!(
                "{}: with several inputs, --report must be an existing folder",
                r.display()
            );
        }
        if args.png.is_some() {
            bail!("--png takes one input; with several, --report FOLDER writes a chart per file");
        }
    }
    let mut out = Vec::with_capacity(files.len());
    for input in files {
        let output = match &args.output {
            Some(o) if o.is_dir() => named(o, input, &args.suffix, ext),
            Some(o) => o.clone(),
            None => named(&parent_of(input), input, &args.suffix, ext),
        };
        let report = match &args.report {
            Some(r) if r.is_dir() => Some(named(r, input, &args.suffix, "json")),
            Some(r) => Some(r.clone()),
            None => None,
        };
        let png = match (&args.png, &report) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(r)) => Some(r.with_extension("png")),
            (None, None) => None,
        };
        out.push(Destinations {
            input: input.clone(),
            output,
            report,
            png,
        });
    }
    // No two jobs may write the same path, and nothing may be written over
    // any input.
    let mut seen: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    for d in &out {
        for p in std::iter::once(&d.output).chain(&d.report).chain(&d.png) {
            for input in files {
                lacquer_io::ensure_output_is_not_input(input, p)?;
            }
            let key = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            if let Some(other) = seen.insert(key, &d.input) {
                bail!(
                    "{} and {} would both write {}; use -o FOLDER or --suffix to keep them apart",
                    other.display(),
                    d.input.display(),
                    p.display()
                );
            }
            if !args.force && p.exists() {
                bail!(
                    "{}: already exists (use --force to replace it)",
                    p.display()
                );
            }
        }
    }
    Ok(out)
}

/// One file's entry in `--json` output.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Mastered(Box<MasterReport>),
    Failed { file: PathBuf, error: ErrorEntry },
}

#[derive(Debug, Serialize)]
struct ErrorEntry {
    /// `invalid_input` (exit 2) or `failure` (exit 1).
    kind: &'static str,
    message: String,
}

pub fn run(args: &MasterArgs) -> Result<Code> {
    let options = args.knobs.plan_options()?;
    let format = output_format(&args.format, args.bit_depth)?;
    if let Some(rate) = args.sample_rate {
        lacquer_engine::delivery_rate_hz(44_100, Some(rate))?;
    }
    let files = expand_inputs(&args.inputs, args.recursive)?;
    let plan = destinations(args, &files, format.extension())?;
    let engine = args.knobs.engine(&options)?;
    let reference = args.knobs.reference.as_deref().map(SharedReference::new);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores).clamp(1, plan.len().max(1));
    let threads = args.threads.unwrap_or(cores).max(1);
    // Two pools: `jobs` threads each take a file, and hand the file's own
    // parallel work to the shared pool of `threads` (one pool for both
    // would let a single file use only the thread it runs on).
    let pool_of = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start worker threads")
    };
    let pool = pool_of(jobs)?;
    let workers = pool_of(threads)?;
    // The reference is measured beside the files' own decoding, with a
    // pool of its own (see `SharedReference`).
    let reference_workers = reference.as_ref().map(|_| pool_of(threads)).transpose()?;
    let bar = ProgressBar::new(plan.len() as u64);
    if args.json || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} mastered  {elapsed}  {msg}")
    {
        bar.set_style(style);
    }
    let export = ExportOptions {
        format,
        sample_rate_hz: args.sample_rate,
    };
    let overwrite = if args.force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    let results: Vec<(
        &Destinations,
        Result<lacquer_engine::pipeline::MasterOutcome, EngineError>,
    )> = std::thread::scope(|scope| {
        if let (Some(reference), Some(reference_workers)) = (&reference, &reference_workers) {
            scope.spawn(|| reference_workers.install(|| reference.measure(&engine)));
        }
        pool.install(|| {
            plan.par_iter()
                .map(|d| {
                    let job = MasterJob {
                        input: &d.input,
                        output: &d.output,
                        reference: reference.as_ref(),
                        options: &options,
                        export,
                        overwrite,
                        report_path: d.report.as_deref(),
                        png_path: d.png.as_deref(),
                        device: Device {
                            kind: "cpu".into(),
                            jobs,
                            threads,
                        },
                    };
                    let result = workers.install(|| engine.master_file(&job));
                    bar.inc(1);
                    if let Some(name) = d.input.file_name() {
                        bar.set_message(name.to_string_lossy().into_owned());
                    }
                    (d, result)
                })
                .collect()
        })
    });
    bar.finish_and_clear();
    // A reference that cannot be measured fails every file the same way:
    // say why once.
    if let Some(e) = reference.as_ref().and_then(SharedReference::failure) {
        eprintln!("error: {}", chain(e));
        return Ok(if e.is_invalid_input() {
            Code::InvalidInput
        } else {
            Code::Failure
        });
    }

    let mut status = Code::Success;
    let mut entries = Vec::with_capacity(results.len());
    for (d, result) in results {
        match result {
            Ok(outcome) => {
                let report = outcome.report;
                if !report.gate.passed && !args.allow_gate_fail {
                    status = status.max(Code::Failure);
                }
                if !report.gate.passed {
                    eprintln!(
                        "error: {}: quality gate failed: {} (the master was written to {}{})",
                        d.input.display(),
                        report.gate.failure_summary(),
                        d.output.display(),
                        if args.allow_gate_fail {
                            "; --allow-gate-fail keeps the exit status 0"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(note) = outcome.chart_note {
                    eprintln!("note: chart drawn without text: {note}");
                }
                if !args.json {
                    print!("{}", render_summary(d, &report));
                }
                entries.push(Entry::Mastered(Box::new(report)));
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
                    file: d.input.clone(),
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

/// "outer: inner: innermost".
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

fn render_summary(d: &Destinations, report: &MasterReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let o = &report.output_analysis.loudness;
    let lufs = o
        .integrated_lufs
        .map_or("n/a".into(), |l| format!("{:.1} LUFS", l.0));
    let tp = o
        .max_true_peak_dbtp
        .map_or("-inf".into(), |p| format!("{:.1} dBTP", p.0));
    let _ = writeln!(out, "{} → {}", d.input.display(), d.output.display());
    let genre = match (&report.genre, report.plan.profile_blend.as_slice()) {
        (_, []) => "reference".to_owned(),
        (_, blend) => blend
            .iter()
            .map(|(n, w)| format!("{n} {:.0} %", w * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let _ = writeln!(
        out,
        "  {:<9} {lufs} (target {:.1}), {tp} (ceiling {:.1}), {} loop pass(es), {}",
        "result",
        report.plan.target.integrated_lufs.0,
        report.plan.target.ceiling_dbtp.0,
        report.loudness_loop.passes.len(),
        report.output.format,
    );
    let _ = writeln!(out, "  {:<9} {genre}", "target");
    let fails = report.gate.failures().count();
    let warns = report.gate.warnings().count();
    let _ = writeln!(
        out,
        "  {:<9} {} ({} checks, {fails} failed, {warns} warning(s))",
        "gate",
        if report.gate.passed {
            "passed"
        } else {
            "FAILED"
        },
        report.gate.checks.len()
    );
    for c in report
        .gate
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Warn | Status::Fail))
    {
        let _ = writeln!(
            out,
            "  {:<9} {} {}: {}",
            "",
            if c.status == Status::Fail {
                "FAIL"
            } else {
                "warn"
            },
            c.name,
            c.detail
        );
    }
    for w in &report.warnings {
        let _ = writeln!(out, "  {:<9} {}", "note", w.message);
    }
    out
}
