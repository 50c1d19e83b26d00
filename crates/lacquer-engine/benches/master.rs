//! End-to-end cost of mastering a 3-minute 44.1 kHz stereo track (the
//! SPEC's benchmark length) with a typical chain: process, loudness loop,
//! encode to 24-bit WAV, analyse the delivered master and gate it.
//! `cargo bench -p lacquer-engine --bench master`. The whole command
//! (decode, classify and report included) is timed by
//! `benches/master-e2e.sh` with wall time and peak memory.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lacquer_core::chain::{CompressorCurve, EqBandKind, EqBandSettings};
use lacquer_core::{ChainSettings, Db, LoudnessTarget, Lufs, Plan};
use lacquer_engine::report::Device;
use lacquer_engine::{ExportOptions, Steering, master_decoded};
use lacquer_io::{DecodeOptions, OutputFormat, Overwrite, WavEncoding, decode_file, write_file};
use lacquer_testkit::music::demo_mix;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A chain like the planner's for a typical mix: EQ moves, glue, limiter.
fn typical_plan() -> Plan {
    let mut settings = ChainSettings::default();
    settings.eq.enabled = true;
    settings.eq.high_pass.enabled = true;
    settings.eq.bands = vec![
        EqBandSettings {
            kind: EqBandKind::LowShelf,
            frequency_hz: 120.0,
            gain_db: -1.5,
            ..EqBandSettings::default()
        },
        EqBandSettings {
            kind: EqBandKind::HighShelf,
            frequency_hz: 8000.0,
            gain_db: 1.5,
            ..EqBandSettings::default()
        },
    ];
    settings.glue.enabled = true;
    settings.glue.curve = CompressorCurve {
        threshold_db: -18.0,
        ratio: 2.0,
        ..settings.glue.curve.clone()
    };
    settings.limiter.enabled = true;
    Plan {
        settings,
        target: LoudnessTarget {
            integrated_lufs: Lufs(-14.0),
            ceiling_dbtp: Db(-1.0),
        },
        profile_blend: Vec::new(),
        decisions: Vec::new(),
    }
}

fn bench_master(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("three-minutes.wav");
    let mix = demo_mix(44_100, 180.0, -6.0, 7);
    write_file(
        &mix,
        &path,
        OutputFormat::Wav(WavEncoding::Pcm24),
        Overwrite::Allow,
    )
    .expect("write the bench input");
    let decoded = decode_file(&path, &DecodeOptions::default()).expect("decode");
    let analysis = lacquer_analysis::analyze(&decoded.buffer).expect("analyse");
    let plan = typical_plan();
    let export = ExportOptions::default();

    let mut group = c.benchmark_group("master");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function(
        "decode+analyse+render+gate, 3 min 44.1 kHz → wav24",
        |b| {
            b.iter(|| {
                let started = Instant::now();
                let decoded = decode_file(&path, &DecodeOptions::default()).expect("decode");
                let analysis = lacquer_analysis::analyze(&decoded.buffer).expect("analyse");
                let device = Device {
                    kind: "cpu".into(),
                    jobs: 1,
                    threads: 1,
                };
                black_box(
                    master_decoded(
                        decoded,
                        &analysis,
                        Steering::from_plan(plan.clone()),
                        &export,
                        device,
                        started,
                    )
                    .expect("master"),
                )
            })
        },
    );
    group.bench_function("render+gate only, 3 min 44.1 kHz → wav24", |b| {
        // The engine consumes the decoded input; the copy is setup, not timed.
        b.iter_batched(
            || decoded.clone(),
            |input| {
                let device = Device {
                    kind: "cpu".into(),
                    jobs: 1,
                    threads: 1,
                };
                black_box(
                    master_decoded(
                        input,
                        &analysis,
                        Steering::from_plan(plan.clone()),
                        &export,
                        device,
                        Instant::now(),
                    )
                    .expect("master"),
                )
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_master);
criterion_main!(benches);
