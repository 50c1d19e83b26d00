//! Level detectors shared by the compressors and the dynamic EQ.
//!
//! Why smoothing happens on the linear level, before the gain computer: the
//! gain computer then needs a logarithm only while the level is above the
//! knee, and below it the gain is exactly 1.0, so quiet passages pass
//! bit-exactly (the dynamic EQ's null test relies on that).
//!
//! Time constants are the classic one-pole ones: after `attack_ms` a step up
//! has covered 1 − 1/e ≈ 63.2 % of the way (likewise `release_ms` down).

use crate::biquad::{F2, Lanes};

/// One-pole coefficient for a time constant; 0 (instant) for `ms <= 0`.
pub fn one_pole_coeff(time_ms: f64, sample_rate: f64) -> f64 {
    let samples = time_ms * 1.0e-3 * sample_rate;
    if samples > 0.0 && samples.is_finite() {
        (-1.0 / samples).exp()
    } else {
        0.0
    }
}

/// Attack/release follower of a non-negative linear level: rises with the
/// attack time constant, falls with the release time constant.
#[derive(Debug, Clone, Copy)]
pub struct LevelFollower {
    attack_coeff: f64,
    release_coeff: f64,
    state: f64,
}

impl LevelFollower {
    pub fn new(attack_ms: f64, release_ms: f64, sample_rate: f64) -> Self {
        Self {
            attack_coeff: one_pole_coeff(attack_ms, sample_rate),
            release_coeff: one_pole_coeff(release_ms, sample_rate),
            state: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    pub fn value(&self) -> f64 {
        self.state
    }

    #[inline(always)]
    pub fn tick(&mut self, level: f64) -> f64 {
        // Indexed rather than branched: on audio the rise/fall decision is
        // unpredictable, and a mispredicted branch costs more than the
        // whole update.
        let coeff = [self.release_coeff, self.attack_coeff][usize::from(level > self.state)];
        self.state = level + coeff * (self.state - level);
        self.state
    }
}

/// [`LevelFollower`]s side by side, one per lane of a vector (same
/// arithmetic, so each lane has the very bits of its scalar follower): both
/// candidates are computed and the rising/falling choice is a lane-wise
/// select, keeping the compare off the feedback path.
#[derive(Debug, Clone, Copy)]
pub struct LaneFollowers<V> {
    attack_coeff: V,
    release_coeff: V,
    state: V,
}

impl<V: Lanes> LaneFollowers<V> {
    /// Lane `k` continues `lane(k)`.
    pub fn new(lane: impl Fn(usize) -> LevelFollower) -> Self {
        Self {
            attack_coeff: V::from_lanes(|k| lane(k).attack_coeff),
            release_coeff: V::from_lanes(|k| lane(k).release_coeff),
            state: V::from_lanes(|k| lane(k).state),
        }
    }

    /// Writes lane `k`'s state back into its scalar follower.
    pub fn store(&self, k: usize, follower: &mut LevelFollower) {
        follower.state = self.state.lane(k);
    }

    #[inline(always)]
    pub fn tick(&mut self, level: V) -> V {
        let diff = self.state - level;
        let up = level + self.attack_coeff * diff;
        let down = level + self.release_coeff * diff;
        self.state = V::select_gt(level, self.state, up, down);
        self.state
    }
}

/// Running mean square (one-pole average of x²) for RMS detection.
#[derive(Debug, Clone, Copy)]
pub struct MeanSquare {
    coeff: f64,
    state: f64,
}

impl MeanSquare {
    pub fn new(window_ms: f64, sample_rate: f64) -> Self {
        Self {
            coeff: one_pole_coeff(window_ms, sample_rate),
            state: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    /// Feeds one squared sample, returns the running mean square.
    #[inline(always)]
    pub fn tick(&mut self, squared: f64) -> f64 {
        self.state = squared + self.coeff * (self.state - squared);
        self.state
    }
}

/// Per-stage gain-reduction meter (max and mean since the last reset).
///
/// Why four lanes: a single running sum is a serial chain of adds, one per
/// sample, slower than the gain computer it meters. Frame `n` goes to lane
/// `n mod 4` (absolute frame count, not position in the block), so the
/// lanes add in parallel and the result still does not depend on how the
/// audio was cut into blocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReductionMeter {
    lane_max_db: [f64; 4],
    lane_sum_db: [f64; 4],
    frames: u64,
}

impl ReductionMeter {
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    #[inline(always)]
    pub fn record(&mut self, reduction_db: f64) {
        let lane = (self.frames % 4) as usize;
        self.lane_max_db[lane] = self.lane_max_db[lane].max(reduction_db);
        self.lane_sum_db[lane] += reduction_db;
        self.frames += 1;
    }

    /// Records one reduction per element of `reductions_db`.
    #[inline(always)]
    pub fn record_block(&mut self, reductions_db: &[f64]) {
        self.record_with(reductions_db.len(), |j| reductions_db[j]);
    }

    /// Records, per frame, the larger of an interleaved pair.
    #[inline(always)]
    pub fn record_pair_max_block(&mut self, pairs_db: &[f64]) {
        self.record_with(pairs_db.len() / 2, |j| {
            pairs_db[2 * j].max(pairs_db[2 * j + 1])
        });
    }

    #[inline(always)]
    fn record_with(&mut self, count: usize, value: impl Fn(usize) -> f64) {
        let mut j = 0;
        while j < count && !self.frames.is_multiple_of(4) {
            self.record(value(j));
            j += 1;
        }
        let aligned_start = j;
        let (mut max, mut sum) = (self.lane_max_db, self.lane_sum_db);
        while j + 4 <= count {
            for lane in 0..4 {
                let v = value(j + lane);
                max[lane] = max[lane].max(v);
                sum[lane] += v;
            }
            j += 4;
        }
        self.lane_max_db = max;
        self.lane_sum_db = sum;
        self.frames += (j - aligned_start) as u64;
        while j < count {
            self.record(value(j));
            j += 1;
        }
    }

    pub fn max_db(&self) -> f64 {
        self.lane_max_db.iter().copied().fold(0.0, f64::max)
    }

    pub fn mean_db(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.sum_db() / self.frames as f64
        }
    }

    fn sum_db(&self) -> f64 {
        let [a, b, c, d] = self.lane_sum_db;
        (a + b) + (c + d)
    }
}

/// Gain-reduction meter for a reduction that changes only at control frames
/// (see [`ControlRate`]) and is held in between.
///
/// Why not one record per frame: that was a store and a load per frame per
/// band for a value that changes every [`CONTROL_INTERVAL`] frames. Each
/// control value is counted for its whole interval when it arrives, and
/// the part of the last interval not yet played is taken back when the
/// mean is read; the lanes run over control frames, whose absolute indices
/// do not depend on how the audio was cut into blocks. Same max as a
/// per-frame meter, same mean up to rounding.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldReductionMeter {
    controls: ReductionMeter,
    frames: u64,
    latest_db: f64,
}

impl HeldReductionMeter {
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Records the reductions of the control frames of a block of `frames`
    /// frames, in order (every control frame of every block must be
    /// recorded, from the first frame after a reset).
    #[inline(always)]
    pub fn record_block(&mut self, control_reductions_db: &[f64], frames: usize) {
        self.controls.record_block(control_reductions_db);
        if let Some(&last) = control_reductions_db.last() {
            self.latest_db = last;
        }
        self.frames += frames as u64;
    }

