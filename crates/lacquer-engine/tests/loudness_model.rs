//! The loudness model against the limiter it models: predicted integrated
//! loudness of `gain → limiter` next to the measured loudness of the real
//! pass, on generated music at rates from 22.05 to 192 kHz (the engine
//! limits at 44.1 or 48 kHz), from an idle limiter to heavy limiting; and
//! the solver lands where the model says.

use lacquer_analysis::integrated_loudness;
use lacquer_core::AudioBuffer;
use lacquer_core::chain::LimiterSettings;
use lacquer_dsp::Processor;
use lacquer_dsp::limiter::Limiter;
use lacquer_engine::loudness_model::LoudnessModel;
use lacquer_io::Spool;
use lacquer_testkit::music::{demo_mix, kick_loop};
use std::path::Path;

/// What the model leaves out (ramp shape, where in a segment the gain
/// moves, the two passes' separate releases) moved loudness by at most
/// 0.06 LU at 7 dB of limiting on real tracks; up to 10 dB of gain
/// reduction it must stay within this.
const MODEL_TOLERANCE_LU: f64 = 0.1;
/// While the limiter is idle the model is plain gain on the meter's own
/// energies (f32 segment sums).
const IDLE_TOLERANCE_LU: f64 = 1e-3;
/// The solver stops within this of its target (its own tolerance).
const SOLVE_TOLERANCE_LU: f64 = 1e-3;

fn limiter() -> LimiterSettings {
    LimiterSettings {
        enabled: true,
        ..LimiterSettings::default()
    }
}

/// Measured loudness and largest gain reduction of the real limiter at
/// `gain_db` and `ceiling_dbtp`.
fn real_pass(mix: &AudioBuffer, gain_db: f64, ceiling_dbtp: f64) -> (f64, f64) {
    let settings = LimiterSettings {
        ceiling_dbtp,
        ..limiter()
    };
    let mut lim = Limiter::new(&settings);
    lim.prepare(mix.sample_rate(), 4096).unwrap();
    let k = 10f64.powf(gain_db / 20.0) as f32;
    let mut l: Vec<f32> = mix.channel(0).iter().map(|v| v * k).collect();
    let mut r: Vec<f32> = mix.channel(1).iter().map(|v| v * k).collect();
    for (a, b) in l.chunks_mut(4096).zip(r.chunks_mut(4096)) {
        lim.process(a, b);
    }
    // Latency compensated, as the chain does it.
    let lat = lim.latency();
    let n = l.len();
    let mut l = l.split_off(lat);
    let mut r = r.split_off(lat);
    l.resize(n, 0.0);
    r.resize(n, 0.0);
    let out = AudioBuffer::new(mix.sample_rate(), vec![l, r]).unwrap();
    (
        integrated_loudness(&out).unwrap().unwrap().0,
        lim.max_gain_reduction_db(),
    )
}

fn model_of(mix: &AudioBuffer) -> LoudnessModel {
    LoudnessModel::measure(
        &Spool::from_buffer(mix.clone()),
        &limiter(),
        Path::new("generated-mix"),
    )
    .unwrap()
}

#[test]
fn predictions_follow_the_real_limiter() {
    for (rate, mix) in [
        (44_100, demo_mix(44_100, 10.0, -6.0, 11)),
        (48_000, demo_mix(48_000, 10.0, -6.0, 12)),
        (96_000, demo_mix(96_000, 6.0, -6.0, 13)),
        (192_000, demo_mix(192_000, 4.0, -6.0, 14)),
        (22_050, demo_mix(22_050, 10.0, -6.0, 15)),
        (44_100, kick_loop(44_100, 8.0, -6.0)),
    ] {
        let model = model_of(&mix);
        let unity = integrated_loudness(&mix).unwrap().unwrap().0;
        assert!((model.unlimited_lufs().unwrap() - unity).abs() < IDLE_TOLERANCE_LU);
        let mut scratch = Vec::new();
        let mut worst_reduction: f64 = 0.0;
        for gain_db in [-6.0, 0.0, 3.0, 6.0, 9.0, 12.0] {
            let (real, reduction) = real_pass(&mix, gain_db, -1.0);
            let predicted = model.predict_lufs(gain_db, -1.0, &mut scratch).unwrap();
            println!(
                "{rate} Hz, gain {gain_db:+5.1} dB: predicted {predicted:8.3}, measured {real:8.3} LUFS ({:+.3} LU), limiter up to {reduction:.1} dB",
                predicted - real
            );
            let tolerance = if reduction == 0.0 {
                IDLE_TOLERANCE_LU
            } else {
                MODEL_TOLERANCE_LU
            };
            if reduction <= 10.0 {
                assert!(
                    (predicted - real).abs() <= tolerance,
                    "{rate} Hz at {gain_db} dB: {predicted} vs {real}"
                );
            }
            worst_reduction = worst_reduction.max(reduction);
        }
        // The sweep did reach the limiter's working range.
        assert!(worst_reduction > 6.0, "{worst_reduction}");
    }
}

#[test]
fn a_lower_ceiling_is_predicted_too() {
    let mix = demo_mix(44_100, 10.0, -6.0, 21);
    let model = model_of(&mix);
    let mut scratch = Vec::new();
    for ceiling in [-3.0, -0.3] {
        let (real, reduction) = real_pass(&mix, 8.0, ceiling);
        let predicted = model.predict_lufs(8.0, ceiling, &mut scratch).unwrap();
        println!(
            "ceiling {ceiling}: predicted {predicted:.3}, measured {real:.3}, limiter {reduction:.1} dB"
        );
        assert!(reduction > 1.0);
        assert!((predicted - real).abs() <= MODEL_TOLERANCE_LU);
    }
}

#[test]
fn the_solver_lands_where_the_model_says_and_stops_at_its_bounds() {
    let mix = demo_mix(44_100, 10.0, -6.0, 31);
    let model = model_of(&mix);
    let mut scratch = Vec::new();
    let range = (-20.0, 24.0);
    for target in [-30.0, -16.0, -14.0, -10.0, -9.0] {
        let gain = model.solve_gain_db(target, -1.0, range).unwrap();
        let predicted = model.predict_lufs(gain, -1.0, &mut scratch).unwrap();
        assert!(
            (predicted - target).abs() <= SOLVE_TOLERANCE_LU,
            "{target}: {predicted} at {gain} dB"
        );
    }
    // Louder than a limited signal can get at the top of the range: the
    // top of the range. Quieter than the bottom allows: the bottom.
    assert_eq!(model.solve_gain_db(5.0, -1.0, range), Some(24.0));
    assert_eq!(model.solve_gain_db(-80.0, -1.0, range), Some(-20.0));
    // Monotone: more loudness asks for more gain.
    let a = model.solve_gain_db(-14.0, -1.0, range).unwrap();
    let b = model.solve_gain_db(-12.0, -1.0, range).unwrap();
    assert!(b > a);
}

#[test]
fn silence_has_nothing_to_predict() {
    let silent = AudioBuffer::new(44_100, vec![vec![0.0; 44_100]; 2]).unwrap();
    let model = model_of(&silent);
    assert_eq!(model.unlimited_lufs(), None);
    assert_eq!(model.solve_gain_db(-14.0, -1.0, (-20.0, 24.0)), None);
}
