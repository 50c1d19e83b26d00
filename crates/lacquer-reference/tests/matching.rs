//! Reference matching against physics: a track against itself, a louder
//! copy, a resampled copy and a tilt-EQ'd copy, each with a known answer.

use lacquer_analysis::analyze;
use lacquer_core::{Analysis, AudioBuffer, DeltaTarget, Deltas};
use lacquer_reference::curve::{lower_edge_hz, upper_edge_hz};
use lacquer_reference::{MEAN_ABS_RANGE_HZ, deltas_vs_reference};
use lacquer_testkit::Rng;
use lacquer_testkit::music::demo_mix;
use std::f64::consts::PI;

/// Identical analyses must give deltas of exactly 0; this allows only for
/// the last bit of a subtraction.
const TOL_SELF: f64 = 1e-9;
/// A pure gain changes every loudness and band level by the same amount;
/// what is left is f32 rounding of the scaled samples.
const TOL_GAIN_DB: f64 = 1e-3;
/// Other rates and lengths of the same stationary material: the resampler
/// is flat within 0.001 dB to 20 kHz, but the analyses use different FFT
/// bin grids (1.35 vs 1.46 Hz) and frame cuts, so Hann leakage across band
/// edges differs slightly (measured: worst band 0.012 dB at 48 kHz).
const TOL_RESAMPLED_DB: f64 = 0.05;
/// The same programme measured at 22.05 and 44.1 kHz may read a slightly
/// different integrated loudness (K-weighting is specified at 48 kHz).
const TOL_K_WEIGHTING_RATE_LU: f64 = 0.1;
/// Tilt: the expected band level is computed from the sines each band
/// holds; what is left is leakage across band edges (measured 0.0004 dB).
const TOL_TILT_DB: f64 = 0.02;

fn analysed(buffer: &AudioBuffer) -> Analysis {
    analyze(buffer).expect("test signals are valid")
}

fn scaled(buffer: &AudioBuffer, gain_db: f64) -> AudioBuffer {
    let mut out = buffer.clone();
    out.apply_gain(10f64.powf(gain_db / 20.0) as f32);
    out
}

fn assert_all_tonal(deltas: &Deltas, tol: f64, what: &str) {
    let tonal = deltas
        .tonal
        .as_ref()
        .expect("both sides have a tonal curve");
    for (i, c) in tonal.third_octave_centres_hz.iter().enumerate() {
        let (m, s) = (tonal.mid_db[i].0, tonal.side_db[i].0);
        assert!(m.abs() <= tol, "{what}: mid delta {m} dB at {} Hz", c.0);
        assert!(s.abs() <= tol, "{what}: side delta {s} dB at {} Hz", c.0);
    }
    for b in tonal.bands_db.to_array() {
        assert!(b.0.abs() <= tol, "{what}: broad band delta {} dB", b.0);
    }
    assert!(
        tonal.mean_abs_db.0 <= tol,
        "{what}: mean |delta| {}",
        tonal.mean_abs_db.0
    );
}

#[test]
fn a_track_against_itself_has_no_deltas() {
    let mix = analysed(&demo_mix(44_100, 8.0, -3.0, 7));
    let d = deltas_vs_reference(&mix, &mix, "self.wav");
    assert_eq!(
        d.target,
        DeltaTarget::Reference {
            path: "self.wav".into()
        }
    );
    assert_all_tonal(&d, TOL_SELF, "self");
    for (name, v) in [
        ("loudness", d.loudness_lu.map(|x| x.0)),
        ("crest", d.crest_db.map(|x| x.0)),
        ("plr", d.plr_db.map(|x| x.0)),
        ("lra", d.lra_lu.map(|x| x.0)),
        ("width", d.width),
        ("low-end correlation", d.low_end_correlation),
    ] {
        let v = v.unwrap_or_else(|| panic!("{name} must be measured"));
        assert!(v.abs() <= TOL_SELF, "{name} delta {v}");
    }
    // Real content: the comparison covered the mean-abs range, not nothing.
    let tonal = d
        .tonal
        .as_ref()
        .map_or(0, |t| t.third_octave_centres_hz.len());
    assert!(tonal >= 30, "44.1 kHz has 31 thirds, got {tonal}");
}

