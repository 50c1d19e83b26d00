//! The last two stages: the gain that drives the limiter and the limiter.
//!
//! The gain is only a starting point: the engine's loop re-measures and
//! moves it until the output lands on the target. A good start saves loop
//! iterations, so it accounts for what the planner already knows: the
//! loudness the EQ curve adds or removes and the compression it planned.
//! Limiter timing follows the material: dense transients get a short
//! lookahead and release (punch kept, no pumping between hits), sparse
//! material a longer, smoother one.

use crate::dynamics::{DynamicsPlan, limiter_reduction_db};
use crate::tone::TonePlan;
use crate::{Ctx, decision, fmt_num};
use lacquer_core::chain::LimiterSettings;
use lacquer_core::{Decision, Intent, LoudnessTarget, PlanStage};

/// Integrated loudness the limiter costs for `peak_reduction_db` of peak
/// reduction, LU: little per dB while it only shaves short peaks, more once
/// it digs into the body of the music. The two coefficients are fitted to
/// two runs of the testkit demo mix through the DSP chain: 3.7 dB of peak
/// reduction cost 0.8 LU; about 10.5 dB cost about 3.8 LU (that run had the
/// loud intent's compressors in front, so some of their cost is in it).
/// Real material will differ: this is only the engine loop's starting point
/// (`tests/platforms.rs` prints how far off it starts).
pub fn limiter_loudness_cost_db(peak_reduction_db: f64) -> f64 {
    const PER_DB: f64 = 0.14;
    const PER_DB_SQUARED: f64 = 0.02;
    let r = peak_reduction_db.max(0.0);
    PER_DB * r + PER_DB_SQUARED * r * r
}

/// The DSP gain stage's accepted range, dB.
pub const GAIN_RANGE_DB: (f64, f64) = (-60.0, 36.0);
/// Onsets per second at or above which material counts as dense.
pub const DENSE_TRANSIENTS_PER_SECOND: f64 = 3.0;
/// A genre whose masters' typical crest is at most this is limited densely.
pub const DENSE_GENRE_CREST_DB: f64 = 9.0;
/// A genre whose masters' typical crest is at least this is kept open.
pub const OPEN_GENRE_CREST_DB: f64 = 14.0;
/// Onsets per second at or below which material counts as sparse.
pub const SPARSE_TRANSIENTS_PER_SECOND: f64 = 1.0;

pub(crate) struct OutputPlan {
    pub limiter: LimiterSettings,
    pub gain_db: f64,
}

pub(crate) fn plan(
    ctx: &Ctx<'_>,
    target: &LoudnessTarget,
    tone: &TonePlan,
    dynamics: &DynamicsPlan,
    decisions: &mut Vec<Decision>,
) -> OutputPlan {
    let to_target = target.integrated_lufs.0 - ctx.mix_lufs;
    let reduction = limiter_reduction_db(ctx, target);
    let limiter_loss = limiter_loudness_cost_db(reduction.unwrap_or(0.0));
    let raw_gain = to_target - tone.loudness_change_db + dynamics.loudness_loss_db + limiter_loss;
    let (lo, hi) = GAIN_RANGE_DB;
    let gain_db = raw_gain.clamp(lo, hi);
    let mut parts = vec![format!("{to_target:+.1} LU to the target")];
    if tone.loudness_change_db <= -0.05 {
        parts.push(format!(
            "{:+.1} dB to make up what the EQ takes",
            -tone.loudness_change_db
        ));
    } else if tone.loudness_change_db >= 0.05 {
        parts.push(format!(
            "{:+.1} dB for what the EQ adds",
            -tone.loudness_change_db
        ));
    }
    if dynamics.loudness_loss_db >= 0.05 {
        parts.push(format!(
            "{:+.1} dB the compression takes",
            dynamics.loudness_loss_db
        ));
    }
    if limiter_loss >= 0.05 {
        parts.push(format!(
            "{limiter_loss:+.1} dB the limiter's peak reduction costs"
        ));
    }
    let mut line = format!(
        "gain {gain_db:+.1} dB into the limiter ({})",
        parts.join(", ")
    );
    if gain_db != raw_gain {
        line.push_str(&format!(
            "; {raw_gain:+.1} dB needed but the gain stage stops at {}…{} dB, so the target cannot be reached",
            fmt_num(lo),
            fmt_num(hi)
        ));
    } else {
        line.push_str("; the engine's loop refines it");
    }
    decisions.push(decision(PlanStage::Gain, line));

    let density = ctx.analysis.dynamics.transient_density_per_second;
    let loud = ctx.options.intent == Intent::Loud;
    // The genre's masters' typical crest says how the genre is limited:
    // dense genres (low crest) take fast, punchy timing; open ones smooth.
    let genre_crest = ctx.profile.map(|p| p.dynamics.crest_db.typical);
    let dense_genre = genre_crest.is_some_and(|c| c <= DENSE_GENRE_CREST_DB);
    let open_genre = genre_crest.is_some_and(|c| c >= OPEN_GENRE_CREST_DB);
    let mut why = vec![format!("{density:.1} onsets/s")];
    if let Some(crest) = genre_crest {
        why.push(format!(
            "{}'s masters crest {} dB",
            ctx.target_name,
            fmt_num(crest)
        ));
    }
    if loud {
        why.push("loud intent".to_owned());
    }
    let (lookahead_ms, release_ms, sustained_release_ms, character) =
        if density >= DENSE_TRANSIENTS_PER_SECOND || loud || dense_genre {
            (
                1.5,
                40.0,
                500.0,
                "dense: short lookahead and release keep the punch",
            )
        } else if density <= SPARSE_TRANSIENTS_PER_SECOND || open_genre {
            (3.0, 100.0, 900.0, "open: a longer, smoother release")
        } else {
            (2.0, 60.0, 600.0, "moderate: standard timing")
        };
    let expected = match reduction {
        Some(r) if r >= 0.05 => format!(", about {r:.1} dB of peak reduction expected"),
        Some(_) => ", no peak reduction expected at the target".to_owned(),
        None => String::new(),
    };
    decisions.push(decision(
        PlanStage::Limiter,
        format!(
            "true-peak limiter at {:.1} dBTP, lookahead {} ms, release {} / {} ms ({}; {character}){expected}",
            target.ceiling_dbtp.0,
            fmt_num(lookahead_ms),
            fmt_num(release_ms),
            fmt_num(sustained_release_ms),
            why.join(", "),
        ),
    ));
    OutputPlan {
        limiter: LimiterSettings {
            enabled: true,
            ceiling_dbtp: target.ceiling_dbtp.0,
            lookahead_ms,
            release_ms,
            sustained_release_ms,
        },
        gain_db,
    }
}
