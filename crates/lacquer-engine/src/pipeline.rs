//! The whole pipeline for files on disk: decode → analyse → classify →
//! match → plan (here), then process → gate → encode (in `mastering`), then
//! the atomic writes of master, report and chart.
//!
//! An [`Engine`] holds what is shared by every file of a run (profiles,
//! platforms, the genre model) and is `Sync`, so a caller can master many
//! files in parallel with one engine; each file is processed start to end
//! on the thread that picked it up.

use crate::error::EngineError;
use crate::gate::DynamicsTarget;
use crate::mastering::{LoadedInput, Mastered, Steering, master_loaded};
use crate::render::{Encoded, ExportOptions, RenderTarget};
use crate::report::{Device, MasterReport, ReportWarning};
use crate::stream::{Corrected, analyse, analyse_measured, decode_and_measure};
use crate::tonal::TonalCurve;
use lacquer_core::{
    Analysis, GenreChoice, GenreScores, Intent, PlanOptions, PlatformTable, Profile, TargetRange,
};
use lacquer_genre::GenreModel;
use lacquer_io::{
    DEFAULT_SPILL_FRAMES, DecodeOptions, Overwrite, ensure_output_is_not_input,
    write_bytes_atomically,
};
use lacquer_plan::{PlanInput, PolarityFix, choose_profile_blend, detect_inverted_polarity, plan};
use lacquer_reference::{
    ProfileStore, blend_profiles, builtin_platforms, deltas_vs_profile, deltas_vs_reference,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// Reference mode steers dynamics to the reference's own PLR and LRA; the
/// gate accepts this much either side before warning (a master cannot be
/// expected to hit another track's dynamics exactly).
pub const REFERENCE_DYNAMICS_TOLERANCE_DB: f64 = 2.0;

/// Longest input `lacquer master` takes by default, seconds: 4 hours, what
/// a 24-bit stereo WAV master (4 GiB at most) holds at 48 kHz. Memory does
/// not limit it: long inputs are worked on from temporary files.
pub const MAX_INPUT_SECONDS: f64 = 4.0 * 3600.0;

/// Environment variable naming the genre model used when none is given.
pub const MODEL_ENV: &str = "LACQUER_MODEL";
/// The model version the engine uses by default.
pub const DEFAULT_MODEL_FILE: &str = "genre-v1.onnx";

/// The default genre model: `$LACQUER_MODEL`, else `models/genre-v1.onnx`
/// of the source tree this binary was built from.
pub fn default_model_path() -> PathBuf {
    match std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../models")
            .join(DEFAULT_MODEL_FILE),
    }
}

/// What an engine is built from.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Extra profiles (`*.toml`) on top of the built-in ones.
    pub profiles_dir: Option<PathBuf>,
    /// The genre model (`genre-vN.onnx` with its card beside it). `None`:
    /// [`default_model_path`].
    pub model_path: Option<PathBuf>,
    /// Load the model (only needed when the genre is classified).
    pub load_model: bool,
    pub decode: DecodeOptions,
    /// Audio between passes moves from memory to temporary files past this
    /// many frames; `None`: [`DEFAULT_SPILL_FRAMES`].
    pub spill_frames: Option<usize>,
}

/// Shared, read-only state for a run.
pub struct Engine {
    profiles: ProfileStore,
    platforms: PlatformTable,
    model: Option<GenreModel>,
    decode: DecodeOptions,
    spill_frames: usize,
}

/// A reference track, decoded and measured once per run.
#[derive(Debug, Clone)]
pub struct ReferenceTrack {
    pub path: PathBuf,
    pub analysis: Analysis,
}

/// A reference track shared by the files of a run and measured while they
/// are decoded: measuring it takes as long as decoding a mix, and a file
/// needs it only when it comes to planning. One thread runs
/// [`SharedReference::measure`]; each file's job blocks in
/// [`SharedReference::wait`] only if the measurement is not done by then.
///
/// Run `measure` on a thread of its own, outside the rayon pool the jobs
/// run in: a job blocked in `wait` holds its pool thread, and a measurement
/// queued behind it in the same pool could never start.
#[derive(Debug)]
pub struct SharedReference {
    path: PathBuf,
    measured: OnceLock<Result<ReferenceTrack, EngineError>>,
}

