//! Throughput of the stages DSP-A owns and of the full chain on 60 s of
//! 44.1 kHz stereo. Target (issue): the full chain with its 4x saturator and
//! oversampled limiter at ≥ 300x real time on one core, i.e. ≤ 0.2 s here.
//!
//! `cargo bench -p lacquer-dsp --bench chain`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lacquer_core::ChainSettings;
use lacquer_core::chain::{LimiterSettings, SaturationCurve, SaturationSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_dsp::gain::Gain;
use lacquer_dsp::limiter::Limiter;
use lacquer_dsp::saturation::Saturator;
use lacquer_testkit::music::demo_mix;
use std::hint::black_box;
use std::time::Duration;

const RATE: u32 = 44_100;
const SECONDS: f64 = 60.0;
const BLOCK: usize = 4096;

fn run<P: Processor + ?Sized>(
    stage: &mut P,
    mut channels: (Vec<f32>, Vec<f32>),
) -> (Vec<f32>, Vec<f32>) {
    stage.reset();
    for (l, r) in channels
        .0
        .chunks_mut(BLOCK)
        .zip(channels.1.chunks_mut(BLOCK))
    {
        stage.process(l, r);
    }
    channels
}

fn busy_chain() -> ChainSettings {
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    s.eq.high_pass.enabled = true;
    s.eq.bands = vec![lacquer_core::chain::EqBandSettings {
        gain_db: -2.0,
        frequency_hz: 3000.0,
        ..Default::default()
    }];
    s.dynamic_eq.enabled = true;
    s.dynamic_eq.bands = vec![
        lacquer_core::chain::DynamicEqBandSettings::harshness(-30.0, 4.0),
        lacquer_core::chain::DynamicEqBandSettings::mud(-30.0, 3.0),
    ];
    s.multiband.enabled = true;
    for b in &mut s.multiband.bands {
        b.threshold_db = -20.0;
        b.ratio = 2.0;
    }
    s.glue.enabled = true;
    s.glue.curve.threshold_db = -18.0;
    s.glue.curve.ratio = 2.0;
    s.saturation = saturation();
    s.stereo.enabled = true;
    s.stereo.width_percent = 130.0;
    s.stereo.width_from_hz = 2000.0;
    s.stereo.mono_bass = true;
    s.gain_db = 6.0;
    s.limiter = limiter();
    s
}

fn saturation() -> SaturationSettings {
    SaturationSettings {
        enabled: true,
        curve: SaturationCurve::Tanh,
        drive_db: 6.0,
        mix_percent: 50.0,
        ..SaturationSettings::default()
    }
}

fn limiter() -> LimiterSettings {
    LimiterSettings {
        enabled: true,
        ..LimiterSettings::default()
    }
}

fn bench(c: &mut Criterion) {
    let input = demo_mix(RATE, SECONDS, -1.0, 1);
    let channels = (input.channel(0).to_vec(), input.channel(1).to_vec());
    let mut group = c.benchmark_group("60s_44k1_stereo");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));

    let mut gain = Gain::new(3.0);
    gain.prepare(RATE, BLOCK).unwrap();
    group.bench_function("gain", |b| {
        b.iter_batched(
            || channels.clone(),
            |ch| black_box(run(&mut gain, ch)),
            BatchSize::LargeInput,
        )
    });
    let mut sat = Saturator::new(&saturation());
    sat.prepare(RATE, BLOCK).unwrap();
    group.bench_function("saturation_4x", |b| {
        b.iter_batched(
            || channels.clone(),
            |ch| black_box(run(&mut sat, ch)),
            BatchSize::LargeInput,
        )
    });
    let mut lim = Limiter::new(&limiter());
    lim.prepare(RATE, BLOCK).unwrap();
    group.bench_function("limiter", |b| {
        b.iter_batched(
            || channels.clone(),
            |ch| black_box(run(&mut lim, ch)),
            BatchSize::LargeInput,
        )
    });
    let mut chain = Chain::new(&busy_chain());
    chain.prepare(RATE, BLOCK).unwrap();
    group.bench_function("full_chain", |b| {
        b.iter_batched(
            || channels.clone(),
            |ch| black_box(run(&mut chain, ch)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
