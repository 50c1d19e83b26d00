//! The scores, as pure functions of (true label, probabilities, latency) per
//! clip, so every figure can be checked by hand and recomputed from
//! `predictions.csv` without running a model.
//!
//! Conventions, chosen once and named here:
//! - The predicted label is the most probable one; ties go to the label that
//!   sorts first, so the outcome never depends on iteration order.
//! - Tables list labels sorted by name: the union of the model's labels and
//!   the truth labels. A truth label the model does not know stays in (every
//!   such clip counts as an error) and is listed in `unknown_labels`.
//! - Confusion matrix: `counts[truth][predicted]` (rows are the truth).
//! - Precision of a label never predicted and recall of a label never true
//!   are undefined (`None`); their F1 counts as 0.
//! - Macro-F1 averages the F1 of every label that is true or predicted at
//!   least once (scikit-learn's default label set), so a label the model
//!   knows but the corpus lacks does not drag the mean.
//! - Expected calibration error over [`ECE_BINS`] equal-width confidence bins,
//!   bin k = [k/10, (k+1)/10), the last bin closed at 1.

use crate::EvalError;
use serde::Serialize;

/// Equal-width confidence bins of the expected calibration error.
pub const ECE_BINS: usize = 10;

/// One clip as a model saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub clip_id: String,
    /// The manifest's label.
    pub truth: String,
    /// One probability per model label, in the order of the labels given
    /// alongside (see [`score`]).
    pub probabilities: Vec<f64>,
    /// Wall time of the model's classify call (features + inference).
    pub latency_s: f64,
}

/// A prediction with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredClip {
    pub clip_id: String,
    pub truth: String,
    pub predicted: String,
    /// Probability of the predicted label.
    pub confidence: f64,
    pub correct: bool,
    pub latency_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMetrics {
    pub label: String,
    /// Clips whose truth is this label.
    pub support: u64,
    /// Clips predicted as this label.
    pub predicted: u64,
    pub true_positives: u64,
    /// `None` when the label was never predicted.
    pub precision: Option<f64>,
    /// `None` when no clip has this label.
    pub recall: Option<f64>,
    /// 0 when precision and recall are both 0 or undefined.
    pub f1: f64,
    /// Whether the model has this label at all.
    pub known_to_model: bool,
}

/// Rows are the truth, columns the prediction; both in `labels` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    pub labels: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub clips: u64,
    /// `None` for an empty bin.
    pub accuracy: Option<f64>,
    pub mean_confidence: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelCount {
    pub label: String,
    pub clips: u64,
}

/// Everything `lacquer eval` reports about one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub clips: u64,
    pub correct: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// How many labels the macro average is over.
    pub macro_f1_labels: u64,
    /// Expected calibration error over [`ECE_BINS`] bins.
    pub ece: f64,
    pub calibration: Vec<CalibrationBin>,
    /// Sorted by label.
    pub per_label: Vec<LabelMetrics>,
    pub confusion: ConfusionMatrix,
    pub latency_mean_ms: f64,
    pub latency_median_ms: f64,
    /// Truth labels the model does not have, with their clip counts.
    pub unknown_labels: Vec<LabelCount>,
    /// Clips per predicted outcome, sorted by clip id.
    pub scored: Vec<ScoredClip>,
}

fn invalid(detail: String) -> EvalError {
    EvalError::InvalidPredictions { detail }
}

/// Index of the most probable label; ties to the label sorting first.
/// NaN never wins.
fn argmax(labels: &[String], probabilities: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &p) in probabilities.iter().enumerate() {
        if p.is_nan() {
            continue;
        }
        best = match best {
            None => Some(i),
            Some(b) => {
                let q = probabilities[b];
                if p > q || (p == q && labels[i] < labels[b]) {
                    Some(i)
                } else {
                    Some(b)
                }
            }
        };
    }
    best
}

