//! Per-channel polarity, applied before every other stage.
//!
//! A channel wired upside down (left and right correlated near −1) makes
//! the mid nearly vanish: mid/side processing, the genre classifier and a
//! mono listener all hear the wrong thing. Flipping a sign is exact, so the
//! fix costs nothing and has no latency.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PolaritySettings {
    pub invert_left: bool,
    pub invert_right: bool,
}

impl PolaritySettings {
    /// Neither channel is flipped.
    pub fn is_neutral(&self) -> bool {
        !self.invert_left && !self.invert_right
    }
}
