//! Hand-built inputs for the planner's tests: analyses, a profile, platforms
//! and deltas that follow the contracts in `lacquer-core` (sign target − mix,
//! loudness-normalised curves, range excess 0 inside a profile's range).
//! Real profiles are generated elsewhere; these are fixed so snapshots stay
//! stable.
#![allow(dead_code)]

use lacquer_core::analysis::{
    DynamicsAnalysis, HealthAnalysis, LoudnessAnalysis, SIX_BAND_EDGES_HZ, SixBands,
    StereoAnalysis, TonalAnalysis,
};
use lacquer_core::profile::{
    PROFILE_SCHEMA_VERSION, ProfileDynamics, ProfileProvenance, ProfileStereo, ProfileStyle,
    ProfileTonal,
};
use lacquer_core::{
    ANALYSIS_SCHEMA_VERSION, Analysis, Db, DeltaTarget, Deltas, GenreScore, GenreScores, Hz, Lufs,
    Platform, Profile, TargetRange, TonalDeltas,
};

pub const CENTRES_HZ: [f64; 31] = [
    20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0,
    500.0, 630.0, 800.0, 1_000.0, 1_250.0, 1_600.0, 2_000.0, 2_500.0, 3_150.0, 4_000.0, 5_000.0,
    6_300.0, 8_000.0, 10_000.0, 12_500.0, 16_000.0, 20_000.0,
];

/// A plausible loudness-normalised MID curve of a finished master (dB
/// relative to the integrated loudness): full lows, falling about 3 dB per
/// octave above 150 Hz, rolling off under 40 Hz.
pub fn genre_curve_db(f_hz: f64) -> f64 {
    let above = (f_hz / 150.0).log2();
    let base = if above > 0.0 {
        -9.0 - 3.0 * above
    } else {
        -9.0
    };
    let rolloff = if f_hz < 40.0 {
        -6.0 * (40.0 / f_hz).log2()
    } else {
        0.0
    };
    base + rolloff
}

/// What a mix looks like: its loudness-normalised MID curve and its meters.
#[derive(Debug, Clone)]
pub struct Mix {
    pub curve_db: Vec<f64>,
    pub lufs: f64,
    pub true_peak_dbtp: f64,
    pub lra_lu: f64,
    pub crest_db: f64,
    pub side_below_mid_db: f64,
    pub correlation: f64,
    pub correlation_below_150hz: f64,
    pub transient_density: f64,
    pub source_channels: u32,
    pub phase_issue: bool,
}

impl Mix {
    /// A mix whose tone already sits on the genre curve.
    pub fn on_curve() -> Self {
        Self {
            curve_db: CENTRES_HZ.iter().map(|&f| genre_curve_db(f)).collect(),
            lufs: -18.0,
            true_peak_dbtp: -6.0,
            lra_lu: 6.0,
            crest_db: 12.0,
            side_below_mid_db: 8.0,
            correlation: 0.7,
            correlation_below_150hz: 0.95,
            transient_density: 2.0,
            source_channels: 2,
            phase_issue: false,
        }
    }

    /// Adds `gain_db(f)` to the curve.
    pub fn shaped(mut self, gain_db: impl Fn(f64) -> f64) -> Self {
        for (c, &f) in self.curve_db.iter_mut().zip(&CENTRES_HZ) {
            *c += gain_db(f);
        }
        self
    }

