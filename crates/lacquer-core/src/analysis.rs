//! The `Analysis` record: everything the analysis stage measures about a track.
//!
//! One serde struct, because the CLI prints it, the JSON report stores it
//! (before and after mastering) and later stages (reference matching, the
//! planner, the quality gate) read it; they must all agree on one shape. The
//! record is versioned so a stored report can be recognised as stale.
//!
//! Values that do not exist for some inputs (the loudness of digital silence,
//! the peak of an all-zero channel) are `Option`s and serialise as `null`;
//! the record never holds −∞ or NaN, which JSON cannot carry.

use crate::units::{Db, Hz, Lufs};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped whenever a field is added, removed or changes meaning.
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

/// Warn "no headroom" when the sample peak is above this (SPEC: −1 dBFS).
pub const NO_HEADROOM_PEAK_DBFS: f64 = -1.0;
/// Warn "already limited" when the peak-to-RMS crest factor is at or below
/// this. Dense, brick-wall-limited masters sit around 5–7 dB; open mixes at
/// 12 dB and more.
pub const ALREADY_LIMITED_CREST_DB: f64 = 6.0;
/// Warn "already limited" when PLR (true peak − integrated loudness) is at or
/// below this. Loud limited masters measure 6–8 LU; unlimited mixes 12+ LU.
pub const ALREADY_LIMITED_PLR_DB: f64 = 7.0;
/// Warn about DC when a channel's mean is at or above this level (−60 dBFS:
/// far above any dither or rounding bias, audible as a shifted limiter
/// threshold and asymmetric clipping).
pub const DC_OFFSET_WARN_DBFS: f64 = -60.0;
/// Warn "near silence" when the integrated loudness is below this (or absent).
pub const NEAR_SILENCE_LUFS: f64 = -50.0;

/// Everything the analysis stage measured. Field names carry their units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// [`ANALYSIS_SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    pub sample_rate_hz: u32,
    /// Channels of the input (1 or 2). A mono input is measured as dual mono.
    pub source_channels: u32,
    pub frames: u64,
    pub duration_seconds: f64,
    pub loudness: LoudnessAnalysis,
    /// `None` when no part of the track passes the loudness gate (silence).
    pub tonal: Option<TonalAnalysis>,
    pub dynamics: DynamicsAnalysis,
    pub stereo: StereoAnalysis,
    pub health: HealthAnalysis,
}

/// BS.1770 / EBU R128 loudness and peaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoudnessAnalysis {
    /// Gated integrated loudness; `None` when nothing passes the −70 LUFS gate.
    pub integrated_lufs: Option<Lufs>,
    /// Highest 3 s short-term loudness (100 ms hop); `None` if shorter than 3 s
    /// or silent.
    pub short_term_max_lufs: Option<Lufs>,
    /// Highest 400 ms momentary loudness (100 ms hop).
    pub momentary_max_lufs: Option<Lufs>,
    /// EBU Tech 3342 loudness range, in LU.
    pub loudness_range_lu: Option<Db>,
    /// Spacing of [`Self::short_term_lufs`] in seconds.
    pub short_term_hop_seconds: f64,
    /// Short-term loudness for plotting, one value per hop; entry `i` covers
    /// the 3 s ending at `3 + i·hop` seconds. `None` for digital silence.
    pub short_term_lufs: Vec<Option<Lufs>>,
    /// True peak per input channel (4x oversampled below 96 kHz, BS.1770-4
    /// Annex 2); `None` for an all-zero channel.
    pub true_peak_dbtp: Vec<Option<Db>>,
    pub max_true_peak_dbtp: Option<Db>,
    /// Sample peak per input channel.
    pub sample_peak_dbfs: Vec<Option<Db>>,
    pub max_sample_peak_dbfs: Option<Db>,
    /// Sample peak over RMS (both over all channels).
    pub crest_factor_db: Option<Db>,
    /// Peak-to-loudness ratio: max true peak − integrated loudness.
    pub plr_db: Option<Db>,
}

/// A value for each of the six broad bands the planner reasons in.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SixBands<T> {
    /// 20–60 Hz
    pub sub: T,
    /// 60–200 Hz
    pub bass: T,
    /// 200–500 Hz
    pub low_mid: T,
    /// 500 Hz–2 kHz
    pub mid: T,
    /// 2–6 kHz
    pub presence: T,
    /// 6–16 kHz
    pub air: T,
}

