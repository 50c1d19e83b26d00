//! Oversampled saturation / soft clipping.
//!
//! A curve that bends the waveform makes harmonics far above the audio band;
//! at the base rate they fold back as inharmonic aliases, which is what makes
//! cheap clippers sound harsh. So the curve runs at 4x between linear-phase
//! half-band filters ([`crate::oversample::RoundTrip`]), whose 100 dB
//! rejection removes what would fold back. Both curves are smooth (their
//! harmonics fall off fast) and have unity slope at zero; the drive gain in
//! front of the curve is undone after it, so quiet passages pass at their
//! level and drive only decides how early the curve bends. The dry path is
//! delayed by the round trip, so a parallel mix stays phase-coherent.

use crate::oversample::RoundTrip;
use crate::processor::check_rate;
use crate::{DspError, Processor};
use lacquer_core::chain::{SaturationCurve, SaturationSettings};

/// Oversampling factor of the curve.
pub const OVERSAMPLING: usize = 4;
/// A sample counts as clipped once the curve holds it this far under the
/// straight line, in dB.
pub const CLIP_THRESHOLD_DB: f64 = 1.0;

/// Frames the dry path is delayed per step.
const DRY_CHUNK: usize = 1024;

const DRIVE_RANGE_DB: (f64, f64) = (0.0, 36.0);

/// The tanh-like curve: a rational approximation of tanh that reaches ±1
/// with zero slope at ±3 (continuous slope, so no hard corner), cheap enough
/// to run at 4x on every sample.
#[inline]
pub fn tanh_like(u: f32) -> f32 {
    // Clamping lands exactly on ±1 at ±3 (108 / 108), and keeps the loop
    // branch-free so it vectorises.
    let c = u.clamp(-3.0, 3.0);
    let c2 = c * c;
    c * (27.0 + c2) / (27.0 + 9.0 * c2)
}

/// The polynomial soft clipper: the cubic with unity slope at zero that
/// reaches ±1 with zero slope at ±1.5, flat beyond.
#[inline]
pub fn cubic_soft_clip(u: f32) -> f32 {
    // Clamping lands exactly on ±1 at ±1.5 (1.5 - 0.5 in f32).
    let c = u.clamp(-1.5, 1.5);
    c - (4.0 / 27.0) * c * c * c
}

fn curve_fn(curve: SaturationCurve) -> fn(f32) -> f32 {
    match curve {
        SaturationCurve::Tanh => tanh_like,
        SaturationCurve::Polynomial => cubic_soft_clip,
    }
}

