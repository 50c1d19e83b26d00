//! True-peak limiter: the last stage, and the one the loudness loop leans on.
//!
//! Why it is built this way:
//! - Two passes with the same structure. The main pass does the limiting,
//!   reading peaks through a model of the BS.1770 meter's own interpolator
//!   (4x, 48-tap Hann-windowed sinc, as `ebur128` implements it). The safety
//!   pass, on the main pass's output, reads peaks through both that meter
//!   model and an 8x half-band reconstruction flat to 0.97 of Nyquist, so it
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

use crate::oversample::{HalfBandSpec, MAX_FACTOR, Upsampler, dot};
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

const LOOKAHEAD_RANGE_MS: (f64, f64) = (1.0, 5.0);
const CEILING_RANGE_DBTP: (f64, f64) = (-30.0, 0.0);
const RELEASE_RANGE_MS: (f64, f64) = (1.0, 10_000.0);
const RATE_RANGE_HZ: (u32, u32) = (8_000, 384_000);

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
    pos: usize,
    sum: f64,
    below_unity: usize,
}

impl MovingAverage {
    fn new(len: usize) -> Self {
        let len = len.max(1);
        Self {
            ring: vec![1.0; len],
            pos: 0,
            sum: len as f64,
            below_unity: 0,
        }
    }

    fn clear(&mut self) {
        self.ring.fill(1.0);
        self.pos = 0;
        self.sum = self.ring.len() as f64;
        self.below_unity = 0;
    }

    #[inline]
    fn push(&mut self, value: f64) -> f64 {
        let old = self.ring[self.pos];
        self.ring[self.pos] = value;
        self.pos += 1;
        if self.pos == self.ring.len() {
            self.pos = 0;
        }
        if old < 1.0 {
            self.below_unity -= 1;
        }
        if value < 1.0 {
            self.below_unity += 1;
        }
        if self.below_unity == 0 {
            self.sum = self.ring.len() as f64;
            1.0
        } else {
            self.sum += value - old;
            (self.sum / self.ring.len() as f64).min(1.0)
        }
    }
}

/// A delay line of whole frames.
#[derive(Debug, Clone)]
struct Delay {
    ring: Vec<f32>,
    pos: usize,
}

