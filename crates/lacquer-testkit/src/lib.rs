//! Deterministic test signals.
//!
//! Every test and benchmark in the workspace builds its input here, from a
//! seeded generator, so failures reproduce bit for bit on any machine and no
//! test depends on a file it did not make.

pub mod chains;
pub mod music;

use lacquer_core::AudioBuffer;
use std::f64::consts::PI;

/// A small, fast, seedable PRNG (SplitMix64). Not cryptographic; good enough
/// for test noise, and identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f64 {
        2.0 * self.uniform() - 1.0
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// Converts dBFS (peak) to a linear amplitude.
pub fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// A sine of `freq` Hz, peak amplitude `peak_dbfs` dBFS, starting at `phase`
/// radians.
pub fn sine(rate: u32, seconds: f64, freq: f64, peak_dbfs: f64, phase: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let amp = db_to_amp(peak_dbfs);
    let w = 2.0 * PI * freq / f64::from(rate);
    (0..n)
        .map(|i| (amp * (w * i as f64 + phase).sin()) as f32)
        .collect()
}

/// The same sine on both channels (the EBU Tech 3341 stereo test layout).
pub fn stereo_sine(rate: u32, seconds: f64, freq: f64, peak_dbfs: f64) -> AudioBuffer {
    let s = sine(rate, seconds, freq, peak_dbfs, 0.0);
    AudioBuffer::stereo(rate, s.clone(), s).expect("equal lengths")
}

/// Joins buffers end to end (same rate and channel count).
pub fn concat(parts: &[AudioBuffer]) -> AudioBuffer {
    let rate = parts[0].sample_rate();
    let channels = parts[0].num_channels();
    let mut out = vec![Vec::new(); channels];
    for p in parts {
        assert_eq!(p.sample_rate(), rate, "concat needs one sample rate");
        for (o, c) in out.iter_mut().zip(p.channels()) {
            o.extend_from_slice(c);
        }
    }
    AudioBuffer::new(rate, out).expect("equal lengths")
}

/// Gaussian white noise with the given RMS in dBFS.
pub fn white_noise(rng: &mut Rng, rate: u32, seconds: f64, rms_dbfs: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let amp = db_to_amp(rms_dbfs);
    (0..n).map(|_| (amp * rng.gaussian()) as f32).collect()
}

/// Pink (1/f power) noise from Gaussian white noise through Paul Kellett's
/// "refined" bank of one-pole filters (its author states ±0.05 dB accuracy
/// above about 10 Hz at 44.1 kHz; the analysis tests measure it rather than
/// trust it). Scaled to the given RMS in dBFS.
pub fn pink_noise(rng: &mut Rng, rate: u32, seconds: f64, rms_dbfs: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let (mut b0, mut b1, mut b2, mut b3, mut b4, mut b5, mut b6) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut raw: Vec<f64> = Vec::with_capacity(n);
    for _ in 0..n {
        let white = rng.gaussian();
        b0 = 0.99886 * b0 + white * 0.0555179;
        b1 = 0.99332 * b1 + white * 0.0750759;
        b2 = 0.96900 * b2 + white * 0.1538520;
        b3 = 0.86650 * b3 + white * 0.3104856;
        b4 = 0.55000 * b4 + white * 0.5329522;
        b5 = -0.7616 * b5 - white * 0.0168980;
        raw.push(b0 + b1 + b2 + b3 + b4 + b5 + b6 + white * 0.5362);
        b6 = white * 0.115926;
    }
    let rms = (raw.iter().map(|x| x * x).sum::<f64>() / n.max(1) as f64).sqrt();
    let scale = db_to_amp(rms_dbfs) / rms.max(f64::MIN_POSITIVE);
    raw.into_iter().map(|x| (x * scale) as f32).collect()
}

/// An exponential sine sweep from `f0` to `f1` Hz.
pub fn log_sweep(rate: u32, seconds: f64, f0: f64, f1: f64, peak_dbfs: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let amp = db_to_amp(peak_dbfs);
    let k = (f1 / f0).ln();
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let phase = 2.0 * PI * f0 * seconds / k * ((t / seconds * k).exp() - 1.0);
            (amp * phase.sin()) as f32
        })
        .collect()
}

/// RMS of a signal in dBFS (0 dBFS = RMS of a full-scale square wave).
pub fn rms_dbfs(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * ms.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniformish() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut r = Rng::new(1);
        let mean = (0..100_000).map(|_| r.uniform()).sum::<f64>() / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn sine_level_is_as_asked() {
        let s = sine(48_000, 1.0, 1000.0, -20.0, 0.0);
        // RMS of a sine is peak - 3.01 dB.
        assert!((rms_dbfs(&s) - (-23.0103)).abs() < 0.01);
    }

    #[test]
    fn noise_rms_is_as_asked() {
        let mut r = Rng::new(3);
        assert!((rms_dbfs(&white_noise(&mut r, 48_000, 2.0, -20.0)) + 20.0).abs() < 0.05);
        assert!((rms_dbfs(&pink_noise(&mut r, 48_000, 2.0, -20.0)) + 20.0).abs() < 1e-6);
    }
}
