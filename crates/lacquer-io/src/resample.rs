//! Sample-rate conversion to the delivery rate.
//!
//! Rates are fixed for a whole file, so this uses rubato's synchronous
//! resampler: a windowed-sinc low-pass (Blackman-Harris², 2 048+ taps at the
//! input rate) applied by FFT convolution. It gives the quality of a long
//! sinc interpolator at a fraction of the cost. Work is done in f64 so that
//! the converter's own rounding stays far below 24-bit resolution.
//!
//! Measured (tests/resample.rs, 44.1 → 48 kHz): a 1 kHz sine keeps its level
//! within ±0.01 dB with THD+N below -120 dB; the passband is flat within
//! ±0.01 dB to 20 kHz; a tone above the output Nyquist is attenuated by more
//! than 120 dB. 48 → 44.1 kHz: a 23 kHz tone (above the new 22.05 kHz
//! Nyquist) is attenuated by more than 100 dB. See the tests for the exact
//! figures asserted.
//!
//! Output length is round(len · out / in) and the filter delay is removed,
//! so the output is time-aligned with the input.

use lacquer_core::AudioBuffer;
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use crate::IoError;

/// Target FFT sub-chunk length in input frames. The anti-alias filter is as
/// long as one sub-chunk, so this sets the transition-band steepness.
const SUB_CHUNK_FRAMES: usize = 2048;
/// Frames handed to the resampler per call; a few sub-chunks amortise calls.
const CHUNK_FRAMES: usize = 4 * SUB_CHUNK_FRAMES;

/// Resamples to `target_rate` Hz. Returns an identical copy when the rates
/// already match, so callers can call it unconditionally.
pub fn resample(buffer: &AudioBuffer, target_rate: u32) -> Result<AudioBuffer, IoError> {
    let from_hz = buffer.sample_rate();
    let fail = |detail: String| IoError::Resample {
        from_hz,
        to_hz: target_rate,
        detail,
    };
    if target_rate == 0 {
        return Err(fail("target rate must be above 0 Hz".to_owned()));
    }
    if target_rate == from_hz {
        return Ok(buffer.clone());
    }
    let channels = buffer.num_channels();
    let input_len = buffer.len();
    let output_len = output_len(input_len, from_hz, target_rate);
    if input_len == 0 {
        return AudioBuffer::silence(target_rate, channels, 0).map_err(|e| fail(e.to_string()));
    }

    let mut resampler = Fft::<f64>::new_custom(
        from_hz as usize,
        target_rate as usize,
        CHUNK_FRAMES,
        CHUNK_FRAMES / SUB_CHUNK_FRAMES,
        channels,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| fail(e.to_string()))?;

    let input: Vec<Vec<f64>> = buffer
        .channels()
        .iter()
        .map(|c| c.iter().map(|&s| f64::from(s)).collect())
        .collect();
    let input_adapter =
        SequentialSliceOfVecs::new(&input, channels, input_len).map_err(|e| fail(e.to_string()))?;
    let capacity = resampler.process_all_needed_output_len(input_len);
    let mut output = vec![vec![0.0f64; capacity]; channels];
    let produced = {
        let mut output_adapter = SequentialSliceOfVecs::new_mut(&mut output, channels, capacity)
            .map_err(|e| fail(e.to_string()))?;
        let (_, produced) = resampler
            .process_all_into_buffer(&input_adapter, &mut output_adapter, input_len, None)
            .map_err(|e| fail(e.to_string()))?;
        produced
    };
    if produced < output_len {
        return Err(fail(format!(
            "resampler produced {produced} frames, expected {output_len}"
        )));
    }
    let out: Vec<Vec<f32>> = output
        .into_iter()
        .map(|c| c[..output_len].iter().map(|&s| s as f32).collect())
        .collect();
    AudioBuffer::new(target_rate, out).map_err(|e| fail(e.to_string()))
}

/// round(len · out / in), in exact integer arithmetic.
pub fn output_len(input_len: usize, from_hz: u32, to_hz: u32) -> usize {
    if from_hz == 0 {
        return 0;
    }
    let num = input_len as u128 * u128::from(to_hz);
    let den = u128::from(from_hz);
    ((num + den / 2) / den) as usize
}