    pub fn analysis(&self) -> Analysis {
        let mid_abs: Vec<Db> = self.curve_db.iter().map(|c| Db(c + self.lufs)).collect();
        let side_abs: Vec<Db> = mid_abs
            .iter()
            .map(|m| Db(m.0 - self.side_below_mid_db))
            .collect();
        let plr = self.true_peak_dbtp - self.lufs;
        let sample_peak = self.true_peak_dbtp - 0.3;
        let ratio_db = self.side_below_mid_db;
        let share = 1.0 / (1.0 + 10f64.powf(ratio_db / 10.0));
        Analysis {
            schema_version: ANALYSIS_SCHEMA_VERSION,
            sample_rate_hz: 44_100,
            source_channels: self.source_channels,
            frames: 44_100 * 180,
            duration_seconds: 180.0,
            loudness: LoudnessAnalysis {
                integrated_lufs: Some(Lufs(self.lufs)),
                short_term_max_lufs: Some(Lufs(self.lufs + 4.0)),
                momentary_max_lufs: Some(Lufs(self.lufs + 6.0)),
                loudness_range_lu: Some(Db(self.lra_lu)),
                short_term_hop_seconds: 1.0,
                short_term_lufs: Vec::new(),
                true_peak_dbtp: vec![Some(Db(self.true_peak_dbtp)); 2],
                max_true_peak_dbtp: Some(Db(self.true_peak_dbtp)),
                sample_peak_dbfs: vec![Some(Db(sample_peak)); 2],
                max_sample_peak_dbfs: Some(Db(sample_peak)),
                crest_factor_db: Some(Db(self.crest_db)),
                plr_db: Some(Db(plr)),
            },
            tonal: Some(TonalAnalysis {
                third_octave_centres_hz: CENTRES_HZ.iter().map(|&f| Hz(f)).collect(),
                mid_db: mid_abs,
                side_db: side_abs,
                floor_db: Db(-200.0),
                bands_db: SixBands::default(),
                frames_used: 1000,
                frames_total: 1100,
            }),
            dynamics: DynamicsAnalysis {
                short_term_p10_lufs: Some(Lufs(self.lufs - self.lra_lu * 0.7)),
                short_term_p50_lufs: Some(Lufs(self.lufs)),
                short_term_p90_lufs: Some(Lufs(self.lufs + 2.0)),
                short_term_p95_lufs: Some(Lufs(self.lufs + self.lra_lu * 0.3)),
                transient_density_per_second: self.transient_density,
                transient_sharpness_db: Some(Db(8.0)),
                low_end_modulation_db: Some(Db(2.0)),
            },
            stereo: StereoAnalysis {
                correlation: Some(self.correlation),
                correlation_below_150hz: Some(self.correlation_below_150hz),
                mid_side_ratio_db: Some(Db(ratio_db)),
                ratio_limit_db: Db(60.0),
                width_per_band: Some(SixBands::from_array([share; 6])),
                mono_sum_loss_db: Some(Db(1.0)),
                negative_correlation_share: 0.0,
                phase_issue: self.phase_issue,
            },
            health: HealthAnalysis {
                clipped_runs: 0,
                clip_run_min_samples: 3,
                dc_offset: vec![0.0, 0.0],
                silence_share: 0.0,
                mono_in_stereo: self.source_channels == 2 && self.side_below_mid_db >= 60.0,
                headroom_db: Some(Db(-sample_peak)),
            },
        }
    }
}

pub fn range(low: f64, typical: f64, high: f64) -> TargetRange {
    TargetRange { low, typical, high }
}

/// A rock-like profile on [`genre_curve_db`]: masters agree closely in the
/// mids (1.5 dB spread) and less at the extremes (4 dB).
pub fn rock_profile() -> Profile {
    profile_named("rock", 0.6, 0.4, 0.5)
}

pub fn profile_named(name: &str, glue: f64, multiband: f64, saturation: f64) -> Profile {
    Profile {
        schema_version: PROFILE_SCHEMA_VERSION,
        name: name.to_owned(),
        description: format!("test profile {name}"),
        provenance: ProfileProvenance {
            built_by: "tests".to_owned(),
            engine_version: "0.1.0".to_owned(),
            tracks: 40,
            clips: 120,
            source_hash: "0".repeat(64),
            sources: "hand-built for the planner tests".to_owned(),
        },
        tonal: ProfileTonal {
            third_octave_centres_hz: CENTRES_HZ.iter().map(|&f| Hz(f)).collect(),
            mid_db: CENTRES_HZ.iter().map(|&f| Db(genre_curve_db(f))).collect(),
            side_db: CENTRES_HZ
                .iter()
                .map(|&f| Db(genre_curve_db(f) - 8.0))
                .collect(),
            mid_spread_db: CENTRES_HZ
                .iter()
                .map(|&f| {
                    Db(if (60.0..=10_000.0).contains(&f) {
                        1.5
                    } else {
                        4.0
                    })
                })
                .collect(),
        },
        dynamics: ProfileDynamics {
            crest_db: range(9.0, 11.0, 13.0),
            plr_db: range(8.0, 10.0, 12.0),
            lra_lu: range(4.0, 6.0, 8.0),
            integrated_lufs: range(-11.0, -8.5, -7.0),
        },
        stereo: ProfileStereo {
            width: range(0.1, 0.14, 0.2),
            mono_below_hz: 120.0,
            low_end_correlation_min: 0.8,
        },
        style: ProfileStyle {
            glue,
            multiband,
            saturation,
        },
    }
}

