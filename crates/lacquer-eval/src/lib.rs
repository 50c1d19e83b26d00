//! Evaluation of genre models on a labelled manifest: the numbers that decide
//! whether a new model version may ship.
//!
//! The pipeline is split so the part that matters can be checked by hand:
//! [`manifest`] finds the clips, [`run`] feeds them to each model and times
//! it (thin on purpose), [`metrics`] turns (truth, probabilities, latency)
//! into scores as pure functions, [`tables`] lays the scores out as polars
//! DataFrames and [`report`] renders CSV, Markdown and PNG files.
//!
//! The crate does not depend on the ONNX runtime: a model is anything that
//! implements [`Classifier`] (the CLI wraps `lacquer_genre::GenreModel`,
//! tests use stand-ins), so the metrics build and test in seconds.

pub mod error;
pub mod manifest;
pub mod metrics;
pub mod report;
pub mod run;
pub mod tables;

pub use error::{ClassifierError, EvalError};
pub use manifest::{
    ClipAudio, ClipSource, Manifest, ManifestClip, ResolvedClip, Split, default_cache_dir,
    load_clip, read_manifest,
};
pub use metrics::{ECE_BINS, Metrics, Prediction, score};
pub use report::{EvalReport, RenderedReport, ReportFile, RunInfo};
pub use run::{Classifier, ModelResult, evaluate};
