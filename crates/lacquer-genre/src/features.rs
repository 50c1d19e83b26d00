//! The genre model's input: gain-normalised log-mel patches.
//!
//! Training and inference both call [`log_mel_patches`], and the trainer only
//! ever sees what `lacquer features` exported through it, so the two sides
//! cannot drift apart. Every setting that changes a single feature value lives
//! in [`FEATURE_PARAMS`]; the model card embeds it and the loader refuses a
//! model trained on different settings.
//!
//! Choices, and why:
//! - Mono mid `(L+R)/2`: genre lives in the sum; width is the analyser's job.
//! - 22 050 Hz: a genre cue above 11 kHz is rare and halving the rate halves
//!   the FFT work. Each patch's own stretch of audio (plus a margin for the
//!   resampler's filter) is resampled, not the whole track, so classifying a
//!   long track costs a few patches' worth of work, not the track's length.
//! - 1024-point symmetric-Hann frames, hop 512 (23 ms), no centre padding:
//!   a patch is exactly `n_fft + hop · (frames − 1)` samples, so nothing
//!   outside the patch leaks in.
//! - 64 Slaney mel bands, 20 Hz – 11 025 Hz, power in dB.
//! - 128 frames per patch (2.995 s): long enough for a bar of most grooves, and
//!   a 10-s training clip gives three patches that barely overlap.
//! - Gain-invariant normalisation: mastering inputs arrive at any level and
//!   the corpus's level differs by class (metal stems are ~6 dB hotter), so a
//!   model that can see absolute level learns "loud = metal". Each patch is
//!   clamped to 80 dB below its loudest cell, its mean dB is subtracted and
//!   the result divided by 20 dB. Scaling the input only shifts every dB
//!   value by the same amount, which the mean removes.

pub mod manifest;
mod npz;

pub use npz::{NpyArray, NpyData, read_npz, write_npz};

use lacquer_core::AudioBuffer;
use mel_spec::mel::{BatchLogMelConfig, BatchLogMelError, BatchLogMelSpectrogram};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever any feature value could change for the same audio.
pub const FEATURE_VERSION: u32 = 1;

/// How the channels become one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downmix {
    /// The mean of all channels: `(L+R)/2` for stereo.
    MeanOfChannels,
}

/// The analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// `0.5 − 0.5·cos(2πn/(N−1))`, as mel_spec's batch front-end uses it.
    SymmetricHann,
}

/// The mel scale and filter normalisation (librosa's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelScale {
    /// Slaney's scale (linear below 1 kHz, log above) with area-normalised
    /// filters (librosa `htk=False, norm='slaney'`).
    SlaneyAreaNormalised,
}

/// How a patch's dB values are made independent of the input's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Clamp at `dynamic_range_db` below the patch maximum, subtract the
    /// patch mean, divide by `scale_db`.
    PatchMeanDb,
}

/// What a patch shorter than the input needs is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortInput {
    /// Input shorter than one patch gives one patch, zero-padded at the end.
    ZeroPadEnd,
}

/// Every setting that shapes a feature value. Compared field by field with
/// the model card's copy before a model is used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    pub version: u32,
    pub sample_rate_hz: u32,
    pub downmix: Downmix,
    /// Audio kept on each side of a patch when it is resampled on its own, so
    /// the resampler's filter has settled inside the patch.
    pub resample_margin_seconds: f64,
    pub n_fft: usize,
    pub win_length: usize,
    pub hop_length: usize,
    pub window: Window,
    /// `false`: frames start at the patch's first sample (no padding).
    pub center: bool,
    pub n_mels: usize,
    pub f_min_hz: f64,
    pub f_max_hz: f64,
    pub mel_scale: MelScale,
    /// Added to mel power (FFT units, |X|²) before the log; only keeps
    /// digital silence finite.
    pub power_floor: f32,
    pub normalisation: Normalisation,
    pub dynamic_range_db: f32,
    pub scale_db: f32,
    pub patch_frames: usize,
    pub short_input: ShortInput,
}

