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

use crate::biquad::{BiquadCoeffs, F2, F4, SectionCoeffs, SectionState};
use crate::compressor::{GainComputer, db_to_gain};
use crate::envelope::{
    CONTROL_INTERVAL, ControlRate, DB_PER_LOG2, GainRamp, HeldReductionMeter, LaneFollowers,
    LevelFollower, control_segments, fast_log2_positive,
};
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::DynamicEqSettings;

const STAGE: &str = "dynamic eq";
/// Deepest cut a band may make (dB).
pub const MAX_CUT_DB: f64 = 24.0;

/// A band's cut curve and its control-rate gains.
#[derive(Debug, Clone)]
struct Band {
    threshold: f64,
    threshold_db: f64,
    slope: f64,
    max_cut_db: f64,
    /// Gain curve at the control rate (see [`ControlRate`]): per block,
    /// the control frames' levels → cuts and gains, ramped as they mix.
    control: ControlRate,
    control_levels: Vec<f64>,
    control_gains: Vec<F2>,
    control_cuts: Vec<f64>,
}

/// The band-passes and detectors of two bands side by side in 4-lane
/// vectors, lanes `[a.left, a.right, b.left, b.right]` (one register does
/// both bands' filter and follower). An odd last band fills both halves;
/// its copy is computed and ignored.
#[derive(Debug, Clone)]
struct BandPair {
    bandpass: SectionCoeffs<F4>,
    state: SectionState<F4>,
    /// Lanes 0–1 follow band `a`'s level, lanes 2–3 band `b`'s.
    followers: LaneFollowers<F4>,
    /// Per-block scratch: the band-passed signals, and the followers at
    /// the block's control frames.
    signal: Vec<F4>,
    control_levels: Vec<F4>,
}

/// Lane of [`BandPair`] vectors holding each of its two bands.
const PAIR_LANES: [usize; 2] = [0, 2];

/// The dynamic EQ processor.
#[derive(Debug, Clone)]
pub struct DynamicEq {
    settings: DynamicEqSettings,
    bands: Vec<Band>,
    /// `bands` two by two (band `k` is half `k % 2` of pair `k / 2`).
    pairs: Vec<BandPair>,
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
            pairs: Vec::new(),
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
        let mut filters = Vec::with_capacity(self.settings.bands.len());
        let mut followers = Vec::with_capacity(self.settings.bands.len());
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
            filters.push(BiquadCoeffs::bandpass(rate, b.frequency_hz, b.q));
            followers.push(LevelFollower::new(b.attack_ms, b.release_ms, rate));
            bands.push(Band {
                threshold: db_to_gain(b.threshold_db),
                threshold_db: b.threshold_db,
                slope: 1.0 - 1.0 / b.ratio,
                max_cut_db: b.max_cut_db,
                control: ControlRate::new(F2::splat(1.0)),
                control_levels: vec![0.0; controls],
                control_gains: vec![F2::ZERO; controls],
                control_cuts: vec![0.0; controls],
            });
        }
        self.pairs = filters
            .chunks(2)
            .zip(followers.chunks(2))
            .map(|(filters, followers)| BandPair {
                bandpass: SectionCoeffs::per_section(filters),
                state: SectionState::default(),
                followers: LaneFollowers::new(|lane| followers[lane * followers.len() / 4]),
                signal: vec![F4::default(); max_block],
                control_levels: vec![F4::default(); controls],
            })
            .collect();
        self.bands = bands;
        self.deepest_cut_db = vec![0.0; controls];
        self.input = vec![F2::ZERO; max_block];
        self.max_block = max_block;
        self.meter.reset();
        self.frames_done = 0;
        Ok(())
    }

    fn reset(&mut self) {
        for band in &mut self.bands {
            band.control = ControlRate::new(F2::splat(1.0));
        }
        for pair in &mut self.pairs {
            pair.state = SectionState::default();
            pair.followers.reset();
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
    /// two pairs of bands side by side so their loops overlap), the curves
    /// at the control frames (vectorised), the meter, then the mix.
    #[inline(always)]
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let input = &mut self.input[..frames];
        for ((x, &l), &r) in input.iter_mut().zip(left.iter()).zip(right.iter()) {
            *x = F2::new(f64::from(l), f64::from(r));
        }
        let first_frame = self.frames_done;
        self.frames_done += frames as u64;
        for group in self.pairs.chunks_mut(2) {
            match group {
                [a] => detect([a], input, first_frame),
                [a, b] => detect([a, b], input, first_frame),
                _ => {}
            }
        }
        let controls = (ControlRate::first_control(first_frame)..frames)
            .step_by(CONTROL_INTERVAL)
            .len();
        let deepest = &mut self.deepest_cut_db[..controls];
        deepest.fill(0.0);
        for (k, band) in self.bands.iter_mut().enumerate() {
            if band.slope > 0.0 {
                let levels = &self.pairs[k / 2].control_levels[..controls];
                band_gains(band, levels, PAIR_LANES[k % 2]);
                for (d, &c) in deepest.iter_mut().zip(&band.control_cuts[..controls]) {
                    *d = d.max(c);
                }
            } else {
                band.control_gains[..controls].fill(F2::splat(1.0));
            }
        }
        self.meter.record_block(deepest, frames);
        let input = &self.input[..frames];
        let (bands, pairs) = (self.bands.as_mut_slice(), self.pairs.as_slice());
        match bands.len() {
            1 => mix::<1>(bands, pairs, input, first_frame, left, right),
            2 => mix::<2>(bands, pairs, input, first_frame, left, right),
            3 => mix::<3>(bands, pairs, input, first_frame, left, right),
            4 => mix::<4>(bands, pairs, input, first_frame, left, right),
            _ => mix_any(bands, pairs, input, first_frame, left, right),
        }
    }
}

