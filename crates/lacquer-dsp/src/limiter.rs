//! True-peak limiter: the last stage, and the one the loudness loop leans on.
//!
//! Why it is built this way:
//! - Two passes with the same structure. The main pass does the limiting,
//!   reading peaks through a model of the BS.1770 meter's own interpolator
//!   (4x, 48-tap Hann-windowed sinc, as `ebur128` implements it). The safety
//!   pass, on the main pass's output, reads peaks through both that meter
//!   model and an 8x half-band reconstruction flat to 0.98 of Nyquist, so it
//!   catches what a 4x reading misses and what the main pass's own moving gain
//!   left over. The safety pass only ever sees small overs, so its gain
//!   barely moves and the constant-gain argument below holds almost exactly.
//!   Why both readings: the meter's short filter leaks images and reads *high*
//!   on bright material, while a 4x grid reads *low* on it; the output has to
//!   satisfy the meter and the physics.
//! - The gain is applied at the base rate, so the limiter adds no filtering
//!   of its own to the audio: on material under the ceiling the output is the
//!   input, delayed.
//! - Applying a gain g to samples only scales the reconstructed waveform by g
//!   where g is constant over the interpolation kernel. So the required gain
//!   of each peak is held (sliding minimum) over the lookahead ramp *plus*
//!   [`FLAT_SPAN_FRAMES`] frames on either side of the peak, and the gain is
//!   only allowed to move (two cascaded moving averages: an S-shaped ramp with
//!   no corner, so no click) outside that span. Reconstruction kernels decay
//!   fast, so what is left is a tiny error where neighbouring peaks ask for
//!   different gains; [`TRUE_PEAK_MARGIN_DB`] covers it (see the torture
//!   tests in `tests/limiter.rs`, which measure the output with `ebur128` and
//!   with an independent 8x reconstruction).
//! - Release is program dependent: a fast envelope recovers quickly after a
//!   lone transient, a slow one charges only under sustained reduction and
//!   then releases slowly, so steady dense material does not pump.

mod model;

pub use model::{LimiterModel, PeakReader};

use crate::oversample::{
    HalfBandSpec, fir_block, interpolate_2x_block, interpolator_taps, symmetric_fir_block,
};
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::LimiterSettings;
use std::f64::consts::PI;

/// Internal headroom under the ceiling, in dB, that covers what the
/// constant-gain argument above leaves open (gain moving inside a
/// reconstruction kernel between close peaks) and the disagreement between
/// reconstructions on energy right at Nyquist, which no finite filter reads
/// the same way: on white noise limited by 17 dB an independent long-kernel
/// 8x reconstruction read up to 0.06 dB above the detector's target (the
/// torture tests print these figures).
pub const TRUE_PEAK_MARGIN_DB: f64 = 0.2;
/// Frames on either side of a detected peak over which the gain is held flat
/// (the significant part of a reconstruction kernel: BS.1770's 4x
/// interpolator spans about ±6 frames), plus one frame for the fractional
/// delay of the detector.
pub const FLAT_SPAN_FRAMES: usize = 9;
/// Oversampling factor of the safety pass's reconstruction.
pub const DETECTOR_OVERSAMPLING: usize = 8;
/// Lookahead of the safety pass: it only corrects small overs, so a short
/// ramp is still gentle.
const SAFETY_LOOKAHEAD_MS: f64 = 1.0;
/// Length of the BS.1770 meter model's interpolation filter (all phases).
const METER_MODEL_TAPS: usize = 48;
/// The slow (sustained) envelope charges this many times slower than the
/// fast release, so only sustained reduction reaches it.
const SLOW_ATTACK_FACTOR: f64 = 2.0;
/// Reductions below this (linear) are treated as none, so the gain returns
/// to exactly unity and no subnormal numbers build up.
const REDUCTION_FLOOR: f64 = 1e-12;
/// Frames of a release tail between floorings of the envelopes' state
/// (see [`Pass::compute_gains`]).
const TAIL_GROUP: usize = 8;
/// The running product of gains for the mean-reduction meter is folded into
/// a logarithm before it gets this small (far from f64 underflow).
const GAIN_PRODUCT_FLOOR: f64 = 1e-200;

const LOOKAHEAD_RANGE_MS: (f64, f64) = (1.0, 5.0);
const CEILING_RANGE_DBTP: (f64, f64) = (-30.0, 0.0);
const RELEASE_RANGE_MS: (f64, f64) = (1.0, 10_000.0);

/// Minimum of the last `window` values, O(1) amortised, allocation-free
/// after construction (monotonic queue in a ring).
#[derive(Debug, Clone)]
struct SlidingMin {
    values: Vec<f64>,
    stamps: Vec<u64>,
    head: usize,
    len: usize,
    window: u64,
    now: u64,
}

