//! Tone: the match-EQ curve, the rumble high-pass and the dynamic EQ.
//!
//! The curve follows the smoothed tonal deltas, but conservatively. The
//! target is first slid onto the mix by their median difference (tone is
//! compared at equal loudness, and a mix heavy in the mids, where loudness
//! lives, would otherwise read as "every other band is off"). Each band
//! then moves only to the edge of a tolerance around the slid target: a
//! deadband (differences no one can hear or measure reliably) plus, below
//! full intensity, a share of the genre's own spread in that band, since
//! where the genre's masters disagree a mix may sit further from their
//! typical curve. Stopping at the edge, rather than moving a fixed share
//! of the difference, is what makes a re-master change little: the master
//! is inside every tolerance when it is planned again. Boosts larger than
//! the EQ may give are not half-made: the mix has little in such a band.
//! The high-pass and the dynamic EQ need evidence (a band well above the
//! target); a plan never "fixes" what is not broken.
//!
//! Reference mode is different in kind: the user named the sound they
//! want, so the curve matches it rather than nudging toward a range. The
//! slide reaches as far as the EQ does, the limits are those of a
//! corrective match EQ, a band far below the reference is lifted as far as
//! the limit allows, and the SIDE gets its own curve (the EQ then works on
//! mid and side), since a reference's image is a spectrum too: matching one
//! width figure while mono-folding the lows leaves the side curve further
//! from the reference than the mix started.

use crate::error::PlanError;
use crate::spectrum::{BandPowers, ToneCurves, curve_gain_db};
use crate::{Ctx, decision, fmt_hz, fmt_num};
use lacquer_core::analysis::{Analysis, SIX_BAND_EDGES_HZ};
use lacquer_core::chain::{
    DynamicEqBandSettings, DynamicEqSettings, EqSettings, HighPassSettings, HighPassSlope,
    MatchEqSettings, MatchPoint,
};
use lacquer_core::{Db, Decision, Hz, PlanStage, TonalDeltas};

/// Against a profile: differences smaller than this are left alone, and
/// larger ones are reduced by it (a soft deadband, so the curve has no
/// jumps).
pub const PROFILE_DEADBAND_DB: f64 = 0.5;
/// Against a reference: a single measured track is a sharper target.
pub const REFERENCE_DEADBAND_DB: f64 = 0.25;
/// Largest boost / cut toward a profile (mastering-sized moves).
pub const PROFILE_MAX_BOOST_DB: f64 = 4.0;
pub const PROFILE_MAX_CUT_DB: f64 = 5.0;
/// Largest boost / cut toward a reference, which the user asked to match:
/// a corrective match EQ's range, not a mastering nudge.
pub const REFERENCE_MAX_BOOST_DB: f64 = 18.0;
pub const REFERENCE_MAX_CUT_DB: f64 = 24.0;
/// Against a reference the slide is bounded only by the EQ's reach: a mix
/// whose bulk sits 20 dB off the reference (an ambient sub-bass piece
/// against a rock master) is matched on its shape, not left alone.
pub const REFERENCE_MAX_ALIGNMENT_DB: f64 = 24.0;
/// The curve follows the deltas from here to `MATCH_HIGH_HZ` (the span the
/// tonal match is judged on) and is held flat beyond.
pub const MATCH_LOW_HZ: f64 = 40.0;
pub const MATCH_HIGH_HZ: f64 = 16_000.0;
/// Extra curve point below `MATCH_LOW_HZ`: it carries a cut downward but
/// never a boost, so a bass boost does not reach into the infrasonic range.
const ANCHOR_HZ: f64 = 20.0;
/// Spread assumed where no profile gives one (reference mode below full
/// strength, a profile without spreads), dB.
pub const NOMINAL_SPREAD_DB: f64 = 2.0;
/// A curve whose largest move is under this is not worth a filter.
const MIN_CURVE_MOVE_DB: f64 = 0.1;
/// High-pass when the 20–25 Hz bands are this far above the target.
pub const RUMBLE_EXCESS_DB: f64 = 6.0;
/// Dynamic-EQ evidence: the broad band this far above the target.
pub const HARSH_EXCESS_DB: f64 = 2.5;
pub const MUD_EXCESS_DB: f64 = 2.5;
pub const SUB_EXCESS_DB: f64 = 3.0;
/// Deepest dynamic cut planned, and the smallest worth planning.
pub const DYNAMIC_EQ_MAX_CUT_DB: f64 = 4.0;
const MIN_DYNAMIC_CUT_DB: f64 = 0.5;
/// A peak follower on a band-passed signal reads about this far above the
/// band's RMS.
pub(crate) const DETECTOR_CREST_DB: f64 = 3.0;
/// Dynamic EQ starts cutting this far above the band's usual level on the
/// loud passages: it acts on the moments the band jumps out, not always.
const DYNAMIC_EQ_THRESHOLD_OVER_LOUD_DB: f64 = 1.0;

