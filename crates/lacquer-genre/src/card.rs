//! The model card: the JSON file beside every `genre-vN.onnx`.
//!
//! The ONNX graph alone does not say what its input means. The card records
//! the feature parameters the model was trained on, and the loader refuses a
//! model whose card disagrees with the features this build computes, because
//! a model fed the wrong features still answers, confidently and wrongly.
//! Training writes the card (`notebooks/`); this module is what reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::GenreError;

/// What `models/genre-vN.card.json` holds.
///
/// Only the fields inference relies on are typed strictly; the training
/// record (hashes, metrics) is carried as JSON so the training side can
/// grow it without breaking older binaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// e.g. `genre-v1`; reported in every `GenreScores`.
    pub version: String,
    /// Label of each logit, in output order.
    pub labels: Vec<String>,
    /// `features::FEATURE_VERSION` at training time.
    pub feature_version: Value,
    /// `features::FEATURE_PARAMS` serialised at training time.
    pub feature_params: Value,
    /// Name of the graph input that takes the patches (`mel`).
    pub input_name: String,
    /// What the graph outputs; inference applies the softmax itself, so
    /// only `logits` is accepted.
    pub output: String,
    #[serde(default)]
    pub training_data_sha256: Value,
    #[serde(default)]
    pub metrics: Value,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub opset: Option<u32>,
    /// Trainable parameter count.
    #[serde(default)]
    pub parameters: Option<u64>,
    /// Fields newer training scripts add; kept so a card round-trips.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The only output kind the averaging code knows how to use.
pub const OUTPUT_LOGITS: &str = "logits";

/// The card that belongs to `onnx_path`: same directory, same stem,
/// extension `.card.json` (`genre-v1.onnx` → `genre-v1.card.json`).
pub fn card_path_for(onnx_path: &Path) -> PathBuf {
    let stem = onnx_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    onnx_path.with_file_name(format!("{stem}.card.json"))
}

impl ModelCard {
    /// Reads and checks a card file (see [`ModelCard::parse`]).
    pub fn read(path: &Path) -> Result<Self, GenreError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses card JSON; `path` is only used to name the card in errors.
    /// Checks what does not depend on the graph: labels present and
    /// distinct, an input name, logits as the output.
    pub fn parse(json: &str, path: &Path) -> Result<Self, GenreError> {
        let card: Self = serde_json::from_str(json).map_err(|source| GenreError::CardParse {
            path: path.to_path_buf(),
            source,
        })?;
        card.check_self_consistent(path)?;
        Ok(card)
    }

    fn check_self_consistent(&self, path: &Path) -> Result<(), GenreError> {
        let invalid = |detail: String| GenreError::CardInvalid {
            path: path.to_path_buf(),
            detail,
        };
        if self.version.trim().is_empty() {
            return Err(invalid("`version` is empty".into()));
        }
        if self.labels.is_empty() {
            return Err(invalid("`labels` is empty".into()));
        }
        if let Some(label) = self.labels.iter().find(|l| l.trim().is_empty()) {
            return Err(invalid(format!(
                "`labels` contains an empty label {label:?}"
            )));
        }
        let mut sorted: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!(
                "label {:?} appears more than once in `labels`",
                pair[0]
            )));
        }
        if self.input_name.is_empty() {
            return Err(invalid("`input_name` is empty".into()));
        }
        if self.output != OUTPUT_LOGITS {
            return Err(invalid(format!(
                "`output` is {:?}; only {OUTPUT_LOGITS:?} is supported (probabilities are computed \
                 from logits at inference time)",
                self.output
            )));
        }
        Ok(())
    }

    /// Refuses the card unless its feature version and every feature
    /// parameter equal the code's. The error lists each differing field with
    /// both values, so whoever retrains knows exactly what drifted.
    pub fn check_features(
        &self,
        code_version: &Value,
        code_params: &Value,
        path: &Path,
    ) -> Result<(), GenreError> {
        let mut differences = Vec::new();
        if &self.feature_version != code_version {
            differences.push(format!(
                "feature_version: card {} vs code {}",
                self.feature_version, code_version
            ));
        }
        diff_values(
            "feature_params",
            &self.feature_params,
            code_params,
            &mut differences,
        );
        if differences.is_empty() {
            Ok(())
        } else {
            Err(GenreError::FeatureMismatch {
                path: path.to_path_buf(),
                detail: differences.join("; "),
            })
        }
    }
}

