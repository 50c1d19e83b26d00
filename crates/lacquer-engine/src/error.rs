//! One error type for the engine. Every variant names the file it concerns,
//! because a batch run over a folder reports failures one line per file, and
//! the CLI must tell "your input is bad" (exit 2) from "we failed" (exit 1).

use lacquer_analysis::AnalysisError;
use lacquer_dsp::DspError;
use lacquer_io::IoError;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    /// Decoding or validating an input or reference file failed; the I/O
    /// error already names the file.
    #[error(transparent)]
    Input(IoError),

    #[error(
        "{path}: the audio is silent (nothing above the -70 LUFS gate), so there is no loudness to set"
    )]
    SilentInput { path: PathBuf },

    #[error("{path}: analysis failed")]
    Analysis {
        path: PathBuf,
        #[source]
        source: AnalysisError,
    },

    #[error("{path}: the mastering chain rejected its settings")]
    Dsp {
        path: PathBuf,
        #[source]
        source: DspError,
    },

    /// Resampling, encoding or re-reading the encoded master failed.
    #[error("{path}: {step} failed")]
    Convert {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: IoError,
    },

    #[error("delivery sample rate {rate_hz} Hz is not offered (use 44100 or 48000)")]
    UnsupportedDeliveryRate { rate_hz: u32 },

    #[error(
        "{path}: the loudness target {target_lufs} LUFS or ceiling {ceiling_dbtp} dBTP is not usable"
    )]
    BadTarget {
        path: PathBuf,
        target_lufs: f64,
        ceiling_dbtp: f64,
    },

    #[error("{path}: genre classification failed")]
    Genre {
        path: PathBuf,
        #[source]
        source: lacquer_genre::GenreError,
    },

    #[error("{path}: comparing with the target failed")]
    Reference {
        path: PathBuf,
        #[source]
        source: Box<lacquer_reference::ReferenceError>,
    },

    #[error("{path}: planning failed")]
    Plan {
        path: PathBuf,
        #[source]
        source: lacquer_plan::PlanError,
    },

    #[error("cannot load the genre model")]
    Model {
        #[source]
        source: lacquer_genre::GenreError,
    },

    #[error("cannot load the genre profiles")]
    Profiles {
        #[source]
        source: Box<lacquer_reference::ReferenceError>,
    },

    #[error("{path}: cannot draw the report chart")]
    Chart {
        path: PathBuf,
        #[source]
        source: lacquer_plot::PlotError,
    },

    #[error("unknown platform `{id}` (known: {known})")]
    UnknownPlatform { id: String, known: String },

    #[error("unknown genre `{name}` (known: {known})")]
    UnknownGenre { name: String, known: String },

    #[error("{path}: reference mode needs a reference track (--reference)")]
    MissingReference { path: PathBuf },

    /// The shared reference track could not be measured; its own error is
    /// [`crate::pipeline::SharedReference::failure`].
    #[error("reference track {path} could not be measured")]
    ReferenceUnavailable { path: PathBuf },

    /// Writing the master failed; the I/O error names the file.
    #[error(transparent)]
    Output(IoError),

    #[error("{path}: cannot write the report")]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// True when the user's input (or reference) file is at fault: the CLI
    /// exits 2 for these.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::Input(e) => e.is_invalid_input(),
            Self::SilentInput { .. } => true,
            _ => false,
        }
    }
}
