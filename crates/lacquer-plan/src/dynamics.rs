//! Dynamics: glue and multiband compression, and saturation.
//!
//! Compression is planned only from evidence: the mix's PLR (or crest) and
//! LRA lying outside the target's ranges, or a limiter that would otherwise
//! have to take off more than a comfortable amount. The PLR excess counted
//! is what is left *after* the limiter: pushed to the target loudness under
//! the ceiling, the output PLR cannot exceed ceiling − target, so the
//! limiter already removes that much and compressing for it as well would
//! squash the mix twice. Gain-reduction amounts are small (≤ 3 dB) and
//! scaled by intensity and by how much the genre is usually compressed.
//! Makeup stays 0: the gain stage in front of the limiter owns the level.

use crate::spectrum::{BandPowers, ToneCurves, butterworth2_highpass_power};
use crate::tone::{DETECTOR_CREST_DB, TonePlan, loud_passage_offset_db};
use crate::{Ctx, decision, fmt_hz, fmt_num, fmt_range};
use lacquer_core::chain::{
    CompressorCurve, DetectorMode, GlueSettings, MultibandSettings, SaturationCurve,
    SaturationSettings,
};
use lacquer_core::{Decision, Intent, LoudnessTarget, PlanStage, TargetRange};

/// Compression planned per dB of dynamics outside the target range.
pub const GR_PER_EXCESS_DB: f64 = 0.5;
/// The limiter takes this much peak reduction without help.
pub const LIMITER_COMFORT_DB: f64 = 4.0;
/// Compression planned per dB of limiter work beyond the comfortable amount.
pub const GR_PER_LIMITER_EXCESS_DB: f64 = 0.3;
/// Extra density the loud intent asks for.
pub const LOUD_DENSITY_GR_DB: f64 = 1.0;
/// Most gain reduction planned on the loud passages.
pub const MAX_GR_DB: f64 = 3.0;
/// Less than this is not worth a compressor.
pub const MIN_GR_DB: f64 = 0.5;
/// Against a reference, dynamics within this of the reference count as
/// matching (a single track is a point, not a range).
pub const REFERENCE_DYNAMICS_TOLERANCE_DB: f64 = 1.0;
/// Style weight for reference mode, which has no profile style.
const REFERENCE_STYLE_GLUE: f64 = 0.5;
/// The glue's follower (attack faster than release) rides the peaks of its
/// 10 ms RMS, reading this far above the long-term RMS on music (measured
/// with the DSP glue on the testkit demo mix: a threshold set from the bare
/// RMS gave ~1.7 dB mean reduction where 1.2 was planned).
const GLUE_DETECTOR_OVER_RMS_DB: f64 = 2.0;
/// Glue side-chain high-pass, so the kick and bass do not pump the mix.
const GLUE_SIDECHAIN_HZ: f64 = 90.0;
/// Multiband crossovers (4 bands: lows, low mids, high mids, highs).
const MULTIBAND_CROSSOVERS_HZ: [f64; 3] = [120.0, 1000.0, 6000.0];
/// Per band: attack and release, ms (slower where the waveform is slower).
const MULTIBAND_TIMES_MS: [(f64, f64); 4] =
    [(30.0, 250.0), (15.0, 150.0), (8.0, 100.0), (4.0, 80.0)];
/// Profile style at or above which multiband compression shares the work
/// outside the loud intent.
const MULTIBAND_STYLE_MIN: f64 = 0.5;
/// Saturation needs the loud intent and at least this much style.
pub const SATURATION_STYLE_MIN: f64 = 0.2;
/// The saturator bends the mix's peaks by this much at full style and
/// intensity (and by the base amount at the smallest).
const SATURATION_BEND_BASE_DB: f64 = 0.5;
const SATURATION_BEND_PER_STYLE_DB: f64 = 2.0;
const COMPRESSOR_KNEE_DB: f64 = 6.0;

pub(crate) struct DynamicsPlan {
    pub multiband: MultibandSettings,
    pub glue: GlueSettings,
    pub saturation: SaturationSettings,
    /// Predicted drop of integrated loudness from the compressors, LU.
    pub loudness_loss_db: f64,
}

/// Peak reduction the limiter must make: PLR above ceiling − target.
pub(crate) fn limiter_reduction_db(ctx: &Ctx<'_>, target: &LoudnessTarget) -> Option<f64> {
    let plr = ctx.analysis.loudness.plr_db?.0;
    let room = target.ceiling_dbtp.0 - target.integrated_lufs.0;
    Some((plr - room).max(0.0))
}

