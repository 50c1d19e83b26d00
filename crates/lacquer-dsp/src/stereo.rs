//! Stereo shaper: mid/side gains, width applied to the highs only, mono
//! lows, and a correlation guard.
//!
//! Why these choices:
//! - Everything happens on the side signal; the mid (and so the mono sum,
//!   which is 2·mid) is only touched by `mid_gain_db`. Widening can
//!   therefore never make the mono fold-down lose level.
//! - Mono bass is an 8th-order Butterworth high-pass on the side whose
//!   corner sits far enough above `mono_below_hz` that the side is at least
//!   40 dB down at and below it (corner ≈ 1.78 × cutoff). A corner *at* the
//!   cutoff would leave the side only −3 dB there — not mono.
//! - Width above `width_from_hz` is a side high shelf (monotonic, Q 0.707),
//!   so lows are not widened and there is no hard split to hear.
//! - The guard measures mid and (shaped) side power and their cross term
//!   over ~200 ms, solves for the largest side scale that keeps the output
//!   correlation at or above the floor (plus a small margin), and moves the
//!   side scale there quickly (down) or slowly (back up). It measures the
//!   signal before its own gain, so it cannot chase itself.

use crate::biquad::{Biquad, BiquadCoeffs, butterworth_qs};
use crate::compressor::db_to_gain;
use crate::envelope::one_pole_coeff;
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::StereoSettings;

const STAGE: &str = "stereo shaper";
/// Side attenuation at (and below) `mono_below_hz`.
pub const MONO_STOP_DB: f64 = 40.0;
const MONO_ORDER: usize = 8;
/// The guard aims this far above the floor so short-term fluctuation of the
/// measured correlation stays on the safe side.
pub const GUARD_MARGIN: f64 = 0.05;
const GUARD_WINDOW_MS: f64 = 200.0;
const GUARD_DOWN_MS: f64 = 5.0;
const GUARD_UP_MS: f64 = 300.0;
/// The guard re-solves its target every this many frames.
const GUARD_INTERVAL: usize = 32;
/// Narrowest width a side shelf can make (a shelf cannot reach −∞ dB).
pub const MIN_SHELF_WIDTH_PERCENT: f64 = 1.0;

#[derive(Debug, Clone, Default)]
struct Guard {
    mid_power: f64,
    side_power: f64,
    cross: f64,
    target: f64,
    scale: f64,
    countdown: usize,
}

/// The stereo shaper processor.
#[derive(Debug, Clone)]
pub struct StereoShaper {
    settings: StereoSettings,
    mid_gain: f64,
    side_gain: f64,
    flat_width: f64,
    width_shelf: Option<Biquad>,
    mono_highpass: Vec<Biquad>,
    floor: f64,
    stats_coeff: f64,
    down_coeff: f64,
    up_coeff: f64,
    guard: Guard,
    width_sum: f64,
    width_min: f64,
    frames: u64,
    /// Per-block scratch: the side signal and its filter chain.
    side: Vec<f64>,
    chain: Vec<Biquad>,
}

impl StereoShaper {
    pub fn new(settings: &StereoSettings) -> Self {
        Self {
            settings: settings.clone(),
            mid_gain: 1.0,
            side_gain: 1.0,
            flat_width: 1.0,
            width_shelf: None,
            mono_highpass: Vec::new(),
            floor: 0.0,
            stats_coeff: 0.0,
            down_coeff: 0.0,
            up_coeff: 0.0,
            guard: Guard {
                target: 1.0,
                scale: 1.0,
                ..Guard::default()
            },
            width_sum: 0.0,
            width_min: f64::INFINITY,
            frames: 0,
            side: Vec::new(),
            chain: Vec::new(),
        }
    }

    /// Mean width actually applied since the last reset, in percent (the
    /// requested width times the guard's scale; 100 = unchanged).
    pub fn applied_width(&self) -> f64 {
        if self.frames == 0 {
            self.settings.width_percent
        } else {
            self.width_sum / self.frames as f64
        }
    }

    /// Narrowest width applied since the last reset, in percent.
    pub fn min_applied_width(&self) -> f64 {
        if self.frames == 0 {
            self.settings.width_percent
        } else {
            self.width_min
        }
    }

