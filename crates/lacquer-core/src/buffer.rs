//! The planar audio buffer every stage passes along.
//!
//! Planar (one `Vec<f32>` per channel) because every analysis and DSP stage
//! works channel by channel, and f32 because that is what decoders produce and
//! what 24-bit audio needs; stages that need more precision (filters,
//! loudness sums) accumulate in f64 internally.

use thiserror::Error;

/// Why a buffer could not be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BufferError {
    #[error("an audio buffer needs at least one channel")]
    NoChannels,
    #[error("channel {channel} has {len} frames but channel 0 has {expected}")]
    RaggedChannels {
        channel: usize,
        len: usize,
        expected: usize,
    },
    #[error("sample rate {0} Hz is not usable")]
    BadSampleRate(u32),
}

/// Planar f32 audio at one sample rate. All channels have the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    sample_rate: u32,
    channels: Vec<Vec<f32>>,
}

impl AudioBuffer {
    /// Builds a buffer, checking that the channels line up.
    pub fn new(sample_rate: u32, channels: Vec<Vec<f32>>) -> Result<Self, BufferError> {
        if sample_rate == 0 {
            return Err(BufferError::BadSampleRate(sample_rate));
        }
        let Some(first) = channels.first() else {
            return Err(BufferError::NoChannels);
        };
        let expected = first.len();
        if let Some((channel, c)) = channels
            .iter()
            .enumerate()
            .find(|(_, c)| c.len() != expected)
        {
            return Err(BufferError::RaggedChannels {
                channel,
                len: c.len(),
                expected,
            });
        }
        Ok(Self {
            sample_rate,
            channels,
        })
    }

    /// A stereo buffer from two equally long channels.
    pub fn stereo(sample_rate: u32, left: Vec<f32>, right: Vec<f32>) -> Result<Self, BufferError> {
        Self::new(sample_rate, vec![left, right])
    }

    /// `frames` frames of silence on `channels` channels.
    pub fn silence(sample_rate: u32, channels: usize, frames: usize) -> Result<Self, BufferError> {
        Self::new(sample_rate, vec![vec![0.0; frames]; channels])
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// Frames per channel.
    pub fn len(&self) -> usize {
        self.channels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn duration_seconds(&self) -> f64 {
        self.len() as f64 / f64::from(self.sample_rate)
    }

    pub fn channel(&self, index: usize) -> &[f32] {
        &self.channels[index]
    }

    pub fn channel_mut(&mut self, index: usize) -> &mut [f32] {
        &mut self.channels[index]
    }

    pub fn channels(&self) -> &[Vec<f32>] {
        &self.channels
    }

    /// Mutable access to all channels at once (for stages that couple them,
    /// like mid/side processing). Lengths cannot be changed through this.
    pub fn channels_mut(&mut self) -> Vec<&mut [f32]> {
        self.channels.iter_mut().map(|c| c.as_mut_slice()).collect()
    }

    pub fn into_channels(self) -> Vec<Vec<f32>> {
        self.channels
    }

    /// Duplicates a mono buffer into two identical channels; other channel
    /// counts are returned unchanged.
    pub fn into_stereo(self) -> Self {
        if self.channels.len() == 1 {
            let mono = self.channels.into_iter().next().unwrap_or_default();
            Self {
                sample_rate: self.sample_rate,
                channels: vec![mono.clone(), mono],
            }
        } else {
            self
        }
    }

    /// Largest absolute sample value over all channels (linear).
    pub fn sample_peak(&self) -> f32 {
        self.channels
            .iter()
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, s| m.max(s.abs()))
    }

    /// Multiplies every sample by a linear gain.
    pub fn apply_gain(&mut self, linear: f32) {
        for c in &mut self.channels {
            for s in c.iter_mut() {
                *s *= linear;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_ragged_and_empty() {
        assert_eq!(
            AudioBuffer::new(48_000, vec![]),
            Err(BufferError::NoChannels)
        );
        assert_eq!(
            AudioBuffer::new(48_000, vec![vec![0.0; 3], vec![0.0; 2]]),
            Err(BufferError::RaggedChannels {
                channel: 1,
                len: 2,
                expected: 3
            })
        );
        assert_eq!(
            AudioBuffer::new(0, vec![vec![0.0]]),
            Err(BufferError::BadSampleRate(0))
        );
    }

    #[test]
    fn mono_upmix_duplicates() {
        let b = AudioBuffer::new(44_100, vec![vec![0.25, -0.5]])
            .unwrap()
            .into_stereo();
        assert_eq!(b.num_channels(), 2);
        assert_eq!(b.channel(0), b.channel(1));
        assert_eq!(b.sample_peak(), 0.5);
        assert!((b.duration_seconds() - 2.0 / 44_100.0).abs() < 1e-12);
    }
}
