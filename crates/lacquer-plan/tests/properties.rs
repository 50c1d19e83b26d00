//! Properties every plan must have, over a spread of inputs: intensity 0
//! means loudness only, more intensity never means smaller moves, the same
//! input gives the same plan, a mix on target gets a neutral plan, and bad
//! knobs are refused with a message that names them.

mod common;

use common::*;
use lacquer_core::chain::CompressorCurve;
use lacquer_core::{GenreChoice, Intent, Plan};
use lacquer_plan::{PlanError, choose_profile_blend, limiter_loudness_cost_db};

fn all_scenarios() -> Vec<(&'static str, Scenario)> {
    let mut loud = Scenario::vs_rock(&dynamic_mix());
    loud.options.intent = Intent::Loud;
    let mut reference = bright_mix();
    reference.lufs = -9.0;
    reference.true_peak_dbtp = -0.4;
    reference.lra_lu = 4.0;
    let mut problem = Mix::on_curve().shaped(|f| if f <= 25.0 { 14.0 } else { 0.0 });
    problem.correlation_below_150hz = 0.4;
    problem.side_below_mid_db = 14.0;
    vec![
        ("bright", Scenario::vs_rock(&bright_mix())),
        ("dull", Scenario::vs_rock(&dull_mix())),
        ("dynamic", Scenario::vs_rock(&dynamic_mix())),
        ("loud", loud),
        ("problem", Scenario::vs_rock(&problem)),
        (
            "reference",
            Scenario::vs_reference(&dynamic_mix(), &reference),
        ),
    ]
}

fn at_intensity(scenario: &Scenario, intensity: f64) -> Plan {
    let mut s = scenario.clone();
    s.options.intensity_percent = intensity;
    s.plan().expect("valid scenario plans")
}

fn max_abs_eq_gain_db(plan: &Plan) -> f64 {
    plan.settings
        .eq
        .match_eq
        .curve
        .iter()
        .map(|p| p.gain_db.abs())
        .fold(0.0, f64::max)
}

/// Reduction (dB) a compressor curve makes at `level_db` (the DSP's
/// soft-knee static curve).
fn reduction_at(curve: &CompressorCurve, level_db: f64) -> f64 {
    let slope = 1.0 - 1.0 / curve.ratio;
    let over = level_db - curve.threshold_db;
    let knee = curve.knee_db;
    if 2.0 * over <= -knee {
        0.0
    } else if 2.0 * over.abs() < knee {
        slope * (over + knee / 2.0).powi(2) / (2.0 * knee)
    } else {
        slope * over
    }
}

#[test]
fn intensity_zero_plans_loudness_only() {
    for (name, scenario) in all_scenarios() {
        let plan = at_intensity(&scenario, 0.0);
        let s = &plan.settings;
        assert!(!s.eq.enabled, "{name}: eq");
        assert!(!s.dynamic_eq.enabled, "{name}: dynamic eq");
        assert!(!s.multiband.enabled, "{name}: multiband");
        assert!(!s.glue.enabled, "{name}: glue");
        assert!(!s.saturation.enabled, "{name}: saturation");
        assert!(!s.stereo.enabled, "{name}: stereo");
        assert!(s.limiter.enabled, "{name}: the limiter always runs");
        // The gain is the loudness gap plus the limiter's expected cost,
        // nothing for EQ or compression.
        let loudness = &scenario.mix.loudness;
        let to_target = plan.target.integrated_lufs.0 - loudness.integrated_lufs.unwrap().0;
        let room = plan.target.ceiling_dbtp.0 - plan.target.integrated_lufs.0;
        let limiter_db = (loudness.plr_db.unwrap().0 - room).max(0.0);
        let expected = to_target + limiter_loudness_cost_db(limiter_db);
        assert!(
            (s.gain_db - expected).abs() < 1e-9,
            "{name}: gain {} vs {expected}",
            s.gain_db
        );
    }
}

