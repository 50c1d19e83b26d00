//! The whole mastering chain: settings in, processed audio and meters out.
//!
//! Stages run in a fixed order (polarity → eq → dynamic EQ → multiband → glue →
//! saturation → stereo → gain → limiter) because each one expects the
//! previous ones' result: the limiter must come last to own the ceiling, and
//! the saturator sits after the compressors so it shapes what they leave.
//! A disabled stage is not built at all, so a default (neutral) chain passes
//! audio through bit-exactly. Stages are serial, so their latencies add up;
//! [`Chain::process_buffer`] removes the total, so the output lines up with
//! the input sample for sample and has the same length.

use crate::compressor::GlueCompressor;
use crate::dynamic_eq::DynamicEq;
use crate::eq::Eq;
use crate::gain::Gain;
use crate::limiter::Limiter;
use crate::multiband::MultibandCompressor;
use crate::polarity::Polarity;
use crate::saturation::Saturator;
use crate::stereo::StereoShaper;
use crate::{DspError, Processor};
use lacquer_core::{AudioBuffer, ChainSettings};
use serde::{Deserialize, Serialize};

/// Gain reduction of one stage since the chain was last reset.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GainReductionMeter {
    pub max_db: f64,
    pub mean_db: f64,
}

/// What the stages measured while processing; `None` for a bypassed stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChainMeters {
    /// Delay the chain adds in streaming use (removed by `process_buffer`).
    pub latency_frames: usize,
    pub dynamic_eq: Option<GainReductionMeter>,
    pub multiband: Option<GainReductionMeter>,
    pub glue: Option<GainReductionMeter>,
    /// Share of oversampled samples the saturator bent by more than 1 dB.
    pub saturation_clipped_fraction: Option<f64>,
    pub stereo_applied_width: Option<f64>,
    pub limiter: Option<GainReductionMeter>,
}

/// The chain of stages built from one [`ChainSettings`].
#[derive(Debug)]
pub struct Chain {
    polarity: Option<Polarity>,
    eq: Option<Eq>,
    dynamic_eq: Option<DynamicEq>,
    multiband: Option<MultibandCompressor>,
    glue: Option<GlueCompressor>,
    saturation: Option<Saturator>,
    stereo: Option<StereoShaper>,
    gain: Option<Gain>,
    limiter: Option<Limiter>,
    prepared: Option<(u32, usize)>,
    latency: usize,
}

/// Runs `$body` with `$stage` bound to every enabled stage, in order.
macro_rules! for_each_stage {
    ($chain:expr, |$stage:ident| $body:expr) => {{
        let c = $chain;
        if let Some($stage) = c.polarity.as_mut() {
            $body;
        }
        if let Some($stage) = c.eq.as_mut() {
            $body;
        }
        if let Some($stage) = c.dynamic_eq.as_mut() {
            $body;
        }
        if let Some($stage) = c.multiband.as_mut() {
            $body;
        }
        if let Some($stage) = c.glue.as_mut() {
            $body;
        }
        if let Some($stage) = c.saturation.as_mut() {
            $body;
        }
        if let Some($stage) = c.stereo.as_mut() {
            $body;
        }
        if let Some($stage) = c.gain.as_mut() {
            $body;
        }
        if let Some($stage) = c.limiter.as_mut() {
            $body;
        }
    }};
}

fn meter(max_db: f64, mean_db: f64) -> GainReductionMeter {
    GainReductionMeter { max_db, mean_db }
}

impl Chain {
    pub fn new(settings: &ChainSettings) -> Self {
        let s = settings;
        Self {
            polarity: (!s.polarity.is_neutral()).then(|| Polarity::new(&s.polarity)),
            eq: s.eq.enabled.then(|| Eq::new(&s.eq)),
            dynamic_eq: s.dynamic_eq.enabled.then(|| DynamicEq::new(&s.dynamic_eq)),
            multiband: s
                .multiband
                .enabled
                .then(|| MultibandCompressor::new(&s.multiband)),
            glue: s.glue.enabled.then(|| GlueCompressor::new(&s.glue)),
            saturation: s.saturation.enabled.then(|| Saturator::new(&s.saturation)),
            stereo: s.stereo.enabled.then(|| StereoShaper::new(&s.stereo)),
            gain: (s.gain_db != 0.0).then(|| Gain::new(s.gain_db)),
            limiter: s.limiter.enabled.then(|| Limiter::new(&s.limiter)),
            prepared: None,
            latency: 0,
        }
    }

