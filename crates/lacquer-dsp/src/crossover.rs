//! Linkwitz-Riley 4th-order band splitter for 2–4 bands.
//!
//! Why LR4: low-pass and high-pass are each a squared 2nd-order Butterworth,
//! so at the crossover both are −6 dB and in phase, and their sum is the
//! 2nd-order all-pass with the same poles. That identity is also how the
//! high band is made: `high = allpass(x) − lowpass²(x)` is exactly the LR4
//! high-pass (same bilinear design), for three sections per split instead
//! of four.
//!
//! Why a tree: the middle crossover splits first, then each half is split
//! again. Each half only misses the phase of the *other* half's split, so
//! one all-pass per half compensates it (exact, same design): every band
//! carries the same total phase and the bands sum to one all-pass of the
//! input. Each split runs over a whole block with its state in registers,
//! both channels in one SSE2 register.

use crate::DspError;
use crate::biquad::{BUTTERWORTH_Q, BiquadCoeffs, F2, StereoCoeffs, StereoState};

/// Most bands a crossover splits into.
pub const MAX_BANDS: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Split {
    lowpass: StereoCoeffs,
    allpass: StereoCoeffs,
    lp1: StereoState,
    lp2: StereoState,
    ap: StereoState,
}

impl Split {
    fn new(sample_rate: f64, freq_hz: f64) -> Self {
        Self {
            lowpass: StereoCoeffs::new(&BiquadCoeffs::lowpass(sample_rate, freq_hz, BUTTERWORTH_Q)),
            allpass: StereoCoeffs::new(&BiquadCoeffs::allpass(sample_rate, freq_hz, BUTTERWORTH_Q)),
            lp1: StereoState::default(),
            lp2: StereoState::default(),
            ap: StereoState::default(),
        }
    }

    fn reset(&mut self) {
        self.lp1 = StereoState::default();
        self.lp2 = StereoState::default();
        self.ap = StereoState::default();
    }

    /// `(low, high)` of one frame.
    #[inline(always)]
    fn tick(&mut self, x: F2) -> (F2, F2) {
        let low = self
            .lp2
            .tick(&self.lowpass, self.lp1.tick(&self.lowpass, x));
        let high = self.ap.tick(&self.allpass, x) - low;
        (low, high)
    }

    /// Splits `low` in place into `(low, high)`, after running it through
    /// `pre` (a compensation all-pass) if given.
    fn run(&mut self, mut pre: Option<&mut Compensation>, low: &mut [F2], high: &mut [F2]) {
        let mut split = *self;
        match &mut pre {
            Some(comp) => {
                let mut comp_state = comp.state;
                for (l, h) in low.iter_mut().zip(high.iter_mut()) {
                    let x = comp_state.tick(&comp.coeffs, *l);
                    (*l, *h) = split.tick(x);
                }
                comp.state = comp_state;
            }
            None => {
                for (l, h) in low.iter_mut().zip(high.iter_mut()) {
                    (*l, *h) = split.tick(*l);
                }
            }
        }
        *self = split;
    }
}

/// An all-pass that brings one half of the tree in phase with the other.
#[derive(Debug, Clone, Copy)]
struct Compensation {
    coeffs: StereoCoeffs,
    state: StereoState,
}

impl Compensation {
    fn new(sample_rate: f64, freq_hz: f64) -> Self {
        Self {
            coeffs: StereoCoeffs::new(&BiquadCoeffs::allpass(sample_rate, freq_hz, BUTTERWORTH_Q)),
            state: StereoState::default(),
        }
    }

    #[inline(always)]
    fn tick(&mut self, x: F2) -> F2 {
        self.state.tick(&self.coeffs, x)
    }
}