pub(crate) struct TonePlan {
    pub eq: EqSettings,
    pub dynamic_eq: DynamicEqSettings,
    /// The match curves as planned (flat when the EQ is off), for level
    /// estimates further down the chain.
    pub curves: ToneCurves,
    /// Predicted change of integrated loudness caused by the curve, LU.
    pub loudness_change_db: f64,
    /// The mix's band powers, when it has a tonal curve.
    pub powers: Option<BandPowers>,
}

/// Which broad band a frequency falls in, as the reasons name it.
pub(crate) fn band_name(f_hz: f64) -> &'static str {
    const NAMES: [&str; 6] = ["sub", "bass", "low-mid", "mid", "presence", "air"];
    if f_hz < SIX_BAND_EDGES_HZ[0].0 {
        return NAMES[0];
    }
    SIX_BAND_EDGES_HZ
        .iter()
        .position(|&(_, high)| f_hz < high)
        .map_or(NAMES[5], |i| NAMES[i])
}

/// How much louder (dB) the loud passages are than the integrated level:
/// detectors act on those, the tonal curve describes the average.
pub(crate) fn loud_passage_offset_db(analysis: &Analysis) -> f64 {
    const MAX_OFFSET_DB: f64 = 6.0;
    match (
        analysis.dynamics.short_term_p90_lufs,
        analysis.loudness.integrated_lufs,
    ) {
        (Some(p90), Some(integrated)) => (p90.0 - integrated.0).clamp(0.0, MAX_OFFSET_DB),
        _ => 0.0,
    }
}

fn validate(tonal: &TonalDeltas) -> Result<(), PlanError> {
    let bad = |problem: String| PlanError::InvalidDeltas { problem };
    if tonal.third_octave_centres_hz.len() != tonal.mid_db.len() {
        return Err(bad(format!(
            "{} centres but {} MID deltas",
            tonal.third_octave_centres_hz.len(),
            tonal.mid_db.len()
        )));
    }
    let mut previous = 0.0;
    for (f, d) in tonal.third_octave_centres_hz.iter().zip(&tonal.mid_db) {
        if !(f.0.is_finite() && f.0 > previous && d.0.is_finite()) {
            return Err(bad(format!(
                "band {} Hz / {} dB: centres must ascend and deltas be finite",
                f.0, d.0
            )));
        }
        previous = f.0;
    }
    let bands = tonal.bands_db.to_array();
    if bands.iter().any(|d| !d.0.is_finite()) {
        return Err(bad("a broad-band delta is not finite".to_owned()));
    }
    Ok(())
}

