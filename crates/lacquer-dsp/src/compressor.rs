//! Wideband "glue" compressor, and the static gain computer every dynamics
//! stage shares.
//!
//! Why this topology: detector (optional side-chain high-pass so the kick
//! and sub do not pump the whole mix) → peak or RMS level → attack/release
//! follower on the linear level → soft-knee gain computer. Detection is
//! stereo-linked (one gain for both channels) so the image never shifts.

use crate::biquad::{BUTTERWORTH_Q, BiquadCoeffs, F2, StereoBiquad};
use crate::envelope::{
    DB_PER_LOG2, LevelFollower, MeanSquare, ReductionMeter, fast_exp2_clamped, fast_gain_to_db,
    fast_log2_positive,
};
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::{CompressorCurve, DetectorMode, GlueSettings};

const STAGE: &str = "glue compressor";
/// Largest makeup gain accepted (dB).
pub const MAX_MAKEUP_DB: f64 = 24.0;

/// Soft-knee static curve (Giannoulis, Massberg & Reiss 2012 form): below
/// `threshold − knee/2` no reduction, above `threshold + knee/2` the output
/// rises `1/ratio` dB per dB, a quadratic joins the two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainComputer {
    threshold_db: f64,
    slope: f64,
    knee_db: f64,
    /// Linear level below which the reduction is exactly zero.
    knee_start: f64,
}

impl GainComputer {
    pub fn new(threshold_db: f64, ratio: f64, knee_db: f64) -> Self {
        Self {
            threshold_db,
            slope: 1.0 - 1.0 / ratio,
            knee_db,
            knee_start: 10f64.powf((threshold_db - knee_db / 2.0) / 20.0),
        }
    }

    /// Reduction (dB, ≥ 0) for a level in dB.
    pub fn reduction_db(&self, level_db: f64) -> f64 {
        let over = level_db - self.threshold_db;
        if 2.0 * over <= -self.knee_db {
            0.0
        } else if 2.0 * over.abs() < self.knee_db {
            let x = over + self.knee_db / 2.0;
            self.slope * x * x / (2.0 * self.knee_db)
        } else {
            self.slope * over
        }
    }

    /// Reduction (dB) for a linear level without branches: a loop of these
    /// over a block of detector levels vectorises. The knee is written as
    /// `slope·(clamp(over + k/2, 0, k)²/(2k) + max(over − k/2, 0))`, equal
    /// to [`Self::reduction_db`] to rounding and exactly 0 below the knee.
    #[inline(always)]
    pub fn reduction_db_branchless(&self, level: f64) -> f64 {
        let level_db = DB_PER_LOG2 * fast_log2_positive(level.max(f64::MIN_POSITIVE));
        let over = level_db - self.threshold_db;
        let half_knee = 0.5 * self.knee_db;
        let inv_two_knee = if self.knee_db > 0.0 {
            0.5 / self.knee_db
        } else {
            0.0
        };
        let x = (over + half_knee).max(0.0).min(self.knee_db);
        self.slope * (x * x * inv_two_knee + (over - half_knee).max(0.0))
    }

    /// Gain (linear, ≤ 1) for a reduction in dB; exactly 1.0 for 0 dB.
    #[inline(always)]
    pub fn gain_of_reduction(reduction_db: f64) -> f64 {
        fast_exp2_clamped(reduction_db * (-1.0 / DB_PER_LOG2))
    }

    /// Reduction (dB) for a linear level; exactly 0 below the knee.
    #[inline(always)]
    pub fn reduction_db_linear(&self, level: f64) -> f64 {
        if level <= self.knee_start || self.slope == 0.0 {
            0.0
        } else {
            self.reduction_db(fast_gain_to_db(level))
        }
    }
}

/// Validates a curve; `what` names it in the error.
pub(crate) fn validate_curve(
    stage: &'static str,
    what: &str,
    curve: &CompressorCurve,
) -> Result<(), DspError> {
    let bad = |reason: String| DspError::InvalidSetting { stage, reason };
    if !(curve.threshold_db.is_finite()
        && curve.threshold_db <= 24.0
        && curve.threshold_db >= -120.0)
    {
        return Err(bad(format!(
            "{what}: threshold {} dB must be in [-120, 24]",
            curve.threshold_db
        )));
    }
    if !(curve.ratio.is_finite() && curve.ratio >= 1.0) {
        return Err(bad(format!("{what}: ratio {} must be ≥ 1", curve.ratio)));
    }
    if !(curve.knee_db.is_finite() && (0.0..=48.0).contains(&curve.knee_db)) {
        return Err(bad(format!(
            "{what}: knee {} dB must be in [0, 48]",
            curve.knee_db
        )));
    }
    for (name, ms) in [("attack", curve.attack_ms), ("release", curve.release_ms)] {
        if !(ms.is_finite() && (0.0..=10_000.0).contains(&ms)) {
            return Err(bad(format!("{what}: {name} {ms} ms must be in [0, 10000]")));
        }
    }
    if !(curve.makeup_db.is_finite() && curve.makeup_db.abs() <= MAX_MAKEUP_DB) {
        return Err(bad(format!(
            "{what}: makeup {} dB must be within ±{MAX_MAKEUP_DB}",
            curve.makeup_db
        )));
    }
    Ok(())
}

/// The glue compressor processor.
#[derive(Debug, Clone)]
pub struct GlueCompressor {
    settings: GlueSettings,
    computer: GainComputer,
    sidechain: Option<StereoBiquad>,
    mean_square: MeanSquare,
    follower: LevelFollower,
    makeup: f64,
    meter: ReductionMeter,
    /// Per-block scratch: detector level, then gain.
    gains: Vec<f64>,
}