    /// What every enabled stage has measured since the last reset.
    pub fn meters(&self) -> ChainMeters {
        ChainMeters {
            latency_frames: self.latency,
            dynamic_eq: self
                .dynamic_eq
                .as_ref()
                .map(|s| meter(s.max_gain_reduction_db(), s.mean_gain_reduction_db())),
            multiband: self
                .multiband
                .as_ref()
                .map(|s| meter(s.max_gain_reduction_db(), s.mean_gain_reduction_db())),
            glue: self
                .glue
                .as_ref()
                .map(|s| meter(s.max_gain_reduction_db(), s.mean_gain_reduction_db())),
            saturation_clipped_fraction: self.saturation.as_ref().map(|s| s.clipped_fraction()),
            stereo_applied_width: self.stereo.as_ref().map(|s| s.applied_width()),
            limiter: self
                .limiter
                .as_ref()
                .map(|s| meter(s.max_gain_reduction_db(), s.mean_gain_reduction_db())),
        }
    }

    /// Processes a whole stereo buffer from a reset state and returns the
    /// output aligned with the input (same length, latency removed; the tail
    /// is flushed with silence) plus the meters.
    pub fn process_buffer(
        &mut self,
        buffer: &AudioBuffer,
    ) -> Result<(AudioBuffer, ChainMeters), DspError> {
        let (rate, max_block) = self.prepared.ok_or(DspError::NotPrepared)?;
        if buffer.sample_rate() != rate {
            return Err(DspError::SampleRateMismatch {
                prepared: rate,
                got: buffer.sample_rate(),
            });
        }
        if buffer.num_channels() != 2 {
            return Err(DspError::UnsupportedChannels {
                channels: buffer.num_channels(),
            });
        }
        for (channel, samples) in buffer.channels().iter().enumerate() {
            if let Some(frame) = samples.iter().position(|x| !x.is_finite()) {
                return Err(DspError::NonFiniteInput { channel, frame });
            }
        }
        self.reset();
        let frames = buffer.len();
        let total = frames + self.latency;
        let mut left = Vec::with_capacity(total);
        let mut right = Vec::with_capacity(total);
        left.extend_from_slice(buffer.channel(0));
        right.extend_from_slice(buffer.channel(1));
        left.resize(total, 0.0);
        right.resize(total, 0.0);
        for (l, r) in left.chunks_mut(max_block).zip(right.chunks_mut(max_block)) {
            self.process(l, r);
        }
        left.drain(..self.latency);
        right.drain(..self.latency);
        let out = AudioBuffer::stereo(rate, left, right).map_err(|e| DspError::InvalidSetting {
            stage: "chain",
            reason: e.to_string(),
        })?;
        Ok((out, self.meters()))
    }
}

impl Processor for Chain {
    fn prepare(&mut self, sample_rate: u32, max_block: usize) -> Result<(), DspError> {
        if max_block == 0 {
            return Err(DspError::ZeroBlock(max_block));
        }
        let mut latency = 0;
        let mut result = Ok(());
        for_each_stage!(&mut *self, |stage| {
            if result.is_ok() {
                result = stage.prepare(sample_rate, max_block);
                latency += stage.latency();
            }
        });
        result?;
        self.latency = latency;
        self.prepared = Some((sample_rate, max_block));
        Ok(())
    }

    fn reset(&mut self) {
        for_each_stage!(&mut *self, |stage| stage.reset());
    }

    /// Streaming use: the output is delayed by [`Processor::latency`].
    fn latency(&self) -> usize {
        self.latency
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.prepared.is_none() {
            return;
        }
        for_each_stage!(&mut *self, |stage| stage.process(left, right));
    }
}