impl SlidingMin {
    fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            values: vec![0.0; window + 1],
            stamps: vec![0; window + 1],
            head: 0,
            len: 0,
            window: window as u64,
            now: 0,
        }
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.now = 0;
    }

    /// Every value in the window is 1 (values never exceed 1).
    fn all_unity(&self) -> bool {
        self.len == 0 || self.values[self.head] == 1.0
    }

    /// The state after `count` pushes of 1 onto an all-unity window.
    fn skip_unity(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        self.now += count as u64;
        self.head = 0;
        self.len = 1;
        self.values[0] = 1.0;
        self.stamps[0] = self.now - 1;
    }

    #[inline]
    fn push(&mut self, value: f64) -> f64 {
        let cap = self.values.len();
        let wrap = |i: usize| if i >= cap { i - cap } else { i };
        while self.len > 0 {
            let back = wrap(self.head + self.len - 1);
            if self.values[back] >= value {
                self.len -= 1;
            } else {
                break;
            }
        }
        let slot = wrap(self.head + self.len);
        self.values[slot] = value;
        self.stamps[slot] = self.now;
        self.len += 1;
        while self.stamps[self.head] + self.window <= self.now {
            self.head = wrap(self.head + 1);
            self.len -= 1;
        }
        self.now += 1;
        self.values[self.head]
    }
}

/// Moving average of gains over a fixed length; returns exactly 1 whenever
/// every value in the window is 1 (no drift from the running sum).
#[derive(Debug, Clone)]
struct MovingAverage {
    ring: Vec<f64>,
    state: AverageState,
}

/// The scalar state of a [`MovingAverage`], kept apart from its ring so a
/// loop can hold it in registers (as a copy) instead of going through
/// memory every frame.
#[derive(Debug, Clone, Copy)]
struct AverageState {
    pos: usize,
    sum: f64,
    inv_len: f64,
    len: usize,
    /// Pushes since the last value under 1 (the ring is all unity once
    /// this reaches its length): one compare per push instead of counting
    /// the values under 1 in and out.
    unity_run: usize,
}

impl MovingAverage {
    fn new(len: usize) -> Self {
        let len = len.max(1);
        Self {
            ring: vec![1.0; len],
            state: AverageState {
                pos: 0,
                sum: len as f64,
                inv_len: 1.0 / len as f64,
                len,
                unity_run: len,
            },
        }
    }

    fn clear(&mut self) {
        self.ring.fill(1.0);
        self.state.pos = 0;
        self.state.sum = self.ring.len() as f64;
        self.state.unity_run = self.state.len;
    }
}

impl AverageState {
    /// Every value in the ring is 1 (values never exceed 1).
    fn all_unity(&self) -> bool {
        self.unity_run >= self.len
    }

    /// The state after `count` pushes of 1 onto an all-unity ring of `len`.
    fn skip_unity(&mut self, len: usize, count: usize) {
        self.pos = (self.pos + count) % len;
        self.sum = len as f64;
        self.unity_run = self.unity_run.saturating_add(count);
    }

    /// Pushes `value` into `ring` (the average's own) and returns the mean.
    #[inline(always)]
    fn push(&mut self, ring: &mut [f64], value: f64) -> f64 {
        let Some(slot) = ring.get_mut(self.pos) else {
            return 1.0;
        };
        let old = std::mem::replace(slot, value);
        self.pos += 1;
        if self.pos == ring.len() {
            self.pos = 0;
        }
        self.unity_run = if value < 1.0 { 0 } else { self.unity_run + 1 };
        if self.unity_run >= self.len {
            self.sum = ring.len() as f64;
            1.0
        } else {
            self.sum += value - old;
            // `min(1.0)` as one compare (the sum is never NaN).
            let mean = self.sum * self.inv_len;
            if mean < 1.0 { mean } else { 1.0 }
        }
    }
}

/// Frames processed together: detectors, gain computer and gain multiply
/// each run over a whole chunk (the caller's blocks are cut into chunks, and
/// every output is a function of the signal alone, so the cut never shows).
const CHUNK_FRAMES: usize = 512;
/// Frames per detector skip decision (see [`Detector::bound`]).
const SKIP_FRAMES: usize = 64;
const _: () = assert!(CHUNK_FRAMES.is_multiple_of(SKIP_FRAMES));
/// Relative slack on the detectors' worst-case gains that covers f32
/// rounding in their sums (at most ~1e-5 for the longest, 160-term sum).
const BOUND_ROUNDING: f64 = 1e-4;

