//! Sample-rate conversion quality, measured against ideal sines.

mod common;

use common::*;
use lacquer_core::AudioBuffer;
use lacquer_io::{IoError, resample, resampled_len};
use lacquer_testkit::{Rng, sine, white_noise};

/// A 1 kHz tone keeps its level within this through 44.1 → 48 kHz.
const LEVEL_TOL_DB: f64 = 0.01;
/// THD+N of a -6 dBFS 1 kHz tone through 44.1 → 48 kHz, relative to the tone.
const THDN_LIMIT_DB: f64 = -140.0;
/// Passband flatness from 20 Hz to 20 kHz (44.1 → 48 kHz).
const PASSBAND_TOL_DB: f64 = 0.001;
/// Tones above the new Nyquist must be attenuated at least this much.
const STOPBAND_MIN_ATTEN_DB: f64 = 140.0;
/// Largest sample error against the ideal resampled sine (no delay, no
/// phase shift): -100 dBFS. A one-sample delay would give about -24 dBFS.
const ALIGNMENT_TOL: f64 = 1e-5;

/// Ignore this much at each end: the abrupt start and end of a test tone
/// ring through any band-limited filter.
const EDGE_SECONDS: f64 = 0.05;

fn interior(x: &[f32], rate: u32) -> &[f32] {
    let edge = (EDGE_SECONDS * f64::from(rate)) as usize;
    &x[edge..x.len() - edge]
}

fn tone(rate: u32, freq: f64, peak_dbfs: f64, seconds: f64) -> AudioBuffer {
    let x = sine(rate, seconds, freq, peak_dbfs, 0.0);
    AudioBuffer::stereo(rate, x.clone(), x).unwrap()
}

/// Gain in dB of a tone through from_hz → to_hz.
fn tone_gain_db(from_hz: u32, to_hz: u32, freq: f64) -> (f64, f64) {
    let input = tone(from_hz, freq, -6.0, 1.0);
    let out = resample(&input, to_hz).unwrap();
    let (a_in, _) = fit_sine(interior(input.channel(0), from_hz), from_hz, freq);
    let (a_out, resid) = fit_sine(interior(out.channel(0), to_hz), to_hz, freq);
    (db(a_out / a_in), db(resid / a_out))
}

#[test]
fn one_khz_level_and_thdn_44k1_to_48k() {
    let (gain, thdn) = tone_gain_db(44_100, 48_000, 1000.0);
    println!("1 kHz 44.1->48: gain {gain:+.5} dB, THD+N {thdn:.1} dB");
    assert!(gain.abs() <= LEVEL_TOL_DB, "{gain}");
    assert!(thdn <= THDN_LIMIT_DB, "{thdn}");
}

#[test]
fn passband_is_flat_to_20_khz() {
    for freq in [
        20.0, 100.0, 1000.0, 5000.0, 10_000.0, 15_000.0, 18_000.0, 20_000.0,
    ] {
        let (gain, _) = tone_gain_db(44_100, 48_000, freq);
        println!("passband 44.1->48 {freq} Hz: {gain:+.5} dB");
        assert!(gain.abs() <= PASSBAND_TOL_DB, "{freq} Hz: {gain:+.5} dB");
    }
    for freq in [20.0, 1000.0, 10_000.0, 20_000.0] {
        let (gain, _) = tone_gain_db(48_000, 44_100, freq);
        println!("passband 48->44.1 {freq} Hz: {gain:+.5} dB");
        assert!(gain.abs() <= PASSBAND_TOL_DB, "{freq} Hz: {gain:+.5} dB");
    }
}

#[test]
fn tones_above_the_new_nyquist_are_removed() {
    for (from_hz, to_hz, freq) in [
        (48_000u32, 44_100u32, 23_000.0),
        (48_000, 44_100, 23_500.0),
        (96_000, 44_100, 30_000.0),
        (96_000, 48_000, 25_000.0),
    ] {
        let input = tone(from_hz, freq, -1.0, 1.0);
        let out = resample(&input, to_hz).unwrap();
        let atten =
            db(rms(interior(input.channel(0), from_hz))) - db(rms(interior(out.channel(0), to_hz)));
        println!("stopband {from_hz}->{to_hz}, {freq} Hz: {atten:.1} dB");
        assert!(atten >= STOPBAND_MIN_ATTEN_DB, "{freq} Hz: {atten:.1} dB");
    }
}

#[test]
fn output_is_time_aligned_with_input() {
    for (from_hz, to_hz) in [
        (44_100u32, 48_000u32),
        (48_000, 44_100),
        (96_000, 44_100),
        (22_050, 48_000),
    ] {
        let freq = 440.0;
        let input = tone(from_hz, freq, -6.0, 1.0);
        let out = resample(&input, to_hz).unwrap();
        let ideal = sine(to_hz, out.len() as f64 / f64::from(to_hz), freq, -6.0, 0.0);
        let edge = (EDGE_SECONDS * f64::from(to_hz)) as usize;
        let worst = out.channel(0)[edge..out.len() - edge]
            .iter()
            .zip(&ideal[edge..])
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
            .fold(0.0, f64::max);
        println!(
            "alignment {from_hz}->{to_hz}: worst error {:.1} dBFS",
            db(worst)
        );
        assert!(worst <= ALIGNMENT_TOL, "{from_hz}->{to_hz}: {worst}");
    }
}

#[test]
fn output_length_is_rounded_ratio() {
    let mut rng = Rng::new(1);
    for (from_hz, to_hz, len) in [
        (44_100u32, 48_000u32, 44_100usize),
        (44_100, 48_000, 12_345),
        (48_000, 44_100, 12_345),
        (96_000, 44_100, 100_001),
        (8_000, 384_000, 8_001),
        (44_101, 48_000, 50_000),
    ] {
        let x: Vec<f32> = white_noise(&mut rng, from_hz, len as f64 / f64::from(from_hz), -20.0)
            .into_iter()
            .take(len)
            .collect();
        let input = AudioBuffer::stereo(from_hz, x.clone(), x).unwrap();
        let out = resample(&input, to_hz).unwrap();
        let expected = ((len as f64) * f64::from(to_hz) / f64::from(from_hz)).round() as usize;
        assert_eq!(out.len(), expected, "{from_hz}->{to_hz}, {len}");
        assert_eq!(resampled_len(len, from_hz, to_hz), expected);
        assert_eq!(out.sample_rate(), to_hz);
    }
}

#[test]
fn equal_rates_are_identity_and_output_is_deterministic() {
    let input = tone(48_000, 1000.0, -3.0, 0.5);
    assert_eq!(resample(&input, 48_000).unwrap(), input);
    let a = resample(&input, 44_100).unwrap();
    let b = resample(&input, 44_100).unwrap();
    assert_eq!(a, b);
    assert!(matches!(resample(&input, 0), Err(IoError::Resample { .. })));
}
