//! Where the loudness loop must land: integrated loudness and ceiling.
//!
//! Streaming takes the platform's normalisation target, because a master
//! louder than that is simply turned down by the platform (and has lost
//! dynamics for nothing). Loud has no normalisation to answer to, so it
//! takes the level the genre's real masters are released at, kept inside a
//! dense but sane window. Reference takes the reference's own loudness and
//! peak, never above the platform's ceiling.

use crate::error::PlanError;
use crate::{Ctx, decision, fmt_num};
use lacquer_core::{Db, Decision, Intent, LoudnessTarget, Lufs, PlanOptions, PlanStage, Platform};

/// Accepted `--target-lufs` (and derived targets), LUFS.
pub const TARGET_LUFS_RANGE: (f64, f64) = (-40.0, -5.0);
/// Accepted `--true-peak` (and platform ceilings), dBTP.
pub const CEILING_RANGE_DBTP: (f64, f64) = (-10.0, 0.0);
/// Accepted `--width`, percent.
pub const WIDTH_RANGE_PERCENT: (f64, f64) = (0.0, 200.0);
/// The loud intent's level: the genre's typical master loudness, kept in
/// this window (dense, but short of the crushed −6 LUFS masters).
pub const LOUD_TARGET_RANGE_LUFS: (f64, f64) = (-10.0, -7.0);
/// Loud level when there is no profile to take it from.
const LOUD_DEFAULT_LUFS: f64 = -9.0;
/// Streaming to a platform without normalisation and without a profile:
/// the common streaming reference level.
const UNNORMALISED_DEFAULT_LUFS: f64 = -14.0;
/// Window for a level taken from a profile when the platform has none.
const UNNORMALISED_PROFILE_RANGE_LUFS: (f64, f64) = (-16.0, -8.0);

fn in_range(value: f64, (low, high): (f64, f64)) -> bool {
    value.is_finite() && (low..=high).contains(&value)
}

pub(crate) fn validate_options(options: &PlanOptions) -> Result<(), PlanError> {
    let intensity = options.intensity_percent;
    if !in_range(intensity, (0.0, 100.0)) {
        return Err(PlanError::IntensityOutOfRange { value: intensity });
    }
    if let Some(width) = options.width_percent
        && !in_range(width, WIDTH_RANGE_PERCENT)
    {
        return Err(PlanError::WidthOutOfRange { value: width });
    }
    if let Some(lufs) = options.target_lufs
        && !in_range(lufs, TARGET_LUFS_RANGE)
    {
        return Err(PlanError::TargetLufsOutOfRange {
            value: lufs,
            low: TARGET_LUFS_RANGE.0,
            high: TARGET_LUFS_RANGE.1,
        });
    }
    if let Some(tp) = options.true_peak_dbtp
        && !in_range(tp, CEILING_RANGE_DBTP)
    {
        return Err(PlanError::CeilingOutOfRange {
            value: tp,
            low: CEILING_RANGE_DBTP.0,
            high: CEILING_RANGE_DBTP.1,
        });
    }
    Ok(())
}

pub(crate) fn validate_platform(platform: &Platform) -> Result<(), PlanError> {
    let bad = |problem: String| PlanError::InvalidPlatform {
        id: platform.id.clone(),
        problem,
    };
    if !in_range(platform.ceiling_dbtp, CEILING_RANGE_DBTP) {
        return Err(bad(format!(
            "ceiling {} dBTP is outside {}…{} dBTP",
            platform.ceiling_dbtp, CEILING_RANGE_DBTP.0, CEILING_RANGE_DBTP.1
        )));
    }
    if let Some(lufs) = platform.target_lufs
        && !in_range(lufs, TARGET_LUFS_RANGE)
    {
        return Err(bad(format!(
            "target {lufs} LUFS is outside {}…{} LUFS",
            TARGET_LUFS_RANGE.0, TARGET_LUFS_RANGE.1
        )));
    }
    Ok(())
}

