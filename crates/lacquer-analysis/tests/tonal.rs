//! The tonal curve puts energy where physics says it is.

use lacquer_analysis::{THIRD_OCTAVE_CENTRES_HZ, analyze, tonal_analysis};
use lacquer_core::AudioBuffer;
use lacquer_core::analysis::SIX_BAND_EDGES_HZ;
use lacquer_testkit::{Rng, pink_noise, sine, stereo_sine};

/// Pink noise has equal energy per octave; Welch averaging over ~10 s leaves
/// a little estimation noise in the lowest octave, whose 1/3 bands hold only
/// a few FFT bins.
const PINK_OCTAVE_TOL_DB: f64 = 1.0;
/// A pure tone at a band centre: the tone's own band must hold at least this
/// share of the energy. (The Hann main lobe is 4 bins wide, 5.9 Hz at 48 kHz;
/// the 20 Hz band is only 4.6 Hz wide, so part of a 20 Hz tone legitimately
/// spills into 16 and 25 Hz.)
const TONE_MIN_SHARE: f64 = 0.6;
/// Where the whole main lobe fits in the band (4 bins ≤ band width, i.e.
/// from 31.5 Hz up), the band must read the tone's mean square (−3.01 dB for
/// a 0 dBFS peak sine) within this.
const TONE_LEVEL_TOL_DB: f64 = 0.5;
const FULL_RESOLUTION_FROM_HZ: f64 = 31.5;
/// Gating must keep excluded material at least this far below what it would
/// read if it counted.
const GATE_EFFECT_MIN_DB: f64 = 10.0;
/// A tone inside a broad band puts all but leakage-level energy there.
const SIX_BAND_MIN_DB: f64 = -0.2;

#[test]
fn a_tone_lands_in_its_third_octave_band() {
    for rate in [44_100, 48_000] {
        let nyquist = f64::from(rate) / 2.0;
        for (i, &centre) in THIRD_OCTAVE_CENTRES_HZ.iter().enumerate() {
            if centre >= 0.9 * nyquist {
                continue;
            }
            let level_dbfs = -20.0;
            let t = tonal_analysis(&stereo_sine(rate, 3.0, centre, level_dbfs))
                .unwrap()
                .expect("a loud tone passes the gate");
            let energies: Vec<f64> = t.mid_db.iter().map(|d| 10f64.powf(d.0 / 10.0)).collect();
            let total: f64 = energies.iter().sum();
            let loudest = (0..energies.len())
                .max_by(|&a, &b| energies[a].total_cmp(&energies[b]))
                .unwrap();
            assert_eq!(
                loudest, i,
                "{centre} Hz at {rate} Hz landed in band {loudest}"
            );
            assert!(
                energies[i] / total >= TONE_MIN_SHARE,
                "{centre} Hz: only {:.2} of the energy in its band",
                energies[i] / total
            );
            let expected_db = level_dbfs - 3.0103;
            assert!(
                centre < FULL_RESOLUTION_FROM_HZ
                    || (t.mid_db[i].0 - expected_db).abs() <= TONE_LEVEL_TOL_DB,
                "{centre} Hz reads {:.2} dB, expected {expected_db:.2}",
                t.mid_db[i].0
            );
            // Identical channels: no SIDE at all.
            assert!(t.side_db.iter().all(|d| d.0 < -150.0), "{:?}", t.side_db);
        }
    }
}

#[test]
fn a_tone_lands_in_its_six_band() {
    let rate = 48_000;
    for (band, (lo, hi)) in SIX_BAND_EDGES_HZ.iter().enumerate() {
        // Geometric middle of the band, and points near both edges.
        for freq in [(lo * hi).sqrt(), lo * 1.15, hi / 1.15] {
            let t = tonal_analysis(&stereo_sine(rate, 3.0, freq, -20.0))
                .unwrap()
                .unwrap();
            let bands = t.bands_db.to_array();
            assert!(
                bands[band].0 >= SIX_BAND_MIN_DB,
                "{freq:.0} Hz: band {band} reads {:.2} dB of total ({bands:?})",
                bands[band].0
            );
        }
    }
}

