//! Stereo: mono lows when the low end is not mono enough, small width moves.
//!
//! Low-end mono safety matters more than width: out-of-phase bass cancels on
//! mono playback and upsets vinyl and club systems, so the lows are made
//! mono whenever their correlation is under what the target's masters keep,
//! unless they are anti-phase: then mono lows would cancel the bass itself.
//! Width moves are small (±15 %), only above the lows, and widening always
//! runs with the correlation guard on.
//!
//! In reference mode the match EQ usually carries the SIDE's own curve
//! (`side_matched`): the low end's SIDE and the width then follow the
//! reference band by band, and a mono fold or a width move on top would
//! undo that match.

use crate::polarity::INVERTED_POLARITY_CORRELATION;
use crate::{Ctx, decision, fmt_hz, fmt_num};
use lacquer_core::chain::StereoSettings;
use lacquer_core::{Decision, PlanStage};

/// Low-end correlation this far under the target's minimum triggers mono lows.
pub const LOW_END_CORRELATION_TOLERANCE: f64 = 0.05;
/// Mono-below frequency when the target does not give one (reference mode).
pub const DEFAULT_MONO_BELOW_HZ: f64 = 100.0;
/// A profile's mono-below frequency is kept in this window.
pub const MONO_BELOW_RANGE_HZ: (f64, f64) = (60.0, 160.0);
/// Width changes (SIDE share) smaller than this are left alone.
pub const WIDTH_DEADBAND: f64 = 0.02;
/// Planned width stays within 100 % ± this.
pub const MAX_WIDTH_CHANGE_PERCENT: f64 = 15.0;
/// Width moves apply above this frequency (a side shelf), so the lows keep
/// their image.
pub const WIDTH_FROM_HZ: f64 = 250.0;
/// Correlation guard floor when widening (lowered for mixes that already
/// sit under it, so the guard never narrows them below where they started).
pub const CORRELATION_FLOOR: f64 = 0.3;
const GUARD_BELOW_MIX: f64 = 0.1;

pub(crate) fn plan(
    ctx: &Ctx<'_>,
    side_matched: bool,
    decisions: &mut Vec<Decision>,
) -> StereoSettings {
    let mut settings = StereoSettings::default();
    let stereo = &ctx.analysis.stereo;
    let mono_source = ctx.analysis.source_channels < 2 || ctx.analysis.health.mono_in_stereo;
    if mono_source {
        decisions.push(decision(
            PlanStage::Stereo,
            "stereo left alone: the mix is mono".to_owned(),
        ));
        return settings;
    }

    if side_matched {
        decisions.push(decision(
            PlanStage::Stereo,
            format!(
                "low end and width follow {} through the match EQ's SIDE curve (correlation below 150 Hz: mix {}, reference {})",
                ctx.target_name,
                fmt_corr(stereo.correlation_below_150hz),
                fmt_corr(ctx.reference.and_then(|r| r.stereo.correlation_below_150hz))
            ),
        ));
    } else if ctx.strength > 0.0 {
        mono_bass(ctx, &mut settings, decisions);
    }
    let width = match ctx.options.width_percent {
        Some(w) => Some((w, "set by --width".to_owned())),
        None if ctx.strength > 0.0 && !side_matched => width_from_delta(ctx, decisions),
        None => None,
    };
    if let Some((width, why)) = width
        && width != 100.0
    {
        if width > 100.0 && stereo.phase_issue {
            decisions.push(decision(
                PlanStage::Stereo,
                format!(
                    "width left at 100 % instead of {}: the mix has sustained negative correlation (phase issue)",
                    fmt_num(width)
                ),
            ));
        } else {
            settings.width_percent = width;
            // A side shelf cannot reach 0 %, and narrowing is meant for the
            // whole band anyway.
            settings.width_from_hz = if width > 100.0 { WIDTH_FROM_HZ } else { 0.0 };
            let mut line = format!("width {} %", fmt_num(width));
            if width > 100.0 {
                let mix_corr = stereo.correlation.unwrap_or(1.0);
                let floor = CORRELATION_FLOOR
                    .min(mix_corr - GUARD_BELOW_MIX)
                    .clamp(0.0, 0.9);
                settings.correlation_guard = true;
                settings.correlation_floor = floor;
                line.push_str(&format!(
                    " above {}, correlation guard at {floor:.2}",
                    fmt_hz(WIDTH_FROM_HZ)
                ));
            }
            decisions.push(decision(PlanStage::Stereo, format!("{line}: {why}")));
        }
    }
    settings.enabled = settings.mono_bass || settings.width_percent != 100.0;
    settings
}

