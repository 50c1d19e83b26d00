//! Settings for the true-peak limiter.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimiterSettings {
    /// Off by default: a bypassed limiter is skipped bit-exactly.
    pub enabled: bool,
    /// The output true peak (BS.1770) never goes above this, in dBTP.
    pub ceiling_dbtp: f64,
    /// How far ahead the gain starts to move, 1–5 ms.
    pub lookahead_ms: f64,
    /// Release after short peaks (transients), in ms.
    pub release_ms: f64,
    /// Release once gain reduction has been sustained (steady, dense
    /// material), in ms; longer than `release_ms` so steady material does not
    /// pump.
    pub sustained_release_ms: f64,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            ceiling_dbtp: -1.0,
            lookahead_ms: 2.0,
            release_ms: 60.0,
            sustained_release_ms: 600.0,
        }
    }
}
