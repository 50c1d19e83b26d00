//! Lacquer's audio I/O: decode and validate inputs, convert sample rate,
//! and encode masters to disk without ever leaving a partial file.
//!
//! This crate is the trust boundary of the engine: after `decode_file`, every
//! other stage may assume finite stereo f32 audio of bounded length at a
//! supported rate, and before `write_file` nothing is on disk.

mod decode;
pub mod dither;
mod encode;
mod error;
mod resample;
mod spool;
mod write;

pub use decode::{
    DecodeOptions, Decoded, MAX_BITS_PER_SAMPLE, MAX_SAMPLE_RATE_HZ, MIN_BITS_PER_SAMPLE,
    MIN_SAMPLE_RATE_HZ, SourceInfo, decode_file, decode_stream, decode_to_spool,
};
pub use encode::{
    FlacDepth, FlacWriter, Mp3Mode, Mp3Writer, OutputFormat, ParseFormatError, WavEncoding,
    WavWriter, encode_to_vec, encode_to_vec_with_dither,
};
pub use error::IoError;
pub use resample::{StreamResampler, output_len as resampled_len, resample};
pub use spool::{DEFAULT_SPILL_FRAMES, DISK_BLOCK_FRAMES, Spool, SpoolWriter};
pub use write::{
    Overwrite, StagedFile, ensure_output_is_not_input, same_file, write_bytes_atomically,
    write_file,
};
