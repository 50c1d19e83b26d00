//! Stereo, health and dynamics detectors: they fire on what they should and
//! stay quiet on clean signals.

use lacquer_analysis::{AnalysisError, AnalysisWarning, analyze};
use lacquer_core::{AudioBuffer, Db};
use lacquer_testkit::{Rng, pink_noise, sine, stereo_sine, white_noise};

/// Correlation of independent noise over ~10 s: the sampling spread is about
/// 1/sqrt(N) per independent sample, far inside this.
const INDEPENDENT_CORRELATION_TOL: f64 = 0.05;
/// Identical / inverted channels are exact up to float rounding.
const EXACT_CORRELATION_TOL: f64 = 1e-9;
/// Uncorrelated equal-level channels sum to mono 3.01 dB down.
const MONO_LOSS_TOL_DB: f64 = 0.1;

fn pink_stereo(seed: u64, seconds: f64) -> AudioBuffer {
    let mut rng = Rng::new(seed);
    let l = pink_noise(&mut rng, 48_000, seconds, -20.0);
    let r = pink_noise(&mut rng, 48_000, seconds, -20.0);
    AudioBuffer::stereo(48_000, l, r).unwrap()
}

fn codes(buffer: &AudioBuffer) -> Vec<&'static str> {
    analyze(buffer)
        .unwrap()
        .warnings()
        .iter()
        .map(AnalysisWarning::code)
        .collect()
}

#[test]
fn correlation_of_identical_inverted_and_independent_channels() {
    let mut rng = Rng::new(5);
    let x = pink_noise(&mut rng, 48_000, 10.0, -20.0);
    let inv: Vec<f32> = x.iter().map(|s| -s).collect();
    let same = analyze(&AudioBuffer::stereo(48_000, x.clone(), x.clone()).unwrap()).unwrap();
    let c = same.stereo.correlation.unwrap();
    assert!((c - 1.0).abs() < EXACT_CORRELATION_TOL, "{c}");
    assert!((same.stereo.correlation_below_150hz.unwrap() - 1.0).abs() < 1e-6);
    assert!(!same.stereo.phase_issue);
    assert!(same.stereo.mono_sum_loss_db.unwrap().0.abs() < 1e-9);

    let opposite = analyze(&AudioBuffer::stereo(48_000, x.clone(), inv).unwrap()).unwrap();
    let c = opposite.stereo.correlation.unwrap();
    assert!((c + 1.0).abs() < EXACT_CORRELATION_TOL, "{c}");
    assert!((opposite.stereo.correlation_below_150hz.unwrap() + 1.0).abs() < 1e-6);
    assert!(opposite.stereo.phase_issue);
    assert!(opposite.stereo.negative_correlation_share > 0.99);
    let width = opposite.stereo.width_per_band.unwrap();
    assert!(width.to_array().iter().all(|&w| w > 0.999), "{width:?}");

    let independent = analyze(&pink_stereo(6, 10.0)).unwrap();
    let c = independent.stereo.correlation.unwrap();
    assert!(c.abs() <= INDEPENDENT_CORRELATION_TOL, "{c}");
    assert!(!independent.stereo.phase_issue);
    let loss = independent.stereo.mono_sum_loss_db.unwrap().0;
    assert!((loss - 3.0103).abs() <= MONO_LOSS_TOL_DB, "{loss}");
    let ms = independent.stereo.mid_side_ratio_db.unwrap().0;
    assert!(ms.abs() <= 0.5, "{ms}");
    let width = independent.stereo.width_per_band.unwrap();
    for w in width.to_array() {
        assert!((w - 0.5).abs() <= INDEPENDENT_CORRELATION_TOL, "{width:?}");
    }
}

#[test]
fn low_end_correlation_sees_only_the_low_end() {
    // Shared bass (mono) under independent white-noise highs.
    let mut rng = Rng::new(8);
    let bass = sine(48_000, 10.0, 60.0, -12.0, 0.0);
    let hl = white_noise(&mut rng, 48_000, 10.0, -20.0);
    let hr = white_noise(&mut rng, 48_000, 10.0, -20.0);
    let l: Vec<f32> = bass.iter().zip(&hl).map(|(b, h)| b + h).collect();
    let r: Vec<f32> = bass.iter().zip(&hr).map(|(b, h)| b + h).collect();
    let a = analyze(&AudioBuffer::stereo(48_000, l, r).unwrap()).unwrap();
    let low = a.stereo.correlation_below_150hz.unwrap();
    assert!(low > 0.99, "{low}");
    let width = a.stereo.width_per_band.unwrap();
    assert!(width.bass < 0.01 && width.presence > 0.45, "{width:?}");
}