impl<T: Copy> SixBands<T> {
    /// The six values from low to high.
    pub fn to_array(&self) -> [T; 6] {
        [
            self.sub,
            self.bass,
            self.low_mid,
            self.mid,
            self.presence,
            self.air,
        ]
    }

    /// Builds the bands from six values, low to high.
    pub fn from_array(values: [T; 6]) -> Self {
        let [sub, bass, low_mid, mid, presence, air] = values;
        Self {
            sub,
            bass,
            low_mid,
            mid,
            presence,
            air,
        }
    }
}

/// Edges of the six bands in Hz, low to high, matching [`SixBands`].
pub const SIX_BAND_EDGES_HZ: [(f64, f64); 6] = [
    (20.0, 60.0),
    (60.0, 200.0),
    (200.0, 500.0),
    (500.0, 2_000.0),
    (2_000.0, 6_000.0),
    (6_000.0, 16_000.0),
];

/// Long-term average spectrum of the loud parts of the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonalAnalysis {
    /// ISO 266 nominal 1/3-octave centres, 20 Hz up to the highest centre
    /// below Nyquist.
    pub third_octave_centres_hz: Vec<Hz>,
    /// Mean-square level of MID = (L+R)/2 in each band, dBFS (a full-scale
    /// sine reads −3.01 dB). Empty bands read [`Self::floor_db`].
    pub mid_db: Vec<Db>,
    /// The same for SIDE = (L−R)/2.
    pub side_db: Vec<Db>,
    /// The level that stands in for "no energy at all".
    pub floor_db: Db,
    /// MID energy of each broad band relative to the MID energy 20 Hz–20 kHz.
    pub bands_db: SixBands<Db>,
    /// Analysis frames that passed the loudness gate, and all frames.
    pub frames_used: u32,
    pub frames_total: u32,
}

/// How the level moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicsAnalysis {
    /// Percentiles of the gated short-term loudness distribution (same gate as
    /// the loudness range, so p95 − p10 = LRA).
    pub short_term_p10_lufs: Option<Lufs>,
    pub short_term_p50_lufs: Option<Lufs>,
    pub short_term_p90_lufs: Option<Lufs>,
    pub short_term_p95_lufs: Option<Lufs>,
    /// Detected onsets per second.
    pub transient_density_per_second: f64,
    /// Mean rise of the K-weighted 10 ms level at the onsets, dB.
    pub transient_sharpness_db: Option<Db>,
    /// Standard deviation of the < 120 Hz level in 100 ms windows over the
    /// loud part of the track, dB (pumping or uneven bass reads high).
    pub low_end_modulation_db: Option<Db>,
}

/// Stereo image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StereoAnalysis {
    /// Pearson correlation of L and R over the whole track (−1…1); `None`
    /// when a channel is silent.
    pub correlation: Option<f64>,
    /// Correlation of the content below 150 Hz (gated frames).
    pub correlation_below_150hz: Option<f64>,
    /// MID energy over SIDE energy, dB, limited to ±[`Self::ratio_limit_db`].
    pub mid_side_ratio_db: Option<Db>,
    /// The bound that stands in for an infinite ratio (pure mono / pure side).
    pub ratio_limit_db: Db,
    /// SIDE / (MID + SIDE) energy per broad band: 0 mono, 0.5 uncorrelated,
    /// 1 fully out of phase.
    pub width_per_band: Option<SixBands<f64>>,
    /// How much quieter the mono sum (L+R)/2 is than the channels' mean
    /// energy, dB (0 for mono, 3 for uncorrelated, large for out of phase),
    /// limited to [`Self::ratio_limit_db`].
    pub mono_sum_loss_db: Option<Db>,
    /// Share of the loud 100 ms blocks whose correlation is strongly negative.
    pub negative_correlation_share: f64,
    /// Sustained negative correlation: the sum to mono will cancel.
    pub phase_issue: bool,
}

/// Faults in the file itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthAnalysis {
    /// Runs of at least `clip_run_min_samples` consecutive flat samples at
    /// full scale, all channels together.
    pub clipped_runs: u64,
    pub clip_run_min_samples: u32,
    /// Mean of each input channel (linear, full scale = 1).
    pub dc_offset: Vec<f64>,
    /// Share of 100 ms blocks below the −70 LUFS absolute gate.
    pub silence_share: f64,
    /// A two-channel input whose channels are identical within a tiny
    /// tolerance.
    pub mono_in_stereo: bool,
    /// Distance from the sample peak to 0 dBFS (negative when over).
    pub headroom_db: Option<Db>,
}

