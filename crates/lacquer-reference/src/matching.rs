//! Deltas between a mix and what it is steered toward, as the planner reads
//! them (sign everywhere: target − mix).
//!
//! Both functions are pure: the same analyses give the same deltas. Tonal
//! curves are compared after loudness normalisation (band level − integrated
//! LUFS), so a reference mastered 6 dB hotter than the mix does not read as
//! "6 dB more of everything"; the loudness difference is reported once, on
//! its own.

use crate::curve::{NormalisedCurve, smooth_thirds};
use lacquer_core::analysis::{SIX_BAND_EDGES_HZ, SixBands};
use lacquer_core::profile::TargetRange;
use lacquer_core::{Analysis, Db, DeltaTarget, Deltas, Hz, Profile, TonalDeltas};

/// The range `mean_abs_db` covers: the bands every playback system
/// reproduces and every delivery rate carries.
pub const MEAN_ABS_RANGE_HZ: (f64, f64) = (40.0, 16_000.0);

/// How a mix differs from a genre profile (or a blend of profiles).
///
/// `names_weights` lists the profiles behind `profile` with their weights,
/// as the report should show them (e.g. the components of
/// [`crate::blend_profiles`]); empty means `profile` alone, weight 1.
///
/// Dynamics and width read as the distance outside the profile's range
/// (0 inside it), signed target − mix: a mix above the range gets a
/// negative delta. Loudness is `None`: the delivery level comes from the
/// platform or the user, not from the genre.
pub fn deltas_vs_profile(
    mix: &Analysis,
    profile: &Profile,
    names_weights: &[(String, f64)],
) -> Deltas {
    let (names, weights) = if names_weights.is_empty() {
        (vec![profile.name.clone()], vec![1.0])
    } else {
        names_weights.iter().cloned().unzip()
    };
    let target_curve = profile_curve(profile);
    let tonal = NormalisedCurve::from_analysis(mix)
        .map(|m| tonal_deltas(&m, &target_curve, Smoothing::Thirds));
    let dynamics = &profile.dynamics;
    let stereo = &profile.stereo;
    let towards_range =
        |range: &TargetRange, value: Option<f64>| value.map(|v| Db(-range.excess(v)));
    let low_end_correlation = mix
        .stereo
        .correlation_below_150hz
        .map(|c| (stereo.low_end_correlation_min - c).max(0.0));
    Deltas {
        target: DeltaTarget::Profile { names, weights },
        tonal,
        loudness_lu: None,
        crest_db: towards_range(
            &dynamics.crest_db,
            mix.loudness.crest_factor_db.map(|d| d.0),
        ),
        plr_db: towards_range(&dynamics.plr_db, mix.loudness.plr_db.map(|d| d.0)),
        lra_lu: towards_range(
            &dynamics.lra_lu,
            mix.loudness.loudness_range_lu.map(|d| d.0),
        ),
        width: width_share(mix).map(|w| -stereo.width.excess(w)),
        low_end_correlation,
    }
}

/// How a mix differs from a reference track the user chose. The two may
/// have different sample rates and lengths: bands are aligned by centre
/// frequency and only compared where both can represent them.
pub fn deltas_vs_reference(mix: &Analysis, reference: &Analysis, reference_path: &str) -> Deltas {
    let tonal = match (
        NormalisedCurve::from_analysis(mix),
        NormalisedCurve::from_analysis(reference),
    ) {
        (Some(m), Some(r)) => Some(tonal_deltas(&m, &r, Smoothing::None)),
        _ => None,
    };
    let diff = |target: Option<f64>, actual: Option<f64>| match (target, actual) {
        (Some(t), Some(a)) => Some(t - a),
        _ => None,
    };
    let db = |v: Option<Db>| v.map(|d| d.0);
    Deltas {
        target: DeltaTarget::Reference {
            path: reference_path.to_owned(),
        },
        tonal,
        loudness_lu: diff(
            reference.loudness.integrated_lufs.map(|l| l.0),
            mix.loudness.integrated_lufs.map(|l| l.0),
        )
        .map(Db),
        crest_db: diff(
            db(reference.loudness.crest_factor_db),
            db(mix.loudness.crest_factor_db),
        )
        .map(Db),
        plr_db: diff(db(reference.loudness.plr_db), db(mix.loudness.plr_db)).map(Db),
        lra_lu: diff(
            db(reference.loudness.loudness_range_lu),
            db(mix.loudness.loudness_range_lu),
        )
        .map(Db),
        width: diff(width_share(reference), width_share(mix)),
        low_end_correlation: diff(
            reference.stereo.correlation_below_150hz,
            mix.stereo.correlation_below_150hz,
        ),
    }
}

