//! Cost of planning one track: `plan` and `choose_profile_blend` on a full
//! 31-band analysis. The planner runs once per master, so the target is only
//! that it stays negligible next to analysis and DSP (well under 1 ms).
//!
//! `cargo bench -p lacquer-plan --bench plan`; measured on the shared
//! 2-core build machine (2026-11): streaming plan 34 µs, loud plan 49 µs,
//! blend choice 0.4 µs.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Scenario, bright_mix, dynamic_mix, scores};
use criterion::{Criterion, criterion_group, criterion_main};
use lacquer_core::{GenreChoice, Intent};
use lacquer_plan::choose_profile_blend;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let streaming = Scenario::vs_rock(&bright_mix());
    c.bench_function("plan/streaming_bright_mix", |b| {
        b.iter(|| black_box(streaming.plan()))
    });
    let mut loud = Scenario::vs_rock(&dynamic_mix());
    loud.options.intent = Intent::Loud;
    c.bench_function("plan/loud_dynamic_mix", |b| {
        b.iter(|| black_box(loud.plan()))
    });
    let genre = scores(&[
        ("rock", 0.40),
        ("spoken", 0.30),
        ("pop", 0.22),
        ("jazz", 0.08),
    ]);
    c.bench_function("choose_profile_blend/unsure", |b| {
        b.iter(|| {
            black_box(choose_profile_blend(
                Some(&genre),
                &GenreChoice::Auto,
                &["rock", "pop", "jazz"],
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