impl Delay {
    fn new(len: usize) -> Self {
        Self {
            ring: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    fn clear(&mut self) {
        self.ring.fill(0.0);
        self.pos = 0;
    }

    #[inline]
    fn push(&mut self, x: f32) -> f32 {
        let out = self.ring[self.pos];
        self.ring[self.pos] = x;
        self.pos += 1;
        if self.pos == self.ring.len() {
            self.pos = 0;
        }
        out
    }
}

/// The BS.1770 true-peak meter's interpolator as `ebur128` builds it: a
/// 48-tap Hann-windowed sinc, 4x below 96 kHz, 2x below 192 kHz, none above.
#[derive(Debug, Clone)]
struct MeterModel {
    /// `phases[p][i]` weights the input `i` frames old for output phase `p`.
    phases: Vec<Vec<f32>>,
    history: Vec<f32>,
    pos: usize,
    latency: usize,
}

impl MeterModel {
    fn new(sample_rate: u32) -> Self {
        let factor = if sample_rate < 96_000 {
            4
        } else if sample_rate < 192_000 {
            2
        } else {
            1
        };
        let active = METER_MODEL_TAPS / factor;
        let half = METER_MODEL_TAPS as f64 / 2.0;
        let mut phases = vec![vec![0.0f32; active]; factor];
        if factor == 1 {
            phases[0][0] = 1.0;
        } else {
            for (p, phase) in phases.iter_mut().enumerate() {
                for (i, tap) in phase.iter_mut().enumerate() {
                    let j = (i * factor + p) as f64;
                    let window = 0.5 * (1.0 - (2.0 * PI * j / METER_MODEL_TAPS as f64).cos());
                    let m = j - half;
                    let arg = m * PI / factor as f64;
                    let sinc = if m.abs() < 1e-9 { 1.0 } else { arg.sin() / arg };
                    *tap = (window * sinc) as f32;
                }
            }
        }
        Self {
            history: vec![0.0; 2 * active],
            phases,
            pos: 0,
            latency: if factor == 1 { 0 } else { active / 2 },
        }
    }

    fn clear(&mut self) {
        self.history.fill(0.0);
        self.pos = 0;
    }

    /// Largest magnitude the meter would read around this frame.
    #[inline]
    fn peak(&mut self, x: f32) -> f32 {
        let active = self.history.len() / 2;
        // Newest first, kept contiguous by writing every sample twice.
        self.pos = if self.pos == 0 {
            active - 1
        } else {
            self.pos - 1
        };
        self.history[self.pos] = x;
        self.history[self.pos + active] = x;
        let recent = &self.history[self.pos..self.pos + active];
        let mut peak = 0.0f32;
        for phase in &self.phases {
            peak = peak.max(dot(phase, recent).abs());
        }
        peak
    }
}

/// How a pass reads peaks, per channel.
#[derive(Debug, Clone)]
struct PeakReader {
    meter: MeterModel,
    /// The 8x reconstruction and a delay that lines the meter model's
    /// readings up with it (safety pass only).
    fine: Option<(Upsampler, Delay)>,
    latency: usize,
}

impl PeakReader {
    fn new(sample_rate: u32, fine: bool) -> Result<Self, DspError> {
        let meter = MeterModel::new(sample_rate);
        if !fine {
            let latency = meter.latency;
            return Ok(Self {
                meter,
                fine: None,
                latency,
            });
        }
        let up = Upsampler::new(DETECTOR_OVERSAMPLING, HalfBandSpec::PEAK_DETECTION).ok_or(
            DspError::InvalidSetting {
                stage: "limiter",
                reason: format!("no {DETECTOR_OVERSAMPLING}x oversampler"),
            },
        )?;
        let latency = (up.latency_frames().round() as usize).max(meter.latency);
        let align = Delay::new(latency - meter.latency);
        Ok(Self {
            meter,
            fine: Some((up, align)),
            latency,
        })
    }

    fn clear(&mut self) {
        self.meter.clear();
        if let Some((up, align)) = &mut self.fine {
            up.reset();
            align.clear();
        }
    }

    #[inline]
    fn peak(&mut self, x: f32) -> f32 {
        let meter = self.meter.peak(x);
        match &mut self.fine {
            None => meter,
            Some((up, align)) => {
                let mut buf = [0.0f32; MAX_FACTOR];
                up.process(x, &mut buf);
                let fine = buf[..DETECTOR_OVERSAMPLING]
                    .iter()
                    .fold(0.0f32, |m, v| m.max(v.abs()));
                let meter = if self.latency > self.meter.latency {
                    align.push(meter)
                } else {
                    meter
                };
                fine.max(meter)
            }
        }
    }
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
    readers: [PeakReader; 2],
    min_hold: SlidingMin,
    ramp: [MovingAverage; 2],
    delays: [Delay; 2],
    latency: usize,
    target_peak: f64,
    release: Release,
    fast_reduction: f64,
    slow_reduction: f64,
}

impl Pass {
    fn new(
        sample_rate: u32,
        lookahead_ms: f64,
        target_peak: f64,
        release: Release,
        fine: bool,
    ) -> Result<Self, DspError> {
        let readers = [
            PeakReader::new(sample_rate, fine)?,
            PeakReader::new(sample_rate, fine)?,
        ];
        let reader_delay = readers[0].latency;
        let ramp_frames = ((lookahead_ms * 1e-3 * f64::from(sample_rate)).round() as usize).max(2);
        // Two cascaded moving averages spanning `ramp_frames` in total.
        let first = ramp_frames.div_ceil(2);
        let second = ramp_frames + 1 - first;
        let hold_frames = ramp_frames + 2 * FLAT_SPAN_FRAMES;
        let latency = reader_delay + ramp_frames - 1 + FLAT_SPAN_FRAMES;
        Ok(Self {
            readers,
            min_hold: SlidingMin::new(hold_frames),
            ramp: [MovingAverage::new(first), MovingAverage::new(second)],
            delays: [Delay::new(latency), Delay::new(latency)],
            latency,
            target_peak,
            release,
            fast_reduction: 0.0,
            slow_reduction: 0.0,
        })
    }

    fn clear(&mut self) {
        for r in &mut self.readers {
            r.clear();
        }
        self.min_hold.clear();
        for r in &mut self.ramp {
            r.clear();
        }
        for d in &mut self.delays {
            d.clear();
        }
        self.fast_reduction = 0.0;
        self.slow_reduction = 0.0;
    }

    /// One frame in, one (delayed, limited) frame and its gain out.
    #[inline]
    fn process(&mut self, l: f32, r: f32) -> (f32, f32, f64) {
        let peak = f64::from(self.readers[0].peak(l).max(self.readers[1].peak(r)));
        let required = if peak > self.target_peak {
            self.target_peak / peak
        } else {
            1.0
        };
        let held = self.min_hold.push(required);

        let wanted = 1.0 - held;
        let rel = self.release;
        self.fast_reduction = wanted.max(self.fast_reduction * rel.fast);
        self.slow_reduction = if wanted > self.slow_reduction {
            wanted + (self.slow_reduction - wanted) * rel.slow_attack
        } else {
            self.slow_reduction * rel.slow
        };
        if self.fast_reduction < REDUCTION_FLOOR {
            self.fast_reduction = 0.0;
        }
        if self.slow_reduction < REDUCTION_FLOOR {
            self.slow_reduction = 0.0;
        }
        let reduction = self.fast_reduction.max(self.slow_reduction);
        let smoothed = held.min(1.0 - reduction);
        let [ramp_a, ramp_b] = &mut self.ramp;
        let gain = ramp_b.push(ramp_a.push(smoothed));

        let dl = f64::from(self.delays[0].push(l));
        let dr = f64::from(self.delays[1].push(r));
        ((dl * gain) as f32, (dr * gain) as f32, gain)
    }
}

/// Both passes, once the limiter knows its sample rate.
#[derive(Debug, Clone)]
struct Prepared {
    main: Pass,
    safety: Pass,
    /// Lines the main pass's gain up with the safety pass's for the meters.
    main_gain_delay: Delay,
    ceiling_linear: f32,
}

/// Lookahead true-peak limiter (see the module docs).
#[derive(Debug, Clone)]
pub struct Limiter {
    settings: LimiterSettings,
    prepared: Option<Prepared>,
    max_reduction_db: f64,
    sum_reduction_db: f64,
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
            max_reduction_db: 0.0,
            sum_reduction_db: 0.0,
            frames: 0,
        }
    }