#[test]
fn pink_noise_is_flat_per_octave() {
    for rate in [44_100, 48_000] {
        let mut rng = Rng::new(11);
        let l = pink_noise(&mut rng, rate, 12.0, -20.0);
        let r = pink_noise(&mut rng, rate, 12.0, -20.0);
        let t = tonal_analysis(&AudioBuffer::stereo(rate, l, r).unwrap())
            .unwrap()
            .unwrap();
        // Octaves 31.5 Hz … 16 kHz = thirds (25, 31.5, 40), (50, 63, 80), …
        let energies: Vec<f64> = t.mid_db.iter().map(|d| 10f64.powf(d.0 / 10.0)).collect();
        let octaves: Vec<f64> = energies[1..]
            .chunks_exact(3)
            .map(|c| 10.0 * c.iter().sum::<f64>().log10())
            .collect();
        assert_eq!(octaves.len(), 10);
        let mean = octaves.iter().sum::<f64>() / octaves.len() as f64;
        for (i, o) in octaves.iter().enumerate() {
            assert!(
                (o - mean).abs() <= PINK_OCTAVE_TOL_DB,
                "{rate} Hz octave {i}: {o:.2} dB vs mean {mean:.2} ({octaves:?})"
            );
        }
    }
}

#[test]
fn side_only_content_reads_as_side() {
    let rate = 48_000;
    let s = sine(rate, 3.0, 1_000.0, -20.0, 0.0);
    let inverted: Vec<f32> = s.iter().map(|x| -x).collect();
    let t = tonal_analysis(&AudioBuffer::stereo(rate, s, inverted).unwrap())
        .unwrap()
        .unwrap();
    let k = THIRD_OCTAVE_CENTRES_HZ
        .iter()
        .position(|&c| c == 1_000.0)
        .unwrap();
    assert!(
        (t.side_db[k].0 - (-23.01)).abs() < TONE_LEVEL_TOL_DB,
        "{:?}",
        t.side_db[k]
    );
    assert!(t.mid_db[k].0 < -150.0, "{:?}", t.mid_db[k]);
}

#[test]
fn silence_and_fades_do_not_count() {
    let rate = 48_000;
    // 20 s of tone, then 20 s of quiet 50 Hz rumble (above the absolute gate,
    // 40 LU under the tone, so below the relative gate). Counted equally, the
    // rumble would put its −63 dB mean square into the 50 Hz band at about
    // −66 dB (it fills half the track); gated, only the one frame that
    // straddles the change carries any of it.
    let rumble_dbfs = -60.0;
    let mut l = sine(rate, 20.0, 1_000.0, -20.0, 0.0);
    l.extend(sine(rate, 20.0, 50.0, rumble_dbfs, 0.0));
    let b = AudioBuffer::stereo(rate, l.clone(), l).unwrap();
    let t = analyze(&b).unwrap().tonal.unwrap();
    assert!(t.frames_used < t.frames_total);
    let k50 = THIRD_OCTAVE_CENTRES_HZ
        .iter()
        .position(|&c| c == 50.0)
        .unwrap();
    let ungated_db = rumble_dbfs - 3.01 + 10.0 * (20.0f64 / 40.0).log10();
    assert!(
        t.mid_db[k50].0 < ungated_db - GATE_EFFECT_MIN_DB,
        "rumble leaked in: {:?} vs ungated {ungated_db:.1}",
        t.mid_db[k50]
    );
    assert!(
        analyze(&AudioBuffer::silence(rate, 2, rate as usize).unwrap())
            .unwrap()
            .tonal
            .is_none()
    );
}

#[test]
fn low_rates_only_report_bands_below_nyquist() {
    let t = tonal_analysis(&stereo_sine(8_000, 3.0, 1_000.0, -20.0))
        .unwrap()
        .unwrap();
    assert!(t.third_octave_centres_hz.iter().all(|c| c.0 < 4_000.0));
    assert_eq!(t.mid_db.len(), t.third_octave_centres_hz.len());
}
