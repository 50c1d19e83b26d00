//! Throughput of the stages DSP-A owns and of the full chain on 60 s of
//! 44.1 kHz stereo. Target (issue): the full chain with its 4x saturator and
//! oversampled limiter at ≥ 300x real time on one core, i.e. ≤ 0.2 s here.
//!
//! `cargo bench -p lacquer-dsp --bench chain`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_dsp::gain::Gain;
use lacquer_dsp::limiter::Limiter;
use lacquer_dsp::saturation::Saturator;
use lacquer_testkit::chains::busy_chain;
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
    let mut sat = Saturator::new(&busy_chain().saturation);
    sat.prepare(RATE, BLOCK).unwrap();
    group.bench_function("saturation_4x", |b| {
        b.iter_batched(
            || channels.clone(),
            |ch| black_box(run(&mut sat, ch)),
            BatchSize::LargeInput,
        )
    });
    let mut lim = Limiter::new(&busy_chain().limiter);
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
