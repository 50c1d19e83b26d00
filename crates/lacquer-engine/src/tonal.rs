//! Loudness-normalised tonal curves and the one number used to compare them.
//!
//! Two masters at different loudness must compare on tone alone, so every
//! curve here is a 1/3-octave MID level minus the track's integrated
//! loudness (the convention profiles use, see `lacquer_core::profile`). The
//! comparison band, 40 Hz–16 kHz, is where the issue measures reference
//! matching: below it rumble filters and above it codec low-passes would
//! dominate a mean without saying anything about the mix's balance.

use lacquer_core::{Analysis, Profile};
use serde::{Deserialize, Serialize};

/// Lowest 1/3-octave centre that counts in a curve comparison.
pub const COMPARE_LOW_HZ: f64 = 40.0;
/// Highest 1/3-octave centre that counts in a curve comparison.
pub const COMPARE_HIGH_HZ: f64 = 16_000.0;
/// Centres of two curves are the same band when they agree this closely
/// (ISO 266 nominal values are written identically everywhere; this only
/// absorbs float formatting).
const CENTRE_MATCH_RELATIVE: f64 = 0.01;

/// A loudness-normalised MID curve: dB relative to integrated loudness per
/// 1/3-octave band. Bands where the track has no energy at all are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonalCurve {
    pub centres_hz: Vec<f64>,
    pub level_db: Vec<Option<f64>>,
}

impl TonalCurve {
    /// The curve of an analysed track; `None` for silence (no tonal record
    /// or no integrated loudness).
    pub fn from_analysis(analysis: &Analysis) -> Option<Self> {
        let tonal = analysis.tonal.as_ref()?;
        let integrated = analysis.loudness.integrated_lufs?.0;
        let floor = tonal.floor_db.0;
        Some(Self {
            centres_hz: tonal.third_octave_centres_hz.iter().map(|c| c.0).collect(),
            level_db: tonal
                .mid_db
                .iter()
                .map(|d| (d.0 > floor && d.0.is_finite()).then_some(d.0 - integrated))
                .collect(),
        })
    }

    /// A profile's MID curve (already loudness-normalised when built).
    pub fn from_profile(profile: &Profile) -> Self {
        Self {
            centres_hz: profile
                .tonal
                .third_octave_centres_hz
                .iter()
                .map(|c| c.0)
                .collect(),
            level_db: profile
                .tonal
                .mid_db
                .iter()
                .map(|d| d.0.is_finite().then_some(d.0))
                .collect(),
        }
    }

    /// This curve's level at a centre frequency, if it has that band.
    pub fn level_at(&self, centre_hz: f64) -> Option<f64> {
        self.centres_hz
            .iter()
            .position(|&c| (c - centre_hz).abs() <= CENTRE_MATCH_RELATIVE * centre_hz)
            .and_then(|i| self.level_db.get(i).copied().flatten())
    }

    /// Mean absolute difference in dB over the bands both curves have
    /// between [`COMPARE_LOW_HZ`] and [`COMPARE_HIGH_HZ`]; `None` when they
    /// share no such band.
    pub fn mean_abs_difference_db(&self, other: &Self) -> Option<f64> {
        let (sum, count) = self
            .centres_hz
            .iter()
            .zip(&self.level_db)
            .filter(|(c, _)| (COMPARE_LOW_HZ..=COMPARE_HIGH_HZ).contains(*c))
            .filter_map(|(&c, &mine)| Some((mine? - other.level_at(c)?).abs()))
            .fold((0.0, 0usize), |(s, n), d| (s + d, n + 1));
        (count > 0).then(|| sum / count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(levels: &[(f64, Option<f64>)]) -> TonalCurve {
        TonalCurve {
            centres_hz: levels.iter().map(|l| l.0).collect(),
            level_db: levels.iter().map(|l| l.1).collect(),
        }
    }

    #[test]
    fn mean_difference_uses_shared_bands_inside_the_window_only() {
        let a = curve(&[
            (20.0, Some(0.0)),
            (100.0, Some(-3.0)),
            (1000.0, Some(-10.0)),
            (2000.0, None),
            (20_000.0, Some(5.0)),
        ]);
        let b = curve(&[
            (20.0, Some(30.0)),
            (100.0, Some(-1.0)),
            (1000.0, Some(-14.0)),
            (2000.0, Some(0.0)),
            (20_000.0, Some(-40.0)),
        ]);
        // 100 Hz: 2 dB, 1 kHz: 4 dB; 20 Hz and 20 kHz are outside the window,
        // 2 kHz is missing on one side.
        assert_eq!(a.mean_abs_difference_db(&b), Some(3.0));
        assert_eq!(a.mean_abs_difference_db(&a), Some(0.0));
        let empty = curve(&[(20.0, Some(1.0))]);
        assert_eq!(empty.mean_abs_difference_db(&a), None);
    }
}
