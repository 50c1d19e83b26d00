//! Multiband compressor: 3–4 LR4 bands (see [`crate::crossover`]), each with
//! its own soft-knee curve, attack/release and makeup.
//!
//! Why linked or mid/side: in left/right mode one detector per band takes
//! the louder channel, so a band's gain is the same on both sides and the
//! image cannot wander. In mid/side mode the mid and side of each band get
//! their own detectors — the point of M/S compression is to treat them
//! differently (e.g. tame a wide, harsh side without touching the vocal).

use crate::compressor::{GainComputer, check_rate, db_to_gain, validate_curve};
use crate::crossover::{Crossover, MAX_BANDS};
use crate::envelope::{LevelFollower, ReductionMeter, fast_db_to_gain};
use crate::{DspError, Processor};
use lacquer_core::chain::MultibandSettings;

const STAGE: &str = "multiband compressor";

#[derive(Debug, Clone)]
struct Band {
    computer: GainComputer,
    /// `[left or mid, right or side]`; only the first is used when linked.
    followers: [LevelFollower; 2],
    makeup: f64,
    meter: ReductionMeter,
    /// Per-block scratch: the band's two signals and, per signal, the
    /// detector level and then the gain (makeup included).
    signal: [Vec<f64>; 2],
    gain: [Vec<f64>; 2],
}

/// The multiband compressor processor.
#[derive(Debug, Clone)]
pub struct MultibandCompressor {
    settings: MultibandSettings,
    crossover: Option<Crossover>,
    bands: Vec<Band>,
}

impl MultibandCompressor {
    pub fn new(settings: &MultibandSettings) -> Self {
        Self {
            settings: settings.clone(),
            crossover: None,
            bands: Vec::new(),
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
            let follower = LevelFollower::new(curve.attack_ms, curve.release_ms, rate);
            bands.push(Band {
                computer: GainComputer::new(curve.threshold_db, curve.ratio, curve.knee_db),
                followers: [follower; 2],
                makeup: db_to_gain(curve.makeup_db),
                meter: ReductionMeter::default(),
                signal: [vec![0.0; max_block], vec![0.0; max_block]],
                gain: [vec![0.0; max_block], vec![0.0; max_block]],
            });
        }
        self.crossover = Some(crossover);
        self.bands = bands;
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(crossover) = &mut self.crossover {
            crossover.reset();
        }
        for band in &mut self.bands {
            band.followers.iter_mut().for_each(LevelFollower::reset);
            band.meter.reset();
        }
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled || self.crossover.is_none() {
            return;
        }
        let max_block = self.bands.first().map_or(0, |b| b.signal[0].len());
        if max_block == 0 {
            return;
        }
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            self.process_block(l, r);
        }
    }
}

impl MultibandCompressor {
    /// Split + detect (serial filters and followers), then the gain
    /// computers over independent samples (pipelines), then the band sum.
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(crossover) = &mut self.crossover else {
            return;
        };
        let frames = left.len().min(right.len());
        let mid_side = self.settings.mid_side;
        let mut split = [(0.0, 0.0); MAX_BANDS];
        for i in 0..frames {
            let (xl, xr) = (f64::from(left[i]), f64::from(right[i]));
            let (a, b) = if mid_side {
                (0.5 * (xl + xr), 0.5 * (xl - xr))
            } else {
                (xl, xr)
            };
            crossover.split(a, b, &mut split);
            for (band, &(ba, bb)) in self.bands.iter_mut().zip(split.iter()) {
                band.signal[0][i] = ba;
                band.signal[1][i] = bb;
                if mid_side {
                    band.gain[0][i] = band.followers[0].tick(ba.abs());
                    band.gain[1][i] = band.followers[1].tick(bb.abs());
                } else {
                    band.gain[0][i] = band.followers[0].tick(ba.abs().max(bb.abs()));
                }
            }
        }
        for band in &mut self.bands {
            let computer = band.computer;
            let makeup = band.makeup;
            if mid_side {
                let [ga, gb] = &mut band.gain;
                for (a, b) in ga[..frames].iter_mut().zip(gb[..frames].iter_mut()) {
                    let ra = computer.reduction_db_linear(*a);
                    let rb = computer.reduction_db_linear(*b);
                    band.meter.record(ra.max(rb));
                    *a = gain_of(ra) * makeup;
                    *b = gain_of(rb) * makeup;
                }
            } else {
                for g in band.gain[0][..frames].iter_mut() {
                    let reduction = computer.reduction_db_linear(*g);
                    band.meter.record(reduction);
                    *g = gain_of(reduction) * makeup;
                }
            }
        }
        let gain_b = usize::from(mid_side);
        for i in 0..frames {
            let (mut sum_a, mut sum_b) = (0.0, 0.0);
            for band in &self.bands {
                sum_a += band.signal[0][i] * band.gain[0][i];
                sum_b += band.signal[1][i] * band.gain[gain_b][i];
            }
            let (yl, yr) = if mid_side {
                (sum_a + sum_b, sum_a - sum_b)
            } else {
                (sum_a, sum_b)
            };
            left[i] = yl as f32;
            right[i] = yr as f32;
        }
    }
}

#[inline(always)]
fn gain_of(reduction_db: f64) -> f64 {
    if reduction_db > 0.0 {
        fast_db_to_gain(-reduction_db)
    } else {
        1.0
    }
}
