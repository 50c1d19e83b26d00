//! TPDF dither: the right amount of noise, and no truncation distortion.
//!
//! Expected level: TPDF dither of 2 LSB peak-to-peak has variance 1/6 LSB²;
//! rounding after it adds an independent 1/12 LSB². Total error variance
//! 1/4 LSB², RMS 0.5 LSB. At 16 bits with full scale ±1.0 (LSB = 2⁻¹⁵):
//! 20·log10(0.5 / 32768) = -96.33 dBFS RMS; the dither alone is
//! 20·log10(√(1/6) / 32768) = -98.09 dBFS. At 24 bits: -144.49 dBFS.

mod common;

use common::*;
use lacquer_core::AudioBuffer;
use lacquer_io::dither::{Dither, quantize};
use lacquer_io::{
    DecodeOptions, OutputFormat, Overwrite, WavEncoding, decode_file, encode_to_vec_with_dither,
    write_file,
};
use lacquer_testkit::{db_to_amp, sine};

/// The measured total error RMS may differ from theory by this much
/// (sampling error on ~350 000 samples is about ±0.01 dB).
const NOISE_LEVEL_TOL_DB: f64 = 0.1;
/// A dithered -100 dBFS tone must come back at its level within this.
const QUIET_TONE_TOL_DB: f64 = 0.5;
/// With dither, any 3rd harmonic must be below this (-120 dBFS); the
/// estimate's own noise floor is about -146 dBFS.
const HARMONIC_LIMIT: f64 = 1e-6;

/// Undithered rounding of a 1-LSB tone must show at least this much
/// harmonic distortion relative to the tone (proves the measurement sees it).
const ROUNDED_MIN_THD_DB: f64 = -20.0;

const RATE: u32 = 44_100;
const TONE_HZ: f64 = 997.0;

fn expected_total_error_dbfs(bits: u32) -> f64 {
    let lsb = 1.0 / f64::from(1u32 << (bits - 1));
    20.0 * (0.5 * lsb).log10()
}

fn through_wav(buffer: &AudioBuffer, encoding: WavEncoding, dither: Dither) -> AudioBuffer {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "d.wav");
    let bytes = encode_to_vec_with_dither(buffer, OutputFormat::Wav(encoding), dither).unwrap();
    std::fs::write(&p, bytes).unwrap();
    decode_file(&p, &DecodeOptions::default()).unwrap().buffer
}

fn error_rms_dbfs(original: &AudioBuffer, decoded: &AudioBuffer) -> f64 {
    let mut acc = 0.0;
    let mut n = 0.0;
    for ch in 0..2 {
        for (a, b) in original.channel(ch).iter().zip(decoded.channel(ch)) {
            acc += (f64::from(*b) - f64::from(*a)).powi(2);
            n += 1.0;
        }
    }
    db((acc / n).sqrt())
}

#[test]
fn dither_noise_is_at_the_theoretical_level() {
    let x = sine(RATE, 4.0, TONE_HZ, -40.0, 0.3);
    let buffer = AudioBuffer::stereo(RATE, x.clone(), x).unwrap();
    for (encoding, bits) in [(WavEncoding::Pcm16, 16), (WavEncoding::Pcm24, 24)] {
        let decoded = through_wav(&buffer, encoding, Dither::Auto);
        let measured = error_rms_dbfs(&buffer, &decoded);
        let expected = expected_total_error_dbfs(bits);
        println!("{bits}-bit TPDF error: measured {measured:.3} dBFS, expected {expected:.3} dBFS");
        assert!(
            (measured - expected).abs() <= NOISE_LEVEL_TOL_DB,
            "{bits}-bit: measured {measured:.3}, expected {expected:.3}"
        );
    }
}

#[test]
fn dither_error_does_not_depend_on_the_signal() {
    // The error left in a -40 dBFS tone must not contain the tone.
    let x = sine(RATE, 4.0, TONE_HZ, -40.0, 0.3);
    let buffer = AudioBuffer::stereo(RATE, x.clone(), x.clone()).unwrap();
    let decoded = through_wav(&buffer, WavEncoding::Pcm16, Dither::Auto);
    let err: Vec<f32> = decoded
        .channel(0)
        .iter()
        .zip(&x)
        .map(|(d, o)| d - o)
        .collect();
    let (fund, _) = fit_sine(&err, RATE, TONE_HZ);
    let (third, _) = fit_sine(&err, RATE, 3.0 * TONE_HZ);
    println!(
        "error components: fundamental {:.1} dBFS, 3rd {:.1} dBFS",
        db(fund),
        db(third)
    );
    assert!(fund < HARMONIC_LIMIT && third < HARMONIC_LIMIT);
}

