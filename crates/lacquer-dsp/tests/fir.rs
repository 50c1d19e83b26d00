//! Linear-phase match EQ: the measured response follows the requested
//! curve at its points, limits clamp it, a flat curve is a pure delay equal
//! to the reported latency, the filter is exactly linear-phase, block size
//! does not change the output.
//!
//! This file also holds the allocation check for every DSP-B stage: a
//! counting global allocator (hence `allow(unsafe_code)`) proves `process`
//! never allocates.

#![allow(unsafe_code)]

use lacquer_core::chain::{
    CompressorCurve, DynamicEqBandSettings, DynamicEqSettings, EqBandKind, EqBandSettings,
    EqSettings, GlueSettings, HighPassSettings, MatchEqSettings, MatchPoint, MultibandSettings,
    StereoSettings,
};
use lacquer_dsp::Processor;
use lacquer_dsp::compressor::GlueCompressor;
use lacquer_dsp::dynamic_eq::DynamicEq;
use lacquer_dsp::eq::Eq;
use lacquer_dsp::fir::{MatchEq, PARTITION};
use lacquer_dsp::multiband::MultibandCompressor;
use lacquer_dsp::stereo::StereoShaper;
use lacquer_testkit::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::f64::consts::PI;

/// Measured vs requested gain at the 1/3-octave curve points from 25 Hz
/// up (smoothing off). The Hann-windowed 8191-tap filter smears the curve
/// over ~20 Hz, which a smooth 1/3-octave curve barely notices.
const TOL_MATCH_DB: f64 = 0.1;
/// Flat curve vs pure delay.
const NULL_FLOOR_DBFS: f64 = -120.0;
const RATES: [u32; 2] = [44_100, 48_000];

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

fn dtft_db(ir: &[f64], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, &h) in ir.iter().enumerate() {
        re += h * (w * n as f64).cos();
        im -= h * (w * n as f64).sin();
    }
    20.0 * re.hypot(im).log10()
}

fn third_octave_centres() -> Vec<f64> {
    (-17..=13)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .collect()
}

fn match_settings(curve: Vec<MatchPoint>, smoothing_octaves: f64) -> MatchEqSettings {
    MatchEqSettings {
        enabled: true,
        curve,
        side_curve: None,
        max_boost_db: 6.0,
        max_cut_db: 6.0,
        smoothing_octaves,
    }
}

