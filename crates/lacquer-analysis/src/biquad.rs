//! Second-order IIR sections in f64.
//!
//! f64 because the K-weighting high-pass has its poles within a hair of the
//! unit circle (38 Hz at up to 384 kHz); in f32 its rounding noise would show
//! up in the loudness of quiet passages.

use std::f64::consts::PI;

/// Normalised biquad coefficients (a0 = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
}

/// Direct form I state of one section on two channels at once.
///
/// Why direct form I for the long passes: each output needs only
/// `partial − a1·y[n−1]` after the previous one, because the feed-forward
/// terms and `a2·y[n−2]` are known a sample early; transposed form II has a
/// multiply and two adds on that path, so a long pass runs faster this way.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StereoDf1State {
    x1: [f64; 2],
    x2: [f64; 2],
    y1: [f64; 2],
    y2: [f64; 2],
}

/// Transposed direct form II state.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BiquadState {
    s1: f64,
    s2: f64,
}

// Analog-prototype parameters of the BS.1770 K-weighting filters. Pushing
// them through the bilinear transform at 48 kHz reproduces the coefficient
// table printed in BS.1770-4; doing it at the actual rate keeps other rates
// on the same curve instead of resampling to 48 kHz.
const SHELF_F0_HZ: f64 = 1_681.974_450_955_533;
const SHELF_GAIN_DB: f64 = 3.999_843_853_973_347;
const SHELF_Q: f64 = 0.707_175_236_955_419_6;
const SHELF_BAND_EXPONENT: f64 = 0.499_666_774_154_541_6;
const HIGHPASS_F0_HZ: f64 = 38.135_470_876_024_44;
const HIGHPASS_Q: f64 = 0.500_327_037_323_877_3;

impl Biquad {
    /// Stage 1 of K-weighting: the +4 dB high shelf (head diffraction).
    pub(crate) fn k_shelf(rate_hz: f64) -> Self {
        let k = (PI * SHELF_F0_HZ / rate_hz).tan();
        let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
        let vb = vh.powf(SHELF_BAND_EXPONENT);
        let a0 = 1.0 + k / SHELF_Q + k * k;
        Self {
            b0: (vh + vb * k / SHELF_Q + k * k) / a0,
            b1: 2.0 * (k * k - vh) / a0,
            b2: (vh - vb * k / SHELF_Q + k * k) / a0,
            a1: 2.0 * (k * k - 1.0) / a0,
            a2: (1.0 - k / SHELF_Q + k * k) / a0,
        }
    }

    /// Stage 2 of K-weighting: the RLB high-pass.
    pub(crate) fn k_highpass(rate_hz: f64) -> Self {
        let k = (PI * HIGHPASS_F0_HZ / rate_hz).tan();
        let a0 = 1.0 + k / HIGHPASS_Q + k * k;
        Self {
            b0: 1.0,
            b1: -2.0,
            b2: 1.0,
            a1: 2.0 * (k * k - 1.0) / a0,
            a2: (1.0 - k / HIGHPASS_Q + k * k) / a0,
        }
    }

    /// RBJ-cookbook low-pass.
    pub(crate) fn lowpass(rate_hz: f64, cutoff_hz: f64, q: f64) -> Self {
        let w0 = 2.0 * PI * cutoff_hz / rate_hz;
        let alpha = w0.sin() / (2.0 * q);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        Self {
            b0: (1.0 - cos) / 2.0 / a0,
            b1: (1.0 - cos) / a0,
            b2: (1.0 - cos) / 2.0 / a0,
            a1: -2.0 * cos / a0,
            a2: (1.0 - alpha) / a0,
        }
    }

    /// One frame of both channels in direct form I.
    #[inline(always)]
    pub(crate) fn run_stereo_df1(&self, state: &mut StereoDf1State, x: [f64; 2]) -> [f64; 2] {
        let mut y = [0.0; 2];
        for c in 0..2 {
            let partial = self.b0 * x[c] + self.b1 * state.x1[c] + self.b2 * state.x2[c]
                - self.a2 * state.y2[c];
            y[c] = partial - self.a1 * state.y1[c];
        }
        state.x2 = state.x1;
        state.x1 = x;
        state.y2 = state.y1;
        state.y1 = y;
        y
    }

    #[inline(always)]
    pub(crate) fn run(&self, state: &mut BiquadState, x: f64) -> f64 {
        let y = self.b0 * x + state.s1;
        state.s1 = self.b1 * x - self.a1 * y + state.s2;
        state.s2 = self.b2 * x - self.a2 * y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BS.1770-4 Table 1 and 2 print these (rounded) for 48 kHz.
    #[test]
    fn k_weighting_matches_the_48k_table() {
        const TOL: f64 = 1e-8;
        let s = Biquad::k_shelf(48_000.0);
        assert!((s.b0 - 1.535_124_859_586_97).abs() < TOL);
        assert!((s.b1 + 2.691_696_189_406_38).abs() < TOL);
        assert!((s.b2 - 1.198_392_810_852_85).abs() < TOL);
        assert!((s.a1 + 1.690_659_293_182_41).abs() < TOL);
        assert!((s.a2 - 0.732_480_774_215_85).abs() < TOL);
        let h = Biquad::k_highpass(48_000.0);
        assert!((h.a1 + 1.990_047_454_833_98).abs() < TOL);
        assert!((h.a2 - 0.990_072_250_366_21).abs() < TOL);
    }
}
