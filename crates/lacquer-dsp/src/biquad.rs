//! Second-order sections: designs and a transposed direct-form II runner.
//!
//! Why two design methods:
//! - High-pass, low-pass, band-pass and all-pass use the bilinear transform
//!   (RBJ cookbook, prewarped at the corner). They need exact zeros at DC or
//!   Nyquist, and the corners we use them at (rumble, crossovers) sit far
//!   below Nyquist, where bilinear warping is negligible.
//! - Bells and shelves use a *matched* design (after Vicanek, "Matched
//!   second order digital filters", 2016): poles by impulse invariance of the
//!   analog prototype, numerator chosen so the magnitude equals the analog
//!   prototype exactly at DC, at the design frequency and at Nyquist. The
//!   bilinear bell instead is forced to 0 dB at Nyquist, so a 12 kHz air bell
//!   at 44.1 kHz comes out narrow and lopsided; the matched one keeps the
//!   analog shape. If the matched numerator is not realisable (possible only
//!   for extreme Q/gain very close to Nyquist) we fall back to the bilinear
//!   design, which still hits the gain at the centre frequency exactly.
//!
//! State and coefficients are f64: at 44.1 kHz a 20 Hz high-pass has poles
//! within 3e-3 of the unit circle, where f32 state would add audible noise.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// Normalised coefficients (`a0 == 1`) of `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) /
/// (1 + a1 z⁻¹ + a2 z⁻²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadCoeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

impl BiquadCoeffs {
    /// The identity filter.
    pub const IDENTITY: Self = Self {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    fn normalised(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// Bilinear 2nd-order high-pass, −3 dB at `freq_hz` for `q = 1/√2`.
    pub fn highpass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
        Self::normalised(
            (1.0 + cos_w) / 2.0,
            -(1.0 + cos_w),
            (1.0 + cos_w) / 2.0,
            1.0 + alpha,
            -2.0 * cos_w,
            1.0 - alpha,
        )
    }

    /// Bilinear 2nd-order low-pass, −3 dB at `freq_hz` for `q = 1/√2`.
    pub fn lowpass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
        Self::normalised(
            (1.0 - cos_w) / 2.0,
            1.0 - cos_w,
            (1.0 - cos_w) / 2.0,
            1.0 + alpha,
            -2.0 * cos_w,
            1.0 - alpha,
        )
    }