/// Impulse response of a prepared match EQ, with the latency removed.
fn impulse_response(meq: &mut MatchEq) -> Vec<f64> {
    let latency = meq.latency();
    let len = latency + meq.taps().len() + 2 * PARTITION;
    let mut left = vec![0.0f32; len];
    left[0] = 1.0;
    let mut right = left.clone();
    meq.process(&mut left, &mut right);
    assert_eq!(left, right);
    let start = latency - meq.group_delay();
    left[start..start + meq.taps().len()]
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

#[test]
fn response_follows_the_requested_curve_at_its_points() {
    // A smooth tonal correction: tilt plus a presence dip and a low bump.
    let gain_at = |f: f64| {
        let octave = (f / 1000.0).log2();
        -0.6 * octave + 2.5 * (-(octave + 3.0).powi(2)).exp()
            - 2.0 * (-(octave - 1.8).powi(2) * 2.0).exp()
    };
    let curve: Vec<MatchPoint> = third_octave_centres()
        .into_iter()
        .map(|f| MatchPoint {
            frequency_hz: f,
            gain_db: gain_at(f),
        })
        .collect();
    for rate in RATES {
        let mut meq = MatchEq::new(&match_settings(curve.clone(), 0.0));
        meq.prepare(rate, 4096).expect("valid");
        let ir = impulse_response(&mut meq);
        let mut worst: f64 = 0.0;
        for point in curve.iter().filter(|p| p.frequency_hz >= 24.0) {
            let measured = dtft_db(&ir, rate, point.frequency_hz);
            let error = (measured - point.gain_db).abs();
            worst = worst.max(error);
            assert!(
                error <= TOL_MATCH_DB,
                "{rate} Hz, {:.0} Hz: measured {measured:.3} dB, requested {:.3} dB",
                point.frequency_hz,
                point.gain_db
            );
        }
        println!(
            "{rate} Hz: match EQ worst error at the 1/3-octave points from 25 Hz: {worst:.4} dB"
        );
    }
}

#[test]
fn boost_and_cut_limits_clamp_the_curve() {
    let curve = vec![
        MatchPoint {
            frequency_hz: 200.0,
            gain_db: 12.0,
        },
        MatchPoint {
            frequency_hz: 400.0,
            gain_db: 12.0,
        },
        MatchPoint {
            frequency_hz: 3000.0,
            gain_db: -12.0,
        },
        MatchPoint {
            frequency_hz: 6000.0,
            gain_db: -12.0,
        },
    ];
    let mut settings = match_settings(curve, 0.0);
    settings.max_boost_db = 6.0;
    settings.max_cut_db = 4.0;
    let rate = 48_000;
    let mut meq = MatchEq::new(&settings);
    meq.prepare(rate, 1024).expect("valid");
    let ir = impulse_response(&mut meq);
    let boost = dtft_db(&ir, rate, 250.0);
    let cut = dtft_db(&ir, rate, 5000.0);
    assert!((boost - 6.0).abs() <= TOL_MATCH_DB, "boost {boost:.3} dB");
    assert!((cut + 4.0).abs() <= TOL_MATCH_DB, "cut {cut:.3} dB");
    assert_eq!(meq.design_gain_db(250.0), 6.0);
    assert_eq!(meq.design_gain_db(5000.0), -4.0);
}

#[test]
fn smoothing_irons_out_point_to_point_jitter() {
    // ±3 dB alternating from one 1/3-octave point to the next.
    let curve: Vec<MatchPoint> = third_octave_centres()
        .into_iter()
        .enumerate()
        .map(|(i, f)| MatchPoint {
            frequency_hz: f,
            gain_db: if i % 2 == 0 { 3.0 } else { -3.0 },
        })
        .collect();
    let mut meq = MatchEq::new(&match_settings(curve, 1.0));
    meq.prepare(44_100, 1024).expect("valid");
    let ir = impulse_response(&mut meq);
    for f in [200.0, 1000.0, 5000.0] {
        let designed = meq.design_gain_db(f);
        assert!(
            designed.abs() < 1.0,
            "smoothed design at {f} Hz still {designed:.3} dB"
        );
        let measured = dtft_db(&ir, 44_100, f);
        assert!(
            (measured - designed).abs() <= TOL_MATCH_DB,
            "{f} Hz: {measured:.3} vs {designed:.3} dB"
        );
    }
}

#[test]
fn flat_curve_is_a_pure_delay_of_the_reported_latency() {
    for rate in RATES {
        for curve in [
            vec![],
            vec![MatchPoint {
                frequency_hz: 1000.0,
                gain_db: 0.0,
            }],
        ] {
            let mut meq = MatchEq::new(&match_settings(curve, 1.0 / 3.0));
            meq.prepare(rate, 4096).expect("valid");
            let latency = meq.latency();
            assert_eq!(latency, meq.group_delay() + PARTITION);
            let mut rng = Rng::new(9);
            let len = rate as usize;
            let left: Vec<f32> = (0..len).map(|_| rng.bipolar() as f32 * 0.9).collect();
            let right: Vec<f32> = (0..len).map(|_| rng.bipolar() as f32 * 0.9).collect();
            let (mut l, mut r) = (left.clone(), right.clone());
            meq.process(&mut l, &mut r);
            let mut err = 0.0f64;
            for n in 0..len - latency {
                err += (f64::from(l[n + latency]) - f64::from(left[n])).powi(2);
                err += (f64::from(r[n + latency]) - f64::from(right[n])).powi(2);
            }
            let residual_dbfs = 10.0 * (err / (2 * (len - latency)) as f64).max(1e-300).log10();
            println!("{rate} Hz: flat match EQ vs delay: residual {residual_dbfs:.1} dBFS");
            assert!(
                residual_dbfs < NULL_FLOOR_DBFS,
                "residual {residual_dbfs:.1} dBFS"
            );
        }
    }
}

#[test]
fn the_filter_is_exactly_linear_phase() {
    let curve = vec![
        MatchPoint {
            frequency_hz: 100.0,
            gain_db: 2.0,
        },
        MatchPoint {
            frequency_hz: 3000.0,
            gain_db: -3.0,
        },
    ];
    let mut meq = MatchEq::new(&match_settings(curve, 0.5));
    meq.prepare(44_100, 512).expect("valid");
    let taps = meq.taps();
    assert_eq!(taps.len() % 2, 1);
    for i in 0..taps.len() / 2 {
        assert!(
            (taps[i] - taps[taps.len() - 1 - i]).abs() <= 1e-12 * taps[meq.group_delay()].abs()
        );
    }
}

#[test]
fn eq_stage_reports_the_match_latency_only_when_active() {
    let mut settings = EqSettings {
        enabled: true,
        match_eq: match_settings(vec![], 0.0),
        ..EqSettings::default()
    };
    let mut eq = Eq::new(&settings);
    eq.prepare(48_000, 256).expect("valid");
    assert!(eq.latency() > PARTITION);
    settings.match_eq.enabled = false;
    let mut eq = Eq::new(&settings);
    eq.prepare(48_000, 256).expect("valid");
    assert_eq!(eq.latency(), 0);
}

#[test]
fn invalid_settings_are_rejected() {
    let base = match_settings(vec![], 0.0);
    for bad in [
        MatchEqSettings {
            max_boost_db: -1.0,
            ..base.clone()
        },
        MatchEqSettings {
            max_cut_db: f64::NAN,
            ..base.clone()
        },
        MatchEqSettings {
            smoothing_octaves: 5.0,
            ..base.clone()
        },
        MatchEqSettings {
            curve: vec![MatchPoint {
                frequency_hz: -10.0,
                gain_db: 1.0,
            }],
            ..base.clone()
        },
        MatchEqSettings {
            curve: vec![MatchPoint {
                frequency_hz: 100.0,
                gain_db: f64::INFINITY,
            }],
            ..base.clone()
        },
        MatchEqSettings {
            side_curve: Some(vec![MatchPoint {
                frequency_hz: 0.0,
                gain_db: 1.0,
            }]),
            ..base.clone()
        },
    ] {
        assert!(MatchEq::new(&bad).prepare(48_000, 64).is_err(), "{bad:?}");
    }
}

/// Responses of a prepared mid/side match EQ to a MID impulse (L = R) and a
/// SIDE impulse (L = −R), latency removed: each must come out on its own
/// path only (the other output null), so the pair is returned as (MID, SIDE).
fn mid_side_impulse_responses(meq: &mut MatchEq) -> (Vec<f64>, Vec<f64>) {
    let latency = meq.latency();
    let len = latency + meq.taps().len() + 2 * PARTITION;
    let start = latency - meq.group_delay();
    let taps = meq.taps().len();
    let mut respond = |side_sign: f32| {
        let mut left = vec![0.0f32; len];
        let mut right = vec![0.0f32; len];
        left[0] = 1.0;
        right[0] = side_sign;
        meq.reset();
        meq.process(&mut left, &mut right);
        // MID and SIDE of the output.
        let mid: Vec<f64> = left
            .iter()
            .zip(&right)
            .map(|(&l, &r)| 0.5 * f64::from(l + r))
            .collect();
        let side: Vec<f64> = left
            .iter()
            .zip(&right)
            .map(|(&l, &r)| 0.5 * f64::from(l - r))
            .collect();
        (mid, side)
    };
    let (mid_of_mid, side_of_mid) = respond(1.0);
    let (mid_of_side, side_of_side) = respond(-1.0);
    let leak = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        leak(&side_of_mid) < 1e-6 && leak(&mid_of_side) < 1e-6,
        "MID and SIDE leak into each other: {} / {}",
        leak(&side_of_mid),
        leak(&mid_of_side)
    );
    (
        mid_of_mid[start..start + taps].to_vec(),
        side_of_side[start..start + taps].to_vec(),
    )
}

