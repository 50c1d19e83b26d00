//! Corrective EQ: every band type's measured response (impulse → Fourier
//! transform) against its design, at 44.1 and 48 kHz, including bands close
//! to Nyquist; bypass is bit-exact; block size does not change the output.

use lacquer_core::chain::{
    EqBandKind, EqBandSettings, EqSettings, HighPassSettings, HighPassSlope,
};
use lacquer_dsp::Processor;
use lacquer_dsp::biquad::BiquadCoeffs;
use lacquer_dsp::eq::Eq;
use lacquer_testkit::Rng;
use std::f64::consts::PI;

/// Measured vs designed gain at the centre frequency.
const TOL_CENTRE_DB: f64 = 0.1;
/// Measured vs the coefficients' own response everywhere (implementation
/// check: only f32 I/O rounding separates them).
const TOL_IMPL_DB: f64 = 0.01;
/// How far a matched bell near Nyquist may stray from its analog prototype
/// on its skirts. The three-point match is exact at DC, centre and Nyquist;
/// in between, the 15 kHz / Q 1 / +6 dB bell at 44.1 kHz measured 0.64 dB
/// off at worst, where the bilinear design is 3.9 dB off.
const TOL_ANALOG_SHAPE_DB: f64 = 0.75;
const RATES: [u32; 2] = [44_100, 48_000];
const IMPULSE_LEN: usize = 1 << 16;

fn impulse_response(eq: &mut Eq) -> Vec<f32> {
    let mut left = vec![0.0f32; IMPULSE_LEN];
    left[0] = 1.0;
    let mut right = left.clone();
    eq.process(&mut left, &mut right);
    assert_eq!(left, right, "channels must be filtered identically");
    left
}

/// |H(f)| in dB from an impulse response, by direct Fourier sum at `freq`.
fn measured_db(ir: &[f32], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, &h) in ir.iter().enumerate() {
        let phase = w * n as f64;
        re += f64::from(h) * phase.cos();
        im -= f64::from(h) * phase.sin();
    }
    20.0 * re.hypot(im).log10()
}

fn eq_with_band(kind: EqBandKind, freq: f64, gain_db: f64, q: f64) -> EqSettings {
    EqSettings {
        enabled: true,
        bands: vec![EqBandSettings {
            kind,
            frequency_hz: freq,
            gain_db,
            q,
        }],
        ..EqSettings::default()
    }
}

fn prepared(settings: &EqSettings, rate: u32) -> Eq {
    let mut eq = Eq::new(settings);
    eq.prepare(rate, IMPULSE_LEN).expect("valid settings");
    eq
}

fn check_band(settings: &EqSettings, rate: u32, centre_hz: f64, expected_db: f64) {
    let mut eq = prepared(settings, rate);
    let ir = impulse_response(&mut eq);
    let measured = measured_db(&ir, rate, centre_hz);
    println!(
        "{rate} Hz, centre {centre_hz:.0} Hz: measured {measured:.4} dB, designed {expected_db:.4} dB"
    );
    assert!(
        (measured - expected_db).abs() <= TOL_CENTRE_DB,
        "{settings:?} at {rate} Hz: measured {measured:.4} dB at {centre_hz} Hz, designed {expected_db:.4} dB"
    );
    // The whole response, 20 Hz – 20 kHz, against the coefficients.
    for k in 0..60 {
        let f = 20.0 * 1000f64.powf(k as f64 / 59.0);
        let designed = eq.design_response_db(f);
        let got = measured_db(&ir, rate, f);
        assert!(
            (got - designed).abs() <= TOL_IMPL_DB,
            "{settings:?} at {rate} Hz, {f:.1} Hz: measured {got:.4} dB, coefficients say {designed:.4} dB"
        );
    }
}

#[test]
fn bells_hit_their_gain_at_the_centre_including_near_nyquist() {
    for rate in RATES {
        let nyquist = f64::from(rate) / 2.0;
        for &(freq, gain, q) in &[
            (40.0, 6.0, 0.7),
            (250.0, -4.5, 1.4),
            (1000.0, 12.0, 2.0),
            (3500.0, -9.0, 4.0),
            (10_000.0, 3.0, 0.5),
            (16_000.0, 6.0, 1.0),
            (nyquist * 0.9, -6.0, 1.0),
            (nyquist * 0.95, 4.0, 2.0),
        ] {
            check_band(
                &eq_with_band(EqBandKind::Peak, freq, gain, q),
                rate,
                freq,
                gain,
            );
        }
    }
}