impl GlueCompressor {
    pub fn new(settings: &GlueSettings) -> Self {
        let c = &settings.curve;
        Self {
            settings: settings.clone(),
            computer: GainComputer::new(c.threshold_db, c.ratio.max(1.0), c.knee_db),
            sidechain: None,
            mean_square: MeanSquare::new(settings.rms_window_ms, 48_000.0),
            follower: LevelFollower::new(c.attack_ms, c.release_ms, 48_000.0),
            makeup: 1.0,
            meter: ReductionMeter::default(),
            gains: Vec::new(),
        }
    }

    pub fn max_gain_reduction_db(&self) -> f64 {
        self.meter.max_db()
    }

    pub fn mean_gain_reduction_db(&self) -> f64 {
        self.meter.mean_db()
    }
}

impl Processor for GlueCompressor {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate(STAGE, sample_rate, max_block)?;
        let s = &self.settings;
        validate_curve(STAGE, "curve", &s.curve)?;
        let rate = f64::from(sample_rate);
        if !(s.rms_window_ms.is_finite() && (0.0..=1000.0).contains(&s.rms_window_ms)) {
            return Err(DspError::InvalidSetting {
                stage: STAGE,
                reason: format!("RMS window {} ms must be in [0, 1000]", s.rms_window_ms),
            });
        }
        let hp = s.sidechain_highpass_hz;
        if !(hp.is_finite() && hp >= 0.0 && hp < 0.45 * rate) {
            return Err(DspError::InvalidSetting {
                stage: STAGE,
                reason: format!(
                    "side-chain high-pass {hp} Hz must be in [0, {})",
                    0.45 * rate
                ),
            });
        }
        let c = &s.curve;
        self.computer = GainComputer::new(c.threshold_db, c.ratio, c.knee_db);
        self.sidechain =
            (hp > 0.0).then(|| StereoBiquad::new(BiquadCoeffs::highpass(rate, hp, BUTTERWORTH_Q)));
        self.mean_square = MeanSquare::new(s.rms_window_ms, rate);
        self.follower = LevelFollower::new(c.attack_ms, c.release_ms, rate);
        self.makeup = db_to_gain(c.makeup_db);
        self.gains = vec![0.0; max_block];
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(hp) = &mut self.sidechain {
            hp.reset();
        }
        self.mean_square.reset();
        self.follower.reset();
        self.meter.reset();
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_frames,
            (self, left, right)
        );
    }
}

impl GlueCompressor {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled || self.gains.is_empty() {
            return;
        }
        let max_block = self.gains.len();
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            self.process_block(l, r);
            self.apply(l, r);
        }
    }
}

impl GlueCompressor {
    /// Detection (serial: filter, mean square, follower, with their state in
    /// registers), then the gain curve over independent samples
    /// (vectorised), the meter, then the gain.
    #[inline(always)]
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let gains = &mut self.gains[..frames];
        let rms = self.settings.detector == DetectorMode::Rms;
        let (left, right) = (&left[..frames], &right[..frames]);
        match (&mut self.sidechain, rms) {
            (Some(hp), true) => detect::<true, true>(
                hp,
                &mut self.mean_square,
                &mut self.follower,
                left,
                right,
                gains,
            ),
            (Some(hp), false) => detect::<true, false>(
                hp,
                &mut self.mean_square,
                &mut self.follower,
                left,
                right,
                gains,
            ),
            (None, true) => detect::<false, true>(
                &mut StereoBiquad::new(BiquadCoeffs::IDENTITY),
                &mut self.mean_square,
                &mut self.follower,
                left,
                right,
                gains,
            ),
            (None, false) => detect::<false, false>(
                &mut StereoBiquad::new(BiquadCoeffs::IDENTITY),
                &mut self.mean_square,
                &mut self.follower,
                left,
                right,
                gains,
            ),
        }
        let computer = self.computer;
        for g in gains.iter_mut() {
            *g = computer.reduction_db_branchless(*g);
        }
        self.meter.record_block(gains);
        let makeup = self.makeup;
        for g in gains.iter_mut() {
            *g = GainComputer::gain_of_reduction(*g) * makeup;
        }
    }

    #[inline(always)]
    fn apply(&self, left: &mut [f32], right: &mut [f32]) {
        for ((&g, l), r) in self.gains.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            *l = (f64::from(*l) * g) as f32;
            *r = (f64::from(*r) * g) as f32;
        }
    }
}

/// The detector chain over a block, specialised so the loop has no
/// per-sample decisions; state is copied into locals (registers) and back.
#[inline(always)]
fn detect<const FILTER: bool, const RMS: bool>(
    hp: &mut StereoBiquad,
    mean_square: &mut MeanSquare,
    follower: &mut LevelFollower,
    left: &[f32],
    right: &[f32],
    levels: &mut [f64],
) {
    let (mut hp_local, mut ms_local, mut follower_local) = (*hp, *mean_square, *follower);
    for ((g, &l), &r) in levels.iter_mut().zip(left).zip(right) {
        let x = F2::new(f64::from(l), f64::from(r));
        let d = if FILTER { hp_local.tick_f2(x) } else { x };
        let (dl, dr) = (d.left(), d.right());
        let level = if RMS {
            ms_local.tick(0.5 * (dl * dl + dr * dr)).sqrt()
        } else {
            dl.abs().max(dr.abs())
        };
        *g = follower_local.tick(level);
    }
    (*hp, *mean_square, *follower) = (hp_local, ms_local, follower_local);
}

/// dB → linear amplitude (`exp` is cheaper than `powf` per sample).
#[inline(always)]
pub(crate) fn db_to_gain(db: f64) -> f64 {
    (db * (std::f64::consts::LN_10 / 20.0)).exp()
}