pub fn spotify() -> Platform {
    Platform {
        id: "spotify".to_owned(),
        name: "Spotify".to_owned(),
        target_lufs: Some(-14.0),
        ceiling_dbtp: -1.0,
        note: String::new(),
    }
}

pub fn apple_music() -> Platform {
    Platform {
        id: "apple_music".to_owned(),
        name: "Apple Music".to_owned(),
        target_lufs: Some(-16.0),
        ceiling_dbtp: -1.0,
        note: String::new(),
    }
}

pub fn cd() -> Platform {
    Platform {
        id: "cd".to_owned(),
        name: "CD".to_owned(),
        target_lufs: None,
        ceiling_dbtp: -0.3,
        note: String::new(),
    }
}

/// Loudness-normalised MID curve of an analysis (dB re its integrated
/// loudness).
pub fn normalised_curve(a: &Analysis) -> Vec<f64> {
    let lufs = a.loudness.integrated_lufs.map_or(0.0, |l| l.0);
    a.tonal
        .as_ref()
        .map(|t| t.mid_db.iter().map(|m| m.0 - lufs).collect())
        .unwrap_or_default()
}

/// Mean |target − mix| over 40 Hz–16 kHz, the figure reference mode must
/// halve.
pub fn mean_abs_db(centres: &[f64], target: &[f64], mix: &[f64]) -> f64 {
    let diffs: Vec<f64> = centres
        .iter()
        .zip(target.iter().zip(mix))
        .filter(|(f, _)| (40.0..=16_000.0).contains(*f))
        .map(|(_, (t, m))| (t - m).abs())
        .collect();
    diffs.iter().sum::<f64>() / diffs.len().max(1) as f64
}

/// [`mean_abs_db`] after sliding the target by the level that fits the mix
/// best (the median difference, which minimises a mean absolute error):
/// the shape distance the planner aligns on. Returns (distance, offset).
pub fn aligned_mean_abs_db(centres: &[f64], target: &[f64], mix: &[f64]) -> (f64, f64) {
    let mut diffs: Vec<f64> = centres
        .iter()
        .zip(target.iter().zip(mix))
        .filter(|(f, _)| (40.0..=16_000.0).contains(*f))
        .map(|(_, (t, m))| t - m)
        .collect();
    diffs.sort_by(f64::total_cmp);
    let median = match diffs.len() {
        0 => 0.0,
        n if n % 2 == 1 => diffs[n / 2],
        n => 0.5 * (diffs[n / 2 - 1] + diffs[n / 2]),
    };
    let distance =
        diffs.iter().map(|d| (d - median).abs()).sum::<f64>() / diffs.len().max(1) as f64;
    (distance, median)
}

/// Deltas the way the contract describes them: target − mix per band,
/// smoothed over three neighbouring 1/3 octaves; broad bands energy-weighted
/// by the target; dynamics as range excess (profile) or plain difference
/// (reference).
pub fn deltas_from_curves(
    centres: &[f64],
    target_curve: &[f64],
    mix_curve: &[f64],
    target: DeltaTarget,
) -> TonalDeltas {
    let _ = target;
    let raw: Vec<f64> = target_curve
        .iter()
        .zip(mix_curve)
        .map(|(t, m)| t - m)
        .collect();
    let smoothed: Vec<f64> = (0..raw.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(raw.len() - 1);
            raw[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
        })
        .collect();
    let band = |(low, high): (f64, f64)| {
        let (mut num, mut den) = (0.0, 0.0);
        for ((&f, &d), &t) in centres.iter().zip(&raw).zip(target_curve) {
            if f >= low && f < high {
                let w = 10f64.powf(t / 10.0);
                num += w * d;
                den += w;
            }
        }
        Db(if den > 0.0 { num / den } else { 0.0 })
    };
    let bands = SixBands::from_array(std::array::from_fn(|i| band(SIX_BAND_EDGES_HZ[i])));
    TonalDeltas {
        third_octave_centres_hz: centres.iter().map(|&f| Hz(f)).collect(),
        mid_db: smoothed.iter().map(|&d| Db(d)).collect(),
        side_db: smoothed.iter().map(|&d| Db(d)).collect(),
        mid_compared: vec![true; centres.len()],
        side_compared: vec![true; centres.len()],
        bands_db: bands,
        mean_abs_db: Db(mean_abs_db(centres, target_curve, mix_curve)),
    }
}