/// `gain_to_target_db`: the level change the loudness target asks of the
/// mix (target − mix integrated loudness).
pub(crate) fn plan(
    ctx: &Ctx<'_>,
    gain_to_target_db: f64,
    decisions: &mut Vec<Decision>,
) -> Result<TonePlan, PlanError> {
    let powers = ctx.analysis.tonal.as_ref().map(BandPowers::from_tonal);
    let mut out = TonePlan {
        eq: EqSettings::default(),
        dynamic_eq: DynamicEqSettings::default(),
        curves: ToneCurves::default(),
        loudness_change_db: 0.0,
        powers,
    };
    let Some(tonal) = ctx.deltas.tonal.as_ref() else {
        decisions.push(decision(
            PlanStage::Eq,
            format!(
                "tone left alone: no tonal comparison with {} (no tonal curve measured)",
                ctx.target_name
            ),
        ));
        return Ok(out);
    };
    validate(tonal)?;
    if ctx.strength <= 0.0 {
        decisions.push(decision(
            PlanStage::Eq,
            "tone left alone: intensity 0 % (loudness only)".to_owned(),
        ));
        return Ok(out);
    }

    let offset_db = alignment_offset_db(ctx, tonal);
    let curves = ToneCurves {
        mid: match_curve(ctx, tonal, offset_db, decisions),
        side: side_curve(ctx, tonal, offset_db, decisions),
    };
    let side_moves = curves.side.as_ref().is_some_and(|s| !s.is_empty());
    if !curves.mid.is_empty() || side_moves {
        out.eq.enabled = true;
        out.eq.match_eq = MatchEqSettings {
            enabled: true,
            curve: curves.mid.clone(),
            side_curve: curves.side.clone(),
            max_boost_db: max_boost(ctx),
            max_cut_db: max_cut(ctx),
            smoothing_octaves: 1.0 / 3.0,
        };
    }
    if let Some(high_pass) = rumble_high_pass(ctx, tonal, decisions)
        .or_else(|| dc_blocking_high_pass(ctx.analysis, gain_to_target_db, decisions))
    {
        out.eq.enabled = true;
        out.eq.high_pass = high_pass;
    }
    if let Some(powers) = &out.powers {
        out.loudness_change_db = powers.loudness_change_db(&curves);
        out.dynamic_eq = dynamic_eq(ctx, tonal, offset_db, powers, &curves, decisions);
    }
    out.curves = curves;
    Ok(out)
}

fn max_boost(ctx: &Ctx<'_>) -> f64 {
    if ctx.reference_mode {
        REFERENCE_MAX_BOOST_DB
    } else {
        PROFILE_MAX_BOOST_DB
    }
}

fn max_cut(ctx: &Ctx<'_>) -> f64 {
    if ctx.reference_mode {
        REFERENCE_MAX_CUT_DB
    } else {
        PROFILE_MAX_CUT_DB
    }
}

fn deadband_db(ctx: &Ctx<'_>) -> f64 {
    if ctx.reference_mode {
        REFERENCE_DEADBAND_DB
    } else {
        PROFILE_DEADBAND_DB
    }
}

/// The value of the 1/3 octave centred at `f_hz` (nominal centres differ
/// from exact ones by under 2 %), when `centres` has that band.
fn band_at<'a, T>(centres: &[Hz], values: &'a [T], f_hz: f64) -> Option<&'a T> {
    const SAME_CENTRE_RELATIVE: f64 = 0.02;
    centres
        .iter()
        .zip(values)
        .find(|(c, _)| ((c.0 - f_hz) / f_hz).abs() < SAME_CENTRE_RELATIVE)
        .map(|(_, v)| v)
}

/// The genre's spread at `f_hz`, when the profile gives one.
fn profile_spread_db(ctx: &Ctx<'_>, f_hz: f64) -> Option<f64> {
    let tonal = &ctx.profile?.tonal;
    band_at(&tonal.third_octave_centres_hz, &tonal.mid_spread_db, f_hz)
        .map(|s| s.0)
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// How close to the target a band must come before it is left alone, dB:
/// the deadband plus `(1 − s)/s` of the genre's spread there (nominal when
/// the profile gives none), `s` the strength (intensity). All of the spread
/// at 50 %, none at 100 %, growing without bound toward 0 % so the knob
/// reaches "no moves" smoothly.
fn tolerance_db(ctx: &Ctx<'_>, spread_db: Option<f64>) -> f64 {
    let spread = spread_db.unwrap_or(NOMINAL_SPREAD_DB);
    deadband_db(ctx) + spread * (1.0 - ctx.strength) / ctx.strength
}

struct BandMove {
    f_hz: f64,
    delta_db: f64,
    gain_db: f64,
    tolerance_db: f64,
    /// The genre's spread, when the profile gave it.
    spread_db: Option<f64>,
    limited: bool,
    /// So far below the target that a mastering boost could not get it
    /// there: the mix has little in that band to lift, and lifting it
    /// would mostly raise noise. Left alone.
    absent: bool,
    /// Whether the deltas compared this band at all.
    compared: bool,
}

/// Each band's move, split into (compared, uncompared). Only compared
/// bands become curve points (the curve is interpolated across the
/// others): an uncompared band's delta reads 0, and judged with the slide
/// it would turn into a move no measurement asked for.
fn compared_moves(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    channel: Channel,
    offset_db: f64,
) -> (Vec<BandMove>, Vec<BandMove>) {
    band_moves(ctx, tonal, channel, offset_db)
        .into_iter()
        .partition(|m| m.compared)
}

/// Which curve a set of moves is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Mid,
    Side,
}

