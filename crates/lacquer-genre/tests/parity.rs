//! Rust inference equals Python onnxruntime's on the same inputs.
//!
//! The fixtures hold the logits Python onnxruntime produced for fixed patches
//! (notebooks/make_parity_fixture.py). The patches are regenerated here from
//! the same integer generator and checked against the fixture's SHA-256
//! first, so a mismatch is the runtime's, never the inputs'.

mod support;

use std::path::Path;

use anyhow::{Context, Result, ensure};
use lacquer_genre::GenreModel;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Two runtimes evaluating the same float graph: only the summation order
/// and kernels differ (measured under tract: 7.6e-6 on the stand-in model,
/// 2.4e-6 on genre-v1).
const PARITY_TOL_LOGIT: f32 = 1e-4;

#[derive(Debug, Deserialize)]
struct Generator {
    name: String,
    seed: u64,
}

#[derive(Debug, Deserialize)]
struct Fixture {
    model_sha256: String,
    input_shape: [usize; 4],
    generator: Generator,
    input_sha256: String,
    logits: Vec<Vec<f32>>,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of make_parity_fixture.py's `fixed_inputs`; every value is
/// an integer over a power of two, so both languages produce the same bits.
fn fixed_inputs(generator: &Generator, n_mels: usize, frames: usize) -> Result<Vec<f32>> {
    ensure!(
        generator.name == "splitmix64-v1",
        "unknown input generator {:?}",
        generator.name
    );
    let size = n_mels * frames;
    let mut x = Vec::with_capacity(3 * size);
    let mut state = generator.seed;
    let centred = |z: u64| ((z >> 40) as i64 - (1 << 23)) as f32;
    for _ in 0..size {
        x.push(centred(splitmix64(&mut state)) / (1 << 22) as f32);
    }
    for m in 0..n_mels {
        for f in 0..frames {
            x.push((((5 * m + 3 * f) % 32) as f32 - 16.0) / 8.0);
        }
    }
    for _ in 0..size {
        x.push(centred(splitmix64(&mut state)) / (1 << 24) as f32);
    }
    Ok(x)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Loads `onnx_path` (with the card beside it) and checks its logits against
/// `tests/fixtures/<fixture_name>`.
fn check_parity(onnx_path: &Path, fixture_name: &str) -> Result<()> {
    let model = GenreModel::load(onnx_path)?;
    let fixture_path = support::fixtures_dir().join(fixture_name);
    let fixture: Fixture = serde_json::from_str(
        &std::fs::read_to_string(&fixture_path)
            .with_context(|| format!("reading {}", fixture_path.display()))?,
    )?;
    let model_sha = sha256_hex(&std::fs::read(onnx_path)?);
    ensure!(
        model_sha == fixture.model_sha256,
        "{} changed since {} was made: rerun notebooks/make_parity_fixture.py",
        onnx_path.display(),
        fixture_path.display()
    );
    let [count, channels, n_mels, frames] = fixture.input_shape;
    ensure!(
        count == 3 && channels == 1,
        "fixture shape {:?}",
        fixture.input_shape
    );
    let inputs = fixed_inputs(&fixture.generator, n_mels, frames)?;
    let bytes: Vec<u8> = inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
    ensure!(
        sha256_hex(&bytes) == fixture.input_sha256,
        "the regenerated inputs differ from the ones Python used"
    );

    let logits = model.logits_for_tensor(&inputs, count)?;
    ensure!(
        logits.dim() == (count, fixture.logits[0].len()),
        "shape {:?}",
        logits.dim()
    );
    let mut worst = 0.0_f32;
    for (patch, (row, expected)) in logits.rows().into_iter().zip(&fixture.logits).enumerate() {
        for (label, (&rust, &python)) in row.iter().zip(expected).enumerate() {
            let diff = (rust - python).abs();
            worst = worst.max(diff);
            ensure!(
                diff <= PARITY_TOL_LOGIT,
                "patch {patch} label {label}: Rust {rust} vs Python onnxruntime {python} \
                 (|diff| {diff:e} > {PARITY_TOL_LOGIT:e})"
            );
        }
    }
    eprintln!(
        "{}: worst |Rust − Python| logit difference {worst:e} ({} backend)",
        fixture_path.display(),
        model.backend()?.name()
    );
    Ok(())
}

#[test]
fn stand_in_model_matches_python_onnxruntime() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let onnx = support::install_test_model(dir.path(), &support::test_card()?)?;
    check_parity(&onnx, "parity-test-model.json")
}

/// The committed model the engine ships. After retraining it, rerun
/// `notebooks/make_parity_fixture.py models/genre-v1.onnx
/// crates/lacquer-genre/tests/fixtures/parity-genre-v1.json`.
#[test]
fn genre_v1_matches_python_onnxruntime() -> Result<()> {
    check_parity(
        &support::repo_root().join("models/genre-v1.onnx"),
        "parity-genre-v1.json",
    )
}

#[test]
fn generator_matches_its_definition() -> Result<()> {
    // splitmix64's published first output for seed 0.
    let mut state = 0;
    assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
    let x = fixed_inputs(
        &Generator {
            name: "splitmix64-v1".into(),
            seed: 1,
        },
        2,
        3,
    )?;
    assert_eq!(x.len(), 18);
    // Patch 0 spans [-2, 2), patch 2 [-0.5, 0.5); patch 1 is the ramp.
    assert!(x[..6].iter().all(|v| (-2.0..2.0).contains(v)));
    assert_eq!(&x[6..12], &[-2.0, -1.625, -1.25, -1.375, -1.0, -0.625]);
    assert!(x[12..].iter().all(|v| (-0.5..0.5).contains(v)));
    Ok(())
}
