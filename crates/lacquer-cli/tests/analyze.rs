//! End-to-end checks of `lacquer analyze`: what a user sees, the exit status
//! a script sees, and that bad files are reported one by one.

use assert_cmd::Command;
use lacquer_core::AudioBuffer;
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::{music::demo_mix, sine, stereo_sine};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn lacquer() -> Command {
    Command::cargo_bin("lacquer").expect("the lacquer binary is built")
}

/// `lacquer analyze --json FILE` must succeed; its one entry.
fn analyze_one(path: &Path) -> serde_json::Value {
    let out = lacquer()
        .args(["analyze", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

fn write_f32_wav(path: &Path, channels: u16, frames: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for frame in frames {
        for &s in frame {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn good_wav(dir: &Path) -> PathBuf {
    let path = dir.join("mix.wav");
    let mix = demo_mix(48_000, 4.0, -3.0, 9);
    write_file(
        &mix,
        &path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    path
}

#[test]
fn analyses_a_mix_and_prints_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = good_wav(dir.path());
    lacquer()
        .arg("analyze")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("integrated"))
        .stdout(predicate::str::contains("true peak"))
        .stdout(predicate::str::contains("correlation"));
}

#[test]
fn json_output_parses_and_reads_a_known_level() {
    // EBU Tech 3341 case 1 layout: 1 kHz at −23 dBFS on both channels reads
    // −23 LUFS; the JSON must carry that number through unchanged.
    const TOL_LU: f64 = 0.1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sine.wav");
    write_file(
        &stereo_sine(48_000, 20.0, 1000.0, -23.0),
        &path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    let entry = analyze_one(&path);
    let lufs = entry["analysis"]["loudness"]["integrated_lufs"]
        .as_f64()
        .unwrap();
    assert!((lufs + 23.0).abs() <= TOL_LU, "read {lufs} LUFS");
    assert_eq!(entry["source"]["channels"], 2);
    assert_eq!(entry["analysis"]["schema_version"], 1);
}

#[test]
fn mono_file_is_not_reported_as_mono_in_stereo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mono.wav");
    let tone = sine(48_000, 3.0, 440.0, -12.0, 0.0);
    let frames: Vec<Vec<f32>> = tone.iter().map(|&s| vec![s]).collect();
    write_f32_wav(&path, 1, &frames);
    let entry = analyze_one(&path);
    assert_eq!(entry["source"]["channels"], 1);
    let codes: Vec<&str> = entry["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"mono_in_stereo"), "{codes:?}");
}

/// Each class of invalid input: its own message naming the file, exit 2.
#[test]
fn invalid_inputs_exit_2_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();

    let garbage = d.join("garbage.flac");
    std::fs::write(
        &garbage,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();

    let short = d.join("short.wav");
    write_f32_wav(&short, 2, &vec![vec![0.1, 0.1]; 24_000]);

    let nan = d.join("nan.wav");
    let mut frames = vec![vec![0.1f32, -0.1]; 96_000];
    frames[50_000][1] = f32::NAN;
    write_f32_wav(&nan, 2, &frames);

    let three = d.join("three.wav");
    write_f32_wav(&three, 3, &vec![vec![0.1, 0.1, 0.1]; 96_000]);

    let long = d.join("long.wav");
    write_f32_wav(&long, 2, &vec![vec![0.1, 0.1]; 48_000 * 3]);

    let missing = d.join("missing.wav");

    let cases: [(&Path, &[&str], &str); 7] = [
        (&empty, &[], "empty"),
        (&garbage, &[], "unsupported"),
        (&short, &[], "shorter than the minimum"),
        (&nan, &[], "not a finite number"),
        (&three, &[], "3 channels"),
        (&long, &["--max-duration", "2"], "longer than the limit"),
        (&missing, &[], "not found"),
    ];
    for (path, extra, expected) in cases {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        lacquer()
            .arg("analyze")
            .args(extra)
            .arg(path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(name.as_str()))
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_wav(dir.path());
    let bad = dir.path().join("bad.mp3");
    std::fs::write(&bad, b"not audio at all").unwrap();
    let out = lacquer()
        .args(["analyze", "--json"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["error"]["kind"], "invalid_input");
    assert!(entries[1]["analysis"].is_object());
}

#[test]
fn input_files_are_not_modified() {
    let dir = tempfile::tempdir().unwrap();
    let path = good_wav(dir.path());
    let before = std::fs::read(&path).unwrap();
    lacquer().arg("analyze").arg(&path).assert().success();
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn files_longer_than_half_an_hour_are_measured() {
    // 31 minutes of a 1 kHz tone of amplitude 0.1, mono 16-bit 8 kHz
    // (30 MB): past the 30-minute limit a whole-file decode kept, small
    // enough for a test. Its loudness is known: mean square 0.005, BS.1770's
    // −0.691 cancels the K-weighting's gain near 1 kHz, and a mono file is
    // measured as dual mono (played on two speakers, +3.01 dB), so
    // 10·log10(2 · 0.005) = −20.0 LUFS.
    const EXPECTED_LUFS: f64 = -20.0;
    /// BS.1770 meters agree within 0.1 LU on steady tones (EBU Tech 3341).
    const TOL_LU: f64 = 0.1;
    const SECONDS: u32 = 31 * 60;
    const RATE: u32 = 8_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let tone = sine(RATE, f64::from(SECONDS), 1_000.0, -20.0, 0.0);
    write_file(
        &AudioBuffer::new(RATE, vec![tone]).unwrap(),
        &path,
        OutputFormat::Wav(WavEncoding::Pcm16),
        Overwrite::Refuse,
    )
    .unwrap();
    let entry = analyze_one(&path);
    let duration = entry["analysis"]["duration_seconds"].as_f64().unwrap();
    assert!((duration - f64::from(SECONDS)).abs() < 1e-6, "{duration}");
    let lufs = entry["analysis"]["loudness"]["integrated_lufs"]
        .as_f64()
        .unwrap();
    assert!((lufs - EXPECTED_LUFS).abs() <= TOL_LU, "{lufs}");
}