/// Each band's move toward the target, judged with `offset_db` added to
/// every delta (`deltas`: MID or SIDE, on the tonal centres).
fn band_moves(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    channel: Channel,
    offset_db: f64,
) -> Vec<BandMove> {
    let (boost_limit, cut_limit) = (max_boost(ctx), max_cut(ctx));
    let deadband = deadband_db(ctx);
    let deltas: &[Db] = match channel {
        Channel::Mid => &tonal.mid_db,
        Channel::Side => &tonal.side_db,
    };
    // A reference is matched, so a band far below it is lifted as far as
    // the EQ goes, unless (SIDE) the mix has next to no stereo content
    // there: lifting that would raise little but noise and phasiness.
    let skip_unreachable = |f_hz: f64| match channel {
        Channel::Mid => !ctx.reference_mode,
        Channel::Side => !ctx.reference_mode || side_negligible(ctx.analysis, f_hz),
    };
    tonal
        .third_octave_centres_hz
        .iter()
        .zip(deltas)
        .enumerate()
        .filter(|(_, (f, _))| (MATCH_LOW_HZ..=MATCH_HIGH_HZ).contains(&f.0))
        .map(|(i, (f, d))| {
            let spread_db = profile_spread_db(ctx, f.0);
            let tolerance_db = tolerance_db(ctx, spread_db);
            let judged = d.0 + offset_db;
            let wanted = (judged.abs() - tolerance_db).max(0.0);
            let limit = if judged > 0.0 { boost_limit } else { cut_limit };
            // Judged without the intensity's tolerance, so that more
            // intensity never turns a boost off.
            let absent = judged > 0.0 && judged - deadband > boost_limit && skip_unreachable(f.0);
            BandMove {
                f_hz: f.0,
                delta_db: d.0,
                gain_db: if absent {
                    0.0
                } else {
                    wanted.min(limit).copysign(judged)
                },
                tolerance_db,
                spread_db,
                limited: !absent && wanted > limit,
                absent,
                compared: match channel {
                    Channel::Mid => tonal.mid_is_compared(i),
                    Channel::Side => tonal.side_is_compared(i),
                },
            }
        })
        .collect()
}

/// The match-EQ curve for `moves`: a point per band and an anchor below.
fn curve_of(moves: &[BandMove]) -> Vec<MatchPoint> {
    let mut curve = Vec::with_capacity(moves.len() + 1);
    let first_gain = moves.first().map_or(0.0, |m| m.gain_db);
    curve.push(MatchPoint {
        frequency_hz: ANCHOR_HZ,
        gain_db: first_gain.min(0.0),
    });
    curve.extend(moves.iter().map(|m| MatchPoint {
        frequency_hz: m.f_hz,
        gain_db: m.gain_db,
    }));
    curve
}

/// Tonal curves are compared at equal loudness, but loudness lives in the
/// mids: a mix heavy there reads as "mids above, everything else below",
/// and cutting the mids alone would lift everything else once the master
/// is brought back to its target. So the target is first slid onto the
/// mix the way an engineer overlays two spectra, on their bulk: by the
/// median difference over the matched bands (robust to the few bands that
/// are far off, which are the ones to move). Moves are judged against the
/// slid target. A master made this way is slid the same way the second
/// time, so what was brought within tolerance stays there.
fn alignment_offset_db(ctx: &Ctx<'_>, tonal: &TonalDeltas) -> f64 {
    let mut deltas: Vec<f64> = tonal
        .third_octave_centres_hz
        .iter()
        .zip(&tonal.mid_db)
        .enumerate()
        .filter(|&(i, (f, _))| {
            (MATCH_LOW_HZ..=MATCH_HIGH_HZ).contains(&f.0) && tonal.mid_is_compared(i)
        })
        .map(|(_, (_, d))| d.0)
        .collect();
    deltas.sort_by(f64::total_cmp);
    let n = deltas.len();
    let median = match n {
        0 => 0.0,
        _ if n % 2 == 1 => deltas[n / 2],
        _ => 0.5 * (deltas[n / 2 - 1] + deltas[n / 2]),
    };
    let bound = if ctx.reference_mode {
        REFERENCE_MAX_ALIGNMENT_DB
    } else {
        MAX_ALIGNMENT_DB
    };
    (-median).clamp(-bound, bound)
}