#[test]
fn more_intensity_never_means_smaller_moves() {
    // A fixed loud level at the glue's detector to compare curves at.
    const PROBE_LEVEL_DB: f64 = -10.0;
    const TOL_DB: f64 = 1e-9;
    for (name, scenario) in all_scenarios() {
        let mut previous: Option<Plan> = None;
        for step in 0..=20 {
            let intensity = f64::from(step) * 5.0;
            let plan = at_intensity(&scenario, intensity);
            if let Some(prev) = &previous {
                let (p, s) = (&prev.settings, &plan.settings);
                // Per band, the match curve only grows.
                let prev_curve = &p.eq.match_eq.curve;
                if !prev_curve.is_empty() {
                    assert_eq!(prev_curve.len(), s.eq.match_eq.curve.len(), "{name}");
                    for (a, b) in prev_curve.iter().zip(&s.eq.match_eq.curve) {
                        assert!(
                            b.gain_db.abs() + TOL_DB >= a.gain_db.abs(),
                            "{name} {intensity}: {a:?} → {b:?}"
                        );
                        assert!(
                            a.gain_db * b.gain_db >= 0.0,
                            "{name}: a band changed direction"
                        );
                    }
                }
                assert!(
                    max_abs_eq_gain_db(&plan) + TOL_DB >= max_abs_eq_gain_db(prev),
                    "{name}"
                );
                for (a, b) in p.dynamic_eq.bands.iter().zip(&s.dynamic_eq.bands) {
                    assert!(
                        b.max_cut_db + TOL_DB >= a.max_cut_db,
                        "{name} {intensity}: dynamic eq"
                    );
                }
                assert!(
                    s.dynamic_eq.bands.len() >= p.dynamic_eq.bands.len(),
                    "{name}"
                );
                assert!(
                    !p.glue.enabled || s.glue.enabled,
                    "{name} {intensity}: glue switched off"
                );
                if p.glue.enabled {
                    assert!(
                        reduction_at(&s.glue.curve, PROBE_LEVEL_DB) + TOL_DB
                            >= reduction_at(&p.glue.curve, PROBE_LEVEL_DB),
                        "{name} {intensity}: glue got lighter"
                    );
                }
                assert!(!p.saturation.enabled || s.saturation.enabled, "{name}");
                assert!(
                    !p.multiband.enabled || s.multiband.enabled,
                    "{name}: multiband switched off"
                );
                assert!(
                    s.saturation.drive_db + TOL_DB >= p.saturation.drive_db,
                    "{name}"
                );
                assert!(
                    (s.stereo.width_percent - 100.0).abs() + TOL_DB
                        >= (p.stereo.width_percent - 100.0).abs(),
                    "{name}: width"
                );
            }
            previous = Some(plan);
        }
    }
}

#[test]
fn the_same_input_gives_the_same_plan_bit_for_bit() {
    for (name, scenario) in all_scenarios() {
        let a = scenario.plan().unwrap();
        let b = scenario.clone().plan().unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_master_on_target_gets_a_neutral_plan() {
    let plan = Scenario::vs_rock(&on_target_master()).plan().unwrap();
    let s = &plan.settings;
    assert!(!s.eq.enabled && s.eq.match_eq.curve.is_empty());
    assert!(!s.dynamic_eq.enabled && !s.multiband.enabled && !s.glue.enabled);
    assert!(!s.saturation.enabled && !s.stereo.enabled);
    assert_eq!(s.gain_db, 0.0);
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.reason.starts_with("tone left alone"))
    );
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.reason.starts_with("no compression"))
    );
}

#[test]
fn a_mix_inside_every_range_is_not_compressed_whatever_the_intensity() {
    let mix = Mix::on_curve(); // PLR 12, LRA 6, crest 12: inside rock
    for intensity in [0.0, 50.0, 100.0] {
        let mut s = Scenario::vs_rock(&mix);
        s.options.intensity_percent = intensity;
        let plan = s.plan().unwrap();
        assert!(!plan.settings.glue.enabled && !plan.settings.multiband.enabled);
    }
}