    /// Bilinear band-pass with exactly 0 dB and zero phase at `freq_hz`.
    pub fn bandpass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
        Self::normalised(alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos_w, 1.0 - alpha)
    }

    /// Bilinear 2nd-order all-pass. With `q = 1/√2` it has exactly the phase
    /// of a Linkwitz-Riley 4th-order low-pass + high-pass pair at `freq_hz`.
    pub fn allpass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
        Self::normalised(
            1.0 - alpha,
            -2.0 * cos_w,
            1.0 + alpha,
            1.0 + alpha,
            -2.0 * cos_w,
            1.0 - alpha,
        )
    }

    /// Bell with `gain_db` at `freq_hz` (matched design, see module doc).
    pub fn peak(sample_rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        if gain_db == 0.0 {
            return Self::IDENTITY;
        }
        let proto = AnalogSection::peak(q, gain_db);
        matched(&proto, sample_rate, freq_hz).unwrap_or_else(|| {
            let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
            let a = db_to_amp(gain_db / 2.0);
            Self::normalised(
                1.0 + alpha * a,
                -2.0 * cos_w,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cos_w,
                1.0 - alpha / a,
            )
        })
    }

    /// Low shelf: `gain_db` at DC, `gain_db / 2` at `freq_hz`.
    pub fn low_shelf(sample_rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        Self::shelf(sample_rate, freq_hz, q, gain_db, false)
    }

    /// High shelf: `gain_db` at high frequencies, `gain_db / 2` at `freq_hz`.
    pub fn high_shelf(sample_rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        Self::shelf(sample_rate, freq_hz, q, gain_db, true)
    }

    fn shelf(sample_rate: f64, freq_hz: f64, q: f64, gain_db: f64, high: bool) -> Self {
        if gain_db == 0.0 {
            return Self::IDENTITY;
        }
        let proto = AnalogSection::shelf(q, gain_db, high);
        matched(&proto, sample_rate, freq_hz).unwrap_or_else(|| {
            let (cos_w, alpha) = cos_alpha(sample_rate, freq_hz, q);
            let a = db_to_amp(gain_db / 2.0);
            let two_sqrt_a_alpha = 2.0 * a.sqrt() * alpha;
            let s = if high { -1.0 } else { 1.0 };
            // RBJ shelves; the high shelf is the low shelf with cos ω mirrored.
            Self::normalised(
                a * ((a + 1.0) - s * (a - 1.0) * cos_w + two_sqrt_a_alpha),
                s * 2.0 * a * ((a - 1.0) - s * (a + 1.0) * cos_w),
                a * ((a + 1.0) - s * (a - 1.0) * cos_w - two_sqrt_a_alpha),
                (a + 1.0) + s * (a - 1.0) * cos_w + two_sqrt_a_alpha,
                -s * 2.0 * ((a - 1.0) + s * (a + 1.0) * cos_w),
                (a + 1.0) + s * (a - 1.0) * cos_w - two_sqrt_a_alpha,
            )
        })
    }

    /// Complex response at `freq_hz`, as (magnitude, phase in radians).
    pub fn response(&self, sample_rate: f64, freq_hz: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq_hz / sample_rate;
        let (c1, s1) = (w.cos(), -w.sin());
        let (c2, s2) = ((2.0 * w).cos(), -(2.0 * w).sin());
        let num = (
            self.b0 + self.b1 * c1 + self.b2 * c2,
            self.b1 * s1 + self.b2 * s2,
        );
        let den = (
            1.0 + self.a1 * c1 + self.a2 * c2,
            self.a1 * s1 + self.a2 * s2,
        );
        let mag = (num.0.hypot(num.1)) / (den.0.hypot(den.1));
        let phase = num.1.atan2(num.0) - den.1.atan2(den.0);
        (mag, phase)
    }

    /// Magnitude response at `freq_hz` in dB.
    pub fn response_db(&self, sample_rate: f64, freq_hz: f64) -> f64 {
        20.0 * self.response(sample_rate, freq_hz).0.log10()
    }
}

/// Q values of the 2nd-order sections of an `order`-th order Butterworth
/// filter (order even, 2..=8).
pub fn butterworth_qs(order: usize) -> Vec<f64> {
    let pairs = order / 2;
    (0..pairs)
        .map(|k| {
            let theta = PI * (2 * k + 1) as f64 / (2 * order) as f64;
            1.0 / (2.0 * theta.sin())
        })
        .collect()
}

/// Standard 2nd-order Butterworth Q.
pub const BUTTERWORTH_Q: f64 = FRAC_1_SQRT_2;

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn cos_alpha(sample_rate: f64, freq_hz: f64, q: f64) -> (f64, f64) {
    let w = 2.0 * PI * freq_hz / sample_rate;
    (w.cos(), w.sin() / (2.0 * q))
}

/// Analog prototype `(n2 s² + n1 s + n0) / (s² + d1 s + d0)` with `s`
/// normalised to the design frequency (s = j at the design frequency).
#[derive(Debug, Clone, Copy)]
struct AnalogSection {
    n2: f64,
    n1: f64,
    n0: f64,
    d1: f64,
    d0: f64,
}

impl AnalogSection {
    fn peak(q: f64, gain_db: f64) -> Self {
        let a = db_to_amp(gain_db / 2.0);
        Self {
            n2: 1.0,
            n1: a / q,
            n0: 1.0,
            d1: 1.0 / (a * q),
            d0: 1.0,
        }
    }