#[test]
fn clipped_input_is_flagged_and_clean_is_not() {
    let rate = 48_000;
    let clipped: Vec<f32> = sine(rate, 3.0, 100.0, 6.0, 0.0)
        .into_iter()
        .map(|s| s.clamp(-1.0, 1.0))
        .collect();
    let a = analyze(&AudioBuffer::stereo(rate, clipped.clone(), clipped).unwrap()).unwrap();
    // Two flat tops per cycle, 300 cycles, two channels.
    assert_eq!(a.health.clipped_runs, 2 * 300 * 2);
    assert!(a.warnings().iter().any(|w| w.code() == "clipped_input"));

    // A full-scale sine touches 0 dBFS but has no flat top.
    let full = stereo_sine(rate, 3.0, 100.0, 0.0);
    assert_eq!(analyze(&full).unwrap().health.clipped_runs, 0);
    let mut rng = Rng::new(1);
    let l = white_noise(&mut rng, rate, 5.0, -20.0);
    let r = white_noise(&mut rng, rate, 5.0, -20.0);
    let quiet = codes(&AudioBuffer::stereo(rate, l, r).unwrap());
    assert!(quiet.is_empty(), "clean noise warned: {quiet:?}");
}

#[test]
fn dc_offset_is_flagged() {
    let rate = 48_000;
    // White noise bed: its mean over 3 s is ~3e-4 (σ/√N). (The testkit's
    // pink noise is not high-passed; its sub-sonic wander over a few seconds
    // is itself a DC offset of up to 1e-2, which the detector rightly sees.)
    let mut rng = Rng::new(3);
    let mut l = white_noise(&mut rng, rate, 3.0, -20.0);
    let r = white_noise(&mut rng, rate, 3.0, -20.0);
    l.iter_mut().for_each(|s| *s += 0.01);
    let a = analyze(&AudioBuffer::stereo(rate, l, r).unwrap()).unwrap();
    assert!(
        (a.health.dc_offset[0] - 0.01).abs() < 1e-3,
        "{:?}",
        a.health.dc_offset
    );
    assert!(a.health.dc_offset[1].abs() < 1e-3);
    let dc: Vec<_> = a
        .warnings()
        .into_iter()
        .filter(|w| w.code() == "dc_offset")
        .collect();
    assert_eq!(dc.len(), 1);
    assert!(matches!(
        dc[0],
        AnalysisWarning::DcOffset { channel: 0, .. }
    ));
}

#[test]
fn silence_is_flagged_and_serialises_without_infinities() {
    let a = analyze(&AudioBuffer::silence(44_100, 2, 44_100 * 2).unwrap()).unwrap();
    assert_eq!(a.loudness.integrated_lufs, None);
    assert_eq!(a.loudness.max_true_peak_dbtp, None);
    assert_eq!(a.health.silence_share, 1.0);
    assert!(a.warnings().iter().any(|w| w.code() == "near_silence"));
    let json = serde_json::to_string(&a).unwrap();
    assert!(!json.contains("inf") && !json.contains("NaN"), "{json}");
    assert!(json.contains("\"integrated_lufs\":null"));
    let back: lacquer_analysis::Analysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);

    // Quiet but not silent: −60 dBFS noise.
    let mut rng = Rng::new(4);
    let x = white_noise(&mut rng, 44_100, 3.0, -60.0);
    let quiet = codes(&AudioBuffer::stereo(44_100, x.clone(), x).unwrap());
    assert!(quiet.contains(&"near_silence"), "{quiet:?}");
}

#[test]
fn dual_mono_is_flagged_but_a_mono_file_is_not() {
    let mut rng = Rng::new(9);
    let x = pink_noise(&mut rng, 48_000, 3.0, -20.0);
    let dual = AudioBuffer::stereo(48_000, x.clone(), x.clone()).unwrap();
    assert!(codes(&dual).contains(&"mono_in_stereo"));
    let mono = AudioBuffer::new(48_000, vec![x]).unwrap();
    let a = analyze(&mono).unwrap();
    assert!(!a.health.mono_in_stereo);
    assert_eq!(a.source_channels, 1);
    assert_eq!(a.loudness.true_peak_dbtp.len(), 1);
    // Measured as dual mono: same loudness as the upmixed file.
    let up = analyze(&dual).unwrap();
    assert_eq!(a.loudness.integrated_lufs, up.loudness.integrated_lufs);
}

#[test]
fn headroom_and_limiting_warnings() {
    // A square-ish, heavily limited signal near 0 dBFS.
    let rate = 48_000;
    let mut rng = Rng::new(12);
    let dense: Vec<f32> = white_noise(&mut rng, rate, 5.0, 0.0)
        .into_iter()
        .map(|s| s.clamp(-0.95, 0.95))
        .collect();
    let a = analyze(&AudioBuffer::stereo(rate, dense.clone(), dense).unwrap()).unwrap();
    let c = a.warnings();
    let codes: Vec<_> = c.iter().map(AnalysisWarning::code).collect();
    assert!(
        codes.contains(&"no_headroom") && codes.contains(&"already_limited"),
        "{codes:?}"
    );
    assert!(a.health.headroom_db.unwrap().0 < 1.0);
    for w in &c {
        assert!(!w.message().is_empty() && w.to_string().starts_with('['));
    }
}