    pub fn settings(&self) -> &LimiterSettings {
        &self.settings
    }

    /// Largest gain reduction since the last reset, in dB (≥ 0).
    pub fn max_gain_reduction_db(&self) -> f64 {
        self.max_reduction_db
    }

    /// Gain reduction averaged over every frame since the last reset, in dB.
    pub fn mean_gain_reduction_db(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.sum_reduction_db / self.frames as f64
        }
    }

    fn validate(&self, sample_rate: u32) -> Result<(), DspError> {
        if !(RATE_RANGE_HZ.0..=RATE_RANGE_HZ.1).contains(&sample_rate) {
            return Err(DspError::UnsupportedSampleRate {
                stage: "limiter",
                rate: sample_rate,
            });
        }
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
        if max_block == 0 {
            return Err(DspError::ZeroBlock(max_block));
        }
        self.validate(sample_rate)?;
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
        let main_gain_delay = Delay::new(safety.latency);
        self.prepared = Some(Prepared {
            main,
            safety,
            main_gain_delay,
            ceiling_linear: ceiling as f32,
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(p) = &mut self.prepared {
            p.main.clear();
            p.safety.clear();
            p.main_gain_delay.ring.fill(1.0);
            p.main_gain_delay.pos = 0;
        }
        self.max_reduction_db = 0.0;
        self.sum_reduction_db = 0.0;
        self.frames = 0;
    }

    fn latency(&self) -> usize {
        self.prepared
            .as_ref()
            .map_or(0, |p| p.main.latency + p.safety.latency)
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(p) = &mut self.prepared else {
            return;
        };
        let c = p.ceiling_linear;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let (ml, mr, main_gain) = p.main.process(*l, *r);
            let (sl, sr, safety_gain) = p.safety.process(ml, mr);
            // The clamp is a last guard on sample values; the gains already
            // keep them (and what lies between them) under the ceiling.
            *l = sl.clamp(-c, c);
            *r = sr.clamp(-c, c);
            let main_gain = f64::from(p.main_gain_delay.push(main_gain as f32));
            let gain = main_gain * safety_gain;
            if gain < 1.0 {
                let db = -20.0 * gain.log10();
                self.sum_reduction_db += db;
                self.max_reduction_db = self.max_reduction_db.max(db);
            }
            self.frames += 1;
        }
    }
}
