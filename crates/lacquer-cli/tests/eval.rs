//! End-to-end checks of `lacquer eval` on the committed fixture corpus
//! (generated audio, crates/lacquer-eval/tests/fixtures/corpus) with the
//! real genre model: the figures are meaningless, so the tests check that the
//! command's outputs agree with each other and that bad input is refused
//! with a clear message and the right exit status.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Figures recomputed here must match the reported ones to rounding.
const TOL: f64 = 1e-9;

fn lacquer() -> Command {
    Command::cargo_bin("lacquer").expect("the lacquer binary is built")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture_manifest() -> PathBuf {
    repo_root().join("crates/lacquer-eval/tests/fixtures/corpus/manifest.csv")
}

fn model_v1() -> PathBuf {
    repo_root().join("models/genre-v1.onnx")
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn evaluates_the_fixture_corpus_and_writes_a_consistent_report() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let out = lacquer()
        .args(["eval", "--json", "--manifest"])
        .arg(fixture_manifest())
        .arg("--model")
        .arg(model_v1())
        .arg("--out-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["clips"], 6);
    assert_eq!(json["split"], "test");
    let model = &json["models"][0];
    let name = model["name"].as_str().unwrap().to_string();
    let metrics = &model["metrics"];

    // Confusion counts sum to the clip count.
    let counts = metrics["confusion"]["counts"].as_array().unwrap();
    let total: u64 = counts
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 6);

    // Every file is there, and predictions.csv reproduces the accuracy.
    for file in [
        "summary.csv",
        "per_genre.csv",
        "calibration.csv",
        "predictions.csv",
        "summary.md",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
    assert!(out_dir.join(format!("confusion_{name}.csv")).is_file());
    let png = std::fs::read(out_dir.join(format!("confusion_{name}.png"))).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let rows = csv_rows(&out_dir.join("predictions.csv"));
    let header = &rows[0];
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (truth, predicted) = (col("truth"), col("predicted"));
    assert_eq!(rows.len(), 1 + 6);
    let correct = rows[1..]
        .iter()
        .filter(|r| r[truth] == r[predicted])
        .count();
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    assert!((accuracy - correct as f64 / 6.0).abs() < TOL);

    let summary = csv_rows(&out_dir.join("summary.csv"));
    let model_col = summary[0].iter().position(|h| *h == name).unwrap();
    let accuracy_row = summary.iter().find(|r| r[0] == "accuracy").unwrap();
    let from_csv: f64 = accuracy_row[model_col].parse().unwrap();
    assert!((from_csv - accuracy).abs() < TOL);

    // A second run into the same folder refuses and leaves it alone.
    let before = std::fs::read(out_dir.join("summary.md")).unwrap();
    lacquer()
        .args(["eval", "--manifest"])
        .arg(fixture_manifest())
        .arg("--model")
        .arg(model_v1())
        .arg("--out-dir")
        .arg(&out_dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(out_dir.join("summary.md")).unwrap(), before);
}

#[test]
fn two_models_are_shown_side_by_side_with_differences() {
    let out = lacquer()
        .args(["eval", "--manifest"])
        .arg(fixture_manifest())
        .arg("--model")
        .arg(model_v1())
        .arg("--model")
        .arg(model_v1())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Same version twice: told apart by file stem and a counter.
    assert!(stdout.contains("genre-v1#2 − genre-v1"), "{stdout}");
    assert!(stdout.contains("F1 per genre, side by side"), "{stdout}");
    assert!(
        stdout.contains("confusion matrix (rows = truth"),
        "{stdout}"
    );
}

#[test]
fn missing_clips_are_listed_with_the_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        "clip_id,package,version,path,start_s,duration_s,sha256,genre,licence,source_track_id,split,evidence,kind\n\
         pkg--track--c0,somepkg,1.0,usr/share/x.ogg,1.0,10.0,00,ambient,GPL,somepkg/x,test,tags,real\n",
    )
    .unwrap();
    lacquer()
        .args(["eval", "--manifest"])
        .arg(&manifest)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg("--model")
        .arg(model_v1())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pkg--track--c0"))
        .stderr(predicate::str::contains(
            "training-data-manifest/fetch --manifest",
        ));
}

#[test]
fn bad_manifests_and_models_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    lacquer()
        .args(["eval", "--manifest"])
        .arg(dir.path().join("absent.csv"))
        .arg("--model")
        .arg(model_v1())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("absent.csv"));
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "clip_id,genre\na,b\n").unwrap();
    lacquer()
        .args(["eval", "--manifest"])
        .arg(&broken)
        .arg("--model")
        .arg(model_v1())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lacks the column(s)"));
    lacquer()
        .args(["eval", "--split", "val", "--manifest"])
        .arg(fixture_manifest())
        .arg("--model")
        .arg(model_v1())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no clips in the val split"));
    lacquer()
        .args(["eval", "--manifest"])
        .arg(fixture_manifest())
        .arg("--model")
        .arg(dir.path().join("nope.onnx"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.onnx"));
}

#[test]
fn help_teaches_with_examples() {
    lacquer()
        .args(["eval", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--out-dir"))
        .stdout(predicate::str::contains("rows = truth"));
}