impl FeatureParams {
    /// Samples (at `sample_rate_hz`) one patch reads.
    pub const fn patch_samples(&self) -> usize {
        self.n_fft + self.hop_length * (self.patch_frames - 1)
    }

    /// Length of one patch in seconds.
    pub fn patch_seconds(&self) -> f64 {
        self.patch_samples() as f64 / f64::from(self.sample_rate_hz)
    }
}

/// The features genre models of [`FEATURE_VERSION`] are trained on.
pub const FEATURE_PARAMS: FeatureParams = FeatureParams {
    version: FEATURE_VERSION,
    sample_rate_hz: 22_050,
    downmix: Downmix::MeanOfChannels,
    resample_margin_seconds: 0.25,
    n_fft: 1024,
    win_length: 1024,
    hop_length: 512,
    window: Window::SymmetricHann,
    center: false,
    n_mels: 64,
    f_min_hz: 20.0,
    f_max_hz: 11_025.0,
    mel_scale: MelScale::SlaneyAreaNormalised,
    power_floor: 1e-10,
    normalisation: Normalisation::PatchMeanDb,
    dynamic_range_db: 80.0,
    scale_db: 20.0,
    patch_frames: 128,
    short_input: ShortInput::ZeroPadEnd,
};

/// Why features could not be computed or exported.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("cannot compute features of an empty buffer")]
    EmptyInput,
    #[error("max_patches must be at least 1")]
    NoPatchesRequested,
    #[error("the input holds a non-finite sample (NaN or infinity) in channel {channel}")]
    NonFiniteSample { channel: usize },
    #[error("resampling a patch from {from_hz} Hz to {to_hz} Hz failed")]
    Resample {
        from_hz: u32,
        to_hz: u32,
        #[source]
        source: lacquer_io::IoError,
    },
    #[error("cannot build the mono buffer a patch is resampled from")]
    Buffer(#[source] lacquer_core::BufferError),
    #[error("the mel front-end rejected its settings")]
    MelFrontEnd(#[source] BatchLogMelError),
    #[error("the mel front-end returned {rows}×{cols}, expected {n_mels}×{frames}")]
    MelShape {
        rows: usize,
        cols: usize,
        n_mels: usize,
        frames: usize,
    },
    #[error("npz: {detail}")]
    Npz { detail: String },
    #[error("feature set is inconsistent: {detail}")]
    InconsistentSet { detail: String },
    #[error("feature parameters JSON in the feature set is unreadable")]
    ParamsJson(#[source] serde_json::Error),
    #[error("{path}: cannot read the manifest")]
    ManifestRead {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    ManifestInvalid {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("{detail}")]
    MissingClips { detail: String },
    #[error("cannot read the audio back")]
    Read(#[source] lacquer_io::IoError),
    #[error("{failed} of {total} clips failed:\n  {list}")]
    ClipsFailed {
        failed: usize,
        total: usize,
        list: String,
    },
}

impl FeatureError {
    /// The user's input (manifest, audio, cache) is at fault, not the program:
    /// the CLI exits 2 for these.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::EmptyInput
                | Self::NonFiniteSample { .. }
                | Self::ManifestRead { .. }
                | Self::ManifestInvalid { .. }
                | Self::MissingClips { .. }
                | Self::ClipsFailed { .. }
        )
    }
}

/// Log-mel patches of one piece of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Patches {
    n_mels: usize,
    frames: usize,
    /// `[patch][mel][frame]`, C order.
    data: Vec<f32>,
    starts_seconds: Vec<f64>,
}

impl Patches {
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames (time steps) per patch.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.starts_seconds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts_seconds.is_empty()
    }

    /// All patches, `[patch][mel][frame]`: the model input `[N,1,n_mels,frames]`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// One patch, `[mel][frame]`.
    pub fn patch(&self, index: usize) -> Option<&[f32]> {
        let size = self.n_mels * self.frames;
        self.data.get(index * size..(index + 1) * size)
    }

    /// Where each patch starts in the input, in seconds.
    pub fn starts_seconds(&self) -> &[f64] {
        &self.starts_seconds
    }
}

