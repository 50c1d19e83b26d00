//! Static gain / trim in front of the limiter.
//!
//! The loudness loop moves this gain to push into (or back off) the limiter,
//! so a 0 dB trim must be exactly transparent: it is skipped, not multiplied.

use crate::{DspError, Processor};

/// Gains `prepare` accepts, dB: beyond them a setting is surely a mistake.
pub const GAIN_RANGE_DB: (f64, f64) = (-60.0, 36.0);

#[derive(Debug, Clone, PartialEq)]
pub struct Gain {
    gain_db: f64,
    linear: f32,
}

impl Gain {
    pub fn new(gain_db: f64) -> Self {
        Self {
            gain_db,
            linear: 10f64.powf(gain_db / 20.0) as f32,
        }
    }

    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }
}

impl Processor for Gain {
    fn prepare(&mut self, _sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        if max_block == 0 {
            return Err(DspError::ZeroBlock(max_block));
        }
        let (lo, hi) = GAIN_RANGE_DB;
        if !(self.gain_db.is_finite() && (lo..=hi).contains(&self.gain_db)) {
            return Err(DspError::InvalidSetting {
                stage: "gain",
                reason: format!("gain_db = {} dB is outside {lo}..={hi} dB", self.gain_db),
            });
        }
        Ok(())
    }

    fn reset(&mut self) {}

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.linear == 1.0 {
            return;
        }
        // One loop per channel: a chained iterator does not vectorise.
        let g = self.linear;
        for x in left.iter_mut() {
            *x *= g;
        }
        for x in right.iter_mut() {
            *x *= g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_db_is_bit_exact_and_six_db_doubles() {
        let mut g = Gain::new(0.0);
        g.prepare(44_100, 4).unwrap();
        let mut l = [0.1f32, -0.3, 0.7, 1e-30];
        let mut r = l;
        g.process(&mut l, &mut r);
        assert_eq!(l, [0.1f32, -0.3, 0.7, 1e-30]);
        const TOL: f32 = 1e-3;
        let mut g = Gain::new(20.0 * 2f64.log10());
        g.prepare(44_100, 4).unwrap();
        g.process(&mut l, &mut r);
        assert!((l[2] - 1.4).abs() < TOL);
    }

    #[test]
    fn rejects_non_finite_and_extreme_gains() {
        for bad in [f64::NAN, f64::INFINITY, -80.0, 40.0] {
            assert!(Gain::new(bad).prepare(44_100, 16).is_err());
        }
    }
}