#[test]
fn shelves_give_half_their_gain_at_the_corner() {
    for rate in RATES {
        let nyquist = f64::from(rate) / 2.0;
        for &(kind, freq, gain) in &[
            (EqBandKind::LowShelf, 60.0, 4.0),
            (EqBandKind::LowShelf, 200.0, -6.0),
            (EqBandKind::HighShelf, 8000.0, 3.0),
            (EqBandKind::HighShelf, 12_000.0, -5.0),
            (EqBandKind::HighShelf, nyquist * 0.85, 6.0),
        ] {
            let settings = eq_with_band(kind, freq, gain, std::f64::consts::FRAC_1_SQRT_2);
            check_band(&settings, rate, freq, gain / 2.0);
        }
    }
}

#[test]
fn shelves_reach_their_full_gain_away_from_the_corner() {
    for rate in RATES {
        let mut eq = prepared(&eq_with_band(EqBandKind::LowShelf, 100.0, 6.0, 0.707), rate);
        let ir = impulse_response(&mut eq);
        let deep = measured_db(&ir, rate, 5.0);
        assert!(
            (deep - 6.0).abs() < TOL_CENTRE_DB,
            "low shelf at 5 Hz: {deep:.3} dB"
        );
        let mut eq = prepared(
            &eq_with_band(EqBandKind::HighShelf, 2000.0, -4.0, 0.707),
            rate,
        );
        let ir = impulse_response(&mut eq);
        let top = measured_db(&ir, rate, 20_000.0);
        assert!(
            (top + 4.0).abs() < TOL_CENTRE_DB,
            "high shelf at 20 kHz: {top:.3} dB"
        );
    }
}

#[test]
fn high_pass_is_3_db_down_at_its_corner_with_the_right_slope() {
    let minus_3_db = -10.0 * 2f64.log10();
    for rate in RATES {
        for (slope, db_per_octave) in [
            (HighPassSlope::Db12PerOctave, 12.0),
            (HighPassSlope::Db24PerOctave, 24.0),
        ] {
            for corner in [25.0, 40.0, 80.0] {
                let settings = EqSettings {
                    enabled: true,
                    high_pass: HighPassSettings {
                        enabled: true,
                        frequency_hz: corner,
                        slope,
                    },
                    ..EqSettings::default()
                };
                check_band(&settings, rate, corner, minus_3_db);
                // Far below the corner, Butterworth falls at 6·order dB/oct.
                let mut eq = prepared(&settings, rate);
                let ir = impulse_response(&mut eq);
                let drop =
                    measured_db(&ir, rate, corner / 8.0) - measured_db(&ir, rate, corner / 16.0);
                assert!(
                    (drop - db_per_octave).abs() < 0.2,
                    "{slope:?} at {corner} Hz: {drop:.2} dB/oct"
                );
                let pass = measured_db(&ir, rate, corner * 20.0);
                assert!(pass.abs() < 0.01, "pass band {pass:.4} dB");
            }
        }
    }
}

/// Analog bell |H(jΩ)| in dB, Ω = f / f0.
fn analog_bell_db(f_over_f0: f64, gain_db: f64, q: f64) -> f64 {
    let a = 10f64.powf(gain_db / 40.0);
    let o2 = f_over_f0 * f_over_f0;
    let num = (1.0 - o2).powi(2) + (a / q * f_over_f0).powi(2);
    let den = (1.0 - o2).powi(2) + (f_over_f0 / (a * q)).powi(2);
    10.0 * (num / den).log10()
}

#[test]
fn bells_near_nyquist_keep_their_analog_shape() {
    // 15 kHz air bell at 44.1 kHz: the bilinear (RBJ) design is squeezed
    // toward Nyquist; the matched design follows the analog bell.
    let rate = 44_100;
    let (f0, gain, q) = (15_000.0, 6.0, 1.0);
    let mut eq = prepared(&eq_with_band(EqBandKind::Peak, f0, gain, q), rate);
    let ir = impulse_response(&mut eq);
    let bilinear = {
        let w = 2.0 * PI * f0 / f64::from(rate);
        let alpha = w.sin() / (2.0 * q);
        let a = 10f64.powf(gain / 40.0);
        let a0 = 1.0 + alpha / a;
        BiquadCoeffs {
            b0: (1.0 + alpha * a) / a0,
            b1: -2.0 * w.cos() / a0,
            b2: (1.0 - alpha * a) / a0,
            a1: -2.0 * w.cos() / a0,
            a2: (1.0 - alpha / a) / a0,
        }
    };
    let mut worst_matched: f64 = 0.0;
    let mut worst_bilinear: f64 = 0.0;
    for ratio in [0.5, 0.7, 0.85, 1.15, 1.3, 1.4] {
        let f = f0 * ratio;
        let analog = analog_bell_db(ratio, gain, q);
        worst_matched = worst_matched.max((measured_db(&ir, rate, f) - analog).abs());
        worst_bilinear =
            worst_bilinear.max((bilinear.response_db(f64::from(rate), f) - analog).abs());
    }
    assert!(
        worst_matched <= TOL_ANALOG_SHAPE_DB,
        "matched bell strays {worst_matched:.3} dB from analog"
    );
    assert!(
        worst_bilinear > 2.0 * worst_matched,
        "bilinear strays {worst_bilinear:.3} dB, matched {worst_matched:.3} dB"
    );
}