#[test]
fn mid_side_mode_gives_mid_and_side_their_own_curves() {
    // A mid tilt one way, a side tilt the other, and a broad side cut in
    // the lows (what matching a reference with narrower lows asks for; as
    // smooth as a 1/3-octave match curve, which the 8191-tap filter can
    // follow within the tolerance).
    let mid_at = |f: f64| 0.8 * (f / 1000.0).log2();
    let side_at =
        |f: f64| -0.5 * (f / 1000.0).log2() - 5.0 * (-((f / 60.0).log2() / 1.5).powi(2)).exp();
    let curve_of = |gain: &dyn Fn(f64) -> f64| -> Vec<MatchPoint> {
        third_octave_centres()
            .into_iter()
            .map(|f| MatchPoint {
                frequency_hz: f,
                gain_db: gain(f),
            })
            .collect()
    };
    for rate in RATES {
        let mut settings = match_settings(curve_of(&mid_at), 0.0);
        settings.side_curve = Some(curve_of(&side_at));
        let mut meq = MatchEq::new(&settings);
        meq.prepare(rate, 4096).expect("valid");
        assert!(meq.is_mid_side());
        assert_eq!(meq.side_taps().len(), meq.taps().len());
        let (mid_ir, side_ir) = mid_side_impulse_responses(&mut meq);
        let mut worst: f64 = 0.0;
        for f in third_octave_centres().into_iter().filter(|&f| f >= 25.0) {
            let mid_err = dtft_db(&mid_ir, rate, f) - mid_at(f);
            let side_err = dtft_db(&side_ir, rate, f) - side_at(f);
            assert!(
                mid_err.abs() <= TOL_MATCH_DB && side_err.abs() <= TOL_MATCH_DB,
                "{rate} Hz, {f:.0} Hz: MID off by {mid_err:.3} dB, SIDE off by {side_err:.3} dB"
            );
            worst = worst.max(mid_err.abs()).max(side_err.abs());
        }
        assert!(worst.is_finite());
        // The design curve it reports is the SIDE one (grid interpolation
        // only between the points).
        let reported = meq.design_side_gain_db(1000.0).expect("side curve");
        assert!((reported - side_at(1000.0)).abs() < 0.01, "{reported}");
    }
}

