//! One error type for the crate; every variant names the file, clip or model
//! it is about, so a failed evaluation says what to fix.

use std::path::PathBuf;

/// An error from a classifier, boxed because each model backend has its own.
pub type ClassifierError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{}: cannot read the manifest", path.display())]
    ManifestRead {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("{}: the manifest lacks the column(s) {columns}", path.display())]
    ManifestColumns { path: PathBuf, columns: String },
    #[error("{}, line {line} ({clip_id}): {detail}", path.display())]
    ManifestRow {
        path: PathBuf,
        line: usize,
        clip_id: String,
        detail: String,
    },
    #[error("{}: no clips in the {split} split", path.display())]
    EmptySelection { path: PathBuf, split: String },
    #[error("{count} clip(s) named in {} are not on disk:\n{listing}\n{hint}", manifest.display())]
    MissingClips {
        manifest: PathBuf,
        count: usize,
        listing: String,
        hint: String,
    },
    #[error("clip {clip_id}: cannot decode {}", path.display())]
    Decode {
        clip_id: String,
        path: PathBuf,
        #[source]
        source: lacquer_io::IoError,
    },
    #[error("clip {clip_id}: {detail}")]
    ClipAudio { clip_id: String, detail: String },
    #[error("model {}: cannot load", path.display())]
    ModelLoad {
        path: PathBuf,
        #[source]
        source: ClassifierError,
    },
    #[error("model {model} failed on clip {clip_id}")]
    Classify {
        model: String,
        clip_id: String,
        #[source]
        source: ClassifierError,
    },
    #[error("model {model} on clip {clip_id}: {detail}")]
    ModelOutput {
        model: String,
        clip_id: String,
        detail: String,
    },
    #[error("cannot score the predictions: {detail}")]
    InvalidPredictions { detail: String },
    #[error("building the {table} table failed")]
    Table {
        table: String,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("drawing {name} failed")]
    Plot {
        name: String,
        #[source]
        source: lacquer_plot::PlotError,
    },
    #[error("{}: cannot create the output folder", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("would overwrite existing file(s): {listing}")]
    OutputExists { listing: String },
    #[error("{}: cannot write", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: lacquer_io::IoError,
    },
}

impl EvalError {
    /// True when the user's input (manifest, audio, model file) is at fault.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::ManifestRead { .. }
            | Self::ManifestColumns { .. }
            | Self::ManifestRow { .. }
            | Self::EmptySelection { .. }
            | Self::MissingClips { .. }
            | Self::ClipAudio { .. }
            | Self::ModelLoad { .. } => true,
            Self::Decode { source, .. } => source.is_invalid_input(),
            _ => false,
        }
    }
}
