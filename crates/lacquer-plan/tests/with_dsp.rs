//! Plans against the real chain and real measurements.
//!
//! The snapshot and property tests check the plan as data; these check that
//! it does what it claims on audio: every plan is accepted by the DSP chain
//! at every supported kind of rate, reference mode halves the tonal
//! distance to the reference, profile mode moves a bright mix toward the
//! profile, the starting gain lands near the target, and a master planned
//! again at the same settings gets a (near) neutral plan.

mod common;

use anyhow::{Context, Result, bail};
use common::*;
use lacquer_analysis::{analyze, integrated_loudness, true_peak_dbtp};
use lacquer_core::chain::{EqBandKind, EqBandSettings, EqSettings, LimiterSettings};
use lacquer_core::{Analysis, AudioBuffer, ChainSettings, Intent, Plan, Profile};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::music::demo_mix;

const RATE_HZ: u32 = 44_100;
const SECONDS: f64 = 8.0;
/// Reference mode must at least halve the mean |difference| (40 Hz–16 kHz).
const REFERENCE_TONAL_REDUCTION_MIN: f64 = 0.5;
/// Output loudness vs the reference's (the engine's loop gets it to 0.1).
const REFERENCE_LOUDNESS_TOL_LU: f64 = 0.5;
/// The loop below stops inside this (the engine's own target).
const LOOP_TOL_LU: f64 = 0.1;
const LOOP_MAX_ITERATIONS: usize = 6;
/// Profile mode at the default intensity (70 %) moves each band to within
/// its tolerance of the target: the 0.5 dB deadband plus 3/7 of the
/// genre's spread (1.5 dB here), 1.14 dB. The brightened mix differs by up
/// to 4 dB above the shelf and little below it, so those bands lose at
/// least 70 % of their difference and the whole curve at least 40 %.
const PROFILE_TONAL_REDUCTION_MIN: f64 = 0.4;
/// The plan's starting gain should put the output within this of the
/// target before the engine's loop refines it.
const START_GAIN_TOL_LU: f64 = 1.5;
/// Mastering the master again may change its tonal curve by at most this
/// (mean |difference|, 40 Hz–16 kHz): the engine's idempotency target.
const REMASTER_MAX_TONAL_CHANGE_DB: f64 = 0.5;

fn process(settings: &ChainSettings, input: &AudioBuffer) -> Result<AudioBuffer> {
    let mut chain = Chain::new(settings);
    chain.prepare(input.sample_rate(), 4096)?;
    Ok(chain.process_buffer(input)?.0)
}

/// What the engine's loop does: move the gain into the limiter until the
/// output lands on the target. Returns the output and the first error (LU)
/// the plan's own starting gain gave.
fn master(plan: &Plan, input: &AudioBuffer) -> Result<(AudioBuffer, f64)> {
    let target = plan.target.integrated_lufs.0;
    let mut settings = plan.settings.clone();
    let mut first_error = None;
    for _ in 0..LOOP_MAX_ITERATIONS {
        let out = process(&settings, input)?;
        let lufs = integrated_loudness(&out)?.context("silent output")?.0;
        let error = target - lufs;
        first_error.get_or_insert(error);
        if error.abs() <= LOOP_TOL_LU {
            return Ok((out, first_error.unwrap_or(error)));
        }
        settings.gain_db += error;
    }
    bail!("loudness loop did not converge")
}

fn tonal_distance(a: &Analysis, b: &Analysis) -> f64 {
    mean_abs_db(&CENTRES_HZ, &normalised_curve(a), &normalised_curve(b))
}

fn mix_audio() -> AudioBuffer {
    demo_mix(RATE_HZ, SECONDS, -3.0, 7)
}

/// The mix with a different tone (bright, thin lows), mastered loud.
fn reference_audio() -> Result<AudioBuffer> {
    let shelf = |kind, frequency_hz, gain_db| EqBandSettings {
        kind,
        frequency_hz,
        gain_db,
        q: std::f64::consts::FRAC_1_SQRT_2,
    };
    let settings = ChainSettings {
        eq: EqSettings {
            enabled: true,
            bands: vec![
                shelf(EqBandKind::LowShelf, 150.0, -4.0),
                shelf(EqBandKind::HighShelf, 3000.0, 5.0),
            ],
            ..EqSettings::default()
        },
        gain_db: 6.0,
        limiter: LimiterSettings {
            enabled: true,
            ceiling_dbtp: -1.0,
            ..LimiterSettings::default()
        },
        ..ChainSettings::default()
    };
    process(&settings, &mix_audio())
}

