//! The life cycle every DSP stage shares.

use crate::DspError;

/// A stereo processing stage.
///
/// Contract:
/// - `prepare` validates settings against the sample rate and allocates every
///   buffer the stage needs for blocks of up to `max_block` frames. It may be
///   called again (new rate or block size); it leaves the stage reset.
/// - `process` never allocates, never panics on finite input, accepts any
///   block length `1..=max_block`, and gives output independent of how the
///   signal was split into blocks.
/// - `latency` is the delay (in frames at the prepared rate) the stage adds;
///   the chain compensates for it.
pub trait Processor {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError>;
    fn reset(&mut self);
    fn latency(&self) -> usize {
        0
    }
    fn process(&mut self, left: &mut [f32], right: &mut [f32]);
}

/// Sample rates every stage accepts (the range the decoder accepts).
pub const SUPPORTED_RATES_HZ: std::ops::RangeInclusive<u32> = 8_000..=384_000;

/// The checks every stage's `prepare` starts with: a usable block size and a
/// supported sample rate.
pub(crate) fn check_rate(
    stage: &'static str,
    sample_rate: u32,
    max_block: usize,
) -> Result<(), DspError> {
    if max_block == 0 {
        return Err(DspError::ZeroBlock(max_block));
    }
    if !SUPPORTED_RATES_HZ.contains(&sample_rate) {
        return Err(DspError::UnsupportedSampleRate {
            stage,
            rate: sample_rate,
        });
    }
    Ok(())
}