#[test]
fn a_louder_copy_reads_as_a_loudness_delta_only() {
    const GAIN_DB: f64 = 6.0;
    let original = demo_mix(44_100, 8.0, -9.0, 11);
    let reference = analysed(&original);
    let mix = analysed(&scaled(&original, GAIN_DB));
    let d = deltas_vs_reference(&mix, &reference, "original.wav");
    let loudness = d.loudness_lu.map_or(f64::NAN, |x| x.0);
    assert!(
        (loudness + GAIN_DB).abs() <= TOL_GAIN_DB,
        "target − mix should be −{GAIN_DB} LU, got {loudness}"
    );
    assert_all_tonal(&d, TOL_GAIN_DB, "+6 dB copy");
    for (name, v) in [
        ("crest", d.crest_db.map(|x| x.0)),
        ("plr", d.plr_db.map(|x| x.0)),
        ("width", d.width),
    ] {
        let v = v.unwrap_or(f64::NAN);
        assert!(v.abs() <= TOL_GAIN_DB, "{name} delta {v} for a pure gain");
    }
}

#[test]
fn a_48k_resampled_copy_matches_its_44k1_original() {
    let (original, _) = tilted_comb(44_100, 8.0, -1.5, 16_000.0);
    let reference = analysed(&original);
    let copy = lacquer_io::resample(&original, 48_000).expect("supported rates");
    let mix = analysed(&copy);
    let d = deltas_vs_reference(&mix, &reference, "original.wav");
    let tonal = d.tonal.as_ref().expect("tonal deltas");
    let mut compared = 0;
    let mut worst = 0.0f64;
    for (i, c) in tonal.third_octave_centres_hz.iter().enumerate() {
        let (m, s) = (tonal.mid_db[i].0, tonal.side_db[i].0);
        worst = worst.max(m.abs()).max(s.abs());
        assert!(
            m.abs() <= TOL_RESAMPLED_DB,
            "mid delta {m} dB at {} Hz",
            c.0
        );
        assert!(
            s.abs() <= TOL_RESAMPLED_DB,
            "side delta {s} dB at {} Hz",
            c.0
        );
        if m != 0.0 {
            compared += 1;
        }
    }
    // The 48 kHz copy has the 20 kHz band, but it reaches past 22.05 kHz,
    // so the 44.1 kHz original cannot hold it: it reads exactly 0 rather
    // than a bogus cut or boost.
    let top = tonal.third_octave_centres_hz.len() - 1;
    assert_eq!(tonal.third_octave_centres_hz[top].0, 20_000.0);
    assert_eq!(tonal.mid_db[top].0, 0.0);
    assert!(compared >= 29, "only {compared} bands compared");
    assert!(tonal.mean_abs_db.0 <= TOL_RESAMPLED_DB);
    println!(
        "resampled copy: worst band {worst:.4} dB, mean |delta| {:.4} dB",
        tonal.mean_abs_db.0
    );
}

#[test]
fn references_of_other_lengths_and_rates_align_by_band_centre() {
    // Stationary material, so an excerpt has the same spectrum as the whole.
    // Content up to the 8 kHz band, which both rates carry (a band missing
    // on one side would change its integrated loudness, so every
    // normalised band by the same amount).
    let (whole, _) = tilted_comb(44_100, 9.0, 0.0, 8_000.0);
    let (excerpt, _) = tilted_comb(22_050, 4.0, 0.0, 8_000.0);
    let reference = analysed(&whole);
    let mix = analysed(&excerpt);
    let mix_bands = mix
        .tonal
        .as_ref()
        .map_or(0, |t| t.third_octave_centres_hz.len());
    let reference_bands = reference
        .tonal
        .as_ref()
        .map_or(0, |t| t.third_octave_centres_hz.len());
    assert!(
        mix_bands < reference_bands,
        "{mix_bands} vs {reference_bands}"
    );
    let d = deltas_vs_reference(&mix, &reference, "whole.wav");
    let tonal = d.tonal.as_ref().expect("tonal deltas");
    // On the mix's grid; the 10 kHz band (8.9-11.2 kHz) is past 11.025 kHz.
    assert_eq!(tonal.third_octave_centres_hz.len(), mix_bands);
    let compared: Vec<f64> = tonal
        .third_octave_centres_hz
        .iter()
        .zip(&tonal.mid_db)
        .filter(|(c, _)| c.0 < 10_000.0)
        .map(|(_, m)| m.0)
        .collect();
    for (c, m) in tonal.third_octave_centres_hz.iter().zip(&tonal.mid_db) {
        if c.0 >= 10_000.0 {
            assert_eq!(m.0, 0.0, "{} Hz is above the mix's Nyquist", c.0);
        }
    }
    // Same material, so the same loudness-normalised shape. The curves may
    // differ by one constant: the loudness each rate measures for the same
    // content (K-weighting at 22.05 kHz is a bilinear design warped near
    // Nyquist; measured 0.053 LU here), which normalisation carries into
    // every band alike.
    let offset = compared.iter().sum::<f64>() / compared.len() as f64;
    let loudness_gap = d.loudness_lu.map_or(f64::NAN, |l| l.0);
    assert!(
        (offset + loudness_gap).abs() <= TOL_RESAMPLED_DB,
        "offset {offset} vs loudness gap {loudness_gap}"
    );
    assert!(offset.abs() <= TOL_K_WEIGHTING_RATE_LU, "offset {offset}");
    for (c, m) in tonal.third_octave_centres_hz.iter().zip(&compared) {
        assert!(
            (m - offset).abs() <= TOL_RESAMPLED_DB,
            "mid delta {m} dB at {} Hz (offset {offset})",
            c.0
        );
    }
}

