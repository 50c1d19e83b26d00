//! The planner: a pure function from measurements to chain settings, with a
//! reason for every decision.
//!
//! Why a pure function: a plan must be explainable and reproducible. Given
//! the same analysis, scores, deltas and knobs it returns the same
//! [`Plan`] (no I/O, no clocks, no hash-map order), so a plan can be
//! snapshot-tested, stored in the report and replayed. Every non-neutral
//! setting comes with a [`Decision`] quoting the measurement and the target
//! that caused it, and the notable things left alone say why.
//!
//! Why conservative: mastering moves are small. Tonal moves stop at the edge
//! of a tolerance around the target (a deadband, widened as the intensity
//! knob falls and where the genre's masters disagree) and stay within a few
//! dB; compression is planned only where the mix's dynamics lie outside the
//! target's ranges. A mix that already matches its target gets a (near)
//! neutral plan, and a master made by the planner lies inside every
//! tolerance, so mastering a master again changes little.
//!
//! The engine calls [`choose_profile_blend`] (which profiles, with what
//! weights), builds the blended profile and the deltas, then [`plan`]. The
//! plan's `gain_db` is a starting estimate; the engine's loudness loop
//! refines it.

mod blend;
mod dynamics;
mod error;
mod output;
mod polarity;
mod spectrum;
mod stereo;
mod target;
mod tone;

pub use blend::{
    BLEND_MASS_COVERAGE, CONFIDENT_TOP_PROBABILITY, MAX_BLENDED_PROFILES, MIN_BLEND_PROBABILITY,
    choose_profile_blend,
};
pub use error::PlanError;
pub use output::{GAIN_RANGE_DB, limiter_loudness_cost_db};
pub use polarity::{INVERTED_POLARITY_CORRELATION, PolarityFix, detect_inverted_polarity};
pub use target::{
    CEILING_RANGE_DBTP, LOUD_TARGET_RANGE_LUFS, TARGET_LUFS_RANGE, WIDTH_RANGE_PERCENT,
};
pub use tone::{
    DC_BLOCK_HZ, PROFILE_MAX_BOOST_DB, PROFILE_MAX_CUT_DB, REFERENCE_MAX_BOOST_DB,
    REFERENCE_MAX_CUT_DB,
};

use lacquer_core::{
    Analysis, ChainSettings, Decision, Deltas, GenreScores, Intent, Plan, PlanOptions, PlanStage,
    Platform, Profile,
};

/// Everything the planner reads. All borrowed: the planner keeps nothing.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The mix as measured; after the polarity fix when `polarity` is given.
    pub analysis: &'a Analysis,
    /// A polarity flip found by [`detect_inverted_polarity`] on the mix as
    /// it came in. The caller applies it and measures again before planning.
    pub polarity: Option<&'a PolarityFix>,
    /// The classifier's scores, when it ran (quoted in the reasons).
    pub genre: Option<&'a GenreScores>,
    /// The (blended) target profile; `None` in reference mode. Without one
    /// in streaming/loud mode the plan only sets loudness and peaks.
    pub profile: Option<&'a Profile>,
    /// The profiles behind `profile` and their weights (from
    /// [`choose_profile_blend`]); empty in reference mode.
    pub profile_blend: &'a [(String, f64)],
    /// Mix vs `profile` (or vs the reference), sign target − mix.
    pub deltas: &'a Deltas,
    /// The reference track as measured (reference intent only).
    pub reference: Option<&'a Analysis>,
    /// The delivery platform (loudness target and ceiling).
    pub platform: &'a Platform,
    pub options: &'a PlanOptions,
}

/// Plans the mastering chain for one mix.
///
/// Errors: a knob out of range (intensity 0–100 %, width 0–200 %, target
/// −40…−5 LUFS, ceiling −10…0 dBTP), a platform with an impossible ceiling
/// or target, a silent mix, the reference intent without a (non-silent)
/// reference, malformed deltas or blend weights.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    target::validate_options(input.options)?;
    target::validate_platform(input.platform)?;
    blend::validate_blend(input.profile_blend)?;
    let mix_lufs = input
        .analysis
        .loudness
        .integrated_lufs
        .ok_or(PlanError::SilentMix)?
        .0;
    if !mix_lufs.is_finite() {
        return Err(PlanError::InvalidAnalysis {
            problem: format!("integrated loudness {mix_lufs} LUFS is not a finite number"),
        });
    }
    let ctx = Ctx::new(input, mix_lufs)?;
    let mut decisions = Vec::new();

    if !ctx.reference_mode {
        decisions.extend(blend::describe(
            input.genre,
            &input.options.genre,
            input.profile_blend,
        ));
    }
    let loudness_target = target::choose(&ctx, &mut decisions)?;
    let polarity = polarity::plan(
        input.analysis,
        input.polarity,
        input.options,
        &mut decisions,
    );
    let tone = tone::plan(
        &ctx,
        loudness_target.integrated_lufs.0 - mix_lufs,
        &mut decisions,
    )?;
    let dynamics = dynamics::plan(&ctx, &loudness_target, &tone, &mut decisions);
    let side_matched = tone.curves.side.is_some();
    let stereo = stereo::plan(&ctx, side_matched, &mut decisions);
    let out = output::plan(&ctx, &loudness_target, &tone, &dynamics, &mut decisions);

    decisions.sort_by_key(|d| stage_order(d.stage));
    Ok(Plan {
        settings: ChainSettings {
            polarity,
            eq: tone.eq,
            dynamic_eq: tone.dynamic_eq,
            multiband: dynamics.multiband,
            glue: dynamics.glue,
            saturation: dynamics.saturation,
            stereo,
            limiter: out.limiter,
            gain_db: out.gain_db,
        },
        target: loudness_target,
        profile_blend: if ctx.reference_mode {
            Vec::new()
        } else {
            input.profile_blend.to_vec()
        },
        decisions,
    })
}

