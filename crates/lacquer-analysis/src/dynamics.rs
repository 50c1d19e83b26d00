//! How the level moves: short-term loudness spread, transients, low-end
//! steadiness.

use crate::biquad::{Biquad, BiquadState};
use crate::loudness::{
    ABSOLUTE_GATE_LUFS, BLOCKS_PER_SUBBLOCK, LRA_RELATIVE_GATE_LU, LoudnessDetail, percentile,
};
use lacquer_core::analysis::DynamicsAnalysis;
use lacquer_core::units::{Db, Lufs};

/// An onset is a 10 ms block this much louder than the 50 ms before it.
pub(crate) const ONSET_RISE_DB: f64 = 6.0;
/// 10 ms blocks averaged for the "before" level (50 ms), ending one block
/// before the candidate so an attack split over two blocks still counts.
const ONSET_BASELINE_BLOCKS: usize = 5;
/// After an onset, ignore further rises for this many blocks (50 ms), so one
/// drum hit counts once.
const ONSET_REFRACTORY_BLOCKS: usize = 5;
/// Baseline floor, so an attack out of digital silence has a finite rise.
const ONSET_BASELINE_FLOOR_LUFS: f64 = -100.0;
/// The low end is everything below this.
pub(crate) const LOW_END_CUTOFF_HZ: f64 = 120.0;
/// Sample rate the low-end level is taken at after box-filter decimation
/// (at least this); content above ~2 kHz is attenuated by the box and the
/// 120 Hz low-pass together far below the bass it would alias onto.
const LOW_END_RATE_HZ: u32 = 4_000;
/// Q values of a 4th-order Butterworth low-pass as two biquads.
const BUTTERWORTH4_Q: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_7];

/// The dynamics record from the loudness pass and the low-end levels.
pub(crate) fn finish(
    loud: &LoudnessDetail,
    frames: usize,
    rate_hz: u32,
    low_end: LowEndStream<'_>,
) -> DynamicsAnalysis {
    let st = &loud.gated_short_term;
    let p = |q: f64| percentile(st, q).map(Lufs);
    let gate = gate(loud);
    let (onsets, sharpness) = match gate {
        Some(g) => onsets(loud, g),
        None => (0, None),
    };
    let duration_s = frames as f64 / f64::from(rate_hz);
    DynamicsAnalysis {
        short_term_p10_lufs: p(0.10),
        short_term_p50_lufs: p(0.50),
        short_term_p90_lufs: p(0.90),
        short_term_p95_lufs: p(0.95),
        transient_density_per_second: onsets as f64 / duration_s,
        transient_sharpness_db: sharpness,
        low_end_modulation_db: low_end.finish(),
    }
}

/// The level the dynamics figures count from (the LRA gates).
fn gate(loud: &LoudnessDetail) -> Option<f64> {
    loud.summary
        .integrated
        .map(|i| (i.0 + LRA_RELATIVE_GATE_LU).max(ABSOLUTE_GATE_LUFS))
}

/// Onset count and mean rise (dB) from the K-weighted 10 ms blocks.
fn onsets(loud: &LoudnessDetail, gate_lufs: f64) -> (usize, Option<Db>) {
    let blocks = loud.block_energy.len();
    let mut count = 0usize;
    let mut rise_sum = 0.0;
    let mut next_allowed = 0usize;
    for k in (ONSET_BASELINE_BLOCKS + 1)..blocks {
        if k < next_allowed {
            continue;
        }
        let level = loud.blocks_lufs(k, k + 1);
        if level <= gate_lufs {
            continue;
        }
        let baseline = loud
            .blocks_lufs(k - 1 - ONSET_BASELINE_BLOCKS, k - 1)
            .max(ONSET_BASELINE_FLOOR_LUFS);
        let rise = level - baseline;
        if rise >= ONSET_RISE_DB {
            count += 1;
            rise_sum += rise;
            next_allowed = k + ONSET_REFRACTORY_BLOCKS;
        }
    }
    let sharpness = (count > 0).then(|| Db(rise_sum / count as f64));
    (count, sharpness)
}

/// Standard deviation (dB) of the < 120 Hz MID level in 100 ms windows,
/// over windows whose full-band loudness passes the LRA gates; fed one
/// 100 ms sub-block at a time, in order.
pub(crate) struct LowEndStream<'a> {
    loud: &'a LoudnessDetail,
    /// `None` when nothing passes the gates: no reading.
    gate: Option<f64>,
    decimation: usize,
    stages: [Biquad; 2],
    states: [BiquadState; 2],
    levels_db: Vec<f64>,
}

impl<'a> LowEndStream<'a> {
    pub(crate) fn new(rate_hz: u32, loud: &'a LoudnessDetail) -> Self {
        let decimation = (rate_hz / LOW_END_RATE_HZ).max(1) as usize;
        let low_rate = f64::from(rate_hz) / decimation as f64;
        Self {
            loud,
            gate: gate(loud),
            decimation,
            stages: BUTTERWORTH4_Q.map(|q| Biquad::lowpass(low_rate, LOW_END_CUTOFF_HZ, q)),
            states: [BiquadState::default(); 2],
            levels_db: Vec::new(),
        }
    }

    /// Sub-block `j` (its frames on the loudness grid).
    pub(crate) fn subblock(&mut self, j: usize, left: &[f32], right: &[f32]) {
        let Some(gate_lufs) = self.gate else {
            return;
        };
        let first = j * BLOCKS_PER_SUBBLOCK;
        let last = first + BLOCKS_PER_SUBBLOCK;
        let mut energy = 0.0f64;
        let mut count = 0usize;
        let [s0, s1] = &mut self.states;
        for (l, r) in left
            .chunks(self.decimation)
            .zip(right.chunks(self.decimation))
        {
            // Box average of the MID signal: the decimation's anti-alias.
            let sum: f32 = l.iter().zip(r).map(|(a, b)| a + b).sum();
            let mid = f64::from(sum) / (2.0 * l.len() as f64);
            let y = self.stages[1].run(s1, self.stages[0].run(s0, mid));
            energy += y * y;
            count += 1;
        }
        if self.loud.blocks_lufs(first, last) > gate_lufs && count > 0 && energy > 0.0 {
            self.levels_db.push(10.0 * (energy / count as f64).log10());
        }
    }

    pub(crate) fn finish(self) -> Option<Db> {
        let levels_db = self.levels_db;
        if levels_db.len() < 2 {
            return None;
        }
        let mean = levels_db.iter().sum::<f64>() / levels_db.len() as f64;
        let variance = levels_db
            .iter()
            .map(|l| (l - mean) * (l - mean))
            .sum::<f64>()
            / levels_db.len() as f64;
        Some(Db(variance.sqrt()))
    }
}