/// Deltas of a mix against a profile.
pub fn deltas_vs_profile(mix: &Analysis, profile: &Profile) -> Deltas {
    let centres: Vec<f64> = profile
        .tonal
        .third_octave_centres_hz
        .iter()
        .map(|h| h.0)
        .collect();
    let target_curve: Vec<f64> = profile.tonal.mid_db.iter().map(|d| d.0).collect();
    let mix_curve = normalised_curve(mix);
    let target = DeltaTarget::Profile {
        names: vec![profile.name.clone()],
        weights: vec![1.0],
    };
    let excess = |r: &TargetRange, v: Option<Db>| v.map(|v| Db(-r.excess(v.0)));
    let d = &profile.dynamics;
    let share = mix
        .stereo
        .mid_side_ratio_db
        .map(|r| 1.0 / (1.0 + 10f64.powf(r.0 / 10.0)));
    Deltas {
        target: target.clone(),
        tonal: (!mix_curve.is_empty())
            .then(|| deltas_from_curves(&centres, &target_curve, &mix_curve, target)),
        loudness_lu: None,
        crest_db: excess(&d.crest_db, mix.loudness.crest_factor_db),
        plr_db: excess(&d.plr_db, mix.loudness.plr_db),
        lra_lu: excess(&d.lra_lu, mix.loudness.loudness_range_lu),
        width: share.map(|w| -profile.stereo.width.excess(w)),
        low_end_correlation: mix
            .stereo
            .correlation_below_150hz
            .map(|c| (profile.stereo.low_end_correlation_min - c).max(0.0)),
    }
}

/// Deltas of a mix against a reference track.
pub fn deltas_vs_reference(mix: &Analysis, reference: &Analysis) -> Deltas {
    let centres: Vec<f64> = mix
        .tonal
        .as_ref()
        .map(|t| t.third_octave_centres_hz.iter().map(|h| h.0).collect())
        .unwrap_or_default();
    let target = DeltaTarget::Reference {
        path: "reference.wav".to_owned(),
    };
    let diff = |t: Option<Db>, m: Option<Db>| t.zip(m).map(|(t, m)| Db(t.0 - m.0));
    let share = |a: &Analysis| {
        a.stereo
            .mid_side_ratio_db
            .map(|r| 1.0 / (1.0 + 10f64.powf(r.0 / 10.0)))
    };
    let (mix_curve, ref_curve) = (normalised_curve(mix), normalised_curve(reference));
    Deltas {
        target: target.clone(),
        tonal: (!mix_curve.is_empty() && mix_curve.len() == ref_curve.len())
            .then(|| deltas_from_curves(&centres, &ref_curve, &mix_curve, target)),
        loudness_lu: reference
            .loudness
            .integrated_lufs
            .zip(mix.loudness.integrated_lufs)
            .map(|(r, m)| r - m),
        crest_db: diff(
            reference.loudness.crest_factor_db,
            mix.loudness.crest_factor_db,
        ),
        plr_db: diff(reference.loudness.plr_db, mix.loudness.plr_db),
        lra_lu: diff(
            reference.loudness.loudness_range_lu,
            mix.loudness.loudness_range_lu,
        ),
        width: share(reference).zip(share(mix)).map(|(r, m)| r - m),
        low_end_correlation: reference
            .stereo
            .correlation_below_150hz
            .zip(mix.stereo.correlation_below_150hz)
            .map(|(r, m)| r - m),
    }
}

pub fn scores(pairs: &[(&str, f64)]) -> GenreScores {
    GenreScores::new(
        "genre-test",
        pairs
            .iter()
            .map(|&(label, probability)| GenreScore {
                label: label.to_owned(),
                probability,
            })
            .collect(),
        12,
    )
}

