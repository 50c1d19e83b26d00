//! The mastering engine: decode → analyse → classify → match → plan →
//! process → re-measure → adjust → gate → encode → report.
//!
//! A file's stages run one after another; inside a stage, only work whose
//! result cannot depend on scheduling is spread over rayon's pool:
//! independent meters side by side, and readers of a chain's output (the
//! loudness model, a loop pass's meters) one batch behind the chain, each
//! reading its pieces in order. So the output bytes are the same at any
//! thread count (tested). Callers parallelise across files.
//! Nothing is written to disk until a master has been fully rendered,
//! encoded and gated, and then only atomically.

pub mod chart;
mod delivery;
pub mod error;
pub mod gate;
pub mod loudness_loop;
pub mod loudness_model;
pub mod mastering;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod stream;
pub mod tonal;

pub use error::EngineError;
pub use gate::{GateCheck, GateReport, Status};
pub use mastering::{Mastered, Steering, master_decoded};
pub use pipeline::{
    Engine, EngineConfig, MasterJob, MasterOutcome, ReferenceTrack, SharedReference,
};
pub use render::{ExportOptions, delivery_rate_hz};
pub use report::{Device, MasterReport, REPORT_SCHEMA_VERSION};
pub use tonal::TonalCurve;
