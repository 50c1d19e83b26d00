//! Null tests: a default chain is bit-exact, and each stage enabled at
//! neutral settings stays within −120 dBFS of the input.

mod chain_support;

use lacquer_core::{AudioBuffer, ChainSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::music::demo_mix;

/// Issue target for a neutral (enabled) stage.
const NULL_LIMIT_DBFS: f64 = -120.0;

fn mix(rate: u32) -> AudioBuffer {
    demo_mix(rate, 2.0, -3.0, 17)
}

/// Peak of (output − input) in dBFS.
fn residual_dbfs(a: &AudioBuffer, b: &AudioBuffer) -> f64 {
    let peak = a
        .channels()
        .iter()
        .zip(b.channels())
        .flat_map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (f64::from(*p) - f64::from(*q)).abs())
        })
        .fold(0.0, f64::max);
    20.0 * peak.log10()
}

#[test]
fn default_chain_is_bit_exact_with_no_latency() {
    for rate in [44_100, 48_000] {
        let input = mix(rate);
        let mut chain = Chain::new(&ChainSettings::default());
        chain.prepare(rate, 1024).unwrap();
        assert_eq!(chain.latency(), 0);
        let (out, meters) = chain.process_buffer(&input).unwrap();
        assert_eq!(out, input);
        assert_eq!(meters.limiter, None);
        assert_eq!(meters.saturation_clipped_fraction, None);
    }
}

/// Each stage on its own, enabled, with settings that ask it to do nothing.
fn neutral_enabled_stages() -> Vec<(&'static str, ChainSettings)> {
    let mut out = Vec::new();
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    out.push(("eq", s));
    let mut s = ChainSettings::default();
    s.dynamic_eq.enabled = true;
    out.push(("dynamic_eq", s));
    // The multiband compressor is left out here: see
    // `neutral_multiband_nulls` below.
    let mut s = ChainSettings::default();
    s.glue.enabled = true;
    out.push(("glue", s));
    let mut s = ChainSettings::default();
    s.saturation.enabled = true;
    s.saturation.mix_percent = 0.0;
    out.push(("saturation (mix 0 %)", s));
    let mut s = ChainSettings::default();
    s.stereo.enabled = true;
    out.push(("stereo", s));
    let mut s = ChainSettings::default();
    s.limiter.enabled = true;
    s.limiter.ceiling_dbtp = 0.0;
    out.push(("limiter (input under the ceiling)", s));
    out
}

#[test]
fn each_neutral_stage_nulls_below_minus_120_dbfs() {
    let rate = 44_100;
    let input = mix(rate);
    let mut failures = Vec::new();
    for (name, settings) in neutral_enabled_stages() {
        let mut chain = Chain::new(&settings);
        chain.prepare(rate, 512).unwrap();
        let (out, _) = chain.process_buffer(&input).unwrap();
        assert_eq!(out.len(), input.len());
        let residual = residual_dbfs(&out, &input);
        println!(
            "{name}: latency {} frames, residual {residual:.1} dBFS",
            chain.latency()
        );
        if residual >= NULL_LIMIT_DBFS {
            failures.push(format!("{name}: {residual:.1} dBFS"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn all_neutral_stages_together_null_below_minus_120_dbfs() {
    let rate = 48_000;
    let input = mix(rate);
    let mut s = ChainSettings::default();
    for (_, one) in neutral_enabled_stages() {
        s.eq.enabled |= one.eq.enabled;
        s.dynamic_eq.enabled |= one.dynamic_eq.enabled;
        s.multiband.enabled |= one.multiband.enabled;
        s.glue.enabled |= one.glue.enabled;
        s.stereo.enabled |= one.stereo.enabled;
        if one.saturation.enabled {
            s.saturation = one.saturation;
        }
        if one.limiter.enabled {
            s.limiter = one.limiter;
        }
    }
    let mut chain = Chain::new(&s);
    chain.prepare(rate, 777).unwrap();
    let (out, meters) = chain.process_buffer(&input).unwrap();
    let residual = residual_dbfs(&out, &input);
    println!(
        "all neutral: latency {} frames, residual {residual:.1} dBFS",
        meters.latency_frames
    );
    assert!(residual < NULL_LIMIT_DBFS, "{residual}");
}

/// With every band at ratio 1 the bands would only sum to an allpass of the
/// input (flat magnitude, shifted phase: +1.2 dBFS residual on the demo
/// mix), so the stage detects neutral settings in `prepare` and bypasses
/// its crossovers: the output must null.
#[test]
fn neutral_multiband_nulls() {
    let rate = 44_100;
    let input = mix(rate);
    let mut s = ChainSettings::default();
    s.multiband.enabled = true;
    let mut chain = Chain::new(&s);
    chain.prepare(rate, 512).unwrap();
    let (out, _) = chain.process_buffer(&input).unwrap();
    let residual = residual_dbfs(&out, &input);
    println!("multiband: residual {residual:.1} dBFS");
    assert!(residual < NULL_LIMIT_DBFS, "{residual}");
}