/// Scores one model's predictions. `model_labels` are the model's labels in
/// the order of every prediction's `probabilities`; they must be unique.
pub fn score(model_labels: &[String], predictions: &[Prediction]) -> Result<Metrics, EvalError> {
    if predictions.is_empty() {
        return Err(invalid("no predictions to score".into()));
    }
    if model_labels.is_empty() {
        return Err(invalid("the model has no labels".into()));
    }
    let mut sorted_model: Vec<&String> = model_labels.iter().collect();
    sorted_model.sort();
    if let Some(w) = sorted_model.windows(2).find(|w| w[0] == w[1]) {
        return Err(invalid(format!("the model lists label {} twice", w[0])));
    }

    let mut scored = Vec::with_capacity(predictions.len());
    for p in predictions {
        if p.probabilities.len() != model_labels.len() {
            return Err(invalid(format!(
                "clip {}: {} probabilities for {} labels",
                p.clip_id,
                p.probabilities.len(),
                model_labels.len()
            )));
        }
        if !(p.latency_s.is_finite() && p.latency_s >= 0.0) {
            return Err(invalid(format!(
                "clip {}: latency {} s",
                p.clip_id, p.latency_s
            )));
        }
        let best = argmax(model_labels, &p.probabilities)
            .ok_or_else(|| invalid(format!("clip {}: every probability is NaN", p.clip_id)))?;
        let predicted = model_labels[best].clone();
        scored.push(ScoredClip {
            clip_id: p.clip_id.clone(),
            correct: predicted == p.truth,
            truth: p.truth.clone(),
            predicted,
            confidence: p.probabilities[best],
            latency_s: p.latency_s,
        });
    }
    scored.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
    if let Some(w) = scored.windows(2).find(|w| w[0].clip_id == w[1].clip_id) {
        return Err(invalid(format!("clip {} is scored twice", w[0].clip_id)));
    }

    let mut labels: Vec<String> = model_labels.to_vec();
    labels.extend(scored.iter().map(|s| s.truth.clone()));
    labels.sort();
    labels.dedup();
    let index = |label: &str| labels.binary_search_by(|l| l.as_str().cmp(label)).ok();

    let n = labels.len();
    let mut counts = vec![vec![0_u64; n]; n];
    for s in &scored {
        // Both labels are in `labels` by construction.
        if let (Some(t), Some(p)) = (index(&s.truth), index(&s.predicted)) {
            counts[t][p] += 1;
        }
    }

    let per_label: Vec<LabelMetrics> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let support: u64 = counts[i].iter().sum();
            let predicted: u64 = counts.iter().map(|row| row[i]).sum();
            let tp = counts[i][i];
            let precision = (predicted > 0).then(|| tp as f64 / predicted as f64);
            let recall = (support > 0).then(|| tp as f64 / support as f64);
            let (p, r) = (precision.unwrap_or(0.0), recall.unwrap_or(0.0));
            let f1 = if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
            LabelMetrics {
                label: label.clone(),
                support,
                predicted,
                true_positives: tp,
                precision,
                recall,
                f1,
                known_to_model: sorted_model.binary_search(&label).is_ok(),
            }
        })
        .collect();

    let averaged: Vec<f64> = per_label
        .iter()
        .filter(|m| m.support > 0 || m.predicted > 0)
        .map(|m| m.f1)
        .collect();
    let macro_f1 = averaged.iter().sum::<f64>() / averaged.len() as f64;

    let clips = scored.len() as u64;
    let correct = scored.iter().filter(|s| s.correct).count() as u64;
    let (ece, calibration) = expected_calibration_error(&scored);
    let mut latencies_s: Vec<f64> = scored.iter().map(|s| s.latency_s).collect();
    let unknown_labels = per_label
        .iter()
        .filter(|m| !m.known_to_model)
        .map(|m| LabelCount {
            label: m.label.clone(),
            clips: m.support,
        })
        .collect();

    Ok(Metrics {
        clips,
        correct,
        accuracy: correct as f64 / clips as f64,
        macro_f1,
        macro_f1_labels: averaged.len() as u64,
        ece,
        calibration,
        per_label,
        confusion: ConfusionMatrix { labels, counts },
        latency_mean_ms: mean(&latencies_s) * 1e3,
        latency_median_ms: median(&mut latencies_s) * 1e3,
        unknown_labels,
        scored,
    })
}