/// Decisions read in signal order (genre and target first). The sort is
/// stable, so decisions of one stage keep the order they were made in.
fn stage_order(stage: PlanStage) -> u8 {
    match stage {
        PlanStage::Genre => 0,
        PlanStage::Target => 1,
        PlanStage::Polarity => 2,
        PlanStage::Eq => 3,
        PlanStage::DynamicEq => 4,
        PlanStage::Multiband => 5,
        PlanStage::Glue => 6,
        PlanStage::Saturation => 7,
        PlanStage::Stereo => 8,
        PlanStage::Gain => 9,
        PlanStage::Limiter => 10,
    }
}

/// Intensity at which reference mode matches the reference fully: the
/// default knob position, so a plain `--reference` run matches; lower
/// intensities match proportionally less.
pub const REFERENCE_FULL_MATCH_INTENSITY_PERCENT: f64 = 70.0;

/// What every planning step needs, resolved once.
pub(crate) struct Ctx<'a> {
    pub analysis: &'a Analysis,
    pub profile: Option<&'a Profile>,
    pub deltas: &'a Deltas,
    pub reference: Option<&'a Analysis>,
    pub platform: &'a Platform,
    pub options: &'a PlanOptions,
    pub mix_lufs: f64,
    pub reference_mode: bool,
    /// 0…1: how far toward the target tonal and dynamic moves go.
    pub strength: f64,
    /// "the rock profile", "the rock 60 %/pop 40 % blend", "the reference".
    pub target_name: String,
}

impl<'a> Ctx<'a> {
    fn new(input: &PlanInput<'a>, mix_lufs: f64) -> Result<Self, PlanError> {
        let reference_mode = input.options.intent == Intent::Reference;
        if reference_mode {
            let reference = input.reference.ok_or(PlanError::MissingReference)?;
            if reference.loudness.integrated_lufs.is_none() {
                return Err(PlanError::SilentReference);
            }
        }
        let intensity = input.options.intensity_percent;
        let strength = if reference_mode {
            (intensity / REFERENCE_FULL_MATCH_INTENSITY_PERCENT).min(1.0)
        } else {
            intensity / 100.0
        };
        let target_name = if reference_mode {
            "the reference".to_owned()
        } else {
            match (input.profile_blend, input.profile) {
                ([(name, _)], _) => format!("the {name} profile"),
                ([], Some(p)) => format!("the {} profile", p.name),
                ([], None) => "the target".to_owned(),
                (many, _) => format!(
                    "the {} blend",
                    many.iter()
                        .map(|(n, w)| format!("{n} {:.0} %", w * 100.0))
                        .collect::<Vec<_>>()
                        .join("/")
                ),
            }
        };
        Ok(Self {
            analysis: input.analysis,
            profile: if reference_mode { None } else { input.profile },
            deltas: input.deltas,
            reference: input.reference,
            platform: input.platform,
            options: input.options,
            mix_lufs,
            reference_mode,
            strength,
            target_name,
        })
    }
}

pub(crate) fn decision(stage: PlanStage, reason: String) -> Decision {
    Decision { stage, reason }
}

/// "63 Hz", "1 kHz", "3.15 kHz", "12.5 kHz".
pub(crate) fn fmt_hz(f_hz: f64) -> String {
    if f_hz < 1000.0 {
        format!("{f_hz:.0} Hz")
    } else {
        let k = format!("{:.2}", f_hz / 1000.0);
        let k = k.trim_end_matches('0').trim_end_matches('.');
        format!("{k} kHz")
    }
}

/// "8–12" for a range, one decimal where needed.
pub(crate) fn fmt_range(low: f64, high: f64) -> String {
    format!("{}–{}", fmt_num(low), fmt_num(high))
}

/// 12 → "12", 11.25 → "11.3".
pub(crate) fn fmt_num(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_read_like_an_engineer_writes_them() {
        assert_eq!(fmt_hz(63.0), "63 Hz");
        assert_eq!(fmt_hz(1000.0), "1 kHz");
        assert_eq!(fmt_hz(3150.0), "3.15 kHz");
        assert_eq!(fmt_hz(12_500.0), "12.5 kHz");
        assert_eq!(fmt_range(8.0, 12.26), "8–12.3");
    }
}
