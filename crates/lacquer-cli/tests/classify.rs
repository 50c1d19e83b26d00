//! End-to-end checks of `lacquer classify`: output for people and for
//! scripts, per-file errors, and the model card check as a user meets it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use assert_cmd::Command;
use lacquer_genre::features::{FEATURE_PARAMS, FEATURE_VERSION};
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::demo_mix;
use predicates::prelude::*;
use serde_json::{Value, json};

/// Probabilities are averaged in f64 and printed with full precision.
const TOL_PROBABILITY_SUM: f64 = 1e-6;

fn lacquer() -> Result<Command> {
    Ok(Command::cargo_bin("lacquer")?)
}

/// The genre crate's stand-in test model (5 labels, fixed weights) with a
/// card for this build's features; `edit` may break the card.
fn stand_in_model(dir: &Path, edit: impl FnOnce(&mut Value)) -> Result<PathBuf> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lacquer-genre/tests/fixtures/parity-test-model.onnx");
    let onnx = dir.join("stand-in.onnx");
    std::fs::copy(&fixture, &onnx).with_context(|| format!("copying {}", fixture.display()))?;
    let params: Value = serde_json::from_str(&serde_json::to_string(&FEATURE_PARAMS)?)?;
    let mut card = json!({
        "version": "stand-in",
        "labels": ["ambient", "classical", "electronic", "jazz", "metal_rock"],
        "feature_version": FEATURE_VERSION,
        "feature_params": params,
        "input_name": "mel",
        "output": "logits"
    });
    edit(&mut card);
    std::fs::write(dir.join("stand-in.card.json"), card.to_string())?;
    Ok(onnx)
}

fn mix_wav(dir: &Path, name: &str, seconds: f64) -> Result<PathBuf> {
    let path = dir.join(name);
    write_file(
        &demo_mix(44_100, seconds, -1.0, 4),
        &path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )?;
    Ok(path)
}

#[test]
fn prints_the_genre_confidence_and_distribution() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let wav = mix_wav(dir.path(), "mix.wav", 8.0)?;
    lacquer()?
        .arg("classify")
        .arg("--model")
        .arg(&model)
        .arg(&wav)
        .assert()
        .success()
        .stdout(predicate::str::contains("mix.wav"))
        .stdout(predicate::str::contains("confidence"))
        .stdout(predicate::str::contains("model stand-in"))
        .stdout(predicate::str::contains("metal_rock"))
        .stdout(predicate::str::contains("ambient"));
    Ok(())
}

#[test]
fn json_holds_a_sorted_distribution_that_sums_to_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let wav = mix_wav(dir.path(), "mix.wav", 8.0)?;
    let out = lacquer()?
        .args(["classify", "--json", "--top", "1", "--model"])
        .arg(&model)
        .arg(&wav)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Value = serde_json::from_slice(&out.stdout)?;
    let entry = &entries[0];
    let scores = entry["scores"].as_array().context("scores")?;
    // --top only trims the table: the JSON keeps every label.
    assert_eq!(scores.len(), 5);
    let probabilities: Vec<f64> = scores
        .iter()
        .map(|s| s["probability"].as_f64().context("probability"))
        .collect::<Result<_>>()?;
    let sum: f64 = probabilities.iter().sum();
    assert!((sum - 1.0).abs() <= TOL_PROBABILITY_SUM, "sum {sum}");
    assert!(probabilities.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(entry["genre"], scores[0]["label"]);
    assert_eq!(entry["confidence"], scores[0]["probability"]);
    assert_eq!(entry["model_version"], "stand-in");
    assert_eq!(entry["patches"], 2); // 8 s holds two whole 3-s excerpts
    assert!(
        entry["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("mix.wav"))
    );
    Ok(())
}

#[test]
fn top_limits_the_rows_of_the_table() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let wav = mix_wav(dir.path(), "mix.wav", 4.0)?;
    let out = lacquer()?
        .args(["classify", "--top", "2", "--model"])
        .arg(&model)
        .arg(&wav)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    // Distribution rows carry a percentage and a bar; the header line also
    // shows a percentage (the confidence), so it is told apart by its word.
    let rows = text
        .lines()
        .filter(|l| l.contains(" %  ") && !l.contains("confidence"))
        .count();
    assert_eq!(rows, 2, "{text}");
    Ok(())
}

