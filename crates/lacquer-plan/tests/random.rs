//! Seeded random inputs across (and past) the plausible ranges: every plan
//! must succeed for valid knobs, hold only finite numbers, stay within the
//! planner's stated limits and be accepted by the DSP chain. Reproducible:
//! the seed is fixed and printed with any failure.

mod common;

use anyhow::{Context, Result};
use common::*;
use lacquer_core::{GenreChoice, Intent};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_plan::{
    PROFILE_MAX_BOOST_DB, PROFILE_MAX_CUT_DB, REFERENCE_MAX_BOOST_DB, REFERENCE_MAX_CUT_DB,
};
use lacquer_testkit::Rng;

const CASES: u64 = 200;
/// The planner's own limit (see `dynamics`); the EQ's are the published
/// constants, per intent.
const MAX_DYNAMIC_CUT_DB: f64 = 4.0;

fn between(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

fn random_scenario(rng: &mut Rng) -> Scenario {
    let mut mix = Mix::on_curve().shaped(|_| 0.0);
    for c in &mut mix.curve_db {
        *c += between(rng, -10.0, 10.0);
    }
    mix.lufs = between(rng, -60.0, -3.0);
    mix.true_peak_dbtp = (mix.lufs + between(rng, 2.0, 25.0)).min(3.0);
    mix.lra_lu = between(rng, 0.0, 25.0);
    mix.crest_db = between(rng, 3.0, 25.0);
    mix.side_below_mid_db = between(rng, -5.0, 70.0);
    mix.correlation = between(rng, -1.0, 1.0);
    mix.correlation_below_150hz = between(rng, -1.0, 1.0);
    mix.transient_density = between(rng, 0.0, 10.0);
    mix.source_channels = if rng.uniform() < 0.1 { 1 } else { 2 };
    mix.phase_issue = rng.uniform() < 0.1;

    let mut scenario = if rng.uniform() < 0.3 {
        let mut reference = Mix::on_curve();
        for c in &mut reference.curve_db {
            *c += between(rng, -8.0, 8.0);
        }
        reference.lufs = between(rng, -45.0, -4.0);
        reference.true_peak_dbtp = reference.lufs + between(rng, 3.0, 20.0);
        reference.lra_lu = between(rng, 1.0, 20.0);
        Scenario::vs_reference(&mix, &reference)
    } else {
        let mut s = Scenario::vs_rock(&mix);
        let profile = s.profile.as_mut().expect("profile");
        profile.style.glue = rng.uniform();
        profile.style.multiband = rng.uniform();
        profile.style.saturation = rng.uniform();
        for spread in &mut profile.tonal.mid_spread_db {
            spread.0 = between(rng, 0.0, 8.0);
        }
        profile.dynamics.integrated_lufs.typical = between(rng, -16.0, -5.0);
        profile.dynamics.crest_db.typical = between(rng, 6.0, 18.0);
        profile.stereo.mono_below_hz = between(rng, 30.0, 300.0);
        s.deltas = deltas_vs_profile(&s.mix, profile);
        if rng.uniform() < 0.5 {
            s.options.intent = Intent::Loud;
        }
        if rng.uniform() < 0.2 {
            s.options.genre = GenreChoice::Named("rock".to_owned());
        }
        s
    };
    scenario.mix.sample_rate_hz = [8_000, 22_050, 44_100, 48_000, 96_000][rng.range(0, 4)];
    scenario.options.intensity_percent = between(rng, 0.0, 100.0);
    if rng.uniform() < 0.3 {
        scenario.options.width_percent = Some(between(rng, 0.0, 200.0));
    }
    if rng.uniform() < 0.3 {
        scenario.options.target_lufs = Some(between(rng, -40.0, -5.0));
    }
    if rng.uniform() < 0.3 {
        scenario.options.true_peak_dbtp = Some(between(rng, -10.0, 0.0));
    }
    if rng.uniform() < 0.2 {
        scenario.platform = cd();
    }
    // As the engine does (it would also measure the flipped mix again).
    scenario.polarity = lacquer_plan::detect_inverted_polarity(&scenario.mix, &scenario.options);
    scenario
}

fn all_numbers_finite(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        serde_json::Value::Array(items) => items.iter().all(all_numbers_finite),
        serde_json::Value::Object(map) => map.values().all(all_numbers_finite),
        _ => true,
    }
}

#[test]
fn random_inputs_give_valid_finite_bounded_plans() -> Result<()> {
    let mut rng = Rng::new(0x01ac_00e5);
    for case in 0..CASES {
        let scenario = random_scenario(&mut rng);
        let plan = scenario
            .plan()
            .with_context(|| format!("case {case}: {scenario:?}"))?;
        let json = serde_json::to_value(&plan)?;
        // serde_json writes non-finite floats as null, which the walk
        // would skip; check the raw values that matter as well.
        assert!(all_numbers_finite(&json), "case {case}");
        assert!(plan.settings.gain_db.is_finite(), "case {case}");
        let s = &plan.settings;
        let (max_boost, max_cut) = if scenario.options.intent == Intent::Reference {
            (REFERENCE_MAX_BOOST_DB, REFERENCE_MAX_CUT_DB)
        } else {
            (PROFILE_MAX_BOOST_DB, PROFILE_MAX_CUT_DB)
        };
        let side = s.eq.match_eq.side_curve.iter().flatten();
        for p in s.eq.match_eq.curve.iter().chain(side) {
            assert!(
                p.gain_db.is_finite() && (-max_cut..=max_boost).contains(&p.gain_db),
                "case {case}: {p:?}"
            );
        }
        for b in &s.dynamic_eq.bands {
            assert!(b.max_cut_db <= MAX_DYNAMIC_CUT_DB + 1e-9, "case {case}");
        }
        assert!(
            s.limiter.enabled && s.limiter.ceiling_dbtp <= 0.0,
            "case {case}"
        );
        assert_eq!(
            s.limiter.ceiling_dbtp, plan.target.ceiling_dbtp.0,
            "case {case}"
        );
        assert!(!plan.decisions.is_empty(), "case {case}");
        let mut chain = Chain::new(&plan.settings);
        chain
            .prepare(scenario.mix.sample_rate_hz, 512)
            .with_context(|| format!("case {case}: the chain refused {:?}", plan.settings))?;
    }
    Ok(())
}