fn fmt_corr(correlation: Option<f64>) -> String {
    correlation.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2}"))
}

fn mono_bass(ctx: &Ctx<'_>, settings: &mut StereoSettings, decisions: &mut Vec<Decision>) {
    let Some(mix_corr) = ctx.analysis.stereo.correlation_below_150hz else {
        return;
    };
    let (wanted, cutoff, source) = match (ctx.profile, ctx.reference) {
        (Some(p), _) => (
            p.stereo.low_end_correlation_min,
            p.stereo
                .mono_below_hz
                .clamp(MONO_BELOW_RANGE_HZ.0, MONO_BELOW_RANGE_HZ.1),
            format!("{}'s minimum", ctx.target_name),
        ),
        (None, Some(r)) if ctx.reference_mode => match r.stereo.correlation_below_150hz {
            Some(c) => (c, DEFAULT_MONO_BELOW_HZ, "the reference".to_owned()),
            None => return,
        },
        _ => return,
    };
    let shortfall = ctx.deltas.low_end_correlation.unwrap_or(wanted - mix_corr);
    if shortfall > LOW_END_CORRELATION_TOLERANCE && mix_corr <= INVERTED_POLARITY_CORRELATION {
        // Mono lows keep the MID, which anti-phase lows have all but
        // cancelled: the fix would remove the bass it means to protect.
        decisions.push(decision(
            PlanStage::Stereo,
            format!(
                "low end left stereo: its correlation below 150 Hz is {mix_corr:.2} (anti-phase), \
                 so making it mono would cancel the bass; fix the polarity in the mix"
            ),
        ));
    } else if shortfall > LOW_END_CORRELATION_TOLERANCE {
        settings.mono_bass = true;
        settings.mono_below_hz = cutoff;
        decisions.push(decision(
            PlanStage::Stereo,
            format!(
                "mono below {}: low-end correlation {mix_corr:.2} under {source} {wanted:.2}",
                fmt_hz(cutoff)
            ),
        ));
    } else {
        decisions.push(decision(
            PlanStage::Stereo,
            format!(
                "low end left alone: correlation below 150 Hz {mix_corr:.2} (target {wanted:.2})"
            ),
        ));
    }
}

/// Side gain that moves the SIDE share from the mix's toward the target's,
/// scaled by intensity and kept small.
fn width_from_delta(ctx: &Ctx<'_>, decisions: &mut Vec<Decision>) -> Option<(f64, String)> {
    let delta = ctx.deltas.width?;
    if !delta.is_finite() || delta.abs() < WIDTH_DEADBAND {
        return None;
    }
    let ratio_db = ctx.analysis.stereo.mid_side_ratio_db?.0;
    // SIDE share w = S / (M + S) from the M/S energy ratio.
    let share = 1.0 / (1.0 + 10f64.powf(ratio_db / 10.0));
    let wanted = (share + delta).clamp(0.001, 0.999);
    if !(0.001..=0.999).contains(&share) {
        return None;
    }
    // Scaling SIDE by k gives share k²S / (M + k²S).
    let side_scale = (wanted * (1.0 - share) / (share * (1.0 - wanted))).sqrt();
    let width = (100.0 * (1.0 + (side_scale - 1.0) * ctx.strength)).clamp(
        100.0 - MAX_WIDTH_CHANGE_PERCENT,
        100.0 + MAX_WIDTH_CHANGE_PERCENT,
    );
    let width = (width * 10.0).round() / 10.0;
    if width == 100.0 {
        return None;
    }
    let direction = if delta > 0.0 { "narrower" } else { "wider" };
    let why = format!(
        "SIDE share {share:.2} is {:.2} {direction} than {}",
        delta.abs(),
        ctx.target_name
    );
    if ctx.analysis.stereo.phase_issue && width > 100.0 {
        decisions.push(decision(
            PlanStage::Stereo,
            format!("no widening although the {why}: phase issue in the mix"),
        ));
        return None;
    }
    Some((width, why))
}