pub(crate) fn choose(
    ctx: &Ctx<'_>,
    decisions: &mut Vec<Decision>,
) -> Result<LoudnessTarget, PlanError> {
    let opts = ctx.options;
    let platform = ctx.platform;
    let (lufs, lufs_reason) = match (opts.target_lufs, opts.intent) {
        (Some(lufs), _) => (lufs, "set by --target-lufs".to_owned()),
        (None, Intent::Streaming) => match platform.target_lufs {
            Some(lufs) => (lufs, format!("{} normalises to it", platform.name)),
            None => match ctx.profile {
                Some(profile) => {
                    let typical = profile.dynamics.integrated_lufs.typical;
                    let (lo, hi) = UNNORMALISED_PROFILE_RANGE_LUFS;
                    (
                        typical.clamp(lo, hi),
                        format!(
                            "{} does not normalise; {}'s masters typically sit at {} LUFS (kept within {}…{})",
                            platform.name,
                            ctx.target_name,
                            fmt_num(typical),
                            fmt_num(lo),
                            fmt_num(hi)
                        ),
                    )
                }
                None => (
                    UNNORMALISED_DEFAULT_LUFS,
                    format!(
                        "{} does not normalise and there is no profile; the common streaming level",
                        platform.name
                    ),
                ),
            },
        },
        (None, Intent::Loud) => {
            let (lo, hi) = LOUD_TARGET_RANGE_LUFS;
            match ctx.profile {
                Some(profile) => {
                    let typical = profile.dynamics.integrated_lufs.typical;
                    let lufs = typical.clamp(lo, hi);
                    let how = if lufs == typical {
                        "inside"
                    } else {
                        "clamped to"
                    };
                    (
                        lufs,
                        format!(
                            "loud: {}'s masters typically sit at {} LUFS, {how} the dense window {}…{}",
                            ctx.target_name,
                            fmt_num(typical),
                            fmt_num(lo),
                            fmt_num(hi)
                        ),
                    )
                }
                None => (
                    LOUD_DEFAULT_LUFS,
                    "loud without a profile: a dense default level".to_owned(),
                ),
            }
        }
        (None, Intent::Reference) => {
            let reference = ctx.reference.ok_or(PlanError::MissingReference)?;
            let ref_lufs = reference
                .loudness
                .integrated_lufs
                .ok_or(PlanError::SilentReference)?
                .0;
            if !ref_lufs.is_finite() {
                return Err(PlanError::SilentReference);
            }
            let (lo, hi) = TARGET_LUFS_RANGE;
            let lufs = ref_lufs.clamp(lo, hi);
            let reason = if lufs == ref_lufs {
                "the reference's integrated loudness".to_owned()
            } else {
                format!(
                    "the reference's {ref_lufs:.1} LUFS, clamped to the accepted {}…{}",
                    fmt_num(lo),
                    fmt_num(hi)
                )
            };
            (lufs, reason)
        }
    };

    let (ceiling, ceiling_reason) = match (opts.true_peak_dbtp, opts.intent) {
        (Some(tp), _) => {
            let note = if tp > platform.ceiling_dbtp {
                format!(
                    "set by --true-peak (above {}'s {:.1} dBTP; the user's choice)",
                    platform.name, platform.ceiling_dbtp
                )
            } else {
                "set by --true-peak".to_owned()
            };
            (tp, note)
        }
        (None, Intent::Reference) => {
            let ref_tp = ctx
                .reference
                .and_then(|r| r.loudness.max_true_peak_dbtp)
                .map(|d| d.0);
            match ref_tp {
                Some(tp) if tp < platform.ceiling_dbtp => {
                    let ceiling = tp.max(CEILING_RANGE_DBTP.0);
                    (
                        ceiling,
                        format!(
                            "the reference's true peak {tp:.1} dBTP (under {}'s {:.1})",
                            platform.name, platform.ceiling_dbtp
                        ),
                    )
                }
                Some(tp) => (
                    platform.ceiling_dbtp,
                    format!(
                        "{}'s ceiling (the reference peaks at {tp:.1} dBTP; never above the platform)",
                        platform.name
                    ),
                ),
                None => (
                    platform.ceiling_dbtp,
                    format!("{}'s ceiling", platform.name),
                ),
            }
        }
        (None, _) => (
            platform.ceiling_dbtp,
            format!("{}'s ceiling", platform.name),
        ),
    };

    decisions.push(decision(
        PlanStage::Target,
        format!(
            "target {lufs:.1} LUFS: {lufs_reason}; mix measures {:.1} LUFS ({:+.1} LU to go)",
            ctx.mix_lufs,
            lufs - ctx.mix_lufs
        ),
    ));
    decisions.push(decision(
        PlanStage::Target,
        format!("ceiling {ceiling:.1} dBTP: {ceiling_reason}"),
    ));
    Ok(LoudnessTarget {
        integrated_lufs: Lufs(lufs),
        ceiling_dbtp: Db(ceiling),
    })
}
