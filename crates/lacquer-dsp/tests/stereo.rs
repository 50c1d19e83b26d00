//! Stereo shaper: mono lows (side ≥ 40 dB under mid below the cutoff),
//! widening never costs mono-sum level, width applies to the highs only,
//! the correlation guard holds the floor, M/S gains are exact, neutral
//! settings are bit-exact, block size does not change the output.

use lacquer_core::chain::StereoSettings;
use lacquer_dsp::Processor;
use lacquer_dsp::stereo::StereoShaper;
use lacquer_testkit::{Rng, pink_noise};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// Required side-under-mid level below the mono cutoff.
const MONO_SIDE_UNDER_MID_DB: f64 = -40.0;
/// Largest mono-sum loss a widened signal may show.
const MAX_MONO_SUM_LOSS_DB: f64 = 1.0;
/// Band-energy checks on noise (Welch estimate, 4 s).
const TOL_BAND_DB: f64 = 0.25;
const RATES: [u32; 2] = [44_100, 48_000];

fn db_power(p: f64) -> f64 {
    10.0 * p.log10()
}

/// Welch power spectrum (Hann, 8192, 50 % overlap), summed per band.
fn band_power(x: &[f64], rate: u32, lo_hz: f64, hi_hz: f64) -> f64 {
    let n = 8192;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let window: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos())
        .collect();
    let mut total = 0.0;
    let mut start = 0;
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    while start + n <= x.len() {
        for (i, v) in input.iter_mut().enumerate() {
            *v = x[start + i] * window[i];
        }
        fft.process(&mut input, &mut spectrum).expect("sizes match");
        for (k, bin) in spectrum.iter().enumerate() {
            let f = k as f64 * f64::from(rate) / n as f64;
            if f >= lo_hz && f < hi_hz {
                total += bin.norm_sqr();
            }
        }
        start += n / 2;
    }
    total
}

fn mid_side(l: &[f32], r: &[f32]) -> (Vec<f64>, Vec<f64>) {
    l.iter()
        .zip(r)
        .map(|(&a, &b)| {
            (
                0.5 * (f64::from(a) + f64::from(b)),
                0.5 * (f64::from(a) - f64::from(b)),
            )
        })
        .unzip()
}

fn correlation(l: &[f32], r: &[f32]) -> f64 {
    let (mut lr, mut ll, mut rr) = (0.0, 0.0, 0.0);
    for (&a, &b) in l.iter().zip(r) {
        let (a, b) = (f64::from(a), f64::from(b));
        lr += a * b;
        ll += a * a;
        rr += b * b;
    }
    lr / (ll * rr).sqrt()
}

/// Stereo pink noise: `shared` correlated part plus independent parts.
fn stereo_noise(seed: u64, rate: u32, seconds: f64, independent_db: f64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let shared = pink_noise(&mut rng, rate, seconds, -20.0);
    let a = pink_noise(&mut rng, rate, seconds, -20.0 + independent_db);
    let b = pink_noise(&mut rng, rate, seconds, -20.0 + independent_db);
    let left = shared.iter().zip(&a).map(|(s, x)| s + x).collect();
    let right = shared.iter().zip(&b).map(|(s, x)| s + x).collect();
    (left, right)
}

fn run(
    settings: &StereoSettings,
    rate: u32,
    left: &[f32],
    right: &[f32],
) -> (Vec<f32>, Vec<f32>, StereoShaper) {
    let mut shaper = StereoShaper::new(settings);
    shaper.prepare(rate, left.len()).expect("valid settings");
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    shaper.process(&mut l, &mut r);
    (l, r, shaper)
}

fn enabled() -> StereoSettings {
    StereoSettings {
        enabled: true,
        ..StereoSettings::default()
    }
}

