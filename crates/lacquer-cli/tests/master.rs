//! End-to-end checks of `lacquer master`: what a user gets on disk, the exit
//! status a script sees, and that inputs and existing files are safe.

use assert_cmd::Command;
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::demo_mix;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// SPEC: |output LUFS-I − target| ≤ 0.1 LU.
const LOUDNESS_TOL_LU: f64 = 0.1;

fn lacquer() -> Command {
    Command::cargo_bin("lacquer").expect("the lacquer binary is built")
}

fn mix(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let path = dir.join(name);
    write_file(
        &demo_mix(44_100, 5.0, -6.0, seed),
        &path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    path
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn masters_beside_the_input_with_a_report_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let input = mix(dir.path(), "song.wav", 1);
    let original = std::fs::read(&input).unwrap();
    let report = dir.path().join("song.json");
    lacquer()
        .arg("master")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .assert()
        .success()
        .stdout(predicate::str::contains("song.master.wav"))
        .stdout(predicate::str::contains("gate"));
    assert_eq!(std::fs::read(&input).unwrap(), original, "input untouched");
    assert_eq!(
        listing(dir.path()),
        ["song.json", "song.master.wav", "song.png", "song.wav"]
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["engine_name"], "lacquer");
    assert!(r["engine_version"].is_string());
    assert!(r["model_version"].is_string(), "genre auto ran the model");
    assert!(r["runtime_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(r["device"]["kind"], "cpu");
    assert!(r["gate"]["checks"].as_array().unwrap().len() >= 10);
    assert!(
        r["plan"]["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["reason"].is_string())
    );
    let target = r["plan"]["target"]["integrated_lufs"].as_f64().unwrap();
    let out = r["output_analysis"]["loudness"]["integrated_lufs"]
        .as_f64()
        .unwrap();
    assert!((out - target).abs() <= LOUDNESS_TOL_LU, "{out} vs {target}");
    assert_eq!(r["gate"]["passed"], true);
    let png = std::fs::read(dir.path().join("song.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn refuses_to_replace_an_existing_output_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let input = mix(dir.path(), "a.wav", 2);
    let out = dir.path().join("a.master.wav");
    std::fs::write(&out, b"keep me").unwrap();
    lacquer()
        .args(["master", "--genre"])
        .arg(first_profile())
        .arg(&input)
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    lacquer()
        .args(["master", "--force", "--genre"])
        .arg(first_profile())
        .arg(&input)
        .assert()
        .success();
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"RIFF");
}

#[test]
fn never_writes_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = mix(dir.path(), "b.wav", 3);
    let original = std::fs::read(&input).unwrap();
    lacquer()
        .args(["master", "--force", "--genre"])
        .arg(first_profile())
        .arg(&input)
        .arg("-o")
        .arg(&input)
        .assert()
        .failure()
        .stderr(predicate::str::contains("input"));
    assert_eq!(std::fs::read(&input).unwrap(), original);
}

/// A profile name the store knows (tests that are not about the
/// classifier name one, so they do not depend on it).
fn first_profile() -> String {
    let store = lacquer_reference::ProfileStore::load(None).expect("built-in profiles load");
    store
        .names()
        .first()
        .map(|s| (*s).to_owned())
        .expect("at least one built-in profile")
}

#[test]
fn a_folder_in_parallel_gives_the_same_bytes_as_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let album = dir.path().join("album");
    std::fs::create_dir(&album).unwrap();
    for (i, name) in ["one.wav", "two.wav", "three.wav"].iter().enumerate() {
        mix(&album, name, 10 + i as u64);
    }
    std::fs::write(album.join("notes.txt"), "not audio").unwrap();
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.path().join(format!("out{jobs}"));
        std::fs::create_dir(&out).unwrap();
        lacquer()
            .args(["master", "--jobs", jobs, "--format", "flac", "--genre"])
            .arg(first_profile())
            .arg(&album)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        assert_eq!(
            listing(&out),
            ["one.master.flac", "three.master.flac", "two.master.flac"]
        );
        outputs.push(
            listing(&out)
                .iter()
                .map(|n| std::fs::read(out.join(n)).unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        outputs[0], outputs[1],
        "1 and 2 threads give identical bytes"
    );
}

#[test]
fn bad_inputs_exit_2_name_the_file_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = mix(dir.path(), "good.wav", 4);
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"RIFF....WAVEnot really").unwrap();
    let nan = dir.path().join("nan.wav");
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&nan, spec).unwrap();
        for i in 0..44_100 * 2 {
            w.write_sample(if i == 5000 { f32::NAN } else { 0.1f32 })
                .unwrap();
            w.write_sample(0.1f32).unwrap();
        }
        w.finalize().unwrap();
    }
    let before = listing(dir.path());
    let assert = lacquer()
        .args(["master", "--genre"])
        .arg(first_profile())
        .arg(&garbage)
        .arg(&nan)
        .arg(&good)
        .arg(dir.path().join("missing.wav"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for name in ["garbage.wav", "nan.wav", "missing.wav"] {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }
    let mut expected = before.clone();
    expected.push("good.master.wav".into());
    expected.sort();
    assert_eq!(
        listing(dir.path()),
        expected,
        "only the good file's master, no temp files"
    );
}

/// The reference is measured beside the inputs' own decoding; every input
/// is matched to it (its loudness is each master's target), and the bytes
/// do not depend on the job count.
#[test]
fn a_reference_steers_every_input_at_any_job_count() {
    let dir = tempfile::tempdir().unwrap();
    let reference = mix(dir.path(), "reference.wav", 30);
    // The file holds these samples exactly (32-bit float).
    let ref_lufs = lacquer_analysis::integrated_loudness(&demo_mix(44_100, 5.0, -6.0, 30))
        .unwrap()
        .unwrap()
        .0;
    let album = dir.path().join("album");
    std::fs::create_dir(&album).unwrap();
    for (i, name) in ["one.wav", "two.wav"].iter().enumerate() {
        mix(&album, name, 20 + i as u64);
    }
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.path().join(format!("out{jobs}"));
        std::fs::create_dir(&out).unwrap();
        let assert = lacquer()
            .args(["master", "--json", "--jobs", jobs, "--reference"])
            .arg(&reference)
            .arg(&album)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let reports: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), 2);
        for r in reports {
            let target = r["plan"]["target"]["integrated_lufs"].as_f64().unwrap();
            assert!(
                (target - ref_lufs).abs() < 0.01,
                "target {target} LUFS is not the reference's {ref_lufs}"
            );
        }
        assert_eq!(listing(&out), ["one.master.wav", "two.master.wav"]);
        outputs.push(
            listing(&out)
                .iter()
                .map(|n| std::fs::read(out.join(n)).unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(outputs[0], outputs[1], "1 and 2 jobs give identical bytes");
}

/// A reference that cannot be read fails the run once, as an invalid
/// input, before anything is written.
#[test]
fn a_bad_reference_exits_2_once_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let one = mix(dir.path(), "one.wav", 40);
    let two = mix(dir.path(), "two.wav", 41);
    let garbage = dir.path().join("garbage-ref.wav");
    std::fs::write(&garbage, b"RIFF....WAVEnot really").unwrap();
    let before = listing(dir.path());
    let assert = lacquer()
        .arg("master")
        .arg(&one)
        .arg(&two)
        .arg("--reference")
        .arg(&garbage)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(
        stderr.matches("garbage-ref.wav").count(),
        1,
        "the reference's error once: {stderr}"
    );
    assert_eq!(listing(dir.path()), before, "nothing written");
}

#[test]
fn a_failed_gate_exits_1_but_still_writes_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let input = mix(dir.path(), "hot.wav", 5);
    // -5 LUFS under a -1 dBTP ceiling needs a 4 dB PLR: the loop cannot get
    // there, and the gate must say so.
    let args = ["--target-lufs", "-5", "--true-peak", "-1", "--genre"];
    lacquer()
        .arg("master")
        .args(args)
        .arg(first_profile())
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("quality gate failed"))
        .stderr(predicate::str::contains("integrated_loudness"));
    assert!(
        dir.path().join("hot.master.wav").exists(),
        "written despite the gate"
    );
    lacquer()
        .args(["master", "--force", "--allow-gate-fail"])
        .args(args)
        .arg(first_profile())
        .arg(&input)
        .assert()
        .success();
}