/// The alignment never slides the target further than this, dB.
pub const MAX_ALIGNMENT_DB: f64 = 6.0;

fn match_curve(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    offset_db: f64,
    decisions: &mut Vec<Decision>,
) -> Vec<MatchPoint> {
    let (moves, _) = compared_moves(ctx, tonal, Channel::Mid, offset_db);

    let largest = moves
        .iter()
        .max_by(|a, b| a.gain_db.abs().total_cmp(&b.gain_db.abs()));
    if largest.is_none_or(|m| m.gain_db.abs() < MIN_CURVE_MOVE_DB) {
        let biggest_delta = tonal
            .third_octave_centres_hz
            .iter()
            .zip(&tonal.mid_db)
            .filter(|(f, _)| (MATCH_LOW_HZ..=MATCH_HIGH_HZ).contains(&f.0))
            .max_by(|a, b| a.1.0.abs().total_cmp(&b.1.0.abs()));
        let detail = biggest_delta.map_or_else(String::new, |(f, d)| {
            format!(
                " (largest difference {:.1} dB at {}, tolerance there {:.1} dB)",
                d.0.abs(),
                fmt_hz(f.0),
                tolerance_db(ctx, profile_spread_db(ctx, f.0))
            )
        });
        decisions.push(decision(
            PlanStage::Eq,
            format!(
                "tone left alone: every 1/3 octave {}–{} within its tolerance of {}{detail}",
                fmt_hz(MATCH_LOW_HZ),
                fmt_hz(MATCH_HIGH_HZ),
                ctx.target_name
            ),
        ));
        return Vec::new();
    }

    describe_moves(ctx, &moves, Channel::Mid, decisions);
    describe_absent(ctx, &moves, Channel::Mid, decisions);
    if offset_db.abs() >= OFFSET_NOTED_DB {
        decisions.push(decision(
            PlanStage::Eq,
            format!(
                "tone judged against {} slid {offset_db:+.1} dB onto the mix (their median difference): at equal loudness alone, the mix's weight where loudness lives would read as every other band being off",
                ctx.target_name
            ),
        ));
    }
    curve_of(&moves)
}

fn channel_prefix(channel: Channel) -> &'static str {
    match channel {
        Channel::Mid => "",
        Channel::Side => "SIDE ",
    }
}

/// Reference mode only, both tracks stereo: the SIDE curve, judged on the
/// same slid target as the MID (the slide is a level, and MID and SIDE
/// share it). `Some(empty)` when the SIDE is already within tolerance: the
/// EQ must still keep it apart from the MID's moves.
fn side_curve(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    offset_db: f64,
    decisions: &mut Vec<Decision>,
) -> Option<Vec<MatchPoint>> {
    let reference = ctx.reference.filter(|_| ctx.reference_mode)?;
    let stereo = |a: &Analysis| a.source_channels >= 2 && !a.health.mono_in_stereo;
    if !stereo(ctx.analysis) || !stereo(reference) || tonal.side_db.len() != tonal.mid_db.len() {
        return None;
    }
    if tonal.side_db.iter().any(|d| !d.0.is_finite()) {
        return None;
    }
    let (mut moves, uncompared) = compared_moves(ctx, tonal, Channel::Side, offset_db);
    // Where the reference has no SIDE at all but the mix has (mono lows in
    // the reference), there is nothing to compare; the match is as deep a
    // cut as the EQ gives.
    for mut m in uncompared {
        if side_is_empty(reference, m.f_hz) && !side_is_empty(ctx.analysis, m.f_hz) {
            m.gain_db = -max_cut(ctx) * ctx.strength;
            m.absent = false;
            m.limited = true;
            moves.push(m);
        }
    }
    moves.sort_by(|a, b| a.f_hz.total_cmp(&b.f_hz));
    if moves.iter().all(|m| m.gain_db.abs() < MIN_CURVE_MOVE_DB) {
        decisions.push(decision(
            PlanStage::Eq,
            format!(
                "SIDE left alone: every 1/3 octave {}–{} within its tolerance of {} (the EQ works on mid and side so it stays so)",
                fmt_hz(MATCH_LOW_HZ),
                fmt_hz(MATCH_HIGH_HZ),
                ctx.target_name
            ),
        ));
        return Some(Vec::new());
    }
    describe_moves(ctx, &moves, Channel::Side, decisions);
    describe_absent(ctx, &moves, Channel::Side, decisions);
    Some(curve_of(&moves))
}

