//! Chain settings shared by the DSP benchmarks and examples, so a speed
//! figure quoted from one is the same work as in the other.

use lacquer_core::ChainSettings;
use lacquer_core::chain::{
    DynamicEqBandSettings, EqBandSettings, LimiterSettings, SaturationCurve, SaturationSettings,
};

/// Every stage working, as on a dense master: high-pass and a bell, two
/// dynamic-EQ bands, four multiband bands and the glue at 2:1, the 4x
/// saturator at 50 % mix, 130 % width above 2 kHz with mono bass, +6 dB
/// into the limiter.
pub fn busy_chain() -> ChainSettings {
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    s.eq.high_pass.enabled = true;
    s.eq.bands = vec![EqBandSettings {
        gain_db: -2.0,
        frequency_hz: 3000.0,
        ..Default::default()
    }];
    s.dynamic_eq.enabled = true;
    s.dynamic_eq.bands = vec![
        DynamicEqBandSettings::harshness(-30.0, 4.0),
        DynamicEqBandSettings::mud(-30.0, 3.0),
    ];
    s.multiband.enabled = true;
    for b in &mut s.multiband.bands {
        b.threshold_db = -20.0;
        b.ratio = 2.0;
    }
    s.glue.enabled = true;
    s.glue.curve.threshold_db = -18.0;
    s.glue.curve.ratio = 2.0;
    s.saturation = SaturationSettings {
        enabled: true,
        curve: SaturationCurve::Tanh,
        drive_db: 6.0,
        mix_percent: 50.0,
        ..SaturationSettings::default()
    };
    s.stereo.enabled = true;
    s.stereo.width_percent = 130.0;
    s.stereo.width_from_hz = 2000.0;
    s.stereo.mono_bass = true;
    s.gain_db = 6.0;
    s.limiter = LimiterSettings {
        enabled: true,
        ..LimiterSettings::default()
    };
    s
}
