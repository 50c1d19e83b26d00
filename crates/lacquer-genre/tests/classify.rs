//! Loading checks and whole-track classification, on the stand-in model
//! (any weights will do: these tests are about the plumbing, the card
//! contract and the distribution, not about which genre wins).

mod support;

use anyhow::{Result, bail};
use lacquer_core::{AudioBuffer, GenreScores};
use lacquer_genre::features::FEATURE_PARAMS;
use lacquer_genre::{GenreError, GenreModel};
use lacquer_testkit::music::demo_mix;
use lacquer_testkit::{Rng, pink_noise, stereo_sine};
use serde_json::{Value, json};

/// Probabilities are averaged in f64 from per-patch softmaxes.
const TOL_PROBABILITY_SUM: f64 = 1e-6;
const RATE_HZ: u32 = 44_100;

fn load_with_card(card: &Value) -> Result<Result<GenreModel, GenreError>> {
    let dir = tempfile::tempdir()?;
    let onnx = support::install_test_model(dir.path(), card)?;
    Ok(GenreModel::load(&onnx))
}

fn model() -> Result<GenreModel> {
    Ok(load_with_card(&support::test_card()?)??)
}

/// Loading must fail with `matches`, and its message must contain `needles`.
fn expect_load_error(
    card: &Value,
    matches: fn(&GenreError) -> bool,
    needles: &[&str],
) -> Result<()> {
    match load_with_card(card)? {
        Ok(_) => bail!("loaded a model whose card is {card}"),
        Err(e) => {
            let text = e.to_string();
            if !matches(&e) {
                bail!("wrong error kind: {e:?}");
            }
            for needle in needles {
                if !text.contains(needle) {
                    bail!("{text:?} does not contain {needle:?}");
                }
            }
            Ok(())
        }
    }
}

#[test]
fn card_feature_params_that_differ_from_the_code_are_refused_naming_both_values() -> Result<()> {
    let mut card = support::test_card()?;
    card["feature_params"]["n_mels"] = json!(96);
    card["feature_params"]["hop_length"] = json!(256);
    let code_mels = FEATURE_PARAMS.n_mels.to_string();
    let code_hop = FEATURE_PARAMS.hop_length.to_string();
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::FeatureMismatch { .. }),
        &[
            "model.card.json",
            &format!("feature_params.n_mels: card 96 vs code {code_mels}"),
            &format!("feature_params.hop_length: card 256 vs code {code_hop}"),
        ],
    )
}

#[test]
fn a_card_from_another_feature_version_is_refused() -> Result<()> {
    let mut card = support::test_card()?;
    card["feature_version"] = json!(999);
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::FeatureMismatch { .. }),
        &["feature_version: card 999 vs code"],
    )
}

#[test]
fn a_card_missing_a_feature_param_is_refused() -> Result<()> {
    let mut card = support::test_card()?;
    if let Some(params) = card["feature_params"].as_object_mut() {
        params.remove("patch_frames");
    }
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::FeatureMismatch { .. }),
        &["feature_params.patch_frames: card (absent) vs code"],
    )
}

#[test]
fn a_card_without_labels_is_refused() -> Result<()> {
    let mut card = support::test_card()?;
    card["labels"] = json!([]);
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::CardInvalid { .. }),
        &["model.card.json", "`labels` is empty"],
    )
}

#[test]
fn labels_that_do_not_match_the_output_width_are_refused() -> Result<()> {
    let mut card = support::test_card()?;
    card["labels"] = json!(["a", "b", "c", "d"]);
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::ModelShape { .. }),
        &["model.onnx", "expected [1, 4] (4 labels in the card)"],
    )
}

#[test]
fn a_card_input_name_the_graph_lacks_is_refused() -> Result<()> {
    let mut card = support::test_card()?;
    card["input_name"] = json!("spectrogram");
    expect_load_error(
        &card,
        |e| matches!(e, GenreError::ModelShape { .. }),
        &["\"spectrogram\" is not among the graph's inputs [\"mel\"]"],
    )
}

#[test]
fn a_missing_card_names_the_card_path() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let onnx = support::install_test_model(dir.path(), &support::test_card()?)?;
    std::fs::remove_file(dir.path().join("model.card.json"))?;
    match GenreModel::load(&onnx) {
        Err(e @ GenreError::Read { .. }) => {
            assert!(e.to_string().contains("model.card.json"), "{e}");
            Ok(())
        }
        other => bail!("expected a read error, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_onnx_is_refused_naming_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let onnx = support::install_test_model(dir.path(), &support::test_card()?)?;
    std::fs::write(&onnx, b"this is not a protobuf")?;
    match GenreModel::load(&onnx) {
        Err(e @ GenreError::Session { .. }) => {
            assert!(e.to_string().contains("model.onnx"), "{e}");
            Ok(())
        }
        other => bail!("expected a session error, got {other:?}"),
    }
}

fn assert_valid_distribution(scores: &GenreScores, model: &GenreModel) {
    let sum: f64 = scores.scores.iter().map(|s| s.probability).sum();
    assert!(
        (sum - 1.0).abs() <= TOL_PROBABILITY_SUM,
        "probabilities sum to {sum}"
    );
    assert!(
        scores
            .scores
            .iter()
            .all(|s| (0.0..=1.0).contains(&s.probability))
    );
    assert!(
        scores
            .scores
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability),
        "not sorted: {scores:?}"
    );
    let mut labels: Vec<&str> = scores.scores.iter().map(|s| s.label.as_str()).collect();
    labels.sort_unstable();
    let mut expected: Vec<&str> = model.labels().iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(labels, expected);
    assert_eq!(scores.model_version, model.version());
}