/// Log-mel patches spread evenly over the whole buffer: as many whole,
/// non-overlapping patches as fit (a 10-s clip gives 3), but at most
/// `max_patches`, the first starting at the beginning and the last ending at
/// the end. A buffer shorter than one patch gives one zero-padded patch.
/// Same input, same bits.
pub fn log_mel_patches<S: FeatureSource + ?Sized>(
    buffer: &S,
    max_patches: usize,
) -> Result<Patches, FeatureError> {
    let p = &FEATURE_PARAMS;
    if buffer.frames() == 0 || buffer.channels() == 0 {
        return Err(FeatureError::EmptyInput);
    }
    if max_patches == 0 {
        return Err(FeatureError::NoPatchesRequested);
    }
    let rate = buffer.sample_rate();
    let target = p.sample_rate_hz;
    let patch_samples = p.patch_samples();
    let total = lacquer_io::resampled_len(buffer.frames(), rate, target);
    let count = (total / patch_samples).clamp(1, max_patches);
    let starts: Vec<usize> = if count == 1 {
        vec![total.saturating_sub(patch_samples) / 2]
    } else {
        let span = (total - patch_samples) as u128;
        (0..count)
            .map(|i| (span * i as u128 / (count - 1) as u128) as usize)
            .collect()
    };

    let front_end = BatchLogMelSpectrogram::new(BatchLogMelConfig {
        sample_rate: target as usize,
        n_fft: p.n_fft,
        win_length: p.win_length,
        hop_length: p.hop_length,
        n_mels: p.n_mels,
        f_min: p.f_min_hz,
        f_max: Some(p.f_max_hz),
        htk: false,
        norm: true,
        preemphasis: 0.0,
        center: p.center,
        log_zero_guard: p.power_floor,
        pad_to: 0,
        normalize_per_feature: false,
    })
    .map_err(FeatureError::MelFrontEnd)?;
    let mut scratch = front_end.scratch();

    let patch_len = p.n_mels * p.patch_frames;
    let mut data = Vec::with_capacity(count * patch_len);
    for &start in &starts {
        let audio = patch_audio(buffer, start, patch_samples)?;
        let mel = front_end
            .compute_flat_with_scratch(&audio, &mut scratch)
            .map_err(FeatureError::MelFrontEnd)?;
        if mel.rows != p.n_mels || mel.cols != p.patch_frames {
            return Err(FeatureError::MelShape {
                rows: mel.rows,
                cols: mel.cols,
                n_mels: p.n_mels,
                frames: p.patch_frames,
            });
        }
        let mut cells = mel.data;
        normalise_patch(&mut cells, p);
        data.extend_from_slice(&cells);
    }
    Ok(Patches {
        n_mels: p.n_mels,
        frames: p.patch_frames,
        data,
        starts_seconds: starts
            .iter()
            .map(|&s| s as f64 / f64::from(target))
            .collect(),
    })
}

/// The mono signal at the feature rate for samples `start..start + len` of
/// the feature-rate timeline, zero-padded past the end of the input.
fn patch_audio<S: FeatureSource + ?Sized>(
    buffer: &S,
    start: usize,
    len: usize,
) -> Result<Vec<f32>, FeatureError> {
    let rate = buffer.sample_rate();
    let target = FEATURE_PARAMS.sample_rate_hz;
    if rate == target {
        let mut mono = mono_mid(&buffer.read(start, (start + len).min(buffer.frames()))?)?;
        mono.resize(len, 0.0);
        return Ok(mono);
    }
    // Cut the source at a multiple of its smallest whole-ratio block so the
    // patch begins on an exact output sample of the resampled segment.
    let g = gcd(rate, target) as u128;
    let block_in = u128::from(rate) / g;
    let block_out = u128::from(target) / g;
    let margin = (FEATURE_PARAMS.resample_margin_seconds * f64::from(rate)).ceil() as u128;
    let first_in = (start as u128 * u128::from(rate) / u128::from(target)).saturating_sub(margin);
    let first_in = first_in / block_in * block_in;
    let end_in = ((start + len) as u128 * u128::from(rate)).div_ceil(u128::from(target)) + margin;
    let end_in = end_in.min(buffer.frames() as u128);
    let offset_out = start - (first_in / block_in * block_out) as usize;

    let mono = mono_mid(&buffer.read(first_in as usize, end_in as usize)?)?;
    let segment = AudioBuffer::new(rate, vec![mono]).map_err(FeatureError::Buffer)?;
    let resampled =
        lacquer_io::resample(&segment, target).map_err(|source| FeatureError::Resample {
            from_hz: rate,
            to_hz: target,
            source,
        })?;
    let out = resampled.channel(0);
    let mut audio: Vec<f32> = out.get(offset_out..).unwrap_or_default().to_vec();
    audio.resize(len, 0.0);
    Ok(audio)
}

