//! Multiband compressor: 3–4 LR4 bands (see [`crate::crossover`]), each with
//! its own soft-knee curve, attack/release and makeup.
//!
//! Why linked or mid/side: in left/right mode one detector per band takes
//! the louder channel, so a band's gain is the same on both sides and the
//! image cannot wander. In mid/side mode the mid and side of each band get
//! their own detectors — the point of M/S compression is to treat them
//! differently (e.g. tame a wide, harsh side without touching the vocal).
//!
//! Why a neutral bypass: with every band at ratio 1 and no makeup the bands
//! would only sum back to an all-pass of the input (flat magnitude, shifted
//! phase). `prepare` detects that and `process` then leaves the audio
//! untouched, bit for bit, at no cost.
//!
//! Work is done in block passes: split (see the crossover), one pass running
//! every band's follower side by side (independent feedback loops overlap),
//! the gain computers over independent samples (vectorised, no branches),
//! then the band sum.

use crate::biquad::{F2, F4, Lanes};
use crate::compressor::{GainComputer, db_to_gain, validate_curve};
use crate::crossover::{Crossover, MAX_BANDS};
use crate::envelope::{
    CONTROL_INTERVAL, ControlRate, GainRamp, HeldReductionMeter, LaneFollowers, LevelFollower,
    control_segments,
};
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::MultibandSettings;

const STAGE: &str = "multiband compressor";

#[derive(Debug, Clone)]
struct Band {
    computer: GainComputer,
    /// `[left or mid, right or side]`; only the first is used when linked.
    followers: [LevelFollower; 2],
    makeup: f64,
    meter: HeldReductionMeter,
    /// Per-block scratch: the band's stereo signal.
    signal: Vec<F2>,
    control: ControlRate,
    /// Per-block scratch at the control rate: detector levels (linked, one
    /// per control frame; mid/side, a (mid, side) pair) → reductions, gains
    /// and the reduction the meter sees.
    control_levels: Vec<f64>,
    control_gains: Vec<F2>,
    control_reductions: Vec<f64>,
}

/// The multiband compressor processor.
#[derive(Debug, Clone)]
pub struct MultibandCompressor {
    settings: MultibandSettings,
    crossover: Option<Crossover>,
    bands: Vec<Band>,
    /// Every band at ratio 1 without makeup: the stage is a bit-exact bypass.
    neutral: bool,
    max_block: usize,
    /// Frames processed since the last reset (anchors the control rate).
    frames_done: u64,
}

impl MultibandCompressor {
    pub fn new(settings: &MultibandSettings) -> Self {
        Self {
            settings: settings.clone(),
            crossover: None,
            bands: Vec::new(),
            neutral: false,
            max_block: 0,
            frames_done: 0,
        }
    }

    /// Largest reduction of any band since the last reset.
    pub fn max_gain_reduction_db(&self) -> f64 {
        self.bands
            .iter()
            .map(|b| b.meter.max_db())
            .fold(0.0, f64::max)
    }

    /// Mean over bands of each band's mean reduction since the last reset.
    pub fn mean_gain_reduction_db(&self) -> f64 {
        if self.bands.is_empty() {
            return 0.0;
        }
        self.bands.iter().map(|b| b.meter.mean_db()).sum::<f64>() / self.bands.len() as f64
    }

    /// Per-band (max, mean) reduction in dB, lowest band first.
    pub fn band_gain_reduction_db(&self) -> Vec<(f64, f64)> {
        self.bands
            .iter()
            .map(|b| (b.meter.max_db(), b.meter.mean_db()))
            .collect()
    }

    /// Whether `prepare` found every band neutral (the stage is bypassed).
    pub fn is_neutral(&self) -> bool {
        self.neutral
    }
}

