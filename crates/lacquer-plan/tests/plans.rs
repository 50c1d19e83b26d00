//! Snapshot tests: the whole plan (settings, target, blend and the reasons)
//! for fixed analyses, floats rounded to 2 decimals. A changed snapshot is a
//! changed plan: review the reasons as a mastering engineer would.

mod common;

use common::*;
use lacquer_core::{GenreChoice, Intent};
use lacquer_plan::choose_profile_blend;

fn snapshot(scenario: &Scenario) -> serde_json::Value {
    let plan = scenario.plan().expect("scenario plans");
    rounded(serde_json::to_value(&plan).expect("plan serialises"))
}

#[test]
fn bright_mix_vs_rock() {
    insta::assert_json_snapshot!(snapshot(&Scenario::vs_rock(&bright_mix())));
}

#[test]
fn dull_mix_vs_rock() {
    insta::assert_json_snapshot!(snapshot(&Scenario::vs_rock(&dull_mix())));
}

#[test]
fn on_target_master_is_near_neutral() {
    insta::assert_json_snapshot!(snapshot(&Scenario::vs_rock(&on_target_master())));
}

#[test]
fn loud_intent_on_a_dynamic_mix() {
    let mut s = Scenario::vs_rock(&dynamic_mix());
    s.options.intent = Intent::Loud;
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn dynamic_mix_streaming() {
    insta::assert_json_snapshot!(snapshot(&Scenario::vs_rock(&dynamic_mix())));
}

#[test]
fn reference_intent_matches_a_loud_bright_reference() {
    let mut reference = bright_mix();
    reference.lufs = -9.0;
    reference.true_peak_dbtp = -0.4;
    reference.lra_lu = 5.0;
    reference.crest_db = 9.0;
    let s = Scenario::vs_reference(&dull_mix(), &reference);
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn low_confidence_blends_profiles() {
    let scores = scores(&[
        ("rock", 0.40),
        ("spoken", 0.30),
        ("pop", 0.22),
        ("jazz", 0.08),
    ]);
    let blend = choose_profile_blend(Some(&scores), &GenreChoice::Auto, &["rock", "pop", "jazz"])
        .expect("blend");
    let mut s = Scenario::vs_rock(&bright_mix());
    s.scores = Some(scores);
    // The engine would blend the profiles; the planner reads only the result.
    s.profile = Some(profile_named("rock+pop", 0.5, 0.3, 0.4));
    s.blend = blend;
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_intensity_30() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.intensity_percent = 30.0;
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_width_120() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.width_percent = Some(120.0);
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_target_lufs_and_true_peak() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.target_lufs = Some(-12.0);
    s.options.true_peak_dbtp = Some(-2.0);
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_platform_apple_music() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.platform = apple_music();
    s.options.platform = "apple_music".to_owned();
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_platform_without_normalisation() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.platform = cd();
    s.options.platform = "cd".to_owned();
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn knob_genre_named() {
    let mut s = Scenario::vs_rock(&bright_mix());
    s.options.genre = GenreChoice::Named("rock".to_owned());
    s.scores = Some(scores(&[("pop", 0.7), ("rock", 0.3)]));
    insta::assert_json_snapshot!(snapshot(&s));
}

#[test]
fn problem_mix_rumble_wide_lows_and_narrow_image() {
    let mut mix = Mix::on_curve().shaped(|f| {
        if f <= 25.0 {
            14.0
        } else if (200.0..=400.0).contains(&f) {
            3.5
        } else {
            0.0
        }
    });
    mix.correlation_below_150hz = 0.4;
    mix.side_below_mid_db = 14.0;
    insta::assert_json_snapshot!(snapshot(&Scenario::vs_rock(&mix)));
}
