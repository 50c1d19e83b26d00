//! LR4 crossover: bands (compressors at unity) sum to the input magnitude
//! within ±0.05 dB from 20 Hz to 20 kHz at 44.1 and 48 kHz, for 3 and 4
//! bands, in L/R and M/S mode; each band is −6 dB at its crossover.

use lacquer_core::chain::{CompressorCurve, MultibandSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::crossover::{Crossover, MAX_BANDS};
use lacquer_dsp::multiband::MultibandCompressor;
use std::f64::consts::PI;

/// The acceptance figure for a flat sum.
const TOL_SUM_DB: f64 = 0.05;
/// LR4 band level at its crossover frequency: two Butterworth halves, each
/// −3.01 dB.
const LR4_AT_CROSSOVER_DB: f64 = -6.0206;
const TOL_BAND_DB: f64 = 0.01;
const RATES: [u32; 2] = [44_100, 48_000];
const IR_LEN: usize = 1 << 14;

fn dtft_db(ir: &[f64], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, &h) in ir.iter().enumerate() {
        re += h * (w * n as f64).cos();
        im -= h * (w * n as f64).sin();
    }
    20.0 * re.hypot(im).log10()
}

fn log_freqs(count: usize) -> impl Iterator<Item = f64> {
    (0..count).map(move |k| 20.0 * 1000f64.powf(k as f64 / (count - 1) as f64))
}

fn unity_settings(crossovers_hz: Vec<f64>, mid_side: bool) -> MultibandSettings {
    let bands = vec![CompressorCurve::default(); crossovers_hz.len() + 1];
    MultibandSettings {
        enabled: true,
        crossovers_hz,
        bands,
        mid_side,
    }
}

#[test]
fn unity_multiband_sums_flat_at_44k1_and_48k() {
    for rate in RATES {
        for crossovers in [
            vec![150.0, 2500.0],
            vec![90.0, 600.0, 5000.0],
            vec![60.0, 1200.0, 14_000.0],
        ] {
            for mid_side in [false, true] {
                let mut mb =
                    MultibandCompressor::new(&unity_settings(crossovers.clone(), mid_side));
                mb.prepare(rate, IR_LEN).expect("valid");
                let mut left = vec![0.0f32; IR_LEN];
                left[0] = 1.0;
                let mut right = left.clone();
                right[0] = 0.5;
                mb.process(&mut left, &mut right);
                let l: Vec<f64> = left.iter().map(|&v| f64::from(v)).collect();
                let r: Vec<f64> = right.iter().map(|&v| f64::from(v) * 2.0).collect();
                let mut worst: f64 = 0.0;
                for f in log_freqs(120) {
                    worst = worst
                        .max(dtft_db(&l, rate, f).abs())
                        .max(dtft_db(&r, rate, f).abs());
                }
                println!(
                    "{rate} Hz, {crossovers:?}, M/S {mid_side}: worst sum deviation {worst:.2e} dB"
                );
                assert!(
                    worst <= TOL_SUM_DB,
                    "{rate} Hz, {crossovers:?}, M/S {mid_side}: sum deviates {worst:.5} dB"
                );
                assert_eq!(mb.max_gain_reduction_db(), 0.0);
            }
        }
    }
}

#[test]
fn each_band_is_6_db_down_at_its_crossovers_and_bands_sum_flat() {
    for rate in RATES {
        let crossovers = [100.0, 1000.0, 8000.0];
        let mut xo = Crossover::new(f64::from(rate), &crossovers).expect("valid");
        let mut bands = vec![vec![0.0f64; IR_LEN]; 4];
        let mut out = [(0.0, 0.0); MAX_BANDS];
        for n in 0..IR_LEN {
            let x = if n == 0 { 1.0 } else { 0.0 };
            xo.split(x, x, &mut out);
            for (band, &(l, r)) in bands.iter_mut().zip(out.iter()) {
                assert_eq!(l, r);
                band[n] = l;
            }
        }
        for (i, &f) in crossovers.iter().enumerate() {
            for band in [i, i + 1] {
                let level = dtft_db(&bands[band], rate, f);
                assert!(
                    (level - LR4_AT_CROSSOVER_DB).abs() <= TOL_BAND_DB,
                    "{rate} Hz band {band} at {f} Hz: {level:.4} dB"
                );
            }
        }
        // Inside a band: analog LR4 low-pass × high-pass, 1/(1+r⁴) each.
        for f in [200.0, 316.0, 500.0] {
            let lp = 1.0 / (1.0 + (f / 1000.0f64).powi(4));
            let hp = (f / 100.0f64).powi(4) / (1.0 + (f / 100.0f64).powi(4));
            let expected = 20.0 * (lp * hp).log10();
            let level = dtft_db(&bands[1], rate, f);
            assert!(
                (level - expected).abs() <= TOL_BAND_DB,
                "band 1 at {f} Hz: {level:.4} dB, analog LR4 {expected:.4} dB"
            );
        }
        let sum: Vec<f64> = (0..IR_LEN)
            .map(|n| bands.iter().map(|b| b[n]).sum())
            .collect();
        let worst = log_freqs(120)
            .map(|f| dtft_db(&sum, rate, f).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= TOL_SUM_DB,
            "{rate} Hz: raw crossover sum deviates {worst:.5} dB"
        );
    }
}

#[test]
fn crossover_rejects_bad_frequencies() {
    assert!(Crossover::new(48_000.0, &[]).is_err());
    assert!(Crossover::new(48_000.0, &[1000.0, 500.0]).is_err());
    assert!(Crossover::new(48_000.0, &[100.0, 23_000.0]).is_err());
    assert!(Crossover::new(48_000.0, &[100.0, f64::NAN]).is_err());
    assert!(Crossover::new(48_000.0, &[100.0, 200.0, 400.0, 800.0]).is_err());
}
