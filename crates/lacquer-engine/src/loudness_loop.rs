//! The re-measure / adjust loop: find the gain into the true-peak limiter
//! that lands the master on its integrated-loudness target.
//!
//! Why only gain and limiter: they are the last two stages, so everything
//! before them is run once and the loop re-runs only `gain → limiter` on that
//! pre-limiter buffer, measuring just integrated loudness and true peak.
//!
//! How it aims: output loudness L(g) as a function of the input gain g is
//! continuous and non-decreasing, with slope exactly 1 while the limiter is
//! idle and between 0 and 1 once it works. A [`LoudnessModel`] of the
//! pre-limiter signal predicts L(g) in milliseconds (within a few
//! hundredths of an LU up to about 8 dB of limiting), so the first pass is
//! run at the gain the model solves for, and usually lands inside
//! [`LOOP_AIM_LU`]. If it does not, the second pass aims with the model
//! shifted by what the first one measured; later passes take the secant
//! through the last two measured passes, clamped to [`MIN_SLOPE`, 1]. A
//! target the limiter cannot reach (asking for far more loudness than the
//! ceiling allows) drives the slope toward 0; [`MAX_STEP_DB`] and
//! [`MAX_LOOP_ITERATIONS`] bound the work, and the quality gate then
//! reports the miss instead of the loop hiding it. Only measured passes
//! are ever kept.

use crate::delivery::Quantizing;
use crate::error::EngineError;
use crate::loudness_model::LoudnessModel;
use crate::stream::{CHAIN_BLOCK_FRAMES, Meter, run_chain_beside};
use lacquer_analysis::Measured;
use lacquer_core::ChainSettings;
use lacquer_core::chain::LimiterSettings;
use lacquer_dsp::Processor;
use lacquer_dsp::chain::{Chain, ChainMeters};
use lacquer_io::{DEFAULT_SPILL_FRAMES, Spool, SpoolWriter};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// SPEC: |output LUFS-I − target| ≤ 0.1 LU.
pub const LOUDNESS_TOLERANCE_LU: f64 = 0.1;
/// The loop stops once it is this close, leaving room inside
/// [`LOUDNESS_TOLERANCE_LU`] for what happens after it (dither adds noise
/// 60+ dB below programme, an MP3 encode moves loudness by a few
/// hundredths of an LU).
pub const LOOP_AIM_LU: f64 = 0.02;
/// Bound on limiter passes (the issue asks for "at most a few").
pub const MAX_LOOP_ITERATIONS: usize = 5;
/// Smallest slope dL/dg the secant step trusts; below it the limiter is
/// saturated and a step would be huge.
pub const MIN_SLOPE: f64 = 0.1;
/// Largest single change of the input gain, dB.
pub const MAX_STEP_DB: f64 = 12.0;
/// When a pass's true peak still reads over the ceiling (it should not: the
/// limiter keeps its own margin), the next pass lowers the limiter's ceiling
/// by the overshoot plus this.
pub const CEILING_RETRY_MARGIN_DB: f64 = 0.05;

/// One pass of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopPass {
    /// Gain into the limiter, dB.
    pub gain_db: f64,
    /// Ceiling the limiter was set to, dBTP.
    pub limiter_ceiling_dbtp: f64,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    /// Largest gain reduction of the limiter in this pass, dB.
    pub limiter_max_reduction_db: f64,
    /// What the loudness model predicted for this pass before it ran, LUFS
    /// (absent in reports from before the model, and when it had nothing
    /// to go on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_lufs: Option<f64>,
}

/// What the loop did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopReport {
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    /// Loudness of the pre-limiter signal, LUFS.
    pub pre_limiter_lufs: f64,
    pub passes: Vec<LoopPass>,
    /// Index into `passes` of the pass that was kept.
    pub chosen_pass: usize,
    /// The kept pass is within [`LOOP_AIM_LU`] and at or under the ceiling.
    pub converged: bool,
}

impl LoopReport {
    pub fn chosen(&self) -> Option<&LoopPass> {
        self.passes.get(self.chosen_pass)
    }
}

/// What each pass hands on and measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassOutput {
    /// The limiter's float samples.
    #[default]
    Float,
    /// The samples an integer file of `bits` bits holds: TPDF-dithered
    /// from fixed seeds and rounded (the engine's `delivery` module), or
    /// only rounded when the limiter's output is already on the grid.
    Quantized { bits: u32 },
}