#[test]
fn flat_mid_side_curves_are_a_pure_delay() {
    let mut settings = match_settings(vec![], 0.0);
    settings.side_curve = Some(Vec::new());
    let mut meq = MatchEq::new(&settings);
    meq.prepare(44_100, 4096).expect("valid");
    let latency = meq.latency();
    let mut rng = Rng::new(29);
    let n = 40_000;
    let left: Vec<f32> = (0..n).map(|_| rng.bipolar() as f32 * 0.5).collect();
    let right: Vec<f32> = (0..n).map(|_| rng.bipolar() as f32 * 0.5).collect();
    let (mut out_l, mut out_r) = (left.clone(), right.clone());
    meq.process(&mut out_l, &mut out_r);
    let mut worst = 0.0f64;
    for (input, output) in [(&left, &out_l), (&right, &out_r)] {
        for i in latency..n {
            worst = worst.max(f64::from(output[i] - input[i - latency]).abs());
        }
    }
    let worst_dbfs = 20.0 * worst.max(1e-30).log10();
    assert!(
        worst_dbfs < NULL_FLOOR_DBFS,
        "flat mid/side match EQ differs from a pure delay by {worst_dbfs:.1} dBFS"
    );
}

#[test]
fn block_size_does_not_change_the_output() {
    let curve = vec![
        MatchPoint {
            frequency_hz: 80.0,
            gain_db: 1.5,
        },
        MatchPoint {
            frequency_hz: 2500.0,
            gain_db: -2.0,
        },
        MatchPoint {
            frequency_hz: 10_000.0,
            gain_db: 2.0,
        },
    ];
    let left_right = match_settings(curve.clone(), 1.0 / 3.0);
    let mid_side = MatchEqSettings {
        side_curve: Some(vec![MatchPoint {
            frequency_hz: 100.0,
            gain_db: -6.0,
        }]),
        ..left_right.clone()
    };
    let mut rng = Rng::new(13);
    for settings in [left_right, mid_side] {
        let left: Vec<f32> = (0..60_000).map(|_| rng.bipolar() as f32 * 0.5).collect();
        let right: Vec<f32> = (0..60_000).map(|_| rng.bipolar() as f32 * 0.5).collect();
        let mut whole = MatchEq::new(&settings);
        whole.prepare(44_100, left.len()).expect("valid");
        let (mut wl, mut wr) = (left.clone(), right.clone());
        whole.process(&mut wl, &mut wr);
        let mut meq = MatchEq::new(&settings);
        meq.prepare(44_100, 4096).expect("valid");
        let (mut bl, mut br) = (left, right);
        let mut start = 0;
        while start < bl.len() {
            let len = rng.range(1, 4096).min(bl.len() - start);
            meq.process(&mut bl[start..start + len], &mut br[start..start + len]);
            start += len;
        }
        assert_eq!(bl, wl, "{settings:?}");
        assert_eq!(br, wr, "{settings:?}");
    }
}

