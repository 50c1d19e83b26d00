//! The quality gate: named checks a master must pass before it ships.
//!
//! Each check reports the measured value, the threshold it was held to and
//! pass / warn / fail. A check is `skipped` only when its measurement does
//! not exist (a silent channel has no correlation, a profile-free run has no
//! tonal target), and it says so. Any `fail` fails the gate. Thresholds are
//! named constants with where each comes from; "warn" marks what a
//! mastering engineer would listen to again, "fail" what should not ship.

use crate::loudness_loop::LOUDNESS_TOLERANCE_LU;
use crate::tonal::TonalCurve;
use lacquer_core::analysis::DC_OFFSET_WARN_DBFS;
use lacquer_core::{Analysis, Db, LoudnessTarget, TargetRange};
use serde::{Deserialize, Serialize};

/// Correlation below this warns: a master that leans out of phase
/// (correlation meters turn red below 0).
pub const CORRELATION_WARN_BELOW: f64 = 0.0;
/// Correlation below this fails: a large part of the programme cancels in
/// mono (common broadcast QC limit).
pub const CORRELATION_FAIL_BELOW: f64 = -0.3;
/// Correlation below 150 Hz a master should keep when the profile does not
/// say: vinyl cutting and club systems want the low end near mono.
pub const LOW_END_CORRELATION_DEFAULT_MIN: f64 = 0.5;
/// Below 0 the bass partly cancels when summed to mono.
pub const LOW_END_CORRELATION_FAIL_BELOW: f64 = 0.0;
/// A master whose tonal curve ends up this much further from the target
/// than the mix was (mean dB, 40 Hz–16 kHz) moved the wrong way: fail.
pub const SPECTRAL_WORSENING_FAIL_DB: f64 = 1.0;
/// Mean distance from the target above which the master, though not worse
/// than the mix, is still audibly off-balance (about the spread genre
/// masters show per band): warn.
pub const SPECTRAL_DISTANCE_WARN_DB: f64 = 3.0;
/// Slack around a profile's or reference's dynamics range before warning.
pub const DYNAMICS_RANGE_SLACK_DB: f64 = 1.0;
/// PLR below this fails: denser than the loudest commercial masters of the
/// loudness war (which measure 6–8 dB), audibly crushed.
pub const PLR_CRUSHED_DB: f64 = 5.0;
/// The master may not shrink the loudness range by more than this many LU:
/// mastering controls dynamics, it does not erase a song's sections.
pub const LRA_MAX_REDUCTION_LU: f64 = 6.0;
/// Share of loud 100 ms blocks with strongly negative correlation before a
/// warning (a few short out-of-phase effects are normal).
pub const NEGATIVE_CORRELATION_WARN_SHARE: f64 = 0.05;
/// Mono-sum loss above this warns: wider than uncorrelated (3 dB).
pub const MONO_LOSS_WARN_DB: f64 = 3.0;
/// Mono-sum loss above this fails: the mono fold-down loses most content.
pub const MONO_LOSS_FAIL_DB: f64 = 6.0;
/// A 1/3-octave band counts as present in the input when its level is at
/// most this far below the integrated loudness.
pub const BAND_PRESENT_WITHIN_DB: f64 = 50.0;
/// A present band that dropped (relative to loudness) by more than this
/// warns, by more than [`BAND_LOST_FAIL_DB`] fails: content was removed,
/// not balanced.
pub const BAND_DROP_WARN_DB: f64 = 6.0;
pub const BAND_LOST_FAIL_DB: f64 = 12.0;
/// Frequency-content window: below 40 Hz a rumble filter may legitimately
/// cut; above 16 kHz lossy codecs low-pass.
pub const CONTENT_LOW_HZ: f64 = 40.0;
pub const CONTENT_HIGH_HZ: f64 = 16_000.0;
/// DC offset above this fails (20 dB above the analysis warning level of
/// −60 dBFS: a visible shift of the waveform).
pub const DC_FAIL_DBFS: f64 = -40.0;
/// Limiter gain reduction above this warns: beyond the few dB a
/// transparent master takes.
pub const LIMITER_WARN_DB: f64 = 6.0;
/// Above this the limiter is audibly pumping and distorting: fail.
pub const LIMITER_FAIL_DB: f64 = 15.0;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Skipped,
    Warn,
    Fail,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    pub name: String,
    pub status: Status,
    /// The measured value in `unit` (absent only when skipped).
    pub measured: Option<f64>,
    pub unit: String,
    /// The rule it was held to, in words.
    pub threshold: String,
    /// What was seen, for a person.
    pub detail: String,
}

