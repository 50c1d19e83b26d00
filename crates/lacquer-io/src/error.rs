//! One error type for the whole I/O stage.
//!
//! Every variant that concerns a file names it, because the CLI prints these
//! messages straight to a user who may be processing a whole folder and needs
//! to know which file was at fault. Input-validation classes are told apart
//! from environment failures so the CLI can map them to a distinct exit code.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while reading, converting or writing audio.
#[derive(Debug, Error)]
pub enum IoError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },

    #[error("{path}: cannot read the file")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the file is empty ({detail})")]
    Empty { path: PathBuf, detail: &'static str },

    #[error("{path}: unsupported or unrecognised container format")]
    UnsupportedFormat {
        path: PathBuf,
        #[source]
        source: symphonia::core::errors::Error,
    },

    #[error("{path}: unsupported codec ({detail})")]
    UnsupportedCodec { path: PathBuf, detail: String },

    #[error("{path}: the file is corrupt or truncated ({detail})")]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "{path}: audio is {duration_seconds:.3} s long, shorter than the minimum of {min_seconds:.3} s"
    )]
    TooShort {
        path: PathBuf,
        duration_seconds: f64,
        min_seconds: f64,
    },

    #[error(
        "{path}: audio is longer than the limit of {max_seconds:.1} s (at least {duration_seconds:.1} s)"
    )]
    TooLong {
        path: PathBuf,
        duration_seconds: f64,
        max_seconds: f64,
    },

    #[error(
        "{path}: sample {value} is not a finite number (channel {channel}, 0 = left, at {time_seconds:.6} s)"
    )]
    NonFiniteSample {
        path: PathBuf,
        channel: usize,
        time_seconds: f64,
        value: f32,
    },

    #[error("{path}: {channels} channels; only mono and stereo are supported")]
    TooManyChannels { path: PathBuf, channels: usize },

    #[error("{path}: sample rate {sample_rate_hz} Hz is outside the supported 8000-384000 Hz")]
    SampleRateOutOfRange { path: PathBuf, sample_rate_hz: u32 },

    #[error("{path}: bit depth {bits} is outside the supported 8-32 bits")]
    BitDepthOutOfRange { path: PathBuf, bits: u32 },

    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {detail}")]
    Resample {
        from_hz: u32,
        to_hz: u32,
        detail: String,
    },

    #[error("cannot encode {format}: {detail}")]
    Encode { format: String, detail: String },

    #[error(
        "cannot encode {format}: sample {value} is not finite (channel {channel}, frame {frame})"
    )]
    EncodeNonFinite {
        format: String,
        channel: usize,
        frame: usize,
        value: f32,
    },

    #[error("{path}: output file already exists and overwriting was not allowed")]
    OutputExists { path: PathBuf },

    #[error("{path}: refusing to write over the input file")]
    OutputIsInput { path: PathBuf },

    #[error("{path}: cannot write the output file")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl IoError {
    /// True for problems with the user's input file (as opposed to the
    /// environment or our own encoders); the CLI maps these to exit code 2.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::Unreadable { .. }
                | Self::Empty { .. }
                | Self::UnsupportedFormat { .. }
                | Self::UnsupportedCodec { .. }
                | Self::Corrupt { .. }
                | Self::TooShort { .. }
                | Self::TooLong { .. }
                | Self::NonFiniteSample { .. }
                | Self::TooManyChannels { .. }
                | Self::SampleRateOutOfRange { .. }
                | Self::BitDepthOutOfRange { .. }
        )
    }
}