/// The BS.1770 true-peak meter's interpolator as `ebur128` builds it: a
/// 48-tap Hann-windowed sinc, 4x below 96 kHz, 2x below 192 kHz, none above.
/// `phases[p][k]` weights the input `active - 1 - k` frames old (oldest
/// first, as [`fir_block`] reads them).
fn meter_model_phases(sample_rate: u32) -> Vec<Vec<f32>> {
    let factor = if sample_rate < 96_000 {
        4
    } else if sample_rate < 192_000 {
        2
    } else {
        1
    };
    if factor == 1 {
        return vec![vec![1.0]];
    }
    let active = METER_MODEL_TAPS / factor;
    let half = METER_MODEL_TAPS as f64 / 2.0;
    let mut phases = vec![vec![0.0f32; active]; factor];
    for (p, phase) in phases.iter_mut().enumerate() {
        for (i, tap) in phase.iter_mut().rev().enumerate() {
            let j = (i * factor + p) as f64;
            let window = 0.5 * (1.0 - (2.0 * PI * j / METER_MODEL_TAPS as f64).cos());
            let m = j - half;
            let arg = m * PI / factor as f64;
            let sinc = if m.abs() < 1e-9 { 1.0 } else { arg.sin() / arg };
            *tap = (window * sinc) as f32;
        }
    }
    phases
}

/// Largest sum of |taps| over a filter's phases: no output of the filter
/// can exceed this times the largest input magnitude it reads.
fn worst_case_gain<'a>(phases: impl IntoIterator<Item = &'a [f32]>) -> f64 {
    phases
        .into_iter()
        .map(|p| p.iter().map(|&t| f64::from(t.abs())).sum::<f64>())
        .fold(0.0, f64::max)
}