/// `g − 1` of both halves of a pair at `phase`, and whether either band is
/// cutting there (`g ≠ 1`).
#[inline(always)]
fn pair_term(ramp: &GainRamp<F4>, phase: usize) -> (F4, bool) {
    let g = ramp.at(phase) - F4([1.0; 4]);
    (g, g.0[PAIR_LANES[0]] != 0.0 || g.0[PAIR_LANES[1]] != 0.0)
}

/// The ramps of pair `p`'s bands in one vector (an odd band out twice).
#[inline(always)]
fn pair_ramp(bands: &[Band], p: usize) -> GainRamp<F4> {
    let a = bands[2 * p].control.ramp();
    let b = bands.get(2 * p + 1).map_or(a, |band| band.control.ramp());
    GainRamp::join(a, b)
}

/// `y = x + Σ (g − 1)·band`, bands in order, written only where some band
/// is cutting (so idle frames keep their exact input bits, and an idle
/// interval costs nothing), each band's gain ramped between its control
/// frames; specialised on the band count, two frames per step (lanes
/// `[frame.left, frame.right, next.left, next.right]`, the same operations
/// on every lane as one frame at a time).
#[inline(always)]
fn mix<const BANDS: usize>(
    bands: &mut [Band],
    pairs: &[BandPair],
    input: &[F2],
    first_frame: u64,
    left: &mut [f32],
    right: &mut [f32],
) {
    let pair_count = BANDS.div_ceil(2);
    let frames = input.len().min(left.len()).min(right.len());
    for segment in control_segments(first_frame, frames) {
        for band in bands.iter_mut() {
            band.control.enter(&segment, &band.control_gains);
        }
        let ramps: [GainRamp; 4] = std::array::from_fn(|k| bands[k.min(BANDS - 1)].control.ramp());
        if ramps[..BANDS].iter().all(GainRamp::is_unity) {
            continue;
        }
        let range = segment.start..segment.start + segment.len;
        let signals: [&[F4]; 2] =
            std::array::from_fn(|p| &pairs[p.min(pair_count - 1)].signal[range.clone()]);
        let x = &input[range.clone()];
        let (l, r) = (&mut left[range.clone()], &mut right[range]);
        let mut j = 0;
        while j + 2 <= segment.len {
            let mut y = F4::join(x[j], x[j + 1]);
            let mut cutting = 0;
            for k in 0..BANDS {
                let g = ramps[k].at_two(segment.phase + j) - F4([1.0; 4]);
                let s = F4::halves(signals[k / 2][j], signals[k / 2][j + 1], k % 2);
                y = y + g * s;
                cutting |= g.nonzero_lanes();
            }
            if cutting & 0b0011 != 0 {
                l[j] = y.0[0] as f32;
                r[j] = y.0[1] as f32;
            }
            if cutting & 0b1100 != 0 {
                l[j + 1] = y.0[2] as f32;
                r[j + 1] = y.0[3] as f32;
            }
            j += 2;
        }
        if j < segment.len {
            let mut y = x[j];
            let mut cutting = false;
            for k in 0..BANDS {
                let g = ramps[k].at(segment.phase + j) - F2::splat(1.0);
                let s = signals[k / 2][j];
                y = y + g * if k % 2 == 0 { s.first() } else { s.second() };
                cutting |= g != F2::ZERO;
            }
            if cutting {
                l[j] = y.left() as f32;
                r[j] = y.right() as f32;
            }
        }
    }
}