impl Processor for MultibandCompressor {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate(STAGE, sample_rate, max_block)?;
        let s = &self.settings;
        if !(2..=3).contains(&s.crossovers_hz.len()) {
            return Err(DspError::InvalidSetting {
                stage: STAGE,
                reason: format!(
                    "{} crossovers given; 2 (3 bands) or 3 (4 bands) are supported",
                    s.crossovers_hz.len()
                ),
            });
        }
        if s.bands.len() != s.crossovers_hz.len() + 1 {
            return Err(DspError::InvalidSetting {
                stage: STAGE,
                reason: format!(
                    "{} band curves for {} crossovers; need one more curve than crossovers",
                    s.bands.len(),
                    s.crossovers_hz.len()
                ),
            });
        }
        let rate = f64::from(sample_rate);
        let crossover = Crossover::new(rate, &s.crossovers_hz)?;
        let mut bands = Vec::with_capacity(s.bands.len());
        for (index, curve) in s.bands.iter().enumerate() {
            validate_curve(STAGE, &format!("band {index}"), curve)?;
        }
        let neutral = s.bands.iter().all(|c| c.ratio == 1.0 && c.makeup_db == 0.0);
        // A neutral stage never touches audio, so it needs no scratch.
        let scratch = if neutral { 0 } else { max_block };
        let controls = if neutral {
            0
        } else {
            max_block / CONTROL_INTERVAL + 2
        };
        for curve in &s.bands {
            let follower = LevelFollower::new(curve.attack_ms, curve.release_ms, rate);
            let makeup = db_to_gain(curve.makeup_db);
            bands.push(Band {
                computer: GainComputer::new(curve.threshold_db, curve.ratio, curve.knee_db),
                followers: [follower; 2],
                makeup,
                meter: HeldReductionMeter::default(),
                signal: vec![F2::ZERO; scratch],
                control: ControlRate::new(F2::splat(makeup)),
                control_levels: vec![0.0; 2 * controls],
                control_gains: vec![F2::ZERO; controls],
                control_reductions: vec![0.0; controls],
            });
        }
        self.crossover = Some(crossover);
        self.bands = bands;
        self.neutral = neutral;
        self.max_block = max_block;
        self.frames_done = 0;
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(crossover) = &mut self.crossover {
            crossover.reset();
        }
        for band in &mut self.bands {
            band.followers.iter_mut().for_each(LevelFollower::reset);
            band.meter.reset();
            band.control = ControlRate::new(F2::splat(band.makeup));
        }
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

impl MultibandCompressor {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled || self.crossover.is_none() || self.neutral {
            return;
        }
        let max_block = self.max_block;
        if max_block == 0 {
            return;
        }
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            self.process_block(l, r);
        }
    }
}

impl MultibandCompressor {
    #[inline(always)]
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(crossover) = &mut self.crossover else {
            return;
        };
        let frames = left.len().min(right.len());
        let mid_side = self.settings.mid_side;
        let Some(first) = self.bands.first_mut() else {
            return;
        };
        for ((x, &l), &r) in first.signal[..frames]
            .iter_mut()
            .zip(left.iter())
            .zip(right.iter())
        {
            let (xl, xr) = (f64::from(l), f64::from(r));
            *x = if mid_side {
                F2::new(0.5 * (xl + xr), 0.5 * (xl - xr))
            } else {
                F2::new(xl, xr)
            };
        }
        {
            let mut signals: [&mut [F2]; MAX_BANDS] = Default::default();
            for (slot, band) in signals.iter_mut().zip(self.bands.iter_mut()) {
                *slot = &mut band.signal[..frames];
            }
            crossover.split_block(&mut signals);
        }
        let first_frame = self.frames_done;
        match self.bands.as_mut_slice() {
            [a, b, c] => detect([a, b, c], frames, first_frame, mid_side),
            [a, b, c, d] => detect([a, b, c, d], frames, first_frame, mid_side),
            _ => return,
        }
        for band in &mut self.bands {
            band_gains(band, frames, first_frame, mid_side);
        }
        self.frames_done += frames as u64;
        match self.bands.as_mut_slice() {
            [a, b, c] => mix([a, b, c], first_frame, left, right, mid_side),
            [a, b, c, d] => mix([a, b, c, d], first_frame, left, right, mid_side),
            _ => {}
        }
    }
}

/// Sums the gained bands straight into the output, ramping each band's
/// gain between its control frames as it goes (band count known at
/// compile time, so the loop has no inner loop or bounds checks).
#[inline(always)]
fn mix<const N: usize>(
    mut bands: [&mut Band; N],
    first_frame: u64,
    left: &mut [f32],
    right: &mut [f32],
    mid_side: bool,
) {
    let frames = left.len().min(right.len());
    for segment in control_segments(first_frame, frames) {
        for band in bands.iter_mut() {
            band.control.enter(&segment, &band.control_gains);
        }
        let ramps: [GainRamp; N] = std::array::from_fn(|k| bands[k].control.ramp());
        let range = segment.start..segment.start + segment.len;
        let signals: [&[F2]; N] = std::array::from_fn(|k| &bands[k].signal[range.clone()]);
        for (j, (l, r)) in left[range.clone()]
            .iter_mut()
            .zip(right[range.clone()].iter_mut())
            .enumerate()
        {
            let phase = segment.phase + j;
            let mut sum = signals[0][j] * ramps[0].at(phase);
            for k in 1..N {
                sum = sum + signals[k][j] * ramps[k].at(phase);
            }
            let (a, b) = (sum.left(), sum.right());
            let (yl, yr) = if mid_side { (a + b, a - b) } else { (a, b) };
            *l = yl as f32;
            *r = yr as f32;
        }
    }
}

/// Which lane of the linked detector's vector follows band `k` (the order
/// one blend of the bands' pairwise maxima gives; see [`detect`]).
const LINKED_LANE_OF_BAND: [usize; 4] = [0, 2, 1, 3];