/// ECE = Σ_bins (clips in bin / all clips) · |accuracy in bin − mean confidence in bin|.
pub fn expected_calibration_error(scored: &[ScoredClip]) -> (f64, Vec<CalibrationBin>) {
    let mut clips = [0_u64; ECE_BINS];
    let mut correct = [0_u64; ECE_BINS];
    let mut confidence_sum = [0.0_f64; ECE_BINS];
    for s in scored {
        let c = s.confidence.clamp(0.0, 1.0);
        let bin = ((c * ECE_BINS as f64).floor() as usize).min(ECE_BINS - 1);
        clips[bin] += 1;
        correct[bin] += u64::from(s.correct);
        confidence_sum[bin] += c;
    }
    let total = scored.len() as f64;
    let mut ece = 0.0;
    let bins = (0..ECE_BINS)
        .map(|k| {
            let (accuracy, mean_confidence) = if clips[k] == 0 {
                (None, None)
            } else {
                let n = clips[k] as f64;
                let acc = correct[k] as f64 / n;
                let conf = confidence_sum[k] / n;
                ece += n / total * (acc - conf).abs();
                (Some(acc), Some(conf))
            };
            CalibrationBin {
                lower: k as f64 / ECE_BINS as f64,
                upper: (k + 1) as f64 / ECE_BINS as f64,
                clips: clips[k],
                accuracy,
                mean_confidence,
            }
        })
        .collect();
    (ece, bins)
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Median (mean of the two middle values for an even count); sorts in place.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every figure below is worked out by hand; floats are compared within this.
    const TOL: f64 = 1e-12;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn pred(id: &str, truth: &str, probabilities: &[f64], latency_ms: f64) -> Prediction {
        Prediction {
            clip_id: id.into(),
            truth: truth.into(),
            probabilities: probabilities.to_vec(),
            latency_s: latency_ms / 1e3,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL
    }

    fn metric<'a>(m: &'a Metrics, label: &str) -> &'a LabelMetrics {
        m.per_label.iter().find(|l| l.label == label).unwrap()
    }

    /// Three labels a, b, c; c is never predicted.
    ///   clip truth predicted (confidence)
    ///   1    a     a  (0.95)
    ///   2    a     a  (0.85)
    ///   3    a     b  (0.65)
    ///   4    b     b  (0.75)
    ///   5    b     a  (0.55)
    ///   6    c     b  (0.45)
    fn six_clips() -> (Vec<String>, Vec<Prediction>) {
        let l = labels(&["a", "b", "c"]);
        let p = vec![
            pred("1", "a", &[0.95, 0.03, 0.02], 10.0),
            pred("2", "a", &[0.85, 0.1, 0.05], 20.0),
            pred("3", "a", &[0.3, 0.65, 0.05], 30.0),
            pred("4", "b", &[0.2, 0.75, 0.05], 40.0),
            pred("5", "b", &[0.55, 0.3, 0.15], 50.0),
            pred("6", "c", &[0.3, 0.45, 0.25], 1000.0),
        ];
        (l, p)
    }

    #[test]
    fn accuracy_confusion_and_orientation() {
        let (l, p) = six_clips();
        let m = score(&l, &p).unwrap();
        assert_eq!(m.clips, 6);
        assert_eq!(m.correct, 3);
        assert!(close(m.accuracy, 0.5));
        assert_eq!(m.confusion.labels, l);
        // rows = truth: truth a went to a twice and to b once.
        assert_eq!(
            m.confusion.counts,
            vec![vec![2, 1, 0], vec![1, 1, 0], vec![0, 1, 0]]
        );
        assert_eq!(m.confusion.total(), 6);
    }

    #[test]
    fn per_label_precision_recall_f1_with_a_class_never_predicted() {
        let (l, p) = six_clips();
        let m = score(&l, &p).unwrap();
        let a = metric(&m, "a");
        // a: tp 2, predicted 3 (clips 1,2,5), support 3.
        assert_eq!((a.true_positives, a.predicted, a.support), (2, 3, 3));
        assert!(close(a.precision.unwrap(), 2.0 / 3.0));
        assert!(close(a.recall.unwrap(), 2.0 / 3.0));
        assert!(close(a.f1, 2.0 / 3.0));
        let b = metric(&m, "b");
        // b: tp 1, predicted 3 (clips 3,4,6), support 2 → P 1/3, R 1/2, F1 0.4.
        assert!(close(b.precision.unwrap(), 1.0 / 3.0));
        assert!(close(b.recall.unwrap(), 0.5));
        assert!(close(b.f1, 0.4));
        let c = metric(&m, "c");
        assert_eq!(c.predicted, 0);
        assert_eq!(c.precision, None);
        assert_eq!(c.recall, Some(0.0));
        assert_eq!(c.f1, 0.0);
        // Macro-F1 over a, b, c (c is true once): (2/3 + 0.4 + 0) / 3.
        assert_eq!(m.macro_f1_labels, 3);
        assert!(close(m.macro_f1, (2.0 / 3.0 + 0.4) / 3.0));
    }

    #[test]
    fn ece_with_ten_equal_width_bins() {
        let (l, p) = six_clips();
        let m = score(&l, &p).unwrap();
        // Confidences 0.95 ✓, 0.85 ✓, 0.65 ✗, 0.75 ✓, 0.55 ✗, 0.45 ✗, one per bin:
        // 0.05 + 0.15 + 0.65 + 0.25 + 0.55 + 0.45 = 2.1, weighted 1/6 each.
        assert!(close(m.ece, 2.1 / 6.0), "{}", m.ece);
        assert_eq!(m.calibration.len(), ECE_BINS);
        let occupied: Vec<usize> = (0..ECE_BINS)
            .filter(|&k| m.calibration[k].clips > 0)
            .collect();
        assert_eq!(occupied, [4, 5, 6, 7, 8, 9]);
        assert_eq!(m.calibration[0].accuracy, None);
        assert!(close(m.calibration[9].lower, 0.9) && close(m.calibration[9].upper, 1.0));
    }

    #[test]
    fn ece_bins_share_clips_and_put_one_in_the_last_bin() {
        let l = labels(&["x", "y"]);
        let p = vec![
            // Bin 9 gets 1.0 and 0.95: accuracy 1/2, mean confidence 0.975.
            pred("1", "x", &[1.0, 0.0], 1.0),
            pred("2", "y", &[0.95, 0.05], 1.0),
            // Bin 6: 0.62 and 0.68, both right: |1 − 0.65|.
            pred("3", "x", &[0.62, 0.38], 1.0),
            pred("4", "y", &[0.32, 0.68], 1.0),
        ];
        let m = score(&l, &p).unwrap();
        let expected = 2.0 / 4.0 * (0.5_f64 - 0.975).abs() + 2.0 / 4.0 * (1.0_f64 - 0.65).abs();
        assert!(close(m.ece, expected), "{} vs {expected}", m.ece);
        assert_eq!(m.calibration[9].clips, 2);
        assert_eq!(m.calibration[6].clips, 2);
    }

    #[test]
    fn perfectly_calibrated_certain_model_has_zero_ece_and_unit_scores() {
        let l = labels(&["x", "y"]);
        let p = vec![
            pred("1", "x", &[1.0, 0.0], 1.0),
            pred("2", "y", &[0.0, 1.0], 3.0),
        ];
        let m = score(&l, &p).unwrap();
        assert_eq!(m.ece, 0.0);
        assert_eq!(m.accuracy, 1.0);
        assert_eq!(m.macro_f1, 1.0);
    }

    #[test]
    fn latency_mean_and_median() {
        let (l, p) = six_clips();
        let m = score(&l, &p).unwrap();
        // 10, 20, 30, 40, 50, 1000 ms: mean 1150/6, median (30+40)/2.
        assert!((m.latency_mean_ms - 1150.0 / 6.0).abs() < 1e-9);
        assert!((m.latency_median_ms - 35.0).abs() < 1e-9);
        let odd = score(&l, &p[..5]).unwrap();
        assert!((odd.latency_median_ms - 30.0).abs() < 1e-9);
    }

    #[test]
    fn labels_unknown_to_the_model_are_kept_and_reported() {
        let l = labels(&["a", "b"]);
        let p = vec![
            pred("1", "a", &[0.9, 0.1], 1.0),
            pred("2", "zz_unknown", &[0.4, 0.6], 1.0),
            pred("3", "zz_unknown", &[0.7, 0.3], 1.0),
        ];
        let m = score(&l, &p).unwrap();
        assert_eq!(
            m.unknown_labels,
            vec![LabelCount {
                label: "zz_unknown".into(),
                clips: 2
            }]
        );
        assert_eq!(m.clips, 3);
        assert!(close(m.accuracy, 1.0 / 3.0));
        assert_eq!(m.confusion.labels, labels(&["a", "b", "zz_unknown"]));
        assert_eq!(m.confusion.counts[2], vec![1, 1, 0]);
        let u = metric(&m, "zz_unknown");
        assert!(!u.known_to_model);
        assert_eq!((u.support, u.f1), (2, 0.0));
        // a: P 1/2, R 1 → F1 2/3; b: predicted once, never true → 0; unknown 0.
        assert!(close(m.macro_f1, (2.0 / 3.0) / 3.0));
    }

    #[test]
    fn labels_the_corpus_lacks_are_listed_but_not_averaged() {
        let l = labels(&["a", "b", "never"]);
        let p = vec![
            pred("1", "a", &[0.9, 0.1, 0.0], 1.0),
            pred("2", "b", &[0.1, 0.9, 0.0], 1.0),
        ];
        let m = score(&l, &p).unwrap();
        let never = metric(&m, "never");
        assert_eq!(
            (
                never.support,
                never.predicted,
                never.precision,
                never.recall
            ),
            (0, 0, None, None)
        );
        assert_eq!(m.macro_f1_labels, 2);
        assert_eq!(m.macro_f1, 1.0);
    }

    #[test]
    fn ties_go_to_the_label_sorting_first_whatever_the_model_order() {
        let l = labels(&["zeta", "alpha"]);
        let p = vec![pred("1", "alpha", &[0.5, 0.5], 1.0)];
        let m = score(&l, &p).unwrap();
        assert_eq!(m.scored[0].predicted, "alpha");
        assert!(m.scored[0].correct);
        // Tables are sorted by label regardless of the model's order.
        assert_eq!(m.confusion.labels, labels(&["alpha", "zeta"]));
    }

    #[test]
    fn nan_probabilities_never_win() {
        let l = labels(&["a", "b"]);
        let p = vec![pred("1", "b", &[f64::NAN, 0.2], 1.0)];
        let m = score(&l, &p).unwrap();
        assert_eq!(m.scored[0].predicted, "b");
        let all_nan = vec![pred("1", "b", &[f64::NAN, f64::NAN], 1.0)];
        assert!(score(&l, &all_nan).is_err());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let l = labels(&["a", "b"]);
        assert!(score(&l, &[]).is_err());
        assert!(score(&[], &[pred("1", "a", &[], 1.0)]).is_err());
        assert!(score(&labels(&["a", "a"]), &[pred("1", "a", &[0.5, 0.5], 1.0)]).is_err());
        assert!(score(&l, &[pred("1", "a", &[1.0], 1.0)]).is_err());
        assert!(score(&l, &[pred("1", "a", &[1.0, 0.0], f64::NAN)]).is_err());
        let twice = [
            pred("1", "a", &[1.0, 0.0], 1.0),
            pred("1", "a", &[1.0, 0.0], 1.0),
        ];
        assert!(score(&l, &twice).is_err());
    }

    #[test]
    fn order_of_predictions_does_not_change_the_result() {
        let (l, mut p) = six_clips();
        let forward = score(&l, &p).unwrap();
        p.reverse();
        assert_eq!(score(&l, &p).unwrap(), forward);
    }
}
