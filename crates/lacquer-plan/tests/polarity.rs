//! When a channel is upside down the planner says so, flips it first, and
//! leaves deliberately wide (merely negative) mixes alone.

mod common;

use common::*;
use lacquer_core::PlanStage;
use lacquer_core::chain::PolaritySettings;
use lacquer_plan::{INVERTED_POLARITY_CORRELATION, detect_inverted_polarity};

fn with_correlation(overall: f64, lows: f64) -> Mix {
    let mut mix = Mix::on_curve();
    mix.correlation = overall;
    mix.correlation_below_150hz = lows;
    mix
}

#[test]
fn an_inverted_channel_is_found_and_flipped_first_with_its_reason() {
    let inverted = with_correlation(-1.0, -0.99);
    let mut scenario = Scenario::vs_rock(&inverted);
    let fix = detect_inverted_polarity(&scenario.mix, &scenario.options)
        .expect("correlation −1 overall and in the lows is an inverted channel");
    assert_eq!(
        fix.settings,
        PolaritySettings {
            invert_left: false,
            invert_right: true
        }
    );
    // The engine plans from the corrected mix: correlations turn positive.
    scenario.mix = Scenario::vs_rock(&with_correlation(1.0, 0.99)).mix;
    scenario.polarity = Some(fix);
    let plan = scenario.plan().unwrap();
    assert_eq!(plan.settings.polarity, fix.settings);
    let reasons: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.stage == PlanStage::Polarity)
        .map(|d| d.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("invert the right channel's polarity: left and right correlate at -1.00 (-0.99 below 150 Hz)"),
        "{}",
        reasons[0]
    );
    // Decisions read in signal order: the flip comes before any EQ.
    let first_eq = plan.decisions.iter().position(|d| d.stage == PlanStage::Eq);
    let flip = plan
        .decisions
        .iter()
        .position(|d| d.stage == PlanStage::Polarity);
    assert!(first_eq.is_none_or(|eq| flip < Some(eq)));
}

#[test]
fn wide_or_phasey_mixes_with_mono_lows_are_left_alone() {
    let options = lacquer_core::PlanOptions::default();
    for (overall, lows) in [
        (-0.3, 0.9),  // wide, lows fine
        (-0.9, 0.8),  // a phasey effect above the lows, lows still mono
        (-0.9, -0.2), // lows off but not inverted
        (0.7, -0.9),  // only the lows anti-phase: mono-bass territory
        (INVERTED_POLARITY_CORRELATION + 0.01, -1.0),
    ] {
        let analysis = with_correlation(overall, lows).analysis();
        assert!(
            detect_inverted_polarity(&analysis, &options).is_none(),
            "overall {overall}, lows {lows}"
        );
    }
    let at_threshold = with_correlation(INVERTED_POLARITY_CORRELATION, -0.6).analysis();
    assert!(detect_inverted_polarity(&at_threshold, &options).is_some());
}

#[test]
fn mono_sources_are_never_flipped() {
    let mut mix = with_correlation(-1.0, -1.0);
    mix.source_channels = 1;
    let options = lacquer_core::PlanOptions::default();
    assert!(detect_inverted_polarity(&mix.analysis(), &options).is_none());
}

#[test]
fn keeping_polarity_is_honoured_and_still_explained() {
    let mut scenario = Scenario::vs_rock(&with_correlation(-1.0, -1.0));
    scenario.options.fix_polarity = false;
    assert!(detect_inverted_polarity(&scenario.mix, &scenario.options).is_none());
    let plan = scenario.plan().unwrap();
    assert!(plan.settings.polarity.is_neutral());
    let kept: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.stage == PlanStage::Polarity)
        .map(|d| d.reason.as_str())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with("polarity kept as it is"), "{}", kept[0]);
}

#[test]
fn an_ordinary_mix_gets_no_polarity_decision() {
    let plan = Scenario::vs_rock(&Mix::on_curve()).plan().unwrap();
    assert!(plan.settings.polarity.is_neutral());
    assert!(
        plan.decisions
            .iter()
            .all(|d| d.stage != PlanStage::Polarity)
    );
}

#[test]
fn anti_phase_lows_are_not_summed_to_mono() {
    // Mono lows keep the MID; with anti-phase lows that is almost nothing.
    for (overall, lows) in [(0.7, -0.9), (-1.0, -1.0)] {
        let mut scenario = Scenario::vs_rock(&with_correlation(overall, lows));
        scenario.options.fix_polarity = false;
        let plan = scenario.plan().unwrap();
        assert!(!plan.settings.stereo.mono_bass, "{overall} {lows}");
        assert!(
            plan.decisions
                .iter()
                .any(|d| d.reason.starts_with("low end left stereo")),
            "{:?}",
            plan.decisions
        );
    }
    // Merely wide lows are still made mono.
    let plan = Scenario::vs_rock(&with_correlation(0.7, 0.2))
        .plan()
        .unwrap();
    assert!(plan.settings.stereo.mono_bass);
}
