//! Settings for the corrective EQ (static biquads + linear-phase match EQ).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EqSettings {}
