//! The tiny corpus CI evaluates: generated audio only (no music we would
//! have to license), laid out like a user's local corpus with a local
//! manifest, so `lacquer eval` runs end to end on every commit.
//!
//! The files under tests/fixtures/corpus/ are made by this generator; the
//! test below proves the committed files are still what it makes. To rebuild
//! them after changing the generator:
//!
//! ```sh
//! LACQUER_REGENERATE_FIXTURES=1 cargo test --release -p lacquer-eval --test fixture_corpus
//! ```
//!
//! Three classes the genre models know (ambient pads, electronic beats,
//! chip-style square arpeggios), two clips each in the test split, one of
//! them a sum of two stems (the ` + ` path notation), plus one train clip so
//! split selection is exercised. The model's answers on these are
//! meaningless; the tests check the command, not the model.

use lacquer_core::AudioBuffer;
use lacquer_io::{DecodeOptions, FlacDepth, OutputFormat, Overwrite, decode_file, write_file};
use lacquer_testkit::{Rng, db_to_amp, music::demo_mix, pink_noise};
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

/// The genre front end resamples to 22.05 kHz anyway; this keeps files small.
const RATE_HZ: u32 = 22_050;
const FILE_SECONDS: f64 = 3.75;
/// 16-bit FLAC with TPDF dither: a decoded sample is within a few LSB of the
/// generated one.
const TOL_SAMPLE: f32 = 4.0 / 32_768.0;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn normalise(channels: [Vec<f64>; 2], peak_dbfs: f64) -> AudioBuffer {
    let peak = channels
        .iter()
        .flatten()
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    let gain = db_to_amp(peak_dbfs) / peak;
    let [l, r] = channels.map(|c| c.iter().map(|v| (v * gain) as f32).collect::<Vec<f32>>());
    AudioBuffer::stereo(RATE_HZ, l, r).expect("equal lengths")
}

/// Slowly swelling sine chord with a breath of pink noise (mono in both
/// channels: FLAC then stores one, which keeps the fixture small).
fn pad(chord_hz: &[f64], swell_hz: f64, seed: u64) -> AudioBuffer {
    let n = (FILE_SECONDS * f64::from(RATE_HZ)).round() as usize;
    let fs = f64::from(RATE_HZ);
    let noise = pink_noise(&mut Rng::new(seed), RATE_HZ, FILE_SECONDS, -42.0);
    let mono: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / fs;
            let swell = 0.6 + 0.4 * (2.0 * PI * swell_hz * t).sin();
            let tone: f64 = chord_hz.iter().map(|f| (2.0 * PI * f * t).sin()).sum();
            swell * tone / chord_hz.len() as f64 + f64::from(noise[i])
        })
        .collect();
    normalise([mono.clone(), mono], -8.0)
}

/// The test kit's demo mix folded to mono (both channels the same).
fn beat(seed: u64) -> AudioBuffer {
    let mix = demo_mix(RATE_HZ, FILE_SECONDS, -3.0, seed);
    let mono: Vec<f64> = mix
        .channel(0)
        .iter()
        .zip(mix.channel(1))
        .map(|(l, r)| f64::from(l + r) / 2.0)
        .collect();
    normalise([mono.clone(), mono], -3.0)
}

/// A naive (aliasing, as on old sound chips) square wave stepping through
/// `notes_hz`, `notes_per_second` notes a second, each with a short decay.
fn square_arpeggio(notes_hz: &[f64], notes_per_second: f64, peak_dbfs: f64) -> AudioBuffer {
    let n = (FILE_SECONDS * f64::from(RATE_HZ)).round() as usize;
    let fs = f64::from(RATE_HZ);
    let note_len = fs / notes_per_second;
    let mono: Vec<f64> = (0..n)
        .map(|i| {
            let note = (i as f64 / note_len) as usize % notes_hz.len();
            let in_note = (i as f64 % note_len) / fs;
            let phase = (notes_hz[note] * i as f64 / fs).fract();
            let square = if phase < 0.5 { 1.0 } else { -1.0 };
            square * (-in_note * 6.0).exp()
        })
        .collect();
    normalise([mono.clone(), mono], peak_dbfs)
}

