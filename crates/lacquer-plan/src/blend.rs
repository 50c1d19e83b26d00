//! Which genre profile(s) to steer toward.
//!
//! A classifier that is unsure between two genres is usually hearing music
//! that sits between them, so picking its top label would steer hard toward
//! one genre on a coin toss. Below a confidence threshold the planner blends
//! the profiles of the likely labels instead, weighted by probability.

use crate::error::PlanError;
use lacquer_core::{Decision, GenreChoice, GenreScores, PlanStage};

/// Auto mode uses the top label alone when its probability is at least this.
pub const CONFIDENT_TOP_PROBABILITY: f64 = 0.6;
/// Below that, blend the profiled labels (highest first) until they cover
/// this share of the probability mass that has profiles.
pub const BLEND_MASS_COVERAGE: f64 = 0.8;
/// At most this many profiles in a blend.
pub const MAX_BLENDED_PROFILES: usize = 3;
/// Labels less probable than this never enter a blend.
pub const MIN_BLEND_PROBABILITY: f64 = 0.05;

/// The profiles to steer toward and their weights (sum 1, highest first).
///
/// - `GenreChoice::Named`: that profile alone (matched case-insensitively;
///   the spelling in `known` is returned), or [`PlanError::UnknownProfile`]
///   listing the known ones.
/// - `GenreChoice::Auto`: the classifier's top label with a profile when its
///   probability is at least [`CONFIDENT_TOP_PROBABILITY`]; otherwise the
///   profiled labels, highest first, until they cover
///   [`BLEND_MASS_COVERAGE`] of the profiled mass (at most
///   [`MAX_BLENDED_PROFILES`], none under [`MIN_BLEND_PROBABILITY`]),
///   renormalised. Labels the model knows but no profile exists for are
///   skipped (the plan's decisions say so).
pub fn choose_profile_blend(
    scores: Option<&GenreScores>,
    choice: &GenreChoice,
    known: &[&str],
) -> Result<Vec<(String, f64)>, PlanError> {
    let known_list = || {
        let mut names: Vec<&str> = known.to_vec();
        names.sort_unstable();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let find_known = |label: &str| known.iter().find(|k| k.eq_ignore_ascii_case(label));
    match choice {
        GenreChoice::Named(name) => match find_known(name) {
            Some(k) => Ok(vec![((*k).to_owned(), 1.0)]),
            None => Err(PlanError::UnknownProfile {
                name: name.clone(),
                known: known_list(),
            }),
        },
        GenreChoice::Auto => {
            let scores = scores.filter(|s| !s.scores.is_empty()).ok_or_else(|| {
                PlanError::NoGenreScores {
                    known: known_list(),
                }
            })?;
            // `GenreScores` keeps its scores sorted (highest first, ties by
            // label); sort a copy anyway so a hand-built value cannot change
            // the answer.
            let mut ranked: Vec<(&str, f64)> = scores
                .scores
                .iter()
                .filter(|s| s.probability.is_finite() && s.probability > 0.0)
                .map(|s| (s.label.as_str(), s.probability))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let profiled: Vec<(String, f64)> = ranked
                .iter()
                .filter_map(|&(label, p)| find_known(label).map(|k| ((*k).to_owned(), p)))
                .collect();
            let Some((top_label, top_p)) = profiled.first().cloned() else {
                let labels: Vec<&str> = scores.scores.iter().map(|s| s.label.as_str()).collect();
                return Err(PlanError::NoProfileForLabels {
                    labels: labels.join(", "),
                    known: known_list(),
                });
            };
            if top_p >= CONFIDENT_TOP_PROBABILITY {
                return Ok(vec![(top_label, 1.0)]);
            }
            let profiled_mass: f64 = profiled.iter().map(|(_, p)| p).sum();
            let mut chosen: Vec<(String, f64)> = Vec::new();
            let mut covered = 0.0;
            for (label, p) in profiled {
                let first = chosen.is_empty();
                if !first
                    && (covered >= BLEND_MASS_COVERAGE * profiled_mass
                        || chosen.len() >= MAX_BLENDED_PROFILES
                        || p < MIN_BLEND_PROBABILITY)
                {
                    break;
                }
                covered += p;
                chosen.push((label, p));
            }
            for entry in &mut chosen {
                entry.1 /= covered;
            }
            Ok(chosen)
        }
    }
}

/// Checks a blend the caller hands to [`crate::plan`]: names present,
/// weights finite, positive and summing to 1.
pub(crate) fn validate_blend(blend: &[(String, f64)]) -> Result<(), PlanError> {
    const SUM_TOLERANCE: f64 = 1e-6;
    if blend.is_empty() {
        return Ok(());
    }
    if let Some((name, w)) = blend
        .iter()
        .find(|(name, w)| name.is_empty() || !w.is_finite() || *w <= 0.0)
    {
        return Err(PlanError::InvalidBlend {
            problem: format!("entry '{name}' has weight {w}; weights must be positive"),
        });
    }
    let sum: f64 = blend.iter().map(|(_, w)| w).sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(PlanError::InvalidBlend {
            problem: format!("weights sum to {sum}, not 1"),
        });
    }
    Ok(())
}

