//! Errors the DSP chain reports (all at `prepare` time, never in `process`).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DspError {
    #[error("{stage}: {reason}")]
    InvalidSetting { stage: &'static str, reason: String },
    #[error("sample rate {rate} Hz is outside what the {stage} stage supports")]
    UnsupportedSampleRate { stage: &'static str, rate: u32 },
    #[error("block size must be at least 1 frame (got {0})")]
    ZeroBlock(usize),
}