#[test]
fn no_dsp_b_stage_allocates_in_process() {
    let rate = 44_100;
    let max_block = 4096;
    let curve = vec![
        MatchPoint {
            frequency_hz: 100.0,
            gain_db: 1.0,
        },
        MatchPoint {
            frequency_hz: 8000.0,
            gain_db: -1.0,
        },
    ];
    let squeeze = CompressorCurve {
        threshold_db: -30.0,
        ratio: 3.0,
        ..CompressorCurve::default()
    };
    let mut stages: Vec<(&str, Box<dyn Processor>)> = vec![
        (
            "eq",
            Box::new(Eq::new(&EqSettings {
                enabled: true,
                high_pass: HighPassSettings {
                    enabled: true,
                    ..HighPassSettings::default()
                },
                bands: vec![EqBandSettings {
                    kind: EqBandKind::Peak,
                    gain_db: 2.0,
                    ..EqBandSettings::default()
                }],
                match_eq: match_settings(curve, 1.0 / 3.0),
            })),
        ),
        (
            "dynamic eq",
            Box::new(DynamicEq::new(&DynamicEqSettings {
                enabled: true,
                bands: vec![
                    DynamicEqBandSettings::harshness(-30.0, 6.0),
                    DynamicEqBandSettings::sub(-30.0, 3.0),
                ],
            })),
        ),
        (
            "multiband",
            Box::new(MultibandCompressor::new(&MultibandSettings {
                enabled: true,
                bands: vec![squeeze.clone(); 4],
                ..MultibandSettings::default()
            })),
        ),
        (
            "multiband m/s",
            Box::new(MultibandCompressor::new(&MultibandSettings {
                enabled: true,
                bands: vec![squeeze.clone(); 4],
                mid_side: true,
                ..MultibandSettings::default()
            })),
        ),
        (
            "glue",
            Box::new(GlueCompressor::new(&GlueSettings {
                enabled: true,
                curve: squeeze,
                sidechain_highpass_hz: 100.0,
                ..GlueSettings::default()
            })),
        ),
        (
            "stereo",
            Box::new(StereoShaper::new(&StereoSettings {
                enabled: true,
                width_percent: 150.0,
                width_from_hz: 300.0,
                mono_bass: true,
                correlation_guard: true,
                correlation_floor: 0.2,
                ..StereoSettings::default()
            })),
        ),
    ];
    let mut rng = Rng::new(17);
    let mut left: Vec<f32> = (0..3 * max_block)
        .map(|_| rng.bipolar() as f32 * 0.7)
        .collect();
    let mut right: Vec<f32> = (0..3 * max_block)
        .map(|_| rng.bipolar() as f32 * 0.5)
        .collect();
    for (name, stage) in &mut stages {
        stage.prepare(rate, max_block).expect("valid settings");
        let count = allocations_during(|| {
            let mut start = 0;
            for len in [1, 511, 512, 1000, 4096, 37, 4096] {
                let end = (start + len).min(left.len());
                stage.process(&mut left[start..end], &mut right[start..end]);
                start = end;
            }
        });
        assert_eq!(count, 0, "{name} allocated {count} times in process");
    }
    // The counter works: allocating inside the window is seen.
    assert!(allocations_during(|| drop(std::hint::black_box(vec![0u8; 64]))) > 0);
}