    fn shelf(q: f64, gain_db: f64, high: bool) -> Self {
        // Low shelf A·(s² + √A/Q s + A)/(A s² + √A/Q s + 1), gain A² at DC;
        // the high shelf swaps the roles of s and 1/s.
        let a = db_to_amp(gain_db / 2.0);
        let k = a.sqrt() / q;
        if high {
            // A·(A s² + k s + 1)/(s² + k s + A), divided to make the
            // denominator monic.
            Self {
                n2: a * a,
                n1: a * k,
                n0: a,
                d1: k,
                d0: a,
            }
        } else {
            Self {
                n2: 1.0,
                n1: k,
                n0: a,
                d1: k / a,
                d0: 1.0 / a,
            }
        }
    }

    /// |H(jΩ)|², Ω normalised to the design frequency.
    fn magnitude_sq(&self, omega: f64) -> f64 {
        let o2 = omega * omega;
        let nr = self.n0 - self.n2 * o2;
        let ni = self.n1 * omega;
        let dr = self.d0 - o2;
        let di = self.d1 * omega;
        (nr * nr + ni * ni) / (dr * dr + di * di)
    }
}

/// Matched design (see module doc). `None` when the numerator cannot be
/// realised or the frequency is out of range.
fn matched(proto: &AnalogSection, sample_rate: f64, freq_hz: f64) -> Option<BiquadCoeffs> {
    let w0 = 2.0 * PI * freq_hz / sample_rate;
    if !(w0 > 0.0 && w0 < PI) {
        return None;
    }
    // Poles of s² + d1 s + d0 (in rad/sample: scale by w0), impulse invariant.
    let half_d1 = proto.d1 * w0 / 2.0;
    let d0 = proto.d0 * w0 * w0;
    let disc = half_d1 * half_d1 - d0;
    let radius_term = (-half_d1).exp();
    let a1 = if disc <= 0.0 {
        -2.0 * radius_term * (-disc).sqrt().cos()
    } else {
        -2.0 * radius_term * disc.sqrt().cosh()
    };
    let a2 = (-2.0 * half_d1).exp();

    // |A(e^jw)|² = A0 φ0 + A1 φ1 + A2 φ2 with φ1 = sin²(w/2), φ0 = 1 − φ1,
    // φ2 = 4 φ0 φ1; the same basis for the numerator.
    let big_a0 = (1.0 + a1 + a2).powi(2);
    let big_a1 = (1.0 - a1 + a2).powi(2);
    let big_a2 = -4.0 * a2;
    let phi = |w: f64| {
        let p1 = (w / 2.0).sin().powi(2);
        let p0 = 1.0 - p1;
        (p0, p1, 4.0 * p0 * p1)
    };
    let den_sq = |w: f64| {
        let (p0, p1, p2) = phi(w);
        big_a0 * p0 + big_a1 * p1 + big_a2 * p2
    };
    let target_sq = |w: f64| proto.magnitude_sq(w / w0);

    let big_b0 = big_a0 * target_sq(0.0);
    let big_b1 = big_a1 * target_sq(PI);
    let (p0, p1, p2) = phi(w0);
    let big_b2 = (target_sq(w0) * den_sq(w0) - big_b0 * p0 - big_b1 * p1) / p2;

    let sqrt_b0 = big_b0.sqrt();
    let sqrt_b1 = big_b1.sqrt();
    let w_sum = (sqrt_b0 + sqrt_b1) / 2.0;
    let inner = w_sum * w_sum + big_b2;
    if inner.is_nan() || inner < 0.0 {
        return None;
    }
    let b0 = (w_sum + inner.sqrt()) / 2.0;
    if b0.is_nan() || b0 <= 0.0 {
        return None;
    }
    let b1 = (sqrt_b0 - sqrt_b1) / 2.0;
    let b2 = -big_b2 / (4.0 * b0);
    let coeffs = BiquadCoeffs { b0, b1, b2, a1, a2 };
    let finite = [b0, b1, b2, a1, a2].iter().all(|v| v.is_finite());
    finite.then_some(coeffs)
}

/// A (left, right) pair of f64, 16-byte aligned so the element-wise
/// operations below compile to single SSE2 instructions: both channels of a
/// stereo filter advance in one register.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(16))]
pub struct F2(pub [f64; 2]);