/// How the blend was arrived at, for the plan's decisions. Reconstructed
/// from the scores and the blend so the engine needs to pass nothing else:
/// a label more probable than the least probable chosen one that is not in
/// the blend can only have been skipped for want of a profile.
pub(crate) fn describe(
    scores: Option<&GenreScores>,
    choice: &GenreChoice,
    blend: &[(String, f64)],
) -> Vec<Decision> {
    let decide = |reason: String| Decision {
        stage: PlanStage::Genre,
        reason,
    };
    let mut out = Vec::new();
    let top = scores.and_then(GenreScores::top);
    let classifier_said = top.map_or_else(
        || "no classifier scores".to_owned(),
        |t| format!("classifier top {} {:.2}", t.label, t.probability),
    );
    match (choice, blend) {
        (_, []) => return out,
        (GenreChoice::Named(_), [(name, _)]) => {
            out.push(decide(format!(
                "genre {name}: chosen by the user ({classifier_said})"
            )));
            return out;
        }
        (GenreChoice::Named(_), _) => {
            out.push(decide(format!(
                "genre blend {} given by the caller ({classifier_said})",
                describe_weights(blend)
            )));
            return out;
        }
        (GenreChoice::Auto, [(name, _)]) => {
            let p = scores.map_or(0.0, |s| s.probability_of(name));
            out.push(decide(format!(
                "genre {name}: classifier probability {p:.2} ≥ {CONFIDENT_TOP_PROBABILITY:.2} (confident)"
            )));
        }
        (GenreChoice::Auto, _) => {
            let top_p = scores.map_or(0.0, |s| s.probability_of(&blend[0].0));
            out.push(decide(format!(
                "classifier unsure (top profiled label {} {top_p:.2} < {CONFIDENT_TOP_PROBABILITY:.2}): blending {}",
                blend[0].0,
                describe_weights(blend)
            )));
        }
    }
    if let Some(scores) = scores {
        let least_chosen = blend
            .iter()
            .map(|(name, _)| scores.probability_of(name))
            .fold(f64::INFINITY, f64::min);
        for s in &scores.scores {
            let in_blend = blend.iter().any(|(n, _)| n.eq_ignore_ascii_case(&s.label));
            if !in_blend && s.probability > least_chosen {
                out.push(decide(format!(
                    "label {} ({:.2}) skipped: no profile exists for it",
                    s.label, s.probability
                )));
            }
        }
    }
    out
}

/// "rock 60 %, pop 40 %".
pub(crate) fn describe_weights(blend: &[(String, f64)]) -> String {
    blend
        .iter()
        .map(|(name, w)| format!("{name} {:.0} %", w * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}