#[test]
fn every_plan_is_accepted_by_the_chain_at_every_kind_of_rate() -> Result<()> {
    let mut loud = Scenario::vs_rock(&dynamic_mix());
    loud.options.intent = Intent::Loud;
    let mut wide = Scenario::vs_rock(&bright_mix());
    wide.options.width_percent = Some(200.0);
    let mut mono = Scenario::vs_rock(&bright_mix());
    mono.options.width_percent = Some(0.0);
    let mut problem = Mix::on_curve().shaped(|f| if f <= 25.0 { 14.0 } else { 0.0 });
    problem.correlation_below_150hz = 0.3;
    let mut reference = bright_mix();
    reference.lufs = -9.0;
    let scenarios = [
        Scenario::vs_rock(&bright_mix()),
        Scenario::vs_rock(&dull_mix()),
        Scenario::vs_rock(&dynamic_mix()),
        Scenario::vs_rock(&problem),
        loud,
        wide,
        mono,
        Scenario::vs_reference(&dull_mix(), &reference),
    ];
    for rate in [8_000, 22_050, 44_100, 48_000, 96_000, 192_000] {
        for (i, scenario) in scenarios.iter().enumerate() {
            for intensity in [0.0, 70.0, 100.0] {
                let mut s = scenario.clone();
                s.mix.sample_rate_hz = rate;
                s.options.intensity_percent = intensity;
                let plan = s.plan()?;
                let mut chain = Chain::new(&plan.settings);
                chain
                    .prepare(rate, 1024)
                    .with_context(|| format!("scenario {i} at {rate} Hz, intensity {intensity}"))?;
            }
        }
    }
    Ok(())
}

#[test]
fn reference_mode_halves_the_tonal_distance_and_lands_on_the_reference_loudness() -> Result<()> {
    let mix = mix_audio();
    let reference = reference_audio()?;
    let (mix_a, ref_a) = (analyze(&mix)?, analyze(&reference)?);
    let scenario = Scenario {
        deltas: deltas_vs_reference(&mix_a, &ref_a),
        mix: mix_a.clone(),
        scores: None,
        profile: None,
        blend: Vec::new(),
        reference: Some(ref_a.clone()),
        platform: spotify(),
        options: lacquer_core::PlanOptions {
            intent: Intent::Reference,
            ..lacquer_core::PlanOptions::default()
        },
        polarity: None,
    };
    let plan = scenario.plan()?;
    let (out, start_error) = master(&plan, &mix)?;
    let out_a = analyze(&out)?;
    let before = tonal_distance(&ref_a, &mix_a);
    let after = tonal_distance(&ref_a, &out_a);
    let ref_lufs = ref_a
        .loudness
        .integrated_lufs
        .context("reference loudness")?
        .0;
    let out_lufs = out_a.loudness.integrated_lufs.context("output loudness")?.0;
    let out_tp = true_peak_dbtp(&out)?.context("output peak")?.0;
    println!(
        "reference mode: tonal distance {before:.2} → {after:.2} dB; loudness {out_lufs:.2} vs reference {ref_lufs:.2} LUFS; start gain off by {start_error:+.2} LU; true peak {out_tp:.2} dBTP (ceiling {:.2})",
        plan.target.ceiling_dbtp.0
    );
    assert!(
        after <= REFERENCE_TONAL_REDUCTION_MIN * before,
        "tonal distance {before:.2} → {after:.2} dB"
    );
    assert!((out_lufs - ref_lufs).abs() <= REFERENCE_LOUDNESS_TOL_LU);
    assert!(
        start_error.abs() <= START_GAIN_TOL_LU,
        "start gain off by {start_error}"
    );
    assert!(out_tp <= plan.target.ceiling_dbtp.0, "true peak {out_tp}");
    Ok(())
}

