//! Level estimates from the mix's long-term tonal curve.
//!
//! Compressor and dynamic-EQ thresholds are absolute levels at their
//! detectors, which sit after the EQ. The analysis already holds the power
//! of every 1/3 octave, so the planner can predict those levels (and how
//! much an EQ curve moves the integrated loudness) without running audio.

use lacquer_core::analysis::TonalAnalysis;
use lacquer_core::chain::MatchPoint;
use std::f64::consts::PI;

/// The match-EQ curves as planned: `mid` for both channels, or for the MID
/// when `side` is given (mid/side matching, reference mode). Empty curves
/// are flat.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ToneCurves {
    pub mid: Vec<MatchPoint>,
    pub side: Option<Vec<MatchPoint>>,
}

impl ToneCurves {
    /// Gains (dB) at `f_hz` on the MID and on the SIDE.
    pub(crate) fn gains_db(&self, f_hz: f64) -> (f64, f64) {
        let mid = curve_gain_db(&self.mid, f_hz);
        let side = self.side.as_deref().map_or(mid, |s| curve_gain_db(s, f_hz));
        (mid, side)
    }
}

/// Per-channel power of each 1/3-octave band, linear, MID and SIDE apart
/// (their sum is the mean of L² and R²); empty bands are 0.
#[derive(Debug, Clone)]
pub(crate) struct BandPowers {
    pub centres_hz: Vec<f64>,
    pub mid: Vec<f64>,
    pub side: Vec<f64>,
}

impl BandPowers {
    pub(crate) fn from_tonal(tonal: &TonalAnalysis) -> Self {
        let to_power = |db: f64| {
            if db.is_finite() && db > tonal.floor_db.0 {
                10f64.powf(db / 10.0)
            } else {
                0.0
            }
        };
        Self {
            centres_hz: tonal.third_octave_centres_hz.iter().map(|h| h.0).collect(),
            mid: tonal.mid_db.iter().map(|m| to_power(m.0)).collect(),
            side: tonal.side_db.iter().map(|s| to_power(s.0)).collect(),
        }
    }

    /// Each band's (centre, power after `curves`), per channel.
    fn after<'a>(&'a self, curves: &'a ToneCurves) -> impl Iterator<Item = (f64, f64)> + 'a {
        self.centres_hz
            .iter()
            .zip(self.mid.iter().zip(&self.side))
            .map(|(&f, (&m, &s))| {
                let (g_mid, g_side) = curves.gains_db(f);
                (f, m * db_to_power(g_mid) + s * db_to_power(g_side))
            })
    }

    /// Level (dBFS, RMS per channel) of the bands between `low_hz` and
    /// `high_hz` (centres inclusive), after `curves`, each band weighted by
    /// `weight(f)` (a power response, e.g. a side-chain filter). `None` when
    /// that part of the spectrum is empty.
    pub(crate) fn level_db(
        &self,
        low_hz: f64,
        high_hz: f64,
        curves: &ToneCurves,
        weight: impl Fn(f64) -> f64,
    ) -> Option<f64> {
        let total: f64 = self
            .after(curves)
            .filter(|(f, _)| (low_hz..=high_hz).contains(f))
            .map(|(f, p)| p * weight(f))
            .sum();
        (total > 0.0).then(|| 10.0 * total.log10())
    }

    /// Change of K-weighted (BS.1770) loudness, in LU, that `curves` cause.
    pub(crate) fn loudness_change_db(&self, curves: &ToneCurves) -> f64 {
        let flat = ToneCurves::default();
        let weighted =
            |c: &ToneCurves| -> f64 { self.after(c).map(|(f, p)| p * k_weighting_power(f)).sum() };
        let (before, after) = (weighted(&flat), weighted(curves));
        if before > 0.0 && after > 0.0 {
            10.0 * (after / before).log10()
        } else {
            0.0
        }
    }
}

