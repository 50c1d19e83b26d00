//! A genre model ready to run: the ONNX graph, its checked card, and a small
//! pool of inference sessions.
//!
//! `ort`'s `Session::run` takes `&mut self`, but the engine classifies
//! several files at once with rayon and wants to share one model. A
//! `GenreModel` is therefore `Send + Sync` and all its methods take `&self`:
//! each call borrows an idle session from the pool, or builds one from the
//! kept model bytes when every session is busy, and returns it afterwards.
//! A process holds at most as many sessions as it ran classifications at the
//! same moment. Loading (reading, checking and a probe inference) happens once;
//! keep the model and reuse it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ndarray::Array2;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use serde_json::Value;

use crate::backend::{self, Backend};
use crate::card::{ModelCard, card_path_for};
use crate::error::GenreError;
use crate::features::{FEATURE_PARAMS, FEATURE_VERSION, Patches};

/// The model shipped inside the binary (`models/genre-v1.onnx` + card),
/// present when the checkout had it at build time (see build.rs).
#[cfg(lacquer_builtin_model)]
const BUILTIN_ONNX: &[u8] = include_bytes!("../../../models/genre-v1.onnx");
#[cfg(lacquer_builtin_model)]
const BUILTIN_CARD: &str = include_str!("../../../models/genre-v1.card.json");
/// How the built-in model is named in errors and reports.
#[cfg(lacquer_builtin_model)]
const BUILTIN_NAME: &str = "<built-in models/genre-v1.onnx>";

/// Patches per track when the caller does not say: evenly spread over the
/// whole track. Sixteen 3-s patches sample a 3-minute track every ~11 s and
/// keep classification well inside its 50 ms budget (see the bench).
pub const DEFAULT_MAX_PATCHES: usize = 16;

/// A loaded, checked genre classifier. See the module docs for sharing.
pub struct GenreModel {
    card: ModelCard,
    /// Path of the `.onnx` file, or [`BUILTIN_NAME`].
    source: PathBuf,
    onnx: Arc<[u8]>,
    n_mels: usize,
    frames: usize,
    idle_sessions: Mutex<Vec<Session>>,
    max_patches: usize,
}

impl std::fmt::Debug for GenreModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenreModel")
            .field("version", &self.card.version)
            .field("source", &self.source)
            .field("labels", &self.card.labels)
            .field("max_patches", &self.max_patches)
            .finish_non_exhaustive()
    }
}

impl GenreModel {
    /// Loads `onnx_path` and the card beside it (`genre-v1.onnx` →
    /// `genre-v1.card.json`). Refuses the model when the card's feature
    /// version or parameters differ from this build's (naming each field and
    /// both values), when the card has no labels, or when the graph's output
    /// width is not the number of labels.
    pub fn load(onnx_path: &Path) -> Result<Self, GenreError> {
        let onnx = std::fs::read(onnx_path).map_err(|source| GenreError::Read {
            path: onnx_path.to_path_buf(),
            source,
        })?;
        let card_path = card_path_for(onnx_path);
        let card = ModelCard::read(&card_path)?;
        Self::from_parts(onnx.into(), card, &card_path, onnx_path)
    }

    /// The model committed as `models/genre-v1.onnx`, compiled into the
    /// binary, so an installed `lacquer` needs no model files. A build from a
    /// checkout without that model returns [`GenreError::NoBuiltinModel`].
    pub fn builtin() -> Result<Self, GenreError> {
        #[cfg(lacquer_builtin_model)]
        {
            let name = Path::new(BUILTIN_NAME);
            let card = ModelCard::parse(BUILTIN_CARD, name)?;
            Self::from_parts(Arc::from(BUILTIN_ONNX), card, name, name)
        }
        #[cfg(not(lacquer_builtin_model))]
        {
            Err(GenreError::NoBuiltinModel)
        }
    }

