//! Every platform preset in `profiles/platforms.toml`, streaming and loud:
//! the plan's limiter and starting gain, refined by a loudness loop like
//! the engine's, must land within 0.1 LU of the target with the true peak
//! at or under the ceiling.

mod common;

use anyhow::{Context, Result, bail};
use common::*;
use lacquer_analysis::{analyze, integrated_loudness, true_peak_dbtp};
use lacquer_core::{AudioBuffer, ChainSettings, Intent, PlatformTable};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::music::demo_mix;

const RATE_HZ: u32 = 44_100;
const SECONDS: f64 = 4.0;
const LOUDNESS_TOL_LU: f64 = 0.1;
const LOOP_MAX_ITERATIONS: usize = 8;
/// Smallest loudness-per-gain slope the loop assumes (deep limiting).
const MIN_SLOPE: f64 = 0.05;

fn process(settings: &ChainSettings, input: &AudioBuffer) -> Result<AudioBuffer> {
    let mut chain = Chain::new(settings);
    chain.prepare(input.sample_rate(), 4096)?;
    Ok(chain.process_buffer(input)?.0)
}

#[test]
fn every_platform_preset_lands_on_target_under_its_ceiling() -> Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles/platforms.toml");
    let text = std::fs::read_to_string(path).with_context(|| path.to_owned())?;
    let table: PlatformTable = toml::from_str(&text).context("platforms.toml")?;
    assert!(!table.platforms.is_empty());
    let mix = demo_mix(RATE_HZ, SECONDS, -3.0, 11);
    let analysis = analyze(&mix)?;
    let profile = rock_profile();
    let mut seen: Vec<String> = Vec::new();
    for platform in &table.platforms {
        for intent in [Intent::Streaming, Intent::Loud] {
            let scenario = Scenario {
                deltas: deltas_vs_profile(&analysis, &profile),
                mix: analysis.clone(),
                scores: Some(scores(&[("rock", 0.9), ("pop", 0.1)])),
                profile: Some(profile.clone()),
                blend: vec![("rock".to_owned(), 1.0)],
                reference: None,
                platform: platform.clone(),
                options: lacquer_core::PlanOptions {
                    intent,
                    platform: platform.id.clone(),
                    ..lacquer_core::PlanOptions::default()
                },
                polarity: None,
            };
            let plan = scenario.plan()?;
            let target = plan.target.integrated_lufs.0;
            let ceiling = plan.target.ceiling_dbtp.0;
            // Presets with the same target, ceiling and intent plan alike.
            let key = format!("{intent:?} {target} {ceiling}");
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let mut settings = plan.settings.clone();
            let mut landed = None;
            let mut first_error = None;
            // Secant steps: into a limiter, loudness rises slower than the
            // gain, so the slope is measured rather than assumed to be 1.
            let mut previous: Option<(f64, f64)> = None;
            for iteration in 1..=LOOP_MAX_ITERATIONS {
                let out = process(&settings, &mix)?;
                let lufs = integrated_loudness(&out)?.context("silent output")?.0;
                let error = target - lufs;
                first_error.get_or_insert(error);
                if error.abs() <= LOUDNESS_TOL_LU {
                    let peak = true_peak_dbtp(&out)?.context("silent output")?.0;
                    landed = Some((lufs, peak, iteration));
                    break;
                }
                let slope = previous
                    .map(|(gain, level)| (lufs - level) / (settings.gain_db - gain))
                    .filter(|s| s.is_finite())
                    .map_or(1.0, |s| s.clamp(MIN_SLOPE, 1.0));
                previous = Some((settings.gain_db, lufs));
                settings.gain_db += error / slope;
            }
            let Some((lufs, peak, iterations)) = landed else {
                bail!(
                    "{} {intent:?}: loop did not reach {target} LUFS",
                    platform.id
                );
            };
            println!(
                "{:>12} {intent:?}: target {target:.1} LUFS / {ceiling:.1} dBTP → {lufs:.2} LUFS, {peak:.2} dBTP after {iterations} pass(es); start gain off by {:+.2} LU",
                platform.id,
                first_error.unwrap_or(0.0)
            );
            assert!(
                peak <= ceiling,
                "{}: true peak {peak} over {ceiling}",
                platform.id
            );
        }
    }
    Ok(())
}
