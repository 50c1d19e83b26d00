//! True peak per BS.1770-4 Annex 2: oversample, take the largest magnitude.
//!
//! Our own polyphase interpolator rather than `ebur128`'s, for speed: the
//! inner loop runs over a block of frames per tap, which the compiler turns
//! into SIMD. The interpolated value near a sample can never exceed the
//! filter's absolute tap sum (about 2) times the largest sample around it, so
//! blocks more than ~6 dB below the peak found so far (intros, breaks, fades)
//! are skipped without being oversampled; the bound is exact, so skipping
//! never changes the result. On dense programme most blocks are still
//! computed.
//!
//! Phase 0 of the filter is the identity (a windowed sinc is zero at the other
//! integers), so the true peak is never below the sample peak.

use crate::{AnalysisError, StereoView, amplitude_db};
use lacquer_core::AudioBuffer;
use lacquer_core::units::Db;
use lacquer_core::window::kaiser;
use std::f64::consts::PI;

/// Input taps per output phase. BS.1770-4 Annex 2's example filter has 12
/// (48 taps over 4 phases); with 12 we read Tech 3341 case 16 (fs/4 at 45°)
/// 0.14 dB high, with 16 all of cases 15–19 read within 0.02 dB, for a third
/// more work.
const TAPS_PER_PHASE: usize = 16;
/// Kaiser window shape for 16 taps (passband flat to ~0.7 of Nyquist, ~50 dB
/// stop band).
const KAISER_BETA: f64 = 5.0;
/// Frames per pruning block: short enough to skip a quiet second, long enough
/// to amortise the per-block set-up; it must stay longer than the taps reach.
const BLOCK_FRAMES: usize = 256;
/// Taps reach this far before (after: `TAPS_PER_PHASE - REACH_BEFORE - 1`).
const REACH_BEFORE: usize = TAPS_PER_PHASE / 2 - 1;

/// Oversampling factor by rate, as BS.1770-4 suggests: 4x up to 48 kHz-class
/// rates, 2x for 96 kHz-class, none from 192 kHz on.
fn oversampling_factor(rate_hz: u32) -> usize {
    match rate_hz {
        0..96_000 => 4,
        96_000..192_000 => 2,
        _ => 1,
    }
}

/// Largest true peak over all channels in dBTP; `None` for digital silence.
pub fn true_peak_dbtp(buffer: &AudioBuffer) -> Result<Option<Db>, AnalysisError> {
    let peaks = true_peaks_dbtp(buffer)?;
    Ok(peaks
        .into_iter()
        .flatten()
        .reduce(|a, b| if b.0 > a.0 { b } else { a }))
}

/// True peak of each channel in dBTP; `None` for an all-zero channel.
pub fn true_peaks_dbtp(buffer: &AudioBuffer) -> Result<Vec<Option<Db>>, AnalysisError> {
    let view = StereoView::new(buffer)?;
    Ok(measure(&view).into_iter().map(amplitude_db).collect())
}

/// Linear true peak of each source channel.
pub(crate) fn measure(view: &StereoView<'_>) -> Vec<f64> {
    let interpolator = Interpolator::new(oversampling_factor(view.rate_hz));
    view.source()
        .iter()
        .map(|channel| interpolator.channel_peak(channel))
        .collect()
}

struct Interpolator {
    /// Taps of each fractional phase 1..factor (phase 0 is the identity).
    phases: Vec<[f32; TAPS_PER_PHASE]>,
    /// Largest absolute tap sum over the phases: the gain bound for pruning.
    max_abs_gain: f64,
}

impl Interpolator {
    fn new(factor: usize) -> Self {
        let half_span = TAPS_PER_PHASE as f64 / 2.0;
        let mut phases = Vec::new();
        let mut max_abs_gain = 1.0f64;
        for phase in 1..factor {
            let frac = phase as f64 / factor as f64;
            let mut taps = [0.0f64; TAPS_PER_PHASE];
            for (i, tap) in taps.iter_mut().enumerate() {
                // Input sample at offset k = i - REACH_BEFORE from the
                // output's integer position; distance to the output point.
                let t = frac - (i as f64 - REACH_BEFORE as f64);
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (PI * t).sin() / (PI * t)
                };
                let window = kaiser(t / half_span, KAISER_BETA);
                *tap = sinc * window;
            }
            // Unity gain at DC for every phase.
            let sum: f64 = taps.iter().sum();
            let taps = taps.map(|t| t / sum);
            max_abs_gain = max_abs_gain.max(taps.iter().map(|t| t.abs()).sum());
            phases.push(taps.map(|t| t as f32));
        }
        Self {
            phases,
            max_abs_gain,
        }
    }

    fn channel_peak(&self, x: &[f32]) -> f64 {
        let block_max: Vec<f32> = x
            .chunks(BLOCK_FRAMES)
            .map(|b| b.iter().fold(0.0f32, |m, s| m.max(s.abs())))
            .collect();
        let sample_peak = block_max.iter().copied().fold(0.0f32, f32::max);
        if self.phases.is_empty() || sample_peak == 0.0 {
            return f64::from(sample_peak);
        }
        // The taps reach less than one block either side, so a block's
        // interpolated values are bounded by the gain times its own and its
        // neighbours' largest sample.
        let neighbourhood: Vec<f32> = (0..block_max.len())
            .map(|b| {
                let lo = b.saturating_sub(1);
                let hi = (b + 2).min(block_max.len());
                block_max[lo..hi].iter().copied().fold(0.0f32, f32::max)
            })
            .collect();
        let mut order: Vec<usize> = (0..block_max.len()).collect();
        order.sort_by(|&a, &b| {
            neighbourhood[b]
                .total_cmp(&neighbourhood[a])
                .then(a.cmp(&b))
        });

        let mut peak = f64::from(sample_peak);
        let mut padded = vec![0.0f32; BLOCK_FRAMES + TAPS_PER_PHASE];
        let mut out = vec![0.0f32; BLOCK_FRAMES];
        for b in order {
            if f64::from(neighbourhood[b]) * self.max_abs_gain <= peak {
                break;
            }
            let start = b * BLOCK_FRAMES;
            let end = (start + BLOCK_FRAMES).min(x.len());
            let frames = end - start;
            // padded[j] = x[start + j - REACH_BEFORE], zero outside the signal.
            padded.fill(0.0);
            let src_lo = start.saturating_sub(REACH_BEFORE);
            let src_hi = (end + TAPS_PER_PHASE - REACH_BEFORE).min(x.len());
            let dst_lo = src_lo + REACH_BEFORE - start;
            padded[dst_lo..dst_lo + (src_hi - src_lo)].copy_from_slice(&x[src_lo..src_hi]);
            for taps in &self.phases {
                let out = &mut out[..frames];
                out.fill(0.0);
                // Tap-major so the inner loop runs over frames and vectorises.
                for (i, &tap) in taps.iter().enumerate() {
                    for (o, &s) in out.iter_mut().zip(&padded[i..i + frames]) {
                        *o += tap * s;
                    }
                }
                let block_peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
                peak = peak.max(f64::from(block_peak));
            }
        }
        peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_taps_sum_to_one_and_bound_is_sane() {
        let interp = Interpolator::new(4);
        assert_eq!(interp.phases.len(), 3);
        for taps in &interp.phases {
            let sum: f32 = taps.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        }
        assert!(
            interp.max_abs_gain > 1.0 && interp.max_abs_gain < 3.0,
            "{}",
            interp.max_abs_gain
        );
        const { assert!(BLOCK_FRAMES > TAPS_PER_PHASE) };
    }
}