/// Runs every band's follower over the block, side by side in 4-lane
/// vectors (independent feedback loops overlap in the pipeline), and keeps
/// the detector levels at the block's control frames in each band's
/// `control_levels`: linked, one level per control frame; mid/side, a
/// (mid, side) pair. With three bands the third stands in for the
/// missing fourth; its copy's lanes are computed and ignored.
#[inline(always)]
fn detect<const N: usize>(bands: [&mut Band; N], frames: usize, first_frame: u64, mid_side: bool) {
    let mut parts = bands.map(|band| {
        let Band {
            signal,
            control_levels,
            followers,
            ..
        } = band;
        (&signal[..frames], control_levels.as_mut_slice(), followers)
    });
    let signals: [&[F2]; 4] = std::array::from_fn(|k| parts[k.min(N - 1)].0);
    let mut next_control = ControlRate::first_control(first_frame);
    let mut control = 0;
    if mid_side {
        // Lanes (band 2h mid, side, band 2h + 1 mid, side) of vector h.
        let mut followers: [LaneFollowers<F4>; 2] = std::array::from_fn(|h| {
            LaneFollowers::new(|k| parts[(2 * h + k / 2).min(N - 1)].2[k % 2])
        });
        for (i, frame) in frames_of(&signals).enumerate() {
            let low = followers[0].tick(F4::join(frame[0], frame[1]).abs());
            let high = followers[1].tick(F4::join(frame[2], frame[3]).abs());
            if i == next_control {
                let pairs = [low.first(), low.second(), high.first(), high.second()];
                for (part, pair) in parts.iter_mut().zip(pairs) {
                    part.1[2 * control..2 * control + 2].copy_from_slice(&pair.0);
                }
                control += 1;
                next_control += CONTROL_INTERVAL;
            }
        }
        for (k, part) in parts.iter_mut().enumerate() {
            let (vector, lane) = (k / 2, 2 * (k % 2));
            followers[vector].store(lane, &mut part.2[0]);
            followers[vector].store(lane + 1, &mut part.2[1]);
        }
    } else {
        // One lane per band: each band's level is the louder channel.
        let mut follower: LaneFollowers<F4> =
            LaneFollowers::new(|lane| parts[LINKED_LANE_OF_BAND[lane].min(N - 1)].2[0]);
        for (i, frame) in frames_of(&signals).enumerate() {
            let low = F4::join(frame[0], frame[1]).abs();
            let high = F4::join(frame[2], frame[3]).abs();
            // [m0, m0, m1, m1] and [m2, m2, m3, m3] → [m0, m2, m1, m3].
            let low = low.max(low.swap_pairs());
            let high = high.max(high.swap_pairs());
            let level = follower.tick(low.blend_odd(high));
            if i == next_control {
                for (part, lane) in parts.iter_mut().zip(LINKED_LANE_OF_BAND) {
                    part.1[control] = level.lane(lane);
                }
                control += 1;
                next_control += CONTROL_INTERVAL;
            }
        }
        for (part, lane) in parts.iter_mut().zip(LINKED_LANE_OF_BAND) {
            follower.store(lane, &mut part.2[0]);
        }
    }
}

/// The four signals' frames side by side, in order.
#[inline(always)]
fn frames_of<'a>(signals: &'a [&'a [F2]; 4]) -> impl Iterator<Item = [F2; 4]> + 'a {
    let [a, b, c, d] = signals;
    a.iter()
        .zip(b.iter())
        .zip(c.iter())
        .zip(d.iter())
        .map(|(((&a, &b), &c), &d)| [a, b, c, d])
}

/// One band's gains for the block at its control frames (see
/// [`ControlRate`]), vectorised over them; metered there too.
#[inline(always)]
fn band_gains(band: &mut Band, frames: usize, first_frame: u64, mid_side: bool) {
    let count = (ControlRate::first_control(first_frame)..frames)
        .step_by(CONTROL_INTERVAL)
        .len();
    let (computer, makeup) = (band.computer, band.makeup);
    if mid_side {
        let levels = &mut band.control_levels[..2 * count];
        for v in levels.iter_mut() {
            *v = computer.reduction_db_branchless(*v);
        }
        for ((pair, g), r) in levels
            .chunks_exact(2)
            .zip(band.control_gains.iter_mut())
            .zip(band.control_reductions.iter_mut())
        {
            *r = pair[0].max(pair[1]);
            *g = F2::new(
                GainComputer::gain_of_reduction(pair[0]) * makeup,
                GainComputer::gain_of_reduction(pair[1]) * makeup,
            );
        }
    } else {
        // One detector for both channels: one curve evaluation per frame.
        for ((&level, g), r) in band.control_levels[..count]
            .iter()
            .zip(band.control_gains.iter_mut())
            .zip(band.control_reductions.iter_mut())
        {
            *r = computer.reduction_db_branchless(level);
            *g = F2::splat(GainComputer::gain_of_reduction(*r) * makeup);
        }
    }
    band.meter
        .record_block(&band.control_reductions[..count], frames);
}
