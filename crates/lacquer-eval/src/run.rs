//! Running models over clips: deliberately thin, because everything worth
//! testing happens in [`crate::metrics`] on the predictions it collects.
//!
//! Each clip is decoded once and handed to every model in turn, so the
//! versions are compared on identical audio and memory holds one clip at a
//! time. Latency is the wall time of the model's `classify` call alone
//! (features + inference), not decoding.

use crate::metrics::{Metrics, Prediction, score};
use crate::{ClassifierError, EvalError, ResolvedClip};
use lacquer_core::{AudioBuffer, GenreScores};
use serde::Serialize;
use std::time::Instant;

/// A genre model as the evaluation sees it.
pub trait Classifier {
    /// Name in tables and file names (the model card's version, e.g. `genre-v1`).
    fn name(&self) -> &str;
    /// Every label the model can output.
    fn labels(&self) -> &[String];
    fn classify(&mut self, audio: &AudioBuffer) -> Result<GenreScores, ClassifierError>;
}

/// One model's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResult {
    pub name: String,
    /// The model's labels, sorted; the order of every prediction's probabilities.
    pub labels: Vec<String>,
    pub metrics: Metrics,
    pub predictions: Vec<Prediction>,
}

/// Runs every model on every clip and scores them. `load` turns a clip into
/// audio; `progress(done, total)` is called after each clip.
pub fn evaluate(
    clips: &[ResolvedClip],
    models: &mut [Box<dyn Classifier + '_>],
    mut load: impl FnMut(&ResolvedClip) -> Result<AudioBuffer, EvalError>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<ModelResult>, EvalError> {
    let labels: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            let mut l = m.labels().to_vec();
            l.sort();
            l
        })
        .collect();
    let mut predictions: Vec<Vec<Prediction>> = models
        .iter()
        .map(|_| Vec::with_capacity(clips.len()))
        .collect();
    for (done, clip) in clips.iter().enumerate() {
        let audio = load(clip)?;
        for (i, model) in models.iter_mut().enumerate() {
            let started = Instant::now();
            let scores = model
                .classify(&audio)
                .map_err(|source| EvalError::Classify {
                    model: model.name().to_string(),
                    clip_id: clip.clip_id.clone(),
                    source,
                })?;
            let latency_s = started.elapsed().as_secs_f64();
            let probabilities =
                align(&labels[i], &scores).map_err(|detail| EvalError::ModelOutput {
                    model: model.name().to_string(),
                    clip_id: clip.clip_id.clone(),
                    detail,
                })?;
            predictions[i].push(Prediction {
                clip_id: clip.clip_id.clone(),
                truth: clip.genre.clone(),
                probabilities,
                latency_s,
            });
        }
        progress(done + 1, clips.len());
    }
    models
        .iter()
        .zip(labels)
        .zip(predictions)
        .map(|((model, labels), mut predictions)| {
            predictions.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
            Ok(ModelResult {
                name: model.name().to_string(),
                metrics: score(&labels, &predictions)?,
                labels,
                predictions,
            })
        })
        .collect()
}

