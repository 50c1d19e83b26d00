//! Dynamic EQ: bells that cut only while their own band is loud (harsh
//! 2–6 kHz peaks, mud at 200–500 Hz, sub build-up).
//!
//! Why the parallel form `y = x + (g − 1)·bp(x)`: `bp` is a band-pass with
//! exactly 0 dB and zero phase at the centre, so the band's centre gets gain
//! `g` exactly, the detector and the cut see the same band, and no filter
//! coefficients have to be recomputed per sample. Below threshold `g` is
//! exactly 1.0, `(g − 1)` is exactly 0.0, and the output is the input bit
//! for bit: a dynamic EQ that is not working changes nothing.
//!
//! Bands work in parallel on the stage input (`y = x + Σ (g_k − 1)·bp_k(x)`):
//! each detects its own band of the input, so one band's cut never changes
//! what another band hears, and the bands' filters do not wait on each
//! other (several times faster than chaining them).

use crate::biquad::{BiquadCoeffs, StereoBiquad};
use crate::compressor::{check_rate, db_to_gain};
use crate::envelope::{LevelFollower, ReductionMeter, fast_db_to_gain, fast_gain_to_db};
use crate::{DspError, Processor};
use lacquer_core::chain::DynamicEqSettings;

const STAGE: &str = "dynamic eq";
/// Deepest cut a band may make (dB).
pub const MAX_CUT_DB: f64 = 24.0;

#[derive(Debug, Clone)]
struct Band {
    bandpass: StereoBiquad,
    follower: LevelFollower,
    threshold: f64,
    threshold_db: f64,
    slope: f64,
    max_cut_db: f64,
    /// Per-block scratch: band-passed left/right, then level → `g − 1`.
    band_left: Vec<f64>,
    band_right: Vec<f64>,
    gain_minus_one: Vec<f64>,
}

/// The dynamic EQ processor.
#[derive(Debug, Clone)]
pub struct DynamicEq {
    settings: DynamicEqSettings,
    bands: Vec<Band>,
    meter: ReductionMeter,
    deepest_cut_db: Vec<f64>,
    max_block: usize,
}

impl DynamicEq {
    pub fn new(settings: &DynamicEqSettings) -> Self {
        Self {
            settings: settings.clone(),
            bands: Vec::new(),
            meter: ReductionMeter::default(),
            deepest_cut_db: Vec::new(),
            max_block: 0,
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
                bandpass: StereoBiquad::new(BiquadCoeffs::bandpass(rate, b.frequency_hz, b.q)),
                follower: LevelFollower::new(b.attack_ms, b.release_ms, rate),
                threshold: db_to_gain(b.threshold_db),
                threshold_db: b.threshold_db,
                slope: 1.0 - 1.0 / b.ratio,
                max_cut_db: b.max_cut_db,
                band_left: vec![0.0; max_block],
                band_right: vec![0.0; max_block],
                gain_minus_one: vec![0.0; max_block],
            });
        }
        self.bands = bands;
        self.deepest_cut_db = vec![0.0; max_block];
        self.max_block = max_block;
        self.meter.reset();
        Ok(())
    }

    fn reset(&mut self) {
        for band in &mut self.bands {
            band.bandpass.reset();
            band.follower.reset();
        }
        self.meter.reset();
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
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
    /// Three passes so only the filters and followers are serial; the
    /// log/exp work runs over independent samples and pipelines.
    fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let deepest = &mut self.deepest_cut_db[..frames];
        deepest.fill(0.0);
        for band in &mut self.bands {
            let (bl, br, gm1) = (
                &mut band.band_left[..frames],
                &mut band.band_right[..frames],
                &mut band.gain_minus_one[..frames],
            );
            for i in 0..frames {
                let (yl, yr) = band.bandpass.tick2(f64::from(left[i]), f64::from(right[i]));
                bl[i] = yl;
                br[i] = yr;
                gm1[i] = band.follower.tick(yl.abs().max(yr.abs()));
            }
            if band.slope > 0.0 {
                for (g, cut) in gm1.iter_mut().zip(deepest.iter_mut()) {
                    let level = *g;
                    *g = if level > band.threshold {
                        let over_db = fast_gain_to_db(level) - band.threshold_db;
                        let cut_db = (over_db * band.slope).min(band.max_cut_db);
                        *cut = cut.max(cut_db);
                        fast_db_to_gain(-cut_db) - 1.0
                    } else {
                        0.0
                    };
                }
            } else {
                gm1.fill(0.0);
            }
        }
        for &cut in deepest.iter() {
            self.meter.record(cut);
        }
        for i in 0..frames {
            let (mut yl, mut yr) = (f64::from(left[i]), f64::from(right[i]));
            let mut changed = false;
            for band in &self.bands {
                let g = band.gain_minus_one[i];
                if g != 0.0 {
                    yl += g * band.band_left[i];
                    yr += g * band.band_right[i];
                    changed = true;
                }
            }
            if changed {
                left[i] = yl as f32;
                right[i] = yr as f32;
            }
        }
    }
}