impl SharedReference {
    /// A reference still to be measured (by [`SharedReference::measure`]).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            measured: OnceLock::new(),
        }
    }

    /// A reference measured already.
    pub fn measured(track: ReferenceTrack) -> Self {
        Self {
            path: track.path.clone(),
            measured: OnceLock::from(Ok(track)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes and measures the track; returns at once if that is done.
    pub fn measure(&self, engine: &Engine) {
        self.measured
            .get_or_init(|| engine.load_reference(&self.path));
    }

    /// The measured track, once [`SharedReference::measure`] has finished
    /// (blocking until then). If measuring failed, every waiting job gets
    /// [`EngineError::ReferenceUnavailable`]; [`SharedReference::failure`]
    /// holds the cause, to be reported once.
    pub fn wait(&self) -> Result<&ReferenceTrack, EngineError> {
        self.measured
            .wait()
            .as_ref()
            .map_err(|_| EngineError::ReferenceUnavailable {
                path: self.path.clone(),
            })
    }

    /// Why measuring failed, once it has.
    pub fn failure(&self) -> Option<&EngineError> {
        self.measured.get().and_then(|r| r.as_ref().err())
    }
}

/// A file measured and planned, not processed (`lacquer plan`).
#[derive(Debug, Clone)]
pub struct Planned {
    pub input: LoadedInput,
    pub analysis: Analysis,
    pub steering: Steering,
}

/// One master to make.
#[derive(Debug, Clone)]
pub struct MasterJob<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub reference: Option<&'a SharedReference>,
    pub options: &'a PlanOptions,
    pub export: ExportOptions,
    pub overwrite: Overwrite,
    /// Where the JSON report goes, if anywhere.
    pub report_path: Option<&'a Path>,
    /// Where the PNG chart goes, if anywhere.
    pub png_path: Option<&'a Path>,
    pub device: Device,
}

/// A master on disk.
#[derive(Debug, Clone)]
pub struct MasterOutcome {
    pub report: MasterReport,
    /// Set when a chart was asked for but drawn without text (no font).
    pub chart_note: Option<String>,
}

impl Engine {
    /// Loads profiles, platforms and (when asked) the genre model.
    pub fn new(config: &EngineConfig) -> Result<Self, EngineError> {
        let profiles = ProfileStore::load(config.profiles_dir.as_deref()).map_err(|source| {
            EngineError::Profiles {
                source: Box::new(source),
            }
        })?;
        let platforms = builtin_platforms().map_err(|source| EngineError::Profiles {
            source: Box::new(source),
        })?;
        let model = if config.load_model {
            let path = config.model_path.clone().unwrap_or_else(default_model_path);
            Some(GenreModel::load(&path).map_err(|source| EngineError::Model { source })?)
        } else {
            None
        };
        Ok(Self {
            profiles,
            platforms,
            model,
            decode: config.decode,
            spill_frames: config.spill_frames.unwrap_or(DEFAULT_SPILL_FRAMES),
        })
    }

    pub fn platforms(&self) -> &PlatformTable {
        &self.platforms
    }

    pub fn profiles(&self) -> &ProfileStore {
        &self.profiles
    }

    /// Checks the options against what this engine knows (platform, named
    /// genre profile), so a typo fails before any file is processed.
    pub fn check_options(&self, options: &PlanOptions) -> Result<(), EngineError> {
        self.platform(options)?;
        if let GenreChoice::Named(name) = &options.genre
            && options.intent != Intent::Reference
            && self.profiles.get(name).is_none()
        {
            return Err(EngineError::UnknownGenre {
                name: name.clone(),
                known: self.profiles.names().join(", "),
            });
        }
        Ok(())
    }

    fn platform(&self, options: &PlanOptions) -> Result<&lacquer_core::Platform, EngineError> {
        self.platforms
            .get(&options.platform)
            .ok_or_else(|| EngineError::UnknownPlatform {
                id: options.platform.clone(),
                known: self
                    .platforms
                    .platforms
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Decodes and measures an input file. The audio is held in memory, or
    /// in a temporary file once it is longer than the spill threshold, so
    /// memory does not grow with the input's length.
    pub fn load(&self, path: &Path) -> Result<(LoadedInput, Analysis), EngineError> {
        let (spool, source, measured) = decode_and_measure(
            path,
            &self.decode,
            self.spill_frames,
            path,
            EngineError::Input,
        )?;
        let analysis = analyse_measured(&spool, &measured, path)?;
        if analysis.loudness.integrated_lufs.is_none() {
            return Err(EngineError::SilentInput {
                path: path.to_path_buf(),
            });
        }
        Ok((LoadedInput { spool, source }, analysis))
    }

    /// Decodes and measures a reference track.
    pub fn load_reference(&self, path: &Path) -> Result<ReferenceTrack, EngineError> {
        let (_, analysis) = self.load(path)?;
        Ok(ReferenceTrack {
            path: path.to_path_buf(),
            analysis,
        })
    }

    /// Classifies (when asked), matches and plans one measured input.
    pub fn steer(
        &self,
        input: &LoadedInput,
        analysis: &Analysis,
        reference: Option<&ReferenceTrack>,
        options: &PlanOptions,
    ) -> Result<Steering, EngineError> {
        let path = &input.source.path;
        let platform = self.platform(options)?;
        let plan_err = |source| EngineError::Plan {
            path: path.clone(),
            source,
        };

        // An upside-down channel is repaired before anything else is
        // measured: the classifier, the deltas and the plan all see the
        // corrected mix (the chain repeats the flip as its first stage).
        let polarity_fix = detect_inverted_polarity(analysis, options);
        let corrected_input = match &polarity_fix {
            Some(fix) => Some(analyse(&input.spool, Some(&fix.settings), path)?),
            None => None,
        };
        let audio = Corrected {
            spool: &input.spool,
            polarity: polarity_fix.as_ref().map(|f| f.settings),
        };
        let analysis = corrected_input.as_ref().unwrap_or(analysis);
        let mut warnings: Vec<ReportWarning> = polarity_fix.iter().map(polarity_warning).collect();

        if options.intent == Intent::Reference {
            let reference =
                reference.ok_or_else(|| EngineError::MissingReference { path: path.clone() })?;
            let deltas = deltas_vs_reference(
                analysis,
                &reference.analysis,
                &reference.path.display().to_string(),
            );
            let plan = plan(&PlanInput {
                analysis,
                polarity: polarity_fix.as_ref(),
                genre: None,
                profile: None,
                profile_blend: &[],
                deltas: &deltas,
                reference: Some(&reference.analysis),
                platform,
                options,
            })
            .map_err(plan_err)?;
            let around = |v: Option<f64>| {
                v.map(|typical| TargetRange {
                    low: typical - REFERENCE_DYNAMICS_TOLERANCE_DB,
                    typical,
                    high: typical + REFERENCE_DYNAMICS_TOLERANCE_DB,
                })
            };
            let ref_loud = &reference.analysis.loudness;
            let dynamics_target = match (
                around(ref_loud.plr_db.map(|d| d.0)),
                around(ref_loud.loudness_range_lu.map(|d| d.0)),
            ) {
                (Some(plr_db), Some(lra_lu)) => Some(DynamicsTarget { plr_db, lra_lu }),
                _ => None,
            };
            return Ok(Steering {
                plan,
                genre: None,
                deltas: Some(deltas),
                tonal_target: TonalCurve::from_analysis(&reference.analysis),
                dynamics_target,
                low_end_correlation_min: None,
                warnings,
                corrected_input,
            });
        }

        let genre: Option<GenreScores> =
            match (&options.genre, &self.model) {
                (GenreChoice::Auto, Some(model)) => Some(model.classify(&audio).map_err(
                    |source| EngineError::Genre {
                        path: path.clone(),
                        source,
                    },
                )?),
                _ => None,
            };
        let names = self.profiles.names();
        let blend =
            choose_profile_blend(genre.as_ref(), &options.genre, &names).map_err(plan_err)?;
        let weighted: Vec<(&Profile, f64)> = blend
            .iter()
            .filter_map(|(name, w)| self.profiles.get(name).map(|p| (p, *w)))
            .collect();
        let profile = match weighted.as_slice() {
            [(only, _)] => (*only).clone(),
            _ => blend_profiles(&weighted).map_err(|source| EngineError::Reference {
                path: path.clone(),
                source: Box::new(source),
            })?,
        };
        let deltas = deltas_vs_profile(analysis, &profile, &blend);
        let plan = plan(&PlanInput {
            analysis,
            polarity: polarity_fix.as_ref(),
            genre: genre.as_ref(),
            profile: Some(&profile),
            profile_blend: &blend,
            deltas: &deltas,
            reference: None,
            platform,
            options,
        })
        .map_err(plan_err)?;
        if blend.len() > 1 {
            warnings.push(ReportWarning {
                code: "genre_blended".into(),
                message: format!(
                    "the classifier was unsure, so the target blends {}",
                    blend
                        .iter()
                        .map(|(n, w)| format!("{n} {:.0} %", w * 100.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(Steering {
            plan,
            genre,
            deltas: Some(deltas),
            tonal_target: Some(TonalCurve::from_profile(&profile)),
            dynamics_target: Some(DynamicsTarget {
                plr_db: profile.dynamics.plr_db,
                lra_lu: profile.dynamics.lra_lu,
            }),
            low_end_correlation_min: Some(profile.stereo.low_end_correlation_min),
            warnings,
            corrected_input,
        })
    }

    /// Measures and plans a file without processing it.
    pub fn plan_file(
        &self,
        input: &Path,
        reference: Option<&ReferenceTrack>,
        options: &PlanOptions,
    ) -> Result<Planned, EngineError> {
        let (input, analysis) = self.load(input)?;
        let steering = self.steer(&input, &analysis, reference, options)?;
        Ok(Planned {
            input,
            analysis,
            steering,
        })
    }

    /// Masters one file in memory (nothing is written).
    pub fn master_in_memory(
        &self,
        input: &Path,
        reference: Option<&ReferenceTrack>,
        options: &PlanOptions,
        export: &ExportOptions,
        device: Device,
    ) -> Result<Mastered, EngineError> {
        self.master_to(input, || Ok(reference), options, export, device, None)
    }

    /// Masters one file, the encoded master staged beside `destination`
    /// when one is given (in memory otherwise). `reference` is asked for
    /// once the input is measured (see [`SharedReference`]).
    fn master_to<'r>(
        &self,
        input: &Path,
        reference: impl FnOnce() -> Result<Option<&'r ReferenceTrack>, EngineError>,
        options: &PlanOptions,
        export: &ExportOptions,
        device: Device,
        destination: Option<&Path>,
    ) -> Result<Mastered, EngineError> {
        let started = Instant::now();
        let (loaded, analysis) = self.load(input)?;
        let loaded_seconds = started.elapsed().as_secs_f64();
        let steering = self.steer(&loaded, &analysis, reference()?, options)?;
        let planned = started.elapsed().as_secs_f64();
        let target = RenderTarget {
            destination: destination.map(Path::to_path_buf),
            spill_frames: self.spill_frames,
        };
        let mut mastered = master_loaded(
            loaded, &analysis, steering, export, device, started, &target,
        )?;
        let stages = &mut mastered.report.stage_seconds;
        stages.decode_and_analyse = loaded_seconds;
        stages.plan = planned - loaded_seconds;
        Ok(mastered)
    }

    /// Masters one file and writes the master (and the report and chart
    /// when asked) atomically. The master is written even when the gate
    /// fails; the report says why. Refuses any output path that is the
    /// input or the reference, and an existing output unless
    /// `job.overwrite` allows it, before doing any work.
    pub fn master_file(&self, job: &MasterJob<'_>) -> Result<MasterOutcome, EngineError> {
        let protected: Vec<&Path> = std::iter::once(job.input)
            .chain(job.reference.map(SharedReference::path))
            .collect();
        let outputs: Vec<&Path> = std::iter::once(job.output)
            .chain(job.report_path)
            .chain(job.png_path)
            .collect();
        for out in &outputs {
            for input in &protected {
                ensure_output_is_not_input(input, out).map_err(EngineError::Output)?;
            }
            if job.overwrite == Overwrite::Refuse && out.exists() {
                return Err(EngineError::Output(lacquer_io::IoError::OutputExists {
                    path: out.to_path_buf(),
                }));
            }
        }

        // A reference that has failed already fails this file too: no
        // need to decode it first.
        if let Some(reference) = job.reference.filter(|r| r.failure().is_some()) {
            return Err(EngineError::ReferenceUnavailable {
                path: reference.path().to_path_buf(),
            });
        }
        let mut mastered = self.master_to(
            job.input,
            || job.reference.map(SharedReference::wait).transpose(),
            job.options,
            &job.export,
            job.device.clone(),
            Some(job.output),
        )?;
        mastered.report.output.path = Some(job.output.to_path_buf());
        match mastered.encoded {
            Encoded::Staged(staged) => staged.commit(job.overwrite),
            Encoded::Bytes(bytes) => write_bytes_atomically(&bytes, job.output, job.overwrite),
        }
        .map_err(EngineError::Output)?;

        let mut chart_note = None;
        if let Some(png_path) = job.png_path {
            let png = crate::chart::render_chart(&mastered.report).map_err(|source| {
                EngineError::Chart {
                    path: png_path.to_path_buf(),
                    source,
                }
            })?;
            if !png.text_drawn {
                chart_note = lacquer_plot::font::ensure_font().missing_message();
            }
            write_bytes_atomically(&png.bytes, png_path, job.overwrite)
                .map_err(EngineError::Output)?;
        }
        if let Some(report_path) = job.report_path {
            let json =
                serde_json::to_vec_pretty(&mastered.report).map_err(|e| EngineError::Report {
                    path: report_path.to_path_buf(),
                    source: std::io::Error::other(e),
                })?;
            write_bytes_atomically(&json, report_path, job.overwrite)
                .map_err(EngineError::Output)?;
        }
        Ok(MasterOutcome {
            report: mastered.report,
            chart_note,
        })
    }
}

fn polarity_warning(fix: &PolarityFix) -> ReportWarning {
    ReportWarning {
        code: "polarity_corrected".into(),
        message: format!(
            "one channel was polarity-inverted (correlation {:.2}); the master flips it back (keep it with --keep-polarity)",
            fix.mix_correlation
        ),
    }
}
