//! EBU Tech 3341 (loudness metering) and Tech 3342 (loudness range) cases,
//! synthesised from their definitions.
//!
//! Not covered here, because they cannot be synthesised:
//! - Tech 3341 cases 7 and 8 and Tech 3342 cases 5 and 6 are authentic
//!   programme material (the EBU test-set files `seq-3341-7_seq-3342-5` and
//!   `seq-3341-2011-8_seq-3342-6`); there is no definition to build them from.
//! - Tech 3341 cases 20–23 (true peak) are likewise supplied only as files.
//! - Tech 3341 case 6 is a 5-channel signal; the analysis takes 1 or 2
//!   channels by design.

use lacquer_analysis::{analyze, loudness, true_peaks_dbtp};
use lacquer_core::AudioBuffer;
use lacquer_testkit::{concat, sine, stereo_sine};

/// Tech 3341 loudness tolerance.
const TOL_LU: f64 = 0.1;
/// Tech 3342 loudness range tolerance.
const TOL_LRA_LU: f64 = 1.0;
/// Tech 3341 true-peak tolerance: the meter may read this much over…
const TP_TOL_OVER_DB: f64 = 0.2;
/// …and this much under.
const TP_TOL_UNDER_DB: f64 = 0.4;

const RATES: [u32; 3] = [44_100, 48_000, 96_000];

fn seq(rate: u32, parts: &[(f64, f64)]) -> AudioBuffer {
    let bufs: Vec<AudioBuffer> = parts
        .iter()
        .map(|&(seconds, dbfs)| stereo_sine(rate, seconds, 1_000.0, dbfs))
        .collect();
    concat(&bufs)
}

