//! True-peak limiter: the last stage, and the one the loudness loop leans on.
//!
//! Why it is built this way:
//! - Peaks are read from an 8x interpolation of the input (a half-band
//!   cascade), because a meter that reads true peak (BS.1770 at 4x, or a
//!   finer check) sees overs between samples that the samples do not show.
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

use crate::oversample::{MAX_FACTOR, Upsampler};
use crate::{DspError, Processor};
use lacquer_core::chain::LimiterSettings;

/// Internal headroom under the ceiling, in dB, that covers what the
/// constant-gain argument above leaves open (gain moving inside a
/// reconstruction kernel between close peaks, and detector error).
pub const TRUE_PEAK_MARGIN_DB: f64 = 0.1;
/// Frames on either side of a detected peak over which the gain is held flat
/// (the significant part of a reconstruction kernel: BS.1770's 4x
/// interpolator spans about ±6 frames), plus one frame for the fractional
/// delay of the detector.
pub const FLAT_SPAN_FRAMES: usize = 9;
/// Oversampling factor of the peak detector.
pub const DETECTOR_OVERSAMPLING: usize = 8;
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
        while self.len > 0 {
            let back = (self.head + self.len - 1) % cap;
            if self.values[back] >= value {
                self.len -= 1;
            } else {
                break;
            }
        }
        let slot = (self.head + self.len) % cap;
        self.values[slot] = value;
        self.stamps[slot] = self.now;
        self.len += 1;
        while self.stamps[self.head] + self.window <= self.now {
            self.head = (self.head + 1) % cap;
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

/// The parts that exist only once the limiter knows its sample rate.
#[derive(Debug, Clone)]
struct Prepared {
    detectors: [Upsampler; 2],
    min_hold: SlidingMin,
    ramp: [MovingAverage; 2],
    delays: [Delay; 2],
    latency: usize,
    target_peak: f64,
    ceiling_linear: f32,
    fast_release: f64,
    slow_attack: f64,
    slow_release: f64,
}

/// Lookahead true-peak limiter (see the module docs).
#[derive(Debug, Clone)]
pub struct Limiter {
    settings: LimiterSettings,
    prepared: Option<Prepared>,
    fast_reduction: f64,
    slow_reduction: f64,
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
            fast_reduction: 0.0,
            slow_reduction: 0.0,
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
        let make_detector = || {
            Upsampler::new(DETECTOR_OVERSAMPLING).ok_or(DspError::InvalidSetting {
                stage: "limiter",
                reason: format!("no {DETECTOR_OVERSAMPLING}x oversampler"),
            })
        };
        let detectors = [make_detector()?, make_detector()?];
        let detector_delay = detectors[0].latency_frames().round() as usize;
        let ramp_frames = ((s.lookahead_ms * 1e-3 * f64::from(sample_rate)).round() as usize).max(2);
        // Two cascaded moving averages spanning `ramp_frames` in total.
        let first = ramp_frames.div_ceil(2);
        let second = ramp_frames + 1 - first;
        let hold_frames = ramp_frames + 2 * FLAT_SPAN_FRAMES;
        let latency = detector_delay + ramp_frames - 1 + FLAT_SPAN_FRAMES;
        let ceiling = 10f64.powf(s.ceiling_dbtp / 20.0);
        self.prepared = Some(Prepared {
            detectors,
            min_hold: SlidingMin::new(hold_frames),
            ramp: [MovingAverage::new(first), MovingAverage::new(second)],
            delays: [Delay::new(latency), Delay::new(latency)],
            latency,
            target_peak: ceiling * 10f64.powf(-TRUE_PEAK_MARGIN_DB / 20.0),
            ceiling_linear: ceiling as f32,
            fast_release: one_pole(s.release_ms, sample_rate),
            slow_attack: one_pole(s.release_ms * SLOW_ATTACK_FACTOR, sample_rate),
            slow_release: one_pole(s.sustained_release_ms, sample_rate),
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(p) = &mut self.prepared {
            for d in &mut p.detectors {
                d.reset();
            }
            p.min_hold.clear();
            for r in &mut p.ramp {
                r.clear();
            }
            for d in &mut p.delays {
                d.clear();
            }
        }
        self.fast_reduction = 0.0;
        self.slow_reduction = 0.0;
        self.max_reduction_db = 0.0;
        self.sum_reduction_db = 0.0;
        self.frames = 0;
    }

    fn latency(&self) -> usize {
        self.prepared.as_ref().map_or(0, |p| p.latency)
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(p) = &mut self.prepared else {
            return;
        };
        let mut up_left = [0.0f32; MAX_FACTOR];
        let mut up_right = [0.0f32; MAX_FACTOR];
        let [det_left, det_right] = &mut p.detectors;
        let [ramp_a, ramp_b] = &mut p.ramp;
        let [delay_left, delay_right] = &mut p.delays;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            det_left.process(*l, &mut up_left);
            det_right.process(*r, &mut up_right);
            let mut peak = 0.0f32;
            for (a, b) in up_left[..DETECTOR_OVERSAMPLING]
                .iter()
                .zip(&up_right[..DETECTOR_OVERSAMPLING])
            {
                peak = peak.max(a.abs()).max(b.abs());
            }
            let peak = f64::from(peak);
            let required = if peak > p.target_peak {
                p.target_peak / peak
            } else {
                1.0
            };
            let held = p.min_hold.push(required);

            let wanted = 1.0 - held;
            self.fast_reduction = wanted.max(self.fast_reduction * p.fast_release);
            self.slow_reduction = if wanted > self.slow_reduction {
                wanted + (self.slow_reduction - wanted) * p.slow_attack
            } else {
                self.slow_reduction * p.slow_release
            };
            if self.fast_reduction < REDUCTION_FLOOR {
                self.fast_reduction = 0.0;
            }
            if self.slow_reduction < REDUCTION_FLOOR {
                self.slow_reduction = 0.0;
            }
            let reduction = self.fast_reduction.max(self.slow_reduction);
            let smoothed = held.min(1.0 - reduction);
            let gain = ramp_b.push(ramp_a.push(smoothed));

            let dl = delay_left.push(*l);
            let dr = delay_right.push(*r);
            // The clamp is a last guard on sample values; the gain already
            // keeps them (and what lies between them) under the ceiling.
            let c = p.ceiling_linear;
            *l = ((f64::from(dl) * gain) as f32).clamp(-c, c);
            *r = ((f64::from(dr) * gain) as f32).clamp(-c, c);

            if gain < 1.0 {
                let db = -20.0 * gain.log10();
                self.sum_reduction_db += db;
                self.max_reduction_db = self.max_reduction_db.max(db);
            }
            self.frames += 1;
        }
    }
}
