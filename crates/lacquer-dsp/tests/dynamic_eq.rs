//! Dynamic EQ: below threshold the output is the input (bit-exact, far
//! inside the −120 dBFS null requirement); above it the band centre is cut
//! by the designed amount, capped at `max_cut_db`; other frequencies are
//! left alone; block size does not change the output.

use lacquer_core::chain::{DynamicEqBandSettings, DynamicEqSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::dynamic_eq::DynamicEq;
use lacquer_testkit::{Rng, pink_noise, sine};

const RATE: u32 = 44_100;
/// Steady sine at the band centre: detector ripple (instant attack, slow
/// release) is a few thousandths of a dB.
const TOL_CUT_DB: f64 = 0.05;
const NULL_FLOOR_DBFS: f64 = -120.0;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn settings(bands: Vec<DynamicEqBandSettings>) -> DynamicEqSettings {
    DynamicEqSettings {
        enabled: true,
        bands,
    }
}

fn run(
    settings: &DynamicEqSettings,
    left: &[f32],
    right: &[f32],
) -> (Vec<f32>, Vec<f32>, DynamicEq) {
    let mut deq = DynamicEq::new(settings);
    deq.prepare(RATE, left.len()).expect("valid settings");
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    deq.process(&mut l, &mut r);
    (l, r, deq)
}

fn instant(mut band: DynamicEqBandSettings) -> DynamicEqBandSettings {
    band.attack_ms = 0.0;
    band.release_ms = 500.0;
    band
}

#[test]
fn below_threshold_nothing_changes() {
    let mut rng = Rng::new(1);
    let left = pink_noise(&mut rng, RATE, 3.0, -40.0);
    let right = pink_noise(&mut rng, RATE, 3.0, -40.0);
    let all = settings(vec![
        DynamicEqBandSettings::harshness(-12.0, 6.0),
        DynamicEqBandSettings::mud(-12.0, 4.0),
        DynamicEqBandSettings::sub(-12.0, 4.0),
    ]);
    let (l, r, deq) = run(&all, &left, &right);
    let residual: Vec<f32> = l.iter().zip(&left).map(|(a, b)| a - b).collect();
    let residual_dbfs = db(rms(&residual).max(1e-300));
    assert!(
        residual_dbfs < NULL_FLOOR_DBFS,
        "residual {residual_dbfs:.1} dBFS"
    );
    assert_eq!(l, left, "below threshold the output is bit-exact");
    assert_eq!(r, right);
    assert_eq!(deq.max_gain_reduction_db(), 0.0);
}

#[test]
fn above_threshold_the_centre_is_cut_by_the_design() {
    // (band, tone level dBFS peak, expected cut dB)
    let cases = [
        // 14 dB over × (1 − 1/3) = 9.3 → capped at 6.
        (
            instant(DynamicEqBandSettings::harshness(-20.0, 6.0)),
            -6.0,
            6.0,
        ),
        // 6 dB over × (1 − 1/3) = 4.
        (
            instant(DynamicEqBandSettings::harshness(-12.0, 6.0)),
            -6.0,
            4.0,
        ),
        // 5 dB over × (1 − 1/2.5) = 3.
        (instant(DynamicEqBandSettings::mud(-15.0, 6.0)), -10.0, 3.0),
        // 8 dB over × (1 − 1/2) = 4.
        (instant(DynamicEqBandSettings::sub(-14.0, 6.0)), -6.0, 4.0),
    ];
    for (band, level_dbfs, expected_cut) in cases {
        let freq = band.frequency_hz;
        let input = sine(RATE, 3.0, freq, level_dbfs, 0.0);
        let (l, r, deq) = run(&settings(vec![band.clone()]), &input, &input);
        let tail = 2 * RATE as usize;
        let cut = -db(rms(&l[tail..]) / rms(&input[tail..]));
        assert!(
            (cut - expected_cut).abs() <= TOL_CUT_DB,
            "{freq} Hz at {level_dbfs} dBFS: cut {cut:.3} dB, design {expected_cut:.3} dB"
        );
        // The meter's peak may include the band-pass onset transient, but
        // never exceeds the cap.
        let peak_cut = deq.max_gain_reduction_db();
        assert!(peak_cut >= expected_cut - TOL_CUT_DB && peak_cut <= band.max_cut_db);
        assert_eq!(l, r);
    }
}

#[test]
fn a_loud_tone_outside_the_band_does_not_trigger_it() {
    // A 500 Hz tone is ~16 dB down in the 3.5 kHz, Q 0.9 band-pass, so at
    // −6 dBFS it reads about −22 dB: under a −20 dB threshold.
    let band = instant(DynamicEqBandSettings::harshness(-20.0, 6.0));
    let input = sine(RATE, 1.0, 500.0, -6.0, 0.0);
    let (l, _, deq) = run(&settings(vec![band]), &input, &input);
    assert_eq!(l, input);
    assert_eq!(deq.max_gain_reduction_db(), 0.0);
}

#[test]
fn disabled_is_bit_exact_and_bad_settings_are_rejected() {
    let mut rng = Rng::new(2);
    let input: Vec<f32> = (0..10_000).map(|_| rng.bipolar() as f32).collect();
    let mut s = settings(vec![DynamicEqBandSettings::harshness(-40.0, 6.0)]);
    s.enabled = false;
    let (l, _, _) = run(&s, &input, &input);
    assert_eq!(l, input);
    for bad in [
        DynamicEqBandSettings {
            frequency_hz: 30_000.0,
            ..DynamicEqBandSettings::default()
        },
        DynamicEqBandSettings {
            q: 0.0,
            ..DynamicEqBandSettings::default()
        },
        DynamicEqBandSettings {
            ratio: 0.9,
            ..DynamicEqBandSettings::default()
        },
        DynamicEqBandSettings {
            max_cut_db: -3.0,
            ..DynamicEqBandSettings::default()
        },
        DynamicEqBandSettings {
            release_ms: f64::NAN,
            ..DynamicEqBandSettings::default()
        },
    ] {
        assert!(
            DynamicEq::new(&settings(vec![bad]))
                .prepare(RATE, 64)
                .is_err()
        );
    }
}

#[test]
fn block_size_does_not_change_the_output() {
    let s = settings(vec![
        DynamicEqBandSettings::harshness(-30.0, 6.0),
        DynamicEqBandSettings::mud(-30.0, 4.0),
        DynamicEqBandSettings::sub(-30.0, 4.0),
    ]);
    let mut rng = Rng::new(8);
    let left = pink_noise(&mut rng, RATE, 1.0, -12.0);
    let right = pink_noise(&mut rng, RATE, 1.0, -14.0);
    let (wl, wr, whole) = run(&s, &left, &right);
    assert!(whole.max_gain_reduction_db() > 0.0);
    let mut deq = DynamicEq::new(&s);
    deq.prepare(RATE, 4096).expect("valid");
    let (mut bl, mut br) = (left, right);
    let mut start = 0;
    while start < bl.len() {
        let len = rng.range(1, 4096).min(bl.len() - start);
        deq.process(&mut bl[start..start + len], &mut br[start..start + len]);
        start += len;
    }
    assert_eq!(bl, wl);
    assert_eq!(br, wr);
}

/// Preparing again starts over: a used instance, prepared anew (no
/// `reset`), gives a fresh instance's bits, odd block lengths included (the
/// control frames fall where they would from the start).
#[test]
fn preparing_again_starts_over() {
    let s = settings(vec![DynamicEqBandSettings::harshness(-30.0, 6.0)]);
    let mut rng = Rng::new(9);
    let left = pink_noise(&mut rng, RATE, 0.5, -12.0);
    let right = pink_noise(&mut rng, RATE, 0.5, -14.0);
    let (fl, fr, fresh) = run(&s, &left, &right);
    assert!(fresh.max_gain_reduction_db() > 0.0);
    let mut deq = DynamicEq::new(&s);
    deq.prepare(RATE, left.len()).expect("valid");
    let (mut l, mut r) = (left[..1001].to_vec(), right[..1001].to_vec());
    deq.process(&mut l, &mut r);
    deq.prepare(RATE, left.len()).expect("valid");
    let (mut l, mut r) = (left.clone(), right.clone());
    deq.process(&mut l, &mut r);
    assert!(
        l == fl && r == fr,
        "a re-prepared instance differs from a fresh one"
    );
    assert_eq!(deq.max_gain_reduction_db(), fresh.max_gain_reduction_db());
}
