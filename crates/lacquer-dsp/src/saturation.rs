//! Oversampled saturation / soft clipping.
//!
//! A curve that bends the waveform makes harmonics far above the audio band;
//! at the base rate they fold back as inharmonic aliases, which is what makes
//! cheap clippers sound harsh. So the curve runs at 4x between linear-phase
//! half-band filters ([`crate::oversample::RoundTrip`]), whose 80 dB
//! rejection removes what would fold back. Both curves are smooth (their
//! harmonics fall off fast) and have unity slope at zero; the drive gain in
//! front of the curve is undone after it, so quiet passages pass at their
//! level and drive only decides how early the curve bends. The dry path is
//! delayed by the round trip, so a parallel mix stays phase-coherent.
//!
//! Per-band mode splits the signal with an LR4 crossover first (see
//! [`crate::crossover`]) and gives each band its own round trip and drive,
//! so the lows can be thickened without the curve's intermodulation landing
//! in the top octaves. LR4 bands sum to an all-pass of the input, so at a
//! level where the curves are straight the stage is flat in magnitude; the
//! dry path is that same band sum, so a parallel mix cannot comb-filter.

use crate::biquad::F2;
use crate::crossover::{Crossover, MAX_BANDS};
use crate::oversample::RoundTrip;
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::{SaturationCurve, SaturationSettings};

/// Oversampling factor of the curve.
pub const OVERSAMPLING: usize = 4;
/// A sample counts as clipped once the curve holds it this far under the
/// straight line, in dB.
pub const CLIP_THRESHOLD_DB: f64 = 1.0;

/// Frames the dry path is delayed (and, per band, split) per step.
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

/// One saturated path: the whole signal (wideband) or one band.
#[derive(Debug, Clone)]
struct CurvePath {
    trips: [RoundTrip; 2],
    drive: f32,
    makeup: f32,
}

/// What per-band mode needs besides the paths.
#[derive(Debug, Clone)]
struct BandSplit {
    crossover: Crossover,
    /// `bands` chunks of [`DRY_CHUNK`] frames, one per band, lowest first.
    frames: Vec<F2>,
    /// One band of one channel on its way through a round trip.
    scratch: Vec<f32>,
    /// Per channel: the saturated bands summed.
    wet_sum: [Vec<f32>; 2],
}

#[derive(Debug, Clone)]
struct Prepared {
    /// One path (wideband) or one per band.
    paths: Vec<CurvePath>,
    /// Present in per-band mode.
    split: Option<BandSplit>,
    /// Per channel: `dry_history` frames of past input, then a chunk.
    dry_delay: [Vec<f32>; 2],
    dry_history: usize,
    curve: SaturationCurve,
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
    /// curve held more than [`CLIP_THRESHOLD_DB`] under the straight line
    /// (in per-band mode: of every band's samples).
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

    fn check_drive(what: &str, drive_db: f64) -> Result<(), DspError> {
        if drive_db.is_finite() && (DRIVE_RANGE_DB.0..=DRIVE_RANGE_DB.1).contains(&drive_db) {
            Ok(())
        } else {
            Err(Self::invalid(format!(
                "{what} = {drive_db} dB is outside {}..={} dB",
                DRIVE_RANGE_DB.0, DRIVE_RANGE_DB.1
            )))
        }
    }

    /// The drive of each path: the wideband drive, or one per band.
    fn validated_drives_db(&self) -> Result<Vec<f64>, DspError> {
        let s = &self.settings;
        Self::check_drive("drive_db", s.drive_db)?;
        if s.bands.is_empty() {
            if !s.crossovers_hz.is_empty() {
                return Err(Self::invalid(format!(
                    "crossovers_hz {:?} given without bands (wideband mode takes none)",
                    s.crossovers_hz
                )));
            }
            return Ok(vec![s.drive_db]);
        }
        if !(2..=MAX_BANDS).contains(&s.bands.len()) {
            return Err(Self::invalid(format!(
                "{} bands given; per-band mode takes 2 to {MAX_BANDS} (none for wideband)",
                s.bands.len()
            )));
        }
        if s.crossovers_hz.len() + 1 != s.bands.len() {
            return Err(Self::invalid(format!(
                "{} bands need {} crossovers_hz, {} given",
                s.bands.len(),
                s.bands.len() - 1,
                s.crossovers_hz.len()
            )));
        }
        s.bands
            .iter()
            .enumerate()
            .map(|(i, band)| {
                Self::check_drive(&format!("bands[{i}].drive_db"), band.drive_db)?;
                Ok(band.drive_db)
            })
            .collect()
    }
}