#[test]
fn every_non_neutral_stage_has_a_reason() {
    use lacquer_core::PlanStage;
    for (name, scenario) in all_scenarios() {
        let plan = scenario.plan().unwrap();
        let s = &plan.settings;
        let has = |stage: PlanStage| plan.decisions.iter().any(|d| d.stage == stage);
        let checks = [
            (!s.polarity.is_neutral(), PlanStage::Polarity),
            (s.eq.enabled, PlanStage::Eq),
            (s.dynamic_eq.enabled, PlanStage::DynamicEq),
            (s.multiband.enabled, PlanStage::Multiband),
            (s.glue.enabled, PlanStage::Glue),
            (s.saturation.enabled, PlanStage::Saturation),
            (s.stereo.enabled, PlanStage::Stereo),
            (s.limiter.enabled, PlanStage::Limiter),
            (true, PlanStage::Target),
            (true, PlanStage::Gain),
        ];
        for (enabled, stage) in checks {
            assert!(!enabled || has(stage), "{name}: {stage:?} has no reason");
        }
        assert!(
            plan.decisions.iter().all(|d| !d.reason.contains('\n')),
            "{name}: one line each"
        );
    }
}

#[test]
fn reference_mode_targets_the_reference_and_never_exceeds_the_platform() {
    let mut reference = bright_mix();
    reference.lufs = -9.0;
    reference.true_peak_dbtp = -0.4;
    let plan = Scenario::vs_reference(&dull_mix(), &reference)
        .plan()
        .unwrap();
    assert_eq!(plan.target.integrated_lufs.0, -9.0);
    assert_eq!(
        plan.target.ceiling_dbtp.0, -1.0,
        "platform ceiling wins over a hotter reference"
    );
    assert!(plan.profile_blend.is_empty());

    reference.true_peak_dbtp = -2.5;
    let plan = Scenario::vs_reference(&dull_mix(), &reference)
        .plan()
        .unwrap();
    assert_eq!(
        plan.target.ceiling_dbtp.0, -2.5,
        "a quieter reference peak is kept"
    );
}

#[test]
fn loud_intent_level_comes_from_the_profile_clamped_to_the_dense_window() {
    let mut s = Scenario::vs_rock(&dynamic_mix());
    s.options.intent = Intent::Loud;
    let typical = s.profile.as_ref().unwrap().dynamics.integrated_lufs.typical;
    assert_eq!(s.plan().unwrap().target.integrated_lufs.0, typical);
    s.profile.as_mut().unwrap().dynamics.integrated_lufs.typical = -13.0;
    assert_eq!(s.plan().unwrap().target.integrated_lufs.0, -10.0);
    s.profile.as_mut().unwrap().dynamics.integrated_lufs.typical = -5.5;
    assert_eq!(s.plan().unwrap().target.integrated_lufs.0, -7.0);
    s.options.target_lufs = Some(-11.0);
    assert_eq!(
        s.plan().unwrap().target.integrated_lufs.0,
        -11.0,
        "--target-lufs wins"
    );
}

fn error_for(edit: impl Fn(&mut Scenario)) -> PlanError {
    let mut s = Scenario::vs_rock(&bright_mix());
    edit(&mut s);
    s.plan().expect_err("must be refused")
}

#[test]
fn invalid_knobs_are_refused_with_the_value_named() {
    for bad in [-1.0, 100.5, f64::NAN] {
        let e = error_for(|s| s.options.intensity_percent = bad);
        assert!(matches!(e, PlanError::IntensityOutOfRange { .. }), "{e}");
        assert!(e.to_string().contains("0–100"), "{e}");
    }
    for bad in [-5.0, 201.0, f64::INFINITY] {
        let e = error_for(|s| s.options.width_percent = Some(bad));
        assert!(matches!(e, PlanError::WidthOutOfRange { .. }), "{e}");
    }
    for bad in [-41.0, -4.9] {
        let e = error_for(|s| s.options.target_lufs = Some(bad));
        assert!(matches!(e, PlanError::TargetLufsOutOfRange { .. }), "{e}");
        assert!(e.to_string().contains(&bad.to_string()), "{e}");
    }
    for bad in [0.5, -10.5] {
        let e = error_for(|s| s.options.true_peak_dbtp = Some(bad));
        assert!(matches!(e, PlanError::CeilingOutOfRange { .. }), "{e}");
    }
    let e = error_for(|s| s.platform.ceiling_dbtp = 1.0);
    assert!(
        matches!(e, PlanError::InvalidPlatform { .. }) && e.to_string().contains("spotify"),
        "{e}"
    );
    // Edges are accepted.
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.intensity_percent = 100.0;
    s.options.width_percent = Some(200.0);
    s.options.target_lufs = Some(-5.0);
    s.options.true_peak_dbtp = Some(0.0);
    assert!(s.plan().is_ok());
}

