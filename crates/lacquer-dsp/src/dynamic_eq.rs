//! Dynamic EQ: bells that cut only while their own band is loud (harsh
//! 2–6 kHz peaks, mud at 200–500 Hz, sub build-up).
//!
//! Why the parallel form `y = x + (g − 1)·bp(x)`: `bp` is a band-pass with
//! exactly 0 dB and zero phase at the centre, so the band's centre gets gain
//! `g` exactly, the detector and the cut see the same band, and no filter
//! coefficients have to be recomputed per sample. Below threshold `g` is
//! exactly 1.0, `(g − 1)` is exactly 0.0, and the output is the input bit
//! for bit: a dynamic EQ that is not working changes nothing. The cut curve
//! runs at a control rate ([`crate::envelope::ControlRate`]: every 8th
//! absolute frame, gains interpolated in between), so after a cut ends the
//! gain takes at most 8 more frames to land back on exactly 1.0.
//!
//! Bands work in parallel on the stage input (`y = x + Σ (g_k − 1)·bp_k(x)`):
//! each detects its own band of the input, so one band's cut never changes
//! what another band hears, and the bands' filters do not wait on each
//! other (several times faster than chaining them).

use crate::biquad::{BandpassCoeffs, BiquadCoeffs, F2, StereoState};
use crate::compressor::{GainComputer, db_to_gain};
use crate::envelope::{
    CONTROL_INTERVAL, ControlRate, DB_PER_LOG2, GainRamp, HeldReductionMeter, LevelFollower,
    control_segments, fast_log2_positive,
};
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::DynamicEqSettings;

const STAGE: &str = "dynamic eq";
/// Deepest cut a band may make (dB).
pub const MAX_CUT_DB: f64 = 24.0;

/// One band: its detector filter and follower, its cut curve and its
/// control-rate gains.
#[derive(Debug, Clone)]
struct Band {
    bandpass: BandpassCoeffs<F2>,
    bandpass_state: StereoState,
    follower: LevelFollower,
    threshold: f64,
    threshold_db: f64,
    slope: f64,
    max_cut_db: f64,
    /// Per-block scratch: the band-passed signal and the detector level.
    band: Vec<F2>,
    levels: Vec<f64>,
    /// Gain curve at the control rate (see [`ControlRate`]): per block,
    /// the control frames' levels → cuts and gains, ramped as they mix.
    control: ControlRate,
    control_levels: Vec<f64>,
    control_gains: Vec<F2>,
    control_cuts: Vec<f64>,
}

/// The dynamic EQ processor.
#[derive(Debug, Clone)]
pub struct DynamicEq {
    settings: DynamicEqSettings,
    bands: Vec<Band>,
    meter: HeldReductionMeter,
    /// Per-block scratch: the deepest band cut at each control frame.
    deepest_cut_db: Vec<f64>,
    input: Vec<F2>,
    max_block: usize,
    /// Frames processed since the last reset (anchors the control rate).
    frames_done: u64,
}

impl DynamicEq {
    pub fn new(settings: &DynamicEqSettings) -> Self {
        Self {
            settings: settings.clone(),
            bands: Vec::new(),
            meter: HeldReductionMeter::default(),
            deepest_cut_db: Vec::new(),
            input: Vec::new(),
            max_block: 0,
            frames_done: 0,
        }
    }

    /// Deepest cut of any band since the last reset (dB).
    pub fn max_gain_reduction_db(&self) -> f64 {
        self.meter.max_db()
    }

    /// Mean over time of the deepest band cut (dB).
    pub fn mean_gain_reduction_db(&self) -> f64 {
        self.meter.mean_db()
    }
}

