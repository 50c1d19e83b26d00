//! `lacquer analyze`: measure files and print what a mastering engineer looks
//! at first.
//!
//! Every file is measured on its own; one bad file does not stop the others,
//! but it does decide the exit status, so a script can trust `$?`.
//!
//! The analysis reads the audio twice (loudness and peaks first, then
//! everything gated on them), from a spool (see `spooled`): memory does not
//! grow with the file, and the length limit is `lacquer master`'s.

use crate::exit::{Code, error_chain};
use crate::spooled::decode_to_spool;
use anyhow::Result;
use clap::Args;
use lacquer_analysis::analyze_in_two_walks;
use lacquer_core::analysis::{Analysis, AnalysisWarning, SixBands};
use lacquer_core::{Db, Lufs};
use lacquer_engine::pipeline::MAX_INPUT_SECONDS;
use lacquer_io::{DecodeOptions, Spool};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Audio files to measure (WAV, AIFF, FLAC, MP3, OGG Vorbis, M4A/AAC).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Print one JSON array (an entry per file) instead of tables.
    #[arg(long)]
    json: bool,

    /// Refuse inputs longer than this many seconds (memory does not grow
    /// with length: long files are measured from a temporary file).
    #[arg(long, value_name = "SECONDS", default_value_t = MAX_INPUT_SECONDS)]
    max_duration: f64,
}

/// What `--json` prints per file.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Measured {
        file: PathBuf,
        source: SourceSummary,
        analysis: Box<Analysis>,
        warnings: Vec<WarningEntry>,
    },
    Failed {
        file: PathBuf,
        error: ErrorEntry,
    },
}

#[derive(Debug, Serialize)]
struct SourceSummary {
    container: String,
    codec: String,
    sample_rate_hz: u32,
    channels: usize,
    bits_per_sample: Option<u32>,
    frames: u64,
    duration_seconds: f64,
}

#[derive(Debug, Serialize)]
struct WarningEntry {
    #[serde(flatten)]
    warning: AnalysisWarning,
    message: String,
}

#[derive(Debug, Serialize)]
struct ErrorEntry {
    /// `invalid_input` (exit 2) or `failure` (exit 1).
    kind: &'static str,
    message: String,
}

pub fn run(args: &AnalyzeArgs) -> Result<Code> {
    let options = crate::spooled::decode_options(args.max_duration)?;
    let mut status = Code::Success;
    let mut entries = Vec::with_capacity(args.files.len());
    for (index, file) in args.files.iter().enumerate() {
        let entry = measure(file, &options);
        if let Entry::Failed { error, .. } = &entry {
            eprintln!("error: {}", error.message);
            let code = if error.kind == "invalid_input" {
                Code::InvalidInput
            } else {
                Code::Failure
            };
            status = status.max(code);
        } else if !args.json {
            if index > 0 {
                println!();
            }
            print!("{}", render_table(&entry));
        }
        entries.push(entry);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    }
    Ok(status)
}

fn measure(file: &Path, options: &DecodeOptions) -> Entry {
    let failed = |kind, message: String| Entry::Failed {
        file: file.to_path_buf(),
        error: ErrorEntry { kind, message },
    };
    let (spool, source) = match decode_to_spool(file, options) {
        Ok(decoded) => decoded,
        Err(e) => {
            let kind = if e.is_invalid_input() {
                "invalid_input"
            } else {
                "failure"
            };
            return failed(kind, error_chain(&e));
        }
    };
    // The decoder hands out stereo; a mono source is measured as what it
    // is (one channel), so it is not reported as "mono in a stereo file".
    let channels = if source.channels == 1 { 1 } else { 2 };
    let analysis = match analyse(&spool, channels) {
        Ok(a) => a,
        // The decoder already validated the samples, so this is our bug or
        // a limit we did not foresee, not the user's file.
        Err(e) => {
            return failed(
                "failure",
                format!("{}: analysis failed: {e:#}", file.display()),
            );
        }
    };
    let warnings = analysis
        .warnings()
        .into_iter()
        .map(|warning| WarningEntry {
            message: warning.message(),
            warning,
        })
        .collect();
    let s = &source;
    Entry::Measured {
        file: file.to_path_buf(),
        source: SourceSummary {
            container: s.container.clone(),
            codec: s.codec.clone(),
            sample_rate_hz: s.sample_rate,
            channels: s.channels,
            bits_per_sample: s.bits_per_sample,
            frames: s.frames,
            duration_seconds: s.duration_seconds,
        },
        analysis: Box::new(analysis),
        warnings,
    }
}

/// The two streamed analysis passes over the first `channels` channels of
/// `spool` (the same result as analysing the whole buffer at once).
fn analyse(spool: &Spool, channels: usize) -> Result<Analysis> {
    analyze_in_two_walks(spool.sample_rate(), channels, anyhow::Error::from, |sink| {
        spool.for_each_piece(|piece| sink(&piece[..channels]).map_err(anyhow::Error::from))
    })
}

