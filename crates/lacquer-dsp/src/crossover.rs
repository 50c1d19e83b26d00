//! Linkwitz-Riley 4th-order band splitter for 2–4 bands.
//!
//! Why LR4: low-pass and high-pass are each a squared 2nd-order Butterworth,
//! so at the crossover both are −6 dB and in phase, and their sum is a
//! 2nd-order all-pass — flat magnitude. With more than one crossover the
//! lower bands miss the phase shift of the splits above them, so each gets
//! the matching all-pass (same bilinear design, so the compensation is
//! exact, not approximate): every band then carries the same total phase and
//! the bands sum to one all-pass of the input.

use crate::DspError;
use crate::biquad::{BUTTERWORTH_Q, BiquadCoeffs, StereoBiquad};

/// Most bands a crossover splits into.
pub const MAX_BANDS: usize = 4;

#[derive(Debug, Clone)]
struct Split {
    lowpass: [StereoBiquad; 2],
    highpass: [StereoBiquad; 2],
}

/// A stereo LR4 crossover network.
#[derive(Debug, Clone)]
pub struct Crossover {
    splits: Vec<Split>,
    /// `(band, all-pass)`: all-passes that bring band `band` in phase with
    /// the splits above it.
    compensation: Vec<(usize, StereoBiquad)>,
}

impl Crossover {
    /// Builds a crossover at the given ascending frequencies
    /// (`1..=MAX_BANDS − 1` of them, each in (10 Hz, 0.45·fs)).
    pub fn new(sample_rate: f64, crossovers_hz: &[f64]) -> Result<Self, DspError> {
        let stage = "crossover";
        if crossovers_hz.is_empty() || crossovers_hz.len() >= MAX_BANDS {
            return Err(DspError::InvalidSetting {
                stage,
                reason: format!(
                    "{} crossover frequencies given; 1 to {} are supported",
                    crossovers_hz.len(),
                    MAX_BANDS - 1
                ),
            });
        }
        let top = 0.45 * sample_rate;
        let mut previous = 10.0;
        for &f in crossovers_hz {
            if !(f.is_finite() && f > previous && f < top) {
                return Err(DspError::InvalidSetting {
                    stage,
                    reason: format!(
                        "crossover frequencies {crossovers_hz:?} Hz must ascend strictly within (10, {top}) Hz"
                    ),
                });
            }
            previous = f;
        }
        let splits = crossovers_hz
            .iter()
            .map(|&f| {
                let lp = StereoBiquad::new(BiquadCoeffs::lowpass(sample_rate, f, BUTTERWORTH_Q));
                let hp = StereoBiquad::new(BiquadCoeffs::highpass(sample_rate, f, BUTTERWORTH_Q));
                Split {
                    lowpass: [lp; 2],
                    highpass: [hp; 2],
                }
            })
            .collect();
        let mut compensation = Vec::new();
        for band in 0..crossovers_hz.len() {
            for &f in &crossovers_hz[band + 1..] {
                compensation.push((
                    band,
                    StereoBiquad::new(BiquadCoeffs::allpass(sample_rate, f, BUTTERWORTH_Q)),
                ));
            }
        }
        Ok(Self {
            splits,
            compensation,
        })
    }

    pub fn bands(&self) -> usize {
        self.splits.len() + 1
    }

    pub fn reset(&mut self) {
        for split in &mut self.splits {
            split.lowpass.iter_mut().for_each(StereoBiquad::reset);
            split.highpass.iter_mut().for_each(StereoBiquad::reset);
        }
        self.compensation.iter_mut().for_each(|(_, ap)| ap.reset());
    }

    /// Splits one stereo frame; bands `0..self.bands()` of `out` are written,
    /// lowest first, as `(left, right)`.
    #[inline]
    pub fn split(&mut self, left: f64, right: f64, out: &mut [(f64, f64); MAX_BANDS]) {
        let mut rest = (left, right);
        for (band, split) in self.splits.iter_mut().enumerate() {
            let low = split.lowpass[0].tick2(rest.0, rest.1);
            out[band] = split.lowpass[1].tick2(low.0, low.1);
            let high = split.highpass[0].tick2(rest.0, rest.1);
            rest = split.highpass[1].tick2(high.0, high.1);
        }
        out[self.splits.len()] = rest;
        for (band, allpass) in &mut self.compensation {
            let (l, r) = out[*band];
            out[*band] = allpass.tick2(l, r);
        }
    }
}