#[test]
fn disabled_or_neutral_eq_is_bit_exact() {
    let mut rng = Rng::new(7);
    let input: Vec<f32> = (0..20_000).map(|_| rng.bipolar() as f32 * 0.5).collect();
    let mut settings = eq_with_band(EqBandKind::Peak, 1000.0, 6.0, 1.0);
    settings.enabled = false;
    let mut eq = prepared(&settings, 48_000);
    let (mut l, mut r) = (input.clone(), input.clone());
    eq.process(&mut l, &mut r);
    assert_eq!(l, input);
    assert_eq!(r, input);

    // Enabled with 0 dB bands: no sections at all, so still bit-exact.
    let settings = eq_with_band(EqBandKind::HighShelf, 5000.0, 0.0, 0.7);
    let mut eq = prepared(&settings, 48_000);
    assert!(eq.sections().is_empty());
    let (mut l, mut r) = (input.clone(), input.clone());
    eq.process(&mut l, &mut r);
    assert_eq!(l, input);
    assert_eq!(eq.latency(), 0);
}

#[test]
fn invalid_settings_are_rejected_in_prepare() {
    for band in [
        (EqBandKind::Peak, 30_000.0, 3.0, 1.0),
        (EqBandKind::Peak, 1000.0, f64::NAN, 1.0),
        (EqBandKind::Peak, 1000.0, 3.0, 0.0),
        (EqBandKind::LowShelf, -5.0, 3.0, 1.0),
        (EqBandKind::HighShelf, 1000.0, 40.0, 1.0),
    ] {
        let settings = eq_with_band(band.0, band.1, band.2, band.3);
        assert!(Eq::new(&settings).prepare(48_000, 512).is_err(), "{band:?}");
    }
    assert!(Eq::new(&EqSettings::default()).prepare(48_000, 0).is_err());
    assert!(Eq::new(&EqSettings::default()).prepare(1_000, 64).is_err());
}

#[test]
fn block_size_does_not_change_the_output() {
    let settings = EqSettings {
        enabled: true,
        high_pass: HighPassSettings {
            enabled: true,
            frequency_hz: 30.0,
            slope: HighPassSlope::Db24PerOctave,
        },
        bands: vec![
            EqBandSettings {
                kind: EqBandKind::LowShelf,
                frequency_hz: 90.0,
                gain_db: 2.0,
                q: 0.7,
            },
            EqBandSettings {
                kind: EqBandKind::Peak,
                frequency_hz: 3000.0,
                gain_db: -3.0,
                q: 1.5,
            },
            EqBandSettings {
                kind: EqBandKind::HighShelf,
                frequency_hz: 12_000.0,
                gain_db: 1.5,
                q: 0.7,
            },
        ],
        ..EqSettings::default()
    };
    let mut rng = Rng::new(11);
    let left: Vec<f32> = (0..44_100).map(|_| rng.bipolar() as f32 * 0.5).collect();
    let right: Vec<f32> = (0..44_100).map(|_| rng.bipolar() as f32 * 0.5).collect();
    let mut whole = prepared(&settings, 44_100);
    let (mut wl, mut wr) = (left.clone(), right.clone());
    whole.process(&mut wl, &mut wr);

    let mut eq = Eq::new(&settings);
    eq.prepare(44_100, 4096).expect("valid");
    let (mut bl, mut br) = (left, right);
    let mut start = 0;
    while start < bl.len() {
        let len = rng.range(1, 4096).min(bl.len() - start);
        eq.process(&mut bl[start..start + len], &mut br[start..start + len]);
        start += len;
    }
    assert_eq!(bl, wl);
    assert_eq!(br, wr);
}