/// [`worst_case_gain`] of a cascade of 2x interpolators (branch taps with
/// the gain of 2 folded in), taken over its combined base-rate phases
/// (a product of the stages' own gains would be several times looser),
/// plus what f32 rounding in the stages could add.
fn cascade_worst_case_gain(stages: &[Vec<f32>]) -> f64 {
    let factor = 1usize << stages.len();
    let mut combined = vec![1.0f64];
    let mut rounding = 0.0;
    for (i, branch) in stages.iter().enumerate() {
        // The stage as a filter at its output rate: centre tap 1, the
        // branch on the odd offsets, zeros between.
        let mut full = vec![0.0f64; 2 * branch.len() + 1];
        full[branch.len()] = 1.0;
        for (k, &t) in branch.iter().enumerate() {
            full[2 * k + 1] = f64::from(t);
        }
        // Stretched to the top rate.
        let stretch = factor >> (i + 1);
        let mut next = vec![0.0f64; combined.len() + (full.len() - 1) * stretch];
        for (a, &c) in combined.iter().enumerate() {
            for (b, &f) in full.iter().enumerate() {
                next[a + b * stretch] += c * f;
            }
        }
        combined = next;
        let stage_gain = worst_case_gain([branch.as_slice()]).max(1.0);
        // f32 rounding of this stage's sums, carried through later stages.
        rounding = (rounding + (branch.len() + 2) as f64 * f64::from(f32::EPSILON)) * stage_gain;
    }
    let exact = (0..factor)
        .map(|p| {
            combined
                .iter()
                .skip(p)
                .step_by(factor)
                .map(|c| c.abs())
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    (exact + 2.0 * rounding) * (1.0 + BOUND_ROUNDING)
}

/// How a pass reads peaks: a pure function of the input history, so blocks
/// and skipped stretches cannot change a reading.
#[derive(Debug, Clone)]
struct Detector {
    /// The meter model, by phase.
    meter: Vec<Vec<f32>>,
    /// The 8x reconstruction's 2x stages (safety pass only).
    fine: Vec<Vec<f32>>,
    /// How many frames the meter reading is delayed to line up with the
    /// fine reading.
    meter_align: usize,
    /// Frames of input, before a frame, that a reading of it depends on.
    span: usize,
    /// Frames before the first frame of a run the fine cascade starts at.
    fine_lead: usize,
    /// Offset of the first wanted sample in the cascade's 8x output.
    fine_skip: usize,
    /// Readings never exceed this times the largest |input| in the span.
    bound_gain: f64,
    /// Delay of the reading behind the input, in frames.
    latency: usize,
}

impl Detector {
    fn new(sample_rate: u32, fine: bool) -> Result<Self, DspError> {
        let meter = meter_model_phases(sample_rate);
        let meter_latency = if meter.len() == 1 {
            0
        } else {
            meter[0].len() / 2
        };
        let meter_gain = worst_case_gain(meter.iter().map(Vec::as_slice));
        if !fine {
            let span = meter[0].len() - 1;
            return Ok(Self {
                meter,
                fine: Vec::new(),
                meter_align: 0,
                span,
                fine_lead: 0,
                fine_skip: 0,
                bound_gain: meter_gain * (1.0 + BOUND_ROUNDING),
                latency: meter_latency,
            });
        }
        let stages = interpolator_taps(DETECTOR_OVERSAMPLING, HalfBandSpec::PEAK_DETECTION)
            .filter(|s| s.len() == 3)
            .ok_or(DspError::InvalidSetting {
                stage: "limiter",
                reason: format!("no {DETECTOR_OVERSAMPLING}x oversampler"),
            })?;
        // Delay of the cascade in base frames (the same figure the
        // per-sample interpolator reports), rounded.
        let fine_latency = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.len() / 2) as f64 / (1usize << i) as f64)
            .sum::<f64>()
            .round() as usize;
        let latency = fine_latency.max(meter_latency);
        // The cascade's first 8x output lies `first` 8x samples after its
        // first input; start early enough to cover the run's first frame.
        let first: usize = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.len() - 1) << (3 - i))
            .sum();
        let fine_lead = first.div_ceil(8);
        let fine_skip = 8 * fine_lead - first;
        // Branches have even lengths, so `first` is even and the wanted
        // samples start on a pair of the last stage (see `read`).
        debug_assert!(fine_skip.is_multiple_of(2));
        let meter_align = latency - meter_latency;
        let span = fine_lead.max(meter_align + meter[0].len() - 1);
        let fine_gain = cascade_worst_case_gain(&stages);
        Ok(Self {
            meter,
            fine: stages,
            meter_align,
            span,
            fine_lead,
            fine_skip,
            bound_gain: fine_gain.max(meter_gain * (1.0 + BOUND_ROUNDING)),
            latency,
        })
    }

    /// Scratch the readings of `frames` frames need: (meter, cascade).
    fn scratch_len(&self, frames: usize) -> usize {
        let mut len = frames + self.fine_lead;
        for s in &self.fine {
            len = 2 * (len + 1 - s.len().min(len + 1));
        }
        len.max(frames)
    }

    /// Peak readings for `out.len()` frames; `x` holds the frames with
    /// [`Self::span`] frames of history before them. `a`, `b` are scratch.
    #[inline(always)]
    fn read(&self, x: &[f32], out: &mut [f32], a: &mut [f32], b: &mut [f32], odd: &mut [f32]) {
        let n = out.len();
        out.fill(0.0);
        let taps = self.meter[0].len();
        // Meter reading of frame t, delayed by `meter_align`.
        let start = self.span - self.meter_align + 1 - taps;
        let src = &x[start..start + n + taps - 1];
        for phase in &self.meter {
            fir_block(phase, src, &mut a[..n]);
            for (o, v) in out.iter_mut().zip(&a[..n]) {
                *o = o.max(v.abs());
            }
        }
        if self.fine.is_empty() {
            return;
        }
        let src = &x[self.span - self.fine_lead..self.span + n];
        let mut len = interpolate_2x_block(&self.fine[0], src, odd, a);
        len = interpolate_2x_block(&self.fine[1], &a[..len], odd, b);
        // The last stage is not interleaved: its even outputs are its input
        // (delayed), so each pair's larger magnitude is taken straight from
        // the input and the odd outputs, and a frame's reading is the
        // largest of its four pairs (the same maximum over the same eight
        // values as reading the interleaved 8x stream).
        let last = &self.fine[2];
        let taps = last.len();
        let pairs = (len + 1).saturating_sub(taps);
        symmetric_fir_block(last, &b[..len], &mut odd[..pairs]);
        let even = &b[taps - 1 - taps / 2..];
        for ((v, &e), &o) in a[..pairs].iter_mut().zip(even).zip(&odd[..pairs]) {
            *v = e.abs().max(o.abs());
        }
        let up = &a[self.fine_skip / 2..pairs];
        for (o, frame) in out
            .iter_mut()
            .zip(up.chunks_exact(DETECTOR_OVERSAMPLING / 2))
        {
            *o = frame.iter().fold(*o, |m, &v| m.max(v));
        }
    }
}

/// How many values at the front of `values` are exactly 1: a whole vector
/// of them is checked per step (runs of unity gain are long on most
/// material), then the first vector that breaks the run one by one.
#[inline(always)]
fn unity_run(values: &[f64]) -> usize {
    let mut run = 0;
    for chunk in values.chunks_exact(8) {
        let all_unity = chunk.iter().fold(true, |all, &v| all & (v == 1.0));
        if !all_unity {
            break;
        }
        run += chunk.len();
    }
    run + values[run..].iter().take_while(|&&v| v == 1.0).count()
}