#[test]
fn a_bad_file_is_named_exits_2_and_does_not_stop_the_others() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let good = mix_wav(dir.path(), "good.wav", 4.0)?;
    let bad = dir.path().join("broken.wav");
    std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEjunk")?;
    let missing = dir.path().join("missing.flac");
    let out = lacquer()?
        .args(["classify", "--json", "--model"])
        .arg(&model)
        .args([&bad, &good, &missing])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    assert!(stderr.contains("broken.wav"), "{stderr}");
    assert!(stderr.contains("missing.flac"), "{stderr}");
    let entries: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(entries[0]["error"]["kind"], "invalid_input");
    assert!(entries[1]["genre"].is_string(), "{entries}");
    assert_eq!(entries[2]["error"]["kind"], "invalid_input");
    Ok(())
}

#[test]
fn a_model_card_for_other_features_is_refused_with_exit_2() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |card| {
        card["feature_params"]["sample_rate_hz"] = json!(16_000);
    })?;
    let wav = mix_wav(dir.path(), "mix.wav", 2.0)?;
    lacquer()?
        .arg("classify")
        .arg("--model")
        .arg(&model)
        .arg(&wav)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("stand-in.card.json"))
        .stderr(predicate::str::contains(format!(
            "feature_params.sample_rate_hz: card 16000 vs code {}",
            FEATURE_PARAMS.sample_rate_hz
        )));
    Ok(())
}

#[test]
fn a_missing_model_file_is_named() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wav = mix_wav(dir.path(), "mix.wav", 2.0)?;
    lacquer()?
        .args(["classify", "--model"])
        .arg(dir.path().join("nope.onnx"))
        .arg(&wav)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.onnx"));
    Ok(())
}

#[test]
fn input_files_are_not_modified() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let wav = mix_wav(dir.path(), "mix.wav", 4.0)?;
    let before = std::fs::read(&wav)?;
    let entries_before = std::fs::read_dir(dir.path())?.count();
    lacquer()?
        .args(["classify", "--model"])
        .arg(&model)
        .arg(&wav)
        .assert()
        .success();
    assert_eq!(std::fs::read(&wav)?, before);
    assert_eq!(std::fs::read_dir(dir.path())?.count(), entries_before);
    Ok(())
}

#[test]
fn help_teaches_with_examples() -> Result<()> {
    lacquer()?
        .args(["classify", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("lacquer classify --json mix.wav"))
        .stdout(predicate::str::contains("card"));
    Ok(())
}

#[test]
fn top_zero_is_a_usage_error() -> Result<()> {
    lacquer()?
        .args(["classify", "--top", "0", "x.wav"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--top"));
    Ok(())
}

#[test]
fn files_longer_than_half_an_hour_are_classified() -> Result<()> {
    // 31 minutes (past the 30-minute limit a whole-file decode kept), mono
    // 16-bit 8 kHz so the file stays small (30 MB).
    let dir = tempfile::tempdir()?;
    let model = stand_in_model(dir.path(), |_| {})?;
    let path = dir.path().join("long.wav");
    let tone = lacquer_testkit::sine(8_000, 31.0 * 60.0, 1_000.0, -20.0, 0.0);
    let long = lacquer_core::AudioBuffer::new(8_000, vec![tone])?;
    write_file(
        &long,
        &path,
        OutputFormat::Wav(WavEncoding::Pcm16),
        Overwrite::Refuse,
    )?;
    let out = lacquer()?
        .args(["classify", "--json", "--model"])
        .arg(&model)
        .arg(&path)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let genre = v[0]["genre"].as_str().context("a genre")?;
    ensure!(!genre.is_empty());
    Ok(())
}