impl PassOutput {
    /// Bits and dither for the pass's quantiser, if it has one.
    fn quantize(self, dither: bool) -> Option<(u32, bool)> {
        match self {
            PassOutput::Float => None,
            PassOutput::Quantized { bits } => Some((bits, dither)),
        }
    }
}

/// The loop's result: the kept pass's audio, its meters and how it got there.
#[derive(Debug, Clone)]
pub struct LoudnessFit {
    /// What the pass handed on ([`PassOutput`]).
    pub output: Spool,
    /// Loudness and true peak of `output`, as the pass measured it (the
    /// first walk of its analysis).
    pub measured: Measured,
    pub limiter_meters: ChainMeters,
    pub report: LoopReport,
}

/// Runs `gain → limiter` on `pre_limiter` until the integrated loudness is
/// within [`LOOP_AIM_LU`] of `target_lufs` and the true peak is at or under
/// `ceiling_dbtp`, or the pass budget is spent (then the closest pass that
/// respects the ceiling is kept, or failing that the closest pass). `label`
/// names the file in errors. Each pass's output is kept in a spool that
/// moves to disk past `spill_frames` frames.
pub fn fit_loudness(
    pre_limiter: &Spool,
    target_lufs: f64,
    ceiling_dbtp: f64,
    limiter: &LimiterSettings,
    label: &Path,
) -> Result<LoudnessFit, EngineError> {
    check_target(target_lufs, ceiling_dbtp, label)?;
    let model = LoudnessModel::measure(pre_limiter, limiter, label)?;
    fit_loudness_with(
        pre_limiter,
        &model,
        target_lufs,
        ceiling_dbtp,
        limiter,
        label,
        PassOptions::default(),
    )
}

fn check_target(target_lufs: f64, ceiling_dbtp: f64, label: &Path) -> Result<(), EngineError> {
    if !target_lufs.is_finite() || !ceiling_dbtp.is_finite() {
        return Err(EngineError::BadTarget {
            path: label.to_path_buf(),
            target_lufs,
            ceiling_dbtp,
        });
    }
    Ok(())
}

/// How the loop's passes run and what they keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassOptions {
    /// A pass's output moves from memory to a temporary file past this
    /// many frames.
    pub spill_frames: usize,
    pub output: PassOutput,
}

impl Default for PassOptions {
    fn default() -> Self {
        Self {
            spill_frames: DEFAULT_SPILL_FRAMES,
            output: PassOutput::Float,
        }
    }
}

