//! Settings for the stereo shaper. Every default is neutral: even when
//! enabled, default settings leave the signal unchanged.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StereoSettings {
    pub enabled: bool,
    pub mid_gain_db: f64,
    pub side_gain_db: f64,
    /// Side level relative to the input, 0–200 %; 100 is neutral.
    pub width_percent: f64,
    /// Width applies above this frequency (a side high shelf), so lows are
    /// not widened. 0 applies the width to the whole band.
    pub width_from_hz: f64,
    /// Make the lows mono.
    pub mono_bass: bool,
    /// Below this frequency the side is at least 40 dB down.
    pub mono_below_hz: f64,
    /// Back the width off whenever the output correlation would fall below
    /// `correlation_floor`.
    pub correlation_guard: bool,
    /// 0–0.9.
    pub correlation_floor: f64,
}

impl Default for StereoSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            mid_gain_db: 0.0,
            side_gain_db: 0.0,
            width_percent: 100.0,
            width_from_hz: 0.0,
            mono_bass: false,
            mono_below_hz: 120.0,
            correlation_guard: false,
            correlation_floor: 0.0,
        }
    }
}