/// A stereo LR4 crossover network.
#[derive(Debug, Clone)]
pub struct Crossover {
    /// One split per crossover frequency, ascending.
    splits: Vec<Split>,
    /// 3 bands: `[all-pass at the low crossover, for the top band]`;
    /// 4 bands: `[all-pass at the top crossover for the lower half,
    /// all-pass at the low crossover for the upper half]`.
    compensation: Vec<Compensation>,
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
            .map(|&f| Split::new(sample_rate, f))
            .collect();
        let compensation = match crossovers_hz {
            [low, _] => vec![Compensation::new(sample_rate, *low)],
            [low, _, top] => vec![
                Compensation::new(sample_rate, *top),
                Compensation::new(sample_rate, *low),
            ],
            _ => Vec::new(),
        };
        Ok(Self {
            splits,
            compensation,
        })
    }

    pub fn bands(&self) -> usize {
        self.splits.len() + 1
    }

    pub fn reset(&mut self) {
        self.splits.iter_mut().for_each(Split::reset);
        self.compensation
            .iter_mut()
            .for_each(|c| c.state = StereoState::default());
    }

    /// Splits one stereo frame; bands `0..self.bands()` of `out` are written,
    /// lowest first, as `(left, right)`. Same arithmetic as
    /// [`Self::split_block`].
    pub fn split(&mut self, left: f64, right: f64, out: &mut [(f64, f64); MAX_BANDS]) {
        let x = F2::new(left, right);
        let mut bands = [F2::ZERO; MAX_BANDS];
        match (self.splits.as_mut_slice(), self.compensation.as_mut_slice()) {
            ([only], _) => (bands[0], bands[1]) = only.tick(x),
            ([low, mid], [comp]) => {
                let (lo, hi) = mid.tick(x);
                (bands[0], bands[1]) = low.tick(lo);
                bands[2] = comp.tick(hi);
            }
            ([low, mid, top], [comp_lo, comp_hi]) => {
                let (lo, hi) = mid.tick(x);
                (bands[0], bands[1]) = low.tick(comp_lo.tick(lo));
                (bands[2], bands[3]) = top.tick(comp_hi.tick(hi));
            }
            _ => {}
        }
        for (o, b) in out.iter_mut().zip(bands) {
            *o = (b.left(), b.right());
        }
    }

    /// Splits a block: on entry `bands[0]` holds the input, on return
    /// `bands[0..self.bands()]` hold the bands, lowest first. All slices
    /// must have the same length.
    pub fn split_block(&mut self, bands: &mut [&mut [F2]]) {
        match (
            self.splits.as_mut_slice(),
            self.compensation.as_mut_slice(),
            bands,
        ) {
            ([only], _, [b0, b1, ..]) => only.run(None, b0, b1),
            ([low, mid], [comp], [b0, b1, b2, ..]) => {
                mid.run(None, b0, b2);
                low.run(None, b0, b1);
                let mut local = *comp;
                for x in b2.iter_mut() {
                    *x = local.tick(*x);
                }
                *comp = local;
            }
            ([low, mid, top], [comp_lo, comp_hi], [b0, b1, b2, b3, ..]) => {
                mid.run(None, b0, b2);
                low.run(Some(comp_lo), b0, b1);
                top.run(Some(comp_hi), b2, b3);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block split gives the very bits of the frame-by-frame split
    /// ("same arithmetic"), for every band count and block cut.
    #[test]
    fn block_split_is_the_frame_split() {
        let mut seed = 12_345u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            f64::from(seed >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0
        };
        let input: Vec<F2> = (0..5_000).map(|_| F2::new(noise(), noise())).collect();
        for freqs in [&[500.0][..], &[200.0, 2_000.0], &[120.0, 1_000.0, 6_000.0]] {
            let mut by_frame = Crossover::new(44_100.0, freqs).unwrap();
            let mut by_block = by_frame.clone();
            let bands = by_frame.bands();
            let mut want = vec![Vec::new(); bands];
            for x in &input {
                let mut out = [(0.0, 0.0); MAX_BANDS];
                by_frame.split(x.left(), x.right(), &mut out);
                for (w, o) in want.iter_mut().zip(out) {
                    w.push(o);
                }
            }
            let mut got = vec![Vec::new(); bands];
            for block in input.chunks(777) {
                let mut planes = vec![block.to_vec(); MAX_BANDS];
                let mut views: Vec<&mut [F2]> = planes.iter_mut().map(Vec::as_mut_slice).collect();
                by_block.split_block(&mut views);
                for (g, plane) in got.iter_mut().zip(&planes) {
                    g.extend(plane.iter().map(|v| (v.left(), v.right())));
                }
            }
            assert_eq!(got, want, "{freqs:?}");
        }
    }
}