impl Processor for DynamicEq {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate(STAGE, sample_rate, max_block)?;
        let rate = f64::from(sample_rate);
        let controls = max_block / CONTROL_INTERVAL + 2;
        let mut bands = Vec::with_capacity(self.settings.bands.len());
        for (index, b) in self.settings.bands.iter().enumerate() {
            let bad = |reason: String| DspError::InvalidSetting {
                stage: STAGE,
                reason: format!("band {index}: {reason}"),
            };
            if !(b.frequency_hz.is_finite()
                && b.frequency_hz > 10.0
                && b.frequency_hz < 0.45 * rate)
            {
                return Err(bad(format!(
                    "frequency {} Hz must be in (10, {}) Hz",
                    b.frequency_hz,
                    0.45 * rate
                )));
            }
            if !(b.q.is_finite() && b.q >= 0.1 && b.q <= 20.0) {
                return Err(bad(format!("q {} must be in [0.1, 20]", b.q)));
            }
            if !(b.threshold_db.is_finite() && (-120.0..=24.0).contains(&b.threshold_db)) {
                return Err(bad(format!(
                    "threshold {} dB must be in [-120, 24]",
                    b.threshold_db
                )));
            }
            if !(b.ratio.is_finite() && b.ratio >= 1.0) {
                return Err(bad(format!("ratio {} must be ≥ 1", b.ratio)));
            }
            if !(b.max_cut_db.is_finite() && (0.0..=MAX_CUT_DB).contains(&b.max_cut_db)) {
                return Err(bad(format!(
                    "max cut {} dB must be in [0, {MAX_CUT_DB}]",
                    b.max_cut_db
                )));
            }
            for (name, ms) in [("attack", b.attack_ms), ("release", b.release_ms)] {
                if !(ms.is_finite() && (0.0..=10_000.0).contains(&ms)) {
                    return Err(bad(format!("{name} {ms} ms must be in [0, 10000]")));
                }
            }
            bands.push(Band {
                bandpass: BandpassCoeffs::new(&[BiquadCoeffs::bandpass(rate, b.frequency_hz, b.q)])
                    .ok_or_else(|| bad("band-pass design lost its shape".to_string()))?,
                bandpass_state: StereoState::default(),
                follower: LevelFollower::new(b.attack_ms, b.release_ms, rate),
                threshold: db_to_gain(b.threshold_db),
                threshold_db: b.threshold_db,
                slope: 1.0 - 1.0 / b.ratio,
                max_cut_db: b.max_cut_db,
                band: vec![F2::ZERO; max_block],
                control: ControlRate::new(F2::splat(1.0)),
                control_levels: vec![0.0; controls],
                control_gains: vec![F2::ZERO; controls],
                control_cuts: vec![0.0; controls],
                levels: vec![0.0; max_block],
            });
        }
        self.bands = bands;
        self.deepest_cut_db = vec![0.0; controls];
        self.input = vec![F2::ZERO; max_block];
        self.max_block = max_block;
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        for band in &mut self.bands {
            band.bandpass_state = StereoState::default();
            band.control = ControlRate::new(F2::splat(1.0));
            band.follower.reset();
        }
        self.meter.reset();
        self.frames_done = 0;
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_frames,
            (self, left, right)
        );
    }
}

impl DynamicEq {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled || self.bands.is_empty() || self.max_block == 0 {
            return;
        }
        let max_block = self.max_block;
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            self.process_block(l, r);
        }
    }
}

impl DynamicEq {
    /// Passes over the block: the band filters and followers (serial, but
    /// up to four bands side by side so their loops overlap), the curves
    /// over independent samples (vectorised), the meter, then the mix.
    #[inline(always)]
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let input = &mut self.input[..frames];
        for ((x, &l), &r) in input.iter_mut().zip(left.iter()).zip(right.iter()) {
            *x = F2::new(f64::from(l), f64::from(r));
        }
        for group in self.bands.chunks_mut(4) {
            match group {
                [a] => detect([a], input),
                [a, b] => detect([a, b], input),
                [a, b, c] => detect([a, b, c], input),
                [a, b, c, d] => detect([a, b, c, d], input),
                _ => {}
            }
        }
        let first_frame = self.frames_done;
        self.frames_done += frames as u64;
        let controls = (ControlRate::first_control(first_frame)..frames)
            .step_by(CONTROL_INTERVAL)
            .len();
        let deepest = &mut self.deepest_cut_db[..controls];
        deepest.fill(0.0);
        for band in &mut self.bands {
            if band.slope > 0.0 {
                band_gains(band, first_frame, frames);
                for (d, &c) in deepest.iter_mut().zip(&band.control_cuts[..controls]) {
                    *d = d.max(c);
                }
            } else {
                band.control_gains[..controls].fill(F2::splat(1.0));
            }
        }
        self.meter.record_block(deepest, frames);
        let input = &self.input[..frames];
        match self.bands.as_mut_slice() {
            [a] => mix([a], input, first_frame, left, right),
            [a, b] => mix([a, b], input, first_frame, left, right),
            [a, b, c] => mix([a, b, c], input, first_frame, left, right),
            [a, b, c, d] => mix([a, b, c, d], input, first_frame, left, right),
            bands => {
                for segment in control_segments(first_frame, frames) {
                    for band in bands.iter_mut() {
                        band.control.enter(&segment, &band.control_gains);
                    }
                    for j in 0..segment.len {
                        let i = segment.start + j;
                        let mut y = input[i];
                        let mut changed = false;
                        for band in bands.iter() {
                            let g = band.control.ramp().at(segment.phase + j).left() - 1.0;
                            y = y + F2::splat(g) * band.band[i];
                            changed |= g != 0.0;
                        }
                        if changed {
                            left[i] = y.left() as f32;
                            right[i] = y.right() as f32;
                        }
                    }
                }
            }
        }
    }
}

