//! Settings for the corrective EQ: a rumble high-pass, shelves and bells
//! (minimum-phase biquads) plus an optional linear-phase match EQ (FIR).
//!
//! A default `EqSettings` is neutral: the stage is disabled and empty.
use serde::{Deserialize, Serialize};

/// Roll-off of the rumble high-pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HighPassSlope {
    /// 2nd-order Butterworth.
    Db12PerOctave,
    /// 4th-order Butterworth.
    #[default]
    Db24PerOctave,
}

/// The rumble high-pass (Butterworth, −3 dB at `frequency_hz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HighPassSettings {
    pub enabled: bool,
    pub frequency_hz: f64,
    pub slope: HighPassSlope,
}

impl Default for HighPassSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            frequency_hz: 30.0,
            slope: HighPassSlope::Db24PerOctave,
        }
    }
}

/// Shape of one static EQ band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EqBandKind {
    /// Gain below `frequency_hz`; half the gain (in dB) at `frequency_hz`.
    LowShelf,
    /// Gain above `frequency_hz`; half the gain (in dB) at `frequency_hz`.
    HighShelf,
    /// Bell: full gain at `frequency_hz`, bandwidth set by `q`.
    #[default]
    Peak,
}

/// One static EQ band. `gain_db == 0` is neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EqBandSettings {
    pub kind: EqBandKind,
    pub frequency_hz: f64,
    pub gain_db: f64,
    /// Bell bandwidth (analog-prototype Q); for shelves the slope Q
    /// (0.707 gives the steepest shelf without overshoot).
    pub q: f64,
}

impl Default for EqBandSettings {
    fn default() -> Self {
        Self {
            kind: EqBandKind::Peak,
            frequency_hz: 1000.0,
            gain_db: 0.0,
            q: std::f64::consts::FRAC_1_SQRT_2,
        }
    }
}

/// One point of a match-EQ curve: the gain wanted at a frequency.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchPoint {
    pub frequency_hz: f64,
    pub gain_db: f64,
}

/// Linear-phase match EQ built from a (target − source) curve, e.g. the
/// 1/3-octave deltas the reference-matching stage computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchEqSettings {
    pub enabled: bool,
    /// Points in any order; gains between points are interpolated in
    /// log-frequency, and held flat beyond the first and last point.
    /// Applied to left and right alike, or to the MID when `side_curve` is
    /// given.
    pub curve: Vec<MatchPoint>,
    /// A separate curve for the SIDE (same rules as `curve`): the EQ then
    /// works on mid and side, which is how a reference's stereo image is
    /// matched band by band. `None`: left/right processing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side_curve: Option<Vec<MatchPoint>>,
    /// Largest boost applied anywhere (dB, ≥ 0).
    pub max_boost_db: f64,
    /// Largest cut applied anywhere (dB, given as a positive number).
    pub max_cut_db: f64,
    /// Width of the fractional-octave smoothing applied to the curve before
    /// the filter is built (0 = none).
    pub smoothing_octaves: f64,
}

impl Default for MatchEqSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            curve: Vec::new(),
            side_curve: None,
            max_boost_db: 6.0,
            max_cut_db: 6.0,
            smoothing_octaves: 1.0 / 3.0,
        }
    }
}

/// The corrective EQ stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EqSettings {
    pub enabled: bool,
    pub high_pass: HighPassSettings,
    pub bands: Vec<EqBandSettings>,
    pub match_eq: MatchEqSettings,
}
