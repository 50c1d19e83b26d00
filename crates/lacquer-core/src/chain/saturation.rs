//! Settings for the oversampled saturator / soft clipper.
//!
//! Drive is compensated inside the stage (small signals pass at unity), so
//! the planner can add density without also moving the loudness target.
//!
//! Per-band mode exists because one wideband curve driven by the kick also
//! bends the cymbals on top of it, and the intermodulation lands in the
//! presence range where it reads as harshness. Splitting first lets the
//! planner warm the lows and mids while the top band stays clean (drive 0 dB
//! bends only near full scale).
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

/// Crossovers the planner can start from for a three-band split: the low
/// band carries kick and bass, the top band (above 4 kHz) the presence and
/// air that turn harsh first when saturated.
pub const THREE_BAND_CROSSOVERS_HZ: [f64; 2] = [200.0, 4_000.0];

/// One band of per-band saturation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SaturationBand {
    /// Gain into the curve for this band (0–36 dB); compensated after it,
    /// like the wideband `drive_db`.
    pub drive_db: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaturationSettings {
    /// Off by default: a bypassed saturator is skipped bit-exactly.
    pub enabled: bool,
    pub curve: SaturationCurve,
    /// Gain into the curve (0–36 dB); the inverse gain is applied after it.
    /// Used when `bands` is empty (wideband).
    pub drive_db: f64,
    /// Wet share of the output, 0–100 %.
    pub mix_percent: f64,
    /// Per-band drives, lowest band first. Empty (the default): one wideband
    /// curve. 2–4 bands: the signal is split by an LR4 crossover at
    /// `crossovers_hz`, each band is saturated with its own drive and the
    /// bands are summed (then `drive_db` is unused).
    pub bands: Vec<SaturationBand>,
    /// Ascending crossover frequencies between `bands`, Hz (one fewer than
    /// the bands; empty when `bands` is).
    pub crossovers_hz: Vec<f64>,
}

impl Default for SaturationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            curve: SaturationCurve::Tanh,
            drive_db: 0.0,
            mix_percent: 100.0,
            bands: Vec::new(),
            crossovers_hz: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_without_bands_read_as_wideband() {
        let old: SaturationSettings =
            serde_json::from_str(r#"{"enabled":true,"drive_db":6.0,"mix_percent":50.0}"#)
                .expect("settings written before per-band mode still parse");
        assert!(old.bands.is_empty() && old.crossovers_hz.is_empty());
        assert_eq!(old.drive_db, 6.0);
    }

    #[test]
    fn per_band_settings_round_trip() {
        let s = SaturationSettings {
            enabled: true,
            bands: vec![
                SaturationBand { drive_db: 6.0 },
                SaturationBand { drive_db: 3.0 },
                SaturationBand { drive_db: 0.0 },
            ],
            crossovers_hz: THREE_BAND_CROSSOVERS_HZ.to_vec(),
            ..SaturationSettings::default()
        };
        let json = serde_json::to_string(&s).expect("serialises");
        let back: SaturationSettings = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, s);
    }
}
