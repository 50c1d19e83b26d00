//! Polarity flips: the chain's first stage, so every later stage (mid/side
//! dynamics, the stereo shaper) works on a mix whose channels agree.
//! Negation is exact: flipping twice returns the input bit for bit.

use crate::{DspError, Processor};
use lacquer_core::chain::PolaritySettings;

#[derive(Debug, Clone, PartialEq)]
pub struct Polarity {
    settings: PolaritySettings,
}

impl Polarity {
    pub fn new(settings: &PolaritySettings) -> Self {
        Self {
            settings: *settings,
        }
    }
}

impl Processor for Polarity {
    fn prepare(&mut self, _sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        if max_block == 0 {
            return Err(DspError::ZeroBlock(max_block));
        }
        Ok(())
    }

    fn reset(&mut self) {}

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (invert, channel) in [
            (self.settings.invert_left, left),
            (self.settings.invert_right, right),
        ] {
            if invert {
                channel.iter_mut().for_each(|x| *x = -*x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_only_the_chosen_channel_and_twice_is_identity() {
        let input = [0.25f32, -0.5, 1.0, 0.0, -1e-30];
        let mut l = input;
        let mut r = input;
        let mut p = Polarity::new(&PolaritySettings {
            invert_left: false,
            invert_right: true,
        });
        p.prepare(44_100, input.len()).unwrap();
        p.process(&mut l, &mut r);
        assert_eq!(l, input);
        assert_eq!(r, input.map(|x| -x));
        p.process(&mut l, &mut r);
        assert_eq!(r.map(f32::to_bits), input.map(f32::to_bits));
    }
}
