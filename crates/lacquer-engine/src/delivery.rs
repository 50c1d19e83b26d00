//! The samples an integer file will hold, made while the master is made.
//!
//! Why in the loop's pass and not in the encoder: the loop, the gate and
//! the report all judge what a player gets back. Quantising once, as the
//! limiter's output passes, lets the pass's meters read the delivered
//! samples themselves (their loudness and true peak are then the output
//! analysis's first walk), and leaves the encoder only samples that are
//! already on the grid to pack. The dither restarts with every pass from
//! its fixed seeds, so the kept pass holds exactly what a whole-buffer
//! dithered encode of its float output would write.

use crate::error::EngineError;
use crate::stream::CHAIN_BLOCK_FRAMES;
use lacquer_io::dither::{ChannelQuantizer, full_scale, is_on_grid};

/// Word-length reduction of a stereo stream, piece by piece.
pub(crate) struct Quantizing {
    bits: u32,
    quantizers: [ChannelQuantizer; 2],
    /// One LSB (a power of two, so scaling by it is exact).
    lsb: f64,
    ints: Vec<i32>,
    planes: [Vec<f32>; 2],
    /// Whether every sample seen so far was already on the grid.
    raw_on_grid: bool,
}

impl Quantizing {
    /// To `bits` bits, with TPDF dither when `dither`.
    pub(crate) fn new(bits: u32, dither: bool) -> Self {
        Self {
            bits,
            quantizers: [
                ChannelQuantizer::new(0, bits, dither),
                ChannelQuantizer::new(1, bits, dither),
            ],
            lsb: 1.0 / full_scale(bits),
            ints: vec![0; CHAIN_BLOCK_FRAMES],
            planes: [
                Vec::with_capacity(CHAIN_BLOCK_FRAMES),
                Vec::with_capacity(CHAIN_BLOCK_FRAMES),
            ],
            raw_on_grid: true,
        }
    }

    /// Quantises a stereo `piece` and hands the result on, in blocks of at
    /// most [`CHAIN_BLOCK_FRAMES`] (the scratch stays bounded).
    pub(crate) fn push(
        &mut self,
        piece: &[&[f32]],
        mut out: impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        // Short-circuits at the first sample off the grid, so on real
        // material this costs a handful of comparisons per file.
        self.raw_on_grid = self.raw_on_grid && is_on_grid(piece, self.bits);
        let len = piece[0].len();
        for start in (0..len).step_by(CHAIN_BLOCK_FRAMES) {
            let end = (start + CHAIN_BLOCK_FRAMES).min(len);
            let ints = &mut self.ints[..end - start];
            for ((plane, samples), q) in self.planes.iter_mut().zip(piece).zip(&mut self.quantizers)
            {
                q.quantize_block(&samples[start..end], ints);
                plane.clear();
                plane.extend(ints.iter().map(|&v| (f64::from(v) * self.lsb) as f32));
            }
            out(&[self.planes[0].as_slice(), self.planes[1].as_slice()])?;
        }
        Ok(())
    }

    /// Whether the whole input was already on the grid (then an undithered
    /// pass delivers it unchanged, and the dither was not wanted).
    pub(crate) fn raw_on_grid(&self) -> bool {
        self.raw_on_grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(q: &mut Quantizing, left: &[f32], right: &[f32]) -> [Vec<f32>; 2] {
        let mut out = [Vec::new(), Vec::new()];
        q.push(&[left, right], |piece| {
            out[0].extend_from_slice(piece[0]);
            out[1].extend_from_slice(piece[1]);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn samples_on_the_grid_are_recognised_and_pass_undithered_unchanged() {
        let lsb = 1.0 / 32_768.0;
        // Longer than one scratch block.
        let left: Vec<f32> = (0..10_000)
            .map(|i| ((i % 200) as f32 - 100.0) * lsb)
            .collect();
        let right: Vec<f32> = left.iter().map(|s| -s).collect();
        let mut rounding = Quantizing::new(16, false);
        assert_eq!(
            run(&mut rounding, &left, &right),
            [left.clone(), right.clone()]
        );
        assert!(rounding.raw_on_grid());

        // Dithered, the same input moves off its values (the dither is
        // only skipped by a caller that saw `raw_on_grid`).
        let mut dithered = Quantizing::new(16, true);
        let out = run(&mut dithered, &left, &right);
        assert!(dithered.raw_on_grid());
        assert_ne!(out, [left.clone(), right.clone()]);
        // ...onto the grid, within one LSB.
        for (o, s) in out[0].iter().zip(&left) {
            assert_eq!((o / lsb).fract(), 0.0);
            assert!((o - s).abs() <= lsb);
        }

        // Half an LSB off the grid anywhere: not on the grid any more.
        let mut off = left.clone();
        off[9_999] += 0.5 * lsb;
        let mut q = Quantizing::new(16, false);
        run(&mut q, &off, &right);
        assert!(!q.raw_on_grid());
    }
}
