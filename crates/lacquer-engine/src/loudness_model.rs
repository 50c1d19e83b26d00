//! Predicted loudness of `gain → limiter`, so the loop aims before it runs.
//!
//! Why: each real pass of the loudness loop runs the limiter and both
//! meters over the whole track (about a third of a second for three
//! minutes). Started from plain gain and steered by secants, the loop
//! needed three or four passes on loud material, because the limiter
//! bends the loudness curve. This model reads the pre-limiter signal once
//! (its K-weighted energy and the limiter's unity-gain peak readings per
//! segment of about 0.7 ms) and then predicts the integrated loudness at
//! any gain and ceiling in a few milliseconds (see
//! [`lacquer_dsp::limiter::LimiterModel`] for what it leaves out). The loop
//! aims with it, corrects it by what each real pass measured, and still
//! keeps only a measured pass.

use crate::error::EngineError;
use crate::stream::each_piece;
use lacquer_analysis::{SegmentedEnergy, SegmentedLoudness};
use lacquer_core::chain::LimiterSettings;
use lacquer_dsp::limiter::{LimiterModel, PeakReader};
use lacquer_io::Spool;
use std::path::Path;

/// Segments per 10 ms block: about 0.7 ms each at any rate, shorter than
/// the limiter's shortest lookahead (1 ms), so a peak's held gain spans
/// whole segments.
const SEGMENTS_PER_BLOCK: usize = 14;
/// At most this many segments, whatever the input's length (12 bytes
/// each): a longer input gets longer segments, so memory stays bounded.
const MAX_SEGMENTS: usize = 1 << 20;
/// Frames handed to the two readers at a time (bounds the per-frame
/// readings held before they are folded into segments).
const READ_FRAMES: usize = 1 << 16;
/// Bisection stops when the bracket is this narrow, dB.
const SOLVE_RESOLUTION_DB: f64 = 1e-4;
/// A solve stops once the prediction is this close to its target, LU
/// (far inside what the model itself can promise).
const SOLVE_TOLERANCE_LU: f64 = 1e-3;
/// Bound on model evaluations per solve.
const MAX_SOLVE_STEPS: usize = 60;

/// The pre-limiter signal, reduced to what the model needs.
#[derive(Debug, Clone)]
pub struct LoudnessModel {
    energy: SegmentedEnergy,
    /// Largest unity-gain peak reading per segment.
    peaks: Vec<f32>,
    limiter: LimiterModel,
    /// Loudness of the signal as read (no gain, no limiting).
    unlimited_lufs: Option<f64>,
}

/// Reads the pre-limiter signal as it comes, piece by piece, into a
/// [`LoudnessModel`] (so the model can be built while the chain makes the
/// signal, instead of reading it back afterwards).
pub struct ModelRecorder {
    limiter: LimiterModel,
    reader: PeakReader,
    recorder: SegmentedLoudness,
    folder: PeakFolder,
}

impl ModelRecorder {
    /// A recorder for `frames` frames at `rate_hz` (the length sets the
    /// segment size, see `MAX_SEGMENTS`). `label` names the file in
    /// errors.
    pub fn new(
        rate_hz: u32,
        frames: usize,
        limiter: &LimiterSettings,
        label: &Path,
    ) -> Result<Self, EngineError> {
        let dsp_err = |source| EngineError::Dsp {
            path: label.to_path_buf(),
            source,
        };
        let model = LimiterModel::new(limiter, rate_hz).map_err(dsp_err)?;
        let reader = PeakReader::new(rate_hz).map_err(dsp_err)?;
        let block_frames = (rate_hz as usize / 100).max(1);
        let blocks = frames / block_frames + 1;
        let per_block = SEGMENTS_PER_BLOCK.min((MAX_SEGMENTS / blocks).max(1));
        let recorder =
            SegmentedLoudness::new(rate_hz, per_block).map_err(|source| EngineError::Analysis {
                path: label.to_path_buf(),
                source,
            })?;
        Ok(Self {
            limiter: model,
            reader,
            recorder,
            folder: PeakFolder::default(),
        })
    }

    /// The next stereo piece (any length: the result does not depend on
    /// how the signal is cut). The two readers run side by side on
    /// rayon's pool, `READ_FRAMES` at a time.
    pub fn push(&mut self, left: &[f32], right: &[f32]) {
        for (left, right) in left.chunks(READ_FRAMES).zip(right.chunks(READ_FRAMES)) {
            let (recorder, reader, folder) =
                (&mut self.recorder, &mut self.reader, &mut self.folder);
            rayon::join(
                || recorder.push(left, right),
                || reader.push(left, right, &mut folder.readings),
            );
            folder.fold(recorder.lengths());
        }
    }