impl F2 {
    pub const ZERO: Self = Self([0.0; 2]);

    #[inline(always)]
    pub fn new(left: f64, right: f64) -> Self {
        Self([left, right])
    }

    #[inline(always)]
    pub fn splat(v: f64) -> Self {
        Self([v, v])
    }

    #[inline(always)]
    pub fn left(self) -> f64 {
        self.0[0]
    }

    #[inline(always)]
    pub fn right(self) -> f64 {
        self.0[1]
    }
}

impl std::ops::Add for F2 {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self([self.0[0] + o.0[0], self.0[1] + o.0[1]])
    }
}

impl std::ops::Sub for F2 {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Self([self.0[0] - o.0[0], self.0[1] - o.0[1]])
    }
}

impl std::ops::Mul for F2 {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self([self.0[0] * o.0[0], self.0[1] * o.0[1]])
    }
}

/// Four f64 lanes, 32-byte aligned: in a kernel compiled for AVX2 (see
/// `crate::simd`) the element-wise operations below are single 256-bit
/// instructions, elsewhere pairs of SSE2 ones. Used to run two stereo
/// filters of the same shape side by side (lanes `[a.left, a.right,
/// b.left, b.right]`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(32))]
pub struct F4(pub [f64; 4]);

impl F4 {
    /// `[a.left, a.right, b.left, b.right]`.
    #[inline(always)]
    pub fn join(a: F2, b: F2) -> Self {
        Self([a.0[0], a.0[1], b.0[0], b.0[1]])
    }

    /// Lanes 0 and 1.
    #[inline(always)]
    pub fn first(self) -> F2 {
        F2([self.0[0], self.0[1]])
    }

    /// Lanes 2 and 3.
    #[inline(always)]
    pub fn second(self) -> F2 {
        F2([self.0[2], self.0[3]])
    }

    #[inline(always)]
    pub fn abs(self) -> Self {
        let a = self.0;
        Self([a[0].abs(), a[1].abs(), a[2].abs(), a[3].abs()])
    }

    #[inline(always)]
    pub fn max(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        Self([
            a[0].max(b[0]),
            a[1].max(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ])
    }

    /// `[1, 0, 3, 2]`: each pair's lanes swapped (one in-lane shuffle).
    #[inline(always)]
    pub fn swap_pairs(self) -> Self {
        let a = self.0;
        Self([a[1], a[0], a[3], a[2]])
    }

    /// `[self.0, other.1, self.2, other.3]` (one blend).
    #[inline(always)]
    pub fn blend_odd(self, other: Self) -> Self {
        Self([self.0[0], other.0[1], self.0[2], other.0[3]])
    }
}

impl std::ops::Add for F4 {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        Self([a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]])
    }
}

impl std::ops::Sub for F4 {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        Self([a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]])
    }
}

impl std::ops::Mul for F4 {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        Self([a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]])
    }
}

/// A vector of f64 lanes that filter sections run on (every operation
/// lane-wise, so a lane's result never depends on the width).
pub trait Lanes:
    Copy
    + Default
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
{
    const LANES: usize;
    /// Lane `k` is `f(k)`.
    fn from_lanes(f: impl Fn(usize) -> f64) -> Self;

    /// Lane `k`.
    fn lane(self, k: usize) -> f64;

    /// Lane-wise `if a > b { if_true } else { if_false }`.
    fn select_gt(a: Self, b: Self, if_true: Self, if_false: Self) -> Self;

    #[inline(always)]
    fn splat(v: f64) -> Self {
        Self::from_lanes(|_| v)
    }
}

/// `if a > b { if_true } else { if_false }` (a lane of `select_gt`).
#[inline(always)]
fn pick_gt(a: f64, b: f64, if_true: f64, if_false: f64) -> f64 {
    if a > b { if_true } else { if_false }
}

