//! The mastering DSP chain.
//!
//! Every stage follows the same life cycle ([`Processor`]): build it from its
//! settings, `prepare` it for a sample rate and a largest block size (all
//! allocation and validation happens there), then `process` blocks of any
//! size up to that maximum without allocating. Block processing is
//! bit-identical to whole-buffer processing, and every stage reports its
//! latency so the chain can keep paths aligned and trim it from the output.

pub mod biquad;
pub mod chain;
pub mod compressor;
pub mod crossover;
pub mod dynamic_eq;
pub mod envelope;
pub mod eq;
pub mod error;
pub mod fir;
pub mod gain;
pub mod limiter;
pub mod multiband;
pub mod oversample;
pub mod polarity;
pub mod processor;
pub mod saturation;
mod simd;
pub mod stereo;

pub use error::DspError;
pub use processor::Processor;
#[doc(hidden)]
pub use simd::force_baseline_kernels;