/// A profile whose curve is the (unbrightened) mix's own, so the target is
/// known exactly, and whose masters agree everywhere (full trust), so the
/// arithmetic behind `PROFILE_TONAL_REDUCTION_MIN` holds in every band.
fn profile_from(analysis: &Analysis) -> Profile {
    const AGREEING_SPREAD_DB: f64 = 1.5;
    let mut profile = rock_profile();
    profile.tonal.mid_db = normalised_curve(analysis)
        .into_iter()
        .map(lacquer_core::Db)
        .collect();
    for spread in &mut profile.tonal.mid_spread_db {
        spread.0 = AGREEING_SPREAD_DB;
    }
    profile
}

#[test]
fn profile_mode_moves_a_bright_mix_toward_the_profile_and_a_remaster_is_near_neutral() -> Result<()>
{
    let plain = mix_audio();
    let profile = profile_from(&analyze(&plain)?);
    let brighten = ChainSettings {
        eq: EqSettings {
            enabled: true,
            bands: vec![EqBandSettings {
                kind: EqBandKind::HighShelf,
                frequency_hz: 2500.0,
                gain_db: 4.0,
                q: std::f64::consts::FRAC_1_SQRT_2,
            }],
            ..EqSettings::default()
        },
        ..ChainSettings::default()
    };
    let bright = process(&brighten, &plain)?;
    let bright_a = analyze(&bright)?;
    let scenario_for = |analysis: &Analysis| Scenario {
        deltas: deltas_vs_profile(analysis, &profile),
        mix: analysis.clone(),
        scores: Some(scores(&[("rock", 0.9), ("pop", 0.1)])),
        profile: Some(profile.clone()),
        blend: vec![("rock".to_owned(), 1.0)],
        reference: None,
        platform: spotify(),
        options: lacquer_core::PlanOptions::default(),
        polarity: None,
    };
    let plan = scenario_for(&bright_a).plan()?;
    let (out, start_error) = master(&plan, &bright)?;
    let out_a = analyze(&out)?;
    let target_curve: Vec<f64> = profile.tonal.mid_db.iter().map(|d| d.0).collect();
    let before = mean_abs_db(&CENTRES_HZ, &target_curve, &normalised_curve(&bright_a));
    let after = mean_abs_db(&CENTRES_HZ, &target_curve, &normalised_curve(&out_a));
    let (aligned_before, offset_before) =
        aligned_mean_abs_db(&CENTRES_HZ, &target_curve, &normalised_curve(&bright_a));
    let (aligned_after, offset_after) =
        aligned_mean_abs_db(&CENTRES_HZ, &target_curve, &normalised_curve(&out_a));
    println!(
        "profile mode: tonal distance {before:.2} → {after:.2} dB at equal loudness, {aligned_before:.2} → {aligned_after:.2} dB aligned (offsets {offset_before:+.2}, {offset_after:+.2}); start gain off by {start_error:+.2} LU"
    );
    assert!(
        after <= (1.0 - PROFILE_TONAL_REDUCTION_MIN) * before,
        "{before:.2} → {after:.2}"
    );
    assert!(
        start_error.abs() <= START_GAIN_TOL_LU,
        "start gain off by {start_error}"
    );

    // Mastering the master again at the same settings changes it little.
    let again = scenario_for(&out_a).plan()?;
    let (out2, _) = master(&again, &out)?;
    let out2_a = analyze(&out2)?;
    let tonal_change = tonal_distance(&out_a, &out2_a);
    let lufs = |a: &Analysis| a.loudness.integrated_lufs.map_or(f64::NAN, |l| l.0);
    let largest_eq = again
        .settings
        .eq
        .match_eq
        .curve
        .iter()
        .map(|p| p.gain_db.abs())
        .fold(0.0, f64::max);
    println!(
        "re-master: tonal change {tonal_change:.2} dB mean, loudness {:.2} → {:.2} LUFS, largest EQ move {largest_eq:.2} dB, glue {}, dynamic EQ {}",
        lufs(&out_a),
        lufs(&out2_a),
        again.settings.glue.enabled,
        again.settings.dynamic_eq.enabled
    );
    assert!(
        tonal_change <= REMASTER_MAX_TONAL_CHANGE_DB,
        "{tonal_change:.2} dB"
    );
    assert!((lufs(&out2_a) - plan.target.integrated_lufs.0).abs() <= LOOP_TOL_LU);
    assert!(!again.settings.glue.enabled && !again.settings.multiband.enabled);
    assert!(!again.settings.saturation.enabled);
    Ok(())
}