    pub fn max_db(&self) -> f64 {
        self.controls.max_db()
    }

    pub fn mean_db(&self) -> f64 {
        if self.frames == 0 {
            return 0.0;
        }
        let interval = CONTROL_INTERVAL as u64;
        let unplayed = (self.controls.frames * interval).saturating_sub(self.frames);
        let charged = self.controls.sum_db() * interval as f64;
        (charged - self.latest_db * unplayed as f64) / self.frames as f64
    }
}

/// dB per octave of amplitude: `20·log10(2)`.
pub const DB_PER_LOG2: f64 = 6.020_599_913_279_624;

/// Base-2 logarithm by exponent extraction and an odd series in
/// `t = (m − 1)/(m + 1)`, |t| ≤ 0.172, through t⁹: absolute error below
/// 2e-9 (1e-8 dB).
///
/// Why not `f64::log2`: the dynamics stages need one log per sample per
/// detector; this is cheaper than the C library's, short enough to pipeline
/// (Estrin form), and being plain arithmetic it gives the same bits on every
/// platform.
#[inline(always)]
pub fn fast_log2(x: f64) -> f64 {
    if !x.is_normal() || x < 0.0 {
        return x.log2();
    }
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let t4 = t2 * t2;
    let low = 2.0 + t2 * (2.0 / 3.0);
    let high = 2.0 / 5.0 + t2 * (2.0 / 7.0);
    let series = low + t4 * (high + t4 * (2.0 / 9.0));
    exponent as f64 + t * series * std::f64::consts::LOG2_E
}

/// 2^y by splitting off the integer part and a degree-7 Taylor series on
/// the fraction (|z| ≤ 0.35 after reduction, Estrin form): relative error
/// below 1e-8. Same reasons as [`fast_log2`].
#[inline(always)]
pub fn fast_exp2(y: f64) -> f64 {
    if !(-1000.0..=1000.0).contains(&y) {
        return y.exp2();
    }
    let mut n = y as i64;
    let mut f = y - n as f64;
    if f > 0.5 {
        n += 1;
        f -= 1.0;
    } else if f < -0.5 {
        n -= 1;
        f += 1.0;
    }
    let z = f * std::f64::consts::LN_2;
    let z2 = z * z;
    let z4 = z2 * z2;
    let p01 = 1.0 + z;
    let p23 = 0.5 + z * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + z * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + z * (1.0 / 5040.0);
    let p = (p01 + z2 * p23) + z4 * (p45 + z2 * p67);
    // 2^n is exact for |n| ≤ 1001 (always a normal number).
    p * f64::from_bits(((n + 1023) as u64) << 52)
}
/// Amplitude → dB, per-sample version.
#[inline(always)]
pub fn fast_gain_to_db(gain: f64) -> f64 {
    DB_PER_LOG2 * fast_log2(gain)
}

/// dB → amplitude, per-sample version.
#[inline(always)]
pub fn fast_db_to_gain(db: f64) -> f64 {
    fast_exp2(db / DB_PER_LOG2)
}

/// Branch-free [`fast_log2`] for positive normal `x` (same series, error
/// below 2e-9): the mantissa is reduced into [√2/2, √2) by integer
/// arithmetic on the bits instead of a compare, so a loop over independent
/// samples vectorises.
#[inline(always)]
pub fn fast_log2_positive(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    const EXP_ONE: u64 = 1023 << 52;
    // Bits of √2/2: subtracting them puts mantissas ≥ √2 into the next
    // exponent. The offset keeps the difference positive for normal x.
    const HALF_SQRT_2_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
    let bits = x.to_bits();
    let k = (bits.wrapping_add(EXP_ONE).wrapping_sub(HALF_SQRT_2_BITS)) >> 52;
    let exponent = f64::from_bits(k | TWO_52.to_bits()) - (TWO_52 + 1023.0);
    let m = f64::from_bits(bits.wrapping_sub(k << 52).wrapping_add(EXP_ONE));
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let t4 = t2 * t2;
    let low = 2.0 + t2 * (2.0 / 3.0);
    let high_terms = 2.0 / 5.0 + t2 * (2.0 / 7.0);
    let series = low + t4 * (high_terms + t4 * (2.0 / 9.0));
    exponent + t * series * std::f64::consts::LOG2_E
}

/// Branch-free 2^y for y in [−1000, 1000] (clamped), same polynomial as
/// [`fast_exp2`], rounding to the nearest integer part by the 1.5·2^52
/// trick so a loop over independent samples vectorises.
#[inline(always)]
pub fn fast_exp2_clamped(y: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let y = y.clamp(-1000.0, 1000.0);
    let n = (y + ROUND) - ROUND;
    let f = y - n;
    let z = f * std::f64::consts::LN_2;
    let z2 = z * z;
    let z4 = z2 * z2;
    let p01 = 1.0 + z;
    let p23 = 0.5 + z * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + z * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + z * (1.0 / 5040.0);
    let p = (p01 + z2 * p23) + z4 * (p45 + z2 * p67);
    // The low mantissa bits of n + 1023 + 2^52 are n + 1023 (1..=2023),
    // shifted into the exponent field: exactly 2^n.
    let scale = f64::from_bits(((n + (1023.0 + 4_503_599_627_370_496.0)).to_bits()) << 52);
    p * scale
}

/// Frames between two evaluations of a gain curve (see [`ControlRate`]).
pub const CONTROL_INTERVAL: usize = 8;

/// Gain curves evaluated at a control rate.
///
/// Why: the log/exp of a gain curve per sample per band was most of the
/// multiband and dynamic-EQ cost, while the detector it reads is a one-pole
/// follower (time constants of milliseconds) that barely moves in 8
/// frames. The curve is evaluated only on frames whose *absolute* index is
/// a multiple of [`CONTROL_INTERVAL`] (so the result does not depend on
/// how the audio is cut into blocks), and the gain between two control
/// frames is interpolated linearly from the previous control gain to the
/// latest one: the gain trails the detector by `CONTROL_INTERVAL` frames
/// (0.18 ms at 44.1 kHz), and is exact (bit for bit) wherever two
/// consecutive control gains are equal — in particular exactly 1.0 while
/// a stage is idle. Meters see each control frame's reduction held over
/// its interval ([`HeldReductionMeter`]). Stages apply the gains as they
/// mix, one [`ControlSegment`] at a time, rather than writing them out
/// per frame.
#[derive(Debug, Clone, Copy)]
pub struct ControlRate {
    previous_gain: F2,
    latest_gain: F2,
}

impl ControlRate {
    pub fn new(initial_gain: F2) -> Self {
        Self {
            previous_gain: initial_gain,
            latest_gain: initial_gain,
        }
    }