/// What the mix's dynamics are measured against, for the reasons.
struct DynamicsTarget {
    plr: Option<String>,
    lra: Option<String>,
}

fn describe_target(ctx: &Ctx<'_>) -> DynamicsTarget {
    let range = |r: &TargetRange| fmt_range(r.low, r.high);
    match (ctx.profile, ctx.reference) {
        (Some(p), _) => DynamicsTarget {
            plr: Some(format!("{} dB", range(&p.dynamics.plr_db))),
            lra: Some(format!("{} LU", range(&p.dynamics.lra_lu))),
        },
        (None, Some(r)) if ctx.reference_mode => DynamicsTarget {
            plr: r.loudness.plr_db.map(|d| format!("{:.1} dB", d.0)),
            lra: r
                .loudness
                .loudness_range_lu
                .map(|d| format!("{:.1} LU", d.0)),
        },
        _ => DynamicsTarget {
            plr: None,
            lra: None,
        },
    }
}

/// Excess of the mix over the target (dB, ≥ 0) from a delta (target − mix;
/// against a profile already 0 inside the range).
fn excess_from_delta(ctx: &Ctx<'_>, delta: Option<f64>) -> f64 {
    let tolerance = if ctx.reference_mode {
        REFERENCE_DYNAMICS_TOLERANCE_DB
    } else {
        0.0
    };
    delta.map_or(0.0, |d| (-d - tolerance).max(0.0))
}