#[test]
fn side_below_the_mono_cutoff_is_40_db_under_mid() {
    for rate in RATES {
        for cutoff in [80.0, 120.0, 200.0] {
            // Independent L/R noise: mid and side carry equal energy.
            let (left, right) = stereo_noise(1, rate, 4.0, 40.0);
            let settings = StereoSettings {
                mono_bass: true,
                mono_below_hz: cutoff,
                ..enabled()
            };
            let (l, r, _) = run(&settings, rate, &left, &right);
            let skip = rate as usize / 2;
            let (mid, side) = mid_side(&l[skip..], &r[skip..]);
            let ratio_db = db_power(
                band_power(&side, rate, 20.0, cutoff) / band_power(&mid, rate, 20.0, cutoff),
            );
            println!("{rate} Hz, mono below {cutoff} Hz: side/mid below cutoff {ratio_db:.1} dB");
            assert!(
                ratio_db < MONO_SIDE_UNDER_MID_DB,
                "{rate} Hz, cutoff {cutoff} Hz: side/mid below cutoff {ratio_db:.1} dB"
            );
            // Well above the side high-pass corner the side is untouched.
            let (_, in_side) = mid_side(&left[skip..], &right[skip..]);
            let kept = db_power(
                band_power(&side, rate, 8.0 * cutoff, 16_000.0)
                    / band_power(&in_side, rate, 8.0 * cutoff, 16_000.0),
            );
            assert!(
                kept.abs() < TOL_BAND_DB,
                "side above {} Hz changed {kept:.3} dB",
                8.0 * cutoff
            );
        }
    }
}

#[test]
fn widening_does_not_cost_mono_sum_level() {
    for width_from_hz in [0.0, 300.0] {
        let (left, right) = stereo_noise(2, 44_100, 4.0, -6.0);
        let settings = StereoSettings {
            width_percent: 200.0,
            width_from_hz,
            mono_bass: true,
            ..enabled()
        };
        let (l, r, shaper) = run(&settings, 44_100, &left, &right);
        let mono_in: Vec<f64> = left
            .iter()
            .zip(&right)
            .map(|(a, b)| f64::from(a + b))
            .collect();
        let mono_out: Vec<f64> = l.iter().zip(&r).map(|(a, b)| f64::from(a + b)).collect();
        let energy = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
        let loss_db = -db_power(energy(&mono_out) / energy(&mono_in));
        println!("width 200 % from {width_from_hz} Hz: mono-sum loss {loss_db:.4} dB");
        assert!(
            loss_db < MAX_MONO_SUM_LOSS_DB,
            "mono sum lost {loss_db:.3} dB"
        );
        assert!(shaper.applied_width() == 200.0);
        // The side really was widened.
        let (_, s_in) = mid_side(&left, &right);
        let (_, s_out) = mid_side(&l, &r);
        let gain = db_power(
            band_power(&s_out, 44_100, 3000.0, 12_000.0)
                / band_power(&s_in, 44_100, 3000.0, 12_000.0),
        );
        assert!(
            (gain - 20.0 * 2f64.log10()).abs() < TOL_BAND_DB,
            "side above 3 kHz: {gain:.3} dB"
        );
    }
}

#[test]
fn width_applies_to_the_highs_only_when_asked() {
    let rate = 48_000;
    let (left, right) = stereo_noise(3, rate, 4.0, 0.0);
    let settings = StereoSettings {
        width_percent: 150.0,
        width_from_hz: 1000.0,
        ..enabled()
    };
    let (l, r, _) = run(&settings, rate, &left, &right);
    let (_, s_in) = mid_side(&left, &right);
    let (m_out, s_out) = mid_side(&l, &r);
    let (m_in, _) = mid_side(&left, &right);
    let band = |x: &[f64], lo: f64, hi: f64| band_power(x, rate, lo, hi);
    let low = db_power(band(&s_out, 40.0, 150.0) / band(&s_in, 40.0, 150.0));
    let high = db_power(band(&s_out, 8000.0, 16_000.0) / band(&s_in, 8000.0, 16_000.0));
    let mid_change = db_power(band(&m_out, 40.0, 16_000.0) / band(&m_in, 40.0, 16_000.0));
    assert!(
        low.abs() < TOL_BAND_DB,
        "side below 150 Hz changed {low:.3} dB"
    );
    assert!(
        (high - 20.0 * 1.5f64.log10()).abs() < TOL_BAND_DB,
        "side above 8 kHz: {high:.3} dB"
    );
    assert!(mid_change.abs() < 1e-6, "mid changed {mid_change} dB");
}

