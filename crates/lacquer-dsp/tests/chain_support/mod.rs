//! Measurement helpers shared by the DSP integration tests: independent of
//! the code under test (own interpolator, own spectrum maths).
#![allow(dead_code)]

use lacquer_dsp::Processor;
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// BS.1770 true peak of a stereo pair as `ebur128` reads it, in dBTP.
pub fn ebur128_true_peak_dbtp(left: &[f32], right: &[f32], rate: u32) -> f64 {
    let mut meter =
        ebur128::EbuR128::new(2, rate, ebur128::Mode::TRUE_PEAK).expect("meter for 2 channels");
    meter
        .add_frames_planar_f32(&[left, right])
        .expect("frames accepted");
    let peak = meter
        .true_peak(0)
        .expect("channel 0")
        .max(meter.true_peak(1).expect("channel 1"));
    20.0 * peak.log10()
}

/// Half-length (in input frames) of the independent reconstruction kernel.
const CHECK_HALF_TAPS: usize = 128;
const CHECK_KAISER_BETA: f64 = 9.0;

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..80 {
        term *= (x / 2.0 / k as f64).powi(2);
        sum += term;
    }
    sum
}

/// Peak of the waveform reconstructed at 8 points per sample with a long
/// Kaiser-windowed sinc evaluated directly in f64 (a different design from
/// both the limiter's half-band cascade and BS.1770's 4x filter), in dBTP.
pub fn true_peak_8x_dbtp(x: &[f32]) -> f64 {
    const FACTOR: usize = 8;
    let half = CHECK_HALF_TAPS as isize;
    let i0_beta = bessel_i0(CHECK_KAISER_BETA);
    // kernel[phase][k] for t = n + phase/8, taps x[n + k - half + 1].
    let kernels: Vec<Vec<f64>> = (0..FACTOR)
        .map(|phase| {
            let frac = phase as f64 / FACTOR as f64;
            (0..2 * half)
                .map(|k| {
                    let d = frac - (k - half + 1) as f64;
                    let sinc = if d.abs() < 1e-12 {
                        1.0
                    } else {
                        (PI * d).sin() / (PI * d)
                    };
                    let r = d / half as f64;
                    let w = bessel_i0(CHECK_KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                    sinc * w
                })
                .collect()
        })
        .collect();
    let n = x.len() as isize;
    let mut peak = 0.0f64;
    for i in 0..n {
        peak = peak.max(f64::from(x[i as usize]).abs());
        for kernel in &kernels[1..] {
            let mut acc = 0.0;
            for (k, &h) in kernel.iter().enumerate() {
                let idx = i + k as isize - half + 1;
                if (0..n).contains(&idx) {
                    acc += h * f64::from(x[idx as usize]);
                }
            }
            peak = peak.max(acc.abs());
        }
    }
    20.0 * peak.log10()
}

/// Power spectrum (|X|², rectangular window) of `x`.
pub fn power_spectrum(x: &[f32]) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(x.len());
    let mut input: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).expect("fft sizes");
    spectrum.iter().map(|c| c.norm_sqr()).collect()
}

/// THD+N in dB of a sine whose frequency falls exactly on an FFT bin of the
/// given window (so there is no leakage and no window is needed): everything
/// but the fundamental bin and DC, relative to the fundamental.
pub fn thd_n_db(x: &[f32], fundamental_bin: usize) -> f64 {
    let p = power_spectrum(x);
    let fundamental = p[fundamental_bin];
    let rest: f64 = p
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 0 && i != fundamental_bin)
        .map(|(_, &v)| v)
        .sum();
    10.0 * (rest / fundamental).log10()
}

/// Runs a processor over a stereo signal in blocks of the given sizes
/// (cycled), returning the output.
pub fn run_blocks(
    stage: &mut impl Processor,
    left: &[f32],
    right: &[f32],
    sizes: &[usize],
) -> (Vec<f32>, Vec<f32>) {
    let mut l = left.to_vec();
    let mut r = right.to_vec();
    let mut start = 0;
    let mut i = 0;
    while start < l.len() {
        let len = sizes[i % sizes.len()].min(l.len() - start);
        stage.process(&mut l[start..start + len], &mut r[start..start + len]);
        start += len;
        i += 1;
    }
    (l, r)
}

use lacquer_core::chain::{
    ChainSettings, CompressorCurve, DynamicEqBandSettings, EqBandKind, EqBandSettings, MatchPoint,
    SaturationCurve,
};

/// A chain in which every stage is enabled and doing real work (what a
/// "loud" master might ask for).
pub fn busy_chain_settings() -> ChainSettings {
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    s.eq.high_pass.enabled = true;
    s.eq.high_pass.frequency_hz = 30.0;
    s.eq.bands = vec![
        EqBandSettings {
            kind: EqBandKind::LowShelf,
            frequency_hz: 100.0,
            gain_db: 1.5,
            q: 0.7,
        },
        EqBandSettings {
            kind: EqBandKind::Peak,
            frequency_hz: 3000.0,
            gain_db: -2.0,
            q: 1.0,
        },
        EqBandSettings {
            kind: EqBandKind::HighShelf,
            frequency_hz: 10_000.0,
            gain_db: 1.0,
            q: 0.7,
        },
    ];
    s.eq.match_eq.enabled = true;
    s.eq.match_eq.curve = vec![
        MatchPoint {
            frequency_hz: 100.0,
            gain_db: 1.0,
        },
        MatchPoint {
            frequency_hz: 1000.0,
            gain_db: 0.0,
        },
        MatchPoint {
            frequency_hz: 8000.0,
            gain_db: -1.0,
        },
    ];
    s.dynamic_eq.enabled = true;
    s.dynamic_eq.bands = vec![
        DynamicEqBandSettings::harshness(-30.0, 4.0),
        DynamicEqBandSettings::mud(-30.0, 3.0),
    ];
    s.multiband.enabled = true;
    s.multiband.bands = vec![
        CompressorCurve {
            threshold_db: -20.0,
            ratio: 2.0,
            ..CompressorCurve::default()
        };
        4
    ];
    s.glue.enabled = true;
    s.glue.curve.threshold_db = -18.0;
    s.glue.curve.ratio = 2.0;
    s.saturation.enabled = true;
    s.saturation.curve = SaturationCurve::Tanh;
    s.saturation.drive_db = 6.0;
    s.saturation.mix_percent = 50.0;
    s.stereo.enabled = true;
    s.stereo.width_percent = 130.0;
    s.stereo.width_from_hz = 2000.0;
    s.stereo.mono_bass = true;
    s.stereo.correlation_guard = true;
    s.stereo.correlation_floor = 0.2;
    s.gain_db = 6.0;
    s.limiter.enabled = true;
    s.limiter.ceiling_dbtp = -1.0;
    s
}