/// `y = x + Σ (g − 1)·band`, written only where some band is cutting (so
/// idle frames keep their exact input bits), each band's gain ramped
/// between its control frames; specialised on the band count.
#[inline(always)]
fn mix<const N: usize>(
    mut bands: [&mut Band; N],
    input: &[F2],
    first_frame: u64,
    left: &mut [f32],
    right: &mut [f32],
) {
    let frames = input.len().min(left.len()).min(right.len());
    for segment in control_segments(first_frame, frames) {
        for band in bands.iter_mut() {
            band.control.enter(&segment, &band.control_gains);
        }
        let ramps: [GainRamp; N] = std::array::from_fn(|k| bands[k].control.ramp());
        let range = segment.start..segment.start + segment.len;
        let signals: [&[F2]; N] = std::array::from_fn(|k| &bands[k].band[range.clone()]);
        for (j, ((&x, l), r)) in input[range.clone()]
            .iter()
            .zip(left[range.clone()].iter_mut())
            .zip(right[range.clone()].iter_mut())
            .enumerate()
        {
            let mut y = x;
            let mut changed = false;
            for k in 0..N {
                let g = ramps[k].at(segment.phase + j).left() - 1.0;
                y = y + F2::splat(g) * signals[k][j];
                changed |= g != 0.0;
            }
            if changed {
                *l = y.left() as f32;
                *r = y.right() as f32;
            }
        }
    }
}

/// One band's gains for the block: the cut curve on the control frames
/// only, vectorised over them.
#[inline(always)]
fn band_gains(band: &mut Band, first_frame: u64, frames: usize) {
    let first = ControlRate::first_control(first_frame);
    let mut count = 0;
    for (i, level) in (first..frames)
        .step_by(CONTROL_INTERVAL)
        .zip(band.control_levels.iter_mut())
    {
        *level = band.levels[i];
        count += 1;
    }
    let (threshold, threshold_db) = (band.threshold, band.threshold_db);
    let (slope, max_cut_db) = (band.slope, band.max_cut_db);
    for level in band.control_levels[..count].iter_mut() {
        let over_db = DB_PER_LOG2 * fast_log2_positive(level.max(f64::MIN_POSITIVE)) - threshold_db;
        // Exactly 0 at or below the threshold (a bit mask, not a branch),
        // so the gain there is exactly 1 and the audio passes untouched.
        let keep = u64::from(*level > threshold).wrapping_neg();
        *level = f64::from_bits((over_db * slope).min(max_cut_db).to_bits() & keep);
    }
    for ((&cut, g), c) in band.control_levels[..count]
        .iter()
        .zip(band.control_gains.iter_mut())
        .zip(band.control_cuts.iter_mut())
    {
        *c = cut;
        *g = F2::splat(GainComputer::gain_of_reduction(cut));
    }
}

/// Band-pass and follower of up to four bands in one pass (independent
/// feedback loops overlap in the pipeline); writes each band's signal and
/// detector level.
#[inline(always)]
fn detect<const N: usize>(bands: [&mut Band; N], input: &[F2]) {
    let frames = input.len();
    let coeffs: [BandpassCoeffs<F2>; N] = std::array::from_fn(|k| bands[k].bandpass);
    let mut states: [StereoState; N] = std::array::from_fn(|k| bands[k].bandpass_state);
    let mut followers: [LevelFollower; N] = std::array::from_fn(|k| bands[k].follower);
    let mut outs = bands.map(|b| {
        let Band {
            band,
            levels,
            bandpass_state,
            follower,
            ..
        } = b;
        (
            &mut band[..frames],
            &mut levels[..frames],
            bandpass_state,
            follower,
        )
    });
    for (i, &x) in input.iter().enumerate() {
        for k in 0..N {
            let y = states[k].tick_bandpass(&coeffs[k], x);
            outs[k].0[i] = y;
            // The louder channel, as one compare (`f64::max` would add a
            // NaN fix-up; on finite audio the two agree).
            let (l, r) = (y.left().abs(), y.right().abs());
            outs[k].1[i] = followers[k].tick(if l > r { l } else { r });
        }
    }
    for (k, out) in outs.iter_mut().enumerate() {
        *out.2 = states[k];
        *out.3 = followers[k];
    }
}
