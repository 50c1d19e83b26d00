//! The JSON report written next to every master.
//!
//! It is the master's paper trail: what came in, what the engine concluded
//! (genre, deltas, the plan and every reason), what the loop and encoder did
//! and what the gate measured on the delivered file. It is versioned so a
//! stored report can be recognised as stale. `runtime_seconds`,
//! `stage_seconds` and `device` are the only fields that change between
//! identical runs; nothing in the audio depends on them.

use crate::gate::GateReport;
use crate::loudness_loop::LoopReport;
use crate::render::EncodeAttempt;
use crate::tonal::TonalCurve;
use lacquer_core::{Analysis, Deltas, GenreScores, Plan};
use lacquer_dsp::chain::ChainMeters;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Bumped whenever a report field is added, removed or changes meaning.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// The input file as decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: PathBuf,
    pub container: String,
    pub codec: String,
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub bits_per_sample: Option<u32>,
    pub duration_seconds: f64,
}

/// The master as delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSummary {
    /// `None` until the file is written (or when only bytes were asked for).
    pub path: Option<PathBuf>,
    /// Format name as `--format` spells it, e.g. `wav24`.
    pub format: String,
    pub sample_rate_hz: u32,
    pub bytes: u64,
}

/// Something the user should know about this master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportWarning {
    /// Stable machine-readable code.
    pub code: String,
    pub message: String,
}

/// Where the work ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Always `cpu`: inference and DSP run on the CPU.
    pub kind: String,
    /// Files mastered at once in the run (absent in reports from before
    /// it was recorded).
    #[serde(default)]
    pub jobs: usize,
    /// Worker threads shared by the files' own parallel work.
    pub threads: usize,
}

/// Where the wall time of one master went, seconds (not deterministic).
/// Chart drawing and file writing come after the report and are not in it.
/// A PCM master's encoding and output analysis run side by side, so their
/// figures overlap.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StageSeconds {
    /// Decoding and measuring the input.
    pub decode_and_analyse: f64,
    /// Polarity check, classification, matching and planning.
    pub plan: f64,
    /// The chain before gain and limiter (and any sample-rate conversion).
    pub chain: f64,
    /// Every pass of gain → limiter → loudness and true peak.
    pub loudness_loop: f64,
    /// Encoding (and, for MP3, decoding again and any re-limiting).
    pub encode: f64,
    /// Measuring the delivered samples.
    pub output_analysis: f64,
    pub gate: f64,
}

/// Everything about one master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasterReport {
    pub schema_version: u32,
    pub engine_name: String,
    pub engine_version: String,
    /// Version of the genre model that classified the input (`None` when a
    /// genre was given or in reference mode).
    pub model_version: Option<String>,
    pub input: InputSummary,
    pub output: OutputSummary,
    pub input_analysis: Analysis,
    /// Measured on the delivered samples (after dither or MP3 decoding).
    pub output_analysis: Analysis,
    pub genre: Option<GenreScores>,
    pub deltas: Option<Deltas>,
    /// The tonal curve the master was steered to (profile or reference).
    pub tonal_target: Option<TonalCurve>,
    pub plan: Plan,
    pub loudness_loop: LoopReport,
    /// MP3 only: each encode and its decoded true peak.
    pub encode_attempts: Vec<EncodeAttempt>,
    pub meters: ChainMeters,
    pub gate: GateReport,
    pub warnings: Vec<ReportWarning>,
    /// Wall time of this file, seconds (not deterministic).
    pub runtime_seconds: f64,
    pub stage_seconds: StageSeconds,
    /// Not deterministic either (thread count).
    pub device: Device,
}