#[test]
fn transients_are_counted() {
    // 30 ms tone bursts every 250 ms over a quiet noise bed: 4 onsets/s.
    let rate = 48_000;
    let mut rng = Rng::new(21);
    let mut x = white_noise(&mut rng, rate, 10.0, -50.0);
    let burst = sine(rate, 0.03, 1_000.0, -6.0, 0.0);
    let period = rate as usize / 4;
    for start in (period / 2..x.len() - burst.len()).step_by(period) {
        for (o, b) in x[start..].iter_mut().zip(&burst) {
            *o += b;
        }
    }
    let a = analyze(&AudioBuffer::stereo(rate, x.clone(), x).unwrap()).unwrap();
    let density = a.dynamics.transient_density_per_second;
    assert!((density - 4.0).abs() <= 0.2, "{density}");
    assert!(a.dynamics.transient_sharpness_db.unwrap().0 > 20.0);

    let steady = analyze(&pink_stereo(2, 10.0)).unwrap();
    assert!(steady.dynamics.transient_density_per_second < 0.2);
}

#[test]
fn low_end_modulation_sees_pumping_bass() {
    let rate = 48_000;
    let steady = analyze(&stereo_sine(rate, 10.0, 60.0, -10.0)).unwrap();
    let steady_db = steady.dynamics.low_end_modulation_db.unwrap().0;
    assert!(steady_db < 0.5, "{steady_db}");
    // The same bass ducked by 12 dB for half of every second.
    let mut pumped = sine(rate, 10.0, 60.0, -10.0, 0.0);
    for (i, s) in pumped.iter_mut().enumerate() {
        if (i / (rate as usize / 2)) % 2 == 1 {
            *s *= Db(-12.0).to_amplitude() as f32;
        }
    }
    let a = analyze(&AudioBuffer::stereo(rate, pumped.clone(), pumped).unwrap()).unwrap();
    let pumped_db = a.dynamics.low_end_modulation_db.unwrap().0;
    // Half the windows 12 dB below the other half: std-dev 6 dB.
    assert!((pumped_db - 6.0).abs() < 1.0, "{pumped_db}");
}

#[test]
fn short_term_distribution_matches_the_programme() {
    let rate = 48_000;
    let parts: Vec<AudioBuffer> = [(20.0, -30.0), (20.0, -20.0)]
        .iter()
        .map(|&(s, l)| stereo_sine(rate, s, 1_000.0, l))
        .collect();
    let a = analyze(&lacquer_testkit::concat(&parts)).unwrap();
    let d = &a.dynamics;
    assert!((d.short_term_p10_lufs.unwrap().0 + 30.0).abs() < 0.1);
    assert!((d.short_term_p95_lufs.unwrap().0 + 20.0).abs() < 0.1);
    let lra = a.loudness.loudness_range_lu.unwrap().0;
    let spread = d.short_term_p95_lufs.unwrap().0 - d.short_term_p10_lufs.unwrap().0;
    assert!((lra - spread).abs() < 1e-9);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let three = AudioBuffer::new(48_000, vec![vec![0.0; 10]; 3]).unwrap();
    assert_eq!(
        analyze(&three),
        Err(AnalysisError::UnsupportedChannels { channels: 3 })
    );
    let slow = AudioBuffer::new(4_000, vec![vec![0.0; 10]]).unwrap();
    assert!(matches!(
        analyze(&slow),
        Err(AnalysisError::UnsupportedSampleRate { .. })
    ));
    let empty = AudioBuffer::new(48_000, vec![vec![], vec![]]).unwrap();
    assert_eq!(analyze(&empty), Err(AnalysisError::Empty));
    let mut x = vec![0.1f32; 100];
    x[42] = f32::NAN;
    let nan = AudioBuffer::new(48_000, vec![vec![0.0; 100], x]).unwrap();
    assert_eq!(
        analyze(&nan),
        Err(AnalysisError::NonFiniteSample {
            channel: 1,
            frame: 42
        })
    );
    // Tiny but valid buffers analyse without readings rather than failing.
    for frames in [1, 7, 4_799] {
        let a = analyze(&AudioBuffer::new(48_000, vec![vec![0.5; frames]; 2]).unwrap()).unwrap();
        assert_eq!(a.loudness.integrated_lufs, None);
        assert!(serde_json::to_string(&a).is_ok());
    }
}

#[test]
fn analysis_is_deterministic() {
    let b = pink_stereo(77, 6.0);
    let one = serde_json::to_string(&analyze(&b).unwrap()).unwrap();
    let two = serde_json::to_string(&analyze(&b).unwrap()).unwrap();
    assert_eq!(one, two);
}
