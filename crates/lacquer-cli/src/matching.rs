//! `lacquer match`: how far a mix is from a reference track or a genre
//! profile, in the numbers the planner will act on (target − mix).
//!
//! Nothing is written and the inputs are never modified; this is the
//! "what would mastering change" view before running it.

use crate::exit::Code;
use crate::profile::{load_store, report};
use anyhow::Result;
use clap::{ArgGroup, Args};
use lacquer_core::analysis::SixBands;
use lacquer_core::{Db, Deltas, TargetRange};
use lacquer_engine::pipeline::MAX_INPUT_SECONDS;
use lacquer_reference::{deltas_vs_profile, deltas_vs_reference, measure_file_with};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("target").required(true).args(["reference", "genre"])),
    after_help = "Signs are target − mix: +2.0 dB at 3150 Hz means the mix needs 2 dB more there; \
                  a loudness delta of -6.0 LU means it is 6 LU louder than the reference. \
                  Tonal curves are compared after loudness normalisation, MID and SIDE apart, \
                  per 1/3 octave against a reference and smoothed over neighbouring thirds \
                  (1/4, 1/2, 1/4) against a profile; bands one side cannot represent read 0. \
                  Against a profile, dynamics and width read the distance outside its range \
                  (0 inside).\n\n\
                  Examples:\n  lacquer match mix.wav --reference ref.flac\n  \
                  lacquer match mix.wav --genre electronic --json\n  \
                  lacquer match mix.wav --genre hip_hop --profiles-dir ~/my-profiles"
)]
pub struct MatchArgs {
    /// The mix to measure.
    #[arg(value_name = "MIX")]
    mix: PathBuf,

    /// Compare with this reference track (any supported format, rate and length).
    #[arg(long, value_name = "REF")]
    reference: Option<PathBuf>,

    /// Compare with this genre profile (see `lacquer profile list`).
    #[arg(long, value_name = "NAME")]
    genre: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// User profile directory [default: $LACQUER_PROFILES_DIR, else ${XDG_CONFIG_HOME:-~/.config}/lacquer/profiles].
    #[arg(long, value_name = "DIR")]
    profiles_dir: Option<PathBuf>,

    /// Refuse inputs longer than this many seconds (memory does not grow
    /// with length: long files are measured from a temporary file).
    #[arg(long, value_name = "SECONDS", default_value_t = MAX_INPUT_SECONDS)]
    max_duration: f64,
}

#[derive(Debug, Serialize)]
struct Output {
    mix: PathBuf,
    /// "reference FILE" or "profile NAME (origin)".
    compared_with: String,
    deltas: Deltas,
}

/// The profile's ranges, for the table.
struct Ranges {
    crest: TargetRange,
    plr: TargetRange,
    lra: TargetRange,
    width: TargetRange,
    low_end_correlation_min: f64,
}

pub fn run(args: &MatchArgs) -> Result<Code> {
    let options = crate::spooled::decode_options(args.max_duration)?;
    let mix = match measure_file_with(&args.mix, &options) {
        Ok(a) => a,
        Err(e) => return Ok(report(&e)),
    };
    let (deltas, compared_with, ranges) = if let Some(reference) = &args.reference {
        let measured = match measure_file_with(reference, &options) {
            Ok(a) => a,
            Err(e) => return Ok(report(&e)),
        };
        let label = reference.display().to_string();
        (
            deltas_vs_reference(&mix, &measured, &label),
            format!("reference {label}"),
            None,
        )
    } else {
        let name = args.genre.as_deref().unwrap_or_default();
        let store = match load_store(args.profiles_dir.as_deref()) {
            Ok(s) => s,
            Err(e) => return Ok(report(&e)),
        };
        let Some(entry) = store.entry(name) else {
            eprintln!(
                "error: no genre profile named {name:?}; known: {} (build one with `lacquer profile build --from DIR --name {name}`)",
                store.names().join(", ")
            );
            return Ok(Code::InvalidInput);
        };
        let p = &entry.profile;
        let ranges = Ranges {
            crest: p.dynamics.crest_db,
            plr: p.dynamics.plr_db,
            lra: p.dynamics.lra_lu,
            width: p.stereo.width,
            low_end_correlation_min: p.stereo.low_end_correlation_min,
        };
        (
            deltas_vs_profile(&mix, p, &[]),
            format!("profile {} ({})", p.name, entry.origin),
            Some(ranges),
        )
    };
    let output = Output {
        mix: args.mix.clone(),
        compared_with,
        deltas,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        print!("{}", render(&output, ranges.as_ref()));
    }
    Ok(Code::Success)
}