    /// Corner of the side high-pass that makes the lows mono.
    pub fn mono_corner_hz(&self) -> f64 {
        // Butterworth far below its corner: |H| ≈ (f/fc)^order.
        self.settings.mono_below_hz * 10f64.powf(MONO_STOP_DB / (20.0 * MONO_ORDER as f64))
    }

    fn validate(&self, rate: f64) -> Result<(), DspError> {
        let s = &self.settings;
        let bad = |reason: String| DspError::InvalidSetting {
            stage: STAGE,
            reason,
        };
        for (name, v) in [("mid gain", s.mid_gain_db), ("side gain", s.side_gain_db)] {
            if !(v.is_finite() && v.abs() <= 24.0) {
                return Err(bad(format!("{name} {v} dB must be within ±24 dB")));
            }
        }
        if !(s.width_percent.is_finite() && (0.0..=200.0).contains(&s.width_percent)) {
            return Err(bad(format!(
                "width {} % must be in [0, 200]",
                s.width_percent
            )));
        }
        if !(s.width_from_hz.is_finite() && s.width_from_hz >= 0.0 && s.width_from_hz < 0.45 * rate)
        {
            return Err(bad(format!(
                "width-from frequency {} Hz must be in [0, {}) Hz",
                s.width_from_hz,
                0.45 * rate
            )));
        }
        if s.width_from_hz > 0.0 && s.width_percent < MIN_SHELF_WIDTH_PERCENT {
            return Err(bad(format!(
                "width {} % above {} Hz: a side shelf cannot go below {MIN_SHELF_WIDTH_PERCENT} %; use width_from_hz = 0 for full-band narrowing",
                s.width_percent, s.width_from_hz
            )));
        }
        if s.mono_bass {
            let corner = self.mono_corner_hz();
            if !(s.mono_below_hz.is_finite() && s.mono_below_hz >= 20.0 && corner < 0.45 * rate) {
                return Err(bad(format!(
                    "mono-below frequency {} Hz must be ≥ 20 Hz with its side high-pass corner ({corner:.0} Hz) under {} Hz",
                    s.mono_below_hz,
                    0.45 * rate
                )));
            }
        }
        if !(s.correlation_floor.is_finite() && (0.0..=0.9).contains(&s.correlation_floor)) {
            return Err(bad(format!(
                "correlation floor {} must be in [0, 0.9]",
                s.correlation_floor
            )));
        }
        Ok(())
    }

    /// Largest side scale in [0, 1] keeping corr(M + kS, M − kS) ≥ floor.
    fn guard_target(mid_power: f64, side_power: f64, cross: f64, floor: f64) -> f64 {
        let correlation = |x: f64| {
            let num = mid_power - x * side_power;
            let den_sq = (mid_power + x * side_power).powi(2) - 4.0 * x * cross * cross;
            if den_sq <= 0.0 {
                1.0
            } else {
                num / den_sq.sqrt()
            }
        };
        if side_power <= 1e-30 || correlation(1.0) >= floor {
            return 1.0;
        }
        if mid_power <= 1e-30 {
            return 0.0;
        }
        // (M − xS)² = f²((M + xS)² − 4x·C²) on the branch where M − xS ≥ 0.
        let f2 = floor * floor;
        let a = side_power * side_power * (1.0 - f2);
        let b = -2.0 * mid_power * side_power * (1.0 + f2) + 4.0 * f2 * cross * cross;
        let c = mid_power * mid_power * (1.0 - f2);
        let disc = b * b - 4.0 * a * c;
        let x = if disc >= 0.0 && -b > 0.0 {
            2.0 * c / (-b + disc.sqrt())
        } else {
            0.0
        };
        let x = x.min(mid_power / side_power).clamp(0.0, 1.0);
        if x.is_finite() { x.sqrt() } else { 0.0 }
    }
}