    /// Index, within a block starting at absolute frame `first_frame`, of
    /// the block's first control frame (the rest follow every
    /// [`CONTROL_INTERVAL`] frames).
    pub fn first_control(first_frame: u64) -> usize {
        let interval = CONTROL_INTERVAL as u64;
        ((interval - first_frame % interval) % interval) as usize
    }

    /// Moves on to the next control frame's gain.
    #[inline(always)]
    pub fn advance(&mut self, gain: F2) {
        self.previous_gain = self.latest_gain;
        self.latest_gain = gain;
    }

    /// At the start of `segment`: if a control frame starts it, moves on to
    /// that frame's gain (`control_gains` are the block's, in order).
    #[inline(always)]
    pub fn enter(&mut self, segment: &ControlSegment, control_gains: &[F2]) {
        if let Some(&gain) = segment.control.and_then(|c| control_gains.get(c)) {
            self.advance(gain);
        }
    }

    /// The gain ramp of the current control interval.
    #[inline(always)]
    pub fn ramp(&self) -> GainRamp {
        GainRamp {
            from: self.previous_gain,
            delta: self.latest_gain - self.previous_gain,
        }
    }
}

/// Linear gain from one control frame's gain to the next over an interval.
#[derive(Debug, Clone, Copy)]
pub struct GainRamp {
    from: F2,
    delta: F2,
}

impl GainRamp {
    /// The gain `phase` frames (0..[`CONTROL_INTERVAL`]) into the interval.
    #[inline(always)]
    pub fn at(&self, phase: usize) -> F2 {
        const STEP: f64 = 1.0 / CONTROL_INTERVAL as f64;
        self.from + self.delta * F2::splat(phase as f64 * STEP)
    }
}

/// A run of frames of a block inside one control interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSegment {
    /// First frame of the run, within the block.
    pub start: usize,
    pub len: usize,
    /// Position of `start` in its control interval.
    pub phase: usize,
    /// Which of the block's control frames starts the run, if one does
    /// (then every gain must advance before the run: [`ControlRate::enter`]).
    pub control: Option<usize>,
}

/// Cuts a block of `frames` frames starting at absolute frame `first_frame`
/// into its control intervals, in order.
#[inline(always)]
pub fn control_segments(first_frame: u64, frames: usize) -> impl Iterator<Item = ControlSegment> {
    let mut phase = (first_frame % CONTROL_INTERVAL as u64) as usize;
    let mut start = 0;
    let mut control = 0;
    std::iter::from_fn(move || {
        if start >= frames {
            return None;
        }
        let len = (CONTROL_INTERVAL - phase).min(frames - start);
        let segment = ControlSegment {
            start,
            len,
            phase,
            control: (phase == 0).then_some(control),
        };
        control += usize::from(phase == 0);
        start += len;
        phase = 0;
        Some(segment)
    })
}
