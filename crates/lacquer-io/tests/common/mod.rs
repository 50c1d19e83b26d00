//! Fixture builders and measurements shared by the integration tests.
//! Every fixture is generated in a temp dir; no audio is committed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lacquer_core::AudioBuffer;
use lacquer_testkit::{Rng, pink_noise};

/// Stereo pink noise snapped to the integer grid of `bits`, so dither is
/// not involved and a lossless round trip must be bit-exact.
pub fn on_grid_noise(rate: u32, seconds: f64, bits: u32, seed: u64) -> AudioBuffer {
    let scale = f64::from(1u32 << (bits - 1));
    let mut rng = Rng::new(seed);
    let mut chan = || -> Vec<f32> {
        pink_noise(&mut rng, rate, seconds, -18.0)
            .into_iter()
            .map(|s| ((f64::from(s) * scale).round().clamp(-scale, scale - 1.0) / scale) as f32)
            // -0.0 has no integer encoding; a decoder returns +0.0.
            .map(|s| s + 0.0)
            .collect()
    };
    let l = chan();
    let r = chan();
    AudioBuffer::stereo(rate, l, r).unwrap()
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Writes interleaved integer samples with hound.
pub fn write_int_wav(path: &Path, channels: u16, rate: u32, bits: u16, interleaved: &[i32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in interleaved {
        if bits == 8 {
            w.write_sample(s as i8).unwrap();
        } else if bits == 16 {
            w.write_sample(s as i16).unwrap();
        } else {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Writes interleaved float samples with hound.
pub fn write_float_wav(path: &Path, channels: u16, rate: u32, interleaved: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in interleaved {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// A hand-built canonical WAV file (for headers hound will not write).
pub fn raw_wav(format_tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// IEEE 754 80-bit extended encoding of a positive integer (AIFF's rate field).
fn extended80(value: u32) -> [u8; 10] {
    let mut out = [0u8; 10];
    if value == 0 {
        return out;
    }
    let shift = value.leading_zeros();
    let exponent = 16383 + 31 - shift as u16;
    let mantissa = u64::from(value) << (32 + shift);
    out[..2].copy_from_slice(&exponent.to_be_bytes());
    out[2..].copy_from_slice(&mantissa.to_be_bytes());
    out
}

/// A hand-built 16-bit AIFF file from interleaved samples.
pub fn aiff_16(channels: u16, rate: u32, interleaved: &[i16]) -> Vec<u8> {
    let frames = (interleaved.len() / usize::from(channels)) as u32;
    let mut comm = Vec::new();
    comm.extend_from_slice(&channels.to_be_bytes());
    comm.extend_from_slice(&frames.to_be_bytes());
    comm.extend_from_slice(&16u16.to_be_bytes());
    comm.extend_from_slice(&extended80(rate));
    let mut ssnd = Vec::new();
    ssnd.extend_from_slice(&0u32.to_be_bytes());
    ssnd.extend_from_slice(&0u32.to_be_bytes());
    for s in interleaved {
        ssnd.extend_from_slice(&s.to_be_bytes());
    }
    let mut v = Vec::new();
    v.extend_from_slice(b"FORM");
    let body_len = 4 + 8 + comm.len() + 8 + ssnd.len();
    v.extend_from_slice(&(body_len as u32).to_be_bytes());
    v.extend_from_slice(b"AIFF");
    v.extend_from_slice(b"COMM");
    v.extend_from_slice(&(comm.len() as u32).to_be_bytes());
    v.extend_from_slice(&comm);
    v.extend_from_slice(b"SSND");
    v.extend_from_slice(&(ssnd.len() as u32).to_be_bytes());
    v.extend_from_slice(&ssnd);
    v
}

/// Least-squares fit of a sinusoid of known frequency (plus DC).
/// Returns (amplitude, residual RMS) — the residual is everything that is
/// not the fundamental: noise plus distortion, i.e. THD+N.
pub fn fit_sine(x: &[f32], rate: u32, freq: f64) -> (f64, f64) {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    // Normal equations for [sin, cos, 1].
    let (mut ss, mut cc, mut sc, mut s1, mut c1, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut xs, mut xc, mut x1) = (0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let v = f64::from(v);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        s1 += s;
        c1 += c;
        n += 1.0;
        xs += v * s;
        xc += v * c;
        x1 += v;
    }
    let m = [[ss, sc, s1], [sc, cc, c1], [s1, c1, n]];
    let b = [xs, xc, x1];
    let [a, bc, dc] = solve3(m, b);
    let mut resid = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let e = f64::from(v) - (a * s + bc * c + dc);
        resid += e * e;
    }
    ((a * a + bc * bc).sqrt(), (resid / n).sqrt())
}

// Index loops read clearer than iterator chains for a 3×3 elimination.
#[allow(clippy::needless_range_loop)]
fn solve3(mut m: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
    for col in 0..3 {
        let piv = (col..3)
            .max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))
            .unwrap();
        m.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..3 {
            let f = m[row][col] / m[col][col];
            for k in col..3 {
                m[row][k] -= f * m[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let mut acc = b[row];
        for k in row + 1..3 {
            acc -= m[row][k] * x[k];
        }
        x[row] = acc / m[row][row];
    }
    x
}

pub fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

pub fn integrated_lufs(buffer: &AudioBuffer) -> f64 {
    let mut meter = ebur128::EbuR128::new(
        buffer.num_channels() as u32,
        buffer.sample_rate(),
        ebur128::Mode::I,
    )
    .unwrap();
    let planes: Vec<&[f32]> = buffer.channels().iter().map(Vec::as_slice).collect();
    meter.add_frames_planar_f32(&planes).unwrap();
    meter.loudness_global().unwrap()
}
