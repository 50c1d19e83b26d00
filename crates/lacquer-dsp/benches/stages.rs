//! Per-stage throughput of the DSP-B stages (EQ, match EQ, dynamic EQ,
//! multiband, glue, stereo) on 60 s of 44.1 kHz stereo demo mix, with
//! settings a real master would use. Run:
//! `cargo bench -p lacquer-dsp --bench stages`.
//! Criterion reports time per 60 s pass; real-time factor = 60 s / time.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lacquer_core::chain::{
    CompressorCurve, DetectorMode, DynamicEqBandSettings, DynamicEqSettings, EqBandKind,
    EqBandSettings, EqSettings, GlueSettings, HighPassSettings, MatchEqSettings, MatchPoint,
    MultibandSettings, StereoSettings,
};
use lacquer_dsp::Processor;
use lacquer_dsp::biquad::F2;
use lacquer_dsp::compressor::GlueCompressor;
use lacquer_dsp::crossover::Crossover;
use lacquer_dsp::dynamic_eq::DynamicEq;
use lacquer_dsp::eq::Eq;
use lacquer_dsp::multiband::MultibandCompressor;
use lacquer_dsp::stereo::StereoShaper;
use lacquer_testkit::music::demo_mix;
use std::hint::black_box;
use std::time::Duration;

const RATE: u32 = 44_100;
const SECONDS: f64 = 60.0;
const BLOCK: usize = 4096;

fn static_eq() -> EqSettings {
    EqSettings {
        enabled: true,
        high_pass: HighPassSettings {
            enabled: true,
            ..HighPassSettings::default()
        },
        bands: vec![
            EqBandSettings {
                kind: EqBandKind::LowShelf,
                frequency_hz: 90.0,
                gain_db: 1.5,
                q: 0.7,
            },
            EqBandSettings {
                kind: EqBandKind::Peak,
                frequency_hz: 350.0,
                gain_db: -2.0,
                q: 1.2,
            },
            EqBandSettings {
                kind: EqBandKind::Peak,
                frequency_hz: 3200.0,
                gain_db: -1.0,
                q: 2.0,
            },
            EqBandSettings {
                kind: EqBandKind::HighShelf,
                frequency_hz: 10_000.0,
                gain_db: 2.0,
                q: 0.7,
            },
        ],
        ..EqSettings::default()
    }
}

fn match_eq() -> EqSettings {
    let curve = (-17..=13)
        .map(|k| {
            let f = 1000.0 * 2f64.powf(f64::from(k) / 3.0);
            MatchPoint {
                frequency_hz: f,
                gain_db: 1.5 * (f / 1000.0).log2().sin(),
            }
        })
        .collect();
    EqSettings {
        enabled: true,
        match_eq: MatchEqSettings {
            enabled: true,
            curve,
            ..MatchEqSettings::default()
        },
        ..EqSettings::default()
    }
}

fn squeeze(threshold_db: f64) -> CompressorCurve {
    CompressorCurve {
        threshold_db,
        ratio: 2.5,
        knee_db: 6.0,
        attack_ms: 10.0,
        release_ms: 150.0,
        makeup_db: 1.0,
    }
}

fn bench_stage(
    c: &mut Criterion,
    name: &str,
    left: &[f32],
    right: &[f32],
    make: &dyn Fn() -> Box<dyn Processor>,
) {
    c.bench_function(name, |b| {
        b.iter_batched_ref(
            || {
                let mut stage = make();
                stage.prepare(RATE, BLOCK).expect("valid bench settings");
                (stage, left.to_vec(), right.to_vec())
            },
            |(stage, l, r)| {
                for (lc, rc) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                    stage.process(lc, rc);
                }
                black_box((l.first().copied(), r.last().copied()));
            },
            BatchSize::PerIteration,
        );
    });
}

fn stages(c: &mut Criterion) {
    let mix = demo_mix(RATE, SECONDS, -1.0, 1);
    let (left, right) = (mix.channel(0).to_vec(), mix.channel(1).to_vec());
    // The multiband's (and per-band saturator's) band split on its own.
    let frames: Vec<F2> = left
        .iter()
        .zip(&right)
        .map(|(&l, &r)| F2::new(f64::from(l), f64::from(r)))
        .collect();
    c.bench_function("crossover_4_bands_60s", |b| {
        let mut crossover =
            Crossover::new(f64::from(RATE), &[120.0, 1000.0, 6000.0]).expect("valid");
        let mut planes = vec![vec![F2::ZERO; BLOCK]; 4];
        b.iter(|| {
            for block in frames.chunks(BLOCK) {
                let n = block.len();
                planes[0][..n].copy_from_slice(block);
                let mut views: Vec<&mut [F2]> = planes.iter_mut().map(|p| &mut p[..n]).collect();
                crossover.split_block(&mut views);
            }
            black_box(planes[3][0])
        });
    });
    bench_stage(c, "eq_static_60s", &left, &right, &|| {
        Box::new(Eq::new(&static_eq()))
    });
    bench_stage(c, "eq_match_fir_60s", &left, &right, &|| {
        Box::new(Eq::new(&match_eq()))
    });
    bench_stage(c, "dynamic_eq_3_bands_60s", &left, &right, &|| {
        Box::new(DynamicEq::new(&DynamicEqSettings {
            enabled: true,
            bands: vec![
                DynamicEqBandSettings::harshness(-30.0, 4.0),
                DynamicEqBandSettings::mud(-30.0, 3.0),
                DynamicEqBandSettings::sub(-30.0, 3.0),
            ],
        }))
    });
    for mid_side in [false, true] {
        let name = if mid_side {
            "multiband_4_bands_ms_60s"
        } else {
            "multiband_4_bands_60s"
        };
        bench_stage(c, name, &left, &right, &|| {
            Box::new(MultibandCompressor::new(&MultibandSettings {
                enabled: true,
                crossovers_hz: vec![120.0, 1000.0, 6000.0],
                bands: vec![
                    squeeze(-24.0),
                    squeeze(-26.0),
                    squeeze(-28.0),
                    squeeze(-30.0),
                ],
                mid_side,
            }))
        });
    }
    bench_stage(c, "glue_rms_60s", &left, &right, &|| {
        Box::new(GlueCompressor::new(&GlueSettings {
            enabled: true,
            curve: squeeze(-20.0),
            detector: DetectorMode::Rms,
            rms_window_ms: 10.0,
            sidechain_highpass_hz: 90.0,
        }))
    });
    bench_stage(c, "stereo_60s", &left, &right, &|| {
        Box::new(StereoShaper::new(&StereoSettings {
            enabled: true,
            width_percent: 130.0,
            width_from_hz: 400.0,
            mono_bass: true,
            correlation_guard: true,
            correlation_floor: 0.2,
            ..StereoSettings::default()
        }))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    targets = stages
}
criterion_main!(benches);