/// All checks and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub passed: bool,
    pub checks: Vec<GateCheck>,
}

impl GateReport {
    pub fn failures(&self) -> impl Iterator<Item = &GateCheck> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &GateCheck> {
        self.checks.iter().filter(|c| c.status == Status::Warn)
    }

    /// "name (detail); name (detail)" for the failed checks.
    pub fn failure_summary(&self) -> String {
        self.failures()
            .map(|c| format!("{} ({})", c.name, c.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Dynamics a master is steered to (from a profile or a reference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DynamicsTarget {
    pub plr_db: TargetRange,
    pub lra_lu: TargetRange,
}

/// Everything the gate looks at.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    pub input: &'a Analysis,
    /// Measured on the delivered samples.
    pub output: &'a Analysis,
    pub target: &'a LoudnessTarget,
    pub tonal_target: Option<&'a TonalCurve>,
    pub dynamics_target: Option<&'a DynamicsTarget>,
    pub low_end_correlation_min: Option<f64>,
    pub limiter_max_reduction_db: Option<f64>,
}

/// Runs every check.
pub fn run_gate(g: &GateInput<'_>) -> GateReport {
    let checks = vec![
        integrated_loudness(g),
        true_peak(g),
        clipping(g),
        correlation(g),
        low_end_mono(g),
        spectral_balance(g),
        dynamic_range(g),
        loudness_range(g),
        phase_coherence(g),
        mono_compatibility(g),
        frequency_content(g),
        dc_offset(g),
        limiter_load(g),
    ];
    GateReport {
        passed: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

fn check(
    name: &str,
    status: Status,
    measured: Option<f64>,
    unit: &str,
    threshold: String,
    detail: String,
) -> GateCheck {
    GateCheck {
        name: name.to_owned(),
        status,
        measured: measured.map(round6),
        unit: unit.to_owned(),
        threshold,
        detail,
    }
}

/// Six decimals: below every meter's resolution, and stable in JSON.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn skipped(name: &str, unit: &str, threshold: String, why: &str) -> GateCheck {
    check(name, Status::Skipped, None, unit, threshold, why.to_owned())
}

fn integrated_loudness(g: &GateInput<'_>) -> GateCheck {
    let target = g.target.integrated_lufs.0;
    let threshold = format!("within ±{LOUDNESS_TOLERANCE_LU} LU of {target:.1} LUFS");
    let Some(l) = g.output.loudness.integrated_lufs.map(|l| l.0) else {
        return check(
            "integrated_loudness",
            Status::Fail,
            None,
            "LUFS",
            threshold,
            "the master is silent".into(),
        );
    };
    let off = l - target;
    // Compare at the precision the report prints, so a reading that rounds
    // to the tolerance is not a failure by float noise alone.
    let ok = round6(off.abs()) <= LOUDNESS_TOLERANCE_LU;
    check(
        "integrated_loudness",
        if ok { Status::Pass } else { Status::Fail },
        Some(l),
        "LUFS",
        threshold,
        format!("{l:.2} LUFS, {off:+.2} LU from the target"),
    )
}

fn true_peak(g: &GateInput<'_>) -> GateCheck {
    let ceiling = g.target.ceiling_dbtp.0;
    let threshold = format!("at or under {ceiling:.1} dBTP");
    match g.output.loudness.max_true_peak_dbtp {
        None => check(
            "true_peak",
            Status::Pass,
            None,
            "dBTP",
            threshold,
            "the master is digital silence".into(),
        ),
        Some(Db(tp)) => check(
            "true_peak",
            if tp <= ceiling {
                Status::Pass
            } else {
                Status::Fail
            },
            Some(tp),
            "dBTP",
            threshold,
            format!("{tp:.2} dBTP ({:+.2} dB vs ceiling)", tp - ceiling),
        ),
    }
}

fn clipping(g: &GateInput<'_>) -> GateCheck {
    let h = &g.output.health;
    let peak = g.output.loudness.max_sample_peak_dbfs.map(|d| d.0);
    let clipped = h.clipped_runs > 0 || peak.is_some_and(|p| p >= 0.0);
    check(
        "clipping",
        if clipped { Status::Fail } else { Status::Pass },
        Some(h.clipped_runs as f64),
        "runs",
        format!(
            "no run of {} flat full-scale samples, sample peak below 0 dBFS",
            h.clip_run_min_samples
        ),
        format!(
            "{} clipped run(s), sample peak {}",
            h.clipped_runs,
            peak.map_or("-inf".into(), |p| format!("{p:.2} dBFS"))
        ),
    )
}

fn correlation(g: &GateInput<'_>) -> GateCheck {
    let threshold =
        format!("≥ {CORRELATION_WARN_BELOW} (warn below), ≥ {CORRELATION_FAIL_BELOW} (fail below)");
    let Some(c) = g.output.stereo.correlation else {
        return skipped(
            "correlation",
            "",
            threshold,
            "a channel is silent, so correlation is undefined",
        );
    };
    let status = if c < CORRELATION_FAIL_BELOW {
        Status::Fail
    } else if c < CORRELATION_WARN_BELOW {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "correlation",
        status,
        Some(c),
        "",
        threshold,
        format!("L/R correlation {c:.2}"),
    )
}

fn low_end_mono(g: &GateInput<'_>) -> GateCheck {
    let min = g
        .low_end_correlation_min
        .unwrap_or(LOW_END_CORRELATION_DEFAULT_MIN);
    let threshold = format!(
        "correlation below 150 Hz ≥ {min:.2} (warn below), ≥ {LOW_END_CORRELATION_FAIL_BELOW} (fail below)"
    );
    let Some(c) = g.output.stereo.correlation_below_150hz else {
        return skipped(
            "low_end_mono",
            "",
            threshold,
            "no low-frequency content to correlate",
        );
    };
    let status = if c < LOW_END_CORRELATION_FAIL_BELOW {
        Status::Fail
    } else if c < min {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "low_end_mono",
        status,
        Some(c),
        "",
        threshold,
        format!("correlation below 150 Hz {c:.2}"),
    )
}

fn spectral_balance(g: &GateInput<'_>) -> GateCheck {
    let threshold = format!(
        "mean |master − target| (40 Hz–16 kHz) not {SPECTRAL_WORSENING_FAIL_DB} dB worse than the mix's (fail), under {SPECTRAL_DISTANCE_WARN_DB} dB (warn above)"
    );
    let Some(target) = g.tonal_target else {
        return skipped(
            "spectral_balance",
            "dB",
            threshold,
            "no tonal target (no profile or reference)",
        );
    };
    let distance = |a: &Analysis| TonalCurve::from_analysis(a)?.mean_abs_difference_db(target);
    let (Some(out), Some(inp)) = (distance(g.output), distance(g.input)) else {
        return skipped(
            "spectral_balance",
            "dB",
            threshold,
            "the target and the audio share no band in 40 Hz–16 kHz",
        );
    };
    let status = if out > inp + SPECTRAL_WORSENING_FAIL_DB {
        Status::Fail
    } else if out > SPECTRAL_DISTANCE_WARN_DB {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "spectral_balance",
        status,
        Some(out),
        "dB",
        threshold,
        format!("{out:.2} dB from the target (the mix was {inp:.2} dB)"),
    )
}

fn in_range(value: f64, range: &TargetRange, slack: f64) -> bool {
    value >= range.low - slack && value <= range.high + slack
}

fn dynamic_range(g: &GateInput<'_>) -> GateCheck {
    let range = g.dynamics_target.map(|d| d.plr_db);
    let threshold = match range {
        Some(r) => format!(
            "PLR within {:.1}–{:.1} dB ±{DYNAMICS_RANGE_SLACK_DB} (warn outside), ≥ {PLR_CRUSHED_DB} dB (fail below)",
            r.low, r.high
        ),
        None => format!("PLR ≥ {PLR_CRUSHED_DB} dB (fail below)"),
    };
    let Some(plr) = g.output.loudness.plr_db.map(|d| d.0) else {
        return skipped(
            "dynamic_range",
            "dB",
            threshold,
            "PLR needs a true peak and an integrated loudness",
        );
    };
    let status = if plr < PLR_CRUSHED_DB {
        Status::Fail
    } else if range.is_some_and(|r| !in_range(plr, &r, DYNAMICS_RANGE_SLACK_DB)) {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "dynamic_range",
        status,
        Some(plr),
        "dB",
        threshold,
        format!(
            "PLR {plr:.1} dB (the mix had {})",
            g.input
                .loudness
                .plr_db
                .map_or("n/a".into(), |p| format!("{:.1} dB", p.0))
        ),
    )
}

fn loudness_range(g: &GateInput<'_>) -> GateCheck {
    let range = g.dynamics_target.map(|d| d.lra_lu);
    let threshold = match range {
        Some(r) => format!(
            "LRA within {:.1}–{:.1} LU ±{DYNAMICS_RANGE_SLACK_DB} (warn outside), at most {LRA_MAX_REDUCTION_LU} LU below the mix's (fail)",
            r.low, r.high
        ),
        None => format!("at most {LRA_MAX_REDUCTION_LU} LU below the mix's (fail)"),
    };
    let Some(lra) = g.output.loudness.loudness_range_lu.map(|d| d.0) else {
        return skipped(
            "loudness_range",
            "LU",
            threshold,
            "too short for a loudness range (needs several 3 s windows)",
        );
    };
    let input_lra = g.input.loudness.loudness_range_lu.map(|d| d.0);
    let status = if input_lra.is_some_and(|i| i - lra > LRA_MAX_REDUCTION_LU) {
        Status::Fail
    } else if range.is_some_and(|r| !in_range(lra, &r, DYNAMICS_RANGE_SLACK_DB)) {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "loudness_range",
        status,
        Some(lra),
        "LU",
        threshold,
        format!(
            "LRA {lra:.1} LU (the mix had {})",
            input_lra.map_or("n/a".into(), |i| format!("{i:.1} LU"))
        ),
    )
}

fn phase_coherence(g: &GateInput<'_>) -> GateCheck {
    let s = &g.output.stereo;
    let share = s.negative_correlation_share;
    let status = if s.phase_issue {
        Status::Fail
    } else if share > NEGATIVE_CORRELATION_WARN_SHARE {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "phase_coherence",
        status,
        Some(share),
        "share",
        format!(
            "no sustained negative correlation (fail), at most {:.0} % of loud blocks strongly negative (warn above)",
            NEGATIVE_CORRELATION_WARN_SHARE * 100.0
        ),
        format!(
            "{:.1} % of loud blocks strongly out of phase{}",
            share * 100.0,
            if s.phase_issue {
                ", sustained: the mono sum cancels"
            } else {
                ""
            }
        ),
    )
}

fn mono_compatibility(g: &GateInput<'_>) -> GateCheck {
    let threshold = format!(
        "mono-sum loss ≤ {MONO_LOSS_WARN_DB} dB (warn above), ≤ {MONO_LOSS_FAIL_DB} dB (fail above)"
    );
    let Some(loss) = g.output.stereo.mono_sum_loss_db.map(|d| d.0) else {
        return skipped(
            "mono_compatibility",
            "dB",
            threshold,
            "the master is silent",
        );
    };
    let status = if loss > MONO_LOSS_FAIL_DB {
        Status::Fail
    } else if loss > MONO_LOSS_WARN_DB {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "mono_compatibility",
        status,
        Some(loss),
        "dB",
        threshold,
        format!("the mono fold-down is {loss:.1} dB quieter than the channels"),
    )
}

fn frequency_content(g: &GateInput<'_>) -> GateCheck {
    let threshold = format!(
        "no 1/3-octave band present in the mix ({CONTENT_LOW_HZ:.0} Hz–{:.0} kHz, within {BAND_PRESENT_WITHIN_DB} dB of its loudness) drops by more than {BAND_DROP_WARN_DB} dB (warn) / {BAND_LOST_FAIL_DB} dB (fail) relative to loudness",
        CONTENT_HIGH_HZ / 1000.0
    );
    let (Some(inp), Some(out)) = (
        TonalCurve::from_analysis(g.input),
        TonalCurve::from_analysis(g.output),
    ) else {
        return skipped(
            "frequency_content",
            "dB",
            threshold,
            "no tonal measurement (silence)",
        );
    };
    // Largest drop over the bands the input has; a band the output lacks
    // entirely counts as dropped to the bottom of the window.
    let mut worst: Option<(f64, f64)> = None;
    for (&centre, &level) in inp.centres_hz.iter().zip(&inp.level_db) {
        if !(CONTENT_LOW_HZ..=CONTENT_HIGH_HZ).contains(&centre) {
            continue;
        }
        let Some(level) = level.filter(|&l| l >= -BAND_PRESENT_WITHIN_DB) else {
            continue;
        };
        let after = out
            .level_at(centre)
            .unwrap_or(-BAND_PRESENT_WITHIN_DB - BAND_LOST_FAIL_DB);
        let drop = level - after;
        if worst.is_none_or(|(d, _)| drop > d) {
            worst = Some((drop, centre));
        }
    }
    let Some((drop, centre)) = worst else {
        return skipped(
            "frequency_content",
            "dB",
            threshold,
            "the mix has no band loud enough to compare",
        );
    };
    let status = if drop > BAND_LOST_FAIL_DB {
        Status::Fail
    } else if drop > BAND_DROP_WARN_DB {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "frequency_content",
        status,
        Some(drop.max(0.0)),
        "dB",
        threshold,
        format!("largest drop {drop:.1} dB, at {centre:.0} Hz"),
    )
}

fn dc_offset(g: &GateInput<'_>) -> GateCheck {
    let worst = g
        .output
        .health
        .dc_offset
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let threshold =
        format!("≤ {DC_OFFSET_WARN_DBFS} dBFS (warn above), ≤ {DC_FAIL_DBFS} dBFS (fail above)");
    if worst == 0.0 {
        return check(
            "dc_offset",
            Status::Pass,
            None,
            "dBFS",
            threshold,
            "no DC at all".into(),
        );
    }
    let dbfs = Db::from_amplitude(worst).0;
    let status = if dbfs > DC_FAIL_DBFS {
        Status::Fail
    } else if dbfs > DC_OFFSET_WARN_DBFS {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "dc_offset",
        status,
        Some(dbfs),
        "dBFS",
        threshold,
        format!("largest channel mean {dbfs:.1} dBFS"),
    )
}

fn limiter_load(g: &GateInput<'_>) -> GateCheck {
    let threshold = format!(
        "largest limiter gain reduction ≤ {LIMITER_WARN_DB} dB (warn above), ≤ {LIMITER_FAIL_DB} dB (fail above)"
    );
    let Some(gr) = g.limiter_max_reduction_db else {
        return skipped("limiter_load", "dB", threshold, "the limiter did not run");
    };
    let status = if gr > LIMITER_FAIL_DB {
        Status::Fail
    } else if gr > LIMITER_WARN_DB {
        Status::Warn
    } else {
        Status::Pass
    };
    check(
        "limiter_load",
        status,
        Some(gr),
        "dB",
        threshold,
        format!("the limiter took up to {gr:.1} dB"),
    )
}
