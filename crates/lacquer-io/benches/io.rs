//! Throughput of each I/O stage on a 30 s stereo 44.1 kHz track.
//!
//! The engine's budget is "a 3-minute track end to end in well under a
//! second"; I/O must take a small share of it. Scale these by 6 for 3 min.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lacquer_core::AudioBuffer;
use lacquer_io::{
    DecodeOptions, FlacDepth, Mp3Mode, OutputFormat, Overwrite, WavEncoding, decode_file,
    encode_to_vec, resample, write_file,
};
use lacquer_testkit::{Rng, pink_noise};

const SECONDS: f64 = 30.0;
const RATE: u32 = 44_100;

fn track() -> AudioBuffer {
    let mut rng = Rng::new(42);
    let l = pink_noise(&mut rng, RATE, SECONDS, -16.0);
    let r = pink_noise(&mut rng, RATE, SECONDS, -16.0);
    AudioBuffer::stereo(RATE, l, r).expect("equal lengths")
}

fn benches(c: &mut Criterion) {
    let audio = track();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("io_30s_stereo_44k1");
    group.sample_size(10);

    for (name, format) in [
        ("decode_wav24", OutputFormat::Wav(WavEncoding::Pcm24)),
        ("decode_flac24", OutputFormat::Flac(FlacDepth::Bits24)),
        ("decode_mp3_320", OutputFormat::Mp3(Mp3Mode::Cbr320)),
    ] {
        let path = dir.path().join(format!("{name}.{}", format.extension()));
        write_file(&audio, &path, format, Overwrite::Allow).expect("fixture");
        group.bench_function(name, |b| {
            b.iter(|| decode_file(black_box(&path), &DecodeOptions::default()).expect("decode"))
        });
    }

    group.bench_function("resample_44k1_to_48k", |b| {
        b.iter(|| resample(black_box(&audio), 48_000).expect("resample"))
    });

    for format in [
        OutputFormat::Wav(WavEncoding::Pcm24),
        OutputFormat::Wav(WavEncoding::Float32),
        OutputFormat::Flac(FlacDepth::Bits24),
        OutputFormat::Mp3(Mp3Mode::Cbr320),
        OutputFormat::Mp3(Mp3Mode::V0),
    ] {
        group.bench_function(format!("encode_{format}"), |b| {
            b.iter(|| encode_to_vec(black_box(&audio), format).expect("encode"))
        });
    }
    // The word-length reduction alone (TPDF dither to 24 bits), one channel.
    group.bench_function("quantize_24bit_dithered", |b| {
        let samples = audio.channel(0);
        let mut out = vec![0i32; samples.len()];
        b.iter(|| {
            let mut q = lacquer_io::dither::ChannelQuantizer::new(0, 24, true);
            q.quantize_block(black_box(samples), &mut out);
            black_box(out[out.len() - 1])
        })
    });
    group.finish();
}

criterion_group!(io, benches);
criterion_main!(io);