/// Field-by-field comparison of two JSON values; objects are walked by key
/// (in key order, so the message is deterministic), everything else compared
/// whole. Numbers compare by value, so `1024` and `1024.0` are equal.
fn diff_values(at: &str, card: &Value, code: &Value, out: &mut Vec<String>) {
    match (card, code) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let here = format!("{at}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff_values(&here, x, y, out),
                    (Some(x), None) => out.push(format!("{here}: card {x} vs code (absent)")),
                    (None, Some(y)) => out.push(format!("{here}: card (absent) vs code {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            };
            if !same {
                out.push(format!("{at}: card {a} vs code {b}"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{at}[{i}]"), x, y, out);
            }
        }
        _ => {
            if card != code {
                out.push(format!("{at}: card {card} vs code {code}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn card_json() -> Value {
        json!({
            "version": "genre-test",
            "labels": ["a", "b", "c"],
            "feature_version": 1,
            "feature_params": {"sample_rate_hz": 22050, "n_mels": 64, "normalisation": "mean"},
            "input_name": "mel",
            "output": "logits",
            "training_data_sha256": "00",
            "metrics": {"test": {"macro_f1": 0.5}},
            "date": "2026-11-22",
            "opset": 17,
            "parameters": 1234,
            "notes": "kept"
        })
    }

    fn parse(v: &Value) -> Result<ModelCard, GenreError> {
        ModelCard::parse(&v.to_string(), Path::new("m.card.json"))
    }

    #[test]
    fn card_path_replaces_the_onnx_extension() {
        assert_eq!(
            card_path_for(Path::new("models/genre-v1.onnx")),
            PathBuf::from("models/genre-v1.card.json")
        );
    }

    #[test]
    fn a_complete_card_parses_and_keeps_unknown_fields() -> Result<(), GenreError> {
        let card = parse(&card_json())?;
        assert_eq!(card.labels, ["a", "b", "c"]);
        assert_eq!(card.opset, Some(17));
        assert_eq!(card.extra.get("notes"), Some(&json!("kept")));
        Ok(())
    }

    #[test]
    fn empty_duplicate_labels_and_non_logit_outputs_are_refused() {
        for (field, value, expect) in [
            ("labels", json!([]), "`labels` is empty"),
            (
                "labels",
                json!(["a", "b", "a"]),
                "label \"a\" appears more than once",
            ),
            ("labels", json!(["a", " "]), "empty label"),
            ("output", json!("probabilities"), "only \"logits\""),
            ("input_name", json!(""), "`input_name` is empty"),
        ] {
            let mut v = card_json();
            v[field] = value;
            match parse(&v) {
                Err(e @ GenreError::CardInvalid { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(expect), "{text}");
                    assert!(text.starts_with("m.card.json:"), "{text}");
                }
                other => panic!("{field}: expected CardInvalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_missing_required_field_is_a_parse_error_naming_the_file() {
        let mut v = card_json();
        if let Some(o) = v.as_object_mut() {
            o.remove("feature_params");
        }
        let err = parse(&v).map(|_| ()).unwrap_err();
        assert!(matches!(err, GenreError::CardParse { .. }), "{err:?}");
        assert!(err.to_string().contains("m.card.json"));
    }

    #[test]
    fn feature_mismatch_names_every_differing_field_with_both_values() -> Result<(), GenreError> {
        let card = parse(&card_json())?;
        let code =
            json!({"sample_rate_hz": 22050.0, "n_mels": 96, "normalisation": "mean", "hop": 512});
        let err = card
            .check_features(&json!(2), &code, Path::new("m.card.json"))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("feature_version: card 1 vs code 2"), "{text}");
        assert!(
            text.contains("feature_params.n_mels: card 64 vs code 96"),
            "{text}"
        );
        assert!(
            text.contains("feature_params.hop: card (absent) vs code 512"),
            "{text}"
        );
        // 22050 and 22050.0 are the same number.
        assert!(!text.contains("sample_rate_hz"), "{text}");
        assert!(!text.contains("normalisation"), "{text}");
        Ok(())
    }

    #[test]
    fn matching_features_pass() -> Result<(), GenreError> {
        let card = parse(&card_json())?;
        let code = card.feature_params.clone();
        card.check_features(&json!(1), &code, Path::new("m.card.json"))
    }
}