/// Something the decode step should tell the user about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AnalysisWarning {
    ClippedInput {
        runs: u64,
    },
    NoHeadroom {
        sample_peak_dbfs: Db,
    },
    AlreadyLimited {
        crest_factor_db: Option<Db>,
        plr_db: Option<Db>,
    },
    DcOffset {
        channel: usize,
        offset_dbfs: Db,
    },
    NearSilence {
        integrated_lufs: Option<Lufs>,
    },
    MonoInStereo,
}

impl AnalysisWarning {
    /// Stable machine-readable code (also the serde tag).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ClippedInput { .. } => "clipped_input",
            Self::NoHeadroom { .. } => "no_headroom",
            Self::AlreadyLimited { .. } => "already_limited",
            Self::DcOffset { .. } => "dc_offset",
            Self::NearSilence { .. } => "near_silence",
            Self::MonoInStereo => "mono_in_stereo",
        }
    }

    /// One-line explanation for a person.
    pub fn message(&self) -> String {
        match self {
            Self::ClippedInput { runs } => format!(
                "input is clipped: {runs} run(s) of flat full-scale samples; mastering cannot undo this"
            ),
            Self::NoHeadroom { sample_peak_dbfs } => format!(
                "no headroom: sample peak {sample_peak_dbfs:.2}FS is above {NO_HEADROOM_PEAK_DBFS} dBFS; export the mix with more headroom if you can"
            ),
            Self::AlreadyLimited {
                crest_factor_db,
                plr_db,
            } => format!(
                "input looks already limited (crest factor {}, PLR {}); there is little dynamic range left to work with",
                fmt_opt_db(*crest_factor_db),
                fmt_opt_db(*plr_db)
            ),
            Self::DcOffset {
                channel,
                offset_dbfs,
            } => format!("channel {channel} has a DC offset of {offset_dbfs:.1}FS"),
            Self::NearSilence { integrated_lufs } => match integrated_lufs {
                Some(l) => format!("input is nearly silent ({l:.1} integrated)"),
                None => "input is silent (nothing above the -70 LUFS gate)".to_string(),
            },
            Self::MonoInStereo => {
                "input is mono stored as stereo (both channels identical)".to_string()
            }
        }
    }
}

impl fmt::Display for AnalysisWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code(), self.message())
    }
}

fn fmt_opt_db(value: Option<Db>) -> String {
    value.map_or_else(|| "n/a".to_string(), |d| format!("{d:.1}"))
}

impl Analysis {
    /// Warnings for the decode step, in a fixed order.
    pub fn warnings(&self) -> Vec<AnalysisWarning> {
        let mut out = Vec::new();
        if self.health.clipped_runs > 0 {
            out.push(AnalysisWarning::ClippedInput {
                runs: self.health.clipped_runs,
            });
        }
        if let Some(peak) = self.loudness.max_sample_peak_dbfs
            && peak.0 > NO_HEADROOM_PEAK_DBFS
        {
            out.push(AnalysisWarning::NoHeadroom {
                sample_peak_dbfs: peak,
            });
        }
        let crest = self.loudness.crest_factor_db;
        let plr = self.loudness.plr_db;
        let low_crest = crest.is_some_and(|c| c.0 <= ALREADY_LIMITED_CREST_DB);
        let low_plr = plr.is_some_and(|p| p.0 <= ALREADY_LIMITED_PLR_DB);
        if low_crest || low_plr {
            out.push(AnalysisWarning::AlreadyLimited {
                crest_factor_db: crest,
                plr_db: plr,
            });
        }
        for (channel, &offset) in self.health.dc_offset.iter().enumerate() {
            let offset_dbfs = Db::from_amplitude(offset);
            if offset != 0.0 && offset_dbfs.0 >= DC_OFFSET_WARN_DBFS {
                out.push(AnalysisWarning::DcOffset {
                    channel,
                    offset_dbfs,
                });
            }
        }
        let integrated = self.loudness.integrated_lufs;
        if integrated.is_none_or(|l| l.0 < NEAR_SILENCE_LUFS) {
            out.push(AnalysisWarning::NearSilence {
                integrated_lufs: integrated,
            });
        }
        if self.health.mono_in_stereo {
            out.push(AnalysisWarning::MonoInStereo);
        }
        out
    }
}
