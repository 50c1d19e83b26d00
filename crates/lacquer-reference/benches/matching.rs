//! Speed of reference matching and profile blending. Matching runs once per
//! master (and the planner may re-run it per candidate), so it should cost
//! nothing next to the analysis it reads: the budget is well under 1 ms, against
//! ~0.2 s for `analyze` on 3 minutes of audio.

use criterion::{Criterion, criterion_group, criterion_main};
use lacquer_analysis::analyze;
use lacquer_reference::{
    ProfileStore, TrackMeasurement, blend_profiles, build_profile, deltas_vs_profile,
    deltas_vs_reference,
};
use lacquer_testkit::music::demo_mix;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mix = analyze(&demo_mix(44_100, 20.0, -6.0, 1)).expect("valid");
    let reference = analyze(&demo_mix(48_000, 20.0, -1.0, 2)).expect("valid");
    let store = ProfileStore::load(None).expect("built-in profiles");
    let electronic = store.get("electronic").expect("built-in");
    let ambient = store.get("ambient").expect("built-in");
    let tracks: Vec<TrackMeasurement> = (0..8)
        .map(|i| TrackMeasurement {
            track_id: format!("t{i}"),
            clips: vec![mix.clone(), reference.clone()],
        })
        .collect();
    let provenance = electronic.provenance.clone();

    let mut group = c.benchmark_group("matching");
    group.bench_function("deltas_vs_reference_44k1_vs_48k", |b| {
        b.iter(|| deltas_vs_reference(black_box(&mix), black_box(&reference), "ref.wav"))
    });
    group.bench_function("deltas_vs_profile", |b| {
        b.iter(|| deltas_vs_profile(black_box(&mix), black_box(electronic), &[]))
    });
    group.bench_function("blend_two_profiles", |b| {
        b.iter(|| blend_profiles(black_box(&[(electronic, 0.6), (ambient, 0.4)])))
    });
    group.bench_function("build_profile_8_tracks_16_clips", |b| {
        b.iter(|| build_profile("bench", "bench", black_box(&tracks), provenance.clone()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
