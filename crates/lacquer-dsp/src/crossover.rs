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
//! input. The two halves' second-level filters have the same shapes, so
//! they run side by side in one four-lane vector (both channels of both
//! halves), and the whole tree runs in one loop over a block: its feedback
//! loops overlap in the pipeline instead of waiting on each other.

use crate::DspError;
use crate::biquad::{
    AllpassCoeffs, BUTTERWORTH_Q, BiquadCoeffs, F2, F4, Lanes, LowpassCoeffs, SectionState,
};
use crate::simd::dispatch_avx2;

/// Most bands a crossover splits into.
pub const MAX_BANDS: usize = 4;

/// One LR4 split, on as many lanes as `V` has.
#[derive(Debug, Clone, Copy)]
struct Split<V> {
    lowpass: LowpassCoeffs<V>,
    allpass: AllpassCoeffs<V>,
    lp1: SectionState<V>,
    lp2: SectionState<V>,
    ap: SectionState<V>,
}

impl<V: Lanes> Split<V> {
    /// Lane group `k` splits at `freqs_hz[k]`.
    fn new(sample_rate: f64, freqs_hz: &[f64]) -> Result<Self, DspError> {
        let lowpass: Vec<_> = freqs_hz
            .iter()
            .map(|&f| BiquadCoeffs::lowpass(sample_rate, f, BUTTERWORTH_Q))
            .collect();
        Ok(Self {
            lowpass: LowpassCoeffs::new(&lowpass).ok_or_else(|| not_exact(freqs_hz))?,
            allpass: allpass(sample_rate, freqs_hz)?,
            lp1: SectionState::default(),
            lp2: SectionState::default(),
            ap: SectionState::default(),
        })
    }

    /// `(low, all-pass)` of one frame; the high band is their difference.
    #[inline(always)]
    fn parts(&mut self, x: V) -> (V, V) {
        let low = self
            .lp2
            .tick_lowpass(&self.lowpass, self.lp1.tick_lowpass(&self.lowpass, x));
        (low, self.ap.tick_allpass(&self.allpass, x))
    }

    /// `(low, high)` of one frame.
    #[inline(always)]
    fn tick(&mut self, x: V) -> (V, V) {
        let coeffs = *self;
        self.tick_by(&coeffs, x)
    }

    /// [`Self::tick`] with the coefficients of `c` (this split's own).
    #[inline(always)]
    fn tick_by(&mut self, c: &Self, x: V) -> (V, V) {
        let low = self
            .lp2
            .tick_lowpass(&c.lowpass, self.lp1.tick_lowpass(&c.lowpass, x));
        let allpass = self.ap.tick_allpass(&c.allpass, x);
        (low, allpass - low)
    }
}

/// All-pass sections at `freqs_hz`, one per lane group.
fn allpass<V: Lanes>(sample_rate: f64, freqs_hz: &[f64]) -> Result<AllpassCoeffs<V>, DspError> {
    let sections: Vec<_> = freqs_hz
        .iter()
        .map(|&f| BiquadCoeffs::allpass(sample_rate, f, BUTTERWORTH_Q))
        .collect();
    AllpassCoeffs::new(&sections).ok_or_else(|| not_exact(freqs_hz))
}

/// The bilinear designs always have the exact shapes the sections assume
/// (unit-tested over rates and frequencies); this is never expected.
fn not_exact(freqs_hz: &[f64]) -> DspError {
    DspError::InvalidSetting {
        stage: "crossover",
        reason: format!("crossover sections at {freqs_hz:?} Hz lost their exact shape"),
    }
}

/// The network. Every band of one frame comes out as two [`F4`]s,
/// `lower = [band 0 | band 2]` and `upper = [band 1 | band 3]`, each band
/// a stereo pair; lanes of bands a network does not have are unspecified.
#[derive(Debug, Clone, Copy)]
enum Tree {
    Two(TwoBands),
    Three(ThreeBands),
    Four(FourBands),
}

#[derive(Debug, Clone, Copy)]
struct TwoBands(Split<F2>);

/// The top split, then the lower half split at the low crossover on lanes
/// 0–1 while lanes 2–3 take the upper half through the same split, whose
/// all-pass is exactly the upper half's compensation.
#[derive(Debug, Clone, Copy)]
struct ThreeBands {
    top: Split<F2>,
    second: Split<F4>,
}

/// The middle split, then each half's compensation all-pass (the other
/// half's crossover) and each half's split, side by side.
#[derive(Debug, Clone, Copy)]
struct FourBands {
    middle: Split<F2>,
    compensation: AllpassCoeffs<F4>,
    compensation_state: SectionState<F4>,
    second: Split<F4>,
}

/// A network shape: one frame at a time.
trait Shape: Copy {
    /// `(lower, upper)` of one frame, as in [`Tree`].
    fn tick(&mut self, x: F2) -> (F4, F4);

    /// A block in place: `bands[0]` holds the input on entry, `bands` the
    /// bands (lowest first) on return; frames up to the shortest slice.
    /// One loop with the state in registers (as far as they go: the
    /// 4-band tree's state and coefficients outnumber the 16 vector
    /// registers, yet one loop measured faster than the two levels run one
    /// after the other, each waiting on its own feedback). The slices are
    /// taken by value so their addresses stay in registers.
    #[inline(always)]
    fn run<const N: usize>(&mut self, mut bands: [&mut [F2]; N]) {
        let frames = bands.iter().map(|b| b.len()).min().unwrap_or(0);
        let mut local = *self;
        for i in 0..frames {
            let (lower, upper) = local.tick(bands[0][i]);
            let values = [lower.first(), upper.first(), lower.second(), upper.second()];
            for (band, value) in bands.iter_mut().zip(values) {
                band[i] = value;
            }
        }
        *self = local;
    }
}