/// [`Lanes`] for an array-backed vector of `$lanes` f64 lanes.
macro_rules! impl_lanes {
    ($vector:ident, $lanes:literal) => {
        impl Lanes for $vector {
            const LANES: usize = $lanes;

            #[inline(always)]
            fn from_lanes(f: impl Fn(usize) -> f64) -> Self {
                Self(std::array::from_fn(f))
            }

            #[inline(always)]
            fn lane(self, k: usize) -> f64 {
                self.0[k]
            }

            #[inline(always)]
            fn select_gt(a: Self, b: Self, if_true: Self, if_false: Self) -> Self {
                let mut out = if_false;
                for k in 0..$lanes {
                    out.0[k] = pick_gt(a.0[k], b.0[k], if_true.0[k], if_false.0[k]);
                }
                out
            }
        }
    };
}

impl_lanes!(F2, 2);
impl_lanes!(F4, 4);

/// Coefficients of one section, per lane.
#[derive(Debug, Clone, Copy)]
pub struct SectionCoeffs<V> {
    b0: V,
    b1: V,
    b2: V,
    a1: V,
    a2: V,
}

/// Coefficients broadcast to both channels.
pub type StereoCoeffs = SectionCoeffs<F2>;

impl<V: Lanes> SectionCoeffs<V> {
    /// The same section on every lane.
    pub fn new(c: &BiquadCoeffs) -> Self {
        Self {
            b0: V::splat(c.b0),
            b1: V::splat(c.b1),
            b2: V::splat(c.b2),
            a1: V::splat(c.a1),
            a2: V::splat(c.a2),
        }
    }
}

/// Transposed direct-form II state of one section, per lane.
#[derive(Debug, Clone, Copy, Default)]
pub struct SectionState<V> {
    s1: V,
    s2: V,
}

/// State of one stereo section.
pub type StereoState = SectionState<F2>;

impl<V: Lanes> SectionState<V> {
    /// One frame. The state update adds the input terms first so the
    /// feedback path (y → s1 → next y) is one multiply and two adds long.
    #[inline(always)]
    pub fn tick(&mut self, c: &SectionCoeffs<V>, x: V) -> V {
        let y = c.b0 * x + self.s1;
        self.s1 = (c.b1 * x + self.s2) - c.a1 * y;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }
}

/// A bilinear low-pass section ([`BiquadCoeffs::lowpass`]), whose design
/// has `b1 = 2·b0` and `b2 = b0` exactly: one multiply makes all three input
/// terms (`2·b0·x` is `b0·x + b0·x` exactly), with the very bits of the
/// general section. Fewer multiplies and fewer live coefficients matter in
/// the crossover, whose sections are most of its cost.
#[derive(Debug, Clone, Copy)]
pub struct LowpassCoeffs<V> {
    b0: V,
    a1: V,
    a2: V,
}

impl<V: Lanes> LowpassCoeffs<V> {
    /// One section per group of lanes, in order (lane `k` takes
    /// `sections[k · len / LANES]`). `None` unless every section has the
    /// low-pass shape exactly.
    pub fn new(sections: &[BiquadCoeffs]) -> Option<Self> {
        let exact = sections.iter().all(|c| c.b1 == 2.0 * c.b0 && c.b2 == c.b0);
        (exact && !sections.is_empty()).then(|| Self {
            b0: per_lane(sections, |c| c.b0),
            a1: per_lane(sections, |c| c.a1),
            a2: per_lane(sections, |c| c.a2),
        })
    }
}

/// One coefficient of `sections` per lane: lane `k` takes it from
/// `sections[k · len / LANES]` (one section per group of lanes, in order).
fn per_lane<V: Lanes>(sections: &[BiquadCoeffs], coeff: impl Fn(&BiquadCoeffs) -> f64) -> V {
    V::from_lanes(|k| coeff(&sections[k * sections.len() / V::LANES]))
}

/// A bilinear all-pass section ([`BiquadCoeffs::allpass`]): `b0 = a2`,
/// `b1 = a1` and `b2 = 1` exactly, so two coefficients make it (same bits
/// as the general section).
#[derive(Debug, Clone, Copy)]
pub struct AllpassCoeffs<V> {
    a1: V,
    a2: V,
}

