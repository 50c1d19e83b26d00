//! Profiles measured from masters: the numbers a genre's tracks share.
//!
//! Aggregation is two-level so that a long track cut into many clips cannot
//! outvote a short one: each source track is first summarised by the median
//! of its clips, then the genre by statistics over tracks — the median as
//! the typical value, the 10th–90th percentiles as the target range, half
//! the interquartile range as the per-band spread of the tonal curve.
//!
//! The processing style (glue, multiband, saturation) cannot be measured
//! directly from a master, so it is *inferred* from what the processing
//! leaves behind, by the fixed rules in [`derive_style`]: each number is a
//! linear ramp between two anchor values of a measurement, clamped to 0…1.
//! The anchors are physical reference points (a limited master, an open
//! one), not fitted to the corpus, so a user profile built from a folder is
//! on the same scale as the built-in ones.

use crate::ReferenceError;
use crate::curve::{NormalisedCurve, lower_edge_hz, upper_edge_hz};
use crate::matching::width_share;
use crate::stats::{iqr_half_width, median, median_of_some, percentile};
use lacquer_analysis::THIRD_OCTAVE_CENTRES_HZ;
use lacquer_core::profile::{
    PROFILE_SCHEMA_VERSION, ProfileDynamics, ProfileProvenance, ProfileStereo, ProfileStyle,
    ProfileTonal, TargetRange,
};
use lacquer_core::{Analysis, Db, Hz, Profile};

/// Lower end of a target range, percentile over tracks.
pub const RANGE_LOW_PERCENTILE: f64 = 10.0;
/// Upper end of a target range, percentile over tracks.
pub const RANGE_HIGH_PERCENTILE: f64 = 90.0;

/// Glue: PLR at which a master reads as fully glued/limited. Dense, limited
/// masters measure 6–8 LU (see `ALREADY_LIMITED_PLR_DB` in lacquer-core).
pub const GLUE_DENSE_PLR_DB: f64 = 8.0;
/// Glue: PLR at which a master reads as untouched by bus compression
/// (acoustic, unlimited material: 18 LU and more).
pub const GLUE_OPEN_PLR_DB: f64 = 18.0;
/// Multiband: low-end level movement (std. dev. of the < 120 Hz level in
/// 100 ms windows) of a master whose bass is held steady band by band.
pub const MULTIBAND_TIGHT_LOW_END_DB: f64 = 3.0;
/// Multiband: low-end movement of a master whose bass moves freely.
pub const MULTIBAND_FREE_LOW_END_DB: f64 = 9.0;
/// Saturation: crest factor (sample peak over RMS) of a dense master whose
/// peaks are already shaved by clipping or saturation.
pub const SATURATION_DENSE_CREST_DB: f64 = 9.0;
/// Saturation: crest factor of an open master with intact peaks.
pub const SATURATION_OPEN_CREST_DB: f64 = 18.0;

/// A band is "near mono" while SIDE holds at most this share of the energy
/// below it: side 9.5 dB under mid, an L/R correlation of about 0.8.
pub const MONO_WIDTH_MAX: f64 = 0.1;
/// The mono cutoff is searched up to here; low-mids and up are never mono
/// by design.
pub const MONO_SEARCH_MAX_HZ: f64 = 500.0;
/// The SIDE level stored for a band where most tracks have no side energy
/// (relative to loudness, as the curves are).
pub const EMPTY_SIDE_DB: f64 = -crate::curve::EMPTY_BAND_BELOW_LOUDNESS_DB;

/// The clips measured from one source track (a musical work). Clips of one
/// track are summarised first, so the track counts once.
#[derive(Debug, Clone)]
pub struct TrackMeasurement {
    /// Stable identifier (the manifest's `source_track_id`, or a file name).
    pub track_id: String,
    pub clips: Vec<Analysis>,
}

/// What one clip (then one track) contributes.
#[derive(Debug, Clone, Default)]
struct Summary {
    mid_db: Vec<Option<f64>>,
    side_db: Vec<Option<f64>>,
    crest_db: Option<f64>,
    plr_db: Option<f64>,
    lra_lu: Option<f64>,
    integrated_lufs: Option<f64>,
    width: Option<f64>,
    low_correlation: Option<f64>,
    mono_below_hz: Option<f64>,
    low_end_modulation_db: Option<f64>,
}

fn summarise_clip(analysis: &Analysis) -> Summary {
    let curve = NormalisedCurve::from_analysis(analysis);
    let on_grid = |pick: fn(&NormalisedCurve, f64) -> Option<f64>| -> Vec<Option<f64>> {
        THIRD_OCTAVE_CENTRES_HZ
            .iter()
            .map(|&c| curve.as_ref().and_then(|cv| pick(cv, c)))
            .collect()
    };
    let mid_db = on_grid(NormalisedCurve::mid_at);
    let side_db = on_grid(NormalisedCurve::side_at);
    let mono_below_hz = curve.as_ref().map(mono_cutoff_hz);
    Summary {
        mid_db,
        side_db,
        crest_db: analysis.loudness.crest_factor_db.map(|d| d.0),
        plr_db: analysis.loudness.plr_db.map(|d| d.0),
        lra_lu: analysis.loudness.loudness_range_lu.map(|d| d.0),
        integrated_lufs: analysis.loudness.integrated_lufs.map(|l| l.0),
        width: width_share(analysis),
        low_correlation: analysis.stereo.correlation_below_150hz,
        mono_below_hz,
        low_end_modulation_db: analysis.dynamics.low_end_modulation_db.map(|d| d.0),
    }
}