pub(crate) fn plan(
    ctx: &Ctx<'_>,
    target: &LoudnessTarget,
    tone: &TonePlan,
    decisions: &mut Vec<Decision>,
) -> DynamicsPlan {
    let mut out = DynamicsPlan {
        multiband: MultibandSettings::default(),
        glue: GlueSettings::default(),
        saturation: SaturationSettings::default(),
        loudness_loss_db: 0.0,
    };
    let has_target = ctx.profile.is_some() || ctx.reference_mode;
    if !has_target {
        decisions.push(decision(
            PlanStage::Glue,
            "no compression: no profile to compare the dynamics with".to_owned(),
        ));
        return out;
    }
    if ctx.strength <= 0.0 {
        decisions.push(decision(
            PlanStage::Glue,
            "no compression: intensity 0 % (loudness only)".to_owned(),
        ));
        return out;
    }

    let loudness = &ctx.analysis.loudness;
    let limiter = limiter_reduction_db(ctx, target).unwrap_or(0.0);
    // PLR is the peak measure that matches what the limiter works on; crest
    // stands in when PLR is unknown.
    let (peak_name, peak_value, peak_delta) = match (loudness.plr_db, ctx.deltas.plr_db) {
        (Some(plr), delta) => ("PLR", Some(plr.0), delta.map(|d| d.0)),
        (None, _) => (
            "crest",
            loudness.crest_factor_db.map(|d| d.0),
            ctx.deltas.crest_db.map(|d| d.0),
        ),
    };
    let peak_excess_raw = excess_from_delta(ctx, peak_delta);
    let peak_excess = (peak_excess_raw - limiter).max(0.0);
    let lra_excess = excess_from_delta(ctx, ctx.deltas.lra_lu.map(|d| d.0));
    let limiter_excess = (limiter - LIMITER_COMFORT_DB).max(0.0);
    let loud = ctx.options.intent == Intent::Loud;

    let style = ctx.profile.map(|p| p.style);
    let style_glue = style.map_or(REFERENCE_STYLE_GLUE, |s| s.glue.clamp(0.0, 1.0));
    let style_multiband = style.map_or(0.0, |s| s.multiband.clamp(0.0, 1.0));
    let style_factor = 0.25 + 0.75 * style_glue.max(style_multiband);

    let mut wanted =
        GR_PER_EXCESS_DB * peak_excess.max(lra_excess) + GR_PER_LIMITER_EXCESS_DB * limiter_excess;
    if loud {
        wanted += LOUD_DENSITY_GR_DB;
    }
    let total_gr = wanted.min(MAX_GR_DB) * ctx.strength * style_factor;

    let targets = describe_target(ctx);
    let mut why = Vec::new();
    if peak_excess > 0.0 {
        why.push(format!(
            "{peak_name} {} dB stays {peak_excess:.1} dB above {}{} after {limiter:.1} dB of limiting",
            peak_value.map_or("?".to_owned(), fmt_num),
            ctx.target_name,
            targets.plr.as_ref().map_or(String::new(), |t| format!(" ({t})")),
        ));
    }
    if lra_excess > 0.0 {
        why.push(format!(
            "LRA {} LU is {lra_excess:.1} LU above {}{}",
            loudness
                .loudness_range_lu
                .map_or("?".to_owned(), |d| fmt_num(d.0)),
            ctx.target_name,
            targets
                .lra
                .as_ref()
                .map_or(String::new(), |t| format!(" ({t})")),
        ));
    }
    if limiter_excess > 0.0 {
        why.push(format!(
            "the limiter would take {limiter:.1} dB off the peaks (comfortable: {})",
            fmt_num(LIMITER_COMFORT_DB)
        ));
    }
    if loud {
        why.push("loud intent asks for density".to_owned());
    }

    if total_gr < MIN_GR_DB {
        let within = if ctx.reference_mode {
            format!(
                "within {} dB of the reference",
                fmt_num(REFERENCE_DYNAMICS_TOLERANCE_DB)
            )
        } else {
            format!("inside {}", ctx.target_name)
        };
        let peak_part = format!(
            "{peak_name} {}{}",
            peak_value.map_or("?".to_owned(), |v| format!("{} dB", fmt_num(v))),
            targets
                .plr
                .as_ref()
                .map_or(String::new(), |t| format!(" (target {t})")),
        );
        let peak_part = if peak_excess_raw > 0.0 {
            format!(
                "{peak_part}: the limiter's {limiter:.1} dB of peak reduction brings it to target"
            )
        } else {
            format!("{peak_part} {within}")
        };
        let lra_part = format!(
            "LRA {}{} {within}",
            loudness
                .loudness_range_lu
                .map_or("?".to_owned(), |d| format!("{} LU", fmt_num(d.0))),
            targets
                .lra
                .as_ref()
                .map_or(String::new(), |t| format!(" (target {t})")),
        );
        let reason = if why.is_empty() {
            format!("no compression: {peak_part}; {lra_part}")
        } else {
            format!(
                "no compression: only {total_gr:.1} dB would be called for ({}), under {}",
                why.join("; "),
                fmt_num(MIN_GR_DB)
            )
        };
        decisions.push(decision(PlanStage::Glue, reason));
    } else {
        let multiband_share = if !ctx.reference_mode
            && (loud || style_multiband >= MULTIBAND_STYLE_MIN)
            && style_glue + style_multiband > 0.0
        {
            style_multiband / (style_glue + style_multiband)
        } else {
            0.0
        };
        // Each stage keeps its fixed share and is dropped when that share
        // is too small to be worth running; handing a dropped share to the
        // other stage would make a stage lighter as the intensity rises.
        let worth = |gr: f64| if gr >= MIN_GR_DB { gr } else { 0.0 };
        let multiband_gr = worth(total_gr * multiband_share);
        let glue_gr = worth(total_gr * (1.0 - multiband_share));
        if multiband_gr == 0.0 && glue_gr == 0.0 {
            decisions.push(decision(
                PlanStage::Glue,
                format!(
                    "no compression: {total_gr:.1} dB split between glue and multiband leaves each under {}",
                    fmt_num(MIN_GR_DB)
                ),
            ));
        }
        let why = why.join("; ");
        let slow = lra_excess > peak_excess;
        if tone.powers.is_none() && glue_gr + multiband_gr > 0.0 {
            decisions.push(decision(
                PlanStage::Glue,
                format!(
                    "no compression although {total_gr:.1} dB is called for ({why}): the mix has no tonal curve to set thresholds from"
                ),
            ));
        }
        if glue_gr > 0.0
            && let Some(powers) = &tone.powers
        {
            out.glue = glue(ctx, powers, &tone.curves, glue_gr, slow);
            out.loudness_loss_db += glue_gr;
            let c = &out.glue.curve;
            decisions.push(decision(
                PlanStage::Glue,
                format!(
                    "glue {}:1, threshold {:.1} dBFS, attack {} / release {} ms for ~{glue_gr:.1} dB on the loud passages: {why}",
                    fmt_num(c.ratio),
                    c.threshold_db,
                    fmt_num(c.attack_ms),
                    fmt_num(c.release_ms)
                ),
            ));
        }
        if multiband_gr > 0.0
            && let Some(powers) = &tone.powers
        {
            out.multiband = multiband(ctx, powers, &tone.curves, multiband_gr);
            out.loudness_loss_db += multiband_gr;
            decisions.push(decision(
                PlanStage::Multiband,
                format!(
                    "multiband (splits {}) for ~{multiband_gr:.1} dB per band on the loud passages ({}multiband style {}): {why}",
                    out.multiband
                        .crossovers_hz
                        .iter()
                        .map(|&f| fmt_hz(f))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if loud { "loud intent; " } else { "" },
                    fmt_num(style_multiband)
                ),
            ));
        }
    }

    out.saturation = saturation(ctx, loud, style.map_or(0.0, |s| s.saturation), decisions);
    out
}

