//! `ChainSettings`: what the planner asks the DSP chain to do.
//!
//! Pure data (serde), so a plan can be printed, snapshot-tested, stored in the
//! report and replayed. `Default` for every stage is *neutral*: a default
//! chain is transparent. The DSP crate validates values in `prepare`.

mod dynamics;
mod eq;
mod limiter;
mod saturation;
mod stereo;

pub use dynamics::*;
pub use eq::*;
pub use limiter::*;
pub use saturation::*;
pub use stereo::*;

use serde::{Deserialize, Serialize};

/// Settings for the whole chain, in processing order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainSettings {
    pub eq: EqSettings,
    pub dynamic_eq: DynamicEqSettings,
    pub multiband: MultibandSettings,
    pub glue: GlueSettings,
    pub saturation: SaturationSettings,
    pub stereo: StereoSettings,
    pub limiter: LimiterSettings,
    /// Final gain / trim in dB, applied before the limiter.
    pub gain_db: f64,
}
