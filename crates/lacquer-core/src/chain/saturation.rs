//! Settings for the oversampled saturator / soft clipper.
//!
//! Drive is compensated inside the stage (small signals pass at unity), so
//! the planner can add density without also moving the loudness target.
use serde::{Deserialize, Serialize};

/// The transfer curve of the saturator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaturationCurve {
    /// A smooth tanh-like curve (odd harmonics that fall off quickly).
    #[default]
    Tanh,
    /// A cubic soft clipper: linear-ish until close to the knee, then flat.
    Polynomial,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaturationSettings {
    /// Off by default: a bypassed saturator is skipped bit-exactly.
    pub enabled: bool,
    pub curve: SaturationCurve,
    /// Gain into the curve (0–24 dB); the inverse gain is applied after it.
    pub drive_db: f64,
    /// Wet share of the output, 0–100 %.
    pub mix_percent: f64,
}

impl Default for SaturationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            curve: SaturationCurve::Tanh,
            drive_db: 0.0,
            mix_percent: 100.0,
        }
    }
}
