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
    #[error("the chain processes stereo; the buffer has {channels} channel(s)")]
    UnsupportedChannels { channels: usize },
    #[error("the chain was prepared for {prepared} Hz but the buffer is {got} Hz")]
    SampleRateMismatch { prepared: u32, got: u32 },
    #[error("the chain must be prepared before it processes audio")]
    NotPrepared,
    #[error("input sample {frame} of channel {channel} is not a finite number")]
    NonFiniteInput { channel: usize, frame: usize },
}
