//! Decoding a file for the commands that read it more than once (`analyze`
//! reads it twice, `classify` reads excerpts spread over it) without holding
//! it: the decoded audio goes to a spool that moves to an anonymous temporary
//! file past a few minutes, so memory does not grow with the file's length,
//! nor with the number of files measured side by side.

use crate::exit::error_chain;
use lacquer_io::{
    DEFAULT_SPILL_FRAMES, DecodeOptions, SourceInfo, Spool, SpoolWriter, decode_stream,
};
use std::path::Path;

/// Why a file could not be spooled.
#[derive(Debug)]
pub(crate) struct SpoolFailure {
    /// The file's fault (exit 2) rather than ours or the machine's (exit 1).
    pub invalid_input: bool,
    /// Names the file.
    pub message: String,
}

/// Decodes `file` into a spool of stereo pieces (a mono file's one channel
/// twice, as the decoder hands them out).
pub(crate) fn decode_to_spool(
    file: &Path,
    options: &DecodeOptions,
) -> Result<(Spool, SourceInfo), SpoolFailure> {
    // The rate is known once the decode is done; the spool stores samples
    // only, so it is set at the end.
    let mut writer = SpoolWriter::new(0, 2, DEFAULT_SPILL_FRAMES);
    let source = decode_stream(file, options, |left: &[f32], right: &[f32]| {
        writer.push(&[left, right])
    })
    .map_err(|e| SpoolFailure {
        invalid_input: e.is_invalid_input(),
        message: error_chain(&e),
    })?;
    let spool = writer
        .with_sample_rate(source.sample_rate)
        .finish()
        .map_err(|e| SpoolFailure {
            invalid_input: false,
            message: format!(
                "{}: keeping the decoded audio failed: {}",
                file.display(),
                error_chain(&e)
            ),
        })?;
    Ok((spool, source))
}