/// Largest |x|, with eight independent lanes so the loop vectorises (the
/// maximum does not depend on the order it is taken in).
#[inline(always)]
fn abs_max(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks
        .remainder()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v.abs());
        }
    }
    lanes.iter().fold(rest, |m, &v| m.max(v))
}

/// Release coefficients (one-pole, per frame).
#[derive(Debug, Clone, Copy)]
struct Release {
    fast: f64,
    slow_attack: f64,
    slow: f64,
}

/// One lookahead gain computer + delay (see the module docs).
#[derive(Debug, Clone)]
struct Pass {
    detector: Detector,
    min_hold: SlidingMin,
    ramp: [MovingAverage; 2],
    latency: usize,
    target_peak: f64,
    release: Release,
    fast_reduction: f64,
    slow_reduction: f64,
    /// Per channel: `history` frames of past input, then the chunk.
    input: [Vec<f32>; 2],
    history: usize,
    peaks: [Vec<f32>; 2],
    required: Vec<f64>,
    gains: Vec<f64>,
    scratch: [Vec<f32>; 3],
}

impl Pass {
    fn new(
        sample_rate: u32,
        lookahead_ms: f64,
        target_peak: f64,
        release: Release,
        fine: bool,
    ) -> Result<Self, DspError> {
        let detector = Detector::new(sample_rate, fine)?;
        let reader_delay = detector.latency;
        let ramp_frames = ((lookahead_ms * 1e-3 * f64::from(sample_rate)).round() as usize).max(2);
        // Two cascaded moving averages spanning `ramp_frames` in total.
        let first = ramp_frames.div_ceil(2);
        let second = ramp_frames + 1 - first;
        let hold_frames = ramp_frames + 2 * FLAT_SPAN_FRAMES;
        let latency = reader_delay + ramp_frames - 1 + FLAT_SPAN_FRAMES;
        let history = latency.max(detector.span);
        let scratch = detector.scratch_len(CHUNK_FRAMES);
        Ok(Self {
            min_hold: SlidingMin::new(hold_frames),
            ramp: [MovingAverage::new(first), MovingAverage::new(second)],
            latency,
            target_peak,
            release,
            fast_reduction: 0.0,
            slow_reduction: 0.0,
            input: [
                vec![0.0; history + CHUNK_FRAMES],
                vec![0.0; history + CHUNK_FRAMES],
            ],
            history,
            peaks: [vec![0.0; CHUNK_FRAMES], vec![0.0; CHUNK_FRAMES]],
            required: vec![1.0; CHUNK_FRAMES],
            gains: vec![1.0; CHUNK_FRAMES],
            scratch: [vec![0.0; scratch], vec![0.0; scratch], vec![0.0; scratch]],
            detector,
        })
    }

    fn clear(&mut self) {
        self.min_hold.clear();
        for r in &mut self.ramp {
            r.clear();
        }
        for i in &mut self.input {
            i.fill(0.0);
        }
        self.fast_reduction = 0.0;
        self.slow_reduction = 0.0;
    }

    /// Fills `required` with the gain each of the first `n` chunk frames
    /// needs. Stretches whose input is too quiet for any reading to pass the
    /// target skip the detector: its readings there are provably at most
    /// `bound_gain` times the largest input, so the answer (unity) is the
    /// one the detector would give. Consecutive stretches that need the
    /// detector are read in one go: a reading does not depend on how the
    /// frames were grouped, and a longer run shares the FIR tiles and the
    /// cascade's lead (on dense limited material most stretches need it).
    #[inline(always)]
    fn detect(&mut self, n: usize) {
        let d = &self.detector;
        let base = self.history - d.span;
        let mut loud = [false; CHUNK_FRAMES / SKIP_FRAMES];
        for (k, flag) in loud.iter_mut().enumerate() {
            let start = k * SKIP_FRAMES;
            if start >= n {
                break;
            }
            let len = SKIP_FRAMES.min(n - start);
            let (lo, hi) = (base + start, self.history + start + len);
            let loudest = self
                .input
                .iter()
                .fold(0.0f32, |m, ch| m.max(abs_max(&ch[lo..hi])));
            *flag = f64::from(loudest) * d.bound_gain > self.target_peak;
        }
        let [s0, s1, s2] = &mut self.scratch;
        let mut k = 0;
        while k * SKIP_FRAMES < n {
            let start = k * SKIP_FRAMES;
            let run = loud[k..].iter().take_while(|&&l| l == loud[k]).count();
            let end = ((k + run) * SKIP_FRAMES).min(n);
            let required = &mut self.required[start..end];
            if !loud[k] {
                required.fill(1.0);
            } else {
                let len = end - start;
                let (lo, hi) = (base + start, self.history + end);
                for (ch, peaks) in self.input.iter().zip(&mut self.peaks) {
                    d.read(&ch[lo..hi], &mut peaks[..len], s0, s1, s2);
                }
                let [pl, pr] = &self.peaks;
                for ((r, &l), &rr) in required.iter_mut().zip(&pl[..len]).zip(&pr[..len]) {
                    let peak = f64::from(l.max(rr));
                    *r = if peak > self.target_peak {
                        self.target_peak / peak
                    } else {
                        1.0
                    };
                }
            }
            k += run;
        }
    }

