//! Value types that every Lacquer stage can see.
//!
//! Data flows one way through the pipeline (io → analysis → genre/reference →
//! plan → dsp → engine → cli). The types that cross stage boundaries live here
//! so that no stage has to import a later one: the audio buffer, the units we
//! measure in, the `Analysis` the analysis stage fills, and the
//! `ChainSettings` the planner writes and the DSP chain reads.

pub mod analysis;
pub mod buffer;
pub mod chain;
pub mod deltas;
pub mod genre;
pub mod plan;
pub mod profile;
pub mod units;
pub mod window;

pub use analysis::{ANALYSIS_SCHEMA_VERSION, Analysis, AnalysisWarning};
pub use buffer::{AudioBuffer, BufferError};
pub use chain::ChainSettings;
pub use deltas::{DeltaTarget, Deltas, TonalDeltas};
pub use genre::{GenreScore, GenreScores};
pub use plan::{Decision, GenreChoice, Intent, LoudnessTarget, Plan, PlanOptions, PlanStage};
pub use profile::{Platform, PlatformTable, Profile, TargetRange};
pub use units::{Db, Hz, Lufs};

/// The name reports and file metadata carry.
pub const ENGINE_NAME: &str = "lacquer";
/// The engine version: same input + settings + version → same output bytes.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
