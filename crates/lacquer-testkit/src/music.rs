//! Music-like test material: a short synthetic "mix" with kick, bass, chords,
//! hats and some stereo width.
//!
//! Standards signals (sines, noise) test meters; mastering stages also need
//! material with transients, a low end, harmonic content and a stereo image
//! to be exercised realistically. Everything is generated from a seed, so the
//! bundled example and the tests that use this are reproducible.

use crate::{Rng, db_to_amp};
use lacquer_core::AudioBuffer;
use std::f64::consts::PI;

/// Tempo of the generated material.
pub const BPM: f64 = 120.0;

/// A four-on-the-floor kick drum loop (mono, duplicated to stereo), peak at
/// `peak_dbfs`. Kicks are a pitch-swept sine with a fast exponential decay:
/// the classic low-end transient a limiter has to catch.
pub fn kick_loop(rate: u32, seconds: f64, peak_dbfs: f64) -> AudioBuffer {
    let n = (seconds * f64::from(rate)).round() as usize;
    let fs = f64::from(rate);
    let beat = (60.0 / BPM * fs) as usize;
    let mut out = vec![0.0f64; n];
    for start in (0..n).step_by(beat.max(1)) {
        add_kick(&mut out[start..], fs, 1.0);
    }
    normalise_peak(&mut out, peak_dbfs);
    let mono: Vec<f32> = out.iter().map(|&x| x as f32).collect();
    AudioBuffer::stereo(rate, mono.clone(), mono).expect("equal lengths")
}