    /// Gains for the first `n` chunk frames from `required`, in stages
    /// that each keep their own state (so each loop stays short): hold,
    /// release envelopes, then the two moving averages. Every stage passes
    /// unity through untouched while its state is all unity.
    #[inline(always)]
    fn compute_gains(&mut self, n: usize) {
        let gains = &mut self.gains[..n];
        let mut j = 0;
        while j < n {
            if self.min_hold.all_unity() && self.required[j] == 1.0 {
                let run = unity_run(&self.required[j..n]);
                self.min_hold.skip_unity(run);
                gains[j..j + run].fill(1.0);
                j += run;
            } else {
                gains[j] = self.min_hold.push(self.required[j]);
                j += 1;
            }
        }
        // Envelopes and ramps in one loop, so their dependency chains
        // overlap from frame to frame; their state lives in locals
        // (registers) for the loop, not in `self`.
        let rel = self.release;
        let [ramp_a, ramp_b] = &mut self.ramp;
        let (mut fast, mut slow) = (self.fast_reduction, self.slow_reduction);
        let (mut state_a, mut state_b) = (ramp_a.state, ramp_b.state);
        let (ring_a, ring_b) = (ramp_a.ring.as_mut_slice(), ramp_b.ring.as_mut_slice());
        let mut j = 0;
        while j < n {
            let held = gains[j];
            if held == 1.0
                && fast == 0.0
                && slow == 0.0
                && state_a.all_unity()
                && state_b.all_unity()
            {
                let run = unity_run(&gains[j..]);
                state_a.skip_unity(ring_a.len(), run);
                state_b.skip_unity(ring_b.len(), run);
                j += run;
                continue;
            }
            if held == 1.0 {
                // A release tail: no peak asks for reduction, so each
                // envelope only decays (the general step below with
                // `wanted == 0`: `decay > 0` unless it is 0 itself, and
                // `0 > slow` never holds) and the target is `allowed`
                // (never above 1). The same arithmetic without the
                // comparisons against `held`, so the decays' short
                // feedback paths set the pace. On dense material the
                // envelopes are in such a tail most of the time.
                //
                // Only the multiplies stay on the feedback paths: a decay
                // that has passed under the floor stays under it, so
                // flooring each frame's copy and the state itself only
                // every few frames gives the very same values.
                let run = unity_run(&gains[j..]);
                for group in gains[j..j + run].chunks_mut(TAIL_GROUP) {
                    for g in group {
                        fast *= rel.fast;
                        slow *= rel.slow;
                        let f = if fast < REDUCTION_FLOOR { 0.0 } else { fast };
                        let s = if slow < REDUCTION_FLOOR { 0.0 } else { slow };
                        let reduction = if s > f { s } else { f };
                        let smoothed = state_a.push(ring_a, 1.0 - reduction);
                        *g = state_b.push(ring_b, smoothed);
                    }
                    if fast < REDUCTION_FLOOR {
                        fast = 0.0;
                    }
                    if slow < REDUCTION_FLOOR {
                        slow = 0.0;
                    }
                }
                j += run;
                continue;
            }
            let wanted = 1.0 - held;
            // `wanted.max(decay)` (neither is ever NaN) as one compare.
            let decay = fast * rel.fast;
            fast = if decay > wanted { decay } else { wanted };
            if fast < REDUCTION_FLOOR {
                fast = 0.0;
            }
            // A branch, not a select: `held` is a sliding minimum, so the
            // comparison keeps its answer for long stretches and predicts
            // well, and each arm's feedback path alone is shorter than the
            // select's (which waits for both).
            if wanted > slow {
                slow = wanted + (slow - wanted) * rel.slow_attack;
                if slow < REDUCTION_FLOOR {
                    slow = 0.0;
                }
            } else {
                slow *= rel.slow;
                if slow < REDUCTION_FLOOR {
                    slow = 0.0;
                }
            }
            // `fast.max(slow)` and `held.min(1 - reduction)` as single
            // compares (no operand is ever NaN).
            let reduction = if slow > fast { slow } else { fast };
            let allowed = 1.0 - reduction;
            let target = if allowed < held { allowed } else { held };
            let smoothed = state_a.push(ring_a, target);
            gains[j] = state_b.push(ring_b, smoothed);
            j += 1;
        }
        (self.fast_reduction, self.slow_reduction) = (fast, slow);
        (ramp_a.state, ramp_b.state) = (state_a, state_b);
    }