/// Level above threshold (dB) at which the soft-knee curve reduces by
/// `reduction_db` (inverse of the DSP's gain computer).
fn over_for_reduction(reduction_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let slope = 1.0 - 1.0 / ratio;
    if slope <= 0.0 {
        return 0.0;
    }
    if knee_db <= 0.0 || reduction_db >= slope * knee_db / 2.0 {
        reduction_db / slope
    } else {
        (2.0 * knee_db * reduction_db / slope).sqrt() - knee_db / 2.0
    }
}

fn ratio_for(gr_db: f64) -> f64 {
    if gr_db > 1.5 { 2.0 } else { 1.5 }
}

fn glue(
    ctx: &Ctx<'_>,
    powers: &BandPowers,
    curves: &ToneCurves,
    gr_db: f64,
    slow: bool,
) -> GlueSettings {
    let ratio = ratio_for(gr_db);
    let (attack_ms, release_ms) = if slow { (30.0, 400.0) } else { (10.0, 150.0) };
    let level = powers
        .level_db(0.0, f64::INFINITY, curves, |f| {
            butterworth2_highpass_power(f, GLUE_SIDECHAIN_HZ)
        })
        .unwrap_or(-120.0)
        + loud_passage_offset_db(ctx.analysis)
        + GLUE_DETECTOR_OVER_RMS_DB;
    let threshold =
        (level - over_for_reduction(gr_db, ratio, COMPRESSOR_KNEE_DB)).clamp(-120.0, 24.0);
    GlueSettings {
        enabled: true,
        curve: CompressorCurve {
            threshold_db: threshold,
            ratio,
            knee_db: COMPRESSOR_KNEE_DB,
            attack_ms,
            release_ms,
            makeup_db: 0.0,
        },
        detector: DetectorMode::Rms,
        rms_window_ms: 10.0,
        sidechain_highpass_hz: GLUE_SIDECHAIN_HZ,
    }
}

fn multiband(
    ctx: &Ctx<'_>,
    powers: &BandPowers,
    curves: &ToneCurves,
    gr_db: f64,
) -> MultibandSettings {
    let ratio = ratio_for(gr_db);
    let loud_offset = loud_passage_offset_db(ctx.analysis);
    let crossovers = multiband_crossovers_hz(ctx.analysis.sample_rate_hz);
    let edges: Vec<f64> = std::iter::once(0.0)
        .chain(crossovers.iter().copied())
        .chain(std::iter::once(f64::INFINITY))
        .collect();
    let bands = edges
        .windows(2)
        .zip(MULTIBAND_TIMES_MS)
        .map(|(edge, (attack_ms, release_ms))| {
            match powers.level_db(edge[0], edge[1], curves, |_| 1.0) {
                Some(level) => CompressorCurve {
                    threshold_db: (level + DETECTOR_CREST_DB + loud_offset
                        - over_for_reduction(gr_db, ratio, COMPRESSOR_KNEE_DB))
                    .clamp(-120.0, 24.0),
                    ratio,
                    knee_db: COMPRESSOR_KNEE_DB,
                    attack_ms,
                    release_ms,
                    makeup_db: 0.0,
                },
                // An empty band has nothing to compress.
                None => CompressorCurve::default(),
            }
        })
        .collect();
    MultibandSettings {
        enabled: true,
        crossovers_hz: crossovers,
        bands,
        mid_side: false,
    }
}