impl Processor for StereoShaper {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate(STAGE, sample_rate, max_block)?;
        let rate = f64::from(sample_rate);
        self.validate(rate)?;
        let s = &self.settings;
        self.mid_gain = db_to_gain(s.mid_gain_db);
        self.side_gain = db_to_gain(s.side_gain_db);
        let width = s.width_percent / 100.0;
        if s.width_from_hz > 0.0 {
            self.flat_width = 1.0;
            let gain_db = 20.0 * width.log10();
            self.width_shelf = (gain_db != 0.0).then(|| {
                Biquad::new(BiquadCoeffs::high_shelf(
                    rate,
                    s.width_from_hz,
                    std::f64::consts::FRAC_1_SQRT_2,
                    gain_db,
                ))
            });
        } else {
            self.flat_width = width;
            self.width_shelf = None;
        }
        self.mono_highpass = if s.mono_bass {
            let corner = self.mono_corner_hz();
            butterworth_qs(MONO_ORDER)
                .into_iter()
                .map(|q| Biquad::new(BiquadCoeffs::highpass(rate, corner, q)))
                .collect()
        } else {
            Vec::new()
        };
        self.chain = self.mono_highpass.clone();
        self.chain.extend(self.width_shelf);
        self.side = vec![0.0; max_block];
        self.floor = (s.correlation_floor + GUARD_MARGIN).min(0.95);
        self.stats_coeff = one_pole_coeff(GUARD_WINDOW_MS, rate);
        self.down_coeff = one_pole_coeff(GUARD_DOWN_MS, rate);
        self.up_coeff = one_pole_coeff(GUARD_UP_MS, rate);
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(shelf) = &mut self.width_shelf {
            shelf.reset();
        }
        self.mono_highpass.iter_mut().for_each(Biquad::reset);
        self.chain.iter_mut().for_each(Biquad::reset);
        self.guard = Guard {
            target: 1.0,
            scale: 1.0,
            ..Guard::default()
        };
        self.width_sum = 0.0;
        self.width_min = f64::INFINITY;
        self.frames = 0;
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_frames,
            (self, left, right)
        );
    }
}

impl StereoShaper {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled || self.side.is_empty() {
            return;
        }
        let max_block = self.side.len();
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            if self.settings.correlation_guard {
                self.run::<true>(l, r);
            } else {
                self.run::<false>(l, r);
            }
        }
    }
}

impl StereoShaper {
    /// One block: the side filters (mono bass high-pass, width shelf) as
    /// block passes over the side signal, then mid/side recombination with
    /// the guard, specialised on it, its state and the meter sums in locals.
    #[inline(always)]
    fn run<const GUARD: bool>(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let side_buf = &mut self.side[..frames];
        for ((s, &l), &r) in side_buf.iter_mut().zip(left.iter()).zip(right.iter()) {
            *s = 0.5 * (f64::from(l) - f64::from(r));
        }
        Biquad::process_cascade(&mut self.chain, side_buf);
        let width_percent = self.settings.width_percent;
        let side_scale = self.flat_width * self.side_gain;
        let mid_gain = self.mid_gain;
        let mut g = self.guard.clone();
        let (c, floor) = (self.stats_coeff, self.floor);
        let (down_coeff, up_coeff) = (self.down_coeff, self.up_coeff);
        let (mut width_sum, mut width_min) = (self.width_sum, self.width_min);
        for ((l, r), &filtered) in left.iter_mut().zip(right.iter_mut()).zip(side_buf.iter()) {
            let (xl, xr) = (f64::from(*l), f64::from(*r));
            let mid = 0.5 * (xl + xr) * mid_gain;
            let mut side = filtered * side_scale;
            let mut scale = 1.0;
            if GUARD {
                g.mid_power = mid * mid + c * (g.mid_power - mid * mid);
                g.side_power = side * side + c * (g.side_power - side * side);
                g.cross = mid * side + c * (g.cross - mid * side);
                if g.countdown == 0 {
                    g.countdown = GUARD_INTERVAL;
                    g.target = Self::guard_target(g.mid_power, g.side_power, g.cross, floor);
                }
                g.countdown -= 1;
                let coeff = if g.target < g.scale {
                    down_coeff
                } else {
                    up_coeff
                };
                g.scale = g.target + coeff * (g.scale - g.target);
                scale = g.scale;
                side *= scale;
            }
            let applied = width_percent * scale;
            width_sum += applied;
            width_min = width_min.min(applied);
            *l = (mid + side) as f32;
            *r = (mid - side) as f32;
        }
        self.guard = g;
        self.width_sum = width_sum;
        self.width_min = width_min;
        self.frames += frames as u64;
    }
}
