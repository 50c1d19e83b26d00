//! Glue compressor and envelope followers: static curve against the
//! textbook soft-knee formula, attack/release time constants, RMS vs peak
//! detection, side-chain high-pass, neutral settings, block-size
//! independence.

use lacquer_core::chain::{CompressorCurve, DetectorMode, GlueSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::compressor::{GainComputer, GlueCompressor};
use lacquer_dsp::envelope::{LevelFollower, MeanSquare};
use lacquer_testkit::{Rng, sine};

const RATE: u32 = 48_000;
/// DC and exact-exponential checks: only f32 output rounding remains.
const TOL_EXACT_DB: f64 = 0.001;
/// Sine-driven checks: detector ripple at twice the signal frequency.
const TOL_RIPPLE_DB: f64 = 0.1;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Giannoulis et al. soft-knee reduction, written out independently.
fn textbook_reduction_db(level_db: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let over = level_db - threshold_db;
    let output = if 2.0 * over < -knee_db {
        level_db
    } else if knee_db > 0.0 && 2.0 * over.abs() <= knee_db {
        level_db + (1.0 / ratio - 1.0) * (over + knee_db / 2.0).powi(2) / (2.0 * knee_db)
    } else {
        threshold_db + over / ratio
    };
    level_db - output
}

fn glue(curve: CompressorCurve, detector: DetectorMode, sidechain_hz: f64) -> GlueCompressor {
    let mut c = GlueCompressor::new(&GlueSettings {
        enabled: true,
        curve,
        detector,
        rms_window_ms: 100.0,
        sidechain_highpass_hz: sidechain_hz,
    });
    c.prepare(RATE, 1 << 16).expect("valid settings");
    c
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn static_curve_matches_the_soft_knee_design() {
    let (threshold, ratio, knee) = (-20.0, 4.0, 6.0);
    let computer = GainComputer::new(threshold, ratio, knee);
    for step in 0..=40 {
        let level_db = -40.0 + step as f64;
        // A DC input holds the peak detector at exactly its level.
        let mut comp = glue(
            CompressorCurve {
                threshold_db: threshold,
                ratio,
                knee_db: knee,
                attack_ms: 1.0,
                release_ms: 50.0,
                makeup_db: 0.0,
            },
            DetectorMode::Peak,
            0.0,
        );
        let amp = 10f64.powf(level_db / 20.0) as f32;
        let mut l = vec![amp; RATE as usize / 4];
        let mut r = l.clone();
        comp.process(&mut l, &mut r);
        let last = *l.last().expect("non-empty");
        let measured = -db(f64::from(last) / f64::from(amp));
        let expected = textbook_reduction_db(level_db, threshold, ratio, knee);
        assert!(
            (measured - expected).abs() <= TOL_EXACT_DB,
            "{level_db} dB in: reduction {measured:.4} dB, design {expected:.4} dB"
        );
        assert!((computer.reduction_db(level_db) - expected).abs() < 1e-12);
        assert!((comp.max_gain_reduction_db() - expected).abs() <= TOL_EXACT_DB);
    }
}

#[test]
fn envelope_followers_reach_63_percent_at_their_time_constant() {
    let rate = f64::from(RATE);
    for (attack_ms, release_ms) in [(1.0, 10.0), (10.0, 100.0), (30.0, 500.0)] {
        let mut follower = LevelFollower::new(attack_ms, release_ms, rate);
        let attack_samples = (attack_ms * 1e-3 * rate).round() as usize;
        let mut value = 0.0;
        for _ in 0..attack_samples {
            value = follower.tick(1.0);
        }
        assert!(
            (value - (1.0 - (-1.0f64).exp())).abs() < 1e-3,
            "attack {attack_ms} ms: {value}"
        );
        for _ in 0..20 * attack_samples {
            follower.tick(1.0);
        }
        let release_samples = (release_ms * 1e-3 * rate).round() as usize;
        for _ in 0..release_samples {
            value = follower.tick(0.0);
        }
        assert!(
            (value - (-1.0f64).exp()).abs() < 1e-3,
            "release {release_ms} ms: {value}"
        );
    }
    let mut ms = MeanSquare::new(20.0, rate);
    let mut value = 0.0;
    for _ in 0..(0.02 * rate) as usize {
        value = ms.tick(1.0);
    }
    assert!((value - (1.0 - (-1.0f64).exp())).abs() < 1e-3);
}

#[test]
fn attack_and_release_follow_their_time_constants_in_the_compressor() {
    let (threshold, ratio, attack_ms, release_ms) = (-20.0, 4.0, 10.0, 100.0);
    let mut comp = glue(
        CompressorCurve {
            threshold_db: threshold,
            ratio,
            knee_db: 0.0,
            attack_ms,
            release_ms,
            makeup_db: 0.0,
        },
        DetectorMode::Peak,
        0.0,
    );
    let rate = f64::from(RATE);
    let (quiet, loud) = (10f64.powf(-40.0 / 20.0), 10f64.powf(-10.0 / 20.0));
    let segment = RATE as usize;
    let mut l: Vec<f32> = [quiet, loud, quiet]
        .iter()
        .flat_map(|&a| std::iter::repeat_n(a as f32, segment))
        .collect();
    let input = l.clone();
    let mut r = l.clone();
    comp.process(&mut l, &mut r);
    let reduction_at = |n: usize| -db(f64::from(l[n]) / f64::from(input[n]));
    // Detector level after a step: target + (start − target)·e^(−t/τ).
    let predicted = |start: f64, target: f64, t_samples: usize, tau_ms: f64| {
        let env = target + (start - target) * (-(t_samples as f64) / (tau_ms * 1e-3 * rate)).exp();
        textbook_reduction_db(db(env), threshold, ratio, 0.0)
    };
    let settled_quiet = quiet; // one second of DC: the follower has settled.
    for tau_multiple in [0.5, 1.0, 2.0, 5.0] {
        let t = (tau_multiple * attack_ms * 1e-3 * rate) as usize;
        // Sample `segment + t` is the (t+1)-th loud sample.
        let got = reduction_at(segment + t);
        let want = predicted(settled_quiet, loud, t + 1, attack_ms);
        assert!(
            (got - want).abs() <= TOL_EXACT_DB * 5.0,
            "attack at {tau_multiple} τ: {got:.4} dB, predicted {want:.4} dB"
        );
    }
    for tau_multiple in [0.1, 0.2, 0.5] {
        let t = (tau_multiple * release_ms * 1e-3 * rate) as usize;
        let got = reduction_at(2 * segment + t);
        let want = predicted(loud, quiet, t + 1, release_ms);
        assert!(
            (got - want).abs() <= TOL_EXACT_DB * 5.0,
            "release at {tau_multiple} τ: {got:.4} dB, predicted {want:.4} dB"
        );
    }
}

#[test]
fn rms_detector_reads_a_sine_3_db_below_its_peak() {
    let (threshold, ratio) = (-24.0, 3.0);
    let curve = CompressorCurve {
        threshold_db: threshold,
        ratio,
        knee_db: 0.0,
        attack_ms: 5.0,
        release_ms: 50.0,
        makeup_db: 0.0,
    };
    let input = sine(RATE, 2.0, 1000.0, -6.0, 0.0);
    let tail = RATE as usize;
    for (detector, level_db) in [
        (DetectorMode::Rms, -6.0 - 10.0 * 2f64.log10()),
        (DetectorMode::Peak, -6.0),
    ] {
        // A peak reading needs an instant attack; a slow attack settles
        // where charging near the crests balances the release in between.
        let curve = match detector {
            DetectorMode::Peak => CompressorCurve {
                attack_ms: 0.0,
                release_ms: 500.0,
                ..curve.clone()
            },
            DetectorMode::Rms => curve.clone(),
        };
        let mut comp = glue(curve, detector, 0.0);
        let (mut l, mut r) = (input.clone(), input.clone());
        comp.process(&mut l, &mut r);
        let measured = db(rms(&input[tail..]) / rms(&l[tail..]));
        let expected = textbook_reduction_db(level_db, threshold, ratio, 0.0);
        assert!(
            (measured - expected).abs() <= TOL_RIPPLE_DB,
            "{detector:?}: reduction {measured:.3} dB, design {expected:.3} dB"
        );
    }
}

#[test]
fn sidechain_high_pass_keeps_the_bass_from_driving_the_detector() {
    let curve = CompressorCurve {
        threshold_db: -45.0,
        ratio: 2.0,
        knee_db: 0.0,
        attack_ms: 10.0,
        release_ms: 100.0,
        makeup_db: 0.0,
    };
    let input = sine(RATE, 3.0, 40.0, -6.0, 0.0);
    let tail = 2 * RATE as usize;
    let reduction = |sidechain_hz: f64| {
        let mut comp = glue(curve.clone(), DetectorMode::Rms, sidechain_hz);
        let (mut l, mut r) = (input.clone(), input.clone());
        comp.process(&mut l, &mut r);
        db(rms(&input[tail..]) / rms(&l[tail..]))
    };
    // 2nd-order Butterworth at 200 Hz passes 40 Hz at r²/√(1+r⁴), r = 0.2.
    let r = 40.0f64 / 200.0;
    let filtered_rms_db = -6.0 - 10.0 * 2f64.log10() + db(r * r / (1.0 + r.powi(4)).sqrt());
    let expected = textbook_reduction_db(filtered_rms_db, -45.0, 2.0, 0.0);
    let with_hp = reduction(200.0);
    assert!(
        (with_hp - expected).abs() <= TOL_RIPPLE_DB,
        "with side-chain HP: {with_hp:.3} dB, design {expected:.3} dB"
    );
    let without = reduction(0.0);
    let expected_without = textbook_reduction_db(-6.0 - 10.0 * 2f64.log10(), -45.0, 2.0, 0.0);
    assert!(
        (without - expected_without).abs() <= TOL_RIPPLE_DB,
        "without: {without:.3} dB"
    );
}

#[test]
fn neutral_or_disabled_glue_is_bit_exact_and_makeup_is_exact() {
    let mut rng = Rng::new(3);
    let input: Vec<f32> = (0..30_000).map(|_| rng.bipolar() as f32).collect();
    for enabled in [false, true] {
        let mut comp = GlueCompressor::new(&GlueSettings {
            enabled,
            ..GlueSettings::default()
        });
        comp.prepare(RATE, 30_000).expect("valid");
        let (mut l, mut r) = (input.clone(), input.clone());
        comp.process(&mut l, &mut r);
        assert_eq!(l, input);
        assert_eq!(r, input);
        assert_eq!(comp.max_gain_reduction_db(), 0.0);
    }
    let mut settings = GlueSettings {
        enabled: true,
        ..GlueSettings::default()
    };
    settings.curve.makeup_db = 3.0;
    let mut comp = GlueCompressor::new(&settings);
    comp.prepare(RATE, 30_000).expect("valid");
    let (mut l, mut r) = (input.clone(), input.clone());
    comp.process(&mut l, &mut r);
    let gain = db(rms(&l) / rms(&input));
    assert!((gain - 3.0).abs() < TOL_EXACT_DB, "makeup {gain:.5} dB");
}

#[test]
fn invalid_settings_are_rejected() {
    let bad_curves = [
        CompressorCurve {
            ratio: 0.5,
            ..CompressorCurve::default()
        },
        CompressorCurve {
            threshold_db: f64::NAN,
            ..CompressorCurve::default()
        },
        CompressorCurve {
            knee_db: -1.0,
            ..CompressorCurve::default()
        },
        CompressorCurve {
            attack_ms: f64::INFINITY,
            ..CompressorCurve::default()
        },
        CompressorCurve {
            makeup_db: 60.0,
            ..CompressorCurve::default()
        },
    ];
    for curve in bad_curves {
        let mut comp = GlueCompressor::new(&GlueSettings {
            enabled: true,
            curve,
            ..GlueSettings::default()
        });
        assert!(comp.prepare(RATE, 64).is_err());
    }
    let mut comp = GlueCompressor::new(&GlueSettings {
        sidechain_highpass_hz: 30_000.0,
        ..GlueSettings::default()
    });
    assert!(comp.prepare(RATE, 64).is_err());
}

#[test]
fn block_size_does_not_change_the_output() {
    for detector in [DetectorMode::Peak, DetectorMode::Rms] {
        let settings = GlueSettings {
            enabled: true,
            curve: CompressorCurve {
                threshold_db: -18.0,
                ratio: 3.0,
                knee_db: 6.0,
                attack_ms: 15.0,
                release_ms: 200.0,
                makeup_db: 2.0,
            },
            detector,
            rms_window_ms: 10.0,
            sidechain_highpass_hz: 90.0,
        };
        let mut rng = Rng::new(21);
        let left: Vec<f32> = (0..RATE as usize)
            .map(|_| rng.bipolar() as f32 * 0.6)
            .collect();
        let right: Vec<f32> = (0..RATE as usize)
            .map(|_| rng.bipolar() as f32 * 0.3)
            .collect();
        let mut whole = GlueCompressor::new(&settings);
        whole.prepare(RATE, RATE as usize).expect("valid");
        let (mut wl, mut wr) = (left.clone(), right.clone());
        whole.process(&mut wl, &mut wr);
        let mut blocks = GlueCompressor::new(&settings);
        blocks.prepare(RATE, 4096).expect("valid");
        let (mut bl, mut br) = (left, right);
        let mut start = 0;
        while start < bl.len() {
            let len = rng.range(1, 4096).min(bl.len() - start);
            blocks.process(&mut bl[start..start + len], &mut br[start..start + len]);
            start += len;
        }
        assert_eq!(bl, wl);
        assert_eq!(br, wr);
        assert!(blocks.max_gain_reduction_db() > 0.0);
        assert_eq!(
            blocks.max_gain_reduction_db(),
            whole.max_gain_reduction_db()
        );
    }
}

#[test]
fn fast_log_and_exp_match_the_library_functions() {
    use lacquer_dsp::envelope::{fast_exp2, fast_log2};
    /// Absolute log2 error (2e-9 of an octave ≈ 1.2e-8 dB).
    const TOL_LOG2: f64 = 2e-9;
    /// Relative exp2 error (≈ 9e-8 dB).
    const TOL_EXP2_REL: f64 = 1e-8;
    let mut rng = Rng::new(77);
    for _ in 0..200_000 {
        let x = 10f64.powf(rng.uniform() * 16.0 - 12.0);
        assert!((fast_log2(x) - x.log2()).abs() <= TOL_LOG2, "log2({x})");
        let y = rng.uniform() * 80.0 - 60.0;
        let rel = (fast_exp2(y) - y.exp2()).abs() / y.exp2();
        assert!(rel <= TOL_EXP2_REL, "exp2({y}): relative error {rel:e}");
    }
    for x in [1.0, 2.0, 0.5, std::f64::consts::SQRT_2, 1e-300, 1e300] {
        assert!((fast_log2(x) - x.log2()).abs() <= TOL_LOG2, "log2({x})");
    }
    assert_eq!(fast_exp2(0.0), 1.0);
    assert!(fast_log2(0.0).is_infinite() && fast_log2(-1.0).is_nan());
}

/// The branch-free curve the multiband and block passes use agrees with
/// the reference curve (knee and above), and is exactly 0 below the knee.
#[test]
fn branchless_curve_matches_the_reference_curve() {
    /// fast_log2 error (2e-9) times 6.02 dB, plus rounding.
    const TOL_BRANCHLESS_DB: f64 = 1e-7;
    for (threshold, ratio, knee) in [(-20.0, 4.0, 6.0), (-30.0, 2.5, 0.0), (-10.0, 10.0, 12.0)] {
        let computer = GainComputer::new(threshold, ratio, knee);
        for step in 0..=1200 {
            let level_db = -80.0 + step as f64 * 0.1;
            let level = 10f64.powf(level_db / 20.0);
            let want = computer.reduction_db(level_db);
            let got = computer.reduction_db_branchless(level);
            assert!(
                (got - want).abs() <= TOL_BRANCHLESS_DB,
                "{threshold} dB {ratio}:1 knee {knee}: at {level_db:.1} dB got {got}, want {want}"
            );
            if level_db < threshold - knee / 2.0 - 0.01 {
                assert_eq!(got, 0.0, "below the knee at {level_db:.1} dB");
            }
        }
        assert_eq!(computer.reduction_db_branchless(0.0), 0.0);
    }
    assert_eq!(GainComputer::gain_of_reduction(0.0), 1.0);
}