/// [`fit_loudness`] with a model of `pre_limiter` already made (for
/// example while the chain produced it; see
/// [`crate::loudness_model::ModelRecorder`]) and the passes run as
/// `options` says.
pub fn fit_loudness_with(
    pre_limiter: &Spool,
    model: &LoudnessModel,
    target_lufs: f64,
    ceiling_dbtp: f64,
    limiter: &LimiterSettings,
    label: &Path,
    options: PassOptions,
) -> Result<LoudnessFit, EngineError> {
    check_target(target_lufs, ceiling_dbtp, label)?;
    let PassOptions {
        spill_frames,
        output: pass_output,
    } = options;
    let pre_lufs = model
        .unlimited_lufs()
        .ok_or_else(|| EngineError::SilentInput {
            path: label.to_path_buf(),
        })?;

    let mut passes: Vec<LoopPass> = Vec::with_capacity(MAX_LOOP_ITERATIONS);
    // Only the latest pass's audio is kept (one full-length buffer, not
    // two): the best pass is nearly always the last one, and when it is not
    // it is run again at its settings, which gives the same samples.
    let mut best: Option<usize> = None;
    let mut latest: Option<Pass> = None;
    // The chain refuses gains outside its range; a target that would need
    // more is unreachable, and the loop ends at the bound so the gate can say
    // so with the measured loudness instead of the run failing.
    let (gain_lo_db, gain_hi_db) = lacquer_dsp::gain::GAIN_RANGE_DB;
    let gain_range = (gain_lo_db, gain_hi_db);
    let mut gain_db = model
        .solve_gain_db(target_lufs, ceiling_dbtp, gain_range)
        .unwrap_or(target_lufs - pre_lufs)
        .clamp(gain_lo_db, gain_hi_db);
    let mut scratch = Vec::new();
    let mut limiter_ceiling = ceiling_dbtp;
    let mut converged = false;

    for index in 0..MAX_LOOP_ITERATIONS {
        drop(latest.take());
        let pass = run_pass(
            pre_limiter,
            gain_db,
            limiter_ceiling,
            limiter,
            label,
            spill_frames,
            pass_output.quantize(true),
        )?;
        let lufs = pass.measured.integrated_lufs().map(|l| l.0);
        let peak = pass.measured.max_true_peak_dbtp().map(|d| d.0);
        passes.push(LoopPass {
            gain_db,
            limiter_ceiling_dbtp: limiter_ceiling,
            integrated_lufs: lufs,
            true_peak_dbtp: peak,
            limiter_max_reduction_db: pass.meters.limiter.map_or(0.0, |m| m.max_db),
            predicted_lufs: model.predict_lufs(gain_db, limiter_ceiling, &mut scratch),
        });
        latest = Some(pass);

        let error_lu = lufs.map_or(f64::INFINITY, |l| target_lufs - l);
        let under_ceiling = peak.is_none_or(|p| p <= ceiling_dbtp);
        if best.is_none_or(|b| is_better(&passes[index], &passes[b], target_lufs, ceiling_dbtp)) {
            best = Some(index);
        }
        if error_lu.abs() <= LOOP_AIM_LU && under_ceiling {
            converged = true;
            break;
        }
        if let Some(p) = peak.filter(|&p| p > ceiling_dbtp) {
            limiter_ceiling -= p - ceiling_dbtp + CEILING_RETRY_MARGIN_DB;
        }
        if !error_lu.is_finite() {
            break;
        }
        let next_gain_db = match (passes.len(), lufs) {
            // After one pass: the model, corrected by what it got wrong there.
            (1, Some(measured)) => passes[index].predicted_lufs.and_then(|predicted| {
                model.solve_gain_db(
                    target_lufs + (predicted - measured),
                    limiter_ceiling,
                    gain_range,
                )
            }),
            _ => None,
        }
        // Near the answer, the secant through two measured passes is the
        // better guide.
        .unwrap_or_else(|| gain_db + next_step_db(&passes, error_lu))
        .clamp(gain_lo_db, gain_hi_db);
        if next_gain_db == gain_db && peak.is_none_or(|p| p <= ceiling_dbtp) {
            // Pinned at the chain's gain bound: another pass would repeat this one.
            break;
        }
        gain_db = next_gain_db;
    }

    let chosen_pass = best.ok_or_else(|| EngineError::SilentInput {
        path: label.to_path_buf(),
    })?;
    let rerun = |quantize| {
        let p = &passes[chosen_pass];
        run_pass(
            pre_limiter,
            p.gain_db,
            p.limiter_ceiling_dbtp,
            limiter,
            label,
            spill_frames,
            quantize,
        )
    };
    let mut kept = match latest {
        Some(kept) if chosen_pass + 1 == passes.len() => kept,
        _ => rerun(pass_output.quantize(true))?,
    };
    if pass_output != PassOutput::Float && kept.raw_on_grid {
        // Already exactly representable (rare: a limiter's output almost
        // never is): the file holds it undithered, as the encoder would.
        drop(kept);
        kept = rerun(pass_output.quantize(false))?;
    }
    Ok(LoudnessFit {
        output: kept.output,
        measured: kept.measured,
        limiter_meters: kept.meters,
        report: LoopReport {
            target_lufs,
            ceiling_dbtp,
            pre_limiter_lufs: pre_lufs,
            passes,
            chosen_pass,
            converged,
        },
    })
}

/// One pass's audio, meters and readings.
struct Pass {
    output: Spool,
    meters: ChainMeters,
    measured: Measured,
    /// The limiter's output was on the quantiser's grid throughout (false
    /// when the pass does not quantise).
    raw_on_grid: bool,
}

