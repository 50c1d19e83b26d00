//! Shared by the genre crate's integration tests: the tiny stand-in model
//! (tests/fixtures/parity-test-model.onnx, made by
//! notebooks/make_parity_fixture.py) installed in a temporary directory with
//! a card written for it, so a test can break one card field at a time.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lacquer_genre::features::{FEATURE_PARAMS, FEATURE_VERSION};
use serde_json::{Value, json};

pub const TEST_MODEL_LABELS: [&str; 5] =
    ["ambient", "classical", "electronic", "jazz", "metal_rock"];

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The card the stand-in model should have: this build's feature settings.
pub fn test_card() -> Result<Value> {
    let params: Value = serde_json::from_str(&serde_json::to_string(&FEATURE_PARAMS)?)?;
    Ok(json!({
        "version": "parity-test",
        "labels": TEST_MODEL_LABELS,
        "feature_version": FEATURE_VERSION,
        "feature_params": params,
        "input_name": "mel",
        "output": "logits",
        "training_data_sha256": null,
        "metrics": {},
        "date": "2026-11-22",
        "opset": 17,
        "parameters": 125
    }))
}

/// Copies the stand-in model into `dir` as `model.onnx` with `card` beside
/// it as `model.card.json`; returns the `.onnx` path.
pub fn install_test_model(dir: &Path, card: &Value) -> Result<PathBuf> {
    let onnx = dir.join("model.onnx");
    std::fs::copy(fixtures_dir().join("parity-test-model.onnx"), &onnx)
        .context("copying the stand-in model")?;
    std::fs::write(
        dir.join("model.card.json"),
        serde_json::to_string_pretty(card)?,
    )?;
    Ok(onnx)
}