#[test]
fn contract_violations_are_refused() {
    let e = error_for(|s| s.mix.loudness.integrated_lufs = None);
    assert_eq!(e, PlanError::SilentMix);
    let e = error_for(|s| s.options.intent = Intent::Reference);
    assert_eq!(e, PlanError::MissingReference);
    let e = error_for(|s| {
        if let Some(t) = s.deltas.tonal.as_mut() {
            t.mid_db.pop();
        }
    });
    assert!(matches!(e, PlanError::InvalidDeltas { .. }), "{e}");
    let e = error_for(|s| {
        if let Some(t) = s.deltas.tonal.as_mut() {
            t.mid_db[5].0 = f64::NAN;
        }
    });
    assert!(matches!(e, PlanError::InvalidDeltas { .. }), "{e}");
    let e = error_for(|s| s.blend = vec![("rock".into(), 0.7)]);
    assert!(matches!(e, PlanError::InvalidBlend { .. }), "{e}");
}

#[test]
fn plans_without_a_profile_only_set_loudness() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.profile = None;
    s.blend.clear();
    s.deltas.tonal = None;
    let plan = s.plan().unwrap();
    assert!(!plan.settings.eq.enabled && !plan.settings.glue.enabled);
    assert!(plan.settings.limiter.enabled);
}

#[test]
fn mono_and_phase_problems_block_widening() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.width_percent = Some(140.0);
    s.mix.stereo.phase_issue = true;
    let plan = s.plan().unwrap();
    assert_eq!(plan.settings.stereo.width_percent, 100.0);
    s.mix.stereo.phase_issue = false;
    s.mix.source_channels = 1;
    assert!(!s.plan().unwrap().settings.stereo.enabled);
    // Narrowing applies to the whole band (a side shelf cannot reach 0 %).
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.width_percent = Some(0.0);
    let st = s.plan().unwrap().settings.stereo;
    assert_eq!(
        (st.width_percent, st.width_from_hz, st.correlation_guard),
        (0.0, 0.0, false)
    );
}

// ---- choose_profile_blend ----

const KNOWN: [&str; 3] = ["rock", "pop", "jazz"];

#[test]
fn a_named_genre_is_used_alone_and_unknown_names_list_the_known_ones() {
    let b = choose_profile_blend(None, &GenreChoice::Named("Rock".into()), &KNOWN).unwrap();
    assert_eq!(b, vec![("rock".to_owned(), 1.0)]);
    let e = choose_profile_blend(None, &GenreChoice::Named("polka".into()), &KNOWN).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown genre profile 'polka'; known profiles: jazz, pop, rock"
    );
}

#[test]
fn a_confident_classifier_picks_its_top_label() {
    let s = scores(&[("pop", 0.61), ("rock", 0.3), ("jazz", 0.09)]);
    let b = choose_profile_blend(Some(&s), &GenreChoice::Auto, &KNOWN).unwrap();
    assert_eq!(b, vec![("pop".to_owned(), 1.0)]);
}

#[test]
fn an_unsure_classifier_blends_by_probability() {
    let s = scores(&[("pop", 0.5), ("rock", 0.3), ("jazz", 0.2)]);
    let b = choose_profile_blend(Some(&s), &GenreChoice::Auto, &KNOWN).unwrap();
    // 0.5 + 0.3 = 0.8 covers 80 % of the mass: pop and rock, renormalised.
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].0.as_str(), b[1].0.as_str()), ("pop", "rock"));
    assert!((b[0].1 - 0.625).abs() < 1e-12 && (b[1].1 - 0.375).abs() < 1e-12);
    let sum: f64 = b.iter().map(|(_, w)| w).sum();
    assert!((sum - 1.0).abs() < 1e-12);
}

#[test]
fn labels_without_profiles_are_skipped() {
    // The top label has no profile; the best profiled one is confident on
    // its own raw probability only if ≥ 0.6, so this blends rock and pop.
    let s = scores(&[
        ("spoken", 0.5),
        ("rock", 0.3),
        ("pop", 0.15),
        ("jazz", 0.05),
    ]);
    let b = choose_profile_blend(Some(&s), &GenreChoice::Auto, &KNOWN).unwrap();
    assert_eq!(
        b.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["rock", "pop"]
    );
    let only_unknown = scores(&[("spoken", 0.9), ("noise", 0.1)]);
    let e = choose_profile_blend(Some(&only_unknown), &GenreChoice::Auto, &KNOWN).unwrap_err();
    assert!(matches!(e, PlanError::NoProfileForLabels { .. }), "{e}");
    let e = choose_profile_blend(None, &GenreChoice::Auto, &KNOWN).unwrap_err();
    assert!(matches!(e, PlanError::NoGenreScores { .. }), "{e}");
}