fn render_table(entry: &Entry) -> String {
    let Entry::Measured {
        file,
        source,
        analysis: a,
        warnings,
    } = entry
    else {
        return String::new();
    };
    let mut out = String::new();
    let mut row = |label: &str, text: String| {
        let _ = writeln!(out, "  {label:<10}  {text}");
    };
    let depth = source
        .bits_per_sample
        .map(|b| format!(", {b}-bit"))
        .unwrap_or_default();
    let layout = match source.channels {
        1 => "mono",
        2 => "stereo",
        _ => "multichannel",
    };
    let format = if source.container == source.codec {
        source.codec.clone()
    } else {
        format!("{} in {}", source.codec, source.container)
    };
    let header = format!(
        "{}\n  {:<10}  {format}, {:.1} kHz{depth}, {layout}, {:.2} s",
        file.display(),
        "source",
        f64::from(source.sample_rate_hz) / 1000.0,
        source.duration_seconds,
    );
    let l = &a.loudness;
    row(
        "loudness",
        format!(
            "integrated {}   short-term max {}   momentary max {}   range {}",
            lufs(l.integrated_lufs),
            lufs(l.short_term_max_lufs),
            lufs(l.momentary_max_lufs),
            lu(l.loudness_range_lu),
        ),
    );
    let per_channel = if l.true_peak_dbtp.len() == 2 {
        format!(
            " (L {}, R {})",
            db_bare(l.true_peak_dbtp[0]),
            db_bare(l.true_peak_dbtp[1])
        )
    } else {
        String::new()
    };
    row(
        "peaks",
        format!(
            "true peak {} dBTP{per_channel}   sample peak {} dBFS   crest {}   PLR {}",
            db_bare(l.max_true_peak_dbtp),
            db_bare(l.max_sample_peak_dbfs),
            db(l.crest_factor_db),
            db(l.plr_db),
        ),
    );
    match &a.tonal {
        Some(t) => row(
            "tonal",
            format!(
                "{}   (dB re total, mid channel)",
                bands(&t.bands_db, |v| format!("{:.1}", v.0))
            ),
        ),
        None => row(
            "tonal",
            "no part of the track is above the loudness gate".into(),
        ),
    }
    let d = &a.dynamics;
    row(
        "dynamics",
        format!(
            "short-term p10 {} / p50 {} / p95 {}   transients {:.1}/s, rise {}   low-end modulation {}",
            lufs_bare(d.short_term_p10_lufs),
            lufs_bare(d.short_term_p50_lufs),
            lufs_bare(d.short_term_p95_lufs),
            d.transient_density_per_second,
            db(d.transient_sharpness_db),
            db(d.low_end_modulation_db),
        ),
    );
    let s = &a.stereo;
    row(
        "stereo",
        format!(
            "correlation {} (below 150 Hz {})   mid/side {}   mono-sum loss {}{}",
            ratio(s.correlation),
            ratio(s.correlation_below_150hz),
            db(s.mid_side_ratio_db),
            db(s.mono_sum_loss_db),
            if s.phase_issue { "   PHASE ISSUE" } else { "" },
        ),
    );
    if let Some(w) = &s.width_per_band {
        row(
            "width",
            format!(
                "{}   (side share of energy)",
                bands(w, |v| format!("{v:.2}"))
            ),
        );
    }
    let h = &a.health;
    let dc = h
        .dc_offset
        .iter()
        .map(|v| {
            let level = Db::from_amplitude(*v);
            if level.0.is_finite() {
                format!("{:.0}", level.0)
            } else {
                "-inf".to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" / ");
    row(
        "health",
        format!(
            "clipped runs {}   DC {dc} dBFS   silence {:.0} %   headroom {}{}",
            h.clipped_runs,
            h.silence_share * 100.0,
            db(h.headroom_db),
            if h.mono_in_stereo {
                "   mono in stereo"
            } else {
                ""
            },
        ),
    );
    if warnings.is_empty() {
        row("warnings", "none".into());
    } else {
        for (i, w) in warnings.iter().enumerate() {
            row(if i == 0 { "warnings" } else { "" }, w.message.clone());
        }
    }
    format!("{header}\n{out}")
}

fn bands<T: Copy>(b: &SixBands<T>, show: impl Fn(T) -> String) -> String {
    const NAMES: [&str; 6] = ["sub", "bass", "low-mid", "mid", "presence", "air"];
    NAMES
        .iter()
        .zip(b.to_array())
        .map(|(name, v)| format!("{name} {}", show(v)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn lufs(v: Option<Lufs>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1}"))
}

fn lufs_bare(v: Option<Lufs>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}", v.0))
}

fn lu(v: Option<Db>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1} LU", v.0))
}

fn db(v: Option<Db>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1}"))
}

fn db_bare(v: Option<Db>) -> String {
    v.map_or_else(|| "-inf".into(), |v| format!("{:.1}", v.0))
}

fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}