/// One sine of the comb and the power it puts in MID and SIDE.
struct Sine {
    freq_hz: f64,
    mid_power: f64,
    side_power: f64,
}

/// Sines of the comb per 1/3 octave, at most: more would sit closer than
/// the analysis can resolve (its Hann main lobe is ±2 bins of ~1.35 Hz).
const SINES_PER_THIRD: usize = 4;
/// Closest spacing of two sines of the comb: 8 bins of the analysis FFT, so
/// their main lobes never overlap and the band levels do not depend on how
/// the frames cut the signal.
const MIN_SINE_SPACING_HZ: f64 = 12.0;

/// A comb of sines, up to [`SINES_PER_THIRD`] per 1/3 octave from 20 Hz to
/// `top_hz` (band centre) spread evenly (in log frequency) over the inner 60 % of each band,
/// equal power per band, tilted by `tilt_db_per_octave` around 1 kHz;
/// random phases, different per channel (so SIDE carries energy too).
/// Stationary and resolvable, so any excerpt and any rate measure the same
/// band levels. Returns the buffer and, per sine, its frequency, MID power
/// and SIDE power.
fn tilted_comb(
    rate: u32,
    seconds: f64,
    tilt_db_per_octave: f64,
    top_hz: f64,
) -> (AudioBuffer, Vec<Sine>) {
    let mut rng = Rng::new(42);
    let n = (f64::from(rate) * seconds) as usize;
    let mut left = vec![0.0f64; n];
    let mut right = vec![0.0f64; n];
    let mut sines = Vec::new();
    for centre in lacquer_analysis::THIRD_OCTAVE_CENTRES_HZ {
        if centre > top_hz || upper_edge_hz(centre) >= f64::from(rate) / 2.0 {
            break;
        }
        let (lo, hi) = (lower_edge_hz(centre), upper_edge_hz(centre));
        let count = (((hi - lo) * 0.6 / MIN_SINE_SPACING_HZ) as usize).clamp(1, SINES_PER_THIRD);
        for j in 0..count {
            // Positions 0.2 … 0.8 of the band in log frequency.
            let position = if count == 1 {
                0.5
            } else {
                0.2 + 0.6 * j as f64 / (count - 1) as f64
            };
            let f = lo * (hi / lo).powf(position);
            let gain_db = tilt_db_per_octave * (f / 1_000.0).log2();
            let amplitude = 0.02 * 10f64.powf(gain_db / 20.0) / (count as f64).sqrt();
            let (phase_l, phase_r) = (2.0 * PI * rng.uniform(), 2.0 * PI * rng.uniform());
            // MID = (L+R)/2 and SIDE = (L-R)/2 of two equal-amplitude sines
            // have power A²(1 ± cos Δφ)/4.
            let cos_diff = (phase_l - phase_r).cos();
            let power = amplitude * amplitude / 4.0;
            sines.push(Sine {
                freq_hz: f,
                mid_power: power * (1.0 + cos_diff),
                side_power: power * (1.0 - cos_diff),
            });
            let step = 2.0 * PI * f / f64::from(rate);
            for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
                let t = step * i as f64;
                *l += amplitude * (t + phase_l).sin();
                *r += amplitude * (t + phase_r).sin();
            }
        }
    }
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    let buffer = AudioBuffer::stereo(rate, to_f32(left), to_f32(right)).expect("equal lengths");
    (buffer, sines)
}