/// The crossovers that fit under the rate's band edge (the top one is
/// dropped at rates under ~15 kHz, leaving three bands).
fn multiband_crossovers_hz(sample_rate_hz: u32) -> Vec<f64> {
    const HIGHEST_FRACTION_OF_RATE: f64 = 0.4;
    const MIN_CROSSOVERS: usize = 2;
    let limit = HIGHEST_FRACTION_OF_RATE * f64::from(sample_rate_hz);
    let fitting: Vec<f64> = MULTIBAND_CROSSOVERS_HZ
        .iter()
        .copied()
        .filter(|&f| f < limit)
        .collect();
    if fitting.len() >= MIN_CROSSOVERS {
        fitting
    } else {
        MULTIBAND_CROSSOVERS_HZ[..MIN_CROSSOVERS].to_vec()
    }
}

/// The DSP saturator's tanh-like curve (rational, reaching ±1 at ±3):
/// the planner needs its shape to know how hard a drive bends the peaks.
fn saturator_curve(u: f64) -> f64 {
    let c = u.clamp(-3.0, 3.0);
    c * (27.0 + c * c) / (27.0 + 9.0 * c * c)
}

/// The input level (linear, > 0) the curve bends down by `bend_db`.
fn level_bent_by(bend_db: f64) -> f64 {
    let wanted = 10f64.powf(-bend_db / 20.0);
    let (mut lo, mut hi) = (1e-6, 3.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if saturator_curve(mid) / mid > wanted {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn saturation(
    ctx: &Ctx<'_>,
    loud: bool,
    style: f64,
    decisions: &mut Vec<Decision>,
) -> SaturationSettings {
    let off = SaturationSettings::default();
    if !loud {
        return off;
    }
    if style < SATURATION_STYLE_MIN {
        decisions.push(decision(
            PlanStage::Saturation,
            format!(
                "no saturation: {} style allows {} (needs ≥ {})",
                ctx.target_name,
                fmt_num(style),
                fmt_num(SATURATION_STYLE_MIN)
            ),
        ));
        return off;
    }
    let Some(peak_dbfs) = ctx.analysis.loudness.max_sample_peak_dbfs.map(|d| d.0) else {
        return off;
    };
    let bend_db = SATURATION_BEND_BASE_DB
        + SATURATION_BEND_PER_STYLE_DB * style.clamp(0.0, 1.0) * ctx.strength;
    let drive_db = (20.0 * level_bent_by(bend_db).log10() - peak_dbfs).clamp(0.0, 36.0);
    decisions.push(decision(
        PlanStage::Saturation,
        format!(
            "soft clip (tanh), drive {drive_db:.1} dB: the mix's {peak_dbfs:.1} dBFS peaks bend ~{bend_db:.1} dB for density (loud intent; {} style allows {})",
            ctx.target_name,
            fmt_num(style)
        ),
    ));
    SaturationSettings {
        enabled: true,
        curve: SaturationCurve::Tanh,
        drive_db,
        mix_percent: 100.0,
        ..SaturationSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse must land on the DSP's soft-knee formula (Giannoulis et
    /// al. form) both inside and above the knee.
    #[test]
    fn over_for_reduction_inverts_the_soft_knee() {
        const TOL_DB: f64 = 1e-9;
        let reduction = |over: f64, ratio: f64, knee: f64| {
            let slope = 1.0 - 1.0 / ratio;
            if 2.0 * over <= -knee {
                0.0
            } else if 2.0 * over.abs() < knee {
                slope * (over + knee / 2.0).powi(2) / (2.0 * knee)
            } else {
                slope * over
            }
        };
        for gr in [0.2, 0.5, 1.0, 2.0, 3.0] {
            for ratio in [1.5, 2.0, 4.0] {
                let over = over_for_reduction(gr, ratio, COMPRESSOR_KNEE_DB);
                assert!((reduction(over, ratio, COMPRESSOR_KNEE_DB) - gr).abs() < TOL_DB);
            }
        }
    }

    /// The planner's copy of the curve must be the DSP's curve.
    #[test]
    fn saturator_curve_matches_the_dsp() {
        const TOL: f64 = 1e-6;
        for i in -400..=400 {
            let u = f64::from(i) / 100.0;
            let dsp = f64::from(lacquer_dsp::saturation::tanh_like(u as f32));
            assert!((saturator_curve(u) - dsp).abs() < TOL, "{u}");
        }
    }

    #[test]
    fn saturator_bend_is_solved_on_the_curve() {
        const TOL_DB: f64 = 1e-6;
        for bend in [0.5, 1.0, 2.5] {
            let x = level_bent_by(bend);
            let got = -20.0 * (saturator_curve(x) / x).log10();
            assert!((got - bend).abs() < TOL_DB, "{bend}: {got}");
        }
    }
}