impl Shape for TwoBands {
    #[inline(always)]
    fn tick(&mut self, x: F2) -> (F4, F4) {
        let (low, high) = self.0.tick(x);
        (F4::join(low, F2::ZERO), F4::join(high, F2::ZERO))
    }
}

impl Shape for ThreeBands {
    #[inline(always)]
    fn tick(&mut self, x: F2) -> (F4, F4) {
        let (low, high) = self.top.tick(x);
        let (low4, allpass4) = self.second.parts(F4::join(low, high));
        (F4::join(low4.first(), allpass4.second()), allpass4 - low4)
    }
}

impl Shape for FourBands {
    #[inline(always)]
    fn tick(&mut self, x: F2) -> (F4, F4) {
        let (low, high) = self.middle.tick(x);
        let halves = self
            .compensation_state
            .tick_allpass(&self.compensation, F4::join(low, high));
        self.second.tick(halves)
    }
}

/// A stereo LR4 crossover network.
#[derive(Debug, Clone)]
pub struct Crossover {
    tree: Tree,
    /// The tree as built, for [`Self::reset`].
    fresh: Tree,
    bands: usize,
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
        let rate = sample_rate;
        let tree = match *crossovers_hz {
            [only] => Tree::Two(TwoBands(Split::new(rate, &[only])?)),
            [low, high] => Tree::Three(ThreeBands {
                top: Split::new(rate, &[high])?,
                second: Split::new(rate, &[low, low])?,
            }),
            [low, middle, high] => Tree::Four(FourBands {
                middle: Split::new(rate, &[middle])?,
                compensation: allpass(rate, &[high, low])?,
                compensation_state: SectionState::default(),
                second: Split::new(rate, &[low, high])?,
            }),
            _ => unreachable!("crossover count checked above"),
        };
        Ok(Self {
            tree,
            fresh: tree,
            bands: crossovers_hz.len() + 1,
        })
    }

    pub fn bands(&self) -> usize {
        self.bands
    }

    pub fn reset(&mut self) {
        self.tree = self.fresh;
    }

    /// Splits one stereo frame; bands `0..self.bands()` of `out` are written,
    /// lowest first, as `(left, right)`. Same arithmetic as
    /// [`Self::split_block`].
    pub fn split(&mut self, left: f64, right: f64, out: &mut [(f64, f64); MAX_BANDS]) {
        let x = F2::new(left, right);
        let (lower, upper) = match &mut self.tree {
            Tree::Two(shape) => shape.tick(x),
            Tree::Three(shape) => shape.tick(x),
            Tree::Four(shape) => shape.tick(x),
        };
        let bands = [lower.first(), upper.first(), lower.second(), upper.second()];
        for (o, b) in out.iter_mut().zip(bands).take(self.bands) {
            *o = (b.left(), b.right());
        }
    }

    /// Splits a block: on entry `bands[0]` holds the input, on return
    /// `bands[0..self.bands()]` hold the bands, lowest first. All slices
    /// must have the same length.
    pub fn split_block(&mut self, bands: &mut [&mut [F2]]) {
        dispatch_avx2!(Self::split_block_avx2, Self::split_in_place, (self, bands));
    }

    /// [`Self::split_in_place`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn split_block_avx2(&mut self, bands: &mut [&mut [F2]]) {
        self.split_in_place(bands);
    }

    /// The whole tree runs in one loop, and the two halves of its second
    /// level run side by side in one [`F4`] (one AVX2 instruction per
    /// operation).
    #[inline(always)]
    fn split_in_place(&mut self, bands: &mut [&mut [F2]]) {
        match (&mut self.tree, bands) {
            (Tree::Two(shape), [b0, b1, ..]) => shape.run([b0, b1]),
            (Tree::Three(shape), [b0, b1, b2, ..]) => shape.run([b0, b1, b2]),
            (Tree::Four(shape), [b0, b1, b2, b3, ..]) => shape.run([b0, b1, b2, b3]),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections' exact shapes (low-pass `b1 = 2·b0`, `b2 = b0`;
    /// all-pass `b0 = a2`, `b1 = a1`, `b2 = 1`) hold for every rate and
    /// crossover a network accepts, so `new` never meets `not_exact`.
    #[test]
    fn bilinear_designs_have_the_exact_section_shapes() {
        for rate in [
            8_000.0, 22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0,
        ] {
            let mut f = 10.5;
            while f < 0.45 * rate {
                let low = BiquadCoeffs::lowpass(rate, f, BUTTERWORTH_Q);
                let all = BiquadCoeffs::allpass(rate, f, BUTTERWORTH_Q);
                assert!(
                    LowpassCoeffs::<F2>::new(&[low]).is_some(),
                    "{rate} Hz, {f} Hz"
                );
                assert!(
                    AllpassCoeffs::<F2>::new(&[all]).is_some(),
                    "{rate} Hz, {f} Hz"
                );
                f *= 1.013;
            }
        }
    }

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