#[test]
fn a_tilted_copy_reads_as_the_opposite_tilt() {
    const TILT_DB_PER_OCTAVE: f64 = 3.0;
    let (flat, flat_sines) = tilted_comb(44_100, 6.0, 0.0, 16_000.0);
    let (tilted, tilted_sines) = tilted_comb(44_100, 6.0, TILT_DB_PER_OCTAVE, 16_000.0);
    let reference = analysed(&flat);
    let mix = analysed(&tilted);
    let d = deltas_vs_reference(&mix, &reference, "flat.wav");
    let tonal = d.tonal.as_ref().expect("tonal deltas");

    // Expected raw delta per band (target − mix = flat − tilted), from the
    // sines inside each band, up to one constant (the loudness offset),
    // which is removed by comparing against the 1 kHz band.
    let band_energy = |sines: &[Sine], c: f64, power: fn(&Sine) -> f64| -> f64 {
        sines
            .iter()
            .filter(|s| s.freq_hz >= lower_edge_hz(c) && s.freq_hz < upper_edge_hz(c))
            .map(power)
            .sum()
    };
    let centres: Vec<f64> = tonal.third_octave_centres_hz.iter().map(|c| c.0).collect();
    let expected_for = |power: fn(&Sine) -> f64| -> Vec<f64> {
        let raw: Vec<Option<f64>> = centres
            .iter()
            .map(|&c| {
                let flat_e = band_energy(&flat_sines, c, power);
                let tilted_e = band_energy(&tilted_sines, c, power);
                (flat_e > 0.0 && upper_edge_hz(c) < 22_050.0)
                    .then(|| 10.0 * (flat_e / tilted_e).log10())
            })
            .collect();
        // Against a reference the deltas are not smoothed (one measured
        // track; see `deltas_vs_reference`).
        raw.iter().map(|d| d.unwrap_or(0.0)).collect::<Vec<f64>>()
    };
    let expected_mid = expected_for(|s| s.mid_power);
    let expected_side = expected_for(|s| s.side_power);
    let at_1k = centres
        .iter()
        .position(|&c| c == 1_000.0)
        .expect("1 kHz band");
    let offset = tonal.mid_db[at_1k].0 - expected_mid[at_1k];
    let mut worst = 0.0f64;
    for (i, &c) in centres.iter().enumerate() {
        // The bands every comparison carries.
        if !(40.0..=12_500.0).contains(&c) {
            continue;
        }
        for (what, got, expected) in [
            ("mid", tonal.mid_db[i].0, expected_mid[i]),
            ("side", tonal.side_db[i].0, expected_side[i]),
        ] {
            let err = got - offset - expected;
            worst = worst.max(err.abs());
            assert!(
                err.abs() <= TOL_TILT_DB,
                "{what} at {c} Hz: got {got:.3} dB, expected {expected:.3} dB (+{offset:.3} offset)"
            );
        }
    }
    // The tilt really is in the deltas: 40 Hz → 12.5 kHz spans 8.3 octaves.
    let span = tonal.mid_db[centres.iter().position(|&c| c == 40.0).unwrap_or(0)].0
        - tonal.mid_db[centres.iter().position(|&c| c == 12_500.0).unwrap_or(0)].0;
    let expected_span = TILT_DB_PER_OCTAVE * (12_500.0f64 / 40.0).log2();
    assert!(
        (span - expected_span).abs() <= 2.0 * TOL_TILT_DB,
        "span {span}, expected {expected_span}"
    );
    let (lo, hi) = MEAN_ABS_RANGE_HZ;
    assert!(lo < hi);
    println!(
        "tilt: worst band error {worst:.4} dB, span {span:.3} dB (expected {expected_span:.3})"
    );
}

#[test]
fn silence_gives_no_tonal_deltas_and_no_panic() {
    let silent = AudioBuffer::silence(44_100, 2, 44_100 * 2).expect("valid");
    let quiet = analysed(&silent);
    let mix = analysed(&demo_mix(44_100, 4.0, -3.0, 1));
    let d = deltas_vs_reference(&mix, &quiet, "silence.wav");
    assert_eq!(d.tonal, None);
    assert_eq!(d.loudness_lu, None);
}