/// A short stereo "mix" in the shape of an unmastered track: kick on every
/// beat, snare on 2 and 4, a bass line, bright chords detuned between the
/// channels, off-beat hats panned right, and a little reverb-like
/// decorrelated noise. Peaks at `peak_dbfs`.
pub fn demo_mix(rate: u32, seconds: f64, peak_dbfs: f64, seed: u64) -> AudioBuffer {
    let fs = f64::from(rate);
    let n = (seconds * fs).round() as usize;
    let beat = 60.0 / BPM * fs;
    let mut rng = Rng::new(seed);
    let mut left = vec![0.0f64; n];
    let mut right = vec![0.0f64; n];

    // Kick: centre.
    let mut t = 0.0;
    while (t as usize) < n {
        let start = t as usize;
        let mut kick = vec![0.0; (0.35 * fs) as usize];
        add_kick(&mut kick, fs, 0.9);
        for (i, k) in kick.iter().enumerate() {
            if start + i < n {
                left[start + i] += k;
                right[start + i] += k;
            }
        }
        t += beat;
    }

    // Bass: root notes of an A minor – F – C – G progression, one bar each,
    // eighth-note pulses of a saw-ish tone, centre.
    let roots_hz = [55.0, 43.65, 65.41, 49.0];
    let chords_hz: [[f64; 3]; 4] = [
        [220.0, 261.63, 329.63],
        [174.61, 220.0, 261.63],
        [261.63, 329.63, 392.0],
        [196.0, 246.94, 293.66],
    ];
    let bar = 4.0 * beat;
    for i in 0..n {
        let bar_index = ((i as f64 / bar) as usize) % 4;
        let tt = i as f64 / fs;
        let pos_in_eighth = (i as f64 % (beat / 2.0)) / (beat / 2.0);
        let env = (1.0 - pos_in_eighth).powf(0.6);
        let f = roots_hz[bar_index];
        let saw = (1..=6)
            .map(|h| (2.0 * PI * f * h as f64 * tt).sin() / h as f64)
            .sum::<f64>();
        let bass = 0.28 * env * saw;
        left[i] += bass;
        right[i] += bass;

        // Chords: slightly detuned between channels for width.
        // Harmonics falling at 1/h give the chords a bright, saw-like top.
        let mut pad_l = 0.0;
        let mut pad_r = 0.0;
        for (v, &cf) in chords_hz[bar_index].iter().enumerate() {
            let detune = 1.0 + 0.002 * (v as f64 + 1.0);
            for h in 1..=12 {
                let hf = h as f64;
                pad_l += (2.0 * PI * cf * hf * tt).sin() / hf;
                pad_r += (2.0 * PI * cf * detune * hf * tt).sin() / hf;
            }
        }
        left[i] += 0.035 * pad_l;
        right[i] += 0.035 * pad_r;
    }

    // Snare on beats 2 and 4: a 190 Hz body plus a noise burst, centre.
    let snare_len = (0.18 * fs) as usize;
    let mut t = beat;
    while (t as usize) < n {
        let start = t as usize;
        for j in 0..snare_len {
            let tj = j as f64 / fs;
            let body = (2.0 * PI * 190.0 * tj).sin() * (-tj / 0.04).exp();
            let noise = rng.bipolar() * (-tj / 0.06).exp();
            if start + j < n {
                let v = 0.35 * body + 0.3 * noise;
                left[start + j] += v;
                right[start + j] += v;
            }
        }
        t += 2.0 * beat;
    }

    // Hats: short high-passed noise bursts on the off-beats, panned right.
    let hat_len = (0.05 * fs) as usize;
    let mut t = beat / 2.0;
    while (t as usize) < n {
        let start = t as usize;
        let mut prev = 0.0;
        for j in 0..hat_len {
            let white = rng.bipolar();
            let hp = white - prev; // first difference: a gentle high-pass
            prev = white;
            let env = (-(j as f64) / (0.012 * fs)).exp();
            if start + j < n {
                left[start + j] += 0.12 * env * hp;
                right[start + j] += 0.2 * env * hp;
            }
        }
        t += beat;
    }

    // Room: quiet decorrelated noise, low-passed, for a non-trivial side.
    let (mut lp_l, mut lp_r) = (0.0, 0.0);
    for i in 0..n {
        lp_l += 0.05 * (rng.gaussian() - lp_l);
        lp_r += 0.05 * (rng.gaussian() - lp_r);
        left[i] += 0.01 * lp_l;
        right[i] += 0.01 * lp_r;
    }

    let peak = left
        .iter()
        .chain(right.iter())
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = db_to_amp(peak_dbfs) / peak.max(f64::MIN_POSITIVE);
    let l = left.iter().map(|x| (x * scale) as f32).collect();
    let r = right.iter().map(|x| (x * scale) as f32).collect();
    AudioBuffer::stereo(rate, l, r).expect("equal lengths")
}

fn add_kick(out: &mut [f64], fs: f64, gain: f64) {
    let len = out.len().min((0.35 * fs) as usize);
    let mut phase = 0.0;
    for (j, o) in out.iter_mut().take(len).enumerate() {
        let t = j as f64 / fs;
        let freq = 45.0 + 110.0 * (-t / 0.03).exp();
        phase += 2.0 * PI * freq / fs;
        let env = (-t / 0.12).exp();
        let click = if j < (0.002 * fs) as usize { 0.3 } else { 0.0 };
        *o += gain * (env * phase.sin() + click * env);
    }
}

fn normalise_peak(x: &mut [f64], peak_dbfs: f64) {
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = db_to_amp(peak_dbfs) / peak.max(f64::MIN_POSITIVE);
    for v in x.iter_mut() {
        *v *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_mix_is_deterministic_and_peaks_where_asked() {
        let a = demo_mix(44_100, 2.0, -6.0, 1);
        let b = demo_mix(44_100, 2.0, -6.0, 1);
        assert_eq!(a, b);
        assert!((20.0 * f64::from(a.sample_peak()).log10() + 6.0).abs() < 0.01);
        assert_ne!(a.channel(0), a.channel(1), "the mix has a stereo image");
    }

    #[test]
    fn kick_loop_peaks_where_asked() {
        let k = kick_loop(48_000, 2.0, -1.0);
        assert!((20.0 * f64::from(k.sample_peak()).log10() + 1.0).abs() < 0.01);
    }
}