/// Where the low end stops being mono: the highest band edge (up to
/// [`MONO_SEARCH_MAX_HZ`]) below which SIDE holds at most
/// [`MONO_WIDTH_MAX`] of the energy, counting all bands below together
/// (energy-weighted, so a nearly empty 20 Hz band cannot decide it). The
/// lowest band's lower edge when even that band is wide: no mono region.
fn mono_cutoff_hz(curve: &NormalisedCurve) -> f64 {
    let (mut mid, mut side) = (0.0, 0.0);
    let mut cutoff = None;
    let mut lowest = None;
    for ((&c, m), s) in curve
        .centres_hz
        .iter()
        .zip(&curve.mid_db)
        .zip(&curve.side_db)
    {
        if upper_edge_hz(c) > MONO_SEARCH_MAX_HZ * 1.0001 {
            break;
        }
        let Some(m) = m else { continue };
        lowest.get_or_insert(lower_edge_hz(c));
        mid += 10f64.powf(m / 10.0);
        side += s.map_or(0.0, |s| 10f64.powf(s / 10.0));
        if side / (mid + side) <= MONO_WIDTH_MAX {
            cutoff = Some(upper_edge_hz(c));
        }
    }
    cutoff.or(lowest).unwrap_or(MONO_SEARCH_MAX_HZ)
}

/// Median over the items of each field.
fn median_summary(items: &[Summary]) -> Summary {
    let bands = THIRD_OCTAVE_CENTRES_HZ.len();
    let field = |f: fn(&Summary) -> Option<f64>| median_of_some(items.iter().map(f));
    Summary {
        mid_db: (0..bands)
            .map(|k| median_of_some(items.iter().map(|s| s.mid_db[k])))
            .collect(),
        side_db: (0..bands)
            .map(|k| median_of_some(items.iter().map(|s| s.side_db[k])))
            .collect(),
        crest_db: field(|s| s.crest_db),
        plr_db: field(|s| s.plr_db),
        lra_lu: field(|s| s.lra_lu),
        integrated_lufs: field(|s| s.integrated_lufs),
        width: field(|s| s.width),
        low_correlation: field(|s| s.low_correlation),
        mono_below_hz: field(|s| s.mono_below_hz),
        low_end_modulation_db: field(|s| s.low_end_modulation_db),
    }
}

/// Linear ramp: 0 at `zero_at`, 1 at `one_at`, clamped (either direction).
fn ramp(value: f64, zero_at: f64, one_at: f64) -> f64 {
    ((value - zero_at) / (one_at - zero_at)).clamp(0.0, 1.0)
}

/// The style numbers, from the genre's typical measurements:
/// - glue = ramp(PLR: 0 at [`GLUE_OPEN_PLR_DB`], 1 at [`GLUE_DENSE_PLR_DB`]):
///   bus compression and limiting are what bring peaks toward the loudness;
/// - multiband = glue × ramp(low-end modulation: 0 at
///   [`MULTIBAND_FREE_LOW_END_DB`], 1 at [`MULTIBAND_TIGHT_LOW_END_DB`]):
///   band-wise compression is what holds the bass level steady, but a
///   steady low end in an open master is the arrangement (a drone), not
///   processing, so it only counts as far as the master is dense;
/// - saturation = ramp(crest factor: 0 at [`SATURATION_OPEN_CREST_DB`], 1 at
///   [`SATURATION_DENSE_CREST_DB`]): sample-peak crest is what clipping and
///   saturation shave (PLR, on true peaks, sees limiting as well).
///
/// A missing measurement gives 0 (no evidence of processing).
pub fn derive_style(
    plr_db: Option<f64>,
    low_end_modulation_db: Option<f64>,
    crest_db: Option<f64>,
) -> ProfileStyle {
    let glue = plr_db.map_or(0.0, |v| ramp(v, GLUE_OPEN_PLR_DB, GLUE_DENSE_PLR_DB));
    let steady_low_end = low_end_modulation_db.map_or(0.0, |v| {
        ramp(v, MULTIBAND_FREE_LOW_END_DB, MULTIBAND_TIGHT_LOW_END_DB)
    });
    let saturation = crest_db.map_or(0.0, |v| {
        ramp(v, SATURATION_OPEN_CREST_DB, SATURATION_DENSE_CREST_DB)
    });
    ProfileStyle {
        glue: round_to(glue, 1e-3),
        multiband: round_to(glue * steady_low_end, 1e-3),
        saturation: round_to(saturation, 1e-3),
    }
}