/// SIDE / (MID + SIDE) energy of the whole track, from the analysis's
/// mid/side ratio; `None` for a mono source (it has no image to compare)
/// or silence.
pub fn width_share(analysis: &Analysis) -> Option<f64> {
    if analysis.source_channels < 2 {
        return None;
    }
    let mid_over_side_db = analysis.stereo.mid_side_ratio_db?.0;
    Some(1.0 / (1.0 + 10f64.powf(mid_over_side_db / 10.0)))
}

/// A profile's stored curve seen as a normalised curve (every stored band is
/// comparable: the builder only stores bands its tracks could represent).
pub(crate) fn profile_curve(profile: &Profile) -> NormalisedCurve {
    let tonal = &profile.tonal;
    let finite = |d: &Db| d.0.is_finite().then_some(d.0);
    NormalisedCurve {
        centres_hz: tonal.third_octave_centres_hz.iter().map(|c| c.0).collect(),
        mid_db: tonal.mid_db.iter().map(finite).collect(),
        side_db: tonal.side_db.iter().map(finite).collect(),
    }
}

/// How the per-band deltas are smoothed before the planner reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Smoothing {
    /// Over neighbouring thirds ([`smooth_thirds`]): a profile is an average
    /// of many tracks, and a mix's detail against it is not a target.
    Thirds,
    /// None: a reference is one measured track, its full-length band levels
    /// are steady estimates, and smoothing would misread a mix whose energy
    /// sits in one third (a sub-bass tone reads as a dip beside its
    /// neighbours' excess). The match EQ smooths its own curve anyway.
    None,
}

/// Tonal deltas on the mix's band grid (the bands a planner can act on).
fn tonal_deltas(
    mix: &NormalisedCurve,
    target: &NormalisedCurve,
    smoothing: Smoothing,
) -> TonalDeltas {
    let pair = |mix_values: &[Option<f64>], target_at: &dyn Fn(f64) -> Option<f64>| {
        mix.centres_hz
            .iter()
            .zip(mix_values)
            .map(|(&c, m)| Some((target_at(c)?, (*m)?)))
            .collect::<Vec<Option<(f64, f64)>>>()
    };
    let mid_pairs = pair(&mix.mid_db, &|c| target.mid_at(c));
    let side_pairs = pair(&mix.side_db, &|c| target.side_at(c));
    let raw = |pairs: &[Option<(f64, f64)>]| -> Vec<Option<f64>> {
        pairs.iter().map(|p| p.map(|(t, m)| t - m)).collect()
    };
    let raw_mid = raw(&mid_pairs);
    let raw_side = raw(&side_pairs);

    let in_mean_range: Vec<f64> = mix
        .centres_hz
        .iter()
        .zip(&raw_mid)
        .filter(|&(&c, _)| (MEAN_ABS_RANGE_HZ.0..=MEAN_ABS_RANGE_HZ.1).contains(&c))
        .filter_map(|(_, d)| d.map(f64::abs))
        .collect();
    let mean_abs_db = if in_mean_range.is_empty() {
        0.0
    } else {
        in_mean_range.iter().sum::<f64>() / in_mean_range.len() as f64
    };

    let smooth = |raw: &[Option<f64>]| match smoothing {
        Smoothing::Thirds => smooth_thirds(raw),
        Smoothing::None => raw.iter().map(|d| d.unwrap_or(0.0)).collect(),
    };
    TonalDeltas {
        third_octave_centres_hz: mix.centres_hz.iter().map(|&c| Hz(c)).collect(),
        mid_db: smooth(&raw_mid).into_iter().map(Db).collect(),
        side_db: smooth(&raw_side).into_iter().map(Db).collect(),
        mid_compared: raw_mid.iter().map(Option::is_some).collect(),
        side_compared: raw_side.iter().map(Option::is_some).collect(),
        bands_db: six_band_deltas(&mix.centres_hz, &mid_pairs),
        mean_abs_db: Db(mean_abs_db),
    }
}

/// Per broad band: target energy over mix energy (dB), summed over the
/// comparable 1/3 octaves whose centre lies in the band; 0 when none does.
fn six_band_deltas(centres_hz: &[f64], pairs: &[Option<(f64, f64)>]) -> SixBands<Db> {
    SixBands::from_array(SIX_BAND_EDGES_HZ.map(|(lo, hi)| {
        let (mut target, mut mix) = (0.0, 0.0);
        for (&c, p) in centres_hz.iter().zip(pairs) {
            if let Some((t, m)) = p
                && c >= lo
                && c < hi
            {
                target += 10f64.powf(t / 10.0);
                mix += 10f64.powf(m / 10.0);
            }
        }
        if target > 0.0 && mix > 0.0 {
            Db(10.0 * (target / mix).log10())
        } else {
            Db(0.0)
        }
    }))
}
