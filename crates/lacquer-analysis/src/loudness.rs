//! BS.1770-4 / EBU R128 loudness from one K-weighting pass.
//!
//! The pass stores the K-weighted energy of every 10 ms block; every window
//! the standards ask for (400 ms momentary, 3 s short-term, both on a 100 ms
//! hop) is then a sum of whole blocks. That keeps the expensive part (the
//! filters) to one pass however many readings we take, and the 10 ms grid is
//! fine enough for the transient detector to reuse.

use crate::biquad::{Biquad, StereoDf1State};
use crate::{AnalysisError, StereoView};
use lacquer_core::AudioBuffer;
use lacquer_core::units::{Db, Lufs};

/// BS.1770's offset between K-weighted mean square and LUFS.
const LUFS_OFFSET: f64 = -0.691;
/// BS.1770 absolute gate.
pub(crate) const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// BS.1770 relative gate for integrated loudness.
pub(crate) const RELATIVE_GATE_LU: f64 = -10.0;
/// EBU Tech 3342 relative gate for the loudness range.
pub(crate) const LRA_RELATIVE_GATE_LU: f64 = -20.0;
/// Tech 3342 reads the range between these percentiles.
const LRA_LOW_PERCENTILE: f64 = 0.10;
const LRA_HIGH_PERCENTILE: f64 = 0.95;

/// Blocks of 10 ms per second.
pub(crate) const BLOCKS_PER_SECOND: u64 = 100;
/// 10 ms blocks in one 100 ms hop.
pub(crate) const BLOCKS_PER_SUBBLOCK: usize = 10;
pub(crate) const SUBBLOCK_SECONDS: f64 = 0.1;
/// 100 ms hops in a 400 ms momentary window.
const MOMENTARY_SUBBLOCKS: usize = 4;
/// 100 ms hops in a 3 s short-term window.
const SHORT_TERM_SUBBLOCKS: usize = 30;
/// The record's short-term series is every 10th 100 ms reading (1 s): the
/// 3 s window already smooths away anything faster, so a 1 s hop loses
/// nothing a plot can show and keeps a 3 min track at 180 numbers instead of
/// 1800 in the JSON. The full 100 ms series feeds LRA and the percentiles.
pub(crate) const SERIES_HOP_BLOCKS: usize = 10;

/// Loudness readings from one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct LoudnessSummary {
    /// Gated integrated loudness; `None` if nothing passes the gates.
    pub integrated: Option<Lufs>,
    /// Highest momentary (400 ms) loudness.
    pub momentary_max: Option<Lufs>,
    /// Highest short-term (3 s) loudness.
    pub short_term_max: Option<Lufs>,
    /// EBU Tech 3342 loudness range in LU.
    pub loudness_range_lu: Option<Db>,
    /// Short-term loudness every 100 ms; entry `i` covers `[0.1·i, 0.1·i + 3)` s.
    pub short_term_100ms: Vec<Option<Lufs>>,
}

/// Everything the loudness pass leaves for the other measurements.
#[derive(Debug, Clone)]
pub(crate) struct LoudnessDetail {
    pub(crate) summary: LoudnessSummary,
    /// Channel-summed K-weighted sum of squares per 10 ms block.
    pub(crate) block_energy: Vec<f64>,
    /// First frame of each 10 ms block; one more entry than `block_energy`.
    pub(crate) block_bounds: Vec<usize>,
    /// Short-term values that pass the LRA gates, sorted ascending.
    pub(crate) gated_short_term: Vec<f64>,
}

impl LoudnessDetail {
    /// Loudness of blocks `range` (10 ms block indices).
    pub(crate) fn blocks_lufs(&self, first: usize, end: usize) -> f64 {
        let energy: f64 = self.block_energy[first..end].iter().sum();
        let frames = self.block_bounds[end] - self.block_bounds[first];
        mean_square_to_lufs(energy / frames.max(1) as f64)
    }
}

/// Integrated, momentary/short-term maximum, LRA and the short-term series in
/// one K-weighting pass.
pub fn loudness(buffer: &AudioBuffer) -> Result<LoudnessSummary, AnalysisError> {
    let view = StereoView::new(buffer)?;
    Ok(measure(&view).summary)
}

/// Gated integrated loudness (BS.1770-4); `None` for silence or a buffer
/// shorter than one 400 ms block.
pub fn integrated_loudness(buffer: &AudioBuffer) -> Result<Option<Lufs>, AnalysisError> {
    Ok(loudness(buffer)?.integrated)
}

