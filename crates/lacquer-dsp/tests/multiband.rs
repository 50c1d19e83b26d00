//! Multiband compressor: a band compresses by its own static curve and
//! leaves the others alone, linked detection keeps the stereo image, M/S
//! mode treats mid and side separately, makeup is exact, bypass is
//! bit-exact, block size does not change the output.

use lacquer_core::chain::{CompressorCurve, MultibandSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::multiband::MultibandCompressor;
use lacquer_testkit::{Rng, sine};

const RATE: u32 = 48_000;
/// Steady-sine checks: detector ripple plus the neighbouring bands' share
/// of the tone.
const TOL_STEADY_DB: f64 = 0.05;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn idle() -> CompressorCurve {
    CompressorCurve {
        threshold_db: 0.0,
        ratio: 1.0,
        ..CompressorCurve::default()
    }
}

fn squeeze(threshold_db: f64, ratio: f64) -> CompressorCurve {
    CompressorCurve {
        threshold_db,
        ratio,
        knee_db: 0.0,
        attack_ms: 0.0,
        release_ms: 500.0,
        makeup_db: 0.0,
    }
}

fn run(
    settings: &MultibandSettings,
    left: &[f32],
    right: &[f32],
) -> (Vec<f32>, Vec<f32>, MultibandCompressor) {
    let mut mb = MultibandCompressor::new(settings);
    mb.prepare(RATE, left.len()).expect("valid settings");
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    mb.process(&mut l, &mut r);
    (l, r, mb)
}

#[test]
fn a_band_compresses_by_its_curve_and_only_that_band_works() {
    // 1 kHz sits in band 1 of (150 Hz, 2.5 kHz). LR4 band gain there is
    // 1/(1+(1/2.5)⁴) × (1/0.15)⁴/(1+(1/0.15)⁴): the detector sees that.
    let band_gain = 1.0 / (1.0 + 0.4f64.powi(4)) * (1.0 / (1.0 + 0.15f64.powi(4)));
    let (threshold, ratio) = (-20.0, 4.0);
    let settings = MultibandSettings {
        enabled: true,
        crossovers_hz: vec![150.0, 2500.0],
        bands: vec![idle(), squeeze(threshold, ratio), idle()],
        mid_side: false,
    };
    let input = sine(RATE, 2.0, 1000.0, -10.0, 0.0);
    let (l, r, mb) = run(&settings, &input, &input);
    let expected_reduction = (-10.0 + db(band_gain) - threshold) * (1.0 - 1.0 / ratio);
    let meters = mb.band_gain_reduction_db();
    // The meter's maximum includes the band filter's onset overshoot, so
    // the steady-state figure is checked on the output below.
    assert!(meters[1].0 >= expected_reduction - TOL_STEADY_DB);
    assert_eq!(meters[0].0, 0.0);
    assert_eq!(meters[2].0, 0.0);
    // LR4 bands are in phase with each other, so the output is the band
    // at gain g plus the unity remainder: g·|B| + (1 − |B|).
    let g = 10f64.powf(-expected_reduction / 20.0);
    let expected_out_db = db(g * band_gain + (1.0 - band_gain));
    let tail = RATE as usize;
    let out_db = db(rms(&l[tail..]) / rms(&input[tail..]));
    assert!(
        (out_db - expected_out_db).abs() <= TOL_STEADY_DB,
        "output {out_db:.3} dB, expected {expected_out_db:.3} dB"
    );
    assert_eq!(l, r);
}

#[test]
fn linked_detection_keeps_the_image() {
    let settings = MultibandSettings {
        enabled: true,
        crossovers_hz: vec![200.0, 3000.0],
        bands: vec![
            squeeze(-30.0, 3.0),
            squeeze(-30.0, 3.0),
            squeeze(-30.0, 3.0),
        ],
        mid_side: false,
    };
    let left = sine(RATE, 1.0, 800.0, -6.0, 0.0);
    let right = sine(RATE, 1.0, 800.0, -18.0, 0.0);
    let (l, r, mb) = run(&settings, &left, &right);
    assert!(mb.max_gain_reduction_db() > 5.0);
    let tail = RATE as usize / 2;
    let balance_in = db(rms(&left[tail..]) / rms(&right[tail..]));
    let balance_out = db(rms(&l[tail..]) / rms(&r[tail..]));
    assert!(
        (balance_in - balance_out).abs() < 0.01,
        "L/R balance moved from {balance_in:.3} to {balance_out:.3} dB"
    );
}

#[test]
fn mid_side_mode_compresses_side_without_touching_mid() {
    let settings = MultibandSettings {
        enabled: true,
        crossovers_hz: vec![200.0, 3000.0],
        bands: vec![
            squeeze(-30.0, 4.0),
            squeeze(-30.0, 4.0),
            squeeze(-30.0, 4.0),
        ],
        mid_side: true,
    };
    // Mid: a quiet 1 kHz tone under threshold; side: a loud 1.5 kHz tone.
    let mid = sine(RATE, 1.0, 1000.0, -40.0, 0.0);
    let side = sine(RATE, 1.0, 1500.0, -10.0, 0.0);
    let left: Vec<f32> = mid.iter().zip(&side).map(|(m, s)| m + s).collect();
    let right: Vec<f32> = mid.iter().zip(&side).map(|(m, s)| m - s).collect();
    let (l, r, mb) = run(&settings, &left, &right);
    assert!(mb.max_gain_reduction_db() > 10.0);
    let tail = RATE as usize / 2;
    let out_mid: Vec<f32> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a + b)).collect();
    let out_side: Vec<f32> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a - b)).collect();
    let mid_change = db(rms(&out_mid[tail..]) / rms(&mid[tail..]));
    let side_change = db(rms(&out_side[tail..]) / rms(&side[tail..]));
    assert!(
        mid_change.abs() < TOL_STEADY_DB,
        "mid changed {mid_change:.3} dB"
    );
    assert!(side_change < -10.0, "side changed only {side_change:.3} dB");
}