    /// Limits up to [`CHUNK_FRAMES`] frames in place (delayed by the
    /// latency); the gains applied are left in `self.gains[..n]`.
    #[inline(always)]
    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len();
        let h = self.history;
        self.input[0][h..h + n].copy_from_slice(left);
        self.input[1][h..h + n].copy_from_slice(&right[..n]);
        self.detect(n);
        self.compute_gains(n);
        let delayed = h - self.latency;
        for (out, input) in [left, right].into_iter().zip(&mut self.input) {
            for ((o, &x), &g) in out
                .iter_mut()
                .zip(&input[delayed..delayed + n])
                .zip(&self.gains[..n])
            {
                *o = (f64::from(x) * g) as f32;
            }
            input.copy_within(n..n + h, 0);
        }
    }
}

/// Both passes, once the limiter knows its sample rate.
#[derive(Debug, Clone)]
struct Prepared {
    main: Pass,
    safety: Pass,
    /// The main pass's gains, `safety.latency` frames of them before the
    /// chunk's: lines them up with the safety pass's for the meters.
    main_gains: Vec<f32>,
    ceiling_linear: f32,
}

/// Lookahead true-peak limiter (see the module docs).
#[derive(Debug, Clone)]
pub struct Limiter {
    settings: LimiterSettings,
    prepared: Option<Prepared>,
    /// Smallest total gain applied since the last reset.
    min_gain: f64,
    /// Product of every total gain under unity, as `exp(log_sum) * product`
    /// (folded into `log_sum` before it can underflow): the mean reduction
    /// in dB without a logarithm per frame.
    gain_product: f64,
    log_gain_sum: f64,
    frames: u64,
}

fn one_pole(time_ms: f64, sample_rate: u32) -> f64 {
    (-1.0 / (time_ms * 1e-3 * f64::from(sample_rate))).exp()
}

fn check_range(name: &str, value: f64, (lo, hi): (f64, f64), unit: &str) -> Result<(), DspError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(DspError::InvalidSetting {
            stage: "limiter",
            reason: format!("{name} = {value} {unit} is outside {lo}..={hi} {unit}"),
        })
    }
}

impl Limiter {
    pub fn new(settings: &LimiterSettings) -> Self {
        Self {
            settings: settings.clone(),
            prepared: None,
            min_gain: 1.0,
            gain_product: 1.0,
            log_gain_sum: 0.0,
            frames: 0,
        }
    }

    pub fn settings(&self) -> &LimiterSettings {
        &self.settings
    }

    /// Largest gain reduction since the last reset, in dB (≥ 0).
    pub fn max_gain_reduction_db(&self) -> f64 {
        if self.min_gain < 1.0 {
            -20.0 * self.min_gain.log10()
        } else {
            0.0
        }
    }

    /// Gain reduction averaged over every frame since the last reset, in dB.
    pub fn mean_gain_reduction_db(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            let ln_sum = self.log_gain_sum + self.gain_product.ln();
            -20.0 * std::f64::consts::LOG10_E * ln_sum / self.frames as f64
        }
    }

    fn validate(&self) -> Result<(), DspError> {
        let s = &self.settings;
        check_range("ceiling_dbtp", s.ceiling_dbtp, CEILING_RANGE_DBTP, "dBTP")?;
        check_range("lookahead_ms", s.lookahead_ms, LOOKAHEAD_RANGE_MS, "ms")?;
        check_range("release_ms", s.release_ms, RELEASE_RANGE_MS, "ms")?;
        check_range(
            "sustained_release_ms",
            s.sustained_release_ms,
            RELEASE_RANGE_MS,
            "ms",
        )?;
        Ok(())
    }
}

