//! Decoding a file for the commands that read it more than once (`analyze`
//! reads it twice, `classify` reads excerpts spread over it) without holding
//! it: the engine's spool moves to an anonymous temporary file past a few
//! minutes, so memory does not grow with the file's length, nor with the
//! number of files measured side by side.

use lacquer_engine::error::EngineError;
use lacquer_engine::stream;
use lacquer_io::{DEFAULT_SPILL_FRAMES, DecodeOptions, SourceInfo, Spool};
use std::path::Path;

/// Decode options for `--max-duration SECONDS`, refused unless it is a
/// positive number (every command that reads audio takes the flag).
pub(crate) fn decode_options(max_duration: f64) -> anyhow::Result<DecodeOptions> {
    if !(max_duration.is_finite() && max_duration > 0.0) {
        anyhow::bail!("--max-duration must be a positive number of seconds");
    }
    Ok(DecodeOptions {
        max_duration_seconds: max_duration,
        ..DecodeOptions::default()
    })
}

/// Decodes `file` into a spool of stereo pieces (a mono file's one channel
/// twice, as the decoder hands them out). A bad file is
/// [`EngineError::is_invalid_input`]; failing to keep the audio is not.
pub(crate) fn decode_to_spool(
    file: &Path,
    options: &DecodeOptions,
) -> Result<(Spool, SourceInfo), EngineError> {
    stream::decode_to_spool(
        file,
        options,
        DEFAULT_SPILL_FRAMES,
        file,
        EngineError::Input,
        |_, _| Ok(()),
    )
}