#[test]
fn blends_are_capped_and_deterministic() {
    let s = scores(&[
        ("rock", 0.25),
        ("pop", 0.25),
        ("jazz", 0.25),
        ("metal", 0.25),
    ]);
    let known = ["metal", "jazz", "pop", "rock"];
    let a = choose_profile_blend(Some(&s), &GenreChoice::Auto, &known).unwrap();
    assert_eq!(a.len(), lacquer_plan::MAX_BLENDED_PROFILES);
    // Ties break by label, so the order of `known` does not matter.
    let b = choose_profile_blend(
        Some(&s),
        &GenreChoice::Auto,
        &["rock", "pop", "jazz", "metal"],
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["jazz", "metal", "pop"]
    );
}

#[test]
fn limiter_timing_follows_the_material_and_the_genre() {
    let lookahead = |edit: &dyn Fn(&mut Scenario)| {
        let mut s = Scenario::vs_rock(&bright_mix());
        edit(&mut s);
        let l = s.plan().unwrap().settings.limiter;
        (l.lookahead_ms, l.release_ms)
    };
    // Rock (crest 11) with 2 onsets/s: standard timing.
    assert_eq!(lookahead(&|_| {}), (2.0, 60.0));
    // Busy material: short and punchy.
    assert_eq!(
        lookahead(&|s| s.mix.dynamics.transient_density_per_second = 5.0),
        (1.5, 40.0)
    );
    // A genre mastered dense, even on sparse material.
    assert_eq!(
        lookahead(&|s| {
            s.mix.dynamics.transient_density_per_second = 0.5;
            s.profile.as_mut().unwrap().dynamics.crest_db.typical = 8.0;
        }),
        (1.5, 40.0)
    );
    // An open genre: smooth.
    assert_eq!(
        lookahead(&|s| s.profile.as_mut().unwrap().dynamics.crest_db.typical = 15.0),
        (3.0, 100.0)
    );
    // The ceiling is the target's, always.
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.true_peak_dbtp = Some(-3.0);
    let plan = s.plan().unwrap();
    assert_eq!(plan.settings.limiter.ceiling_dbtp, -3.0);
    assert!(plan.settings.limiter.enabled);
}

#[test]
fn non_finite_measurements_are_refused_not_propagated() {
    let e = error_for(|s| s.mix.loudness.integrated_lufs = Some(lacquer_core::Lufs(f64::NAN)));
    assert!(matches!(e, PlanError::InvalidAnalysis { .. }), "{e}");
}

#[test]
fn a_mix_without_a_tonal_curve_still_plans_loudness_and_says_why() {
    let mut s = Scenario::vs_rock(&dynamic_mix());
    s.mix.tonal = None;
    s.deltas.tonal = None;
    let plan = s.plan().unwrap();
    assert!(!plan.settings.eq.enabled && !plan.settings.glue.enabled);
    assert!(plan.settings.limiter.enabled);
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.reason.contains("no tonal curve"))
    );
}

#[test]
fn a_profile_band_the_genre_disagrees_on_is_trusted_less() {
    let band_gain = |spread_db: f64| {
        let mut s = Scenario::vs_rock(&bright_mix());
        let profile = s.profile.as_mut().unwrap();
        for (f, spread) in profile
            .tonal
            .third_octave_centres_hz
            .iter()
            .zip(&mut profile.tonal.mid_spread_db)
        {
            if (f.0 - 5000.0).abs() < 1.0 {
                spread.0 = spread_db;
            }
        }
        let plan = s.plan().unwrap();
        let point = plan
            .settings
            .eq
            .match_eq
            .curve
            .iter()
            .find(|p| p.frequency_hz == 5000.0)
            .copied();
        point.map_or(0.0, |p| p.gain_db.abs())
    };
    let (tight, loose, wild) = (band_gain(1.0), band_gain(4.0), band_gain(8.0));
    assert!(tight > loose && loose > wild, "{tight} {loose} {wild}");
    // A band moves to within deadband + spread·(1 − s)/s of the target, s
    // the strength (0.7 at the default intensity): 3 dB more spread leaves
    // 3·3/7 dB more of the difference in place.
    const SPREAD_SHARE_AT_DEFAULT_INTENSITY: f64 = 0.3 / 0.7;
    assert!(
        (tight - loose - 3.0 * SPREAD_SHARE_AT_DEFAULT_INTENSITY).abs() < 1e-9,
        "{tight} {loose}"
    );
}