/// A SIDE band this far under the MID band carries no stereo content worth
/// lifting (a mono source panned, or the reverb tail of one).
pub const SIDE_NEGLIGIBLE_BELOW_MID_DB: f64 = 30.0;

/// Whether the mix's SIDE at `f_hz` is negligible beside its MID.
fn side_negligible(analysis: &Analysis, f_hz: f64) -> bool {
    let Some(tonal) = analysis.tonal.as_ref() else {
        return true;
    };
    let centres = &tonal.third_octave_centres_hz;
    match (
        band_at(centres, &tonal.mid_db, f_hz),
        band_at(centres, &tonal.side_db, f_hz),
    ) {
        (Some(mid), Some(side)) => side.0 - mid.0 < -SIDE_NEGLIGIBLE_BELOW_MID_DB,
        _ => true,
    }
}

/// Whether a track's SIDE holds nothing in the 1/3 octave at `f_hz` (at
/// the analysis floor, or further below its loudness than any programme).
fn side_is_empty(analysis: &Analysis, f_hz: f64) -> bool {
    const EMPTY_BELOW_LOUDNESS_DB: f64 = 100.0;
    let (Some(tonal), Some(loudness)) =
        (analysis.tonal.as_ref(), analysis.loudness.integrated_lufs)
    else {
        return false;
    };
    band_at(&tonal.third_octave_centres_hz, &tonal.side_db, f_hz)
        .is_some_and(|d| d.0 <= tonal.floor_db.0 || d.0 - loudness.0 < -EMPTY_BELOW_LOUDNESS_DB)
}

/// An alignment at least this large is explained in the plan.
const OFFSET_NOTED_DB: f64 = 0.3;

