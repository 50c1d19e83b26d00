//! `ChainSettings`: what the planner asks the DSP chain to do.
//!
//! Pure data (serde), so a plan can be printed, snapshot-tested, stored in the
//! report and replayed. `Default` for every stage is *neutral*: a default
//! chain is transparent. The DSP crate validates values in `prepare`.

mod dynamics;
mod eq;
mod limiter;
mod polarity;
mod saturation;
mod stereo;

pub use dynamics::*;
pub use eq::*;
pub use limiter::*;
pub use polarity::*;
pub use saturation::*;
pub use stereo::*;

use serde::{Deserialize, Serialize};

/// Settings for the whole chain, in processing order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainSettings {
    /// Channel polarity flips, applied first.
    pub polarity: PolaritySettings,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_fall_back_to_neutral_defaults() {
        let empty: ChainSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ChainSettings::default());
        let partial: ChainSettings =
            serde_json::from_str(r#"{"limiter": {"enabled": true}, "gain_db": 2.5}"#).unwrap();
        assert!(partial.limiter.enabled);
        assert_eq!(
            partial.limiter.ceiling_dbtp,
            LimiterSettings::default().ceiling_dbtp
        );
        assert!(!partial.saturation.enabled);
        assert_eq!(partial.gain_db, 2.5);
    }

    #[test]
    fn settings_round_trip_through_json() {
        let mut s = ChainSettings::default();
        s.saturation.enabled = true;
        s.saturation.curve = SaturationCurve::Polynomial;
        s.saturation.drive_db = 4.0;
        s.limiter.enabled = true;
        s.limiter.lookahead_ms = 3.0;
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""curve":"polynomial""#), "{json}");
        let back: ChainSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn every_stage_is_off_by_default() {
        let s = ChainSettings::default();
        assert!(s.polarity.is_neutral());
        assert!(!s.eq.enabled && !s.dynamic_eq.enabled && !s.multiband.enabled);
        assert!(!s.glue.enabled && !s.saturation.enabled && !s.stereo.enabled);
        assert!(!s.limiter.enabled);
        assert_eq!(s.gain_db, 0.0);
    }
}
