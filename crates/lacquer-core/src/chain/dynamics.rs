//! Settings for the dynamic EQ, the multiband compressor and the glue
//! compressor. Every `Default` is neutral (stage disabled, ratio 1, no gain).
use serde::{Deserialize, Serialize};

/// One dynamic-EQ bell: it cuts only while the level of its own band is
/// above `threshold_db`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DynamicEqBandSettings {
    pub frequency_hz: f64,
    pub q: f64,
    /// Band level (dBFS, peak of the band-passed signal) where cutting starts.
    pub threshold_db: f64,
    /// Cut per dB over the threshold is `1 − 1/ratio`.
    pub ratio: f64,
    /// Deepest cut (dB, positive).
    pub max_cut_db: f64,
    pub attack_ms: f64,
    pub release_ms: f64,
}

impl Default for DynamicEqBandSettings {
    fn default() -> Self {
        Self {
            frequency_hz: 3500.0,
            q: 1.0,
            threshold_db: 0.0,
            ratio: 1.0,
            max_cut_db: 0.0,
            attack_ms: 5.0,
            release_ms: 80.0,
        }
    }
}

impl DynamicEqBandSettings {
    /// Harshness control, 2–6 kHz.
    pub fn harshness(threshold_db: f64, max_cut_db: f64) -> Self {
        Self {
            frequency_hz: 3500.0,
            q: 0.9,
            threshold_db,
            ratio: 3.0,
            max_cut_db,
            attack_ms: 3.0,
            release_ms: 60.0,
        }
    }

    /// Mud control, 200–500 Hz.
    pub fn mud(threshold_db: f64, max_cut_db: f64) -> Self {
        Self {
            frequency_hz: 320.0,
            q: 1.0,
            threshold_db,
            ratio: 2.5,
            max_cut_db,
            attack_ms: 10.0,
            release_ms: 120.0,
        }
    }

    /// Sub build-up control, around 40–60 Hz.
    pub fn sub(threshold_db: f64, max_cut_db: f64) -> Self {
        Self {
            frequency_hz: 50.0,
            q: 0.8,
            threshold_db,
            ratio: 2.0,
            max_cut_db,
            attack_ms: 20.0,
            release_ms: 200.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DynamicEqSettings {
    pub enabled: bool,
    pub bands: Vec<DynamicEqBandSettings>,
}

/// Static curve and time constants shared by every compressor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompressorCurve {
    pub threshold_db: f64,
    /// ≥ 1; 1 is neutral.
    pub ratio: f64,
    /// Full width of the soft knee (dB); 0 is a hard knee.
    pub knee_db: f64,
    /// Time constant (to 63 %) of the detector rising.
    pub attack_ms: f64,
    /// Time constant (to 63 %) of the detector falling.
    pub release_ms: f64,
    pub makeup_db: f64,
}

impl Default for CompressorCurve {
    fn default() -> Self {
        Self {
            threshold_db: 0.0,
            ratio: 1.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 150.0,
            makeup_db: 0.0,
        }
    }
}

/// Three or four bands split by Linkwitz-Riley crossovers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultibandSettings {
    pub enabled: bool,
    /// Ascending; 2 entries for 3 bands, 3 for 4 bands.
    pub crossovers_hz: Vec<f64>,
    /// One entry per band, lowest band first.
    pub bands: Vec<CompressorCurve>,
    /// Compress mid and side separately instead of linked left/right.
    pub mid_side: bool,
}

impl Default for MultibandSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            crossovers_hz: vec![120.0, 1000.0, 6000.0],
            bands: vec![CompressorCurve::default(); 4],
            mid_side: false,
        }
    }
}

/// What the glue compressor's detector measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorMode {
    Peak,
    #[default]
    Rms,
}

/// Wideband "glue" compressor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlueSettings {
    pub enabled: bool,
    pub curve: CompressorCurve,
    pub detector: DetectorMode,
    /// Averaging time of the RMS detector.
    pub rms_window_ms: f64,
    /// Side-chain high-pass corner (2nd-order Butterworth); 0 disables it.
    pub sidechain_highpass_hz: f64,
}

impl Default for GlueSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            curve: CompressorCurve {
                threshold_db: 0.0,
                ratio: 1.0,
                knee_db: 6.0,
                attack_ms: 30.0,
                release_ms: 300.0,
                makeup_db: 0.0,
            },
            detector: DetectorMode::Rms,
            rms_window_ms: 10.0,
            sidechain_highpass_hz: 0.0,
        }
    }
}