/// Every fixture file: (path under tests/fixtures/corpus, audio).
fn corpus() -> Vec<(&'static str, AudioBuffer)> {
    vec![
        (
            "ambient/pad-1.flac",
            pad(&[110.0, 164.81, 220.0, 277.18], 0.25, 21),
        ),
        (
            "ambient/pad-2.flac",
            pad(&[98.0, 146.83, 196.0, 246.94], 0.15, 22),
        ),
        ("electronic/beat-1.flac", beat(11)),
        ("electronic/beat-2.flac", beat(12)),
        (
            "chiptune_tracker/arp-1.flac",
            square_arpeggio(&[440.0, 554.37, 659.26, 880.0], 10.0, -6.0),
        ),
        (
            "chiptune_tracker/arp-2-lead.flac",
            square_arpeggio(&[523.25, 659.26, 783.99], 12.0, -12.0),
        ),
        (
            "chiptune_tracker/arp-2-bass.flac",
            square_arpeggio(&[130.81, 98.0], 2.0, -12.0),
        ),
    ]
}

const MANIFEST: &str = "\
clip_id,package,version,path,start_s,duration_s,sha256,genre,licence,source_track_id,split,evidence,kind
fixture--pad-1--c0,,,ambient/pad-1.flac,0.25,3.25,,ambient,MIT OR Apache-2.0,fixture/pad-1,test,generated sine pad (crates/lacquer-eval/tests/fixture_corpus.rs),synthetic
fixture--pad-2--c0,,,ambient/pad-2.flac,0.4,3.25,,ambient,MIT OR Apache-2.0,fixture/pad-2,test,generated sine pad (crates/lacquer-eval/tests/fixture_corpus.rs),synthetic
fixture--beat-1--c0,,,electronic/beat-1.flac,0.25,3.25,,electronic,MIT OR Apache-2.0,fixture/beat-1,test,generated beat (lacquer_testkit::music::demo_mix),synthetic
fixture--beat-2--c0,,,electronic/beat-2.flac,0.4,3.25,,electronic,MIT OR Apache-2.0,fixture/beat-2,test,generated beat (lacquer_testkit::music::demo_mix),synthetic
fixture--arp-1--c0,,,chiptune_tracker/arp-1.flac,0.25,3.25,,chiptune_tracker,MIT OR Apache-2.0,fixture/arp-1,test,\"generated square arpeggio, one file\",synthetic
fixture--arp-2--c0,,,chiptune_tracker/arp-2-lead.flac + chiptune_tracker/arp-2-bass.flac,0.4,3.25,,chiptune_tracker,MIT OR Apache-2.0,fixture/arp-2,test,\"generated square arpeggio, sum of two stems\",synthetic
fixture--beat-1--c1,,,electronic/beat-1.flac,0.0,3.0,,electronic,MIT OR Apache-2.0,fixture/beat-1,train,generated beat (lacquer_testkit::music::demo_mix),synthetic
";

fn regenerate(dir: &Path) {
    for (name, audio) in corpus() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        write_file(
            &audio,
            &path,
            OutputFormat::Flac(FlacDepth::Bits16),
            Overwrite::Allow,
        )
        .unwrap();
    }
    std::fs::write(dir.join("manifest.csv"), MANIFEST).unwrap();
}

#[test]
fn committed_fixture_is_what_the_generator_makes() {
    let dir = fixture_dir();
    if std::env::var_os("LACQUER_REGENERATE_FIXTURES").is_some() {
        regenerate(&dir);
    }
    let committed = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    assert_eq!(
        committed, MANIFEST,
        "manifest.csv differs from the generator's"
    );
    for (name, expected) in corpus() {
        let decoded = decode_file(&dir.join(name), &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .buffer;
        assert_eq!(decoded.sample_rate(), RATE_HZ, "{name}");
        assert_eq!(decoded.len(), expected.len(), "{name}");
        for ch in 0..2 {
            let worst = decoded
                .channel(ch)
                .iter()
                .zip(expected.channel(ch))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0_f32, f32::max);
            assert!(worst <= TOL_SAMPLE, "{name} channel {ch}: off by {worst}");
        }
    }
}

#[test]
fn fixture_stays_small() {
    // CI clones it on every run; a few hundred kB is the budget.
    const MAX_TOTAL_BYTES: u64 = 1_000_000;
    let total: u64 = corpus()
        .iter()
        .map(|(name, _)| std::fs::metadata(fixture_dir().join(name)).unwrap().len())
        .sum();
    assert!(total <= MAX_TOTAL_BYTES, "{total} bytes");
}