/// Mean of all channels, refusing non-finite samples.
fn mono_mid(channels: &[Vec<f32>]) -> Result<Vec<f32>, FeatureError> {
    for (index, channel) in channels.iter().enumerate() {
        if channel.iter().any(|s| !s.is_finite()) {
            return Err(FeatureError::NonFiniteSample { channel: index });
        }
    }
    let scale = 1.0 / channels.len() as f32;
    let mut mono = channels[0].clone();
    for channel in &channels[1..] {
        for (m, &s) in mono.iter_mut().zip(channel) {
            *m += s;
        }
    }
    for m in &mut mono {
        *m *= scale;
    }
    Ok(mono)
}

/// Audio the features read a stretch at a time: patches are spread over
/// the whole track, so a long input need not be held to be classified.
pub trait FeatureSource {
    fn sample_rate(&self) -> u32;
    /// Length in frames.
    fn frames(&self) -> usize;
    fn channels(&self) -> usize;
    /// Frames `from..to` of every channel (`from <= to <= frames()`).
    fn read(&self, from: usize, to: usize) -> Result<Vec<Vec<f32>>, FeatureError>;
}

impl FeatureSource for AudioBuffer {
    fn sample_rate(&self) -> u32 {
        AudioBuffer::sample_rate(self)
    }

    fn frames(&self) -> usize {
        self.len()
    }

    fn channels(&self) -> usize {
        self.num_channels()
    }

    fn read(&self, from: usize, to: usize) -> Result<Vec<Vec<f32>>, FeatureError> {
        Ok(AudioBuffer::channels(self)
            .iter()
            .map(|c| c[from..to].to_vec())
            .collect())
    }
}

impl FeatureSource for lacquer_io::Spool {
    fn sample_rate(&self) -> u32 {
        lacquer_io::Spool::sample_rate(self)
    }

    fn frames(&self) -> usize {
        self.len()
    }

    fn channels(&self) -> usize {
        self.num_channels()
    }

    fn read(&self, from: usize, to: usize) -> Result<Vec<Vec<f32>>, FeatureError> {
        self.read_range(from, to).map_err(FeatureError::Read)
    }
}