/// Smallest |u| at which `f(u)/u` has dropped [`CLIP_THRESHOLD_DB`] below 1
/// (both curves bend monotonically).
fn clip_knee(f: fn(f32) -> f32) -> f32 {
    let ratio = 10f64.powf(-CLIP_THRESHOLD_DB / 20.0);
    let (mut lo, mut hi) = (1e-3f64, 100.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if f64::from(f(mid as f32)) / mid > ratio {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi as f32
}

#[derive(Debug, Clone)]
struct Prepared {
    trips: [RoundTrip; 2],
    /// Per channel: `dry_history` frames of past input, then a chunk.
    dry_delay: [Vec<f32>; 2],
    dry_history: usize,
    curve: SaturationCurve,
    drive: f32,
    makeup: f32,
    wet: f32,
    dry: f32,
    knee: f32,
}

/// The saturator stage (see the module docs).
#[derive(Debug, Clone)]
pub struct Saturator {
    settings: SaturationSettings,
    prepared: Option<Prepared>,
    clipped_samples: u64,
    total_samples: u64,
}

impl Saturator {
    pub fn new(settings: &SaturationSettings) -> Self {
        Self {
            settings: settings.clone(),
            prepared: None,
            clipped_samples: 0,
            total_samples: 0,
        }
    }

    pub fn settings(&self) -> &SaturationSettings {
        &self.settings
    }

    /// Share (0–1) of oversampled samples since the last reset that the
    /// curve held more than [`CLIP_THRESHOLD_DB`] under the straight line.
    pub fn clipped_fraction(&self) -> f64 {
        if self.total_samples == 0 {
            0.0
        } else {
            self.clipped_samples as f64 / self.total_samples as f64
        }
    }

    fn invalid(reason: String) -> DspError {
        DspError::InvalidSetting {
            stage: "saturation",
            reason,
        }
    }
}

impl Processor for Saturator {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate("saturation", sample_rate, max_block)?;
        let s = &self.settings;
        if !(s.drive_db.is_finite() && (DRIVE_RANGE_DB.0..=DRIVE_RANGE_DB.1).contains(&s.drive_db))
        {
            return Err(Self::invalid(format!(
                "drive_db = {} dB is outside {}..={} dB",
                s.drive_db, DRIVE_RANGE_DB.0, DRIVE_RANGE_DB.1
            )));
        }
        if !(s.mix_percent.is_finite() && (0.0..=100.0).contains(&s.mix_percent)) {
            return Err(Self::invalid(format!(
                "mix_percent = {} % is outside 0..=100 %",
                s.mix_percent
            )));
        }
        let make_trip = || {
            RoundTrip::new(OVERSAMPLING)
                .ok_or_else(|| Self::invalid(format!("no {OVERSAMPLING}x oversampler")))
        };
        let trips = [make_trip()?, make_trip()?];
        let latency = trips[0].latency();
        let curve_fn = curve_fn(s.curve);
        let drive = 10f64.powf(s.drive_db / 20.0);
        let wet = s.mix_percent / 100.0;
        self.prepared = Some(Prepared {
            trips,
            dry_delay: [
                vec![0.0; latency + DRY_CHUNK],
                vec![0.0; latency + DRY_CHUNK],
            ],
            dry_history: latency,
            curve: s.curve,
            drive: drive as f32,
            makeup: (1.0 / drive) as f32,
            wet: wet as f32,
            dry: (1.0 - wet) as f32,
            knee: clip_knee(curve_fn),
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(p) = &mut self.prepared {
            for t in &mut p.trips {
                t.reset();
            }
            for d in &mut p.dry_delay {
                d.fill(0.0);
            }
        }
        self.clipped_samples = 0;
        self.total_samples = 0;
    }

    fn latency(&self) -> usize {
        self.prepared.as_ref().map_or(0, |p| p.trips[0].latency())
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(p) = &mut self.prepared else {
            return;
        };
        let (curve, drive, makeup, knee) = (p.curve, p.drive, p.makeup, p.knee);
        let mut clipped = 0u64;
        let samples_in = (left.len() + right.len()) as u64;
        let history = p.dry_history;
        for (ch, samples) in [left, right].into_iter().enumerate() {
            let dry_line = &mut p.dry_delay[ch];
            for block in samples.chunks_mut(DRY_CHUNK) {
                let n = block.len();
                if p.dry != 0.0 {
                    dry_line[history..history + n].copy_from_slice(block);
                }
                p.trips[ch].process_block(block, |top| {
                    clipped += shape_block(curve, drive, makeup, knee, top);
                });
                if p.dry != 0.0 {
                    for (y, &d) in block.iter_mut().zip(&dry_line[..n]) {
                        *y = p.wet * *y + p.dry * d;
                    }
                    dry_line.copy_within(n..n + history, 0);
                }
            }
        }
        self.clipped_samples += clipped;
        self.total_samples += samples_in * OVERSAMPLING as u64;
    }
}

/// Runs the curve over a block of high-rate samples (drive in front,
/// makeup after); returns how many were clipped.
#[inline]
fn shape_block(curve: SaturationCurve, drive: f32, makeup: f32, knee: f32, top: &mut [f32]) -> u64 {
    let mut clipped = 0u32;
    match curve {
        SaturationCurve::Tanh => {
            for v in top.iter_mut() {
                let u = *v * drive;
                clipped += u32::from(u.abs() > knee);
                *v = tanh_like(u) * makeup;
            }
        }
        SaturationCurve::Polynomial => {
            for v in top.iter_mut() {
                let u = *v * drive;
                clipped += u32::from(u.abs() > knee);
                *v = cubic_soft_clip(u) * makeup;
            }
        }
    }
    u64::from(clipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The curves as first written, with a branch at the knee: the clamped
    /// forms must give the very same f32 everywhere.
    fn tanh_branchy(u: f32) -> f32 {
        if u.abs() >= 3.0 {
            u.signum()
        } else {
            let u2 = u * u;
            u * (27.0 + u2) / (27.0 + 9.0 * u2)
        }
    }

    fn cubic_branchy(u: f32) -> f32 {
        if u.abs() >= 1.5 {
            u.signum()
        } else {
            u - (4.0 / 27.0) * u * u * u
        }
    }

    #[test]
    fn clamped_curves_are_bit_identical_to_branchy_ones() {
        let mut values = vec![
            0.0f32,
            -0.0,
            1.5,
            -1.5,
            3.0,
            -3.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        values.extend((-400_000..=400_000).map(|i| i as f32 * 1e-5));
        for knee in [1.5f32, 3.0] {
            let mut v = knee;
            for _ in 0..64 {
                values.extend([v, -v]);
                v = v.next_down();
            }
        }
        for u in values {
            assert_eq!(
                tanh_like(u).to_bits(),
                tanh_branchy(u).to_bits(),
                "tanh at {u}"
            );
            assert_eq!(
                cubic_soft_clip(u).to_bits(),
                cubic_branchy(u).to_bits(),
                "cubic at {u}"
            );
        }
    }
}
