//! `lacquer plan`: the dry run prints the plan with reasons and writes
//! nothing.

use assert_cmd::Command;
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::demo_mix;
use predicates::prelude::*;
use serde_json::Value;

fn lacquer() -> Command {
    Command::cargo_bin("lacquer").expect("the lacquer binary is built")
}

#[test]
fn prints_reasons_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mix.wav");
    write_file(
        &demo_mix(44_100, 5.0, -8.0, 2),
        &input,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    let original = std::fs::read(&input).unwrap();
    lacquer()
        .arg("plan")
        .arg(&input)
        .assert()
        .success()
        .stdout(predicate::str::contains("loudness"))
        .stdout(predicate::str::contains("-14.0 LUFS"))
        .stdout(predicate::str::contains("decisions"));
    let out = lacquer()
        .args(["plan", "--json", "--platform", "ebu_r128"])
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[0]["plan"]["target"]["integrated_lufs"], -23.0);
    assert!(v[0]["genre"]["model_version"].is_string());
    assert!(!v[0]["plan"]["decisions"].as_array().unwrap().is_empty());
    assert_eq!(std::fs::read(&input).unwrap(), original);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written"
    );
}

#[test]
fn unknown_platform_and_missing_file_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    lacquer()
        .args(["plan", "--genre", "x", "--platform", "nowhere"])
        .arg(dir.path().join("missing.wav"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("missing.wav").or(predicate::str::contains("nowhere")));
    lacquer()
        .args(["plan", "--preset", "reference"])
        .arg(dir.path().join("x.wav"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--reference"));
}