/// Natural-log mel power → gain-invariant normalised dB, in place.
fn normalise_patch(cells: &mut [f32], p: &FeatureParams) {
    let db_per_neper = 10.0 / std::f32::consts::LN_10;
    let mut max_db = f32::NEG_INFINITY;
    for c in cells.iter_mut() {
        *c *= db_per_neper;
        max_db = max_db.max(*c);
    }
    let floor_db = max_db - p.dynamic_range_db;
    let mut sum = 0.0f64;
    for c in cells.iter_mut() {
        *c = c.max(floor_db);
        sum += f64::from(*c);
    }
    let mean_db = (sum / cells.len().max(1) as f64) as f32;
    for c in cells.iter_mut() {
        *c = (*c - mean_db) / p.scale_db;
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Hex sha256 of some bytes (manifest and feature-file fingerprints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names of the arrays in an exported feature file (the notebook reads these).
pub mod npz_names {
    /// f32 `[N, 1, n_mels, frames]`.
    pub const X: &str = "x";
    /// i64 `[N]`: label index into `labels`.
    pub const Y: &str = "y";
    /// i64 `[N]`: index into `clip_ids`.
    pub const CLIP_INDEX: &str = "clip_index";
    /// unicode `[N]`: `train`, `val` or `test`.
    pub const SPLIT: &str = "split";
    /// f64 `[N]`: where the patch starts in its clip.
    pub const PATCH_START_S: &str = "patch_start_s";
    /// unicode `[C]`.
    pub const CLIP_IDS: &str = "clip_ids";
    /// unicode `[C]`: the manifest's `source_track_id` (for per-track metrics).
    pub const CLIP_TRACKS: &str = "clip_source_track_ids";
    /// unicode `[L]`: label names; position = label index.
    pub const LABELS: &str = "labels";
    /// unicode 0-d: [`super::FeatureParams`] as JSON.
    pub const FEATURE_PARAMS_JSON: &str = "feature_params_json";
    /// unicode 0-d: sha256 of the manifest the set was exported from.
    pub const MANIFEST_SHA256: &str = "manifest_sha256";
}

/// One exported training set: every patch of every clip with its label and
/// split. This is what `lacquer features` writes and the notebook trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    pub params: FeatureParams,
    /// Position = label index.
    pub labels: Vec<String>,
    pub clip_ids: Vec<String>,
    pub clip_source_track_ids: Vec<String>,
    /// `[patch][mel][frame]`.
    pub x: Vec<f32>,
    pub y: Vec<i64>,
    pub clip_index: Vec<i64>,
    pub split: Vec<String>,
    pub patch_start_s: Vec<f64>,
    pub manifest_sha256: String,
}

impl FeatureSet {
    /// An empty set for `labels`, exported from a manifest with this hash.
    pub fn new(labels: Vec<String>, manifest_sha256: String) -> Self {
        Self {
            params: FEATURE_PARAMS,
            labels,
            clip_ids: Vec::new(),
            clip_source_track_ids: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            clip_index: Vec::new(),
            split: Vec::new(),
            patch_start_s: Vec::new(),
            manifest_sha256,
        }
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Appends every patch of one clip.
    pub fn push_clip(
        &mut self,
        clip_id: &str,
        source_track_id: &str,
        label_index: usize,
        split: &str,
        patches: &Patches,
    ) -> Result<(), FeatureError> {
        let inconsistent = |detail: String| FeatureError::InconsistentSet { detail };
        if label_index >= self.labels.len() {
            return Err(inconsistent(format!(
                "label index {label_index} for clip {clip_id} but only {} labels",
                self.labels.len()
            )));
        }
        if patches.n_mels() != self.params.n_mels || patches.frames() != self.params.patch_frames {
            return Err(inconsistent(format!(
                "clip {clip_id} has {}×{} patches, the set holds {}×{}",
                patches.n_mels(),
                patches.frames(),
                self.params.n_mels,
                self.params.patch_frames
            )));
        }
        let clip = self.clip_ids.len() as i64;
        self.clip_ids.push(clip_id.to_owned());
        self.clip_source_track_ids.push(source_track_id.to_owned());
        self.x.extend_from_slice(patches.data());
        for &start in patches.starts_seconds() {
            self.y.push(label_index as i64);
            self.clip_index.push(clip);
            self.split.push(split.to_owned());
            self.patch_start_s.push(start);
        }
        Ok(())
    }

    /// The `.npz` bytes (deterministic: same set, same bytes).
    pub fn to_npz(&self) -> Result<Vec<u8>, FeatureError> {
        use npz_names as n;
        let patches = self.len();
        let x = NpyArray::new(
            vec![patches, 1, self.params.n_mels, self.params.patch_frames],
            NpyData::F32(self.x.clone()),
        )?;
        let y = NpyArray::new(vec![patches], NpyData::I64(self.y.clone()))?;
        let clip_index = NpyArray::new(vec![patches], NpyData::I64(self.clip_index.clone()))?;
        let split = NpyArray::strings(self.split.clone());
        let starts = NpyArray::new(vec![patches], NpyData::F64(self.patch_start_s.clone()))?;
        if split.shape != [patches] {
            return Err(FeatureError::InconsistentSet {
                detail: format!("{} splits for {patches} patches", self.split.len()),
            });
        }
        let clip_ids = NpyArray::strings(self.clip_ids.clone());
        let tracks = NpyArray::strings(self.clip_source_track_ids.clone());
        let labels = NpyArray::strings(self.labels.clone());
        let params_json = serde_json::to_string(&self.params).map_err(FeatureError::ParamsJson)?;
        let params = NpyArray::scalar_string(params_json);
        let manifest = NpyArray::scalar_string(self.manifest_sha256.clone());
        write_npz(&[
            (n::X, &x),
            (n::Y, &y),
            (n::CLIP_INDEX, &clip_index),
            (n::SPLIT, &split),
            (n::PATCH_START_S, &starts),
            (n::CLIP_IDS, &clip_ids),
            (n::CLIP_TRACKS, &tracks),
            (n::LABELS, &labels),
            (n::FEATURE_PARAMS_JSON, &params),
            (n::MANIFEST_SHA256, &manifest),
        ])
    }

    /// Reads a set written by [`Self::to_npz`].
    pub fn from_npz(bytes: &[u8]) -> Result<Self, FeatureError> {
        use npz_names as n;
        let mut arrays = read_npz(bytes)?;
        let mut take = |name: &str| -> Result<NpyArray, FeatureError> {
            let at = arrays.iter().position(|(k, _)| k == name).ok_or_else(|| {
                FeatureError::InconsistentSet {
                    detail: format!("array {name} is missing"),
                }
            })?;
            Ok(arrays.swap_remove(at).1)
        };
        let wrong = |name: &str| FeatureError::InconsistentSet {
            detail: format!("array {name} has the wrong dtype"),
        };
        let x = take(n::X)?;
        let NpyData::F32(x_data) = x.data else {
            return Err(wrong(n::X));
        };
        let NpyData::I64(y) = take(n::Y)?.data else {
            return Err(wrong(n::Y));
        };
        let NpyData::I64(clip_index) = take(n::CLIP_INDEX)?.data else {
            return Err(wrong(n::CLIP_INDEX));
        };
        let NpyData::Str(split) = take(n::SPLIT)?.data else {
            return Err(wrong(n::SPLIT));
        };
        let NpyData::F64(patch_start_s) = take(n::PATCH_START_S)?.data else {
            return Err(wrong(n::PATCH_START_S));
        };
        let NpyData::Str(clip_ids) = take(n::CLIP_IDS)?.data else {
            return Err(wrong(n::CLIP_IDS));
        };
        let NpyData::Str(clip_source_track_ids) = take(n::CLIP_TRACKS)?.data else {
            return Err(wrong(n::CLIP_TRACKS));
        };
        let NpyData::Str(labels) = take(n::LABELS)?.data else {
            return Err(wrong(n::LABELS));
        };
        let NpyData::Str(mut params_json) = take(n::FEATURE_PARAMS_JSON)?.data else {
            return Err(wrong(n::FEATURE_PARAMS_JSON));
        };
        let NpyData::Str(mut manifest) = take(n::MANIFEST_SHA256)?.data else {
            return Err(wrong(n::MANIFEST_SHA256));
        };
        let params: FeatureParams = serde_json::from_str(&params_json.pop().unwrap_or_default())
            .map_err(FeatureError::ParamsJson)?;
        let patches = y.len();
        let expected_shape = [patches, 1, params.n_mels, params.patch_frames];
        if x.shape != expected_shape
            || clip_index.len() != patches
            || split.len() != patches
            || patch_start_s.len() != patches
            || clip_ids.len() != clip_source_track_ids.len()
        {
            return Err(FeatureError::InconsistentSet {
                detail: format!(
                    "x is {:?} for {patches} labels (expected {expected_shape:?}) or a per-patch/per-clip array has another length",
                    x.shape
                ),
            });
        }
        Ok(Self {
            params,
            labels,
            clip_ids,
            clip_source_track_ids,
            x: x_data,
            y,
            clip_index,
            split,
            patch_start_s,
            manifest_sha256: manifest.pop().unwrap_or_default(),
        })
    }
}