#[test]
fn json_mp3_48k_and_the_report_agree() {
    let dir = tempfile::tempdir().unwrap();
    let input = mix(dir.path(), "c.wav", 6);
    let out = lacquer()
        .args([
            "master",
            "--json",
            "--format",
            "mp3",
            "--sample-rate",
            "48000",
            "--platform",
            "apple_music",
            "--genre",
        ])
        .arg(first_profile())
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let r = &v[0];
    assert_eq!(r["output"]["format"], "mp3-320");
    assert_eq!(r["output"]["sample_rate_hz"], 48_000);
    assert!(!r["encode_attempts"].as_array().unwrap().is_empty());
    let tp = r["output_analysis"]["loudness"]["max_true_peak_dbtp"]
        .as_f64()
        .unwrap();
    assert!(tp <= -1.0, "decoded MP3 true peak {tp}");
    let lufs = r["output_analysis"]["loudness"]["integrated_lufs"]
        .as_f64()
        .unwrap();
    assert!((lufs + 16.0).abs() <= LOUDNESS_TOL_LU, "{lufs}");
    assert!(dir.path().join("c.master.mp3").exists());
}

#[test]
fn help_teaches_with_examples() {
    lacquer()
        .args(["master", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples"))
        .stdout(predicate::str::contains("--reference"))
        .stdout(predicate::str::contains("--allow-gate-fail"));
}