fn test_signals() -> Vec<(&'static str, AudioBuffer)> {
    let mut rng = Rng::new(11);
    let noise = pink_noise(&mut rng, RATE_HZ, 20.0, -20.0);
    vec![
        ("demo mix 40 s", demo_mix(RATE_HZ, 40.0, -1.0, 3)),
        ("1 kHz sine 12 s", stereo_sine(RATE_HZ, 12.0, 1000.0, -6.0)),
        (
            "pink noise 20 s at 48 kHz",
            AudioBuffer::stereo(48_000, noise.clone(), noise).unwrap_or_else(|e| panic!("{e}")),
        ),
        (
            "0.5 s sine (shorter than a patch)",
            stereo_sine(RATE_HZ, 0.5, 220.0, -12.0),
        ),
    ]
}

#[test]
fn classification_gives_a_valid_sorted_distribution() -> Result<()> {
    let model = model()?;
    for (name, signal) in test_signals() {
        let scores = model.classify(&signal)?;
        assert_valid_distribution(&scores, &model);
        assert!(scores.patches >= 1, "{name}: no patches");
        assert!(
            scores.patches as usize <= model.max_patches(),
            "{name}: {} patches",
            scores.patches
        );
    }
    Ok(())
}

#[test]
fn patches_cover_long_tracks_up_to_the_limit() -> Result<()> {
    let model = model()?.with_max_patches(4);
    // 40 s holds 13 whole 3-s patches: capped at 4.
    let long = model.classify(&demo_mix(RATE_HZ, 40.0, -1.0, 3))?;
    assert_eq!(long.patches, 4);
    // 0.5 s: one zero-padded patch.
    let short = model.classify(&stereo_sine(RATE_HZ, 0.5, 220.0, -12.0))?;
    assert_eq!(short.patches, 1);
    Ok(())
}

#[test]
fn classification_is_deterministic_across_runs_and_loads() -> Result<()> {
    let first = model()?;
    let second = model()?;
    for (name, signal) in test_signals() {
        let a = first.classify(&signal)?;
        let b = first.classify(&signal)?;
        let c = second.classify(&signal)?;
        for (x, y) in [(&a, &b), (&a, &c)] {
            assert_eq!(x.scores.len(), y.scores.len());
            for (s, t) in x.scores.iter().zip(&y.scores) {
                assert_eq!(s.label, t.label, "{name}");
                assert_eq!(
                    s.probability.to_bits(),
                    t.probability.to_bits(),
                    "{name}: {} differs",
                    s.label
                );
            }
        }
    }
    Ok(())
}

#[test]
fn one_model_shared_by_threads_gives_the_same_answers() -> Result<()> {
    let model = model()?;
    let signal = demo_mix(RATE_HZ, 15.0, -1.0, 5);
    let alone = model.classify(&signal)?;
    let results: Vec<Result<GenreScores, GenreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| model.classify(&signal)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("a classifying thread panicked"))
            })
            .collect()
    });
    for r in results {
        assert_eq!(r?, alone);
    }
    Ok(())
}

#[test]
fn logits_refuse_a_tensor_of_the_wrong_size() -> Result<()> {
    let model = model()?;
    let per_patch = FEATURE_PARAMS.n_mels * FEATURE_PARAMS.patch_frames;
    for (values, count) in [(per_patch * 2 - 1, 2), (0, 0), (per_patch, 2)] {
        match model.logits_for_tensor(&vec![0.0; values], count) {
            Err(GenreError::PatchShape { .. }) => {}
            other => bail!("{values} values as {count} patches: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn logits_of_patches_equal_logits_of_their_tensor() -> Result<()> {
    let model = model()?;
    let patches = lacquer_genre::features::log_mel_patches(&demo_mix(RATE_HZ, 10.0, -1.0, 9), 3)?;
    let a = model.logits(&patches)?;
    let b = model.logits_for_tensor(patches.data(), patches.len())?;
    assert_eq!(a, b);
    assert_eq!(a.dim(), (patches.len(), support::TEST_MODEL_LABELS.len()));
    Ok(())
}

#[test]
fn builtin_model_is_the_committed_one_or_says_it_is_missing() -> Result<()> {
    let committed = support::repo_root().join("models/genre-v1.onnx");
    if committed.is_file() {
        let builtin = GenreModel::builtin()?;
        let loaded = GenreModel::load(&committed)?;
        assert_eq!(builtin.card(), loaded.card());
        let signal = demo_mix(RATE_HZ, 12.0, -1.0, 2);
        let scores = builtin.classify(&signal)?;
        assert_valid_distribution(&scores, &builtin);
        assert_eq!(scores, loaded.classify(&signal)?);
    } else {
        match GenreModel::builtin() {
            Err(GenreError::NoBuiltinModel) => {}
            other => bail!("no committed model, yet builtin() gave {other:?}"),
        }
    }
    Ok(())
}