/// The scores as a probability per label in `labels` order. A label the
/// model outputs but does not declare means the model and its card disagree.
fn align(labels: &[String], scores: &GenreScores) -> Result<Vec<f64>, String> {
    if let Some(extra) = scores
        .scores
        .iter()
        .find(|s| labels.binary_search(&s.label).is_err())
    {
        return Err(format!(
            "output label {:?} is not among the model's labels",
            extra.label
        ));
    }
    Ok(labels.iter().map(|l| scores.probability_of(l)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClipAudio;
    use lacquer_core::GenreScore;
    use std::path::PathBuf;

    /// Calls "loud" anything whose first sample is above 0.5.
    struct Threshold {
        labels: Vec<String>,
        calls: usize,
    }

    impl Classifier for Threshold {
        fn name(&self) -> &str {
            "threshold"
        }
        fn labels(&self) -> &[String] {
            &self.labels
        }
        fn classify(&mut self, audio: &AudioBuffer) -> Result<GenreScores, ClassifierError> {
            self.calls += 1;
            let loud = audio.channel(0)[0] > 0.5;
            let p = if loud { 0.8 } else { 0.3 };
            Ok(GenreScores::new(
                "t",
                vec![
                    GenreScore {
                        label: "loud".into(),
                        probability: p,
                    },
                    GenreScore {
                        label: "quiet".into(),
                        probability: 1.0 - p,
                    },
                ],
                1,
            ))
        }
    }

    fn clip(id: &str, genre: &str) -> ResolvedClip {
        ResolvedClip {
            clip_id: id.into(),
            genre: genre.into(),
            audio: ClipAudio::Cut {
                path: PathBuf::from(id),
            },
        }
    }

    fn level(clip: &ResolvedClip) -> Result<AudioBuffer, EvalError> {
        let v = if clip.clip_id.starts_with("hi") {
            0.9
        } else {
            0.1
        };
        Ok(AudioBuffer::stereo(1000, vec![v; 10], vec![v; 10]).unwrap())
    }

    #[test]
    fn every_model_sees_every_clip_and_is_scored() {
        let clips = [
            clip("lo-2", "quiet"),
            clip("hi-1", "loud"),
            clip("hi-2", "quiet"),
        ];
        let make = || Threshold {
            labels: vec!["quiet".into(), "loud".into()],
            calls: 0,
        };
        let mut models: Vec<Box<dyn Classifier>> = vec![Box::new(make()), Box::new(make())];
        let mut ticks = Vec::new();
        let results = evaluate(&clips, &mut models, level, |d, t| ticks.push((d, t))).unwrap();
        assert_eq!(ticks, [(1, 3), (2, 3), (3, 3)]);
        assert_eq!(results.len(), 2);
        let r = &results[0];
        assert_eq!(r.labels, ["loud", "quiet"]);
        let ids: Vec<&str> = r.predictions.iter().map(|p| p.clip_id.as_str()).collect();
        assert_eq!(ids, ["hi-1", "hi-2", "lo-2"]);
        assert_eq!(r.predictions[0].probabilities, [0.8, 0.19999999999999996]);
        assert_eq!(r.metrics.correct, 2);
        assert_eq!(r.metrics.clips, 3);
        assert!(r.predictions.iter().all(|p| p.latency_s >= 0.0));
    }

    struct Rogue;
    impl Classifier for Rogue {
        fn name(&self) -> &str {
            "rogue"
        }
        fn labels(&self) -> &[String] {
            &[]
        }
        fn classify(&mut self, _: &AudioBuffer) -> Result<GenreScores, ClassifierError> {
            Ok(GenreScores::new(
                "r",
                vec![GenreScore {
                    label: "surprise".into(),
                    probability: 1.0,
                }],
                1,
            ))
        }
    }

    struct Failing;
    impl Classifier for Failing {
        fn name(&self) -> &str {
            "failing"
        }
        fn labels(&self) -> &[String] {
            &[]
        }
        fn classify(&mut self, _: &AudioBuffer) -> Result<GenreScores, ClassifierError> {
            Err("no patches".into())
        }
    }

    #[test]
    fn model_failures_name_model_and_clip() {
        let clips = [clip("hi-1", "loud")];
        let mut rogue: Vec<Box<dyn Classifier>> = vec![Box::new(Rogue)];
        let err = evaluate(&clips, &mut rogue, level, |_, _| {}).unwrap_err();
        assert!(matches!(err, EvalError::ModelOutput { .. }));
        assert!(err.to_string().contains("rogue") && err.to_string().contains("surprise"));
        let mut failing: Vec<Box<dyn Classifier>> = vec![Box::new(Failing)];
        let err = evaluate(&clips, &mut failing, level, |_, _| {}).unwrap_err();
        assert_eq!(err.to_string(), "model failing failed on clip hi-1");
        let err = evaluate(
            &clips,
            &mut failing,
            |c| {
                Err(EvalError::ClipAudio {
                    clip_id: c.clip_id.clone(),
                    detail: "broken".into(),
                })
            },
            |_, _| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("broken"));
    }
}