    fn from_parts(
        onnx: Arc<[u8]>,
        card: ModelCard,
        card_path: &Path,
        source: &Path,
    ) -> Result<Self, GenreError> {
        card.check_features(
            &code_value(&FEATURE_VERSION, card_path)?,
            &code_value(&FEATURE_PARAMS, card_path)?,
            card_path,
        )?;
        let model = Self {
            card,
            source: source.to_path_buf(),
            onnx,
            n_mels: FEATURE_PARAMS.n_mels,
            frames: FEATURE_PARAMS.patch_frames,
            idle_sessions: Mutex::new(Vec::new()),
            max_patches: DEFAULT_MAX_PATCHES,
        };
        let session = model.new_session()?;
        model.check_graph(&session)?;
        model.pool().push(session);
        // The probe both proves the output width and pays tract's
        // first-run cost here rather than in the first classification.
        let probe = vec![0.0_f32; model.n_mels * model.frames];
        model.logits_for_tensor(&probe, 1).map_err(|e| match e {
            GenreError::BadOutput { detail, .. } => GenreError::ModelShape {
                path: source.to_path_buf(),
                detail,
            },
            other => other,
        })?;
        Ok(model)
    }

    /// The same model limited to `max_patches` per track (at least 1).
    /// Fewer patches: faster, but a long track is sampled more sparsely.
    pub fn with_max_patches(mut self, max_patches: usize) -> Self {
        self.max_patches = max_patches.max(1);
        self
    }

    pub fn max_patches(&self) -> usize {
        self.max_patches
    }

    /// The checked model card (version, labels, training record).
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// The card's version string, e.g. `genre-v1`.
    pub fn version(&self) -> &str {
        &self.card.version
    }

    /// Labels in logit order.
    pub fn labels(&self) -> &[String] {
        &self.card.labels
    }

    /// Where the model came from: the `.onnx` path, or a marker for the
    /// built-in model.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The runtime executing this model (the same for the whole process).
    pub fn backend(&self) -> Result<Backend, GenreError> {
        backend::backend()
    }

    /// Raw logits, one row per patch, one column per label (card order).
    /// The parity test compares these with Python onnxruntime's.
    pub fn logits(&self, patches: &Patches) -> Result<Array2<f32>, GenreError> {
        if patches.n_mels() != self.n_mels || patches.frames() != self.frames {
            return Err(self.patch_shape_error(format!(
                "patches are {}×{}, the model takes {}×{} (mels × frames)",
                patches.n_mels(),
                patches.frames(),
                self.n_mels,
                self.frames
            )));
        }
        self.logits_for_tensor(patches.data(), patches.len())
    }