pub(crate) fn db_to_power(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Gain of a match-EQ curve at `f_hz`, read the way the match EQ reads it:
/// interpolated in log-frequency between points, held flat beyond the ends.
/// An empty curve is flat.
pub(crate) fn curve_gain_db(curve: &[MatchPoint], f_hz: f64) -> f64 {
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return 0.0;
    };
    if f_hz <= first.frequency_hz {
        return first.gain_db;
    }
    if f_hz >= last.frequency_hz {
        return last.gain_db;
    }
    for pair in curve.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if f_hz <= b.frequency_hz {
            let t = (f_hz / a.frequency_hz).ln() / (b.frequency_hz / a.frequency_hz).ln();
            return a.gain_db + t * (b.gain_db - a.gain_db);
        }
    }
    last.gain_db
}

/// Power response of the BS.1770 K-weighting filter at `f_hz`, from its
/// published 48 kHz coefficients (shelf, then the RLB high-pass). Only the
/// relative weighting of bands matters here, so one rate serves all.
pub(crate) fn k_weighting_power(f_hz: f64) -> f64 {
    const SHELF_B: [f64; 3] = [
        1.535_124_859_586_97,
        -2.691_696_189_406_38,
        1.198_392_810_852_85,
    ];
    const SHELF_A: [f64; 3] = [1.0, -1.690_659_293_182_41, 0.732_480_774_215_85];
    const RLB_B: [f64; 3] = [1.0, -2.0, 1.0];
    const RLB_A: [f64; 3] = [1.0, -1.990_047_454_833_98, 0.990_072_250_366_21];
    const RATE_HZ: f64 = 48_000.0;
    let w = 2.0 * PI * f_hz.min(0.499 * RATE_HZ) / RATE_HZ;
    biquad_power(&SHELF_B, &SHELF_A, w) * biquad_power(&RLB_B, &RLB_A, w)
}

/// |H(e^{jw})|² of one biquad.
fn biquad_power(b: &[f64; 3], a: &[f64; 3], w: f64) -> f64 {
    let eval = |c: &[f64; 3]| {
        let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
        let im = -(c[1] * w.sin() + c[2] * (2.0 * w).sin());
        re * re + im * im
    };
    let den = eval(a);
    if den > 0.0 { eval(b) / den } else { 0.0 }
}

/// Power response of a 2nd-order Butterworth high-pass at `corner_hz`
/// (the glue's side-chain filter).
pub(crate) fn butterworth2_highpass_power(f_hz: f64, corner_hz: f64) -> f64 {
    if corner_hz <= 0.0 {
        return 1.0;
    }
    let r4 = (f_hz / corner_hz).powi(4);
    r4 / (1.0 + r4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BS.1770 puts the K-weighting's gain at 997 Hz at +0.691 dB (the
    /// −0.691 in the loudness formula cancels it) and its shelf at about
    /// +4 dB; the RLB high-pass (~38 Hz, 2nd order) takes 20 Hz down by
    /// more than 10 dB. The RLB stage is a 2nd-order high-pass at ~38 Hz
    /// with Q 0.5, |H|² = r⁴/(1 + r²)²: −1.17 dB at 100 Hz, so 100 Hz sits
    /// about 1.86 dB under 997 Hz.
    #[test]
    fn k_weighting_has_the_standard_shape() {
        const TOL_997_HZ_DB: f64 = 0.01;
        let db = |f: f64| 10.0 * k_weighting_power(f).log10();
        assert!((db(997.0) - 0.691).abs() < TOL_997_HZ_DB, "{}", db(997.0));
        assert!((3.8..4.1).contains(&db(10_000.0)), "{}", db(10_000.0));
        assert!(db(20.0) - db(997.0) < -10.0, "{}", db(20.0));
        const TOL_100_HZ_DB: f64 = 0.1;
        let rel_100 = db(100.0) - db(997.0);
        assert!((rel_100 + 1.86).abs() < TOL_100_HZ_DB, "{rel_100}");
    }

    #[test]
    fn curve_reads_like_the_match_eq() {
        let curve = [
            MatchPoint {
                frequency_hz: 100.0,
                gain_db: 0.0,
            },
            MatchPoint {
                frequency_hz: 1000.0,
                gain_db: -2.0,
            },
        ];
        assert_eq!(curve_gain_db(&curve, 50.0), 0.0);
        assert_eq!(curve_gain_db(&curve, 5000.0), -2.0);
        assert!((curve_gain_db(&curve, 316.227_766) + 1.0).abs() < 1e-6);
        assert_eq!(curve_gain_db(&[], 440.0), 0.0);
    }
}