impl<V: Lanes> AllpassCoeffs<V> {
    /// As [`LowpassCoeffs::new`], for the all-pass shape.
    pub fn new(sections: &[BiquadCoeffs]) -> Option<Self> {
        let exact = sections
            .iter()
            .all(|c| c.b0 == c.a2 && c.b1 == c.a1 && c.b2 == 1.0);
        (exact && !sections.is_empty()).then(|| Self {
            a1: per_lane(sections, |c| c.a1),
            a2: per_lane(sections, |c| c.a2),
        })
    }
}

/// A bilinear band-pass section ([`BiquadCoeffs::bandpass`]): `b1 = 0`
/// and `b2 = −b0` exactly, so two input terms and no `b1·x` (the general
/// section's bits, but for the sign of an exact zero: `0·x + s2` and `s2`
/// differ only when `s2` is a zero of the other sign, i.e. in exact
/// digital silence).
#[derive(Debug, Clone, Copy)]
pub struct BandpassCoeffs<V> {
    b0: V,
    minus_b0: V,
    a1: V,
    a2: V,
}

impl<V: Lanes> BandpassCoeffs<V> {
    /// As [`LowpassCoeffs::new`], for the band-pass shape.
    pub fn new(sections: &[BiquadCoeffs]) -> Option<Self> {
        let exact = sections.iter().all(|c| c.b1 == 0.0 && c.b2 == -c.b0);
        (exact && !sections.is_empty()).then(|| Self {
            b0: per_lane(sections, |c| c.b0),
            minus_b0: per_lane(sections, |c| c.b2),
            a1: per_lane(sections, |c| c.a1),
            a2: per_lane(sections, |c| c.a2),
        })
    }
}

impl<V: Lanes> SectionState<V> {
    /// [`Self::tick`] of a band-pass section.
    #[inline(always)]
    pub fn tick_bandpass(&mut self, c: &BandpassCoeffs<V>, x: V) -> V {
        let y = c.b0 * x + self.s1;
        self.s1 = self.s2 - c.a1 * y;
        self.s2 = c.minus_b0 * x - c.a2 * y;
        y
    }

    /// [`Self::tick`] of a low-pass section.
    #[inline(always)]
    pub fn tick_lowpass(&mut self, c: &LowpassCoeffs<V>, x: V) -> V {
        let bx = c.b0 * x;
        let y = bx + self.s1;
        self.s1 = ((bx + bx) + self.s2) - c.a1 * y;
        self.s2 = bx - c.a2 * y;
        y
    }

    /// [`Self::tick`] of an all-pass section.
    #[inline(always)]
    pub fn tick_allpass(&mut self, c: &AllpassCoeffs<V>, x: V) -> V {
        let y = c.a2 * x + self.s1;
        self.s1 = (c.a1 * x + self.s2) - c.a1 * y;
        self.s2 = x - c.a2 * y;
        y
    }
}

/// One biquad section with f64 state for two channels.
#[derive(Debug, Clone, Copy)]
pub struct StereoBiquad {
    pub coeffs: BiquadCoeffs,
    stereo: StereoCoeffs,
    state: StereoState,
}

impl StereoBiquad {
    pub fn new(coeffs: BiquadCoeffs) -> Self {
        Self {
            coeffs,
            stereo: StereoCoeffs::new(&coeffs),
            state: StereoState::default(),
        }
    }

    pub fn reset(&mut self) {
        self.state = StereoState::default();
    }

    /// Filters one stereo frame.
    #[inline(always)]
    pub fn tick2(&mut self, l: f64, r: f64) -> (f64, f64) {
        let y = self.tick_f2(F2::new(l, r));
        (y.left(), y.right())
    }

    /// Filters one stereo frame held as a pair.
    #[inline(always)]
    pub fn tick_f2(&mut self, x: F2) -> F2 {
        self.state.tick(&self.stereo, x)
    }

