//! Classification speed on a 3-minute 44.1 kHz stereo track: decoding is
//! excluded (the buffer is generated), features + inference are included.
//! Target: the `classify` benchmark's median under 50 ms on one core (tract).
//! `features` and `inference` split that time between the two stages.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use lacquer_genre::GenreModel;
use lacquer_genre::features::log_mel_patches;
use lacquer_testkit::music::demo_mix;

const RATE_HZ: u32 = 44_100;
const TRACK_SECONDS: f64 = 180.0;

fn model() -> GenreModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/genre-v1.onnx");
    match GenreModel::load(&path) {
        Ok(m) => m,
        Err(e) => panic!("cannot load {}: {e}", path.display()),
    }
}

fn classify(c: &mut Criterion) {
    let track = demo_mix(RATE_HZ, TRACK_SECONDS, -1.0, 7);
    let model = model();
    let mut group = c.benchmark_group("genre_3min_44k1_stereo");
    group.sample_size(30);
    group.bench_function("classify", |b| b.iter(|| model.classify(black_box(&track))));
    group.bench_function("features", |b| {
        b.iter(|| log_mel_patches(black_box(&track), model.max_patches()))
    });
    let patches = match log_mel_patches(&track, model.max_patches()) {
        Ok(p) => p,
        Err(e) => panic!("features: {e}"),
    };
    group.bench_function("inference", |b| {
        b.iter(|| model.logits(black_box(&patches)))
    });
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