    pub fn finish(self) -> LoudnessModel {
        let Self {
            limiter,
            mut reader,
            recorder,
            mut folder,
        } = self;
        reader.finish(&mut folder.readings);
        let energy = recorder.finish();
        folder.fold(energy.lengths());
        let mut peaks = folder.peaks;
        peaks.truncate(energy.lengths().len());
        let unlimited_lufs = energy.integrated_lufs(&vec![1.0; peaks.len()]).map(|l| l.0);
        LoudnessModel {
            energy,
            peaks,
            limiter,
            unlimited_lufs,
        }
    }
}

impl LoudnessModel {
    /// Reads `pre_limiter` once (its K-weighting beside the peak
    /// readings). `label` names the file in errors.
    pub fn measure(
        pre_limiter: &Spool,
        limiter: &LimiterSettings,
        label: &Path,
    ) -> Result<Self, EngineError> {
        let mut recorder =
            ModelRecorder::new(pre_limiter.sample_rate(), pre_limiter.len(), limiter, label)?;
        each_piece(pre_limiter, label, |piece| {
            recorder.push(piece[0], piece[1]);
            Ok(())
        })?;
        Ok(recorder.finish())
    }

    /// Predicted integrated loudness (LUFS) of the limited output at
    /// `gain_db` into a limiter with ceiling `ceiling_dbtp`; `None` when
    /// nothing would pass the gates.
    pub fn predict_lufs(
        &self,
        gain_db: f64,
        ceiling_dbtp: f64,
        scratch: &mut Vec<f32>,
    ) -> Option<f64> {
        let gain = 10f64.powf(gain_db / 20.0);
        self.limiter.energy_weights(
            gain,
            ceiling_dbtp,
            &self.peaks,
            self.energy.lengths(),
            scratch,
        );
        self.energy.integrated_lufs(scratch).map(|l| l.0)
    }

    /// Loudness of the pre-limiter signal itself (no gain, no limiting).
    pub fn unlimited_lufs(&self) -> Option<f64> {
        self.unlimited_lufs
    }

    /// The gain in `[lo_db, hi_db]` the model says lands on `target_lufs`
    /// at `ceiling_dbtp`; the nearer bound when the target lies outside
    /// what the range can reach, `None` when the model has nothing to go
    /// on. Secant steps from plain gain (exact while the limiter is idle),
    /// kept inside a bracket that shrinks around the answer (the
    /// prediction never falls as the gain rises), bisecting whenever a
    /// step would leave it.
    pub fn solve_gain_db(
        &self,
        target_lufs: f64,
        ceiling_dbtp: f64,
        (lo_db, hi_db): (f64, f64),
    ) -> Option<f64> {
        let mut scratch = Vec::with_capacity(self.peaks.len());
        let mut at = |g: f64| self.predict_lufs(g, ceiling_dbtp, &mut scratch);
        let (mut lo, mut hi) = (lo_db, hi_db);
        let plain = target_lufs - self.unlimited_lufs()?;
        // Out of reach at either end: that end.
        if at(hi).is_some_and(|l| l <= target_lufs) {
            return Some(hi);
        }
        if at(lo).is_some_and(|l| l >= target_lufs) {
            return Some(lo);
        }
        let mut g = plain.clamp(lo, hi);
        let mut previous: Option<(f64, f64)> = None;
        for _ in 0..MAX_SOLVE_STEPS {
            // Below the absolute gate nothing is predicted: too quiet.
            let error = at(g).map_or(f64::INFINITY, |l| target_lufs - l);
            if error.abs() <= SOLVE_TOLERANCE_LU {
                return Some(g);
            }
            if error > 0.0 {
                lo = g;
            } else {
                hi = g;
            }
            if hi - lo <= SOLVE_RESOLUTION_DB {
                break;
            }
            let slope = match previous {
                Some((pg, pe)) if error.is_finite() && pe.is_finite() && pg != g => {
                    (pe - error) / (g - pg)
                }
                _ => 1.0,
            };
            previous = Some((g, error));
            let step = g + error / slope;
            g = if slope > 0.0 && step.is_finite() && step > lo && step < hi {
                step
            } else {
                0.5 * (lo + hi)
            };
        }
        Some(0.5 * (lo + hi))
    }
}

/// Folds per-frame peak readings into per-segment maxima as the segment
/// lengths become known.
#[derive(Debug, Default)]
struct PeakFolder {
    readings: Vec<f32>,
    peaks: Vec<f32>,
}

impl PeakFolder {
    /// Folds the readings of every segment in `lengths` not folded yet
    /// whose frames have all been read.
    fn fold(&mut self, lengths: &[u32]) {
        let mut used = 0;
        for &len in &lengths[self.peaks.len().min(lengths.len())..] {
            let len = len as usize;
            if used + len > self.readings.len() {
                break;
            }
            let peak = self.readings[used..used + len]
                .iter()
                .fold(0.0f32, |m, &v| m.max(v));
            self.peaks.push(peak);
            used += len;
        }
        self.readings.drain(..used);
    }
}
