//! Genre classification: the model's input features (one function, used for
//! training export and for inference alike) and ONNX inference.
//!
//! The planner needs a genre to pick target curves, and a mastering engineer
//! picks it by ear in seconds; this crate does it with a small CNN on log-mel
//! patches. Entry points:
//!
//! - [`GenreModel::load`]`(path)` reads `genre-vN.onnx` and the
//!   `genre-vN.card.json` beside it and refuses a model whose card's feature
//!   parameters differ from [`features::FEATURE_PARAMS`].
//! - [`GenreModel::classify`]`(&buffer)` gives a
//!   [`lacquer_core::GenreScores`]: patches over the whole track, softmax per
//!   patch, probabilities averaged.
//! - A `GenreModel` is `Send + Sync` and its methods take `&self`: share one
//!   (e.g. behind an `Arc`, or by reference in a rayon scope) and it keeps a
//!   session per concurrent caller.
//!
//! The ONNX runtime is tract by default; see [`backend`] for native ONNX
//! Runtime (cargo feature `onnxruntime`).

pub mod backend;
pub mod card;
mod classify;
mod error;
pub mod features;
mod model;

pub use backend::Backend;
pub use card::ModelCard;
pub use classify::mean_softmax;
pub use error::GenreError;
pub use model::{DEFAULT_MAX_PATCHES, GenreModel};
