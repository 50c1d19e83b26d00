//! Speed of the analysis on 3 minutes of 44.1 kHz stereo (target: the whole
//! `Analysis` under 0.15 s on one core), and of the cheap re-measure calls.

use criterion::{Criterion, criterion_group, criterion_main};
use lacquer_analysis::{analyze, loudness, tonal_analysis, true_peak_dbtp};
use lacquer_core::AudioBuffer;
use lacquer_testkit::{Rng, pink_noise};
use std::hint::black_box;

const RATE_HZ: u32 = 44_100;
const SECONDS: f64 = 180.0;

/// Pink noise with a slowly moving level (so the gates and the true-peak
/// pruning see something programme-like), slightly different per channel.
fn track() -> AudioBuffer {
    let mut rng = Rng::new(2024);
    let channel = |rng: &mut Rng| {
        let mut x = pink_noise(rng, RATE_HZ, SECONDS, -16.0);
        for (i, chunk) in x.chunks_mut(RATE_HZ as usize / 2).enumerate() {
            let gain = (0.6 + 0.4 * (i as f64 * 0.37).sin()) as f32;
            chunk.iter_mut().for_each(|s| *s *= gain);
        }
        x
    };
    let left = channel(&mut rng);
    let right = channel(&mut rng);
    AudioBuffer::stereo(RATE_HZ, left, right).expect("equal lengths")
}

fn bench(c: &mut Criterion) {
    let buffer = track();
    let mut group = c.benchmark_group("3min_44k1_stereo");
    group.sample_size(10);
    group.bench_function("analyze", |b| b.iter(|| analyze(black_box(&buffer))));
    group.bench_function("loudness", |b| b.iter(|| loudness(black_box(&buffer))));
    group.bench_function("true_peak", |b| {
        b.iter(|| true_peak_dbtp(black_box(&buffer)))
    });
    group.bench_function("tonal_with_loudness_gate", |b| {
        b.iter(|| tonal_analysis(black_box(&buffer)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
