//! Loudness-normalised 1/3-octave curves and how two of them line up.
//!
//! A mix and its target rarely share a sample rate or a length, so their
//! `TonalAnalysis` vectors differ in count; bands are matched by centre
//! frequency, never by index. A band is only compared where both sides can
//! represent it fully: its upper edge below both Nyquist frequencies and real
//! energy in it (not the analysis floor, not rounding noise far below the
//! programme).

use lacquer_core::Analysis;

/// A band this far (dB) below the track's integrated loudness holds rounding
/// noise or a resampler's stopband, not programme: f32 audio at −14 LUFS has
/// its rounding floor around −140 dBFS per band, and nobody hears a band
/// 100 dB under the programme. Such bands are treated as empty.
pub const EMPTY_BAND_BELOW_LOUDNESS_DB: f64 = 100.0;

/// Half a 1/3 octave, as a power of ten: the band edges are the exact centre
/// times 10^(±0.05) (IEC 61260 base-ten bands).
const HALF_BAND_EXPONENT: f64 = 0.05;

/// Two nominal centres are the same band when they are closer than this
/// (in octaves): ISO 266 nominal values round the exact ones by < 1 %.
const SAME_BAND_OCTAVES: f64 = 1.0 / 12.0;

/// The exact base-ten centre of the band whose ISO 266 nominal centre is
/// `nominal_hz` (e.g. 31.5 → 31.62).
pub fn exact_centre_hz(nominal_hz: f64) -> f64 {
    let index = (10.0 * (nominal_hz / 1_000.0).log10()).round();
    1_000.0 * 10f64.powf(index / 10.0)
}

/// Lower edge of the band with nominal centre `nominal_hz`.
pub fn lower_edge_hz(nominal_hz: f64) -> f64 {
    exact_centre_hz(nominal_hz) * 10f64.powf(-HALF_BAND_EXPONENT)
}

/// Upper edge of the band with nominal centre `nominal_hz`.
pub fn upper_edge_hz(nominal_hz: f64) -> f64 {
    exact_centre_hz(nominal_hz) * 10f64.powf(HALF_BAND_EXPONENT)
}

/// Whether two nominal centres name the same 1/3-octave band.
pub fn same_band(a_hz: f64, b_hz: f64) -> bool {
    a_hz > 0.0 && b_hz > 0.0 && (a_hz / b_hz).log2().abs() < SAME_BAND_OCTAVES
}

/// One track's (or one profile's) tonal curve: per band, level − integrated
/// loudness in dB, `None` where the band cannot be compared.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalisedCurve {
    pub centres_hz: Vec<f64>,
    pub mid_db: Vec<Option<f64>>,
    pub side_db: Vec<Option<f64>>,
}

impl NormalisedCurve {
    /// The curve of an analysed track; `None` when the track has no tonal
    /// analysis or no integrated loudness (silence).
    pub fn from_analysis(analysis: &Analysis) -> Option<Self> {
        let tonal = analysis.tonal.as_ref()?;
        let loudness = analysis.loudness.integrated_lufs?.0;
        let nyquist_hz = f64::from(analysis.sample_rate_hz) / 2.0;
        let floor = tonal.floor_db.0;
        let level = |band_db: f64, centre_hz: f64| -> Option<f64> {
            let normalised = band_db - loudness;
            let representable = upper_edge_hz(centre_hz) < nyquist_hz;
            let has_energy = band_db > floor && normalised > -EMPTY_BAND_BELOW_LOUDNESS_DB;
            (representable && has_energy && normalised.is_finite()).then_some(normalised)
        };
        let centres_hz: Vec<f64> = tonal.third_octave_centres_hz.iter().map(|c| c.0).collect();
        let mid_db = centres_hz
            .iter()
            .zip(&tonal.mid_db)
            .map(|(&c, d)| level(d.0, c))
            .collect();
        let side_db = centres_hz
            .iter()
            .zip(&tonal.side_db)
            .map(|(&c, d)| level(d.0, c))
            .collect();
        Some(Self {
            centres_hz,
            mid_db,
            side_db,
        })
    }

    /// Index of the band with this nominal centre.
    pub fn index_of(&self, centre_hz: f64) -> Option<usize> {
        self.centres_hz
            .iter()
            .position(|&c| same_band(c, centre_hz))
    }

    pub fn mid_at(&self, centre_hz: f64) -> Option<f64> {
        self.index_of(centre_hz).and_then(|i| self.mid_db[i])
    }

    pub fn side_at(&self, centre_hz: f64) -> Option<f64> {
        self.index_of(centre_hz).and_then(|i| self.side_db[i])
    }
}

/// Smooths per-band deltas over neighbouring 1/3 octaves with the weights
/// 1/4, 1/2, 1/4 (about 2/3-octave resolution: a mastering EQ does not chase
/// single thirds, and one third's estimate is noisy). Only comparable bands
/// take part; the weights are renormalised over them, and an incomparable
/// band reads 0. A straight line in log-frequency passes unchanged wherever
/// both neighbours are comparable.
pub fn smooth_thirds(raw_db: &[Option<f64>]) -> Vec<f64> {
    const WEIGHTS: [f64; 3] = [0.25, 0.5, 0.25];
    (0..raw_db.len())
        .map(|i| {
            if raw_db[i].is_none() {
                return 0.0;
            }
            let (mut sum, mut weight) = (0.0, 0.0);
            for (offset, w) in WEIGHTS.iter().enumerate() {
                let Some(j) = (i + offset).checked_sub(1) else {
                    continue;
                };
                if let Some(Some(v)) = raw_db.get(j) {
                    sum += w * v;
                    weight += w;
                }
            }
            sum / weight
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-12;

    #[test]
    fn nominal_centres_map_to_base_ten_bands() {
        assert!((exact_centre_hz(1_000.0) - 1_000.0).abs() < TOL);
        assert!((exact_centre_hz(31.5) - 31.622_776_601_683_8).abs() < 1e-9);
        assert!((exact_centre_hz(20_000.0) - 19_952.623_149_688_8).abs() < 1e-6);
        // Adjacent bands share an edge.
        assert!((upper_edge_hz(800.0) - lower_edge_hz(1_000.0)).abs() < 1e-9);
        assert!(same_band(31.5, 31.62));
        assert!(!same_band(31.5, 40.0));
    }

    #[test]
    fn smoothing_keeps_lines_and_zeroes_gaps() {
        let line: Vec<Option<f64>> = (0..8).map(|i| Some(0.5 * f64::from(i) - 1.0)).collect();
        let smoothed = smooth_thirds(&line);
        for i in 1..7 {
            assert!((smoothed[i] - line[i].unwrap_or(f64::NAN)).abs() < TOL);
        }
        let gapped = [Some(2.0), None, Some(4.0), Some(4.0)];
        let s = smooth_thirds(&gapped);
        assert_eq!(s[1], 0.0);
        assert!((s[0] - 2.0).abs() < TOL);
        assert!((s[2] - 4.0).abs() < TOL);
    }
}