impl Processor for Saturator {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate("saturation", sample_rate, max_block)?;
        let drives_db = self.validated_drives_db()?;
        let s = &self.settings;
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
        let paths = drives_db
            .iter()
            .map(|&drive_db| {
                let drive = 10f64.powf(drive_db / 20.0);
                Ok(CurvePath {
                    trips: [make_trip()?, make_trip()?],
                    drive: drive as f32,
                    makeup: (1.0 / drive) as f32,
                })
            })
            .collect::<Result<Vec<_>, DspError>>()?;
        let split = if s.bands.is_empty() {
            None
        } else {
            let crossover = Crossover::new(f64::from(sample_rate), &s.crossovers_hz)
                .map_err(|e| Self::invalid(format!("band split: {e}")))?;
            Some(BandSplit {
                crossover,
                frames: vec![F2::ZERO; paths.len() * DRY_CHUNK],
                scratch: vec![0.0; DRY_CHUNK],
                wet_sum: [vec![0.0; DRY_CHUNK], vec![0.0; DRY_CHUNK]],
            })
        };
        let latency = paths[0].trips[0].latency();
        let wet = s.mix_percent / 100.0;
        self.prepared = Some(Prepared {
            paths,
            split,
            dry_delay: [
                vec![0.0; latency + DRY_CHUNK],
                vec![0.0; latency + DRY_CHUNK],
            ],
            dry_history: latency,
            curve: s.curve,
            wet: wet as f32,
            dry: (1.0 - wet) as f32,
            knee: clip_knee(curve_fn(s.curve)),
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(p) = &mut self.prepared {
            for path in &mut p.paths {
                for t in &mut path.trips {
                    t.reset();
                }
            }
            if let Some(split) = &mut p.split {
                split.crossover.reset();
            }
            for d in &mut p.dry_delay {
                d.fill(0.0);
            }
        }
        self.clipped_samples = 0;
        self.total_samples = 0;
    }

    fn latency(&self) -> usize {
        self.prepared
            .as_ref()
            .map_or(0, |p| p.paths[0].trips[0].latency())
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_frames,
            (self, left, right)
        );
    }
}

impl Saturator {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(p) = &mut self.prepared else {
            return;
        };
        let frames = left.len().min(right.len());
        let (left, right) = (&mut left[..frames], &mut right[..frames]);
        let clipped = if p.split.is_some() {
            p.process_bands(left, right)
        } else {
            p.process_wideband(left, right)
        };
        self.clipped_samples += clipped;
        self.total_samples += (2 * frames * OVERSAMPLING * p.paths.len()) as u64;
    }
}

impl Prepared {
    /// One curve on the whole signal; returns the clipped sample count.
    #[inline(always)]
    fn process_wideband(&mut self, left: &mut [f32], right: &mut [f32]) -> u64 {
        let (curve, knee, history) = (self.curve, self.knee, self.dry_history);
        let path = &mut self.paths[0];
        let (drive, makeup) = (path.drive, path.makeup);
        let mut clipped = 0u64;
        for (ch, samples) in [left, right].into_iter().enumerate() {
            let dry_line = &mut self.dry_delay[ch];
            for block in samples.chunks_mut(DRY_CHUNK) {
                let n = block.len();
                if self.dry != 0.0 {
                    dry_line[history..history + n].copy_from_slice(block);
                }
                path.trips[ch].process_block(block, |top| {
                    clipped += shape_block(curve, drive, makeup, knee, top);
                });
                if self.dry != 0.0 {
                    for (y, &d) in block.iter_mut().zip(&dry_line[..n]) {
                        *y = self.wet * *y + self.dry * d;
                    }
                    dry_line.copy_within(n..n + history, 0);
                }
            }
        }
        clipped
    }

    /// Split into bands, one curve per band, summed. The dry path is the
    /// band sum before the curves (an all-pass of the input), so a parallel
    /// mix stays phase-coherent with the bands. Returns the clipped count.
    #[inline(always)]
    fn process_bands(&mut self, left: &mut [f32], right: &mut [f32]) -> u64 {
        let Some(split) = &mut self.split else {
            return 0;
        };
        let (curve, knee, history) = (self.curve, self.knee, self.dry_history);
        let band_count = self.paths.len();
        let mut clipped = 0u64;
        for (l, r) in left.chunks_mut(DRY_CHUNK).zip(right.chunks_mut(DRY_CHUNK)) {
            let n = l.len();
            for ((f, &a), &b) in split.frames[..n].iter_mut().zip(l.iter()).zip(r.iter()) {
                *f = F2::new(f64::from(a), f64::from(b));
            }
            let mut chunks = split.frames.chunks_mut(DRY_CHUNK);
            let mut views: [&mut [F2]; MAX_BANDS] = std::array::from_fn(|_| match chunks.next() {
                Some(c) => &mut c[..n],
                None => &mut [],
            });
            split.crossover.split_block(&mut views[..band_count]);
            let bands = &views[..band_count];
            if self.dry != 0.0 {
                for j in 0..n {
                    let sum = bands.iter().fold(F2::ZERO, |acc, band| acc + band[j]);
                    self.dry_delay[0][history + j] = sum.left() as f32;
                    self.dry_delay[1][history + j] = sum.right() as f32;
                }
            }
            for (ch, out) in [&mut *l, &mut *r].into_iter().enumerate() {
                let wet_sum = &mut split.wet_sum[ch][..n];
                wet_sum.fill(0.0);
                for (band, path) in bands.iter().zip(&mut self.paths) {
                    let scratch = &mut split.scratch[..n];
                    for (s, f) in scratch.iter_mut().zip(band.iter()) {
                        *s = f.0[ch] as f32;
                    }
                    let (drive, makeup) = (path.drive, path.makeup);
                    path.trips[ch].process_block(scratch, |top| {
                        clipped += shape_block(curve, drive, makeup, knee, top);
                    });
                    for (w, &s) in wet_sum.iter_mut().zip(scratch.iter()) {
                        *w += s;
                    }
                }
                if self.dry != 0.0 {
                    let dry_line = &mut self.dry_delay[ch];
                    for ((y, &w), &d) in out.iter_mut().zip(wet_sum.iter()).zip(&dry_line[..n]) {
                        *y = self.wet * w + self.dry * d;
                    }
                    dry_line.copy_within(n..n + history, 0);
                } else {
                    out.copy_from_slice(wet_sum);
                }
            }
        }
        clipped
    }
}

/// Runs the curve over a block of high-rate samples (drive in front,
/// makeup after); returns how many were clipped.
#[inline(always)]
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