#[test]
fn correlation_guard_holds_the_floor() {
    let rate = 44_100;
    let floor = 0.3;
    // Half-correlated channels (correlation ≈ 0.5), widened to 180 %:
    // without the guard the output correlation goes negative.
    let (left, right) = stereo_noise(4, rate, 6.0, 0.0);
    let input_corr = correlation(&left, &right);
    let mut settings = StereoSettings {
        width_percent: 180.0,
        correlation_floor: floor,
        ..enabled()
    };
    let (l, r, _) = run(&settings, rate, &left, &right);
    let unguarded = correlation(&l, &r);
    assert!(
        unguarded < floor,
        "test signal must need the guard: {unguarded:.3}"
    );
    settings.correlation_guard = true;
    let (l, r, shaper) = run(&settings, rate, &left, &right);
    // Every 400 ms window after the first second.
    let window = (0.4 * f64::from(rate)) as usize;
    let mut worst: f64 = 1.0;
    for start in (rate as usize..l.len() - window).step_by(window) {
        worst = worst.min(correlation(
            &l[start..start + window],
            &r[start..start + window],
        ));
    }
    println!(
        "guard: input corr {input_corr:.3}, unguarded {unguarded:.3}, guarded worst 400 ms window {worst:.3}, applied width {:.1} %",
        shaper.applied_width()
    );
    assert!(
        worst >= floor,
        "correlation fell to {worst:.3} (floor {floor})"
    );
    assert!(shaper.applied_width() < 180.0);
    assert!(shaper.min_applied_width() >= 0.0);
}

#[test]
fn mid_and_side_gains_are_exact() {
    let (left, right) = stereo_noise(5, 48_000, 1.0, 0.0);
    let settings = StereoSettings {
        mid_gain_db: 1.5,
        side_gain_db: -3.0,
        ..enabled()
    };
    let (l, r, _) = run(&settings, 48_000, &left, &right);
    let (m_in, s_in) = mid_side(&left, &right);
    let (m_out, s_out) = mid_side(&l, &r);
    let energy = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    let mid_db = db_power(energy(&m_out) / energy(&m_in));
    let side_db = db_power(energy(&s_out) / energy(&s_in));
    assert!((mid_db - 1.5).abs() < 1e-4, "mid {mid_db:.5} dB");
    assert!((side_db + 3.0).abs() < 1e-4, "side {side_db:.5} dB");
}

#[test]
fn neutral_and_disabled_are_bit_exact() {
    let (left, right) = stereo_noise(6, 48_000, 1.0, 0.0);
    for settings in [StereoSettings::default(), enabled()] {
        let (l, r, _) = run(&settings, 48_000, &left, &right);
        assert_eq!(l, left);
        assert_eq!(r, right);
    }
}

#[test]
fn invalid_settings_are_rejected() {
    for bad in [
        StereoSettings {
            width_percent: 250.0,
            ..enabled()
        },
        StereoSettings {
            width_percent: -1.0,
            ..enabled()
        },
        StereoSettings {
            width_percent: 0.0,
            width_from_hz: 500.0,
            ..enabled()
        },
        StereoSettings {
            correlation_floor: 0.95,
            ..enabled()
        },
        StereoSettings {
            mono_bass: true,
            mono_below_hz: 15_000.0,
            ..enabled()
        },
        StereoSettings {
            mid_gain_db: f64::NAN,
            ..enabled()
        },
    ] {
        assert!(
            StereoShaper::new(&bad).prepare(48_000, 64).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn block_size_does_not_change_the_output() {
    let settings = StereoSettings {
        width_percent: 170.0,
        width_from_hz: 400.0,
        mono_bass: true,
        correlation_guard: true,
        correlation_floor: 0.2,
        side_gain_db: 1.0,
        ..enabled()
    };
    let (left, right) = stereo_noise(7, 44_100, 1.5, 0.0);
    let (wl, wr, whole) = run(&settings, 44_100, &left, &right);
    let mut shaper = StereoShaper::new(&settings);
    shaper.prepare(44_100, 4096).expect("valid");
    let mut rng = Rng::new(70);
    let (mut bl, mut br) = (left, right);
    let mut start = 0;
    while start < bl.len() {
        let len = rng.range(1, 4096).min(bl.len() - start);
        shaper.process(&mut bl[start..start + len], &mut br[start..start + len]);
        start += len;
    }
    assert_eq!(bl, wl);
    assert_eq!(br, wr);
    assert_eq!(shaper.applied_width(), whole.applied_width());
}