#[test]
fn minus_100_dbfs_tone_survives_16_bit_with_dither_only() {
    let amp = db_to_amp(-100.0); // 0.33 LSB at 16 bits
    let x = sine(RATE, 4.0, TONE_HZ, -100.0, 0.0);
    let buffer = AudioBuffer::stereo(RATE, x.clone(), x).unwrap();

    let dithered = through_wav(&buffer, WavEncoding::Pcm16, Dither::Auto);
    let (level, _) = fit_sine(dithered.channel(0), RATE, TONE_HZ);
    let (third, _) = fit_sine(dithered.channel(0), RATE, 3.0 * TONE_HZ);
    println!(
        "-100 dBFS tone after 16-bit TPDF: {:.2} dBFS, 3rd harmonic {:.1} dBFS",
        db(level),
        db(third)
    );
    assert!(
        (db(level) - db(amp)).abs() <= QUIET_TONE_TOL_DB,
        "{:.2} dBFS",
        db(level)
    );
    assert!(third < HARMONIC_LIMIT);

    // Plain rounding erases it: every sample rounds to zero.
    let rounded = through_wav(&buffer, WavEncoding::Pcm16, Dither::Off);
    assert!(rounded.channel(0).iter().all(|&s| s == 0.0));
}

#[test]
fn undithered_rounding_distorts_where_dither_does_not() {
    // A -90 dBFS tone (about 1 LSB): rounding alone makes strong odd
    // harmonics; the dithered version has none above the limit.
    let x = sine(RATE, 4.0, TONE_HZ, -90.0, 0.0);
    let buffer = AudioBuffer::stereo(RATE, x.clone(), x).unwrap();
    let rounded = through_wav(&buffer, WavEncoding::Pcm16, Dither::Off);
    let dithered = through_wav(&buffer, WavEncoding::Pcm16, Dither::Auto);
    let h_rounded = harmonic_sum(rounded.channel(0));
    let h_dithered = harmonic_sum(dithered.channel(0));
    println!(
        "harmonics 2-15 of -90 dBFS tone: rounded {:.1} dBFS, dithered {:.1} dBFS",
        db(h_rounded),
        db(h_dithered)
    );
    // Rounding alone: distortion within 20 dB of the tone (about 29 % THD).
    assert!(db(h_rounded) - (-90.0) > ROUNDED_MIN_THD_DB);
    assert!(h_dithered < HARMONIC_LIMIT);
}

/// Root-sum-square amplitude of harmonics 2..=15 of the test tone.
fn harmonic_sum(x: &[f32]) -> f64 {
    (2..=15)
        .map(|k| fit_sine(x, RATE, f64::from(k) * TONE_HZ).0.powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn float_output_is_never_dithered() {
    let x = sine(RATE, 1.5, TONE_HZ, -100.0, 0.0);
    let buffer = AudioBuffer::stereo(RATE, x.clone(), x).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "f.wav");
    write_file(
        &buffer,
        &p,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    assert_eq!(
        decode_file(&p, &DecodeOptions::default()).unwrap().buffer,
        buffer
    );
}

#[test]
fn on_grid_input_is_not_dithered_and_channels_get_independent_noise() {
    let grid = on_grid_noise(RATE, 1.0, 16, 2);
    let q = quantize(grid.channels(), 16, Dither::Auto);
    for (ch, q_ch) in q.iter().enumerate() {
        for (i, (&v, &s)) in q_ch.iter().zip(grid.channel(ch)).enumerate() {
            assert_eq!(v as f32, s * 32768.0, "ch {ch} frame {i}");
        }
    }
    // Forced dither on silence: left and right noise must differ.
    let silence = vec![vec![0.0f32; 10_000]; 2];
    let q = quantize(&silence, 16, Dither::Tpdf);
    assert_ne!(q[0], q[1]);
    // TPDF of ±1 LSB on an exact zero rounds to -1, 0 or +1 only.
    assert!(q.iter().flatten().all(|v| (-1..=1).contains(v)));
}