    /// Filters a block in place. The state lives in registers for the whole
    /// loop instead of going through memory every frame.
    pub fn process_block(&mut self, frames: &mut [F2]) {
        let c = self.stereo;
        let mut st = self.state;
        for x in frames.iter_mut() {
            *x = st.tick(&c, *x);
        }
        self.state = st;
    }

    /// Runs a cascade of sections over a block, up to four sections per
    /// pass: independent feedback loops in one pass overlap in the
    /// pipeline, while the state of all of them still fits in registers.
    pub fn process_cascade(sections: &mut [StereoBiquad], frames: &mut [F2]) {
        let mut rest = sections;
        while !rest.is_empty() {
            let take = rest.len().min(4);
            let (now, later) = rest.split_at_mut(take);
            match now {
                [a] => a.process_block(frames),
                [a, b] => cascade_pass([a, b], frames),
                [a, b, c] => cascade_pass([a, b, c], frames),
                [a, b, c, d] => cascade_pass([a, b, c, d], frames),
                _ => {}
            }
            rest = later;
        }
    }
}

fn cascade_pass<const N: usize>(sections: [&mut StereoBiquad; N], frames: &mut [F2]) {
    let coeffs: [StereoCoeffs; N] = std::array::from_fn(|k| sections[k].stereo);
    let mut states: [StereoState; N] = std::array::from_fn(|k| sections[k].state);
    for x in frames.iter_mut() {
        let mut v = *x;
        for k in 0..N {
            v = states[k].tick(&coeffs[k], v);
        }
        *x = v;
    }
    for (section, state) in sections.into_iter().zip(states) {
        section.state = state;
    }
}

/// One biquad section with f64 state for a single signal.
#[derive(Debug, Clone, Copy)]
pub struct Biquad {
    pub coeffs: BiquadCoeffs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    pub fn new(coeffs: BiquadCoeffs) -> Self {
        Self {
            coeffs,
            s1: 0.0,
            s2: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    #[inline(always)]
    pub fn tick(&mut self, x: f64) -> f64 {
        let c = &self.coeffs;
        let y = c.b0 * x + self.s1;
        self.s1 = (c.b1 * x + self.s2) - c.a1 * y;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    /// Runs a cascade of mono sections over a block in place, up to five
    /// sections per pass: a mono section's feedback loop leaves most of the
    /// machine idle, so five independent loops in one pass (an 8th-order
    /// high-pass plus a shelf, as the stereo shaper's side filter) cost
    /// little more than three, even though their coefficients no longer
    /// all fit in registers (measured: stereo shaper 27 → 24 ms per 60 s).
    /// Same arithmetic per section as [`Self::tick`]. Inlined, so the
    /// stereo shaper's AVX2 build (see `crate::simd`) runs it in AVX2 too
    /// (measured: 24 → 19.5 ms per 60 s; the stereo sections' loops, tried
    /// the same way, got slower).
    #[inline(always)]
    pub fn process_cascade(sections: &mut [Biquad], samples: &mut [f64]) {
        let mut rest = sections;
        while !rest.is_empty() {
            let take = rest.len().min(5);
            let (now, later) = rest.split_at_mut(take);
            match now {
                [a] => mono_pass([a], samples),
                [a, b] => mono_pass([a, b], samples),
                [a, b, c] => mono_pass([a, b, c], samples),
                [a, b, c, d] => mono_pass([a, b, c, d], samples),
                [a, b, c, d, e] => mono_pass([a, b, c, d, e], samples),
                _ => {}
            }
            rest = later;
        }
    }
}

#[inline(always)]
fn mono_pass<const N: usize>(sections: [&mut Biquad; N], samples: &mut [f64]) {
    let mut local: [Biquad; N] = std::array::from_fn(|k| *sections[k]);
    for x in samples.iter_mut() {
        let mut v = *x;
        for section in &mut local {
            v = section.tick(v);
        }
        *x = v;
    }
    for (section, state) in sections.into_iter().zip(local) {
        *section = state;
    }
}