pub(crate) fn mean_square_to_lufs(mean_square: f64) -> f64 {
    if mean_square > 0.0 {
        LUFS_OFFSET + 10.0 * mean_square.log10()
    } else {
        f64::NEG_INFINITY
    }
}

fn to_lufs(value: f64) -> Option<Lufs> {
    value.is_finite().then_some(Lufs(value))
}

pub(crate) fn measure(view: &StereoView<'_>) -> LoudnessDetail {
    let mut blocks = KWeightedBlocks::new(view.rate_hz);
    blocks.push(view.left, view.right);
    blocks.finish()
}

/// The readings from the 10 ms block energies (`block_bounds` has one more
/// entry than `block_energy`).
fn detail_from_blocks(block_energy: Vec<f64>, block_bounds: Vec<usize>) -> LoudnessDetail {
    let subblocks = subblocks(&block_energy, &block_bounds);
    let momentary_ms = window_mean_squares(&subblocks, MOMENTARY_SUBBLOCKS);
    let short_term_ms = window_mean_squares(&subblocks, SHORT_TERM_SUBBLOCKS);

    let integrated = gated_mean(&momentary_ms, RELATIVE_GATE_LU).map(|(ms, _)| ms);
    let momentary_max = momentary_ms.iter().copied().fold(0.0, f64::max);
    let short_term_max = short_term_ms.iter().copied().fold(0.0, f64::max);

    let mut gated_short_term: Vec<f64> = match gated_mean(&short_term_ms, LRA_RELATIVE_GATE_LU) {
        Some((_, threshold)) => short_term_ms
            .iter()
            .map(|&ms| mean_square_to_lufs(ms))
            .filter(|&l| l > ABSOLUTE_GATE_LUFS && l > threshold)
            .collect(),
        None => Vec::new(),
    };
    gated_short_term.sort_by(f64::total_cmp);
    let loudness_range_lu = match (
        percentile(&gated_short_term, LRA_HIGH_PERCENTILE),
        percentile(&gated_short_term, LRA_LOW_PERCENTILE),
    ) {
        (Some(high), Some(low)) => Some(Db(high - low)),
        _ => None,
    };

    LoudnessDetail {
        summary: LoudnessSummary {
            integrated: integrated.and_then(|ms| to_lufs(mean_square_to_lufs(ms))),
            momentary_max: to_lufs(mean_square_to_lufs(momentary_max)),
            short_term_max: to_lufs(mean_square_to_lufs(short_term_max)),
            loudness_range_lu,
            short_term_100ms: short_term_ms
                .iter()
                .map(|&ms| to_lufs(mean_square_to_lufs(ms)))
                .collect(),
        },
        block_energy,
        block_bounds,
        gated_short_term,
    }
}

/// 100 ms sub-blocks as (energy, frames) from the 10 ms block energies.
fn subblocks(block_energy: &[f64], block_bounds: &[usize]) -> Vec<(f64, usize)> {
    block_energy
        .chunks_exact(BLOCKS_PER_SUBBLOCK)
        .enumerate()
        .map(|(j, energy)| {
            let first = j * BLOCKS_PER_SUBBLOCK;
            let frames = block_bounds[first + BLOCKS_PER_SUBBLOCK] - block_bounds[first];
            (energy.iter().sum(), frames)
        })
        .collect()
}

/// Mean square of every window of `len` consecutive sub-blocks.
fn window_mean_squares(subblocks: &[(f64, usize)], len: usize) -> Vec<f64> {
    subblocks
        .windows(len)
        .map(|w| {
            let (energy, frames) = w
                .iter()
                .fold((0.0, 0usize), |(e, n), &(be, bn)| (e + be, n + bn));
            energy / frames.max(1) as f64
        })
        .collect()
}

/// Gated integrated loudness from 10 ms block energies (`block_bounds`
/// has one more entry than `block_energy`): the same sub-blocks, windows
/// and gates as [`loudness`].
pub(crate) fn integrated_from_blocks(block_energy: &[f64], block_bounds: &[usize]) -> Option<Lufs> {
    let momentary_ms =
        window_mean_squares(&subblocks(block_energy, block_bounds), MOMENTARY_SUBBLOCKS);
    gated_mean(&momentary_ms, RELATIVE_GATE_LU).and_then(|(ms, _)| to_lufs(mean_square_to_lufs(ms)))
}

