//! The planner's output and the knobs a user turns: shared here because the
//! planner writes them, the engine executes them and the report stores them.

use crate::chain::ChainSettings;
use crate::units::{Db, Lufs};
use serde::{Deserialize, Serialize};

/// What the master is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Meet a platform's loudness target with the genre's tone and dynamics.
    #[default]
    Streaming,
    /// Dense and loud while keeping punch (no normalisation target).
    Loud,
    /// Match a reference track's tone, dynamics and loudness.
    Reference,
}

/// Which genre profile to steer toward.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenreChoice {
    /// Use the classifier's scores (blending profiles when it is unsure).
    #[default]
    Auto,
    /// Use this profile regardless of the classifier.
    Named(String),
}

/// The user's knobs. `None` means "let the intent / platform decide".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOptions {
    pub intent: Intent,
    /// 0…100: how far toward the target the tonal and dynamic moves go.
    /// 0 plans loudness only (gain and limiter). In reference mode the
    /// default 70 already matches the reference fully; less matches
    /// proportionally less.
    pub intensity_percent: f64,
    /// Stereo width override, percent (100 = unchanged, 0–200). Applied
    /// as given (not scaled by intensity); widening acts above the lows.
    pub width_percent: Option<f64>,
    /// Integrated loudness override, LUFS.
    pub target_lufs: Option<f64>,
    /// True-peak ceiling override, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Platform id from `profiles/platforms.toml` (e.g. `spotify`).
    pub platform: String,
    pub genre: GenreChoice,
    /// Flip one channel's polarity when the channels are strongly
    /// anti-correlated (a channel wired upside down). Off keeps the
    /// polarity as it is, for mixes that are anti-phase on purpose.
    pub fix_polarity: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            intent: Intent::Streaming,
            intensity_percent: 70.0,
            width_percent: None,
            target_lufs: None,
            true_peak_dbtp: None,
            platform: "spotify".to_owned(),
            genre: GenreChoice::Auto,
            fix_polarity: true,
        }
    }
}

/// Where the engine's loudness loop must land.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoudnessTarget {
    pub integrated_lufs: Lufs,
    pub ceiling_dbtp: Db,
}

/// The chain stage a decision concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStage {
    Target,
    Genre,
    Polarity,
    Eq,
    DynamicEq,
    Multiband,
    Glue,
    Saturation,
    Stereo,
    Limiter,
    Gain,
}

/// One thing the planner decided, with the measurement that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub stage: PlanStage,
    /// One line a mastering engineer would write, e.g. "cut 2.1 dB at
    /// 3.2 kHz: presence 2.4 dB above the metal_rock profile".
    pub reason: String,
}

/// The planner's whole answer. `settings.gain_db` is a starting estimate;
/// the engine's loudness loop refines it toward `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub settings: ChainSettings,
    pub target: LoudnessTarget,
    /// Profiles used and their weights (sum 1), highest first; empty in
    /// reference mode.
    pub profile_blend: Vec<(String, f64)>,
    /// In signal order (genre, target, EQ … gain, limiter); within a stage,
    /// in the order they were made. Includes "left alone because …" lines.
    pub decisions: Vec<Decision>,
}