/// [`mix`] for any number of bands.
fn mix_any(
    bands: &mut [Band],
    pairs: &[BandPair],
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
        for j in 0..segment.len {
            let i = segment.start + j;
            let mut y = input[i];
            let mut changed = false;
            for (p, pair) in pairs.iter().enumerate() {
                let (g, cutting) = pair_term(&pair_ramp(bands, p), segment.phase + j);
                let term = g * pair.signal[i];
                y = y + term.first();
                if 2 * p + 1 < bands.len() {
                    y = y + term.second();
                }
                changed |= cutting;
            }
            if changed {
                left[i] = y.left() as f32;
                right[i] = y.right() as f32;
            }
        }
    }
}

/// One band's gains for the block: the cut curve on the control frames
/// only (`levels`' lane `lane` is the band's), vectorised over them.
#[inline(always)]
fn band_gains(band: &mut Band, levels: &[F4], lane: usize) {
    let count = levels.len();
    for (level, pair) in band.control_levels.iter_mut().zip(levels) {
        *level = pair.0[lane];
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

/// Band-passes and followers of up to two pairs of bands in one pass
/// (independent feedback loops overlap in the pipeline); writes each pair's
/// signals, and its followers at the block's control frames.
#[inline(always)]
fn detect<const P: usize>(pairs: [&mut BandPair; P], input: &[F2], first_frame: u64) {
    let frames = input.len();
    let coeffs: [SectionCoeffs<F4>; P] = std::array::from_fn(|p| pairs[p].bandpass);
    let mut states: [SectionState<F4>; P] = std::array::from_fn(|p| pairs[p].state);
    let mut followers: [LaneFollowers<F4>; P] = std::array::from_fn(|p| pairs[p].followers);
    let mut outs = pairs.map(|pair| {
        let BandPair {
            signal,
            control_levels,
            state,
            followers,
            ..
        } = pair;
        (&mut signal[..frames], control_levels.as_mut_slice(), state, followers)
    });
    let mut next_control = ControlRate::first_control(first_frame);
    let mut control = 0;
    for (i, &x) in input.iter().enumerate() {
        let x = F4::join(x, x);
        for p in 0..P {
            let y = states[p].tick(&coeffs[p], x);
            outs[p].0[i] = y;
            // Each band's level is its louder channel: [m_a, m_a, m_b, m_b].
            let a = y.abs();
            let level = followers[p].tick(a.max(a.swap_pairs()));
            if i == next_control {
                outs[p].1[control] = level;
            }
        }
        if i == next_control {
            control += 1;
            next_control += CONTROL_INTERVAL;
        }
    }
    for (p, out) in outs.iter_mut().enumerate() {
        *out.2 = states[p];
        *out.3 = followers[p];
    }
}