fn render(out: &Output, ranges: Option<&Ranges>) -> String {
    let d = &out.deltas;
    let mut text = format!(
        "{} vs {}\n  (target − mix: positive means the mix needs more)\n",
        out.mix.display(),
        out.compared_with
    );
    let mut row = |label: &str, value: String| {
        let _ = writeln!(text, "  {label:<14}  {value}");
    };
    let within = |r: Option<TargetRange>, unit: &str| {
        r.map(|r| format!("   (range {:.1}–{:.1}{unit})", r.low, r.high))
            .unwrap_or_default()
    };
    row(
        "loudness",
        d.loudness_lu.map_or_else(
            || "n/a (the platform or --target-lufs sets the level)".into(),
            |v| format!("{:+.1} LU", v.0),
        ),
    );
    row(
        "crest factor",
        format!(
            "{}{}",
            signed_db(d.crest_db),
            within(ranges.map(|r| r.crest), " dB")
        ),
    );
    row(
        "PLR",
        format!(
            "{}{}",
            signed_db(d.plr_db),
            within(ranges.map(|r| r.plr), " dB")
        ),
    );
    row(
        "loudness range",
        format!(
            "{}{}",
            signed_lu(d.lra_lu),
            within(ranges.map(|r| r.lra), " LU")
        ),
    );
    row(
        "width",
        format!(
            "{}{}",
            signed(d.width, 3),
            ranges
                .map(|r| format!("   (side share {:.2}–{:.2})", r.width.low, r.width.high))
                .unwrap_or_default()
        ),
    );
    row(
        "low-end corr.",
        format!(
            "{}{}",
            signed(d.low_end_correlation, 2),
            ranges
                .map(|r| format!(
                    "   (at least {:.2} below 150 Hz)",
                    r.low_end_correlation_min
                ))
                .unwrap_or_default()
        ),
    );
    let Some(t) = &d.tonal else {
        row(
            "tonal",
            "n/a (no part of one side is above the loudness gate)".into(),
        );
        return text;
    };
    row(
        "tonal",
        format!(
            "mean |Δ| {:.2} dB over 40 Hz–16 kHz (MID, unsmoothed)",
            t.mean_abs_db.0
        ),
    );
    row("bands (MID)", six_bands(&t.bands_db));
    let _ = writeln!(text, "  {:>8}  {:>7}  {:>7}", "Hz", "MID dB", "SIDE dB");
    for ((c, m), s) in t
        .third_octave_centres_hz
        .iter()
        .zip(&t.mid_db)
        .zip(&t.side_db)
    {
        let _ = writeln!(text, "  {:>8}  {:>+7.1}  {:>+7.1}", c.0, m.0, s.0);
    }
    text
}

fn six_bands(b: &SixBands<Db>) -> String {
    const NAMES: [&str; 6] = ["sub", "bass", "low-mid", "mid", "presence", "air"];
    NAMES
        .iter()
        .zip(b.to_array())
        .map(|(name, v)| format!("{name} {:+.1}", v.0))
        .collect::<Vec<_>>()
        .join("  ")
}

fn signed_db(v: Option<Db>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:+.1} dB", v.0))
}

fn signed_lu(v: Option<Db>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:+.1} LU", v.0))
}

fn signed(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:+.decimals$}"))
}