impl Processor for Limiter {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate("limiter", sample_rate, max_block)?;
        self.validate()?;
        let s = &self.settings;
        let ceiling = 10f64.powf(s.ceiling_dbtp / 20.0);
        let target_peak = ceiling * 10f64.powf(-TRUE_PEAK_MARGIN_DB / 20.0);
        let release = Release {
            fast: one_pole(s.release_ms, sample_rate),
            slow_attack: one_pole(s.release_ms * SLOW_ATTACK_FACTOR, sample_rate),
            slow: one_pole(s.sustained_release_ms, sample_rate),
        };
        let main = Pass::new(sample_rate, s.lookahead_ms, target_peak, release, false)?;
        let safety = Pass::new(sample_rate, SAFETY_LOOKAHEAD_MS, target_peak, release, true)?;
        let main_gains = vec![1.0; safety.latency + CHUNK_FRAMES];
        self.prepared = Some(Prepared {
            main,
            safety,
            main_gains,
            ceiling_linear: ceiling as f32,
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(p) = &mut self.prepared {
            p.main.clear();
            p.safety.clear();
            p.main_gains.fill(1.0);
        }
        self.min_gain = 1.0;
        self.gain_product = 1.0;
        self.log_gain_sum = 0.0;
        self.frames = 0;
    }

    fn latency(&self) -> usize {
        self.prepared
            .as_ref()
            .map_or(0, |p| p.main.latency + p.safety.latency)
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_chunks,
            (self, left, right)
        );
    }
}

impl Limiter {
    /// [`Self::process_chunks`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_chunks(left, right);
    }

    #[inline(always)]
    fn process_chunks(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(p) = &mut self.prepared else {
            return;
        };
        let c = p.ceiling_linear;
        let frames = left.len().min(right.len());
        let gain_history = p.safety.latency;
        for (l, r) in left[..frames]
            .chunks_mut(CHUNK_FRAMES)
            .zip(right[..frames].chunks_mut(CHUNK_FRAMES))
        {
            let n = l.len();
            p.main.process_chunk(l, r);
            for (g, &m) in p.main_gains[gain_history..gain_history + n]
                .iter_mut()
                .zip(&p.main.gains[..n])
            {
                *g = m as f32;
            }
            p.safety.process_chunk(l, r);
            // The clamp is a last guard on sample values; the gains already
            // keep them (and what lies between them) under the ceiling.
            // One loop per channel: a chained iterator does not vectorise.
            for channel in [&mut *l, &mut *r] {
                for v in channel.iter_mut() {
                    *v = v.clamp(-c, c);
                }
            }
            for (&main, &safety) in p.main_gains[..n].iter().zip(&p.safety.gains[..n]) {
                let gain = f64::from(main) * safety;
                if gain < 1.0 {
                    self.min_gain = self.min_gain.min(gain);
                    self.gain_product *= gain;
                    if self.gain_product < GAIN_PRODUCT_FLOOR {
                        self.log_gain_sum += self.gain_product.ln();
                        self.gain_product = 1.0;
                    }
                }
            }
            p.main_gains.copy_within(n..n + gain_history, 0);
            self.frames += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oversample::{MAX_FACTOR, Upsampler};

    /// f32 sums in a different order agree to well under this.
    const READING_TOL: f32 = 1e-5;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The block detector against a per-sample model: the meter model
    /// evaluated directly from its definition, and the 8x cascade run one
    /// sample at a time; and no reading above the skip bound.
    #[test]
    fn block_readings_match_per_sample_reconstructions() {
        for rate in [44_100, 96_000, 192_000] {
            let d = Detector::new(rate, true).unwrap();
            println!(
                "{rate} Hz: cascade branches {:?}, span {}, bound gain {:.4}",
                d.fine.iter().map(Vec::len).collect::<Vec<_>>(),
                d.span,
                d.bound_gain
            );
            let n = 300;
            let x = noise(d.span + n, 7);
            let mut out = vec![0.0f32; n];
            let len = d.scratch_len(n);
            let (mut a, mut b, mut c) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
            d.read(&x, &mut out, &mut a, &mut b, &mut c);

            let mut up =
                Upsampler::new(DETECTOR_OVERSAMPLING, HalfBandSpec::PEAK_DETECTION).unwrap();
            let mut fine = Vec::new();
            for &v in &x {
                let mut buf = [0.0f32; MAX_FACTOR];
                up.process(v, &mut buf);
                fine.push(
                    buf[..DETECTOR_OVERSAMPLING]
                        .iter()
                        .fold(0.0f32, |m, s| m.max(s.abs())),
                );
            }
            let taps = d.meter[0].len();
            for (j, &reading) in out.iter().enumerate() {
                let t = d.span + j;
                let m = t - d.meter_align;
                let meter = d
                    .meter
                    .iter()
                    .map(|p| {
                        p.iter()
                            .enumerate()
                            .map(|(k, &w)| f64::from(w) * f64::from(x[m + 1 + k - taps]))
                            .sum::<f64>()
                            .abs() as f32
                    })
                    .fold(0.0f32, f32::max);
                let want = meter.max(fine[t]);
                assert!(
                    (reading - want).abs() < READING_TOL,
                    "{rate} Hz frame {j}: {reading} vs {want}"
                );
                let loudest = x[j..=t].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(f64::from(reading) <= d.bound_gain * f64::from(loudest));
            }
        }
    }
}