/// Rounds to a multiple of `step` (stored numbers carry no false precision,
/// and the TOML stays readable).
pub(crate) fn round_to(value: f64, step: f64) -> f64 {
    // Dividing by the integer scale lands on the double nearest the decimal
    // (0.818, not 0.8180000000000001).
    let scale = (1.0 / step).round();
    let r = (value * scale).round() / scale;
    // Keep -0.0 out of the files.
    if r == 0.0 { 0.0 } else { r }
}

fn range(values: &[f64], step: f64) -> Option<TargetRange> {
    Some(TargetRange {
        low: round_to(percentile(values, RANGE_LOW_PERCENTILE)?, step),
        typical: round_to(median(values)?, step),
        high: round_to(percentile(values, RANGE_HIGH_PERCENTILE)?, step),
    })
}

/// Builds a profile from tracks (each with one or more measured clips).
///
/// Tonal curve: a band is kept when at least half the tracks can represent
/// it (below their Nyquist, not empty); its MID value is the median over
/// those tracks and its spread half their interquartile range. SIDE is the
/// median over the tracks with side energy there, or [`EMPTY_SIDE_DB`] when
/// fewer than half have any. Dynamics, loudness and width ranges are
/// 10th/50th/90th percentiles over tracks. The mono cutoff is the median of
/// the tracks' cutoffs; the low-end correlation floor is the 10th percentile
/// of their correlation below 150 Hz.
pub fn build_profile(
    name: &str,
    description: &str,
    tracks: &[TrackMeasurement],
    provenance: ProfileProvenance,
) -> Result<Profile, ReferenceError> {
    let fail = |detail: String| ReferenceError::Build {
        name: name.to_owned(),
        detail,
    };
    if tracks.is_empty() {
        return Err(fail("no tracks to measure".into()));
    }
    let summaries: Vec<Summary> = tracks
        .iter()
        .filter(|t| !t.clips.is_empty())
        .map(|t| median_summary(&t.clips.iter().map(summarise_clip).collect::<Vec<_>>()))
        .collect();
    let n_tracks = summaries.len();
    if n_tracks == 0 {
        return Err(fail("every track is empty".into()));
    }

    let mut centres = Vec::new();
    let (mut mid_db, mut side_db, mut spread_db) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &centre) in THIRD_OCTAVE_CENTRES_HZ.iter().enumerate() {
        let mids: Vec<f64> = summaries.iter().filter_map(|s| s.mid_db[k]).collect();
        if mids.len() * 2 < n_tracks {
            continue;
        }
        let sides: Vec<f64> = summaries.iter().filter_map(|s| s.side_db[k]).collect();
        let side = if sides.len() * 2 < n_tracks {
            EMPTY_SIDE_DB
        } else {
            median(&sides).unwrap_or(EMPTY_SIDE_DB)
        };
        centres.push(Hz(centre));
        mid_db.push(Db(round_to(median(&mids).unwrap_or(EMPTY_SIDE_DB), 0.01)));
        side_db.push(Db(round_to(side, 0.01)));
        spread_db.push(Db(round_to(iqr_half_width(&mids).unwrap_or(0.0), 0.01)));
    }
    if centres.is_empty() {
        return Err(fail("no track has a tonal curve (silent material?)".into()));
    }

    let collect =
        |f: fn(&Summary) -> Option<f64>| -> Vec<f64> { summaries.iter().filter_map(f).collect() };
    let need = |what: &str, values: &[f64], step: f64| {
        range(values, step).ok_or_else(|| fail(format!("no track has a {what} (silent material?)")))
    };
    let crest = collect(|s| s.crest_db);
    let plr = collect(|s| s.plr_db);
    let lra = collect(|s| s.lra_lu);
    let loudness = collect(|s| s.integrated_lufs);
    let widths = collect(|s| s.width);
    let correlations = collect(|s| s.low_correlation);
    let cutoffs = collect(|s| s.mono_below_hz);
    let low_mod = collect(|s| s.low_end_modulation_db);

    let dynamics = ProfileDynamics {
        crest_db: need("crest factor", &crest, 0.01)?,
        plr_db: need("PLR", &plr, 0.01)?,
        lra_lu: need("loudness range", &lra, 0.01)?,
        integrated_lufs: need("integrated loudness", &loudness, 0.01)?,
    };
    // Mono-only material has no width; it reads as fully mono.
    let width = range(&widths, 1e-3).unwrap_or(TargetRange {
        low: 0.0,
        typical: 0.0,
        high: 0.0,
    });
    let stereo = ProfileStereo {
        width,
        mono_below_hz: round_to(median(&cutoffs).unwrap_or(MONO_SEARCH_MAX_HZ), 0.1),
        low_end_correlation_min: round_to(
            percentile(&correlations, RANGE_LOW_PERCENTILE).unwrap_or(1.0),
            1e-3,
        ),
    };
    let style = derive_style(median(&plr), median(&low_mod), median(&crest));
    Ok(Profile {
        schema_version: PROFILE_SCHEMA_VERSION,
        name: name.to_owned(),
        description: description.to_owned(),
        provenance,
        tonal: ProfileTonal {
            third_octave_centres_hz: centres,
            mid_db,
            side_db,
            mid_spread_db: spread_db,
        },
        dynamics,
        stereo,
        style,
    })
}