    /// Logits for `count` patches given as one `[count][n_mels][frames]`
    /// slice, for inputs built outside [`crate::features`] (fixtures).
    pub fn logits_for_tensor(&self, data: &[f32], count: usize) -> Result<Array2<f32>, GenreError> {
        let per_patch = self.n_mels * self.frames;
        if count == 0 || data.len() != count * per_patch {
            return Err(self.patch_shape_error(format!(
                "{} values for {count} patches of {}×{} (expected {})",
                data.len(),
                self.n_mels,
                self.frames,
                count * per_patch
            )));
        }
        let labels = self.card.labels.len();
        let flat = self.with_session(|session| {
            let input = TensorRef::from_array_view(([count, 1, self.n_mels, self.frames], data))
                .map_err(|source| self.inference_error(source))?;
            let outputs = session
                .run(ort::inputs![self.card.input_name.as_str() => input])
                .map_err(|source| self.inference_error(source))?;
            let output = outputs
                .get(self.card.output.as_str())
                .or_else(|| (outputs.len() == 1).then(|| &outputs[0]))
                .ok_or_else(|| self.bad_output(format!("no output named {:?}", self.card.output)))?;
            let (shape, values) = output
                .try_extract_tensor::<f32>()
                .map_err(|source| self.inference_error(source))?;
            let expected = [count as i64, labels as i64];
            if shape[..] != expected {
                return Err(self.bad_output(format!(
                    "logits of shape {shape}, expected [{count}, {labels}] ({labels} labels in the card)"
                )));
            }
            Ok(values.to_vec())
        })?;
        if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
            return Err(self.bad_output(format!(
                "a non-finite logit ({}) for patch {}, label {:?}",
                flat[i],
                i / labels,
                self.card.labels[i % labels]
            )));
        }
        Array2::from_shape_vec((count, labels), flat)
            .map_err(|e| self.bad_output(format!("logits that do not form a matrix: {e}")))
    }

    /// Runs `f` with a session of its own: an idle one from the pool or a
    /// new one, returned to the pool afterwards.
    fn with_session<R>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R, GenreError>,
    ) -> Result<R, GenreError> {
        let idle = self.pool().pop();
        let mut session = match idle {
            Some(s) => s,
            None => self.new_session()?,
        };
        let result = f(&mut session);
        self.pool().push(session);
        result
    }

    /// A panic elsewhere while the pool was locked leaves a valid `Vec`, so
    /// a poisoned lock is simply taken over.
    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.idle_sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn new_session(&self) -> Result<Session, GenreError> {
        let environment = backend::environment()?;
        let session_error = |source: ort::Error| GenreError::Session {
            path: self.source.clone(),
            source,
        };
        let mut builder = Session::builder(environment)
            .map_err(session_error)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| session_error(e.into()))?;
        if backend::backend()? == Backend::OnnxRuntime {
            // One core per classification; parallelism is across files.
            builder = builder
                .with_intra_threads(1)
                .map_err(|e| session_error(e.into()))?;
        }
        builder
            .commit_from_memory(&self.onnx)
            .map_err(session_error)
    }

    /// Input named as the card says, taking f32; output as the card says
    /// (or the only one). Width is proven by the probe run.
    fn check_graph(&self, session: &Session) -> Result<(), GenreError> {
        let shape_error = |detail: String| GenreError::ModelShape {
            path: self.source.clone(),
            detail,
        };
        let input = session
            .inputs()
            .iter()
            .find(|i| i.name() == self.card.input_name)
            .ok_or_else(|| {
                shape_error(format!(
                    "the card's input {:?} is not among the graph's inputs {:?}",
                    self.card.input_name,
                    session
                        .inputs()
                        .iter()
                        .map(|i| i.name())
                        .collect::<Vec<_>>()
                ))
            })?;
        if let Some(ty) = input.dtype().tensor_type()
            && ty != ort::value::TensorElementType::Float32
        {
            return Err(shape_error(format!(
                "input {:?} takes {ty:?}, not f32",
                self.card.input_name
            )));
        }
        if let Some(shape) = input.dtype().tensor_shape() {
            let expected = [-1, 1, self.n_mels as i64, self.frames as i64];
            let fits = shape.len() == 4
                && shape
                    .iter()
                    .zip(expected)
                    .all(|(&have, want)| have < 0 || want < 0 || have == want);
            if !fits {
                return Err(shape_error(format!(
                    "input {:?} has shape {shape}, the features are [batch, 1, {}, {}]",
                    self.card.input_name, self.n_mels, self.frames
                )));
            }
        }
        let outputs = session.outputs();
        let named = outputs.iter().any(|o| o.name() == self.card.output);
        if !named && outputs.len() != 1 {
            return Err(shape_error(format!(
                "no output named {:?} and {} outputs to choose from",
                self.card.output,
                outputs.len()
            )));
        }
        Ok(())
    }

    fn model_name(&self) -> String {
        format!("{} ({})", self.card.version, self.source.display())
    }

    fn inference_error(&self, source: ort::Error) -> GenreError {
        GenreError::Inference {
            model: self.model_name(),
            source,
        }
    }

    fn bad_output(&self, detail: String) -> GenreError {
        GenreError::BadOutput {
            model: self.model_name(),
            detail,
        }
    }

    fn patch_shape_error(&self, detail: String) -> GenreError {
        GenreError::PatchShape {
            model: self.model_name(),
            detail,
        }
    }
}

/// The code's side of the card comparison, through JSON text so that f32
/// settings compare as the text the card holds (`1e-10`, not the f64
/// widening `1.000000013351432e-10`).
fn code_value<T: serde::Serialize>(value: &T, card_path: &Path) -> Result<Value, GenreError> {
    serde_json::to_string(value)
        .and_then(|text| serde_json::from_str(&text))
        .map_err(|source| GenreError::CardParse {
            path: card_path.to_path_buf(),
            source,
        })
}
