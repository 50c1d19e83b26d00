//! The saturator: low aliasing thanks to oversampling, a phase-coherent dry
//! path, exact latency and block-size independence.

mod chain_support;

use chain_support::{power_spectrum, run_blocks};
use lacquer_core::chain::{SaturationCurve, SaturationSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::saturation::Saturator;
use lacquer_testkit::{Rng, sine, white_noise};

/// Issue target: aliased (non-harmonic) components at 10 % THD.
const ALIAS_LIMIT_DBC: f64 = -80.0;
const TARGET_THD: f64 = 0.10;
const THD_TOL: f64 = 0.002;

fn settings(curve: SaturationCurve, drive_db: f64, mix_percent: f64) -> SaturationSettings {
    SaturationSettings {
        enabled: true,
        curve,
        drive_db,
        mix_percent,
        ..SaturationSettings::default()
    }
}

/// Saturates a mono signal (on both channels), flushing the latency, and
/// returns the aligned output of the left channel.
fn saturate(s: &SaturationSettings, rate: u32, x: &[f32]) -> (Vec<f32>, Saturator) {
    let mut sat = Saturator::new(s);
    sat.prepare(rate, x.len() + 1000).expect("valid settings");
    let lat = sat.latency();
    let mut l = x.to_vec();
    l.resize(x.len() + lat, 0.0);
    let mut r = l.clone();
    sat.process(&mut l, &mut r);
    (l[lat..].to_vec(), sat)
}

struct Distortion {
    thd: f64,
    worst_alias_dbc: f64,
    total_alias_dbc: f64,
}

/// Measures a 5 kHz tone at 44.1 kHz over exactly one second (every
/// harmonic and every alias falls on a whole bin, no window needed).
fn measure_5k(curve: SaturationCurve, drive_db: f64) -> Distortion {
    let rate = 44_100;
    let x = sine(rate, 2.5, 5000.0, -6.0, 0.0);
    let (y, _) = saturate(&settings(curve, drive_db, 100.0), rate, &x);
    let p = power_spectrum(&y[rate as usize..2 * rate as usize]);
    let fundamental = p[5000];
    let harmonic_bins = [10_000, 15_000, 20_000];
    let harmonics: f64 = harmonic_bins.iter().map(|&b| p[b]).sum();
    let mut worst = 0.0f64;
    let mut total = 0.0f64;
    for (bin, &v) in p.iter().enumerate() {
        if bin == 0 || bin == 5000 || harmonic_bins.contains(&bin) {
            continue;
        }
        worst = worst.max(v);
        total += v;
    }
    Distortion {
        thd: (harmonics / fundamental).sqrt(),
        worst_alias_dbc: 10.0 * (worst / fundamental).log10(),
        total_alias_dbc: 10.0 * (total / fundamental).log10(),
    }
}

/// Drive (dB) that makes the curve reach `TARGET_THD` on the 5 kHz tone.
fn drive_for_target_thd(curve: SaturationCurve) -> (f64, Distortion) {
    let (mut lo, mut hi) = (0.0, 36.0);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        let d = measure_5k(curve, mid);
        if (d.thd - TARGET_THD).abs() < THD_TOL {
            return (mid, d);
        }
        if d.thd < TARGET_THD {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let d = measure_5k(curve, hi);
    (hi, d)
}

#[test]
fn tanh_at_ten_percent_thd_keeps_aliases_under_minus_80_dbc() {
    let (drive, d) = drive_for_target_thd(SaturationCurve::Tanh);
    println!(
        "tanh: drive {drive:.2} dB -> THD {:.2} %, worst alias {:.1} dBc, all aliases {:.1} dBc",
        100.0 * d.thd,
        d.worst_alias_dbc,
        d.total_alias_dbc
    );
    assert!((d.thd - TARGET_THD).abs() < THD_TOL, "THD {}", d.thd);
    assert!(d.total_alias_dbc < ALIAS_LIMIT_DBC, "{}", d.total_alias_dbc);
}

#[test]
fn polynomial_at_ten_percent_thd_keeps_aliases_under_minus_80_dbc() {
    let (drive, d) = drive_for_target_thd(SaturationCurve::Polynomial);
    println!(
        "polynomial: drive {drive:.2} dB -> THD {:.2} %, worst alias {:.1} dBc, all aliases {:.1} dBc",
        100.0 * d.thd,
        d.worst_alias_dbc,
        d.total_alias_dbc
    );
    assert!((d.thd - TARGET_THD).abs() < THD_TOL, "THD {}", d.thd);
    assert!(d.total_alias_dbc < ALIAS_LIMIT_DBC, "{}", d.total_alias_dbc);
}

#[test]
fn zero_mix_is_the_dry_signal_delayed_exactly() {
    let rate = 48_000;
    let mut rng = Rng::new(3);
    let x = white_noise(&mut rng, rate, 0.5, -12.0);
    let (y, sat) = saturate(&settings(SaturationCurve::Tanh, 12.0, 0.0), rate, &x);
    assert_eq!(y, x);
    assert!(sat.clipped_fraction() > 0.0, "the wet path still ran");
}

#[test]
fn a_quiet_impulse_comes_out_at_the_reported_latency() {
    // DC gain of the round trip is exactly 1 by design (half-band taps are
    // normalised); f32 sums over a few hundred taps leave less than this.
    const DC_GAIN_TOL: f64 = 1e-4;
    let rate = 44_100;
    let mut x = vec![0.0f32; 1000];
    x[100] = 1e-3;
    let mut sat = Saturator::new(&settings(SaturationCurve::Polynomial, 0.0, 100.0));
    sat.prepare(rate, 1000).unwrap();
    let lat = sat.latency();
    let mut r = x.clone();
    sat.process(&mut x, &mut r);
    let (peak_at, _) =
        x.iter().enumerate().fold(
            (0, 0.0f32),
            |b, (i, &v)| if v.abs() > b.1 { (i, v.abs()) } else { b },
        );
    assert_eq!(peak_at, 100 + lat);
    let dc_gain = x.iter().map(|&v| f64::from(v)).sum::<f64>() / 1e-3;
    assert!((dc_gain - 1.0).abs() < DC_GAIN_TOL, "{dc_gain}");
    assert_eq!(sat.clipped_fraction(), 0.0);
}

#[test]
fn block_size_does_not_change_the_output() {
    let rate = 44_100;
    let mut rng = Rng::new(8);
    let l = white_noise(&mut rng, rate, 0.5, -6.0);
    let r = white_noise(&mut rng, rate, 0.5, -6.0);
    let s = settings(SaturationCurve::Tanh, 9.0, 70.0);
    let mut whole = Saturator::new(&s);
    whole.prepare(rate, l.len()).unwrap();
    let (wl, wr) = run_blocks(&mut whole, &l, &r, &[l.len()]);
    let sizes: Vec<usize> = (0..64).map(|_| rng.range(1, 4096)).collect();
    let mut blocks = Saturator::new(&s);
    blocks.prepare(rate, 4096).unwrap();
    let (bl, br) = run_blocks(&mut blocks, &l, &r, &sizes);
    assert_eq!(wl, bl);
    assert_eq!(wr, br);
    assert_eq!(whole.clipped_fraction(), blocks.clipped_fraction());
}

#[test]
fn more_drive_clips_more() {
    let rate = 44_100;
    let x = sine(rate, 0.5, 440.0, -6.0, 0.0);
    let fractions: Vec<f64> = [0.0, 6.0, 12.0]
        .iter()
        .map(|&d| {
            saturate(&settings(SaturationCurve::Tanh, d, 100.0), rate, &x)
                .1
                .clipped_fraction()
        })
        .collect();
    assert!(
        fractions[0] < fractions[1] && fractions[1] < fractions[2],
        "{fractions:?}"
    );
}

#[test]
fn bad_settings_are_rejected_in_prepare() {
    for bad in [
        settings(SaturationCurve::Tanh, -1.0, 100.0),
        settings(SaturationCurve::Tanh, f64::INFINITY, 100.0),
        settings(SaturationCurve::Tanh, 6.0, 101.0),
        settings(SaturationCurve::Tanh, 6.0, f64::NAN),
    ] {
        assert!(Saturator::new(&bad).prepare(44_100, 64).is_err(), "{bad:?}");
    }
    let ok = settings(SaturationCurve::Tanh, 6.0, 50.0);
    assert!(Saturator::new(&ok).prepare(44_100, 0).is_err());
    assert!(Saturator::new(&ok).prepare(1000, 64).is_err());
}
