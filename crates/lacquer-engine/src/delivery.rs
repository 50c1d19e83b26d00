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