/// BS.1770 two-stage gating over window mean squares: returns the mean square
/// of the windows above both gates and the relative threshold in LUFS.
fn gated_mean(mean_squares: &[f64], relative_gate_lu: f64) -> Option<(f64, f64)> {
    let absolute_gate = |ms: &&f64| mean_square_to_lufs(**ms) > ABSOLUTE_GATE_LUFS;
    let (sum, count) = mean_squares
        .iter()
        .filter(absolute_gate)
        .fold((0.0, 0usize), |(s, n), &ms| (s + ms, n + 1));
    if count == 0 {
        return None;
    }
    let threshold = mean_square_to_lufs(sum / count as f64) + relative_gate_lu;
    let (sum, count) = mean_squares
        .iter()
        .filter(absolute_gate)
        .filter(|ms| mean_square_to_lufs(**ms) > threshold)
        .fold((0.0, 0usize), |(s, n), &ms| (s + ms, n + 1));
    (count > 0).then(|| (sum / count as f64, threshold))
}

/// Linear-interpolated percentile of ascending values (`p` in 0..=1).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = p.clamp(0.0, 1.0) * last as f64;
    let low = position.floor() as usize;
    let high = (low + 1).min(last);
    let frac = position - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * frac)
}

/// First frame of 10 ms block `k` at `rate_hz`: the nearest frame to k·10 ms.
pub(crate) fn block_bound(rate_hz: u64, k: usize) -> usize {
    ((k as u64 * rate_hz + BLOCKS_PER_SECOND / 2) / BLOCKS_PER_SECOND) as usize
}

/// K-weights both channels together (the two channels' filter chains are
/// independent, so they fill each other's waits on their own feedback) and
/// sums the squares per 10 ms block, fed in pieces of any length. Channel
/// weights are 1 (BS.1770 L/R); a mono input arrives as the same samples
/// twice, i.e. dual mono.
///
/// Every sample passes the same filters and adds to the same block sum in
/// the same order however the signal is cut into pieces, so the energies
/// are bit-identical to one whole-buffer pass. Samples after the last whole
/// block are filtered but never counted, as the standard's windows need
/// whole blocks.
#[derive(Debug, Clone)]
pub(crate) struct KWeightedBlocks {
    rate_hz: u64,
    shelf: Biquad,
    highpass: Biquad,
    shelf_state: StereoDf1State,
    highpass_state: StereoDf1State,
    /// Frames pushed so far.
    position: usize,
    /// End of the block being summed.
    next_bound: usize,
    acc: [f64; 2],
    energy: Vec<f64>,
    bounds: Vec<usize>,
}

impl KWeightedBlocks {
    pub(crate) fn new(rate_hz: u32) -> Self {
        let rate = f64::from(rate_hz);
        let mut blocks = Self {
            rate_hz: u64::from(rate_hz),
            shelf: Biquad::k_shelf(rate),
            highpass: Biquad::k_highpass(rate),
            shelf_state: StereoDf1State::default(),
            highpass_state: StereoDf1State::default(),
            position: 0,
            next_bound: 0,
            acc: [0.0; 2],
            energy: Vec::new(),
            bounds: vec![0],
        };
        blocks.next_bound = blocks.bound(1);
        blocks
    }

    fn bound(&self, k: usize) -> usize {
        block_bound(self.rate_hz, k)
    }

    pub(crate) fn push(&mut self, left: &[f32], right: &[f32]) {
        debug_assert_eq!(left.len(), right.len());
        let mut from = 0;
        while from < left.len() {
            let to = (from + self.next_bound - self.position).min(left.len());
            let (shelf, highpass) = (self.shelf, self.highpass);
            let (mut shelf_state, mut highpass_state) = (self.shelf_state, self.highpass_state);
            let mut acc = self.acc;
            for (&l, &r) in left[from..to].iter().zip(&right[from..to]) {
                let shelved = shelf.run_stereo_df1(&mut shelf_state, [f64::from(l), f64::from(r)]);
                let y = highpass.run_stereo_df1(&mut highpass_state, shelved);
                acc[0] += y[0] * y[0];
                acc[1] += y[1] * y[1];
            }
            (self.shelf_state, self.highpass_state, self.acc) = (shelf_state, highpass_state, acc);
            self.position += to - from;
            from = to;
            if self.position == self.next_bound {
                self.energy.push(acc[0] + acc[1]);
                self.acc = [0.0; 2];
                self.bounds.push(self.next_bound);
                self.next_bound = self.bound(self.bounds.len());
            }
        }
    }

    pub(crate) fn finish(self) -> LoudnessDetail {
        detail_from_blocks(self.energy, self.bounds)
    }
}
