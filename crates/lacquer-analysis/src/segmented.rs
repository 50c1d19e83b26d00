//! K-weighted energy on a grid finer than the 10 ms blocks, and gated
//! loudness of that energy reweighted segment by segment.
//!
//! Why: the engine's loudness loop predicts what a gain change followed by
//! a limiter does to integrated loudness without running the limiter. A
//! gain that varies slowly next to the K-weighting filters' memory commutes
//! with them, so the output's K-weighted energy is close to the input's,
//! segment by segment, times the square of the gain applied there. This
//! type records the segments once; [`SegmentedEnergy::integrated_lufs`]
//! then answers "what if each segment were scaled by w" with the same
//! blocks, windows and gates as [`crate::loudness`], for the price of a sum.
//!
//! The grid: every 10 ms block (the meter's, see `loudness.rs`) is cut
//! into `per_block` segments of near-equal length, so a segment never
//! straddles a block and block energies are exact sums of segments.

use crate::biquad::{Biquad, StereoDf1State};
use crate::loudness::{block_bound, integrated_from_blocks};
use crate::{AnalysisError, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use lacquer_core::units::Lufs;

/// Records channel-summed K-weighted energy per segment, fed in stereo
/// pieces of any length (a cut between pieces changes nothing).
#[derive(Debug, Clone)]
pub struct SegmentedLoudness {
    rate_hz: u64,
    per_block: usize,
    shelf: Biquad,
    highpass: Biquad,
    shelf_state: StereoDf1State,
    highpass_state: StereoDf1State,
    /// Frames pushed so far.
    position: usize,
    /// First and end frame of the block being cut.
    block_start: usize,
    block_end: usize,
    /// Index of the segment being summed inside its block.
    part: usize,
    segment_start: usize,
    segment_end: usize,
    acc: f64,
    energy: Vec<f32>,
    lengths: Vec<u32>,
    block_bounds: Vec<usize>,
}

impl SegmentedLoudness {
    /// A recorder at `rate_hz` (8–384 kHz) cutting each 10 ms block into
    /// `per_block` segments (at least 1, at most the block's frames).
    pub fn new(rate_hz: u32, per_block: usize) -> Result<Self, AnalysisError> {
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&rate_hz) {
            return Err(AnalysisError::UnsupportedSampleRate { rate_hz });
        }
        let rate = f64::from(rate_hz);
        let rate_u = u64::from(rate_hz);
        // The shortest block has rate/100 frames rounded down.
        let shortest = (rate_u / 100) as usize;
        let mut recorder = Self {
            rate_hz: rate_u,
            per_block: per_block.clamp(1, shortest.max(1)),
            shelf: Biquad::k_shelf(rate),
            highpass: Biquad::k_highpass(rate),
            shelf_state: StereoDf1State::default(),
            highpass_state: StereoDf1State::default(),
            position: 0,
            block_start: 0,
            block_end: block_bound(rate_u, 1),
            part: 0,
            segment_start: 0,
            segment_end: 0,
            acc: 0.0,
            energy: Vec::new(),
            lengths: Vec::new(),
            block_bounds: vec![0],
        };
        recorder.segment_end = recorder.part_end(0);
        Ok(recorder)
    }

    /// Segments per 10 ms block.
    pub fn per_block(&self) -> usize {
        self.per_block
    }

    /// Frames in each segment closed so far (the last block's segments
    /// included before the block is whole).
    pub fn lengths(&self) -> &[u32] {
        &self.lengths
    }

    /// End frame of part `j` of the current block.
    fn part_end(&self, j: usize) -> usize {
        let len = self.block_end - self.block_start;
        self.block_start + (j + 1) * len / self.per_block
    }

    /// The next stereo piece (equal lengths).
    pub fn push(&mut self, left: &[f32], right: &[f32]) {
        let frames = left.len().min(right.len());
        let mut from = 0;
        while from < frames {
            let to = (from + self.segment_end - self.position).min(frames);
            let (shelf, highpass) = (self.shelf, self.highpass);
            let (mut shelf_state, mut highpass_state) = (self.shelf_state, self.highpass_state);
            let mut acc = [0.0f64; 2];
            for (&l, &r) in left[from..to].iter().zip(&right[from..to]) {
                let shelved = shelf.run_stereo_df1(&mut shelf_state, [f64::from(l), f64::from(r)]);
                let y = highpass.run_stereo_df1(&mut highpass_state, shelved);
                acc[0] += y[0] * y[0];
                acc[1] += y[1] * y[1];
            }
            (self.shelf_state, self.highpass_state) = (shelf_state, highpass_state);
            self.acc += acc[0] + acc[1];
            self.position += to - from;
            from = to;
            if self.position == self.segment_end {
                self.close_segment();
            }
        }
    }

    fn close_segment(&mut self) {
        self.energy.push(self.acc as f32);
        self.lengths
            .push((self.segment_end - self.segment_start) as u32);
        self.segment_start = self.segment_end;
        self.acc = 0.0;
        self.part += 1;
        if self.part == self.per_block {
            self.block_bounds.push(self.block_end);
            self.block_start = self.block_end;
            self.block_end = block_bound(self.rate_hz, self.block_bounds.len());
            self.part = 0;
        }
        self.segment_end = self.part_end(self.part);
    }

    /// The segments of every whole block pushed (frames after the last
    /// whole block are not counted, as in the meter).
    pub fn finish(self) -> SegmentedEnergy {
        let whole = (self.block_bounds.len() - 1) * self.per_block;
        let mut energy = self.energy;
        let mut lengths = self.lengths;
        energy.truncate(whole);
        lengths.truncate(whole);
        SegmentedEnergy {
            per_block: self.per_block,
            energy,
            lengths,
            block_bounds: self.block_bounds,
        }
    }
}