fn assert_lu(what: &str, got: Option<f64>, want: f64, tol: f64) {
    let got = got.unwrap_or_else(|| panic!("{what}: no reading"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: read {got:.3}, expected {want} ± {tol}"
    );
}

#[test]
fn tech3341_case1_and_2_steady_sine() {
    for rate in RATES {
        for level in [-23.0, -33.0] {
            let s = loudness(&stereo_sine(rate, 20.0, 1_000.0, level)).unwrap();
            let tag = format!("{rate} Hz, {level} dBFS");
            assert_lu(
                &format!("I {tag}"),
                s.integrated.map(|l| l.0),
                level,
                TOL_LU,
            );
            assert_lu(
                &format!("M {tag}"),
                s.momentary_max.map(|l| l.0),
                level,
                TOL_LU,
            );
            assert_lu(
                &format!("S {tag}"),
                s.short_term_max.map(|l| l.0),
                level,
                TOL_LU,
            );
        }
    }
}

#[test]
fn tech3341_case3_relative_gate() {
    for rate in RATES {
        let b = seq(rate, &[(10.0, -36.0), (60.0, -23.0), (10.0, -36.0)]);
        assert_lu(
            "case 3",
            loudness(&b).unwrap().integrated.map(|l| l.0),
            -23.0,
            TOL_LU,
        );
    }
}

#[test]
fn tech3341_case4_absolute_and_relative_gate() {
    for rate in RATES {
        let b = seq(
            rate,
            &[
                (10.0, -72.0),
                (10.0, -36.0),
                (60.0, -23.0),
                (10.0, -36.0),
                (10.0, -72.0),
            ],
        );
        assert_lu(
            "case 4",
            loudness(&b).unwrap().integrated.map(|l| l.0),
            -23.0,
            TOL_LU,
        );
    }
}

#[test]
fn tech3341_case5_gate_inside_the_programme() {
    for rate in RATES {
        let b = seq(rate, &[(20.0, -26.0), (20.1, -20.0), (20.0, -26.0)]);
        assert_lu(
            "case 5",
            loudness(&b).unwrap().integrated.map(|l| l.0),
            -23.0,
            TOL_LU,
        );
    }
}

/// Case 9: 1.34 s at −20 dBFS then 1.66 s at −30 dBFS, repeated; every 3 s
/// short-term window reads −23 LUFS.
#[test]
fn tech3341_case9_short_term_is_constant() {
    for rate in RATES {
        let period = seq(rate, &[(1.34, -20.0), (1.66, -30.0)]);
        let b = concat(&vec![period; 5]);
        let s = loudness(&b).unwrap();
        assert!(
            s.short_term_100ms.len() >= 120,
            "{}",
            s.short_term_100ms.len()
        );
        for (i, st) in s.short_term_100ms.iter().enumerate() {
            assert_lu(
                &format!("case 9 {rate} Hz window {i}"),
                st.map(|l| l.0),
                -23.0,
                TOL_LU,
            );
        }
    }
}

fn assert_lra(parts: &[(f64, f64)], want: f64) {
    for rate in RATES {
        let s = loudness(&seq(rate, parts)).unwrap();
        assert_lu(
            &format!("LRA {rate} Hz {parts:?}"),
            s.loudness_range_lu.map(|d| d.0),
            want,
            TOL_LRA_LU,
        );
    }
}

#[test]
fn tech3342_case1_to_4() {
    assert_lra(&[(20.0, -20.0), (20.0, -30.0)], 10.0);
    assert_lra(&[(20.0, -20.0), (20.0, -15.0)], 5.0);
    assert_lra(&[(20.0, -40.0), (20.0, -20.0)], 20.0);
    assert_lra(
        &[
            (20.0, -50.0),
            (20.0, -35.0),
            (20.0, -20.0),
            (20.0, -35.0),
            (20.0, -50.0),
        ],
        15.0,
    );
}

/// Cases 15–19: sines at fs/4, fs/6 and fs/8 with phases chosen so the
/// samples miss the crest. The spec's signals are steady tones; switching one
/// on abruptly at a non-zero phase is a step, and any band-limited
/// reconstruction rings over the step (Gibbs), so the synthetic tone gets
/// 20 ms raised-cosine fades like a real test file and the steady part is
/// what is measured.
fn tp_case(rate: u32, divisor: f64, phase_deg: f64, amplitude: f64) -> AudioBuffer {
    const FADE_SECONDS: f64 = 0.02;
    let freq = f64::from(rate) / divisor;
    let peak_dbfs = 20.0 * amplitude.log10();
    let mut s = sine(rate, 1.0, freq, peak_dbfs, phase_deg.to_radians());
    let fade = (FADE_SECONDS * f64::from(rate)) as usize;
    let len = s.len();
    for i in 0..fade {
        let g = (0.5 - 0.5 * (std::f64::consts::PI * i as f64 / fade as f64).cos()) as f32;
        s[i] *= g;
        s[len - 1 - i] *= g;
    }
    AudioBuffer::stereo(rate, s.clone(), s).unwrap()
}

#[test]
fn tech3341_true_peak_cases_15_to_19() {
    let cases = [
        (15, 4.0, 0.0, 0.5, -6.0),
        (16, 4.0, 45.0, 0.5, -6.0),
        (17, 6.0, 60.0, 0.5, -6.0),
        (18, 8.0, 67.5, 0.5, -6.0),
        (19, 4.0, 45.0, 1.41, 3.0),
    ];
    for rate in [44_100, 48_000] {
        for (case, divisor, phase, amplitude, want_dbtp) in cases {
            let peaks = true_peaks_dbtp(&tp_case(rate, divisor, phase, amplitude)).unwrap();
            for (ch, peak) in peaks.iter().enumerate() {
                let got = peak.expect("a sine has a peak").0;
                assert!(
                    got <= want_dbtp + TP_TOL_OVER_DB && got >= want_dbtp - TP_TOL_UNDER_DB,
                    "case {case} {rate} Hz ch {ch}: {got:.3} dBTP, expected {want_dbtp} +{TP_TOL_OVER_DB}/-{TP_TOL_UNDER_DB}"
                );
            }
        }
    }
}

/// The whole record carries the same readings as the cheap calls.
#[test]
fn analyze_agrees_with_the_cheap_calls() {
    let b = seq(48_000, &[(10.0, -36.0), (20.0, -23.0)]);
    let a = analyze(&b).unwrap();
    let s = loudness(&b).unwrap();
    assert_eq!(a.loudness.integrated_lufs, s.integrated);
    assert_eq!(a.loudness.loudness_range_lu, s.loudness_range_lu);
    let tp = true_peaks_dbtp(&b).unwrap();
    assert_eq!(a.loudness.true_peak_dbtp, tp);
    assert_eq!(
        a.loudness.short_term_lufs.len(),
        s.short_term_100ms.len().div_ceil(10)
    );
}
