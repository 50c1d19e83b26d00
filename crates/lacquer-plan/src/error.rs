//! Why a plan could not be made. The planner does no I/O, so every error is
//! a bad knob, a contract the caller broke, or a mix with nothing to master;
//! each message names the value and the range it had to be in.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlanError {
    #[error("intensity {value} % is outside 0–100 %")]
    IntensityOutOfRange { value: f64 },
    #[error("width {value} % is outside 0–200 % (100 leaves the image unchanged)")]
    WidthOutOfRange { value: f64 },
    #[error("target loudness {value} LUFS is outside {low}…{high} LUFS")]
    TargetLufsOutOfRange { value: f64, low: f64, high: f64 },
    #[error("true-peak ceiling {value} dBTP is outside {low}…{high} dBTP")]
    CeilingOutOfRange { value: f64, low: f64, high: f64 },
    #[error("platform '{id}': {problem}")]
    InvalidPlatform { id: String, problem: String },
    #[error("unknown genre profile '{name}'; known profiles: {known}")]
    UnknownProfile { name: String, known: String },
    #[error(
        "--genre auto needs the classifier's scores, and none were given; name a profile with --genre NAME (known: {known})"
    )]
    NoGenreScores { known: String },
    #[error(
        "none of the classifier's labels ({labels}) has a genre profile (known: {known}); name one with --genre NAME"
    )]
    NoProfileForLabels { labels: String, known: String },
    #[error(
        "the mix is silent (nothing passes the -70 LUFS loudness gate); there is no level to master"
    )]
    SilentMix,
    #[error("the reference intent needs the reference track's analysis, and none was given")]
    MissingReference,
    #[error("the reference track is silent (nothing passes the -70 LUFS loudness gate)")]
    SilentReference,
    #[error("the mix's analysis is malformed: {problem}")]
    InvalidAnalysis { problem: String },
    #[error("the tonal deltas are malformed: {problem}")]
    InvalidDeltas { problem: String },
    #[error("the profile blend is malformed: {problem}")]
    InvalidBlend { problem: String },
}