/// K-weighted energy per segment of the whole 10 ms blocks of a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentedEnergy {
    per_block: usize,
    energy: Vec<f32>,
    lengths: Vec<u32>,
    block_bounds: Vec<usize>,
}

impl SegmentedEnergy {
    /// Channel-summed K-weighted sum of squares of each segment.
    pub fn energy(&self) -> &[f32] {
        &self.energy
    }

    /// Frames in each segment, in order from the signal's first frame.
    pub fn lengths(&self) -> &[u32] {
        &self.lengths
    }

    /// Gated integrated loudness (BS.1770) of the signal with segment `i`'s
    /// energy scaled by `weights[i]` (a gain g applied there is a weight of
    /// g²); `None` when nothing passes the gates. `weights` must have one
    /// entry per segment.
    pub fn integrated_lufs(&self, weights: &[f32]) -> Option<Lufs> {
        debug_assert_eq!(weights.len(), self.energy.len());
        let blocks: Vec<f64> = self
            .energy
            .chunks_exact(self.per_block)
            .zip(weights.chunks_exact(self.per_block))
            .map(|(e, w)| {
                e.iter()
                    .zip(w)
                    .map(|(&e, &w)| f64::from(e) * f64::from(w))
                    .sum()
            })
            .collect();
        integrated_from_blocks(&blocks, &self.block_bounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loudness::loudness;
    use lacquer_core::AudioBuffer;

    fn tone(rate: u32, seconds: f64, amplitude: f32) -> (Vec<f32>, Vec<f32>) {
        let n = (f64::from(rate) * seconds) as usize;
        let l: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                // A level step half way, so the gates have work to do.
                let a = if i < n / 2 {
                    amplitude
                } else {
                    amplitude * 0.1
                };
                a * (2.0 * std::f64::consts::PI * 997.0 * t).sin() as f32
            })
            .collect();
        let r: Vec<f32> = l.iter().map(|v| v * 0.5).collect();
        (l, r)
    }

    /// Unit weights give the meter's integrated loudness however the
    /// signal is cut into pieces and segments (f32 segment sums: 1e-5 LU).
    #[test]
    fn unit_weights_read_like_the_meter() {
        const TOL_LU: f64 = 1e-5;
        for rate in [22_050, 44_100, 48_000, 96_000] {
            let (l, r) = tone(rate, 7.3, 0.5);
            let buffer = AudioBuffer::new(rate, vec![l.clone(), r.clone()]).unwrap();
            let want = loudness(&buffer).unwrap().integrated.unwrap().0;
            for per_block in [1, 7, 14] {
                let mut rec = SegmentedLoudness::new(rate, per_block).unwrap();
                for (cl, cr) in l.chunks(1000 + per_block).zip(r.chunks(1000 + per_block)) {
                    rec.push(cl, cr);
                }
                let seg = rec.finish();
                assert_eq!(seg.energy().len(), seg.lengths().len());
                let frames: u32 = seg.lengths().iter().sum();
                // Whole 10 ms blocks only.
                assert!(l.len() - frames as usize <= rate as usize / 100 + 1);
                let got = seg
                    .integrated_lufs(&vec![1.0; seg.energy().len()])
                    .unwrap()
                    .0;
                assert!(
                    (got - want).abs() < TOL_LU,
                    "{rate} Hz /{per_block}: {got} vs {want}"
                );
            }
        }
    }

    /// A weight of g² everywhere is a gain of g: 20·log10(g) LU.
    #[test]
    fn uniform_weights_shift_loudness_by_their_level() {
        const TOL_LU: f64 = 1e-5;
        let (l, r) = tone(44_100, 5.0, 0.5);
        let mut rec = SegmentedLoudness::new(44_100, 14).unwrap();
        rec.push(&l, &r);
        let seg = rec.finish();
        let n = seg.energy().len();
        let base = seg.integrated_lufs(&vec![1.0; n]).unwrap().0;
        let half = seg.integrated_lufs(&vec![0.25; n]).unwrap().0;
        assert!((base - half - 20.0 * 2f64.log10()).abs() < TOL_LU);
        assert!(seg.integrated_lufs(&vec![0.0; n]).is_none());
    }
}