#[test]
fn high_pass_and_dynamic_eq_need_evidence() {
    for mix in [Mix::on_curve(), dull_mix(), on_target_master()] {
        let plan = Scenario::vs_rock(&mix).plan().unwrap();
        assert!(!plan.settings.eq.high_pass.enabled);
        assert!(!plan.settings.dynamic_eq.enabled && plan.settings.dynamic_eq.bands.is_empty());
    }
    // 20–25 Hz far above the profile: rumble.
    let rumble = Mix::on_curve().shaped(|f| if f <= 25.0 { 12.0 } else { 0.0 });
    let plan = Scenario::vs_rock(&rumble).plan().unwrap();
    assert!(plan.settings.eq.high_pass.enabled);
    assert_eq!(plan.settings.eq.high_pass.frequency_hz, 25.0);
    // Presence far above the profile: harshness control, and only that.
    let plan = Scenario::vs_rock(&bright_mix()).plan().unwrap();
    let bands = &plan.settings.dynamic_eq.bands;
    assert_eq!(bands.len(), 1);
    assert_eq!(bands[0].frequency_hz, 3500.0);
    assert!(bands[0].max_cut_db > 0.0 && bands[0].ratio > 1.0);
}

#[test]
fn a_dc_offset_gets_a_dc_blocking_high_pass_and_a_reason() {
    // −30 dBFS of DC on one channel (a tracker render in the CI corpus
    // measures this): the plan must remove it.
    let mut scenario = Scenario::vs_rock(&Mix::on_curve());
    scenario.mix.health.dc_offset = vec![0.0316, -0.001];
    let plan = scenario.plan().unwrap();
    let hp = &plan.settings.eq.high_pass;
    assert!(plan.settings.eq.enabled && hp.enabled);
    assert_eq!(hp.frequency_hz, lacquer_plan::DC_BLOCK_HZ);
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.reason.contains("remove DC") && d.reason.contains("-30.0 dBFS")),
        "{:#?}",
        plan.decisions
    );
    // −80 dBFS is far below the analysis's warning level: left alone.
    scenario.mix.health.dc_offset = vec![1e-4, 0.0];
    let plan = scenario.plan().unwrap();
    assert!(!plan.settings.eq.high_pass.enabled);
}

#[test]
fn dc_is_judged_at_the_level_the_loudness_gain_will_lift_it_to() {
    // 0.0005 is −66 dBFS, under the −60 dBFS warning level as it comes in.
    const DC: f64 = 0.0005;
    let high_pass_for = |mix_lufs: f64| {
        let mut mix = Mix::on_curve();
        mix.lufs = mix_lufs;
        mix.true_peak_dbtp = mix_lufs + 12.0;
        let mut scenario = Scenario::vs_rock(&mix);
        scenario.mix.health.dc_offset = vec![DC, 0.0];
        let plan = scenario.plan().unwrap();
        let reason = plan
            .decisions
            .iter()
            .find(|d| d.reason.contains("remove DC"))
            .map(|d| d.reason.clone());
        (plan.settings.eq.high_pass.enabled, reason)
    };
    // −18 → −14 LUFS lifts it 4 dB, to −62 dBFS: still under, left alone.
    assert_eq!(high_pass_for(-18.0), (false, None));
    // −26 → −14 LUFS lifts it 12 dB, to −54 dBFS: removed, and said so.
    let (enabled, reason) = high_pass_for(-26.0);
    assert!(enabled);
    let reason = reason.expect("a DC decision");
    assert!(
        reason.contains("-66.0 dBFS (-54.0 dBFS after the 12.0 dB to the loudness target)"),
        "{reason}"
    );
}
