//! Probability-weighted blends of profiles, for a classifier that is unsure
//! between genres: a track that is 60 % electronic and 40 % ambient is
//! steered toward a target between the two rather than snapped to one.

use crate::ReferenceError;
use crate::builder::round_to;
use crate::curve::same_band;
use lacquer_core::profile::{
    PROFILE_SCHEMA_VERSION, ProfileDynamics, ProfileProvenance, ProfileStereo, ProfileStyle,
    ProfileTonal, TargetRange,
};
use lacquer_core::{Db, Profile};
use sha2::{Digest, Sha256};

/// Blends profiles by weight. Weights must be finite and ≥ 0 with a
/// positive sum; they are renormalised to sum 1, and profiles with weight 0
/// drop out (one remaining profile is returned unchanged).
///
/// Every number is the weighted mean of the components' numbers (tonal
/// curves in dB on the bands all components share; range ends, width,
/// cutoff and style likewise), which keeps each range ordered. The name
/// reads `blend(a 0.60, b 0.40)`, heaviest first.
pub fn blend_profiles(weighted: &[(&Profile, f64)]) -> Result<Profile, ReferenceError> {
    let fail = |detail: String| ReferenceError::Blend { detail };
    if let Some((p, w)) = weighted.iter().find(|(_, w)| !w.is_finite() || *w < 0.0) {
        return Err(fail(format!(
            "weight {w} for {:?} is not a finite number ≥ 0",
            p.name
        )));
    }
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Err(fail("no profile has a positive weight".into()));
    }
    let mut parts: Vec<(&Profile, f64)> = weighted
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .map(|&(p, w)| (p, w / total))
        .collect();
    parts.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
    if let [(only, _)] = parts.as_slice() {
        return Ok((*only).clone());
    }
    let mean = |f: &dyn Fn(&Profile) -> f64| parts.iter().map(|(p, w)| w * f(p)).sum::<f64>();
    let mean_range = |f: &dyn Fn(&Profile) -> TargetRange, step: f64| TargetRange {
        low: round_to(mean(&|p| f(p).low), step),
        typical: round_to(mean(&|p| f(p).typical), step),
        high: round_to(mean(&|p| f(p).high), step),
    };

    // Bands every component has, on the first (heaviest) one's grid.
    let first = &parts[0].0.tonal;
    let band_value = |p: &Profile, centre: f64, pick: fn(&ProfileTonal) -> &Vec<Db>| {
        let t = &p.tonal;
        t.third_octave_centres_hz
            .iter()
            .position(|c| same_band(c.0, centre))
            .and_then(|i| pick(t).get(i))
            .map(|d| d.0)
    };
    let mut tonal = ProfileTonal {
        third_octave_centres_hz: Vec::new(),
        mid_db: Vec::new(),
        side_db: Vec::new(),
        mid_spread_db: Vec::new(),
    };
    for centre in &first.third_octave_centres_hz {
        let blend_band = |pick: fn(&ProfileTonal) -> &Vec<Db>| -> Option<f64> {
            parts
                .iter()
                .map(|(p, w)| band_value(p, centre.0, pick).map(|v| w * v))
                .sum::<Option<f64>>()
        };
        let (Some(mid), Some(side), Some(spread)) = (
            blend_band(|t| &t.mid_db),
            blend_band(|t| &t.side_db),
            blend_band(|t| &t.mid_spread_db),
        ) else {
            continue;
        };
        tonal.third_octave_centres_hz.push(*centre);
        tonal.mid_db.push(Db(round_to(mid, 0.01)));
        tonal.side_db.push(Db(round_to(side, 0.01)));
        tonal.mid_spread_db.push(Db(round_to(spread, 0.01)));
    }
    if tonal.third_octave_centres_hz.is_empty() {
        return Err(fail("the profiles share no tonal band".into()));
    }

    let label = parts
        .iter()
        .map(|(p, w)| format!("{} {w:.2}", p.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut hasher = Sha256::new();
    for (p, w) in &parts {
        hasher.update(format!("{} {} {w:.6}\n", p.name, p.provenance.source_hash));
    }
    let source_hash = crate::hex(&hasher.finalize());
    Ok(Profile {
        schema_version: PROFILE_SCHEMA_VERSION,
        name: format!("blend({label})"),
        description: format!("Weighted blend of profiles: {label}"),
        provenance: ProfileProvenance {
            built_by: "lacquer_reference::blend_profiles".into(),
            engine_version: lacquer_core::ENGINE_VERSION.into(),
            tracks: parts.iter().map(|(p, _)| p.provenance.tracks).sum(),
            clips: parts.iter().map(|(p, _)| p.provenance.clips).sum(),
            source_hash,
            sources: parts
                .iter()
                .map(|(p, _)| format!("{}: {}", p.name, p.provenance.sources))
                .collect::<Vec<_>>()
                .join("; "),
        },
        tonal,
        dynamics: ProfileDynamics {
            crest_db: mean_range(&|p| p.dynamics.crest_db, 0.01),
            plr_db: mean_range(&|p| p.dynamics.plr_db, 0.01),
            lra_lu: mean_range(&|p| p.dynamics.lra_lu, 0.01),
            integrated_lufs: mean_range(&|p| p.dynamics.integrated_lufs, 0.01),
        },
        stereo: ProfileStereo {
            width: mean_range(&|p| p.stereo.width, 1e-3),
            mono_below_hz: round_to(mean(&|p| p.stereo.mono_below_hz), 0.1),
            low_end_correlation_min: round_to(mean(&|p| p.stereo.low_end_correlation_min), 1e-3),
        },
        style: ProfileStyle {
            glue: round_to(mean(&|p| p.style.glue), 1e-3),
            multiband: round_to(mean(&|p| p.style.multiband), 1e-3),
            saturation: round_to(mean(&|p| p.style.saturation), 1e-3),
        },
    })
}
