//! From a decided plan to a gated, encoded master and its report.
//!
//! This half of the pipeline does not care how the plan was made (genre
//! profile, reference track or a hand-written chain in a test): it runs the
//! chain and the loudness loop, encodes, measures the delivered samples and
//! gates them. Keeping it separate lets tests drive the engine with exact
//! settings and lets `lacquer plan` stop before it.

use crate::error::EngineError;
use crate::gate::{DynamicsTarget, GateInput, run_gate};
use crate::render::{Encoded, ExportOptions, RenderTarget, render_to};
use crate::report::{
    Device, InputSummary, MasterReport, OutputSummary, REPORT_SCHEMA_VERSION, ReportWarning,
    StageSeconds,
};
use crate::tonal::TonalCurve;
use lacquer_core::{Analysis, Deltas, ENGINE_NAME, ENGINE_VERSION, GenreScores, Plan};
use lacquer_io::{Decoded, SourceInfo, Spool};
use std::time::Instant;

/// What the master is steered toward, decided before any processing.
#[derive(Debug, Clone, PartialEq)]
pub struct Steering {
    pub plan: Plan,
    pub genre: Option<GenreScores>,
    pub deltas: Option<Deltas>,
    pub tonal_target: Option<TonalCurve>,
    pub dynamics_target: Option<DynamicsTarget>,
    /// Low-end correlation the profile's masters keep, if known.
    pub low_end_correlation_min: Option<f64>,
    /// Notes from deciding (low genre confidence, …).
    pub warnings: Vec<ReportWarning>,
    /// The input measured after a polarity correction, when there was one:
    /// the plan was made from it, and the gate compares the output with it
    /// (the uncorrected input's tone and width describe a cancelled mid).
    pub corrected_input: Option<Analysis>,
}

impl Steering {
    /// A plan with nothing else known (tests, replays of a stored plan).
    pub fn from_plan(plan: Plan) -> Self {
        Self {
            plan,
            genre: None,
            deltas: None,
            tonal_target: None,
            dynamics_target: None,
            low_end_correlation_min: None,
            warnings: Vec::new(),
            corrected_input: None,
        }
    }
}

/// A decoded input, held for the passes that read it (in memory, or in a
/// temporary file when it is long).
#[derive(Debug, Clone)]
pub struct LoadedInput {
    /// Always stereo (a mono source's channel twice).
    pub spool: Spool,
    pub source: SourceInfo,
}

impl From<Decoded> for LoadedInput {
    fn from(decoded: Decoded) -> Self {
        Self {
            spool: Spool::from_buffer(decoded.buffer),
            source: decoded.source,
        }
    }
}

/// A finished master, not yet under its name.
#[derive(Debug)]
pub struct Mastered {
    /// The encoded file, in memory or staged beside its destination.
    pub encoded: Encoded,
    /// What a decoder returns for the file.
    pub delivered: Spool,
    pub report: MasterReport,
}

/// Runs the plan on a decoded input, encodes in memory, measures and
/// gates. `input_analysis` is the input as decoded and measured;
/// `started` is when work on this file began (for `runtime_seconds`).
pub fn master_decoded(
    input: impl Into<LoadedInput>,
    input_analysis: &Analysis,
    steering: Steering,
    export: &ExportOptions,
    device: Device,
    started: Instant,
) -> Result<Mastered, EngineError> {
    master_loaded(
        input.into(),
        input_analysis,
        steering,
        export,
        device,
        started,
        &RenderTarget::default(),
    )
}

