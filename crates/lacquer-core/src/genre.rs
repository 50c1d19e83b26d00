//! What the genre classifier says about a track, in a shape the planner and
//! the report read without knowing anything about ONNX.

use serde::{Deserialize, Serialize};

/// One label's probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreScore {
    pub label: String,
    /// 0…1; the scores of one [`GenreScores`] sum to 1 (within rounding).
    pub probability: f64,
}

/// The classifier's distribution over its labels for one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreScores {
    /// The model card's version string, e.g. `genre-v1`.
    pub model_version: String,
    /// Sorted by probability, highest first (ties by label, so the order is
    /// deterministic).
    pub scores: Vec<GenreScore>,
    /// How many patches were averaged.
    pub patches: u32,
}

impl GenreScores {
    /// Sorts `scores` highest first, ties by label.
    pub fn new(
        model_version: impl Into<String>,
        mut scores: Vec<GenreScore>,
        patches: u32,
    ) -> Self {
        scores.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| a.label.cmp(&b.label))
        });
        Self {
            model_version: model_version.into(),
            scores,
            patches,
        }
    }

    /// The most probable label, or `None` for an empty distribution.
    pub fn top(&self) -> Option<&GenreScore> {
        self.scores.first()
    }

    /// The probability of `label` (0 when the model does not know it).
    pub fn probability_of(&self, label: &str) -> f64 {
        self.scores
            .iter()
            .find(|s| s.label == label)
            .map_or(0.0, |s| s.probability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_sort_highest_first_with_label_tie_break() {
        let s = GenreScores::new(
            "genre-v1",
            vec![
                GenreScore {
                    label: "b".into(),
                    probability: 0.2,
                },
                GenreScore {
                    label: "c".into(),
                    probability: 0.6,
                },
                GenreScore {
                    label: "a".into(),
                    probability: 0.2,
                },
            ],
            4,
        );
        let labels: Vec<_> = s.scores.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["c", "a", "b"]);
        assert_eq!(s.top().map(|g| g.label.as_str()), Some("c"));
        assert_eq!(s.probability_of("b"), 0.2);
        assert_eq!(s.probability_of("unknown"), 0.0);
    }
}
