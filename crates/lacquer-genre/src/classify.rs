//! From a whole track to one genre distribution.
//!
//! A track changes along its length (intro, drop, breakdown), so one patch
//! can mislead. Patches are spread over the whole track, each patch's logits
//! become probabilities on their own (softmax), and the probabilities are
//! averaged: every patch gets one equal vote, and a single extreme logit
//! cannot dominate the way averaged logits would let it.

use lacquer_core::{GenreScore, GenreScores};
use ndarray::Array2;

use crate::error::GenreError;
use crate::features::{FeatureSource, log_mel_patches};
use crate::model::GenreModel;

impl GenreModel {
    /// The genre distribution of a whole track: at most
    /// [`GenreModel::max_patches`] log-mel patches spread evenly from start
    /// to end (one zero-padded patch for audio shorter than a patch),
    /// softmax per patch, probabilities averaged. Scores are sorted highest
    /// first (ties by label); same input, same output bits.
    pub fn classify<S: FeatureSource + ?Sized>(
        &self,
        buffer: &S,
    ) -> Result<GenreScores, GenreError> {
        let patches = log_mel_patches(buffer, self.max_patches()).map_err(GenreError::Features)?;
        let logits = self.logits(&patches)?;
        let probabilities = mean_softmax(&logits);
        let scores = self
            .labels()
            .iter()
            .zip(probabilities)
            .map(|(label, probability)| GenreScore {
                label: label.clone(),
                probability,
            })
            .collect();
        let count = u32::try_from(patches.len()).unwrap_or(u32::MAX);
        Ok(GenreScores::new(self.version(), scores, count))
    }
}

/// Per-row softmax, then the mean over rows, in f64 so the result sums to 1
/// within rounding whatever the logits' spread. An empty matrix gives an
/// empty vector.
pub fn mean_softmax(logits: &Array2<f32>) -> Vec<f64> {
    let (rows, cols) = logits.dim();
    let mut mean = vec![0.0_f64; cols];
    if rows == 0 {
        return mean;
    }
    let mut row_probabilities = vec![0.0_f64; cols];
    for row in logits.rows() {
        softmax_into(row.iter().map(|&v| f64::from(v)), &mut row_probabilities);
        for (m, p) in mean.iter_mut().zip(&row_probabilities) {
            *m += p;
        }
    }
    let n = rows as f64;
    for m in &mut mean {
        *m /= n;
    }
    mean
}

/// Numerically safe softmax: the maximum is subtracted first, so no
/// exponential overflows and the largest term is exactly 1.
fn softmax_into(values: impl Iterator<Item = f64> + Clone, out: &mut [f64]) {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, v) in out.iter_mut().zip(values) {
        *o = (v - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// f64 arithmetic on a handful of terms.
    const TOL_PROBABILITY: f64 = 1e-12;

    #[test]
    fn equal_logits_give_a_uniform_distribution() {
        let p = mean_softmax(&array![[3.0_f32, 3.0, 3.0, 3.0]]);
        for v in p {
            assert!((v - 0.25).abs() < TOL_PROBABILITY);
        }
    }

    #[test]
    fn softmax_matches_its_definition() {
        // softmax([0, ln 3]) = [1/4, 3/4]
        let p = mean_softmax(&array![[0.0_f32, 3.0_f32.ln()]]);
        assert!((p[0] - 0.25).abs() < 1e-7, "{p:?}"); // ln 3 rounded to f32
        assert!((p[1] - 0.75).abs() < 1e-7, "{p:?}");
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let p = mean_softmax(&array![[1000.0_f32, 0.0], [-1000.0, 0.0]]);
        // Row 1 is [1, e^-1000], row 2 is [e^-1000, 1]: the mean is 1/2 each.
        assert!((p[0] - 0.5).abs() < TOL_PROBABILITY, "{p:?}");
        assert!((p[1] - 0.5).abs() < TOL_PROBABILITY, "{p:?}");
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn probabilities_not_logits_are_averaged() {
        // Averaging logits would give [5, 0] → ≈[0.993, 0.007]; averaging
        // probabilities gives each patch one vote: [(1+0.5)/2, (0+0.5)/2]
        // with the first row ≈ [1, 0].
        let p = mean_softmax(&array![[10.0_f32, -30.0], [0.0, 0.0]]);
        assert!((p[0] - 0.75).abs() < 1e-9, "{p:?}");
        assert!((p[1] - 0.25).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn an_empty_matrix_gives_zeros() {
        let p = mean_softmax(&Array2::<f32>::zeros((0, 3)));
        assert_eq!(p, vec![0.0; 3]);
    }
}