/// `gain → limiter` over the whole pre-limiter signal, quantised to
/// `quantize`'s bits (with dither when it says so) if given, measuring the
/// result's loudness and true peak as it passes (no second read).
fn run_pass(
    pre_limiter: &Spool,
    gain_db: f64,
    limiter_ceiling_dbtp: f64,
    limiter: &LimiterSettings,
    label: &Path,
    spill_frames: usize,
    quantize: Option<(u32, bool)>,
) -> Result<Pass, EngineError> {
    let settings = ChainSettings {
        gain_db,
        limiter: LimiterSettings {
            enabled: true,
            ceiling_dbtp: limiter_ceiling_dbtp,
            ..limiter.clone()
        },
        ..ChainSettings::default()
    };
    let dsp_err = |source| EngineError::Dsp {
        path: label.to_path_buf(),
        source,
    };
    let rate = pre_limiter.sample_rate();
    let mut chain = Chain::new(&settings);
    chain.prepare(rate, CHAIN_BLOCK_FRAMES).map_err(dsp_err)?;
    let mut writer = SpoolWriter::new(rate, 2, spill_frames).expecting(pre_limiter.len());
    let mut meter = Meter::new(rate, label)?;
    let mut quantizing = quantize.map(|(bits, dither)| Quantizing::new(bits, dither));
    // The limiter (and the quantiser) on one side; the meters and the
    // spool, which only read what it made, beside it.
    run_chain_beside(
        &mut chain,
        pre_limiter,
        label,
        |piece, batch| match &mut quantizing {
            Some(q) => q.push(piece, |delivered| {
                batch.append(delivered);
                Ok(())
            }),
            None => {
                batch.append(piece);
                Ok(())
            }
        },
        |piece| {
            meter.push(piece)?;
            writer.push(piece).map_err(|source| EngineError::Convert {
                path: label.to_path_buf(),
                step: "keeping the limited audio",
                source,
            })
        },
    )?;
    let output = writer.finish().map_err(|source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "keeping the limited audio",
        source,
    })?;
    Ok(Pass {
        output,
        meters: chain.meters(),
        measured: meter.finish()?,
        raw_on_grid: quantizing.is_some_and(|q| q.raw_on_grid()),
    })
}

/// The gain change for the next pass: error over the secant slope of the
/// last two passes (slope 1 after the first), clamped.
fn next_step_db(passes: &[LoopPass], error_lu: f64) -> f64 {
    let slope = match passes {
        [.., a, b] => match (a.integrated_lufs, b.integrated_lufs) {
            (Some(la), Some(lb)) if (b.gain_db - a.gain_db).abs() > 1e-9 => {
                (lb - la) / (b.gain_db - a.gain_db)
            }
            _ => 1.0,
        },
        _ => 1.0,
    };
    let slope = if slope.is_finite() {
        slope.clamp(MIN_SLOPE, 1.0)
    } else {
        1.0
    };
    (error_lu / slope).clamp(-MAX_STEP_DB, MAX_STEP_DB)
}

/// Prefers passes at or under the ceiling, then the smaller loudness error.
fn is_better(candidate: &LoopPass, incumbent: &LoopPass, target: f64, ceiling: f64) -> bool {
    let ok = |p: &LoopPass| p.true_peak_dbtp.is_none_or(|tp| tp <= ceiling);
    let err = |p: &LoopPass| {
        p.integrated_lufs
            .map_or(f64::INFINITY, |l| (target - l).abs())
    };
    match (ok(candidate), ok(incumbent)) {
        (true, false) => true,
        (false, true) => false,
        _ => err(candidate) < err(incumbent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(gain_db: f64, lufs: f64) -> LoopPass {
        LoopPass {
            gain_db,
            limiter_ceiling_dbtp: -1.0,
            integrated_lufs: Some(lufs),
            true_peak_dbtp: Some(-1.5),
            limiter_max_reduction_db: 0.0,
            predicted_lufs: None,
        }
    }

    #[test]
    fn first_step_is_plain_gain_then_secant() {
        assert_eq!(next_step_db(&[pass(0.0, -20.0)], 6.0), 6.0);
        // Slope 0.5 between the last two passes: 1 LU short needs 2 dB.
        let passes = [pass(0.0, -20.0), pass(6.0, -17.0)];
        assert!((next_step_db(&passes, 1.0) - 2.0).abs() < 1e-12);
        // A saturated limiter (slope ~0) is clamped to MIN_SLOPE and the
        // step to MAX_STEP_DB.
        let flat = [pass(0.0, -9.0), pass(6.0, -8.99)];
        assert_eq!(next_step_db(&flat, 5.0), MAX_STEP_DB);
    }

    #[test]
    fn passes_under_the_ceiling_win_over_closer_ones_above_it() {
        let mut over = pass(3.0, -14.0);
        over.true_peak_dbtp = Some(-0.5);
        let under = pass(2.0, -14.3);
        assert!(is_better(&under, &over, -14.0, -1.0));
        assert!(!is_better(&over, &under, -14.0, -1.0));
        assert!(is_better(&pass(2.0, -14.05), &under, -14.0, -1.0));
    }
}