/// [`master_decoded`] with the encoded file and the intermediate audio
/// placed as `target` says.
pub fn master_loaded(
    input: LoadedInput,
    input_analysis: &Analysis,
    steering: Steering,
    export: &ExportOptions,
    device: Device,
    started: Instant,
    target: &RenderTarget,
) -> Result<Mastered, EngineError> {
    let LoadedInput { spool, source } = input;
    let source_rate = spool.sample_rate();
    let path = &source.path;
    // Ownership of the samples passes on, so render can free them early.
    let rendered = render_to(spool, &steering.plan, export, path, target)?;
    let output_analysis = rendered.output_analysis;
    let gate_started = Instant::now();
    let gate = run_gate(&GateInput {
        input: steering.corrected_input.as_ref().unwrap_or(input_analysis),
        output: &output_analysis,
        target: &steering.plan.target,
        tonal_target: steering.tonal_target.as_ref(),
        dynamics_target: steering.dynamics_target.as_ref(),
        low_end_correlation_min: steering.low_end_correlation_min,
        limiter_max_reduction_db: rendered.meters.limiter.map(|m| m.max_db),
    });
    let gate_seconds = gate_started.elapsed().as_secs_f64();

    let mut warnings: Vec<ReportWarning> = input_analysis
        .warnings()
        .into_iter()
        .map(|w| ReportWarning {
            code: w.code().to_owned(),
            message: w.message(),
        })
        .collect();
    warnings.extend(steering.warnings.iter().cloned());
    let lp = &rendered.loudness_loop;
    if !lp.converged {
        warnings.push(ReportWarning {
            code: "loudness_loop_not_converged".into(),
            message: format!(
                "the loudness loop did not reach {:.1} LUFS within {} passes (closest {}); the gate shows the result",
                lp.target_lufs,
                lp.passes.len(),
                lp.chosen()
                    .and_then(|p| p.integrated_lufs)
                    .map_or("n/a".into(), |l| format!("{l:.2} LUFS"))
            ),
        });
    }
    if rendered.encode_attempts.len() > 1 {
        warnings.push(ReportWarning {
            code: "mp3_relimited".into(),
            message: format!(
                "the MP3 encode raised the true peak over the ceiling; re-limited and re-encoded ({} encodes)",
                rendered.encode_attempts.len()
            ),
        });
    }
    if rendered.delivered.sample_rate() != source_rate {
        warnings.push(ReportWarning {
            code: "sample_rate_converted".into(),
            message: format!(
                "converted from {} Hz to {} Hz before the limiter",
                source_rate,
                rendered.delivered.sample_rate()
            ),
        });
    }
    for c in gate.failures() {
        warnings.push(ReportWarning {
            code: format!("gate_failed_{}", c.name),
            message: format!("quality gate: {} failed: {}", c.name, c.detail),
        });
    }

    let source = &source;
    let model_version = steering.genre.as_ref().map(|g| g.model_version.clone());
    let report = MasterReport {
        schema_version: REPORT_SCHEMA_VERSION,
        engine_name: ENGINE_NAME.to_owned(),
        engine_version: ENGINE_VERSION.to_owned(),
        model_version,
        input: InputSummary {
            path: source.path.clone(),
            container: source.container.clone(),
            codec: source.codec.clone(),
            sample_rate_hz: source.sample_rate,
            channels: source.channels,
            bits_per_sample: source.bits_per_sample,
            duration_seconds: source.duration_seconds,
        },
        output: OutputSummary {
            path: None,
            format: export.format.to_string(),
            sample_rate_hz: rendered.delivered.sample_rate(),
            bytes: rendered.encoded.len(),
        },
        input_analysis: input_analysis.clone(),
        output_analysis,
        genre: steering.genre,
        deltas: steering.deltas,
        tonal_target: steering.tonal_target,
        plan: steering.plan,
        loudness_loop: rendered.loudness_loop,
        encode_attempts: rendered.encode_attempts,
        meters: rendered.meters,
        gate,
        warnings,
        runtime_seconds: started.elapsed().as_secs_f64(),
        stage_seconds: StageSeconds {
            chain: rendered.seconds.chain,
            loudness_loop: rendered.seconds.loudness_loop,
            encode: rendered.seconds.encode,
            output_analysis: rendered.seconds.output_analysis,
            gate: gate_seconds,
            ..StageSeconds::default()
        },
        device,
    };
    Ok(Mastered {
        encoded: rendered.encoded,
        delivered: rendered.delivered,
        report,
    })
}
