//! Differences between a mix and what it is steered toward (a genre profile
//! or a user's reference track), as reference matching measures them and the
//! planner reads them.
//!
//! Sign convention, everywhere: **target − mix**. A positive tonal delta
//! means the mix needs more energy in that band; a positive loudness delta
//! means it must get louder.

use crate::analysis::SixBands;
use crate::units::{Db, Hz};
use serde::{Deserialize, Serialize};

/// What the mix was compared against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeltaTarget {
    /// A genre profile (or a probability-weighted blend, listed with weights).
    Profile {
        names: Vec<String>,
        weights: Vec<f64>,
    },
    /// A reference track.
    Reference { path: String },
}

/// Tonal differences on the loudness-normalised 1/3-octave curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonalDeltas {
    pub third_octave_centres_hz: Vec<Hz>,
    /// Smoothed target − mix per band, MID. Bands the mix or the target
    /// cannot represent (above either's Nyquist, at the floor) read 0.
    pub mid_db: Vec<Db>,
    /// The same for SIDE.
    pub side_db: Vec<Db>,
    /// Per band, whether MID was compared at all (both sides carry energy
    /// there and can represent it); an uncompared band's delta reads 0 but
    /// says nothing. Empty (reports written before it existed): every band
    /// counts as compared.
    #[serde(default)]
    pub mid_compared: Vec<bool>,
    /// The same for SIDE.
    #[serde(default)]
    pub side_compared: Vec<bool>,
    /// MID deltas per broad band (energy-weighted over the 1/3 octaves).
    pub bands_db: SixBands<Db>,
    /// Mean absolute MID delta over 40 Hz–16 kHz (before smoothing): the
    /// single number reference mode must halve.
    pub mean_abs_db: Db,
}

impl TonalDeltas {
    /// Whether band `index` was compared on the MID (see `mid_compared`).
    pub fn mid_is_compared(&self, index: usize) -> bool {
        self.mid_compared.get(index).copied().unwrap_or(true)
    }

    /// Whether band `index` was compared on the SIDE.
    pub fn side_is_compared(&self, index: usize) -> bool {
        self.side_compared.get(index).copied().unwrap_or(true)
    }
}

/// All deltas. Fields are `None` where either side has no value (silence,
/// a mono reference for width, a profile with no loudness target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deltas {
    pub target: DeltaTarget,
    pub tonal: Option<TonalDeltas>,
    /// Integrated loudness, LU (reference mode; `None` against a profile).
    pub loudness_lu: Option<Db>,
    /// Crest factor; against a profile, the distance outside its range
    /// (0 inside it).
    pub crest_db: Option<Db>,
    /// Peak-to-loudness ratio, same convention as `crest_db`.
    pub plr_db: Option<Db>,
    /// Loudness range, LU, same convention.
    pub lra_lu: Option<Db>,
    /// SIDE share of energy (0 mono … 0.5 uncorrelated), same convention.
    pub width: Option<f64>,
    /// Correlation below 150 Hz: target − mix (positive: the mix's low end
    /// must become more mono).
    pub low_end_correlation: Option<f64>,
}