/// One decision per region of the curve that moves one way: the peak of
/// the region, what the mix measured there and the target.
fn describe_moves(
    ctx: &Ctx<'_>,
    moves: &[BandMove],
    channel: Channel,
    decisions: &mut Vec<Decision>,
) {
    let mut start = 0;
    while start < moves.len() {
        let sign = moves[start].gain_db.signum();
        if moves[start].gain_db.abs() < MIN_CURVE_MOVE_DB {
            start += 1;
            continue;
        }
        let mut end = start;
        while end + 1 < moves.len()
            && moves[end + 1].gain_db.abs() >= MIN_CURVE_MOVE_DB
            && moves[end + 1].gain_db.signum() == sign
        {
            end += 1;
        }
        let region = &moves[start..=end];
        if let Some(peak) = region
            .iter()
            .max_by(|a, b| a.gain_db.abs().total_cmp(&b.gain_db.abs()))
        {
            let verb = if peak.gain_db > 0.0 { "boost" } else { "cut" };
            let side = if peak.delta_db > 0.0 {
                "below"
            } else {
                "above"
            };
            let span = if region.len() > 1 {
                format!(
                    ", {}–{}",
                    fmt_hz(region[0].f_hz),
                    fmt_hz(region[region.len() - 1].f_hz)
                )
            } else {
                String::new()
            };
            let mut notes = Vec::new();
            if let Some(spread) = peak.spread_db
                && peak.tolerance_db > PROFILE_DEADBAND_DB + 0.05
            {
                notes.push(format!(
                    "to within {:.1} dB: the genre's masters spread {spread:.1} dB there",
                    peak.tolerance_db
                ));
            }
            if peak.limited {
                notes.push(format!(
                    "limited to {} dB",
                    fmt_num(if peak.gain_db > 0.0 {
                        max_boost(ctx)
                    } else {
                        max_cut(ctx)
                    })
                ));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            decisions.push(decision(
                PlanStage::Eq,
                format!(
                    "{}{verb} {:.1} dB at {}{span}: {} {:.1} dB {side} {}{notes}",
                    channel_prefix(channel),
                    peak.gain_db.abs(),
                    fmt_hz(peak.f_hz),
                    band_name(peak.f_hz),
                    peak.delta_db.abs(),
                    ctx.target_name
                ),
            ));
        }
        start = end + 1;
    }
}

/// One decision per run of bands left alone because a boost could not
/// reach the target there.
fn describe_absent(
    ctx: &Ctx<'_>,
    moves: &[BandMove],
    channel: Channel,
    decisions: &mut Vec<Decision>,
) {
    for run in moves.chunk_by(|a, b| a.absent == b.absent) {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        if !first.absent {
            continue;
        }
        let deepest = run
            .iter()
            .max_by(|a, b| a.delta_db.total_cmp(&b.delta_db))
            .unwrap_or(first);
        let span = if run.len() > 1 {
            format!("{}–{}", fmt_hz(first.f_hz), fmt_hz(last.f_hz))
        } else {
            fmt_hz(first.f_hz)
        };
        decisions.push(decision(
            PlanStage::Eq,
            format!(
                "{}{span} left alone: {} up to {:.1} dB below {}, more than a {} dB mastering boost should lift (a gap that large is the mix's to fill; boosting it would mostly raise noise)",
                channel_prefix(channel),
                band_name(deepest.f_hz),
                deepest.delta_db,
                ctx.target_name,
                fmt_num(max_boost(ctx))
            ),
        ));
    }
}

fn delta_at(tonal: &TonalDeltas, f_hz: f64) -> Option<f64> {
    band_at(&tonal.third_octave_centres_hz, &tonal.mid_db, f_hz).map(|d| d.0)
}

/// A 24 dB/oct high-pass when the mix carries far more infrasonic energy
/// (20–25 Hz) than the target: rumble, not music.
fn rumble_high_pass(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    decisions: &mut Vec<Decision>,
) -> Option<HighPassSettings> {
    const RUMBLE_CENTRES_HZ: [f64; 2] = [20.0, 25.0];
    const EXTENDED_CENTRE_HZ: f64 = 31.5;
    let excesses: Vec<f64> = RUMBLE_CENTRES_HZ
        .iter()
        .filter_map(|&f| delta_at(tonal, f))
        .map(|d| -d)
        .collect();
    if excesses.len() < RUMBLE_CENTRES_HZ.len() || excesses.iter().any(|&e| e < RUMBLE_EXCESS_DB) {
        return None;
    }
    let reaches_31 = delta_at(tonal, EXTENDED_CENTRE_HZ).is_some_and(|d| -d >= RUMBLE_EXCESS_DB);
    let corner_hz = if reaches_31 { 30.0 } else { 25.0 };
    let excess = excesses.iter().copied().fold(f64::INFINITY, f64::min);
    decisions.push(decision(
        PlanStage::Eq,
        format!(
            "high-pass {} (24 dB/oct): 20–{} rumble at least {excess:.1} dB above {}",
            fmt_hz(corner_hz),
            if reaches_31 { "31.5 Hz" } else { "25 Hz" },
            ctx.target_name
        ),
    ));
    Some(HighPassSettings {
        enabled: true,
        frequency_hz: corner_hz,
        slope: HighPassSlope::Db24PerOctave,
    })
}

/// Corner of the DC-blocking high-pass: below the lowest 1/3-octave band the
/// tonal curve measures, so the music's own low end is left alone.
pub const DC_BLOCK_HZ: f64 = 10.0;

/// A gentle high-pass when the input carries a DC offset that would reach
/// the level the analysis warns about (`DC_OFFSET_WARN_DBFS`, −60 dBFS)
/// once the gain to the loudness target is applied (`gain_to_target_db`,
/// counted only when it raises the level): DC eats limiter headroom on one
/// side only, and the gate checks the master's. A second-order high-pass
/// has a zero at DC.
fn dc_blocking_high_pass(
    analysis: &Analysis,
    gain_to_target_db: f64,
    decisions: &mut Vec<Decision>,
) -> Option<HighPassSettings> {
    let worst_dbfs = analysis
        .health
        .dc_offset
        .iter()
        .filter(|o| o.is_finite() && **o != 0.0)
        .map(|&o| Db::from_amplitude(o).0)
        .fold(f64::NEG_INFINITY, f64::max);
    let lift_db = gain_to_target_db.max(0.0);
    if worst_dbfs + lift_db < lacquer_core::analysis::DC_OFFSET_WARN_DBFS {
        return None;
    }
    let after_gain = if lift_db > 0.0 {
        format!(
            " ({:.1} dBFS after the {lift_db:.1} dB to the loudness target)",
            worst_dbfs + lift_db
        )
    } else {
        String::new()
    };
    decisions.push(decision(
        PlanStage::Eq,
        format!(
            "high-pass {} (12 dB/oct) to remove DC: the input's channel mean reaches {worst_dbfs:.1} dBFS{after_gain}",
            fmt_hz(DC_BLOCK_HZ)
        ),
    ));
    Some(HighPassSettings {
        enabled: true,
        frequency_hz: DC_BLOCK_HZ,
        slope: HighPassSlope::Db12PerOctave,
    })
}

/// Octaves between the −3 dB points of a band-pass with this Q.
fn bandwidth_octaves(q: f64) -> f64 {
    2.0 / std::f64::consts::LN_2 * (1.0 / (2.0 * q)).asinh()
}

/// Evidence is judged on the same slid target as the match EQ
/// (`offset_db`), so a band the EQ brought within tolerance does not keep
/// triggering a dynamic cut on the next pass.
fn dynamic_eq(
    ctx: &Ctx<'_>,
    tonal: &TonalDeltas,
    offset_db: f64,
    powers: &BandPowers,
    curves: &ToneCurves,
    decisions: &mut Vec<Decision>,
) -> DynamicEqSettings {
    type Preset = fn(f64, f64) -> DynamicEqBandSettings;
    let bands = &tonal.bands_db;
    let candidates: [(&str, &str, f64, f64, Preset); 3] = [
        (
            "sub build-up",
            "sub",
            bands.sub.0,
            SUB_EXCESS_DB,
            DynamicEqBandSettings::sub,
        ),
        (
            "mud",
            "low-mid",
            bands.low_mid.0,
            MUD_EXCESS_DB,
            DynamicEqBandSettings::mud,
        ),
        (
            "harshness",
            "presence",
            bands.presence.0,
            HARSH_EXCESS_DB,
            DynamicEqBandSettings::harshness,
        ),
    ];
    let loud_offset = loud_passage_offset_db(ctx.analysis);
    let mut settings = DynamicEqSettings::default();
    for (problem, band, delta, needed, preset) in candidates {
        let excess = -(delta + offset_db);
        if excess < needed {
            continue;
        }
        let cut = excess.min(DYNAMIC_EQ_MAX_CUT_DB) * ctx.strength;
        if cut < MIN_DYNAMIC_CUT_DB {
            continue;
        }
        let shape = preset(0.0, 0.0);
        let half = bandwidth_octaves(shape.q) / 2.0;
        let (low, high) = (
            shape.frequency_hz * 2f64.powf(-half),
            shape.frequency_hz * 2f64.powf(half),
        );
        let Some(level) = powers.level_db(low, high, curves, |_| 1.0) else {
            continue;
        };
        let threshold =
            (level + DETECTOR_CREST_DB + loud_offset + DYNAMIC_EQ_THRESHOLD_OVER_LOUD_DB)
                .clamp(-120.0, 24.0);
        let static_cut = -curve_gain_db(&curves.mid, shape.frequency_hz);
        let static_note = if static_cut > 0.05 {
            format!(", on top of the static {static_cut:.1} dB cut")
        } else {
            String::new()
        };
        decisions.push(decision(
            PlanStage::DynamicEq,
            format!(
                "{problem} control at {}: up to {cut:.1} dB when the band passes {threshold:.1} dBFS ({} dB over its usual loud-passage peak); {band} {excess:.1} dB above {} (evidence ≥ {}){static_note}",
                fmt_hz(shape.frequency_hz),
                fmt_num(DYNAMIC_EQ_THRESHOLD_OVER_LOUD_DB),
                ctx.target_name,
                fmt_num(needed)
            ),
        ));
        settings.bands.push(preset(threshold, cut));
    }
    settings.enabled = !settings.bands.is_empty();
    settings
}
