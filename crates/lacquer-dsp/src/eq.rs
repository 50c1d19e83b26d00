//! Corrective EQ stage: rumble high-pass, shelves and bells (minimum-phase
//! biquads, designs in [`crate::biquad`]) followed by the optional
//! linear-phase match EQ ([`crate::fir`]). The biquads run first so the
//! match EQ sees the already-corrected tonal balance it was computed for.

use crate::biquad::{BiquadCoeffs, F2, StereoBiquad, butterworth_qs};
use crate::fir::MatchEq;
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use crate::{DspError, Processor};
use lacquer_core::chain::{EqBandKind, EqSettings, HighPassSlope};

const STAGE: &str = "eq";
/// Bells and shelves are limited to ±24 dB: beyond that an EQ is repairing a
/// broken mix, which mastering should not attempt silently.
pub const MAX_BAND_GAIN_DB: f64 = 24.0;

/// The corrective EQ processor.
#[derive(Debug)]
pub struct Eq {
    settings: EqSettings,
    sections: Vec<StereoBiquad>,
    match_eq: MatchEq,
    sample_rate: u32,
    /// Per-block f64 scratch, so the sections run one block-wide pass at a
    /// time with their state in registers.
    scratch: Vec<F2>,
}

impl Eq {
    pub fn new(settings: &EqSettings) -> Self {
        Self {
            settings: settings.clone(),
            sections: Vec::new(),
            match_eq: MatchEq::new(&settings.match_eq),
            sample_rate: 0,
            scratch: Vec::new(),
        }
    }

    /// The designed sections, in processing order (for tests and plots).
    pub fn sections(&self) -> Vec<BiquadCoeffs> {
        self.sections.iter().map(|s| s.coeffs).collect()
    }

    /// Designed magnitude (dB) of the biquad part at `freq_hz`, after
    /// `prepare`.
    pub fn design_response_db(&self, freq_hz: f64) -> f64 {
        let rate = f64::from(self.sample_rate);
        self.sections
            .iter()
            .map(|s| s.coeffs.response_db(rate, freq_hz))
            .sum()
    }

    fn match_active(&self) -> bool {
        self.settings.enabled && self.settings.match_eq.enabled
    }

    fn design(&self, rate: f64) -> Result<Vec<StereoBiquad>, DspError> {
        let nyquist = rate / 2.0;
        let check_freq = |what: &str, f: f64| {
            if f.is_finite() && f > 0.0 && f < nyquist {
                Ok(())
            } else {
                Err(DspError::InvalidSetting {
                    stage: STAGE,
                    reason: format!("{what} frequency {f} Hz must be in (0, {nyquist}) Hz"),
                })
            }
        };
        let mut sections = Vec::new();
        let hp = &self.settings.high_pass;
        if hp.enabled {
            check_freq("high-pass", hp.frequency_hz)?;
            let order = match hp.slope {
                HighPassSlope::Db12PerOctave => 2,
                HighPassSlope::Db24PerOctave => 4,
            };
            for q in butterworth_qs(order) {
                sections.push(StereoBiquad::new(BiquadCoeffs::highpass(
                    rate,
                    hp.frequency_hz,
                    q,
                )));
            }
        }
        for (index, band) in self.settings.bands.iter().enumerate() {
            check_freq(&format!("band {index}"), band.frequency_hz)?;
            if !(band.q.is_finite() && band.q > 0.0 && band.q <= 40.0) {
                return Err(DspError::InvalidSetting {
                    stage: STAGE,
                    reason: format!("band {index}: q {} must be in (0, 40]", band.q),
                });
            }
            if !(band.gain_db.is_finite() && band.gain_db.abs() <= MAX_BAND_GAIN_DB) {
                return Err(DspError::InvalidSetting {
                    stage: STAGE,
                    reason: format!(
                        "band {index}: gain {} dB must be within ±{MAX_BAND_GAIN_DB} dB",
                        band.gain_db
                    ),
                });
            }
            if band.gain_db == 0.0 {
                continue;
            }
            let coeffs = match band.kind {
                EqBandKind::Peak => {
                    BiquadCoeffs::peak(rate, band.frequency_hz, band.q, band.gain_db)
                }
                EqBandKind::LowShelf => {
                    BiquadCoeffs::low_shelf(rate, band.frequency_hz, band.q, band.gain_db)
                }
                EqBandKind::HighShelf => {
                    BiquadCoeffs::high_shelf(rate, band.frequency_hz, band.q, band.gain_db)
                }
            };
            sections.push(StereoBiquad::new(coeffs));
        }
        Ok(sections)
    }
}

impl Processor for Eq {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        check_rate(STAGE, sample_rate, max_block)?;
        self.sample_rate = sample_rate;
        self.sections = self.design(f64::from(sample_rate))?;
        self.scratch = if self.sections.is_empty() {
            Vec::new()
        } else {
            vec![F2::ZERO; max_block]
        };
        if self.match_active() {
            self.match_eq.prepare(sample_rate, max_block)?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.sections.iter_mut().for_each(StereoBiquad::reset);
        self.match_eq.reset();
    }

    fn latency(&self) -> usize {
        if self.match_active() {
            self.match_eq.latency()
        } else {
            0
        }
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        dispatch_avx2!(
            Self::process_avx2,
            Self::process_frames,
            (self, left, right)
        );
    }
}

impl Eq {
    /// [`Self::process_frames`] compiled for AVX2 (see [`crate::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_frames(left, right);
    }

    #[inline(always)]
    fn process_frames(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.settings.enabled {
            return;
        }
        let max_block = self.scratch.len();
        if !self.sections.is_empty() && max_block > 0 {
            for (lc, rc) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
                let buf = &mut self.scratch[..lc.len().min(rc.len())];
                for ((x, &l), &r) in buf.iter_mut().zip(lc.iter()).zip(rc.iter()) {
                    *x = F2::new(f64::from(l), f64::from(r));
                }
                StereoBiquad::process_cascade(&mut self.sections, buf);
                for ((x, l), r) in buf.iter().zip(lc.iter_mut()).zip(rc.iter_mut()) {
                    *l = x.left() as f32;
                    *r = x.right() as f32;
                }
            }
        }
        if self.match_active() {
            self.match_eq.process(left, right);
        }
    }
}