/// Rounds every float in a JSON value to two decimals, so snapshots do not
/// churn on the last bits of a computation.
pub fn rounded(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => {
                let r = (f * 100.0).round() / 100.0;
                // −0.0 and 0.0 must snapshot the same.
                Value::from(if r == 0.0 { 0.0 } else { r })
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, rounded(v))).collect())
        }
        other => other,
    }
}

/// One planning situation, owning everything `PlanInput` borrows.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub mix: Analysis,
    pub scores: Option<GenreScores>,
    pub profile: Option<Profile>,
    pub blend: Vec<(String, f64)>,
    pub deltas: Deltas,
    pub reference: Option<Analysis>,
    pub platform: Platform,
    pub options: lacquer_core::PlanOptions,
    pub polarity: Option<lacquer_plan::PolarityFix>,
}

impl Scenario {
    /// A mix against the rock profile, streaming to Spotify.
    pub fn vs_rock(mix: &Mix) -> Self {
        let analysis = mix.analysis();
        let profile = rock_profile();
        let deltas = deltas_vs_profile(&analysis, &profile);
        Self {
            mix: analysis,
            scores: Some(scores(&[("rock", 0.82), ("pop", 0.12), ("jazz", 0.06)])),
            profile: Some(profile),
            blend: vec![("rock".to_owned(), 1.0)],
            deltas,
            reference: None,
            platform: spotify(),
            options: lacquer_core::PlanOptions::default(),
            polarity: None,
        }
    }

    /// A mix matched to a reference track.
    pub fn vs_reference(mix: &Mix, reference: &Mix) -> Self {
        let analysis = mix.analysis();
        let reference = reference.analysis();
        let deltas = deltas_vs_reference(&analysis, &reference);
        Self {
            mix: analysis,
            scores: None,
            profile: None,
            blend: Vec::new(),
            deltas,
            reference: Some(reference),
            platform: spotify(),
            options: lacquer_core::PlanOptions {
                intent: lacquer_core::Intent::Reference,
                ..lacquer_core::PlanOptions::default()
            },
            polarity: None,
        }
    }

    pub fn input(&self) -> lacquer_plan::PlanInput<'_> {
        lacquer_plan::PlanInput {
            analysis: &self.mix,
            polarity: self.polarity.as_ref(),
            genre: self.scores.as_ref(),
            profile: self.profile.as_ref(),
            profile_blend: &self.blend,
            deltas: &self.deltas,
            reference: self.reference.as_ref(),
            platform: &self.platform,
            options: &self.options,
        }
    }

    pub fn plan(&self) -> Result<lacquer_core::Plan, lacquer_plan::PlanError> {
        lacquer_plan::plan(&self.input())
    }
}

/// Presence and air 3–4 dB hot: a bright, harsh mix.
pub fn bright_mix() -> Mix {
    Mix::on_curve().shaped(|f| {
        if (2_000.0..=6_300.0).contains(&f) {
            4.0
        } else if f > 6_300.0 {
            2.5
        } else {
            0.0
        }
    })
}

/// Everything above 2.5 kHz 3–5 dB down: a dull mix.
pub fn dull_mix() -> Mix {
    Mix::on_curve().shaped(|f| {
        if f >= 2_500.0 {
            -3.0 - 2.0 * ((f / 2_500.0).log2() / 2.7).min(1.0)
        } else {
            0.0
        }
    })
}

/// A finished master already on the profile: −14 LUFS, −1.2 dBTP, tone
/// within ±0.3 dB of the curve.
pub fn on_target_master() -> Mix {
    let mut mix = Mix::on_curve().shaped(|f| 0.3 * (f.log2() * 2.0).sin());
    mix.lufs = -14.0;
    mix.true_peak_dbtp = -1.2;
    mix.crest_db = 11.5;
    mix.lra_lu = 6.0;
    mix
}

/// A very dynamic, open mix (PLR 16, LRA 11): dynamics well outside rock.
pub fn dynamic_mix() -> Mix {
    let mut mix = bright_mix();
    mix.lufs = -20.0;
    mix.true_peak_dbtp = -2.0;
    mix.crest_db = 17.0;
    mix.lra_lu = 11.0;
    mix.transient_density = 4.0;
    mix
}
