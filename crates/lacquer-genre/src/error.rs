//! One error type for loading and running the genre model.
//!
//! A model is two files (the ONNX graph and its card), so every variant that
//! concerns a file names it: a user who passes `--model` needs to know which
//! of the two was wrong and why, not just that "the model failed".

use std::path::PathBuf;

use thiserror::Error;

use crate::features::FeatureError;

/// Everything that can go wrong while loading the model or classifying audio.
#[derive(Debug, Error)]
pub enum GenreError {
    #[error("{path}: cannot read the file")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: not a valid model card")]
    CardParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{path}: invalid model card: {detail}")]
    CardInvalid { path: PathBuf, detail: String },

    /// The model was trained on features other than the ones this build
    /// computes; running it would give confident nonsense.
    #[error(
        "{path}: the model was trained on different features than this build computes: {detail}"
    )]
    FeatureMismatch { path: PathBuf, detail: String },

    #[error("{path}: the model does not match its card: {detail}")]
    ModelShape { path: PathBuf, detail: String },

    #[error("cannot start the ONNX backend ({backend})")]
    Backend {
        backend: &'static str,
        #[source]
        source: ort::Error,
    },

    #[error("cannot start the ONNX backend ({backend}): {detail}")]
    BackendLoad {
        backend: &'static str,
        detail: String,
    },

    #[error("{path}: cannot load the ONNX model")]
    Session {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },

    #[error("{model}: inference failed")]
    Inference {
        model: String,
        #[source]
        source: ort::Error,
    },

    #[error("{model}: the model returned {detail}")]
    BadOutput { model: String, detail: String },

    #[error("{model}: the patches do not fit the model: {detail}")]
    PatchShape { model: String, detail: String },

    #[error(
        "this build has no built-in genre model (models/genre-v1.onnx was missing when it was \
         compiled); pass --model PATH or rebuild from a checkout that has it"
    )]
    NoBuiltinModel,

    #[error("cannot compute the model's input features")]
    Features(#[source] FeatureError),
}

impl GenreError {
    /// True when the user's model files are at fault (unreadable, malformed,
    /// inconsistent with their card or with this build's features), false for
    /// failures of the runtime or this program. The CLI maps the first kind
    /// to "invalid input".
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::Read { .. }
                | Self::CardParse { .. }
                | Self::CardInvalid { .. }
                | Self::FeatureMismatch { .. }
                | Self::ModelShape { .. }
                | Self::Session { .. }
        )
    }
}