#[test]
fn makeup_is_exact_and_bypass_is_bit_exact() {
    let mut rng = Rng::new(5);
    let input: Vec<f32> = (0..RATE as usize)
        .map(|_| rng.bipolar() as f32 * 0.1)
        .collect();
    let makeup = CompressorCurve {
        makeup_db: 2.5,
        ..idle()
    };
    let settings = MultibandSettings {
        enabled: true,
        crossovers_hz: vec![100.0, 1000.0, 8000.0],
        bands: vec![makeup.clone(), makeup.clone(), makeup.clone(), makeup],
        mid_side: false,
    };
    let (l, _, _) = run(&settings, &input, &input);
    let gain = db(rms(&l) / rms(&input));
    assert!((gain - 2.5).abs() < 0.01, "makeup {gain:.4} dB");

    let disabled = MultibandSettings {
        enabled: false,
        ..settings
    };
    let (l, r, _) = run(&disabled, &input, &input);
    assert_eq!(l, input);
    assert_eq!(r, input);
}

#[test]
fn invalid_settings_are_rejected() {
    let ok = MultibandSettings::default();
    let mut mb = MultibandCompressor::new(&ok);
    assert!(mb.prepare(RATE, 64).is_ok());
    let cases = [
        MultibandSettings {
            crossovers_hz: vec![1000.0],
            bands: vec![idle(); 2],
            ..ok.clone()
        },
        MultibandSettings {
            bands: vec![idle(); 3],
            ..ok.clone()
        },
        MultibandSettings {
            crossovers_hz: vec![500.0, 100.0, 2000.0],
            ..ok.clone()
        },
        MultibandSettings {
            bands: vec![squeeze(-10.0, 0.0); 4],
            ..ok.clone()
        },
    ];
    for settings in cases {
        assert!(
            MultibandCompressor::new(&settings)
                .prepare(RATE, 64)
                .is_err(),
            "{settings:?}"
        );
    }
}

#[test]
fn block_size_does_not_change_the_output() {
    for mid_side in [false, true] {
        let settings = MultibandSettings {
            enabled: true,
            crossovers_hz: vec![120.0, 1500.0, 7000.0],
            bands: vec![
                CompressorCurve {
                    threshold_db: -20.0,
                    ratio: 2.0,
                    attack_ms: 20.0,
                    ..CompressorCurve::default()
                },
                CompressorCurve {
                    threshold_db: -25.0,
                    ratio: 3.0,
                    attack_ms: 5.0,
                    ..CompressorCurve::default()
                },
                CompressorCurve {
                    threshold_db: -30.0,
                    ratio: 4.0,
                    makeup_db: 1.0,
                    ..CompressorCurve::default()
                },
                CompressorCurve {
                    threshold_db: -35.0,
                    ratio: 1.5,
                    knee_db: 12.0,
                    ..CompressorCurve::default()
                },
            ],
            mid_side,
        };
        let mut rng = Rng::new(99);
        let left: Vec<f32> = (0..RATE as usize)
            .map(|_| rng.bipolar() as f32 * 0.5)
            .collect();
        let right: Vec<f32> = (0..RATE as usize)
            .map(|_| rng.bipolar() as f32 * 0.4)
            .collect();
        let (wl, wr, whole) = run(&settings, &left, &right);
        let mut mb = MultibandCompressor::new(&settings);
        mb.prepare(RATE, 4096).expect("valid");
        let (mut bl, mut br) = (left, right);
        let mut start = 0;
        while start < bl.len() {
            let len = rng.range(1, 4096).min(bl.len() - start);
            mb.process(&mut bl[start..start + len], &mut br[start..start + len]);
            start += len;
        }
        assert_eq!(bl, wl);
        assert_eq!(br, wr);
        assert!(whole.max_gain_reduction_db() > 0.0);
        assert_eq!(mb.mean_gain_reduction_db(), whole.mean_gain_reduction_db());
    }
}

/// The control-rate gains: gains at control frames (absolute index
/// multiple of `CONTROL_INTERVAL`) are reached exactly one interval later,
/// frames in between interpolate linearly, a constant gain stays bit-exact,
/// and cutting the same frames into different blocks changes nothing.
#[test]
fn control_rate_gains_interpolate_and_ignore_block_boundaries() {
    use lacquer_dsp::biquad::F2;
    use lacquer_dsp::envelope::{CONTROL_INTERVAL, ControlRate, control_segments};
    const TOL_INTERP: f64 = 1e-15;
    let frames = 10 * CONTROL_INTERVAL + 3;
    let control_gain = |k: usize| F2::splat(1.0 - 0.01 * k as f64);
    // Per-frame gains of a block starting at `start`, control frames'
    // gains taken from `control_gain` by absolute index.
    let run = |rate: &mut ControlRate, start: usize, len: usize| -> Vec<F2> {
        let mut gains = Vec::with_capacity(len);
        for segment in control_segments(start as u64, len) {
            if segment.control.is_some() {
                rate.advance(control_gain((start + segment.start) / CONTROL_INTERVAL));
            }
            let ramp = rate.ramp();
            gains.extend((0..segment.len).map(|j| ramp.at(segment.phase + j)));
        }
        gains
    };
    let whole = run(&mut ControlRate::new(F2::splat(1.0)), 0, frames);
    assert_eq!(whole.len(), frames);
    for (n, gain) in whole.iter().enumerate() {
        let k = n / CONTROL_INTERVAL;
        let previous = if k == 0 {
            1.0
        } else {
            control_gain(k - 1).left()
        };
        let t = (n % CONTROL_INTERVAL) as f64 / CONTROL_INTERVAL as f64;
        let want = previous + (control_gain(k).left() - previous) * t;
        assert!((gain.left() - want).abs() <= TOL_INTERP, "frame {n}");
    }
    // The same frames in uneven blocks.
    let mut rate = ControlRate::new(F2::splat(1.0));
    let mut start = 0;
    for len in [1, 7, 8, 3, 20, 5].iter().cycle() {
        if start >= frames {
            break;
        }
        let end = (start + len).min(frames);
        let gains = run(&mut rate, start, end - start);
        assert_eq!(gains, whole[start..end], "block at {start}");
        start = end;
    }
    // A constant gain is reproduced bit for bit.
    let mut rate = ControlRate::new(F2::splat(0.75));
    rate.advance(F2::splat(0.75));
    let ramp = rate.ramp();
    assert!((0..CONTROL_INTERVAL).all(|p| ramp.at(p) == F2::splat(0.75)));
}

/// The held meter reads what a per-frame meter reads of the held values
/// (same max; mean within rounding), and its readings do not depend on how
/// the frames were cut into blocks.
#[test]
fn held_meter_matches_a_per_frame_meter() {
    use lacquer_dsp::envelope::{
        CONTROL_INTERVAL, ControlRate, HeldReductionMeter, ReductionMeter,
    };
    // Rounding of two different summation orders over ~100 values of a
    // few dB.
    const TOL_MEAN_DB: f64 = 1e-12;
    let reduction = |k: usize| ((k * 37) % 11) as f64 * 0.7;
    for frames in [
        1,
        7,
        8,
        9,
        100 * CONTROL_INTERVAL,
        100 * CONTROL_INTERVAL + 5,
    ] {
        let mut per_frame = ReductionMeter::default();
        for n in 0..frames {
            per_frame.record(reduction(n / CONTROL_INTERVAL));
        }
        let controls: Vec<f64> = (0..frames.div_ceil(CONTROL_INTERVAL))
            .map(reduction)
            .collect();
        let mut whole = HeldReductionMeter::default();
        whole.record_block(&controls, frames);
        assert_eq!(whole.max_db(), per_frame.max_db(), "{frames} frames");
        assert!(
            (whole.mean_db() - per_frame.mean_db()).abs() <= TOL_MEAN_DB,
            "{frames} frames: {} vs {}",
            whole.mean_db(),
            per_frame.mean_db()
        );
        let mut blocks = HeldReductionMeter::default();
        let mut start = 0;
        for len in [3, 1, 16, 9, 8].iter().cycle() {
            if start >= frames {
                break;
            }
            let end = (start + len).min(frames);
            let first = ControlRate::first_control(start as u64);
            let local: Vec<f64> = (start + first..end)
                .step_by(CONTROL_INTERVAL)
                .map(|n| reduction(n / CONTROL_INTERVAL))
                .collect();
            blocks.record_block(&local, end - start);
            start = end;
        }
        assert_eq!(blocks.max_db(), whole.max_db(), "{frames} frames");
        assert_eq!(blocks.mean_db(), whole.mean_db(), "{frames} frames");
    }
}
